//! [`Executor`]: applies final blocks to the engine and persists each one, with every
//! state change and index entry it causes, in one atomic batch; and recovers on start.
//!
//! # Final height and applied height
//!
//! * **final height** `F`: every height `0..=F` has a final-block marker (`final` column
//!   family: hash and finality certificate) and the block itself (`blocks`).
//! * **applied height** `A <= F`: the ledger state, the indexes and the state roots
//!   `0..=A` are those after executing the final blocks `1..=A`.
//!
//! There are two ways to make a block final:
//!
//! * [`Executor::finalize`] records the block as final **and** executes it in one batch
//!   (`F` and `A` both advance): the normal path.
//! * [`Executor::record_final`] records it only (`F` advances, one small batch, cheap
//!   enough to do for a long run of blocks that consensus finalized at once); then
//!   [`Executor::apply_next`] / [`Executor::catch_up`] execute them, one batch each.
//!
//! After a crash the directory is always in one of these states, because each batch is
//! atomic: `A == F`, or `A < F` with blocks `A+1..=F` recorded but not executed. On open,
//! [`Executor::open`] loads the state at `A`, checks it against the stored root at `A`,
//! and replays `A+1..=F`.
//!
//! The executor is the only writer of final markers, ledger state and indexes. If a
//! write fails after the engine executed a block, the in-memory engine is ahead of the
//! disk: the executor refuses further work ([`StoreError::Poisoned`]) and the node must
//! restart, which recovers from the store.

use crate::chain::{ChainStore, StoreMeta};
use crate::error::{Result, StoreError};
use crate::records::{
    AppliedBlock, Candle, CandleInterval, FinalRecord, OrderStatus, OrderSummary, TradeRecord,
    TransferRecord, TxRecord,
};
use crate::rocks::RocksStore;
use crate::schema::{self, meta, Cf};
use crate::store::{Batch, Store};
use ledger_engine::{BlockOutcome, Engine, Event, Receipt};
use ledger_types::{Address, Block, Genesis, Hash, MarketId, OrderId, Payload, TxHash};
use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

/// The block executor and the owner of the ledger state.
pub struct Executor<S: Store = RocksStore> {
    store: ChainStore<S>,
    genesis: Genesis,
    engine: Engine,
    applied: u64,
    applied_hash: Hash,
    final_height: u64,
    final_hash: Hash,
    poisoned: Option<u64>,
}

impl<S: Store> std::fmt::Debug for Executor<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("applied", &self.applied)
            .field("final_height", &self.final_height)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

/// Is a block offered as final new, already final, or wrong?
enum Offer {
    New,
    AlreadyFinal,
}

impl<S: Store> Executor<S> {
    /// Opens the node's ledger: checks the directory (initialising an empty one from
    /// `genesis`), loads the state at the applied height, verifies its root, and replays
    /// the final blocks not yet applied. `genesis`, when given, must be the directory's.
    pub fn open(store: ChainStore<S>, genesis: Option<&Genesis>) -> Result<Self> {
        let mut ex = Self::load(store, genesis)?;
        ex.catch_up()?;
        Ok(ex)
    }

    /// Like [`open`](Self::open) but without replaying: the engine holds the state at
    /// the applied height, which may be below the final height.
    pub fn load(store: ChainStore<S>, genesis: Option<&Genesis>) -> Result<Self> {
        let started = Instant::now();
        let meta = match store.check_or_initialize(genesis) {
            Err(StoreError::Incomplete {
                rebuildable: true, ..
            }) => {
                Self::rebuild_indexes(&store)?;
                store.check(genesis)?
            }
            other => other?,
        };
        report_lost_heights(&store, &meta);
        let StoreMeta {
            genesis,
            final_height,
            applied_height,
            ..
        } = meta;
        let state = store.load_state().map_err(|e| match e {
            StoreError::Decode { cf, key, reason } => StoreError::Decode {
                cf,
                key: format!("{key} (ledger state at applied height {applied_height})"),
                reason,
            },
            other => other,
        })?;
        let (accounts, orders) = (state.accounts.len(), state.orders.len());
        let engine =
            Engine::restore(&genesis, state).map_err(|e| StoreError::InconsistentState {
                height: applied_height,
                reason: e.to_string(),
            })?;
        let stored = store
            .state_root(applied_height)?
            .ok_or(StoreError::MissingStateRoot {
                height: applied_height,
            })?;
        if engine.state_root() != stored {
            return Err(StoreError::StateRootMismatch {
                height: applied_height,
                stored,
                computed: engine.state_root(),
            });
        }
        let missing = |height| StoreError::MissingFinal {
            height,
            final_height,
        };
        let applied_hash = store
            .final_hash(applied_height)?
            .ok_or_else(|| missing(applied_height))?;
        let final_hash = store
            .final_hash(final_height)?
            .ok_or_else(|| missing(final_height))?;
        tracing::info!(
            applied = applied_height,
            final_height,
            accounts,
            orders,
            root = %stored,
            ms = started.elapsed().as_millis() as u64,
            "ledger state loaded and verified"
        );
        Ok(Executor {
            store,
            genesis,
            engine,
            applied: applied_height,
            applied_hash,
            final_height,
            final_hash,
            poisoned: None,
        })
    }

    /// Rebuilds the state roots and every index from the final blocks `1..=applied`:
    /// clears them, re-executes the blocks from genesis in a fresh engine, and writes
    /// each block's index entries, root and markers, as [`finalize`](Self::finalize)
    /// does. The recomputed roots must equal the roots still stored and the root of the
    /// stored ledger state at the applied height; otherwise nothing is trusted and the
    /// error says where they differ. Logs what was incomplete and how many entries were
    /// rebuilt. Refuses a store that starts at a snapshot (no blocks below it).
    pub fn rebuild_indexes(store: &ChainStore<S>) -> Result<u64> {
        let started = Instant::now();
        let genesis = store.genesis()?;
        let applied = store.applied_height()?;
        let final_height = store.final_height()?;
        let history_from = store.history_from()?;
        let indexes = store.options().indexes;
        let mut incomplete = Vec::new();
        for (cf, of) in schema::MARKED {
            if of == schema::MarkerOf::Applied && (indexes || !cf.is_index()) {
                let m = store.markers(cf)?;
                if m != [applied] {
                    incomplete.push(format!("{} (markers {m:?})", cf.name()));
                }
            }
        }
        if history_from > 0 {
            return Err(StoreError::Index(format!(
                "indexes incomplete ({}) in a store that starts at snapshot height {history_from}: they cannot be rebuilt without the blocks below it; restore the directory or re-import the snapshot",
                incomplete.join(", ")
            )));
        }
        tracing::warn!(
            applied,
            final_height,
            incomplete = %incomplete.join(", "),
            "indexes lost writes (a cut MANIFEST or a damaged write-ahead log): rebuilding the state roots and every index from the blocks"
        );
        // The roots still stored, to check the re-execution against.
        let mut old_roots = BTreeMap::new();
        store.raw().scan(
            Cf::Roots,
            None,
            Some(&schema::MARKER_PREFIX[..]),
            crate::store::Direction::Forward,
            &mut |k, v| {
                if let Some(h) = schema::parse_height(k) {
                    old_roots.insert(h, crate::chain::decode_value::<Hash>(Cf::Roots, k, v)?);
                }
                Ok(true)
            },
        )?;
        let stored_state = store.load_state()?;
        let stored_state_root = Engine::restore(&genesis, stored_state)
            .map_err(|e| StoreError::InconsistentState {
                height: applied,
                reason: e.to_string(),
            })?
            .state_root();
        // Re-execute first, checking roots, before deleting anything.
        let mut engine = Engine::from_genesis(&genesis)
            .map_err(|e| StoreError::InvalidGenesis(e.to_string()))?;
        let mut prev = genesis.block().hash();
        for h in 1..=applied {
            let rec = store.final_record(h)?.ok_or(StoreError::MissingFinal {
                height: h,
                final_height,
            })?;
            let block = store.final_block_of(h, &rec)?;
            if block.header.parent != prev {
                return Err(StoreError::BadBlock {
                    height: h,
                    reason: format!(
                        "parent {} is not the final block {prev}",
                        block.header.parent
                    ),
                });
            }
            prev = block.hash();
            let root = engine.execute_block_at(h, &block.txs).state_root;
            if let Some(stored) = old_roots.get(&h) {
                if *stored != root {
                    return Err(StoreError::StateRootMismatch {
                        height: h,
                        stored: *stored,
                        computed: root,
                    });
                }
            }
        }
        if engine.state_root() != stored_state_root {
            return Err(StoreError::StateRootMismatch {
                height: applied,
                stored: stored_state_root,
                computed: engine.state_root(),
            });
        }
        // Clear the derived column families.
        for (cf, of) in schema::MARKED {
            if of != schema::MarkerOf::Applied {
                continue;
            }
            loop {
                let mut keys = Vec::new();
                store.raw().scan(
                    cf,
                    None,
                    None,
                    crate::store::Direction::Forward,
                    &mut |k, _| {
                        keys.push(k.to_vec());
                        Ok(keys.len() < 10_000)
                    },
                )?;
                if keys.is_empty() {
                    break;
                }
                let mut b = Batch::new();
                for k in &keys {
                    b.delete(cf, k);
                }
                store.raw().write(&b, false)?;
            }
        }
        // Re-execute and write, one batch per block.
        let mut engine = Engine::from_genesis(&genesis)
            .map_err(|e| StoreError::InvalidGenesis(e.to_string()))?;
        let mut b = Batch::new();
        b.put_encoded(Cf::Roots, &schema::height_key(0), &engine.state_root());
        for (cf, of) in schema::MARKED {
            if of == schema::MarkerOf::Applied && (indexes || !cf.is_index()) {
                b.put(cf, &schema::marker_key(0), &[]);
            }
        }
        store.raw().write(&b, false)?;
        let mut entries = 0u64;
        for h in 1..=applied {
            // Read again rather than kept from the first pass: a long chain does not fit
            // in memory.
            let rec = store.final_record(h)?.ok_or(StoreError::MissingFinal {
                height: h,
                final_height,
            })?;
            let block = &store.final_block_of(h, &rec)?;
            let outcome = engine.execute_block_at(h, &block.txs);
            let mut batch = Batch::new();
            if indexes {
                IndexWriter::new(store, h, block.header.time_ms(), &engine).write(
                    &mut batch,
                    block,
                    &outcome.block_events,
                    &outcome.receipts,
                )?;
            }
            batch.put_encoded(Cf::Roots, &schema::height_key(h), &outcome.state_root);
            put_markers(&mut batch, schema::MarkerOf::Applied, h, indexes);
            entries += batch.len() as u64;
            store.raw().write(&batch, h == applied)?;
        }
        store.raw().write(&Batch::new(), true)?;
        tracing::warn!(
            blocks = applied,
            batch_ops = entries,
            ms = started.elapsed().as_millis() as u64,
            root = %engine.state_root(),
            "state roots and indexes rebuilt from the blocks"
        );
        Ok(applied)
    }

    /// The store.
    pub fn store(&self) -> &ChainStore<S> {
        &self.store
    }

    /// The engine, holding the state after the applied height.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// Highest executed height.
    pub fn applied_height(&self) -> u64 {
        self.applied
    }

    /// Highest final height.
    pub fn final_height(&self) -> u64 {
        self.final_height
    }

    /// Hash of the final block at the final height.
    pub fn final_hash(&self) -> Hash {
        self.final_hash
    }

    /// The state root after the applied height.
    pub fn state_root(&self) -> Hash {
        self.engine.state_root()
    }

    fn check_poison(&self) -> Result<()> {
        match self.poisoned {
            Some(height) => Err(StoreError::Poisoned { height }),
            None => Ok(()),
        }
    }

    fn offer(&self, block: &Block) -> Result<Offer> {
        let h = block.height();
        let hash = block.hash();
        if h <= self.final_height {
            let stored = self.store.final_hash(h)?.ok_or(StoreError::MissingFinal {
                height: h,
                final_height: self.final_height,
            })?;
            if stored == hash {
                return Ok(Offer::AlreadyFinal);
            }
            return Err(StoreError::ConflictingFinal {
                height: h,
                stored,
                offered: hash,
            });
        }
        if h != self.final_height + 1 {
            return Err(StoreError::NotNext {
                expected: self.final_height + 1,
                got: h,
            });
        }
        if block.header.parent != self.final_hash {
            return Err(StoreError::NotExtending {
                height: h,
                parent: block.header.parent,
                tip: self.final_hash,
            });
        }
        if !block.tx_root_matches() {
            return Err(StoreError::BadBlock {
                height: h,
                reason: "transactions do not match the header's tx_root".into(),
            });
        }
        Ok(Offer::New)
    }

    fn final_batch(batch: &mut Batch, block: &Block, hash: Hash, certificate: &[u8]) {
        batch.put_encoded(Cf::Blocks, &hash.0, block);
        batch.put_encoded(
            Cf::Final,
            &schema::height_key(block.height()),
            &FinalRecord {
                hash,
                certificate: certificate.to_vec(),
            },
        );
        batch.put_encoded(Cf::Meta, meta::FINAL_HEIGHT, &block.height());
        put_markers(batch, schema::MarkerOf::Final, block.height(), true);
        // The final marker carries the certificate from now on.
        batch.delete(Cf::Consensus, &crate::consensus::cert_key(&hash));
    }

    /// Records `block` as final at the next height without executing it (one batch:
    /// the block, its marker with `certificate`, the new final height). Returns `false`
    /// if it was already final. Execute it later with [`apply_next`](Self::apply_next)
    /// or [`catch_up`](Self::catch_up).
    pub fn record_final(&mut self, block: &Block, certificate: &[u8]) -> Result<bool> {
        self.check_poison()?;
        if let Offer::AlreadyFinal = self.offer(block)? {
            return Ok(false);
        }
        let hash = block.hash();
        let mut batch = Batch::new();
        Self::final_batch(&mut batch, block, hash, certificate);
        self.store.write(&batch)?;
        self.final_height = block.height();
        self.final_hash = hash;
        self.store
            .raw()
            .record_progress(self.final_height, self.applied);
        tracing::debug!(height = block.height(), %hash, "block recorded as final");
        Ok(true)
    }

    /// Makes `block` final at the next height and executes it, persisting the block, its
    /// certificate, every state change, the indexes, the state root and both heights in
    /// one batch. Final blocks recorded earlier but not yet applied are executed first.
    /// Returns `None` if the block was already final (after making sure it is applied).
    pub fn finalize(&mut self, block: Block, certificate: &[u8]) -> Result<Option<AppliedBlock>> {
        self.check_poison()?;
        if let Offer::AlreadyFinal = self.offer(&block)? {
            while self.applied < block.height() {
                self.apply_next()?;
            }
            return Ok(None);
        }
        self.catch_up()?;
        self.execute(&block, Some(certificate)).map(Some)
    }

    /// Executes the final block at `applied + 1`, if one is recorded.
    pub fn apply_next(&mut self) -> Result<Option<AppliedBlock>> {
        self.check_poison()?;
        if self.applied >= self.final_height {
            return Ok(None);
        }
        let h = self.applied + 1;
        let rec = self
            .store
            .final_record(h)?
            .ok_or(StoreError::MissingFinal {
                height: h,
                final_height: self.final_height,
            })?;
        let block = self.store.final_block_of(h, &rec)?;
        if block.header.parent != self.applied_hash {
            return Err(StoreError::BadBlock {
                height: h,
                reason: format!(
                    "parent {} is not the final block {} at height {}",
                    block.header.parent, self.applied_hash, self.applied
                ),
            });
        }
        self.execute(&block, None).map(Some)
    }

    /// Executes every recorded final block not yet applied. Returns how many.
    pub fn catch_up(&mut self) -> Result<u64> {
        let gap = self.final_height - self.applied;
        if gap == 0 {
            return Ok(0);
        }
        let started = Instant::now();
        tracing::info!(
            from = self.applied + 1,
            to = self.final_height,
            "replaying final blocks not yet applied"
        );
        let mut n = 0;
        while self.apply_next()?.is_some() {
            n += 1;
        }
        tracing::info!(
            blocks = n,
            ms = started.elapsed().as_millis() as u64,
            applied = self.applied,
            root = %self.engine.state_root(),
            "caught up"
        );
        Ok(n)
    }

    /// Executes `block` at `applied + 1` and writes everything in one batch; with a
    /// certificate, the batch also records the block as final.
    fn execute(&mut self, block: &Block, certificate: Option<&[u8]>) -> Result<AppliedBlock> {
        let h = block.height();
        let hash = block.hash();
        debug_assert_eq!(h, self.applied + 1);
        let started = Instant::now();
        let outcome = self.engine.execute_block_at(h, &block.txs);
        let executed = Instant::now();
        // From here until the write succeeds, the engine is ahead of the disk.
        self.poisoned = Some(h);
        let mut batch = Batch::new();
        if let Some(cert) = certificate {
            Self::final_batch(&mut batch, block, hash, cert);
        }
        write_state(&mut batch, &outcome);
        let indexes = self.store.options().indexes;
        if indexes {
            IndexWriter::new(&self.store, h, block.header.time_ms(), &self.engine).write(
                &mut batch,
                block,
                &outcome.block_events,
                &outcome.receipts,
            )?;
        }
        batch.put_encoded(Cf::Roots, &schema::height_key(h), &outcome.state_root);
        batch.put_encoded(Cf::Meta, meta::APPLIED_HEIGHT, &h);
        put_markers(&mut batch, schema::MarkerOf::Applied, h, indexes);
        self.store.write(&batch)?;
        let committed = Instant::now();
        self.poisoned = None;
        self.applied = h;
        self.applied_hash = hash;
        if certificate.is_some() {
            self.final_height = h;
            self.final_hash = hash;
        }
        self.store
            .raw()
            .record_progress(self.final_height, self.applied);
        tracing::debug!(
            height = h,
            %hash,
            txs = block.txs.len(),
            batch_ops = batch.len(),
            batch_bytes = batch.size_in_bytes(),
            root = %outcome.state_root,
            "block applied"
        );
        Ok(AppliedBlock {
            height: h,
            hash,
            state_root: outcome.state_root,
            receipts: outcome.receipts,
            execute_time: executed - started,
            commit_time: committed - executed,
            block_events: outcome.block_events,
            time_ms: block.header.time_ms(),
        })
    }
}

/// Logs the heights a store lost: the progress file recorded more than the store
/// recovered (a damaged write-ahead log or a cut MANIFEST). The lost final blocks come
/// back from peers; the lost heights are named so an operator knows what happened.
fn report_lost_heights<S: Store>(store: &ChainStore<S>, meta: &StoreMeta) {
    if let Some((f, a)) = store.raw().recorded_progress() {
        if f > meta.final_height || a > meta.applied_height {
            let (path, files) = store.raw().describe();
            tracing::error!(
                path,
                files,
                recorded_final = f,
                recorded_applied = a,
                recovered_final = meta.final_height,
                recovered_applied = meta.applied_height,
                "the store lost writes: final heights {}..={} are gone (they will be fetched from peers again); applied heights {}..={} will be re-executed",
                meta.final_height + 1,
                f,
                meta.applied_height + 1,
                a
            );
        }
    }
    store
        .raw()
        .record_progress(meta.final_height, meta.applied_height);
}

/// Moves the completeness markers of the column families of `of` to `height` (see
/// [`schema`]): puts the marker at `height`, deletes the one below. The query indexes'
/// markers move only if the store keeps them (`indexes`: see `StoreOptions::indexes`).
fn put_markers(batch: &mut Batch, of: schema::MarkerOf, height: u64, indexes: bool) {
    for (cf, o) in schema::MARKED {
        if o == of && (indexes || !cf.is_index()) {
            batch.put(cf, &schema::marker_key(height), &[]);
            if height > 0 {
                batch.delete(cf, &schema::marker_key(height - 1));
            }
        }
    }
}

/// Puts the block's state changes: deletions first, so a record that changed after
/// leaving and re-entering (never expected) would keep its final value.
fn write_state(batch: &mut Batch, outcome: &BlockOutcome) {
    let c = &outcome.changes;
    for id in &c.removed_orders {
        batch.delete(Cf::State, &schema::order_key(id));
    }
    for a in &c.accounts {
        batch.put_encoded(Cf::State, &schema::account_key(&a.key), a);
    }
    for o in &c.orders {
        batch.put_encoded(Cf::State, &schema::order_key(&o.id), o);
    }
    for id in &c.removed_swaps {
        batch.delete(Cf::State, &schema::swap_state_key(id));
    }
    for s in &c.swaps {
        batch.put_encoded(Cf::State, &schema::swap_state_key(&s.id), s);
    }
    batch.put_encoded(Cf::State, schema::STATE_COUNTERS, &c.counters);
}

struct Touched {
    summary: OrderSummary,
    was_open: bool,
    new: bool,
    /// For a bundle leg, its index: legs share their transaction's height and position,
    /// so their entries in an account's order list carry it after the position.
    leg: Option<u32>,
}

/// Builds a block's index entries from its receipts. Orders placed in earlier blocks
/// are read from the store once and updated in memory.
struct IndexWriter<'a, S: Store> {
    store: &'a ChainStore<S>,
    engine: &'a Engine,
    height: u64,
    time_ms: u64,
    orders: BTreeMap<OrderId, Touched>,
    txs: HashSet<TxHash>,
    /// Candles touched by the block, by (market, interval code, bucket start).
    candles: BTreeMap<(MarketId, u8, u64), Candle>,
    swaps: crate::swaps::SwapIndexWriter,
    /// The receipt being indexed.
    tx_hash: TxHash,
    /// Bundle legs seen in that receipt so far.
    legs: u32,
}

impl<'a, S: Store> IndexWriter<'a, S> {
    fn new(store: &'a ChainStore<S>, height: u64, time_ms: u64, engine: &'a Engine) -> Self {
        IndexWriter {
            store,
            engine,
            height,
            time_ms,
            orders: BTreeMap::new(),
            txs: HashSet::new(),
            candles: BTreeMap::new(),
            swaps: crate::swaps::SwapIndexWriter::default(),
            tx_hash: TxHash::ZERO,
            legs: 0,
        }
    }

    /// Adds a fill to every candle interval (read from the store once per block).
    fn candle(&mut self, f: &ledger_engine::Fill) -> Result<()> {
        let quote = self
            .engine
            .market(f.market)
            .and_then(|m| m.notional(f.price, f.quantity))
            .unwrap_or(0);
        for interval in CandleInterval::ALL {
            let start = interval.bucket(self.height, self.time_ms);
            let key = (f.market, interval.code(), start);
            if let Some(c) = self.candles.get_mut(&key) {
                c.add(f, quote);
                continue;
            }
            let c = match self.store.candle(f.market, interval, start)? {
                Some(mut c) => {
                    c.add(f, quote);
                    c
                }
                None => Candle::new(start, f, quote),
            };
            self.candles.insert(key, c);
        }
        Ok(())
    }

    fn history_tx(&self, batch: &mut Batch, account: &Address, position: u32, hash: &TxHash) {
        batch.put_encoded(
            Cf::AccountHistory,
            &schema::history_key(schema::HISTORY_TX, account, self.height, position),
            hash,
        );
    }

    fn order(&mut self, id: &OrderId) -> Result<&mut OrderSummary> {
        if !self.orders.contains_key(id) {
            let summary = self.store.order(id)?.ok_or_else(|| {
                StoreError::Index(format!(
                    "order {id} changed at height {} but has no summary",
                    self.height
                ))
            })?;
            self.orders.insert(
                *id,
                Touched {
                    was_open: summary.status.is_open(),
                    summary,
                    new: false,
                    leg: None,
                },
            );
        }
        let t = self.orders.get_mut(id).ok_or_else(|| {
            StoreError::Index(format!("order {id} vanished from the block's index cache"))
        })?;
        t.summary.updated_height = self.height;
        Ok(&mut t.summary)
    }

    fn write(
        mut self,
        batch: &mut Batch,
        block: &Block,
        block_events: &[Event],
        receipts: &[Receipt],
    ) -> Result<()> {
        let h = self.height;
        // The block's own events (expiries, scheduled cancels) come first.
        for e in block_events {
            self.event(batch, e, 0)?;
        }
        for (i, r) in receipts.iter().enumerate() {
            let position = i as u32;
            // A transaction rejected without effect (wrong chain, replayed or future
            // nonce) never overwrites an earlier record of the same transaction: a
            // duplicate inclusion must not hide where it executed.
            let stateless = matches!(&r.result, Err(e) if e.is_stateless());
            let known = self.txs.contains(&r.tx_hash)
                || (stateless && self.store.tx(&r.tx_hash)?.is_some());
            if !(stateless && known) {
                batch.put_encoded(
                    Cf::TxIndex,
                    &r.tx_hash.0,
                    &TxRecord {
                        height: h,
                        position,
                        result: r.result.clone(),
                        events: r.events.clone(),
                        actions: r.actions.clone(),
                    },
                );
                self.txs.insert(r.tx_hash);
                self.history_tx(batch, &r.sender, position, &r.tx_hash);
                // A transfer's receiver lists it too (even a rejected one names it).
                if let Some(Payload::Transfer(t)) = block.txs.get(i).map(|t| &t.tx.payload) {
                    if t.to != r.sender {
                        self.history_tx(batch, &t.to, position, &r.tx_hash);
                    }
                }
            }
            self.tx_hash = r.tx_hash;
            self.legs = 0;
            for e in &r.events {
                self.event(batch, e, position)?;
                if let Event::Transferred {
                    from,
                    to,
                    asset,
                    amount,
                } = e
                {
                    let rec = TransferRecord {
                        height: h,
                        position,
                        time_ms: self.time_ms,
                        tx_hash: r.tx_hash,
                        from: *from,
                        to: *to,
                        asset: *asset,
                        amount: *amount,
                    };
                    for account in [from, to] {
                        batch.put_encoded(
                            Cf::AccountHistory,
                            &schema::history_key(schema::HISTORY_TRANSFER, account, h, position),
                            &rec,
                        );
                    }
                }
            }
        }
        for ((market, interval, start), c) in &self.candles {
            batch.put_encoded(
                Cf::Candles,
                &schema::candle_key(*market, *interval, *start),
                c,
            );
        }
        self.swaps.flush(batch);
        for (id, t) in &self.orders {
            let s = &t.summary;
            batch.put_encoded(Cf::OrderIndex, &id.0, s);
            if t.new {
                let key = schema::account_order_key(
                    schema::ACCOUNT_ALL,
                    &s.account,
                    s.height,
                    s.position,
                );
                match t.leg {
                    None => batch.put_encoded(Cf::AccountOrders, &key, id),
                    Some(leg) => batch.put_encoded(
                        Cf::AccountOrders,
                        &[&key[..], &leg.to_be_bytes()].concat(),
                        id,
                    ),
                }
            }
            let open_key =
                schema::account_order_key(schema::ACCOUNT_OPEN, &s.account, s.height, s.position);
            match (t.was_open, s.status.is_open()) {
                (false, true) => batch.put_encoded(Cf::AccountOrders, &open_key, id),
                (true, false) => batch.delete(Cf::AccountOrders, &open_key),
                _ => {}
            }
        }
        Ok(())
    }

    fn event(&mut self, batch: &mut Batch, e: &Event, position: u32) -> Result<()> {
        let h = self.height;
        match e {
            Event::OrderAccepted {
                order_id,
                client_order_id,
                account,
                market,
                side,
                kind,
                time_in_force,
                price,
                quantity,
            } => {
                self.orders.insert(
                    *order_id,
                    Touched {
                        summary: OrderSummary {
                            order_id: *order_id,
                            client_order_id: *client_order_id,
                            account: *account,
                            market: *market,
                            side: *side,
                            kind: *kind,
                            time_in_force: *time_in_force,
                            price: *price,
                            quantity: *quantity,
                            filled: 0,
                            fees: 0,
                            // Until a later event of the same transaction says otherwise.
                            status: OrderStatus::Open,
                            height: h,
                            position,
                            updated_height: h,
                        },
                        was_open: false,
                        new: true,
                        // An order whose id is not its transaction's hash is a leg.
                        leg: (*order_id != self.tx_hash).then(|| {
                            self.legs += 1;
                            self.legs - 1
                        }),
                    },
                );
            }
            Event::Fill(f) => {
                let maker = self.order(&f.maker_order)?;
                maker.filled += f.quantity;
                maker.fees += f.maker_fee;
                if f.maker_remaining == 0 {
                    maker.status = OrderStatus::Filled;
                }
                let taker = self.order(&f.taker_order)?;
                taker.filled += f.quantity;
                taker.fees += f.taker_fee;
                if f.taker_remaining == 0 {
                    taker.status = OrderStatus::Filled;
                }
                batch.put_encoded(
                    Cf::Trades,
                    &schema::trade_key(f.market, f.trade_id),
                    &TradeRecord {
                        height: h,
                        position,
                        time_ms: self.time_ms,
                        fill: f.clone(),
                    },
                );
                for account in [f.maker, f.taker] {
                    batch.put_encoded(
                        Cf::AccountHistory,
                        &schema::history_fill_key(&account, f.trade_id),
                        &f.market.0,
                    );
                }
                self.candle(f)?;
            }
            Event::OrderRested { order_id, .. } => {
                self.order(order_id)?.status = OrderStatus::Open;
            }
            Event::OrderCancelled {
                order_id, reason, ..
            } => {
                self.order(order_id)?.status = OrderStatus::Cancelled(*reason);
            }
            Event::OrderExpired {
                order_id, reason, ..
            } => {
                self.order(order_id)?.status = OrderStatus::Expired(*reason);
            }
            Event::OrderAmended {
                order_id,
                price,
                quantity,
                ..
            } => {
                let s = self.order(order_id)?;
                s.price = Some(*price);
                s.quantity = *quantity;
            }
            Event::Transferred { .. }
            | Event::CancelScheduled { .. }
            | Event::BundleExecuted { .. } => {}
            Event::SwapLocked { .. } | Event::SwapClaimed { .. } | Event::SwapRefunded { .. } => {
                self.swaps.event(self.store, e, h, position, self.tx_hash)?;
            }
        }
        Ok(())
    }
}
