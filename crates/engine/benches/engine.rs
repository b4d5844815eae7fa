//! Matching-engine throughput on a fixed seeded stream of 1,000,000 operations:
//! ~60% limit orders near the mid, ~30% cancels, ~10% marketable orders, from 1,000
//! accounts on two markets, with the state root committed once per 10,000 operations.
//! Each transaction's events are read (fills counted) and cleared right after it, as the
//! node's block execution drains them into the transaction's receipt, so the event
//! buffer stays in cache instead of growing to megabytes between commits.
//!
//! `cargo bench -p ledger-engine` runs it; the last lines are `ops_per_sec=N` (the
//! median of the runs, wall clock) and `cpu_ops_per_sec=N` (the median of the runs,
//! per second of the thread's own CPU time, from `/proc/thread-self/schedstat`: what one
//! core does when the machine is shared and the thread waits for a core part of the
//! time; absent where that file is not). Set `ENGINE_BENCH_OPS` / `ENGINE_BENCH_RUNS`
//! to change the size.
//!
//! `ENGINE_BENCH_BATCH_PCT` (default 10) makes that share of the transactions
//! market-maker batches: cancel up to two of the account's open orders and place two
//! new quotes, in one transaction. An operation is one order action (a place or a
//! cancel, alone or inside a batch), so `ops_per_sec` stays comparable with 0.

use ledger_engine::Engine;
use ledger_types::{
    Batch, BatchAction, CancelOrder, Decimal, Genesis, Keypair, MarketId, OrderKind, OrderRef,
    Payload, PlaceOrder, PublicKey, SelfTradePrevention, Side, TimeInForce, Tx, TxHash,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

const ACCOUNTS: usize = 1_000;
const COMMIT_EVERY: usize = 10_000;

fn genesis(keys: &[PublicKey]) -> Genesis {
    let mut g = Genesis::for_testing(keys, &[Keypair::for_testing("v").public()]);
    for b in &mut g.balances {
        b.amount = Decimal::from(match b.asset.as_str() {
            "USD" => 1_000_000_000u64,
            _ => 1_000_000,
        });
    }
    g.limits.max_open_orders_per_account = 100_000;
    g
}

/// The stream is generated against a shadow engine so that every cancel names an order
/// that is open at that moment (as a market maker's cancel would).
fn stream(
    n: usize,
    keys: &[PublicKey],
    g: &Genesis,
    seed: u64,
    batch_pct: u32,
) -> Vec<(Tx, TxHash)> {
    let mut shadow = Engine::from_genesis(g).unwrap();
    let engine = shadow.clone();
    let markets = engine.markets().to_vec();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut nonces = vec![0u64; keys.len()];
    let mut out = Vec::with_capacity(n);
    let mid = 10_000u64;
    let mut actions = 0usize;
    while actions < n {
        let who = rng.gen_range(0..keys.len());
        if rng.gen_range(0..100) < batch_pct {
            // A quote refresh: cancel up to two open orders, place a bid and an ask.
            let m = rng.gen_range(0..markets.len());
            let cfg = &markets[m];
            let mut acts: Vec<BatchAction> = shadow
                .open_orders(&keys[who])
                .iter()
                .take(2)
                .map(|o| {
                    BatchAction::CancelOrder(CancelOrder {
                        order: OrderRef::OrderId(o.id),
                    })
                })
                .collect();
            for side in [Side::Buy, Side::Sell] {
                let off = rng.gen_range(1..50u64);
                let ticks = match side {
                    Side::Buy => mid - off,
                    Side::Sell => mid + off,
                };
                acts.push(BatchAction::PlaceOrder(PlaceOrder {
                    market: MarketId(m as u32),
                    side,
                    kind: OrderKind::Limit,
                    price: Some(cfg.ticks_to_price(ticks)),
                    quantity: cfg.lots_to_quantity(rng.gen_range(10..200u64)),
                    time_in_force: TimeInForce::Gtc,
                    client_order_id: None,
                    self_trade: SelfTradePrevention::ExpireMaker,
                    good_till_height: None,
                }));
            }
            actions += acts.len();
            let tx = Tx::new(
                g.chain_id.clone(),
                keys[who],
                nonces[who],
                Payload::Batch(Batch { actions: acts }),
            );
            nonces[who] += 1;
            let hash = tx.hash();
            let _ = shadow.apply(&tx, hash);
            shadow.clear_events();
            out.push((tx, hash));
            continue;
        }
        actions += 1;
        let roll = rng.gen_range(0..100);
        let m = rng.gen_range(0..markets.len());
        let cfg = &markets[m];
        let open = if roll < 30 {
            shadow.open_orders(&keys[who])
        } else {
            Vec::new()
        };
        let payload = if !open.is_empty() {
            let id = open[rng.gen_range(0..open.len())].id;
            Payload::CancelOrder(CancelOrder {
                order: OrderRef::OrderId(id),
            })
        } else {
            let side = if rng.gen_bool(0.5) {
                Side::Buy
            } else {
                Side::Sell
            };
            let marketable = roll >= 90;
            // Marketable orders sweep several resting orders, so the book settles into
            // a steady state instead of growing for the whole run.
            let lots = if marketable {
                rng.gen_range(100..600u64)
            } else {
                rng.gen_range(10..200u64)
            };
            let (kind, price, tif) = if marketable {
                (OrderKind::Market, None, TimeInForce::Ioc)
            } else {
                let off = rng.gen_range(1..50u64);
                let ticks = match side {
                    Side::Buy => mid - off,
                    Side::Sell => mid + off,
                };
                (
                    OrderKind::Limit,
                    Some(cfg.ticks_to_price(ticks)),
                    TimeInForce::Gtc,
                )
            };
            Payload::PlaceOrder(PlaceOrder {
                market: MarketId(m as u32),
                side,
                kind,
                price,
                quantity: cfg.lots_to_quantity(lots),
                time_in_force: tif,
                client_order_id: None,
                self_trade: SelfTradePrevention::ExpireMaker,
                good_till_height: None,
            })
        };
        let tx = Tx {
            chain_id: g.chain_id.clone(),
            sender: keys[who],
            nonce: nonces[who],
            payload,
            valid_until_height: None,
        };
        nonces[who] += 1;
        let hash = tx.hash();
        let _ = shadow.apply(&tx, hash);
        shadow.clear_events();
        out.push((tx, hash));
    }
    out
}

/// Nanoseconds this thread has run on a CPU and waited for one, if the kernel says.
fn thread_times() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut it = s.split_whitespace().map(|v| v.parse::<u64>().ok());
    Some((it.next()??, it.next()??))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::var("ENGINE_BENCH_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = std::env::var("ENGINE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let batch_pct: u32 = std::env::var("ENGINE_BENCH_BATCH_PCT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let keys: Vec<PublicKey> = (0..ACCOUNTS)
        .map(|i| Keypair::for_testing(&format!("bench{i}")).public())
        .collect();
    let g = genesis(&keys);
    let ops = stream(n, &keys, &g, 42, batch_pct);
    let (mut limits, mut cancels, mut markets, mut batches) = (0usize, 0usize, 0usize, 0usize);
    for (tx, _) in &ops {
        match &tx.payload {
            Payload::PlaceOrder(p) if p.kind == OrderKind::Limit => limits += 1,
            Payload::PlaceOrder(_) => markets += 1,
            Payload::Batch(b) => {
                batches += 1;
                for a in &b.actions {
                    match a {
                        BatchAction::PlaceOrder(_) => limits += 1,
                        _ => cancels += 1,
                    }
                }
            }
            _ => cancels += 1,
        }
    }
    let n = limits + cancels + markets;
    println!(
        "stream: {n} ops in {} txs ({batches} batches, {batch_pct}% of txs) from {ACCOUNTS} accounts on 2 markets: {:.1}% limit, {:.1}% cancel, {:.1}% market; root committed every {COMMIT_EVERY} txs",
        ops.len(),
        100.0 * limits as f64 / n as f64,
        100.0 * cancels as f64 / n as f64,
        100.0 * markets as f64 / n as f64
    );
    let (mut rates, mut cpu_rates) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let mut engine = Engine::from_genesis(&g).unwrap();
        let (mut ok, mut rejected, mut fills) = (0u64, 0u64, 0u64);
        let times_before = thread_times();
        let start = Instant::now();
        for (i, (tx, hash)) in ops.iter().enumerate() {
            match engine.apply(tx, *hash) {
                Ok(()) => ok += 1,
                Err(_) => rejected += 1,
            }
            for e in engine.events() {
                fills += matches!(e, ledger_engine::Event::Fill(_)) as u64;
            }
            engine.clear_events();
            if (i + 1) % COMMIT_EVERY == 0 {
                engine.commit();
            }
        }
        let root = engine.commit();
        let secs = start.elapsed().as_secs_f64();
        let rate = n as f64 / secs;
        let cpu = match (times_before, thread_times()) {
            (Some((run0, wait0)), Some((run1, wait1))) => {
                let (cpu_secs, wait_secs) =
                    ((run1 - run0) as f64 / 1e9, (wait1 - wait0) as f64 / 1e9);
                cpu_rates.push(n as f64 / cpu_secs);
                format!(
                    "; on CPU {cpu_secs:.3}s = {:.0} ops/s, waited for a core {wait_secs:.3}s",
                    n as f64 / cpu_secs
                )
            }
            _ => String::new(),
        };
        println!(
            "run {run}: {n} ops in {secs:.3}s = {rate:.0} ops/s{cpu} (accepted {ok}, rejected {rejected}, fills {fills}, resting {}, root {})",
            engine.order_count(),
            &root.to_hex()[..16]
        );
        rates.push(rate);
    }
    println!("ops_per_sec={:.0}", median(&mut rates));
    if !cpu_rates.is_empty() {
        println!("cpu_ops_per_sec={:.0}", median(&mut cpu_rates));
    }
}
