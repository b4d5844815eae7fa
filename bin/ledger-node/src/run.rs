//! `run`, `init` and `keygen`.

use crate::{NewKeyArgs, RunArgs};
use anyhow::{bail, Context, Result};
use ledger_service::config::{Config, LogFormat, DEFAULT_CONFIG_TOML};
use ledger_types::keyfile::{write_encrypted_key_file, write_key_file, ScryptCost};
use ledger_types::Keypair;
use std::path::Path;
use std::process::ExitCode;

/// The example genesis, for `init` without `--genesis`.
const EXAMPLE_GENESIS: &str = include_str!("../../../config/genesis.toml");

/// Resolves the configuration: defaults < file < LEDGER_NODE_* environment < flags.
pub fn resolve(args: &RunArgs) -> Result<Config> {
    let mut c = Config::load(args.config.as_deref(), std::env::vars())?;
    if let Some(v) = &args.data_dir {
        c.node.data_dir = v.clone();
    }
    if let Some(v) = &args.genesis {
        c.node.genesis = v.clone();
    }
    if let Some(v) = &args.key_file {
        c.node.key_file = v.clone();
    }
    if let Some(v) = &args.rpc_listen {
        c.rpc.listen = v.clone();
    }
    if !args.p2p_listen.is_empty() {
        c.network.listen = args.p2p_listen.clone();
    }
    if !args.bootnodes.is_empty() {
        c.network.bootnodes = args.bootnodes.clone();
    }
    if args.mdns {
        c.network.mdns = true;
    }
    if let Some(v) = &args.metrics_listen {
        c.metrics.listen = v.clone();
    }
    if args.no_participate {
        c.consensus.participate = false;
    }
    if args.state_sync {
        c.state_sync.enabled = true;
    }
    if let Some(f) = &args.log_format {
        c.log.format = match f.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => bail!("--log-format must be text or json, not {other:?}"),
        };
    }
    c.validate()?;
    Ok(c)
}

/// Runs a node until SIGINT or SIGTERM.
pub fn run(args: RunArgs) -> Result<ExitCode> {
    if args.config.is_none() && args.genesis.is_none() {
        bail!("no configuration: pass --config FILE (create one with `ledger-node init --data-dir DIR`) or --genesis FILE");
    }
    let config = resolve(&args)?;
    if args.print_config {
        print!("{}", config.to_toml());
        return Ok(ExitCode::SUCCESS);
    }
    let mut config = config;
    config.resolve_host_names()?;
    crate::logging::init(&config.log.filter, config.log.format == LogFormat::Json);
    for hint in Config::foreign_env_hints(std::env::vars()) {
        tracing::warn!("{hint}");
    }
    for warning in config.ephemeral_port_warnings() {
        tracing::warn!("{warning}");
    }
    crate::password::unlock(&config.node.key_file, args.password_file.as_deref())?;
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if config.node.worker_threads > 0 {
        runtime.worker_threads(config.node.worker_threads);
    }
    let rt = runtime
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        // Handlers first: a SIGTERM that arrives as soon as the node logs its RPC address
        // must stop it cleanly, not kill it.
        let signals = StopSignals::install();
        let lonely = LonelyCheck::new(&config);
        let node = ledger_service::start(config).await?;
        lonely.spawn(node.shared.clone(), node.stop_token());
        let stop = node.stop_token();
        tokio::spawn(async move {
            signals.wait().await;
            tracing::info!(
                "signal received: stopping (finishing the current block, flushing the store)"
            );
            stop.cancel();
        });
        node.wait().await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Says so, in the log, when a node can make no progress at all: it does not take part
/// in consensus (its key is not a genesis validator, or `participate = false`) and has
/// no peer to follow. `/health/ready` says the same.
struct LonelyCheck {
    name: String,
    has_bootnodes: bool,
    mdns: bool,
}

impl LonelyCheck {
    fn new(config: &Config) -> LonelyCheck {
        LonelyCheck {
            name: config.node.name.clone(),
            has_bootnodes: !config.network.bootnodes.is_empty(),
            mdns: config.network.mdns,
        }
    }

    /// Checks at start, then every 30 s while the node runs; warns when the state
    /// becomes "alone", and says when a peer arrives.
    fn spawn(
        self,
        shared: std::sync::Arc<ledger_service::shared::Shared>,
        stop: tokio_util::sync::CancellationToken,
    ) {
        if !ledger_service::isolation::follows_only(&shared) {
            return;
        }
        tokio::spawn(async move {
            // Give bootnodes a moment to answer before the first verdict.
            let grace = if self.has_bootnodes || self.mdns {
                10
            } else {
                0
            };
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(grace)) => {}
                _ = stop.cancelled() => return,
            }
            let mut warned = false;
            loop {
                let alone = shared.peers.read().is_empty();
                if alone && !warned {
                    tracing::warn!(
                        node = %self.name,
                        "{}",
                        ledger_service::isolation::alone_reason(&shared, Some(self.has_bootnodes || self.mdns))
                    );
                    warned = true;
                } else if !alone && warned {
                    tracing::info!(node = %self.name, "a peer connected: following the chain");
                    warned = false;
                }
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
                    _ = stop.cancelled() => return,
                }
            }
        });
    }
}

/// SIGINT and SIGTERM handlers, installed before the node starts.
struct StopSignals {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn install() -> StopSignals {
        use tokio::signal::unix::{signal, SignalKind};
        StopSignals {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
        }
    }

    async fn wait(self) {
        match (self.int, self.term) {
            (Some(mut int), Some(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// `init --data-dir DIR`: a node home with a commented config, a genesis, a key and an
/// empty data directory. Refuses to overwrite an existing config or key.
pub fn init(home: &Path, genesis: Option<&Path>, new_key: &NewKeyArgs) -> Result<ExitCode> {
    let config_dir = home.join("config");
    let config_path = config_dir.join("node.toml");
    if config_path.exists() {
        bail!(
            "{} already exists; refusing to overwrite it",
            config_path.display()
        );
    }
    let key_path = home.join("keys/node.key");
    if key_path.exists() {
        bail!(
            "{} already exists; refusing to overwrite a key",
            key_path.display()
        );
    }
    // Ask for the password before writing anything.
    let password = (!new_key.plaintext)
        .then(|| crate::password::for_new_key(new_key.password_file.as_deref(), "the node key"))
        .transpose()?;
    std::fs::create_dir_all(&config_dir)
        .with_context(|| format!("cannot create {}", config_dir.display()))?;
    std::fs::create_dir_all(home.join("data"))
        .with_context(|| format!("cannot create {}", home.join("data").display()))?;
    let genesis_text = match genesis {
        Some(p) => {
            let g = ledger_types::Genesis::load(p)?;
            drop(g);
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?
        }
        None => EXAMPLE_GENESIS.to_string(),
    };
    std::fs::write(config_dir.join("genesis.toml"), &genesis_text)
        .context("cannot write the genesis")?;
    let config_text = DEFAULT_CONFIG_TOML
        .replace("data_dir = \"data\"", "data_dir = \"../data\"")
        .replace("key_file = \"node.key\"", "key_file = \"../keys/node.key\"");
    std::fs::write(&config_path, config_text).context("cannot write the config")?;
    let key = Keypair::generate();
    let kind = write_new_key(&key_path, &key, password.as_deref().map(|p| p.as_str()))?;
    println!("config:     {}", config_path.display());
    println!("genesis:    {}", config_dir.join("genesis.toml").display());
    println!(
        "key:        {} ({kind}, public key {})",
        key_path.display(),
        key.public()
    );
    println!("data:       {}", home.join("data").display());
    let genesis = ledger_types::Genesis::from_toml(&genesis_text)?;
    let names: Vec<&str> = genesis.validators.iter().map(|v| v.name.as_str()).collect();
    if genesis
        .validators
        .iter()
        .any(|v| v.public_key == key.public())
    {
        println!("role:       validator (this key is in the genesis)");
    } else if matches!(
        genesis.consensus,
        ledger_types::ConsensusParams::Streamlet(_)
    ) {
        println!(
            "role:       full node: this new key is not one of the genesis's {} validator(s) ({}), so the node",
            names.len(),
            names.join(", ")
        );
        println!("            follows a network (set [network] bootnodes) and finalizes nothing by itself.");
        println!("            A one-node chain that finalizes on its own: `ledger-node dev` (`--dir DIR` keeps it).");
    }
    println!("run it:     ledger-node --config {}", config_path.display());
    Ok(ExitCode::SUCCESS)
}

/// Writes a new key file: encrypted with `password`, or a labelled plaintext test key.
/// Returns what was written, for the summary.
fn write_new_key(path: &Path, key: &Keypair, password: Option<&str>) -> Result<&'static str> {
    match password {
        Some(p) => {
            write_encrypted_key_file(path, key, p, ScryptCost::STANDARD)?;
            Ok("encrypted, Web3 Secret Storage v3")
        }
        None => {
            write_key_file(path, key)?;
            Ok("UNENCRYPTED test key")
        }
    }
}

/// `keygen --out FILE`.
pub fn keygen(out: &Path, new_key: &NewKeyArgs) -> Result<ExitCode> {
    if out.exists() {
        bail!(
            "{} already exists; refusing to overwrite a key",
            out.display()
        );
    }
    let password = (!new_key.plaintext)
        .then(|| crate::password::for_new_key(new_key.password_file.as_deref(), "the key"))
        .transpose()?;
    let key = Keypair::generate();
    let kind = write_new_key(out, &key, password.as_deref().map(|p| p.as_str()))?;
    let peer = ledger_network::IdentitySeed(key.seed()).peer_id()?;
    println!("key file:   {} ({kind})", out.display());
    println!("public key: {}", key.public());
    println!("peer id:    {peer}");
    Ok(ExitCode::SUCCESS)
}
