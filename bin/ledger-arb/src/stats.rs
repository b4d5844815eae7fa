//! What the bot reports: opportunities seen, taken and missed (with the reason), gap
//! episodes and the time they took to close, executions and leg failures, leg latency
//! and profit per asset.
//!
//! A **gap** is an opportunity key (kind, venues, markets, direction) whose profit is
//! above the threshold. It **opens** at the first snapshot that shows it and **closes**
//! at the first snapshot that no longer does (by our trade or anyone's); its time to
//! close is the difference. One gap is one **opportunity seen**; it is **captured** if
//! one of our executions on it succeeded, **taken** if we executed on it at all, and
//! **missed** otherwise, with the reason of the last refusal.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The kind of an opportunity key (`cross`, `tri`).
fn kind_of(key: &str) -> String {
    key.split(':').next().unwrap_or("").to_string()
}

/// An open gap.
#[derive(Clone, Debug)]
struct OpenGap {
    opened_ms: u64,
    best_bps: f64,
    taken: bool,
    captured: bool,
    missed_reason: Option<String>,
}

/// A closed gap (also written to the run log).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClosedGap {
    /// The opportunity key.
    pub key: String,
    /// Milliseconds since the run started, when it opened.
    pub opened_ms: u64,
    /// ... and when it closed.
    pub closed_ms: u64,
    /// Best profit seen while open, in basis points.
    pub best_bps: f64,
    /// We executed on it.
    pub taken: bool,
    /// One of our executions on it succeeded.
    pub captured: bool,
    /// Why we did not take it (if we did not).
    pub missed_reason: Option<String>,
}

/// Percentiles of a sample, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Number of values.
    pub count: usize,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// Largest.
    pub max: Option<f64>,
}

impl Percentiles {
    /// Of a sample.
    pub fn of(values: &[f64]) -> Percentiles {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| -> Option<f64> {
            if v.is_empty() {
                return None;
            }
            let i = ((v.len() - 1) as f64 * q).round() as usize;
            Some(v[i])
        };
        Percentiles {
            count: v.len(),
            p50: at(0.5),
            p90: at(0.9),
            max: v.last().copied(),
        }
    }
}

/// The figures printed live and at the end.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Seconds the bot ran.
    pub elapsed_s: f64,
    /// Gaps above the threshold that opened.
    pub opportunities_seen: u64,
    /// ... of which we executed on.
    pub opportunities_taken: u64,
    /// ... of which one execution succeeded.
    pub opportunities_captured: u64,
    /// Gaps we did not execute on, by reason.
    pub missed: BTreeMap<String, u64>,
    /// Opportunities seen per minute.
    pub opportunities_per_minute: f64,
    /// Captured / seen (closed gaps only).
    pub capture_rate: Option<f64>,
    /// Time from a gap opening to its closing, over closed gaps.
    pub time_to_close_ms: Percentiles,
    /// Executions sent (a bundle, or a pair of cross-venue orders).
    pub executions: u64,
    /// Executions whose every leg filled completely.
    pub executions_ok: u64,
    /// Executions sent and succeeded, by kind (`cross`, `tri`): `[sent, ok]`.
    pub executions_by_kind: BTreeMap<String, [u64; 2]>,
    /// Opportunities seen, by kind.
    pub seen_by_kind: BTreeMap<String, u64>,
    /// Legs that did not fill completely (or bundles refused), by reason.
    pub leg_failures: BTreeMap<String, u64>,
    /// Submit-to-final latency of every leg.
    pub leg_latency_ms: Percentiles,
    /// Change of the bot's holdings per asset over both venues (open swaps included).
    pub profit_per_asset: BTreeMap<String, String>,
    /// That change valued at the current prices, in the valuation asset.
    pub profit_value: String,
    /// The valuation asset (the quote asset of the markets).
    pub value_asset: String,
    /// Hedge orders sent after a cross execution filled its legs unequally, by outcome
    /// (`filled`, `partial`, `unfilled`, or a refusal).
    #[serde(default)]
    pub hedges: BTreeMap<String, u64>,
    /// Rebalancing swaps: started, swapped, refunded, aborted, in flight.
    pub swaps: BTreeMap<String, u64>,
    /// True in --dry-run (nothing was sent).
    pub dry_run: bool,
}

/// Gap and execution accounting.
#[derive(Debug, Default)]
pub struct Stats {
    open: BTreeMap<String, OpenGap>,
    closed: Vec<ClosedGap>,
    seen: u64,
    seen_by_kind: BTreeMap<String, u64>,
    executions: u64,
    executions_ok: u64,
    by_kind: BTreeMap<String, [u64; 2]>,
    leg_failures: BTreeMap<String, u64>,
    latencies: Vec<f64>,
    hedges: BTreeMap<String, u64>,
    /// Swap outcomes.
    pub swaps: BTreeMap<String, u64>,
}

impl Stats {
    /// Feeds one evaluation: the keys above the threshold now (with their bps), at
    /// `now_ms`. Returns the gaps that closed.
    pub fn observe(&mut self, now_ms: u64, above: &BTreeMap<String, f64>) -> Vec<ClosedGap> {
        let mut closed = Vec::new();
        let gone: Vec<String> = self
            .open
            .keys()
            .filter(|k| !above.contains_key(*k))
            .cloned()
            .collect();
        for k in gone {
            if let Some(g) = self.open.remove(&k) {
                let c = ClosedGap {
                    key: k,
                    opened_ms: g.opened_ms,
                    closed_ms: now_ms,
                    best_bps: g.best_bps,
                    taken: g.taken,
                    captured: g.captured,
                    missed_reason: if g.taken { None } else { g.missed_reason },
                };
                self.closed.push(c.clone());
                closed.push(c);
            }
        }
        for (k, bps) in above {
            let g = self.open.entry(k.clone()).or_insert_with(|| {
                self.seen += 1;
                *self.seen_by_kind.entry(kind_of(k)).or_default() += 1;
                OpenGap {
                    opened_ms: now_ms,
                    best_bps: *bps,
                    taken: false,
                    captured: false,
                    missed_reason: None,
                }
            });
            g.best_bps = g.best_bps.max(*bps);
        }
        closed
    }

    /// True if the gap `key` is open.
    pub fn is_open(&self, key: &str) -> bool {
        self.open.contains_key(key)
    }

    /// We did not take the open gap `key` now, because of `reason`.
    pub fn missed(&mut self, key: &str, reason: &str) {
        if let Some(g) = self.open.get_mut(key) {
            g.missed_reason = Some(reason.to_string());
        }
    }

    /// We executed on the gap `key`.
    pub fn taken(&mut self, key: &str) {
        if let Some(g) = self.open.get_mut(key) {
            g.taken = true;
        }
        self.executions += 1;
        self.by_kind.entry(kind_of(key)).or_default()[0] += 1;
    }

    /// An execution on `key` ended: `ok` if every leg filled, else the failures.
    pub fn executed(&mut self, key: &str, ok: bool, failures: &[String]) {
        if ok {
            self.executions_ok += 1;
            self.by_kind.entry(kind_of(key)).or_default()[1] += 1;
            if let Some(g) = self.open.get_mut(key) {
                g.captured = true;
            } else if let Some(g) = self.closed.iter_mut().rev().find(|g| g.key == key) {
                // The gap closed (by this very execution) before the result arrived.
                g.captured = true;
                g.taken = true;
            }
        }
        for f in failures {
            *self.leg_failures.entry(f.clone()).or_default() += 1;
        }
    }

    /// A hedge order ended with `outcome`.
    pub fn hedged(&mut self, outcome: &str) {
        *self.hedges.entry(outcome.to_string()).or_default() += 1;
    }

    /// One leg's submit-to-final latency.
    pub fn latency(&mut self, ms: f64) {
        self.latencies.push(ms);
    }

    /// Closes every open gap (at the end of a run).
    pub fn close_all(&mut self, now_ms: u64) -> Vec<ClosedGap> {
        self.observe(now_ms, &BTreeMap::new())
    }

    /// The figures, with the caller's profit numbers.
    pub fn summary(&self, elapsed_s: f64) -> Summary {
        let taken = self.closed.iter().filter(|g| g.taken).count() as u64
            + self.open.values().filter(|g| g.taken).count() as u64;
        let captured = self.closed.iter().filter(|g| g.captured).count() as u64
            + self.open.values().filter(|g| g.captured).count() as u64;
        let mut missed = BTreeMap::new();
        for g in self.closed.iter().filter(|g| !g.taken) {
            let r = g
                .missed_reason
                .clone()
                .unwrap_or_else(|| "closed_before_action".into());
            *missed.entry(r).or_default() += 1;
        }
        let durations: Vec<f64> = self
            .closed
            .iter()
            .map(|g| (g.closed_ms - g.opened_ms) as f64)
            .collect();
        let closed_captured = self.closed.iter().filter(|g| g.captured).count();
        Summary {
            elapsed_s,
            opportunities_seen: self.seen,
            opportunities_taken: taken,
            opportunities_captured: captured,
            missed,
            opportunities_per_minute: if elapsed_s > 0.0 {
                self.seen as f64 * 60.0 / elapsed_s
            } else {
                0.0
            },
            capture_rate: (!self.closed.is_empty())
                .then(|| closed_captured as f64 / self.closed.len() as f64),
            time_to_close_ms: Percentiles::of(&durations),
            executions: self.executions,
            executions_ok: self.executions_ok,
            executions_by_kind: self.by_kind.clone(),
            seen_by_kind: self.seen_by_kind.clone(),
            leg_failures: self.leg_failures.clone(),
            hedges: self.hedges.clone(),
            leg_latency_ms: Percentiles::of(&self.latencies),
            swaps: self.swaps.clone(),
            ..Summary::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn above(keys: &[(&str, f64)]) -> BTreeMap<String, f64> {
        keys.iter().map(|(k, b)| (k.to_string(), *b)).collect()
    }

    #[test]
    fn gaps_open_close_and_count() {
        let mut s = Stats::default();
        assert!(s.observe(0, &above(&[("x", 10.0), ("y", 5.0)])).is_empty());
        s.taken("x");
        s.missed("y", "inventory_limit");
        assert!(s
            .observe(100, &above(&[("x", 12.0), ("y", 6.0)]))
            .is_empty());
        let closed = s.observe(300, &above(&[("y", 4.0)]));
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].key, "x");
        assert_eq!(closed[0].closed_ms - closed[0].opened_ms, 300);
        assert_eq!(closed[0].best_bps, 12.0);
        // The result of the execution arrives after the gap closed.
        s.executed("x", true, &[]);
        s.executed("z", false, &["bundle_leg_unfilled".into()]);
        let closed = s.close_all(1_000);
        assert_eq!(closed.len(), 1);
        let sum = s.summary(60.0);
        assert_eq!(sum.opportunities_seen, 2);
        assert_eq!(sum.opportunities_taken, 1);
        assert_eq!(sum.opportunities_captured, 1);
        assert_eq!(sum.missed.get("inventory_limit"), Some(&1));
        assert_eq!(sum.capture_rate, Some(0.5));
        assert_eq!(sum.opportunities_per_minute, 2.0);
        assert_eq!(sum.time_to_close_ms.count, 2);
        assert_eq!(sum.time_to_close_ms.max, Some(1_000.0));
        assert_eq!(sum.leg_failures.get("bundle_leg_unfilled"), Some(&1));
        // A gap that reopens is a new opportunity.
        s.observe(2_000, &above(&[("x", 9.0)]));
        assert_eq!(s.summary(60.0).opportunities_seen, 3);
    }

    #[test]
    fn percentiles() {
        let p = Percentiles::of(&[5.0, 1.0, 3.0, f64::NAN]);
        assert_eq!(p.count, 3);
        assert_eq!(p.p50, Some(3.0));
        assert_eq!(p.max, Some(5.0));
        assert_eq!(Percentiles::of(&[]).p50, None);
    }
}
