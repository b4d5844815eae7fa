//! A rate-limited log of final blocks.
//!
//! A Streamlet chain finalizes several blocks a second; one INFO line for each buries
//! everything else a node (or a testnet of several) prints. [`FinalLog`] writes one INFO
//! line at most once per interval (one second by default), naming the latest final
//! block and how many blocks and transactions became final since the previous line;
//! every block is still logged at DEBUG (`RUST_LOG=ledger_service=debug`).
//!
//! ```text
//! INFO final height=1234 hash=ab12.. txs=812 root=9f3e.. blocks=5 txs_since=3210
//! ```

use ledger_types::Hash;
use std::time::{Duration, Instant};

/// How often [`FinalLog`] writes an INFO line by default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// Logs final blocks: every one at DEBUG, one INFO line per interval at most.
#[derive(Debug)]
pub struct FinalLog {
    interval: Duration,
    last_info: Option<Instant>,
    blocks_since: u64,
    txs_since: u64,
}

impl Default for FinalLog {
    fn default() -> Self {
        FinalLog::new(DEFAULT_INTERVAL)
    }
}

/// What [`FinalLog::note`] decided for one block (what `record` then logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Logged at INFO, summing up this many blocks and transactions since the previous
    /// INFO line (this block included).
    Info {
        /// Final blocks since the previous INFO line, this one included.
        blocks: u64,
        /// Their transactions.
        txs: u64,
    },
    /// Logged at DEBUG only.
    Debug,
}

impl FinalLog {
    /// A log writing at most one INFO line per `interval`.
    pub fn new(interval: Duration) -> FinalLog {
        FinalLog {
            interval,
            last_info: None,
            blocks_since: 0,
            txs_since: 0,
        }
    }

    /// Records the final block `height` with `txs` transactions and the state `root`
    /// after it, and logs it.
    pub fn record(&mut self, height: u64, hash: Hash, txs: usize, root: Hash) {
        match self.note(Instant::now(), txs) {
            Verdict::Info {
                blocks,
                txs: txs_since,
            } => tracing::info!(
                height,
                %hash,
                txs,
                root = %root,
                blocks,
                txs_since,
                "final"
            ),
            Verdict::Debug => tracing::debug!(height, %hash, txs, root = %root, "final"),
        }
    }

    /// The decision for one block at time `now` (the clock is a parameter so the rule
    /// can be tested): INFO for the first block and whenever `interval` has passed
    /// since the last INFO line, DEBUG otherwise.
    pub fn note(&mut self, now: Instant, txs: usize) -> Verdict {
        self.blocks_since += 1;
        self.txs_since += txs as u64;
        let due = self
            .last_info
            .is_none_or(|t| now.saturating_duration_since(t) >= self.interval);
        if !due {
            return Verdict::Debug;
        }
        self.last_info = Some(now);
        let v = Verdict::Info {
            blocks: self.blocks_since,
            txs: self.txs_since,
        };
        self.blocks_since = 0;
        self.txs_since = 0;
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_one_info_line_per_interval_counting_the_blocks_between() {
        let mut log = FinalLog::new(Duration::from_secs(1));
        let t0 = Instant::now();
        // Ten blocks a second for three seconds.
        let mut infos = Vec::new();
        for i in 0..30u64 {
            let now = t0 + Duration::from_millis(100 * i);
            if let Verdict::Info { blocks, txs } = log.note(now, 2) {
                infos.push((i, blocks, txs));
            }
        }
        assert_eq!(
            infos,
            vec![(0, 1, 2), (10, 10, 20), (20, 10, 20)],
            "the first block, then one line per second summing the blocks since"
        );
    }

    #[test]
    fn a_slow_chain_logs_every_block() {
        let mut log = FinalLog::new(Duration::from_secs(1));
        let t0 = Instant::now();
        for i in 0..5u64 {
            let v = log.note(t0 + Duration::from_millis(1500 * i), 0);
            assert_eq!(v, Verdict::Info { blocks: 1, txs: 0 });
        }
    }
}
