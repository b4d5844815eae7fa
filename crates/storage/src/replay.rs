//! Full-history verification: re-execute every stored final block from genesis in a
//! fresh engine and compare the state root at each applied height with the stored one
//! (what `ledger-node replay --data-dir DIR` runs).
//!
//! Blocks are read and decoded (which hashes every transaction) on a second thread
//! while the engine executes, so replay runs at close to the engine's own speed.

use crate::chain::{decode_value, ChainStore};
use crate::error::{Result, StoreError};
use crate::records::FinalRecord;
use crate::schema::{self, Cf};
use crate::store::{Direction, Store};
use ledger_engine::{Engine, Event};
use ledger_types::{Block, Genesis, Hash};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The first height whose recomputed state root differs from the stored one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootMismatch {
    /// Height.
    pub height: u64,
    /// Root stored at that height.
    pub stored: Hash,
    /// Root after re-executing blocks `1..=height` from genesis.
    pub computed: Hash,
}

/// An index whose entry count differs from what re-executing the blocks produces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexCount {
    /// The index (column family name).
    pub index: &'static str,
    /// Entries the blocks `1..=applied` produce.
    pub expected: u64,
    /// Entries stored.
    pub found: u64,
}

/// Progress of a replay, reported about once a second and at the end.
#[derive(Clone, Copy, Debug)]
pub struct ReplayProgress {
    /// Last height executed.
    pub height: u64,
    /// Final height of the store.
    pub final_height: u64,
    /// Transactions executed so far.
    pub txs: u64,
    /// Time since the start.
    pub elapsed: Duration,
}

/// The outcome of [`replay_chain`].
#[derive(Clone, Debug)]
pub struct ReplayReport {
    /// Final height of the store.
    pub final_height: u64,
    /// Applied height of the store (roots are compared up to it).
    pub applied_height: u64,
    /// Blocks re-executed.
    pub blocks: u64,
    /// Transactions re-executed.
    pub txs: u64,
    /// Roots compared.
    pub roots_checked: u64,
    /// The state root after the last block re-executed.
    pub final_root: Hash,
    /// The first root mismatch; replay stops there.
    pub mismatch: Option<RootMismatch>,
    /// The stored ledger state does not hash to the recomputed root at the applied
    /// height (checked only if no root mismatched first).
    pub state_mismatch: Option<RootMismatch>,
    /// Entry counts of the trades and order indexes, expected (from re-execution) and
    /// found; empty for a store that starts at a snapshot (its history is partial).
    pub index_counts: Vec<IndexCount>,
    /// Wall time.
    pub elapsed: Duration,
}

impl ReplayReport {
    /// True if every root and the stored state matched.
    pub fn is_ok(&self) -> bool {
        self.mismatch.is_none()
            && self.state_mismatch.is_none()
            && self.index_mismatches().is_empty()
    }

    /// The indexes whose entry count differs from what the blocks produce.
    pub fn index_mismatches(&self) -> Vec<&IndexCount> {
        self.index_counts
            .iter()
            .filter(|c| c.expected != c.found)
            .collect()
    }

    /// Transactions per second.
    pub fn txs_per_sec(&self) -> f64 {
        self.txs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Re-executes every final block from genesis and compares roots. `genesis`, when
/// given, must be the store's; otherwise the stored genesis is used. Corrupt or missing
/// data is an error naming the height; a root mismatch is reported in the
/// [`ReplayReport`].
pub fn replay_chain<S: Store>(
    store: &ChainStore<S>,
    genesis: Option<&Genesis>,
    mut progress: impl FnMut(&ReplayProgress),
) -> Result<ReplayReport> {
    let started = Instant::now();
    let meta = store.check(genesis)?;
    let (final_height, applied_height) = (meta.final_height, meta.applied_height);
    let mut engine = Engine::from_genesis(&meta.genesis)
        .map_err(|e| StoreError::InvalidGenesis(e.to_string()))?;
    let mut report = ReplayReport {
        final_height,
        applied_height,
        blocks: 0,
        txs: 0,
        roots_checked: 0,
        final_root: engine.state_root(),
        mismatch: None,
        state_mismatch: None,
        index_counts: Vec::new(),
        elapsed: Duration::ZERO,
    };
    let (mut fills, mut accepted) = (0u64, 0u64);
    let compare = |height: u64, computed: Hash| -> Result<Option<RootMismatch>> {
        let stored = store
            .state_root(height)?
            .ok_or(StoreError::MissingStateRoot { height })?;
        Ok((stored != computed).then_some(RootMismatch {
            height,
            stored,
            computed,
        }))
    };
    report.mismatch = compare(0, engine.state_root())?;
    report.roots_checked = 1;
    let mut root_at_applied = engine.state_root();
    let genesis_hash = meta.genesis.block().hash();
    let mut last_report = Instant::now();

    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = mpsc::sync_channel::<Result<(u64, Block)>>(8);
        scope.spawn(move || {
            let _ = read_blocks(store, final_height, &tx);
        });
        let mut prev = genesis_hash;
        for item in rx {
            if report.mismatch.is_some() {
                break;
            }
            let (h, block) = item?;
            if block.header.parent != prev {
                return Err(StoreError::BadBlock {
                    height: h,
                    reason: format!(
                        "parent {} is not the final block {prev} at height {}",
                        block.header.parent,
                        h - 1
                    ),
                });
            }
            prev = block.hash();
            engine.begin_block(h);
            for stx in &block.txs {
                let _ = engine.apply_signed(stx);
            }
            if h <= applied_height {
                for e in engine.take_events() {
                    match e {
                        Event::Fill(_) => fills += 1,
                        Event::OrderAccepted { .. } => accepted += 1,
                        _ => {}
                    }
                }
            } else {
                engine.clear_events();
            }
            let root = engine.commit();
            report.blocks += 1;
            report.txs += block.txs.len() as u64;
            report.final_root = root;
            if h <= applied_height {
                report.mismatch = compare(h, root)?;
                report.roots_checked += 1;
                if h == applied_height {
                    root_at_applied = root;
                }
            }
            if last_report.elapsed() >= Duration::from_secs(1) {
                last_report = Instant::now();
                progress(&ReplayProgress {
                    height: h,
                    final_height,
                    txs: report.txs,
                    elapsed: started.elapsed(),
                });
            }
        }
        Ok(())
    })?;
    if report.mismatch.is_none() && report.blocks < final_height {
        return Err(StoreError::MissingFinal {
            height: report.blocks + 1,
            final_height,
        });
    }
    if report.mismatch.is_none() {
        // The stored ledger state itself (what a restarting node loads).
        let state = store.load_state()?;
        let stored_state =
            Engine::restore(&meta.genesis, state).map_err(|e| StoreError::InconsistentState {
                height: applied_height,
                reason: e.to_string(),
            })?;
        if stored_state.state_root() != root_at_applied {
            report.state_mismatch = Some(RootMismatch {
                height: applied_height,
                stored: stored_state.state_root(),
                computed: root_at_applied,
            });
        }
    }
    if report.mismatch.is_none() && store.history_from()? == 0 && store.options().indexes {
        for (cf, expected) in [(Cf::Trades, fills), (Cf::OrderIndex, accepted)] {
            report.index_counts.push(IndexCount {
                index: cf.name(),
                expected,
                found: count_entries(store, cf)?,
            });
        }
    }
    report.elapsed = started.elapsed();
    progress(&ReplayProgress {
        height: report.blocks,
        final_height,
        txs: report.txs,
        elapsed: report.elapsed,
    });
    Ok(report)
}

/// Entries of a column family, completeness markers excluded.
pub fn count_entries<S: Store>(store: &ChainStore<S>, cf: Cf) -> Result<u64> {
    let mut n = 0u64;
    store
        .raw()
        .scan(cf, None, None, Direction::Forward, &mut |k, _| {
            if !schema::is_marker(k) {
                n += 1;
            }
            Ok(true)
        })?;
    Ok(n)
}

/// Streams final blocks `1..=final_height` in order, checked against their markers.
fn read_blocks<S: Store>(
    store: &ChainStore<S>,
    final_height: u64,
    tx: &mpsc::SyncSender<Result<(u64, Block)>>,
) -> Result<()> {
    let mut expect = 1u64;
    let send = |item: Result<(u64, Block)>| tx.send(item).is_ok();
    let lo = schema::height_key(1);
    let hi = final_height.checked_add(1).map(schema::height_key);
    let res = store.raw().scan(
        Cf::Final,
        Some(&lo),
        hi.as_ref().map(|h| &h[..]),
        Direction::Forward,
        &mut |k, v| {
            let h = schema::parse_height(k).ok_or_else(|| StoreError::BadKey {
                cf: Cf::Final.name(),
                key: hex::encode(k),
            })?;
            if h != expect {
                return Err(StoreError::MissingFinal {
                    height: expect,
                    final_height,
                });
            }
            expect += 1;
            let rec: FinalRecord = decode_value(Cf::Final, k, v)?;
            let block = store.final_block_of(h, &rec)?;
            Ok(send(Ok((h, block))))
        },
    );
    if let Err(e) = res {
        send(Err(e));
    }
    Ok(())
}
