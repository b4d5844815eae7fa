//! Prometheus metrics (`ledger_*`, base units, counters end in `_total`), served in the
//! OpenMetrics text format (`application/openmetrics-text; version=1.0.0`) at
//! `http://[metrics].listen/metrics`.
//!
//! Besides the node's counters and gauges:
//!
//! * histograms: `ledger_submit_to_final_seconds` (from the moment this node first saw
//!   a transaction, by RPC or gossip, to its block being final and executed here),
//!   `ledger_stage_duration_seconds{stage}` (see [`Stage`]), `ledger_block_txs` and
//!   `ledger_block_size_bytes` of final blocks;
//! * `ledger_build_info{version,commit,profile}` (always 1);
//! * `ledger_rocksdb_*`: RocksDB properties of the data directory, read at each scrape;
//! * `process_*`: CPU, memory, threads and file descriptors of the node process (Linux);
//! * `libp2p_*`: libp2p's own metrics (swarm, identify, Kademlia, ping, gossipsub,
//!   bandwidth), registered by `ledger-network` through libp2p's `metrics` feature.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Label of per-method RPC counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabel {
    /// JSON-RPC method name.
    pub method: String,
}

/// Label of per-reason counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// Stable reason name.
    pub reason: String,
}

/// The content type of `/metrics`.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A stage of a transaction's or block's way through the node, the label of
/// `ledger_stage_duration_seconds`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Stage {
    /// An RPC submission: decode, signature check, mempool admission.
    Admission,
    /// A gossiped transaction batch from a peer: decode, signature checks, admission.
    Gossip,
    /// A block from its proposer's timestamp (or, when the driver reports it, from its
    /// arrival) to finality at this node.
    Consensus,
    /// Executing a final block in the matching engine.
    Execution,
    /// Writing a final block and its state changes to RocksDB (one batch).
    Commit,
}

impl Stage {
    /// Every stage.
    pub const ALL: [Stage; 5] = [
        Stage::Admission,
        Stage::Gossip,
        Stage::Consensus,
        Stage::Execution,
        Stage::Commit,
    ];

    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Admission => "admission",
            Stage::Gossip => "gossip",
            Stage::Consensus => "consensus",
            Stage::Execution => "execution",
            Stage::Commit => "commit",
        }
    }
}

/// Label of the stage histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabel {
    /// [`Stage::name`].
    pub stage: String,
}

/// Labels of `ledger_build_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    /// The crate version.
    pub version: String,
    /// The git commit it was built from (`LEDGER_GIT_COMMIT` at build time), or `unknown`.
    pub commit: String,
    /// `release` or `debug`.
    pub profile: String,
}

/// Most transactions whose first sighting is remembered for the latency histogram.
const MAX_TRACKED_TXS: usize = 500_000;
/// Sightings older than this are forgotten (the transaction never became final here).
const TRACK_FOR: Duration = Duration::from_secs(600);

/// Every metric the node exports.
pub struct Metrics {
    registry: parking_lot::RwLock<Registry>,
    /// Registries of other components (libp2p), encoded after ours.
    extra: parking_lot::RwLock<Vec<Arc<Registry>>>,
    /// Submit-to-final latency as this node sees it.
    pub submit_to_final: Histogram,
    /// Time per stage.
    pub stage_seconds: Family<StageLabel, Histogram>,
    /// Transactions per final block.
    pub block_txs: Histogram,
    /// Encoded size of final blocks.
    pub block_bytes: Histogram,
    /// State sync: snapshot chunks served to peers.
    pub snapshot_chunks_served: Counter,
    /// State sync: chunks or snapshots refused, by reason.
    pub snapshot_refused: Family<ReasonLabel, Counter>,
    /// When this node first saw each pending transaction.
    first_seen: parking_lot::Mutex<HashMap<ledger_types::TxHash, Instant>>,
    /// Height of the last final block.
    pub final_height: Gauge,
    /// Height of the last block applied to the engine.
    pub applied_height: Gauge,
    /// Current Streamlet epoch (0 for Nakamoto).
    pub epoch: Gauge,
    /// How far this node's clock is ahead of its peers', in milliseconds (negative:
    /// behind), estimated from block-sync answers (`ledger_driver::clock_offset`).
    pub clock_offset_ms: Gauge,
    /// Connected peers.
    pub peers: Gauge,
    /// Transactions in the mempool.
    pub mempool_txs: Gauge,
    /// Bytes in the mempool.
    pub mempool_bytes: Gauge,
    /// Blocks finalized.
    pub finalized_blocks: Counter,
    /// Transactions in finalized blocks.
    pub finalized_txs: Counter,
    /// Transactions in finalized blocks that the engine rejected.
    pub rejected_txs: Counter,
    /// Trades executed.
    pub trades: Counter,
    /// Transactions admitted to the mempool.
    pub admitted_txs: Counter,
    /// Transactions refused by the mempool, by reason.
    pub refused_txs: Family<ReasonLabel, Counter>,
    /// Gossip messages rejected, by reason.
    pub gossip_rejected: Family<ReasonLabel, Counter>,
    /// Misbehaviour of peers and validators, by offence kind (see
    /// [`crate::offences::OffenceKind`]).
    pub peer_offences: Family<ReasonLabel, Counter>,
    /// Peers banned for misbehaving.
    pub peer_bans: Counter,
    /// RPC calls, by method.
    pub rpc_calls: Family<MethodLabel, Counter>,
    /// Blocks fetched by block sync.
    pub synced_blocks: Counter,
    /// RPC connections and subscribers refused or dropped by a limit, by reason.
    pub rpc_refused: Family<ReasonLabel, Counter>,
    /// Open RPC TCP connections (HTTP keep-alive and WebSocket).
    pub rpc_connections: Gauge,
    /// Bytes of subscription notifications queued and not yet written, all subscribers.
    pub rpc_subscription_buffer_bytes: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric under the `ledger` prefix.
    pub fn new() -> Metrics {
        let mut root = Registry::default();
        let registry = root.sub_registry_with_prefix("ledger");
        let m = Metrics {
            final_height: Gauge::default(),
            applied_height: Gauge::default(),
            epoch: Gauge::default(),
            clock_offset_ms: Gauge::default(),
            peers: Gauge::default(),
            mempool_txs: Gauge::default(),
            mempool_bytes: Gauge::default(),
            finalized_blocks: Counter::default(),
            finalized_txs: Counter::default(),
            rejected_txs: Counter::default(),
            trades: Counter::default(),
            admitted_txs: Counter::default(),
            refused_txs: Family::default(),
            gossip_rejected: Family::default(),
            peer_offences: Family::default(),
            peer_bans: Counter::default(),
            rpc_calls: Family::default(),
            synced_blocks: Counter::default(),
            rpc_refused: Family::default(),
            rpc_connections: Gauge::default(),
            rpc_subscription_buffer_bytes: Gauge::default(),
            submit_to_final: Histogram::new(exponential_buckets(0.01, 2.0, 13)),
            stage_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0001, 2.5, 14))
            }),
            block_txs: Histogram::new(exponential_buckets(1.0, 2.0, 16)),
            block_bytes: Histogram::new(exponential_buckets(256.0, 4.0, 12)),
            snapshot_chunks_served: Counter::default(),
            snapshot_refused: Family::default(),
            first_seen: parking_lot::Mutex::new(HashMap::new()),
            registry: parking_lot::RwLock::new(Registry::default()),
            extra: parking_lot::RwLock::new(Vec::new()),
        };
        registry.register(
            "final_height",
            "Height of the last final block",
            m.final_height.clone(),
        );
        registry.register(
            "applied_height",
            "Height of the last block applied to the engine",
            m.applied_height.clone(),
        );
        registry.register("epoch", "Current Streamlet epoch", m.epoch.clone());
        registry.register(
            "clock_offset_ms",
            "How far this node's clock is ahead of the network's (median over NTP-style samples from block-sync answers; negative: behind)",
            m.clock_offset_ms.clone(),
        );
        registry.register("peers", "Connected peers", m.peers.clone());
        registry.register(
            "mempool_txs",
            "Transactions in the mempool",
            m.mempool_txs.clone(),
        );
        registry.register(
            "mempool_bytes",
            "Bytes of transactions in the mempool",
            m.mempool_bytes.clone(),
        );
        registry.register(
            "finalized_blocks",
            "Blocks finalized",
            m.finalized_blocks.clone(),
        );
        registry.register(
            "finalized_txs",
            "Transactions in finalized blocks",
            m.finalized_txs.clone(),
        );
        registry.register(
            "rejected_txs",
            "Final transactions the engine rejected",
            m.rejected_txs.clone(),
        );
        registry.register("trades", "Trades executed", m.trades.clone());
        registry.register(
            "admitted_txs",
            "Transactions admitted to the mempool",
            m.admitted_txs.clone(),
        );
        registry.register(
            "refused_txs",
            "Transactions refused by the mempool",
            m.refused_txs.clone(),
        );
        registry.register(
            "gossip_rejected",
            "Gossip messages rejected",
            m.gossip_rejected.clone(),
        );
        registry.register(
            "peer_offences",
            "Misbehaviour of peers and validators, by offence kind",
            m.peer_offences.clone(),
        );
        registry.register(
            "peer_bans",
            "Peers banned for misbehaving",
            m.peer_bans.clone(),
        );
        registry.register("rpc_calls", "JSON-RPC calls", m.rpc_calls.clone());
        registry.register(
            "rpc_refused",
            "RPC connections refused and subscribers dropped by a limit, by reason",
            m.rpc_refused.clone(),
        );
        registry.register(
            "rpc_connections",
            "Open RPC TCP connections (HTTP keep-alive and WebSocket)",
            m.rpc_connections.clone(),
        );
        registry.register_with_unit(
            "rpc_subscription_buffer",
            "Subscription notifications queued and not yet written, all subscribers",
            Unit::Bytes,
            m.rpc_subscription_buffer_bytes.clone(),
        );
        registry.register(
            "synced_blocks",
            "Blocks fetched by block sync",
            m.synced_blocks.clone(),
        );
        registry.register_with_unit(
            "submit_to_final",
            "From the moment this node first saw a transaction (RPC or gossip) to its block being final and executed here",
            Unit::Seconds,
            m.submit_to_final.clone(),
        );
        registry.register_with_unit(
            "stage_duration",
            "Time per stage: admission (RPC), gossip (a peer's batch), consensus (block timestamp to final), execution (engine), commit (RocksDB batch)",
            Unit::Seconds,
            m.stage_seconds.clone(),
        );
        for stage in Stage::ALL {
            // Every stage shows up from the first scrape, even before it is observed.
            let _ = m.stage_seconds.get_or_create(&StageLabel {
                stage: stage.name().into(),
            });
        }
        registry.register(
            "block_txs",
            "Transactions per final block",
            m.block_txs.clone(),
        );
        registry.register_with_unit(
            "block_size",
            "Encoded size of final blocks",
            Unit::Bytes,
            m.block_bytes.clone(),
        );
        registry.register(
            "snapshot_chunks_served",
            "State sync: snapshot chunks served to peers",
            m.snapshot_chunks_served.clone(),
        );
        registry.register(
            "snapshot_refused",
            "State sync: snapshot chunks or snapshots refused, by reason",
            m.snapshot_refused.clone(),
        );
        let build: Family<BuildLabels, Gauge> = Family::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").into(),
                commit: option_env!("LEDGER_GIT_COMMIT").unwrap_or("unknown").into(),
                profile: if cfg!(debug_assertions) {
                    "debug".into()
                } else {
                    "release".into()
                },
            })
            .set(1);
        registry.register("build_info", "Build information (always 1)", build);
        #[cfg(target_os = "linux")]
        root.register_collector(Box::new(crate::process_metrics::ProcessCollector));
        Metrics {
            registry: parking_lot::RwLock::new(root),
            ..m
        }
    }

    /// Adds a registry (libp2p's) whose metrics are served after the node's own.
    pub fn attach_registry(&self, registry: Arc<Registry>) {
        self.extra.write().push(registry);
    }

    /// Adds a collector to the node's registry (under the `ledger_` prefix).
    pub fn attach_collector(&self, collector: Box<dyn prometheus_client::collector::Collector>) {
        self.registry
            .write()
            .sub_registry_with_prefix("ledger")
            .register_collector(collector);
    }

    /// Records the time a stage took.
    pub fn observe_stage(&self, stage: Stage, took: Duration) {
        self.stage_seconds
            .get_or_create(&StageLabel {
                stage: stage.name().into(),
            })
            .observe(took.as_secs_f64());
    }

    /// Records the consensus stage of a block: from `since` (when the driver first saw
    /// the block, or proposed it) until it was final. For the consensus driver; without
    /// it the block observer measures from the block's header timestamp.
    pub fn record_consensus(&self, since: Instant) {
        self.observe_stage(Stage::Consensus, since.elapsed());
    }

    /// Remembers when this node first saw a transaction (RPC or gossip).
    pub fn tx_seen(&self, hash: ledger_types::TxHash) {
        let mut seen = self.first_seen.lock();
        if seen.len() < MAX_TRACKED_TXS {
            seen.entry(hash).or_insert_with(Instant::now);
        }
    }

    /// Records what a final, executed block says: its size, the latency of each of its
    /// transactions this node saw arrive, and how long execution and commit took.
    pub fn observe_final_block(
        &self,
        block: &ledger_types::Block,
        execute: Option<Duration>,
        commit: Option<Duration>,
        now_ms: u64,
    ) {
        self.block_txs.observe(block.txs.len() as f64);
        self.block_bytes.observe(block.encoded_len() as f64);
        if let Some(d) = execute {
            self.observe_stage(Stage::Execution, d);
        }
        if let Some(d) = commit {
            self.observe_stage(Stage::Commit, d);
        }
        let stamp = block.header.time_ms();
        if block.height() > 0 && stamp > 0 && now_ms >= stamp {
            let spent = execute.unwrap_or_default() + commit.unwrap_or_default();
            let age = Duration::from_millis(now_ms - stamp).saturating_sub(spent);
            self.observe_stage(Stage::Consensus, age);
        }
        let now = Instant::now();
        let mut seen = self.first_seen.lock();
        for tx in &block.txs {
            if let Some(at) = seen.remove(&tx.hash()) {
                self.submit_to_final
                    .observe(now.duration_since(at).as_secs_f64());
            }
        }
        if seen.len() > MAX_TRACKED_TXS / 2 {
            seen.retain(|_, at| now.duration_since(*at) < TRACK_FOR);
        }
    }

    /// Counts an RPC call.
    pub fn rpc_call(&self, method: &str) {
        self.rpc_calls
            .get_or_create(&MethodLabel {
                method: method.to_string(),
            })
            .inc();
    }

    /// Counts one RPC connection refused or subscriber dropped by a limit.
    pub fn rpc_refusal(&self, reason: &str) {
        self.rpc_refused
            .get_or_create(&ReasonLabel {
                reason: reason.into(),
            })
            .inc();
    }

    /// Counts a refusal.
    pub fn refused(&self, reason: &str) {
        self.refused_txs
            .get_or_create(&ReasonLabel {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// The OpenMetrics text exposition: the node's registry, attached registries, `# EOF`.
    pub fn encode(&self) -> String {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode_registry(&mut out, &self.registry.read());
        for r in self.extra.read().iter() {
            let _ = encode_registry(&mut out, r);
        }
        let _ = encode_eof(&mut out);
        out
    }
}

/// Serves `GET /metrics` until `stop` is cancelled. Returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let conn = tokio::select! {
                _ = stop.cancelled() => break,
                c = listener.accept() => c,
            };
            let Ok((stream, _)) = conn else { continue };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let metrics = metrics.clone();
                        async move {
                            let resp = if req.uri().path() == "/metrics" {
                                Response::builder()
                                    .header("content-type", CONTENT_TYPE)
                                    .body(Full::new(Bytes::from(metrics.encode())))
                            } else {
                                Response::builder()
                                    .status(StatusCode::NOT_FOUND)
                                    .body(Full::new(Bytes::from_static(b"try /metrics\n")))
                            };
                            resp.map_err(|e| std::io::Error::other(e.to_string()))
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_conventions() {
        let m = Metrics::new();
        m.final_height.set(7);
        m.finalized_txs.inc_by(3);
        m.rpc_call("get_block");
        let text = m.encode();
        assert!(text.contains("ledger_final_height 7"), "{text}");
        assert!(text.contains("ledger_finalized_txs_total 3"), "{text}");
        assert!(
            text.contains("ledger_rpc_calls_total{method=\"get_block\"} 1"),
            "{text}"
        );
    }
}

/// `ledger_rocksdb_*`: RocksDB properties of the node's data directory, read at each
/// scrape (per column family where RocksDB keeps them per column family).
pub struct RocksCollector {
    store: ledger_storage::ChainStore,
}

impl std::fmt::Debug for RocksCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RocksCollector")
    }
}

impl RocksCollector {
    /// A collector over `store`.
    pub fn new(store: ledger_storage::ChainStore) -> RocksCollector {
        RocksCollector { store }
    }
}

/// Label of per-column-family RocksDB metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CfLabel {
    /// Column family name.
    pub cf: String,
}

/// (metric name, help, RocksDB property) of per-column-family gauges.
pub const ROCKSDB_CF_GAUGES: [(&str, &str, &str); 6] = [
    (
        "rocksdb_estimated_keys",
        "Estimated number of keys",
        "rocksdb.estimate-num-keys",
    ),
    (
        "rocksdb_sst_bytes",
        "Total size of the SST files",
        "rocksdb.total-sst-files-size",
    ),
    (
        "rocksdb_live_data_bytes",
        "Estimated size of the live data",
        "rocksdb.estimate-live-data-size",
    ),
    (
        "rocksdb_memtable_bytes",
        "Size of all memtables",
        "rocksdb.cur-size-all-mem-tables",
    ),
    (
        "rocksdb_pending_compaction_bytes",
        "Estimated bytes compaction needs to rewrite",
        "rocksdb.estimate-pending-compaction-bytes",
    ),
    (
        "rocksdb_block_cache_usage_bytes",
        "Memory used by the block cache",
        "rocksdb.block-cache-usage",
    ),
];

/// (metric name, help, RocksDB property) of database-wide gauges.
pub const ROCKSDB_DB_GAUGES: [(&str, &str, &str); 5] = [
    (
        "rocksdb_running_compactions",
        "Compactions running",
        "rocksdb.num-running-compactions",
    ),
    (
        "rocksdb_running_flushes",
        "Flushes running",
        "rocksdb.num-running-flushes",
    ),
    (
        "rocksdb_background_errors",
        "Accumulated background errors",
        "rocksdb.background-errors",
    ),
    (
        "rocksdb_delayed_write_rate",
        "Current delayed write rate, bytes per second (0: writes are not delayed)",
        "rocksdb.actual-delayed-write-rate",
    ),
    (
        "rocksdb_write_stopped",
        "1 if RocksDB stopped writes",
        "rocksdb.is-write-stopped",
    ),
];

impl prometheus_client::collector::Collector for RocksCollector {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        use prometheus_client::metrics::gauge::ConstGauge;
        use prometheus_client::metrics::MetricType;
        let db = self.store.raw();
        for (name, help, property) in ROCKSDB_CF_GAUGES {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for cf in ledger_storage::Cf::ALL {
                if let Some(v) = db.property_int(Some(cf), property) {
                    let label = CfLabel {
                        cf: cf.name().into(),
                    };
                    ConstGauge::new(v as i64).encode(family.encode_family(&label)?)?;
                }
            }
        }
        for (name, help, property) in ROCKSDB_DB_GAUGES {
            if let Some(v) = db.property_int(None, property) {
                let m = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
                ConstGauge::new(v as i64).encode(m)?;
            }
        }
        Ok(())
    }
}
