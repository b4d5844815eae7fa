//! Full-history verification: re-execute every stored final block from genesis in a
//! fresh engine and compare the state root at each applied height with the stored one
//! (what `ledger-node replay --data-dir DIR` runs).
//!
//! Reading a block costs about as much CPU as executing it (decoding hashes every
//! transaction, and the block is checked against its hash and its transactions against
//! the header's `tx_root`). So a scanner thread walks the final-block markers in height
//! order and deals them round-robin to [`decoders`] threads, which load, decode and
//! check their blocks in parallel; the engine takes the results round-robin, which is
//! height order again, and executes them while the next blocks are being decoded.
//! Execution itself stays on one thread and in block order (determinism).

use crate::chain::{decode_value, ChainStore};
use crate::error::{Result, StoreError};
use crate::records::FinalRecord;
use crate::schema::{self, Cf};
use crate::store::{Direction, Store};
use ledger_engine::Engine;
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
    /// Wall time.
    pub elapsed: Duration,
}

impl ReplayReport {
    /// True if every root and the stored state matched.
    pub fn is_ok(&self) -> bool {
        self.mismatch.is_none() && self.state_mismatch.is_none()
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
        elapsed: Duration::ZERO,
    };
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
        let workers = decoders();
        let mut jobs = Vec::with_capacity(workers);
        let mut results = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (job_tx, job_rx) = mpsc::sync_channel::<Job>(DECODE_AHEAD);
            let (block_tx, block_rx) = mpsc::sync_channel::<Result<(u64, Block)>>(DECODE_AHEAD);
            scope.spawn(move || decode_blocks(store, job_rx, block_tx));
            jobs.push(job_tx);
            results.push(block_rx);
        }
        scope.spawn(move || {
            let _ = scan_markers(store, final_height, &jobs);
        });
        // The scanner deals jobs round-robin and every decoder answers each of its jobs
        // in order, so taking the answers round-robin restores height order. A closed
        // channel means the scan ended (or the consumer stopped).
        let mut prev = genesis_hash;
        for turn in 0.. {
            if report.mismatch.is_some() {
                break;
            }
            let Ok(item) = results[turn % workers].recv() else {
                break;
            };
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
            engine.clear_events();
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
    report.elapsed = started.elapsed();
    progress(&ReplayProgress {
        height: report.blocks,
        final_height,
        txs: report.txs,
        elapsed: report.elapsed,
    });
    Ok(report)
}

/// Blocks each decoder may hold ahead of the engine (per decoder).
const DECODE_AHEAD: usize = 4;

/// How many threads load and decode blocks for replay: one per core the engine thread
/// does not use, at least one and at most four (past that the engine is the limit).
fn decoders() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get().saturating_sub(1))
        .clamp(1, 4)
}

/// One final-block marker to load, or the error that ends the scan at this point.
type Job = Result<(u64, FinalRecord)>;

/// Loads, decodes and checks the blocks named by `jobs`, answering each in order.
fn decode_blocks<S: Store>(
    store: &ChainStore<S>,
    jobs: mpsc::Receiver<Job>,
    blocks: mpsc::SyncSender<Result<(u64, Block)>>,
) {
    for job in jobs {
        let item = job.and_then(|(h, rec)| Ok((h, store.final_block_of(h, &rec)?)));
        let stop = item.is_err();
        if blocks.send(item).is_err() || stop {
            return;
        }
    }
}

/// Deals the final-block markers `1..=final_height` in height order, round-robin over
/// `jobs`, checking that none is missing; an error is dealt in its turn and ends the
/// scan.
fn scan_markers<S: Store>(
    store: &ChainStore<S>,
    final_height: u64,
    jobs: &[mpsc::SyncSender<Job>],
) -> Result<()> {
    let mut expect = 1u64;
    let mut turn = 0usize;
    let mut send = |item: Job| {
        let ok = jobs[turn % jobs.len()].send(item).is_ok();
        turn += 1;
        ok
    };
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
            Ok(send(Ok((h, rec))))
        },
    );
    if let Err(e) = res {
        send(Err(e));
    }
    Ok(())
}
