//! Storage throughput on a seeded stream of blocks of 10,000 transactions each (orders
//! near the mid, cancels, marketable orders that sweep the book, transfers; from 1,000
//! accounts on two markets, see `ledger_storage::testkit`):
//!
//! * **commit**: `Executor::finalize` per block (execute + one RocksDB batch with the
//!   block, certificate, state changes, indexes, root and heights), without and with
//!   fsync per block;
//! * **replay**: `replay_chain` (what `ledger-node replay` runs): read and decode every
//!   final block, re-execute it in a fresh engine, compare the root at every height;
//! * **recovery**: blocks recorded final but not applied, then `Executor::open` replays
//!   and commits them (what a node does after a crash between the two batches).
//!
//! `cargo bench -p ledger-storage`; the last lines are `name=value` figures, each the
//! median of `STORAGE_BENCH_RUNS` runs (default 3). Set `STORAGE_BENCH_BLOCKS` (default
//! 40) and `STORAGE_BENCH_TXS` (default 10000).

use ledger_engine::Event;
use ledger_storage::{replay_chain, testkit, ChainStore, Executor, StoreOptions};
use ledger_types::Block;
use std::time::Instant;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn commit(
    genesis: &ledger_types::Genesis,
    blocks: &[Block],
    sync: bool,
    dir: &std::path::Path,
) -> f64 {
    let store = ChainStore::open(dir, StoreOptions { sync }).expect("open");
    let mut ex = Executor::open(store, Some(genesis)).expect("init");
    let started = Instant::now();
    let mut slowest = 0f64;
    let (mut rejected, mut placed, mut fills) = (0, 0, 0);
    for b in blocks {
        let t = Instant::now();
        let applied = ex
            .finalize(b.clone(), &testkit::certificate(b.height()))
            .expect("finalize")
            .expect("new");
        slowest = slowest.max(t.elapsed().as_secs_f64());
        for r in &applied.receipts {
            rejected += usize::from(r.result.is_err());
            for e in &r.events {
                placed += usize::from(matches!(e, Event::OrderAccepted { .. }));
                fills += usize::from(matches!(e, Event::Fill(_)));
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let txs: usize = blocks.iter().map(|b| b.txs.len()).sum();
    println!(
        "commit (sync={sync}): {} blocks, {txs} txs in {secs:.2}s = {:.2} blocks/s, {:.0} txs/s (slowest block {:.0} ms)",
        blocks.len(),
        blocks.len() as f64 / secs,
        txs as f64 / secs,
        slowest * 1e3
    );
    println!(
        "  stream: {placed} orders accepted, {fills} fills, {rejected} txs rejected, {} resting at the end",
        ex.engine().order_count()
    );
    blocks.len() as f64 / secs
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let n_blocks = env("STORAGE_BENCH_BLOCKS", 40);
    let n_txs = env("STORAGE_BENCH_TXS", 10_000);
    let runs = env("STORAGE_BENCH_RUNS", 3).max(1);
    let (genesis, keys) = testkit::genesis(1_000);
    let t = Instant::now();
    let blocks = testkit::chain(&genesis, &keys, 42, n_blocks, n_txs);
    let total: usize = blocks.iter().map(|b| b.txs.len()).sum();
    println!(
        "generated {n_blocks} blocks of {n_txs} txs ({} MB encoded) in {:.1}s",
        blocks.iter().map(|b| b.encoded_len()).sum::<usize>() / 1_000_000,
        t.elapsed().as_secs_f64()
    );
    let work = tempfile::tempdir().expect("tempdir");

    // The machine may be shared: every figure is the median of `runs` runs.
    let nosync_dir = work.path().join("nosync-0");
    let mut commit_runs: Vec<f64> = (0..runs)
        .map(|i| {
            commit(
                &genesis,
                &blocks,
                false,
                &work.path().join(format!("nosync-{i}")),
            )
        })
        .collect();
    let commit_bps = median(&mut commit_runs);
    let mut sync_runs: Vec<f64> = (0..runs)
        .map(|i| {
            commit(
                &genesis,
                &blocks,
                true,
                &work.path().join(format!("sync-{i}")),
            )
        })
        .collect();
    let commit_sync_bps = median(&mut sync_runs);

    // Replay (verification) over a committed store.
    let store = ChainStore::open_read_only(&nosync_dir).expect("open read-only");
    let mut replay_runs = Vec::new();
    for run in 0..runs {
        let report = replay_chain(&store, None, |_| {}).expect("replay");
        assert!(report.is_ok(), "{report:?}");
        println!(
            "replay run {run}: {} blocks, {} txs in {:.2}s = {:.0} txs/s, {} roots checked",
            report.blocks,
            report.txs,
            report.elapsed.as_secs_f64(),
            report.txs_per_sec(),
            report.roots_checked
        );
        replay_runs.push(report.txs_per_sec());
    }
    let replay_tps = median(&mut replay_runs);
    drop(store);

    // Recovery: record every block as final, then open (replays and commits the gap).
    let mut recovery_runs = Vec::new();
    for run in 0..runs {
        let dir = work.path().join(format!("recovery-{run}"));
        {
            let store = ChainStore::open(&dir, StoreOptions { sync: false }).expect("open");
            let mut ex = Executor::open(store, Some(&genesis)).expect("init");
            for b in &blocks {
                ex.record_final(b, &testkit::certificate(b.height()))
                    .expect("record");
            }
        }
        let t = Instant::now();
        let store = ChainStore::open(&dir, StoreOptions { sync: false }).expect("open");
        let ex = Executor::open(store, None).expect("recover");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(ex.applied_height(), n_blocks as u64);
        println!(
        "recovery run {run}: open + replay and commit {n_blocks} blocks in {secs:.2}s = {:.0} txs/s",
        total as f64 / secs
    );
        recovery_runs.push(total as f64 / secs);
    }
    let recovery_tps = median(&mut recovery_runs);

    println!("figures: median of {runs} runs, {n_blocks} blocks of {n_txs} txs");
    println!("commit_blocks_per_sec={commit_bps:.2} (no fsync)");
    println!("commit_orders_per_sec={:.0}", commit_bps * n_txs as f64);
    println!("commit_sync_blocks_per_sec={commit_sync_bps:.2} (fsync per block)");
    println!("recovery_orders_per_sec={recovery_tps:.0}");
    println!("replay_orders_per_sec={replay_tps:.0}");
}
