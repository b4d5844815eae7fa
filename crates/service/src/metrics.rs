//! Prometheus metrics (`ledger_*`, base units, counters end in `_total`), served in the
//! text exposition format at `http://[metrics].listen/metrics`.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::Arc;
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

/// Every metric the node exports.
pub struct Metrics {
    registry: Registry,
    /// Height of the last final block.
    pub final_height: Gauge,
    /// Height of the last block applied to the engine.
    pub applied_height: Gauge,
    /// Current Streamlet epoch (0 for Nakamoto).
    pub epoch: Gauge,
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
    /// RPC calls, by method.
    pub rpc_calls: Family<MethodLabel, Counter>,
    /// Blocks fetched by block sync.
    pub synced_blocks: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric under the `ledger` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ledger");
        let m = Metrics {
            final_height: Gauge::default(),
            applied_height: Gauge::default(),
            epoch: Gauge::default(),
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
            rpc_calls: Family::default(),
            synced_blocks: Counter::default(),
            registry: Registry::default(),
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
        registry.register("rpc_calls", "JSON-RPC calls", m.rpc_calls.clone());
        registry.register(
            "synced_blocks",
            "Blocks fetched by block sync",
            m.synced_blocks.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Counts an RPC call.
    pub fn rpc_call(&self, method: &str) {
        self.rpc_calls
            .get_or_create(&MethodLabel {
                method: method.to_string(),
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

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
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
                                    .header(
                                        "content-type",
                                        "text/plain; version=0.0.4; charset=utf-8",
                                    )
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
