//! Golden digests: fixed seeded transaction streams whose every observable result is
//! pinned by a hash computed with the engine as it was before its data layout was
//! reworked for speed. A change of layout (slots, balances, price levels, events) must
//! leave these digests unchanged; a change of the rules changes them on purpose.
//!
//! Each stream mixes limit orders near the mid and far away (so books hold many
//! levels, some far apart), market orders with and without a price bound, every time
//! in force and self-trade mode, client order ids, good-till heights, cancels by id,
//! by client id and cancel-all, amendments, batches, transfers and dead man's switches,
//! with a new block every 40 transactions and a commit every 150. The digest covers,
//! in order: each transaction's result, events and per-action results; each block's
//! own events; each committed root; and at the end the exported state, both books'
//! full depth and the invariant check.

use ledger_engine::Engine;
use ledger_types::{
    codec, AmendOrder, Batch, BatchAction, CancelAll, CancelOrder, ClientOrderId, Decimal, Genesis,
    Hash, Keypair, MarketId, OrderKind, OrderRef, Payload, PlaceOrder, PublicKey, ScheduleCancel,
    SelfTradePrevention, Side, TimeInForce, Transfer, Tx,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ACCOUNTS: usize = 40;
const MID: u64 = 100_000;

fn genesis(keys: &[PublicKey]) -> Genesis {
    let mut g = Genesis::for_testing(keys, &[Keypair::for_testing("v").public()]);
    g.limits.max_open_orders_per_account = 400;
    g
}

fn side(rng: &mut ChaCha8Rng) -> Side {
    if rng.gen_bool(0.5) {
        Side::Buy
    } else {
        Side::Sell
    }
}

fn stp(rng: &mut ChaCha8Rng) -> SelfTradePrevention {
    match rng.gen_range(0..10) {
        0 => SelfTradePrevention::ExpireTaker,
        1 => SelfTradePrevention::ExpireBoth,
        _ => SelfTradePrevention::ExpireMaker,
    }
}

/// A limit price in ticks: mostly near the mid, sometimes far away or at the extremes.
fn ticks(rng: &mut ChaCha8Rng, side: Side) -> u64 {
    match rng.gen_range(0..100) {
        0..=3 => rng.gen_range(1..MID * 50),
        4 => 1,
        5 => rng.gen_range(1..20),
        6 => MID * rng.gen_range(100..10_000),
        _ => {
            let off = rng.gen_range(0..80u64);
            // Mostly on the passive side, sometimes crossing.
            let passive = rng.gen_range(0..10) < 8;
            match (side, passive) {
                (Side::Buy, true) | (Side::Sell, false) => MID - off,
                _ => MID + off,
            }
        }
    }
}

fn place(engine: &Engine, rng: &mut ChaCha8Rng, height: u64) -> PlaceOrder {
    let m = rng.gen_range(0..2u32);
    let cfg = &engine.markets()[m as usize];
    let side = side(rng);
    let market = rng.gen_range(0..100) < 8;
    let lots = if market {
        rng.gen_range(50..2_000u64)
    } else if rng.gen_range(0..20) == 0 {
        rng.gen_range(1..50_000u64)
    } else {
        rng.gen_range(1..400u64)
    };
    let (kind, price, tif) = if market {
        let bound = rng
            .gen_bool(0.3)
            .then(|| cfg.ticks_to_price(ticks(rng, side)));
        let tif = if rng.gen_bool(0.8) {
            TimeInForce::Ioc
        } else {
            TimeInForce::Fok
        };
        (OrderKind::Market, bound, tif)
    } else {
        let tif = match rng.gen_range(0..20) {
            0 => TimeInForce::Ioc,
            1 => TimeInForce::Fok,
            2 | 3 => TimeInForce::PostOnly,
            _ => TimeInForce::Gtc,
        };
        (
            OrderKind::Limit,
            Some(cfg.ticks_to_price(ticks(rng, side))),
            tif,
        )
    };
    let client_order_id = (rng.gen_range(0..5) == 0).then(|| ClientOrderId(rng.gen_range(0..60)));
    let good_till_height = (kind == OrderKind::Limit
        && matches!(tif, TimeInForce::Gtc | TimeInForce::PostOnly)
        && rng.gen_range(0..12) == 0)
        .then(|| height + rng.gen_range(0..20));
    PlaceOrder {
        market: MarketId(m),
        side,
        kind,
        price,
        quantity: cfg.lots_to_quantity(lots),
        time_in_force: tif,
        client_order_id,
        self_trade: stp(rng),
        good_till_height,
    }
}

/// A reference to one of the account's open orders (or a made-up one).
fn order_ref(engine: &Engine, rng: &mut ChaCha8Rng, who: &PublicKey) -> OrderRef {
    let open = engine.open_orders(who);
    if open.is_empty() || rng.gen_range(0..30) == 0 {
        return OrderRef::ClientOrderId(ClientOrderId(rng.gen_range(0..60)));
    }
    let o = &open[rng.gen_range(0..open.len())];
    match o.client_order_id {
        Some(cid) if rng.gen_bool(0.5) => OrderRef::ClientOrderId(cid),
        _ => OrderRef::OrderId(o.id),
    }
}

fn amend(engine: &Engine, rng: &mut ChaCha8Rng, who: &PublicKey) -> AmendOrder {
    let order = order_ref(engine, rng, who);
    let cfg = &engine.markets()[0];
    let price = rng
        .gen_bool(0.6)
        .then(|| cfg.ticks_to_price(MID - 40 + rng.gen_range(0..80)));
    let quantity =
        (price.is_none() || rng.gen_bool(0.4)).then(|| cfg.lots_to_quantity(rng.gen_range(1..500)));
    AmendOrder {
        order,
        price,
        quantity,
    }
}

fn payload(
    engine: &Engine,
    rng: &mut ChaCha8Rng,
    keys: &[PublicKey],
    who: usize,
    height: u64,
) -> Payload {
    let me = &keys[who];
    match rng.gen_range(0..1_000) {
        0..=539 => Payload::PlaceOrder(place(engine, rng, height)),
        540..=659 => Payload::CancelOrder(CancelOrder {
            order: order_ref(engine, rng, me),
        }),
        660..=661 => Payload::CancelAll(CancelAll {
            market: rng.gen_bool(0.5).then(|| MarketId(rng.gen_range(0..3))),
        }),
        662..=749 => Payload::AmendOrder(amend(engine, rng, me)),
        750..=939 => {
            let mut actions = Vec::new();
            for _ in 0..rng.gen_range(1..6) {
                actions.push(match rng.gen_range(0..4) {
                    0 => BatchAction::CancelOrder(CancelOrder {
                        order: order_ref(engine, rng, me),
                    }),
                    1 => BatchAction::AmendOrder(amend(engine, rng, me)),
                    _ => BatchAction::PlaceOrder(place(engine, rng, height)),
                });
            }
            Payload::Batch(Batch { actions })
        }
        940..=994 => Payload::Transfer(Transfer {
            to: keys[rng.gen_range(0..keys.len())],
            asset: ledger_types::AssetId(rng.gen_range(0..3)),
            amount: Decimal::from(rng.gen_range(1..5_000u64)),
        }),
        _ => Payload::ScheduleCancel(ScheduleCancel {
            at_height: rng.gen_bool(0.7).then(|| height + rng.gen_range(0..4)),
        }),
    }
}

/// Runs `txs` transactions of the stream seeded with `seed` and returns the digest of
/// everything observable.
fn digest(seed: u64, txs: usize) -> String {
    let keys: Vec<PublicKey> = (0..ACCOUNTS)
        .map(|i| Keypair::for_testing(&format!("golden{i}")).public())
        .collect();
    let g = genesis(&keys);
    let mut engine = Engine::from_genesis(&g).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out: Vec<u8> = Vec::new();
    let mut height = 0u64;
    let mut roots = Vec::new();
    for i in 0..txs {
        if i % 40 == 0 {
            height += 1;
            engine.begin_block(height);
            out.extend(b"block");
            out.extend(codec::encode(&engine.take_events()));
        }
        let who = rng.gen_range(0..keys.len());
        let payload = payload(&engine, &mut rng, &keys, who, height);
        let tx = Tx {
            chain_id: g.chain_id.clone(),
            sender: keys[who],
            nonce: engine.next_nonce(&keys[who]),
            payload,
            valid_until_height: None,
        };
        let result = engine.apply(&tx, tx.hash());
        out.extend(codec::encode(&result));
        out.extend(codec::encode(&engine.take_events()));
        out.extend(codec::encode(&engine.take_action_results()));
        if (i + 1) % 150 == 0 {
            let root = engine.commit();
            roots.push(root);
            out.extend(root.0);
        }
    }
    out.extend(engine.commit().0);
    out.extend(codec::encode(&engine.export_state()));
    for m in 0..2 {
        let d = engine.depth(MarketId(m), usize::MAX).unwrap();
        for l in d.bids.iter().chain(&d.asks) {
            out.extend(l.price.to_le_bytes());
            out.extend(l.quantity.to_le_bytes());
            out.extend(l.orders.to_le_bytes());
        }
        let (bid, ask) = engine.best_prices(MarketId(m));
        out.extend(format!("{bid:?}{ask:?}").as_bytes());
    }
    for k in &keys {
        out.extend(codec::encode(&engine.open_orders(k)));
    }
    engine.check_invariants().unwrap();
    assert!(engine.order_count() > 100, "the books stay deep");
    Hash::digest(&out).to_hex()
}

#[test]
fn seeded_streams_keep_their_golden_digests() {
    let got = [digest(1, 30_000), digest(2, 30_000), digest(3, 8_000)];
    let want = [
        "9d5811aaa02c22d3516aa1492e2cfa5ef6ae102d50111622f5a4d2f3a1714bd4",
        "264ee84f3c2638fb0907312c045c05c2bd914eaf4edd3a92b2ba8e991ab1104b",
        "feeac834d5a44207e6c506eed4c0bddfdb6c6cfa01e5cb2d6b65ac8315c6dd35",
    ];
    assert_eq!(got, want);
}
