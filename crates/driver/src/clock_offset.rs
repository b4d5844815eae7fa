//! How far this node's clock is from its peers', measured the way NTP does it.
//!
//! Every block-sync response carries the responder's clock (`time_ms`). With the request
//! sent at `t0` and the answer received at `t1` (this node's clock), the responder's
//! clock read `time_ms` at about `(t0 + t1) / 2`, so this node is ahead by
//! `(t0 + t1) / 2 - time_ms`, to within half the round trip. A node asks a different
//! peer every second, so the median over the last [`WINDOW`] answers is this node's
//! offset from most of its peers: a minority of skewed (or lying) peers moves it by at
//! most a rank each.
//!
//! Block times cannot serve: a block's time is never before its parent's, so after one
//! block from a clock that runs fast, every block built on it carries the raised time,
//! and the fast clock is all one would see.
//!
//! The estimator is deterministic: times come in as arguments.

use std::collections::VecDeque;

/// Answers the estimate is the median of.
pub const WINDOW: usize = 15;
/// Fewest samples before an estimate is given.
pub const MIN_SAMPLES: usize = 3;
/// Answers slower than this (round trip, ms) are not used: the bound on their error
/// (half the round trip) is too loose.
pub const MAX_ROUND_TRIP_MS: u64 = 2_000;

/// The estimate: how far this node's clock is ahead of its peers' (negative: behind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockOffset {
    /// Median offset over the samples, in milliseconds.
    pub ahead_ms: i64,
    /// Samples it is the median of.
    pub samples: usize,
}

/// Median of recent NTP-style samples. See the module docs.
#[derive(Clone, Debug, Default)]
pub struct ClockOffsetEstimator {
    samples: VecDeque<i64>,
}

impl ClockOffsetEstimator {
    /// An estimator with no samples.
    pub fn new() -> Self {
        Self::default()
    }

    /// A request sent at `sent_ms` was answered with the peer's clock `peer_ms` and
    /// received at `received_ms` (this node's clock). Returns the new estimate once there
    /// are enough samples; `None` if the sample was not usable (unknown peer time, a
    /// round trip that is negative or too long) or the samples are too few.
    pub fn sample(&mut self, sent_ms: u64, peer_ms: u64, received_ms: u64) -> Option<ClockOffset> {
        if peer_ms == 0 || sent_ms == 0 || received_ms < sent_ms {
            return None;
        }
        if received_ms - sent_ms > MAX_ROUND_TRIP_MS {
            return None;
        }
        let middle = sent_ms + (received_ms - sent_ms) / 2;
        let ahead = if middle >= peer_ms {
            i64::try_from(middle - peer_ms).unwrap_or(i64::MAX)
        } else {
            i64::try_from(peer_ms - middle).map_or(i64::MIN, |d| -d)
        };
        if self.samples.len() == WINDOW {
            self.samples.pop_front();
        }
        self.samples.push_back(ahead);
        self.estimate()
    }

    /// The current estimate (`None` below [`MIN_SAMPLES`] samples).
    pub fn estimate(&self) -> Option<ClockOffset> {
        if self.samples.len() < MIN_SAMPLES {
            return None;
        }
        let mut sorted: Vec<i64> = self.samples.iter().copied().collect();
        sorted.sort_unstable();
        Some(ClockOffset {
            ahead_ms: sorted[sorted.len() / 2],
            samples: sorted.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_one_second_ahead_reads_as_one_second_ahead() {
        let mut e = ClockOffsetEstimator::new();
        let mut last = None;
        for i in 0..20u64 {
            // This clock reads true + 1 s; the peer answers 4 ms into an 8 ms round trip.
            let t0 = 1_000_000 + i * 1_000 + 1_000;
            last = e.sample(t0, t0 - 1_000 + 4, t0 + 8).or(last);
        }
        let est = last.expect("an estimate after 20 samples");
        assert_eq!(est.ahead_ms, 1_000);
        assert_eq!(est.samples, WINDOW);
    }

    #[test]
    fn unusable_answers_are_skipped() {
        let mut e = ClockOffsetEstimator::new();
        assert_eq!(e.sample(1_000, 0, 1_010), None, "peer time unknown");
        assert_eq!(e.sample(1_000, 5_000, 990), None, "received before sent");
        assert_eq!(
            e.sample(1_000, 5_000, 1_000 + MAX_ROUND_TRIP_MS + 1),
            None,
            "too slow"
        );
        assert_eq!(e.estimate(), None);
        e.sample(1_000, 3_005, 1_010);
        e.sample(2_000, 4_005, 2_010);
        let est = e.sample(3_000, 5_005, 3_010).expect("third sample");
        assert_eq!(est.ahead_ms, -2_000);
    }

    #[test]
    fn a_minority_of_skewed_peers_cannot_move_the_median_far() {
        let mut e = ClockOffsetEstimator::new();
        for i in 0..30u64 {
            let t0 = 10_000 + i * 1_000;
            // Every third peer asked runs an hour fast.
            let peer = if i % 3 == 0 { t0 + 3_600_000 } else { t0 - 20 };
            e.sample(t0, peer, t0);
        }
        assert_eq!(e.estimate().unwrap().ahead_ms, 20);
    }
}
