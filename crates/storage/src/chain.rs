//! [`ChainStore`]: the typed view of a [`Store`]: metadata and start-up checks, blocks
//! and finality, consensus data, ledger state and the read API of the indexes.
//!
//! A `ChainStore` is cheap to clone and safe to share between threads: the consensus
//! driver writes blocks and votes through it, the RPC layer reads through it, and the
//! [`Executor`](crate::Executor) (the only writer of final blocks, state and indexes)
//! holds another clone.

use crate::error::{Result, StoreError};
use crate::records::{
    page_limit, AccountTxRef, Candle, CandleInterval, FinalRecord, FinalizedBlock, HistoryCursor,
    MarketStats, OrderCursor, OrderFilter, OrderSummary, Page, TradeRecord, TransferRecord,
    TxRecord,
};
use crate::rocks::RocksStore;
use crate::schema::{self, meta, Cf, SCHEMA_VERSION};
use crate::store::{Batch, Direction, Store};
use bincode::Decode;
use ledger_engine::{AccountRecord, Counters, Engine, EngineState, OrderRecord, SwapRecord};
use ledger_types::{codec, Address, Block, Genesis, Hash, MarketId, OrderId, SignedTx, TxHash};
use std::path::Path;
use std::sync::Arc;

/// How the store writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// fsync the write-ahead log on every block commit, finality record and consensus
    /// write (default `true`). With `false` a committed block survives a process crash
    /// but the last blocks may be lost on power failure; they are then re-fetched from
    /// peers. The validator's safety record
    /// ([`crate::ConsensusStore::save_safety_record`]) is synced regardless.
    pub sync: bool,
    /// Keep the query indexes ([`schema::INDEXES`]: transactions, orders, trades,
    /// account history, candles, swaps; default `true`). Without them each block writes
    /// a quarter as much and a validator under load finalizes about a third more
    /// (docs/performance.md), but the index readers answer
    /// [`StoreError::NotIndexed`]. Their completeness markers are then neither written
    /// nor checked; turned back on, the start-up check finds them behind and rebuilds
    /// them from the blocks (not possible in a store that starts at a snapshot).
    pub indexes: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            sync: true,
            indexes: true,
        }
    }
}

impl StoreOptions {
    /// The defaults without an fsync per block: for tests, benches and tools whose data
    /// a machine crash may lose.
    pub fn unsynced() -> Self {
        StoreOptions {
            sync: false,
            ..StoreOptions::default()
        }
    }
}

/// What the start-up check found.
#[derive(Clone, Debug)]
pub struct StoreMeta {
    /// The genesis the directory was created with.
    pub genesis: Genesis,
    /// Its hash.
    pub genesis_hash: Hash,
    /// Highest final height (every height up to it has a final block).
    pub final_height: u64,
    /// Highest height whose block has been executed into the stored ledger state.
    pub applied_height: u64,
}

/// The typed store. `S` defaults to RocksDB.
pub struct ChainStore<S: Store = RocksStore> {
    inner: Arc<S>,
    options: StoreOptions,
}

impl<S: Store> Clone for ChainStore<S> {
    fn clone(&self) -> Self {
        ChainStore {
            inner: Arc::clone(&self.inner),
            options: self.options,
        }
    }
}

impl<S: Store> std::fmt::Debug for ChainStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainStore")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl ChainStore<RocksStore> {
    /// Opens (creating if missing) the RocksDB directory at `path`. Call
    /// [`Executor::open`](crate::Executor::open) next to check it and load the state.
    pub fn open(path: impl AsRef<Path>, options: StoreOptions) -> Result<Self> {
        Ok(ChainStore::new(RocksStore::open(path)?, options))
    }

    /// Opens an existing RocksDB directory read-only.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        Ok(ChainStore::new(
            RocksStore::open_read_only(path)?,
            StoreOptions::default(),
        ))
    }
}

pub(crate) fn decode_value<T: Decode<()>>(cf: Cf, key: &[u8], bytes: &[u8]) -> Result<T> {
    codec::decode(bytes).map_err(|e| StoreError::Decode {
        cf: cf.name(),
        key: schema::describe_key(cf, key),
        reason: e.to_string(),
    })
}

impl<S: Store> ChainStore<S> {
    /// Wraps a backend.
    pub fn new(store: S, options: StoreOptions) -> Self {
        ChainStore {
            inner: Arc::new(store),
            options,
        }
    }

    /// The backend (for tools and tests that need raw access).
    pub fn raw(&self) -> &S {
        &self.inner
    }

    /// The write options.
    pub fn options(&self) -> StoreOptions {
        self.options
    }

    pub(crate) fn write(&self, batch: &Batch) -> Result<()> {
        self.inner.write(batch, self.options.sync)
    }

    /// Refuses a lookup in a query index this store does not keep.
    pub(crate) fn indexed(&self, cf: Cf) -> Result<()> {
        if self.options.indexes || !cf.is_index() {
            Ok(())
        } else {
            Err(StoreError::NotIndexed(cf.name()))
        }
    }

    /// Flushes everything to disk (call before a clean shutdown).
    pub fn flush(&self) -> Result<()> {
        self.inner.flush()
    }

    pub(crate) fn get_decoded<T: Decode<()>>(&self, cf: Cf, key: &[u8]) -> Result<Option<T>> {
        match self.inner.get(cf, key)? {
            Some(bytes) => decode_value(cf, key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn first_key(
        &self,
        cf: Cf,
        start: Option<&[u8]>,
        direction: Direction,
    ) -> Result<Option<Vec<u8>>> {
        let mut found = None;
        let (lo, hi) = match direction {
            Direction::Forward => (start, None),
            Direction::Reverse => (None, start),
        };
        self.inner.scan(cf, lo, hi, direction, &mut |k, _| {
            found = Some(k.to_vec());
            Ok(false)
        })?;
        Ok(found)
    }

    // ------------------------------------------------------------------ metadata

    /// True if the store holds nothing at all (a fresh directory).
    pub fn is_empty(&self) -> Result<bool> {
        for cf in Cf::ALL {
            if self.first_key(cf, None, Direction::Forward)?.is_some() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn meta_u64(&self, key: &'static [u8], name: &'static str) -> Result<u64> {
        self.get_decoded::<u64>(Cf::Meta, key)?
            .ok_or(StoreError::MissingMeta(name))
    }

    /// The highest final height.
    pub fn final_height(&self) -> Result<u64> {
        self.meta_u64(meta::FINAL_HEIGHT, "final_height")
    }

    /// The highest applied height (the stored ledger state is the state after it).
    pub fn applied_height(&self) -> Result<u64> {
        self.meta_u64(meta::APPLIED_HEIGHT, "applied_height")
    }

    /// The genesis the directory was created with (checked against its stored hash).
    pub fn genesis(&self) -> Result<Genesis> {
        let stored_hash: Hash = self
            .get_decoded(Cf::Meta, meta::GENESIS_HASH)?
            .ok_or(StoreError::MissingMeta("genesis_hash"))?;
        let bytes = self
            .inner
            .get(Cf::Meta, meta::GENESIS)?
            .ok_or(StoreError::MissingMeta("genesis"))?;
        let genesis: Genesis = serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::GenesisCorrupt(format!("document does not parse: {e}")))?;
        genesis
            .validate()
            .map_err(|e| StoreError::GenesisCorrupt(format!("document is invalid: {e}")))?;
        if genesis.hash() != stored_hash {
            return Err(StoreError::GenesisCorrupt(format!(
                "document hashes to {}, the stored genesis hash is {stored_hash}",
                genesis.hash()
            )));
        }
        Ok(genesis)
    }

    /// Writes height 0 into an empty store: schema version, the genesis document and
    /// hash, the genesis block as final, and the genesis ledger state with its root.
    /// Always synced.
    pub fn initialize(&self, genesis: &Genesis) -> Result<StoreMeta> {
        if !self.is_empty()? {
            return Err(StoreError::Backend(
                "refusing to initialise a store that already holds data".into(),
            ));
        }
        let engine =
            Engine::from_genesis(genesis).map_err(|e| StoreError::InvalidGenesis(e.to_string()))?;
        let json = serde_json::to_vec(genesis)
            .map_err(|e| StoreError::InvalidGenesis(format!("cannot serialise: {e}")))?;
        let block = genesis.block();
        let hash = block.hash();
        let mut b = Batch::new();
        b.put_encoded(Cf::Meta, meta::SCHEMA_VERSION, &SCHEMA_VERSION);
        b.put_encoded(Cf::Meta, meta::GENESIS_HASH, &genesis.hash());
        b.put(Cf::Meta, meta::GENESIS, &json);
        b.put_encoded(Cf::Meta, meta::FINAL_HEIGHT, &0u64);
        b.put_encoded(Cf::Meta, meta::APPLIED_HEIGHT, &0u64);
        b.put_encoded(Cf::Blocks, &hash.0, &block);
        b.put_encoded(
            Cf::Final,
            &schema::height_key(0),
            &FinalRecord {
                hash,
                certificate: Vec::new(),
            },
        );
        b.put_encoded(Cf::Roots, &schema::height_key(0), &engine.state_root());
        let state = engine.export_state();
        for a in &state.accounts {
            b.put_encoded(Cf::State, &schema::account_key(&a.key), a);
        }
        for o in &state.orders {
            b.put_encoded(Cf::State, &schema::order_key(&o.id), o);
        }
        b.put_encoded(Cf::State, schema::STATE_COUNTERS, &state.counters);
        for (cf, _) in schema::MARKED {
            b.put(cf, &schema::marker_key(0), &[]);
        }
        self.inner.write(&b, true)?;
        self.inner.record_progress(0, 0);
        tracing::info!(genesis = %genesis.hash(), block = %hash, "initialised a new store at height 0");
        Ok(StoreMeta {
            genesis: genesis.clone(),
            genesis_hash: genesis.hash(),
            final_height: 0,
            applied_height: 0,
        })
    }

    /// Checks the directory before use: schema version, genesis (against `expected` when
    /// given), heights, the final-block markers from the applied height up (none missing,
    /// none above the final height), the genesis block, and the state root at the applied
    /// height (present, none above). Deeper history is checked by
    /// [`replay_chain`](crate::replay_chain).
    pub fn check(&self, expected: Option<&Genesis>) -> Result<StoreMeta> {
        let version: u32 = match self.get_decoded(Cf::Meta, meta::SCHEMA_VERSION)? {
            Some(v) => v,
            None if self.is_empty()? => {
                return Err(match self.inner.recorded_progress() {
                    Some((f, a)) if f > 0 || a > 0 => {
                        let (path, files) = self.inner.describe();
                        StoreError::Lost {
                            path,
                            final_height: f,
                            applied_height: a,
                            files: if files.is_empty() {
                                "no RocksDB files left".into()
                            } else {
                                format!("RocksDB files present: {files}")
                            },
                        }
                    }
                    _ => StoreError::NotInitialized,
                })
            }
            None => return Err(StoreError::MissingMeta("schema_version")),
        };
        if version != SCHEMA_VERSION {
            return Err(StoreError::SchemaVersion {
                found: version,
                expected: SCHEMA_VERSION,
            });
        }
        let genesis = self.genesis()?;
        let genesis_hash = genesis.hash();
        if let Some(g) = expected {
            if g.hash() != genesis_hash {
                return Err(StoreError::GenesisMismatch {
                    stored: genesis_hash,
                    given: g.hash(),
                });
            }
        }
        let final_height = self.final_height()?;
        let applied_height = self.applied_height()?;
        if applied_height > final_height {
            return Err(StoreError::HeightsInconsistent {
                applied: applied_height,
                final_height,
            });
        }
        // Markers: applied..=final present and contiguous, nothing above.
        let mut next = applied_height;
        let start = schema::height_key(applied_height);
        let mut err = None;
        self.inner.scan(
            Cf::Final,
            Some(&start),
            Some(&schema::MARKER_PREFIX[..]),
            Direction::Forward,
            &mut |k, _| {
                let h = schema::parse_height(k).ok_or_else(|| StoreError::BadKey {
                    cf: Cf::Final.name(),
                    key: hex::encode(k),
                })?;
                if h > final_height {
                    err = Some(StoreError::UnexpectedFinal {
                        height: h,
                        final_height,
                    });
                    return Ok(false);
                }
                if h != next {
                    err = Some(StoreError::MissingFinal {
                        height: next,
                        final_height,
                    });
                    return Ok(false);
                }
                next += 1;
                Ok(true)
            },
        )?;
        if let Some(e) = err {
            return Err(e);
        }
        if next != final_height + 1 {
            return Err(StoreError::MissingFinal {
                height: next,
                final_height,
            });
        }
        let g0 = self.final_record(0)?.ok_or(StoreError::MissingFinal {
            height: 0,
            final_height,
        })?;
        if g0.hash != genesis.block().hash() {
            return Err(StoreError::BadBlock {
                height: 0,
                reason: format!(
                    "final block {} is not the genesis block {}",
                    g0.hash,
                    genesis.block().hash()
                ),
            });
        }
        self.check_markers(final_height, applied_height)?;
        if self.state_root(applied_height)?.is_none() {
            return Err(StoreError::MissingStateRoot {
                height: applied_height,
            });
        }
        let above = schema::height_key(applied_height + 1);
        let mut above_root = None;
        self.inner.scan(
            Cf::Roots,
            Some(&above),
            Some(&schema::MARKER_PREFIX[..]),
            Direction::Forward,
            &mut |k, _| {
                above_root = Some(k.to_vec());
                Ok(false)
            },
        )?;
        if let Some(k) = above_root {
            return Err(StoreError::UnexpectedStateRoot {
                height: schema::parse_height(&k).unwrap_or(u64::MAX),
                applied: applied_height,
            });
        }
        Ok(StoreMeta {
            genesis,
            genesis_hash,
            final_height,
            applied_height,
        })
    }

    /// The completeness markers of a column family (see [`schema`]), lowest first.
    pub fn markers(&self, cf: Cf) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        let end = schema::prefix_end(schema::MARKER_PREFIX);
        self.inner.scan(
            cf,
            Some(&schema::MARKER_PREFIX[..]),
            end.as_deref(),
            Direction::Forward,
            &mut |k, _| {
                let h = schema::parse_marker(k).ok_or_else(|| StoreError::BadKey {
                    cf: cf.name(),
                    key: hex::encode(k),
                })?;
                out.push(h);
                Ok(out.len() < 64)
            },
        )?;
        Ok(out)
    }

    /// Checks that every marked column family is complete to its height: exactly one
    /// marker, at the final height (`blocks`, `final`) or the applied height (the
    /// others). Returns the first that is not as [`StoreError::Incomplete`]: the ones
    /// complete to the final height first (not rebuildable), then the derived ones
    /// (rebuildable from the blocks unless the store starts at a snapshot).
    pub fn check_markers(&self, final_height: u64, applied_height: u64) -> Result<()> {
        let history_from = self.history_from()?;
        for pass in [schema::MarkerOf::Final, schema::MarkerOf::Applied] {
            for (cf, of) in schema::MARKED {
                // Indexes the store does not keep are not kept complete either.
                if of != pass || (cf.is_index() && !self.options.indexes) {
                    continue;
                }
                let expected = match of {
                    schema::MarkerOf::Final => final_height,
                    schema::MarkerOf::Applied => applied_height,
                };
                let markers = self.markers(cf)?;
                if markers == [expected] {
                    continue;
                }
                return Err(StoreError::Incomplete {
                    cf: cf.name(),
                    kind: match of {
                        schema::MarkerOf::Final => "final",
                        schema::MarkerOf::Applied => "applied",
                    },
                    complete_to: markers.first().copied(),
                    markers,
                    expected,
                    rebuildable: of == schema::MarkerOf::Applied && history_from == 0,
                });
            }
        }
        Ok(())
    }

    /// [`check`](Self::check), or [`initialize`](Self::initialize) with `genesis` if the
    /// store is empty.
    pub fn check_or_initialize(&self, genesis: Option<&Genesis>) -> Result<StoreMeta> {
        match self.check(genesis) {
            Err(StoreError::NotInitialized) => match genesis {
                Some(g) => self.initialize(g),
                None => Err(StoreError::NotInitialized),
            },
            other => other,
        }
    }

    // -------------------------------------------------------------------- blocks

    /// Stores a block that is not (yet) final: proposals, notarized blocks, fork blocks.
    /// Keyed by hash, so storing it twice is harmless.
    pub fn put_block(&self, block: &Block) -> Result<()> {
        let mut b = Batch::new();
        b.put_encoded(Cf::Blocks, &block.hash().0, block);
        self.write(&b)
    }

    /// True if the block is stored (final or not).
    pub fn has_block(&self, hash: &Hash) -> Result<bool> {
        Ok(self.inner.get(Cf::Blocks, &hash.0)?.is_some())
    }

    /// A stored block by hash, final or not. Checks that it hashes to `hash` and that its
    /// transactions match its header.
    pub fn block_by_hash(&self, hash: &Hash) -> Result<Option<Block>> {
        // Decoded with each transaction hashed from its stored bytes (no re-encoding).
        let Some(bytes) = self.inner.get(Cf::Blocks, &hash.0)? else {
            return Ok(None);
        };
        let block = Block::decode_canonical(&bytes).map_err(|e| StoreError::Decode {
            cf: Cf::Blocks.name(),
            key: schema::describe_key(Cf::Blocks, &hash.0),
            reason: e.to_string(),
        })?;
        if block.hash() != *hash {
            return Err(StoreError::BadBlock {
                height: block.height(),
                reason: format!("stored under hash {hash} but hashes to {}", block.hash()),
            });
        }
        if !block.tx_root_matches() {
            return Err(StoreError::BadBlock {
                height: block.height(),
                reason: format!("block {hash}: transactions do not match the header's tx_root"),
            });
        }
        Ok(Some(block))
    }

    /// The final-block marker at `height`.
    pub fn final_record(&self, height: u64) -> Result<Option<FinalRecord>> {
        self.get_decoded(Cf::Final, &schema::height_key(height))
    }

    /// Hash of the final block at `height`.
    pub fn final_hash(&self, height: u64) -> Result<Option<Hash>> {
        Ok(self.final_record(height)?.map(|r| r.hash))
    }

    /// True if `hash` is the final block at its height.
    pub fn is_final(&self, hash: &Hash) -> Result<bool> {
        let Some(block) = self.block_by_hash(hash)? else {
            return Ok(false);
        };
        Ok(self.final_hash(block.height())? == Some(*hash))
    }

    /// Loads the final block named by a marker and checks it against the marker; every
    /// error names the height.
    pub(crate) fn final_block_of(&self, height: u64, rec: &FinalRecord) -> Result<Block> {
        let block = self
            .block_by_hash(&rec.hash)
            .map_err(|e| match e {
                StoreError::BadBlock { reason, .. } => StoreError::BadBlock { height, reason },
                StoreError::Decode { reason, .. } => StoreError::BadBlock {
                    height,
                    reason: format!("stored block {} does not decode: {reason}", rec.hash),
                },
                other => other,
            })?
            .ok_or(StoreError::MissingBlock {
                height,
                hash: rec.hash,
            })?;
        if block.height() != height {
            return Err(StoreError::BadBlock {
                height,
                reason: format!("final block {} has height {}", rec.hash, block.height()),
            });
        }
        Ok(block)
    }

    /// The final block at `height`, or `None` above the final height.
    pub fn block_by_height(&self, height: u64) -> Result<Option<Block>> {
        match self.final_record(height)? {
            Some(rec) => self.final_block_of(height, &rec).map(Some),
            None => {
                let final_height = self.final_height()?;
                if height <= final_height {
                    return Err(StoreError::MissingFinal {
                        height,
                        final_height,
                    });
                }
                Ok(None)
            }
        }
    }

    /// The final block at `height` with its finality certificate.
    pub fn finalized_block(&self, height: u64) -> Result<Option<FinalizedBlock>> {
        Ok(self.finalized_range(height, height, 1)?.pop())
    }

    /// Final blocks with their certificates for heights `from..=to`, at most `max`
    /// of them, in ascending order (for block sync). Stops at the final height.
    pub fn finalized_range(&self, from: u64, to: u64, max: usize) -> Result<Vec<FinalizedBlock>> {
        let mut out = Vec::new();
        if from > to || max == 0 {
            return Ok(out);
        }
        let final_height = self.final_height()?;
        let to = to.min(final_height);
        if from > to {
            return Ok(out);
        }
        // A store created from a snapshot has no blocks between genesis and the snapshot
        // height: it serves nothing there (the requester asks another peer).
        if from > 0 && from < self.history_from()? {
            return Ok(out);
        }
        let mut recs = Vec::new();
        let lo = schema::height_key(from);
        let hi = to.checked_add(1).map(schema::height_key);
        self.inner.scan(
            Cf::Final,
            Some(&lo),
            hi.as_ref().map(|h| &h[..]),
            Direction::Forward,
            &mut |k, v| {
                let h = schema::parse_height(k).ok_or_else(|| StoreError::BadKey {
                    cf: Cf::Final.name(),
                    key: hex::encode(k),
                })?;
                let rec: FinalRecord = decode_value(Cf::Final, k, v)?;
                recs.push((h, rec));
                Ok(recs.len() < max)
            },
        )?;
        for (expect, (h, rec)) in (from..).zip(recs) {
            if h != expect {
                return Err(StoreError::MissingFinal {
                    height: expect,
                    final_height,
                });
            }
            let block = self.final_block_of(h, &rec)?;
            out.push(FinalizedBlock {
                block,
                certificate: rec.certificate,
            });
        }
        if out.is_empty() {
            return Err(StoreError::MissingFinal {
                height: from,
                final_height,
            });
        }
        Ok(out)
    }

    /// Hashes of the final blocks at heights `from..=to` (a cheap scan of the markers).
    pub fn final_hashes(&self, from: u64, to: u64) -> Result<Vec<(u64, Hash)>> {
        let mut out = Vec::new();
        if from > to {
            return Ok(out);
        }
        let lo = schema::height_key(from);
        let hi = to.checked_add(1).map(schema::height_key);
        self.inner.scan(
            Cf::Final,
            Some(&lo),
            hi.as_ref().map(|h| &h[..]),
            Direction::Forward,
            &mut |k, v| {
                let h = schema::parse_height(k).ok_or_else(|| StoreError::BadKey {
                    cf: Cf::Final.name(),
                    key: hex::encode(k),
                })?;
                let rec: FinalRecord = decode_value(Cf::Final, k, v)?;
                out.push((h, rec.hash));
                Ok(true)
            },
        )?;
        Ok(out)
    }

    /// The state root stored after executing the final block at `height` (`None` above
    /// the applied height).
    pub fn state_root(&self, height: u64) -> Result<Option<Hash>> {
        self.get_decoded(Cf::Roots, &schema::height_key(height))
    }

    // ----------------------------------------------------------------- consensus

    /// Every consensus entry whose key starts with `prefix`, in key order.
    pub(crate) fn consensus_with_prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        let end = schema::prefix_end(prefix);
        self.inner.scan(
            Cf::Consensus,
            Some(prefix),
            end.as_deref(),
            Direction::Forward,
            &mut |k, v| {
                out.push((k.to_vec(), v.to_vec()));
                Ok(true)
            },
        )?;
        Ok(out)
    }

    // -------------------------------------------------------------- ledger state

    /// An account as of the applied height.
    pub fn account(&self, address: &Address) -> Result<Option<AccountRecord>> {
        self.get_decoded(Cf::State, &schema::account_key(address))
    }

    /// A resting order as of the applied height.
    pub fn resting_order(&self, id: &OrderId) -> Result<Option<OrderRecord>> {
        self.get_decoded(Cf::State, &schema::order_key(id))
    }

    /// The engine counters as of the applied height.
    pub fn counters(&self) -> Result<Counters> {
        self.get_decoded(Cf::State, schema::STATE_COUNTERS)?
            .ok_or_else(|| StoreError::InconsistentState {
                height: self.applied_height().unwrap_or(0),
                reason: "the counters record is missing".into(),
            })
    }

    /// Reads the whole ledger state (every account, resting order and the counters).
    /// Each record must sit under its own key.
    pub fn load_state(&self) -> Result<EngineState> {
        let mut accounts = Vec::new();
        let mut orders = Vec::new();
        let mut swaps = Vec::new();
        let mut counters = None;
        self.inner
            .scan(Cf::State, None, None, Direction::Forward, &mut |k, v| {
                match k.first() {
                    Some(&schema::STATE_ACCOUNT) if k.len() == 33 => {
                        let a: AccountRecord = decode_value(Cf::State, k, v)?;
                        if a.key.0[..] != k[1..] {
                            return Err(StoreError::Decode {
                                cf: Cf::State.name(),
                                key: schema::describe_key(Cf::State, k),
                                reason: format!("holds the record of account {}", a.key),
                            });
                        }
                        accounts.push(a);
                    }
                    Some(&schema::STATE_ORDER) if k.len() == 33 => {
                        let o: OrderRecord = decode_value(Cf::State, k, v)?;
                        if o.id.0[..] != k[1..] {
                            return Err(StoreError::Decode {
                                cf: Cf::State.name(),
                                key: schema::describe_key(Cf::State, k),
                                reason: format!("holds the record of order {}", o.id),
                            });
                        }
                        orders.push(o);
                    }
                    Some(&schema::STATE_SWAP) if k.len() == 33 => {
                        let s: SwapRecord = decode_value(Cf::State, k, v)?;
                        if s.id.0[..] != k[1..] {
                            return Err(StoreError::Decode {
                                cf: Cf::State.name(),
                                key: schema::describe_key(Cf::State, k),
                                reason: format!("holds the record of swap {}", s.id),
                            });
                        }
                        swaps.push(s);
                    }
                    _ if k == schema::STATE_COUNTERS => {
                        counters = Some(decode_value::<Counters>(Cf::State, k, v)?);
                    }
                    _ => {
                        return Err(StoreError::BadKey {
                            cf: Cf::State.name(),
                            key: hex::encode(k),
                        })
                    }
                }
                Ok(true)
            })?;
        let counters = counters.ok_or_else(|| StoreError::InconsistentState {
            height: self.applied_height().unwrap_or(0),
            reason: "the counters record is missing".into(),
        })?;
        Ok(EngineState {
            accounts,
            orders,
            counters,
            swaps,
        })
    }

    // ------------------------------------------------------------------- indexes

    /// Where a transaction landed (final blocks only) and its result.
    pub fn tx(&self, hash: &TxHash) -> Result<Option<TxRecord>> {
        self.indexed(Cf::TxIndex)?;
        self.get_decoded(Cf::TxIndex, &hash.0)
    }

    /// A transaction's record and body.
    pub fn tx_with_body(&self, hash: &TxHash) -> Result<Option<(TxRecord, SignedTx)>> {
        let Some(rec) = self.tx(hash)? else {
            return Ok(None);
        };
        let block = self.block_by_height(rec.height)?.ok_or_else(|| {
            StoreError::Index(format!(
                "tx {hash} names height {} above the final height",
                rec.height
            ))
        })?;
        let tx = block
            .txs
            .get(rec.position as usize)
            .filter(|t| t.hash() == *hash)
            .cloned()
            .ok_or_else(|| {
                StoreError::Index(format!(
                    "tx {hash} is not at position {} of the block at height {}",
                    rec.position, rec.height
                ))
            })?;
        Ok(Some((rec, tx)))
    }

    /// An order's history summary.
    pub fn order(&self, id: &OrderId) -> Result<Option<OrderSummary>> {
        self.indexed(Cf::OrderIndex)?;
        self.get_decoded(Cf::OrderIndex, &id.0)
    }

    /// An account's orders, newest first: all of them or only the open ones. Pass the
    /// previous page's `next_cursor` to continue; `limit` defaults to 30, at most 100.
    pub fn account_orders(
        &self,
        account: &Address,
        filter: OrderFilter,
        cursor: Option<OrderCursor>,
        limit: Option<usize>,
    ) -> Result<Page<OrderSummary, OrderCursor>> {
        self.indexed(Cf::AccountOrders)?;
        let limit = page_limit(limit);
        let tag = match filter {
            OrderFilter::All => schema::ACCOUNT_ALL,
            OrderFilter::Open => schema::ACCOUNT_OPEN,
        };
        let prefix = schema::account_orders_prefix(tag, account);
        let end = match cursor {
            Some(c) => schema::account_order_key(tag, account, c.height, c.position).to_vec(),
            None => schema::prefix_end(&prefix).unwrap_or_default(),
        };
        let mut ids = Vec::new();
        self.inner.scan(
            Cf::AccountOrders,
            Some(&prefix),
            Some(&end),
            Direction::Reverse,
            &mut |k, v| {
                let id: OrderId = decode_value(Cf::AccountOrders, k, v)?;
                ids.push(id);
                Ok(ids.len() <= limit)
            },
        )?;
        let more = ids.len() > limit;
        ids.truncate(limit);
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            let s = self.order(&id)?.ok_or_else(|| {
                StoreError::Index(format!(
                    "order {id} is listed for account {account} but has no summary"
                ))
            })?;
            items.push(s);
        }
        let next_cursor = if more {
            items.last().map(OrderSummary::cursor)
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Trades on a market, newest first. `cursor` is a trade id: the page holds older
    /// trades only. `limit` defaults to 30, at most 100.
    pub fn trades(
        &self,
        market: MarketId,
        cursor: Option<u64>,
        limit: Option<usize>,
    ) -> Result<Page<TradeRecord, u64>> {
        self.indexed(Cf::Trades)?;
        let limit = page_limit(limit);
        let start = schema::trade_key(market, 0);
        let end = match cursor {
            Some(id) => schema::trade_key(market, id).to_vec(),
            None => schema::prefix_end(&market.0.to_be_bytes()).unwrap_or_default(),
        };
        let mut items: Vec<TradeRecord> = Vec::new();
        self.inner.scan(
            Cf::Trades,
            Some(&start),
            if end.is_empty() { None } else { Some(&end) },
            Direction::Reverse,
            &mut |k, v| {
                items.push(decode_value(Cf::Trades, k, v)?);
                Ok(items.len() <= limit)
            },
        )?;
        let more = items.len() > limit;
        items.truncate(limit);
        let next_cursor = if more {
            items.last().map(|t| t.fill.trade_id)
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// The newest trade id indexed on `market`, if any.
    pub fn last_trade_id(&self, market: MarketId) -> Result<Option<u64>> {
        Ok(self
            .trades(market, None, Some(1))?
            .items
            .first()
            .map(|t| t.fill.trade_id))
    }

    // ------------------------------------------------------- account history, candles

    /// An account's fills (as maker or taker), newest first. `cursor` is a trade id:
    /// the page holds older fills only. `limit` defaults to 30, at most 100.
    pub fn account_fills(
        &self,
        account: &Address,
        cursor: Option<u64>,
        limit: Option<usize>,
    ) -> Result<Page<TradeRecord, u64>> {
        self.indexed(Cf::AccountHistory)?;
        let limit = page_limit(limit);
        let prefix = schema::history_prefix(schema::HISTORY_FILL, account);
        let end = match cursor {
            Some(id) => schema::history_fill_key(account, id).to_vec(),
            None => schema::prefix_end(&prefix).unwrap_or_default(),
        };
        let mut refs: Vec<(MarketId, u64)> = Vec::new();
        self.inner.scan(
            Cf::AccountHistory,
            Some(&prefix),
            Some(&end),
            Direction::Reverse,
            &mut |k, v| {
                let market: u32 = decode_value(Cf::AccountHistory, k, v)?;
                let id = k
                    .get(33..41)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes)
                    .ok_or_else(|| StoreError::Index(format!("bad fill key {}", hex::encode(k))))?;
                refs.push((MarketId(market), id));
                Ok(refs.len() <= limit)
            },
        )?;
        let more = refs.len() > limit;
        refs.truncate(limit);
        let mut items = Vec::with_capacity(refs.len());
        for (market, id) in refs {
            let t: TradeRecord = self
                .get_decoded(Cf::Trades, &schema::trade_key(market, id))?
                .ok_or_else(|| {
                    StoreError::Index(format!(
                        "fill {id} of {account} on market {} has no trade record",
                        market.0
                    ))
                })?;
            items.push(t);
        }
        let next_cursor = if more {
            items.last().map(|t| t.fill.trade_id)
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    fn history_page<T>(
        &self,
        tag: u8,
        account: &Address,
        cursor: Option<HistoryCursor>,
        limit: Option<usize>,
        mut decode: impl FnMut(&[u8], &[u8]) -> Result<T>,
    ) -> Result<Page<T, HistoryCursor>> {
        let limit = page_limit(limit);
        let prefix = schema::history_prefix(tag, account);
        let end = match cursor {
            Some(c) => schema::history_key(tag, account, c.height, c.position).to_vec(),
            None => schema::prefix_end(&prefix).unwrap_or_default(),
        };
        let mut items = Vec::new();
        let mut last = None;
        self.inner.scan(
            Cf::AccountHistory,
            Some(&prefix),
            Some(&end),
            Direction::Reverse,
            &mut |k, v| {
                if items.len() == limit {
                    // One more exists: the page is full.
                    last = Some(());
                    return Ok(false);
                }
                let height = k
                    .get(33..41)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes);
                let position = k
                    .get(41..45)
                    .and_then(|b| b.try_into().ok())
                    .map(u32::from_be_bytes);
                let (Some(height), Some(position)) = (height, position) else {
                    return Err(StoreError::Index(format!(
                        "bad history key {}",
                        hex::encode(k)
                    )));
                };
                items.push((HistoryCursor { height, position }, decode(k, v)?));
                Ok(true)
            },
        )?;
        let next_cursor = last.and(items.last().map(|(c, _)| *c));
        Ok(Page {
            items: items.into_iter().map(|(_, t)| t).collect(),
            next_cursor,
        })
    }

    /// An account's transfers (sent and received), newest first. `cursor` is the
    /// previous page's `next_cursor`; `limit` defaults to 30, at most 100.
    pub fn account_transfers(
        &self,
        account: &Address,
        cursor: Option<HistoryCursor>,
        limit: Option<usize>,
    ) -> Result<Page<TransferRecord, HistoryCursor>> {
        self.indexed(Cf::AccountHistory)?;
        self.history_page(schema::HISTORY_TRANSFER, account, cursor, limit, |k, v| {
            decode_value(Cf::AccountHistory, k, v)
        })
    }

    /// An account's transactions (sent, and transfers it received), newest first.
    pub fn account_txs(
        &self,
        account: &Address,
        cursor: Option<HistoryCursor>,
        limit: Option<usize>,
    ) -> Result<Page<AccountTxRef, HistoryCursor>> {
        self.indexed(Cf::AccountHistory)?;
        let page = self.history_page(schema::HISTORY_TX, account, cursor, limit, |k, v| {
            let hash: TxHash = decode_value(Cf::AccountHistory, k, v)?;
            Ok((k.to_vec(), hash))
        })?;
        let items = page
            .items
            .into_iter()
            .map(|(k, tx_hash)| AccountTxRef {
                height: u64::from_be_bytes(k[33..41].try_into().unwrap_or_default()),
                position: u32::from_be_bytes(k[41..45].try_into().unwrap_or_default()),
                tx_hash,
            })
            .collect();
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    /// One candle, if the bucket had trades.
    pub fn candle(
        &self,
        market: MarketId,
        interval: CandleInterval,
        start: u64,
    ) -> Result<Option<Candle>> {
        self.indexed(Cf::Candles)?;
        self.get_decoded(
            Cf::Candles,
            &schema::candle_key(market, interval.code(), start),
        )
    }

    /// A market's candles of one interval, newest first, with buckets starting before
    /// `before` (exclusive; all when `None`). `limit` defaults to 30, at most 100 here
    /// (larger pages are the RPC's business). Buckets without trades have no candle.
    pub fn candles(
        &self,
        market: MarketId,
        interval: CandleInterval,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Candle>> {
        self.indexed(Cf::Candles)?;
        let start = schema::candle_key(market, interval.code(), 0);
        let end = match before {
            Some(b) => schema::candle_key(market, interval.code(), b).to_vec(),
            None => schema::prefix_end(&start[..5]).unwrap_or_default(),
        };
        let mut out = Vec::new();
        self.inner.scan(
            Cf::Candles,
            Some(&start),
            if end.is_empty() { None } else { Some(&end) },
            Direction::Reverse,
            &mut |k, v| {
                out.push(decode_value(Cf::Candles, k, v)?);
                Ok(out.len() < limit)
            },
        )?;
        Ok(out)
    }

    /// Rolling 24-hour statistics of a market ending at `to_ms` (the last block's
    /// timestamp), merged from the one-minute candles (at most 1,441 reads).
    pub fn market_stats(&self, market: MarketId, to_ms: u64) -> Result<MarketStats> {
        self.indexed(Cf::Candles)?;
        let from_ms = CandleInterval::M1.bucket(0, to_ms.saturating_sub(86_400_000));
        let start = schema::candle_key(market, CandleInterval::M1.code(), from_ms);
        let end = schema::candle_key(market, CandleInterval::M1.code(), to_ms.saturating_add(1));
        let mut candle: Option<Candle> = None;
        self.inner.scan(
            Cf::Candles,
            Some(&start),
            Some(&end),
            Direction::Forward,
            &mut |k, v| {
                let c: Candle = decode_value(Cf::Candles, k, v)?;
                match candle.as_mut() {
                    Some(acc) => acc.merge(&c),
                    None => candle = Some(c),
                }
                Ok(true)
            },
        )?;
        let last_trade = self
            .trades(market, None, Some(1))?
            .items
            .first()
            .map(|t| (t.fill.trade_id, t.fill.price));
        Ok(MarketStats {
            from_ms,
            to_ms,
            candle,
            last_trade,
        })
    }
}
