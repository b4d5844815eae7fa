//! `ledger-node testnet --hosts`: four validators at four real addresses, one network
//! namespace each (see `ledger_e2e::netns`), started from the generated folders exactly
//! as an operator would start them on four machines. Orders placed on two different
//! hosts trade, and every host reports the same final state root and book.
//!
//! Needs root and iproute2 (`ip netns`); skips with a message otherwise.

use ledger_e2e::binary;
use ledger_e2e::netns::NetnsLab;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RPC: &str = "http://127.0.0.1:29101";

/// Runs `ledger-cli --json ARGS` inside host `i`'s namespace against its own node.
fn cli(lab: &NetnsLab, i: usize, keys: &std::path::Path, args: &[&str]) -> (bool, Value, String) {
    let o = lab
        .command(i, binary("ledger-cli"))
        .env("LEDGER_KEYS_DIR", keys)
        .env_remove("LEDGER_RPC")
        .args(["--rpc", RPC, "--json", "--timeout", "10"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ledger-cli");
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (
        o.status.success(),
        v,
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

fn num(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

fn final_height(lab: &NetnsLab, i: usize, keys: &std::path::Path) -> u64 {
    let (ok, v, _) = cli(lab, i, keys, &["status"]);
    if ok {
        num(&v["final_height"])
    } else {
        0
    }
}

fn wait_all_final(lab: &NetnsLab, keys: &std::path::Path, height: u64, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let heights: Vec<u64> = (0..lab.len()).map(|i| final_height(lab, i, keys)).collect();
        if heights.iter().all(|h| *h >= height) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "final heights {heights:?} did not all reach {height}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn four_validators_at_four_addresses_finalize_orders_with_equal_roots() {
    if let Some(why) = NetnsLab::unavailable() {
        eprintln!("skipping the network-namespace test: {why}");
        return;
    }
    let mut lab = NetnsLab::create(4).expect("create the namespaces");
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let hosts: Vec<String> = lab.ips().iter().map(|ip| ip.to_string()).collect();
    let o = Command::new(binary("ledger-node"))
        .args([
            "testnet",
            "--hosts",
            &hosts.join(","),
            "--no-start",
            "--accounts",
            "16",
        ])
        .arg("--dir")
        .arg(&net)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "testnet --hosts: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // One folder per host, bootnodes naming the three others by address.
    for (i, h) in hosts.iter().enumerate() {
        let cfg = std::fs::read_to_string(net.join(h).join("config/node.toml")).unwrap();
        for (j, other) in hosts.iter().enumerate() {
            assert_eq!(
                cfg.contains(&format!("/ip4/{other}/tcp/29100/p2p/")),
                i != j,
                "{h}: {cfg}"
            );
        }
        assert!(net.join(h).join("keys/node.key").exists());
        assert!(net.join(h).join("config/genesis.toml").exists());
    }
    // Start each node in its namespace, as on its own machine.
    for (i, h) in hosts.iter().enumerate() {
        let log = std::fs::File::create(dir.path().join(format!("node-{i}.log"))).unwrap();
        let mut c = lab.command(i, binary("ledger-node"));
        c.arg("run")
            .arg("--config")
            .arg(net.join(h).join("config/node.toml"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        lab.spawn(c).expect("start a node");
    }
    let keys = dir.path().join("keys");
    let (ok, _, err) = cli(&lab, 0, &keys, &["keys", "test", "account-0"]);
    assert!(ok, "{err}");
    let (ok, _, err) = cli(&lab, 0, &keys, &["keys", "test", "account-1"]);
    assert!(ok, "{err}");
    let logs = || {
        (0..4)
            .map(|i| {
                std::fs::read_to_string(dir.path().join(format!("node-{i}.log")))
                    .unwrap_or_default()
                    .lines()
                    .rev()
                    .take(15)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    // Finality across the four hosts.
    let deadline = Instant::now() + Duration::from_secs(60);
    while final_height(&lab, 0, &keys) < 3 {
        assert!(
            Instant::now() < deadline,
            "no finality across the hosts:\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // A buy on host 0 and a crossing sell on host 1, each waited for until final.
    let (ok, buy, err) = cli(
        &lab,
        0,
        &keys,
        &[
            "order",
            "place",
            "--key",
            "account-0",
            "--market",
            "BTC/USD",
            "--side",
            "buy",
            "--price",
            "100",
            "--qty",
            "0.5",
            "--wait",
        ],
    );
    assert!(ok, "buy: {err}\n{}", logs());
    let (ok, sell, err) = cli(
        &lab,
        1,
        &keys,
        &[
            "order",
            "place",
            "--key",
            "account-1",
            "--market",
            "BTC/USD",
            "--side",
            "sell",
            "--price",
            "100",
            "--qty",
            "0.2",
            "--wait",
        ],
    );
    assert!(ok, "sell: {err}\n{}", logs());
    eprintln!("buy: {buy}\nsell: {sell}");
    let top = (0..4).map(|i| final_height(&lab, i, &keys)).max().unwrap();
    wait_all_final(&lab, &keys, top, Duration::from_secs(30));
    // Equal roots at one final height on every host, and the same book and trade.
    let h = top.to_string();
    let roots: Vec<String> = (0..4)
        .map(|i| {
            let (ok, v, err) = cli(&lab, i, &keys, &["block", &h]);
            assert!(ok, "block {h} on host {i}: {err}");
            v["state_root"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    eprintln!("final height {h}: roots {roots:?}");
    assert!(
        !roots[0].is_empty() && roots.iter().all(|r| *r == roots[0]),
        "{roots:?}"
    );
    // The same book (each node answers at its own latest height).
    let books: Vec<Value> = (0..4)
        .map(|i| {
            let mut b = cli(&lab, i, &keys, &["book", "BTC/USD"]).1;
            if let Some(o) = b.as_object_mut() {
                o.remove("block_height");
            }
            b
        })
        .collect();
    assert!(books.iter().all(|b| *b == books[0]), "{books:?}");
    let trades: Vec<Value> = (0..4)
        .map(|i| cli(&lab, i, &keys, &["trades", "BTC/USD"]).1)
        .collect();
    assert!(trades.iter().all(|t| *t == trades[0]), "{trades:?}");
    assert!(
        trades[0].to_string().contains("100"),
        "no trade: {}",
        trades[0]
    );
}
