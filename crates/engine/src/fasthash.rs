//! The keyed hashers of the engine's lookup tables.
//!
//! * [`FastMap`] (public keys, transaction hashes): keys nobody can choose bit by bit
//!   (a key pair's public key, a SHA-256 output) and already uniformly distributed, so
//!   an FxHash-style word mixer with a per-map seed is enough and SipHash's cost buys
//!   nothing.
//! * [`ClientIdMap`] (client order ids): 128-bit values a wallet chooses freely. The
//!   word mixer lets ids that differ only in their high bits collide on every seed, so
//!   these maps use [`foldhash`]'s seeded hasher, which resists keys chosen without
//!   knowledge of the seed.
//!
//! Seeds come from the standard library's `RandomState` (one per map). They only affect
//! memory layout: the engine never iterates these maps, so results never depend on them.

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

/// Builds [`foldhash`] hashers, one random seed per map: for keys users choose.
pub type ClientIdHasherBuilder = foldhash::fast::RandomState;

/// A `HashMap` keyed by values users choose freely (client order ids).
pub type ClientIdMap<K, V> = std::collections::HashMap<K, V, ClientIdHasherBuilder>;

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_types::ClientOrderId;
    use std::collections::BTreeSet;
    use std::hash::BuildHasher;

    /// hashbrown picks a bucket from the low bits of the hash and a control byte from
    /// the top 7 bits. Keys differing only in high bits must spread over both.
    fn spread(keys: &[(u32, ClientOrderId)], b: &ClientIdHasherBuilder) -> (usize, usize) {
        let low: BTreeSet<u64> = keys.iter().map(|k| b.hash_one(k) & 1023).collect();
        let top: BTreeSet<u64> = keys.iter().map(|k| b.hash_one(k) >> 57).collect();
        (low.len(), top.len())
    }

    #[test]
    fn client_ids_differing_only_in_high_bits_spread_over_buckets() {
        // 4,096 ids per pattern: varying only bits 64..76, only 100..112, only the top
        // 12 bits; each pattern must fill most of 1,024 buckets and 128 control bytes
        // (a uniform hash fills ~98% and ~100%), on several seeds.
        let patterns: [fn(u128) -> u128; 3] = [|i| i << 64, |i| i << 100, |i| i << 116];
        for seed in 0..4 {
            let b = ClientIdHasherBuilder::default();
            for (p, f) in patterns.iter().enumerate() {
                let keys: Vec<(u32, ClientOrderId)> =
                    (0..4096u128).map(|i| (7, ClientOrderId(f(i)))).collect();
                let (low, top) = spread(&keys, &b);
                assert!(
                    low > 900,
                    "seed {seed} pattern {p}: {low} of 1024 buckets used"
                );
                assert!(top > 120, "seed {seed} pattern {p}: {top} of 128 tags used");
            }
        }
    }

    #[test]
    fn maps_with_high_bit_keys_stay_usable() {
        let mut m: ClientIdMap<(u32, ClientOrderId), u32> = ClientIdMap::default();
        for i in 0..20_000u32 {
            m.insert((1, ClientOrderId((i as u128) << 96)), i);
        }
        for i in 0..20_000u32 {
            assert_eq!(m.get(&(1, ClientOrderId((i as u128) << 96))), Some(&i));
        }
    }

    #[test]
    fn the_word_mixer_would_pile_high_bit_ids_into_few_buckets() {
        // Why client ids do not use `FastMap`: with the word mixer, ids that differ only
        // in their top bits land in a handful of buckets (measured here, every seed).
        for _ in 0..4 {
            let b = KeyHasherBuilder::default();
            let keys: Vec<(u32, ClientOrderId)> = (0..4096u128)
                .map(|i| (7, ClientOrderId(i << 116)))
                .collect();
            let low: BTreeSet<u64> = keys.iter().map(|k| b.hash_one(k) & 1023).collect();
            assert!(low.len() < 64, "{} buckets", low.len());
        }
    }
}
