//! Property tests over random operation streams (many accounts, two markets, every
//! order kind, time in force and self-trade mode, cancels, transfers, bad nonces,
//! batches, amendments, good-till orders, expiring transactions, schedule-cancels and
//! new blocks that fire expiries).
//!
//! After every operation: per asset, free + locked (fees are the fee account's balance)
//! equals the genesis total; no balance underflows (the release profile keeps overflow
//! checks on, so an underflow panics); the book is never crossed and every internal
//! invariant holds; every fill is within both orders' limits; two engines fed the same
//! stream have equal roots; an engine restored from the serialized state at a random
//! point has the same root and produces the same events afterwards.

use ledger_engine::{Engine, Event};
use ledger_types::{
    batch_order_id, codec, AmendOrder, AssetId, Batch, BatchAction, CancelAll, CancelOrder,
    ClientOrderId, Decimal, Genesis, Keypair, MarketId, OrderKind, OrderRef, Payload, PlaceOrder,
    ScheduleCancel, SelfTradePrevention, Side, TimeInForce, Transfer, Tx, TxHash,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

const ACCOUNTS: usize = 6;

#[derive(Clone, Debug)]
enum Op {
    Place {
        who: usize,
        market: u32,
        side: Side,
        market_order: bool,
        /// Offset from the mid in ticks, so orders cluster and cross.
        offset: i64,
        lots: u64,
        tif: TimeInForce,
        cid: Option<u128>,
        stp: SelfTradePrevention,
        bound: bool,
        /// Good-till height, as an offset from the current height.
        gtd: Option<u64>,
    },
    CancelId {
        who: usize,
        pick: usize,
    },
    CancelCid {
        who: usize,
        cid: u128,
    },
    CancelAll {
        who: usize,
        market: Option<u32>,
    },
    Transfer {
        who: usize,
        to: usize,
        asset: u32,
        amount: u64,
    },
    BadNonce {
        who: usize,
        delta: i64,
    },
    Amend {
        who: usize,
        pick: usize,
        offset: Option<i64>,
        lots: Option<u64>,
    },
    /// A batch of places (from `Op::Place`), cancels and amendments by the same account.
    Batch {
        who: usize,
        actions: Vec<Op>,
    },
    /// Arm (offset from the current height; 0 is rejected) or clear the switch.
    Schedule {
        who: usize,
        offset: Option<u64>,
    },
    /// Any other operation, signed with a `valid_until_height` at an offset from the
    /// current height (negative: already expired).
    Expiring {
        op: Box<Op>,
        offset: i64,
    },
    /// Begin the next block (fires good-till expiries and scheduled cancels).
    NextBlock,
}

impl Op {
    fn who(&self) -> usize {
        match self {
            Op::Place { who, .. }
            | Op::CancelId { who, .. }
            | Op::CancelCid { who, .. }
            | Op::CancelAll { who, .. }
            | Op::Transfer { who, .. }
            | Op::BadNonce { who, .. }
            | Op::Amend { who, .. }
            | Op::Batch { who, .. }
            | Op::Schedule { who, .. } => *who,
            Op::Expiring { op, .. } => op.who(),
            Op::NextBlock => 0,
        }
    }
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

fn tif() -> impl Strategy<Value = TimeInForce> {
    prop_oneof![
        4 => Just(TimeInForce::Gtc),
        2 => Just(TimeInForce::Ioc),
        1 => Just(TimeInForce::Fok),
        1 => Just(TimeInForce::PostOnly),
    ]
}

fn stp() -> impl Strategy<Value = SelfTradePrevention> {
    prop_oneof![
        Just(SelfTradePrevention::ExpireMaker),
        Just(SelfTradePrevention::ExpireTaker),
        Just(SelfTradePrevention::ExpireBoth),
    ]
}

fn place(who: std::ops::Range<usize>) -> impl Strategy<Value = Op> {
    (
        who,
        0..2u32,
        side(),
        prop::bool::weighted(0.15),
        -6..7i64,
        prop_oneof![1..30u64, 1..3_000_000u64],
        tif(),
        prop::option::weighted(0.3, 0..4u128),
        stp(),
        any::<bool>(),
        prop::option::weighted(0.3, 0..4u64),
    )
        .prop_map(
            |(who, market, side, market_order, offset, lots, tif, cid, stp, bound, gtd)| {
                Op::Place {
                    who,
                    market,
                    side,
                    market_order,
                    offset,
                    lots,
                    tif,
                    cid,
                    stp,
                    bound,
                    gtd,
                }
            },
        )
}

fn amend(who: std::ops::Range<usize>) -> impl Strategy<Value = Op> {
    (
        who,
        any::<usize>(),
        prop::option::of(-6..7i64),
        prop::option::of(prop_oneof![1..30u64, 1..3_000_000u64]),
    )
        .prop_map(|(who, pick, offset, lots)| Op::Amend {
            who,
            pick,
            offset,
            lots,
        })
}

fn batch_action() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => place(0..1),
        2 => (0..1usize, any::<usize>()).prop_map(|(who, pick)| Op::CancelId { who, pick }),
        1 => (0..1usize, 0..4u128).prop_map(|(who, cid)| Op::CancelCid { who, cid }),
        3 => amend(0..1),
    ]
}

fn plain_op() -> impl Strategy<Value = Op> {
    let who = 0..ACCOUNTS;
    prop_oneof![
        12 => place(who.clone()),
        3 => (who.clone(), any::<usize>()).prop_map(|(who, pick)| Op::CancelId { who, pick }),
        1 => (who.clone(), 0..4u128).prop_map(|(who, cid)| Op::CancelCid { who, cid }),
        1 => (who.clone(), prop::option::of(0..3u32))
            .prop_map(|(who, market)| Op::CancelAll { who, market }),
        1 => (who.clone(), 0..ACCOUNTS + 1, 0..3u32, 0..2_000_000_000u64)
            .prop_map(|(who, to, asset, amount)| Op::Transfer { who, to, asset, amount }),
        1 => (who.clone(), -2..3i64).prop_map(|(who, delta)| Op::BadNonce { who, delta }),
        3 => amend(who.clone()),
        3 => (who.clone(), prop::collection::vec(batch_action(), 0..8))
            .prop_map(|(who, actions)| Op::Batch { who, actions }),
        1 => (who, prop::option::weighted(0.8, 0..4u64))
            .prop_map(|(who, offset)| Op::Schedule { who, offset }),
        3 => Just(Op::NextBlock),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => plain_op(),
        1 => (plain_op(), -2..3i64).prop_map(|(op, offset)| Op::Expiring { op: Box::new(op), offset }),
    ]
}

struct World {
    genesis: Genesis,
    keys: Vec<Keypair>,
    /// Order ids placed so far (for cancels), and each order's limit and side.
    placed: Vec<TxHash>,
    limits: BTreeMap<TxHash, (Side, Option<u64>)>,
    /// The current block height.
    height: u64,
}

impl World {
    fn new() -> World {
        let mut keys: Vec<Keypair> = (0..ACCOUNTS)
            .map(|i| Keypair::for_testing(&format!("p{i}")))
            .collect();
        let pubs: Vec<_> = keys.iter().map(|k| k.public()).collect();
        let mut genesis = Genesis::for_testing(&pubs, &[Keypair::for_testing("v").public()]);
        // Small balances so that insufficient-balance paths are exercised too.
        for b in &mut genesis.balances {
            b.amount = match b.asset.as_str() {
                "BTC" => Decimal::from(3),
                "ETH" => Decimal::from(40),
                _ => Decimal::from(2_000),
            };
        }
        genesis.limits.max_open_orders_per_account = 12;
        // The fee account trades too: index ACCOUNTS.
        keys.push(Keypair::for_testing("fees"));
        World {
            genesis,
            keys,
            placed: Vec::new(),
            limits: BTreeMap::new(),
            height: 0,
        }
    }

    fn pick(&self, pick: usize) -> TxHash {
        if self.placed.is_empty() {
            TxHash::ZERO
        } else {
            self.placed[pick % self.placed.len()]
        }
    }

    fn tx(&mut self, engine: &Engine, op: &Op) -> Tx {
        let (op, valid_until_height) = match op {
            Op::Expiring { op, offset } => {
                (&**op, Some(self.height.saturating_add_signed(*offset)))
            }
            op => (op, None),
        };
        let sender = self.keys[op.who()].public();
        let mut nonce = engine.next_nonce(&sender);
        let payload = self.payload(engine, op, &mut nonce);
        let tx = Tx {
            chain_id: self.genesis.chain_id.clone(),
            sender,
            nonce,
            payload,
            valid_until_height,
        };
        let limit_of = |p: &PlaceOrder| {
            let cfg = &engine.markets()[p.market.0 as usize];
            (p.side, p.price.and_then(|px| cfg.price_to_ticks(px)))
        };
        match &tx.payload {
            Payload::PlaceOrder(p) => {
                self.placed.push(tx.hash());
                self.limits.insert(tx.hash(), limit_of(p));
            }
            Payload::Batch(b) => {
                for (i, a) in b.actions.iter().enumerate() {
                    if let BatchAction::PlaceOrder(p) = a {
                        let id = batch_order_id(&tx.hash(), i as u32);
                        self.placed.push(id);
                        self.limits.insert(id, limit_of(p));
                    }
                }
            }
            _ => {}
        }
        tx
    }

    fn payload(&mut self, engine: &Engine, op: &Op, nonce: &mut u64) -> Payload {
        match op.clone() {
            Op::Place {
                market,
                side,
                market_order,
                offset,
                lots,
                tif,
                cid,
                stp,
                bound,
                gtd,
                ..
            } => {
                let cfg = &engine.markets()[market as usize];
                let mid: i64 = 1_000;
                let ticks = (mid + offset).max(1) as u64;
                let price = (!market_order || bound).then(|| cfg.ticks_to_price(ticks));
                PlaceOrder {
                    market: MarketId(market),
                    side,
                    kind: if market_order {
                        OrderKind::Market
                    } else {
                        OrderKind::Limit
                    },
                    price,
                    quantity: cfg.lots_to_quantity(lots),
                    time_in_force: if market_order && tif != TimeInForce::Fok {
                        TimeInForce::Ioc
                    } else {
                        tif
                    },
                    client_order_id: cid.map(ClientOrderId),
                    self_trade: stp,
                    good_till_height: gtd.map(|g| (self.height + g).saturating_sub(1)),
                }
                .into_payload()
            }
            Op::CancelId { pick, .. } => Payload::CancelOrder(CancelOrder {
                order: OrderRef::OrderId(self.pick(pick)),
            }),
            Op::CancelCid { cid, .. } => Payload::CancelOrder(CancelOrder {
                order: OrderRef::ClientOrderId(ClientOrderId(cid)),
            }),
            Op::CancelAll { market, .. } => Payload::CancelAll(CancelAll {
                market: market.map(MarketId),
            }),
            Op::Transfer {
                to, asset, amount, ..
            } => Payload::Transfer(Transfer {
                to: self.keys[to].public(),
                asset: AssetId(asset),
                amount: Decimal::new(amount as i64, 6),
            }),
            Op::BadNonce { delta, .. } => {
                *nonce = nonce.saturating_add_signed(if delta == 0 { 1 } else { delta });
                Payload::CancelAll(CancelAll { market: None })
            }
            Op::Amend {
                pick, offset, lots, ..
            } => {
                let id = self.pick(pick);
                let cfg = engine.order(&id).map_or(&engine.markets()[0], |o| {
                    &engine.markets()[o.market.0 as usize]
                });
                Payload::AmendOrder(AmendOrder {
                    order: OrderRef::OrderId(id),
                    price: offset.map(|o| cfg.ticks_to_price((1_000 + o).max(1) as u64)),
                    quantity: lots.map(|l| cfg.lots_to_quantity(l)),
                })
            }
            Op::Batch { actions, .. } => Payload::Batch(Batch {
                actions: actions
                    .iter()
                    .map(|a| match self.payload(engine, a, nonce) {
                        Payload::PlaceOrder(p) => BatchAction::PlaceOrder(p),
                        Payload::CancelOrder(c) => BatchAction::CancelOrder(c),
                        Payload::AmendOrder(a) => BatchAction::AmendOrder(a),
                        other => unreachable!("not a batch action: {other:?}"),
                    })
                    .collect(),
            }),
            Op::Schedule { offset, .. } => Payload::ScheduleCancel(ScheduleCancel {
                at_height: offset.map(|o| self.height + o),
            }),
            Op::Expiring { .. } | Op::NextBlock => unreachable!("handled by the caller"),
        }
    }
}

trait IntoPayload {
    fn into_payload(self) -> Payload;
}

impl IntoPayload for PlaceOrder {
    fn into_payload(self) -> Payload {
        Payload::PlaceOrder(self)
    }
}

fn check_fills(world: &mut World, events: &[Event]) -> Result<(), TestCaseError> {
    for e in events {
        if let Event::OrderAmended {
            order_id, price, ..
        } = e
        {
            let side = world.limits[order_id].0;
            world.limits.insert(*order_id, (side, Some(*price)));
        }
        if let Event::Fill(f) = e {
            let (maker_side, maker_limit) = world.limits[&f.maker_order];
            let (taker_side, taker_limit) = world.limits[&f.taker_order];
            prop_assert_eq!(maker_side, taker_side.opposite());
            prop_assert_eq!(taker_side, f.taker_side);
            // Trades happen at the maker's price.
            prop_assert_eq!(Some(f.price), maker_limit);
            if let Some(l) = taker_limit {
                match taker_side {
                    Side::Buy => prop_assert!(f.price <= l, "buy filled above its limit"),
                    Side::Sell => prop_assert!(f.price >= l, "sell filled below its limit"),
                }
            }
            prop_assert!(f.quantity > 0);
            prop_assert_ne!(f.maker, f.taker, "self-trade");
        }
    }
    Ok(())
}

fn run(ops: Vec<Op>, restore_at: usize) -> Result<(), TestCaseError> {
    let mut world = World::new();
    let mut a = Engine::from_genesis(&world.genesis).unwrap();
    let mut b = Engine::from_genesis(&world.genesis).unwrap();
    let supply = a.total_supply();
    let restore_at = restore_at % (ops.len() + 1);
    let mut restored: Option<Engine> = None;
    for (step, op) in ops.iter().enumerate() {
        if step == restore_at {
            let bytes = codec::encode(&a.export_state());
            let state = codec::decode(&bytes).unwrap();
            let r = Engine::restore(&world.genesis, state).unwrap();
            prop_assert_eq!(r.state_root(), a.state_root());
            restored = Some(r);
        }
        let next_block = match op {
            Op::NextBlock => true,
            Op::Expiring { op, .. } => matches!(**op, Op::NextBlock),
            _ => false,
        };
        if next_block {
            world.height += 1;
            a.begin_block(world.height);
            b.begin_block(world.height);
            let ea = a.take_events();
            prop_assert_eq!(&ea, &b.take_events());
            if let Some(r) = restored.as_mut() {
                r.begin_block(world.height);
                prop_assert_eq!(&r.take_events(), &ea);
            }
        } else {
            let tx = world.tx(&a, op);
            let hash = tx.hash();
            let ra = a.apply(&tx, hash);
            let rb = b.apply(&tx, hash);
            prop_assert_eq!(&ra, &rb);
            if matches!(ra, Err(ledger_engine::Rejection::TxExpired { .. })) {
                prop_assert!(tx.valid_until_height.unwrap() < world.height);
            }
            let ea = a.take_events();
            prop_assert_eq!(&ea, &b.take_events());
            let acts = a.take_action_results();
            prop_assert_eq!(&acts, &b.take_action_results());
            if let Some(r) = restored.as_mut() {
                prop_assert_eq!(&r.apply(&tx, hash), &ra);
                prop_assert_eq!(&r.take_events(), &ea);
                prop_assert_eq!(&r.take_action_results(), &acts);
            }
            check_fills(&mut world, &ea)?;
        }
        let root = a.commit();
        prop_assert_eq!(root, b.commit());
        if let Some(r) = restored.as_mut() {
            prop_assert_eq!(r.commit(), root);
        }
        prop_assert_eq!(a.total_supply(), supply.clone());
        if let Err(e) = a.check_invariants() {
            return Err(TestCaseError::fail(format!("step {step} {op:?}: {e}")));
        }
    }
    // The final state serializes and restores to the same root.
    let r = Engine::restore(&world.genesis, a.export_state()).unwrap();
    prop_assert_eq!(r.state_root(), a.state_root());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 10_000,
        max_shrink_iters: 2_000,
        .. ProptestConfig::default()
    })]

    #[test]
    fn random_streams_keep_every_invariant(
        ops in prop::collection::vec(op(), 1..80),
        restore_at in any::<usize>(),
    ) {
        run(ops, restore_at)?;
    }
}
