//! One side of an order book: its price levels by price.
//!
//! Levels whose price lies in a window of [`WINDOW`] ticks starting at `base` sit in an
//! array indexed by tick offset, with a bitmap of the occupied offsets and the best
//! occupied offset kept up to date: finding, adding and removing such a level, and the
//! best price, cost O(1) (when the best level empties, the next one is found by scanning
//! the bitmap, at most `WINDOW / 64` words). Levels outside the window sit in a
//! `BTreeMap`, as all levels did before, so prices far apart cost what they always did
//! and never force the array to move or grow. The window moves only when it holds no
//! level: the next level added centres it on its price, and the map's levels inside the
//! new window move into the array (each level moves at most once, so the cost is
//! amortised over the levels added).
//!
//! Where the window sits depends only on the operations applied, and nothing observable
//! depends on it: iteration is in price order either way.

use super::{Level, NIL};
use std::collections::BTreeMap;

/// Ticks covered by the array.
const WINDOW: u64 = 1024;
const WORDS: usize = (WINDOW / 64) as usize;
const NONE: u32 = u32::MAX;

const EMPTY: Level = Level {
    head: NIL,
    tail: NIL,
    lots: 0,
    count: 0,
};

/// The levels of one side of one book (see the module docs).
#[derive(Clone, Debug)]
pub(super) struct Ladder {
    /// True for bids (the best price is the highest), false for asks.
    bids: bool,
    base: u64,
    near: Vec<Level>,
    occupied: [u64; WORDS],
    near_len: u32,
    /// The best occupied offset in `near`, `NONE` if `near` is empty.
    best: u32,
    far: BTreeMap<u64, Level>,
}

impl Ladder {
    /// An empty side: `bids` for the buy side.
    pub(super) fn new(bids: bool) -> Ladder {
        Ladder {
            bids,
            base: 0,
            near: vec![EMPTY; WINDOW as usize],
            occupied: [0; WORDS],
            near_len: 0,
            best: NONE,
            far: BTreeMap::new(),
        }
    }

    /// The offset of `price` in the window, if it lies in it.
    #[inline]
    fn offset(&self, price: u64) -> Option<u32> {
        let off = price.wrapping_sub(self.base);
        (price >= self.base && off < WINDOW).then_some(off as u32)
    }

    #[inline]
    fn is_set(&self, off: u32) -> bool {
        self.occupied[(off / 64) as usize] & (1 << (off % 64)) != 0
    }

    /// True if `a` is a better offset than `b` on this side.
    #[inline]
    fn better(&self, a: u32, b: u32) -> bool {
        if self.bids {
            a > b
        } else {
            a < b
        }
    }

    /// The level at `price`, if any.
    #[cfg(test)]
    fn get(&self, price: u64) -> Option<&Level> {
        match self.offset(price) {
            Some(off) => self.is_set(off).then(|| &self.near[off as usize]),
            None => self.far.get(&price),
        }
    }

    /// The level at `price`, if any, to change.
    #[inline]
    pub(super) fn get_mut(&mut self, price: u64) -> Option<&mut Level> {
        match self.offset(price) {
            Some(off) => {
                if self.is_set(off) {
                    Some(&mut self.near[off as usize])
                } else {
                    None
                }
            }
            None => self.far.get_mut(&price),
        }
    }

    /// The level at `price`, created empty if absent.
    #[inline]
    pub(super) fn get_or_insert(&mut self, price: u64) -> &mut Level {
        if self.near_len == 0 && self.offset(price).is_none() {
            self.recentre(price);
        }
        match self.offset(price) {
            Some(off) => {
                if !self.is_set(off) {
                    self.occupy(off, EMPTY);
                }
                &mut self.near[off as usize]
            }
            None => self.far.entry(price).or_insert(EMPTY),
        }
    }

    /// Sets the level at `price` (replacing one there).
    pub(super) fn insert(&mut self, price: u64, level: Level) {
        *self.get_or_insert(price) = level;
    }

    /// Removes the level at `price`, if any.
    #[inline]
    pub(super) fn remove(&mut self, price: u64) {
        let Some(off) = self.offset(price) else {
            self.far.remove(&price);
            return;
        };
        if !self.is_set(off) {
            return;
        }
        self.occupied[(off / 64) as usize] &= !(1 << (off % 64));
        self.near[off as usize] = EMPTY;
        self.near_len -= 1;
        if self.best == off {
            self.best = if self.near_len == 0 {
                NONE
            } else {
                self.next_worse(off)
            };
        }
    }

    /// Marks `off` occupied with `level`.
    fn occupy(&mut self, off: u32, level: Level) {
        self.occupied[(off / 64) as usize] |= 1 << (off % 64);
        self.near[off as usize] = level;
        self.near_len += 1;
        if self.best == NONE || self.better(off, self.best) {
            self.best = off;
        }
    }

    /// The best occupied offset worse than `off` (one exists).
    fn next_worse(&self, off: u32) -> u32 {
        let mut w = (off / 64) as usize;
        let bit = off % 64;
        if self.bids {
            // Lower offsets: bits below `bit` in this word, then lower words.
            let mut word = self.occupied[w] & ((1u64 << bit) - 1);
            loop {
                if word != 0 {
                    return w as u32 * 64 + 63 - word.leading_zeros();
                }
                w -= 1;
                word = self.occupied[w];
            }
        } else {
            // Higher offsets: bits above `bit` in this word, then higher words.
            let mut word = self.occupied[w] & !((2u64 << bit).wrapping_sub(1));
            loop {
                if word != 0 {
                    return w as u32 * 64 + word.trailing_zeros();
                }
                w += 1;
                word = self.occupied[w];
            }
        }
    }

    /// Moves the (empty) window so that it is centred on `price`, and moves the map's
    /// levels inside it into the array.
    fn recentre(&mut self, price: u64) {
        debug_assert_eq!(self.near_len, 0);
        self.base = price.saturating_sub(WINDOW / 2).min(u64::MAX - WINDOW);
        let end = self.base + WINDOW;
        let inside: Vec<u64> = self.far.range(self.base..end).map(|(p, _)| *p).collect();
        for p in inside {
            let level = self.far.remove(&p).expect("a key just listed");
            self.occupy((p - self.base) as u32, level);
        }
    }

    /// The best price and its level.
    #[inline]
    pub(super) fn best(&self) -> Option<(u64, Level)> {
        let near = (self.best != NONE)
            .then(|| (self.base + self.best as u64, self.near[self.best as usize]));
        if self.far.is_empty() {
            return near;
        }
        let far = if self.bids {
            self.far.last_key_value()
        } else {
            self.far.first_key_value()
        }
        .map(|(p, l)| (*p, *l));
        match (near, far) {
            (Some(n), Some(f)) => Some(if (f.0 > n.0) == self.bids { f } else { n }),
            (n, f) => n.or(f),
        }
    }

    /// Every level in ascending price order.
    pub(super) fn ascending(&self) -> impl DoubleEndedIterator<Item = (u64, &Level)> + '_ {
        let end = self.base + WINDOW;
        let below = self.far.range(..self.base);
        let above = self.far.range(end..);
        let near = (0..WINDOW as u32)
            .filter(|off| self.is_set(*off))
            .map(|off| (self.base + off as u64, &self.near[off as usize]));
        below
            .map(|(p, l)| (*p, l))
            .chain(near)
            .chain(above.map(|(p, l)| (*p, l)))
    }

    /// Every level, best price first.
    pub(super) fn best_first(&self) -> Box<dyn Iterator<Item = (u64, &Level)> + '_> {
        if self.bids {
            Box::new(self.ascending().rev())
        } else {
            Box::new(self.ascending())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(n: u32) -> Level {
        Level {
            head: n,
            tail: n,
            lots: n as u64,
            count: 1,
        }
    }

    /// The ladder behaves exactly like a `BTreeMap` of levels, whatever the prices: near
    /// one another, far apart, at the extremes, with the window moving.
    #[test]
    fn ladder_matches_a_map() {
        use rand::{Rng, SeedableRng};
        for bids in [true, false] {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(bids as u64);
            let mut ladder = Ladder::new(bids);
            let mut map: BTreeMap<u64, Level> = BTreeMap::new();
            for step in 0..200_000u32 {
                let price = match rng.gen_range(0..10) {
                    0 => rng.gen_range(0..u64::MAX),
                    1 => u64::MAX - rng.gen_range(0..3000),
                    2 => rng.gen_range(0..3000),
                    _ => 1_000_000 + rng.gen_range(0..1500) - 700 + (step as u64 / 5000) * 300,
                };
                match rng.gen_range(0..5) {
                    0 | 1 => {
                        ladder.get_or_insert(price).lots += 1;
                        map.entry(price).or_insert(EMPTY).lots += 1;
                    }
                    2 => {
                        ladder.insert(price, level(step));
                        map.insert(price, level(step));
                    }
                    _ => {
                        // Remove the best or a random existing level.
                        let victim = if rng.gen_bool(0.5) {
                            ladder.best().map(|(p, _)| p)
                        } else {
                            map.keys().nth(rng.gen_range(0..map.len().max(1))).copied()
                        };
                        if let Some(p) = victim {
                            ladder.remove(p);
                            map.remove(&p);
                        }
                    }
                }
                let want = if bids {
                    map.last_key_value()
                } else {
                    map.first_key_value()
                }
                .map(|(p, l)| (*p, *l));
                let got = ladder.best();
                assert_eq!(
                    got.map(|(p, l)| (p, l.lots)),
                    want.map(|(p, l)| (p, l.lots))
                );
                assert_eq!(
                    ladder.get(price).map(|l| l.lots),
                    map.get(&price).map(|l| l.lots)
                );
                if step % 997 == 0 {
                    let a: Vec<(u64, u64)> = ladder.ascending().map(|(p, l)| (p, l.lots)).collect();
                    let b: Vec<(u64, u64)> = map.iter().map(|(p, l)| (*p, l.lots)).collect();
                    assert_eq!(a, b);
                    let best_first: Vec<u64> = ladder.best_first().map(|(p, _)| p).collect();
                    let mut keys: Vec<u64> = map.keys().copied().collect();
                    if bids {
                        keys.reverse();
                    }
                    assert_eq!(best_first, keys);
                }
            }
        }
    }
}
