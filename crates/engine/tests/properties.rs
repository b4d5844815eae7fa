//! Property tests over random operation streams (many accounts, two markets, every
//! order kind, time in force and self-trade mode, cancels, transfers, bad nonces).
//!
//! After every operation: per asset, free + locked (fees are the fee account's balance)
//! equals the genesis total; no balance underflows (the release profile keeps overflow
//! checks on, so an underflow panics); the book is never crossed and every internal
//! invariant holds; every fill is within both orders' limits; two engines fed the same
//! stream have equal roots; an engine restored from the serialized state at a random
//! point has the same root and produces the same events afterwards.

use ledger_engine::{Engine, Event};
use ledger_types::{
    codec, AssetId, CancelAll, CancelOrder, ClientOrderId, Decimal, Genesis, Keypair, MarketId,
    OrderKind, OrderRef, Payload, PlaceOrder, SelfTradePrevention, Side, TimeInForce, Transfer, Tx,
    TxHash,
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

fn op() -> impl Strategy<Value = Op> {
    let who = 0..ACCOUNTS;
    prop_oneof![
        12 => (who.clone(), 0..2u32, side(), prop::bool::weighted(0.15), -6..7i64,
               prop_oneof![1..30u64, 1..3_000_000u64], tif(),
               prop::option::weighted(0.3, 0..4u128), stp(), any::<bool>())
            .prop_map(|(who, market, side, market_order, offset, lots, tif, cid, stp, bound)| {
                Op::Place { who, market, side, market_order, offset, lots, tif, cid, stp, bound }
            }),
        3 => (who.clone(), any::<usize>()).prop_map(|(who, pick)| Op::CancelId { who, pick }),
        1 => (who.clone(), 0..4u128).prop_map(|(who, cid)| Op::CancelCid { who, cid }),
        1 => (who.clone(), prop::option::of(0..3u32))
            .prop_map(|(who, market)| Op::CancelAll { who, market }),
        1 => (who.clone(), 0..ACCOUNTS + 1, 0..3u32, 0..2_000_000_000u64)
            .prop_map(|(who, to, asset, amount)| Op::Transfer { who, to, asset, amount }),
        1 => (who, -2..3i64).prop_map(|(who, delta)| Op::BadNonce { who, delta }),
    ]
}

struct World {
    genesis: Genesis,
    keys: Vec<Keypair>,
    /// Order ids placed so far (for cancels), and each order's limit and side.
    placed: Vec<TxHash>,
    limits: BTreeMap<TxHash, (Side, Option<u64>)>,
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
        }
    }

    fn tx(&mut self, engine: &Engine, op: &Op) -> Tx {
        let who = match op {
            Op::Place { who, .. }
            | Op::CancelId { who, .. }
            | Op::CancelCid { who, .. }
            | Op::CancelAll { who, .. }
            | Op::Transfer { who, .. }
            | Op::BadNonce { who, .. } => *who,
        };
        let sender = self.keys[who].public();
        let mut nonce = engine.next_nonce(&sender);
        let payload = match op.clone() {
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
                    good_till_height: None,
                }
                .into_payload()
            }
            Op::CancelId { pick, .. } => {
                let id = if self.placed.is_empty() {
                    TxHash::ZERO
                } else {
                    self.placed[pick % self.placed.len()]
                };
                Payload::CancelOrder(CancelOrder {
                    order: OrderRef::OrderId(id),
                })
            }
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
                nonce = nonce.saturating_add_signed(if delta == 0 { 1 } else { delta });
                Payload::CancelAll(CancelAll { market: None })
            }
        };
        let tx = Tx {
            chain_id: self.genesis.chain_id.clone(),
            sender,
            nonce,
            payload,
            valid_until_height: None,
        };
        if let Payload::PlaceOrder(p) = &tx.payload {
            let cfg = &engine.markets()[p.market.0 as usize];
            let limit = p.price.and_then(|px| cfg.price_to_ticks(px));
            self.placed.push(tx.hash());
            self.limits.insert(tx.hash(), (p.side, limit));
        }
        tx
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

fn check_fills(world: &World, events: &[Event]) -> Result<(), TestCaseError> {
    for e in events {
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
        let tx = world.tx(&a, op);
        let hash = tx.hash();
        let ra = a.apply(&tx, hash);
        let rb = b.apply(&tx, hash);
        prop_assert_eq!(&ra, &rb);
        let ea = a.take_events();
        prop_assert_eq!(&ea, &b.take_events());
        if let Some(r) = restored.as_mut() {
            prop_assert_eq!(&r.apply(&tx, hash), &ra);
            prop_assert_eq!(&r.take_events(), &ea);
        }
        check_fills(&world, &ea)?;
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
        ops in prop::collection::vec(op(), 1..60),
        restore_at in any::<usize>(),
    ) {
        run(ops, restore_at)?;
    }
}
