//! End-to-end trading API for bots on a 4-validator testnet (real `ledger-node`
//! processes on loopback): a market-making loop that replaces 20 quotes per block
//! through batches, submit-and-wait, expired transactions, good-till orders, the dead
//! man's switch, account history against the market's trades, candles and 24-hour
//! stats, `get_txs`, `subscribe_tx` and `rpc.discover`.

use ledger_e2e::*;
use ledger_rpc::{
    connect, ActionStatus, ApiError, LedgerApiClient, LedgerClient, MarketRef, Order, OrderStatus,
    OrderStatusFilter, TradeView, TxStatus, TxView, WaitFor, Wallet,
};
use ledger_types::{
    batch_order_id, BatchAction, CancelOrder, ClientOrderId, Decimal, Keypair, MarketId, OrderRef,
    Side, SignedTx,
};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

fn account(i: usize) -> Keypair {
    Keypair::for_testing(&format!("account-{i}"))
}

/// Submits with `wait: "final"` and returns the final view (the receipt).
async fn submit_final(c: &LedgerClient, tx: SignedTx) -> TxView {
    let r = c
        .submit_tx(tx.into(), Some(WaitFor::Final), Some(30_000))
        .await
        .expect("submit_tx wait final");
    let v = *r.tx.expect("a waited submit returns the transaction");
    assert!(
        matches!(v.status, TxStatus::Final | TxStatus::Rejected),
        "wait final returned {:?}",
        v.status
    );
    v
}

async fn open_orders(c: &LedgerClient, who: &Wallet) -> Vec<ledger_rpc::OrderView> {
    c.get_orders(
        who.address(),
        None,
        Some(OrderStatusFilter::Open),
        Some(100),
        None,
    )
    .await
    .unwrap()
    .items
}

/// Every trade of the market, newest first, following the cursors.
async fn all_trades(c: &LedgerClient) -> Vec<TradeView> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = c
            .get_trades(MarketRef::Symbol("BTC/USD".into()), Some(100), cursor)
            .await
            .unwrap();
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_trade_through_batches_waits_expiry_and_history() {
    let started = Instant::now();
    let mut net = Testnet::create(&["--validators", "4", "--delta-ms", "100"]);
    net.start_all();
    let c = net.client(0).await;
    for i in 1..4 {
        net.client(i).await;
    }
    wait_until("first final blocks", Duration::from_secs(60), || async {
        final_height(&c).await >= 2
    })
    .await;

    // ------------------------------------------------------------------ market making
    // account-0 quotes 10 bids and 10 asks and replaces all 20 each round with two
    // batches (10 cancels by client id + 10 new quotes each); account-1 takes some.
    let mut mm = Wallet::from_node(&c, account(0)).await.unwrap();
    let mut taker = Wallet::from_node(&c, account(1)).await.unwrap();
    let m = mm.market_id("BTC/USD").unwrap();
    let rounds = 6u128;
    let mut waited_heights = Vec::new();
    let mut rejected_cancels = 0;
    for round in 0..rounds {
        let mid = 10_000 + (round as i64) * 5; // cents
        let mut txs = Vec::new();
        for half in 0..2u128 {
            let mut actions = Vec::new();
            for k in 0..10u128 {
                let slot = half * 10 + k;
                if round > 0 {
                    actions.push(BatchAction::CancelOrder(CancelOrder {
                        order: OrderRef::ClientOrderId(ClientOrderId((round - 1) << 32 | slot)),
                    }));
                }
                let (side, price) = if slot < 10 {
                    (Side::Buy, mid - 10 - slot as i64)
                } else {
                    (Side::Sell, mid + 10 + (slot - 10) as i64)
                };
                actions.push(BatchAction::PlaceOrder(
                    Order::limit(m, side, Decimal::new(price, 2), Decimal::new(1, 1))
                        .client_order_id(round << 32 | slot)
                        .build(),
                ));
            }
            txs.push(mm.batch(actions));
        }
        // The first batch is sent without waiting, the second with `wait: "final"`.
        c.submit_tx(txs[0].clone().into(), None, None)
            .await
            .unwrap();
        let view = submit_final(&c, txs[1].clone()).await;
        assert_eq!(view.status, TxStatus::Final);
        waited_heights.push(view.block_height.unwrap());
        let first = c.get_tx(txs[0].hash()).await.unwrap();
        for v in [&first, &view] {
            let actions = v.actions.as_ref().expect("a final batch lists its actions");
            assert_eq!(actions.len(), if round == 0 { 10 } else { 20 });
            // Every new quote is placed; a cancel fails (alone) only for a quote the
            // taker filled in the previous round.
            for a in actions.iter() {
                let is_cancel = round > 0 && a.index % 2 == 0;
                if a.status == ActionStatus::Rejected {
                    assert!(is_cancel, "round {round}: {a:?}");
                    assert_eq!(
                        a.error.as_ref().and_then(|e| e.reason()),
                        Some("order_not_found")
                    );
                    rejected_cancels += 1;
                } else {
                    assert_eq!(a.order_id.is_some(), !is_cancel, "{a:?}");
                }
            }
            for a in actions.iter().filter(|a| a.order_id.is_some()) {
                assert_eq!(a.order_id, Some(batch_order_id(&v.hash, a.index)));
            }
        }
        // Exactly this round's 20 quotes rest (minus what the taker filled).
        let open = open_orders(&c, &mm).await;
        assert!(open.len() <= 20);
        assert!(open
            .iter()
            .all(|o| o.client_order_id.map(|c| c.0 >> 32) == Some(round)));
        if round % 2 == 1 {
            // The taker lifts the best two asks.
            let buy = taker.place(
                Order::limit(m, Side::Buy, Decimal::new(mid + 11, 2), Decimal::new(2, 1)).ioc(),
            );
            let v = submit_final(&c, buy).await;
            assert!(v
                .events
                .iter()
                .any(|e| matches!(e, ledger_rpc::EventView::Fill(_))));
        }
    }
    // The taker filled two asks in rounds 1 and 3; rounds 2 and 4 failed to cancel them.
    assert_eq!(rejected_cancels, 4);
    eprintln!(
        "market making: {rounds} rounds of 20 quote replacements in batches, final at heights {waited_heights:?}"
    );

    // ------------------------------------------------------------------------ expiry
    let h = final_height(&c).await;
    let mut w2 = Wallet::from_node(&c, account(2)).await.unwrap();
    let stale = w2.sign_until(
        ledger_types::Payload::PlaceOrder(
            Order::limit(m, Side::Buy, Decimal::from(99), Decimal::ONE).build(),
        ),
        Some(h.saturating_sub(1)),
    );
    let err = c.submit_tx(stale.into(), None, None).await.unwrap_err();
    let api = ApiError::from_client_error(&err).expect("an error object");
    assert_eq!((api.code, api.reason()), (-32003, Some("tx_expired")));
    assert_eq!(api.field(), Some("valid_until_height"));
    w2.resync(&c).await.unwrap();

    // A good-till order expires after its height, with an event.
    let h = final_height(&c).await;
    let gtd =
        w2.place(Order::limit(m, Side::Buy, Decimal::from(90), Decimal::ONE).good_till(h + 3));
    let gtd_id = gtd.hash();
    assert_eq!(submit_final(&c, gtd).await.status, TxStatus::Final);
    wait_until(
        "the good-till order to expire",
        Duration::from_secs(60),
        || async { c.get_order(gtd_id).await.ok().map(|o| o.status) == Some(OrderStatus::Expired) },
    )
    .await;

    // ------------------------------------------------------------- dead man's switch
    let mut w3 = Wallet::from_node(&c, account(3)).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..3 {
        let tx = w3.place(Order::limit(
            m,
            Side::Buy,
            Decimal::from(80 + i),
            Decimal::ONE,
        ));
        ids.push(tx.hash());
        c.submit_tx(tx.into(), None, None).await.unwrap();
    }
    let at = final_height(&c).await + 6;
    let sc = submit_final(&c, w3.schedule_cancel(Some(at))).await;
    assert_eq!(sc.status, TxStatus::Final);
    assert!(sc.block_height.unwrap() < at);
    assert_eq!(open_orders(&c, &w3).await.len(), 3);
    wait_until(
        "the scheduled cancel height",
        Duration::from_secs(60),
        || async { final_height(&c).await >= at },
    )
    .await;
    assert!(open_orders(&c, &w3).await.is_empty());
    for id in &ids {
        let o = c.get_order(*id).await.unwrap();
        assert_eq!(o.status, OrderStatus::Cancelled);
        assert_eq!(
            o.updated_height,
            Some(at),
            "cancelled at the switch's height"
        );
    }

    // --------------------------------------------------------------- account history
    let transfer = submit_final(
        &c,
        taker.transfer(w3.address(), ledger_types::AssetId(1), Decimal::from(5)),
    )
    .await;
    assert_eq!(transfer.status, TxStatus::Final);
    let trades = all_trades(&c).await;
    for who in [&mm, &taker] {
        let mut fills = Vec::new();
        let mut cursor = None;
        loop {
            let page = c
                .get_account_fills(who.address(), Some(3), cursor)
                .await
                .unwrap();
            fills.extend(page.items);
            match page.next_cursor {
                Some(x) => cursor = Some(x),
                None => break,
            }
        }
        let expected: Vec<&TradeView> = trades
            .iter()
            .filter(|t| t.maker == who.address() || t.taker == who.address())
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(
            fills.iter().collect::<Vec<_>>(),
            expected,
            "fills of {}",
            who.address()
        );
    }
    let sent = c
        .get_account_transfers(taker.address(), None, None)
        .await
        .unwrap();
    let got = c
        .get_account_transfers(w3.address(), None, None)
        .await
        .unwrap();
    assert_eq!(sent.items, got.items);
    assert_eq!(sent.items.len(), 1);
    assert_eq!(sent.items[0].amount, Decimal::from(5));
    assert_eq!(sent.items[0].tx_hash, transfer.hash);
    // The market maker's transactions: every batch, newest first, paged by 4.
    let mut txs = Vec::new();
    let mut cursor = None;
    loop {
        let page = c
            .get_account_txs(mm.address(), Some(4), cursor)
            .await
            .unwrap();
        txs.extend(page.items);
        match page.next_cursor {
            Some(x) => cursor = Some(x),
            None => break,
        }
    }
    assert_eq!(txs.len() as u128, rounds * 2);
    assert!(txs
        .windows(2)
        .all(|w| w[0].block_height >= w[1].block_height));
    let w3_txs = c.get_account_txs(w3.address(), None, None).await.unwrap();
    assert_eq!(
        w3_txs.items[0].hash, transfer.hash,
        "received transfers are listed"
    );

    // ------------------------------------------------------------ candles and stats
    let candles = c
        .get_candles(MarketRef::Symbol("BTC/USD".into()), "1m".into(), None, None)
        .await
        .unwrap();
    let n: u64 = candles.items.iter().map(|k| k.trades).sum();
    assert_eq!(n, trades.len() as u64);
    let blocks = c
        .get_candles(
            MarketRef::Symbol("BTC/USD".into()),
            "10b".into(),
            Some(100),
            None,
        )
        .await
        .unwrap();
    assert_eq!(blocks.items.iter().map(|k| k.trades).sum::<u64>(), n);
    let stats = c
        .get_market_stats(MarketRef::Symbol("BTC/USD".into()))
        .await
        .unwrap();
    assert_eq!(stats.trades, n);
    assert_eq!(stats.last_price, Some(trades[0].price));
    assert_eq!(stats.close, Some(trades[0].price));
    assert!(
        trades.iter().all(|t| t.time_ms > 1_600_000_000_000),
        "trades carry block time"
    );
    let b = c
        .get_block(ledger_rpc::BlockSelector::Final, None)
        .await
        .unwrap();
    assert!(b.time_ms >= trades[0].time_ms);

    // ------------------------------------------------- get_txs, subscribe_tx, discover
    let many = c
        .get_txs(vec![transfer.hash, sc.hash, ledger_types::Hash::ZERO])
        .await
        .unwrap();
    assert_eq!(many.len(), 3);
    assert_eq!(many[0].as_ref().map(|v| v.hash), Some(transfer.hash));
    assert!(many[2].is_none());

    let ws = connect(&net.info.nodes[1].rpc_url.replace("http://", "ws://"))
        .await
        .unwrap();
    let tx = taker.place(Order::limit(
        m,
        Side::Sell,
        Decimal::from(200),
        Decimal::ONE,
    ));
    let hash = tx.hash();
    c.submit_tx(tx.into(), None, None).await.unwrap();
    // node-1 may not have it yet: subscribe once it knows the transaction.
    let mut sub = None;
    for _ in 0..100 {
        if let Ok(s) = ws.subscribe_tx(hash).await {
            sub = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut sub = sub.expect("node-1 learns the transaction");
    let mut seen = Vec::new();
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_secs(30), sub.next()).await {
        let v = item.unwrap();
        seen.push(v.status);
        if matches!(v.status, TxStatus::Final | TxStatus::Rejected) {
            break;
        }
    }
    assert_eq!(
        seen.last(),
        Some(&TxStatus::Final),
        "statuses seen: {seen:?}"
    );
    let distinct: BTreeSet<String> = seen.iter().map(|s| format!("{s:?}")).collect();
    assert_eq!(distinct.len(), seen.len(), "each status once: {seen:?}");

    let doc = c.discover().await.unwrap();
    assert_eq!(doc["openrpc"], "1.2.6");
    let names: Vec<&str> = doc["methods"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert!(names.contains(&"submit_tx") && names.contains(&"get_account_fills"));

    // Every node agrees on the state after all of it.
    let cs: Vec<LedgerClient> = {
        let mut v = Vec::new();
        for i in 0..4 {
            v.push(net.client(i).await);
        }
        v
    };
    let target = final_height(&c).await;
    for cl in &cs {
        wait_until(
            "nodes at the same height",
            Duration::from_secs(30),
            || async { final_height(cl).await >= target },
        )
        .await;
    }
    let refs: Vec<&LedgerClient> = cs.iter().collect();
    let h = assert_same_roots(&refs).await;
    let _ = MarketId(0);
    eprintln!(
        "trading e2e: {} trades, equal roots at 1..={h}, {:.1} s",
        trades.len(),
        started.elapsed().as_secs_f64()
    );
}
