//! `bench`: the load generator.
//!
//! 1. Reads the chain (chain id, validators, markets and their mid prices) and the test
//!    accounts `account-0 .. account-{N-1}` (the keys `ledger-node testnet` funds), with
//!    each account's next nonce from `get_account` on the endpoint it is pinned to
//!    (account `i` always goes to endpoint `i mod E`, so its nonces reach one mempool in
//!    order).
//! 2. Measures this machine's ed25519 batch verification rate
//!    (`ledger_types::crypto::verify_batch` on batches of 64, one thread per core) while
//!    the network is idle. The **signature ceiling** is that rate divided by the number of
//!    validators: every validator on this machine checks every transaction's signature
//!    once, so no network of them can finalize more transactions per second than that.
//! 3. Pre-signs orders up front on every core (with a progress bar): a mix of GTC limit
//!    orders on both sides within a few ticks of the mid so that a good share trades, some
//!    IOC and post-only orders, cancels of the account's own recent orders, and a
//!    `cancel_all` whenever an account may have many orders resting. A background
//!    producer tops the queue up only if the network drains it.
//! 4. Follows final blocks over WebSocket (`subscribe_blocks`, transaction hashes only;
//!    missed heights are fetched with `get_block` after a reconnect) and matches every
//!    submitted hash to the block that finalized it.
//! 5. Submits as fast as the nodes take them (or at `--rate` per second): JSON-RPC batches
//!    of `--batch` transactions, `--concurrency` requests in flight per endpoint, over
//!    kept-alive HTTP connections, with at most `--max-pending` transactions submitted
//!    and not yet final (a closed loop: without it a mempool accepts far more than
//!    blocks can drain, and latency grows without bound). Back-pressure answers (-32005 `mempool_full` /
//!    `account_limit`, `nonce_too_high`, -32002, -32009) are retried after a back-off and
//!    counted as retries, not failures.
//! 6. After `--duration` seconds it stops submitting, waits up to `--drain` seconds for
//!    what was accepted to become final, and reports (with `--json`, as one JSON object
//!    on the last line of stdout):
//!    - `submitted`: transactions a node accepted; `rejected_at_submit` (by reason);
//!    - `finalized`: accepted transactions seen in a final block;
//!    - `final_orders_per_sec`: `place_order` transactions finalized inside the measured
//!      window (from the first submission to `--duration` seconds later) divided by the
//!      window; `final_tx_per_sec` counts the cancels too;
//!    - `latency_ms`: submit-to-final latency (request sent to final block received)
//!      percentiles over every finalized transaction;
//!    - `sig_verify_per_sec`, `signature_ceiling`, `ceiling_fraction`
//!      (`final_orders_per_sec / signature_ceiling`);
//!    - `engine_rejected_sample`: a sample of finalized transactions checked with
//!      `get_tx` (a final transaction may still be rejected by the engine, e.g. a cancel of
//!      an order that already filled).
//!
//! **Endpoints that stop.** An endpoint that fails for [`FAILOVER_AFTER`] is marked
//! down (reported once on stderr, and in `endpoints_down`); its workers send to the next
//! live endpoint, the block follower resubscribes to another one, and a prober marks it
//! up again when it answers. The run ends only when no endpoint has answered for
//! [`UNREACHABLE_AFTER`]. Transactions the dead node had accepted but not yet passed
//! on are lost with it; the later ones of the same account then wait on their nonce
//! (`nonce_too_high`) and are given up (`abandoned`) after [`MAX_NONCE_RETRIES`] tries.

use crate::error::{CliError, CliResult, RpcResultExt};
use crate::output::{details, print_json_line};
use crate::{http_url, ws_url, Ctx};
use clap::Args;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use jsonrpsee::core::client::{ClientT, Error as ClientError};
use jsonrpsee::core::params::{ArrayParams, BatchRequestBuilder};
use ledger_rpc::{
    codes, LedgerApiClient, LedgerClient, MarketView, Order, TxStatus, Wallet, WireTx,
};
use ledger_types::{Decimal, Keypair, MarketId, OrderId, Side, TxHash};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::prelude::ToPrimitive;
use serde_json::json;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Default `--max-pending` of an unpaced run: the window that sets its latency.
const UNPACED_WINDOW: usize = 2_500;
/// Default `--max-pending` with `--rate`: only a safety bound on an overloaded network.
const PACED_WINDOW: usize = 20_000;

/// Options of `ledger-cli bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Length of the measured window, in seconds.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub duration: f64,
    /// Submit at this many transactions per second [default: as fast as the nodes take
    /// them].
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,
    /// Number of test accounts: account-0 .. account-{N-1} [default: 1024, the number
    /// `ledger-node testnet` funds, or the accounts listed in --testnet].
    #[arg(long, value_name = "N")]
    pub accounts: Option<u32>,
    /// Take the endpoints (every node's `rpc_url`) and the number of accounts from the
    /// `testnet.json` that `ledger-node testnet` writes, instead of --rpc.
    #[arg(long, value_name = "FILE")]
    pub testnet: Option<std::path::PathBuf>,
    /// A node's metrics URL (`http://HOST:PORT/metrics`), for per-stage times; repeat
    /// for each node [default: every node's `metrics_url` in --testnet].
    #[arg(long = "metrics", value_name = "URL")]
    pub metrics: Vec<String>,
    /// Transactions per JSON-RPC batch request (the node's `[rpc] max_batch_len` is 50
    /// by default).
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub batch: usize,
    /// Requests in flight per endpoint.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
    /// Most transactions submitted but not yet final (0: no limit) [default: 2500
    /// without --rate, 20000 with it]. Without `--rate` this closes the loop: the bench
    /// submits as fast as the network finalizes instead of filling the mempools faster
    /// than blocks drain them. Past what the network finalizes, a larger window only
    /// queues: by Little's law latency is the window divided by the throughput (on this
    /// project's 2-core machine 2,500 keeps a 4-validator run's p99 near 1.5 s, where
    /// 20,000 gave the same throughput at a p50 of 2.4 to 4 s).
    #[arg(long, value_name = "N")]
    pub max_pending: Option<usize>,
    /// Transactions to sign before the run starts [default: rate x duration with --rate,
    /// else 6000 per second of --duration].
    #[arg(long, value_name = "N")]
    pub presign: Option<usize>,
    /// Markets to trade, comma-separated [default: every market].
    #[arg(long, value_delimiter = ',', value_name = "MARKET")]
    pub markets: Vec<String>,
    /// Percent of transactions that cancel one of the account's recent orders.
    #[arg(long, default_value_t = 5, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=50))]
    pub cancel_percent: u8,
    /// After the window, wait at most this long for accepted transactions to become final.
    #[arg(long, default_value_t = 15.0, value_name = "SECONDS")]
    pub drain: f64,
    /// Seconds spent measuring ed25519 batch verification before the run.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub verify_seconds: f64,
    /// Seed of the order mix (same seed, same orders).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Signatures per `verify_batch` call in the verification benchmark.
const VERIFY_BATCH: usize = 64;
/// Finalized transactions checked with `get_tx` after the run.
const ENGINE_SAMPLE: usize = 100;
/// Every endpoint failing for this long ends the run.
const UNREACHABLE_AFTER: Duration = Duration::from_secs(10);
/// An endpoint failing for this long is marked down and its load moves to the others.
const FAILOVER_AFTER: Duration = Duration::from_secs(2);
/// Tries of a transaction refused with `nonce_too_high` before it is given up (its
/// account's earlier transaction was lost with a node that stopped).
const MAX_NONCE_RETRIES: u32 = 40;

// =======================================================================================
// Order generation
// =======================================================================================

/// A market the bench trades, in ticks and lots.
#[derive(Clone, Debug)]
struct MarketPlan {
    id: MarketId,
    symbol: String,
    tick: Decimal,
    /// Smallest acceptable quantity (min size rounded up to the lot).
    unit: Decimal,
    /// Mid price in ticks.
    mid_ticks: i64,
}

/// One signed transaction, ready to send.
struct Signed {
    hash: TxHash,
    cancel: bool,
    wire: WireTx,
    /// Times it was refused with `nonce_too_high`.
    nonce_retries: u32,
}

/// Orders of one account.
struct Generator {
    wallet: Wallet,
    endpoint: usize,
    rng: StdRng,
    markets: Arc<Vec<MarketPlan>>,
    cancel_percent: u32,
    /// Recent orders that may still rest (candidates for a cancel).
    recent: VecDeque<OrderId>,
    /// Orders that may rest since the last `cancel_all` (bounds open orders per account).
    maybe_open: u32,
}

/// A `cancel_all` after this many possibly-resting orders keeps each account well under
/// the engine's open-order limit (1000 by default).
const CANCEL_ALL_EVERY: u32 = 400;

impl Generator {
    fn next(&mut self) -> Signed {
        let (stx, cancel) = if self.maybe_open >= CANCEL_ALL_EVERY {
            self.maybe_open = 0;
            self.recent.clear();
            (self.wallet.cancel_all(None), true)
        } else if self.rng.gen_range(0..100) < self.cancel_percent && !self.recent.is_empty() {
            let pick = self.rng.gen_range(0..self.recent.len());
            let id = self.recent.remove(pick).unwrap_or_default();
            (self.wallet.cancel(id), true)
        } else {
            let m = &self.markets[self.rng.gen_range(0..self.markets.len())];
            let side = if self.rng.gen_bool(0.5) {
                Side::Buy
            } else {
                Side::Sell
            };
            // Buys from 8 ticks below to 2 above the mid, sells mirrored: the overlap
            // trades, the rest builds a book near the mid.
            let offset: i64 = self.rng.gen_range(-8..=2);
            let ticks = match side {
                Side::Buy => m.mid_ticks + offset,
                Side::Sell => m.mid_ticks - offset,
            }
            .max(1);
            let price = Decimal::from(ticks) * m.tick;
            let qty = m.unit * Decimal::from(self.rng.gen_range(1..=5u32));
            let roll = self.rng.gen_range(0..100);
            let mut order = Order::limit(m.id, side, price, qty);
            let may_rest = if roll < 10 {
                order = order.ioc();
                false
            } else if roll < 15 && offset <= -3 {
                // Post-only only away from the mid, where it rarely crosses.
                order = order.post_only();
                true
            } else {
                true
            };
            let stx = self.wallet.place(order);
            if may_rest {
                self.maybe_open += 1;
                self.recent.push_back(stx.hash());
                if self.recent.len() > 16 {
                    self.recent.pop_front();
                }
            }
            (stx, false)
        };
        let hash = stx.hash();
        let mut wire = WireTx::from(stx);
        wire.hash = None; // the node computes it anyway; saves bytes on the wire
        Signed {
            hash,
            cancel,
            wire,
            nonce_retries: 0,
        }
    }
}

/// Signed transactions waiting to be sent, one queue per endpoint.
struct Queues {
    per_endpoint: Vec<Mutex<VecDeque<Signed>>>,
    queued: AtomicUsize,
    signed: AtomicU64,
    producers_running: AtomicUsize,
    stop: AtomicBool,
}

impl Queues {
    fn pop(&self, endpoint: usize, max: usize) -> Vec<Signed> {
        let mut q = self.per_endpoint[endpoint]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let n = max.min(q.len());
        let out: Vec<Signed> = q.drain(..n).collect();
        drop(q);
        self.queued.fetch_sub(out.len(), Ordering::Relaxed);
        out
    }

    fn exhausted(&self, endpoint: usize) -> bool {
        self.producers_running.load(Ordering::Acquire) == 0
            && self.per_endpoint[endpoint]
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty()
    }
}

/// A signing thread: signs until `presign` transactions exist, then only tops the queues
/// up when they run low.
fn produce(mut gens: Vec<Generator>, queues: Arc<Queues>, presign: u64, refill_below: usize) {
    const CHUNK: usize = 64;
    let endpoints = queues.per_endpoint.len();
    let mut next = 0usize;
    while !queues.stop.load(Ordering::Relaxed) && !gens.is_empty() {
        let signed = queues.signed.load(Ordering::Relaxed);
        if signed >= presign && queues.queued.load(Ordering::Relaxed) >= refill_below {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        let mut local: Vec<Vec<Signed>> = (0..endpoints).map(|_| Vec::new()).collect();
        for _ in 0..CHUNK {
            let len = gens.len();
            let g = &mut gens[next % len];
            next += 1;
            local[g.endpoint].push(g.next());
        }
        for (e, items) in local.into_iter().enumerate() {
            if items.is_empty() {
                continue;
            }
            let n = items.len();
            queues.per_endpoint[e]
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(items);
            queues.queued.fetch_add(n, Ordering::Relaxed);
        }
        queues.signed.fetch_add(CHUNK as u64, Ordering::Relaxed);
    }
    queues.producers_running.fetch_sub(1, Ordering::Release);
}

// =======================================================================================
// Shared run state
// =======================================================================================

struct Pending {
    sent: Instant,
    cancel: bool,
}

#[derive(Default)]
struct Counters {
    submitted: AtomicU64,
    rejected: AtomicU64,
    retries: AtomicU64,
    abandoned: AtomicU64,
    transport_errors: AtomicU64,
    finalized: AtomicU64,
    window_orders: AtomicU64,
    window_cancels: AtomicU64,
    blocks: AtomicU64,
    trades: AtomicU64,
    follower_reconnects: AtomicU64,
}

struct Run {
    base: Instant,
    /// Microseconds after `base` at which the measured window ends (u64::MAX until set).
    window_end_us: AtomicU64,
    inflight: Mutex<HashMap<TxHash, Pending>>,
    latencies_us: Mutex<Vec<u64>>,
    reasons: Mutex<BTreeMap<String, u64>>,
    sample: Mutex<Vec<TxHash>>,
    c: Counters,
    stop_submit: AtomicBool,
    stop_follow: AtomicBool,
    fatal: Mutex<Option<CliError>>,
}

impl Run {
    fn in_window(&self, t: Instant) -> bool {
        (t.duration_since(self.base).as_micros() as u64)
            <= self.window_end_us.load(Ordering::Relaxed)
    }

    fn fail(&self, e: CliError) {
        let mut f = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
        if f.is_none() {
            *f = Some(e);
        }
        self.stop_submit.store(true, Ordering::Release);
    }

    fn failed(&self) -> bool {
        self.fatal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    fn reject(&self, reason: String) {
        self.c.rejected.fetch_add(1, Ordering::Relaxed);
        *self
            .reasons
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(reason)
            .or_default() += 1;
    }

    /// A final block arrived: match its transactions.
    fn on_block(&self, hashes: &[TxHash]) {
        let now = Instant::now();
        let in_window = self.in_window(now);
        self.c.blocks.fetch_add(1, Ordering::Relaxed);
        let mut lat = Vec::new();
        let mut found = Vec::new();
        {
            let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            for h in hashes {
                if let Some(p) = inflight.remove(h) {
                    lat.push(now.duration_since(p.sent).as_micros() as u64);
                    found.push((*h, p.cancel));
                }
            }
        }
        if found.is_empty() {
            return;
        }
        self.c
            .finalized
            .fetch_add(found.len() as u64, Ordering::Relaxed);
        if in_window {
            let cancels = found.iter().filter(|(_, c)| *c).count() as u64;
            self.c.window_cancels.fetch_add(cancels, Ordering::Relaxed);
            self.c
                .window_orders
                .fetch_add(found.len() as u64 - cancels, Ordering::Relaxed);
        }
        self.latencies_us
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(lat);
        let mut sample = self.sample.lock().unwrap_or_else(|e| e.into_inner());
        if sample.len() < ENGINE_SAMPLE {
            // A few from every block, so the sample spans the run.
            sample.extend(found.iter().step_by(found.len() / 4 + 1).map(|(h, _)| *h));
        }
    }
}

// =======================================================================================
// Endpoint health
// =======================================================================================

/// Which endpoints answer, shared by workers, the follower and the prober.
struct Health {
    base: Instant,
    urls: Vec<String>,
    /// Per endpoint: microseconds after `base` of its last answer.
    last_ok_us: Vec<AtomicU64>,
    /// Per endpoint: marked down (failing for [`FAILOVER_AFTER`]).
    down: Vec<AtomicBool>,
    /// Endpoints that were down at some point.
    ever_down: Mutex<Vec<String>>,
    failovers: AtomicU64,
    quiet: bool,
}

impl Health {
    fn new(urls: Vec<String>, quiet: bool) -> Health {
        let n = urls.len();
        Health {
            base: Instant::now(),
            urls,
            last_ok_us: (0..n).map(|_| AtomicU64::new(0)).collect(),
            down: (0..n).map(|_| AtomicBool::new(false)).collect(),
            ever_down: Mutex::new(Vec::new()),
            failovers: AtomicU64::new(0),
            quiet,
        }
    }

    fn now_us(&self) -> u64 {
        self.base.elapsed().as_micros() as u64
    }

    /// Endpoint `e` answered.
    fn ok(&self, e: usize) {
        self.last_ok_us[e].store(self.now_us(), Ordering::Relaxed);
        if self.down[e].swap(false, Ordering::AcqRel) && !self.quiet {
            eprintln!("bench: {} answers again", self.urls[e]);
        }
    }

    /// Endpoint `e` failed; true if it has now failed for [`FAILOVER_AFTER`] (it is
    /// marked down, and reported the first time).
    fn failed(&self, e: usize) -> bool {
        let since_ok = Duration::from_micros(
            self.now_us()
                .saturating_sub(self.last_ok_us[e].load(Ordering::Relaxed)),
        );
        if since_ok < FAILOVER_AFTER {
            return false;
        }
        if !self.down[e].swap(true, Ordering::AcqRel) {
            let url = self.urls[e].clone();
            let mut ever = self.ever_down.lock().unwrap_or_else(|e| e.into_inner());
            if !ever.contains(&url) {
                ever.push(url.clone());
            }
            if !self.quiet {
                eprintln!(
                    "bench: {url} has not answered for {:.0} s; its load goes to the other endpoints",
                    since_ok.as_secs_f64()
                );
            }
        }
        true
    }

    fn is_down(&self, e: usize) -> bool {
        self.down[e].load(Ordering::Acquire)
    }

    /// The next endpoint after `from` that is not down (`from` itself if all are).
    fn next_live(&self, from: usize) -> usize {
        let n = self.urls.len();
        (1..=n)
            .map(|k| (from + k) % n)
            .find(|&e| !self.is_down(e))
            .unwrap_or(from)
    }

    /// True when no endpoint has answered for [`UNREACHABLE_AFTER`].
    fn all_gone(&self) -> bool {
        let newest = self
            .last_ok_us
            .iter()
            .map(|t| t.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0);
        Duration::from_micros(self.now_us().saturating_sub(newest)) > UNREACHABLE_AFTER
    }
}

/// Every second, asks the endpoints marked down whether they answer again.
async fn probe(clients: Vec<Arc<LedgerClient>>, health: Arc<Health>, run: Arc<Run>) {
    while !run.stop_follow.load(Ordering::Acquire) {
        for (e, c) in clients.iter().enumerate() {
            if health.is_down(e)
                && tokio::time::timeout(Duration::from_secs(1), c.chain_status())
                    .await
                    .is_ok_and(|r| r.is_ok())
            {
                health.ok(e);
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

// =======================================================================================
// Submission
// =======================================================================================

/// Spaces submissions out to `--rate`.
struct Pacer {
    start: Instant,
    per_item: Option<Duration>,
    issued: AtomicU64,
}

impl Pacer {
    async fn wait(&self, n: usize) {
        if let Some(per) = self.per_item {
            let k = self.issued.fetch_add(n as u64, Ordering::Relaxed);
            let at = self.start + per.mul_f64(k as f64);
            tokio::time::sleep_until(at.into()).await;
        }
    }
}

/// What to do with a refused transaction.
enum Refusal {
    /// Back-pressure: try again later.
    Retry,
    /// Already in a mempool or a block: counts as accepted.
    Known,
    /// Refused for good.
    Reject(String),
}

fn classify(code: i32, reason: Option<&str>) -> Refusal {
    match (code, reason) {
        (codes::LIMIT_EXCEEDED | codes::UNAVAILABLE | codes::SERVER_IS_BUSY, _) => Refusal::Retry,
        (_, Some("nonce_too_high")) => Refusal::Retry,
        (_, Some("duplicate")) => Refusal::Known,
        (_, Some(r)) => Refusal::Reject(r.to_string()),
        (c, None) => Refusal::Reject(format!("code {c}")),
    }
}

fn error_reason(data: Option<&serde_json::value::RawValue>) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(data?.get()).ok()?;
    v.get("reason")?.as_str().map(str::to_string)
}

#[allow(clippy::too_many_arguments)]
async fn worker(
    endpoint: usize,
    clients: Vec<Arc<LedgerClient>>,
    health: Arc<Health>,
    queues: Arc<Queues>,
    run: Arc<Run>,
    pacer: Arc<Pacer>,
    batch: usize,
    max_pending: usize,
) {
    let mut retry: Vec<Signed> = Vec::new();
    let mut backoff = Duration::from_millis(10);
    // Where this worker's transactions go: its own endpoint while it answers.
    let mut target = endpoint;
    loop {
        if run.stop_submit.load(Ordering::Acquire) {
            break;
        }
        let is_retry = !retry.is_empty();
        let items = if is_retry {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(500));
            run.c
                .retries
                .fetch_add(retry.len() as u64, Ordering::Relaxed);
            std::mem::take(&mut retry)
        } else {
            if max_pending > 0 && run.inflight.lock().map(|m| m.len()).unwrap_or(0) >= max_pending {
                tokio::time::sleep(Duration::from_millis(2)).await;
                continue;
            }
            let items = queues.pop(endpoint, batch);
            if items.is_empty() {
                if queues.exhausted(endpoint) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
            pacer.wait(items.len()).await;
            items
        };
        if run.stop_submit.load(Ordering::Acquire) {
            // Paced items whose slot came after the window: never sent. Refused ones
            // waiting for a retry are counted as abandoned below.
            if is_retry {
                retry = items;
            }
            break;
        }
        {
            let now = Instant::now();
            let mut inflight = run.inflight.lock().unwrap_or_else(|e| e.into_inner());
            for it in &items {
                inflight.insert(
                    it.hash,
                    Pending {
                        sent: now,
                        cancel: it.cancel,
                    },
                );
            }
        }
        let mut b = BatchRequestBuilder::new();
        let mut encode_err = None;
        for it in &items {
            let mut p = ArrayParams::new();
            if let Err(e) = p.insert(&it.wire) {
                encode_err = Some(e.to_string());
            }
            let method = if it.cancel {
                "cancel_order"
            } else {
                "submit_order"
            };
            if let Err(e) = b.insert(method, p) {
                encode_err = Some(e.to_string());
            }
        }
        if let Some(e) = encode_err {
            run.fail(CliError::failed(format!(
                "cannot encode a transaction: {e}"
            )));
            break;
        }
        let url = health.urls[target].clone();
        match clients[target].batch_request::<serde_json::Value>(b).await {
            Ok(resp) => {
                health.ok(target);
                let mut any_retry = false;
                for (mut it, entry) in items.into_iter().zip(resp) {
                    let refusal = match entry {
                        Ok(_) => {
                            run.c.submitted.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        Err(obj) => {
                            let reason = error_reason(obj.data());
                            match classify(obj.code(), reason.as_deref()) {
                                Refusal::Retry if reason.as_deref() == Some("nonce_too_high") => {
                                    if it.nonce_retries >= MAX_NONCE_RETRIES {
                                        // Its account's earlier transaction is gone (with
                                        // a node that stopped): give it up.
                                        run.inflight
                                            .lock()
                                            .unwrap_or_else(|e| e.into_inner())
                                            .remove(&it.hash);
                                        run.c.abandoned.fetch_add(1, Ordering::Relaxed);
                                        continue;
                                    }
                                    it.nonce_retries += 1;
                                    Refusal::Retry
                                }
                                other => other,
                            }
                        }
                    };
                    match refusal {
                        Refusal::Retry => {
                            any_retry = true;
                            retry.push(it);
                        }
                        Refusal::Known => {
                            run.c.submitted.fetch_add(1, Ordering::Relaxed);
                        }
                        Refusal::Reject(reason) => {
                            let was_pending = run
                                .inflight
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .remove(&it.hash)
                                .is_some();
                            // Not pending any more means a block already finalized it
                            // (e.g. `nonce_too_low` on a resend): not a rejection.
                            if was_pending {
                                run.reject(reason);
                            }
                        }
                    }
                }
                if !any_retry {
                    backoff = Duration::from_millis(10);
                }
            }
            Err(ClientError::Call(obj)) => match obj.code() {
                codes::LIMIT_EXCEEDED | codes::SERVER_IS_BUSY | codes::UNAVAILABLE => {
                    retry = items;
                }
                code => {
                    run.fail(CliError::Rpc {
                        url: url.clone(),
                        error: Box::new(ledger_rpc::ApiError {
                            code,
                            message: format!(
                                "{} (a batch of {} transactions; try a smaller --batch)",
                                obj.message(),
                                items.len()
                            ),
                            data: None,
                        }),
                    });
                    break;
                }
            },
            Err(e) => {
                run.c.transport_errors.fetch_add(1, Ordering::Relaxed);
                if health.all_gone() {
                    run.fail(CliError::from_client(&url, &e));
                    break;
                }
                if health.failed(target) {
                    let next = health.next_live(target);
                    if next != target {
                        health.failovers.fetch_add(1, Ordering::Relaxed);
                        target = next;
                    }
                }
                retry = items;
            }
        }
    }
    // Transactions never accepted are dropped from the books.
    if !retry.is_empty() {
        let mut inflight = run.inflight.lock().unwrap_or_else(|e| e.into_inner());
        for it in &retry {
            inflight.remove(&it.hash);
        }
        run.c
            .abandoned
            .fetch_add(retry.len() as u64, Ordering::Relaxed);
    }
}

// =======================================================================================
// Following final blocks
// =======================================================================================

/// Follows final blocks over WebSocket, on endpoint 0 first and on the next live one
/// whenever the current one fails.
async fn follow(
    ctx: Ctx,
    clients: Vec<Arc<LedgerClient>>,
    health: Arc<Health>,
    run: Arc<Run>,
    mut last: u64,
) {
    let mut first = true;
    let mut down_since: Option<Instant> = None;
    let mut current = 0usize;
    while !run.stop_follow.load(Ordering::Acquire) {
        if !first {
            run.c.follower_reconnects.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
            if health.failed(current) || health.is_down(current) {
                current = health.next_live(current);
            }
        }
        first = false;
        let ws = ws_url(&health.urls[current]);
        let http = clients[current].clone();
        let client = match ctx.connect(&ws).await {
            Ok(c) => c,
            Err(e) => {
                let since = *down_since.get_or_insert_with(Instant::now);
                if since.elapsed() > UNREACHABLE_AFTER {
                    run.fail(e);
                    return;
                }
                continue;
            }
        };
        let mut sub = match client.subscribe_blocks(Some(false)).await {
            Ok(s) => s,
            Err(e) => {
                let since = *down_since.get_or_insert_with(Instant::now);
                if since.elapsed() > UNREACHABLE_AFTER {
                    run.fail(CliError::from_client(&ws, &e));
                    return;
                }
                continue;
            }
        };
        down_since = None;
        health.ok(current);
        loop {
            // Checked on every item, not only when the stream is quiet: blocks can come
            // more often than the idle tick (responsive epochs), which would starve it.
            if run.stop_follow.load(Ordering::Acquire) {
                return;
            }
            let item = tokio::select! {
                item = sub.next() => item,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    if run.stop_follow.load(Ordering::Acquire) { return; }
                    continue;
                }
            };
            let Some(Ok(b)) = item else { break };
            if b.height <= last {
                continue;
            }
            // Heights missed while (re)connecting or lagging.
            for h in last + 1..b.height {
                if let Ok(missed) = http.get_block(h.into(), Some(false)).await {
                    run.on_block(missed.tx_hashes.as_deref().unwrap_or_default());
                }
            }
            run.on_block(b.tx_hashes.as_deref().unwrap_or_default());
            last = b.height;
        }
    }
}

/// Counts trades of `markets` while the window is open (best effort: on the first
/// endpoint that answers, and on the next live one when it stops).
async fn count_trades(ctx: Ctx, health: Arc<Health>, markets: Vec<MarketPlan>, run: Arc<Run>) {
    let mut current = 0usize;
    while !run.stop_follow.load(Ordering::Acquire) {
        let ws = ws_url(&health.urls[current]);
        count_trades_on(&ctx, &ws, &markets, &run).await;
        if run.stop_follow.load(Ordering::Acquire) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        current = health.next_live(current);
    }
}

async fn count_trades_on(ctx: &Ctx, ws: &str, markets: &[MarketPlan], run: &Run) {
    let Ok(client) = ctx.connect(ws).await else {
        return;
    };
    let mut subs = Vec::new();
    for m in markets {
        if let Ok(s) = client.subscribe_trades(m.id.into()).await {
            subs.push(s);
        }
    }
    let mut all = futures::stream::select_all(subs);
    loop {
        // Trades can come more often than the idle tick: check on every one.
        if run.stop_follow.load(Ordering::Acquire) {
            return;
        }
        tokio::select! {
            item = all.next() => match item {
                Some(Ok(_)) => {
                    if run.in_window(Instant::now()) {
                        run.c.trades.fetch_add(1, Ordering::Relaxed);
                    }
                }
                _ => return,
            },
            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                if run.stop_follow.load(Ordering::Acquire) { return; }
            }
        }
    }
}

// =======================================================================================
// Signature verification rate
// =======================================================================================

/// Verifications per second of `verify_batch` on batches of 64 over `threads` threads.
fn measure_verify(seconds: f64, threads: usize) -> f64 {
    use ledger_types::{Payload, PlaceOrder, Tx};
    // Realistic messages: the signing bytes of order transactions from distinct keys.
    let items: Vec<(ledger_types::PublicKey, Vec<u8>, ledger_types::Signature)> = (0..VERIFY_BATCH)
        .map(|i| {
            let k = Keypair::for_testing(&format!("bench-verify-{i}"));
            let tx = Tx {
                chain_id: "ledger-bench".into(),
                sender: k.public(),
                nonce: i as u64,
                payload: Payload::PlaceOrder(PlaceOrder::from(Order::limit(
                    MarketId(0),
                    Side::Buy,
                    Decimal::new(10050 + i as i64, 2),
                    Decimal::new(25, 2),
                ))),
                valid_until_height: None,
            };
            let bytes = tx.signing_bytes();
            let sig = k.sign(&bytes);
            (k.public(), bytes, sig)
        })
        .collect();
    let items = Arc::new(items);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds.max(0.05));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads.max(1))
        .map(|_| {
            let items = items.clone();
            std::thread::spawn(move || {
                let refs: Vec<(ledger_types::PublicKey, &[u8], ledger_types::Signature)> = items
                    .iter()
                    .map(|(k, m, s)| (*k, m.as_slice(), *s))
                    .collect();
                let mut n = 0u64;
                let mut ok = true;
                while Instant::now() < deadline {
                    let r = ledger_types::crypto::verify_batch(&refs);
                    ok &= r.iter().all(Result::is_ok);
                    n += refs.len() as u64;
                }
                (n, ok)
            })
        })
        .collect();
    let mut total = 0u64;
    for h in handles {
        if let Ok((n, ok)) = h.join() {
            debug_assert!(ok, "benchmark signatures verify");
            total += n;
        }
    }
    total as f64 / start.elapsed().as_secs_f64()
}

// =======================================================================================
// The run
// =======================================================================================

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn spinner(total: u64, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

/// The mid price of a market in ticks: the book's mid, else the last trade (if the node
/// keeps trades), else 100.
async fn mid_ticks(client: &LedgerClient, url: &str, m: &MarketView) -> CliResult<i64> {
    let book = client
        .get_order_book(MarketId(m.id).into(), Some(1))
        .await
        .at(url)?;
    let price = match (book.bids.first(), book.asks.first()) {
        (Some(b), Some(a)) => Some((b.price + a.price) / Decimal::TWO),
        (Some(b), None) => Some(b.price),
        (None, Some(a)) => Some(a.price),
        (None, None) => match client
            .get_trades(MarketId(m.id).into(), Some(1), None)
            .await
            .at(url)
        {
            Ok(page) => page.items.first().map(|t| t.price),
            // A node without query indexes (`[storage] indexes = false`) keeps no trade
            // list: start from the default price.
            Err(CliError::Rpc { error, .. }) if error.reason() == Some("not_indexed") => None,
            Err(e) => return Err(e),
        },
    }
    .unwrap_or(Decimal::ONE_HUNDRED);
    if m.tick_size.is_zero() {
        return Err(CliError::failed(format!(
            "market {} has a zero tick size",
            m.symbol
        )));
    }
    let ticks = (price / m.tick_size).floor();
    Ok(ticks.to_i64().unwrap_or(1).max(10))
}

/// What `bench` reads from a `testnet.json`.
struct TestnetFile {
    /// Every node's RPC URL.
    rpc: Vec<String>,
    /// Every node's metrics URL.
    metrics: Vec<String>,
    /// Funded accounts.
    accounts: Option<u32>,
}

/// The RPC and metrics URLs of every node and the number of funded accounts in a
/// `testnet.json`.
fn read_testnet(path: &std::path::Path) -> CliResult<TestnetFile> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("--testnet {}: {e}", path.display())))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::usage(format!("--testnet {}: not JSON: {e}", path.display())))?;
    let urls: Vec<String> = v["nodes"]
        .as_array()
        .map(|nodes| {
            nodes
                .iter()
                .filter_map(|n| n["rpc_url"].as_str())
                .map(|u| http_url(u.trim_end_matches('/')))
                .collect()
        })
        .unwrap_or_default();
    if urls.is_empty() {
        return Err(CliError::usage(format!(
            "--testnet {}: no nodes[].rpc_url in it (is it the testnet.json of `ledger-node testnet`?)",
            path.display()
        )));
    }
    let accounts = v["accounts"]
        .as_array()
        .map(|a| u32::try_from(a.len()).unwrap_or(u32::MAX));
    let metrics = v["nodes"]
        .as_array()
        .map(|nodes| {
            nodes
                .iter()
                .filter_map(|n| n["metrics_url"].as_str())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(TestnetFile {
        rpc: urls,
        metrics,
        accounts,
    })
}

/// Scrapes the stage histograms of every node in `urls` and sums them.
async fn scrape_stages(urls: &[String]) -> crate::stages::Stages {
    let pages = futures::future::join_all(urls.iter().map(|u| crate::stages::scrape(u))).await;
    let mut total = crate::stages::Stages::new();
    for page in pages.into_iter().flatten() {
        crate::stages::add(&mut total, &crate::stages::parse(&page));
    }
    total
}

/// Runs `bench`.
pub async fn run(ctx: &Ctx, args: BenchArgs) -> CliResult<()> {
    if !(args.duration.is_finite() && args.duration > 0.0) {
        return Err(CliError::usage(
            "--duration must be a positive number of seconds",
        ));
    }
    if let Some(r) = args.rate {
        if !(r.is_finite() && r > 0.0) {
            return Err(CliError::usage("--rate must be a positive number"));
        }
    }
    let (endpoints, testnet_accounts, mut metrics_urls) = match &args.testnet {
        Some(path) => {
            let t = read_testnet(path)?;
            (t.rpc, t.accounts, t.metrics)
        }
        None => (
            ctx.urls.iter().map(|u| http_url(u)).collect(),
            None,
            Vec::new(),
        ),
    };
    if !args.metrics.is_empty() {
        metrics_urls = args.metrics.clone();
    }
    let accounts_n = args.accounts.or(testnet_accounts).unwrap_or(1024);
    if accounts_n == 0 || args.batch == 0 || args.concurrency == 0 {
        return Err(CliError::usage(
            "--accounts, --batch and --concurrency must be at least 1",
        ));
    }
    let non_negative = |x: f64| x.is_finite() && x >= 0.0;
    if !non_negative(args.drain) || !non_negative(args.verify_seconds) {
        return Err(CliError::usage(
            "--drain and --verify-seconds must be non-negative numbers of seconds",
        ));
    }
    let quiet = ctx.json;
    let note = |s: String| {
        if !quiet {
            eprintln!("{s}");
        }
    };

    // ---- the chain
    let mut clients = Vec::new();
    for u in &endpoints {
        clients.push(Arc::new(ctx.connect(u).await?));
    }
    let url0 = endpoints[0].clone();
    let c0 = clients[0].clone();
    let status = c0.chain_status().await.at(&url0)?;
    for (c, u) in clients.iter().zip(&endpoints).skip(1) {
        let s = c.chain_status().await.at(u)?;
        if s.chain_id != status.chain_id {
            return Err(CliError::usage(format!(
                "{u} serves chain {:?} but {url0} serves {:?}: give endpoints of one network",
                s.chain_id, status.chain_id
            )));
        }
    }
    let validators = c0.get_validators().await.at(&url0)?.len().max(1);
    let all_markets = c0.get_markets().await.at(&url0)?;
    let chosen: Vec<&MarketView> = if args.markets.is_empty() {
        all_markets.iter().collect()
    } else {
        let mut v = Vec::new();
        for name in &args.markets {
            let want = name.replace('-', "/").to_ascii_uppercase();
            let m = all_markets
                .iter()
                .find(|m| m.symbol.to_ascii_uppercase() == want || m.id.to_string() == *name)
                .ok_or_else(|| CliError::failed(format!("the node has no market {name:?}")))?;
            v.push(m);
        }
        v
    };
    if chosen.is_empty() {
        return Err(CliError::failed("the chain has no markets to trade"));
    }
    let mut plans = Vec::new();
    for m in chosen {
        let lots = (m.min_size / m.lot_size).ceil().max(Decimal::ONE);
        plans.push(MarketPlan {
            id: MarketId(m.id),
            symbol: m.symbol.clone(),
            tick: m.tick_size,
            unit: lots * m.lot_size,
            mid_ticks: mid_ticks(&c0, &url0, m).await?,
        });
    }
    let plans = Arc::new(plans);
    note(format!(
        "bench: chain {} ({}), {} validators, {} endpoint(s), {} accounts, markets {}",
        status.chain_id,
        status.consensus,
        validators,
        endpoints.len(),
        accounts_n,
        plans
            .iter()
            .map(|p| format!("{} (mid {})", p.symbol, Decimal::from(p.mid_ticks) * p.tick))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    // ---- the accounts and their nonces
    let quote_assets: Vec<u32> = all_markets
        .iter()
        .filter(|m| plans.iter().any(|p| p.id.0 == m.id))
        .map(|m| m.quote_asset_id)
        .collect();
    let pb = spinner(accounts_n as u64, "{msg} [{bar:30}] {pos}/{len}");
    pb.set_message("reading accounts");
    let lookups = futures::stream::iter(0..accounts_n)
        .map(|i| {
            let e = i as usize % endpoints.len();
            let client = clients[e].clone();
            let url = endpoints[e].clone();
            async move {
                let key = Keypair::for_testing(&format!("account-{i}"));
                let acct = client.get_account(key.public()).await.at(&url)?;
                Ok::<_, CliError>((i, e, key, acct))
            }
        })
        // At most --concurrency lookups per endpoint: every HTTP connection the client
        // keeps open counts against the node's per-IP limit (`rpc.max_connections_per_ip`,
        // 32 by default), and the WebSocket follower must still get in afterwards.
        .buffer_unordered(args.concurrency * endpoints.len());
    futures::pin_mut!(lookups);
    let mut accounts = Vec::new();
    let mut unfunded = Vec::new();
    while let Some(r) = lookups.next().await {
        let (i, e, key, acct) = r?;
        let funded = quote_assets.iter().all(|q| {
            acct.balances
                .iter()
                .any(|b| b.asset_id == *q && b.free > Decimal::ZERO)
        });
        if !funded {
            unfunded.push(i);
        }
        accounts.push((i, e, key, acct.pending_nonce));
        pb.inc(1);
    }
    pb.finish_and_clear();
    if !unfunded.is_empty() {
        unfunded.sort_unstable();
        return Err(CliError::failed(format!(
            "{} of the {} test accounts have no quote balance (first: account-{}): run the bench against a \
             `ledger-node testnet` network (it funds account-0 .. account-1023), or lower --accounts",
            unfunded.len(),
            accounts_n,
            unfunded[0]
        )));
    }
    accounts.sort_by_key(|a| a.0);

    // ---- signature verification rate (the network is idle now)
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let verify_seconds = args.verify_seconds;
    note(format!(
        "measuring ed25519 batch verification for {verify_seconds} s on {threads} thread(s)..."
    ));
    let sig_rate = if verify_seconds > 0.0 {
        tokio::task::spawn_blocking(move || measure_verify(verify_seconds, threads))
            .await
            .unwrap_or(0.0)
    } else {
        0.0
    };
    let ceiling = sig_rate / validators as f64;

    let max_pending = args.max_pending.unwrap_or(if args.rate.is_some() {
        PACED_WINDOW
    } else {
        UNPACED_WINDOW
    });

    // ---- pre-signing
    let presign = args.presign.unwrap_or_else(|| {
        let per_sec = args.rate.unwrap_or(6000.0);
        (per_sec * args.duration * 1.02).ceil() as usize + args.batch * args.concurrency
    }) as u64;
    let in_flight_max = args.batch * args.concurrency * endpoints.len();
    let refill_below = (in_flight_max * 2).min(presign as usize).max(1);
    let queues = Arc::new(Queues {
        per_endpoint: (0..endpoints.len())
            .map(|_| Mutex::new(VecDeque::new()))
            .collect(),
        queued: AtomicUsize::new(0),
        signed: AtomicU64::new(0),
        producers_running: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
    });
    let producer_threads = threads.min(accounts.len()).max(1);
    let mut per_thread: Vec<Vec<Generator>> = (0..producer_threads).map(|_| Vec::new()).collect();
    for (i, e, key, nonce) in accounts {
        per_thread[i as usize % producer_threads].push(Generator {
            wallet: Wallet::new(key, status.chain_id.clone(), nonce),
            endpoint: e,
            rng: StdRng::seed_from_u64(args.seed ^ (u64::from(i) << 20)),
            markets: plans.clone(),
            cancel_percent: u32::from(args.cancel_percent),
            recent: VecDeque::new(),
            maybe_open: 0,
        });
    }
    let mut producers = Vec::new();
    queues
        .producers_running
        .store(producer_threads, Ordering::Release);
    let sign_start = Instant::now();
    for gens in per_thread {
        let q = queues.clone();
        producers.push(std::thread::spawn(move || {
            produce(gens, q, presign, refill_below)
        }));
    }
    let pb = spinner(
        presign,
        "{msg} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})",
    );
    pb.set_message("pre-signing");
    loop {
        let n = queues.signed.load(Ordering::Relaxed);
        pb.set_position(n.min(presign));
        if n >= presign {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    pb.finish_and_clear();
    let presign_secs = sign_start.elapsed().as_secs_f64();
    note(format!(
        "pre-signed {} transactions in {:.1} s; submitting for {} s{}",
        queues.signed.load(Ordering::Relaxed),
        presign_secs,
        args.duration,
        args.rate
            .map(|r| format!(" at {r} tx/s"))
            .unwrap_or_else(|| " as fast as the nodes take them".into())
    ));

    // ---- follow final blocks (subscribe before the first submission)
    let ws = ws_url(&endpoints[0]);
    let run = Arc::new(Run {
        base: Instant::now(),
        window_end_us: AtomicU64::new(u64::MAX),
        inflight: Mutex::new(HashMap::new()),
        latencies_us: Mutex::new(Vec::new()),
        reasons: Mutex::new(BTreeMap::new()),
        sample: Mutex::new(Vec::new()),
        c: Counters::default(),
        stop_submit: AtomicBool::new(false),
        stop_follow: AtomicBool::new(false),
        fatal: Mutex::new(None),
    });
    // Check the WebSocket endpoint before starting (a clear error if it is not there).
    drop(ctx.connect(&ws).await?);
    let start_height = c0.chain_status().await.at(&url0)?.final_height;
    let health = Arc::new(Health::new(endpoints.clone(), quiet));
    for e in 0..endpoints.len() {
        health.ok(e);
    }
    let follower = tokio::spawn(follow(
        ctx.clone(),
        clients.clone(),
        health.clone(),
        run.clone(),
        start_height,
    ));
    let trade_counter = tokio::spawn(count_trades(
        ctx.clone(),
        health.clone(),
        plans.to_vec(),
        run.clone(),
    ));
    let prober = tokio::spawn(probe(clients.clone(), health.clone(), run.clone()));
    // Give the subscriptions a moment to be registered.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let stages_before = scrape_stages(&metrics_urls).await;

    // ---- submit
    let start = Instant::now();
    let window = Duration::from_secs_f64(args.duration);
    run.window_end_us.store(
        (start + window).duration_since(run.base).as_micros() as u64,
        Ordering::Relaxed,
    );
    let pacer = Arc::new(Pacer {
        start,
        per_item: args.rate.map(|r| Duration::from_secs_f64(1.0 / r)),
        issued: AtomicU64::new(0),
    });
    let mut workers = Vec::new();
    for e in 0..clients.len() {
        for _ in 0..args.concurrency {
            workers.push(tokio::spawn(worker(
                e,
                clients.clone(),
                health.clone(),
                queues.clone(),
                run.clone(),
                pacer.clone(),
                args.batch,
                max_pending,
            )));
        }
    }
    let pb = spinner(
        window.as_millis() as u64,
        "{elapsed_precise} [{bar:30}] {msg}",
    );
    let terminal = std::io::stderr().is_terminal();
    let mut last_log = Instant::now();
    let mut history: VecDeque<(Instant, u64)> = VecDeque::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    loop {
        let elapsed = start.elapsed();
        if elapsed >= window || run.failed() {
            break;
        }
        let fin = run.c.finalized.load(Ordering::Relaxed);
        history.push_back((Instant::now(), fin));
        while history.len() > 2 && history[0].0.elapsed() > Duration::from_secs(5) {
            history.pop_front();
        }
        let recent = match (history.front(), history.back()) {
            (Some(a), Some(b)) if b.0 > a.0 => (b.1 - a.1) as f64 / (b.0 - a.0).as_secs_f64(),
            _ => 0.0,
        };
        let msg = format!(
            "submitted {}  final {}  rejected {}  retries {}  in flight {}  final/s {:.0}",
            run.c.submitted.load(Ordering::Relaxed),
            fin,
            run.c.rejected.load(Ordering::Relaxed),
            run.c.retries.load(Ordering::Relaxed),
            run.inflight.lock().map(|m| m.len()).unwrap_or(0),
            recent
        );
        pb.set_position(elapsed.as_millis() as u64);
        pb.set_message(msg.clone());
        if !terminal && !quiet && last_log.elapsed() >= Duration::from_secs(5) {
            eprintln!("[{:>5.1} s] {msg}", elapsed.as_secs_f64());
            last_log = Instant::now();
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = &mut ctrl_c => { interrupted = true; break; }
        }
    }
    let window_secs = start.elapsed().as_secs_f64().min(args.duration);
    if interrupted {
        run.window_end_us.store(
            Instant::now().duration_since(run.base).as_micros() as u64,
            Ordering::Relaxed,
        );
    }
    run.stop_submit.store(true, Ordering::Release);
    queues.stop.store(true, Ordering::Release);
    pb.finish_and_clear();
    for w in workers {
        let _ = w.await;
    }
    if let Some(e) = run.fatal.lock().unwrap_or_else(|e| e.into_inner()).take() {
        run.stop_follow.store(true, Ordering::Release);
        return Err(e);
    }

    // ---- drain: wait for accepted transactions to become final
    let drain_start = Instant::now();
    let pending0 = run.inflight.lock().map(|m| m.len()).unwrap_or(0) as u64;
    let pb = spinner(pending0, "{msg} [{bar:30}] {pos}/{len}");
    pb.set_message("waiting for final blocks");
    while drain_start.elapsed().as_secs_f64() < args.drain && !interrupted {
        let left = run.inflight.lock().map(|m| m.len()).unwrap_or(0) as u64;
        pb.set_position(pending0.saturating_sub(left));
        if left == 0 || run.failed() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = &mut ctrl_c => break,
        }
    }
    pb.finish_and_clear();
    run.stop_follow.store(true, Ordering::Release);
    let _ = follower.await;
    let _ = trade_counter.await;
    let _ = prober.await;
    for p in producers {
        let _ = p.join();
    }

    let stages = crate::stages::since(&scrape_stages(&metrics_urls).await, &stages_before);

    // ---- engine outcome of a sample of final transactions
    let sample: Vec<TxHash> = run
        .sample
        .lock()
        .map(|s| s.iter().take(ENGINE_SAMPLE).copied().collect())
        .unwrap_or_default();
    let mut engine_rejected = 0u64;
    let mut engine_reasons: BTreeMap<String, u64> = BTreeMap::new();
    let live = (0..clients.len())
        .find(|&e| !health.is_down(e))
        .unwrap_or(0);
    let checked: Vec<_> = futures::stream::iter(sample.iter().copied())
        .map(|h| {
            let c = clients[live].clone();
            async move { c.get_tx(h).await }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut sampled = 0u64;
    for v in checked.into_iter().flatten() {
        sampled += 1;
        if v.status == TxStatus::Rejected {
            engine_rejected += 1;
            let r = v
                .error
                .as_ref()
                .and_then(|e| e.reason().map(str::to_string))
                .unwrap_or_else(|| "unknown".into());
            *engine_reasons.entry(r).or_default() += 1;
        }
    }

    // ---- report
    let mut lat = run
        .latencies_us
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    lat.sort_unstable();
    let c = &run.c;
    let submitted = c.submitted.load(Ordering::Relaxed);
    let finalized = c.finalized.load(Ordering::Relaxed);
    let window_orders = c.window_orders.load(Ordering::Relaxed);
    let window_cancels = c.window_cancels.load(Ordering::Relaxed);
    let final_orders_per_sec = window_orders as f64 / window_secs.max(1e-9);
    let final_tx_per_sec = (window_orders + window_cancels) as f64 / window_secs.max(1e-9);
    let not_final = run.inflight.lock().map(|m| m.len()).unwrap_or(0) as u64;
    let ceiling_fraction = if ceiling > 0.0 {
        final_orders_per_sec / ceiling
    } else {
        0.0
    };
    let mean = if lat.is_empty() {
        0.0
    } else {
        lat.iter().sum::<u64>() as f64 / lat.len() as f64 / 1000.0
    };
    let reasons = run.reasons.lock().map(|r| r.clone()).unwrap_or_default();
    let summary = json!({
        "endpoints": endpoints,
        "chain_id": status.chain_id,
        "consensus": status.consensus,
        "validators": validators,
        "accounts": accounts_n,
        "markets": plans.iter().map(|p| p.symbol.clone()).collect::<Vec<_>>(),
        "duration_s": round2(window_secs),
        "rate_target": args.rate,
        "batch": args.batch,
        "concurrency": args.concurrency,
        "max_pending": max_pending,
        "presigned": queues.signed.load(Ordering::Relaxed),
        "presign_s": round2(presign_secs),
        "submitted": submitted,
        "submitted_per_sec": round2(submitted as f64 / window_secs.max(1e-9)),
        "rejected_at_submit": c.rejected.load(Ordering::Relaxed),
        "rejected_reasons": reasons,
        "retries": c.retries.load(Ordering::Relaxed),
        "transport_errors": c.transport_errors.load(Ordering::Relaxed),
        "abandoned": c.abandoned.load(Ordering::Relaxed),
        "finalized": finalized,
        "finalized_in_window": window_orders + window_cancels,
        "not_final": not_final,
        "final_orders_per_sec": round2(final_orders_per_sec),
        "final_tx_per_sec": round2(final_tx_per_sec),
        "latency_ms": {
            "p50": round2(percentile(&lat, 50.0)),
            "p95": round2(percentile(&lat, 95.0)),
            "p99": round2(percentile(&lat, 99.0)),
            "max": round2(lat.last().map(|&v| v as f64 / 1000.0).unwrap_or(0.0)),
            "mean": round2(mean),
        },
        "blocks": c.blocks.load(Ordering::Relaxed),
        "trades": c.trades.load(Ordering::Relaxed),
        "follower_reconnects": c.follower_reconnects.load(Ordering::Relaxed),
        "endpoints_down": health.ever_down.lock().map(|v| v.clone()).unwrap_or_default(),
        "failovers": health.failovers.load(Ordering::Relaxed),
        "engine_rejected_sample": {
            "sampled": sampled,
            "rejected": engine_rejected,
            "reasons": engine_reasons,
        },
        "sig_verify_threads": threads,
        "sig_verify_batch": VERIFY_BATCH,
        "sig_verify_per_sec": round2(sig_rate),
        "signature_ceiling": round2(ceiling),
        "ceiling_fraction": (ceiling_fraction * 10_000.0).round() / 10_000.0,
        "interrupted": interrupted,
        "stages": crate::stages::to_json(&stages),
    });
    if ctx.json {
        print_json_line(&summary);
    } else {
        let reasons_s = if reasons.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                reasons
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let stage_rows = crate::stages::rows(&stages);
        let mut rows = vec![
            (
                "run",
                format!(
                    "{:.1} s window{}, {} endpoint(s), {} accounts, {} validators",
                    window_secs,
                    if interrupted { " (interrupted)" } else { "" },
                    endpoints.len(),
                    accounts_n,
                    validators
                ),
            ),
            (
                "submitted",
                format!(
                    "{submitted} accepted ({:.0}/s), {} rejected at submit{reasons_s}, {} back-pressure retries",
                    submitted as f64 / window_secs.max(1e-9),
                    c.rejected.load(Ordering::Relaxed),
                    c.retries.load(Ordering::Relaxed)
                ),
            ),
            (
                "final",
                format!(
                    "{finalized} ({} in the window, {not_final} not final after the drain)",
                    window_orders + window_cancels
                ),
            ),
            (
                "final orders/s",
                format!(
                    "{final_orders_per_sec:.1}  (with cancels: {final_tx_per_sec:.1} tx/s)"
                ),
            ),
            (
                "latency",
                format!(
                    "p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms (submit to final block)",
                    percentile(&lat, 50.0),
                    percentile(&lat, 95.0),
                    percentile(&lat, 99.0)
                ),
            ),
            (
                "endpoints down",
                {
                    let down = health.ever_down.lock().map(|v| v.clone()).unwrap_or_default();
                    if down.is_empty() {
                        "none".to_string()
                    } else {
                        format!(
                            "{} (their load moved to the others {} time(s); {} transactions abandoned)",
                            down.join(", "),
                            health.failovers.load(Ordering::Relaxed),
                            c.abandoned.load(Ordering::Relaxed)
                        )
                    }
                },
            ),
            (
                "blocks, trades",
                format!(
                    "{} final blocks, {} trades in the window",
                    c.blocks.load(Ordering::Relaxed),
                    c.trades.load(Ordering::Relaxed)
                ),
            ),
            (
                "engine sample",
                format!(
                    "{engine_rejected} of {sampled} sampled final transactions rejected by the engine{}",
                    if engine_reasons.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " ({})",
                            engine_reasons
                                .iter()
                                .map(|(k, v)| format!("{k}: {v}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                ),
            ),
            (
                "sig verify",
                format!(
                    "{sig_rate:.0}/s on {threads} thread(s) (ed25519 batches of {VERIFY_BATCH})"
                ),
            ),
            (
                "sig ceiling",
                format!("{ceiling:.0} tx/s ({sig_rate:.0} / {validators} validators)"),
            ),
            (
                "of ceiling",
                format!("{:.1}%", ceiling_fraction * 100.0),
            ),
        ];
        rows.extend(stage_rows.iter().map(|(k, v)| (k.as_str(), v.clone())));
        println!("{}", details(&rows));
    }
    if finalized == 0 {
        eprintln!(
            "warning: no submitted transaction became final (is the network finalizing blocks? `ledger-cli status`)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
        assert_eq!(percentile(&[7000], 99.0), 7.0);
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            classify(-32005, Some("mempool_full")),
            Refusal::Retry
        ));
        assert!(matches!(
            classify(-32005, Some("account_limit")),
            Refusal::Retry
        ));
        assert!(matches!(
            classify(-32003, Some("nonce_too_high")),
            Refusal::Retry
        ));
        assert!(matches!(classify(-32002, Some("syncing")), Refusal::Retry));
        assert!(matches!(
            classify(-32003, Some("duplicate")),
            Refusal::Known
        ));
        assert!(matches!(
            classify(-32003, Some("insufficient_balance")),
            Refusal::Reject(r) if r == "insufficient_balance"
        ));
        assert!(matches!(classify(-32602, None), Refusal::Reject(_)));
    }

    #[test]
    fn generator_mix_is_valid_and_sequential() {
        let plans = Arc::new(vec![MarketPlan {
            id: MarketId(0),
            symbol: "BTC/USD".into(),
            tick: Decimal::new(1, 2),
            unit: Decimal::new(1, 4),
            mid_ticks: 10_000,
        }]);
        let mut g = Generator {
            wallet: Wallet::new(Keypair::for_testing("account-0"), "ledger-test", 7),
            endpoint: 0,
            rng: StdRng::seed_from_u64(1),
            markets: plans,
            cancel_percent: 5,
            recent: VecDeque::new(),
            maybe_open: 0,
        };
        let (mut cancels, mut buys, mut sells, mut cancel_alls) = (0, 0, 0, 0);
        for i in 0..2000u64 {
            let s = g.next();
            assert_eq!(s.wire.nonce, 7 + i);
            assert!(s.wire.hash.is_none());
            let stx = s.wire.clone().into_signed().unwrap();
            assert_eq!(stx.hash(), s.hash);
            match &stx.tx.payload {
                ledger_types::Payload::PlaceOrder(o) => {
                    assert!(!s.cancel);
                    let p = o.price.unwrap();
                    assert!((p % Decimal::new(1, 2)).is_zero());
                    assert!(p >= Decimal::new(9992, 2) && p <= Decimal::new(10008, 2));
                    match o.side {
                        Side::Buy => buys += 1,
                        Side::Sell => sells += 1,
                    }
                }
                ledger_types::Payload::CancelOrder(_) => {
                    assert!(s.cancel);
                    cancels += 1
                }
                ledger_types::Payload::CancelAll(_) => {
                    assert!(s.cancel);
                    cancel_alls += 1
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(buys > 700 && sells > 700, "{buys} {sells}");
        assert!((40..=200).contains(&cancels), "{cancels}");
        assert!(cancel_alls >= 3, "{cancel_alls}");
        // Signatures verify.
        let stx = g.next().wire.into_signed().unwrap();
        assert_eq!(stx.verify(), Ok(()));
    }

    #[test]
    fn verification_rate_is_measured() {
        let r = measure_verify(0.1, 1);
        assert!(r > 1000.0, "{r}");
    }
}
