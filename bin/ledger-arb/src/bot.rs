//! The bot's loop: book snapshots in, opportunities priced on every snapshot, gaps
//! tracked, executions sent (a bundle within one venue; two simultaneous IOC orders
//! across venues), limits enforced, inventory rebalanced with swaps, figures printed.

use crate::detect::{
    ceil_lot, cross, floor_lot, CrossCaps, Kind, Leg, Opportunity, Triangle, VenueBook,
};
use crate::runlog::{now_ms, Record, RunLog};
use crate::stats::{Stats, Summary};
use crate::swaps::{Journal, SwapManager};
use crate::venue::{Feed, Venue};
use anyhow::Result;
use ledger_rpc::swap_protocol::{recent_swaps, InitiatorStep, SwapTimeouts};
use ledger_rpc::{
    ApiError, AtomicApiClient, BundleBuilder, EventView, LedgerApiClient, Order, SwapState,
    TxStatus,
};
use ledger_types::{Address, Bundle, Decimal, Hash, Keypair, MarketId, Side};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What the bot is told to do.
#[derive(Clone, Debug)]
pub struct Config {
    /// Venues: name and endpoint.
    pub venues: Vec<(String, String)>,
    /// The bot's key (the same account on every venue).
    pub key: Keypair,
    /// The swap desk to rebalance with (no rebalancing without one).
    pub desk: Option<Address>,
    /// Markets watched (every market when empty).
    pub markets: Vec<String>,
    /// Least expected profit to act on, basis points of the notional.
    pub min_profit_bps: f64,
    /// Largest notional per execution, per quote asset.
    pub max_notional: BTreeMap<String, Decimal>,
    /// Largest drift of holdings per venue from the start, per asset.
    pub max_inventory: BTreeMap<String, Decimal>,
    /// Drift that starts a rebalancing swap, per asset.
    pub rebalance_at: BTreeMap<String, Decimal>,
    /// Swaps to start at once: asset, amount (from the first venue to the second).
    pub rebalance_now: Vec<(String, Decimal)>,
    /// Stop taking opportunities once the holdings lost this much value.
    pub max_loss: Option<Decimal>,
    /// Price and report, send nothing.
    pub dry_run: bool,
    /// JSON lines on stdout.
    pub json: bool,
    /// Run this long (seconds), else until Ctrl-C.
    pub duration: Option<f64>,
    /// After trading stops, keep driving open swaps this long (seconds).
    pub drain: f64,
    /// Journal and run log.
    pub state_dir: PathBuf,
    /// Seconds between live reports.
    pub stats_every: f64,
    /// Swap time budget.
    pub timeouts: SwapTimeouts,
    /// How far past a failed cross leg's limit its hedge order may trade, in basis points.
    pub hedge_slippage_bps: Decimal,
}

/// The result of one execution.
#[derive(Debug)]
struct ExecResult {
    key: String,
    venues: Vec<usize>,
    ok: bool,
    legs: Vec<Leg>,
    fills: Vec<(String, Option<String>, f64)>,
    failures: Vec<String>,
    /// Per (venue, market) traded, the height at which our transaction became final:
    /// snapshots of that book older than that do not show our trade yet.
    heights: Vec<(usize, String, u64)>,
    /// A cross execution whose legs filled unequal quantities sent a hedge order (the
    /// last of `legs`): how it ended (`filled`, `partial`, `unfilled` or a refusal).
    hedge: Option<String>,
}

enum SwapReq {
    Start {
        from: usize,
        to: usize,
        asset: String,
        amount: Decimal,
    },
}

#[derive(Default)]
struct SwapView {
    escrow: BTreeMap<(usize, String), Decimal>,
    busy: BTreeSet<String>,
    active: usize,
    /// Swaps asked for whose journal entry is not written yet.
    requested: usize,
}

struct Bot {
    cfg: Config,
    venues: Arc<Vec<Venue>>,
    books: BTreeMap<(usize, String), VenueBook>,
    /// Block height of each book snapshot.
    book_heights: BTreeMap<(usize, String), u64>,
    /// Per (venue, market), the height our last trade there became final at.
    fresh_after: BTreeMap<(usize, String), u64>,
    stats: Stats,
    log: RunLog,
    started: Instant,
    holdings: BTreeMap<(usize, String), Decimal>,
    /// Our amounts in open swaps as the chains showed them with `holdings` (None: not
    /// read; the journal's view is used).
    chain_escrow: Option<BTreeMap<(usize, String), Decimal>>,
    start_holdings: BTreeMap<String, Decimal>,
    start_per_venue: BTreeMap<(usize, String), Decimal>,
    busy: BTreeSet<usize>,
    swaps: Arc<Mutex<SwapView>>,
    swap_tx: Option<mpsc::Sender<SwapReq>>,
    last_sample: BTreeMap<(usize, String), Instant>,
    value_asset: String,
    exec_tx: mpsc::Sender<ExecResult>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn reason_of(e: &jsonrpsee::core::client::Error) -> String {
    ApiError::from_client_error(e)
        .and_then(|a| a.reason().map(str::to_string))
        .unwrap_or_else(|| "transport".into())
}

/// Polls a transaction until it is final or rejected (or 60 s pass).
async fn wait_tx(v: &Venue, hash: Hash) -> Option<ledger_rpc::TxView> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(t) = v.client.get_tx(hash).await {
            if matches!(t.status, TxStatus::Final | TxStatus::Rejected) {
                return Some(t);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Quantity and average price an order filled as taker, from its transaction's events.
fn taker_fills(view: &ledger_rpc::TxView, order: Hash) -> (Decimal, Option<Decimal>) {
    let (mut q, mut quote) = (Decimal::ZERO, Decimal::ZERO);
    for e in &view.events {
        if let EventView::Fill(t) = e {
            if t.taker_order_id == order {
                q += t.quantity;
                quote += t.quote_quantity;
            }
        }
    }
    (q, (q > Decimal::ZERO).then(|| quote / q))
}

/// The limit of a hedge order: `limit` moved `slippage_bps` against us, on the tick.
fn hedge_limit(side: Side, limit: Decimal, tick: Decimal, slippage_bps: Decimal) -> Decimal {
    let band = limit * slippage_bps / Decimal::from(10_000);
    match side {
        Side::Buy => ceil_lot(limit + band, tick),
        Side::Sell => floor_lot(limit - band, tick).max(tick),
    }
}

/// The tick size of a leg's market.
fn tick_of(venues: &[Venue], leg: &Leg) -> Decimal {
    venues[leg.venue]
        .markets
        .iter()
        .find(|m| m.id == leg.market_id)
        .map_or(Decimal::new(1, 8), |m| m.tick_size)
}

async fn execute_cross(
    venues: Arc<Vec<Venue>>,
    o: Opportunity,
    hedge_slippage_bps: Decimal,
) -> ExecResult {
    let send = |leg: Leg| {
        let venues = venues.clone();
        async move {
            let v = &venues[leg.venue];
            let order =
                Order::limit(MarketId(leg.market_id), leg.side, leg.limit, leg.quantity).ioc();
            let t0 = Instant::now();
            let hash = {
                let mut w = v.wallet.lock().await;
                let stx = w.place(order);
                let hash = stx.hash();
                if let Err(e) = v.client.submit_order(stx.into()).await {
                    let _ = w.resync(v.client.as_ref()).await;
                    return (leg, Err(format!("submit_{}", reason_of(&e))), 0.0, 0);
                }
                hash
            };
            let view = wait_tx(v, hash).await;
            let height = view.as_ref().and_then(|v| v.block_height).unwrap_or(0);
            let res = match view {
                None => Err("not_final".to_string()),
                Some(view) if view.status == TxStatus::Rejected => Err(view
                    .error
                    .and_then(|e| e.reason().map(str::to_string))
                    .unwrap_or_else(|| "rejected".into())),
                Some(view) => Ok(taker_fills(&view, hash)),
            };
            (leg, res, t0.elapsed().as_secs_f64() * 1000.0, height)
        }
    };
    let (a, b) = tokio::join!(send(o.legs[0].clone()), send(o.legs[1].clone()));
    let mut out = ExecResult {
        key: o.key.clone(),
        venues: vec![o.legs[0].venue, o.legs[1].venue],
        ok: true,
        legs: o.legs.clone(),
        fills: Vec::new(),
        failures: Vec::new(),
        heights: Vec::new(),
        hedge: None,
    };
    let filled = |r: &Result<(Decimal, Option<Decimal>), String>| match r {
        Ok((q, _)) => *q,
        Err(_) => Decimal::ZERO,
    };
    // One leg filled more than the other: the difference is an open position. Complete
    // the short leg on its venue with one IOC order whose limit is the leg's, moved
    // `hedge_slippage_bps` against us, so the bot ends flat in the base asset.
    let (q_buy, q_sell) = (filled(&a.1), filled(&b.1));
    let hedge_leg = if q_buy != q_sell {
        let short = if q_sell > q_buy {
            &o.legs[0]
        } else {
            &o.legs[1]
        };
        Some(Leg {
            quantity: (q_sell - q_buy).abs(),
            ..short.clone()
        })
    } else {
        None
    };
    // Up to five tries, 400 ms apart (thin books refill), the band widening each time
    // (1x, 2x, then 3x).
    let mut hedge = None;
    if let Some(leg) = hedge_leg {
        let (mut done, mut quote, mut ms_total, mut last_height) =
            (Decimal::ZERO, Decimal::ZERO, 0.0, 0);
        let mut last_err = None;
        let mut last_limit = leg.limit;
        for attempt in 1..=5u32 {
            let try_leg = Leg {
                quantity: leg.quantity - done,
                limit: hedge_limit(
                    leg.side,
                    leg.limit,
                    tick_of(&venues, &leg),
                    hedge_slippage_bps * Decimal::from(attempt.min(3)),
                ),
                ..leg.clone()
            };
            last_limit = try_leg.limit;
            let (_, res, ms, height) = send(try_leg).await;
            ms_total += ms;
            last_height = last_height.max(height);
            match res {
                Ok((q, px)) => {
                    done += q;
                    quote += q * px.unwrap_or_default();
                    last_err = None;
                }
                Err(e) => last_err = Some(e),
            }
            if done >= leg.quantity {
                break;
            }
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
        let res = match last_err {
            Some(e) if done.is_zero() => Err(e),
            _ => Ok((done, (done > Decimal::ZERO).then(|| quote / done))),
        };
        let logged = Leg {
            limit: last_limit,
            ..leg
        };
        hedge = Some((logged, res, ms_total, last_height));
    }
    for (leg, res, ms, height) in [a, b] {
        out.heights.push((leg.venue, leg.market.clone(), height));
        match res {
            Ok((q, px)) => {
                out.fills
                    .push((q.to_string(), px.map(|p| p.round_dp(8).to_string()), ms));
                if q < leg.quantity {
                    out.ok = false;
                    out.failures.push(if q.is_zero() {
                        "ioc_unfilled".into()
                    } else {
                        "ioc_partial".into()
                    });
                }
            }
            Err(reason) => {
                out.ok = false;
                out.fills.push(("0".into(), None, ms));
                out.failures.push(reason);
            }
        }
    }
    if let Some((leg, res, ms, height)) = hedge {
        out.heights.push((leg.venue, leg.market.clone(), height));
        let (q, px) = res.clone().unwrap_or((Decimal::ZERO, None));
        out.fills
            .push((q.to_string(), px.map(|p| p.round_dp(8).to_string()), ms));
        out.hedge = Some(match res {
            Ok((q, _)) if q == leg.quantity => "filled".into(),
            Ok((q, _)) if q > Decimal::ZERO => "partial".into(),
            Ok(_) => "unfilled".into(),
            Err(reason) => reason,
        });
        out.legs.push(leg);
    }
    out
}

async fn execute_bundle(
    venues: Arc<Vec<Venue>>,
    o: Opportunity,
    min_profit: Decimal,
) -> ExecResult {
    let v = &venues[o.legs[0].venue];
    let mut b = BundleBuilder::new();
    for l in &o.legs {
        b = b.ioc(MarketId(l.market_id), l.side, l.limit, l.quantity);
    }
    // Net bounds: the profit asset must gain; the other two must not shrink.
    let mut assets = BTreeSet::new();
    for l in &o.legs {
        if let Some(m) = v.markets.iter().find(|m| m.id == l.market_id) {
            assets.insert(m.base.clone());
            assets.insert(m.quote.clone());
        }
    }
    for a in &assets {
        let Some(id) = v.assets.get(a) else { continue };
        let min = if *a == o.profit_asset {
            let dp = v.decimals.get(a).copied().unwrap_or(2);
            min_profit.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::ToZero)
        } else {
            Decimal::ZERO
        };
        b = b.min_net(*id, min);
    }
    let bundle = b.build();
    let legs = bundle.legs.len();
    let mut out = ExecResult {
        key: o.key.clone(),
        venues: vec![o.legs[0].venue],
        ok: false,
        legs: o.legs.clone(),
        fills: Vec::new(),
        failures: Vec::new(),
        heights: Vec::new(),
        hedge: None,
    };
    let t0 = Instant::now();
    let hash = {
        let mut w = v.wallet.lock().await;
        let stx = w.bundle(bundle);
        let hash = stx.hash();
        if let Err(e) = v.client.submit_bundle(stx.into()).await {
            let _ = w.resync(v.client.as_ref()).await;
            out.failures.push(format!("submit_{}", reason_of(&e)));
            return out;
        }
        hash
    };
    match wait_tx(v, hash).await {
        None => out.failures.push("not_final".into()),
        Some(view) => {
            let ms = t0.elapsed().as_secs_f64() * 1000.0;
            for l in &o.legs {
                out.heights
                    .push((l.venue, l.market.clone(), view.block_height.unwrap_or(0)));
            }
            for i in 0..legs {
                let (q, px) = taker_fills(&view, Bundle::leg_order_id(&hash, i));
                out.fills
                    .push((q.to_string(), px.map(|p| p.round_dp(8).to_string()), ms));
            }
            if view.status == TxStatus::Final {
                out.ok = true;
            } else {
                let reason = view
                    .error
                    .and_then(|e| e.data)
                    .map(|d| match d.details.get("cause") {
                        Some(c) => format!("{}:{c}", d.reason),
                        None => d.reason,
                    })
                    .unwrap_or_else(|| "rejected".into());
                out.failures.push(reason);
            }
        }
    }
    out
}

impl Bot {
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    async fn refresh_holdings(&mut self) {
        let addr = self.cfg.key.public();
        for (i, v) in self.venues.iter().enumerate() {
            if let Ok(acct) = v.client.get_account(addr).await {
                for b in acct.balances {
                    self.holdings.insert((i, b.asset), b.total);
                }
            }
        }
        if self.swap_tx.is_some() {
            self.chain_escrow = self.read_escrow().await;
        }
    }

    /// Our amounts in open hashlock swaps, read from the chains together with the
    /// balances (the journal's step lags the chains by up to one pass): every open lock
    /// we own counts as ours, except one whose counter lock we already claimed (the
    /// desk's to take; what we received is in our balance already).
    async fn read_escrow(&self) -> Option<BTreeMap<(usize, String), Decimal>> {
        let me = self.cfg.key.public();
        let mut all = Vec::new();
        for (i, v) in self.venues.iter().enumerate() {
            let swaps = recent_swaps(v.client.as_ref(), me, 200).await.ok()?;
            all.extend(swaps.into_iter().map(|s| (i, s)));
        }
        let mut out = BTreeMap::new();
        for (i, s) in &all {
            let t = &s.terms;
            if t.owner != me || s.status != SwapState::Open {
                continue;
            }
            let claimed_counter = all.iter().any(|(_, c)| {
                c.terms.hashlock == t.hashlock
                    && c.terms.counterparty == me
                    && c.status == SwapState::Claimed
            });
            if !claimed_counter {
                *out.entry((*i, t.asset.clone())).or_default() += t.amount;
            }
        }
        Some(out)
    }

    /// Holdings per (venue, asset) with our escrowed swap amounts added back.
    fn effective(&self) -> BTreeMap<(usize, String), Decimal> {
        let mut h = self.holdings.clone();
        let journal;
        let escrow = match &self.chain_escrow {
            Some(e) => e,
            None => {
                journal = lock(&self.swaps).escrow.clone();
                &journal
            }
        };
        for (k, amt) in escrow {
            *h.entry(k.clone()).or_default() += *amt;
        }
        h
    }

    fn per_asset(h: &BTreeMap<(usize, String), Decimal>) -> BTreeMap<String, Decimal> {
        let mut out: BTreeMap<String, Decimal> = BTreeMap::new();
        for ((_, a), v) in h {
            *out.entry(a.clone()).or_default() += *v;
        }
        out
    }

    /// Price of one unit of `asset` in the valuation asset: the average mid over venues.
    fn price(&self, asset: &str) -> Option<Decimal> {
        if asset == self.value_asset {
            return Some(Decimal::ONE);
        }
        let direct: Vec<Decimal> = self
            .books
            .values()
            .filter(|b| b.market.base == asset && b.market.quote == self.value_asset)
            .filter_map(|b| b.mid())
            .collect();
        if !direct.is_empty() {
            return Some(direct.iter().sum::<Decimal>() / Decimal::from(direct.len()));
        }
        None
    }

    fn pnl(&self) -> (BTreeMap<String, Decimal>, Decimal) {
        let now = Self::per_asset(&self.effective());
        let mut per = BTreeMap::new();
        let mut value = Decimal::ZERO;
        for (a, v) in &now {
            let d = *v - self.start_holdings.get(a).copied().unwrap_or_default();
            if let Some(p) = self.price(a) {
                value += d * p;
            }
            per.insert(a.clone(), d);
        }
        (per, value)
    }

    fn drift(&self, venue: usize, asset: &str) -> Decimal {
        let key = (venue, asset.to_string());
        self.effective().get(&key).copied().unwrap_or_default()
            - self.start_per_venue.get(&key).copied().unwrap_or_default()
    }

    fn summary(&self) -> Summary {
        let mut s = self.stats.summary(self.started.elapsed().as_secs_f64());
        let (per, value) = self.pnl();
        s.profit_per_asset = per
            .iter()
            .map(|(a, d)| (a.clone(), d.normalize().to_string()))
            .collect();
        s.profit_value = value.round_dp(6).normalize().to_string();
        s.value_asset = self.value_asset.clone();
        s.dry_run = self.cfg.dry_run;
        s.swaps
            .insert("in_flight".into(), lock(&self.swaps).active as u64);
        s
    }

    fn print_live(&self) {
        let s = self.summary();
        if self.cfg.json {
            if let Ok(line) = serde_json::to_string(&serde_json::json!({"live": s})) {
                println!("{line}");
            }
        } else {
            println!(
                "[{:>5.0}s] seen {} taken {} captured {} missed {} | exec {}/{} ok | leg failures {} | gap close p50 {} ms | pnl {} {} {:?}",
                s.elapsed_s,
                s.opportunities_seen,
                s.opportunities_taken,
                s.opportunities_captured,
                s.missed.values().sum::<u64>(),
                s.executions_ok,
                s.executions,
                s.leg_failures.values().sum::<u64>(),
                s.time_to_close_ms.p50.map_or("-".into(), |v| format!("{v:.0}")),
                s.profit_value,
                s.value_asset,
                s.profit_per_asset,
            );
        }
    }

    fn sample(&mut self, venue: usize, market: &str) {
        let key = (venue, market.to_string());
        if self
            .last_sample
            .get(&key)
            .is_some_and(|t| t.elapsed() < Duration::from_millis(250))
        {
            return;
        }
        self.last_sample.insert(key.clone(), Instant::now());
        if let Some(b) = self.books.get(&key) {
            let r = Record::Book {
                t: now_ms(),
                venue,
                market: market.to_string(),
                bid: b.bids.first().map(|l| l.0.to_string()),
                ask: b.asks.first().map(|l| l.0.to_string()),
            };
            self.log.write(&r);
        }
    }

    fn notional_cap(&self, quote: &str) -> Decimal {
        self.cfg
            .max_notional
            .get(quote)
            .copied()
            .unwrap_or(Decimal::from(1_000))
    }

    /// Every opportunity in the current books (sized by notional caps only).
    fn opportunities(&self) -> Vec<Opportunity> {
        let mut out = Vec::new();
        let n = self.venues.len();
        let by_venue: Vec<Vec<VenueBook>> = (0..n)
            .map(|v| {
                self.books
                    .iter()
                    .filter(|((i, _), _)| *i == v)
                    .map(|(_, b)| b.clone())
                    .collect()
            })
            .collect();
        // Cross-venue.
        for x in 0..n {
            for y in 0..n {
                if x == y {
                    continue;
                }
                for bx in &by_venue[x] {
                    if let Some(by) = by_venue[y]
                        .iter()
                        .find(|b| b.market.symbol == bx.market.symbol)
                    {
                        let caps = CrossCaps {
                            max_base: Decimal::MAX,
                            max_notional: self.notional_cap(&bx.market.quote),
                        };
                        if let Some(o) = cross(bx, by, caps) {
                            out.push(o);
                        }
                    }
                }
            }
        }
        // Triangular.
        for books in &by_venue {
            for t in Triangle::find(books) {
                let cap = self.notional_cap(&t.aq.market.quote);
                for forward in [true, false] {
                    if let Some(o) = t.best(forward, cap) {
                        out.push(o);
                    }
                }
            }
        }
        out
    }

    /// Fits a cross opportunity to inventory limits and balances (or says why not).
    fn fit_cross(&self, o: &Opportunity) -> Result<Opportunity, &'static str> {
        let (buy, sell) = (&o.legs[0], &o.legs[1]);
        let base = self
            .books
            .get(&(buy.venue, buy.market.clone()))
            .map(|b| b.market.base.clone())
            .unwrap_or_default();
        let mut room = o.legs[0].quantity;
        if let Some(max) = self.cfg.max_inventory.get(&base) {
            let up = *max - self.drift(buy.venue, &base);
            let down = *max + self.drift(sell.venue, &base);
            room = room.min(up).min(down);
        }
        let have = self
            .holdings
            .get(&(sell.venue, base.clone()))
            .copied()
            .unwrap_or_default();
        room = room.min(have);
        if room < o.legs[0].quantity {
            let (bx, by) = (
                self.books.get(&(buy.venue, buy.market.clone())),
                self.books.get(&(sell.venue, sell.market.clone())),
            );
            let (Some(bx), Some(by)) = (bx, by) else {
                return Err("inventory_limit");
            };
            let caps = CrossCaps {
                max_base: room.max(Decimal::ZERO),
                max_notional: self.notional_cap(&bx.market.quote),
            };
            return match cross(bx, by, caps) {
                Some(f) if f.bps() >= self.cfg.min_profit_bps => Ok(f),
                _ => Err("inventory_limit"),
            };
        }
        Ok(o.clone())
    }

    fn evaluate(&mut self) {
        let now = self.now_ms();
        let mut opps = self.opportunities();
        opps.retain(|o| o.bps() >= self.cfg.min_profit_bps);
        opps.sort_by_key(|o| std::cmp::Reverse(o.profit));
        let above: BTreeMap<String, f64> = opps.iter().map(|o| (o.key.clone(), o.bps())).collect();
        let opened: Vec<String> = above
            .keys()
            .filter(|k| !self.stats.is_open(k))
            .cloned()
            .collect();
        for g in self.stats.observe(now, &above) {
            self.log.write(&Record::Gap(g));
        }
        let (_, value) = self.pnl();
        let loss_hit = self.cfg.max_loss.is_some_and(|m| value < -m);
        for o in opps {
            let action: Result<Opportunity, &str> = if self.cfg.dry_run {
                Err("dry_run")
            } else if loss_hit {
                Err("loss_limit")
            } else if o.legs.iter().any(|l| self.busy.contains(&l.venue)) {
                Err("busy")
            } else if o.legs.iter().any(|l| {
                let key = (l.venue, l.market.clone());
                self.book_heights.get(&key).copied().unwrap_or(0)
                    < self.fresh_after.get(&key).copied().unwrap_or(0)
            }) {
                // The books do not show our last trades yet.
                Err("stale_book")
            } else if o.kind == Kind::Cross {
                self.fit_cross(&o)
            } else {
                Ok(o.clone())
            };
            let first = opened.contains(&o.key);
            match action {
                Err(reason) => {
                    self.stats.missed(&o.key, reason);
                    if first {
                        self.log.write(&Record::Opportunity {
                            t: now_ms(),
                            key: o.key.clone(),
                            bps: o.bps(),
                            profit: o.profit.round_dp(8).to_string(),
                            asset: o.profit_asset.clone(),
                            action: reason.into(),
                        });
                    }
                }
                Ok(fit) => {
                    self.stats.taken(&o.key);
                    self.log.write(&Record::Opportunity {
                        t: now_ms(),
                        key: o.key.clone(),
                        bps: fit.bps(),
                        profit: fit.profit.round_dp(8).to_string(),
                        asset: fit.profit_asset.clone(),
                        action: "taken".into(),
                    });
                    for l in &fit.legs {
                        self.busy.insert(l.venue);
                    }
                    let (venues, tx) = (self.venues.clone(), self.exec_tx.clone());
                    let min_profit = fit.profit * Decimal::new(3, 1);
                    let hedge_bps = self.cfg.hedge_slippage_bps;
                    tokio::spawn(async move {
                        let r = match fit.kind {
                            Kind::Cross => execute_cross(venues, fit, hedge_bps).await,
                            Kind::Triangle => execute_bundle(venues, fit, min_profit).await,
                        };
                        let _ = tx.send(r).await;
                    });
                }
            }
        }
    }

    fn on_exec(&mut self, r: ExecResult) {
        for v in &r.venues {
            self.busy.remove(v);
        }
        for (v, m, h) in &r.heights {
            let e = self.fresh_after.entry((*v, m.clone())).or_default();
            *e = (*e).max(*h);
        }
        for (_, _, ms) in &r.fills {
            if *ms > 0.0 {
                self.stats.latency(*ms);
            }
        }
        self.stats.executed(&r.key, r.ok, &r.failures);
        if let Some(h) = &r.hedge {
            self.stats.hedged(h);
        }
        self.log.write(&Record::Execution {
            t: now_ms(),
            key: r.key,
            ok: r.ok,
            legs: r.legs,
            fills: r.fills,
            failures: r.failures,
            hedge: r.hedge,
        });
    }

    fn on_swap(&mut self, j: Journal) {
        let step = match &j.swap.step {
            InitiatorStep::LockPending => "lock_pending",
            InitiatorStep::AwaitingCounterLock => "awaiting_counter_lock",
            InitiatorStep::ClaimPending => "claim_pending",
            InitiatorStep::Swapped { .. } => "swapped",
            InitiatorStep::RefundPending => "refund_pending",
            InitiatorStep::Refunded => "refunded",
            InitiatorStep::Aborted { .. } => "aborted",
        };
        if j.swap.step.is_done() {
            *self.stats.swaps.entry(step.to_string()).or_default() += 1;
        }
        if !self.cfg.json {
            println!(
                "swap {} ({} {} from {} to {}): {step}",
                j.swap.a_swap_id(),
                j.swap.give_amount,
                j.swap.give_asset,
                self.venues[j.from].name,
                self.venues[j.to].name
            );
        }
        self.log.write(&Record::Swap {
            t: now_ms(),
            id: j.swap.a_swap_id().to_hex(),
            asset: j.swap.give_asset.clone(),
            amount: j.swap.give_amount.to_string(),
            from: j.from,
            to: j.to,
            step: step.into(),
        });
    }

    async fn request_swap(&mut self, from: usize, to: usize, asset: String, amount: Decimal) {
        if let Some(tx) = &self.swap_tx {
            {
                let mut v = lock(&self.swaps);
                v.busy.insert(asset.clone());
                v.requested += 1;
            }
            *self.stats.swaps.entry("started".into()).or_default() += 1;
            let _ = tx
                .send(SwapReq::Start {
                    from,
                    to,
                    asset,
                    amount,
                })
                .await;
        }
    }

    /// Starts a swap for every asset whose drift passed its rebalancing threshold.
    async fn rebalance(&mut self) {
        if self.swap_tx.is_none() || self.venues.len() < 2 {
            return;
        }
        let assets: Vec<(String, Decimal)> = self
            .cfg
            .rebalance_at
            .iter()
            .map(|(a, v)| (a.clone(), *v))
            .collect();
        for (asset, at) in assets {
            if lock(&self.swaps).busy.contains(&asset) {
                continue;
            }
            let (d0, d1) = (self.drift(0, &asset), self.drift(1, &asset));
            let (from, to, surplus) = if d0 > at {
                (0, 1, d0)
            } else if d1 > at {
                (1, 0, d1)
            } else {
                continue;
            };
            let dp = self.venues[from].decimals.get(&asset).copied().unwrap_or(8);
            let amount =
                surplus.round_dp_with_strategy(dp.min(8), rust_decimal::RoundingStrategy::ToZero);
            if amount > Decimal::ZERO {
                tracing::info!(%asset, %amount, from, to, "inventory drift: rebalancing");
                self.request_swap(from, to, asset, amount).await;
            }
        }
    }

    fn final_books(&mut self) {
        let t = now_ms();
        let recs: Vec<Record> = self
            .books
            .iter()
            .map(|((v, m), b)| Record::FinalBook {
                t,
                venue: *v,
                market: m.clone(),
                bids: b
                    .bids
                    .iter()
                    .map(|(p, q)| (p.to_string(), q.to_string()))
                    .collect(),
                asks: b
                    .asks
                    .iter()
                    .map(|(p, q)| (p.to_string(), q.to_string()))
                    .collect(),
            })
            .collect();
        for r in &recs {
            self.log.write(r);
        }
    }
}

/// Runs the bot; returns its final figures.
pub async fn run(cfg: Config) -> Result<Summary> {
    let mut venues = Vec::new();
    for (name, url) in &cfg.venues {
        venues.push(Venue::connect(name, url, cfg.key.clone(), &cfg.markets).await?);
    }
    let venues = Arc::new(venues);
    let mut log = RunLog::open(&cfg.state_dir)?;
    let markets: BTreeSet<String> = venues
        .iter()
        .flat_map(|v| v.markets.iter().map(|m| m.symbol.clone()))
        .collect();
    log.write(&Record::Start {
        t: now_ms(),
        venues: venues.iter().map(|v| v.name.clone()).collect(),
        markets: markets.iter().cloned().collect(),
        min_profit_bps: cfg.min_profit_bps,
        dry_run: cfg.dry_run,
    });
    let value_asset = venues[0]
        .markets
        .iter()
        .map(|m| m.quote.clone())
        .find(|q| q == "USD")
        .or_else(|| venues[0].markets.first().map(|m| m.quote.clone()))
        .unwrap_or_else(|| "USD".into());
    let (feed_tx, mut feed_rx) = mpsc::channel(1024);
    for (i, v) in venues.iter().enumerate() {
        v.spawn_feeds(i, feed_tx.clone());
    }
    drop(feed_tx);
    let (exec_tx, mut exec_rx) = mpsc::channel(64);
    let swaps = Arc::new(Mutex::new(SwapView::default()));
    let (swap_ev_tx, mut swap_ev_rx) = mpsc::channel::<Journal>(64);
    let swap_tx = match (cfg.desk, cfg.dry_run) {
        (Some(desk), false) => {
            let mut mgr = SwapManager::load(&cfg.state_dir, desk, cfg.timeouts, &venues)?;
            // Bring the journal up to the chains before the starting holdings are read: a
            // swap left at `claim_pending` whose claim is already final would otherwise
            // count twice (its escrow on one venue, the claimed amount on the other).
            if !mgr.active.is_empty() {
                for j in mgr.advance_all(&venues).await {
                    let _ = swap_ev_tx.try_send(j);
                }
            }
            let (tx, mut rx) = mpsc::channel::<SwapReq>(16);
            let (venues, shared) = (venues.clone(), swaps.clone());
            {
                let mut s = lock(&shared);
                s.escrow = mgr.escrow();
                s.busy = mgr
                    .active
                    .values()
                    .map(|j| j.swap.give_asset.clone())
                    .collect();
                s.active = mgr.active.len();
            }
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        req = rx.recv() => match req {
                            Some(SwapReq::Start { from, to, asset, amount }) => {
                                if let Err(e) = mgr.start(&venues, from, to, &asset, amount).await {
                                    tracing::warn!("cannot start a swap of {amount} {asset}: {e}");
                                }
                                let mut s = lock(&shared);
                                s.requested = s.requested.saturating_sub(1);
                                s.active = mgr.active.len();
                            }
                            None => return,
                        },
                        _ = tokio::time::sleep(Duration::from_millis(400)) => {}
                    }
                    let changed = mgr.advance_all(&venues).await;
                    {
                        let mut s = lock(&shared);
                        s.escrow = mgr.escrow();
                        s.busy = mgr
                            .active
                            .values()
                            .map(|j| j.swap.give_asset.clone())
                            .collect();
                        s.active = mgr.active.len();
                    }
                    for j in changed {
                        if swap_ev_tx.send(j).await.is_err() {
                            return;
                        }
                    }
                }
            });
            Some(tx)
        }
        (Some(_), true) => {
            tracing::warn!("--dry-run: swaps are neither started nor resumed");
            None
        }
        (None, _) => None,
    };
    let mut bot = Bot {
        cfg: cfg.clone(),
        venues: venues.clone(),
        books: BTreeMap::new(),
        book_heights: BTreeMap::new(),
        fresh_after: BTreeMap::new(),
        stats: Stats::default(),
        log,
        started: Instant::now(),
        holdings: BTreeMap::new(),
        chain_escrow: None,
        start_holdings: BTreeMap::new(),
        start_per_venue: BTreeMap::new(),
        busy: BTreeSet::new(),
        swaps,
        swap_tx,
        last_sample: BTreeMap::new(),
        value_asset,
        exec_tx,
    };
    bot.refresh_holdings().await;
    bot.start_per_venue = bot.effective();
    bot.start_holdings = Bot::per_asset(&bot.start_per_venue);
    for (asset, amount) in cfg.rebalance_now.clone() {
        bot.request_swap(0, 1, asset, amount).await;
    }
    if !cfg.json {
        println!(
            "ledger-arb: {} venues ({}), markets {:?}, threshold {} bps{}",
            venues.len(),
            venues
                .iter()
                .map(|v| format!("{}={}", v.name, v.chain_id))
                .collect::<Vec<_>>()
                .join(", "),
            markets,
            cfg.min_profit_bps,
            if cfg.dry_run { ", dry run" } else { "" }
        );
    }
    let deadline = cfg
        .duration
        .map(|d| tokio::time::Instant::now() + Duration::from_secs_f64(d));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_stats = Instant::now();
    let mut last_refresh = Instant::now();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        let until_deadline = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = term.recv() => break,
            _ = until_deadline => break,
            Some(Feed::Book { venue, view }) = feed_rx.recv() => {
                let market = view.market.clone();
                if let Some(m) = venues[venue].markets.iter().find(|m| m.symbol == market) {
                    bot.book_heights.insert((venue, market.clone()), view.block_height);
                    bot.books.insert((venue, market.clone()), VenueBook::new(venue, m.clone(), &view));
                    bot.sample(venue, &market);
                    bot.evaluate();
                }
            }
            Some(r) = exec_rx.recv() => {
                bot.on_exec(r);
                bot.refresh_holdings().await;
                last_refresh = Instant::now();
            }
            Some(j) = swap_ev_rx.recv() => bot.on_swap(j),
            _ = tick.tick() => {
                if last_refresh.elapsed() >= Duration::from_secs(2) {
                    bot.refresh_holdings().await;
                    last_refresh = Instant::now();
                    bot.rebalance().await;
                }
                if last_stats.elapsed().as_secs_f64() >= cfg.stats_every {
                    last_stats = Instant::now();
                    bot.print_live();
                    let (per, value) = bot.pnl();
                    let r = Record::Pnl {
                        t: now_ms(),
                        per_asset: per.iter().map(|(a, d)| (a.clone(), d.normalize().to_string())).collect(),
                        value: value.round_dp(6).to_string(),
                        value_asset: bot.value_asset.clone(),
                    };
                    bot.log.write(&r);
                }
            }
        }
    }
    // Stop trading: wait for executions in flight, then drive open swaps for --drain.
    let wait_until = Instant::now() + Duration::from_secs(30);
    while !bot.busy.is_empty() && Instant::now() < wait_until {
        if let Ok(Some(r)) = tokio::time::timeout(Duration::from_secs(1), exec_rx.recv()).await {
            bot.on_exec(r);
        }
    }
    let drain_until = Instant::now() + Duration::from_secs_f64(cfg.drain.max(0.0));
    let swaps_open = |v: &SwapView| v.active + v.requested > 0;
    while swaps_open(&lock(&bot.swaps)) && Instant::now() < drain_until {
        if let Ok(Some(j)) =
            tokio::time::timeout(Duration::from_millis(500), swap_ev_rx.recv()).await
        {
            bot.on_swap(j);
        }
    }
    while let Ok(j) = swap_ev_rx.try_recv() {
        bot.on_swap(j);
    }
    bot.refresh_holdings().await;
    let now = bot.now_ms();
    for g in bot.stats.close_all(now) {
        bot.log.write(&Record::Gap(g));
    }
    bot.final_books();
    let summary = bot.summary();
    bot.log.write(&Record::End {
        t: now_ms(),
        summary: Box::new(summary.clone()),
    });
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hedge_limits_move_against_us_on_the_tick() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        // Buy: 100.17 + 50 bps = 100.67085, rounded up to the tick.
        assert_eq!(
            hedge_limit(Side::Buy, d("100.17"), d("0.01"), d("50")),
            d("100.68")
        );
        // Sell: 0.5032 - 150 bps = 0.495652, rounded down to the tick.
        assert_eq!(
            hedge_limit(Side::Sell, d("0.5032"), d("0.0001"), d("150")),
            d("0.4956")
        );
        // No band: the leg's own limit; a sell never goes below one tick.
        assert_eq!(
            hedge_limit(Side::Buy, d("99.95"), d("0.01"), Decimal::ZERO),
            d("99.95")
        );
        assert_eq!(
            hedge_limit(Side::Sell, d("0.02"), d("0.01"), d("20000")),
            d("0.01")
        );
    }
}
