//! Generators of valid ledger values (every payload kind, signed transactions, blocks
//! of both protocols), shared by the fuzz tests of several crates through `#[path]`.

#![allow(dead_code)]

use ledger_types::{
    AmendOrder, AssetId, Batch, BatchAction, Block, Bundle, BundleLeg, CancelAll, CancelOrder,
    ClientOrderId, ConsensusHeader, Decimal, Hash, Keypair, MarketId, NetBound, OrderKind,
    OrderRef, Payload, PlaceOrder, Preimage, ScheduleCancel, SelfTradePrevention, Side, SignedTx,
    SwapClaim, SwapLock, SwapRefund, TimeInForce, Transfer, Tx,
};
use proptest::prelude::*;

/// The signing keys the generators use (a few, so senders repeat).
pub fn keys() -> Vec<Keypair> {
    (0..4)
        .map(|i| Keypair::for_testing(&format!("fuzz-{i}")))
        .collect()
}

/// Any decimal the canonical encoding accepts (96-bit mantissa, scale 0 to 28).
pub fn decimal() -> impl Strategy<Value = Decimal> + Clone {
    prop_oneof![
        (1i64..1_000_000, 0u32..8).prop_map(|(m, s)| Decimal::new(m, s)),
        (-((1i128 << 96) - 1)..=((1i128 << 96) - 1), 0u32..=28)
            .prop_map(|(m, s)| Decimal::from_i128_with_scale(m, s)),
        Just(Decimal::ZERO),
    ]
}

fn hash() -> impl Strategy<Value = Hash> + Clone {
    any::<[u8; 32]>().prop_map(Hash)
}

fn side() -> impl Strategy<Value = Side> + Clone {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

fn tif() -> impl Strategy<Value = TimeInForce> + Clone {
    prop_oneof![
        Just(TimeInForce::Gtc),
        Just(TimeInForce::Ioc),
        Just(TimeInForce::Fok),
        Just(TimeInForce::PostOnly)
    ]
}

fn stp() -> impl Strategy<Value = SelfTradePrevention> + Clone {
    prop_oneof![
        Just(SelfTradePrevention::ExpireTaker),
        Just(SelfTradePrevention::ExpireMaker),
        Just(SelfTradePrevention::ExpireBoth)
    ]
}

fn order_ref() -> impl Strategy<Value = OrderRef> + Clone {
    prop_oneof![
        hash().prop_map(OrderRef::OrderId),
        any::<u128>().prop_map(|c| OrderRef::ClientOrderId(ClientOrderId(c))),
    ]
}

/// A place-order payload with every field drawn.
pub fn place_order() -> impl Strategy<Value = PlaceOrder> + Clone {
    (
        (
            0u32..4,
            side(),
            prop_oneof![Just(OrderKind::Limit), Just(OrderKind::Market)],
        ),
        proptest::option::of(decimal()),
        decimal(),
        tif(),
        proptest::option::of(any::<u128>()),
        stp(),
        proptest::option::of(any::<u64>()),
    )
        .prop_map(
            |((m, side, kind), price, quantity, time_in_force, coid, self_trade, gtd)| PlaceOrder {
                market: MarketId(m),
                side,
                kind,
                price,
                quantity,
                time_in_force,
                client_order_id: coid.map(ClientOrderId),
                self_trade,
                good_till_height: gtd,
            },
        )
}

fn amend() -> impl Strategy<Value = AmendOrder> + Clone {
    (
        order_ref(),
        proptest::option::of(decimal()),
        proptest::option::of(decimal()),
    )
        .prop_map(|(order, price, quantity)| AmendOrder {
            order,
            price,
            quantity,
        })
}

fn leg() -> impl Strategy<Value = BundleLeg> + Clone {
    (
        0u32..4,
        side(),
        decimal(),
        decimal(),
        tif(),
        proptest::option::of(any::<u128>()),
        stp(),
    )
        .prop_map(
            |(m, side, price, quantity, time_in_force, coid, self_trade)| BundleLeg {
                market: MarketId(m),
                side,
                price,
                quantity,
                time_in_force,
                client_order_id: coid.map(ClientOrderId),
                self_trade,
            },
        )
}

/// Every payload kind, batches (1 to 6 actions of each kind), amends, bundles (2 to 8
/// legs) and the three swap steps included.
pub fn payload() -> impl Strategy<Value = Payload> + Clone {
    let action = prop_oneof![
        place_order().prop_map(BatchAction::PlaceOrder),
        order_ref().prop_map(|order| BatchAction::CancelOrder(CancelOrder { order })),
        amend().prop_map(BatchAction::AmendOrder),
    ];
    prop_oneof![
        (any::<[u8; 32]>(), 0u32..4, decimal()).prop_map(|(to, a, amount)| Payload::Transfer(
            Transfer {
                to: ledger_types::PublicKey(to),
                asset: AssetId(a),
                amount,
            }
        )),
        place_order().prop_map(Payload::PlaceOrder),
        order_ref().prop_map(|order| Payload::CancelOrder(CancelOrder { order })),
        proptest::option::of(0u32..4).prop_map(|m| Payload::CancelAll(CancelAll {
            market: m.map(MarketId)
        })),
        proptest::collection::vec(action, 1..=6)
            .prop_map(|actions| Payload::Batch(Batch { actions })),
        amend().prop_map(Payload::AmendOrder),
        proptest::option::of(any::<u64>())
            .prop_map(|at_height| Payload::ScheduleCancel(ScheduleCancel { at_height })),
        (
            proptest::collection::vec(leg(), 2..=8),
            proptest::collection::vec((0u32..8, decimal()), 0..=3)
        )
            .prop_map(|(legs, bounds)| Payload::Bundle(Bundle {
                legs,
                min_net: bounds
                    .into_iter()
                    .map(|(a, min)| NetBound {
                        asset: AssetId(a),
                        min
                    })
                    .collect(),
            })),
        (any::<[u8; 32]>(), 0u32..4, decimal(), hash(), any::<u64>()).prop_map(
            |(c, a, amount, hashlock, timeout_height)| Payload::SwapLock(SwapLock {
                counterparty: ledger_types::PublicKey(c),
                asset: AssetId(a),
                amount,
                hashlock,
                timeout_height,
            })
        ),
        (hash(), any::<[u8; 32]>()).prop_map(|(swap_id, p)| Payload::SwapClaim(SwapClaim {
            swap_id,
            preimage: Preimage(p),
        })),
        hash().prop_map(|swap_id| Payload::SwapRefund(SwapRefund { swap_id })),
    ]
}

/// An unsigned transaction of one of the [`keys`].
pub fn tx() -> impl Strategy<Value = Tx> + Clone {
    (
        0usize..4,
        "[a-z0-9-]{0,16}",
        any::<u64>(),
        payload(),
        proptest::option::of(any::<u64>()),
    )
        .prop_map(|(k, chain_id, nonce, payload, valid_until_height)| Tx {
            chain_id,
            sender: Keypair::for_testing(&format!("fuzz-{k}")).public(),
            nonce,
            payload,
            valid_until_height,
        })
}

/// A transaction signed by its sender.
pub fn signed_tx() -> impl Strategy<Value = SignedTx> + Clone {
    (0usize..4, tx()).prop_map(|(_, mut t)| {
        let key = keys()
            .into_iter()
            .find(|k| k.public() == t.sender)
            .unwrap_or_else(|| Keypair::for_testing("fuzz-0"));
        t.sender = key.public();
        t.sign(&key)
    })
}

/// A consensus header of either protocol.
pub fn consensus_header() -> impl Strategy<Value = ConsensusHeader> + Clone {
    prop_oneof![
        (any::<u64>(), any::<[u8; 32]>(), any::<u64>()).prop_map(|(epoch, p, time_ms)| {
            ConsensusHeader::Streamlet {
                epoch,
                proposer: ledger_types::PublicKey(p),
                time_ms,
            }
        }),
        (any::<u64>(), hash(), any::<u64>(), any::<[u8; 32]>()).prop_map(
            |(time_ms, target, nonce, m)| {
                ConsensusHeader::Nakamoto {
                    time_ms,
                    target,
                    nonce,
                    miner: ledger_types::PublicKey(m),
                }
            }
        ),
    ]
}

/// A block of 0 to 3 signed transactions with a matching transaction root.
pub fn block() -> impl Strategy<Value = Block> + Clone {
    (
        hash(),
        any::<u64>(),
        consensus_header(),
        proptest::collection::vec(signed_tx(), 0..=3),
    )
        .prop_map(|(parent, height, c, txs)| Block::new(parent, height, c, txs))
}
