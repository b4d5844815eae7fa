//! Nodes on real libp2p over loopback, in one test process: orders submitted through
//! different nodes become final with equal state roots everywhere; a late node syncs;
//! Nakamoto with three miners does the same.

mod common;

use common::*;
use ledger_rpc::{LedgerApiClient, MarketRef, Wallet};
use ledger_types::{Decimal, Keypair, Side, TxHash};
use std::time::Duration;

fn validators(n: usize) -> Vec<Keypair> {
    (0..n)
        .map(|i| Keypair::for_testing(&format!("it-validator-{i}")))
        .collect()
}

/// Submits crossing orders from four accounts through four different nodes.
async fn trade_through(net: &Net, nodes: &[usize]) -> Vec<TxHash> {
    let mut hashes = Vec::new();
    for (k, &node) in nodes.iter().enumerate() {
        let client = net.client(node).await;
        let mut wallet = Wallet::from_node(&client, account(k)).await.unwrap();
        let m = wallet.market_id("BTC/USD").unwrap();
        for j in 0..5i64 {
            // Even accounts sell, odd accounts buy, at overlapping prices.
            let (side, price) = if k % 2 == 0 {
                (Side::Sell, Decimal::new(10_000 + j * 10, 2))
            } else {
                (Side::Buy, Decimal::new(10_040 - j * 10, 2))
            };
            let tx = wallet.place_limit(m, side, price, Decimal::new(5, 1));
            let r = client.submit_order(tx.into()).await.unwrap();
            hashes.push(r.tx_hash);
        }
    }
    hashes
}

async fn check_equal_roots(net: &Net, nodes: &[usize]) -> u64 {
    let mut clients = Vec::new();
    for &i in nodes {
        clients.push(net.client(i).await);
    }
    let mut h = u64::MAX;
    for c in &clients {
        h = h.min(final_height(c).await);
    }
    let reference = roots(&clients[0], h).await;
    assert!(reference.iter().all(|(_, r)| r.is_some()));
    for c in &clients[1..] {
        assert_eq!(roots(c, h).await, reference, "state roots differ");
    }
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_streamlet_validators_agree_on_trades_and_roots() {
    let keys = validators(4);
    let mut net = Net::new(&genesis(&keys, streamlet(100)));
    net.start_validators(&keys).await;
    let c0 = net.client(0).await;
    wait_until("first final blocks", Duration::from_secs(30), || async {
        final_height(&c0).await >= 3
    })
    .await;

    let txs = trade_through(&net, &[0, 1, 2, 3]).await;
    for i in 0..4 {
        let c = net.client(i).await;
        wait_until(
            "orders final on every node",
            Duration::from_secs(60),
            || {
                let (c, txs) = (&c, &txs);
                async move { all_final(c, txs).await }
            },
        )
        .await;
    }
    // Orders crossed: trades happened, and every node saw the same ones.
    let trades = c0
        .get_trades(MarketRef::Symbol("BTC/USD".into()), None, None)
        .await
        .unwrap();
    assert!(!trades.items.is_empty(), "crossing orders should trade");
    for i in 1..4 {
        let t = net
            .client(i)
            .await
            .get_trades(MarketRef::Symbol("BTC/USD".into()), None, None)
            .await
            .unwrap();
        assert_eq!(t.items, trades.items);
    }
    let height = check_equal_roots(&net, &[0, 1, 2, 3]).await;
    assert!(height >= 4);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_late_node_with_one_bootnode_syncs_and_follows() {
    let keys = validators(4);
    let mut net = Net::new(&genesis(&keys, streamlet(100)));
    net.start_validators(&keys).await;
    let c0 = net.client(0).await;
    let txs = trade_through(&net, &[0, 1]).await;
    wait_until("history to sync", Duration::from_secs(60), || async {
        final_height(&c0).await >= 25 && all_final(&c0, &txs).await
    })
    .await;
    // A full node that knows only node 0.
    let late = Keypair::for_testing("it-late");
    let c = net.config(4, &late, vec![net.p2p(0)], false);
    let i = net.start(c).await;
    let cl = net.client(i).await;
    let target = final_height(&c0).await;
    wait_until("late node to catch up", Duration::from_secs(60), || async {
        final_height(&cl).await >= target
    })
    .await;
    // ... and to follow new blocks.
    wait_until("late node to follow", Duration::from_secs(30), || async {
        final_height(&cl).await >= target + 5
    })
    .await;
    assert!(all_final(&cl, &txs).await);
    check_equal_roots(&net, &[0, i]).await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nakamoto_miners_finalize_at_depth_k_and_agree() {
    let keys = validators(3);
    let mut net = Net::new(&genesis(&keys, nakamoto(300, 3)));
    net.start_validators(&keys).await;
    let c0 = net.client(0).await;
    wait_until(
        "mined and final blocks",
        Duration::from_secs(60),
        || async { final_height(&c0).await >= 2 },
    )
    .await;
    let txs = trade_through(&net, &[0, 1, 2, 0]).await;
    for i in 0..3 {
        let c = net.client(i).await;
        wait_until(
            "orders final on every miner",
            Duration::from_secs(90),
            || {
                let (c, txs) = (&c, &txs);
                async move { all_final(c, txs).await }
            },
        )
        .await;
    }
    // Finality at depth k: the final tip is k blocks below the best tip (or less, for a
    // moment, while a new block propagates).
    let s = c0.chain_status().await.unwrap();
    assert!(s.latest_height >= s.final_height + 3 - 1, "{s:?}");
    check_equal_roots(&net, &[0, 1, 2]).await;
    net.shutdown().await;
}
