//! End-to-end: cross-exchange arbitrage between two real 4-validator networks.
//!
//! `ledger-node testnet --networks 2` writes two networks (different chain ids); the test
//! starts their 8 nodes, noise traders on each (`ledger-cli noise`, a random walk per
//! network), a swap desk (`ledger-cli swap desk`) and `ledger-arb`. The bot starts a
//! rebalancing swap at once and is killed with SIGKILL in the middle of it; a restarted
//! bot (same state directory) finishes or refunds it and trades on. After at least 60 s
//! the test checks, from the chains themselves:
//!
//! * the bot took opportunities above its threshold (its summary, and its fills);
//! * its holdings over both networks did not lose value at the prices of the end;
//! * no bundle half-applied: every bundle in every block filled all its legs or none;
//! * every swap of the bot ended claimed or refunded (none open past its timeout), and
//!   the one interrupted by the kill ended after the restart;
//! * `ledger-arb report` writes the dashboard.
//!
//! `LEDGER_ARB_SECS=N` runs N seconds instead of 60 and prints the figures (the README's
//! numbers come from such runs); `LEDGER_ARB_KEEP=DIR` copies the state directory
//! (run log, journal) and the dashboard there.

use ledger_e2e::{binary, final_height, free_port_range, wait_until};
use ledger_rpc::{
    connect, AtomicApiClient, BlockSelector, LedgerApiClient, LedgerClient, MarketRef, SwapState,
    TxStatus,
};
use ledger_types::{Bundle, Decimal, Keypair, Payload};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BOT: &str = "account-50";
const DESK: &str = "account-40";

/// Child processes killed on drop.
struct Procs(Vec<(String, Child)>);

impl Procs {
    fn spawn(&mut self, name: &str, cmd: &mut Command, log: &Path) {
        let out = std::fs::File::create(log.join(format!("{name}.out"))).unwrap();
        let err = std::fs::File::create(log.join(format!("{name}.err"))).unwrap();
        let child = cmd
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        self.0.push((name.to_string(), child));
    }

    fn take(&mut self, name: &str) -> Option<Child> {
        let i = self.0.iter().position(|(n, _)| n == name)?;
        Some(self.0.remove(i).1)
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for (_, c) in self.0.iter_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(25)..].join("\n")
}

/// The swap journal's steps, by file.
fn journal(state: &Path) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(state.join("swaps")) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) == Some("json") {
                if let Ok(v) =
                    serde_json::from_str::<Value>(&std::fs::read_to_string(&p).unwrap_or_default())
                {
                    out.insert(p.file_name().unwrap().to_string_lossy().to_string(), v);
                }
            }
        }
    }
    out
}

fn step(j: &Value) -> String {
    j["swap"]["step"]["step"].as_str().unwrap_or("").to_string()
}

async fn client(url: &str) -> LedgerClient {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(c) = connect(url).await {
            if c.chain_status().await.is_ok() {
                return c;
            }
        }
        assert!(Instant::now() < deadline, "{url} not answering");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The end price of each value-carrying asset in USD: the average over both chains of
/// the book mid (or, where a book has an empty side at the end, the last trade).
async fn end_prices(chains: [&LedgerClient; 2]) -> BTreeMap<String, Decimal> {
    let mut out = BTreeMap::new();
    for m in ["BTC/USD", "ETH/USD"] {
        let mut seen = Vec::new();
        for c in chains {
            let b = c
                .get_order_book(MarketRef::Symbol(m.into()), Some(1))
                .await
                .unwrap();
            if let (Some(bid), Some(ask)) = (b.bids.first(), b.asks.first()) {
                seen.push((bid.price + ask.price) / Decimal::TWO);
            } else if let Some(t) = c
                .get_trades(MarketRef::Symbol(m.into()), Some(1), None)
                .await
                .unwrap()
                .items
                .first()
            {
                seen.push(t.price);
            }
        }
        assert!(!seen.is_empty(), "no price for {m} at the end");
        let avg = seen.iter().copied().sum::<Decimal>() / Decimal::from(seen.len());
        out.insert(m.split('/').next().unwrap().to_string(), avg);
    }
    out
}

async fn holdings(c: &LedgerClient, who: &Keypair) -> BTreeMap<String, Decimal> {
    let a = c.get_account(who.public()).await.unwrap();
    a.balances.into_iter().map(|b| (b.asset, b.total)).collect()
}

/// Checks every bundle in every final block of a chain: final bundles filled each leg
/// completely; refused ones left no order behind. Returns (executed, refused).
async fn check_bundles(c: &LedgerClient) -> (usize, usize) {
    let h = final_height(c).await;
    let (mut ok, mut refused) = (0, 0);
    for height in 1..=h {
        let b = c
            .get_block(BlockSelector::Height(height), Some(true))
            .await
            .unwrap();
        for tx in b.txs.unwrap_or_default() {
            let Payload::Bundle(bundle) = &tx.payload else {
                continue;
            };
            let hash = tx.hash.unwrap();
            let view = c.get_tx(hash).await.unwrap();
            for i in 0..bundle.legs.len() {
                let id = Bundle::leg_order_id(&hash, i);
                match view.status {
                    TxStatus::Final => {
                        let o = c.get_order(id).await.unwrap();
                        assert_eq!(o.filled, o.quantity, "bundle {hash} leg {i} half filled");
                    }
                    _ => assert!(
                        c.get_order(id).await.is_err(),
                        "refused bundle {hash} left leg {i} behind"
                    ),
                }
            }
            if view.status == TxStatus::Final {
                ok += 1;
            } else {
                refused += 1;
            }
        }
    }
    (ok, refused)
}

fn keys_dir_cmd(cli: &Path, keys: &Path) -> Command {
    let mut c = Command::new(cli);
    c.arg("--keys-dir").arg(keys);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_networks_noise_traders_and_an_arbitrage_bot_killed_mid_swap() {
    let secs: u64 = std::env::var("LEDGER_ARB_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
        .max(60);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let logs = root.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let (node, cli, arb) = (
        binary("ledger-node"),
        binary("ledger-cli"),
        binary("ledger-arb"),
    );
    let base = free_port_range(540);
    let pair = root.join("pair");
    let status = Command::new(&node)
        .args([
            "testnet",
            "--networks",
            "2",
            "--validators",
            "4",
            "--accounts",
            "64",
        ])
        .args(["--delta-ms", "150", "--no-start"])
        .arg("--dir")
        .arg(&pair)
        .arg("--base-port")
        .arg(base.to_string())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "ledger-node testnet --networks 2 failed");
    let nets: Value =
        serde_json::from_str(&std::fs::read_to_string(pair.join("networks.json")).unwrap())
            .unwrap();
    let networks = nets["networks"].as_array().unwrap().clone();
    assert_eq!(networks.len(), 2);
    assert_ne!(networks[0]["chain_id"], networks[1]["chain_id"]);

    let mut procs = Procs(Vec::new());
    for (n, net) in networks.iter().enumerate() {
        let tn: Value = serde_json::from_str(
            &std::fs::read_to_string(
                PathBuf::from(net["dir"].as_str().unwrap()).join("testnet.json"),
            )
            .unwrap(),
        )
        .unwrap();
        for (i, nd) in tn["nodes"].as_array().unwrap().iter().enumerate() {
            procs.spawn(
                &format!("net{n}-node{i}"),
                Command::new(&node)
                    .arg("run")
                    .arg("--config")
                    .arg(nd["config"].as_str().unwrap())
                    .env("RUST_LOG", "warn"),
                &logs,
            );
        }
    }
    let urls: Vec<String> = networks
        .iter()
        .map(|n| n["rpc_urls"][0].as_str().unwrap().to_string())
        .collect();
    let (ca, cb) = (client(&urls[0]).await, client(&urls[1]).await);
    for c in [&ca, &cb] {
        wait_until(
            "both networks finalize",
            Duration::from_secs(90),
            || async { final_height(c).await >= 2 },
        )
        .await;
    }
    let markets = ca.get_markets().await.unwrap();
    assert!(markets.iter().any(|m| m.symbol == "ETH/BTC"));

    // Noise traders, one random walk per network; a swap desk; the bot.
    let started = Instant::now();
    let total = secs + 10;
    for (n, url) in urls.iter().enumerate() {
        procs.spawn(
            &format!("noise{n}"),
            Command::new(&cli).arg("--rpc").arg(url).args([
                "noise",
                "--accounts",
                "8..16",
                "--rate",
                "6",
                "--volatility",
                "0.0012",
                "--seed",
                &(n + 1).to_string(),
                "--duration",
                &total.to_string(),
            ]),
            &logs,
        );
    }
    let keys = root.join("keys");
    let s = keys_dir_cmd(&cli, &keys)
        .args(["keys", "test", DESK, "--name", "desk"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(s.success());
    let desk = Keypair::for_testing(DESK).public();
    let bot_key = Keypair::for_testing(BOT);
    procs.spawn(
        "desk",
        keys_dir_cmd(&cli, &keys)
            .arg("--rpc")
            .arg(&urls[0])
            .args(["swap", "desk", "--key", "desk", "--rpc-b"])
            .arg(&urls[1])
            .args([
                "--serve", "BTC=5", "--serve", "USD=2000", "--serve", "ETH=50",
            ])
            .args([
                "--step-ms",
                "4000",
                "--margin-ms",
                "4000",
                "--interval",
                "0.3",
            ]),
        &logs,
    );
    let before = [holdings(&ca, &bot_key).await, holdings(&cb, &bot_key).await];
    let state = root.join("arb-state");
    let bot_args = |duration: u64| {
        let mut c = Command::new(&arb);
        c.arg("run")
            .arg("--networks")
            .arg(pair.join("networks.json"))
            .args(["--test-key", BOT, "--desk", &desk.to_hex()])
            .args([
                "--min-profit-bps",
                "4",
                "--max-notional",
                "USD=400",
                "--max-notional",
                "BTC=4",
            ])
            .args(["--max-inventory", "BTC=3", "--max-inventory", "ETH=30"])
            .args(["--swap-step-ms", "4000", "--swap-margin-ms", "4000"])
            .args(["--json", "--stats-every", "5", "--drain", "90"])
            .arg("--duration")
            .arg(duration.to_string())
            .arg("--state-dir")
            .arg(&state)
            .env("RUST_LOG", "info");
        c
    };
    // First run: a rebalancing swap starts at once; kill the bot in the middle of it.
    procs.spawn(
        "bot1",
        bot_args(secs).args(["--rebalance-now", "BTC=0.2"]),
        &logs,
    );
    let mut killed_at = String::new();
    wait_until(
        "the bot's swap to be under way",
        Duration::from_secs(60),
        || {
            let j = journal(&state);
            let s = j.values().next().map(step).unwrap_or_default();
            killed_at = s.clone();
            async move { matches!(s.as_str(), "awaiting_counter_lock" | "claim_pending") }
        },
    )
    .await;
    let mut bot1 = procs.take("bot1").unwrap();
    bot1.kill().unwrap(); // SIGKILL
    let _ = bot1.wait();
    let interrupted: Vec<String> = journal(&state).keys().cloned().collect();
    assert_eq!(interrupted.len(), 1);
    eprintln!("bot killed with its swap at {killed_at}");
    let lock_id: ledger_types::Hash = journal(&state).values().next().unwrap()["swap"]["lock_tx"]
        ["hash"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ca.get_swap(lock_id).await.unwrap().status, SwapState::Open);

    // Second run: resumes the swap from the journal and trades until the minute is up.
    let left = secs.saturating_sub(started.elapsed().as_secs()).max(20);
    procs.spawn("bot2", &mut bot_args(left), &logs);
    let mut bot2 = procs.take("bot2").unwrap();
    let deadline = Instant::now() + Duration::from_secs(left + 150);
    let code = loop {
        if let Some(s) = bot2.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = bot2.kill();
            panic!(
                "the bot did not stop; log:\n{}",
                tail(&logs.join("bot2.err"))
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        code.success(),
        "bot exited {code}:\n{}",
        tail(&logs.join("bot2.err"))
    );
    assert!(started.elapsed() >= Duration::from_secs(60));

    // The bot's figures (the last line of its JSON output).
    let out = std::fs::read_to_string(logs.join("bot2.out")).unwrap();
    let summary: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    eprintln!("bot summary: {summary:#}");
    // The dashboard (and, with LEDGER_ARB_KEEP, the run's files) before any assertion.
    let report = root.join("report");
    let s = Command::new(&arb)
        .args(["report", "--state-dir"])
        .arg(&state)
        .arg("--out")
        .arg(&report)
        .status()
        .unwrap();
    assert!(s.success());
    if let Ok(keep) = std::env::var("LEDGER_ARB_KEEP") {
        let keep = PathBuf::from(keep);
        let _ = std::fs::create_dir_all(&keep);
        for (from, name) in [
            (state.join("runlog.jsonl"), "runlog.jsonl"),
            (report.join("index.html"), "index.html"),
            (logs.join("bot1.err"), "bot1.err"),
            (logs.join("bot2.out"), "bot2.out"),
            (logs.join("bot2.err"), "bot2.err"),
            (logs.join("desk.out"), "desk.out"),
            (logs.join("noise0.err"), "noise0.err"),
        ] {
            let _ = std::fs::copy(from, keep.join(name));
        }
    }
    assert!(
        summary["opportunities_seen"].as_u64().unwrap() > 0,
        "no opportunity seen"
    );
    assert!(
        summary["executions_ok"].as_u64().unwrap() > 0,
        "no opportunity taken"
    );

    // The interrupted swap ended; every swap of the bot is claimed or refunded.
    for (f, j) in journal(&state) {
        assert!(
            matches!(step(&j).as_str(), "swapped" | "refunded" | "aborted"),
            "swap {f} not done: {j}"
        );
    }
    let a_swap = ca.get_swap(lock_id).await.unwrap();
    assert_ne!(
        a_swap.status,
        SwapState::Open,
        "the interrupted swap is stuck"
    );
    for (c, name) in [(&ca, "a"), (&cb, "b")] {
        let h = final_height(c).await;
        for s in c
            .get_swaps(bot_key.public(), Some(100), None)
            .await
            .unwrap()
            .items
        {
            assert!(
                s.status != SwapState::Open || s.terms.timeout_height > h,
                "swap {} on {name} open past its timeout",
                s.terms.swap_id
            );
        }
    }

    // No bundle half-applied, on either chain.
    let (ok_a, refused_a) = check_bundles(&ca).await;
    let (ok_b, refused_b) = check_bundles(&cb).await;
    eprintln!("bundles: a {ok_a} executed / {refused_a} refused, b {ok_b} / {refused_b}");
    assert!(
        ok_a + refused_a + ok_b + refused_b > 0,
        "the bot sent no bundle"
    );

    // Holdings over both networks did not lose value at the prices of the end. Swaps the
    // desk still has to refund (its lock answering ours) are waited for.
    wait_until("the desk to settle", Duration::from_secs(60), || async {
        let mut open = 0;
        for c in [&ca, &cb] {
            if let Ok(p) = c.get_swaps(desk, Some(100), None).await {
                open += p
                    .items
                    .iter()
                    .filter(|s| s.status == SwapState::Open && s.terms.owner == desk)
                    .count();
            }
        }
        open == 0
    })
    .await;
    let after = [holdings(&ca, &bot_key).await, holdings(&cb, &bot_key).await];
    let prices = end_prices([&ca, &cb]).await;
    let mut value = Decimal::ZERO;
    let mut per_asset = BTreeMap::new();
    for (b, a) in before.iter().zip(&after) {
        for (asset, amt) in a {
            *per_asset.entry(asset.clone()).or_insert(Decimal::ZERO) +=
                *amt - b.get(asset).copied().unwrap_or_default();
        }
    }
    for (asset, d) in &per_asset {
        let p = if asset == "USD" {
            Decimal::ONE
        } else {
            prices[asset]
        };
        value += *d * p;
    }
    eprintln!("profit per asset {per_asset:?}, valued at the end prices {prices:?}: {value} USD");
    assert!(
        value >= Decimal::ZERO,
        "the bot lost {value} USD: {per_asset:?}"
    );

    // The dashboard.
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(html.contains("Rebalancing swaps") && html.contains("<svg"));
}
