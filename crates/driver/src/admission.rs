//! Admission of gossiped transaction batches into the mempool: the check every node
//! runs before it relays a batch. Signatures are the most expensive thing a node checks
//! per transaction, so they are verified in one batch, outside the mempool lock, and
//! only for transactions the pool does not already hold with the same signature.

use crate::host::Verdict;
use crate::mempool::Mempool;
use ledger_engine::Engine;
use ledger_types::{codec, SignedTx};
use parking_lot::Mutex;

/// Largest transaction batch gossiped (or accepted) in one message.
pub const GOSSIP_BATCH: usize = 512;

/// What admitting one gossiped batch did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchAdmission {
    /// Relay it, penalise the sender, or drop it quietly.
    pub verdict: Verdict,
    /// Transactions newly admitted.
    pub admitted: usize,
}

/// Decodes, verifies and admits a gossiped batch. `engine` is the executed state the
/// nonce and balance pre-checks read. A malformed, empty or oversized batch, or one with
/// a bad signature, is rejected (honest nodes verify before they gossip); a batch with
/// nothing new is ignored.
pub fn admit_gossip_batch(pool: &Mutex<Mempool>, engine: &Engine, data: &[u8]) -> BatchAdmission {
    let reject = BatchAdmission {
        verdict: Verdict::Reject,
        admitted: 0,
    };
    let Ok(txs) = codec::decode::<Vec<SignedTx>>(data) else {
        return reject;
    };
    if txs.is_empty() || txs.len() > GOSSIP_BATCH {
        return reject;
    }
    // Transactions already pending with the same signature need no second check.
    let fresh: Vec<(SignedTx, usize)> = {
        let pool = pool.lock();
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
        return BatchAdmission {
            verdict: Verdict::Ignore,
            admitted: 0,
        };
    }
    if Mempool::verify_signatures(&fresh)
        .iter()
        .any(|r| r.is_err())
    {
        return reject;
    }
    let mut pool = pool.lock();
    let mut admitted = 0;
    for (tx, len) in fresh {
        if pool.admit_verified(tx, len, engine).is_ok() {
            admitted += 1;
        }
    }
    BatchAdmission {
        verdict: if admitted > 0 {
            Verdict::Accept
        } else {
            Verdict::Ignore
        },
        admitted,
    }
}
