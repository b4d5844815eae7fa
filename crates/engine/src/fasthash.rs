//! A fast keyed hasher for the engine's lookup tables.
//!
//! Keys are public keys, transaction hashes and client order ids: fixed-size and, for
//! hashes, already uniformly distributed, so SipHash's cost buys nothing. Each map gets
//! a seed from the standard library's `RandomState` so that an adversary cannot aim keys
//! at one bucket. The seed only affects memory layout: the engine never iterates these
//! maps, so results never depend on it.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

const K: u64 = 0x517c_c1b7_2722_0a95;

/// Builds [`KeyHasher`]s with a per-map random seed.
#[derive(Clone, Debug)]
pub struct KeyHasherBuilder {
    seed: u64,
}

impl Default for KeyHasherBuilder {
    fn default() -> Self {
        KeyHasherBuilder {
            seed: RandomState::new().hash_one(0x5eed_u64) | 1,
        }
    }
}

impl BuildHasher for KeyHasherBuilder {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher { state: self.seed }
    }
}

/// FxHash-style word mixing, seeded.
#[derive(Debug)]
pub struct KeyHasher {
    state: u64,
}

impl KeyHasher {
    #[inline]
    fn mix(&mut self, word: u64) {
        self.state = (self.state.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.mix(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.mix(v as u64);
    }

    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.mix(v);
    }

    #[inline]
    fn write_u128(&mut self, v: u128) {
        self.mix(v as u64);
        self.mix((v >> 64) as u64);
    }

    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.mix(v as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // Fold the high bits down: hashbrown uses both the top 7 bits and the low bits.
        let s = self.state;
        (s ^ (s >> 29)).wrapping_mul(K) ^ (s >> 32)
    }
}

/// A `HashMap` using [`KeyHasherBuilder`].
pub type FastMap<K, V> = std::collections::HashMap<K, V, KeyHasherBuilder>;
