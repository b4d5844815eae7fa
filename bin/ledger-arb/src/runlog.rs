//! The run log: one JSON object per line in `STATE_DIR/runlog.jsonl`, appended across
//! runs (a restarted bot continues it). `ledger-arb report` draws the dashboard from it.

use crate::detect::Leg;
use crate::stats::{ClosedGap, Summary};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// One price level.
pub type Level = (String, String);

/// One line of the run log. `t` is milliseconds since the Unix epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// The bot started.
    Start {
        /// Time.
        t: u64,
        /// Venue names, by index.
        venues: Vec<String>,
        /// Markets watched.
        markets: Vec<String>,
        /// Profit threshold, basis points.
        min_profit_bps: f64,
        /// Nothing is sent.
        dry_run: bool,
    },
    /// Best bid and ask of a market on a venue.
    Book {
        /// Time.
        t: u64,
        /// Venue index.
        venue: usize,
        /// Market symbol.
        market: String,
        /// Best bid.
        bid: Option<String>,
        /// Best ask.
        ask: Option<String>,
    },
    /// An opportunity above the threshold, and what the bot did.
    Opportunity {
        /// Time.
        t: u64,
        /// Key.
        key: String,
        /// Expected profit, basis points.
        bps: f64,
        /// Expected profit.
        profit: String,
        /// Its asset.
        asset: String,
        /// Taken, or why not.
        action: String,
    },
    /// A gap closed.
    Gap(ClosedGap),
    /// An execution ended.
    Execution {
        /// Time.
        t: u64,
        /// Opportunity key.
        key: String,
        /// Every leg filled.
        ok: bool,
        /// The legs sent.
        legs: Vec<Leg>,
        /// Per leg: quantity filled and average price (strings), latency in ms.
        fills: Vec<(String, Option<String>, f64)>,
        /// What went wrong, per failed leg.
        failures: Vec<String>,
        /// Legs that filled unequal quantities were evened out by a hedge order (the
        /// last leg): `filled`, `partial`, `unfilled` or why it was refused.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hedge: Option<String>,
    },
    /// A rebalancing swap moved to a new step.
    Swap {
        /// Time.
        t: u64,
        /// Swap id on the giving venue.
        id: String,
        /// Asset.
        asset: String,
        /// Amount.
        amount: String,
        /// Giving venue.
        from: usize,
        /// Receiving venue.
        to: usize,
        /// New step.
        step: String,
    },
    /// Holdings change per asset and its value.
    Pnl {
        /// Time.
        t: u64,
        /// Change per asset.
        per_asset: BTreeMap<String, String>,
        /// Value of the change.
        value: String,
        /// Valuation asset.
        value_asset: String,
    },
    /// The books when the bot stopped.
    FinalBook {
        /// Time.
        t: u64,
        /// Venue index.
        venue: usize,
        /// Market.
        market: String,
        /// Bids (price, quantity), best first.
        bids: Vec<Level>,
        /// Asks, best first.
        asks: Vec<Level>,
    },
    /// The figures when the bot stopped.
    End {
        /// Time.
        t: u64,
        /// The summary.
        summary: Box<Summary>,
    },
}

/// Appends records to the run log.
pub struct RunLog {
    file: std::fs::File,
}

impl RunLog {
    /// The log in `dir` (created).
    pub fn open(dir: &Path) -> std::io::Result<RunLog> {
        std::fs::create_dir_all(dir)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path(dir))?;
        Ok(RunLog { file })
    }

    /// Appends one record (a failed write is reported once per call, not fatal).
    pub fn write(&mut self, r: &Record) {
        if let Ok(mut line) = serde_json::to_string(r) {
            line.push('\n');
            if let Err(e) = self.file.write_all(line.as_bytes()) {
                tracing::warn!("cannot append to the run log: {e}");
            }
        }
    }
}

/// The log's path in a state directory.
pub fn path(dir: &Path) -> PathBuf {
    dir.join("runlog.jsonl")
}

/// Reads every record (lines that do not parse, such as a torn last line after a crash,
/// are skipped and counted).
pub fn read(dir: &Path) -> std::io::Result<(Vec<Record>, usize)> {
    let f = std::fs::File::open(path(dir))?;
    let mut out = Vec::new();
    let mut bad = 0;
    for line in std::io::BufReader::new(f).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(r) => out.push(r),
            Err(_) => bad += 1,
        }
    }
    Ok((out, bad))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = RunLog::open(dir.path()).unwrap();
        let recs = vec![
            Record::Book {
                t: 1,
                venue: 0,
                market: "BTC/USD".into(),
                bid: Some("99.5".into()),
                ask: None,
            },
            Record::Pnl {
                t: 2,
                per_asset: [("USD".to_string(), "1.5".to_string())].into(),
                value: "1.5".into(),
                value_asset: "USD".into(),
            },
        ];
        for r in &recs {
            log.write(r);
        }
        drop(log);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(path(dir.path()))
            .unwrap();
        f.write_all(b"{\"kind\":\"book\",\"t\":").unwrap();
        let (back, bad) = read(dir.path()).unwrap();
        assert_eq!(back, recs);
        assert_eq!(bad, 1);
    }
}
