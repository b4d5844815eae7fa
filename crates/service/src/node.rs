//! Starting and stopping a node: store, network, consensus driver, miner, RPC and
//! metrics, wired together from a [`Config`].

use crate::config::{Config, ConfigError};
use crate::metrics::Metrics;
use crate::runtime::{
    initial_progress, now_ms, spawn_executor, Inbox, Libp2pTransport, NodeHost, RunError,
    SystemClock,
};
use crate::shared::Shared;
use ledger_driver::{
    restore_protocol, Driver, DriverConfig, DriverParts, Faults, Mempool, MempoolLimits, MiningJob,
    NodePayloadValidator, RestoreParams, DEFAULT_MAX_EXEC_BACKLOG,
};
use ledger_network::{IdentitySeed, Network, NetworkConfig};
use ledger_rpc::Catalog;
use ledger_storage::{ChainStore, Executor, StoreOptions};
use ledger_types::keyfile::{read_key_file, KeyFileError};
use ledger_types::{Genesis, GenesisError};
use parking_lot::{Mutex, RwLock};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Why a node could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Bad or missing genesis.
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    /// Bad or missing key file.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// The data directory could not be opened or is inconsistent.
    #[error("data directory: {0}")]
    Storage(#[from] ledger_storage::StoreError),
    /// The network could not start.
    #[error("network: {0}")]
    Network(#[from] ledger_network::NetworkError),
    /// Consensus state could not be restored.
    #[error(transparent)]
    Consensus(#[from] ledger_driver::DriverError),
    /// A task of the node failed.
    #[error("{0}")]
    Task(String),
    /// Joining by state sync failed.
    #[error("state sync: {0}")]
    StateSync(String),
    /// A listener could not bind.
    #[error("{what} on {addr}: {source}")]
    Bind {
        /// RPC or metrics.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The driver or the executor failed.
    #[error(transparent)]
    Run(#[from] RunError),
}

/// A running node.
pub struct NodeHandle {
    /// The RPC address actually bound.
    pub rpc_addr: SocketAddr,
    /// The metrics address actually bound, if enabled.
    pub metrics_addr: Option<SocketAddr>,
    /// libp2p peer id.
    pub peer_id: String,
    /// libp2p listen addresses with `/p2p/PEER_ID`.
    pub listen_addrs: Vec<String>,
    /// Shared state (for tests and embedding).
    pub shared: Arc<Shared>,
    stop: CancellationToken,
    driver: JoinHandle<Result<(), RunError>>,
    executor: Option<std::thread::JoinHandle<()>>,
    rpc: jsonrpsee::server::ServerHandle,
    net: ledger_network::NetworkHandle,
    miners: Arc<AtomicBool>,
}

impl NodeHandle {
    /// A token that stops the node when cancelled.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Waits until the node stops (after [`NodeHandle::stop_token`] is cancelled or the
    /// driver fails), then shuts everything down in order: stop accepting RPC, stop the
    /// driver (it finishes the block it is executing), stop the network and miners, and
    /// flush the store.
    pub async fn wait(self) -> Result<(), NodeError> {
        let stop = self.stop.clone();
        let mut driver = self.driver;
        let result = tokio::select! {
            r = &mut driver => r,
            _ = stop.cancelled() => driver.await,
        };
        self.stop.cancel();
        let _ = self.rpc.stop();
        self.rpc.clone().stopped().await;
        self.miners.store(true, Ordering::Relaxed);
        self.net.shutdown().await;
        // The driver is gone, so the executor's queue is closed: it finishes the final
        // blocks it was given and exits.
        if let Some(executor) = self.executor {
            let _ = tokio::task::spawn_blocking(move || executor.join()).await;
        }
        // After a failed run the flush usually fails the same way ("Writer has previous
        // error"): the run's own error, which names the cause, is the one reported.
        let flushed = self.shared.store.flush();
        if result.as_ref().is_ok_and(|r| r.is_ok()) {
            flushed?;
            tracing::info!("node stopped; store flushed");
        }
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.into()),
            Err(join) => Err(NodeError::Task(format!("driver task failed: {join}"))),
        }
    }

    /// Stops the node and waits for it.
    pub async fn shutdown(self) -> Result<(), NodeError> {
        self.stop.cancel();
        self.wait().await
    }
}

/// Starts a node from a resolved configuration.
pub async fn start(config: Config) -> Result<NodeHandle, NodeError> {
    config.validate()?;
    let genesis = Genesis::load(&config.node.genesis)?;
    let key = read_key_file(&config.node.key_file)?;
    let needed = genesis.limits.max_block_bytes as usize + 64 * 1024;
    if config.network.max_message_bytes < needed {
        return Err(ConfigError::Invalid {
            key: "network.max_message_bytes".into(),
            message: format!("must be at least {needed} (the genesis max_block_bytes plus 64 KiB)"),
        }
        .into());
    }

    let store = ChainStore::open(
        &config.node.data_dir,
        StoreOptions {
            sync: config.storage.sync_writes,
            indexes: config.storage.indexes,
        },
    )?;
    crate::state_sync::join_if_configured(&config, &genesis, &key, &store).await?;
    let executor = Executor::open(store.clone(), Some(&genesis))?;

    let mut netcfg = NetworkConfig {
        chain_id: genesis.chain_id.clone(),
        enable_mdns: config.network.mdns,
        max_peers: config.network.max_peers,
        max_connections_per_peer: config.network.max_connections_per_peer,
        max_message_bytes: config.network.max_message_bytes,
        max_pending_incoming: config.network.max_pending_incoming,
        max_pending_incoming_per_ip: config.network.max_pending_incoming_per_ip,
        max_incoming_per_ip: config.network.max_incoming_per_ip,
        handshake_timeout_secs: config.network.handshake_timeout_secs,
        duplicate_cache_secs: config.network.duplicate_cache_secs,
        identity_seed: Some(IdentitySeed(key.seed())),
        ..NetworkConfig::default()
    };
    netcfg.max_response_bytes = netcfg.max_response_bytes.max(2 * netcfg.max_message_bytes);
    netcfg.listen_addrs = parse_addrs(&config.network.listen, "network.listen")?;
    netcfg.bootnodes = parse_addrs(&config.network.bootnodes, "network.bootnodes")?;
    let (net, events) = Network::start(netcfg).await?;
    let peer_id = net.local_peer_id().to_string();
    let listen_addrs: Vec<String> = net.listen_addrs().iter().map(|a| a.to_string()).collect();
    tracing::info!(node = %config.node.name, %peer_id, "libp2p peer id");
    for a in &listen_addrs {
        tracing::info!(node = %config.node.name, "listening on {a}");
    }

    let is_validator = genesis
        .validators
        .iter()
        .any(|v| v.public_key == key.public());
    let participate = config.consensus.participate;
    let nakamoto = matches!(
        genesis.consensus,
        ledger_types::ConsensusParams::Nakamoto(_)
    );
    let validator = (participate && (is_validator || nakamoto)).then(|| key.public());

    let mempool = Arc::new(Mutex::new(Mempool::new(
        MempoolLimits {
            max_txs: config.mempool.max_txs,
            max_bytes: config.mempool.max_bytes,
            max_per_account: config.mempool.max_per_account,
            max_nonce_gap: config.mempool.max_nonce_gap,
        },
        genesis.chain_id.clone(),
        genesis.limits.max_tx_bytes as usize,
    )));
    let (commands_tx, commands_rx) = mpsc::channel(65_536);
    let (final_tx, _) = broadcast::channel(1024);
    let metrics = Arc::new(Metrics::new());
    let shared = Arc::new(Shared {
        catalog: Catalog::from_genesis(&genesis),
        genesis: genesis.clone(),
        store: store.clone(),
        executor: RwLock::new(executor),
        mempool: mempool.clone(),
        progress: RwLock::new(Default::default()),
        peers: RwLock::new(Vec::new()),
        included: RwLock::new(Default::default()),
        final_blocks: final_tx,
        commands: commands_tx,
        metrics: metrics.clone(),
        peer_id: peer_id.clone(),
        listen_addrs: listen_addrs.clone(),
        validator: (is_validator && participate).then(|| key.public()),
        started: Instant::now(),
        signatures: crate::sig_batcher::SignatureBatcher::start(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        ),
    });
    *shared.progress.write() = initial_progress(&shared.store)?;
    {
        let p = shared.progress.read();
        metrics.final_height.set(p.final_tip.0 as i64);
        metrics.applied_height.set(p.final_tip.0 as i64);
    }

    let payload = NodePayloadValidator::new(
        genesis.chain_id.clone(),
        genesis.limits.clone(),
        mempool.clone(),
    );
    let signer = (participate && is_validator)
        .then(|| Box::new(key.clone()) as Box<dyn ledger_consensus::Signer + Send>);
    // A plain build always runs the correct node; the test-only Byzantine build may run
    // a deliberately broken one ([`crate::config::ByzantineMode::BrokenQuorum`]).
    #[cfg(feature = "byzantine")]
    let faults: Faults = crate::byzantine::driver_faults(config.byzantine.as_ref(), &genesis);
    #[cfg(not(feature = "byzantine"))]
    let faults = Faults::none();
    let (protocol, restored) = restore_protocol(
        &shared.store,
        RestoreParams {
            genesis: &genesis,
            signer,
            verifier: ledger_consensus::Ed25519Verifier,
            payload: Box::new(payload),
            now_ms: now_ms(),
            faults,
            pacing: Some(config.consensus.pacing()),
        },
    )?;

    let stop = CancellationToken::new();
    let miners = Arc::new(AtomicBool::new(false));
    let (mined_tx, mined_rx) = mpsc::channel(16);
    let mining = match (nakamoto, validator) {
        (true, Some(miner)) => {
            let (jobs_tx, jobs_rx) = watch::channel::<Option<MiningJob>>(None);
            crate::miner::spawn(
                config.consensus.miner_threads,
                miner,
                jobs_rx,
                mined_tx,
                miners.clone(),
            );
            Some(jobs_tx)
        }
        _ => None,
    };

    let rpc_addr = config.rpc_addr()?;
    let (rpc, rpc_addr) = crate::rpc_server::serve(shared.clone(), &config.rpc, rpc_addr)
        .await
        .map_err(|source| NodeError::Bind {
            what: "rpc",
            addr: rpc_addr,
            source,
        })?;
    tracing::info!(node = %config.node.name, "JSON-RPC on http://{rpc_addr} and ws://{rpc_addr}");
    let metrics_addr = if config.metrics.enabled {
        let addr = config.metrics_addr()?;
        let bound = crate::metrics::serve(addr, metrics, stop.clone())
            .await
            .map_err(|source| NodeError::Bind {
                what: "metrics",
                addr,
                source,
            })?;
        tracing::info!(node = %config.node.name, "metrics on http://{bound}/metrics");
        Some(bound)
    } else {
        None
    };

    let max_block_txs = (config.consensus.max_block_txs).min(genesis.limits.max_block_txs) as usize;
    let (sync_tx, sync_rx) = mpsc::unbounded_channel();
    let (execute_tx, execute_rx) = std::sync::mpsc::channel();
    let (executed_tx, executed_rx) = mpsc::unbounded_channel();
    let executor = spawn_executor(shared.clone(), execute_rx, executed_tx)
        .map_err(|e| NodeError::Task(format!("cannot start the executor thread: {e}")))?;
    #[allow(unused_mut)]
    let mut transport = Libp2pTransport::new(
        net.clone(),
        sync_tx,
        genesis.limits.max_block_bytes as usize + 64 * 1024,
    );
    #[cfg(feature = "byzantine")]
    if let Some(b) = &config.byzantine {
        let byzantine = crate::byzantine::Byzantine::new(b.mode, key.clone(), &genesis);
        byzantine.spawn_background(net.clone());
        transport.set_byzantine(Some(byzantine));
    }
    let driver = Driver::new(DriverParts {
        consensus: protocol,
        net: transport,
        clock: SystemClock,
        store: store.clone(),
        host: NodeHost::new(shared.clone(), execute_tx, mining, net.clone()),
        mempool,
        config: DriverConfig {
            max_block_txs,
            max_block_bytes: genesis.limits.max_block_bytes as usize,
            max_message_bytes: genesis.limits.max_block_bytes as usize + 64 * 1024,
            max_exec_backlog: DEFAULT_MAX_EXEC_BACKLOG,
            faults,
        },
    });
    let events = crate::gossip::spawn_router(events, shared.clone(), net.clone());
    let inbox = Inbox {
        events,
        commands: commands_rx,
        mined: mined_rx,
        sync: sync_rx,
        executed: executed_rx,
    };
    let driver = tokio::spawn(crate::runtime::run(
        driver,
        net.clone(),
        inbox,
        restored,
        stop.clone(),
    ));

    Ok(NodeHandle {
        rpc_addr,
        metrics_addr,
        peer_id,
        listen_addrs,
        shared,
        stop,
        driver,
        executor: Some(executor),
        rpc,
        net,
        miners,
    })
}

fn parse_addrs(list: &[String], key: &str) -> Result<Vec<ledger_network::Multiaddr>, ConfigError> {
    list.iter()
        .map(|a| {
            a.parse().map_err(|e| ConfigError::Invalid {
                key: key.into(),
                message: format!("{a:?} is not a multiaddr: {e}"),
            })
        })
        .collect()
}
