//! The node's configuration: commented TOML with serde defaults.
//!
//! Precedence, lowest first: built-in defaults < the TOML file <
//! `LEDGER_NODE_<SECTION>_<KEY>` environment variables < command-line flags. The node
//! reads only its own namespace, `LEDGER_NODE_`: `LEDGER_RPC` or `LEDGER_RPC_URL`, set
//! for `ledger-cli`, are not its business. Unknown keys in the file, and unknown sections
//! or keys inside the node's namespace (`LEDGER_NODE_RPC_LISTN`), are errors that name
//! the key. Relative paths in the file are resolved against the file's directory.
//!
//! Addresses may use host names: `localhost:29101` for `rpc.listen`, and
//! `/dns4/localhost/tcp/29100` (or `localhost:29100`) in `network.listen`;
//! [`Config::resolve_host_names`] turns them into IP addresses before the node binds.
//!
//! Default ports are the project's own, below the range Linux hands out for outgoing
//! connections (32768-60999), so no client connection can hold them: libp2p
//! [`DEFAULT_P2P_PORT`], JSON-RPC [`DEFAULT_RPC_PORT`], metrics [`DEFAULT_METRICS_PORT`]
//! (node-0 of `ledger-node testnet` and `ledger-node dev` use the same).

use serde::{Deserialize, Serialize};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

/// Default libp2p port.
pub const DEFAULT_P2P_PORT: u16 = 29100;
/// Default JSON-RPC port (`ledger-cli`'s default endpoint is `http://127.0.0.1:29101`).
pub const DEFAULT_RPC_PORT: u16 = 29101;
/// Default Prometheus metrics port.
pub const DEFAULT_METRICS_PORT: u16 = 29102;

/// Prefix of the node's environment variables: `LEDGER_NODE_<SECTION>_<KEY>`.
pub const ENV_PREFIX: &str = "LEDGER_NODE_";
/// The variable naming the config file (`--config`); not a section.
pub const ENV_CONFIG: &str = "LEDGER_NODE_CONFIG";

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed, or a key is unknown or has the wrong type.
    #[error("config {origin}: {message}")]
    Parse {
        /// The file, or `environment`.
        origin: String,
        /// What is wrong (names the key).
        message: String,
    },
    /// A value is invalid.
    #[error("config key `{key}`: {message}")]
    Invalid {
        /// The key, for example `rpc.listen`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// Most async-runtime worker threads `node.worker_threads` may ask for.
pub const MAX_WORKER_THREADS: usize = 1024;

/// `[node]`: where the node keeps its data and which network it joins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeSection {
    /// Name used in logs.
    pub name: String,
    /// The RocksDB data directory.
    pub data_dir: PathBuf,
    /// The genesis file of the network.
    pub genesis: PathBuf,
    /// The node's ed25519 key file (libp2p identity; the validator key if it is in the
    /// genesis validator set).
    pub key_file: PathBuf,
    /// Worker threads of the async runtime (RPC, gossip, consensus); 0: one per core.
    /// Lower it to keep a node to part of a machine that runs other work.
    pub worker_threads: usize,
}

impl Default for NodeSection {
    fn default() -> Self {
        NodeSection {
            name: "node".into(),
            data_dir: "data".into(),
            genesis: "genesis.toml".into(),
            key_file: "node.key".into(),
            worker_threads: 0,
        }
    }
}

/// `[network]`: libp2p.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkSection {
    /// Multiaddrs to listen on.
    pub listen: Vec<String>,
    /// Peers to dial at start: `/ip4/HOST/tcp/PORT/p2p/PEER_ID`.
    pub bootnodes: Vec<String>,
    /// Discover peers on the local network with mDNS.
    pub mdns: bool,
    /// Most peers connected at once.
    pub max_peers: u32,
    /// Most connections to one peer.
    pub max_connections_per_peer: u32,
    /// Largest gossip message in bytes; the largest block is kept below it.
    pub max_message_bytes: usize,
    /// Most inbound connections still in their handshake (noise + yamux), from all
    /// addresses together. Further ones are closed at once.
    pub max_pending_incoming: u32,
    /// Most inbound connections still in their handshake from one IP address, so that
    /// one source cannot hold every handshake slot.
    pub max_pending_incoming_per_ip: u32,
    /// Most established inbound connections from one IP address.
    pub max_incoming_per_ip: u32,
    /// Seconds a connection may take to finish its handshake before it is closed.
    pub handshake_timeout_secs: u64,
    /// Seconds gossip remembers a message to drop copies (and replays) of it. A replay
    /// older than this reaches consensus, which ignores it as stale and penalises a
    /// peer that keeps replaying long-final messages.
    pub duplicate_cache_secs: u64,
}

impl Default for NetworkSection {
    fn default() -> Self {
        NetworkSection {
            listen: vec![format!("/ip4/127.0.0.1/tcp/{DEFAULT_P2P_PORT}")],
            bootnodes: Vec::new(),
            mdns: false,
            max_peers: 50,
            max_connections_per_peer: 2,
            max_message_bytes: 4 * 1024 * 1024,
            max_pending_incoming: 128,
            max_pending_incoming_per_ip: 16,
            max_incoming_per_ip: 64,
            handshake_timeout_secs: 5,
            duplicate_cache_secs: 120,
        }
    }
}

/// `[rpc]`: JSON-RPC over HTTP and WebSocket on one port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RpcSection {
    /// Listen address; loopback unless you mean to expose it.
    pub listen: String,
    /// Largest request body in bytes.
    pub max_request_bytes: u32,
    /// Largest response body in bytes.
    pub max_response_bytes: u32,
    /// Most calls in one batch. The calls of a batch run concurrently and may take
    /// effect in any order; the answers come back in the order of the calls.
    pub max_batch_len: u32,
    /// Most simultaneous TCP connections (HTTP keep-alive and WebSocket alike). Further
    /// ones get `503` with JSON-RPC error -32005 and are closed.
    pub max_connections: u32,
    /// Most subscriptions per WebSocket connection.
    pub max_subscriptions_per_connection: u32,
    /// Origins allowed by CORS (`["*"]` for any); empty: no CORS headers.
    pub cors_origins: Vec<String>,
    /// Most simultaneous TCP connections from one IP address.
    pub max_connections_per_ip: u32,
    /// Seconds a connection may go without reading or writing a byte before it is
    /// closed (idle keep-alive sockets, stalled clients). WebSocket connections are
    /// pinged at a third of it, so a live client never reaches it.
    pub idle_timeout_secs: u64,
    /// Bytes of notifications one subscription may have queued and not yet written to
    /// its client. A subscriber that falls further behind is dropped with a final
    /// error notification (code -32005). One notification larger than this is still
    /// sent when nothing else is queued.
    pub subscription_buffer_bytes: usize,
    /// Bytes of queued notifications of all subscriptions together; a subscription
    /// that would exceed it is dropped the same way.
    pub subscription_buffer_bytes_total: usize,
    /// Messages (responses and notifications) queued per WebSocket connection.
    pub ws_message_buffer: u32,
}

impl Default for RpcSection {
    fn default() -> Self {
        RpcSection {
            listen: format!("127.0.0.1:{DEFAULT_RPC_PORT}"),
            max_request_bytes: 1024 * 1024,
            max_response_bytes: 16 * 1024 * 1024,
            max_batch_len: 50,
            max_connections: 256,
            max_subscriptions_per_connection: 64,
            cors_origins: Vec::new(),
            max_connections_per_ip: 32,
            idle_timeout_secs: 60,
            subscription_buffer_bytes: 4 * 1024 * 1024,
            subscription_buffer_bytes_total: 128 * 1024 * 1024,
            ws_message_buffer: 256,
        }
    }
}

/// `[consensus]`: local consensus settings (protocol parameters are in the genesis).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsensusSection {
    /// Take part as a validator if the node key is in the genesis validator set
    /// (Streamlet), or mine (Nakamoto). `false` runs a full node that only follows.
    pub participate: bool,
    /// Nakamoto: threads searching nonces.
    pub miner_threads: u32,
    /// Most transactions this node puts in a block it proposes or mines (also bounded
    /// by the genesis limits).
    pub max_block_txs: u32,
    /// Streamlet: start the next epoch as soon as a block of this one is notarized
    /// (responsive epochs), instead of waiting out the paper's fixed 2Δ.
    pub responsive_epochs: bool,
    /// Streamlet, responsive epochs: the shortest epoch in ms, so that blocks batch.
    pub min_block_interval_ms: u64,
}

impl ConsensusSection {
    /// The Streamlet pacing these settings choose.
    pub fn pacing(&self) -> ledger_consensus::streamlet::Pacing {
        use ledger_consensus::streamlet::Pacing;
        if self.responsive_epochs {
            Pacing::Responsive {
                min_epoch_ms: self.min_block_interval_ms,
            }
        } else {
            Pacing::Clock
        }
    }
}

impl Default for ConsensusSection {
    fn default() -> Self {
        ConsensusSection {
            participate: true,
            miner_threads: 1,
            max_block_txs: 8_000,
            responsive_epochs: true,
            min_block_interval_ms: ledger_consensus::streamlet::DEFAULT_MIN_EPOCH_MS,
        }
    }
}

/// `[mempool]`: limits of the pending-transaction pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MempoolSection {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most bytes held (encoded transactions).
    pub max_bytes: usize,
    /// Most transactions held per account.
    pub max_per_account: usize,
    /// How far ahead of an account's next nonce a transaction may be.
    pub max_nonce_gap: u64,
}

impl Default for MempoolSection {
    fn default() -> Self {
        MempoolSection {
            max_txs: 200_000,
            max_bytes: 128 * 1024 * 1024,
            max_per_account: 4_096,
            max_nonce_gap: 1_024,
        }
    }
}

/// `[storage]`: RocksDB.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSection {
    /// fsync every committed block (a crash of the machine, not only of the process,
    /// then loses nothing). A validator's own votes are always synced.
    pub sync_writes: bool,
    /// Keep the query indexes (transactions, orders, trades, account history, candles,
    /// swaps). A validator that serves no queries may turn them off, as CometBFT
    /// validators run with `indexer = "null"`: blocks then commit with a quarter of the
    /// writes, and `get_tx`, `get_order`, the histories, trades, candles and swaps answer
    /// -32002 `not_indexed`. Turned back on, the node rebuilds them from its blocks at
    /// start-up.
    pub indexes: bool,
}

impl Default for StorageSection {
    fn default() -> Self {
        StorageSection {
            sync_writes: true,
            indexes: true,
        }
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`: tracing output (on stderr).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSection {
    /// Filter, `RUST_LOG` syntax; the `RUST_LOG` variable overrides it.
    pub filter: String,
    /// `text` or `json`.
    pub format: LogFormat,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            filter: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// `[metrics]`: Prometheus text format over HTTP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSection {
    /// Serve `/metrics`.
    pub enabled: bool,
    /// Listen address (loopback by default).
    pub listen: String,
}

impl Default for MetricsSection {
    fn default() -> Self {
        MetricsSection {
            enabled: true,
            listen: format!("127.0.0.1:{DEFAULT_METRICS_PORT}"),
        }
    }
}

/// `[state_sync]`: joining a long chain from a snapshot instead of replaying it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateSyncSection {
    /// On start with an empty data directory, fetch a snapshot of the ledger state at a
    /// final height from peers (checked against the state root signed by a quorum of
    /// validators and the block's certificate), then block-sync the rest. Streamlet only.
    pub enabled: bool,
    /// Give up (and fail to start) if no attested snapshot is fetched in this many
    /// seconds.
    pub timeout_secs: u64,
}

impl Default for StateSyncSection {
    fn default() -> Self {
        StateSyncSection {
            enabled: false,
            timeout_secs: 120,
        }
    }
}

/// A deliberately Byzantine behaviour of a validator, for tests of how honest nodes
/// cope (see `docs/reliability.md`). Only a node built with the `byzantine` feature
/// (the `ledger-node-byzantine` binary) runs one; every other build refuses a
/// `[byzantine]` section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ByzantineMode {
    /// As leader, sends two different signed proposals for its epoch.
    Equivocate,
    /// Sends every vote together with a signed vote for another block of the epoch.
    DoubleVote,
    /// Never sends its votes.
    WithholdVotes,
    /// As leader, sends its proposal with a corrupted signature.
    InvalidBlockSignature,
    /// As leader, proposes a signed block spending an account it holds no key for.
    InvalidStateTransition,
    /// As leader, proposes a signed block with more transactions than the genesis
    /// allows.
    OversizedBlock,
    /// Re-sends its old consensus messages.
    ReplayOld,
    /// Floods the consensus topic with garbage.
    GossipSpam,
    /// Answers block-sync requests with a block carrying a forged certificate.
    ForgedSync,
    /// Not an attack but a deliberately broken build, for the history checker's
    /// self-test: the node notarizes with half the validators' votes (n/2) instead of
    /// a two-thirds quorum. Run on every node of a network split in two halves, both
    /// halves finalize, and they finalize different blocks.
    BrokenQuorum,
}

impl ByzantineMode {
    /// Every mode.
    pub const ALL: [ByzantineMode; 10] = [
        ByzantineMode::Equivocate,
        ByzantineMode::DoubleVote,
        ByzantineMode::WithholdVotes,
        ByzantineMode::InvalidBlockSignature,
        ByzantineMode::InvalidStateTransition,
        ByzantineMode::OversizedBlock,
        ByzantineMode::ReplayOld,
        ByzantineMode::GossipSpam,
        ByzantineMode::ForgedSync,
        ByzantineMode::BrokenQuorum,
    ];

    /// The name used in the config file (`equivocate`, `double-vote`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ByzantineMode::Equivocate => "equivocate",
            ByzantineMode::DoubleVote => "double-vote",
            ByzantineMode::WithholdVotes => "withhold-votes",
            ByzantineMode::InvalidBlockSignature => "invalid-block-signature",
            ByzantineMode::InvalidStateTransition => "invalid-state-transition",
            ByzantineMode::OversizedBlock => "oversized-block",
            ByzantineMode::ReplayOld => "replay-old",
            ByzantineMode::GossipSpam => "gossip-spam",
            ByzantineMode::ForgedSync => "forged-sync",
            ByzantineMode::BrokenQuorum => "broken-quorum",
        }
    }
}

/// `[byzantine]`: test-only misbehaviour of this validator (see [`ByzantineMode`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByzantineSection {
    /// What to do wrong.
    pub mode: ByzantineMode,
}

/// True if this build can run a `[byzantine]` section (the `byzantine` feature).
pub const BYZANTINE_BUILD: bool = cfg!(feature = "byzantine");

/// The whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[node]`.
    pub node: NodeSection,
    /// `[network]`.
    pub network: NetworkSection,
    /// `[rpc]`.
    pub rpc: RpcSection,
    /// `[consensus]`.
    pub consensus: ConsensusSection,
    /// `[mempool]`.
    pub mempool: MempoolSection,
    /// `[storage]`.
    pub storage: StorageSection,
    /// `[log]`.
    pub log: LogSection,
    /// `[metrics]`.
    pub metrics: MetricsSection,
    /// `[state_sync]`.
    pub state_sync: StateSyncSection,
    /// `[byzantine]`: absent on every real node; refused unless built with the
    /// `byzantine` feature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byzantine: Option<ByzantineSection>,
}

const SECTIONS: &[&str] = &[
    "node",
    "network",
    "rpc",
    "consensus",
    "mempool",
    "storage",
    "log",
    "metrics",
    "state_sync",
];

/// Keys whose environment value is a comma-separated list.
const LIST_KEYS: &[&str] = &["listen", "bootnodes", "cors_origins"];

impl Config {
    /// Loads a file (if given), applies `LEDGER_NODE_*` variables from `env`, and resolves
    /// relative paths against the file's directory. Flags are applied by the caller
    /// afterwards, then [`Config::validate`].
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (mut value, origin, base) = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Io {
                    path: p.to_path_buf(),
                    source,
                })?;
                let value: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    origin: p.display().to_string(),
                    message: e.to_string(),
                })?;
                (
                    value,
                    p.display().to_string(),
                    p.parent().map(Path::to_path_buf),
                )
            }
            None => (toml::Table::new(), "defaults".to_string(), None),
        };
        // Check the file alone first so errors name the file, not the environment.
        toml::Value::Table(value.clone())
            .try_into::<Config>()
            .map_err(|e| ConfigError::Parse {
                origin: origin.clone(),
                message: e.to_string(),
            })?;
        apply_env(&mut value, env)?;
        let mut config: Config =
            toml::Value::Table(value)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    origin: "environment".into(),
                    message: e.to_string(),
                })?;
        if let Some(base) = base.filter(|b| !b.as_os_str().is_empty()) {
            for p in [
                &mut config.node.data_dir,
                &mut config.node.genesis,
                &mut config.node.key_file,
            ] {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        Ok(config)
    }

    /// Checks addresses and limits; names the first bad key. (Files are checked when
    /// they are opened, with errors naming the path.) Host names in addresses are
    /// looked up here, so a name that does not resolve is an error naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(b) = &self.byzantine {
            if !BYZANTINE_BUILD {
                return Err(invalid(
                    "byzantine.mode",
                    format!(
                        "Byzantine mode {:?} is a test-only feature: this ledger-node was built without it (remove the [byzantine] section; tests run the ledger-node-byzantine binary, built with `--features byzantine`)",
                        b.mode.name()
                    ),
                ));
            }
        }
        parse_socket(&self.rpc.listen, "rpc.listen")?;
        if self.metrics.enabled {
            parse_socket(&self.metrics.listen, "metrics.listen")?;
        }
        for a in &self.network.listen {
            resolve_p2p_addr(a, "network.listen")?;
        }
        for a in &self.network.bootnodes {
            resolve_p2p_addr(a, "network.bootnodes")?;
        }
        if self.network.listen.is_empty() {
            return Err(invalid(
                "network.listen",
                "at least one address is required",
            ));
        }
        for (key, v) in [
            ("rpc.max_request_bytes", self.rpc.max_request_bytes as u64),
            ("rpc.max_response_bytes", self.rpc.max_response_bytes as u64),
            ("rpc.max_batch_len", self.rpc.max_batch_len as u64),
            ("rpc.max_connections", self.rpc.max_connections as u64),
            ("mempool.max_txs", self.mempool.max_txs as u64),
            (
                "mempool.max_per_account",
                self.mempool.max_per_account as u64,
            ),
            (
                "consensus.max_block_txs",
                self.consensus.max_block_txs as u64,
            ),
            ("network.max_peers", self.network.max_peers as u64),
            (
                "network.max_pending_incoming",
                self.network.max_pending_incoming as u64,
            ),
            (
                "network.max_pending_incoming_per_ip",
                self.network.max_pending_incoming_per_ip as u64,
            ),
            (
                "network.max_incoming_per_ip",
                self.network.max_incoming_per_ip as u64,
            ),
            (
                "network.handshake_timeout_secs",
                self.network.handshake_timeout_secs,
            ),
            (
                "network.duplicate_cache_secs",
                self.network.duplicate_cache_secs,
            ),
            (
                "rpc.max_connections_per_ip",
                self.rpc.max_connections_per_ip as u64,
            ),
            ("rpc.idle_timeout_secs", self.rpc.idle_timeout_secs),
            (
                "rpc.subscription_buffer_bytes",
                self.rpc.subscription_buffer_bytes as u64,
            ),
            (
                "rpc.subscription_buffer_bytes_total",
                self.rpc.subscription_buffer_bytes_total as u64,
            ),
            ("rpc.ws_message_buffer", self.rpc.ws_message_buffer as u64),
        ] {
            if v == 0 {
                return Err(invalid(key, "must be positive"));
            }
        }
        if self.node.worker_threads > MAX_WORKER_THREADS {
            return Err(invalid(
                "node.worker_threads",
                format!(
                    "{} is more than {MAX_WORKER_THREADS} (0: one per core)",
                    self.node.worker_threads
                ),
            ));
        }
        Ok(())
    }

    /// Replaces host names in every listen and peer address by the IP address they
    /// resolve to (IPv4 first): `localhost:29101` becomes `127.0.0.1:29101`,
    /// `/dns4/localhost/tcp/29100` and `localhost:29100` in `network.listen` become
    /// `/ip4/127.0.0.1/tcp/29100`. The node binds and dials IP addresses only.
    pub fn resolve_host_names(&mut self) -> Result<(), ConfigError> {
        self.rpc.listen = parse_socket(&self.rpc.listen, "rpc.listen")?.to_string();
        if self.metrics.enabled {
            self.metrics.listen = parse_socket(&self.metrics.listen, "metrics.listen")?.to_string();
        }
        for a in &mut self.network.listen {
            *a = resolve_p2p_addr(a, "network.listen")?;
        }
        for a in &mut self.network.bootnodes {
            *a = resolve_p2p_addr(a, "network.bootnodes")?;
        }
        Ok(())
    }

    /// One warning per listen port inside the range of ports this machine hands out
    /// for outgoing connections (Linux: `/proc/sys/net/ipv4/ip_local_port_range`,
    /// usually 32768-60999): any program's outgoing connection may hold such a port
    /// when the node starts, and the node then cannot bind it.
    pub fn ephemeral_port_warnings(&self) -> Vec<String> {
        let Some(range) = ephemeral_port_range() else {
            return Vec::new();
        };
        let mut ports = Vec::new();
        for a in &self.network.listen {
            if let Some(p) = multiaddr_port(a) {
                ports.push(("network.listen", p));
            }
        }
        if let Some(p) = socket_port(&self.rpc.listen) {
            ports.push(("rpc.listen", p));
        }
        if self.metrics.enabled {
            if let Some(p) = socket_port(&self.metrics.listen) {
                ports.push(("metrics.listen", p));
            }
        }
        ports
            .into_iter()
            .filter(|(_, p)| *p != 0 && range.contains(p))
            .map(|(key, p)| {
                format!(
                    "{key}: port {p} is inside the range this machine uses for outgoing connections \
                     ({}-{}, /proc/sys/net/ipv4/ip_local_port_range), so another program may hold it; \
                     ports below {} (the defaults are {DEFAULT_P2P_PORT}-{DEFAULT_METRICS_PORT}) are safe",
                    range.start(),
                    range.end(),
                    range.start()
                )
            })
            .collect()
    }

    /// The variables of `env` that look meant for the node but are outside its
    /// namespace (`LEDGER_RPC_LISTEN`, which the node read before it used
    /// `LEDGER_NODE_`), each with the name the node reads. Such variables are ignored;
    /// the node logs these hints at start.
    pub fn foreign_env_hints(env: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
        let defaults = toml::Value::try_from(Config::default())
            .unwrap_or(toml::Value::Table(Default::default()));
        let mut hints: Vec<String> = env
            .into_iter()
            .filter_map(|(name, _)| {
                let rest = name.strip_prefix("LEDGER_")?;
                if name.starts_with(ENV_PREFIX) {
                    return None;
                }
                let lower = rest.to_ascii_lowercase();
                let (section, key) = split_section_key(&lower)?;
                defaults.get(section)?.get(key)?;
                Some(format!(
                    "{name} is ignored: the node reads {ENV_PREFIX}{rest} (ledger-cli reads LEDGER_RPC, LEDGER_KEY, LEDGER_KEYS_DIR)"
                ))
            })
            .collect();
        hints.sort();
        hints
    }

    /// The resolved configuration as TOML (what `--print-config` shows).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// The RPC listen address.
    pub fn rpc_addr(&self) -> Result<SocketAddr, ConfigError> {
        parse_socket(&self.rpc.listen, "rpc.listen")
    }

    /// The metrics listen address.
    pub fn metrics_addr(&self) -> Result<SocketAddr, ConfigError> {
        parse_socket(&self.metrics.listen, "metrics.listen")
    }
}

/// Parses `IP:PORT` (`[::1]:PORT` for IPv6) or `HOST:PORT`, looking host names up
/// (IPv4 first).
fn parse_socket(s: &str, key: &str) -> Result<SocketAddr, ConfigError> {
    if let Ok(a) = s.parse() {
        return Ok(a);
    }
    let shape = || {
        invalid(
            key,
            format!(
                "{s:?} is not an address like 127.0.0.1:{DEFAULT_RPC_PORT} or localhost:{DEFAULT_RPC_PORT}"
            ),
        )
    };
    let (host, port) = s.rsplit_once(':').ok_or_else(shape)?;
    let port: u16 = port.parse().map_err(|_| shape())?;
    if host.is_empty() || host.contains('/') {
        return Err(shape());
    }
    resolve_host(host, key, None).map(|ip| SocketAddr::new(ip, port))
}

/// The IP address of `host`: IPv4 first, or only the family asked for.
fn resolve_host(
    host: &str,
    key: &str,
    want_v6: Option<bool>,
) -> Result<std::net::IpAddr, ConfigError> {
    let found: Vec<SocketAddr> = (host, 0)
        .to_socket_addrs()
        .map_err(|e| invalid(key, format!("cannot resolve the host name {host:?}: {e}")))?
        .collect();
    let pick = match want_v6 {
        Some(v6) => found.iter().find(|a| a.is_ipv6() == v6),
        None => found.iter().find(|a| a.is_ipv4()).or_else(|| found.first()),
    };
    pick.map(|a| a.ip()).ok_or_else(|| {
        invalid(
            key,
            format!(
                "the host name {host:?} has no {} address",
                match want_v6 {
                    Some(true) => "IPv6",
                    Some(false) => "IPv4",
                    None => "IP",
                }
            ),
        )
    })
}

/// A libp2p address with IP addresses only: `/ip4|ip6/...` as given, `/dns|dns4|dns6/HOST/...`
/// with the host looked up, or `HOST:PORT` as `/ip4/IP/tcp/PORT`.
fn resolve_p2p_addr(a: &str, key: &str) -> Result<String, ConfigError> {
    let shape = |why: String| {
        invalid(
            key,
            format!(
                "{a:?} is not a libp2p address ({why}); write /ip4/127.0.0.1/tcp/{DEFAULT_P2P_PORT}, \
                 /dns4/localhost/tcp/{DEFAULT_P2P_PORT} or localhost:{DEFAULT_P2P_PORT}{}",
                if key.ends_with("bootnodes") {
                    ", followed by /p2p/PEER_ID"
                } else {
                    ""
                }
            ),
        )
    };
    let text = if a.starts_with('/') {
        let parts: Vec<&str> = a.split('/').collect();
        match parts.get(1).copied() {
            Some(kind @ ("dns" | "dns4" | "dns6")) => {
                let host = parts
                    .get(2)
                    .filter(|h| !h.is_empty())
                    .ok_or_else(|| shape("no host name after /dns".into()))?;
                let want = match kind {
                    "dns4" => Some(false),
                    "dns6" => Some(true),
                    _ => None,
                };
                let ip = resolve_host(host, key, want)?;
                let family = if ip.is_ipv4() { "ip4" } else { "ip6" };
                let mut out = format!("/{family}/{ip}");
                for p in &parts[3..] {
                    out.push('/');
                    out.push_str(p);
                }
                out
            }
            _ => a.to_string(),
        }
    } else if let Some((host, port)) = a.rsplit_once(':') {
        let port: u16 = port
            .parse()
            .map_err(|_| shape(format!("{port:?} is not a port")))?;
        let ip = if let Ok(ip) = host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
            ip
        } else {
            resolve_host(host, key, None)?
        };
        let family = if ip.is_ipv4() { "ip4" } else { "ip6" };
        format!("/{family}/{ip}/tcp/{port}")
    } else {
        return Err(shape("it starts with neither / nor HOST:".into()));
    };
    text.parse::<ledger_network::Multiaddr>()
        .map_err(|e| shape(e.to_string()))?;
    Ok(text)
}

/// The TCP port of `/ip4/HOST/tcp/PORT...`.
fn multiaddr_port(a: &str) -> Option<u16> {
    let parts: Vec<&str> = a.split('/').collect();
    let i = parts.iter().position(|p| *p == "tcp")?;
    parts.get(i + 1)?.parse().ok()
}

/// The port of `HOST:PORT`.
fn socket_port(s: &str) -> Option<u16> {
    s.rsplit_once(':')?.1.parse().ok()
}

/// The range of local ports this machine hands out for outgoing connections (Linux).
pub fn ephemeral_port_range() -> Option<std::ops::RangeInclusive<u16>> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut it = text.split_whitespace().map(|w| w.parse::<u16>().ok());
    let (lo, hi) = (it.next()??, it.next()??);
    (lo <= hi).then_some(lo..=hi)
}

/// Splits `section_key` (lower case) into a section and a key, knowing that section
/// names may hold an underscore themselves (`state_sync_enabled` is [state_sync]
/// `enabled`). A name that starts with no known section splits at its first underscore.
fn split_section_key(rest: &str) -> Option<(&str, &str)> {
    let known = SECTIONS.iter().filter(|s| s.contains('_')).find_map(|s| {
        rest.strip_prefix(s)
            .and_then(|r| r.strip_prefix('_'))
            .map(|key| (&rest[..s.len()], key))
    });
    known
        .or_else(|| rest.split_once('_'))
        .filter(|(_, k)| !k.is_empty())
}

/// Applies `LEDGER_NODE_<SECTION>_<KEY>=value` variables. Everything outside the
/// `LEDGER_NODE_` namespace is ignored (`LEDGER_RPC`, `LEDGER_RPC_URL`: ledger-cli's);
/// inside it, an unknown section or key is an error naming the variable.
/// `LEDGER_NODE_CONFIG` names the config file (the `--config` flag) and is not a section.
fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let defaults =
        toml::Value::try_from(Config::default()).unwrap_or(toml::Value::Table(Default::default()));
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX) && k != ENV_CONFIG)
        .collect();
    vars.sort();
    for (name, raw) in vars {
        let rest = name[ENV_PREFIX.len()..].to_ascii_lowercase();
        let unknown = |what: String| {
            ConfigError::Parse {
            origin: "environment".into(),
            message: format!(
                "{name}: {what} (the node reads {ENV_PREFIX}<SECTION>_<KEY>, e.g. {ENV_PREFIX}RPC_LISTEN; sections: {})",
                SECTIONS.join(", ")
            ),
        }
        };
        let Some((section, key)) = split_section_key(&rest) else {
            return Err(unknown(format!("no section and key in `{rest}`")));
        };
        if !SECTIONS.contains(&section) {
            return Err(unknown(format!("unknown section [{section}]")));
        }
        let Some(default) = defaults.get(section).and_then(|s| s.get(key)) else {
            return Err(unknown(format!(
                "unknown key `{key}` in section [{section}]"
            )));
        };
        let value = match default {
            toml::Value::Array(_) if LIST_KEYS.contains(&key) => toml::Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| toml::Value::String(s.to_string()))
                    .collect(),
            ),
            toml::Value::String(_) => toml::Value::String(raw.clone()),
            _ => toml::from_str::<toml::Table>(&format!("v = {raw}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .ok_or_else(|| ConfigError::Parse {
                    origin: "environment".into(),
                    message: format!("{name}: {raw:?} is not a valid value"),
                })?,
        };
        table
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(Default::default()))
            .as_table_mut()
            .ok_or_else(|| ConfigError::Parse {
                origin: "environment".into(),
                message: format!("[{section}] is not a table"),
            })?
            .insert(key.to_string(), value);
    }
    Ok(())
}

/// The commented default configuration that `ledger-node init` writes.
pub const DEFAULT_CONFIG_TOML: &str = r#"# ledger-node configuration.
#
# Precedence: built-in defaults < this file < LEDGER_NODE_<SECTION>_<KEY> environment
# variables (e.g. LEDGER_NODE_RPC_LISTEN=127.0.0.1:9000) < command-line flags.
# Addresses may use host names (localhost:29101, /dns4/localhost/tcp/29100). The default
# ports sit below the range Linux uses for outgoing connections (32768-60999).
# `ledger-node --config FILE --print-config` shows the resolved configuration.
# Relative paths are relative to this file's directory. Unknown keys are errors.

[node]
# Name used in logs.
name = "node"
# RocksDB data directory.
data_dir = "data"
# Genesis file of the network to join (every node of a network uses the same one).
genesis = "genesis.toml"
# ed25519 key file written by `ledger-node keygen` (libp2p identity, and the validator
# key when it is in the genesis validator set). Keep it readable only by the node.
key_file = "node.key"
# Worker threads of the async runtime (RPC, gossip, consensus); 0: one per core.
# Lower it to keep the node to part of a machine that runs other work.
worker_threads = 0

[network]
# libp2p listen addresses.
listen = ["/ip4/127.0.0.1/tcp/29100"]
# Peers dialled at start, as /ip4/HOST/tcp/PORT/p2p/PEER_ID.
bootnodes = []
# Discover peers on the local network with mDNS.
mdns = false
# Most peers connected at once, and connections per peer.
max_peers = 50
max_connections_per_peer = 2
# Largest gossip message in bytes; the largest block is kept below it.
max_message_bytes = 4194304
# Inbound connections still in their handshake: in all, and from one IP address.
# Beyond them a connection is closed at once (logged, ledger_p2p_refused_total).
max_pending_incoming = 128
max_pending_incoming_per_ip = 16
# Established inbound connections from one IP address.
max_incoming_per_ip = 64
# Seconds a connection may take to finish its handshake.
handshake_timeout_secs = 5
# Seconds gossip remembers a message to drop copies and replays of it.
duplicate_cache_secs = 120

[rpc]
# JSON-RPC over HTTP and WebSocket, plus GET /health and /health/ready.
# Bound to loopback: put a proxy in front before exposing it.
listen = "127.0.0.1:29101"
max_request_bytes = 1048576
max_response_bytes = 16777216
# Calls in one JSON-RPC batch; they run concurrently (their signatures are checked
# together) and are answered in order.
max_batch_len = 50
# TCP connections (idle keep-alive sockets count), in all and from one IP address.
# Beyond them: 503 with JSON-RPC error -32005, logged, ledger_rpc_refused_total.
max_connections = 256
max_connections_per_ip = 32
max_subscriptions_per_connection = 64
# Origins allowed by CORS, e.g. ["http://localhost:3000"] or ["*"].
cors_origins = []
# Seconds without a byte read or written before a connection is closed.
idle_timeout_secs = 60
# Notification bytes queued and unsent, per subscription and for all of them. A
# subscriber that falls further behind is dropped with an error notification.
subscription_buffer_bytes = 4194304
subscription_buffer_bytes_total = 134217728
# Messages queued per WebSocket connection.
ws_message_buffer = 256

[consensus]
# Validate (Streamlet, if this node's key is a genesis validator) or mine (Nakamoto).
# false: a full node that follows the chain without taking part.
participate = true
# Nakamoto: threads searching for proof of work.
miner_threads = 1
# Most transactions per block this node proposes (also bounded by the genesis).
max_block_txs = 8000
# Streamlet: start the next epoch as soon as a block of this one is notarized
# (responsive epochs); false keeps the paper's fixed epochs of 2 delta.
responsive_epochs = true
# Streamlet, responsive epochs: shortest epoch in ms, so that blocks batch orders.
min_block_interval_ms = 50

[mempool]
max_txs = 200000
max_bytes = 134217728
max_per_account = 4096
# How far ahead of an account's next nonce a transaction may be.
max_nonce_gap = 1024

[storage]
# fsync every committed block. A validator's own votes are always synced.
sync_writes = true
# Keep the query indexes (transactions, orders, trades, histories, candles, swaps).
# false: a validator that serves no queries commits blocks with a quarter of the writes;
# those queries then answer -32002 not_indexed. Rebuilt from the blocks when turned on.
indexes = true

[log]
# RUST_LOG syntax; the RUST_LOG environment variable overrides it.
filter = "info"
# "text" or "json". Logs go to stderr; data goes to stdout.
format = "text"

[metrics]
# OpenMetrics text format at http://LISTEN/metrics.
enabled = true
listen = "127.0.0.1:29102"

[state_sync]
# With an empty data directory, join from a snapshot of the ledger state that peers
# serve (checked against the state root signed by a quorum of validators), then
# block-sync the rest, instead of replaying every block from genesis. Streamlet only.
enabled = false
# Fail to start if no attested snapshot arrives within this many seconds.
timeout_secs = 120
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("node.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn the_commented_default_parses_to_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), DEFAULT_CONFIG_TOML);
        let c = Config::load(Some(&p), Vec::new()).unwrap();
        let mut expected = Config::default();
        expected.node.data_dir = dir.path().join("data");
        expected.node.genesis = dir.path().join("genesis.toml");
        expected.node.key_file = dir.path().join("node.key");
        assert_eq!(c, expected);
        c.validate().unwrap();
    }

    #[test]
    fn worker_threads_zero_means_one_per_core_and_a_huge_count_is_refused() {
        let mut c = Config::default();
        assert_eq!(c.node.worker_threads, 0);
        c.node.worker_threads = 1;
        c.validate().unwrap();
        c.node.worker_threads = MAX_WORKER_THREADS + 1;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("node.worker_threads"), "{e}");
    }

    #[test]
    fn a_byzantine_section_parses_and_only_a_byzantine_build_accepts_it() {
        let dir = tempfile::tempdir().unwrap();
        for mode in ByzantineMode::ALL {
            let p = write(
                dir.path(),
                &format!("[byzantine]\nmode = \"{}\"\n", mode.name()),
            );
            let c = Config::load(Some(&p), Vec::new()).unwrap();
            assert_eq!(c.byzantine, Some(ByzantineSection { mode }));
            let verdict = c.validate().map_err(|e| e.to_string());
            assert_eq!(verdict.is_ok(), BYZANTINE_BUILD, "{verdict:?}");
            if let Err(e) = verdict {
                assert!(
                    e.contains("byzantine.mode") && e.contains("test-only"),
                    "{e}"
                );
            }
        }
        let p = write(dir.path(), "[byzantine]\nmode = \"lie\"\n");
        let e = Config::load(Some(&p), Vec::new()).unwrap_err().to_string();
        assert!(e.contains("lie"), "{e}");
        // Absent on a real node, and not printed.
        let text = toml::to_string(&Config::default()).unwrap();
        assert!(!text.contains("byzantine"), "{text}");
    }

    #[test]
    fn precedence_file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "[rpc]\nlisten = \"127.0.0.1:9000\"\nmax_batch_len = 7\n",
        );
        let env = vec![
            (
                "LEDGER_NODE_RPC_LISTEN".to_string(),
                "127.0.0.1:9100".to_string(),
            ),
            (
                "LEDGER_NODE_NETWORK_BOOTNODES".to_string(),
                "/ip4/127.0.0.1/tcp/1, /ip4/127.0.0.1/tcp/2".to_string(),
            ),
            ("LEDGER_NODE_MEMPOOL_MAX_TXS".to_string(), "12".to_string()),
            ("LEDGER_NODE_NETWORK_MDNS".to_string(), "true".to_string()),
            ("LEDGER_NODE_NODE_NAME".to_string(), "n7".to_string()),
            // A section whose name holds an underscore.
            (
                "LEDGER_NODE_STATE_SYNC_ENABLED".to_string(),
                "true".to_string(),
            ),
            (
                "LEDGER_NODE_STATE_SYNC_TIMEOUT_SECS".to_string(),
                "9".to_string(),
            ),
            // The config file's variable (the --config flag), not a section.
            (
                "LEDGER_NODE_CONFIG".to_string(),
                "/elsewhere.toml".to_string(),
            ),
            // ledger-cli's variables, and anything else outside the namespace: ignored.
            ("LEDGER_RPC".to_string(), "http://x".to_string()),
            ("LEDGER_RPC_URL".to_string(), "http://x".to_string()),
            ("LEDGER_RPC_LISTEN".to_string(), "garbage".to_string()),
            ("LEDGER_CRASH_DIR".to_string(), "/tmp".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ];
        let c = Config::load(Some(&p), env).unwrap();
        assert_eq!(c.rpc.listen, "127.0.0.1:9100");
        assert_eq!(c.rpc.max_batch_len, 7);
        assert_eq!(c.network.bootnodes.len(), 2);
        assert_eq!(c.mempool.max_txs, 12);
        assert_eq!(c.node.name, "n7");
        assert!(c.network.mdns);
        assert!(c.state_sync.enabled);
        assert_eq!(c.state_sync.timeout_secs, 9);
    }

    #[test]
    fn variables_of_the_old_names_get_a_hint_and_nothing_else() {
        let hints = Config::foreign_env_hints(vec![
            ("LEDGER_RPC_LISTEN".to_string(), "x".to_string()),
            ("LEDGER_RPC_URL".to_string(), "x".to_string()),
            ("LEDGER_RPC".to_string(), "x".to_string()),
            ("LEDGER_NODE_RPC_LISTEN".to_string(), "x".to_string()),
        ]);
        assert_eq!(hints.len(), 1, "{hints:?}");
        assert!(hints[0].contains("LEDGER_NODE_RPC_LISTEN"), "{hints:?}");
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "[rpc]\nlistn = \"127.0.0.1:9000\"\n");
        let e = Config::load(Some(&p), Vec::new()).unwrap_err().to_string();
        assert!(e.contains("listn") && e.contains("node.toml"), "{e}");
        let p = write(dir.path(), "[rpcc]\n");
        let e = Config::load(Some(&p), Vec::new()).unwrap_err().to_string();
        assert!(e.contains("rpcc"), "{e}");
        for bad in [
            "LEDGER_NODE_RPC_LISTN",
            "LEDGER_NODE_RPCC_LISTEN",
            "LEDGER_NODE_X",
        ] {
            let env = vec![(bad.to_string(), "x".to_string())];
            let e = Config::load(None, env).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
        let env = vec![(
            "LEDGER_NODE_MEMPOOL_MAX_TXS".to_string(),
            "many".to_string(),
        )];
        let e = Config::load(None, env).unwrap_err().to_string();
        assert!(e.contains("LEDGER_NODE_MEMPOOL_MAX_TXS"), "{e}");
    }

    #[test]
    fn bad_addresses_and_missing_files_name_the_key_or_path() {
        let mut c = Config::default();
        c.rpc.listen = "localhost".into();
        assert!(c.validate().unwrap_err().to_string().contains("rpc.listen"));
        let mut c = Config::default();
        c.network.bootnodes = vec!["not-an-addr".into()];
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("network.bootnodes"));
        let mut c = Config::default();
        c.rpc.listen = "no-such-host.invalid:80".into();
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("rpc.listen") && e.contains("no-such-host.invalid"),
            "{e}"
        );
        let e = Config::load(Some(Path::new("/nope/node.toml")), Vec::new()).unwrap_err();
        assert!(e.to_string().contains("/nope/node.toml"));
    }

    #[test]
    fn host_names_resolve_to_ip_addresses() {
        let mut c = Config::default();
        c.rpc.listen = "localhost:29101".into();
        c.metrics.listen = "localhost:0".into();
        c.network.listen = vec![
            "/dns4/localhost/tcp/29100".into(),
            "localhost:29103".into(),
            "/ip4/127.0.0.1/tcp/29104".into(),
        ];
        c.network.bootnodes = vec![
            "/dns4/localhost/tcp/29105/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
                .into(),
        ];
        c.validate().unwrap();
        c.resolve_host_names().unwrap();
        assert_eq!(c.rpc.listen, "127.0.0.1:29101");
        assert_eq!(c.metrics.listen, "127.0.0.1:0");
        assert_eq!(
            c.network.listen,
            [
                "/ip4/127.0.0.1/tcp/29100",
                "/ip4/127.0.0.1/tcp/29103",
                "/ip4/127.0.0.1/tcp/29104"
            ]
        );
        assert_eq!(
            c.network.bootnodes,
            ["/ip4/127.0.0.1/tcp/29105/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"]
        );
        assert_eq!(c.rpc_addr().unwrap().to_string(), "127.0.0.1:29101");
    }

    #[test]
    fn default_ports_are_outside_the_ephemeral_range_and_others_are_flagged() {
        let c = Config::default();
        assert!(c.ephemeral_port_warnings().is_empty());
        for p in [DEFAULT_P2P_PORT, DEFAULT_RPC_PORT, DEFAULT_METRICS_PORT] {
            assert!(p < 32768, "{p} is in Linux's default ephemeral range");
            assert!(![30333, 9615, 8545, 8546, 9933, 9944, 26656, 26657].contains(&p));
        }
        if let Some(range) = ephemeral_port_range() {
            let mut c = Config::default();
            c.rpc.listen = format!("127.0.0.1:{}", range.start());
            let w = c.ephemeral_port_warnings();
            assert_eq!(w.len(), 1, "{w:?}");
            assert!(w[0].contains("rpc.listen") && w[0].contains(&range.start().to_string()));
        }
    }
}
