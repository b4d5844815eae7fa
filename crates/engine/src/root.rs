//! The incremental state root.
//!
//! Every account (nonce and all balances) and every resting order is a leaf; its hash is
//! SHA-256 over a domain tag and the leaf's canonical fields. The accumulator is the sum
//! of all leaf hashes modulo 2^256 (AdHash, Bellare and Micciancio 1997): a changed leaf
//! costs one subtraction of its old hash and one addition of its new one, so committing a
//! block rehashes only the leaves it touched, and the result does not depend on the order
//! in which leaves were added. The root is SHA-256 over the accumulator, the leaf count
//! and the engine's counters. It detects any divergence between nodes; it is not meant
//! for membership proofs.

use ledger_types::Hash;
use sha2::{Digest, Sha256};

/// A multiset hash: the sum of 256-bit leaf hashes modulo 2^256.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accumulator {
    limbs: [u64; 4],
    count: u64,
}

fn limbs(h: &[u8; 32]) -> [u64; 4] {
    let mut l = [0u64; 4];
    for (i, chunk) in h.chunks_exact(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        l[i] = u64::from_le_bytes(b);
    }
    l
}

impl Accumulator {
    /// Adds a leaf hash.
    pub fn add(&mut self, h: &[u8; 32]) {
        let x = limbs(h);
        let mut carry = false;
        for (a, b) in self.limbs.iter_mut().zip(x) {
            let (s1, c1) = a.overflowing_add(b);
            let (s2, c2) = s1.overflowing_add(carry as u64);
            *a = s2;
            carry = c1 || c2;
        }
        self.count = self.count.wrapping_add(1);
    }

    /// Removes a leaf hash previously added.
    pub fn remove(&mut self, h: &[u8; 32]) {
        let x = limbs(h);
        let mut borrow = false;
        for (a, b) in self.limbs.iter_mut().zip(x) {
            let (d1, b1) = a.overflowing_sub(b);
            let (d2, b2) = d1.overflowing_sub(borrow as u64);
            *a = d2;
            borrow = b1 || b2;
        }
        self.count = self.count.wrapping_sub(1);
    }

    /// Number of leaves.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The root over the accumulator and extra context (counters).
    pub fn root(&self, extra: &[u64]) -> Hash {
        let mut h = Sha256::new();
        h.update(b"ledger-node/state-root/v1");
        for l in self.limbs {
            h.update(l.to_le_bytes());
        }
        h.update(self.count.to_le_bytes());
        for e in extra {
            h.update(e.to_le_bytes());
        }
        Hash(h.finalize().into())
    }
}

/// Incrementally hashes a leaf's fields.
pub struct LeafHasher(Sha256);

impl LeafHasher {
    /// Starts a leaf of the given kind.
    pub fn new(kind: &[u8]) -> LeafHasher {
        let mut h = Sha256::new();
        h.update((kind.len() as u8).to_le_bytes());
        h.update(kind);
        LeafHasher(h)
    }

    /// Adds bytes.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.update(b);
        self
    }

    /// Adds a `u64`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.update(v.to_le_bytes());
        self
    }

    /// Adds a `u128`.
    pub fn u128(&mut self, v: u128) -> &mut Self {
        self.0.update(v.to_le_bytes());
        self
    }

    /// The leaf hash.
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_independent_and_removable() {
        let a = Hash::digest(b"a").0;
        let b = Hash::digest(b"b").0;
        let mut x = Accumulator::default();
        x.add(&a);
        x.add(&b);
        let mut y = Accumulator::default();
        y.add(&b);
        y.add(&a);
        assert_eq!(x, y);
        x.remove(&a);
        let mut z = Accumulator::default();
        z.add(&b);
        assert_eq!(x, z);
        x.remove(&b);
        assert_eq!(x, Accumulator::default());
    }

    #[test]
    fn carries_propagate() {
        let max = [0xffu8; 32];
        let mut one = [0u8; 32];
        one[0] = 1;
        let mut x = Accumulator::default();
        x.add(&max);
        x.add(&one);
        assert_eq!(x.limbs, [0; 4]);
        x.remove(&one);
        assert_eq!(x.limbs, [u64::MAX; 4]);
    }
}
