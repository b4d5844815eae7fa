//! One test per rule: each order kind and time in force, each rejection reason,
//! self-trade prevention, fees and rounding, cancels by id and by client id.

use ledger_engine::{
    Balance, CancelReason, Engine, Event, ExpireReason, Fill, OrderRecord, Rejection,
};
use ledger_types::{
    AssetId, CancelAll, CancelOrder, ClientOrderId, Decimal, Genesis, Keypair, MarketId, OrderKind,
    OrderRef, Payload, PlaceOrder, SelfTradePrevention, Side, TimeInForce, Transfer, Tx, TxHash,
};
use std::str::FromStr;

const BTC: AssetId = AssetId(0);
const USD: AssetId = AssetId(1);
const BTC_USD: MarketId = MarketId(0);

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

struct Harness {
    engine: Engine,
    genesis: Genesis,
    keys: Vec<Keypair>,
}

/// Order parameters with the common defaults (limit GTC, no client id, EXPIRE_MAKER).
#[derive(Clone)]
struct O {
    side: Side,
    kind: OrderKind,
    price: Option<&'static str>,
    qty: &'static str,
    tif: TimeInForce,
    cid: Option<u128>,
    stp: SelfTradePrevention,
    market: MarketId,
}

fn buy(price: &'static str, qty: &'static str) -> O {
    O {
        side: Side::Buy,
        kind: OrderKind::Limit,
        price: Some(price),
        qty,
        tif: TimeInForce::Gtc,
        cid: None,
        stp: SelfTradePrevention::ExpireMaker,
        market: BTC_USD,
    }
}

fn sell(price: &'static str, qty: &'static str) -> O {
    O {
        side: Side::Sell,
        ..buy(price, qty)
    }
}

fn market(side: Side, qty: &'static str) -> O {
    O {
        side,
        kind: OrderKind::Market,
        price: None,
        tif: TimeInForce::Ioc,
        ..buy("1", qty)
    }
}

impl O {
    fn tif(mut self, tif: TimeInForce) -> O {
        self.tif = tif;
        self
    }
    fn cid(mut self, cid: u128) -> O {
        self.cid = Some(cid);
        self
    }
    fn stp(mut self, stp: SelfTradePrevention) -> O {
        self.stp = stp;
        self
    }
    fn bound(mut self, price: &'static str) -> O {
        self.price = Some(price);
        self
    }
    fn payload(&self) -> Payload {
        Payload::PlaceOrder(PlaceOrder {
            market: self.market,
            side: self.side,
            kind: self.kind,
            price: self.price.map(d),
            quantity: d(self.qty),
            time_in_force: self.tif,
            client_order_id: self.cid.map(ClientOrderId),
            self_trade: self.stp,
            good_till_height: None,
        })
    }
}

impl Harness {
    fn new() -> Harness {
        Harness::with_genesis(|_| {})
    }

    fn with_genesis(edit: impl FnOnce(&mut Genesis)) -> Harness {
        let keys: Vec<Keypair> = (0..3)
            .map(|i| Keypair::for_testing(&format!("acct{i}")))
            .collect();
        let pubs: Vec<_> = keys.iter().map(|k| k.public()).collect();
        let mut genesis = Genesis::for_testing(&pubs, &[Keypair::for_testing("v").public()]);
        edit(&mut genesis);
        let engine = Engine::from_genesis(&genesis).unwrap();
        Harness {
            engine,
            genesis,
            keys,
        }
    }

    fn tx(&self, who: usize, payload: Payload) -> Tx {
        let sender = self.keys[who].public();
        Tx {
            chain_id: self.genesis.chain_id.clone(),
            sender,
            nonce: self.engine.next_nonce(&sender),
            payload,
            valid_until_height: None,
        }
    }

    /// Submits and returns the order id with the events, or the rejection.
    fn submit(&mut self, who: usize, payload: Payload) -> Result<(TxHash, Vec<Event>), Rejection> {
        let tx = self.tx(who, payload);
        let hash = tx.hash();
        let r = self.engine.apply(&tx, hash);
        let events = self.engine.take_events();
        r.map(|()| (hash, events))
    }

    fn place(&mut self, who: usize, o: O) -> Result<(TxHash, Vec<Event>), Rejection> {
        self.submit(who, o.payload())
    }

    fn ok(&mut self, who: usize, o: O) -> (TxHash, Vec<Event>) {
        self.place(who, o).expect("order accepted")
    }

    fn bal(&self, who: usize, asset: AssetId) -> Balance {
        self.engine.balance(&self.keys[who].public(), asset)
    }

    fn fee_bal(&self) -> Balance {
        self.engine.balance(&self.genesis.fee_account, USD)
    }

    fn key(&self, who: usize) -> ledger_types::PublicKey {
        self.keys[who].public()
    }

    fn check(&self) {
        self.engine.check_invariants().unwrap();
        let genesis_engine = Engine::from_genesis(&self.genesis).unwrap();
        assert_eq!(self.engine.total_supply(), genesis_engine.total_supply());
    }
}

fn fills(events: &[Event]) -> Vec<Fill> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Fill(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

const USD0: u128 = 10_000_000 * 1_000_000;
const BTC0: u128 = 100 * 100_000_000;

// ------------------------------------------------------------------ limit orders

#[test]
fn limit_gtc_rests_and_locks_notional_plus_max_fee() {
    let mut h = Harness::new();
    let (id, ev) = h.ok(0, buy("100", "1"));
    assert!(matches!(ev[0], Event::OrderAccepted { .. }));
    assert!(matches!(
        ev[1],
        Event::OrderRested {
            remaining: 10_000,
            ..
        }
    ));
    // 1 BTC at 100 USD = 100_000_000 units; max fee 5 bps = 50_000.
    assert_eq!(
        h.bal(0, USD),
        Balance {
            free: USD0 - 100_050_000,
            locked: 100_050_000
        }
    );
    let o = h.engine.order(&id).unwrap().clone();
    assert_eq!(
        (o.price, o.remaining, o.locked),
        (10_000, 10_000, 100_050_000)
    );
    let depth = h.engine.depth(BTC_USD, 5).unwrap();
    assert_eq!(depth.bids.len(), 1);
    assert_eq!(
        (depth.bids[0].price, depth.bids[0].quantity),
        (10_000, 10_000)
    );
    // A sell locks its base.
    h.ok(1, sell("101", "2"));
    assert_eq!(
        h.bal(1, BTC),
        Balance {
            free: BTC0 - 200_000_000,
            locked: 200_000_000
        }
    );
    h.check();
}

#[test]
fn crossing_order_fills_across_levels_at_maker_prices_in_time_priority() {
    let mut h = Harness::new();
    let (a1, _) = h.ok(0, sell("100", "1"));
    let (a2, _) = h.ok(2, sell("100", "1")); // same price, later
    let (a3, _) = h.ok(0, sell("101", "1"));
    let (_, ev) = h.ok(1, buy("101", "2.5"));
    let f = fills(&ev);
    assert_eq!(f.len(), 3);
    assert_eq!(
        (f[0].maker_order, f[0].price, f[0].quantity),
        (a1, 10_000, 10_000)
    );
    assert_eq!(
        (f[1].maker_order, f[1].price, f[1].quantity),
        (a2, 10_000, 10_000)
    );
    assert_eq!(
        (f[2].maker_order, f[2].price, f[2].quantity),
        (a3, 10_100, 5_000)
    );
    assert_eq!(f[2].maker_remaining, 5_000);
    assert_eq!(f[2].taker_remaining, 0);
    assert!(f
        .iter()
        .all(|f| f.taker_side == Side::Buy && f.taker == h.key(1)));
    assert_eq!(f[0].trade_id + 1, f[1].trade_id);
    // The taker was fully filled: nothing rests, and the unused lock came back.
    assert!(h.engine.open_orders(&h.key(1)).is_empty());
    assert_eq!(h.bal(1, USD).locked, 0);
    let notional = 100_000_000 * 2 + 50_500_000;
    let taker_fee = notional * 5 / 10_000;
    assert_eq!(h.bal(1, USD).free, USD0 - notional - taker_fee);
    assert_eq!(h.bal(1, BTC).free, BTC0 + 250_000_000);
    h.check();
}

#[test]
fn partial_fill_then_rest_of_a_gtc_order() {
    let mut h = Harness::new();
    h.ok(0, sell("100", "1"));
    let (id, ev) = h.ok(1, buy("100", "3"));
    assert_eq!(fills(&ev).len(), 1);
    assert!(matches!(
        ev.last(),
        Some(Event::OrderRested {
            remaining: 20_000,
            ..
        })
    ));
    assert_eq!(h.engine.order(&id).unwrap().remaining, 20_000);
    h.check();
}

#[test]
fn ioc_fills_what_it_can_and_expires_the_rest() {
    let mut h = Harness::new();
    h.ok(0, sell("100", "1"));
    let (_, ev) = h.ok(1, buy("100", "3").tif(TimeInForce::Ioc));
    assert_eq!(fills(&ev).len(), 1);
    assert!(matches!(
        ev.last(),
        Some(Event::OrderExpired {
            remaining: 20_000,
            reason: ExpireReason::IocRemainder,
            ..
        })
    ));
    assert!(h.engine.open_orders(&h.key(1)).is_empty());
    assert_eq!(h.bal(1, USD).locked, 0);
    // IOC that cannot fill at all is accepted and expires whole.
    let (_, ev) = h.ok(1, buy("99", "1").tif(TimeInForce::Ioc));
    assert!(matches!(
        ev.last(),
        Some(Event::OrderExpired {
            remaining: 10_000,
            ..
        })
    ));
    h.check();
}

#[test]
fn fok_fills_completely_or_changes_nothing() {
    let mut h = Harness::new();
    h.ok(0, sell("100", "1"));
    h.ok(0, sell("101", "1"));
    let root = h.engine.commit();
    let before_usd = h.bal(1, USD);
    let err = h
        .place(1, buy("101", "2.5").tif(TimeInForce::Fok))
        .unwrap_err();
    assert_eq!(err, Rejection::FillOrKillUnfilled);
    assert_eq!(h.bal(1, USD), before_usd);
    assert_eq!(h.engine.depth(BTC_USD, 5).unwrap().asks.len(), 2);
    // Only the nonce moved.
    assert_eq!(h.engine.next_nonce(&h.key(1)), 1);
    assert_ne!(h.engine.commit(), root);
    // A limit that is too low is not fillable either.
    assert_eq!(
        h.place(1, buy("100", "2").tif(TimeInForce::Fok))
            .unwrap_err(),
        Rejection::FillOrKillUnfilled
    );
    let (_, ev) = h.ok(1, buy("101", "2").tif(TimeInForce::Fok));
    assert_eq!(fills(&ev).len(), 2);
    assert!(!ev
        .iter()
        .any(|e| matches!(e, Event::OrderExpired { .. } | Event::OrderRested { .. })));
    h.check();
}

#[test]
fn post_only_is_rejected_if_it_would_cross_and_rests_otherwise() {
    let mut h = Harness::new();
    h.ok(0, sell("100", "1"));
    assert_eq!(
        h.place(1, buy("100", "1").tif(TimeInForce::PostOnly))
            .unwrap_err(),
        Rejection::PostOnlyWouldCross
    );
    let (id, ev) = h.ok(1, buy("99.99", "1").tif(TimeInForce::PostOnly));
    assert!(fills(&ev).is_empty());
    assert!(h.engine.order(&id).is_some());
    h.check();
}

// ----------------------------------------------------------------- market orders

#[test]
fn market_order_is_bounded_by_liquidity() {
    let mut h = Harness::new();
    h.ok(0, sell("100", "1"));
    h.ok(0, sell("105", "1"));
    let (_, ev) = h.ok(1, market(Side::Buy, "3"));
    let f = fills(&ev);
    assert_eq!(f.iter().map(|f| f.quantity).sum::<u64>(), 20_000);
    assert!(matches!(
        ev.last(),
        Some(Event::OrderExpired {
            remaining: 10_000,
            reason: ExpireReason::IocRemainder,
            ..
        })
    ));
    assert!(h.engine.depth(BTC_USD, 5).unwrap().asks.is_empty());
    h.check();
}

#[test]
fn market_order_is_bounded_by_the_takers_balance() {
    // Account 2 holds only 150.075 USD: enough for 1.5 BTC at 100 plus the 5 bps fee.
    let mut h = Harness::with_genesis(|g| {
        let k = Keypair::for_testing("acct2").public();
        g.balances.retain(|b| !(b.account == k && b.asset == "USD"));
        g.balances.push(ledger_types::genesis::GenesisBalance {
            account: k,
            asset: "USD".into(),
            amount: d("150.075"),
        });
    });
    h.ok(0, sell("100", "5"));
    let (_, ev) = h.ok(2, market(Side::Buy, "3"));
    let f = fills(&ev);
    assert_eq!(f[0].quantity, 15_000);
    assert!(matches!(
        ev.last(),
        Some(Event::OrderExpired {
            remaining: 15_000,
            reason: ExpireReason::InsufficientBalance,
            ..
        })
    ));
    assert_eq!(h.bal(2, USD), Balance { free: 0, locked: 0 });
    // A market sell is bounded by the base balance.
    let mut h = Harness::new();
    h.ok(0, buy("100", "500"));
    let (_, ev) = h.ok(1, market(Side::Sell, "200"));
    assert_eq!(fills(&ev)[0].quantity, 100 * 10_000);
    assert_eq!(h.bal(1, BTC).free, 0);
    h.check();
}

#[test]
fn market_order_with_a_price_bound_stops_there() {
    let mut h = Harness::new();
    h.ok(0, sell("100", "1"));
    h.ok(0, sell("110", "1"));
    let (_, ev) = h.ok(1, market(Side::Buy, "2").bound("105"));
    assert_eq!(fills(&ev).len(), 1);
    assert!(matches!(
        ev.last(),
        Some(Event::OrderExpired {
            reason: ExpireReason::PriceBound,
            ..
        })
    ));
    h.check();
}

#[test]
fn market_order_without_liquidity_or_with_bad_tif_is_rejected() {
    let mut h = Harness::new();
    assert_eq!(
        h.place(1, market(Side::Buy, "1")).unwrap_err(),
        Rejection::NoLiquidity
    );
    h.ok(0, sell("100", "1"));
    assert_eq!(
        h.place(1, market(Side::Buy, "1").bound("99")).unwrap_err(),
        Rejection::NoLiquidity
    );
    assert_eq!(
        h.place(1, market(Side::Buy, "1").tif(TimeInForce::Gtc))
            .unwrap_err(),
        Rejection::InvalidTimeInForce
    );
    assert_eq!(
        h.place(1, market(Side::Buy, "1").tif(TimeInForce::PostOnly))
            .unwrap_err(),
        Rejection::InvalidTimeInForce
    );
    // Market FOK: all or nothing.
    assert_eq!(
        h.place(1, market(Side::Buy, "2").tif(TimeInForce::Fok))
            .unwrap_err(),
        Rejection::FillOrKillUnfilled
    );
    let (_, ev) = h.ok(1, market(Side::Buy, "1").tif(TimeInForce::Fok));
    assert_eq!(fills(&ev).len(), 1);
    h.check();
}

// ------------------------------------------------------------------ self-trade

#[test]
fn self_trade_expire_maker_is_the_default_and_keeps_matching() {
    let mut h = Harness::new();
    let (own, _) = h.ok(0, sell("100", "1"));
    let (other, _) = h.ok(1, sell("100", "1"));
    let (_, ev) = h.ok(0, buy("100", "1"));
    assert!(
        ev.iter().any(|e| matches!(e,
        Event::OrderExpired { order_id, reason: ExpireReason::SelfTrade, .. } if *order_id == own))
    );
    let f = fills(&ev);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].maker_order, other);
    assert!(h.engine.order(&own).is_none());
    assert_eq!(h.bal(0, BTC).locked, 0);
    h.check();
}

#[test]
fn self_trade_expire_taker_keeps_the_resting_order() {
    let mut h = Harness::new();
    let (own, _) = h.ok(0, sell("100", "1"));
    h.ok(1, sell("100", "1"));
    let (id, ev) = h.ok(0, buy("100", "1").stp(SelfTradePrevention::ExpireTaker));
    assert!(fills(&ev).is_empty());
    assert!(ev.iter().any(|e| matches!(e,
        Event::OrderExpired { order_id, reason: ExpireReason::SelfTrade, .. } if *order_id == id)));
    assert!(h.engine.order(&own).is_some());
    assert!(h.engine.order(&id).is_none());
    h.check();
}

#[test]
fn self_trade_expire_both_removes_both() {
    let mut h = Harness::new();
    h.ok(1, sell("99", "1"));
    let (own, _) = h.ok(0, sell("100", "1"));
    let (id, ev) = h.ok(0, buy("100", "2").stp(SelfTradePrevention::ExpireBoth));
    assert_eq!(fills(&ev).len(), 1); // the other account's order at 99 trades first
    let expired: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::OrderExpired {
                order_id,
                reason: ExpireReason::SelfTrade,
                ..
            } => Some(*order_id),
            _ => None,
        })
        .collect();
    assert_eq!(expired, vec![own, id]);
    assert!(h.engine.open_orders(&h.key(0)).is_empty());
    h.check();
}

// ------------------------------------------------------------------ fees

#[test]
fn fees_are_charged_in_quote_rounded_down_and_credited_to_the_fee_account() {
    let mut h = Harness::new();
    // 0.0001 BTC at 100.01: notional 10_001 units. Maker 2 bps -> 2.0002 -> 2.
    // Taker 5 bps -> 5.0005 -> 5.
    h.ok(0, sell("100.01", "0.0001"));
    let (_, ev) = h.ok(1, buy("100.01", "0.0001"));
    let f = &fills(&ev)[0];
    assert_eq!((f.maker_fee, f.taker_fee), (2, 5));
    assert_eq!(h.fee_bal().free, 7);
    // Maker (seller) receives notional minus its fee; taker pays notional plus its fee.
    assert_eq!(h.bal(0, USD).free, USD0 + 10_001 - 2);
    assert_eq!(h.bal(1, USD).free, USD0 - 10_001 - 5);
    // A tiny fill whose fee rounds to zero.
    h.ok(0, sell("1", "0.0001")); // notional 100 units: maker fee 0.02 -> 0
    let (_, ev) = h.ok(1, buy("1", "0.0001"));
    assert_eq!((fills(&ev)[0].maker_fee, fills(&ev)[0].taker_fee), (0, 0));
    h.check();
}

#[test]
fn buy_filled_below_its_limit_gets_the_unused_lock_back() {
    let mut h = Harness::new();
    h.ok(0, sell("90", "1"));
    h.ok(1, buy("100", "1"));
    let notional = 90_000_000u128;
    assert_eq!(
        h.bal(1, USD),
        Balance {
            free: USD0 - notional - notional * 5 / 10_000,
            locked: 0
        }
    );
    h.check();
}

// ------------------------------------------------------------------ cancels

#[test]
fn cancel_by_order_id_releases_the_lock() {
    let mut h = Harness::new();
    let (id, _) = h.ok(0, buy("100", "1"));
    let (_, ev) = h
        .submit(
            0,
            Payload::CancelOrder(CancelOrder {
                order: OrderRef::OrderId(id),
            }),
        )
        .unwrap();
    assert!(matches!(
        ev[0],
        Event::OrderCancelled {
            remaining: 10_000,
            reason: CancelReason::User,
            ..
        }
    ));
    assert_eq!(
        h.bal(0, USD),
        Balance {
            free: USD0,
            locked: 0
        }
    );
    assert!(h.engine.order(&id).is_none());
    h.check();
}

#[test]
fn cancel_by_client_order_id() {
    let mut h = Harness::new();
    let (id, _) = h.ok(0, sell("100", "1").cid(7));
    assert_eq!(
        h.engine
            .order_by_client_id(&h.key(0), ClientOrderId(7))
            .unwrap()
            .id,
        id
    );
    let (_, ev) = h
        .submit(
            0,
            Payload::CancelOrder(CancelOrder {
                order: OrderRef::ClientOrderId(ClientOrderId(7)),
            }),
        )
        .unwrap();
    assert!(matches!(
        ev[0],
        Event::OrderCancelled {
            client_order_id: Some(ClientOrderId(7)),
            ..
        }
    ));
    // The client id is free again once the order is gone.
    h.ok(0, sell("100", "1").cid(7));
    h.check();
}

#[test]
fn cancel_of_another_accounts_order_is_not_found() {
    let mut h = Harness::new();
    let (id, _) = h.ok(0, buy("100", "1").cid(1));
    let r = h.submit(
        1,
        Payload::CancelOrder(CancelOrder {
            order: OrderRef::OrderId(id),
        }),
    );
    assert_eq!(r.unwrap_err(), Rejection::OrderNotFound);
    let r = h.submit(
        1,
        Payload::CancelOrder(CancelOrder {
            order: OrderRef::ClientOrderId(ClientOrderId(1)),
        }),
    );
    assert_eq!(r.unwrap_err(), Rejection::OrderNotFound);
    assert!(h.engine.order(&id).is_some());
}

#[test]
fn cancel_all_by_market_and_everywhere() {
    let mut h = Harness::new();
    h.ok(0, buy("100", "1"));
    h.ok(0, sell("200", "1"));
    h.ok(
        0,
        O {
            market: MarketId(1),
            ..buy("10", "1")
        },
    );
    let (_, ev) = h
        .submit(
            0,
            Payload::CancelAll(CancelAll {
                market: Some(BTC_USD),
            }),
        )
        .unwrap();
    assert_eq!(ev.len(), 2);
    assert!(ev.iter().all(|e| matches!(
        e,
        Event::OrderCancelled {
            reason: CancelReason::CancelAll,
            ..
        }
    )));
    assert_eq!(h.engine.open_orders(&h.key(0)).len(), 1);
    let (_, ev) = h
        .submit(0, Payload::CancelAll(CancelAll { market: None }))
        .unwrap();
    assert_eq!(ev.len(), 1);
    assert!(h.engine.open_orders(&h.key(0)).is_empty());
    assert_eq!(
        h.submit(
            0,
            Payload::CancelAll(CancelAll {
                market: Some(MarketId(9))
            })
        )
        .unwrap_err(),
        Rejection::UnknownMarket(MarketId(9))
    );
    h.check();
}

// ------------------------------------------------------------------ rejections

#[test]
fn nonce_rules_replay_and_future_have_no_effect() {
    let mut h = Harness::new();
    let tx = h.tx(0, buy("100", "1").payload());
    h.engine.apply(&tx, tx.hash()).unwrap();
    let root = h.engine.commit();
    assert_eq!(
        h.engine.apply(&tx, tx.hash()).unwrap_err(),
        Rejection::NonceReplayed {
            expected: 1,
            got: 0
        }
    );
    let mut future = h.tx(0, buy("100", "1").payload());
    future.nonce = 5;
    assert_eq!(
        h.engine.apply(&future, future.hash()).unwrap_err(),
        Rejection::NonceTooHigh {
            expected: 1,
            got: 5
        }
    );
    assert!(h.engine.is_committed());
    assert_eq!(h.engine.commit(), root);
    // A rejected payload with the right nonce consumes the nonce and nothing else.
    let usd = h.bal(0, USD);
    assert_eq!(
        h.place(0, buy("100", "0.00001")).unwrap_err(),
        Rejection::InvalidQuantity
    );
    assert_eq!(h.engine.next_nonce(&h.key(0)), 2);
    assert_eq!(h.bal(0, USD), usd);
}

#[test]
fn wrong_chain_id_has_no_effect() {
    let mut h = Harness::new();
    let mut tx = h.tx(0, buy("100", "1").payload());
    tx.chain_id = "other-chain".into();
    assert!(matches!(
        h.engine.apply(&tx, tx.hash()),
        Err(Rejection::WrongChainId { .. })
    ));
    assert_eq!(h.engine.next_nonce(&h.key(0)), 0);
    assert!(h.engine.is_committed());
}

#[test]
fn every_order_rejection_reason() {
    let mut h = Harness::new();
    let r = |h: &mut Harness, o: O| h.place(0, o).unwrap_err();
    assert_eq!(
        r(
            &mut h,
            O {
                market: MarketId(7),
                ..buy("1", "1")
            }
        ),
        Rejection::UnknownMarket(MarketId(7))
    );
    assert_eq!(
        r(
            &mut h,
            O {
                price: None,
                ..buy("1", "1")
            }
        ),
        Rejection::MissingPrice
    );
    assert_eq!(r(&mut h, buy("100.001", "1")), Rejection::InvalidPrice);
    assert_eq!(r(&mut h, buy("0", "1")), Rejection::InvalidPrice);
    assert_eq!(r(&mut h, buy("-1", "1")), Rejection::InvalidPrice);
    assert_eq!(r(&mut h, buy("100", "0.00001")), Rejection::InvalidQuantity);
    assert_eq!(r(&mut h, buy("100", "0")), Rejection::InvalidQuantity);
    // ETH/USD has min size 0.01 with lot 0.001.
    assert_eq!(
        r(
            &mut h,
            O {
                market: MarketId(1),
                ..buy("10", "0.005")
            }
        ),
        Rejection::BelowMinSize { min_lots: 10 }
    );
    assert_eq!(
        r(&mut h, buy("1000000", "100")),
        Rejection::InsufficientBalance {
            asset: USD,
            needed: 100_050_000_000_000,
            available: USD0
        }
    );
    assert_eq!(
        r(&mut h, sell("100", "101")),
        Rejection::InsufficientBalance {
            asset: BTC,
            needed: 10_100_000_000,
            available: BTC0
        }
    );
    assert_eq!(
        r(
            &mut h,
            buy("184467440737095516.15", "1844674407370955.1615")
        ),
        Rejection::Overflow
    );
    h.ok(0, buy("1", "1").cid(5));
    assert_eq!(
        r(&mut h, buy("1", "1").cid(5)),
        Rejection::DuplicateClientOrderId
    );
    h.check();
}

#[test]
fn too_many_open_orders() {
    let mut h = Harness::with_genesis(|g| g.limits.max_open_orders_per_account = 2);
    h.ok(0, buy("1", "1"));
    h.ok(0, buy("2", "1"));
    assert_eq!(
        h.place(0, buy("3", "1")).unwrap_err(),
        Rejection::TooManyOpenOrders { limit: 2 }
    );
    // An IOC cannot rest, so it is still allowed.
    h.ok(0, buy("3", "1").tif(TimeInForce::Ioc));
}

#[test]
fn transfers_and_their_rejections() {
    let mut h = Harness::new();
    let to = Keypair::for_testing("new").public();
    let t = |asset, amount: &str, to| {
        Payload::Transfer(Transfer {
            to,
            asset,
            amount: d(amount),
        })
    };
    let (_, ev) = h.submit(0, t(USD, "12.5", to)).unwrap();
    assert!(matches!(
        ev[0],
        Event::Transferred {
            amount: 12_500_000,
            ..
        }
    ));
    assert_eq!(h.engine.balance(&to, USD).free, 12_500_000);
    assert_eq!(h.bal(0, USD).free, USD0 - 12_500_000);
    assert_eq!(
        h.submit(0, t(AssetId(9), "1", to)).unwrap_err(),
        Rejection::UnknownAsset(AssetId(9))
    );
    assert_eq!(
        h.submit(0, t(USD, "0", to)).unwrap_err(),
        Rejection::InvalidAmount
    );
    assert_eq!(
        h.submit(0, t(USD, "0.0000001", to)).unwrap_err(),
        Rejection::InvalidAmount
    );
    assert_eq!(
        h.submit(0, t(USD, "1", h.key(0))).unwrap_err(),
        Rejection::SelfTransfer
    );
    assert!(matches!(
        h.submit(0, t(BTC, "1000", to)).unwrap_err(),
        Rejection::InsufficientBalance { .. }
    ));
    // Locked funds cannot be transferred.
    h.ok(1, sell("100", "100"));
    assert!(matches!(
        h.submit(1, t(BTC, "1", to)).unwrap_err(),
        Rejection::InsufficientBalance { available: 0, .. }
    ));
    h.check();
}

// ------------------------------------------------------------------ state

#[test]
fn restored_engine_has_the_same_root_and_behaves_identically() {
    let mut h = Harness::new();
    h.ok(0, sell("100", "1").cid(1));
    h.ok(1, buy("99", "2"));
    h.ok(2, sell("101", "1"));
    h.ok(1, buy("100", "0.5"));
    let root = h.engine.commit();
    let state = h.engine.export_state();
    let mut restored = Engine::restore(&h.genesis, state.clone()).unwrap();
    assert_eq!(restored.state_root(), root);
    // Same next transaction, same events and root.
    let tx = h.tx(2, market(Side::Buy, "1").payload());
    h.engine.apply(&tx, tx.hash()).unwrap();
    restored.apply(&tx, tx.hash()).unwrap();
    assert_eq!(h.engine.take_events(), restored.take_events());
    assert_eq!(h.engine.commit(), restored.commit());
    // Records in any order restore to the same root.
    let mut shuffled = state;
    shuffled.accounts.reverse();
    shuffled.orders.reverse();
    assert_eq!(
        Engine::restore(&h.genesis, shuffled).unwrap().state_root(),
        root
    );
}

#[test]
fn restore_rejects_inconsistent_state() {
    let mut h = Harness::new();
    h.ok(0, sell("100", "1"));
    let state = h.engine.export_state();
    let mut bad = state.clone();
    bad.accounts
        .iter_mut()
        .for_each(|a| a.balances[0].locked = 0);
    let e = Engine::restore(&h.genesis, bad).unwrap_err().to_string();
    assert!(e.contains("locked"), "{e}");
    let mut bad = state.clone();
    bad.orders.push(bad.orders[0].clone());
    assert!(Engine::restore(&h.genesis, bad).is_err());
    let mut bad = state;
    bad.orders[0] = OrderRecord {
        market: MarketId(40),
        ..bad.orders[0].clone()
    };
    assert!(Engine::restore(&h.genesis, bad)
        .unwrap_err()
        .to_string()
        .contains("unknown market"));
}

#[test]
fn block_execution_gives_receipts_changes_and_a_root() {
    let mut h = Harness::new();
    let k0 = h.keys[0].clone();
    let mk = |nonce, payload| {
        Tx {
            chain_id: "ledger-test".into(),
            sender: k0.public(),
            nonce,
            payload,
            valid_until_height: None,
        }
        .sign(&k0)
    };
    let txs = vec![
        mk(0, sell("100", "1").payload()),
        mk(0, sell("100", "1").payload()), // replayed nonce
        mk(1, buy("1", "1").payload()),
    ];
    let out = h.engine.execute_block(&txs);
    assert_eq!(out.receipts.len(), 3);
    assert!(out.receipts[0].result.is_ok());
    assert!(matches!(
        out.receipts[1].result,
        Err(Rejection::NonceReplayed { .. })
    ));
    assert_eq!(out.receipts[0].events.len(), 2);
    assert_eq!(out.changes.orders.len(), 2);
    assert_eq!(out.changes.accounts.len(), 1);
    assert_eq!(out.state_root, h.engine.state_root());
    // Cancelling a committed order shows up as a removal in the next change set.
    let id = txs[0].hash();
    let cancel = mk(
        2,
        Payload::CancelOrder(CancelOrder {
            order: OrderRef::OrderId(id),
        }),
    );
    let out = h.engine.execute_block(&[cancel]);
    assert_eq!(out.changes.removed_orders, vec![id]);
}
