//! Rules of the trading actions for bots: batches, amendments, transaction expiry,
//! good-till-height orders and the dead man's switch. One test per rule and per
//! rejection reason.

use ledger_engine::{Balance, CancelReason, Engine, Event, ExpireReason, OrderRecord, Rejection};
use ledger_types::{
    batch_order_id, AmendOrder, AssetId, Batch, BatchAction, CancelOrder, ClientOrderId, Decimal,
    Genesis, Keypair, MarketId, OrderKind, OrderRef, Payload, PlaceOrder, ScheduleCancel,
    SelfTradePrevention, Side, SignedTx, TimeInForce, Tx, TxHash, MAX_BATCH_ACTIONS,
};
use std::str::FromStr;

const BTC: AssetId = AssetId(0);
const USD: AssetId = AssetId(1);
const BTC_USD: MarketId = MarketId(0);
const USD0: u128 = 10_000_000 * 1_000_000;
const BTC0: u128 = 100 * 100_000_000;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn order(side: Side, price: &str, qty: &str) -> PlaceOrder {
    PlaceOrder {
        market: BTC_USD,
        side,
        kind: OrderKind::Limit,
        price: Some(d(price)),
        quantity: d(qty),
        time_in_force: TimeInForce::Gtc,
        client_order_id: None,
        self_trade: SelfTradePrevention::ExpireMaker,
        good_till_height: None,
    }
}

fn buy(price: &str, qty: &str) -> PlaceOrder {
    order(Side::Buy, price, qty)
}

fn sell(price: &str, qty: &str) -> PlaceOrder {
    order(Side::Sell, price, qty)
}

fn with_cid(mut o: PlaceOrder, cid: u128) -> PlaceOrder {
    o.client_order_id = Some(ClientOrderId(cid));
    o
}

fn gtd(mut o: PlaceOrder, height: u64) -> PlaceOrder {
    o.good_till_height = Some(height);
    o
}

fn amend(order: OrderRef, price: Option<&str>, qty: Option<&str>) -> AmendOrder {
    AmendOrder {
        order,
        price: price.map(d),
        quantity: qty.map(d),
    }
}

struct H {
    engine: Engine,
    genesis: Genesis,
    keys: Vec<Keypair>,
}

impl H {
    fn new() -> H {
        let keys: Vec<Keypair> = (0..3)
            .map(|i| Keypair::for_testing(&format!("acct{i}")))
            .collect();
        let pubs: Vec<_> = keys.iter().map(|k| k.public()).collect();
        let genesis = Genesis::for_testing(&pubs, &[Keypair::for_testing("v").public()]);
        H {
            engine: Engine::from_genesis(&genesis).unwrap(),
            genesis,
            keys,
        }
    }

    fn tx(&self, who: usize, payload: Payload) -> Tx {
        let sender = self.keys[who].public();
        Tx::new(
            self.genesis.chain_id.clone(),
            sender,
            self.engine.next_nonce(&sender),
            payload,
        )
    }

    fn apply(&mut self, tx: Tx) -> Result<(TxHash, Vec<Event>), Rejection> {
        let hash = tx.hash();
        let r = self.engine.apply(&tx, hash);
        let events = self.engine.take_events();
        r.map(|()| (hash, events))
    }

    fn submit(&mut self, who: usize, payload: Payload) -> Result<(TxHash, Vec<Event>), Rejection> {
        self.apply(self.tx(who, payload))
    }

    fn ok(&mut self, who: usize, payload: Payload) -> (TxHash, Vec<Event>) {
        self.submit(who, payload).expect("accepted")
    }

    fn place(&mut self, who: usize, o: PlaceOrder) -> TxHash {
        self.ok(who, Payload::PlaceOrder(o)).0
    }

    fn batch(
        &mut self,
        who: usize,
        actions: Vec<BatchAction>,
    ) -> (TxHash, Vec<Event>, Vec<Result<(), Rejection>>) {
        let (h, ev) = self.ok(who, Payload::Batch(Batch { actions }));
        (h, ev, self.engine.take_action_results())
    }

    fn bal(&self, who: usize, asset: AssetId) -> Balance {
        self.engine.balance(&self.keys[who].public(), asset)
    }

    fn order(&self, id: &TxHash) -> Option<OrderRecord> {
        self.engine.order(id).cloned()
    }

    fn check(&self) {
        self.engine.check_invariants().unwrap();
        let g = Engine::from_genesis(&self.genesis).unwrap();
        assert_eq!(self.engine.total_supply(), g.total_supply());
        // Restoring the exported state gives the same root and the same invariants.
        let restored = Engine::restore(&self.genesis, self.engine.export_state()).unwrap();
        let mut me = self.engine.clone();
        assert_eq!(restored.state_root(), me.commit());
        restored.check_invariants().unwrap();
    }
}

fn maker_of_fills(events: &[Event]) -> Vec<TxHash> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Fill(f) => Some(f.maker_order),
            _ => None,
        })
        .collect()
}

// ------------------------------------------------------------------------ batches

#[test]
fn batch_applies_actions_in_order_with_one_result_each() {
    let mut h = H::new();
    let old = h.place(0, with_cid(buy("99", "1"), 1));
    let (hash, events, results) = h.batch(
        0,
        vec![
            BatchAction::CancelOrder(CancelOrder {
                order: OrderRef::ClientOrderId(ClientOrderId(1)),
            }),
            BatchAction::PlaceOrder(with_cid(buy("100", "1"), 1)),
            BatchAction::PlaceOrder(with_cid(sell("101", "1"), 2)),
            BatchAction::AmendOrder(amend(
                OrderRef::ClientOrderId(ClientOrderId(2)),
                Some("102"),
                None,
            )),
        ],
    );
    assert_eq!(results, vec![Ok(()), Ok(()), Ok(()), Ok(())]);
    assert!(h.order(&old).is_none());
    let bid = batch_order_id(&hash, 1);
    let ask = batch_order_id(&hash, 2);
    assert_eq!(
        h.order(&bid).unwrap().client_order_id,
        Some(ClientOrderId(1))
    );
    assert_eq!(h.order(&ask).unwrap().price, 10_200);
    // Events in action order: cancel, accept+rest, accept+rest, amend.
    assert!(matches!(
        events[0],
        Event::OrderCancelled {
            reason: CancelReason::User,
            ..
        }
    ));
    assert!(matches!(&events[1], Event::OrderAccepted { order_id, .. } if *order_id == bid));
    assert!(matches!(
        events.last(),
        Some(Event::OrderAmended { price: 10_200, .. })
    ));
    // One nonce for the whole batch.
    assert_eq!(h.engine.next_nonce(&h.keys[0].public()), 2);
    h.check();
}

#[test]
fn a_failing_action_does_not_undo_the_others() {
    let mut h = H::new();
    let (hash, _, results) = h.batch(
        0,
        vec![
            BatchAction::PlaceOrder(with_cid(buy("100", "1"), 7)),
            // Duplicate client order id: rejected.
            BatchAction::PlaceOrder(with_cid(buy("99", "1"), 7)),
            // Bad tick: rejected.
            BatchAction::PlaceOrder(buy("99.001", "1")),
            // Unknown order: rejected.
            BatchAction::CancelOrder(CancelOrder {
                order: OrderRef::ClientOrderId(ClientOrderId(99)),
            }),
            BatchAction::PlaceOrder(sell("105", "2")),
        ],
    );
    assert_eq!(
        results,
        vec![
            Ok(()),
            Err(Rejection::DuplicateClientOrderId),
            Err(Rejection::InvalidPrice),
            Err(Rejection::OrderNotFound),
            Ok(()),
        ]
    );
    assert!(h.order(&batch_order_id(&hash, 0)).is_some());
    assert!(h.order(&batch_order_id(&hash, 1)).is_none());
    assert!(h.order(&batch_order_id(&hash, 4)).is_some());
    assert_eq!(h.engine.order_count(), 2);
    h.check();
}

#[test]
fn batch_actions_trade_like_single_orders() {
    let mut h = H::new();
    let ask = h.place(1, sell("100", "1"));
    let (hash, events, results) = h.batch(0, vec![BatchAction::PlaceOrder(buy("100", "0.4"))]);
    assert_eq!(results, vec![Ok(())]);
    let fill = events.iter().find_map(|e| match e {
        Event::Fill(f) => Some(f.clone()),
        _ => None,
    });
    let fill = fill.expect("a fill");
    assert_eq!(
        (fill.maker_order, fill.taker_order),
        (ask, batch_order_id(&hash, 0))
    );
    assert_eq!(fill.quantity, 4_000);
    h.check();
}

#[test]
fn empty_and_oversized_batches_are_rejected_and_use_the_nonce() {
    let mut h = H::new();
    assert_eq!(
        h.submit(0, Payload::Batch(Batch { actions: vec![] }))
            .unwrap_err(),
        Rejection::EmptyBatch
    );
    let too_many = vec![BatchAction::PlaceOrder(buy("1", "0.0001")); MAX_BATCH_ACTIONS + 1];
    assert_eq!(
        h.submit(0, Payload::Batch(Batch { actions: too_many }))
            .unwrap_err(),
        Rejection::BatchTooLarge { max: 32, got: 33 }
    );
    assert_eq!(h.engine.order_count(), 0);
    assert_eq!(h.engine.next_nonce(&h.keys[0].public()), 2);
    assert!(h.engine.take_action_results().is_empty());
    // Exactly the maximum is fine.
    let full = (0..MAX_BATCH_ACTIONS)
        .map(|i| BatchAction::PlaceOrder(buy(&format!("{}", 50 + i), "0.0001")))
        .collect();
    let (_, _, results) = h.batch(0, full);
    assert_eq!(results.len(), 32);
    assert!(results.iter().all(|r| r.is_ok()));
    h.check();
}

// --------------------------------------------------------------------- amendments

#[test]
fn size_decrease_keeps_priority() {
    let mut h = H::new();
    let first = h.place(0, sell("100", "2"));
    let second = h.place(1, sell("100", "1"));
    let seq = h.order(&first).unwrap().seq;
    let (_, ev) = h.ok(
        0,
        Payload::AmendOrder(amend(OrderRef::OrderId(first), None, Some("1.5"))),
    );
    assert!(matches!(
        ev[..],
        [Event::OrderAmended {
            quantity: 15_000,
            remaining: 15_000,
            priority_kept: true,
            ..
        }]
    ));
    let o = h.order(&first).unwrap();
    assert_eq!((o.seq, o.quantity, o.remaining), (seq, 15_000, 15_000));
    assert_eq!(
        h.bal(0, BTC),
        Balance {
            free: BTC0 - 150_000_000,
            locked: 150_000_000
        }
    );
    let depth = h.engine.depth(BTC_USD, 1).unwrap();
    assert_eq!(depth.asks[0].quantity, 25_000);
    // A taker still meets the amended order first.
    let (_, ev) = h.submit(2, Payload::PlaceOrder(buy("100", "1"))).unwrap();
    assert_eq!(maker_of_fills(&ev), vec![first]);
    let _ = second;
    h.check();
}

#[test]
fn price_change_or_size_increase_loses_priority() {
    let mut h = H::new();
    let a = h.place(0, sell("100", "1"));
    let b = h.place(1, sell("100", "1"));
    let (_, ev) = h.ok(
        0,
        Payload::AmendOrder(amend(OrderRef::OrderId(a), None, Some("2"))),
    );
    assert!(matches!(
        ev[..],
        [Event::OrderAmended {
            priority_kept: false,
            ..
        }]
    ));
    let (_, ev) = h.submit(2, Payload::PlaceOrder(buy("100", "1"))).unwrap();
    assert_eq!(
        maker_of_fills(&ev),
        vec![b],
        "the enlarged order went to the back"
    );

    let c = h.place(1, sell("101", "1"));
    // `a` moves to 101: behind `c`, which was there first.
    h.ok(
        0,
        Payload::AmendOrder(amend(OrderRef::OrderId(a), Some("101"), None)),
    );
    let (_, ev) = h.submit(2, Payload::PlaceOrder(buy("101", "1"))).unwrap();
    assert_eq!(maker_of_fills(&ev), vec![c]);
    let o = h.order(&a).unwrap();
    assert_eq!((o.price, o.quantity, o.remaining), (10_100, 20_000, 20_000));
    assert_eq!(h.bal(0, BTC).locked, 200_000_000);
    h.check();
}

#[test]
fn amending_a_partly_filled_buy_relocks_for_the_new_open_quantity() {
    let mut h = H::new();
    let bid = h.place(0, with_cid(buy("100", "2"), 5));
    h.submit(1, Payload::PlaceOrder(sell("100", "0.5")))
        .unwrap();
    // 0.5 filled; new total 1 at 90 -> 0.5 open at 90 = 45 USD + max fee 5 bps.
    let (_, ev) = h.ok(
        0,
        Payload::AmendOrder(amend(
            OrderRef::ClientOrderId(ClientOrderId(5)),
            Some("90"),
            Some("1"),
        )),
    );
    assert!(matches!(
        ev[..],
        [Event::OrderAmended {
            remaining: 5_000,
            quantity: 10_000,
            ..
        }]
    ));
    let o = h.order(&bid).unwrap();
    assert_eq!(o.locked, 45_000_000 + 22_500);
    assert_eq!(h.bal(0, USD).locked, o.locked);
    h.check();
}

#[test]
fn amend_rejections_leave_the_order_unchanged() {
    let mut h = H::new();
    let bid = h.place(0, buy("100", "2"));
    h.place(1, sell("105", "1"));
    h.submit(1, Payload::PlaceOrder(sell("100", "0.5")))
        .unwrap();
    let before = h.order(&bid).unwrap();
    let cases: Vec<(AmendOrder, Rejection)> = vec![
        (
            amend(OrderRef::OrderId(bid), None, None),
            Rejection::EmptyAmend,
        ),
        (
            amend(OrderRef::OrderId(bid), Some("105"), None),
            Rejection::AmendWouldCross,
        ),
        (
            amend(OrderRef::OrderId(bid), None, Some("0.5")),
            Rejection::AmendBelowFilled { filled_lots: 5_000 },
        ),
        (
            amend(OrderRef::OrderId(bid), Some("100.001"), None),
            Rejection::InvalidPrice,
        ),
        (
            amend(OrderRef::OrderId(bid), None, Some("0.00001")),
            Rejection::InvalidQuantity,
        ),
        (
            amend(OrderRef::OrderId(TxHash::digest(b"none")), Some("99"), None),
            Rejection::OrderNotFound,
        ),
        (
            amend(OrderRef::ClientOrderId(ClientOrderId(42)), Some("99"), None),
            Rejection::OrderNotFound,
        ),
    ];
    for (a, want) in cases {
        assert_eq!(h.submit(0, Payload::AmendOrder(a)).unwrap_err(), want);
        assert_eq!(h.order(&bid).unwrap(), before);
    }
    // Someone else's order is not found.
    assert_eq!(
        h.submit(
            2,
            Payload::AmendOrder(amend(OrderRef::OrderId(bid), Some("99"), None))
        )
        .unwrap_err(),
        Rejection::OrderNotFound
    );
    // An increase the free balance cannot pay for.
    let free = h.bal(0, USD).free;
    let r = h
        .submit(
            0,
            Payload::AmendOrder(amend(OrderRef::OrderId(bid), None, Some("1000000"))),
        )
        .unwrap_err();
    assert!(
        matches!(r, Rejection::InsufficientBalance { asset: USD, available, .. } if available == free + before.locked)
    );
    assert_eq!(h.order(&bid).unwrap(), before);
    // Same price and quantity: accepted, nothing happens.
    let (_, ev) = h.ok(
        0,
        Payload::AmendOrder(amend(OrderRef::OrderId(bid), Some("100"), Some("2"))),
    );
    assert!(ev.is_empty());
    assert_eq!(h.order(&bid).unwrap(), before);
    h.check();
}

// ---------------------------------------------------------------- expiry by height

#[test]
fn transactions_past_valid_until_height_have_no_effect() {
    let mut h = H::new();
    h.engine.begin_block(10);
    let mut tx = h.tx(0, Payload::PlaceOrder(buy("100", "1")));
    tx.valid_until_height = Some(9);
    assert_eq!(
        h.apply(tx.clone()).unwrap_err(),
        Rejection::TxExpired {
            valid_until_height: 9,
            height: 10
        }
    );
    assert!(Rejection::TxExpired {
        valid_until_height: 9,
        height: 10
    }
    .is_stateless());
    assert_eq!(
        h.engine.next_nonce(&h.keys[0].public()),
        0,
        "nonce not used"
    );
    assert_eq!(
        h.bal(0, USD),
        Balance {
            free: USD0,
            locked: 0
        }
    );
    // Valid through its height.
    tx.valid_until_height = Some(10);
    h.apply(tx).unwrap();
    assert_eq!(h.engine.next_nonce(&h.keys[0].public()), 1);
    h.check();
}

#[test]
fn good_till_orders_expire_after_their_height_with_an_event() {
    let mut h = H::new();
    h.engine.begin_block(3);
    let id = h.place(0, gtd(buy("100", "1"), 5));
    let plain = h.place(0, buy("99", "1"));
    assert_eq!(h.order(&id).unwrap().good_till_height, Some(5));
    let out = h.engine.execute_block_at(5, &[]);
    assert!(out.block_events.is_empty(), "still valid at its height");
    let out = h.engine.execute_block_at(6, &[]);
    assert_eq!(
        out.block_events,
        vec![Event::OrderExpired {
            order_id: id,
            client_order_id: None,
            account: h.keys[0].public(),
            market: BTC_USD,
            remaining: 10_000,
            reason: ExpireReason::GoodTill,
        }]
    );
    assert!(h.order(&id).is_none());
    assert!(h.order(&plain).is_some());
    assert_eq!(h.bal(0, USD).locked, h.order(&plain).unwrap().locked);
    h.check();
}

#[test]
fn good_till_rules() {
    let mut h = H::new();
    h.engine.begin_block(8);
    assert_eq!(
        h.submit(0, Payload::PlaceOrder(gtd(buy("100", "1"), 7)))
            .unwrap_err(),
        Rejection::GoodTillInPast {
            good_till_height: 7,
            height: 8
        }
    );
    let mut ioc = gtd(buy("100", "1"), 9);
    ioc.time_in_force = TimeInForce::Ioc;
    assert_eq!(
        h.submit(0, Payload::PlaceOrder(ioc)).unwrap_err(),
        Rejection::InvalidTimeInForce
    );
    // Post-only GTD quotes are allowed; a filled or cancelled GTD order leaves the
    // expiry index at once.
    let mut alo = gtd(sell("110", "1"), 9);
    alo.time_in_force = TimeInForce::PostOnly;
    let a = h.place(0, alo);
    let b = h.place(0, gtd(sell("111", "1"), 9));
    h.ok(
        0,
        Payload::CancelOrder(CancelOrder {
            order: OrderRef::OrderId(b),
        }),
    );
    h.submit(1, Payload::PlaceOrder(buy("110", "1"))).unwrap();
    assert!(h.order(&a).is_none());
    h.check();
    assert!(h.engine.execute_block_at(10, &[]).block_events.is_empty());
}

#[test]
fn good_till_survives_restore_and_changes_the_root() {
    let mut h = H::new();
    h.engine.begin_block(1);
    let mut twin = h.engine.clone();
    let tx = twin_tx(&h, 0, buy("100", "1"));
    let id = h.place(0, gtd(buy("100", "1"), 4));
    twin.apply(&tx, tx.hash()).unwrap();
    assert_ne!(
        h.engine.commit(),
        twin.commit(),
        "the good-till height is in the root"
    );
    let mut restored = Engine::restore(&h.genesis, h.engine.export_state()).unwrap();
    assert_eq!(restored.height(), 1);
    let out = restored.execute_block_at(5, &[]);
    assert!(
        matches!(&out.block_events[..], [Event::OrderExpired { order_id, .. }] if *order_id == id)
    );
}

fn twin_tx(h: &H, who: usize, o: PlaceOrder) -> Tx {
    h.tx(who, Payload::PlaceOrder(o))
}

// ------------------------------------------------------------ dead man's switch

#[test]
fn schedule_cancel_fires_at_its_height() {
    let mut h = H::new();
    h.engine.begin_block(2);
    let a = h.place(0, buy("100", "1"));
    let b = h.place(0, sell("110", "1"));
    let other = h.place(1, buy("99", "1"));
    let (_, ev) = h.ok(
        0,
        Payload::ScheduleCancel(ScheduleCancel { at_height: Some(5) }),
    );
    assert_eq!(
        ev,
        vec![Event::CancelScheduled {
            account: h.keys[0].public(),
            at_height: Some(5)
        }]
    );
    assert_eq!(
        h.engine
            .account(&h.keys[0].public())
            .unwrap()
            .cancel_at_height,
        Some(5)
    );
    assert!(h.engine.execute_block_at(4, &[]).block_events.is_empty());
    let out = h.engine.execute_block_at(5, &[]);
    let cancelled: Vec<_> = out
        .block_events
        .iter()
        .map(|e| match e {
            Event::OrderCancelled {
                order_id,
                reason: CancelReason::Scheduled,
                ..
            } => *order_id,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(cancelled, vec![a, b]);
    assert!(h.order(&other).is_some());
    assert_eq!(
        h.bal(0, USD),
        Balance {
            free: USD0,
            locked: 0
        }
    );
    assert_eq!(
        h.engine
            .account(&h.keys[0].public())
            .unwrap()
            .cancel_at_height,
        None
    );
    h.check();
}

#[test]
fn schedule_cancel_can_be_renewed_or_cleared() {
    let mut h = H::new();
    h.engine.begin_block(1);
    let a = h.place(0, buy("100", "1"));
    h.ok(
        0,
        Payload::ScheduleCancel(ScheduleCancel { at_height: Some(3) }),
    );
    h.engine.begin_block(2);
    // Renewed before it fires: moves to 6.
    h.ok(
        0,
        Payload::ScheduleCancel(ScheduleCancel { at_height: Some(6) }),
    );
    assert!(h.engine.execute_block_at(3, &[]).block_events.is_empty());
    assert!(h.order(&a).is_some());
    let restored = Engine::restore(&h.genesis, h.engine.export_state()).unwrap();
    assert_eq!(
        restored
            .account(&h.keys[0].public())
            .unwrap()
            .cancel_at_height,
        Some(6)
    );
    // Cleared: nothing fires.
    h.ok(
        0,
        Payload::ScheduleCancel(ScheduleCancel { at_height: None }),
    );
    assert!(h.engine.execute_block_at(6, &[]).block_events.is_empty());
    assert!(h.order(&a).is_some());
    // Not in the future.
    assert_eq!(
        h.submit(
            0,
            Payload::ScheduleCancel(ScheduleCancel { at_height: Some(6) })
        )
        .unwrap_err(),
        Rejection::ScheduleNotInFuture {
            at_height: 6,
            height: 6
        }
    );
    h.check();
}

// ----------------------------------------------------------------- block receipts

#[test]
fn block_receipts_carry_per_action_results() {
    let mut h = H::new();
    let sign = |h: &H, who: usize, payload: Payload, nonce: u64| -> SignedTx {
        Tx::new(
            h.genesis.chain_id.clone(),
            h.keys[who].public(),
            nonce,
            payload,
        )
        .sign(&h.keys[who])
    };
    let batch = sign(
        &h,
        0,
        Payload::Batch(Batch {
            actions: vec![
                BatchAction::PlaceOrder(buy("100", "1")),
                BatchAction::PlaceOrder(buy("100", "-1")),
            ],
        }),
        0,
    );
    let plain = sign(&h, 1, Payload::PlaceOrder(sell("120", "1")), 0);
    let out = h.engine.execute_block(&[batch, plain]);
    assert_eq!(out.receipts[0].result, Ok(()));
    assert_eq!(
        out.receipts[0].actions,
        vec![Ok(()), Err(Rejection::InvalidQuantity)]
    );
    assert!(out.receipts[1].actions.is_empty());
    assert_eq!(h.engine.height(), 1);
    h.check();
}
