//! `ledger-node testnet` and `ledger-node dev`: a local network in one command.
//!
//! Layout of `--dir` (default `./testnet`):
//!
//! ```text
//! testnet.json             nodes (RPC URLs, peer multiaddrs), funded accounts with keys
//! genesis.toml             the network's genesis
//! node-I/config/node.toml  each node's config
//! node-I/keys/node.key     each node's key (validators: the genesis validator keys)
//! node-I/data/             each node's RocksDB
//! node-I/node.log          each node's log (the previous run's in node.log.1)
//! supervisor.sock          while running: `ledger-node testnet restart NAME` talks to it
//! ```
//!
//! Ports: node I listens for libp2p on `base + 10*I`, JSON-RPC on `base + 10*I + 1` and
//! metrics on `base + 10*I + 2`; the default base, 29100, gives node-0 the node's own
//! default ports, below the range Linux uses for outgoing connections.
//!
//! This file writes and resumes testnets (genesis, configs, ports, `--join`, `--leave`,
//! the summary); [`crate::supervisor`] runs the processes.

use crate::supervisor::{self, RestartPolicy, Supervised};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use ledger_service::config::{Config, DEFAULT_P2P_PORT};
use ledger_types::genesis::{
    ConsensusParams, GenesisBalance, NakamotoParams, StreamletParams, ValidatorSpec,
};
use ledger_types::keyfile::{read_key_file, write_key_file};
use ledger_types::{Decimal, Genesis, Keypair};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Default first port of a testnet (node-0 gets the node's default ports).
pub const DEFAULT_BASE_PORT: u16 = DEFAULT_P2P_PORT;

/// Examples under `ledger-node testnet --help`.
pub const TESTNET_AFTER_HELP: &str = "\
Examples:
  ledger-node testnet --validators 4                 # new in ./testnet, or resume it
  ledger-node testnet --dir /tmp/tn --base-port 21000 --full-nodes 1
  ledger-node testnet --base-port 22000              # resume, moving every node's ports
  ledger-node testnet --join                         # one more full node, in this terminal
  ledger-node testnet --leave node-4                 # remove a full node again
  ledger-node testnet restart node-2                 # restart a node of the running testnet
  ledger-node testnet --restart on-failure           # restart nodes that die, by themselves";

/// Examples under `ledger-node dev --help`.
pub const DEV_AFTER_HELP: &str = "\
Examples:
  ledger-node dev                                    # fresh chain in a temporary directory
  ledger-node dev --dir ./devchain                   # keep it; a rerun resumes it
  ledger-node dev --consensus nakamoto --block-ms 500";

#[path = "testnet_pair.rs"]
mod pair;

/// Consensus protocol of a new testnet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Streamlet BFT.
    Streamlet,
    /// Nakamoto proof of work.
    Nakamoto,
}

/// Options of `ledger-node testnet`.
#[derive(Args, Debug, Clone)]
pub struct TestnetArgs {
    /// Act on the testnet running from --dir.
    #[command(subcommand)]
    pub action: Option<TestnetAction>,
    /// Number of validators (Streamlet) or miners (Nakamoto).
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// Consensus protocol.
    #[arg(long, value_enum, default_value = "streamlet")]
    pub consensus: Kind,
    /// Directory holding the testnet (created, or resumed if it exists).
    #[arg(long, default_value = "testnet", global = true)]
    pub dir: PathBuf,
    /// First port; node I uses base+10I (p2p), base+10I+1 (RPC), base+10I+2 (metrics)
    /// [default: 29100]. On a resumed testnet, a different base moves every node's
    /// ports (its configs and testnet.json are rewritten).
    #[arg(long, value_name = "PORT")]
    pub base_port: Option<u16>,
    /// Extra non-validator full nodes to run.
    #[arg(long, default_value_t = 0)]
    pub full_nodes: usize,
    /// Add one non-validator full node to the testnet in --dir (which may be running in
    /// another terminal) and run it in the foreground. It is not started when the
    /// testnet resumes; `--leave NAME` removes it.
    #[arg(long, conflicts_with = "leave")]
    pub join: bool,
    /// Remove a full node (one added with --join or --full-nodes) from the testnet in
    /// --dir: its entry in testnet.json, its directory, and its address in the other
    /// nodes' bootnodes. It must be stopped.
    #[arg(long, value_name = "NAME")]
    pub leave: Option<String>,
    /// What to do when a node exits while the testnet runs: `never` restart it (it is
    /// reported; `ledger-node testnet restart NAME` brings it back), or restart it
    /// `on-failure` after a back-off (1 s, doubling up to 30 s).
    #[arg(long, value_enum, default_value = "never")]
    pub restart: RestartPolicy,
    /// Print every node's log lines here. By default all lines are shown until every
    /// node serves, then only warnings and errors, so the summary stays on screen;
    /// full logs are in DIR/node-I/node.log either way.
    #[arg(long)]
    pub logs: bool,
    /// Validators keep no query indexes (`[storage] indexes = false`): they commit blocks
    /// with a quarter of the writes, and answer -32002 `not_indexed` to `get_tx`,
    /// `get_order`, histories, trades, candles and swaps. Full nodes keep them.
    #[arg(long)]
    pub no_validator_indexes: bool,
    /// Streamlet Δ in milliseconds (an epoch is 2Δ). Messages on loopback take well
    /// under a millisecond; 200 leaves room for a loaded 2-core machine.
    #[arg(long, default_value_t = 200)]
    pub delta_ms: u64,
    /// Nakamoto target block interval in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub block_ms: u64,
    /// Nakamoto finality depth k.
    #[arg(long, default_value_t = 6)]
    pub finality_depth: u64,
    /// Funded test accounts (`account-0` ...) in the genesis.
    #[arg(long, default_value_t = 1024)]
    pub accounts: usize,
    /// Write everything, print the summary, and exit without starting the nodes.
    #[arg(long)]
    pub no_start: bool,
    /// A network across machines: one folder per host address (IPv4 or IPv6,
    /// comma-separated) with its config, genesis and key, bootnodes naming the other
    /// hosts; needs --no-start. Every host is a validator but the last --full-nodes.
    #[arg(long, value_name = "IP1,IP2,...")]
    pub hosts: Option<String>,
    /// With --hosts: the libp2p port on every host.
    #[arg(long, default_value_t = ledger_service::config::DEFAULT_P2P_PORT)]
    pub p2p_port: u16,
    /// With --hosts: encrypt each host's key with the password in the first line of FILE
    /// (default: unencrypted test keys).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Independent networks to run side by side (1 or 2). With 2, --dir holds `net-a`
    /// and `net-b` (chain ids `ledger-testnet-a` and `-b`, ports from --base-port and
    /// --base-port + 500, an extra ETH/BTC market) and `networks.json`.
    #[arg(long, default_value_t = 1)]
    pub networks: usize,
    /// Consensus of the second network [default: --consensus].
    #[arg(long, value_enum)]
    pub consensus_b: Option<Kind>,
}

/// `ledger-node testnet <ACTION>`.
#[derive(Subcommand, Debug, Clone)]
pub enum TestnetAction {
    /// Restart one node of the testnet running from --dir (in another terminal): it is
    /// stopped if it still runs (SIGTERM), started again, and this command returns once
    /// its RPC answers.
    Restart {
        /// The node, e.g. node-2.
        name: String,
    },
}

/// Options of `ledger-node dev`.
#[derive(Args, Debug, Clone)]
pub struct DevArgs {
    /// Keep the chain in DIR (created, or resumed if it holds one) instead of a fresh
    /// temporary directory that is removed when the node stops.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// First port: libp2p on PORT, JSON-RPC on PORT+1, metrics on PORT+2 [default:
    /// 29100, so the RPC is ledger-cli's default http://127.0.0.1:29101].
    #[arg(long, value_name = "PORT")]
    pub base_port: Option<u16>,
    /// Consensus protocol.
    #[arg(long, value_enum, default_value = "streamlet")]
    pub consensus: Kind,
    /// Streamlet Δ in milliseconds (an epoch is 2Δ; a block is final about 3 epochs
    /// after it is proposed).
    #[arg(long, default_value_t = 100)]
    pub delta_ms: u64,
    /// Nakamoto target block interval in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub block_ms: u64,
    /// Nakamoto finality depth k.
    #[arg(long, default_value_t = 6)]
    pub finality_depth: u64,
    /// Funded test accounts (`account-0` ...) in the genesis.
    #[arg(long, default_value_t = 1024)]
    pub accounts: usize,
    /// Print every log line of the node (by default: all until it serves, then
    /// warnings and errors; the full log is in DIR/node-0/node.log).
    #[arg(long)]
    pub logs: bool,
    /// Write everything, print the summary, and exit without starting the node
    /// (needs --dir).
    #[arg(long, requires = "dir")]
    pub no_start: bool,
}

/// One node of the testnet, as `testnet.json` lists it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeInfo {
    /// `node-I`.
    pub name: String,
    /// `validator` or `full`.
    pub role: String,
    /// JSON-RPC over HTTP.
    pub rpc_url: String,
    /// JSON-RPC over WebSocket.
    pub ws_url: String,
    /// Prometheus metrics.
    pub metrics_url: String,
    /// libp2p multiaddr with peer id.
    pub p2p: String,
    /// libp2p peer id.
    pub peer_id: String,
    /// The node's public key.
    pub public_key: String,
    /// Its config file.
    pub config: PathBuf,
    /// Added with `--join`: run by the terminal that joined it, not by the testnet's
    /// own supervisor when it resumes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub joined: bool,
    /// The host address (`--hosts` networks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A funded test account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccountInfo {
    /// `account-I` (its key is `Keypair::for_testing("account-I")`).
    pub name: String,
    /// Address (public key).
    pub address: String,
    /// Secret seed (hex). Test keys only: anyone can derive them.
    pub secret_seed: String,
}

/// `testnet.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TestnetInfo {
    /// Chain id.
    pub chain_id: String,
    /// Consensus protocol.
    pub consensus: Kind,
    /// Genesis file.
    pub genesis: PathBuf,
    /// Nodes.
    pub nodes: Vec<NodeInfo>,
    /// Funded accounts.
    pub accounts: Vec<AccountInfo>,
    /// First port (node I uses base + 10 I ..); older files lack it (see
    /// [`TestnetInfo::base_port`]).
    #[serde(default, rename = "base_port", skip_serializing_if = "Option::is_none")]
    pub base: Option<u16>,
}

impl TestnetInfo {
    /// The first port: as recorded, or node-0's libp2p port.
    pub fn base_port(&self) -> u16 {
        self.base
            .or_else(|| {
                self.nodes
                    .iter()
                    .find(|n| n.name == "node-0")
                    .and_then(|n| multiaddr_port(&n.p2p))
            })
            .unwrap_or(DEFAULT_BASE_PORT)
    }
}

const USD_PER_ACCOUNT: i64 = 1_000_000;
const BTC_PER_ACCOUNT: i64 = 1_000;
const ETH_PER_ACCOUNT: i64 = 10_000;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The genesis of a new testnet.
pub fn testnet_genesis(args: &TestnetArgs, validators: &[Keypair]) -> Genesis {
    let mut balances = Vec::new();
    for i in 0..args.accounts {
        let account = Keypair::for_testing(&format!("account-{i}")).public();
        for (asset, amount) in [
            ("USD", USD_PER_ACCOUNT),
            ("BTC", BTC_PER_ACCOUNT),
            ("ETH", ETH_PER_ACCOUNT),
        ] {
            balances.push(GenesisBalance {
                account,
                asset: asset.into(),
                amount: Decimal::from(amount),
            });
        }
    }
    let consensus = match args.consensus {
        Kind::Streamlet => ConsensusParams::Streamlet(StreamletParams {
            delta_ms: args.delta_ms,
        }),
        Kind::Nakamoto => ConsensusParams::Nakamoto(NakamotoParams {
            target_block_ms: args.block_ms,
            retarget_interval: 16,
            finality_depth: args.finality_depth,
            initial_difficulty: 100_000,
            max_retarget_factor: 4,
        }),
    };
    // The assets and markets of the shared test genesis (BTC, USD, ETH; BTC/USD and
    // ETH/USD), with this testnet's accounts, validators and consensus.
    let mut g = Genesis::for_testing(&[], &[]);
    g.chain_id = "ledger-testnet".into();
    // A little in the future so every node is up when epoch 1 begins.
    g.genesis_time_ms = now_ms() / 1000 * 1000 + 2_000;
    g.consensus = consensus;
    g.balances = balances;
    g.validators = validators
        .iter()
        .enumerate()
        .map(|(i, k)| ValidatorSpec {
            name: format!("node-{i}"),
            public_key: k.public(),
        })
        .collect();
    g
}

/// The ports of node `i`: (libp2p, JSON-RPC, metrics).
pub fn ports(base: u16, i: usize) -> Result<(u16, u16, u16)> {
    let p = base as usize + 10 * i;
    if p + 2 > u16::MAX as usize {
        bail!("--base-port {base} leaves no room for node {i}");
    }
    Ok((p as u16, p as u16 + 1, p as u16 + 2))
}

/// The index I of `node-I`.
fn node_index(name: &str) -> Option<usize> {
    name.strip_prefix("node-")?.parse().ok()
}

/// The TCP port of `/ip4/HOST/tcp/PORT/...`.
fn multiaddr_port(a: &str) -> Option<u16> {
    let parts: Vec<&str> = a.split('/').collect();
    let i = parts.iter().position(|p| *p == "tcp")?;
    parts.get(i + 1)?.parse().ok()
}

/// `a` with its TCP port replaced.
fn multiaddr_with_port(a: &str, port: u16) -> String {
    let mut parts: Vec<String> = a.split('/').map(str::to_string).collect();
    if let Some(i) = parts.iter().position(|p| p == "tcp") {
        if let Some(p) = parts.get_mut(i + 1) {
            *p = port.to_string();
        }
    }
    parts.join("/")
}

/// The host of `SCHEME://HOST:PORT` or `HOST:PORT`.
fn url_host(u: &str) -> &str {
    let rest = u.split("://").nth(1).unwrap_or(u);
    let hostport = rest.split('/').next().unwrap_or(rest);
    hostport.rsplit_once(':').map_or(hostport, |(h, _)| h)
}

/// The port of `SCHEME://HOST:PORT/...`.
fn url_port(u: &str) -> Option<u16> {
    let rest = u.split("://").nth(1).unwrap_or(u);
    let hostport = rest.split('/').next()?;
    hostport.rsplit_once(':')?.1.parse().ok()
}

/// `SCHEME://HOST:PORT/PATH` with another port.
fn url_with_port(u: &str, port: u16) -> String {
    let (scheme, rest) = u.split_once("://").unwrap_or(("http", u));
    let (hostport, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    let host = hostport.rsplit_once(':').map_or(hostport, |(h, _)| h);
    if path.is_empty() {
        format!("{scheme}://{host}:{port}")
    } else {
        format!("{scheme}://{host}:{port}/{path}")
    }
}

/// Writes one node's home (config and key) and returns its entry.
fn write_node(
    dir: &Path,
    i: usize,
    key: &Keypair,
    role: &str,
    base_port: u16,
    bootnodes: &[String],
    indexes: bool,
) -> Result<NodeInfo> {
    let name = format!("node-{i}");
    let home = dir.join(&name);
    let (p2p, rpc, metrics) = ports(base_port, i)?;
    let key_path = home.join("keys/node.key");
    if !key_path.exists() {
        write_key_file(&key_path, key)?;
    }
    let peer_id = ledger_network::IdentitySeed(key.seed())
        .peer_id()?
        .to_string();
    let mut c = Config::default();
    c.node.name = name.clone();
    c.node.data_dir = "../data".into();
    c.node.genesis = "../../genesis.toml".into();
    c.node.key_file = "../keys/node.key".into();
    c.network.listen = vec![format!("/ip4/127.0.0.1/tcp/{p2p}")];
    c.network.bootnodes = bootnodes.to_vec();
    c.rpc.listen = format!("127.0.0.1:{rpc}");
    c.rpc.cors_origins = vec!["*".into()];
    c.metrics.listen = format!("127.0.0.1:{metrics}");
    c.consensus.participate = role == "validator";
    c.storage.indexes = indexes;
    let config = home.join("config/node.toml");
    std::fs::create_dir_all(home.join("config"))
        .with_context(|| format!("cannot create {}", home.join("config").display()))?;
    std::fs::create_dir_all(home.join("data"))
        .with_context(|| format!("cannot create {}", home.join("data").display()))?;
    write_config(&config, &name, &c.to_toml())?;
    Ok(NodeInfo {
        name,
        role: role.into(),
        rpc_url: format!("http://127.0.0.1:{rpc}"),
        ws_url: format!("ws://127.0.0.1:{rpc}"),
        metrics_url: format!("http://127.0.0.1:{metrics}/metrics"),
        p2p: format!("/ip4/127.0.0.1/tcp/{p2p}/p2p/{peer_id}"),
        peer_id,
        public_key: key.public().to_hex(),
        config,
        joined: false,
        host: None,
    })
}

fn write_config(path: &Path, name: &str, toml_text: &str) -> Result<()> {
    let text = format!(
        "# {name} of a local testnet, written by `ledger-node testnet`.\n# Every key is documented in `ledger-node init`'s config.\n\n{toml_text}"
    );
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Creates a new testnet in `args.dir`.
fn create(args: &TestnetArgs) -> Result<TestnetInfo> {
    if args.validators == 0 {
        bail!("--validators must be at least 1");
    }
    let base_port = args.base_port.unwrap_or(DEFAULT_BASE_PORT);
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let total = args.validators + args.full_nodes;
    let keys: Vec<Keypair> = (0..total).map(|_| Keypair::generate()).collect();
    let genesis = testnet_genesis(args, &keys[..args.validators]);
    let genesis_path = args.dir.join("genesis.toml");
    std::fs::write(
        &genesis_path,
        format!(
            "# Genesis of a local testnet, written by `ledger-node testnet`.\n# config/genesis.toml in the repository documents every field.\n\n{}",
            genesis.to_toml()
        ),
    )
    .with_context(|| format!("cannot write {}", genesis_path.display()))?;
    let mut addrs = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let (p2p, _, _) = ports(base_port, i)?;
        let peer = ledger_network::IdentitySeed(k.seed()).peer_id()?;
        addrs.push(format!("/ip4/127.0.0.1/tcp/{p2p}/p2p/{peer}"));
    }
    let mut nodes = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let role = if i < args.validators {
            "validator"
        } else {
            "full"
        };
        let boot: Vec<String> = addrs
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i && *j < args.validators)
            .map(|(_, a)| a.clone())
            .collect();
        let indexes = !(args.no_validator_indexes && role == "validator");
        nodes.push(write_node(
            &args.dir, i, k, role, base_port, &boot, indexes,
        )?);
    }
    let accounts = (0..args.accounts)
        .map(|i| {
            let name = format!("account-{i}");
            let k = Keypair::for_testing(&name);
            AccountInfo {
                name,
                address: k.public().to_hex(),
                secret_seed: hex::encode(k.seed()),
            }
        })
        .collect();
    let info = TestnetInfo {
        chain_id: genesis.chain_id.clone(),
        consensus: args.consensus,
        genesis: genesis_path,
        nodes,
        accounts,
        base: Some(base_port),
    };
    save(&args.dir, &info)?;
    Ok(info)
}

fn save(dir: &Path, info: &TestnetInfo) -> Result<()> {
    let json = serde_json::to_string_pretty(info)?;
    let path = dir.join("testnet.json");
    std::fs::write(&path, json + "\n").with_context(|| format!("cannot write {}", path.display()))
}

fn load(dir: &Path) -> Result<Option<TestnetInfo>> {
    let path = dir.join("testnet.json");
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let info: TestnetInfo = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a testnet description", path.display()))?;
    Ok(Some(info))
}

/// Adds a full node to an existing testnet, on the next free index and its ports.
fn add_full_node(dir: &Path, info: &mut TestnetInfo) -> Result<NodeInfo> {
    let i = info
        .nodes
        .iter()
        .filter_map(|n| node_index(&n.name))
        .max()
        .map_or(0, |m| m + 1);
    let boot: Vec<String> = info.nodes.iter().map(|n| n.p2p.clone()).collect();
    let mut node = write_node(
        dir,
        i,
        &Keypair::generate(),
        "full",
        info.base_port(),
        &boot,
        true,
    )?;
    node.joined = true;
    info.nodes.push(node.clone());
    save(dir, info)?;
    Ok(node)
}

/// Edits a node's config file in place (as a TOML table), keeping its header comment.
fn edit_config(node: &NodeInfo, edit: impl FnOnce(&mut toml::Table)) -> Result<()> {
    let path = &node.config;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
    edit(&mut table);
    let body = toml::to_string_pretty(&table)
        .with_context(|| format!("cannot write {}", path.display()))?;
    write_config(path, &node.name, &body)
}

fn section<'a>(t: &'a mut toml::Table, name: &str) -> &'a mut toml::Table {
    let v = t
        .entry(name.to_string())
        .or_insert_with(|| toml::Value::Table(Default::default()));
    if !v.is_table() {
        *v = toml::Value::Table(Default::default());
    }
    v.as_table_mut().expect("a table")
}

fn strings(list: &[String]) -> toml::Value {
    toml::Value::Array(
        list.iter()
            .map(|s| toml::Value::String(s.clone()))
            .collect(),
    )
}

/// Moves every node of a stopped testnet to the ports of `base`: rewrites each
/// node's listen addresses and bootnodes and `testnet.json`.
fn move_ports(dir: &Path, info: &mut TestnetInfo, base: u16) -> Result<()> {
    for n in info.nodes.iter_mut() {
        let i = node_index(&n.name)
            .with_context(|| format!("testnet.json: {:?} is not named node-I", n.name))?;
        let (p2p, rpc, metrics) = ports(base, i)?;
        n.p2p = multiaddr_with_port(&n.p2p, p2p);
        n.rpc_url = url_with_port(&n.rpc_url, rpc);
        n.ws_url = url_with_port(&n.ws_url, rpc);
        n.metrics_url = url_with_port(&n.metrics_url, metrics);
    }
    let by_peer: Vec<(String, String)> = info
        .nodes
        .iter()
        .map(|n| (n.peer_id.clone(), n.p2p.clone()))
        .collect();
    for n in &info.nodes {
        let listen = n.p2p.split("/p2p/").next().unwrap_or(&n.p2p).to_string();
        let rpc = format!(
            "{}:{}",
            url_host(&n.rpc_url),
            url_port(&n.rpc_url).unwrap_or(0)
        );
        let metrics = format!(
            "{}:{}",
            url_host(&n.metrics_url),
            url_port(&n.metrics_url).unwrap_or(0)
        );
        edit_config(n, |t| {
            let net = section(t, "network");
            let boot: Vec<String> = net
                .get("bootnodes")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str())
                        .map(|b| {
                            by_peer
                                .iter()
                                .find(|(peer, _)| b.ends_with(&format!("/p2p/{peer}")))
                                .map_or_else(|| b.to_string(), |(_, a)| a.clone())
                        })
                        .collect()
                })
                .unwrap_or_default();
            net.insert("listen".into(), strings(&[listen]));
            net.insert("bootnodes".into(), strings(&boot));
            section(t, "rpc").insert("listen".into(), toml::Value::String(rpc));
            section(t, "metrics").insert("listen".into(), toml::Value::String(metrics));
        })?;
    }
    info.base = Some(base);
    save(dir, info)
}

/// `testnet --leave NAME`.
fn leave(dir: &Path, name: &str) -> Result<ExitCode> {
    let Some(mut info) = load(dir)? else {
        bail!("no testnet in {} (no testnet.json)", dir.display());
    };
    let Some(pos) = info.nodes.iter().position(|n| n.name == name) else {
        bail!(
            "no node {name:?} in {} (its nodes: {})",
            dir.join("testnet.json").display(),
            info.nodes
                .iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let node = info.nodes[pos].clone();
    if node.role == "validator" {
        bail!(
            "{name} is a validator of this testnet's genesis and cannot leave: the others count on its votes; \
             only full nodes (added with --join or --full-nodes) can"
        );
    }
    if supervisor::answers(&node.rpc_url) {
        bail!(
            "{name} is running (its RPC answers at {}): stop it first (Ctrl-C in its terminal), then leave",
            node.rpc_url
        );
    }
    info.nodes.remove(pos);
    let suffix = format!("/p2p/{}", node.peer_id);
    for n in &info.nodes {
        edit_config(n, |t| {
            let net = section(t, "network");
            if let Some(list) = net.get_mut("bootnodes").and_then(|v| v.as_array_mut()) {
                list.retain(|v| !v.as_str().is_some_and(|b| b.ends_with(&suffix)));
            }
        })?;
    }
    save(dir, &info)?;
    let home = dir.join(name);
    if home.exists() {
        std::fs::remove_dir_all(&home)
            .with_context(|| format!("cannot remove {}", home.display()))?;
    }
    println!(
        "{name} left the testnet in {}; removed {}",
        dir.display(),
        home.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// How to run `ledger-cli`, as the hints print it: by name if it is on PATH, else the
/// binary built next to this `ledger-node` (cargo puts both in one target directory),
/// else through cargo from the source tree.
pub fn cli_command() -> String {
    if let Some(path) = std::env::var_os("PATH") {
        if std::env::split_paths(&path).any(|d| is_executable(&d.join("ledger-cli"))) {
            return "ledger-cli".into();
        }
    }
    if let Ok(exe) = std::env::current_exe() {
        let sibling = exe.with_file_name("ledger-cli");
        if is_executable(&sibling) {
            return shell_word(&sibling.display().to_string());
        }
    }
    "cargo run -q --release --bin ledger-cli --".into()
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `s` quoted for a POSIX shell when it needs it.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:,=@%".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// What a summary describes.
pub struct SummaryNote<'a> {
    /// "testnet" or "dev chain".
    pub what: &'a str,
    /// A line about the directory (temporary, resumed, ...), if any.
    pub dir_note: Option<String>,
    /// The last line printed once everything stopped.
    pub farewell: String,
}

fn print_summary(dir: &Path, info: &TestnetInfo, nodes: &[NodeInfo], note: &SummaryNote<'_>) {
    let validators = info.nodes.iter().filter(|n| n.role == "validator").count();
    println!();
    println!(
        "ledger {} {:?}: {:?}, {} validator{}, {} node{} in {}",
        note.what,
        info.chain_id,
        info.consensus,
        validators,
        if validators == 1 { "" } else { "s" },
        info.nodes.len(),
        if info.nodes.len() == 1 { "" } else { "s" },
        dir.display()
    );
    if let Some(n) = &note.dir_note {
        println!("  ({n})");
    }
    for n in &info.nodes {
        let here = nodes.iter().any(|m| m.name == n.name);
        if here || !n.joined {
            println!(
                "  {:<8} {:<9} rpc {}  p2p {}{}",
                n.name,
                n.role,
                n.rpc_url,
                n.p2p,
                if here { "" } else { "  (run by the testnet)" }
            );
        } else {
            println!(
                "  {:<8} {:<9} joined, not run here: `ledger-node run --config {}` runs it, `ledger-node testnet --dir {} --leave {}` removes it",
                n.name,
                n.role,
                shell_word(&n.config.display().to_string()),
                shell_word(&dir.display().to_string()),
                n.name
            );
        }
    }
    println!(
        "funded test accounts ({USD_PER_ACCOUNT} USD, {BTC_PER_ACCOUNT} BTC, {ETH_PER_ACCOUNT} ETH each; all {} with keys in {}):",
        info.accounts.len(),
        dir.join("testnet.json").display()
    );
    for a in info.accounts.iter().take(4) {
        println!(
            "  {:<10} address {}  secret {}",
            a.name, a.address, a.secret_seed
        );
    }
    if let Some(n) = nodes.first() {
        let cli = cli_command();
        println!("try:");
        println!("  {cli} --rpc {} keys test account-0", n.rpc_url);
        println!(
            "  {cli} --rpc {} order place --key account-0 --market BTC/USD --side buy --price 100 --qty 0.5 --wait",
            n.rpc_url
        );
        println!("  {cli} --rpc {} book BTC/USD", n.rpc_url);
        println!("explorer: {}/", n.rpc_url);
        println!(
            "logs: {} (here: warnings and errors only; --logs shows every line)",
            dir.join(if nodes.len() == 1 {
                "node-0/node.log"
            } else {
                "node-I/node.log"
            })
            .display()
        );
    }
}

/// Entry point of `ledger-node testnet`.
pub fn main(args: TestnetArgs) -> Result<ExitCode> {
    if let Some(TestnetAction::Restart { name }) = &args.action {
        return supervisor::request_restart(&args.dir, name, &load(&args.dir)?);
    }
    if let Some(name) = &args.leave {
        return leave(&args.dir, name);
    }
    if let Some(hosts) = &args.hosts {
        return crate::hosts::write(&args, hosts);
    }
    if args.networks != 1 {
        return pair::main(args);
    }
    let existing = load(&args.dir)?;
    if !args.join && supervisor::running(&args.dir) {
        bail!(
            "a testnet is already running from {} (its supervisor answers on {}): stop it first (Ctrl-C in its terminal)",
            args.dir.display(),
            supervisor::socket_path(&args.dir).display()
        );
    }
    let (info, to_run, dir_note) = match (existing, args.join) {
        (None, true) => bail!(
            "no testnet in {}: start one with `ledger-node testnet --dir {}`",
            args.dir.display(),
            args.dir.display()
        ),
        (Some(mut info), true) => {
            if let Some(b) = args.base_port.filter(|b| *b != info.base_port()) {
                bail!(
                    "--base-port {b} with --join: the joined node takes the next ports of the testnet in {} (base {}); \
                     to move the whole testnet, stop it and run `ledger-node testnet --dir {} --base-port {b}`",
                    args.dir.display(),
                    info.base_port(),
                    args.dir.display()
                );
            }
            let node = add_full_node(&args.dir, &mut info)?;
            (info, vec![node], None)
        }
        (Some(mut info), false) => {
            let validators = info.nodes.iter().filter(|n| n.role == "validator").count();
            let mut notes = vec![format!(
                "resumed: {:?}, {} validator(s); remove the directory for a new chain",
                info.consensus, validators
            )];
            if let Some(b) = args.base_port.filter(|b| *b != info.base_port()) {
                let old = info.base_port();
                move_ports(&args.dir, &mut info, b)?;
                notes.push(format!("ports moved: base {old} -> {b}"));
            }
            let nodes: Vec<NodeInfo> = info.nodes.iter().filter(|n| !n.joined).cloned().collect();
            (info, nodes, Some(notes.join("; ")))
        }
        (None, false) => {
            let info = create(&args)?;
            let nodes = info.nodes.clone();
            (info, nodes, None)
        }
    };
    let farewell = match (args.join, to_run.first()) {
        (true, Some(n)) => format!(
            "stopped {}; `ledger-node run --config {}` runs it again, `ledger-node testnet --dir {} --leave {}` removes it",
            n.name,
            shell_word(&n.config.display().to_string()),
            shell_word(&args.dir.display().to_string()),
            n.name
        ),
        _ => "stopped; run the same command again to resume".into(),
    };
    let note = SummaryNote {
        what: "testnet",
        dir_note,
        farewell,
    };
    run(&args.dir, &info, to_run, &note, &args, !args.join)
}

/// Entry point of `ledger-node dev`.
pub fn dev(d: DevArgs) -> Result<ExitCode> {
    let temp = match &d.dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("ledger-dev-")
                .tempdir()
                .context("cannot create a temporary directory")?,
        ),
    };
    let dir = d
        .dir
        .clone()
        .or_else(|| temp.as_ref().map(|t| t.path().to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("devchain"));
    let args = TestnetArgs {
        action: None,
        validators: 1,
        consensus: d.consensus,
        dir: dir.clone(),
        base_port: d.base_port,
        full_nodes: 0,
        join: false,
        leave: None,
        restart: RestartPolicy::Never,
        logs: d.logs,
        no_validator_indexes: false,
        delta_ms: d.delta_ms,
        block_ms: d.block_ms,
        finality_depth: d.finality_depth,
        accounts: d.accounts,
        no_start: d.no_start,
        hosts: None,
        p2p_port: ledger_service::config::DEFAULT_P2P_PORT,
        password_file: None,
        networks: 1,
        consensus_b: None,
    };
    if supervisor::running(&dir) {
        bail!(
            "a chain is already running from {}: stop it first (Ctrl-C in its terminal)",
            dir.display()
        );
    }
    let (mut info, dir_note) = match load(&dir)? {
        Some(mut info) => {
            let validators = info.nodes.iter().filter(|n| n.role == "validator").count();
            if validators != 1 {
                bail!(
                    "{} holds a testnet of {validators} validators, not a dev chain: run `ledger-node testnet --dir {}`",
                    dir.display(),
                    dir.display()
                );
            }
            let mut note = "resumed; remove the directory for a new chain".to_string();
            if let Some(b) = d.base_port.filter(|b| *b != info.base_port()) {
                let old = info.base_port();
                move_ports(&dir, &mut info, b)?;
                note.push_str(&format!("; ports moved: base {old} -> {b}"));
            }
            (info, note)
        }
        None => (
            create(&args)?,
            if temp.is_some() {
                "a temporary directory, removed when the chain stops; `ledger-node dev --dir DIR` keeps it"
                    .to_string()
            } else {
                "new; run the same command again to resume it".to_string()
            },
        ),
    };
    info.nodes.retain(|n| !n.joined);
    let nodes = info.nodes.clone();
    let note = SummaryNote {
        what: "dev chain",
        dir_note: Some(dir_note),
        farewell: if temp.is_some() {
            format!("stopped; removed {}", dir.display())
        } else {
            "stopped; run the same command again to resume".into()
        },
    };
    let code = run(&dir, &info, nodes, &note, &args, true);
    drop(temp);
    code
}

/// The supervisor's view of `nodes` of the testnet in `dir`.
fn supervised(dir: &Path, nodes: &[NodeInfo]) -> Vec<Supervised> {
    nodes
        .iter()
        .map(|n| Supervised {
            name: n.name.clone(),
            config: n.config.clone(),
            rpc_url: n.rpc_url.clone(),
            ports: node_ports(n),
            validator: n.role == "validator",
            log_file: n
                .config
                .parent()
                .and_then(Path::parent)
                .unwrap_or(dir)
                .join("node.log"),
        })
        .collect()
}

/// Checks the nodes' files, then prints the summary and exits (`--no-start`) or runs
/// the nodes under the supervisor.
fn run(
    dir: &Path,
    info: &TestnetInfo,
    to_run: Vec<NodeInfo>,
    note: &SummaryNote<'_>,
    args: &TestnetArgs,
    control: bool,
) -> Result<ExitCode> {
    for n in &to_run {
        if !n.config.exists() {
            bail!(
                "{} is missing: the testnet directory is incomplete",
                n.config.display()
            );
        }
        read_key_file(
            &n.config
                .parent()
                .and_then(Path::parent)
                .unwrap_or(Path::new("."))
                .join("keys/node.key"),
        )?;
    }
    if args.no_start {
        print_summary(dir, info, &to_run, note);
        return Ok(ExitCode::SUCCESS);
    }
    let validators = info.nodes.iter().filter(|n| n.role == "validator").count();
    let quorum = match info.consensus {
        Kind::Streamlet => (2 * validators).div_ceil(3),
        Kind::Nakamoto => 1,
    };
    let supervised = supervised(dir, &to_run);
    let opts = supervisor::Options {
        dir: dir.to_path_buf(),
        restart: args.restart,
        follow_logs: args.logs,
        control,
        validators,
        quorum,
        label: if note.what == "dev chain" {
            "dev chain"
        } else {
            "testnet"
        },
        farewell: note.farewell.clone(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(supervisor::supervise(supervised, opts, || {
        print_summary(dir, info, &to_run, note)
    }))
}

/// The ports a node binds, for the supervisor's checks: (what, host, port).
fn node_ports(n: &NodeInfo) -> Vec<(&'static str, String, u16)> {
    let mut out = Vec::new();
    let mut parts = n.p2p.split('/');
    let host = parts.nth(2).unwrap_or("127.0.0.1").to_string();
    if let Some(p) = multiaddr_port(&n.p2p) {
        out.push(("libp2p", host, p));
    }
    if let Some(p) = url_port(&n.rpc_url) {
        out.push(("JSON-RPC", url_host(&n.rpc_url).to_string(), p));
    }
    if let Some(p) = url_port(&n.metrics_url) {
        out.push(("metrics", url_host(&n.metrics_url).to_string(), p));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_change_port_and_keep_the_rest() {
        assert_eq!(
            multiaddr_with_port("/ip4/10.0.0.2/tcp/29100/p2p/12D3Koo", 31000),
            "/ip4/10.0.0.2/tcp/31000/p2p/12D3Koo"
        );
        assert_eq!(multiaddr_port("/ip4/10.0.0.2/tcp/29100/p2p/x"), Some(29100));
        assert_eq!(
            url_with_port("http://127.0.0.1:29102/metrics", 31002),
            "http://127.0.0.1:31002/metrics"
        );
        assert_eq!(url_with_port("ws://h:1", 2), "ws://h:2");
        assert_eq!(url_host("http://10.1.2.3:29101"), "10.1.2.3");
        assert_eq!(url_port("http://10.1.2.3:29101"), Some(29101));
        assert_eq!(node_index("node-12"), Some(12));
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("/a/b/ledger-cli"), "/a/b/ledger-cli");
        assert_eq!(shell_word("/a b/it's"), r"'/a b/it'\''s'");
    }
}
