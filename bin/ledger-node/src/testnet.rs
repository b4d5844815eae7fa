//! `ledger-node testnet`: a local multi-node network in one command.
//!
//! Layout of `--dir` (default `./testnet`):
//!
//! ```text
//! testnet.json             nodes (RPC URLs, peer multiaddrs), funded accounts with keys
//! genesis.toml             the network's genesis
//! node-I/config/node.toml  each node's config
//! node-I/keys/node.key     each node's key (validators: the genesis validator keys)
//! node-I/data/             each node's RocksDB
//! ```
//!
//! Ports: node I listens for libp2p on `base + 10*I`, JSON-RPC on `base + 10*I + 1` and
//! metrics on `base + 10*I + 2`.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use ledger_service::config::Config;
use ledger_types::genesis::{
    ConsensusParams, GenesisBalance, NakamotoParams, StreamletParams, ValidatorSpec,
};
use ledger_types::keyfile::{read_key_file, write_key_file};
use ledger_types::{Decimal, Genesis, Keypair};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

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
    /// Number of validators (Streamlet) or miners (Nakamoto).
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// Consensus protocol.
    #[arg(long, value_enum, default_value = "streamlet")]
    pub consensus: Kind,
    /// Directory holding the testnet (created, or resumed if it exists).
    #[arg(long, default_value = "testnet")]
    pub dir: PathBuf,
    /// First port; node I uses base+10I (p2p), base+10I+1 (RPC), base+10I+2 (metrics).
    #[arg(long, default_value_t = 30000)]
    pub base_port: u16,
    /// Extra non-validator full nodes to run.
    #[arg(long, default_value_t = 0)]
    pub full_nodes: usize,
    /// Add one non-validator full node to the testnet in --dir (which may be running in
    /// another terminal) and run it in the foreground.
    #[arg(long)]
    pub join: bool,
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
    #[arg(long, default_value_t = 30333)]
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

fn ports(base: u16, i: usize) -> Result<(u16, u16, u16)> {
    let p = base as usize + 10 * i;
    if p + 2 > u16::MAX as usize {
        bail!("--base-port {base} leaves no room for node {i}");
    }
    Ok((p as u16, p as u16 + 1, p as u16 + 2))
}

/// Writes one node's home (config and key) and returns its entry.
fn write_node(
    dir: &Path,
    i: usize,
    key: &Keypair,
    role: &str,
    base_port: u16,
    bootnodes: &[String],
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
    let config = home.join("config/node.toml");
    std::fs::create_dir_all(home.join("config"))?;
    std::fs::create_dir_all(home.join("data"))?;
    let text = format!(
        "# {name} of a local testnet, written by `ledger-node testnet`.\n# Every key is documented in `ledger-node init`'s config.\n\n{}",
        c.to_toml()
    );
    std::fs::write(&config, text).with_context(|| format!("cannot write {}", config.display()))?;
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
        host: None,
    })
}

/// Creates a new testnet in `args.dir`.
fn create(args: &TestnetArgs) -> Result<TestnetInfo> {
    if args.validators == 0 {
        bail!("--validators must be at least 1");
    }
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
    )?;
    let mut addrs = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let (p2p, _, _) = ports(args.base_port, i)?;
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
        nodes.push(write_node(&args.dir, i, k, role, args.base_port, &boot)?);
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
    };
    save(&args.dir, &info)?;
    Ok(info)
}

fn save(dir: &Path, info: &TestnetInfo) -> Result<()> {
    let json = serde_json::to_string_pretty(info)?;
    std::fs::write(dir.join("testnet.json"), json + "\n").context("cannot write testnet.json")
}

fn load(dir: &Path) -> Result<Option<TestnetInfo>> {
    let path = dir.join("testnet.json");
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)?;
    let info: TestnetInfo = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a testnet description", path.display()))?;
    Ok(Some(info))
}

/// Adds a full node to an existing testnet.
fn add_full_node(args: &TestnetArgs, info: &mut TestnetInfo) -> Result<NodeInfo> {
    let i = info.nodes.len();
    let boot: Vec<String> = info.nodes.iter().map(|n| n.p2p.clone()).collect();
    let node = write_node(
        &args.dir,
        i,
        &Keypair::generate(),
        "full",
        args.base_port,
        &boot,
    )?;
    info.nodes.push(node.clone());
    save(&args.dir, info)?;
    Ok(node)
}

fn print_summary(dir: &Path, info: &TestnetInfo, nodes: &[NodeInfo]) {
    let validators = info.nodes.iter().filter(|n| n.role == "validator").count();
    println!(
        "ledger testnet {:?}: {:?}, {} validators, {} nodes in {}",
        info.chain_id,
        info.consensus,
        validators,
        info.nodes.len(),
        dir.display()
    );
    for n in nodes {
        println!(
            "  {:<8} {:<9} rpc {}  p2p {}",
            n.name, n.role, n.rpc_url, n.p2p
        );
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
        println!("try:");
        println!("  ledger-cli --rpc {} keys test account-0", n.rpc_url);
        println!(
            "  ledger-cli --rpc {} order place --key account-0 --market BTC/USD --side buy --price 100 --qty 0.5",
            n.rpc_url
        );
        println!("  ledger-cli --rpc {} book BTC/USD", n.rpc_url);
        println!("explorer: {}/", n.rpc_url);
    }
}

/// Entry point of `ledger-node testnet`.
pub fn main(args: TestnetArgs) -> Result<ExitCode> {
    if let Some(hosts) = &args.hosts {
        return crate::hosts::write(&args, hosts);
    }
    if args.networks != 1 {
        return pair::main(args);
    }
    let existing = load(&args.dir)?;
    let (info, to_run) = match (existing, args.join) {
        (None, true) => bail!(
            "no testnet in {}: start one with `ledger-node testnet --dir {}`",
            args.dir.display(),
            args.dir.display()
        ),
        (Some(mut info), true) => {
            let node = add_full_node(&args, &mut info)?;
            (info, vec![node])
        }
        (Some(info), false) => {
            let validators = info.nodes.iter().filter(|n| n.role == "validator").count();
            if info.consensus != args.consensus || validators != args.validators {
                eprintln!(
                    "note: resuming the testnet in {} ({:?}, {} validators); remove the directory for a new one",
                    args.dir.display(),
                    info.consensus,
                    validators
                );
            }
            let nodes = info.nodes.clone();
            (info, nodes)
        }
        (None, false) => {
            let info = create(&args)?;
            let nodes = info.nodes.clone();
            (info, nodes)
        }
    };
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
        print_summary(&args.dir, &info, &to_run);
        return Ok(ExitCode::SUCCESS);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(supervise(&args.dir, &info, to_run))
}

/// Starts each node as its own process, prefixes its log lines with its name, prints the
/// summary once every RPC answers, and stops them all on Ctrl-C or SIGTERM.
async fn supervise(dir: &Path, info: &TestnetInfo, nodes: Vec<NodeInfo>) -> Result<ExitCode> {
    let exe = std::env::current_exe().context("cannot find the ledger-node executable")?;
    let mut children: Vec<(String, Child)> = Vec::new();
    for n in &nodes {
        let mut child = Command::new(&exe)
            .arg("run")
            .arg("--config")
            .arg(&n.config)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", n.name))?;
        for (stream, is_err) in [
            (
                child
                    .stdout
                    .take()
                    .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
                false,
            ),
            (
                child
                    .stderr
                    .take()
                    .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
                true,
            ),
        ] {
            if let Some(s) = stream {
                let name = n.name.clone();
                tokio::spawn(async move {
                    let mut lines = BufReader::new(s).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if is_err {
                            eprintln!("[{name}] {line}");
                        } else {
                            println!("[{name}] {line}");
                        }
                    }
                });
            }
        }
        children.push((n.name.clone(), child));
    }
    // Wait for every RPC to answer /health, then print where everything is.
    let deadline = Instant::now() + Duration::from_secs(60);
    for n in &nodes {
        let addr = n.rpc_url.trim_start_matches("http://").to_string();
        while Instant::now() < deadline {
            if tokio::net::TcpStream::connect(&addr).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    print_summary(dir, info, &nodes);
    println!("press Ctrl-C to stop all nodes");

    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let exited = async {
        loop {
            for (name, c) in children.iter_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    return (name.clone(), status);
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let failed = tokio::select! {
        _ = int.recv() => None,
        _ = term.recv() => None,
        (name, status) = exited => Some((name, status)),
    };
    if let Some((name, status)) = &failed {
        eprintln!("{name} exited ({status}); stopping the testnet");
    }
    // Ask every node to stop (SIGTERM: finish the block, flush), then wait.
    for (_, c) in &children {
        if let Some(pid) = c.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
    }
    for (name, c) in children.iter_mut() {
        match tokio::time::timeout(Duration::from_secs(20), c.wait()).await {
            Ok(_) => {}
            Err(_) => {
                eprintln!("{name} did not stop in 20 s; killing it");
                let _ = c.kill().await;
            }
        }
    }
    println!("testnet stopped; run the same command again to resume it");
    Ok(if failed.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
