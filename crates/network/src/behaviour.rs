//! The composed libp2p behaviour: a ban list, connection limits, a distinct-peer limit, identify,
//! ping, Kademlia, gossipsub (manual validation, peer scoring), block sync and mDNS.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::task::{Context, Poll};
use std::time::Duration;

use libp2p::core::{transport::PortUse, Endpoint};
use libp2p::gossipsub::{self, PeerScoreParams, PeerScoreThresholds, TopicScoreParams};
use libp2p::identity::Keypair;
use libp2p::swarm::{
    behaviour::toggle::Toggle, dummy, ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm,
    NetworkBehaviour, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{allow_block_list, connection_limits, identify, kad, mdns, ping, request_response};
use libp2p::{Multiaddr, PeerId, StreamProtocol};

use crate::config::{NetworkConfig, GOSSIP_FRAME_OVERHEAD};
use crate::error::NetworkError;
use crate::protocol::{sync_protocol_name, MessageId, SyncCodec, Topic};

/// The node's behaviour tree. The two limit behaviours come first so that a denied
/// connection is refused before any protocol handler is created for it.
#[derive(NetworkBehaviour)]
pub(crate) struct NodeBehaviour {
    /// Peers banned for misbehaving (see `NetworkHandle::ban`): their connections are
    /// closed and new ones refused.
    pub banned: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    pub limits: connection_limits::Behaviour,
    pub peer_limit: PeerLimit,
    pub ip_limit: IpLimit,
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
    pub kad: kad::Behaviour<kad::store::MemoryStore>,
    pub gossipsub: gossipsub::Behaviour,
    pub sync: request_response::Behaviour<SyncCodec>,
    pub snapshot: request_response::Behaviour<crate::snapshot::SnapshotCodec>,
    pub mdns: Toggle<mdns::tokio::Behaviour>,
}

/// Builds the behaviour for `config` and the local key.
pub(crate) fn build(config: &NetworkConfig, key: &Keypair) -> Result<NodeBehaviour, NetworkError> {
    let local_peer_id = key.public().to_peer_id();
    let setup = |what: &str, e: &dyn std::fmt::Display| NetworkError::Setup(format!("{what}: {e}"));

    let per_peer = config.max_connections_per_peer;
    let limits = connection_limits::Behaviour::new(
        connection_limits::ConnectionLimits::default()
            .with_max_established_per_peer(Some(per_peer))
            .with_max_established(Some(config.max_peers.saturating_mul(per_peer)))
            .with_max_pending_incoming(Some(config.max_pending_incoming)),
    );

    let identify = identify::Behaviour::new(
        identify::Config::new(format!("/ledger/{}/1.0.0", config.chain_id), key.public())
            .with_agent_version(format!("ledger-node/{}", env!("CARGO_PKG_VERSION"))),
    );

    let ping = ping::Behaviour::new(ping::Config::new());

    let mut kad_config = kad::Config::new(kad::PROTOCOL_NAME);
    // Kademlia is used for peer discovery only: records and provider announcements that
    // peers push to us are not stored (they would only cost memory).
    kad_config.set_record_filtering(kad::StoreInserts::FilterBoth);
    let mut kad = kad::Behaviour::with_config(
        local_peer_id,
        kad::store::MemoryStore::new(local_peer_id),
        kad_config,
    );
    // Serve Kademlia queries even without a confirmed external address (loopback and
    // private networks), so that peers can discover each other through us.
    kad.set_mode(Some(kad::Mode::Server));

    let gossipsub = build_gossipsub(config, key).map_err(|e| setup("gossipsub", &e))?;

    let sync_protocol = StreamProtocol::try_from_owned(sync_protocol_name(&config.chain_id))
        .map_err(|e| setup("sync protocol name", &e))?;
    let sync = request_response::Behaviour::with_codec(
        SyncCodec {
            max_response_bytes: config.max_response_bytes,
        },
        [(sync_protocol, request_response::ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(config.request_timeout())
            .with_max_concurrent_streams(64),
    );

    let snapshot_protocol =
        StreamProtocol::try_from_owned(crate::snapshot::snapshot_protocol_name(&config.chain_id))
            .map_err(|e| setup("snapshot protocol name", &e))?;
    let snapshot = request_response::Behaviour::with_codec(
        crate::snapshot::SnapshotCodec {
            max_response_bytes: config.max_response_bytes,
        },
        [(snapshot_protocol, request_response::ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(config.request_timeout())
            .with_max_concurrent_streams(16),
    );

    let mdns = if config.enable_mdns {
        Some(
            mdns::tokio::Behaviour::new(mdns::Config::default(), local_peer_id)
                .map_err(|e| setup("mdns", &e))?,
        )
    } else {
        None
    };

    Ok(NodeBehaviour {
        banned: allow_block_list::Behaviour::default(),
        limits,
        peer_limit: PeerLimit::new(config.max_peers as usize),
        ip_limit: IpLimit::new(
            config.max_pending_incoming_per_ip,
            config.max_incoming_per_ip,
        ),
        identify,
        ping,
        kad,
        gossipsub,
        sync,
        snapshot,
        mdns: Toggle::from(mdns),
    })
}

/// Smallest gossipsub frame bound (see `build_gossipsub`).
const MIN_GOSSIP_FRAME: usize = 256 * 1024;

/// Score weight of one invalid (rejected) message, squared per topic: one rejection puts
/// a peer below the gossip threshold (-10), three below the graylist threshold (-80),
/// after which everything it sends is ignored until the penalty decays.
const INVALID_MESSAGE_WEIGHT: f64 = -20.0;

fn build_gossipsub(config: &NetworkConfig, key: &Keypair) -> Result<gossipsub::Behaviour, String> {
    let gossip_config = gossipsub::ConfigBuilder::default()
        // The frame bound; payloads are held to `max_message_bytes` by our own checks on
        // publish and receipt. The floor leaves room for IHAVE/IWANT control frames
        // (up to 5000 message ids) however small the payload bound is.
        .max_transmit_size((config.max_message_bytes + GOSSIP_FRAME_OVERHEAD).max(MIN_GOSSIP_FRAME))
        // Every message is signed by its author and checked before anything else.
        .validation_mode(gossipsub::ValidationMode::Strict)
        // Nothing is forwarded until the driver reports `Accept`.
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| MessageId::of(&m.data).to_gossipsub())
        .duplicate_cache_time(Duration::from_secs(config.duplicate_cache_secs))
        .build()
        .map_err(|e| e.to_string())?;
    let mut gossipsub = gossipsub::Behaviour::new(
        gossipsub::MessageAuthenticity::Signed(key.clone()),
        gossip_config,
    )
    .map_err(str::to_string)?;

    let mut params = PeerScoreParams {
        // Local test networks put every peer on one address.
        ip_colocation_factor_whitelist: [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]
        .into_iter()
        .collect(),
        ..PeerScoreParams::default()
    };
    for topic in Topic::ALL {
        params
            .topics
            .insert(topic.ident(&config.chain_id).hash(), topic_score_params());
    }
    gossipsub.with_peer_score(params, PeerScoreThresholds::default())?;
    Ok(gossipsub)
}

/// Scoring of one topic: a small reward for time in the mesh and first deliveries, a
/// heavy, slowly decaying penalty for invalid messages. Mesh delivery-rate penalties (P3)
/// are off: our topics are quiet between blocks and silence is not misbehaviour.
fn topic_score_params() -> TopicScoreParams {
    TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 300.0,
        first_message_deliveries_weight: 0.5,
        first_message_deliveries_decay: 0.9,
        first_message_deliveries_cap: 20.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: INVALID_MESSAGE_WEIGHT,
        invalid_message_deliveries_decay: 0.99,
        ..TopicScoreParams::default()
    }
}

/// Refuses a connection from or to a new peer once `max` distinct peers are connected.
/// (`connection_limits` counts connections, not peers.)
pub(crate) struct PeerLimit {
    max: usize,
    connected: HashMap<PeerId, HashSet<ConnectionId>>,
}

/// The error inside [`ConnectionDenied`] when the peer limit is reached.
#[derive(Debug, thiserror::Error)]
#[error("peer limit of {0} reached")]
pub(crate) struct PeerLimitReached(pub usize);

impl PeerLimit {
    fn new(max: usize) -> Self {
        PeerLimit {
            max,
            connected: HashMap::new(),
        }
    }

    fn check(&self, peer: &PeerId) -> Result<(), ConnectionDenied> {
        if self.connected.contains_key(peer) || self.connected.len() < self.max {
            Ok(())
        } else {
            Err(ConnectionDenied::new(PeerLimitReached(self.max)))
        }
    }
}

impl NetworkBehaviour for PeerLimit {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(&peer)?;
        Ok(dummy::ConnectionHandler)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: Option<PeerId>,
        _: &[Multiaddr],
        _: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        if let Some(peer) = peer {
            self.check(&peer)?;
        }
        Ok(Vec::new())
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(&peer)?;
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(e) => {
                self.connected
                    .entry(e.peer_id)
                    .or_default()
                    .insert(e.connection_id);
            }
            FromSwarm::ConnectionClosed(ConnectionClosed {
                peer_id,
                connection_id,
                ..
            }) => {
                if let Some(set) = self.connected.get_mut(&peer_id) {
                    set.remove(&connection_id);
                    if set.is_empty() {
                        self.connected.remove(&peer_id);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

/// Which per-address limit refused a connection (see [`IpLimitReached`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpLimitKind {
    /// Inbound connections still in their handshake from one IP address.
    Pending,
    /// Established inbound connections from one IP address.
    Established,
}

/// The error inside [`ConnectionDenied`] when one IP address has too many inbound
/// connections.
#[derive(Debug, thiserror::Error)]
#[error("per-IP limit of {limit} {} connections from {ip} reached", match .kind { IpLimitKind::Pending => "pending", IpLimitKind::Established => "established" })]
pub(crate) struct IpLimitReached {
    pub kind: IpLimitKind,
    pub ip: IpAddr,
    pub limit: u32,
}

/// Limits inbound connections per remote IP address: those still in their handshake
/// (so a few sources re-opening stalled sockets cannot hold every pending slot of
/// `connection_limits`) and established ones.
pub(crate) struct IpLimit {
    max_pending: u32,
    max_established: u32,
    pending: HashMap<ConnectionId, IpAddr>,
    established: HashMap<ConnectionId, IpAddr>,
    pending_per_ip: HashMap<IpAddr, u32>,
    established_per_ip: HashMap<IpAddr, u32>,
}

/// The IP address in a multiaddr (`/ip4/...` or `/ip6/...` first).
pub(crate) fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::Ip4(a) => Some(IpAddr::V4(a)),
        libp2p::multiaddr::Protocol::Ip6(a) => Some(IpAddr::V6(a)),
        _ => None,
    })
}

fn decrement(map: &mut HashMap<IpAddr, u32>, ip: IpAddr) {
    if let Some(n) = map.get_mut(&ip) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(&ip);
        }
    }
}

impl IpLimit {
    pub(crate) fn new(max_pending: u32, max_established: u32) -> Self {
        IpLimit {
            max_pending,
            max_established,
            pending: HashMap::new(),
            established: HashMap::new(),
            pending_per_ip: HashMap::new(),
            established_per_ip: HashMap::new(),
        }
    }

    fn end_pending(&mut self, id: ConnectionId) {
        if let Some(ip) = self.pending.remove(&id) {
            decrement(&mut self.pending_per_ip, ip);
        }
    }

    /// Connections from `ip` still in their handshake.
    #[cfg(test)]
    fn pending_from(&self, ip: IpAddr) -> u32 {
        self.pending_per_ip.get(&ip).copied().unwrap_or(0)
    }
}

impl NetworkBehaviour for IpLimit {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        id: ConnectionId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        let Some(ip) = ip_of(remote) else {
            return Ok(());
        };
        let n = self.pending_per_ip.entry(ip).or_default();
        if *n >= self.max_pending {
            return Err(ConnectionDenied::new(IpLimitReached {
                kind: IpLimitKind::Pending,
                ip,
                limit: self.max_pending,
            }));
        }
        *n += 1;
        self.pending.insert(id, ip);
        Ok(())
    }

    fn handle_established_inbound_connection(
        &mut self,
        id: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.end_pending(id);
        if let Some(ip) = ip_of(remote) {
            if self.established_per_ip.get(&ip).copied().unwrap_or(0) >= self.max_established {
                return Err(ConnectionDenied::new(IpLimitReached {
                    kind: IpLimitKind::Established,
                    ip,
                    limit: self.max_established,
                }));
            }
        }
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(e) if e.endpoint.is_listener() => {
                if let Some(ip) = ip_of(e.endpoint.get_remote_address()) {
                    self.established.insert(e.connection_id, ip);
                    *self.established_per_ip.entry(ip).or_default() += 1;
                }
            }
            FromSwarm::ConnectionClosed(ConnectionClosed { connection_id, .. }) => {
                if let Some(ip) = self.established.remove(&connection_id) {
                    decrement(&mut self.established_per_ip, ip);
                }
            }
            FromSwarm::ListenFailure(f) => self.end_pending(f.connection_id),
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(ip: &str, port: u16) -> Multiaddr {
        format!("/ip4/{ip}/tcp/{port}").parse().unwrap()
    }

    #[test]
    fn pending_connections_are_limited_per_ip_and_released() {
        let mut lim = IpLimit::new(2, 8);
        let local = addr("127.0.0.1", 1);
        let a = ConnectionId::new_unchecked(1);
        let b = ConnectionId::new_unchecked(2);
        let c = ConnectionId::new_unchecked(3);
        let d = ConnectionId::new_unchecked(4);
        lim.handle_pending_inbound_connection(a, &local, &addr("10.0.0.1", 5))
            .unwrap();
        lim.handle_pending_inbound_connection(b, &local, &addr("10.0.0.1", 6))
            .unwrap();
        let err = lim
            .handle_pending_inbound_connection(c, &local, &addr("10.0.0.1", 7))
            .unwrap_err();
        let reached = err.downcast::<IpLimitReached>().unwrap();
        assert_eq!(reached.kind, IpLimitKind::Pending);
        // Another address is not affected.
        lim.handle_pending_inbound_connection(d, &local, &addr("10.0.0.2", 5))
            .unwrap();
        // A finished handshake frees the slot.
        let peer = PeerId::random();
        lim.handle_established_inbound_connection(a, peer, &local, &addr("10.0.0.1", 5))
            .unwrap();
        assert_eq!(lim.pending_from("10.0.0.1".parse().unwrap()), 1);
        lim.handle_pending_inbound_connection(c, &local, &addr("10.0.0.1", 7))
            .unwrap();
        assert_eq!(lim.pending_from("10.0.0.1".parse().unwrap()), 2);
    }
}
