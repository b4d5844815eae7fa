//! A bounded memory of signatures this node has already verified, so each transaction's
//! signature is checked once per node (tracker issue 12), whichever path sees it first.
//!
//! The mempool alone is not enough: a transaction leaves it when its block is final, and
//! a transaction that arrives inside a block before its gossip copy was never in it. In
//! both cases the other copy (a late gossip batch, a block) would verify the same
//! signature again. Every signature that passes (RPC admission, a gossiped batch, block
//! validation) is remembered here by transaction hash together with the exact signature
//! bytes, and a check is skipped only when both match: `verify_strict` is a function of
//! the key, the message and the signature, and the hash covers the message and the
//! sender's key. The oldest entries are forgotten first, so memory stays bounded.

use ledger_types::{Signature, SignedTx, TxHash};
use std::collections::{HashMap, VecDeque};

/// Signatures remembered by default: about 20 s of transactions at 3,000 per second,
/// far longer than a gossip copy trails its block. About 100 bytes each.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// Verified `(transaction hash, signature)` pairs, oldest forgotten first.
#[derive(Debug)]
pub struct VerifiedSignatures {
    capacity: usize,
    by_hash: HashMap<TxHash, Signature>,
    order: VecDeque<TxHash>,
}

impl VerifiedSignatures {
    /// An empty memory of at most `capacity` signatures (at least one).
    pub fn new(capacity: usize) -> VerifiedSignatures {
        VerifiedSignatures {
            capacity: capacity.max(1),
            by_hash: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// True if `tx`'s signature, exactly, was verified here.
    pub fn contains(&self, tx: &SignedTx) -> bool {
        self.by_hash
            .get(&tx.hash())
            .is_some_and(|s| *s == tx.signature)
    }

    /// Remembers that `tx`'s signature verified.
    pub fn insert(&mut self, tx: &SignedTx) {
        self.insert_parts(tx.hash(), tx.signature);
    }

    /// Remembers that `signature` verified for the transaction `hash`.
    pub fn insert_parts(&mut self, hash: TxHash, signature: Signature) {
        if self.by_hash.insert(hash, signature).is_some() {
            // Known already (perhaps with another signature, now the verified one):
            // keep its place in the order.
            return;
        }
        self.order.push_back(hash);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.by_hash.remove(&old);
            }
        }
    }

    /// Number of signatures remembered.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// True if nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_types::{CancelAll, Keypair, Payload, Tx};

    fn tx(k: &Keypair, nonce: u64) -> SignedTx {
        Tx {
            chain_id: "c".into(),
            sender: k.public(),
            nonce,
            payload: Payload::CancelAll(CancelAll { market: None }),
            valid_until_height: None,
        }
        .sign(k)
    }

    #[test]
    fn a_remembered_signature_matches_only_itself() {
        let k = Keypair::for_testing("a");
        let mut v = VerifiedSignatures::new(8);
        let t = tx(&k, 0);
        assert!(!v.contains(&t));
        v.insert(&t);
        assert!(v.contains(&t));
        // Same transaction, another signature: not known, so it is checked again.
        let mut forged = t.clone();
        forged.signature.0[0] ^= 1;
        assert!(!v.contains(&forged));
        assert!(!v.contains(&tx(&k, 1)));
    }

    #[test]
    fn the_oldest_are_forgotten_first_and_memory_stays_bounded() {
        let k = Keypair::for_testing("a");
        let txs: Vec<SignedTx> = (0..10).map(|n| tx(&k, n)).collect();
        let mut v = VerifiedSignatures::new(4);
        for t in &txs {
            v.insert(t);
            v.insert(t); // a repeat takes no second place
        }
        assert_eq!(v.len(), 4);
        assert!(txs[..6].iter().all(|t| !v.contains(t)));
        assert!(txs[6..].iter().all(|t| v.contains(t)));
    }
}
