//! Conversions from real engine output to wire views: decimals from ticks, lots and
//! smallest units, fees, maker/taker liquidity, rejections with the chain's units, and
//! the exact JSON shapes wallets and bots parse.

use ledger_engine::{Engine, Rejection};
use ledger_rpc::{
    Catalog, EventView, Liquidity, OrderEvent, OrderStatus, OrderView, TxStatus, Wallet,
};
use ledger_types::{AssetId, Decimal, Genesis, Hash, Keypair, MarketId, Side, SignedTx};
use serde_json::json;
use std::str::FromStr;

const BTC_USD: MarketId = MarketId(0);

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

struct Chain {
    catalog: Catalog,
    engine: Engine,
    alice: Wallet,
    bob: Wallet,
    carol: Wallet,
}

fn chain() -> Chain {
    let alice = Keypair::for_testing("alice");
    let bob = Keypair::for_testing("bob");
    let genesis = Genesis::for_testing(
        &[alice.public(), bob.public()],
        &[Keypair::for_testing("v0").public()],
    );
    let chain_id = genesis.chain_id.clone();
    Chain {
        catalog: Catalog::from_genesis(&genesis),
        engine: Engine::from_genesis(&genesis).unwrap(),
        alice: Wallet::new(alice, chain_id.clone(), 0),
        bob: Wallet::new(bob, chain_id.clone(), 0),
        carol: Wallet::new(Keypair::for_testing("carol"), chain_id, 0),
    }
}

#[test]
fn markets_and_accounts_in_decimals() {
    let c = chain();
    let markets = c.catalog.market_views();
    assert_eq!(
        serde_json::to_value(&markets[0]).unwrap(),
        json!({
            "id": 0, "symbol": "BTC/USD", "base": "BTC", "quote": "USD",
            "base_asset_id": 0, "quote_asset_id": 1, "base_decimals": 8, "quote_decimals": 6,
            "tick_size": "0.01", "lot_size": "0.0001", "min_size": "0.0001",
            "maker_fee_bps": 2, "taker_fee_bps": 5
        })
    );
    assert_eq!(markets[1].symbol, "ETH/USD");
    assert_eq!(markets[1].min_size, d("0.01"));

    for (r, want) in [("BTC/USD", 0), ("btc-usd", 0), ("ETH/USD", 1), ("1", 1)] {
        let r: ledger_rpc::MarketRef = r.parse().unwrap();
        assert_eq!(c.catalog.resolve_market(&r).unwrap().id, MarketId(want));
    }
    let e = c
        .catalog
        .resolve_market(&"DOGE/USD".parse().unwrap())
        .unwrap_err()
        .to_api_error();
    assert_eq!(e.code, -32001);
    assert_eq!(e.reason(), Some("market_not_found"));
    assert_eq!(e.field(), Some("market"));
    assert_eq!(e.message, "market DOGE/USD not found");

    let a = c.alice.address();
    let view = c.catalog.account(a, c.engine.account(&a).as_ref(), Some(3));
    let v = serde_json::to_value(&view).unwrap();
    assert_eq!(
        v,
        json!({
            "address": a.to_hex(), "next_nonce": "0", "pending_nonce": "3",
            "balances": [
                {"asset": "BTC", "asset_id": 0, "free": "100", "locked": "0", "total": "100"},
                {"asset": "USD", "asset_id": 1, "free": "10000000", "locked": "0", "total": "10000000"},
                {"asset": "ETH", "asset_id": 2, "free": "1000", "locked": "0", "total": "1000"}
            ]
        })
    );
    // An account nobody paid: zero balances, nonce 0.
    let nobody = c.carol.address();
    let view = c.catalog.account(nobody, None, None);
    assert_eq!(view.next_nonce, 0);
    assert_eq!(view.pending_nonce, 0);
    assert!(view.balances.iter().all(|b| b.total.is_zero()));
    assert_eq!(c.catalog.validators()[0].name, "validator-0");
}

#[test]
fn a_trade_from_engine_events_to_wire() {
    let mut c = chain();
    // Block 1: alice rests 0.5 BTC at 100.50.
    let sell = c.alice.place(
        ledger_rpc::Order::limit(BTC_USD, Side::Sell, d("100.50"), d("0.5")).client_order_id(1),
    );
    let out1 = c.engine.execute_block(std::slice::from_ref(&sell));
    let depth = c.engine.depth(BTC_USD, 5).unwrap();
    let book = c.catalog.order_book(BTC_USD, &depth, 1);
    assert_eq!(
        serde_json::to_value(&book).unwrap(),
        json!({"market": "BTC/USD", "market_id": 0, "block_height": "1", "bids": [],
               "asks": [{"price": "100.5", "quantity": "0.5", "orders": 1}]})
    );
    let h1 = Hash::digest(b"block 1");
    let v = c
        .catalog
        .final_tx(&sell, 1, h1, 1_000, 0, &out1.receipts[0]);
    assert_eq!(v.status, TxStatus::Final);
    assert_eq!(v.events.len(), 2);
    assert!(matches!(v.events[0], EventView::OrderAccepted { .. }));
    let rested = serde_json::to_value(&v.events[1]).unwrap();
    assert_eq!(
        rested,
        json!({"type": "order_rested", "block_height": "1", "tx_hash": sell.hash().to_hex(),
               "order_id": sell.hash().to_hex(),
               "client_order_id": "00000000000000000000000000000001",
               "account": c.alice.address().to_hex(), "market": "BTC/USD", "market_id": 0,
               "side": "sell", "price": "100.5", "remaining": "0.5"})
    );
    // The resting record as an open order.
    let rec = c.engine.order(&sell.hash()).unwrap().clone();
    let open = c.catalog.open_order(&rec, Some(1));
    assert_eq!(open.price, Some(d("100.5")));
    assert_eq!(open.remaining, d("0.5"));
    assert_eq!(open.filled, Decimal::ZERO);
    assert_eq!(open.status, OrderStatus::Open);

    // Block 2: bob takes with an IOC buy of 0.7 at 101: 0.5 fills at the maker's 100.50,
    // 0.2 expires.
    let buy = c.bob.place(
        ledger_rpc::Order::limit(BTC_USD, Side::Buy, d("101"), d("0.7"))
            .ioc()
            .client_order_id(2),
    );
    let out2 = c.engine.execute_block(std::slice::from_ref(&buy));
    let receipt = &out2.receipts[0];
    let v = c
        .catalog
        .final_tx(&buy, 2, Hash::digest(b"block 2"), 2_000, 0, receipt);
    assert_eq!(v.status, TxStatus::Final);
    let kinds: Vec<&str> = v
        .events
        .iter()
        .map(|e| match e {
            EventView::OrderAccepted { .. } => "accepted",
            EventView::Fill(_) => "fill",
            EventView::OrderRested { .. } => "rested",
            EventView::OrderCancelled { .. } => "cancelled",
            EventView::OrderExpired { .. } => "expired",
            EventView::Transferred { .. } => "transferred",
            EventView::OrderAmended { .. } => "amended",
            EventView::CancelScheduled { .. } => "scheduled",
            _ => "bundle or swap",
        })
        .collect();
    assert_eq!(kinds, ["accepted", "fill", "expired"]);
    let EventView::Fill(trade) = &v.events[1] else {
        unreachable!()
    };
    // Notional 100.5 * 0.5 = 50.25 USD; maker 2 bps = 0.01005, taker 5 bps = 0.025125.
    assert_eq!(
        serde_json::to_value(trade).unwrap(),
        json!({
            "trade_id": "0", "market": "BTC/USD", "market_id": 0,
            "price": "100.5", "quantity": "0.5", "quote_quantity": "50.25", "taker_side": "buy",
            "maker_order_id": sell.hash().to_hex(),
            "maker_client_order_id": "00000000000000000000000000000001",
            "maker": c.alice.address().to_hex(), "maker_fee": "0.01005", "maker_remaining": "0",
            "taker_order_id": buy.hash().to_hex(),
            "taker_client_order_id": "00000000000000000000000000000002",
            "taker": c.bob.address().to_hex(), "taker_fee": "0.025125", "taker_remaining": "0.2",
            "fee_asset": "USD", "block_height": "2", "time_ms": "2000", "tx_hash": buy.hash().to_hex()
        })
    );
    let EventView::OrderExpired { remaining, .. } = &v.events[2] else {
        unreachable!()
    };
    assert_eq!(*remaining, d("0.2"));
    assert_eq!(
        serde_json::to_value(&v.events[2]).unwrap()["reason"],
        json!("ioc_remainder")
    );

    // Per-account order updates: maker first, then taker, each with its own liquidity.
    let fill_event = &receipt.events[1];
    let ups = c.catalog.order_updates(fill_event, 2, buy.hash());
    assert_eq!(ups.len(), 2);
    assert_eq!(ups[0].account, c.alice.address());
    assert_eq!(
        serde_json::to_value(&ups[0]).unwrap(),
        json!({
            "block_height": "2", "tx_hash": buy.hash().to_hex(), "order_id": sell.hash().to_hex(),
            "client_order_id": "00000000000000000000000000000001",
            "account": c.alice.address().to_hex(), "market": "BTC/USD", "market_id": 0,
            "type": "fill", "trade_id": "0", "side": "sell", "price": "100.5", "quantity": "0.5",
            "fee": "0.01005", "fee_asset": "USD", "liquidity": "maker", "remaining": "0"
        })
    );
    let OrderEvent::Fill {
        liquidity,
        side,
        fee,
        remaining,
        ..
    } = &ups[1].event
    else {
        unreachable!()
    };
    assert_eq!(
        (*liquidity, *side, *fee, *remaining),
        (Liquidity::Taker, Side::Buy, d("0.025125"), d("0.2"))
    );
    // Updates round-trip through JSON (flattened, tagged).
    for u in &ups {
        let back: ledger_rpc::OrderUpdate =
            serde_json::from_value(serde_json::to_value(u).unwrap()).unwrap();
        assert_eq!(&back, u);
    }

    // An order index built from updates: alice's order ends filled, bob's expired.
    let mut orders: Vec<OrderView> = Vec::new();
    for (stx, height, receipt) in [(&sell, 1, &out1.receipts[0]), (&buy, 2, receipt)] {
        for e in &receipt.events {
            for u in c.catalog.order_updates(e, height, stx.hash()) {
                match OrderView::from_accepted(&u) {
                    Some(v) => orders.push(v),
                    None => orders.iter_mut().for_each(|o| o.apply(&u)),
                }
            }
        }
    }
    assert_eq!(orders[0].status, OrderStatus::Filled);
    assert_eq!(orders[0].filled, d("0.5"));
    assert_eq!(orders[0].fees, d("0.01005"));
    assert_eq!(orders[0].updated_height, Some(2));
    assert_eq!(orders[1].status, OrderStatus::Expired);
    assert_eq!(orders[1].filled, d("0.5"));
    assert_eq!(orders[1].remaining, Decimal::ZERO);
    assert_eq!(
        orders[1].time_in_force,
        Some(ledger_types::TimeInForce::Ioc)
    );

    // Balances after the trade: alice received 50.25 - 0.01005 USD.
    let a = c.alice.address();
    let acct = c.catalog.account(a, c.engine.account(&a).as_ref(), None);
    assert_eq!(acct.next_nonce, 1);
    assert_eq!(acct.balances[0].free, d("99.5"));
    assert_eq!(acct.balances[1].free, d("10000050.23995"));
}

#[test]
fn rejections_in_blocks_and_their_error_objects() {
    let mut c = chain();
    let bad_tick = c
        .bob
        .place_limit(BTC_USD, Side::Buy, d("100.555"), d("0.1"));
    let too_small = c
        .bob
        .place_limit(MarketId(1), Side::Buy, d("100"), d("0.001"));
    let broke = c.carol.place_limit(BTC_USD, Side::Buy, d("100"), d("1"));
    let transfer = c.alice.transfer(c.bob.address(), AssetId(0), d("1.5"));
    let txs: Vec<SignedTx> = vec![bad_tick, too_small, broke, transfer];
    let out = c.engine.execute_block(&txs);
    let views: Vec<_> = txs
        .iter()
        .zip(&out.receipts)
        .enumerate()
        .map(|(i, (t, r))| c.catalog.final_tx(t, 7, Hash::ZERO, 7_000, i as u32, r))
        .collect();

    let e = views[0].error.as_ref().unwrap();
    assert_eq!(views[0].status, TxStatus::Rejected);
    assert_eq!(e.code, -32003);
    assert_eq!(e.reason(), Some("invalid_price"));
    assert_eq!(e.field(), Some("payload.price"));
    assert_eq!(e.detail("tick_size"), Some("0.01"));
    assert_eq!(
        e.message,
        "price is not a positive multiple of BTC/USD's tick size 0.01"
    );

    let e = views[1].error.as_ref().unwrap();
    assert_eq!(e.reason(), Some("below_min_size"));
    assert_eq!(e.field(), Some("payload.quantity"));
    assert_eq!(e.detail("min_size"), Some("0.01"));

    let e = views[2].error.as_ref().unwrap();
    assert_eq!(
        serde_json::to_value(e).unwrap(),
        json!({"code": -32003, "message": "insufficient USD balance: need 100.05, have 0",
               "data": {"reason": "insufficient_balance", "field": "payload", "asset": "USD",
                        "asset_id": "1", "needed": "100.05", "available": "0"}})
    );

    assert_eq!(views[3].status, TxStatus::Final);
    assert_eq!(
        serde_json::to_value(&views[3].events[0]).unwrap(),
        json!({"type": "transferred", "block_height": "7", "tx_hash": txs[3].hash().to_hex(),
               "from": c.alice.address().to_hex(), "to": c.bob.address().to_hex(),
               "asset": "BTC", "asset_id": 0, "amount": "1.5"})
    );
    // The whole view: status, block, position, the tx with a string nonce.
    let v = serde_json::to_value(&views[0]).unwrap();
    assert_eq!(v["status"], json!("rejected"));
    assert_eq!(v["block_height"], json!("7"));
    assert_eq!(v["position"], json!(0));
    assert_eq!(v["tx"]["nonce"], json!("0"));
    assert_eq!(v["events"], json!([]));

    // Rendering every rejection names a field and never panics, with or without context.
    let all = [
        Rejection::WrongChainId {
            expected: "a".into(),
            got: "b".into(),
        },
        Rejection::NonceReplayed {
            expected: 2,
            got: 1,
        },
        Rejection::NonceTooHigh {
            expected: 2,
            got: 5,
        },
        Rejection::UnknownMarket(MarketId(9)),
        Rejection::UnknownAsset(AssetId(9)),
        Rejection::MissingPrice,
        Rejection::InvalidPrice,
        Rejection::InvalidQuantity,
        Rejection::BelowMinSize { min_lots: 3 },
        Rejection::InvalidTimeInForce,
        Rejection::InsufficientBalance {
            asset: AssetId(7),
            needed: 1,
            available: 0,
        },
        Rejection::PostOnlyWouldCross,
        Rejection::FillOrKillUnfilled,
        Rejection::NoLiquidity,
        Rejection::DuplicateClientOrderId,
        Rejection::OrderNotFound,
        Rejection::TooManyOpenOrders { limit: 10 },
        Rejection::InvalidAmount,
        Rejection::SelfTransfer,
        Rejection::Overflow,
    ];
    for r in &all {
        for e in [
            c.catalog.rejection(r, None).to_api_error(),
            c.catalog
                .rejection(r, Some(&txs[0].tx.payload))
                .to_api_error(),
            ledger_rpc::RpcError::from(r.clone()).to_api_error(),
        ] {
            assert_eq!(e.code, -32003);
            assert_eq!(e.reason(), Some(r.code_name()));
            assert!(e.field().is_some(), "{r:?}");
            assert!(!e.message.is_empty());
        }
    }
}
