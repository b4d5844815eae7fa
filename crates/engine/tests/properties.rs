//! Property tests over random operation streams (many accounts, three markets, every
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
//!
//! Bundles (2 to 9 IOC/FOK legs over three markets, with and without net bounds) and
//! hashlock swaps (locks, claims with right and wrong preimages, refunds, before and
//! after timeouts, by the right and the wrong account) are mixed in, with the block
//! height advancing by one or several blocks: a bundle applies every leg completely or
//! changes nothing but the nonce; supply per asset holds with swap escrow counted; a
//! swap's claim and refund succeed exactly when the rules say, it ends claimed or
//! refunded, never both, and an open swap past its timeout is always refundable by its
//! owner; replaying the recorded blocks and transactions from genesis gives the same
//! root.

use ledger_engine::{Engine, Event, Rejection};
use ledger_types::genesis::MarketSpec;
use ledger_types::{
    batch_order_id, codec, AmendOrder, AssetId, Batch, BatchAction, Bundle, BundleLeg, CancelAll,
    CancelOrder, ClientOrderId, Decimal, Genesis, Hash, Keypair, MarketId, NetBound, OrderKind,
    OrderRef, Payload, PlaceOrder, Preimage, ScheduleCancel, SelfTradePrevention, Side, SwapClaim,
    SwapLock, SwapRefund, TimeInForce, Transfer, Tx, TxHash,
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
    Bundle {
        who: usize,
        /// (market, side, offset in ticks, lots, FOK?, self-trade mode)
        legs: Vec<LegSpec>,
        /// (asset, minimum in millionths of a unit)
        min_net: Option<(u32, i64)>,
    },
    SwapLock {
        who: usize,
        to: usize,
        asset: u32,
        amount: u64,
        timeout: i64,
        secret: u8,
    },
    SwapClaim {
        who: usize,
        pick: usize,
        /// Sign as the swap's counterparty (else as `who`).
        as_counterparty: bool,
        right_preimage: bool,
    },
    SwapRefund {
        who: usize,
        pick: usize,
        /// Sign as the swap's owner (else as `who`).
        as_owner: bool,
    },
    AdvanceHeight {
        blocks: u64,
    },
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
            | Op::Schedule { who, .. }
            | Op::Bundle { who, .. }
            | Op::SwapLock { who, .. }
            | Op::SwapClaim { who, .. }
            | Op::SwapRefund { who, .. } => *who,
            Op::Expiring { op, .. } => op.who(),
            Op::NextBlock | Op::AdvanceHeight { .. } => 0,
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

type LegSpec = (u32, Side, i64, u64, bool, SelfTradePrevention);

/// 2 to 4 legs mostly; sometimes 5 to 9 (9 is refused) or 0 to 1 (refused).
fn bundle_legs() -> impl Strategy<Value = Vec<LegSpec>> {
    // Mostly small legs priced through the whole band of resting orders, so that many
    // bundles fill; some at random prices and sizes, so that many do not.
    let leg = || {
        (
            0..3u32,
            side(),
            prop_oneof![6 => Just(6i64), 1 => -6..7i64],
            prop_oneof![12 => 1..4u64, 1 => 1..20u64, 1 => 1..400_000u64],
            any::<bool>(),
            stp(),
        )
    };
    prop_oneof![
        8 => prop::collection::vec(leg(), 2..4),
        1 => prop::collection::vec(leg(), 5..10),
        1 => prop::collection::vec(leg(), 0..2),
    ]
}

fn place(who: std::ops::Range<usize>) -> impl Strategy<Value = Op> {
    (
        who,
        0..3u32,
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
        1 => (who.clone(), prop::option::weighted(0.8, 0..4u64))
            .prop_map(|(who, offset)| Op::Schedule { who, offset }),
        3 => Just(Op::NextBlock),
        3 => (who.clone(),
              bundle_legs(),
              prop::option::weighted(0.4, (0..3u32, -2_000_000..2_000_000i64)))
            .prop_map(|(who, legs, min_net)| Op::Bundle { who, legs, min_net }),
        2 => (who.clone(), 0..ACCOUNTS, 0..3u32, 1..3_000_000u64, -2..25i64, 0..4u8)
            .prop_map(|(who, to, asset, amount, timeout, secret)| {
                Op::SwapLock { who, to, asset, amount, timeout, secret }
            }),
        2 => (who.clone(), any::<usize>(), prop::bool::weighted(0.8), prop::bool::weighted(0.8))
            .prop_map(|(who, pick, as_counterparty, right_preimage)| {
                Op::SwapClaim { who, pick, as_counterparty, right_preimage }
            }),
        1 => (who, any::<usize>(), prop::bool::weighted(0.8))
            .prop_map(|(who, pick, as_owner)| Op::SwapRefund { who, pick, as_owner }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => plain_op(),
        1 => (plain_op(), -2..3i64).prop_map(|(op, offset)| Op::Expiring { op: Box::new(op), offset }),
        1 => (1..6u64).prop_map(|blocks| Op::AdvanceHeight { blocks }),
    ]
}

/// A swap the stream locked, as the model sees it.
#[derive(Clone, Debug)]
struct ModelSwap {
    id: Hash,
    owner: usize,
    counterparty: usize,
    timeout: u64,
    secret: u8,
    ended: Option<&'static str>,
}

fn preimage(secret: u8) -> Preimage {
    Preimage([secret; 32])
}

struct World {
    genesis: Genesis,
    keys: Vec<Keypair>,
    /// Order ids placed so far (for cancels), and each order's limit and side.
    placed: Vec<TxHash>,
    limits: BTreeMap<TxHash, (Side, Option<u64>)>,
    /// The current block height.
    height: u64,
    swaps: Vec<ModelSwap>,
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
        // A third market closes the BTC/USD, ETH/USD, ETH/BTC triangle for bundles.
        genesis.markets.push(MarketSpec {
            base: "ETH".into(),
            quote: "BTC".into(),
            tick_size: Decimal::new(1, 4),
            lot_size: Decimal::new(1, 2),
            min_size: Decimal::new(1, 2),
            maker_fee_bps: 2,
            taker_fee_bps: 5,
        });
        // The fee account trades too: index ACCOUNTS.
        keys.push(Keypair::for_testing("fees"));
        World {
            genesis,
            keys,
            placed: Vec::new(),
            limits: BTreeMap::new(),
            height: 0,
            swaps: Vec::new(),
        }
    }

    fn pick(&self, pick: usize) -> TxHash {
        if self.placed.is_empty() {
            TxHash::ZERO
        } else {
            self.placed[pick % self.placed.len()]
        }
    }

    /// The swap an op picks (`None` if none was locked yet).
    fn pick_swap(&self, pick: usize) -> Option<ModelSwap> {
        (!self.swaps.is_empty()).then(|| self.swaps[pick % self.swaps.len()].clone())
    }

    /// Who signs the op: a claim or refund mostly signs as the swap's counterparty or
    /// owner, sometimes as a wrong account.
    fn signer(&self, op: &Op) -> usize {
        match op {
            Op::SwapClaim {
                pick,
                as_counterparty: true,
                ..
            } => self.pick_swap(*pick).map_or(op.who(), |s| s.counterparty),
            Op::SwapRefund {
                pick,
                as_owner: true,
                ..
            } => self.pick_swap(*pick).map_or(op.who(), |s| s.owner),
            _ => op.who(),
        }
    }

    fn tx(&mut self, engine: &Engine, op: &Op) -> Tx {
        let (op, valid_until_height) = match op {
            Op::Expiring { op, offset } => {
                (&**op, Some(self.height.saturating_add_signed(*offset)))
            }
            op => (op, None),
        };
        let sender = self.keys[self.signer(op)].public();
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
            Payload::Bundle(b) => {
                for (i, leg) in b.legs.iter().enumerate() {
                    let cfg = &engine.markets()[leg.market.0 as usize];
                    self.limits.insert(
                        Bundle::leg_order_id(&tx.hash(), i),
                        (leg.side, cfg.price_to_ticks(leg.price)),
                    );
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
            Op::Bundle { legs, min_net, .. } => Payload::Bundle(Bundle {
                legs: legs
                    .iter()
                    .map(|(market, side, offset, lots, fok, stp)| {
                        let cfg = &engine.markets()[*market as usize];
                        // An aggressive leg trades against whichever side has orders.
                        let (bid, ask) = engine.best_prices(MarketId(*market));
                        let side = &match (*offset, side, bid, ask) {
                            (6, Side::Buy, Some(_), None) => Side::Sell,
                            (6, Side::Sell, None, Some(_)) => Side::Buy,
                            _ => *side,
                        };
                        BundleLeg {
                            market: MarketId(*market),
                            side: *side,
                            // The offset is towards the other side of the book.
                            price: cfg.ticks_to_price(match side {
                                Side::Buy => (1_000 + offset).max(1) as u64,
                                Side::Sell => (1_000 - offset).max(1) as u64,
                            }),
                            // Small sizes count in minimum sizes.
                            quantity: cfg.lots_to_quantity(if *lots < 20 {
                                lots * cfg.min_lots
                            } else {
                                *lots
                            }),
                            time_in_force: if *fok {
                                TimeInForce::Fok
                            } else {
                                TimeInForce::Ioc
                            },
                            client_order_id: None,
                            self_trade: *stp,
                        }
                    })
                    .collect(),
                min_net: min_net
                    .iter()
                    .map(|(asset, min)| NetBound {
                        asset: AssetId(*asset),
                        min: Decimal::new(*min, 6),
                    })
                    .collect(),
            }),
            Op::SwapLock {
                to,
                asset,
                amount,
                timeout,
                secret,
                ..
            } => Payload::SwapLock(SwapLock {
                counterparty: self.keys[to].public(),
                asset: AssetId(asset),
                amount: Decimal::new(amount as i64, 6),
                hashlock: preimage(secret).hashlock(),
                timeout_height: self.height.saturating_add_signed(timeout),
            }),
            Op::SwapClaim {
                pick,
                right_preimage,
                ..
            } => {
                let s = self.pick_swap(pick);
                Payload::SwapClaim(SwapClaim {
                    swap_id: s.as_ref().map_or(Hash::digest(b"none"), |s| s.id),
                    preimage: preimage(
                        s.map_or(0, |s| s.secret.wrapping_add(u8::from(!right_preimage))),
                    ),
                })
            }
            Op::SwapRefund { pick, .. } => Payload::SwapRefund(SwapRefund {
                swap_id: self.pick_swap(pick).map_or(Hash::digest(b"none"), |s| s.id),
            }),
            Op::Expiring { .. } | Op::NextBlock | Op::AdvanceHeight { .. } => {
                unreachable!("handled by the caller")
            }
        }
    }

    /// What the swap rules say a claim or refund must do, from the model alone.
    fn expected_settlement(&self, op: &Op, sender: usize) -> Option<Result<(), Rejection>> {
        let (pick, claim, right) = match op {
            Op::SwapClaim {
                pick,
                right_preimage,
                ..
            } => (*pick, true, *right_preimage),
            Op::SwapRefund { pick, .. } => (*pick, false, true),
            _ => return None,
        };
        let Some(s) = self.pick_swap(pick) else {
            return Some(Err(Rejection::SwapNotFound));
        };
        let h = self.height;
        Some(if s.ended.is_some() {
            Err(Rejection::SwapNotFound)
        } else if claim {
            if sender != s.counterparty {
                Err(Rejection::SwapNotCounterparty)
            } else if h >= s.timeout {
                Err(Rejection::SwapExpired {
                    timeout_height: s.timeout,
                    height: h,
                })
            } else if !right {
                Err(Rejection::WrongPreimage)
            } else {
                Ok(())
            }
        } else if sender != s.owner {
            Err(Rejection::SwapNotOwner)
        } else if h < s.timeout {
            Err(Rejection::SwapNotExpired {
                timeout_height: s.timeout,
                height: h,
            })
        } else {
            Ok(())
        })
    }
}

/// Checks a bundle's outcome: every leg filled completely and a summary event, or (if
/// refused after its nonce) nothing changed but that nonce.
fn check_bundle(
    before: &Engine,
    after: &Engine,
    tx: &Tx,
    result: &Result<(), Rejection>,
    events: &[Event],
) -> Result<(), TestCaseError> {
    let Payload::Bundle(b) = &tx.payload else {
        return Ok(());
    };
    match result {
        Ok(()) => {
            for (i, leg) in b.legs.iter().enumerate() {
                let id = Bundle::leg_order_id(&tx.hash(), i);
                let cfg = &after.markets()[leg.market.0 as usize];
                let filled: u64 = events
                    .iter()
                    .map(|e| match e {
                        Event::Fill(f) if f.taker_order == id => f.quantity,
                        _ => 0,
                    })
                    .sum();
                prop_assert_eq!(
                    Some(filled),
                    cfg.quantity_to_lots(leg.quantity),
                    "leg {} half filled",
                    i
                );
                prop_assert!(after.order(&id).is_none(), "a leg rests");
            }
            let summarized = matches!(events.last(), Some(Event::BundleExecuted { .. }));
            prop_assert!(summarized, "no bundle_executed event last");
        }
        Err(r) if r.is_stateless() => {}
        Err(_) => {
            prop_assert!(events.is_empty(), "a refused bundle emitted {:?}", events);
            let mut want = before.export_state();
            for a in &mut want.accounts {
                if a.key == tx.sender {
                    a.nonce += 1;
                }
            }
            if !want.accounts.iter().any(|a| a.key == tx.sender) {
                // First transaction of an unknown account: it now exists, with nonce 1.
                let got = after.account(&tx.sender).expect("sender exists");
                prop_assert_eq!(got.nonce, 1);
                want.accounts.push(got);
            }
            let got = after.export_state();
            prop_assert_eq!(got.orders, want.orders);
            prop_assert_eq!(got.counters, want.counters);
            prop_assert_eq!(got.swaps, want.swaps);
            let mut ga = got.accounts;
            let mut wa = want.accounts;
            ga.sort_by_key(|a| a.key);
            wa.sort_by_key(|a| a.key);
            prop_assert_eq!(ga, wa);
        }
    }
    Ok(())
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

/// One step of the recorded history, for the replay from genesis.
enum Step {
    Block(u64),
    Tx(Tx),
}

fn run(ops: Vec<Op>, restore_at: usize) -> Result<(), TestCaseError> {
    let mut world = World::new();
    let mut a = Engine::from_genesis(&world.genesis).unwrap();
    let mut b = Engine::from_genesis(&world.genesis).unwrap();
    let supply = a.total_supply();
    let restore_at = restore_at % (ops.len() + 1);
    let mut restored: Option<Engine> = None;
    let mut history: Vec<Step> = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        if step == restore_at {
            let bytes = codec::encode(&a.export_state());
            let state = codec::decode(&bytes).unwrap();
            let r = Engine::restore(&world.genesis, state).unwrap();
            prop_assert_eq!(r.state_root(), a.state_root());
            restored = Some(r);
        }
        let blocks = match op {
            Op::NextBlock => 1,
            Op::AdvanceHeight { blocks } => *blocks,
            Op::Expiring { op, .. } => u64::from(matches!(**op, Op::NextBlock)),
            _ => 0,
        };
        if blocks > 0 {
            for _ in 0..blocks {
                world.height += 1;
                history.push(Step::Block(world.height));
                a.begin_block(world.height);
                b.begin_block(world.height);
                let ea = a.take_events();
                prop_assert_eq!(&ea, &b.take_events());
                if let Some(r) = restored.as_mut() {
                    r.begin_block(world.height);
                    prop_assert_eq!(&r.take_events(), &ea);
                }
            }
        } else {
            let inner = match op {
                Op::Expiring { op, .. } => &**op,
                op => op,
            };
            let before = matches!(inner, Op::Bundle { .. }).then(|| a.clone());
            let tx = world.tx(&a, op);
            let hash = tx.hash();
            let sender = world
                .keys
                .iter()
                .position(|k| k.public() == tx.sender)
                .unwrap_or(0);
            let expected = world.expected_settlement(inner, sender);
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
            history.push(Step::Tx(tx.clone()));
            check_fills(&mut world, &ea)?;
            if let Some(before) = &before {
                check_bundle(before, &a, &tx, &ra, &ea)?;
            }
            let expired = matches!(ra, Err(Rejection::TxExpired { .. }));
            if let (Some(want), false) = (expected, expired) {
                prop_assert_eq!(&ra, &want, "swap settlement {:?}", inner);
                if ra.is_ok() {
                    let pick = match inner {
                        Op::SwapClaim { pick, .. } | Op::SwapRefund { pick, .. } => *pick,
                        _ => 0,
                    };
                    let i = pick % world.swaps.len();
                    world.swaps[i].ended = Some(if matches!(inner, Op::SwapClaim { .. }) {
                        "claimed"
                    } else {
                        "refunded"
                    });
                }
            }
            if let (
                Op::SwapLock {
                    who, to, secret, ..
                },
                Ok(()),
            ) = (inner, &ra)
            {
                let Payload::SwapLock(l) = &tx.payload else {
                    unreachable!()
                };
                prop_assert!(who != to, "a self-swap was accepted");
                world.swaps.push(ModelSwap {
                    id: hash,
                    owner: *who,
                    counterparty: *to,
                    timeout: l.timeout_height,
                    secret: *secret,
                    ended: None,
                });
            }
        }
        // Every swap is open in the engine exactly while the model says so, and an open
        // swap past its timeout is always refundable by its owner.
        for s in &world.swaps {
            prop_assert_eq!(a.swap(&s.id).is_some(), s.ended.is_none(), "swap {:?}", s);
            if s.ended.is_none() && world.height >= s.timeout {
                let refund = Payload::SwapRefund(SwapRefund { swap_id: s.id });
                prop_assert_eq!(
                    a.check_swap_settlement(&world.keys[s.owner].public(), &refund, world.height),
                    Ok(()),
                    "swap stuck after its timeout"
                );
            }
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
    // Replaying the recorded blocks and transactions from genesis gives the same root.
    let mut replay = Engine::from_genesis(&world.genesis).unwrap();
    for s in &history {
        match s {
            Step::Block(h) => replay.begin_block(*h),
            Step::Tx(tx) => {
                let _ = replay.apply(tx, tx.hash());
            }
        }
    }
    prop_assert_eq!(replay.commit(), a.state_root());
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
