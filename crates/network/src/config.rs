//! [`NetworkConfig`]: what the node's `[network]` config section sets, with safe defaults.

use std::fmt;
use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};

use crate::error::NetworkError;

/// Bytes a gossipsub frame may carry beyond the payload: topic, author, sequence number,
/// signature and public key, protobuf tags. The payload itself is bounded by
/// [`NetworkConfig::max_message_bytes`]; the frame bound is that plus this overhead.
pub const GOSSIP_FRAME_OVERHEAD: usize = 4 * 1024;

/// Largest accepted sync request frame. A request is two heights (16 bytes encoded).
pub const MAX_SYNC_REQUEST_BYTES: usize = 64;

/// Hard upper bound for [`NetworkConfig::max_response_bytes`] and
/// [`NetworkConfig::max_message_bytes`]: the canonical decoder's own limit, less room for
/// the response envelope.
pub const MAX_FRAME_BYTES: usize = ledger_types::codec::MAX_ENCODED_LEN - 64 * 1024;

/// Longest accepted chain id (same rule as the genesis file).
const MAX_CHAIN_ID_LEN: usize = 64;

/// The 32-byte ed25519 seed of the node's libp2p identity (the node's key file).
///
/// `Debug` never prints the secret. The seed is not part of the serialized config: the
/// node reads its key file and sets [`NetworkConfig::identity_seed`].
#[derive(Clone, PartialEq, Eq)]
pub struct IdentitySeed(pub [u8; 32]);

impl IdentitySeed {
    /// The libp2p peer id of this identity (what `/p2p/...` in a multiaddr names), so
    /// tools can write bootnode lists before the nodes start.
    pub fn peer_id(&self) -> Result<PeerId, NetworkError> {
        libp2p::identity::Keypair::ed25519_from_bytes(self.0)
            .map(|k| k.public().to_peer_id())
            .map_err(|e| NetworkError::Identity(e.to_string()))
    }
}

/// The libp2p peer id of the node whose identity is the ed25519 key `public_key` (a
/// validator's genesis key: a node's identity is its key file), or `None` if the bytes
/// are not an ed25519 public key. Lets a node name the peer behind a validator key,
/// e.g. the author of equivocation evidence.
pub fn peer_id_of_key(public_key: &[u8; 32]) -> Option<PeerId> {
    let key = libp2p::identity::ed25519::PublicKey::try_from_bytes(public_key).ok()?;
    Some(libp2p::identity::PublicKey::from(key).to_peer_id())
}

impl fmt::Debug for IdentitySeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentitySeed(<redacted>)")
    }
}

/// Configuration of the libp2p layer. Every field has a default (see [`Default`]);
/// unknown keys are rejected when deserializing.
///
/// ```
/// let cfg: ledger_network::NetworkConfig = toml::from_str(r#"
///     chain_id = "ledger-dev"
///     listen_addrs = ["/ip4/0.0.0.0/tcp/29100"]
///     enable_mdns = false
///     max_peers = 50
/// "#).unwrap();
/// assert_eq!(cfg.max_connections_per_peer, 2);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Chain id (from the genesis); scopes gossip topics and the sync protocol name so
    /// nodes of different chains never exchange messages. 1 to 64 characters of
    /// `a-z`, `0-9`, `-`, `_`, `.`.
    pub chain_id: String,
    /// Addresses to listen on, `/ip4/HOST/tcp/PORT` or `/ip6/HOST/tcp/PORT`, e.g.
    /// `/ip4/0.0.0.0/tcp/29100`. Port 0 picks a free port;
    /// the actual addresses are in [`crate::NetworkHandle::listen_addrs`].
    pub listen_addrs: Vec<Multiaddr>,
    /// Peers dialled at start and re-dialled while disconnected, and the Kademlia
    /// bootstrap set, as `/ip4/HOST/tcp/PORT/p2p/<peer id>` (or `/ip6/...`; there is no
    /// DNS transport).
    pub bootnodes: Vec<Multiaddr>,
    /// Discover peers on the local network with mDNS (for local runs; off by default).
    pub enable_mdns: bool,
    /// Most distinct peers connected at once (inbound and outbound together).
    pub max_peers: u32,
    /// Most simultaneous connections to one peer.
    pub max_connections_per_peer: u32,
    /// Most incoming connections still in their handshake, from all addresses.
    pub max_pending_incoming: u32,
    /// Most incoming connections still in their handshake from one IP address.
    pub max_pending_incoming_per_ip: u32,
    /// Most established incoming connections from one IP address.
    pub max_incoming_per_ip: u32,
    /// Seconds a connection may take to finish its handshake (TCP connect, noise,
    /// yamux) before it is closed.
    pub handshake_timeout_secs: u64,
    /// Largest gossip payload (transaction, consensus message or block) in bytes. The node
    /// keeps its largest block below it; larger messages are refused on publish and
    /// rejected (sender penalised) on receipt.
    pub max_message_bytes: usize,
    /// Most blocks one sync request may ask for; larger ranges are cut to this count.
    pub max_blocks_per_request: u64,
    /// Largest encoded sync response in bytes; a bigger response from a peer is an error,
    /// and our own responses are trimmed to fit. At least twice `max_message_bytes`, so
    /// that one block of the largest size with its certificate always fits.
    pub max_response_bytes: usize,
    /// Seconds to wait for a sync response before the request fails with a timeout.
    pub request_timeout_secs: u64,
    /// Seconds a connection with no active protocol stream is kept open.
    pub idle_connection_timeout_secs: u64,
    /// Seconds between maintenance rounds: re-dial disconnected bootnodes and run a
    /// Kademlia bootstrap.
    pub discovery_interval_secs: u64,
    /// Seconds gossipsub remembers a message id to drop copies of the message (its
    /// id is the SHA-256 of the payload, so a replay of old bytes is a copy). A replay
    /// older than this reaches the driver, which ignores it as stale.
    pub duplicate_cache_secs: u64,
    /// Events buffered for the driver. When the buffer is full, further gossip messages
    /// are dropped (reported as `Ignore`, nobody is penalised); other events are kept.
    pub event_buffer: usize,
    /// The ed25519 seed of the node identity. `None` gives a fresh random identity (tests,
    /// throwaway nodes). Never serialized.
    #[serde(skip)]
    pub identity_seed: Option<IdentitySeed>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            chain_id: "ledger-dev".into(),
            listen_addrs: vec!["/ip4/0.0.0.0/tcp/29100"
                .parse()
                .unwrap_or_else(|_| Multiaddr::empty())],
            bootnodes: Vec::new(),
            enable_mdns: false,
            max_peers: 50,
            max_connections_per_peer: 2,
            max_pending_incoming: 128,
            max_pending_incoming_per_ip: 16,
            max_incoming_per_ip: 64,
            handshake_timeout_secs: 5,
            max_message_bytes: 1024 * 1024,
            max_blocks_per_request: 64,
            max_response_bytes: 8 * 1024 * 1024,
            request_timeout_secs: 10,
            idle_connection_timeout_secs: 60,
            discovery_interval_secs: 30,
            duplicate_cache_secs: 120,
            event_buffer: 1024,
            identity_seed: None,
        }
    }
}

impl NetworkConfig {
    /// A config for tests and local tools: listen on `127.0.0.1` port 0, no bootnodes, no
    /// mDNS, the given chain id and identity seed, other fields at their defaults.
    pub fn local(chain_id: &str, seed: [u8; 32]) -> Self {
        NetworkConfig {
            chain_id: chain_id.into(),
            listen_addrs: vec![Multiaddr::empty()
                .with(Protocol::Ip4([127, 0, 0, 1].into()))
                .with(Protocol::Tcp(0))],
            identity_seed: Some(IdentitySeed(seed)),
            ..NetworkConfig::default()
        }
    }

    /// Checks every field; the error names the first offending one.
    pub fn validate(&self) -> Result<(), NetworkError> {
        let id = &self.chain_id;
        if id.is_empty()
            || id.len() > MAX_CHAIN_ID_LEN
            || !id
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"-_.".contains(&c))
        {
            return Err(invalid(
                "chain_id",
                "must be 1 to 64 characters of a-z, 0-9, '-', '_' or '.'",
            ));
        }
        if self.listen_addrs.is_empty() {
            return Err(invalid("listen_addrs", "at least one address is required"));
        }
        for addr in &self.listen_addrs {
            if !is_tcp_addr(addr) {
                return Err(invalid(
                    "listen_addrs",
                    format!("`{addr}` is not an /ip4/.../tcp/PORT or /ip6/.../tcp/PORT address"),
                ));
            }
        }
        for addr in &self.bootnodes {
            split_peer_addr(addr)?;
        }
        if self.max_peers == 0 {
            return Err(invalid("max_peers", "must be at least 1"));
        }
        if self.max_connections_per_peer == 0 {
            return Err(invalid("max_connections_per_peer", "must be at least 1"));
        }
        if self.max_pending_incoming == 0 {
            return Err(invalid("max_pending_incoming", "must be at least 1"));
        }
        if self.max_pending_incoming_per_ip == 0 {
            return Err(invalid("max_pending_incoming_per_ip", "must be at least 1"));
        }
        if self.max_incoming_per_ip == 0 {
            return Err(invalid("max_incoming_per_ip", "must be at least 1"));
        }
        if self.handshake_timeout_secs == 0 {
            return Err(invalid("handshake_timeout_secs", "must be at least 1"));
        }
        if self.max_message_bytes < 1024 || self.max_message_bytes > MAX_FRAME_BYTES {
            return Err(invalid(
                "max_message_bytes",
                format!("must be between 1024 and {MAX_FRAME_BYTES}"),
            ));
        }
        if self.max_blocks_per_request == 0 {
            return Err(invalid("max_blocks_per_request", "must be at least 1"));
        }
        if self.max_response_bytes < 1024 || self.max_response_bytes > MAX_FRAME_BYTES {
            return Err(invalid(
                "max_response_bytes",
                format!("must be between 1024 and {MAX_FRAME_BYTES}"),
            ));
        }
        if self.max_response_bytes < 2 * self.max_message_bytes {
            return Err(invalid(
                "max_response_bytes",
                "must be at least twice max_message_bytes (a response carries a whole \
                 block with its certificate)",
            ));
        }
        if self.request_timeout_secs == 0 {
            return Err(invalid("request_timeout_secs", "must be at least 1"));
        }
        if self.duplicate_cache_secs == 0 {
            return Err(invalid("duplicate_cache_secs", "must be at least 1"));
        }
        if self.discovery_interval_secs == 0 {
            return Err(invalid("discovery_interval_secs", "must be at least 1"));
        }
        if self.event_buffer == 0 {
            return Err(invalid("event_buffer", "must be at least 1"));
        }
        Ok(())
    }

    /// The sync request timeout as a [`Duration`].
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> NetworkError {
    NetworkError::Config {
        field,
        reason: reason.into(),
    }
}

fn is_tcp_addr(addr: &Multiaddr) -> bool {
    let mut it = addr.iter();
    let host = matches!(it.next(), Some(Protocol::Ip4(_) | Protocol::Ip6(_)));
    host && matches!(it.next(), Some(Protocol::Tcp(_))) && it.next().is_none()
}

/// Splits `/ip4/.../tcp/PORT/p2p/PEER` into the peer id and the address without `/p2p/`.
pub(crate) fn split_peer_addr(addr: &Multiaddr) -> Result<(PeerId, Multiaddr), NetworkError> {
    let mut transport = addr.clone();
    match transport.pop() {
        Some(Protocol::P2p(peer)) if is_tcp_addr(&transport) => Ok((peer, transport)),
        _ => Err(invalid(
            "bootnodes",
            format!("`{addr}` must be /ip4|ip6/.../tcp/PORT/p2p/<peer id>"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validator_key_names_the_peer_id_of_its_node() {
        let key = ledger_types::Keypair::for_testing("v0");
        let expected = IdentitySeed(key.seed()).peer_id().unwrap();
        assert_eq!(peer_id_of_key(&key.public().0), Some(expected));
        let other = ledger_types::Keypair::for_testing("v1");
        assert_ne!(peer_id_of_key(&other.public().0), Some(expected));
    }

    #[test]
    fn defaults_are_valid_and_roundtrip_through_toml() {
        let cfg = NetworkConfig::default();
        cfg.validate().unwrap();
        let text = toml::to_string(&cfg).unwrap();
        let back: NetworkConfig = toml::from_str(&text).unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(toml::from_str::<NetworkConfig>("max_peerz = 3").is_err());
        assert!(toml::from_str::<NetworkConfig>("listen_addrs = [\"nonsense\"]").is_err());

        let bad_boot = NetworkConfig {
            bootnodes: vec!["/ip4/127.0.0.1/tcp/1".parse().unwrap()],
            ..NetworkConfig::default()
        };
        assert!(bad_boot
            .validate()
            .unwrap_err()
            .to_string()
            .contains("bootnodes"));

        let bad_chain = NetworkConfig {
            chain_id: "Bad/Chain".into(),
            ..NetworkConfig::default()
        };
        assert!(bad_chain
            .validate()
            .unwrap_err()
            .to_string()
            .contains("chain_id"));

        let zero = NetworkConfig {
            max_peers: 0,
            ..NetworkConfig::default()
        };
        assert!(zero
            .validate()
            .unwrap_err()
            .to_string()
            .contains("max_peers"));
    }

    #[test]
    fn seed_is_never_printed() {
        let cfg = NetworkConfig::local("c", [7; 32]);
        assert!(!format!("{cfg:?}").contains("7, 7"));
    }
}
