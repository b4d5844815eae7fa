//! Fixed test vectors of the canonical encoding: given keys and transactions, their
//! exact bytes, hashes and signatures, in `tests/vectors/canonical.json`.
//!
//! The wire format is bincode 2 (pinned `=2.0.1`, unmaintained) with hand-written
//! encodings for decimals and orders; an accidental change of any of them, or of the
//! signing domain, makes this test fail. Wallets in other languages can test their
//! encoders against the same file.
//!
//! After an **intended** format change, regenerate the file with
//! `LEDGER_UPDATE_VECTORS=1 cargo test --release -p ledger-types --test vectors` and
//! say so in the change.

use ledger_types::{
    codec, AmendOrder, AssetId, Batch, BatchAction, Bundle, BundleLeg, CancelAll, CancelOrder,
    ClientOrderId, Decimal, Keypair, MarketId, NetBound, OrderKind, OrderRef, Payload, PlaceOrder,
    Preimage, ScheduleCancel, SelfTradePrevention, Side, SignedTx, SwapClaim, SwapLock, SwapRefund,
    TimeInForce, Transfer, Tx,
};
use serde_json::{json, Value};
use std::str::FromStr;

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/canonical.json");

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn order(market: u32, side: Side, price: Option<&str>, qty: &str) -> PlaceOrder {
    PlaceOrder {
        market: MarketId(market),
        side,
        kind: if price.is_some() {
            OrderKind::Limit
        } else {
            OrderKind::Market
        },
        price: price.map(d),
        quantity: d(qty),
        time_in_force: if price.is_some() {
            TimeInForce::Gtc
        } else {
            TimeInForce::Ioc
        },
        client_order_id: None,
        self_trade: SelfTradePrevention::ExpireMaker,
        good_till_height: None,
    }
}

/// The fixed inputs: (name, signer label, transaction).
fn cases() -> Vec<(&'static str, &'static str, Tx)> {
    let alice = Keypair::for_testing("alice").public();
    let bob = Keypair::for_testing("bob").public();
    let tx = |sender, nonce, payload| Tx::new("ledger-test", sender, nonce, payload);
    let api_md_order = PlaceOrder {
        client_order_id: Some(ClientOrderId(7)),
        ..order(0, Side::Sell, Some("100.50"), "0.5")
    };
    let gtd_post_only = PlaceOrder {
        time_in_force: TimeInForce::PostOnly,
        client_order_id: Some(ClientOrderId(u128::MAX)),
        self_trade: SelfTradePrevention::ExpireBoth,
        good_till_height: Some(1_000),
        ..order(1, Side::Buy, Some("0.001"), "12.5")
    };
    let mut expiring = tx(alice, 3, Payload::CancelAll(CancelAll { market: None }));
    expiring.valid_until_height = Some(42);
    vec![
        (
            "transfer",
            "alice",
            tx(
                alice,
                0,
                Payload::Transfer(Transfer {
                    to: bob,
                    asset: AssetId(1),
                    amount: d("1.5"),
                }),
            ),
        ),
        (
            "place_order_limit (the API.md example)",
            "alice",
            tx(alice, 0, Payload::PlaceOrder(api_md_order)),
        ),
        (
            "place_order_market_unbounded",
            "bob",
            tx(
                bob,
                1,
                Payload::PlaceOrder(PlaceOrder {
                    self_trade: SelfTradePrevention::ExpireTaker,
                    ..order(0, Side::Buy, None, "2")
                }),
            ),
        ),
        (
            "place_order_gtd_post_only",
            "alice",
            tx(alice, 1, Payload::PlaceOrder(gtd_post_only.clone())),
        ),
        (
            "cancel_order_by_id",
            "alice",
            tx(
                alice,
                2,
                Payload::CancelOrder(CancelOrder {
                    order: OrderRef::OrderId(ledger_types::Hash::digest(b"order")),
                }),
            ),
        ),
        (
            "cancel_order_by_client_id",
            "bob",
            tx(
                bob,
                2,
                Payload::CancelOrder(CancelOrder {
                    order: OrderRef::ClientOrderId(ClientOrderId(0xabc)),
                }),
            ),
        ),
        (
            "cancel_all_market",
            "bob",
            tx(
                bob,
                3,
                Payload::CancelAll(CancelAll {
                    market: Some(MarketId(1)),
                }),
            ),
        ),
        ("cancel_all_expiring", "alice", expiring),
        (
            "batch",
            "alice",
            tx(
                alice,
                4,
                Payload::Batch(Batch {
                    actions: vec![
                        BatchAction::CancelOrder(CancelOrder {
                            order: OrderRef::ClientOrderId(ClientOrderId(1)),
                        }),
                        BatchAction::PlaceOrder(order(0, Side::Buy, Some("99.99"), "0.25")),
                        BatchAction::PlaceOrder(gtd_post_only),
                        BatchAction::AmendOrder(AmendOrder {
                            order: OrderRef::ClientOrderId(ClientOrderId(2)),
                            price: Some(d("101")),
                            quantity: None,
                        }),
                    ],
                }),
            ),
        ),
        (
            "amend_order",
            "bob",
            tx(
                bob,
                4,
                Payload::AmendOrder(AmendOrder {
                    order: OrderRef::OrderId(ledger_types::Hash::digest(b"order")),
                    price: Some(d("100.25")),
                    quantity: Some(d("0.75")),
                }),
            ),
        ),
        (
            "schedule_cancel_arm",
            "alice",
            tx(
                alice,
                5,
                Payload::ScheduleCancel(ScheduleCancel {
                    at_height: Some(1_000_000),
                }),
            ),
        ),
        (
            "schedule_cancel_clear",
            "alice",
            tx(
                alice,
                6,
                Payload::ScheduleCancel(ScheduleCancel { at_height: None }),
            ),
        ),
        (
            "bundle",
            "alice",
            tx(
                alice,
                7,
                Payload::Bundle(Bundle {
                    legs: vec![
                        BundleLeg {
                            market: MarketId(0),
                            side: Side::Buy,
                            price: d("100.5"),
                            quantity: d("0.5"),
                            time_in_force: TimeInForce::Ioc,
                            client_order_id: Some(ClientOrderId(9)),
                            self_trade: SelfTradePrevention::ExpireTaker,
                        },
                        BundleLeg {
                            market: MarketId(2),
                            side: Side::Sell,
                            price: d("0.05"),
                            quantity: d("10"),
                            time_in_force: TimeInForce::Fok,
                            client_order_id: None,
                            self_trade: SelfTradePrevention::ExpireMaker,
                        },
                    ],
                    min_net: vec![NetBound {
                        asset: AssetId(1),
                        min: d("-0.5"),
                    }],
                }),
            ),
        ),
        (
            "swap_lock",
            "alice",
            tx(
                alice,
                8,
                Payload::SwapLock(SwapLock {
                    counterparty: bob,
                    asset: AssetId(0),
                    amount: d("0.25"),
                    hashlock: Preimage([42; 32]).hashlock(),
                    timeout_height: 140,
                }),
            ),
        ),
        (
            "swap_claim",
            "bob",
            tx(
                bob,
                5,
                Payload::SwapClaim(SwapClaim {
                    swap_id: ledger_types::Hash::digest(b"swap"),
                    preimage: Preimage([42; 32]),
                }),
            ),
        ),
        (
            "swap_refund",
            "alice",
            tx(
                alice,
                9,
                Payload::SwapRefund(SwapRefund {
                    swap_id: ledger_types::Hash::digest(b"swap"),
                }),
            ),
        ),
    ]
}

fn generate() -> Value {
    let keys: Vec<Value> = ["alice", "bob"]
        .iter()
        .map(|label| {
            let k = Keypair::for_testing(label);
            json!({"label": label, "seed": hex::encode(k.seed()), "public_key": k.public().to_hex()})
        })
        .collect();
    let txs: Vec<Value> = cases()
        .into_iter()
        .map(|(name, signer, tx)| {
            let key = Keypair::for_testing(signer);
            let stx = tx.clone().sign(&key);
            let order_ids: Vec<String> = match &tx.payload {
                Payload::PlaceOrder(_) => vec![stx.hash().to_hex()],
                Payload::Batch(b) => b
                    .actions
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| matches!(a, BatchAction::PlaceOrder(_)))
                    .map(|(i, _)| ledger_types::batch_order_id(&stx.hash(), i as u32).to_hex())
                    .collect(),
                _ => Vec::new(),
            };
            json!({
                "order_ids": order_ids,
                "name": name,
                "signer": signer,
                "tx": serde_json::to_value(&tx).unwrap(),
                "tx_bytes": hex::encode(codec::encode(&tx)),
                "signing_bytes": hex::encode(tx.signing_bytes()),
                "hash": stx.hash().to_hex(),
                "signature": stx.signature.to_hex(),
                "signed_tx_bytes": hex::encode(codec::encode(&stx)),
            })
        })
        .collect();
    json!({
        "description": "Canonical encoding test vectors of ledger-node transactions: bincode 2 (fixed-width little-endian integers), signed with ed25519 over the domain tag \"ledger-node/tx/v1\\0\" followed by tx_bytes; hash = SHA-256(signing_bytes). Keys are Keypair::for_testing(label): seed = SHA-256 of a fixed prefix and the label.",
        "signing_domain_hex": hex::encode(ledger_types::tx::TX_SIGNING_DOMAIN),
        "keys": keys,
        "transactions": txs,
    })
}

#[test]
fn canonical_encoding_matches_the_fixed_vectors() {
    let now = generate();
    if std::env::var_os("LEDGER_UPDATE_VECTORS").is_some() {
        std::fs::create_dir_all(std::path::Path::new(FILE).parent().unwrap()).unwrap();
        std::fs::write(FILE, serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
    }
    let text = std::fs::read_to_string(FILE).expect("tests/vectors/canonical.json");
    let fixed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(fixed["keys"], now["keys"], "key derivation changed");
    assert_eq!(fixed["signing_domain_hex"], now["signing_domain_hex"]);
    let (f, n) = (
        fixed["transactions"].as_array().unwrap(),
        now["transactions"].as_array().unwrap(),
    );
    assert_eq!(f.len(), n.len(), "the set of vectors changed");
    for (f, n) in f.iter().zip(n) {
        for field in [
            "tx",
            "tx_bytes",
            "signing_bytes",
            "hash",
            "signature",
            "signed_tx_bytes",
            "order_ids",
        ] {
            assert_eq!(
                f[field], n[field],
                "vector {:?}: {field} changed (an accidental wire-format change?)",
                f["name"]
            );
        }
    }
}

#[test]
fn fixed_vectors_decode_verify_and_reencode() {
    let text = std::fs::read_to_string(FILE).expect("tests/vectors/canonical.json");
    let fixed: Value = serde_json::from_str(&text).unwrap();
    for v in fixed["transactions"].as_array().unwrap() {
        let bytes = hex::decode(v["signed_tx_bytes"].as_str().unwrap()).unwrap();
        let stx: SignedTx = codec::decode(&bytes).unwrap();
        assert_eq!(stx.verify(), Ok(()), "{}", v["name"]);
        assert_eq!(stx.hash().to_hex(), v["hash"].as_str().unwrap());
        assert_eq!(codec::encode(&stx), bytes);
        // The JSON form decodes to the same transaction.
        let tx: Tx = serde_json::from_value(v["tx"].clone()).unwrap();
        assert_eq!(tx, stx.tx, "{}", v["name"]);
    }
}

#[test]
fn orders_without_good_till_keep_their_original_layout() {
    // The good-till height rides on a flag bit of the self-trade tag: an order without
    // one ends with the plain 4-byte tag, as before the field existed.
    let o = order(0, Side::Buy, Some("1"), "1");
    let bytes = codec::encode(&o);
    assert_eq!(&bytes[bytes.len() - 4..], &[1, 0, 0, 0]);
    let gtd = PlaceOrder {
        good_till_height: Some(5),
        ..o
    };
    let g = codec::encode(&gtd);
    assert_eq!(g.len(), bytes.len() + 8);
    assert_eq!(&g[bytes.len() - 4..bytes.len()], &[1, 1, 0, 0]);
    assert_eq!(codec::decode::<PlaceOrder>(&g).unwrap(), gtd);
    // Unknown flag bits are refused.
    let mut bad = bytes.clone();
    let n = bad.len();
    bad[n - 3] = 2;
    assert!(codec::decode::<PlaceOrder>(&bad).is_err());
    // A batch longer than the limit does not decode.
    let big = Batch {
        actions: vec![
            BatchAction::CancelOrder(CancelOrder {
                order: OrderRef::ClientOrderId(ClientOrderId(1))
            });
            33
        ],
    };
    assert!(codec::decode::<Batch>(&codec::encode(&big)).is_err());
    let json = serde_json::to_value(&big).unwrap();
    assert!(serde_json::from_value::<Batch>(json).is_err());
}
