//! Signature checks of RPC submissions, gathered into batches.
//!
//! Each JSON-RPC submission used to run its own `verify_strict`; a burst of them now
//! queues here and is verified with one ed25519 batch verification (about half the
//! cost per signature at 64), on blocking threads so the RPC tasks keep serving. A
//! batch starts as soon as the previous one is handed off, so an idle node adds no
//! wait: a lone submission is a batch of one. When a batch fails, the items are checked
//! one by one (`ledger_types::verify_batch`), so each caller gets its own answer.
//!
//! As everywhere in admission (see `ledger_types::crypto`), batch verification decides
//! only what enters the mempool, never the effect of a final block.

use ledger_types::{SignatureError, SignedTx};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Semaphore};

/// Largest batch verified at once.
pub const MAX_BATCH: usize = 64;
/// Submissions that may wait for a check; more wait in their RPC task.
const QUEUE: usize = 8_192;

type Job = (SignedTx, oneshot::Sender<Result<(), SignatureError>>);

/// A handle to the batching task (cheap to clone).
#[derive(Clone, Debug)]
pub struct SignatureBatcher {
    jobs: mpsc::Sender<Job>,
}

impl SignatureBatcher {
    /// Starts the task on the current tokio runtime, with up to `parallel` batches in
    /// flight at once (at least one).
    pub fn start(parallel: usize) -> SignatureBatcher {
        let (jobs, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(rx, Arc::new(Semaphore::new(parallel.max(1)))));
        SignatureBatcher { jobs }
    }

    /// Checks the signature of `tx`, batched with the submissions that arrive with it.
    pub async fn verify(&self, tx: &SignedTx) -> Result<(), SignatureError> {
        let (reply, answer) = oneshot::channel();
        if self.jobs.send((tx.clone(), reply)).await.is_err() {
            // The task is gone (the runtime is shutting down): check it here.
            return tx.verify();
        }
        match answer.await {
            Ok(r) => r,
            Err(_) => tx.verify(),
        }
    }
}

async fn run(mut rx: mpsc::Receiver<Job>, slots: Arc<Semaphore>) {
    while let Some(first) = rx.recv().await {
        // Wait for a free verifier before gathering: what arrives meanwhile joins.
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        tokio::task::spawn_blocking(move || {
            let verdicts = SignedTx::verify_many(batch.iter().map(|(tx, _)| tx));
            for ((_, reply), verdict) in batch.into_iter().zip(verdicts) {
                let _ = reply.send(verdict);
            }
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_types::{CancelAll, Keypair, Payload, Tx};

    fn signed(i: u64) -> SignedTx {
        let k = Keypair::for_testing(&format!("batcher-{i}"));
        Tx {
            chain_id: "c".into(),
            sender: k.public(),
            nonce: i,
            payload: Payload::CancelAll(CancelAll { market: None }),
            valid_until_height: None,
        }
        .sign(&k)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_caller_gets_its_own_verdict_in_a_burst() {
        let b = SignatureBatcher::start(2);
        let mut txs: Vec<SignedTx> = (0..200).map(signed).collect();
        // Every 7th is forged: the signature of another transaction.
        for i in (0..200).step_by(7) {
            txs[i].signature = txs[(i + 1) % 200].signature;
        }
        let handles: Vec<_> = txs
            .iter()
            .cloned()
            .map(|tx| {
                let b = b.clone();
                tokio::spawn(async move { b.verify(&tx).await })
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            let got = h.await.expect("the task ran");
            if i % 7 == 0 {
                assert_eq!(got, Err(SignatureError::Invalid), "item {i}");
            } else {
                assert_eq!(got, Ok(()), "item {i}");
            }
        }
    }
}
