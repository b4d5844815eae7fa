//! The CLI against an in-process mock node (`common`): every query command, an order's
//! life (place, wait for its events, trade, list, cancel), transfers, the node refusing
//! (exit code 1), `watch` following blocks, and a short `bench` run with its JSON summary.

mod common;

use ledger_types::Keypair;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// Runs the CLI with `args` against `url` and a key directory, off the async runtime.
async fn run(url: &str, keys: &Path, args: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ledger-cli"));
    cmd.env_remove("LEDGER_RPC")
        .env_remove("LEDGER_KEY")
        .env("LEDGER_KEYS_DIR", keys)
        .arg("--rpc")
        .arg(url)
        .args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[track_caller]
fn ok(o: &Output) -> &Output {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        out(o),
        err(o)
    );
    o
}

#[track_caller]
fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}): {}\n{}", out(o), err(o)))
}

fn keys_dir() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("keys");
    (d, p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_and_refusals() {
    let mock = common::start(None).await;
    let url = mock.url();
    let (_d, keys) = keys_dir();
    let account0 = Keypair::for_testing("account-0").public().to_hex();

    let v = json(ok(&run(&url, &keys, &["--json", "status"]).await));
    assert_eq!(v["chain_id"], "ledger-test");
    assert_eq!(v["consensus"], "streamlet");
    assert_eq!(v["final_height"], "0");
    let text = out(ok(&run(&url, &keys, &["status"]).await));
    assert!(text.contains("ledger-test") && text.contains("final block"));

    let v = json(ok(&run(&url, &keys, &["--json", "markets"]).await));
    assert_eq!(v[0]["symbol"], "BTC/USD");
    assert_eq!(v[1]["symbol"], "ETH/USD");
    let text = out(ok(&run(&url, &keys, &["markets"]).await));
    assert!(text.contains("BTC/USD") && text.contains("0.0001"));

    let v = json(ok(&run(&url, &keys, &["--json", "validators"]).await));
    assert_eq!(v[0]["name"], "validator-0");
    let v = json(ok(&run(&url, &keys, &["--json", "peers"]).await));
    assert_eq!(v[0]["direction"], "outbound");
    assert!(out(ok(&run(&url, &keys, &["peers"]).await)).contains("12D3KooWPeer"));

    // balance by address (JSON and table).
    let v = json(ok(
        &run(&url, &keys, &["--json", "balance", &account0]).await
    ));
    assert_eq!(v["address"], account0.as_str());
    assert_eq!(v["next_nonce"], "0");
    let btc = v["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["asset"] == "BTC")
        .unwrap();
    assert_eq!(btc["free"], "100");
    let text = out(ok(&run(&url, &keys, &["balance", &account0]).await));
    assert!(text.contains("USD") && text.contains("10000000") && text.contains("FREE"));

    let v = json(ok(&run(&url, &keys, &["--json", "block"]).await));
    assert_eq!(v["height"], "0");
    let v = json(ok(&run(
        &url,
        &keys,
        &["--json", "block", "final", "--txs"],
    )
    .await));
    assert_eq!(v["txs"], serde_json::json!([]));
    assert!(out(ok(&run(&url, &keys, &["block", "0"]).await)).contains("state root"));

    let v = json(ok(&run(&url, &keys, &["--json", "book", "BTC-USD"]).await));
    assert_eq!(v["market"], "BTC/USD");
    assert!(out(ok(&run(&url, &keys, &["book", "BTC/USD"]).await)).contains("(empty)"));
    let v = json(ok(&run(&url, &keys, &["--json", "trades", "BTC/USD"]).await));
    assert_eq!(v["items"], serde_json::json!([]));

    // The node refuses: exit 1 with the JSON-RPC code, message and reason.
    let o = run(&url, &keys, &["book", "DOGE/USD"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let e = err(&o);
    assert!(
        e.contains("-32001") && e.contains("market_not_found"),
        "{e}"
    );
    assert!(e.contains(&url), "{e}");
    let o = run(&url, &keys, &["--json", "tx", &"00".repeat(32)]).await;
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["error"]["kind"], "rpc");
    assert_eq!(v["error"]["code"], -32001);
    assert_eq!(v["error"]["data"]["reason"], "tx_not_found");
    let o = run(&url, &keys, &["block", "99"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("block_not_found"));
    let o = run(
        &url,
        &keys,
        &["--json", "trades", "BTC/USD", "--limit", "500"],
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["error"]["code"], -32005);

    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_life_cycle() {
    let mock = common::start(Some(Duration::from_millis(50))).await;
    let url = mock.url();
    let (_d, keys) = keys_dir();
    ok(&run(&url, &keys, &["keys", "test", "account-0"]).await);
    ok(&run(&url, &keys, &["keys", "test", "account-1"]).await);

    // Client-side checks before signing: exit 2.
    let o = run(
        &url,
        &keys,
        &[
            "order",
            "place",
            "--key",
            "account-0",
            "--market",
            "BTC/USD",
            "--side",
            "sell",
            "--price",
            "100.555",
            "--qty",
            "0.5",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("tick size 0.01"), "{}", err(&o));
    let o = run(
        &url,
        &keys,
        &[
            "order",
            "place",
            "--key",
            "account-0",
            "--market",
            "BTC/USD",
            "--side",
            "sell",
            "--qty",
            "0.5",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("--price"));
    // An unknown market is the node's answer: exit 1.
    let o = run(
        &url,
        &keys,
        &[
            "order",
            "place",
            "--key",
            "account-0",
            "--market",
            "DOGE/USD",
            "--side",
            "sell",
            "--price",
            "1",
            "--qty",
            "1",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("BTC/USD"));

    // A resting sell, without waiting: JSON is the submission.
    let o = run(
        &url,
        &keys,
        &[
            "--json",
            "order",
            "place",
            "--key",
            "account-0",
            "--market",
            "BTC/USD",
            "--side",
            "sell",
            "--price",
            "100.50",
            "--qty",
            "0.5",
            "--client-id",
            "7",
        ],
    )
    .await;
    let placed = json(ok(&o));
    let sell_id = placed["order_id"].as_str().unwrap().to_string();
    assert_eq!(placed["tx_hash"], sell_id.as_str());
    assert_eq!(
        placed["client_order_id"],
        "00000000000000000000000000000007"
    );

    // A crossing buy with --wait: final, with its fill.
    let o = run(
        &url,
        &keys,
        &[
            "--json",
            "order",
            "place",
            "--key",
            "account-1",
            "--market",
            "BTC/USD",
            "--side",
            "buy",
            "--price",
            "101",
            "--qty",
            "0.2",
            "--wait",
        ],
    )
    .await;
    let tx = json(ok(&o));
    assert_eq!(tx["status"], "final");
    let types: Vec<&str> = tx["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["order_accepted", "fill"], "{tx}");
    let fill = &tx["events"][1];
    assert_eq!(fill["price"], "100.5");
    assert_eq!(fill["quantity"], "0.2");
    assert_eq!(fill["maker_order_id"], sell_id.as_str());
    let buy_hash = tx["hash"].as_str().unwrap().to_string();

    // The same in a table.
    let text = out(ok(&run(&url, &keys, &["tx", &buy_hash]).await));
    assert!(
        text.contains("final")
            && text.contains("fill")
            && text.contains("place_order: buy 0.2 BTC/USD @ 101"),
        "{text}"
    );

    // Book, trades, orders.
    let book = json(ok(&run(
        &url,
        &keys,
        &["--json", "book", "BTC/USD", "--depth", "5"],
    )
    .await));
    assert_eq!(book["asks"][0]["price"], "100.5");
    assert_eq!(book["asks"][0]["quantity"], "0.3");
    let text = out(ok(&run(&url, &keys, &["book", "BTC/USD"]).await));
    assert!(
        text.contains("ASK") && text.contains("100.5") && text.contains("0.3"),
        "{text}"
    );
    let trades = json(ok(&run(&url, &keys, &["--json", "trades", "BTC/USD"]).await));
    assert_eq!(trades["items"][0]["quantity"], "0.2");
    assert!(out(ok(&run(&url, &keys, &["trades", "BTC/USD"]).await)).contains("100.5"));
    let orders = json(ok(&run(
        &url,
        &keys,
        &["--json", "order", "list", "--key", "account-0", "--open"],
    )
    .await));
    assert_eq!(orders["items"][0]["order_id"], sell_id.as_str());
    assert_eq!(orders["items"][0]["filled"], "0.2");
    let text = out(ok(&run(
        &url,
        &keys,
        &["order", "list", "account-0", "--open"],
    )
    .await));
    assert!(text.contains(&sell_id) && text.contains("open"), "{text}");
    let v = json(ok(&run(&url, &keys, &["--json", "block", "latest"]).await));
    assert!(v["height"].as_str().unwrap().parse::<u64>().unwrap() >= 1);

    // A fill-or-kill that cannot fill: final but rejected by the engine, exit 1.
    let o = run(
        &url,
        &keys,
        &[
            "order",
            "place",
            "--key",
            "account-1",
            "--market",
            "BTC/USD",
            "--side",
            "buy",
            "--price",
            "101",
            "--qty",
            "5",
            "--tif",
            "fok",
            "--wait",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("fill_or_kill_unfilled"), "{}", err(&o));
    assert!(out(&o).contains("rejected"));

    // Cancel by client id, and wait: the rest is cancelled.
    let o = run(
        &url,
        &keys,
        &[
            "--json",
            "order",
            "cancel",
            "--key",
            "account-0",
            "--client-id",
            "7",
            "--wait",
        ],
    )
    .await;
    let tx = json(ok(&o));
    assert_eq!(tx["status"], "final");
    assert_eq!(tx["events"][0]["type"], "order_cancelled");
    assert_eq!(tx["events"][0]["remaining"], "0.3");
    let orders = json(ok(&run(
        &url,
        &keys,
        &["--json", "order", "list", "--key", "account-0", "--open"],
    )
    .await));
    assert_eq!(orders["items"], serde_json::json!([]));

    // Cancel all (human output), then by order id an order that is gone: rejected.
    let text = out(ok(&run(
        &url,
        &keys,
        &[
            "order",
            "cancel",
            "--key",
            "account-0",
            "--all",
            "--market",
            "BTC/USD",
        ],
    )
    .await));
    assert!(text.contains("every open order on BTC/USD"), "{text}");
    let o = run(
        &url,
        &keys,
        &[
            "order",
            "cancel",
            "--key",
            "account-1",
            "--order-id",
            &sell_id,
            "--wait",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("order_not_found"), "{}", err(&o));

    // A market order never rests: GTC is refused before signing.
    let o = run(
        &url,
        &keys,
        &[
            "order",
            "place",
            "--key",
            "account-1",
            "--market",
            "ETH/USD",
            "--side",
            "buy",
            "--type",
            "market",
            "--tif",
            "GTC",
            "--qty",
            "1",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(2));

    // Transfer to another key, by name, and wait.
    let bob = Keypair::for_testing("account-1").public().to_hex();
    let o = run(
        &url,
        &keys,
        &[
            "--json",
            "transfer",
            "--key",
            "account-0",
            "--to",
            "account-1",
            "--asset",
            "usd",
            "--amount",
            "1.5",
            "--wait",
        ],
    )
    .await;
    let tx = json(ok(&o));
    assert_eq!(tx["events"][0]["type"], "transferred");
    assert_eq!(tx["events"][0]["to"], bob.as_str());
    assert_eq!(tx["events"][0]["amount"], "1.5");
    let o = run(
        &url,
        &keys,
        &[
            "transfer",
            "--key",
            "account-0",
            "--to",
            &bob,
            "--asset",
            "DOGE",
            "--amount",
            "1",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("no asset"));

    // A batch: two quotes, then one replaced (cancel by client id + a new order), each
    // waited for with `submit_tx` `wait: "final"` and reported action by action.
    let batch = |args: &'static [&'static str]| {
        let mut v = vec![
            "--json",
            "order",
            "batch",
            "--key",
            "account-0",
            "--market",
            "BTC/USD",
        ];
        v.extend_from_slice(args);
        v.push("--wait");
        v
    };
    let o = run(
        &url,
        &keys,
        &batch(&["--place", "buy:90:0.1:21", "--place", "sell:120:0.1:22"]),
    )
    .await;
    let tx = json(ok(&o));
    assert_eq!(tx["status"], "final", "{tx}");
    assert_eq!(tx["payload"], Value::Null, "the view, not the transaction");
    let actions = tx["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 2);
    assert!(actions.iter().all(|a| a["status"] == "ok"), "{tx}");
    let o = run(
        &url,
        &keys,
        &batch(&["--cancel-client-id", "21", "--place", "buy:91:0.1:23"]),
    )
    .await;
    let tx = json(ok(&o));
    let types: Vec<&str> = tx["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["order_cancelled", "order_accepted", "order_rested"],
        "{tx}"
    );
    // A cancel of an order that is gone is that action's failure, not the batch's.
    let o = run(
        &url,
        &keys,
        &batch(&["--cancel-client-id", "21", "--place", "buy:92:0.1:24"]),
    )
    .await;
    let tx = json(ok(&o));
    assert_eq!(tx["actions"][0]["status"], "rejected");
    assert_eq!(
        tx["actions"][0]["error"]["data"]["reason"],
        "order_not_found"
    );
    assert_eq!(tx["actions"][1]["status"], "ok");
    let o = run(
        &url,
        &keys,
        &[
            "order",
            "batch",
            "--key",
            "account-0",
            "--market",
            "BTC/USD",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(2), "an empty batch is a usage error");

    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_follows_blocks_and_trades() {
    use std::io::{BufRead, BufReader};
    let mock = common::start(None).await;
    let url = mock.url();
    let (_d, keys) = keys_dir();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ledger-cli"))
        .env_remove("LEDGER_RPC")
        .env("LEDGER_KEYS_DIR", &keys)
        .args(["--rpc", &url, "--json", "watch"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Produce blocks until watch reports one (it subscribes after it starts).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let line = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "watch printed nothing"
        );
        mock.node.produce_block();
        match tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
            Ok(Some(line)) => break line,
            Ok(None) => panic!("watch exited early"),
            Err(_) => continue,
        }
    };
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["type"], "block");
    assert!(v["block"]["height"].is_string());
    // Ctrl-C stops it with exit code 0.
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_reports_a_json_summary() {
    let mock = common::start(Some(Duration::from_millis(100))).await;
    let url = mock.url();
    let (tmp, keys) = keys_dir();
    // Endpoints and accounts from a testnet.json, as `ledger-node testnet` writes it.
    let testnet = tmp.path().join("testnet.json");
    let accounts: Vec<Value> = (0..common::ACCOUNTS)
        .map(|i| serde_json::json!({"name": format!("account-{i}")}))
        .collect();
    std::fs::write(
        &testnet,
        serde_json::json!({"nodes": [{"name": "node-0", "rpc_url": url}], "accounts": accounts})
            .to_string(),
    )
    .unwrap();
    let o = run(
        "http://127.0.0.1:1",
        &keys,
        &[
            "--json",
            "bench",
            "--duration",
            "2",
            "--testnet",
            testnet.to_str().unwrap(),
            "--verify-seconds",
            "0.2",
            "--drain",
            "5",
            "--batch",
            "16",
            "--concurrency",
            "4",
        ],
    )
    .await;
    ok(&o);
    let text = out(&o);
    let last = text.lines().last().expect("a summary line");
    assert_eq!(
        text.lines().count(),
        1,
        "only the summary on stdout: {text}"
    );
    let v: Value = serde_json::from_str(last).unwrap();
    let n = |k: &str| {
        v[k].as_f64()
            .unwrap_or_else(|| panic!("{k} missing or not a number: {v}"))
    };
    assert!(n("submitted") > 0.0, "{v}");
    assert!(n("finalized") > 0.0, "{v}");
    assert!(n("finalized") <= n("submitted"), "{v}");
    assert_eq!(n("rejected_at_submit"), 0.0, "{v}");
    assert!(n("final_orders_per_sec") > 0.0, "{v}");
    for p in ["p50", "p95", "p99"] {
        assert!(v["latency_ms"][p].as_f64().unwrap() > 0.0, "{v}");
    }
    assert!(v["latency_ms"]["p50"].as_f64() <= v["latency_ms"]["p99"].as_f64());
    assert!(n("sig_verify_per_sec") > 0.0);
    assert_eq!(n("validators"), 1.0);
    assert_eq!(n("accounts"), f64::from(common::ACCOUNTS));
    assert_eq!(v["endpoints"][0], url.as_str());
    // One validator: the ceiling is the whole verification rate.
    assert!(
        (n("signature_ceiling") - n("sig_verify_per_sec")).abs() < 1.0,
        "{v}"
    );
    let frac = n("final_orders_per_sec") / n("signature_ceiling");
    assert!((n("ceiling_fraction") - frac).abs() < 0.001, "{v}");
    assert!(n("blocks") > 0.0);
    assert!(n("trades") > 0.0, "the mix trades: {v}");
    assert!(mock.node.trade_count() > 0);
    // Every finalized transaction was checked against the node: the engine accepted
    // nearly all of the sample.
    let sample = &v["engine_rejected_sample"];
    assert!(sample["sampled"].as_u64().unwrap() > 0, "{v}");

    // More accounts than the genesis funds: a clear error, exit 1.
    let o = run(
        &url,
        &keys,
        &[
            "bench",
            "--duration",
            "1",
            "--accounts",
            "9",
            "--verify-seconds",
            "0",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("account-8"), "{}", err(&o));
    mock.stop().await;
}

/// Serves the mock node for manual runs of the CLI:
/// `LEDGER_CLI_MOCK_SECS=60 cargo test --release -p ledger-cli --test node -- --ignored --nocapture serve_mock`
/// prints its URL and produces a block every 100 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "manual: serves a mock node for LEDGER_CLI_MOCK_SECS seconds"]
async fn serve_mock() {
    let secs: u64 = std::env::var("LEDGER_CLI_MOCK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let mock = common::start(Some(Duration::from_millis(100))).await;
    println!("mock node at {} for {secs} s", mock.url());
    tokio::time::sleep(Duration::from_secs(secs)).await;
    mock.stop().await;
}
