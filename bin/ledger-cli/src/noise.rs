//! `noise`: noise traders for one network. Each market's "fair" price follows its own
//! random walk (a geometric walk: each step multiplies it by `exp(sigma * z)`, `z`
//! standard normal), pulled a little towards the market's book mid (`--anchor`) so that
//! trades by others (an arbitrage bot) move it. A few test accounts take turns quoting
//! GTC limit orders a few ticks around the walk on random sides, now and then cross the
//! book with a small IOC order so that trades print, and cancel their orders regularly so
//! that the book follows the walk. Two networks with different `--seed`s drift apart.

use crate::error::{CliError, CliResult, RpcResultExt};
use crate::output::{details, print_json_line};
use crate::Ctx;
use clap::Args;
use ledger_rpc::{ApiError, LedgerApiClient, LedgerClient, MarketRef, MarketView, Order, Wallet};
use ledger_types::{Decimal, Keypair, MarketId, Side};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Options of `ledger-cli noise`.
#[derive(Args, Debug, Clone)]
pub struct NoiseArgs {
    /// Test accounts that trade: `account-FROM` .. `account-TO` (exclusive), as
    /// `FROM..TO`.
    #[arg(long, default_value = "100..108", value_name = "FROM..TO")]
    pub accounts: String,
    /// Markets traded (comma-separated) [default: every market of the node].
    #[arg(long, value_delimiter = ',')]
    pub markets: Vec<String>,
    /// Starting price per market, MARKET=PRICE (repeatable) [default: the book's mid, or
    /// 100 BTC/USD, 50 ETH/USD, 0.5 ETH/BTC, else 100].
    #[arg(long = "start", value_name = "MARKET=PRICE")]
    pub start: Vec<String>,
    /// Orders per second, over all accounts and markets.
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Standard deviation of one step of a market's log price (0.0005 = 5 basis points).
    #[arg(long, default_value_t = 0.0005)]
    pub volatility: f64,
    /// Pull towards the book mid per step (0: a pure random walk).
    #[arg(long, default_value_t = 0.05)]
    pub anchor: f64,
    /// Share of orders that cross the book (small IOC orders).
    #[arg(long, default_value_t = 0.15)]
    pub cross: f64,
    /// Quotes are placed 1 to this many ticks-per-level times 5 levels from the walk.
    #[arg(long, default_value_t = 4)]
    pub spread_ticks: u64,
    /// Order size: quotes are 2% to 100% of this many units of the base asset (crossing
    /// orders a third of that), rounded to the lot, at least the minimum size.
    #[arg(long, default_value_t = 1.0)]
    pub size: f64,
    /// Each account cancels all its orders after this many orders.
    #[arg(long, default_value_t = 12)]
    pub cancel_every: u32,
    /// Seed of the random walk (use a different one per network).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Stop after this many seconds [default: run until Ctrl-C].
    #[arg(long)]
    pub duration: Option<f64>,
}

struct MarketWalk {
    view: MarketView,
    /// Natural log of the walk's price.
    log_price: f64,
    /// Book mid when last read.
    book_mid: Option<f64>,
    read_at: Option<Instant>,
}

#[derive(Default, Serialize)]
struct Stats {
    submitted: u64,
    refused: BTreeMap<String, u64>,
    crossing: u64,
    cancel_alls: u64,
    prices: BTreeMap<String, String>,
}

fn standard_normal(rng: &mut StdRng) -> f64 {
    // Box-Muller.
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn parse_range(s: &str) -> CliResult<std::ops::Range<u32>> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| CliError::usage(format!("--accounts {s:?}: expected FROM..TO")))?;
    let (a, b): (u32, u32) = (
        a.trim()
            .parse()
            .map_err(|_| CliError::usage("--accounts: FROM is not a number"))?,
        b.trim()
            .parse()
            .map_err(|_| CliError::usage("--accounts: TO is not a number"))?,
    );
    if a >= b {
        return Err(CliError::usage("--accounts: FROM must be below TO"));
    }
    Ok(a..b)
}

/// `price` rounded to the market's tick (at least one tick).
fn on_tick(price: f64, tick: Decimal) -> Decimal {
    let ticks = (price / tick.to_f64().unwrap_or(0.01)).round().max(1.0);
    Decimal::from_f64(ticks).unwrap_or(Decimal::ONE) * tick
}

/// A quantity of `scale * U(0.02, 1)` base units, rounded to the lot, at least the
/// market's minimum size.
fn quantity(rng: &mut StdRng, m: &MarketView, scale: f64) -> Decimal {
    let min_lots = (m.min_size / m.lot_size)
        .ceil()
        .to_u64()
        .unwrap_or(1)
        .max(1);
    let lot = m.lot_size.to_f64().unwrap_or(1.0).max(f64::MIN_POSITIVE);
    let want = scale.max(0.0) * rng.gen_range(0.02..1.0);
    let lots = ((want / lot).round() as u64).max(min_lots);
    m.lot_size * Decimal::from(lots)
}

fn default_start(symbol: &str) -> f64 {
    match symbol {
        "BTC/USD" => 100.0,
        "ETH/USD" => 50.0,
        "ETH/BTC" => 0.5,
        _ => 100.0,
    }
}

async fn book_mid(client: &LedgerClient, m: &MarketView) -> Option<f64> {
    let b = client
        .get_order_book(MarketRef::Id(MarketId(m.id)), Some(1))
        .await
        .ok()?;
    let bid = b.bids.first()?.price.to_f64()?;
    let ask = b.asks.first()?.price.to_f64()?;
    Some((bid + ask) / 2.0)
}

/// `noise`.
pub async fn run(ctx: &Ctx, a: NoiseArgs) -> CliResult<()> {
    if !(a.rate.is_finite() && a.rate > 0.0) {
        return Err(CliError::usage("--rate must be positive"));
    }
    let range = parse_range(&a.accounts)?;
    let client = ctx.client().await?;
    let url = ctx.url().to_string();
    let all = client.get_markets().await.at(&url)?;
    let chosen: Vec<MarketView> = if a.markets.is_empty() {
        all.clone()
    } else {
        a.markets
            .iter()
            .map(|n| crate::commands::find_market(&all, n).cloned())
            .collect::<CliResult<_>>()?
    };
    let mut starts = BTreeMap::new();
    for s in &a.start {
        let (m, p) = s
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("--start {s:?}: expected MARKET=PRICE")))?;
        let market = crate::commands::find_market(&all, m)?;
        let p: f64 = p
            .trim()
            .parse()
            .ok()
            .filter(|p: &f64| *p > 0.0)
            .ok_or_else(|| CliError::usage(format!("--start {s:?}: bad price")))?;
        starts.insert(market.id, p);
    }
    let mut walks = Vec::new();
    for m in chosen {
        let mid = book_mid(&client, &m).await;
        let start = starts
            .get(&m.id)
            .copied()
            .or(mid)
            .unwrap_or_else(|| default_start(&m.symbol));
        walks.push(MarketWalk {
            view: m,
            log_price: start.ln(),
            book_mid: mid,
            read_at: None,
        });
    }
    let mut wallets = Vec::new();
    for i in range {
        let key = Keypair::for_testing(&format!("account-{i}"));
        wallets.push((Wallet::from_node(&client, key).await.at(&url)?, 0u32));
    }
    let mut rng = StdRng::seed_from_u64(a.seed);
    let mut stats = Stats::default();
    let period = Duration::from_secs_f64(1.0 / a.rate);
    let started = Instant::now();
    let mut next = Instant::now();
    let mut report = Instant::now();
    let mut turn = 0usize;
    loop {
        if a.duration
            .is_some_and(|d| started.elapsed().as_secs_f64() >= d)
        {
            break;
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tokio::time::sleep_until(next.into()) => {}
        }
        next += period;
        if next < Instant::now() {
            next = Instant::now();
        }
        let wi = turn % walks.len();
        let ai = (turn / walks.len()) % wallets.len();
        turn += 1;
        let w = &mut walks[wi];
        if w.read_at
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            w.book_mid = book_mid(&client, &w.view).await.or(w.book_mid);
            w.read_at = Some(Instant::now());
        }
        let pull = w
            .book_mid
            .map_or(0.0, |mid| a.anchor * (mid.ln() - w.log_price));
        w.log_price += a.volatility * standard_normal(&mut rng) + pull;
        let fair = w.log_price.exp();
        let tick = w.view.tick_size;
        let tick_f = tick.to_f64().unwrap_or(0.01);
        let m = MarketId(w.view.id);
        let (wallet, count) = &mut wallets[ai];
        let side = if rng.gen_bool(0.5) {
            Side::Buy
        } else {
            Side::Sell
        };
        let crossing = rng.gen_bool(a.cross.clamp(0.0, 1.0));
        let order = if crossing {
            stats.crossing += 1;
            // Cross through the first levels of the book around the walk.
            let off = tick_f * (a.spread_ticks as f64 * 3.0);
            let price = match side {
                Side::Buy => on_tick(fair + off, tick),
                Side::Sell => on_tick((fair - off).max(tick_f), tick),
            };
            Order::limit(m, side, price, quantity(&mut rng, &w.view, a.size / 3.0)).ioc()
        } else {
            let level = rng.gen_range(1..=5u64) as f64;
            let off = tick_f * rng.gen_range(1..=a.spread_ticks.max(1)) as f64 * level;
            let price = match side {
                Side::Buy => on_tick((fair - off).max(tick_f), tick),
                Side::Sell => on_tick(fair + off, tick),
            };
            Order::limit(m, side, price, quantity(&mut rng, &w.view, a.size))
        };
        let tx = wallet.place(order);
        match client.submit_order(tx.into()).await {
            Ok(_) => stats.submitted += 1,
            Err(e) => {
                let reason = ApiError::from_client_error(&e)
                    .and_then(|x| x.reason().map(str::to_string))
                    .unwrap_or_else(|| "transport".into());
                *stats.refused.entry(reason).or_default() += 1;
                let _ = wallet.resync(&client).await;
            }
        }
        *count += 1;
        if *count >= a.cancel_every {
            *count = 0;
            let tx = wallet.cancel_all(None);
            if client.cancel_order(tx.into()).await.is_ok() {
                stats.cancel_alls += 1;
            } else {
                let _ = wallet.resync(&client).await;
            }
        }
        if report.elapsed() >= Duration::from_secs(10) {
            report = Instant::now();
            for w in &walks {
                stats
                    .prices
                    .insert(w.view.symbol.clone(), format!("{:.6}", w.log_price.exp()));
            }
            if ctx.json {
                print_json_line(&stats);
            } else {
                eprintln!("noise: {} orders, walk {:?}", stats.submitted, stats.prices);
            }
        }
    }
    for w in &walks {
        stats
            .prices
            .insert(w.view.symbol.clone(), format!("{:.6}", w.log_price.exp()));
    }
    if ctx.json {
        print_json_line(&stats);
    } else {
        println!(
            "{}",
            details(&[
                ("orders", stats.submitted.to_string()),
                ("crossing", stats.crossing.to_string()),
                ("cancel_all", stats.cancel_alls.to_string()),
                ("refused", format!("{:?}", stats.refused)),
                ("final walk", format!("{:?}", stats.prices)),
            ])
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_helpers() {
        assert_eq!(parse_range("3..7").unwrap(), 3..7);
        assert!(parse_range("7..3").is_err());
        assert!(parse_range("x").is_err());
        assert_eq!(on_tick(100.004, Decimal::new(1, 2)), Decimal::new(10000, 2));
        assert_eq!(on_tick(0.0, Decimal::new(1, 2)), Decimal::new(1, 2));
        let mut rng = StdRng::seed_from_u64(7);
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(
            mean.abs() < 0.05 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
    }
}
