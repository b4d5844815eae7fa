//! Bundles and hashlock swaps through a real node's JSON-RPC: every bad input answers
//! with its documented code and reason (malformed legs, more than 8 legs, a wrong
//! preimage, a claim after the timeout, a refund before it, unknown swaps, bad cursors,
//! malformed JSON), changes nothing, and the good paths work end to end: a bundle fills
//! or is refused whole with the failed leg named, and a swap is claimed (its preimage
//! readable through `get_swap` and `subscribe_swaps`) or refunded.

mod common;

use common::*;
use ledger_rpc::{
    connect, ApiError, AtomicApiClient, BundleBuilder, EventView, LedgerApiClient, LedgerClient,
    SwapEventKind, SwapState, TxStatus, Wallet, WireTx,
};
use ledger_types::{AssetId, Decimal, Hash, Keypair, MarketId, Preimage, Side, TimeInForce};
use std::time::Duration;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn api_error<T: std::fmt::Debug>(
    r: Result<T, ledger_rpc::jsonrpsee::core::client::Error>,
) -> ApiError {
    let e = r.expect_err("the call should fail");
    ApiError::from_client_error(&e).unwrap_or_else(|| panic!("not an API error: {e}"))
}

async fn final_tx(c: &LedgerClient, hash: Hash) -> ledger_rpc::TxView {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(v) = c.get_tx(hash).await {
            if matches!(v.status, TxStatus::Final | TxStatus::Rejected) {
                return v;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "transaction {hash} not final after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_and_swaps_over_rpc() {
    let key = Keypair::for_testing("atomic-validator");
    let mut net = Net::new(&genesis(std::slice::from_ref(&key), streamlet(50)));
    let c = net.config(0, &key, Vec::new(), true);
    net.start(c).await;
    let client = net.client(0).await;
    let ws = connect(&format!("ws://{}", net.rpc_addr(0))).await.unwrap();
    wait_until("a final block", Duration::from_secs(20), || async {
        final_height(&client).await >= 1
    })
    .await;
    let (btc_usd, eth_usd) = (MarketId(0), MarketId(1));
    let mut maker = Wallet::from_node(&client, account(1)).await.unwrap();
    let mut alice = Wallet::from_node(&client, account(0)).await.unwrap();
    let mut bob = Wallet::from_node(&client, account(2)).await.unwrap();

    // ---- Bundles: shape and market checks at submission (-32000 invalid_bundle).
    let good = || {
        BundleBuilder::new()
            .ioc(btc_usd, Side::Buy, d("100"), d("0.1"))
            .ioc(eth_usd, Side::Sell, d("50"), d("1"))
    };
    let nonce = alice.next_nonce();
    let cases: Vec<(ledger_types::Bundle, &str)> = vec![
        (
            BundleBuilder::new()
                .ioc(btc_usd, Side::Buy, d("100"), d("0.1"))
                .build(),
            "payload.legs",
        ),
        (
            (0..9)
                .fold(BundleBuilder::new(), |b, _| {
                    b.ioc(btc_usd, Side::Buy, d("100"), d("0.1"))
                })
                .build(),
            "payload.legs",
        ),
        (
            {
                let mut b = good().build();
                b.legs[1].time_in_force = TimeInForce::Gtc;
                b
            },
            "payload.legs[1].time_in_force",
        ),
        (
            good()
                .ioc(btc_usd, Side::Buy, d("100.001"), d("0.1"))
                .build(),
            "payload.legs[2].price",
        ),
        (
            good()
                .ioc(btc_usd, Side::Buy, d("100"), d("0.00001"))
                .build(),
            "payload.legs[2].quantity",
        ),
        (
            good().ioc(MarketId(7), Side::Buy, d("100"), d("1")).build(),
            "payload.legs[2].market",
        ),
        (
            good()
                .min_net(AssetId(1), d("1"))
                .min_net(AssetId(1), d("2"))
                .build(),
            "payload.min_net[1]",
        ),
        (
            good().min_net(AssetId(9), d("1")).build(),
            "payload.min_net[0].asset",
        ),
    ];
    for (b, field) in cases {
        alice.set_next_nonce(nonce);
        let tx = alice.bundle(b);
        let e = api_error(client.submit_bundle(WireTx::from(&tx)).await);
        assert_eq!(
            (e.code, e.reason(), e.field()),
            (-32000, Some("invalid_bundle"), Some(field)),
            "{e}"
        );
        // submit_tx applies the same checks.
        let e = api_error(client.submit_tx(WireTx::from(&tx), None, None).await);
        assert_eq!(e.reason(), Some("invalid_bundle"));
    }
    alice.set_next_nonce(nonce);
    let order = alice.place_limit(btc_usd, Side::Buy, d("1"), d("1"));
    let e = api_error(client.submit_bundle(WireTx::from(&order)).await);
    assert_eq!((e.code, e.reason()), (-32000, Some("wrong_payload_type")));
    // Malformed JSON for a bundle or a claim is refused by the parameter decoder.
    let mut v = serde_json::to_value(WireTx::from(&alice.bundle(good().build()))).unwrap();
    v["payload"]["legs"] = serde_json::json!("not a list");
    let e = raw_call(&client, "submit_bundle", v).await;
    assert_eq!(e.code, -32602, "{e}");
    alice.set_next_nonce(nonce);
    let mut v = serde_json::to_value(WireTx::from(
        &alice.swap_claim(Hash::ZERO, Preimage([0; 32])),
    ))
    .unwrap();
    v["payload"]["preimage"] = serde_json::json!("abc");
    let e = raw_call(&client, "submit_tx", v).await;
    assert_eq!(e.code, -32602, "{e}");
    alice.set_next_nonce(nonce);
    assert_eq!(
        client
            .get_account(alice.address())
            .await
            .unwrap()
            .next_nonce,
        nonce
    );

    // ---- A bundle that cannot fill is refused whole, naming its leg; one that can fills.
    let rest = [
        maker.place_limit(btc_usd, Side::Sell, d("100"), d("0.1")),
        maker.place_limit(eth_usd, Side::Buy, d("50"), d("1")),
    ];
    for t in &rest {
        client.submit_order(WireTx::from(t)).await.unwrap();
    }
    final_tx(&client, rest[1].hash()).await;
    let too_big = alice.bundle(
        BundleBuilder::new()
            .ioc(btc_usd, Side::Buy, d("100"), d("0.1"))
            .ioc(eth_usd, Side::Sell, d("50"), d("2"))
            .build(),
    );
    let sub = client.submit_bundle(WireTx::from(&too_big)).await.unwrap();
    assert_eq!(sub.leg_order_ids.len(), 2);
    let v = final_tx(&client, too_big.hash()).await;
    assert_eq!(v.status, TxStatus::Rejected);
    let err = v.error.unwrap();
    assert_eq!(
        (err.code, err.reason(), err.field(), err.detail("leg")),
        (
            -32003,
            Some("bundle_leg_unfilled"),
            Some("payload.legs"),
            Some("1")
        )
    );
    let book = client.get_order_book(btc_usd.into(), None).await.unwrap();
    assert_eq!(book.asks.len(), 1, "leg 0's fill was undone");
    let ok = alice.bundle(good().min_net(AssetId(2), d("-1")).build());
    client.submit_bundle(WireTx::from(&ok)).await.unwrap();
    let v = final_tx(&client, ok.hash()).await;
    assert_eq!(v.status, TxStatus::Final, "{:?}", v.error);
    assert!(v
        .events
        .iter()
        .any(|e| matches!(e, EventView::BundleExecuted { legs: 2, .. })));
    assert!(client
        .get_order_book(btc_usd.into(), None)
        .await
        .unwrap()
        .asks
        .is_empty());

    // ---- Swaps.
    let mut updates = ws.subscribe_swaps(Some(bob.address())).await.unwrap();
    let secret = Preimage([42; 32]);
    let h = client.chain_status().await.unwrap().final_height;
    let lock = alice.swap_lock(
        bob.address(),
        AssetId(0),
        d("0.5"),
        secret.hashlock(),
        h + 200,
    );
    client
        .submit_tx(WireTx::from(&lock), None, None)
        .await
        .unwrap();
    final_tx(&client, lock.hash()).await;
    let s = client.get_swap(lock.hash()).await.unwrap();
    assert_eq!(
        (s.status, s.terms.amount, s.preimage),
        (SwapState::Open, d("0.5"), None)
    );
    let e = api_error(
        client
            .submit_tx(
                WireTx::from(&bob.swap_claim(lock.hash(), Preimage([1; 32]))),
                None,
                None,
            )
            .await,
    );
    assert_eq!(
        (e.code, e.reason(), e.field()),
        (-32003, Some("wrong_preimage"), Some("payload.preimage"))
    );
    bob.resync(&client).await.unwrap();
    let e = api_error(
        client
            .submit_tx(
                WireTx::from(&maker.swap_claim(lock.hash(), secret)),
                None,
                None,
            )
            .await,
    );
    assert_eq!(e.reason(), Some("swap_not_counterparty"));
    maker.resync(&client).await.unwrap();
    let e = api_error(
        client
            .submit_tx(WireTx::from(&alice.swap_refund(lock.hash())), None, None)
            .await,
    );
    assert_eq!((e.code, e.reason()), (-32003, Some("swap_not_expired")));
    assert!(e.detail("timeout_height").is_some());
    alice.resync(&client).await.unwrap();
    let claim = bob.swap_claim(lock.hash(), secret);
    client
        .submit_tx(WireTx::from(&claim), None, None)
        .await
        .unwrap();
    assert_eq!(
        final_tx(&client, claim.hash()).await.status,
        TxStatus::Final
    );
    let s = client.get_swap(lock.hash()).await.unwrap();
    assert_eq!((s.status, s.preimage), (SwapState::Claimed, Some(secret)));
    let e = api_error(
        client
            .submit_tx(
                WireTx::from(&bob.swap_claim(lock.hash(), secret)),
                None,
                None,
            )
            .await,
    );
    assert_eq!(e.reason(), Some("swap_not_found"));
    bob.resync(&client).await.unwrap();
    // The subscription saw the lock and the claim, with the preimage.
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let u = tokio::time::timeout(Duration::from_secs(10), updates.next())
            .await
            .expect("swap updates")
            .unwrap()
            .unwrap();
        seen.push(u);
    }
    assert_eq!(seen[0].event, SwapEventKind::Locked);
    assert_eq!(seen[1].event, SwapEventKind::Claimed);
    assert_eq!(seen[1].swap.preimage, Some(secret));

    // A short swap: claim after the timeout refused, refund from it accepted.
    let h = client.chain_status().await.unwrap().final_height;
    let short = alice.swap_lock(
        bob.address(),
        AssetId(0),
        d("0.25"),
        secret.hashlock(),
        h + 4,
    );
    client
        .submit_tx(WireTx::from(&short), None, None)
        .await
        .unwrap();
    final_tx(&client, short.hash()).await;
    wait_until("the timeout height", Duration::from_secs(30), || async {
        final_height(&client).await + 1 >= h + 4
    })
    .await;
    let e = api_error(
        client
            .submit_tx(
                WireTx::from(&bob.swap_claim(short.hash(), secret)),
                None,
                None,
            )
            .await,
    );
    assert_eq!((e.code, e.reason()), (-32003, Some("swap_expired")));
    bob.resync(&client).await.unwrap();
    let refund = alice.swap_refund(short.hash());
    client
        .submit_tx(WireTx::from(&refund), None, None)
        .await
        .unwrap();
    assert_eq!(
        final_tx(&client, refund.hash()).await.status,
        TxStatus::Final
    );
    assert_eq!(
        client.get_swap(short.hash()).await.unwrap().status,
        SwapState::Refunded
    );

    // Lookups: unknown swap, paging and bad cursors.
    let e = api_error(client.get_swap(Hash::digest(b"nope")).await);
    assert_eq!((e.code, e.reason()), (-32001, Some("swap_not_found")));
    let page = client
        .get_swaps(bob.address(), Some(1), None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].terms.swap_id, short.hash());
    let next = client
        .get_swaps(bob.address(), Some(10), page.next_cursor)
        .await
        .unwrap();
    assert_eq!(next.items.len(), 1);
    assert_eq!(next.items[0].terms.swap_id, lock.hash());
    let e = api_error(
        client
            .get_swaps(bob.address(), None, Some("zz".into()))
            .await,
    );
    assert_eq!((e.code, e.field()), (-32000, Some("cursor")));
    let e = api_error(
        client
            .get_swaps(bob.address(), None, Some(Hash::digest(b"x").to_hex()))
            .await,
    );
    assert_eq!(e.code, -32000);
    let e = api_error(client.get_swaps(bob.address(), Some(101), None).await);
    assert_eq!(e.code, -32005);
    assert!(client.chain_status().await.is_ok());
    net.shutdown().await;
}

/// A call with one raw JSON parameter (to send what the typed client cannot).
async fn raw_call(c: &LedgerClient, method: &str, param: serde_json::Value) -> ApiError {
    use ledger_rpc::jsonrpsee::core::client::ClientT;
    let r: Result<serde_json::Value, _> = c
        .request(method, ledger_rpc::jsonrpsee::rpc_params![param])
        .await;
    api_error(r)
}
