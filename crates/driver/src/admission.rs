//! Admission of gossiped transaction batches into the mempool: the check every node
//! runs before it relays a batch. Signatures are the most expensive thing a node checks
//! per transaction, so they are verified in one batch, outside the mempool lock, and
//! only for transactions whose signature this node has not verified already
//! ([`Mempool::knows_signature`]).

use crate::host::Verdict;
use crate::mempool::Mempool;
use ledger_engine::Engine;
use ledger_types::{codec, SignedTx, TxHash};
use parking_lot::Mutex;

/// Largest transaction batch gossiped (or accepted) in one message.
pub const GOSSIP_BATCH: usize = 512;

/// What admitting one gossiped batch did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchAdmission {
    /// Relay it, penalise the sender, or drop it quietly.
    pub verdict: Verdict,
    /// Hashes of the transactions newly admitted.
    pub admitted: Vec<TxHash>,
}

/// A gossiped batch whose signatures verified: what is left to insert.
#[derive(Debug)]
pub struct VerifiedBatch(Vec<(SignedTx, usize)>);

/// Decodes a gossiped batch and verifies the signatures this node has not verified
/// already ([`Mempool::knows_signature`]) (one batch verification, no lock held
/// while it runs). `Err` is the verdict when there is nothing to insert: a malformed,
/// empty or oversized batch, or one with a bad signature, is rejected (honest nodes
/// verify before they gossip); a batch with nothing new is ignored.
pub fn verify_gossip_batch(pool: &Mutex<Mempool>, data: &[u8]) -> Result<VerifiedBatch, Verdict> {
    let Ok(txs) = codec::decode::<Vec<SignedTx>>(data) else {
        return Err(Verdict::Reject);
    };
    if txs.is_empty() || txs.len() > GOSSIP_BATCH {
        return Err(Verdict::Reject);
    }
    let fresh: Vec<(SignedTx, usize)> = {
        let pool = pool.lock();
        txs.into_iter()
            .filter(|t| !pool.knows_signature(t))
            .map(|t| {
                let len = codec::encode(&t).len();
                (t, len)
            })
            .collect()
    };
    if fresh.is_empty() {
        return Err(Verdict::Ignore);
    }
    if Mempool::verify_signatures(&fresh)
        .iter()
        .any(|r| r.is_err())
    {
        return Err(Verdict::Reject);
    }
    Ok(VerifiedBatch(fresh))
}

/// Inserts a verified batch; `engine` is the executed state the nonce and balance
/// pre-checks read (hold its lock only for this call).
pub fn insert_gossip_batch(
    pool: &Mutex<Mempool>,
    engine: &Engine,
    batch: VerifiedBatch,
) -> BatchAdmission {
    let mut pool = pool.lock();
    let mut admitted = Vec::new();
    for (tx, len) in batch.0 {
        if let Ok(hash) = pool.admit_verified(tx, len, engine) {
            admitted.push(hash);
        }
    }
    BatchAdmission {
        verdict: if admitted.is_empty() {
            Verdict::Ignore
        } else {
            Verdict::Accept
        },
        admitted,
    }
}

/// [`verify_gossip_batch`] then [`insert_gossip_batch`], for a caller that holds the
/// executed state anyway (the simulator).
pub fn admit_gossip_batch(pool: &Mutex<Mempool>, engine: &Engine, data: &[u8]) -> BatchAdmission {
    match verify_gossip_batch(pool, data) {
        Ok(batch) => insert_gossip_batch(pool, engine, batch),
        Err(verdict) => BatchAdmission {
            verdict,
            admitted: Vec::new(),
        },
    }
}
