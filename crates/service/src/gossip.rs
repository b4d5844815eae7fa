//! Transaction gossip, kept off the consensus driver's path.
//!
//! A router task splits the network's events: transaction batches go to an admission
//! worker (signature checks are the most expensive thing a node does per transaction),
//! everything else to the consensus driver, so proposals and votes are never queued
//! behind a burst of transactions.

use crate::mempool::Mempool;
use crate::metrics::ReasonLabel;
use crate::shared::Shared;
use ledger_network::{GossipMessage, NetworkEvent, NetworkHandle, Topic, ValidationOutcome};
use ledger_types::{codec, SignedTx};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Largest transaction batch gossiped (or accepted) in one message.
pub const GOSSIP_BATCH: usize = 512;

/// Checks and admits a gossiped batch; the verdict tells gossipsub whether to relay it.
pub fn admit_batch(shared: &Shared, data: &[u8]) -> ValidationOutcome {
    let started = std::time::Instant::now();
    let outcome = admit_batch_inner(shared, data);
    shared
        .metrics
        .observe_stage(crate::metrics::Stage::Gossip, started.elapsed());
    outcome
}

fn admit_batch_inner(shared: &Shared, data: &[u8]) -> ValidationOutcome {
    let Ok(txs) = codec::decode::<Vec<SignedTx>>(data) else {
        return ValidationOutcome::Reject;
    };
    if txs.is_empty() || txs.len() > GOSSIP_BATCH {
        return ValidationOutcome::Reject;
    }
    // Transactions already pending with the same signature need no second check.
    let fresh: Vec<(SignedTx, usize)> = {
        let pool = shared.mempool.lock();
        txs.into_iter()
            .filter(|t| {
                pool.get(&t.hash())
                    .is_none_or(|p| p.signature != t.signature)
            })
            .map(|t| {
                let len = codec::encode(&t).len();
                (t, len)
            })
            .collect()
    };
    if fresh.is_empty() {
        return ValidationOutcome::Ignore;
    }
    if Mempool::verify_signatures(&fresh)
        .iter()
        .any(|r| r.is_err())
    {
        // Honest nodes verify before they gossip: a bad signature is an attack.
        return ValidationOutcome::Reject;
    }
    let exec = shared.executor.read();
    let mut pool = shared.mempool.lock();
    let mut admitted = 0u64;
    for (tx, len) in fresh {
        let hash = tx.hash();
        if pool.admit_verified(tx, len, exec.engine()).is_ok() {
            shared.metrics.tx_seen(hash);
            admitted += 1;
        }
    }
    shared.metrics.admitted_txs.inc_by(admitted);
    shared.metrics.mempool_txs.set(pool.len() as i64);
    shared.metrics.mempool_bytes.set(pool.bytes() as i64);
    if admitted > 0 {
        ValidationOutcome::Accept
    } else {
        ValidationOutcome::Ignore
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
