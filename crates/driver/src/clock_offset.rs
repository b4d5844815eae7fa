//! How far this node's clock is from the others', measured from the blocks it receives.
//!
//! Every proposal (Streamlet) or mined block (Nakamoto) carries its author's clock in
//! `time_ms`. When a block arrives, `time_ms - now_ms` is the author's offset from this
//! node minus the delivery delay. The median over the last [`WINDOW`] blocks from the
//! network is the estimate: one skewed or lying author moves it by at most one rank,
//! and the delay (milliseconds on a LAN, up to a few hundred on a WAN) biases it
//! slightly towards "this clock is ahead".
//!
//! A block whose time equals its parent's says nothing about its author's clock: the
//! author raised it to its parent's time (a block is never older than its parent), so
//! such blocks are skipped.
//!
//! The estimator is deterministic: time comes in as an argument.

use std::collections::VecDeque;

/// Blocks the estimate is the median of.
pub const WINDOW: usize = 31;
/// Fewest samples before an estimate is given.
pub const MIN_SAMPLES: usize = 5;

/// The estimate: how far this node's clock is ahead of the network's (negative: behind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockOffset {
    /// Median of `now_ms - time_ms` over the samples, in milliseconds.
    pub ahead_ms: i64,
    /// Samples it is the median of.
    pub samples: usize,
}

/// Median of recent `now - block time` samples. See the module docs.
#[derive(Clone, Debug, Default)]
pub struct ClockOffsetEstimator {
    samples: VecDeque<i64>,
}

impl ClockOffsetEstimator {
    /// An estimator with no samples.
    pub fn new() -> Self {
        Self::default()
    }

    /// A block of another node arrived at `now_ms` with `time_ms`, its parent's being
    /// `parent_time_ms` (if known). Returns the new estimate once there are enough
    /// samples, `None` if the block was skipped or the samples are too few.
    pub fn sample(
        &mut self,
        time_ms: u64,
        parent_time_ms: Option<u64>,
        now_ms: u64,
    ) -> Option<ClockOffset> {
        if parent_time_ms.is_some_and(|p| time_ms <= p) {
            return None;
        }
        let ahead = i64::try_from(now_ms)
            .unwrap_or(i64::MAX)
            .saturating_sub(i64::try_from(time_ms).unwrap_or(i64::MAX));
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
        for i in 0..40u64 {
            // Others build at t, the block arrives 3 ms later, this clock reads +1 s.
            let t = 1_000_000 + i * 100;
            last = e.sample(t, Some(t - 100), t + 3 + 1_000).or(last);
        }
        let est = last.expect("an estimate after 40 samples");
        assert_eq!(est.ahead_ms, 1_003);
        assert_eq!(est.samples, WINDOW);
    }

    #[test]
    fn no_estimate_from_too_few_samples_and_clamped_blocks_are_skipped() {
        let mut e = ClockOffsetEstimator::new();
        for i in 0..(MIN_SAMPLES as u64 - 1) {
            assert_eq!(e.sample(5_000 + i, None, 4_000), None);
        }
        // Time equal to the parent's: raised by its author, not a clock reading.
        assert_eq!(e.sample(7_000, Some(7_000), 1_000), None);
        assert_eq!(e.estimate(), None);
        let est = e.sample(5_010, Some(4_000), 4_000).expect("fifth sample");
        assert_eq!(est.ahead_ms, -1_002);
    }

    #[test]
    fn one_lying_author_cannot_move_the_median_far() {
        let mut e = ClockOffsetEstimator::new();
        for i in 0..30u64 {
            let t = 10_000 + i * 10;
            // Every third block claims a time an hour ahead.
            let claimed = if i % 3 == 0 { t + 3_600_000 } else { t };
            e.sample(claimed, None, t + 20);
        }
        let est = e.estimate().unwrap();
        assert_eq!(est.ahead_ms, 20);
    }
}
