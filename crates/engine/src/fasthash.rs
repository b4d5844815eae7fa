//! The keyed hasher of the engine's lookup tables.
//!
//! Keys are public keys, transaction hashes and, chosen freely by wallets, client order
//! ids. Every map uses [`foldhash`]'s fast hasher with a per-map random seed, so an
//! adversary who picks keys without knowing the seed cannot aim them at one bucket
//! chain (the FxHash-style mixer used before let 128-bit ids that differ only in their
//! high bits collide on every seed). The seed only affects memory layout: the engine
//! never iterates these maps, so results never depend on it.

/// Builds seeded hashers, one random seed per map.
pub type KeyHasherBuilder = foldhash::fast::RandomState;

/// A `HashMap` using [`KeyHasherBuilder`].
pub type FastMap<K, V> = std::collections::HashMap<K, V, KeyHasherBuilder>;

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_types::ClientOrderId;
    use std::collections::BTreeSet;
    use std::hash::BuildHasher;

    /// hashbrown picks a bucket from the low bits of the hash and a control byte from
    /// the top 7 bits. Keys differing only in high bits must spread over both.
    fn spread(keys: &[(u32, ClientOrderId)], b: &KeyHasherBuilder) -> (usize, usize) {
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
            let b = KeyHasherBuilder::default();
            for (p, f) in patterns.iter().enumerate() {
                let keys: Vec<(u32, ClientOrderId)> =
                    (0..4096u128).map(|i| (7, ClientOrderId(f(i)))).collect();
                let (low, top) = spread(&keys, &b);
                assert!(low > 900, "seed {seed} pattern {p}: {low} of 1024 buckets used");
                assert!(top > 120, "seed {seed} pattern {p}: {top} of 128 tags used");
            }
        }
    }

    #[test]
    fn maps_with_high_bit_keys_stay_usable() {
        let mut m: FastMap<(u32, ClientOrderId), u32> = FastMap::default();
        for i in 0..20_000u32 {
            m.insert((1, ClientOrderId((i as u128) << 96)), i);
        }
        for i in 0..20_000u32 {
            assert_eq!(m.get(&(1, ClientOrderId((i as u128) << 96))), Some(&i));
        }
    }
}
