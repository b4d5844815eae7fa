//! `ledger-arb report`: the dashboard, one self-contained HTML file (inline CSS and SVG,
//! no scripts, nothing fetched) drawn from the run log:
//!
//! 1. the figures of the last run (opportunities per minute, capture rate, time to close
//!    a gap, leg failures and latency, profit per asset);
//! 2. per market, the price on each venue over time with the bot's fills marked (filled
//!    dots: the execution succeeded; rings: a leg failed), and for pairs on several
//!    venues the gap between them in basis points;
//! 3. opportunities seen against captured, cumulated over time;
//! 4. profit over time, in value and per asset;
//! 5. leg latency (submit to final) over time;
//! 6. the rebalancing swaps and their steps;
//! 7. the books when the bot stopped.

use crate::runlog::{read, Record};
use crate::stats::Summary;
use crate::svg::{bars, esc, Chart, Style};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

const COLORS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
];

fn num(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Everything the page is drawn from, with times in seconds since the first record.
// Plain series keyed for drawing; each field's shape is documented beside it.
#[allow(clippy::type_complexity)]
#[derive(Default)]
struct Data {
    venues: Vec<String>,
    threshold: f64,
    /// (venue, market) -> (t, bid, ask)
    quotes: BTreeMap<(usize, String), Vec<(f64, Option<f64>, Option<f64>)>>,
    /// (t, venue, market, price, ok)
    fills: Vec<(f64, usize, String, f64, bool)>,
    /// (t_open, t_close, captured, key)
    gaps: Vec<(f64, f64, bool, String)>,
    /// (t, key) of every execution that filled all its legs
    ok_executions: Vec<(f64, String)>,
    /// (t, value, per asset)
    pnl: Vec<(f64, f64, BTreeMap<String, f64>)>,
    value_asset: String,
    /// (t, latency ms)
    latency: Vec<(f64, f64)>,
    /// swap id -> (asset, amount, from, to, [(t, step)])
    swaps: BTreeMap<String, (String, String, usize, usize, Vec<(f64, String)>)>,
    /// (venue, market) -> (bids, asks)
    books: BTreeMap<(usize, String), (Vec<(f64, f64)>, Vec<(f64, f64)>)>,
    summary: Option<Summary>,
    runs: usize,
    skipped: usize,
}

fn load(dir: &Path) -> Result<Data> {
    let (records, skipped) = read(dir).with_context(|| {
        format!(
            "cannot read the run log {}",
            crate::runlog::path(dir).display()
        )
    })?;
    let t0 = records
        .iter()
        .find_map(|r| match r {
            Record::Start { t, .. } => Some(*t),
            _ => None,
        })
        .unwrap_or(0);
    let rel = |t: u64| (t.saturating_sub(t0)) as f64 / 1000.0;
    let mut d = Data {
        skipped,
        ..Data::default()
    };
    let mut run_start = t0;
    for r in records {
        match r {
            Record::Start {
                t,
                venues,
                min_profit_bps,
                ..
            } => {
                run_start = t;
                d.venues = venues;
                d.threshold = min_profit_bps;
                d.runs += 1;
            }
            Record::Book {
                t,
                venue,
                market,
                bid,
                ask,
            } => d.quotes.entry((venue, market)).or_default().push((
                rel(t),
                bid.as_deref().and_then(num),
                ask.as_deref().and_then(num),
            )),
            Record::Opportunity { .. } => {}
            Record::Gap(g) => d.gaps.push((
                rel(run_start + g.opened_ms),
                rel(run_start + g.closed_ms),
                g.captured,
                g.key,
            )),
            Record::Execution {
                t,
                ok,
                legs,
                fills,
                key,
                ..
            } => {
                if ok {
                    d.ok_executions.push((rel(t), key));
                }
                for (leg, (_, px, ms)) in legs.iter().zip(&fills) {
                    if let Some(p) = px.as_deref().and_then(num) {
                        d.fills.push((rel(t), leg.venue, leg.market.clone(), p, ok));
                    }
                    if *ms > 0.0 {
                        d.latency.push((rel(t), *ms));
                    }
                }
            }
            Record::Swap {
                t,
                id,
                asset,
                amount,
                from,
                to,
                step,
            } => {
                let e = d
                    .swaps
                    .entry(id)
                    .or_insert_with(|| (asset, amount, from, to, Vec::new()));
                e.4.push((rel(t), step));
            }
            Record::Pnl {
                t,
                per_asset,
                value,
                value_asset,
            } => {
                d.value_asset = value_asset;
                d.pnl.push((
                    rel(t),
                    num(&value).unwrap_or(0.0),
                    per_asset
                        .iter()
                        .filter_map(|(a, v)| num(v).map(|v| (a.clone(), v)))
                        .collect(),
                ));
            }
            Record::FinalBook {
                venue,
                market,
                bids,
                asks,
                ..
            } => {
                let side = |l: &[(String, String)]| -> Vec<(f64, f64)> {
                    l.iter()
                        .filter_map(|(p, q)| Some((num(p)?, num(q)?)))
                        .collect()
                };
                d.books.insert((venue, market), (side(&bids), side(&asks)));
            }
            Record::End { summary, .. } => d.summary = Some(*summary),
        }
    }
    // A gap our own trade closed is logged before that trade's result arrives (the book
    // shows the trade first): it counts as captured if an execution on its key that
    // filled every leg ended while it was open or within 10 s of its close.
    for g in d.gaps.iter_mut().filter(|g| !g.2) {
        g.2 = d
            .ok_executions
            .iter()
            .any(|(t, k)| *k == g.3 && *t >= g.0 && *t <= g.1 + 10.0);
    }
    Ok(d)
}

fn venue_name(d: &Data, v: usize) -> String {
    d.venues
        .get(v)
        .cloned()
        .unwrap_or_else(|| format!("venue {v}"))
}

fn summary_table(s: &Summary) -> String {
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0} ms"));
    let rows: Vec<(&str, String)> = vec![
        (
            "run length",
            format!(
                "{:.0} s{}",
                s.elapsed_s,
                if s.dry_run { " (dry run)" } else { "" }
            ),
        ),
        (
            "opportunities seen",
            format!(
                "{} ({:.1} per minute)",
                s.opportunities_seen, s.opportunities_per_minute
            ),
        ),
        (
            "taken / captured",
            format!("{} / {}", s.opportunities_taken, s.opportunities_captured),
        ),
        (
            "capture rate",
            s.capture_rate
                .map_or("-".into(), |r| format!("{:.1}%", r * 100.0)),
        ),
        (
            "time to close a gap",
            format!(
                "median {}, p90 {}, max {} ({} gaps)",
                ms(s.time_to_close_ms.p50),
                ms(s.time_to_close_ms.p90),
                ms(s.time_to_close_ms.max),
                s.time_to_close_ms.count
            ),
        ),
        ("missed (reason: gaps)", format!("{:?}", s.missed)),
        (
            "executions ok / sent",
            format!("{} / {}", s.executions_ok, s.executions),
        ),
        ("leg failures", format!("{:?}", s.leg_failures)),
        ("hedges", format!("{:?}", s.hedges)),
        (
            "leg latency",
            format!(
                "median {}, p90 {} ({} legs)",
                ms(s.leg_latency_ms.p50),
                ms(s.leg_latency_ms.p90),
                s.leg_latency_ms.count
            ),
        ),
        ("profit per asset", format!("{:?}", s.profit_per_asset)),
        (
            "profit value",
            format!("{} {}", s.profit_value, s.value_asset),
        ),
        ("swaps", format!("{:?}", s.swaps)),
    ];
    let mut out = String::from("<table class=\"kv\">");
    for (k, v) in rows {
        let _ = write!(out, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    out.push_str("</table>");
    out
}

fn price_charts(d: &Data) -> String {
    let mut out = String::new();
    let markets: Vec<String> = d
        .quotes
        .keys()
        .map(|(_, m)| m.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for m in &markets {
        let mut c = Chart::new(
            &format!("{m}: mid price per venue, bot fills marked"),
            "seconds",
            m,
        );
        let venues: Vec<usize> = d
            .quotes
            .keys()
            .filter(|(_, mm)| mm == m)
            .map(|(v, _)| *v)
            .collect();
        for &v in &venues {
            let pts: Vec<(f64, f64)> = d.quotes[&(v, m.clone())]
                .iter()
                .filter_map(|(t, b, a)| Some((*t, (b.as_ref()? + a.as_ref()?) / 2.0)))
                .collect();
            c = c.series(
                &format!("{} mid", venue_name(d, v)),
                COLORS[v % COLORS.len()],
                Style::Line,
                pts,
            );
        }
        for &v in &venues {
            for ok in [true, false] {
                let pts: Vec<(f64, f64)> = d
                    .fills
                    .iter()
                    .filter(|f| f.1 == v && &f.2 == m && f.4 == ok)
                    .map(|f| (f.0, f.3))
                    .collect();
                if !pts.is_empty() {
                    c = c.series(
                        &format!(
                            "{} fills{}",
                            venue_name(d, v),
                            if ok { "" } else { " (failed exec)" }
                        ),
                        COLORS[v % COLORS.len()],
                        if ok { Style::Dots } else { Style::Rings },
                        pts,
                    );
                }
            }
        }
        out.push_str(&c.render());
        if venues.len() >= 2 {
            out.push_str(&gap_chart(d, m, venues[0], venues[1]));
        }
    }
    out
}

/// The best cross-venue gap over time, before fees: max of (bid on one - ask on the
/// other) / ask, in basis points.
fn gap_chart(d: &Data, m: &str, x: usize, y: usize) -> String {
    let mut events: Vec<(f64, usize, Option<f64>, Option<f64>)> = Vec::new();
    for v in [x, y] {
        for (t, b, a) in &d.quotes[&(v, m.to_string())] {
            events.push((*t, v, *b, *a));
        }
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut last: BTreeMap<usize, (Option<f64>, Option<f64>)> = BTreeMap::new();
    let mut pts = Vec::new();
    for (t, v, b, a) in events {
        last.insert(v, (b, a));
        if let (Some((bx, ax)), Some((by, ay))) = (last.get(&x), last.get(&y)) {
            let g1 = match (by, ax) {
                (Some(b), Some(a)) if *a > 0.0 => Some((b - a) / a * 1e4),
                _ => None,
            };
            let g2 = match (bx, ay) {
                (Some(b), Some(a)) if *a > 0.0 => Some((b - a) / a * 1e4),
                _ => None,
            };
            if let Some(g) = g1.into_iter().chain(g2).reduce(f64::max) {
                pts.push((t, g));
            }
        }
    }
    let trades: Vec<(f64, f64)> = d
        .fills
        .iter()
        .filter(|f| f.2 == m && f.1 == x)
        .filter_map(|f| {
            let t = f.0;
            pts.iter()
                .rev()
                .find(|(pt, _)| *pt <= t)
                .map(|(_, g)| (t, *g))
        })
        .collect();
    let span = pts.first().map(|p| p.0).unwrap_or(0.0);
    Chart::new(
        &format!(
            "{m}: best gap between {} and {} (bid on one minus ask on the other, before fees)",
            venue_name(d, x),
            venue_name(d, y)
        ),
        "seconds",
        "bps",
    )
    .series("gap", "#444", Style::Step, pts)
    .series("bot trades", "#d62728", Style::Dots, trades)
    .series("zero", "#999", Style::Reference, vec![(span, 0.0)])
    .render()
}

fn opportunity_chart(d: &Data) -> String {
    let mut opened: Vec<f64> = d.gaps.iter().map(|g| g.0).collect();
    opened.sort_by(f64::total_cmp);
    let mut captured: Vec<f64> = d.gaps.iter().filter(|g| g.2).map(|g| g.1).collect();
    captured.sort_by(f64::total_cmp);
    let cum = |ts: &[f64]| -> Vec<(f64, f64)> {
        ts.iter()
            .enumerate()
            .map(|(i, t)| (*t, (i + 1) as f64))
            .collect()
    };
    Chart::new(
        &format!(
            "Opportunities above {} bps (gaps opened) against captures, cumulated",
            d.threshold
        ),
        "seconds",
        "count",
    )
    .series("seen", "#1f77b4", Style::Step, cum(&opened))
    .series("captured", "#2ca02c", Style::Step, cum(&captured))
    .render()
}

fn pnl_charts(d: &Data) -> String {
    let mut out = Chart::new(
        &format!("Profit over time, valued in {}", d.value_asset),
        "seconds",
        &d.value_asset,
    )
    .series(
        "value",
        "#2ca02c",
        Style::Line,
        d.pnl.iter().map(|p| (p.0, p.1)).collect(),
    )
    .series("zero", "#999", Style::Reference, vec![(0.0, 0.0)])
    .render();
    let assets: std::collections::BTreeSet<String> =
        d.pnl.iter().flat_map(|p| p.2.keys().cloned()).collect();
    for (i, a) in assets.iter().enumerate() {
        let mut c = Chart::new(&format!("Holdings change: {a}"), "seconds", a).series(
            a,
            COLORS[i % COLORS.len()],
            Style::Line,
            d.pnl
                .iter()
                .filter_map(|p| p.2.get(a).map(|v| (p.0, *v)))
                .collect(),
        );
        c.height = 180.0;
        out.push_str(&c.render());
    }
    out
}

fn latency_chart(d: &Data) -> String {
    Chart::new("Leg latency: submit to final", "seconds", "ms")
        .series("leg", "#9467bd", Style::Dots, d.latency.clone())
        .render()
}

fn swaps_table(d: &Data) -> String {
    if d.swaps.is_empty() {
        return "<p>No rebalancing swaps.</p>".into();
    }
    let mut out = String::from(
        "<table class=\"grid\"><tr><th>swap (lock tx)</th><th>amount</th><th>from → to</th><th>steps (seconds)</th></tr>",
    );
    for (id, (asset, amount, from, to, steps)) in &d.swaps {
        let steps: Vec<String> = steps.iter().map(|(t, s)| format!("{s} @{t:.1}")).collect();
        let _ = write!(
            out,
            "<tr><td><code>{}…</code></td><td>{} {}</td><td>{} → {}</td><td>{}</td></tr>",
            esc(&id[..id.len().min(16)]),
            esc(amount),
            esc(asset),
            esc(&venue_name(d, *from)),
            esc(&venue_name(d, *to)),
            esc(&steps.join(", "))
        );
    }
    out.push_str("</table>");
    out
}

fn book_charts(d: &Data) -> String {
    if d.books.is_empty() {
        return "<p>No final books recorded (the last run did not stop cleanly).</p>".into();
    }
    let mut out = String::from("<div class=\"books\">");
    for ((v, m), (bids, asks)) in &d.books {
        let mut rows: Vec<(String, f64, String)> = Vec::new();
        for (p, q) in asks.iter().take(8).rev() {
            rows.push((format!("ask {p}"), *q, "#d62728".into()));
        }
        for (p, q) in bids.iter().take(8) {
            rows.push((format!("bid {p}"), *q, "#2ca02c".into()));
        }
        out.push_str(&bars(
            &format!("{m} on {}", venue_name(d, *v)),
            &rows,
            430.0,
        ));
    }
    out.push_str("</div>");
    out
}

/// Writes `out/index.html`; returns its path.
pub fn write(state_dir: &Path, out: &Path) -> Result<PathBuf> {
    let d = load(state_dir)?;
    let mut html = String::new();
    html.push_str(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ledger-arb dashboard</title><style>\
body{font-family:sans-serif;margin:24px;color:#222;max-width:960px}h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}\
table.kv th{text-align:left;padding:2px 14px 2px 0;font-weight:normal;color:#555}table.kv td{font-family:monospace}\
table.grid{border-collapse:collapse}table.grid td,table.grid th{border:1px solid #ddd;padding:3px 8px;font-size:13px}\
.books svg{margin:4px}svg{display:block;margin:6px 0}.note{color:#666;font-size:13px}</style></head><body>",
    );
    let _ = write!(
        html,
        "<h1>ledger-arb: cross-exchange arbitrage</h1><p class=\"note\">Venues: {}. Threshold {} bps net of taker fees. {} run(s) in the log{}.</p>",
        esc(&d.venues.join(", ")),
        d.threshold,
        d.runs,
        if d.skipped > 0 {
            format!(", {} unreadable line(s) skipped", d.skipped)
        } else {
            String::new()
        }
    );
    html.push_str("<h2>Figures of the last run</h2>");
    match &d.summary {
        Some(s) => html.push_str(&summary_table(s)),
        None => html.push_str("<p>The last run did not end cleanly; no summary.</p>"),
    }
    html.push_str("<h2>Prices on each venue, gaps and the bot's trades</h2>");
    html.push_str(&price_charts(&d));
    html.push_str("<h2>Opportunities against captures</h2>");
    html.push_str(&opportunity_chart(&d));
    html.push_str("<h2>Profit per asset over time</h2>");
    html.push_str(&pnl_charts(&d));
    html.push_str("<h2>Leg latency</h2>");
    html.push_str(&latency_chart(&d));
    html.push_str("<h2>Rebalancing swaps</h2>");
    html.push_str(&swaps_table(&d));
    html.push_str("<h2>Books at the end</h2>");
    html.push_str(&book_charts(&d));
    html.push_str("</body></html>\n");
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let path = out.join("index.html");
    std::fs::write(&path, html).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Leg;
    use crate::runlog::RunLog;
    use crate::stats::ClosedGap;
    use ledger_types::{Decimal, Side};

    #[test]
    fn report_is_self_contained_and_shows_every_section() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = RunLog::open(dir.path()).unwrap();
        log.write(&Record::Start {
            t: 1_000,
            venues: vec!["a".into(), "b".into()],
            markets: vec!["BTC/USD".into()],
            min_profit_bps: 5.0,
            dry_run: false,
        });
        for (i, (v, bid, ask)) in [(0, "99", "100"), (1, "101", "102"), (0, "99.5", "100.5")]
            .iter()
            .enumerate()
        {
            log.write(&Record::Book {
                t: 1_000 + 100 * i as u64,
                venue: *v,
                market: "BTC/USD".into(),
                bid: Some(bid.to_string()),
                ask: Some(ask.to_string()),
            });
        }
        log.write(&Record::Gap(ClosedGap {
            key: "cross:BTC/USD:0->1".into(),
            opened_ms: 100,
            closed_ms: 400,
            best_bps: 80.0,
            taken: true,
            captured: true,
            missed_reason: None,
        }));
        let leg = |venue, side| Leg {
            venue,
            market: "BTC/USD".into(),
            market_id: 0,
            side,
            quantity: Decimal::ONE,
            limit: Decimal::from(100),
        };
        log.write(&Record::Execution {
            t: 1_300,
            key: "cross:BTC/USD:0->1".into(),
            ok: true,
            legs: vec![leg(0, Side::Buy), leg(1, Side::Sell)],
            fills: vec![
                ("1".into(), Some("100".into()), 850.0),
                ("1".into(), Some("101".into()), 900.0),
            ],
            hedge: None,
            failures: vec![],
        });
        log.write(&Record::Pnl {
            t: 1_500,
            per_asset: [("USD".to_string(), "0.9".to_string())].into(),
            value: "0.9".into(),
            value_asset: "USD".into(),
        });
        log.write(&Record::FinalBook {
            t: 2_000,
            venue: 0,
            market: "BTC/USD".into(),
            bids: vec![("99".into(), "2".into())],
            asks: vec![("100".into(), "1".into())],
        });
        drop(log);
        let out = tempfile::tempdir().unwrap();
        let path = write(dir.path(), out.path()).unwrap();
        let html = std::fs::read_to_string(path).unwrap();
        for needle in [
            "BTC/USD: mid price per venue",
            "best gap between a and b",
            "Opportunities above 5 bps",
            "Profit over time",
            "Leg latency",
            "Books at the end",
            "<circle",
        ] {
            assert!(html.contains(needle), "missing {needle}");
        }
        for fetch in ["<script", "src=", "href=", "<link", "url(", "@import"] {
            assert!(
                !html.contains(fetch),
                "the page must fetch nothing: {fetch}"
            );
        }
        assert!(write(Path::new("/nonexistent/state"), out.path()).is_err());
    }
}
