//! Transaction gossip, kept off the consensus driver's path.
//!
//! A router task splits the network's events: transaction batches go to an admission
//! worker (signature checks are the most expensive thing a node does per transaction),
//! everything else to the consensus driver, so proposals and votes are never queued
//! behind a burst of transactions.

use crate::metrics::ReasonLabel;
use crate::shared::Shared;
use ledger_driver::{insert_gossip_batch, verify_gossip_batch, Verdict};
use ledger_network::{GossipMessage, NetworkEvent, NetworkHandle, Topic, ValidationOutcome};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Checks and admits a gossiped batch against the executed state; the verdict tells
/// gossipsub whether to relay it.
pub fn admit_batch(shared: &Shared, data: &[u8]) -> ValidationOutcome {
    let started = std::time::Instant::now();
    let verdict = match verify_gossip_batch(&shared.mempool, data) {
        Err(verdict) => verdict,
        Ok(batch) => {
            let admission = {
                let exec = shared.executor.read();
                insert_gossip_batch(&shared.mempool, exec.engine(), batch)
            };
            for hash in &admission.admitted {
                shared.metrics.tx_seen(*hash);
            }
            shared
                .metrics
                .admitted_txs
                .inc_by(admission.admitted.len() as u64);
            let pool = shared.mempool.lock();
            shared.metrics.mempool_txs.set(pool.len() as i64);
            shared.metrics.mempool_bytes.set(pool.bytes() as i64);
            admission.verdict
        }
    };
    shared
        .metrics
        .observe_stage(crate::metrics::Stage::Gossip, started.elapsed());
    match verdict {
        Verdict::Accept => ValidationOutcome::Accept,
        Verdict::Reject => ValidationOutcome::Reject,
        Verdict::Ignore => ValidationOutcome::Ignore,
    }
}

/// Splits the network's events; returns the driver's share.
pub fn spawn_router(
    mut events: mpsc::Receiver<NetworkEvent>,
    shared: Arc<Shared>,
    net: NetworkHandle,
) -> mpsc::Receiver<NetworkEvent> {
    // Operator-side services that need the running node: the state-sync snapshot
    // server, libp2p and RocksDB metrics, and the final-block metrics observer.
    crate::state_sync::on_node_started(&shared, &net);
    let (to_driver, driver_rx) = mpsc::channel(4096);
    let (to_worker, mut worker_rx) = mpsc::channel::<GossipMessage>(1024);
    let router_net = net.clone();
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            match ev {
                NetworkEvent::Message(m) if m.topic == Topic::Transactions => {
                    if let Err(mpsc::error::TrySendError::Full(m)) = to_worker.try_send(m) {
                        // Overloaded: drop it unrelayed; nobody is penalised.
                        let _ = router_net.report_validation(
                            m.message_id,
                            m.propagation_source,
                            ValidationOutcome::Ignore,
                        );
                    }
                }
                other => {
                    if to_driver.send(other).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    tokio::spawn(async move {
        while let Some(m) = worker_rx.recv().await {
            let s = shared.clone();
            let GossipMessage {
                data,
                message_id,
                propagation_source,
                ..
            } = m;
            let outcome = tokio::task::spawn_blocking(move || admit_batch(&s, &data))
                .await
                .unwrap_or(ValidationOutcome::Ignore);
            if outcome == ValidationOutcome::Reject {
                shared
                    .metrics
                    .gossip_rejected
                    .get_or_create(&ReasonLabel {
                        reason: "transactions".into(),
                    })
                    .inc();
            }
            let _ = net.report_validation(message_id, propagation_source, outcome);
        }
    });
    driver_rx
}
