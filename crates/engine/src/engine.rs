//! The matching engine: accounts, books, matching, settlement and the state root.

use crate::events::{CancelReason, Event, ExpireReason, Fill, Receipt, Rejection};
use crate::fasthash::{ClientIdMap, FastMap};
use crate::market::{fee, MarketConfig, BPS};
use crate::root::{Accumulator, LeafHasher};
use crate::state::{
    AccountRecord, Balance, ChangeSet, Counters, Depth, EngineState, LevelView, OrderRecord,
};
use ledger_types::decimal::to_units;
use ledger_types::genesis::Genesis;
use ledger_types::{
    Address, AssetId, CancelAll, CancelOrder, ClientOrderId, Hash, MarketId, OrderId, OrderKind,
    OrderRef, Payload, PlaceOrder, SelfTradePrevention, Side, SignedTx, TimeInForce, Transfer, Tx,
    TxHash,
};
use std::collections::{BTreeMap, BTreeSet};

mod amend;
mod batch;
mod expiry;
mod ladder;
mod order_index;

const NIL: u32 = u32::MAX;

#[path = "bundle.rs"]
mod bundle;
#[path = "swap.rs"]
pub mod swap;

/// Why a stored state could not be restored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RestoreError {
    /// The genesis fails validation.
    #[error("invalid genesis: {0}")]
    Genesis(String),
    /// The state contradicts itself or the genesis.
    #[error("inconsistent engine state: {0}")]
    Inconsistent(String),
}

#[derive(Clone, Debug)]
struct Account {
    key: Address,
    nonce: u64,
    open_orders: u32,
    orders_head: u32,
    orders_tail: u32,
    /// The dead man's switch height, if armed (also a key of `Engine::schedules`).
    cancel_at: Option<u64>,
    dirty: bool,
    committed: Option<[u8; 32]>,
}

/// The hot part of an order slot: its links in its price level's and its account's
/// lists, its owner, its flags and its committed leaf hash (60 bytes, one cache line
/// for what unlinking and committing touch). The order itself is `Engine::orders[s]`.
#[derive(Clone, Copy, Debug)]
struct Slot {
    acct: u32,
    prev: u32,
    next: u32,
    acct_prev: u32,
    acct_next: u32,
    live: bool,
    dirty: bool,
    /// The order's leaf hash as of the last commit, if it has been committed.
    leaf: Option<[u8; 32]>,
}

#[derive(Clone, Copy, Debug)]
struct Level {
    head: u32,
    tail: u32,
    lots: u64,
    count: u32,
}

#[derive(Clone, Debug)]
struct Book {
    bids: ladder::Ladder,
    asks: ladder::Ladder,
}

impl Book {
    fn new() -> Book {
        Book {
            bids: ladder::Ladder::new(true),
            asks: ladder::Ladder::new(false),
        }
    }

    fn side(&self, side: Side) -> &ladder::Ladder {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut ladder::Ladder {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// Best resting price and level on `side`.
    fn best(&self, side: Side) -> Option<(u64, Level)> {
        self.side(side).best()
    }
}

/// True if a taker on `taker_side` with limit `limit` trades against a maker at `price`.
fn crosses(taker_side: Side, limit: Option<u64>, price: u64) -> bool {
    match (taker_side, limit) {
        (_, None) => true,
        (Side::Buy, Some(l)) => price <= l,
        (Side::Sell, Some(l)) => price >= l,
    }
}

/// The incoming order while it matches.
struct Taker<'p> {
    acct: u32,
    id: OrderId,
    /// Read from the transaction where it is needed (as `good_till`): a copy on the
    /// stack was written 8 bytes at a time and read back 16 at a time, a store-to-load
    /// forwarding failure that waited for every older store (the events just written).
    client_order_id: &'p Option<ClientOrderId>,
    side: Side,
    kind: OrderKind,
    limit: Option<u64>,
    quantity: u64,
    remaining: u64,
    /// Funds locked for a limit order (quote for a buy, base for a sell).
    locked: u128,
    stp: SelfTradePrevention,
    good_till: &'p Option<u64>,
}

/// The deterministic matching engine.
///
/// Pure: no I/O, clock, randomness or hash-map iteration (hash maps serve lookups only;
/// everything that is iterated is a `Vec` or `BTreeMap`). Feed it the same transactions
/// and it reaches the same state and the same [`Engine::commit`] root.
///
/// Rules:
/// * **Nonces** are strictly sequential per account from 0. A transaction for another
///   chain, or with a used or future nonce, is rejected with no effect. Any other
///   transaction consumes its nonce, even if its payload is then rejected.
/// * **Locks**: a limit buy locks `notional at its limit + fee at max(maker, taker)`; a
///   limit sell locks its base quantity. Fills spend from the order's lock; what is left
///   when the order completes, is cancelled or expires returns to free balance. Market
///   orders lock nothing: each fill is paid from the free balance, and the order stops
///   when the balance cannot pay for one more lot.
/// * **Priority**: best price first, then arrival (a per-engine sequence number).
///   Trades execute at the resting order's price.
/// * **Fees** are charged in the quote asset on each fill: the maker pays
///   `maker_fee_bps`, the taker `taker_fee_bps`, each rounded down to the quote asset's
///   smallest unit (see [`fee`]); both are credited to the genesis fee account.
/// * **Self-trade prevention** follows the taker's mode, default `EXPIRE_MAKER` (the
///   resting order of the same account is expired and matching continues);
///   `EXPIRE_TAKER` expires the taker's remainder; `EXPIRE_BOTH` does both.
/// * **Time in force**: GTC rests its remainder; IOC expires it; FOK is checked against
///   the book first and rejected with no book or balance change unless it fills
///   completely; post-only (ALO) is rejected if it would trade on arrival. Market orders
///   must be IOC or FOK; an optional price bounds how far they walk the book.
#[derive(Clone, Debug)]
pub struct Engine {
    chain_id: String,
    markets: Vec<MarketConfig>,
    books: Vec<Book>,
    n_assets: usize,
    asset_decimals: Vec<u32>,
    fee_account: u32,
    max_open_orders: u32,
    accounts: Vec<Account>,
    /// Every account's balances in one array: account `a`'s balance of asset `i` is at
    /// `a * n_assets + i` (see [`Engine::bal_index`]).
    balances: Vec<Balance>,
    account_index: FastMap<Address, u32>,
    slots: Vec<Slot>,
    /// The order in each slot (stale in a free slot).
    orders: Vec<OrderRecord>,
    free_slots: Vec<u32>,
    order_index: order_index::OrderIndex,
    client_index: ClientIdMap<(u32, ClientOrderId), u32>,
    counters: Counters,
    acc: Accumulator,
    dirty_accounts: Vec<u32>,
    dirty_slots: Vec<u32>,
    removed_orders: Vec<OrderId>,
    events: Vec<Event>,
    /// Resting good-till orders by (good-till height, sequence).
    gtd: BTreeMap<(u64, u64), OrderId>,
    /// Armed dead man's switches by (height, account).
    schedules: BTreeSet<(u64, u32)>,
    /// Per-action results of the last batch applied.
    action_results: Vec<Result<(), Rejection>>,
    swaps: swap::SwapBook,
}

impl Engine {
    /// An engine holding the genesis balances, with its first commit done.
    pub fn from_genesis(genesis: &Genesis) -> Result<Engine, RestoreError> {
        genesis
            .validate()
            .map_err(|e| RestoreError::Genesis(e.to_string()))?;
        let mut engine = Engine::empty(genesis);
        for b in &genesis.balances {
            let asset = genesis
                .asset_id(&b.asset)
                .ok_or_else(|| RestoreError::Genesis(format!("unknown asset {}", b.asset)))?;
            let units = to_units(b.amount, genesis.assets[asset.0 as usize].decimals)
                .ok_or_else(|| RestoreError::Genesis(format!("bad amount {}", b.amount)))?;
            let a = engine.ensure_account(b.account);
            engine.bal_mut(a, asset.0 as usize).free += units;
        }
        engine.commit();
        Ok(engine)
    }

    fn empty(genesis: &Genesis) -> Engine {
        let markets = MarketConfig::all_from_genesis(genesis);
        let mut engine = Engine {
            chain_id: genesis.chain_id.clone(),
            books: vec![Book::new(); markets.len()],
            markets,
            n_assets: genesis.assets.len(),
            asset_decimals: genesis.assets.iter().map(|a| a.decimals).collect(),
            fee_account: 0,
            max_open_orders: genesis.limits.max_open_orders_per_account,
            accounts: Vec::new(),
            balances: Vec::new(),
            account_index: FastMap::default(),
            slots: Vec::new(),
            orders: Vec::new(),
            free_slots: Vec::new(),
            order_index: order_index::OrderIndex::default(),
            client_index: ClientIdMap::default(),
            counters: Counters::default(),
            acc: Accumulator::default(),
            dirty_accounts: Vec::new(),
            dirty_slots: Vec::new(),
            removed_orders: Vec::new(),
            events: Vec::new(),
            gtd: BTreeMap::new(),
            schedules: BTreeSet::new(),
            action_results: Vec::new(),
            swaps: swap::SwapBook::default(),
        };
        engine.fee_account = engine.ensure_account(genesis.fee_account);
        engine
    }

    // ----------------------------------------------------------------- transactions

    /// Executes a signed transaction (its signature is not checked here: that is the
    /// mempool's and block validation's job). Events go to [`Engine::take_events`].
    pub fn apply_signed(&mut self, stx: &SignedTx) -> Result<(), Rejection> {
        self.apply(&stx.tx, stx.hash())
    }

    /// Executes a transaction whose id is `hash`.
    pub fn apply(&mut self, tx: &Tx, hash: TxHash) -> Result<(), Rejection> {
        if tx.chain_id != self.chain_id {
            return Err(Rejection::WrongChainId {
                expected: self.chain_id.clone(),
                got: tx.chain_id.clone(),
            });
        }
        if let Some(v) = tx.valid_until_height {
            if self.counters.height > v {
                return Err(Rejection::TxExpired {
                    valid_until_height: v,
                    height: self.counters.height,
                });
            }
        }
        let known = self.account_index.get(&tx.sender).copied();
        let expected = known.map_or(0, |a| self.accounts[a as usize].nonce);
        if tx.nonce < expected {
            return Err(Rejection::NonceReplayed {
                expected,
                got: tx.nonce,
            });
        }
        if tx.nonce > expected {
            return Err(Rejection::NonceTooHigh {
                expected,
                got: tx.nonce,
            });
        }
        let a = match known {
            Some(a) => a,
            None => self.ensure_account(tx.sender),
        };
        self.accounts[a as usize].nonce += 1;
        self.touch_account(a);
        match &tx.payload {
            Payload::PlaceOrder(p) => self.place(a, hash, p),
            Payload::CancelOrder(c) => self.cancel(a, c),
            Payload::CancelAll(c) => self.cancel_all(a, c),
            Payload::Transfer(t) => self.transfer(a, t),
            Payload::Batch(b) => self.batch(a, hash, b),
            Payload::AmendOrder(am) => self.amend(a, am),
            Payload::ScheduleCancel(sc) => self.schedule_cancel(a, sc),
            Payload::Bundle(b) => self.bundle(a, hash, b),
            Payload::SwapLock(l) => self.swap_lock(a, hash, l),
            Payload::SwapClaim(c) => self.swap_claim(a, c),
            Payload::SwapRefund(r) => self.swap_refund(a, r),
        }
    }

    /// Executes the next block (at the engine's height + 1): see
    /// [`Engine::execute_block_at`].
    pub fn execute_block(&mut self, txs: &[SignedTx]) -> BlockOutcome {
        self.execute_block_at(self.counters.height + 1, txs)
    }

    /// Executes the block at `height`: [`Engine::begin_block`] (expiries and scheduled
    /// cancels, reported as the block's own events), then the transactions in order,
    /// then commits. Returns a receipt per transaction, the new state root and the
    /// state changes to persist.
    pub fn execute_block_at(&mut self, height: u64, txs: &[SignedTx]) -> BlockOutcome {
        let start = self.events.len();
        self.begin_block(height);
        let block_events = self.events.drain(start..).collect();
        let mut receipts = Vec::with_capacity(txs.len());
        for stx in txs {
            let start = self.events.len();
            let result = self.apply_signed(stx);
            receipts.push(Receipt {
                tx_hash: stx.hash(),
                sender: stx.sender(),
                result,
                events: self.events.drain(start..).collect(),
                actions: self.take_action_results(),
            });
        }
        let (state_root, changes) = self.commit_with_changes();
        BlockOutcome {
            receipts,
            block_events,
            state_root,
            changes,
        }
    }

    /// The per-action results of the last batch applied (empty if the last transaction
    /// was not an accepted batch); clears them.
    pub fn take_action_results(&mut self) -> Vec<Result<(), Rejection>> {
        std::mem::take(&mut self.action_results)
    }

    /// Drains the events produced since the last call. The engine's next buffer starts
    /// with room for as many events, so a steady stream does not regrow it by copying.
    pub fn take_events(&mut self) -> Vec<Event> {
        let room = self.events.len();
        std::mem::replace(&mut self.events, Vec::with_capacity(room))
    }

    /// The events produced since the last [`Engine::take_events`] or
    /// [`Engine::clear_events`], oldest first (for callers that read them in place).
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Discards pending events (for callers that do not need them).
    pub fn clear_events(&mut self) {
        self.events.clear();
    }

    fn place(&mut self, a: u32, id: OrderId, p: &PlaceOrder) -> Result<(), Rejection> {
        let m = p.market.0 as usize;
        let cfg = self
            .markets
            .get(m)
            .ok_or(Rejection::UnknownMarket(p.market))?;
        let lots = cfg
            .quantity_to_lots(p.quantity)
            .ok_or(Rejection::InvalidQuantity)?;
        if lots < cfg.min_lots {
            return Err(Rejection::BelowMinSize {
                min_lots: cfg.min_lots,
            });
        }
        let limit = match p.price {
            Some(price) => Some(cfg.price_to_ticks(price).ok_or(Rejection::InvalidPrice)?),
            None => None,
        };
        match p.kind {
            OrderKind::Limit if limit.is_none() => return Err(Rejection::MissingPrice),
            OrderKind::Market
                if !matches!(p.time_in_force, TimeInForce::Ioc | TimeInForce::Fok) =>
            {
                return Err(Rejection::InvalidTimeInForce)
            }
            _ => {}
        }
        // Every fill of this order has a notional at most this, so settlement never
        // overflows once this check passes.
        let limit_notional = match limit {
            Some(px) => Some(
                cfg.notional(px, lots)
                    .filter(|n| *n <= u128::MAX / BPS)
                    .ok_or(Rejection::Overflow)?,
            ),
            None => None,
        };
        if let Some(cid) = p.client_order_id {
            if self.client_index.contains_key(&(a, cid)) {
                return Err(Rejection::DuplicateClientOrderId);
            }
        }
        let may_rest = p.kind == OrderKind::Limit
            && matches!(p.time_in_force, TimeInForce::Gtc | TimeInForce::PostOnly);
        if let Some(gt) = p.good_till_height {
            if !may_rest {
                return Err(Rejection::InvalidTimeInForce);
            }
            if gt < self.counters.height {
                return Err(Rejection::GoodTillInPast {
                    good_till_height: gt,
                    height: self.counters.height,
                });
            }
        }
        if may_rest && self.accounts[a as usize].open_orders >= self.max_open_orders {
            return Err(Rejection::TooManyOpenOrders {
                limit: self.max_open_orders,
            });
        }
        let book = &self.books[m];
        let best = book.best(p.side.opposite());
        if p.time_in_force == TimeInForce::PostOnly {
            if let (Some((price, _)), Some(_)) = (best, limit) {
                if crosses(p.side, limit, price) {
                    return Err(Rejection::PostOnlyWouldCross);
                }
            }
        }
        // Funds.
        let (pay_asset, base_units_per_lot) = match p.side {
            Side::Buy => (cfg.quote, cfg.base_units_per_lot),
            Side::Sell => (cfg.base, cfg.base_units_per_lot),
        };
        let free = self.bal(a, pay_asset.0 as usize).free;
        let lock = match (p.kind, p.side, limit_notional) {
            (OrderKind::Limit, Side::Buy, Some(n)) => n + fee(n, cfg.max_fee_bps()),
            (OrderKind::Limit, Side::Sell, _) => cfg.base_units(lots).ok_or(Rejection::Overflow)?,
            _ => 0,
        };
        if lock > free {
            return Err(Rejection::InsufficientBalance {
                asset: pay_asset,
                needed: lock,
                available: free,
            });
        }
        if p.kind == OrderKind::Market {
            match best {
                Some((price, _)) if crosses(p.side, limit, price) => {}
                _ => return Err(Rejection::NoLiquidity),
            }
            let (price, _) = best.ok_or(Rejection::NoLiquidity)?;
            let one_lot = match p.side {
                Side::Buy => cfg
                    .notional(price, 1)
                    .map(|n| n + fee(n, cfg.taker_fee_bps)),
                Side::Sell => Some(base_units_per_lot),
            }
            .ok_or(Rejection::Overflow)?;
            if free < one_lot {
                return Err(Rejection::InsufficientBalance {
                    asset: pay_asset,
                    needed: one_lot,
                    available: free,
                });
            }
        }
        if p.time_in_force == TimeInForce::Fok {
            let budget = match (p.kind, p.side) {
                (OrderKind::Market, Side::Buy) => Some(free),
                _ => None,
            };
            let want = match (p.kind, p.side) {
                (OrderKind::Market, Side::Sell) => lots.min((free / base_units_per_lot) as u64),
                _ => lots,
            };
            if want < lots || self.fillable(m, a, p.side, limit, want, p.self_trade, budget) < lots
            {
                return Err(Rejection::FillOrKillUnfilled);
            }
        }

        // ---- Commit point: from here on the order is accepted and cannot be rejected.
        if lock > 0 {
            let bal = self.bal_mut(a, pay_asset.0 as usize);
            bal.free -= lock;
            bal.locked += lock;
        }
        let account = self.accounts[a as usize].key;
        emit(&mut self.events, || Event::OrderAccepted {
            order_id: id,
            client_order_id: p.client_order_id,
            account,
            market: p.market,
            side: p.side,
            kind: p.kind,
            time_in_force: p.time_in_force,
            price: limit,
            quantity: lots,
        });
        let mut taker = Taker {
            acct: a,
            id,
            client_order_id: &p.client_order_id,
            side: p.side,
            kind: p.kind,
            limit,
            quantity: lots,
            remaining: lots,
            locked: lock,
            stp: p.self_trade,
            good_till: &p.good_till_height,
        };
        let stop = self.match_taker(m, &mut taker);
        self.finish_taker(m, &taker, stop, may_rest);
        Ok(())
    }

    /// Matches the taker against the book until it is filled or must stop. Returns why
    /// it stopped early, if it did for a reason other than running out of crossing
    /// liquidity.
    ///
    /// Inlined into `place`, as are `settle` and `finish_taker` (which takes the taker by
    /// reference): fewer copies of the 144-byte `Taker` between stack frames.
    #[inline(always)]
    fn match_taker(&mut self, m: usize, t: &mut Taker) -> Option<ExpireReason> {
        let maker_side = t.side.opposite();
        while t.remaining > 0 {
            let (price, level) = self.books[m].best(maker_side)?;
            if !crosses(t.side, t.limit, price) {
                return (t.kind == OrderKind::Market).then_some(ExpireReason::PriceBound);
            }
            let s = level.head;
            if self.slots[s as usize].acct == t.acct {
                match t.stp {
                    SelfTradePrevention::ExpireMaker => {
                        self.remove_resting(s, RemoveWhy::Expired(ExpireReason::SelfTrade));
                        continue;
                    }
                    SelfTradePrevention::ExpireTaker => return Some(ExpireReason::SelfTrade),
                    SelfTradePrevention::ExpireBoth => {
                        self.remove_resting(s, RemoveWhy::Expired(ExpireReason::SelfTrade));
                        return Some(ExpireReason::SelfTrade);
                    }
                }
            }
            let cfg = &self.markets[m];
            let mut q = t.remaining.min(self.orders[s as usize].remaining);
            if t.kind == OrderKind::Market {
                let bal = self.bals(t.acct);
                let affordable = match t.side {
                    Side::Buy => {
                        let free = bal[cfg.quote.0 as usize].free;
                        let per_lot = price as u128 * cfg.quote_units_per_tick_lot;
                        let n = per_lot * q as u128;
                        if n + fee(n, cfg.taker_fee_bps) <= free {
                            q // the common case: no division needed
                        } else {
                            affordable_lots(free, per_lot, cfg.taker_fee_bps)
                        }
                    }
                    Side::Sell => (bal[cfg.base.0 as usize].free / cfg.base_units_per_lot)
                        .min(u64::MAX as u128) as u64,
                };
                q = q.min(affordable);
                if q == 0 {
                    return Some(ExpireReason::InsufficientBalance);
                }
            }
            self.settle(m, s, price, q, t);
        }
        None
    }

    /// Executes one fill of `q` lots at `price` between maker slot `s` and the taker.
    #[inline(always)]
    fn settle(&mut self, m: usize, s: u32, price: u64, q: u64, t: &mut Taker) {
        let cfg = &self.markets[m];
        let (quote, base) = (cfg.quote.0 as usize, cfg.base.0 as usize);
        // Both fit: the maker's limit notional was checked at its placement.
        let notional = price as u128 * q as u128 * cfg.quote_units_per_tick_lot;
        let base_units = q as u128 * cfg.base_units_per_lot;
        let maker_fee = fee(notional, cfg.maker_fee_bps);
        let taker_fee = fee(notional, cfg.taker_fee_bps);
        let maker_acct = self.slots[s as usize].acct;
        let limit_taker = t.kind == OrderKind::Limit;

        // Taker side.
        {
            let bals = self.bals_mut(t.acct);
            match t.side {
                Side::Buy => {
                    let cost = notional + taker_fee;
                    if limit_taker {
                        bals[quote].locked -= cost;
                        t.locked -= cost;
                    } else {
                        bals[quote].free -= cost;
                    }
                    bals[base].free += base_units;
                }
                Side::Sell => {
                    if limit_taker {
                        bals[base].locked -= base_units;
                        t.locked -= base_units;
                    } else {
                        bals[base].free -= base_units;
                    }
                    bals[quote].free += notional - taker_fee;
                }
            }
        }
        // Maker side: spends from its order's lock.
        {
            let order = &mut self.orders[s as usize];
            let spent = match t.side {
                Side::Buy => base_units,            // maker sells base
                Side::Sell => notional + maker_fee, // maker buys with quote
            };
            order.locked -= spent;
            order.remaining -= q;
            let bals = self.bals_mut(maker_acct);
            match t.side {
                Side::Buy => {
                    bals[base].locked -= base_units;
                    bals[quote].free += notional - maker_fee;
                }
                Side::Sell => {
                    bals[quote].locked -= notional + maker_fee;
                    bals[base].free += base_units;
                }
            }
        }
        self.bal_mut(self.fee_account, quote).free += maker_fee + taker_fee;
        t.remaining -= q;
        let level = self.books[m]
            .side_mut(t.side.opposite())
            .get_mut(price)
            .expect("the maker's level exists while it has orders");
        level.lots -= q;

        let trade_id = self.counters.next_trade_id;
        self.counters.next_trade_id += 1;
        let maker = &self.orders[s as usize];
        let taker = self.accounts[t.acct as usize].key;
        emit(&mut self.events, || {
            Event::Fill(Fill {
                trade_id,
                market: MarketId(m as u32),
                price,
                quantity: q,
                taker_side: t.side,
                maker_order: maker.id,
                maker_client_order_id: maker.client_order_id,
                maker: maker.account,
                taker_order: t.id,
                taker_client_order_id: *t.client_order_id,
                taker,
                maker_fee,
                taker_fee,
                maker_remaining: maker.remaining,
                taker_remaining: t.remaining,
            })
        });
        let maker_done = maker.remaining == 0;
        self.touch_account(t.acct);
        self.touch_account(maker_acct);
        self.touch_account(self.fee_account);
        if maker_done {
            self.remove_resting(s, RemoveWhy::Filled);
        } else {
            self.touch_slot(s);
        }
    }

    /// Rests, expires or completes the taker after matching.
    #[inline(always)]
    fn finish_taker(&mut self, m: usize, t: &Taker, stop: Option<ExpireReason>, may_rest: bool) {
        let cfg = &self.markets[m];
        let lock_asset = match t.side {
            Side::Buy => cfg.quote,
            Side::Sell => cfg.base,
        };
        let account = self.accounts[t.acct as usize].key;
        if t.remaining > 0 && stop.is_none() && may_rest {
            let price = t.limit.unwrap_or_default();
            let order = OrderRecord {
                id: t.id,
                account,
                market: MarketId(m as u32),
                side: t.side,
                price,
                quantity: t.quantity,
                remaining: t.remaining,
                locked: t.locked,
                client_order_id: *t.client_order_id,
                seq: self.counters.next_seq,
                good_till_height: *t.good_till,
            };
            self.counters.next_seq += 1;
            emit(&mut self.events, || Event::OrderRested {
                order_id: t.id,
                client_order_id: *t.client_order_id,
                account,
                market: MarketId(m as u32),
                side: t.side,
                price,
                remaining: t.remaining,
            });
            self.insert_resting(t.acct, order);
            return;
        }
        if t.remaining > 0 {
            emit(&mut self.events, || Event::OrderExpired {
                order_id: t.id,
                client_order_id: *t.client_order_id,
                account,
                market: MarketId(m as u32),
                remaining: t.remaining,
                reason: stop.unwrap_or(ExpireReason::IocRemainder),
            });
        }
        if t.locked > 0 {
            let bal = self.bal_mut(t.acct, lock_asset.0 as usize);
            bal.locked -= t.locked;
            bal.free += t.locked;
        }
        self.touch_account(t.acct);
    }

    /// Lots a taker could fill now without changing anything (for fill-or-kill).
    /// Mirrors [`Engine::match_taker`]: same order, same self-trade rule, same budget.
    #[allow(clippy::too_many_arguments)]
    fn fillable(
        &self,
        m: usize,
        acct: u32,
        side: Side,
        limit: Option<u64>,
        want: u64,
        stp: SelfTradePrevention,
        mut budget: Option<u128>,
    ) -> u64 {
        let cfg = &self.markets[m];
        let mut got = 0u64;
        for (price, level) in self.books[m].side(side.opposite()).best_first() {
            if !crosses(side, limit, price) {
                break;
            }
            let mut s = level.head;
            while s != NIL {
                let slot = self.slots[s as usize];
                let remaining = self.orders[s as usize].remaining;
                s = slot.next;
                if slot.acct == acct {
                    if stp == SelfTradePrevention::ExpireMaker {
                        continue;
                    }
                    return got;
                }
                let mut q = (want - got).min(remaining);
                if let Some(b) = budget.as_mut() {
                    let per_lot = price as u128 * cfg.quote_units_per_tick_lot;
                    q = q.min(affordable_lots(*b, per_lot, cfg.taker_fee_bps));
                    if q == 0 {
                        return got;
                    }
                    let n = per_lot * q as u128;
                    *b -= n + fee(n, cfg.taker_fee_bps);
                }
                got += q;
                if got == want {
                    return got;
                }
            }
        }
        got
    }

    fn cancel(&mut self, a: u32, c: &CancelOrder) -> Result<(), Rejection> {
        let slot = match c.order {
            OrderRef::OrderId(id) => self.slot_of(&id),
            OrderRef::ClientOrderId(cid) => self.client_index.get(&(a, cid)).copied(),
        };
        match slot {
            Some(s) if self.slots[s as usize].acct == a => {
                self.remove_resting(s, RemoveWhy::Cancelled(CancelReason::User));
                Ok(())
            }
            _ => Err(Rejection::OrderNotFound),
        }
    }

    fn cancel_all(&mut self, a: u32, c: &CancelAll) -> Result<(), Rejection> {
        if let Some(m) = c.market {
            if m.0 as usize >= self.markets.len() {
                return Err(Rejection::UnknownMarket(m));
            }
        }
        let mut victims = Vec::new();
        let mut s = self.accounts[a as usize].orders_head;
        while s != NIL {
            if c.market.is_none_or(|m| m == self.orders[s as usize].market) {
                victims.push(s);
            }
            s = self.slots[s as usize].acct_next;
        }
        for s in victims {
            self.remove_resting(s, RemoveWhy::Cancelled(CancelReason::CancelAll));
        }
        Ok(())
    }

    fn transfer(&mut self, a: u32, t: &Transfer) -> Result<(), Rejection> {
        if t.asset.0 as usize >= self.n_assets {
            return Err(Rejection::UnknownAsset(t.asset));
        }
        let amount = to_units(t.amount, self.asset_decimals[t.asset.0 as usize])
            .filter(|u| *u > 0)
            .ok_or(Rejection::InvalidAmount)?;
        if t.to == self.accounts[a as usize].key {
            return Err(Rejection::SelfTransfer);
        }
        let free = self.bal(a, t.asset.0 as usize).free;
        if amount > free {
            return Err(Rejection::InsufficientBalance {
                asset: t.asset,
                needed: amount,
                available: free,
            });
        }
        let to = self.ensure_account(t.to);
        self.bal_mut(a, t.asset.0 as usize).free -= amount;
        self.bal_mut(to, t.asset.0 as usize).free += amount;
        self.touch_account(to);
        self.events.push(Event::Transferred {
            from: self.accounts[a as usize].key,
            to: t.to,
            asset: t.asset,
            amount,
        });
        Ok(())
    }

    // ---------------------------------------------------------------- book plumbing

    fn ensure_account(&mut self, key: Address) -> u32 {
        if let Some(a) = self.account_index.get(&key) {
            return *a;
        }
        let a = self.accounts.len() as u32;
        self.accounts.push(Account {
            key,
            nonce: 0,
            open_orders: 0,
            orders_head: NIL,
            orders_tail: NIL,
            cancel_at: None,
            dirty: false,
            committed: None,
        });
        self.balances
            .resize(self.balances.len() + self.n_assets, Balance::default());
        self.account_index.insert(key, a);
        self.touch_account(a);
        a
    }

    /// The slot of live order `id`.
    #[inline]
    fn slot_of(&self, id: &OrderId) -> Option<u32> {
        self.order_index.get(id, &self.orders)
    }

    /// Where account `a`'s balance of asset `asset` sits in [`Engine::balances`].
    #[inline]
    fn bal_index(&self, a: u32, asset: usize) -> usize {
        debug_assert!(asset < self.n_assets);
        a as usize * self.n_assets + asset
    }

    /// Account `a`'s balance of `asset`.
    #[inline]
    fn bal(&self, a: u32, asset: usize) -> Balance {
        self.balances[self.bal_index(a, asset)]
    }

    /// Account `a`'s balance of `asset`, to change.
    #[inline]
    fn bal_mut(&mut self, a: u32, asset: usize) -> &mut Balance {
        let i = self.bal_index(a, asset);
        &mut self.balances[i]
    }

    /// Account `a`'s balances, one per asset.
    #[inline]
    fn bals(&self, a: u32) -> &[Balance] {
        let start = a as usize * self.n_assets;
        &self.balances[start..start + self.n_assets]
    }

    /// Account `a`'s balances, one per asset, to change.
    #[inline]
    fn bals_mut(&mut self, a: u32) -> &mut [Balance] {
        let start = a as usize * self.n_assets;
        &mut self.balances[start..start + self.n_assets]
    }

    fn touch_account(&mut self, a: u32) {
        let acct = &mut self.accounts[a as usize];
        if !acct.dirty {
            acct.dirty = true;
            self.dirty_accounts.push(a);
        }
    }

    fn touch_slot(&mut self, s: u32) {
        let slot = &mut self.slots[s as usize];
        if !slot.dirty {
            slot.dirty = true;
            self.dirty_slots.push(s);
        }
    }

    /// Puts an order at the back of its price level and of its account's order list.
    fn insert_resting(&mut self, a: u32, order: OrderRecord) {
        let (m, side, price, remaining, id, cid) = (
            order.market.0 as usize,
            order.side,
            order.price,
            order.remaining,
            order.id,
            order.client_order_id,
        );
        if let Some(gt) = order.good_till_height {
            self.gtd.insert((gt, order.seq), id);
        }
        let acct_prev = self.accounts[a as usize].orders_tail;
        let s = match self.free_slots.pop() {
            Some(s) => {
                // Written field by field, in place: no slot-sized temporary to copy. A
                // reused slot may still be queued as dirty; it keeps that flag.
                let slot = &mut self.slots[s as usize];
                slot.acct = a;
                slot.prev = NIL;
                slot.next = NIL;
                slot.acct_prev = acct_prev;
                slot.acct_next = NIL;
                slot.live = true;
                slot.leaf = None;
                self.orders[s as usize] = order;
                s
            }
            None => {
                self.orders.push(order);
                self.slots.push(Slot {
                    acct: a,
                    prev: NIL,
                    next: NIL,
                    acct_prev,
                    acct_next: NIL,
                    live: true,
                    dirty: false,
                    leaf: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        // Level FIFO.
        let level = self.books[m].side_mut(side).get_or_insert(price);
        let tail = level.tail;
        level.tail = s;
        if level.head == NIL {
            level.head = s;
        }
        level.lots += remaining;
        level.count += 1;
        if tail != NIL {
            self.slots[tail as usize].next = s;
            self.slots[s as usize].prev = tail;
        }
        // Account list.
        let acct = &mut self.accounts[a as usize];
        if acct.orders_tail != NIL {
            let t = acct.orders_tail;
            self.slots[t as usize].acct_next = s;
        } else {
            acct.orders_head = s;
        }
        acct.orders_tail = s;
        acct.open_orders += 1;
        self.order_index.insert(s, &self.orders);
        if let Some(cid) = cid {
            self.client_index.insert((a, cid), s);
        }
        self.touch_slot(s);
    }

    /// Takes an order off the book, releases its remaining lock and emits the event for
    /// why (nothing for a complete fill: the fill event says `maker_remaining: 0`).
    fn remove_resting(&mut self, s: u32, why: RemoveWhy) {
        let slot = self.slots[s as usize];
        let (prev, next, acct_prev, acct_next, a) = (
            slot.prev,
            slot.next,
            slot.acct_prev,
            slot.acct_next,
            slot.acct,
        );
        let committed = self.slots[s as usize].leaf.take();
        let o = &self.orders[s as usize];
        if let Some(gt) = o.good_till_height {
            self.gtd.remove(&(gt, o.seq));
        }
        let o = &self.orders[s as usize];
        let (id, cid, account, market, side, price, remaining, locked) = (
            o.id,
            o.client_order_id,
            o.account,
            o.market,
            o.side,
            o.price,
            o.remaining,
            o.locked,
        );
        let m = market.0 as usize;
        // Unlink from its level.
        let levels = self.books[m].side_mut(side);
        let mut empty = false;
        if let Some(level) = levels.get_mut(price) {
            if prev == NIL {
                level.head = next;
            }
            if next == NIL {
                level.tail = prev;
            }
            level.lots -= remaining;
            level.count -= 1;
            empty = level.count == 0;
        }
        if empty {
            levels.remove(price);
        }
        if prev != NIL {
            self.slots[prev as usize].next = next;
        }
        if next != NIL {
            self.slots[next as usize].prev = prev;
        }
        // Unlink from its account.
        if acct_prev != NIL {
            self.slots[acct_prev as usize].acct_next = acct_next;
        } else {
            self.accounts[a as usize].orders_head = acct_next;
        }
        if acct_next != NIL {
            self.slots[acct_next as usize].acct_prev = acct_prev;
        } else {
            self.accounts[a as usize].orders_tail = acct_prev;
        }
        // Release what it still holds.
        let cfg = &self.markets[m];
        let asset = match side {
            Side::Buy => cfg.quote,
            Side::Sell => cfg.base,
        };
        self.accounts[a as usize].open_orders -= 1;
        let i = self.bal_index(a, asset.0 as usize);
        let bal = &mut self.balances[i];
        bal.locked -= locked;
        bal.free += locked;
        self.touch_account(a);
        self.order_index.remove(&id, &self.orders);
        if let Some(cid) = cid {
            self.client_index.remove(&(a, cid));
        }
        if let Some(h) = committed {
            self.acc.remove(&h);
            self.removed_orders.push(id);
        }
        match why {
            RemoveWhy::Filled | RemoveWhy::Replaced => {}
            RemoveWhy::Cancelled(reason) => emit(&mut self.events, || Event::OrderCancelled {
                order_id: id,
                client_order_id: cid,
                account,
                market,
                remaining,
                reason,
            }),
            RemoveWhy::Expired(reason) => emit(&mut self.events, || Event::OrderExpired {
                order_id: id,
                client_order_id: cid,
                account,
                market,
                remaining,
                reason,
            }),
        }
        self.slots[s as usize].live = false;
        self.free_slots.push(s);
    }
}

enum RemoveWhy {
    Filled,
    /// Taken off to be put back at once (an amendment that loses priority): no event.
    Replaced,
    Cancelled(CancelReason),
    Expired(ExpireReason),
}

/// Appends the event `make` builds. `resize_with` lets the compiler write the event's
/// fields straight into the buffer; `push` builds the whole 272-byte `Event` on the
/// stack and copies it, dirtying every cache line of the slot even for a small variant.
#[inline(always)]
fn emit(events: &mut Vec<Event>, make: impl FnMut() -> Event) {
    let n = events.len() + 1;
    events.resize_with(n, make);
}

/// The most lots whose cost `per_lot * q + fee(per_lot * q, bps)` fits in `budget`.
fn affordable_lots(budget: u128, per_lot: u128, bps: u32) -> u64 {
    if per_lot == 0 {
        return u64::MAX;
    }
    let cost = |q: u128| -> Option<u128> {
        let n = per_lot.checked_mul(q)?;
        n.checked_add(fee(n, bps))
    };
    let hi = (budget / per_lot).min(u64::MAX as u128);
    if cost(hi).is_some_and(|c| c <= budget) {
        return hi as u64;
    }
    // Estimate with the fee folded in, then correct (the cost is monotone in q).
    let est = budget
        .checked_mul(BPS)
        .and_then(|x| per_lot.checked_mul(BPS + bps as u128).map(|d| x / d))
        .unwrap_or(0)
        .min(hi);
    let (mut lo, mut hi) = (est, hi);
    if cost(lo).is_none_or(|c| c > budget) {
        lo = 0;
    }
    // Invariant: cost(lo) <= budget < cost(hi).
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if cost(mid).is_some_and(|c| c <= budget) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo as u64
}

/// The result of executing a block.
#[derive(Clone, Debug)]
pub struct BlockOutcome {
    /// One receipt per transaction, in block order.
    pub receipts: Vec<Receipt>,
    /// What the engine did at the start of the block, before any transaction:
    /// good-till expiries and scheduled cancels (see [`Engine::begin_block`]).
    pub block_events: Vec<Event>,
    /// The state root after the block.
    pub state_root: Hash,
    /// What changed, for storage.
    pub changes: ChangeSet,
}

// -------------------------------------------------------------------- commit & root

impl Engine {
    /// Rehashes the leaves touched since the last commit and returns the state root.
    pub fn commit(&mut self) -> Hash {
        self.commit_inner(None)
    }

    /// Like [`Engine::commit`], also returning everything that changed since the last
    /// commit (what storage writes in the block's batch).
    pub fn commit_with_changes(&mut self) -> (Hash, ChangeSet) {
        let mut changes = ChangeSet::default();
        let root = self.commit_inner(Some(&mut changes));
        changes.counters = self.counters;
        (root, changes)
    }

    fn commit_inner(&mut self, mut changes: Option<&mut ChangeSet>) -> Hash {
        for a in std::mem::take(&mut self.dirty_accounts) {
            let acct = &mut self.accounts[a as usize];
            acct.dirty = false;
            let h = account_leaf(
                acct,
                &self.balances[a as usize * self.n_assets..][..self.n_assets],
            );
            if let Some(old) = acct.committed.replace(h) {
                self.acc.remove(&old);
            }
            self.acc.add(&h);
            if let Some(c) = changes.as_deref_mut() {
                c.accounts.push(account_record(
                    acct,
                    &self.balances[a as usize * self.n_assets..][..self.n_assets],
                ));
            }
        }
        for s in std::mem::take(&mut self.dirty_slots) {
            let slot = &mut self.slots[s as usize];
            slot.dirty = false;
            if !slot.live {
                continue;
            }
            let order = &self.orders[s as usize];
            let h = order_leaf(order);
            if let Some(old) = self.slots[s as usize].leaf.replace(h) {
                self.acc.remove(&old);
            }
            self.acc.add(&h);
            if let Some(c) = changes.as_deref_mut() {
                c.orders.push(order.clone());
            }
        }
        self.commit_swaps(changes.as_deref_mut());
        let removed = std::mem::take(&mut self.removed_orders);
        if let Some(c) = changes {
            c.removed_orders = removed;
        }
        self.state_root()
    }

    /// The root as of the last commit (changes since then are not included).
    pub fn state_root(&self) -> Hash {
        self.acc
            .root(&[self.counters.next_seq, self.counters.next_trade_id])
    }

    /// True if nothing changed since the last commit.
    pub fn is_committed(&self) -> bool {
        self.dirty_accounts.is_empty()
            && self.dirty_slots.is_empty()
            && self.removed_orders.is_empty()
    }

    // ------------------------------------------------------------- snapshot/restore

    /// The whole state (accounts in creation order, orders in time priority).
    pub fn export_state(&self) -> EngineState {
        let mut orders: Vec<OrderRecord> = self
            .slots
            .iter()
            .zip(&self.orders)
            .filter(|(s, _)| s.live)
            .map(|(_, o)| o.clone())
            .collect();
        orders.sort_by_key(|o| o.seq);
        EngineState {
            accounts: self
                .accounts
                .iter()
                .enumerate()
                .map(|(a, acct)| account_record(acct, self.bals(a as u32)))
                .collect(),
            orders,
            counters: self.counters,
            swaps: self.swap_records(),
        }
    }

    /// Rebuilds an engine from a state exported by [`Engine::export_state`] or loaded
    /// from storage (in any order). Checks that the state is consistent with itself and
    /// the genesis: every balance vector has one entry per asset, every order names a
    /// known account and market and sits on a valid price, order ids and client ids are
    /// unique, and each account's locked balance equals what its orders hold.
    pub fn restore(genesis: &Genesis, state: EngineState) -> Result<Engine, RestoreError> {
        genesis
            .validate()
            .map_err(|e| RestoreError::Genesis(e.to_string()))?;
        let bad = |m: String| RestoreError::Inconsistent(m);
        let mut engine = Engine::empty(genesis);
        // `empty` created the fee account; start from a clean slate so the restored
        // records define every account exactly once.
        engine.accounts.clear();
        engine.balances.clear();
        engine.account_index.clear();
        engine.dirty_accounts.clear();
        for rec in state.accounts {
            if rec.balances.len() != engine.n_assets {
                return Err(bad(format!(
                    "account {} has {} balances, genesis has {} assets",
                    rec.key,
                    rec.balances.len(),
                    engine.n_assets
                )));
            }
            if engine.account_index.contains_key(&rec.key) {
                return Err(bad(format!("account {} appears twice", rec.key)));
            }
            let a = engine.ensure_account(rec.key);
            engine.bals_mut(a).copy_from_slice(&rec.balances);
            let acct = &mut engine.accounts[a as usize];
            acct.nonce = rec.nonce;
            acct.cancel_at = rec.cancel_at_height;
            if let Some(h) = rec.cancel_at_height {
                engine.schedules.insert((h, a));
            }
        }
        engine.fee_account = engine.ensure_account(genesis.fee_account);
        let mut expected_locked: BTreeMap<(u32, u32), u128> = BTreeMap::new();
        let mut orders = state.orders;
        orders.sort_by_key(|o| o.seq);
        for o in orders {
            let a = *engine.account_index.get(&o.account).ok_or_else(|| {
                bad(format!(
                    "order {} names unknown account {}",
                    o.id, o.account
                ))
            })?;
            let cfg = engine.markets.get(o.market.0 as usize).ok_or_else(|| {
                bad(format!(
                    "order {} names unknown market {:?}",
                    o.id, o.market
                ))
            })?;
            if o.price == 0
                || o.remaining == 0
                || o.remaining > o.quantity
                || o.seq >= state.counters.next_seq
            {
                return Err(bad(format!(
                    "order {} has invalid price, quantity or sequence",
                    o.id
                )));
            }
            if engine.slot_of(&o.id).is_some() {
                return Err(bad(format!("order {} appears twice", o.id)));
            }
            if let Some(cid) = o.client_order_id {
                if engine.client_index.contains_key(&(a, cid)) {
                    return Err(bad(format!(
                        "client order id {cid} appears twice for {}",
                        o.account
                    )));
                }
            }
            let asset = match o.side {
                Side::Buy => cfg.quote,
                Side::Sell => cfg.base,
            };
            let e = expected_locked.entry((a, asset.0)).or_default();
            *e = e
                .checked_add(o.locked)
                .ok_or_else(|| bad(format!("order {} locks too much", o.id)))?;
            engine.insert_resting(a, o);
        }
        for (i, acct) in engine.accounts.iter().enumerate() {
            for (asset, bal) in engine.bals(i as u32).iter().enumerate() {
                let want = expected_locked
                    .get(&(i as u32, asset as u32))
                    .copied()
                    .unwrap_or(0);
                if bal.locked != want {
                    return Err(bad(format!(
                        "account {} has {} locked in asset {}, its orders hold {}",
                        acct.key, bal.locked, asset, want
                    )));
                }
            }
        }
        engine.counters = state.counters;
        engine.restore_swaps(state.swaps).map_err(bad)?;
        engine.events.clear();
        engine.commit();
        Ok(engine)
    }

    // -------------------------------------------------------------------- queries

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// Every market.
    pub fn markets(&self) -> &[MarketConfig] {
        &self.markets
    }

    /// One market.
    pub fn market(&self, id: MarketId) -> Option<&MarketConfig> {
        self.markets.get(id.0 as usize)
    }

    /// Decimals of an asset.
    pub fn asset_decimals(&self, asset: AssetId) -> Option<u32> {
        self.asset_decimals.get(asset.0 as usize).copied()
    }

    /// Engine counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Number of accounts.
    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// Number of resting orders.
    pub fn order_count(&self) -> usize {
        self.order_index.len()
    }

    /// An account's nonce and balances.
    pub fn account(&self, key: &Address) -> Option<AccountRecord> {
        self.account_index
            .get(key)
            .map(|a| account_record(&self.accounts[*a as usize], self.bals(*a)))
    }

    /// The next nonce the account must use (0 for an unknown account).
    pub fn next_nonce(&self, key: &Address) -> u64 {
        self.account_index
            .get(key)
            .map_or(0, |a| self.accounts[*a as usize].nonce)
    }

    /// One balance (zero for an unknown account or asset).
    pub fn balance(&self, key: &Address, asset: AssetId) -> Balance {
        self.account_index
            .get(key)
            .and_then(|a| self.bals(*a).get(asset.0 as usize))
            .copied()
            .unwrap_or_default()
    }

    /// A resting order by id.
    pub fn order(&self, id: &OrderId) -> Option<&OrderRecord> {
        self.slot_of(id).map(|s| &self.orders[s as usize])
    }

    /// A resting order of `key` by client order id.
    pub fn order_by_client_id(&self, key: &Address, cid: ClientOrderId) -> Option<&OrderRecord> {
        let a = self.account_index.get(key)?;
        self.client_index
            .get(&(*a, cid))
            .map(|s| &self.orders[*s as usize])
    }

    /// An account's resting orders, oldest first.
    pub fn open_orders(&self, key: &Address) -> Vec<OrderRecord> {
        let mut out = Vec::new();
        if let Some(a) = self.account_index.get(key) {
            let mut s = self.accounts[*a as usize].orders_head;
            while s != NIL {
                out.push(self.orders[s as usize].clone());
                s = self.slots[s as usize].acct_next;
            }
        }
        out
    }

    /// L2 depth: up to `levels` price levels per side, best first.
    pub fn depth(&self, market: MarketId, levels: usize) -> Option<Depth> {
        let book = self.books.get(market.0 as usize)?;
        let view = |(p, l): (u64, &Level)| LevelView {
            price: p,
            quantity: l.lots,
            orders: l.count,
        };
        Some(Depth {
            bids: book.bids.best_first().take(levels).map(view).collect(),
            asks: book.asks.best_first().take(levels).map(view).collect(),
        })
    }

    /// Best bid and best ask prices in ticks.
    pub fn best_prices(&self, market: MarketId) -> (Option<u64>, Option<u64>) {
        self.books.get(market.0 as usize).map_or((None, None), |b| {
            (
                b.best(Side::Buy).map(|(p, _)| p),
                b.best(Side::Sell).map(|(p, _)| p),
            )
        })
    }

    /// Per asset, the sum of every account's free and locked balance (fees included:
    /// the fee account is an account). Constant over any history.
    pub fn total_supply(&self) -> Vec<u128> {
        let mut totals = vec![0u128; self.n_assets];
        for a in 0..self.accounts.len() {
            for (t, b) in totals.iter_mut().zip(self.bals(a as u32)) {
                *t += b.free + b.locked;
            }
        }
        self.add_swap_escrow(&mut totals);
        totals
    }

    /// Checks the engine's internal invariants; returns the first violation found.
    /// Used by tests and by `ledger-node replay --check`.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut locked: BTreeMap<(u32, u32), u128> = BTreeMap::new();
        let mut live = 0usize;
        for (m, book) in self.books.iter().enumerate() {
            let cfg = &self.markets[m];
            if let (Some((bid, _)), Some((ask, _))) = (book.best(Side::Buy), book.best(Side::Sell))
            {
                if bid >= ask {
                    return Err(format!("market {m} is crossed: bid {bid} >= ask {ask}"));
                }
            }
            for side in [Side::Buy, Side::Sell] {
                for (price, level) in book.side(side).ascending() {
                    let (mut lots, mut count, mut s, mut prev) = (0u64, 0u32, level.head, NIL);
                    let mut last_seq = None;
                    while s != NIL {
                        let slot = &self.slots[s as usize];
                        let o = &self.orders[s as usize];
                        if !slot.live || slot.prev != prev || o.price != price || o.side != side {
                            return Err(format!("market {m} level {price}: broken list"));
                        }
                        if last_seq.is_some_and(|q| q >= o.seq) {
                            return Err(format!("market {m} level {price}: not in time order"));
                        }
                        last_seq = Some(o.seq);
                        let need = match side {
                            Side::Buy => {
                                let n = cfg.notional(price, o.remaining).unwrap_or(u128::MAX);
                                n + fee(n, cfg.max_fee_bps())
                            }
                            Side::Sell => cfg.base_units(o.remaining).unwrap_or(u128::MAX),
                        };
                        if o.locked < need {
                            return Err(format!("order {} locks {} < {}", o.id, o.locked, need));
                        }
                        let asset = if side == Side::Buy {
                            cfg.quote
                        } else {
                            cfg.base
                        };
                        *locked.entry((slot.acct, asset.0)).or_default() += o.locked;
                        lots += o.remaining;
                        count += 1;
                        prev = s;
                        s = slot.next;
                    }
                    if lots != level.lots
                        || count != level.count
                        || count == 0
                        || prev != level.tail
                    {
                        return Err(format!("market {m} level {price}: totals disagree"));
                    }
                    live += count as usize;
                }
            }
        }
        if live != self.order_index.len() {
            return Err("order index size differs from the books".into());
        }
        self.check_expiry_invariants()?;
        self.check_swaps()?;
        for (i, acct) in self.accounts.iter().enumerate() {
            for (asset, b) in self.bals(i as u32).iter().enumerate() {
                let want = locked.get(&(i as u32, asset as u32)).copied().unwrap_or(0);
                if b.locked != want {
                    return Err(format!(
                        "account {} locked {} in asset {asset}, orders hold {want}",
                        acct.key, b.locked
                    ));
                }
            }
        }
        Ok(())
    }
}

fn account_record(a: &Account, balances: &[Balance]) -> AccountRecord {
    AccountRecord {
        key: a.key,
        nonce: a.nonce,
        balances: balances.to_vec(),
        cancel_at_height: a.cancel_at,
    }
}

/// Bytes of an account leaf with up to this many assets, hashed from one stack buffer.
const ACCOUNT_LEAF_ASSETS: usize = 8;

fn account_leaf(a: &Account, balances: &[Balance]) -> [u8; 32] {
    if balances.len() <= ACCOUNT_LEAF_ASSETS {
        // The same bytes as the streaming form below, in one digest call: the tag's
        // length and the tag, key, nonce, each balance, then the switch if armed.
        let mut buf = [0u8; 1 + 7 + 32 + 8 + 32 * ACCOUNT_LEAF_ASSETS + 9];
        buf[0] = 7;
        buf[1..8].copy_from_slice(b"account");
        buf[8..40].copy_from_slice(&a.key.0);
        buf[40..48].copy_from_slice(&a.nonce.to_le_bytes());
        let mut n = 48;
        for b in balances {
            buf[n..n + 16].copy_from_slice(&b.free.to_le_bytes());
            buf[n + 16..n + 32].copy_from_slice(&b.locked.to_le_bytes());
            n += 32;
        }
        if let Some(at) = a.cancel_at {
            buf[n] = b'c';
            buf[n + 1..n + 9].copy_from_slice(&at.to_le_bytes());
            n += 9;
        }
        return Hash::digest(&buf[..n]).0;
    }
    let mut h = LeafHasher::new(b"account");
    h.bytes(&a.key.0).u64(a.nonce);
    for b in balances {
        h.u128(b.free).u128(b.locked);
    }
    // An armed dead man's switch is part of the state; an account without one hashes
    // as before (the balance count is fixed by the genesis, so this is unambiguous).
    if let Some(at) = a.cancel_at {
        h.bytes(b"c").u64(at);
    }
    h.finish()
}

/// An order's leaf: 118 bytes, so two SHA-256 blocks. The client order id is not
/// hashed: it is fixed by the order id (the placing transaction's hash).
fn order_leaf(o: &OrderRecord) -> [u8; 32] {
    if let Some(gt) = o.good_till_height {
        return gtd_order_leaf(o, gt);
    }
    let mut buf = [0u8; 118];
    buf[0] = b'o';
    buf[1..33].copy_from_slice(&o.id.0);
    buf[33..65].copy_from_slice(&o.account.0);
    buf[65..69].copy_from_slice(&o.market.0.to_le_bytes());
    buf[69] = o.side as u8;
    buf[70..78].copy_from_slice(&o.price.to_le_bytes());
    buf[78..86].copy_from_slice(&o.quantity.to_le_bytes());
    buf[86..94].copy_from_slice(&o.remaining.to_le_bytes());
    buf[94..110].copy_from_slice(&o.locked.to_le_bytes());
    buf[110..118].copy_from_slice(&o.seq.to_le_bytes());
    Hash::digest(&buf).0
}

/// The leaf of a good-till order: the plain order's fields under another tag, then the
/// good-till height (126 bytes; plain orders keep their two-block leaf).
fn gtd_order_leaf(o: &OrderRecord, good_till: u64) -> [u8; 32] {
    let mut buf = [0u8; 126];
    buf[0] = b'g';
    buf[1..33].copy_from_slice(&o.id.0);
    buf[33..65].copy_from_slice(&o.account.0);
    buf[65..69].copy_from_slice(&o.market.0.to_le_bytes());
    buf[69] = o.side as u8;
    buf[70..78].copy_from_slice(&o.price.to_le_bytes());
    buf[78..86].copy_from_slice(&o.quantity.to_le_bytes());
    buf[86..94].copy_from_slice(&o.remaining.to_le_bytes());
    buf[94..110].copy_from_slice(&o.locked.to_le_bytes());
    buf[110..118].copy_from_slice(&o.seq.to_le_bytes());
    buf[118..126].copy_from_slice(&good_till.to_le_bytes());
    Hash::digest(&buf).0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-buffer account leaf hashes exactly the bytes of the streaming form.
    #[test]
    fn account_leaf_matches_the_streaming_form() {
        for (assets, cancel_at) in [(1, None), (3, None), (3, Some(42)), (8, Some(7)), (9, None)] {
            let balances: Vec<Balance> = (0..assets)
                .map(|i| Balance {
                    free: u128::MAX - i as u128,
                    locked: 1 << (i * 9),
                })
                .collect();
            let acct = Account {
                key: ledger_types::PublicKey([5; 32]),
                nonce: 17,
                open_orders: 0,
                orders_head: NIL,
                orders_tail: NIL,
                cancel_at,
                dirty: false,
                committed: None,
            };
            let mut h = LeafHasher::new(b"account");
            h.bytes(&acct.key.0).u64(acct.nonce);
            for b in &balances {
                h.u128(b.free).u128(b.locked);
            }
            if let Some(at) = cancel_at {
                h.bytes(b"c").u64(at);
            }
            assert_eq!(
                account_leaf(&acct, &balances),
                h.finish(),
                "{assets} assets"
            );
        }
    }
}
