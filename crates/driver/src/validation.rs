//! Block payload validation: what consensus asks the node before it votes for (or
//! adopts) a block.
//!
//! A block is valid when it has at most the genesis' `max_block_txs` transactions, its
//! encoding fits `max_block_bytes`, every transaction fits `max_tx_bytes`, names this
//! chain, and carries a valid signature. Signatures already checked on admission (the
//! same transaction with the same signature is in the mempool) are not checked again;
//! the rest are checked with one batch verification. Whether a transaction *executes*
//! is the engine's business on the final block: a failing one is recorded as rejected,
//! it does not invalidate the block. So the verdict is the same on every honest node.

use crate::mempool::Mempool;
use ledger_consensus::PayloadValidator;
use ledger_types::genesis::Limits;
use ledger_types::{codec, Block, SignedTx};
use parking_lot::Mutex;
use std::sync::Arc;

/// The node's [`PayloadValidator`].
pub struct NodePayloadValidator {
    chain_id: String,
    limits: Limits,
    mempool: Arc<Mutex<Mempool>>,
}

impl NodePayloadValidator {
    /// A validator for `chain_id` with the genesis limits, consulting `mempool` for
    /// signatures already verified.
    pub fn new(chain_id: String, limits: Limits, mempool: Arc<Mutex<Mempool>>) -> Self {
        NodePayloadValidator {
            chain_id,
            limits,
            mempool,
        }
    }
}

impl PayloadValidator for NodePayloadValidator {
    fn validate(&self, block: &Block) -> Result<(), String> {
        if block.txs.len() > self.limits.max_block_txs as usize {
            return Err(format!(
                "{} transactions, the limit is {}",
                block.txs.len(),
                self.limits.max_block_txs
            ));
        }
        let mut total = 0usize;
        for (i, tx) in block.txs.iter().enumerate() {
            if tx.tx.chain_id != self.chain_id {
                return Err(format!("transaction {i} is for chain {:?}", tx.tx.chain_id));
            }
            let len = codec::encode(tx).len();
            if len > self.limits.max_tx_bytes as usize {
                return Err(format!("transaction {i} has {len} bytes"));
            }
            total += len;
        }
        if total as u64 > self.limits.max_block_bytes {
            return Err(format!("block has {total} bytes of transactions"));
        }
        let unchecked: Vec<usize> = {
            let pool = self.mempool.lock();
            block
                .txs
                .iter()
                .enumerate()
                .filter(|(_, tx)| !pool.knows_signature(tx))
                .map(|(i, _)| i)
                .collect()
        };
        if unchecked.is_empty() {
            return Ok(());
        }
        let verdicts = SignedTx::verify_many(unchecked.iter().map(|&i| &block.txs[i]));
        for (&i, verdict) in unchecked.iter().zip(verdicts) {
            if verdict.is_err() {
                return Err(format!("transaction {i} has a bad signature"));
            }
        }
        // A block often arrives before the gossip copies of its transactions: those
        // copies need no second check.
        self.mempool
            .lock()
            .remember_verified(unchecked.iter().map(|&i| &block.txs[i]));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mempool::MempoolLimits;
    use ledger_types::{CancelAll, ConsensusHeader, Hash, Keypair, Payload, Tx};

    fn tx(k: &Keypair, chain: &str, nonce: u64) -> ledger_types::SignedTx {
        Tx {
            chain_id: chain.into(),
            sender: k.public(),
            nonce,
            payload: Payload::CancelAll(CancelAll { market: None }),
            valid_until_height: None,
        }
        .sign(k)
    }

    fn block(txs: Vec<ledger_types::SignedTx>) -> Block {
        let h = ConsensusHeader::Streamlet {
            epoch: 1,
            proposer: Keypair::for_testing("p").public(),
            time_ms: 0,
        };
        Block::new(Hash::ZERO, 1, h, txs)
    }

    #[test]
    fn rejects_bad_signatures_other_chains_and_oversized_blocks() {
        let pool = Arc::new(Mutex::new(Mempool::new(
            MempoolLimits::default(),
            "c".into(),
            1024,
        )));
        let limits = Limits {
            max_block_txs: 3,
            ..Limits::default()
        };
        let v = NodePayloadValidator::new("c".into(), limits, pool);
        let k = Keypair::for_testing("a");
        assert!(v
            .validate(&block(vec![tx(&k, "c", 0), tx(&k, "c", 1)]))
            .is_ok());
        let mut bad = tx(&k, "c", 2);
        bad.signature.0[1] ^= 1;
        let e = v.validate(&block(vec![tx(&k, "c", 0), bad])).unwrap_err();
        assert!(e.contains("transaction 1"), "{e}");
        assert!(v.validate(&block(vec![tx(&k, "other", 0)])).is_err());
        let four = (0..4).map(|n| tx(&k, "c", n)).collect();
        assert!(v.validate(&block(four)).is_err());
    }
}
