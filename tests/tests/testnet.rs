//! End-to-end: real `ledger-node` processes from `ledger-node testnet` files, on loopback.

use ledger_e2e::*;
use ledger_rpc::{LedgerApiClient, LedgerClient, MarketRef, Wallet};
use ledger_types::{Decimal, Keypair, Side, TxHash};
use std::time::Duration;

fn account(i: usize) -> Keypair {
    Keypair::for_testing(&format!("account-{i}"))
}

/// Submits `per_account` crossing orders from each account through the given clients.
async fn submit_orders(
    clients: &[&LedgerClient],
    accounts: std::ops::Range<usize>,
    per_account: i64,
) -> Vec<TxHash> {
    let mut hashes = Vec::new();
    for (n, k) in accounts.enumerate() {
        let client = clients[n % clients.len()];
        let mut wallet = Wallet::from_node(client, account(k)).await.unwrap();
        let m = wallet.market_id("BTC/USD").unwrap();
        for j in 0..per_account {
            let (side, price) = if k % 2 == 0 {
                (Side::Sell, Decimal::new(10_000 + (j % 5) * 10, 2))
            } else {
                (Side::Buy, Decimal::new(10_040 - (j % 5) * 10, 2))
            };
            let tx = wallet.place_limit(m, side, price, Decimal::new(1, 1));
            match client.submit_order(tx.into()).await {
                Ok(r) => hashes.push(r.tx_hash),
                Err(e) => panic!("submit failed: {e}"),
            }
        }
    }
    hashes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_trade_and_agree_then_survive_a_kill_and_a_late_joiner() {
    let mut net = Testnet::create(&["--validators", "4", "--delta-ms", "100"]);
    net.start_all();
    let c: Vec<LedgerClient> = futures_join(&net, 0..4).await;
    wait_until("first final blocks", Duration::from_secs(60), || async {
        final_height(&c[0]).await >= 3
    })
    .await;

    // Orders from several accounts through different nodes are matched and final.
    let refs: Vec<&LedgerClient> = c.iter().collect();
    let txs = submit_orders(&refs, 0..8, 5).await;
    for (i, cl) in c.iter().enumerate() {
        wait_until(
            &format!("orders final on node {i}"),
            Duration::from_secs(60),
            || all_final(cl, &txs),
        )
        .await;
    }
    let trades = c[0]
        .get_trades(MarketRef::Symbol("BTC/USD".into()), Some(100), None)
        .await
        .unwrap();
    assert!(!trades.items.is_empty(), "crossing orders should trade");
    let h = assert_same_roots(&refs).await;
    assert!(h >= 3);
    eprintln!(
        "4 validators: {} orders final, {} trades, equal roots at heights 1..={h}",
        txs.len(),
        trades.items.len()
    );

    // Kill one validator with SIGKILL under load: the other three keep finalizing.
    // Orders keep arriving (through node-0) while node-3 is killed.
    let url0 = net.info.nodes[0].rpc_url.clone();
    let background = tokio::spawn(async move {
        let c0 = ledger_rpc::connect(&url0).await.unwrap();
        let mut w = Wallet::from_node(&c0, account(20)).await.unwrap();
        let m = w.market_id("BTC/USD").unwrap();
        let mut accepted = Vec::new();
        for j in 0..60i64 {
            let tx = w.place_limit(m, Side::Buy, Decimal::new(9_000 + j, 2), Decimal::new(1, 1));
            accepted.push(c0.submit_order(tx.into()).await.unwrap().tx_hash);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        accepted
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    net.kill(3);
    let mut load = submit_orders(&refs[..3], 8..14, 10).await;
    load.extend(background.await.unwrap());
    let before = final_height(&c[0]).await;
    wait_until(
        "three validators to keep finalizing",
        Duration::from_secs(60),
        || async { final_height(&c[0]).await >= before + 5 && all_final(&c[0], &load).await },
    )
    .await;

    eprintln!(
        "node-3 killed at final height {before}; 3 validators reached {}",
        final_height(&c[0]).await
    );
    // Restart it: it catches up and converges to the same roots.
    net.start(3);
    let c3 = net.client(3).await;
    let target = final_height(&c[0]).await;
    wait_until(
        "the restarted validator to catch up",
        Duration::from_secs(90),
        || async { final_height(&c3).await >= target },
    )
    .await;
    assert!(all_final(&c3, &load).await);
    let h = assert_same_roots(&[&c[0], &c[1], &c[2], &c3]).await;
    eprintln!("node-3 restarted and converged: equal roots at heights 1..={h}");

    // A full node started late syncs from genesis to the head.
    let j = net.add_full_node();
    assert_eq!(net.info.nodes[j].role, "full");
    net.start(j);
    let cj = net.client(j).await;
    let target = final_height(&c[0]).await;
    wait_until(
        "the late full node to sync",
        Duration::from_secs(90),
        || async { final_height(&cj).await >= target },
    )
    .await;
    assert!(all_final(&cj, &txs).await);
    let h = assert_same_roots(&[&c[0], &cj]).await;
    eprintln!("late full node synced from genesis: equal roots at heights 1..={h}");

    // SIGTERM stops every node cleanly (exit code 0).
    for i in 0..net.procs.len() {
        assert!(
            net.stop(i),
            "node {i} did not stop cleanly:\n{}",
            net.log_tail(i)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nakamoto_miners_finalize_at_depth_k_and_converge() {
    let mut net = Testnet::create(&[
        "--consensus",
        "nakamoto",
        "--validators",
        "3",
        "--block-ms",
        "400",
        "--finality-depth",
        "3",
    ]);
    net.start_all();
    let c: Vec<LedgerClient> = futures_join(&net, 0..3).await;
    wait_until("mined final blocks", Duration::from_secs(90), || async {
        final_height(&c[0]).await >= 3
    })
    .await;
    let refs: Vec<&LedgerClient> = c.iter().collect();
    let txs = submit_orders(&refs, 0..4, 3).await;
    for (i, cl) in c.iter().enumerate() {
        wait_until(
            &format!("orders final on miner {i}"),
            Duration::from_secs(120),
            || all_final(cl, &txs),
        )
        .await;
    }
    // Final means k deep on the best chain.
    let s = c[0].chain_status().await.unwrap();
    assert!(s.latest_height + 1 >= s.final_height + 3, "{s:?}");
    let h = assert_same_roots(&refs).await;
    eprintln!(
        "3 miners: {} orders final, best height {}, final height {}, equal roots at 1..={h}",
        txs.len(),
        s.latest_height,
        s.final_height
    );
    for i in 0..3 {
        assert!(
            net.stop(i),
            "miner {i} did not stop cleanly:\n{}",
            net.log_tail(i)
        );
    }
}

async fn futures_join(net: &Testnet, nodes: std::ops::Range<usize>) -> Vec<LedgerClient> {
    let mut out = Vec::new();
    for i in nodes {
        out.push(net.client(i).await);
    }
    out
}
