//! `/metrics` of running nodes: the OpenMetrics content type, a strict parse of the
//! exposition, histograms filled by submitted orders (submit-to-final latency, every
//! stage, block size), libp2p, RocksDB, process and build metrics, and the Grafana
//! dashboard in `deploy/` naming only metrics a node exports.

mod common;

use common::*;
use ledger_rpc::{LedgerApiClient, Wallet};
use ledger_types::{Decimal, Keypair, Side};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::time::Duration;

/// `GET /metrics` over plain HTTP/1.1: (content type, body).
fn scrape(addr: std::net::SocketAddr) -> (String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let ctype = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    (ctype, body.to_string())
}

/// A sample: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// A strict OpenMetrics text parser (the subset the node emits): `# HELP`, `# TYPE`,
/// `# UNIT` lines before their family's samples, samples `name{l="v",...} value`,
/// declared types only, one `# EOF` at the very end. Returns the family types and the
/// samples, or the first offending line.
fn parse_openmetrics(text: &str) -> Result<(BTreeMap<String, String>, Vec<Sample>), String> {
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    if lines.len() < 2 || lines[lines.len() - 2] != "# EOF" || !lines[lines.len() - 1].is_empty() {
        return Err("the exposition must end with `# EOF\\n`".into());
    }
    let ident = |s: &str| {
        !s.is_empty()
            && s.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    for line in &lines[..lines.len() - 2] {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let kind = parts.next().unwrap_or("");
            let name = parts.next().unwrap_or("");
            let value = parts.next().unwrap_or("");
            if !ident(name) {
                return Err(format!("bad metric name: {line}"));
            }
            match kind {
                "TYPE" => {
                    let ok = [
                        "counter",
                        "gauge",
                        "histogram",
                        "info",
                        "unknown",
                        "stateset",
                        "gaugehistogram",
                        "summary",
                    ];
                    if !ok.contains(&value) {
                        return Err(format!("bad type: {line}"));
                    }
                    if types.insert(name.to_string(), value.to_string()).is_some() {
                        return Err(format!("family declared twice: {line}"));
                    }
                }
                "HELP" | "UNIT" => {}
                _ => return Err(format!("unknown comment: {line}")),
            }
            continue;
        }
        let (name_labels, value) = line
            .rsplit_once(' ')
            .ok_or_else(|| format!("no value: {line}"))?;
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().map_err(|_| format!("bad value: {line}"))?,
        };
        let (name, labels) = match name_labels.split_once('{') {
            Some((n, rest)) => {
                let inner = rest
                    .strip_suffix('}')
                    .ok_or_else(|| format!("unclosed labels: {line}"))?;
                let mut labels = BTreeMap::new();
                for pair in inner.split("\",").filter(|p| !p.is_empty()) {
                    let (k, v) = pair
                        .split_once("=\"")
                        .ok_or_else(|| format!("bad label: {line}"))?;
                    if !ident(k) {
                        return Err(format!("bad label name: {line}"));
                    }
                    labels.insert(k.to_string(), v.trim_end_matches('"').to_string());
                }
                (n.to_string(), labels)
            }
            None => (name_labels.to_string(), BTreeMap::new()),
        };
        if !ident(&name) {
            return Err(format!("bad sample name: {line}"));
        }
        let family = ["_total", "_bucket", "_count", "_sum", "_created", "_info"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| types.contains_key(*f)))
            .unwrap_or(&name);
        if !types.contains_key(family) {
            return Err(format!("sample of an undeclared family: {line}"));
        }
        samples.push((name, labels, value));
    }
    Ok((types, samples))
}

/// Every name a query may use: family names and their sample names.
fn exported_names(types: &BTreeMap<String, String>, samples: &[Sample]) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = samples.iter().map(|s| s.0.clone()).collect();
    for (family, kind) in types {
        names.insert(family.clone());
        let suffixes: &[&str] = match kind.as_str() {
            "counter" => &["_total", "_created"],
            "histogram" => &["_bucket", "_count", "_sum", "_created"],
            "info" => &["_info"],
            _ => &[],
        };
        for s in suffixes {
            names.insert(format!("{family}{s}"));
        }
    }
    names
}

fn value(samples: &[Sample], name: &str, label: Option<(&str, &str)>) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name && label.is_none_or(|(k, v)| l.get(k).map(String::as_str) == Some(v))
        })
        .map(|s| s.2)
}

#[test]
fn the_parser_refuses_malformed_expositions() {
    for bad in [
        "ledger_x 1\n# EOF\n",                             // undeclared family
        "# TYPE ledger_x gauge\nledger_x one\n# EOF\n",    // bad value
        "# TYPE ledger_x gauge\nledger_x 1\n",             // no EOF
        "# TYPE ledger_x gauge\nledger_x{a=1} 1\n# EOF\n", // unquoted label
        "# TYPE ledger_x wobble\nledger_x 1\n# EOF\n",     // unknown type
    ] {
        assert!(parse_openmetrics(bad).is_err(), "{bad}");
    }
    assert!(parse_openmetrics("# TYPE a counter\na_total{b=\"c\"} 2\n# EOF\n").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_parse_fill_under_load_and_the_dashboard_names_only_exported_metrics() {
    let keys: Vec<Keypair> = (0..4)
        .map(|i| Keypair::for_testing(&format!("metrics-validator-{i}")))
        .collect();
    let mut net = Net::new(&genesis(&keys, streamlet(100)));
    for (i, k) in keys.iter().enumerate() {
        let boot = if i == 0 { Vec::new() } else { vec![net.p2p(0)] };
        let mut c = net.config(i, k, boot, true);
        c.metrics.enabled = true;
        c.metrics.listen = "127.0.0.1:0".into();
        net.start(c).await;
    }
    let c0 = net.client(0).await;
    wait_until("finality", Duration::from_secs(30), || async {
        final_height(&c0).await >= 2
    })
    .await;
    // Load through node 0 (RPC admission there, gossip admission elsewhere).
    let mut txs = Vec::new();
    for k in 0..4usize {
        let mut w = Wallet::from_node(&c0, account(k)).await.unwrap();
        let m = w.market_id("BTC/USD").unwrap();
        for j in 0..5i64 {
            let (side, price) = if k % 2 == 0 {
                (Side::Sell, Decimal::new(10_000 + j, 2))
            } else {
                (Side::Buy, Decimal::new(10_004 - j, 2))
            };
            let tx = w.place_limit(m, side, price, Decimal::new(1, 1));
            txs.push(c0.submit_order(tx.into()).await.unwrap().tx_hash);
        }
    }
    wait_until("orders final", Duration::from_secs(60), || async {
        all_final(&c0, &txs).await
    })
    .await;
    // The block observer runs beside the driver: give it a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let addr0 = net.nodes[0].as_ref().unwrap().metrics_addr.unwrap();
    let addr1 = net.nodes[1].as_ref().unwrap().metrics_addr.unwrap();
    let (ctype, body) = scrape(addr0);
    assert_eq!(
        ctype,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let (types, samples) = parse_openmetrics(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));

    // Histograms filled by the load.
    let count = |name: &str, label| value(&samples, name, label).unwrap_or(0.0);
    assert!(
        count("ledger_submit_to_final_seconds_count", None) >= txs.len() as f64,
        "{body}"
    );
    assert!(count("ledger_block_txs_count", None) >= 1.0);
    assert!(count("ledger_block_size_bytes_count", None) >= 1.0);
    assert!(count("ledger_block_txs_sum", None) >= txs.len() as f64);
    for stage in ["admission", "consensus", "execution", "commit"] {
        assert!(
            count(
                "ledger_stage_duration_seconds_count",
                Some(("stage", stage))
            ) >= 1.0,
            "stage {stage} empty:\n{body}"
        );
    }
    // Gossip admission happens on the nodes that received the orders from node 0.
    let (_, body1) = scrape(addr1);
    let (_, samples1) = parse_openmetrics(&body1).unwrap();
    assert!(
        value(
            &samples1,
            "ledger_stage_duration_seconds_count",
            Some(("stage", "gossip"))
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{body1}"
    );
    assert!(value(&samples1, "ledger_submit_to_final_seconds_count", None).unwrap_or(0.0) >= 1.0);
    // Build, process, RocksDB and libp2p metrics.
    assert_eq!(value(&samples, "ledger_build_info", None), Some(1.0));
    assert!(value(&samples, "process_resident_memory_bytes", None).unwrap_or(0.0) > 1e6);
    assert!(value(&samples, "process_cpu_seconds_total", None).is_some());
    assert!(value(
        &samples,
        "ledger_rocksdb_estimated_keys",
        Some(("cf", "blocks"))
    )
    .is_some());
    assert!(
        samples.iter().any(|s| s.0.starts_with("libp2p_")),
        "no libp2p metrics"
    );
    assert!(types.contains_key("libp2p_swarm_connections_established"));

    // The dashboard's queries name only exported metrics.
    let names = exported_names(&types, &samples);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/grafana-dashboard.json");
    let dash: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).expect("dashboard JSON");
    let mut exprs = Vec::new();
    collect_exprs(&dash, &mut exprs);
    assert!(exprs.len() >= 10, "{exprs:?}");
    let mut used = BTreeSet::new();
    for e in &exprs {
        for token in e.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')) {
            if ["ledger_", "process_", "libp2p_"]
                .iter()
                .any(|p| token.starts_with(p))
            {
                used.insert(token.to_string());
            }
        }
    }
    let missing: Vec<&String> = used.iter().filter(|n| !names.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "the dashboard names metrics the node does not export: {missing:?}"
    );
    assert!(used.len() >= 20, "{used:?}");
    net.shutdown().await;
}

fn collect_exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                if (k == "expr" || k == "query") && x.is_string() {
                    out.push(x.as_str().unwrap_or_default().to_string());
                } else {
                    collect_exprs(x, out);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_exprs(x, out)),
        _ => {}
    }
}
