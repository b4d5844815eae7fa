//! Per-stage times for `bench`, from the nodes' own histograms: the node exports
//! `ledger_stage_duration_seconds{stage=...}` (admission, gossip, consensus, execution,
//! commit) at its metrics address. `bench` scrapes every node when the window opens and
//! after the drain, and reports what the run added, summed over the nodes.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The histogram `bench` reads.
const METRIC: &str = "ledger_stage_duration_seconds";
/// Largest metrics page read.
const MAX_PAGE: usize = 4 << 20;

/// One stage's histogram: cumulative bucket counts by upper bound, sum and count.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StageHistogram {
    /// `(le, cumulative count)`, in increasing `le` (the last is `+Inf`).
    pub buckets: Vec<(f64, u64)>,
    /// Sum of observations, seconds.
    pub sum: f64,
    /// Observations.
    pub count: u64,
}

/// Histograms by stage name.
pub type Stages = BTreeMap<String, StageHistogram>;

/// GETs `url` (`http://host:port/path`) over HTTP/1.0; `None` if it fails.
pub async fn scrape(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let fetch = async {
        let mut s = tokio::net::TcpStream::connect(host).await.ok()?;
        let req = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.ok()?;
        let mut body = Vec::new();
        s.take(MAX_PAGE as u64).read_to_end(&mut body).await.ok()?;
        let text = String::from_utf8(body).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.")
            .then_some(())
            .filter(|_| head.split_whitespace().nth(1) == Some("200"))?;
        Some(body.to_string())
    };
    tokio::time::timeout(Duration::from_secs(3), fetch)
        .await
        .ok()
        .flatten()
}

/// Parses the stage histograms out of an OpenMetrics page.
pub fn parse(page: &str) -> Stages {
    let mut out: Stages = BTreeMap::new();
    for line in page.lines() {
        let Some(rest) = line.strip_prefix(METRIC) else {
            continue;
        };
        let (kind, rest) = match rest.find('{') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => continue,
        };
        let Some(close) = rest.find('}') else {
            continue;
        };
        let labels = labels(&rest[1..close]);
        let Some(value) = rest[close + 1..].split_whitespace().next() else {
            continue;
        };
        let Some(stage) = labels.get("stage") else {
            continue;
        };
        let h = out.entry(stage.clone()).or_default();
        match kind {
            "_bucket" => {
                let le = match labels.get("le").map(String::as_str) {
                    Some("+Inf") => f64::INFINITY,
                    Some(v) => match v.parse() {
                        Ok(v) => v,
                        Err(_) => continue,
                    },
                    None => continue,
                };
                if let Ok(n) = value.parse::<f64>() {
                    h.buckets.push((le, n as u64));
                }
            }
            "_sum" => h.sum = value.parse().unwrap_or(0.0),
            "_count" => h.count = value.parse::<f64>().map_or(0, |v| v as u64),
            _ => {}
        }
    }
    for h in out.values_mut() {
        h.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out
}

fn labels(s: &str) -> BTreeMap<String, String> {
    s.split(',')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        })
        .collect()
}

/// Adds `b` into `a` (same buckets: the same node build).
pub fn add(a: &mut Stages, b: &Stages) {
    for (stage, h) in b {
        let e = a.entry(stage.clone()).or_default();
        if e.buckets.is_empty() {
            e.buckets = h.buckets.iter().map(|&(le, _)| (le, 0)).collect();
        }
        for (x, y) in e.buckets.iter_mut().zip(&h.buckets) {
            x.1 += y.1;
        }
        e.sum += h.sum;
        e.count += h.count;
    }
}

/// What happened between two scrapes: `after - before`, per stage.
pub fn since(after: &Stages, before: &Stages) -> Stages {
    after
        .iter()
        .map(|(stage, a)| {
            let b = before.get(stage);
            let bucket_before = |i: usize| b.and_then(|b| b.buckets.get(i)).map_or(0, |x| x.1);
            let h = StageHistogram {
                buckets: a
                    .buckets
                    .iter()
                    .enumerate()
                    .map(|(i, &(le, n))| (le, n.saturating_sub(bucket_before(i))))
                    .collect(),
                sum: (a.sum - b.map_or(0.0, |b| b.sum)).max(0.0),
                count: a.count.saturating_sub(b.map_or(0, |b| b.count)),
            };
            (stage.clone(), h)
        })
        .collect()
}

/// The `q` quantile (0..1), interpolated linearly inside its bucket; seconds.
pub fn quantile(h: &StageHistogram, q: f64) -> Option<f64> {
    if h.count == 0 {
        return None;
    }
    let rank = q * h.count as f64;
    let mut lower = (0.0, 0u64);
    for &(le, n) in &h.buckets {
        if n as f64 >= rank {
            if le.is_infinite() {
                return Some(lower.0);
            }
            let within = (n - lower.1).max(1) as f64;
            return Some(lower.0 + (le - lower.0) * ((rank - lower.1 as f64) / within));
        }
        lower = (le, n);
    }
    Some(lower.0)
}

/// The order stages happen in.
const ORDER: [&str; 5] = ["admission", "gossip", "consensus", "execution", "commit"];

fn ordered(s: &Stages) -> Vec<(&String, &StageHistogram)> {
    let mut v: Vec<_> = s.iter().collect();
    v.sort_by_key(|(name, _)| ORDER.iter().position(|o| o == name).unwrap_or(ORDER.len()));
    v
}

/// One line per stage for the human report.
pub fn rows(s: &Stages) -> Vec<(String, String)> {
    ordered(s)
        .into_iter()
        .map(|(name, h)| {
            let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.2}", v * 1e3));
            let mean = (h.count > 0).then(|| h.sum / h.count as f64);
            (
                format!("stage {name}"),
                format!(
                    "{} events, mean {} ms, p50 {} ms, p99 {} ms",
                    h.count,
                    ms(mean),
                    ms(quantile(h, 0.5)),
                    ms(quantile(h, 0.99))
                ),
            )
        })
        .collect()
}

/// The stages as JSON: `{stage: {count, mean_ms, p50_ms, p99_ms}}`.
pub fn to_json(s: &Stages) -> Value {
    let r = |v: Option<f64>| v.map(|v| (v * 1e5).round() / 100.0);
    let mut m = serde_json::Map::new();
    for (name, h) in ordered(s) {
        let mean = (h.count > 0).then(|| h.sum / h.count as f64);
        m.insert(
            name.clone(),
            json!({
                "count": h.count,
                "mean_ms": r(mean),
                "p50_ms": r(quantile(h, 0.5)),
                "p99_ms": r(quantile(h, 0.99)),
            }),
        );
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE_BEFORE: &str = "# TYPE ledger_stage_duration_seconds histogram\n\
ledger_stage_duration_seconds_sum{stage=\"commit\"} 0.5\n\
ledger_stage_duration_seconds_count{stage=\"commit\"} 10\n\
ledger_stage_duration_seconds_bucket{le=\"0.001\",stage=\"commit\"} 2\n\
ledger_stage_duration_seconds_bucket{le=\"0.01\",stage=\"commit\"} 8\n\
ledger_stage_duration_seconds_bucket{le=\"+Inf\",stage=\"commit\"} 10\n\
ledger_final_height 7\n";

    const PAGE_AFTER: &str = "ledger_stage_duration_seconds_sum{stage=\"commit\"} 1.5\n\
ledger_stage_duration_seconds_count{stage=\"commit\"} 110\n\
ledger_stage_duration_seconds_bucket{le=\"0.001\",stage=\"commit\"} 2\n\
ledger_stage_duration_seconds_bucket{le=\"0.01\",stage=\"commit\"} 108\n\
ledger_stage_duration_seconds_bucket{le=\"+Inf\",stage=\"commit\"} 110\n";

    #[test]
    fn a_run_is_the_difference_of_two_scrapes() {
        let (a, b) = (parse(PAGE_BEFORE), parse(PAGE_AFTER));
        assert_eq!(a["commit"].count, 10);
        assert_eq!(a["commit"].buckets.len(), 3);
        let d = since(&b, &a);
        let h = &d["commit"];
        assert_eq!(h.count, 100);
        assert!((h.sum - 1.0).abs() < 1e-9);
        // All 100 new observations fell in (0.001, 0.01]: the median is inside it.
        let p50 = quantile(h, 0.5).unwrap();
        assert!(p50 > 0.001 && p50 <= 0.01, "{p50}");
        let mut total = Stages::new();
        add(&mut total, &d);
        add(&mut total, &d);
        assert_eq!(total["commit"].count, 200);
        assert_eq!(total["commit"].buckets[1].1, 200);
        assert_eq!(rows(&total).len(), 1);
        assert_eq!(to_json(&total)["commit"]["count"], 200);
    }

    #[test]
    fn garbage_is_skipped() {
        let s = parse("ledger_stage_duration_seconds_bucket{le=\"x\",stage=\"a\"} 1\nnot a metric\nledger_stage_duration_seconds_count{stage=\"a\"} nope\n");
        assert_eq!(s["a"].count, 0);
        assert!(quantile(&s["a"], 0.5).is_none());
    }
}
