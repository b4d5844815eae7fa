//! The shared parts of the decoder fuzz tests (included by `#[path]` from the fuzz test
//! files of several crates): a runner with a case count and a soak mode, and input
//! generators of two kinds, arbitrary bytes and **mutations of valid encodings** (bit
//! flips, byte edits, truncations, removals, insertions, duplications, splices with a
//! second valid encoding, and edits of length fields), which get past the first bytes
//! of a decoder and reach its deep paths.
//!
//! Environment:
//! - `LEDGER_FUZZ_CASES=N`: cases per property per round (default: each property's
//!   own, sized so that all the fuzz tests together take about a minute in
//!   `cargo test --release`).
//! - `LEDGER_FUZZ_SECS=S`: soak mode, repeat rounds with fresh seeds until each
//!   property has run for `S` seconds.
//! - `LEDGER_FUZZ_SEED=N`: the first round's seed (printed on failure) to replay one.
//!
//! Each property prints `fuzz NAME: N cases in T s` to stderr (`--nocapture` shows it).

#![allow(dead_code)]

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use std::fmt::Debug;
use std::time::{Duration, Instant};

/// Runs `test` on values of `strategy`: `default_cases` cases (or `LEDGER_FUZZ_CASES`),
/// repeated with fresh seeds for `LEDGER_FUZZ_SECS` seconds in soak mode. Panics with
/// the minimal failing input and the seed.
pub fn run<S>(
    name: &str,
    default_cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S: Strategy,
    S::Value: Debug,
{
    let cases = std::env::var("LEDGER_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases)
        .max(1);
    let soak = std::env::var("LEDGER_FUZZ_SECS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .map(Duration::from_secs_f64);
    let mut seed = std::env::var("LEDGER_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    let started = Instant::now();
    let mut total = 0u64;
    loop {
        let config = Config {
            cases,
            failure_persistence: None,
            rng_seed: RngSeed::Fixed(seed),
            max_shrink_iters: 2048,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        if let Err(e) = runner.run(&strategy, &test) {
            panic!("fuzz {name} failed (LEDGER_FUZZ_SEED={seed} LEDGER_FUZZ_CASES={cases} replays it): {e}");
        }
        total += u64::from(cases);
        match soak {
            Some(d) if started.elapsed() < d => {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407)
            }
            _ => break,
        }
    }
    eprintln!(
        "fuzz {name}: {total} cases in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Arbitrary bytes, 0 to `max` long.
pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> + Clone {
    proptest::collection::vec(any::<u8>(), 0..=max)
}

/// Values worth writing into a length or count field.
pub const INTERESTING_U64: [u64; 18] = [
    0,
    1,
    2,
    7,
    8,
    9,
    32,
    33,
    255,
    256,
    0xffff,
    1 << 24,
    (1 << 24) + 1,
    u32::MAX as u64,
    1 << 32,
    1 << 40,
    1 << 62,
    u64::MAX,
];

/// One edit of an encoding. Positions are [`Index`]es, scaled to the input's length.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// Flip one bit.
    FlipBit(Index, u8),
    /// Overwrite one byte.
    SetByte(Index, u8),
    /// Cut the input at a position.
    Truncate(Index),
    /// Remove up to 16 bytes.
    Remove(Index, u8),
    /// Insert bytes.
    Insert(Index, Vec<u8>),
    /// Repeat a range of up to 64 bytes in place.
    Duplicate(Index, u8),
    /// Replace a range with a range of the second valid encoding.
    Splice(Index, u8, Index, u8),
    /// Write an interesting u64 (little endian, as bincode's lengths and counts).
    SetU64(Index, u64),
    /// Add a small delta to a plausible length or count: a little-endian u64 whose
    /// value is at most 4,096 (chosen among all such positions).
    AdjustLength(Index, i8),
    /// Write a u32, little or big endian (variant tags, frame lengths).
    SetU32(Index, u32, bool),
}

/// A strategy for one [`Mutation`].
pub fn mutation() -> impl Strategy<Value = Mutation> + Clone {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        2 => (any::<Index>(), prop_oneof![Just(0u8), Just(1), Just(2), Just(0x7f), Just(0x80), Just(0xff), any::<u8>()])
            .prop_map(|(i, v)| Mutation::SetByte(i, v)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), 1u8..16).prop_map(|(i, n)| Mutation::Remove(i, n)),
        1 => (any::<Index>(), bytes(12)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => (any::<Index>(), 1u8..64).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        2 => (any::<Index>(), 0u8..64, any::<Index>(), 0u8..64)
            .prop_map(|(a, n, b, m)| Mutation::Splice(a, n, b, m)),
        2 => (any::<Index>(), prop::sample::select(INTERESTING_U64.to_vec()))
            .prop_map(|(i, v)| Mutation::SetU64(i, v)),
        3 => (any::<Index>(), prop_oneof![Just(-1i8), Just(1), Just(-2), Just(2), Just(8), any::<i8>()])
            .prop_map(|(i, d)| Mutation::AdjustLength(i, d)),
        1 => (any::<Index>(), prop_oneof![Just(0u32), Just(1), Just(3), Just(0x100), Just(0x101), Just(u32::MAX), any::<u32>()], any::<bool>())
            .prop_map(|(i, v, be)| Mutation::SetU32(i, v, be)),
    ]
}

fn write_at(out: &mut [u8], at: usize, bytes: &[u8]) {
    let n = bytes.len().min(out.len().saturating_sub(at));
    out[at..at + n].copy_from_slice(&bytes[..n]);
}

/// Applies `m` to `input`; `donor` is the second valid encoding for splices.
pub fn apply(input: &mut Vec<u8>, donor: &[u8], m: &Mutation) {
    let len = input.len();
    let pos = |i: &Index| if len == 0 { 0 } else { i.index(len) };
    match m {
        Mutation::FlipBit(i, b) if len > 0 => input[pos(i)] ^= 1 << b,
        Mutation::SetByte(i, v) if len > 0 => input[pos(i)] = *v,
        Mutation::Truncate(i) => input.truncate(pos(i)),
        Mutation::Remove(i, n) if len > 0 => {
            let at = pos(i);
            let end = (at + *n as usize).min(len);
            input.drain(at..end);
        }
        Mutation::Insert(i, b) => {
            let at = if len == 0 { 0 } else { i.index(len + 1) };
            input.splice(at..at, b.iter().copied());
        }
        Mutation::Duplicate(i, n) if len > 0 => {
            let at = pos(i);
            let end = (at + *n as usize).min(len);
            let piece = input[at..end].to_vec();
            input.splice(at..at, piece);
        }
        Mutation::Splice(a, n, b, m) if len > 0 && !donor.is_empty() => {
            let at = pos(a);
            let end = (at + *n as usize).min(len);
            let from = b.index(donor.len());
            let to = (from + *m as usize).min(donor.len());
            input.splice(at..end, donor[from..to].iter().copied());
        }
        Mutation::SetU64(i, v) if len > 0 => write_at(input, pos(i), &v.to_le_bytes()),
        Mutation::AdjustLength(i, d) => {
            let candidates: Vec<usize> = (0..len.saturating_sub(7))
                .filter(|&p| {
                    let v = u64::from_le_bytes(input[p..p + 8].try_into().unwrap_or([0xff; 8]));
                    (1..=4096).contains(&v)
                })
                .collect();
            if !candidates.is_empty() {
                let p = candidates[i.index(candidates.len())];
                let v = u64::from_le_bytes(input[p..p + 8].try_into().unwrap_or([0; 8]));
                let v = v.wrapping_add_signed(i64::from(*d));
                input[p..p + 8].copy_from_slice(&v.to_le_bytes());
            }
        }
        Mutation::SetU32(i, v, be) if len > 0 => {
            let b = if *be {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            write_at(input, pos(i), &b);
        }
        _ => {}
    }
}

/// One fuzz input: a valid encoding, a second one (the splice donor), and the input
/// (one of them edited by 1 to 4 mutations, or arbitrary bytes with both empty).
#[derive(Clone, Debug)]
pub struct Case {
    /// The valid encoding that was mutated (empty for arbitrary bytes).
    pub original: Vec<u8>,
    /// The second valid encoding, whose bytes splices insert (empty for arbitrary bytes).
    pub donor: Vec<u8>,
    /// What the decoder gets.
    pub input: Vec<u8>,
}

impl Case {
    /// True if the input is one of the valid encodings it was made from.
    pub fn is_unmodified(&self) -> bool {
        (!self.original.is_empty() && self.input == self.original)
            || (!self.donor.is_empty() && self.input == self.donor)
    }
}

/// A valid encoding from `valid`, edited by 1 to 4 mutations (splices take their bytes
/// from a second value of `valid`).
pub fn mutated<S>(valid: S) -> impl Strategy<Value = Case>
where
    S: Strategy<Value = Vec<u8>> + Clone,
{
    (
        valid.clone(),
        valid,
        proptest::collection::vec(mutation(), 1..=4),
    )
        .prop_map(|(original, donor, ops)| {
            let mut input = original.clone();
            for m in &ops {
                apply(&mut input, &donor, m);
            }
            Case {
                original,
                donor,
                input,
            }
        })
}

/// The two kinds of input: mutations of a valid encoding (4 in 5) and arbitrary bytes
/// up to `max_arbitrary` long.
pub fn inputs<S>(valid: S, max_arbitrary: usize) -> impl Strategy<Value = Case>
where
    S: Strategy<Value = Vec<u8>> + Clone + 'static,
{
    prop_oneof![
        4 => mutated(valid),
        1 => bytes(max_arbitrary).prop_map(|input| Case {
            original: Vec::new(),
            donor: Vec::new(),
            input,
        }),
    ]
}
