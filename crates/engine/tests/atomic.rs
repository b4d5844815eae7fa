//! Bundles and hashlock swaps, one rule per test: a triangle that fills, each way a bundle
//! fails (and changes nothing but the nonce), self-trade prevention inside a bundle, and
//! every swap path: claim, refund, wrong preimage, wrong account, before and after the
//! timeout, bad locks, escrow in the supply, restore with open swaps.

use ledger_engine::{Engine, Event, Rejection, MAX_OPEN_SWAPS_PER_ACCOUNT};
use ledger_types::genesis::MarketSpec;
use ledger_types::{
    AssetId, Bundle, BundleLeg, ClientOrderId, Decimal, Genesis, Hash, Keypair, MarketId, NetBound,
    OrderKind, Payload, PlaceOrder, Preimage, SelfTradePrevention, Side, SwapClaim, SwapLock,
    SwapRefund, TimeInForce, Tx, TxHash,
};
use std::str::FromStr;

const BTC: AssetId = AssetId(0);
const USD: AssetId = AssetId(1);
const ETH: AssetId = AssetId(2);
const BTC_USD: MarketId = MarketId(0);
const ETH_USD: MarketId = MarketId(1);
const ETH_BTC: MarketId = MarketId(2);

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

struct H {
    engine: Engine,
    genesis: Genesis,
    keys: Vec<Keypair>,
}

impl H {
    fn new() -> H {
        let keys: Vec<Keypair> = (0..4)
            .map(|i| Keypair::for_testing(&format!("atomic{i}")))
            .collect();
        let pubs: Vec<_> = keys.iter().map(|k| k.public()).collect();
        let mut genesis = Genesis::for_testing(&pubs, &[Keypair::for_testing("v").public()]);
        genesis.markets.push(MarketSpec {
            base: "ETH".into(),
            quote: "BTC".into(),
            tick_size: d("0.0001"),
            lot_size: d("0.01"),
            min_size: d("0.01"),
            maker_fee_bps: 2,
            taker_fee_bps: 5,
        });
        let mut engine = Engine::from_genesis(&genesis).unwrap();
        engine.begin_block(10);
        H {
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

    fn submit(&mut self, who: usize, payload: Payload) -> Result<(TxHash, Vec<Event>), Rejection> {
        let tx = self.tx(who, payload);
        let hash = tx.hash();
        let r = self.engine.apply(&tx, hash);
        let events = self.engine.take_events();
        r.map(|()| (hash, events))
    }

    fn rest(&mut self, who: usize, market: MarketId, side: Side, price: &str, qty: &str) -> TxHash {
        self.submit(
            who,
            Payload::PlaceOrder(PlaceOrder {
                market,
                side,
                kind: OrderKind::Limit,
                price: Some(d(price)),
                quantity: d(qty),
                time_in_force: TimeInForce::Gtc,
                client_order_id: None,
                self_trade: SelfTradePrevention::ExpireMaker,
                good_till_height: None,
            }),
        )
        .unwrap()
        .0
    }

    fn total(&self, who: usize, asset: AssetId) -> u128 {
        let b = self.engine.balance(&self.keys[who].public(), asset);
        b.free + b.locked
    }

    /// Account 1 makes the three books: BTC/USD ask 100, ETH/USD bid 52, ETH/BTC ask 0.5.
    fn triangle_books(&mut self) {
        self.rest(1, BTC_USD, Side::Sell, "100", "1");
        self.rest(1, ETH_USD, Side::Buy, "52", "2");
        self.rest(1, ETH_BTC, Side::Sell, "0.5", "2");
        self.engine.commit();
    }
}

fn leg(market: MarketId, side: Side, price: &str, qty: &str) -> BundleLeg {
    BundleLeg {
        market,
        side,
        price: d(price),
        quantity: d(qty),
        time_in_force: TimeInForce::Ioc,
        client_order_id: None,
        self_trade: SelfTradePrevention::ExpireMaker,
    }
}

/// USD -> BTC -> ETH -> USD for 1 ETH.
fn triangle() -> Bundle {
    Bundle {
        legs: vec![
            leg(BTC_USD, Side::Buy, "100", "0.5003"),
            leg(ETH_BTC, Side::Buy, "0.5", "1"),
            leg(ETH_USD, Side::Sell, "52", "1"),
        ],
        min_net: vec![
            NetBound {
                asset: USD,
                min: d("1"),
            },
            NetBound {
                asset: BTC,
                min: Decimal::ZERO,
            },
        ],
    }
}

/// Submits a bundle that must fail and checks that only the nonce changed.
fn assert_refused_without_effect(h: &mut H, who: usize, b: Bundle) -> Rejection {
    h.engine.commit();
    let before = h.engine.export_state();
    let root_before = h.engine.state_root();
    let nonce = h.engine.next_nonce(&h.keys[who].public());
    let err = h.submit(who, Payload::Bundle(b)).unwrap_err();
    assert!(!err.is_stateless());
    assert_eq!(
        h.engine.next_nonce(&h.keys[who].public()),
        nonce + 1,
        "nonce consumed"
    );
    let after = h.engine.export_state();
    assert_eq!(after.orders, before.orders, "books unchanged");
    assert_eq!(after.counters, before.counters);
    for (a, b) in after.accounts.iter().zip(&before.accounts) {
        assert_eq!(a.balances, b.balances, "balances unchanged");
    }
    assert_ne!(
        h.engine.commit(),
        root_before,
        "the nonce is part of the root"
    );
    h.engine.check_invariants().unwrap();
    err
}

#[test]
fn a_triangle_bundle_fills_every_leg_and_reports_its_net() {
    let mut h = H::new();
    h.triangle_books();
    let usd = h.total(0, USD);
    let (hash, events) = h.submit(0, Payload::Bundle(triangle())).unwrap();
    for i in 0..3 {
        let id = Bundle::leg_order_id(&hash, i);
        assert!(events
            .iter()
            .any(|e| matches!(e, Event::Fill(f) if f.taker_order == id)));
    }
    let Some(Event::BundleExecuted { legs, net, .. }) = events.last() else {
        panic!("no summary event: {events:?}");
    };
    assert_eq!(*legs, 3);
    // 52 * 0.999 - 0.5003 * 100 * 1.0005 = 1.892985 USD (both fees are exact here).
    let usd_net = net.iter().find(|(a, _)| *a == USD).unwrap().1;
    assert_eq!(h.total(0, USD) as i128 - usd as i128, usd_net);
    assert_eq!(usd_net, 1_892_985);
    // 0.5003 BTC bought, 0.5 BTC + 0.00025 BTC fee spent.
    assert_eq!(net.iter().find(|(a, _)| *a == BTC).unwrap().1, 5_000);
    let left = h.engine.depth(BTC_USD, 1).unwrap().asks[0].quantity;
    assert_eq!(left, 4_997, "0.4997 BTC of the 1 BTC ask is left");
    h.engine.check_invariants().unwrap();
}

#[test]
fn an_unfilled_ioc_leg_undoes_the_earlier_legs() {
    let mut h = H::new();
    h.triangle_books();
    let mut b = triangle();
    b.legs[2].quantity = d("3"); // only 2 ETH bid
    b.legs[1].quantity = d("3");
    b.legs[0].quantity = d("1");
    b.min_net.clear();
    let err = assert_refused_without_effect(&mut h, 0, b);
    assert!(
        matches!(err, Rejection::BundleLegUnfilled { leg: 1, .. }),
        "{err:?}"
    );
    // The resting orders the first legs took are back, in their time priority.
    assert_eq!(h.engine.best_prices(BTC_USD).1, Some(10_000));
    assert_eq!(h.engine.open_orders(&h.keys[1].public()).len(), 3);
}

#[test]
fn a_fok_leg_that_cannot_fill_names_its_leg_and_cause() {
    let mut h = H::new();
    h.triangle_books();
    let mut b = triangle();
    b.legs[2].time_in_force = TimeInForce::Fok;
    b.legs[2].price = d("53"); // no bid that high
    let err = assert_refused_without_effect(&mut h, 0, b);
    assert_eq!(
        err,
        Rejection::BundleLegFailed {
            leg: 2,
            cause: Box::new(Rejection::FillOrKillUnfilled)
        }
    );
    assert_eq!(err.code_name(), "bundle_leg_failed");
}

#[test]
fn a_missed_net_bound_undoes_everything() {
    let mut h = H::new();
    h.triangle_books();
    let mut b = triangle();
    b.min_net[0].min = d("2"); // the triangle earns about 1.89 USD
    let err = assert_refused_without_effect(&mut h, 0, b);
    let Rejection::BundleNetBelowMinimum { asset, net, min } = err else {
        panic!("{err:?}")
    };
    assert_eq!(asset, USD);
    assert_eq!(min, 2_000_000);
    assert!(net > 1_800_000 && net < min);
}

#[test]
fn malformed_bundles_are_refused_after_the_nonce() {
    let mut h = H::new();
    h.triangle_books();
    let one = Bundle {
        legs: vec![leg(BTC_USD, Side::Buy, "100", "0.1")],
        min_net: vec![],
    };
    assert!(matches!(
        assert_refused_without_effect(&mut h, 0, one),
        Rejection::InvalidBundle { .. }
    ));
    let nine = Bundle {
        legs: vec![leg(BTC_USD, Side::Buy, "100", "0.1"); 9],
        min_net: vec![],
    };
    assert!(matches!(
        assert_refused_without_effect(&mut h, 0, nine),
        Rejection::InvalidBundle { .. }
    ));
    let mut gtc = triangle();
    gtc.legs[0].time_in_force = TimeInForce::Gtc;
    assert!(matches!(
        assert_refused_without_effect(&mut h, 0, gtc),
        Rejection::InvalidBundle { .. }
    ));
    let mut tick = triangle();
    tick.legs[1].price = d("0.50005");
    assert_eq!(
        assert_refused_without_effect(&mut h, 0, tick),
        Rejection::BundleLegFailed {
            leg: 1,
            cause: Box::new(Rejection::InvalidPrice)
        }
    );
    let mut market = triangle();
    market.legs[0].market = MarketId(9);
    assert!(matches!(
        assert_refused_without_effect(&mut h, 0, market),
        Rejection::BundleLegFailed { leg: 0, .. }
    ));
    let mut bound = triangle();
    bound.min_net[0].min = d("0.0000001"); // finer than USD's 6 decimals
    assert!(matches!(
        assert_refused_without_effect(&mut h, 0, bound),
        Rejection::InvalidBundle { .. }
    ));
}

#[test]
fn self_trade_prevention_inside_a_refused_bundle_is_undone_too() {
    let mut h = H::new();
    h.triangle_books();
    // Account 0's own ask at 99.99 sits ahead of account 1's ask at 100.
    let own = h.rest(0, BTC_USD, Side::Sell, "99.99", "0.5");
    h.engine.commit();
    let locked = h.engine.balance(&h.keys[0].public(), BTC).locked;
    assert!(locked > 0);
    let mut b = triangle();
    b.min_net[0].min = d("100"); // cannot be met: the bundle fails after matching
    let err = assert_refused_without_effect(&mut h, 0, b);
    assert!(matches!(err, Rejection::BundleNetBelowMinimum { .. }));
    // The own order expired by EXPIRE_MAKER during leg 0 is back, with its lock.
    assert!(h.engine.order(&own).is_some());
    assert_eq!(h.engine.balance(&h.keys[0].public(), BTC).locked, locked);
    // Executed for real, the own order is expired and the rest fills.
    let (_, events) = h.submit(0, Payload::Bundle(triangle())).unwrap();
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::OrderExpired { order_id, .. } if *order_id == own)));
}

#[test]
fn client_order_ids_and_fees_follow_the_order_rules() {
    let mut h = H::new();
    h.triangle_books();
    let mut b = triangle();
    b.legs[0].client_order_id = Some(ClientOrderId(7));
    let (_, events) = h.submit(0, Payload::Bundle(b)).unwrap();
    let fill = events
        .iter()
        .find_map(|e| match e {
            Event::Fill(f) if f.market == BTC_USD => Some(f.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(fill.taker_client_order_id, Some(ClientOrderId(7)));
    // 0.5003 BTC * 100 = 50.03 USD at 5 bps = 0.0250150 -> 0.025015 USD (rounded down).
    assert_eq!(fill.taker_fee, 25_015);
}

// ------------------------------------------------------------------------------ swaps

fn lock(
    h: &mut H,
    who: usize,
    to: usize,
    amount: &str,
    secret: u8,
    timeout: u64,
) -> Result<Hash, Rejection> {
    let to = h.keys[to].public();
    h.submit(
        who,
        Payload::SwapLock(SwapLock {
            counterparty: to,
            asset: BTC,
            amount: d(amount),
            hashlock: Preimage([secret; 32]).hashlock(),
            timeout_height: timeout,
        }),
    )
    .map(|(hash, _)| hash)
}

fn claim(h: &mut H, who: usize, id: Hash, secret: u8) -> Result<Vec<Event>, Rejection> {
    h.submit(
        who,
        Payload::SwapClaim(SwapClaim {
            swap_id: id,
            preimage: Preimage([secret; 32]),
        }),
    )
    .map(|(_, e)| e)
}

fn refund(h: &mut H, who: usize, id: Hash) -> Result<Vec<Event>, Rejection> {
    h.submit(who, Payload::SwapRefund(SwapRefund { swap_id: id }))
        .map(|(_, e)| e)
}

#[test]
fn a_swap_is_claimed_with_its_preimage_before_the_timeout() {
    let mut h = H::new();
    let supply = h.engine.total_supply();
    let (a0, a1) = (h.total(0, BTC), h.total(1, BTC));
    let id = lock(&mut h, 0, 1, "1.5", 7, 20).unwrap();
    assert_eq!(h.total(0, BTC), a0 - 150_000_000);
    assert_eq!(
        h.engine.total_supply(),
        supply,
        "escrow counts in the supply"
    );
    let s = h.engine.swap(&id).unwrap().clone();
    assert_eq!(
        (s.amount, s.timeout_height, s.lock_height),
        (150_000_000, 20, 10)
    );
    assert_eq!(claim(&mut h, 1, id, 8), Err(Rejection::WrongPreimage));
    assert_eq!(claim(&mut h, 2, id, 7), Err(Rejection::SwapNotCounterparty));
    assert_eq!(
        refund(&mut h, 0, id),
        Err(Rejection::SwapNotExpired {
            timeout_height: 20,
            height: 10
        })
    );
    h.engine.begin_block(19);
    let events = claim(&mut h, 1, id, 7).unwrap();
    assert!(matches!(
        &events[..],
        [Event::SwapClaimed { preimage, amount: 150_000_000, .. }] if *preimage == Preimage([7; 32])
    ));
    assert_eq!(h.total(1, BTC), a1 + 150_000_000);
    assert!(h.engine.swap(&id).is_none());
    // Ended: neither a second claim nor a refund.
    assert_eq!(claim(&mut h, 1, id, 7), Err(Rejection::SwapNotFound));
    h.engine.begin_block(30);
    assert_eq!(refund(&mut h, 0, id), Err(Rejection::SwapNotFound));
    assert_eq!(h.engine.total_supply(), supply);
    h.engine.check_invariants().unwrap();
}

#[test]
fn a_swap_is_refunded_from_its_timeout_and_never_claimed_after() {
    let mut h = H::new();
    let a0 = h.total(0, BTC);
    let id = lock(&mut h, 0, 1, "0.25", 3, 15).unwrap();
    h.engine.begin_block(15);
    assert_eq!(
        claim(&mut h, 1, id, 3),
        Err(Rejection::SwapExpired {
            timeout_height: 15,
            height: 15
        })
    );
    assert_eq!(refund(&mut h, 1, id), Err(Rejection::SwapNotOwner));
    let events = refund(&mut h, 0, id).unwrap();
    assert!(matches!(
        &events[..],
        [Event::SwapRefunded {
            amount: 25_000_000,
            ..
        }]
    ));
    assert_eq!(h.total(0, BTC), a0);
    assert_eq!(refund(&mut h, 0, id), Err(Rejection::SwapNotFound));
    assert_eq!(claim(&mut h, 1, id, 3), Err(Rejection::SwapNotFound));
}

#[test]
fn bad_locks_are_refused() {
    let mut h = H::new();
    let timeout_err = |t| Rejection::InvalidSwapTimeout {
        timeout_height: t,
        height: 10,
        max_ahead: ledger_engine::MAX_SWAP_TIMEOUT_BLOCKS,
    };
    assert_eq!(lock(&mut h, 0, 1, "1", 1, 10), Err(timeout_err(10)));
    assert_eq!(lock(&mut h, 0, 1, "1", 1, 5), Err(timeout_err(5)));
    assert_eq!(
        lock(&mut h, 0, 1, "1", 1, 10 + 1_000_001),
        Err(timeout_err(10 + 1_000_001))
    );
    assert_eq!(lock(&mut h, 0, 0, "1", 1, 20), Err(Rejection::SelfTransfer));
    assert_eq!(
        lock(&mut h, 0, 1, "0", 1, 20),
        Err(Rejection::InvalidAmount)
    );
    assert_eq!(
        lock(&mut h, 0, 1, "0.000000001", 1, 20),
        Err(Rejection::InvalidAmount)
    );
    assert!(matches!(
        lock(&mut h, 0, 1, "101", 1, 20),
        Err(Rejection::InsufficientBalance { .. })
    ));
    for _ in 0..MAX_OPEN_SWAPS_PER_ACCOUNT {
        lock(&mut h, 0, 1, "0.01", 1, 20).unwrap();
    }
    assert_eq!(
        lock(&mut h, 0, 1, "0.01", 1, 20),
        Err(Rejection::TooManySwaps {
            limit: MAX_OPEN_SWAPS_PER_ACCOUNT
        })
    );
    let _ = ETH;
}

#[test]
fn open_swaps_survive_export_and_restore_with_the_same_root() {
    let mut h = H::new();
    let id = lock(&mut h, 0, 1, "2", 9, 40).unwrap();
    let root = h.engine.commit();
    let state = h.engine.export_state();
    assert_eq!(state.swaps.len(), 1);
    let mut r = Engine::restore(&h.genesis, state.clone()).unwrap();
    assert_eq!(r.state_root(), root);
    assert_eq!(r.total_supply(), h.engine.total_supply());
    // The root depends on the open swap.
    let mut without = state.clone();
    without.swaps.clear();
    let other = Engine::restore(&h.genesis, without).unwrap();
    assert_ne!(other.state_root(), root);
    // A swap of an unknown owner is refused.
    let mut bad = state;
    bad.swaps[0].owner = Keypair::for_testing("nobody").public();
    assert!(Engine::restore(&h.genesis, bad).is_err());
    // The restored engine settles the swap like the original.
    r.begin_block(11);
    let tx = h.tx(
        1,
        Payload::SwapClaim(SwapClaim {
            swap_id: id,
            preimage: Preimage([9; 32]),
        }),
    );
    assert_eq!(r.apply(&tx, tx.hash()), Ok(()));
    h.engine.begin_block(11);
    assert_eq!(h.engine.apply(&tx, tx.hash()), Ok(()));
    assert_eq!(r.commit(), h.engine.commit());
}
