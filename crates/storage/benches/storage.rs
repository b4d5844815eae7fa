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
//! 40) and `STORAGE_BENCH_TXS` (default 10000). `STORAGE_BENCH_ONLY=replay` commits the
//! chain once (no fsync) and measures only replay (for profiling it).

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
    let store = ChainStore::open(
        dir,
        StoreOptions {
            sync,
            ..StoreOptions::default()
        },
    )
    .expect("open");
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

/// Seconds of CPU time used so far by every thread of this process (`/proc/self/stat`,
/// in clock ticks of 10 ms), if the kernel says.
fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which ends with the last ')'): utime and stime are
    // the 12th and 13th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Nanoseconds of CPU time used so far by this thread (`/proc/thread-self/schedstat`).
fn thread_cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(s.split_whitespace().next()?.parse::<u64>().ok()? as f64 / 1e9)
}

/// One replay over a committed store; returns transactions per second of wall time and,
/// if measurable, per second of CPU time summed over every thread (the decoders' and the
/// engine's: what one core would do alone).
fn replay(store: &ChainStore, run: usize) -> (f64, Option<f64>) {
    let (cpu0, engine0) = (process_cpu_secs(), thread_cpu_secs());
    let report = replay_chain(store, None, |_| {}).expect("replay");
    let (cpu1, engine1) = (process_cpu_secs(), thread_cpu_secs());
    assert!(report.is_ok(), "{report:?}");
    let (cpu, engine) = (
        cpu0.zip(cpu1).map(|(a, b)| b - a),
        engine0.zip(engine1).map(|(a, b)| b - a),
    );
    let per_cpu = cpu.map(|c| report.txs as f64 / c.max(1e-3));
    let detail = match (cpu, engine) {
        (Some(c), Some(e)) => format!(
            "; CPU {c:.2}s over all threads = {:.0} txs per CPU-second (engine thread {e:.2}s, readers and decoders {:.2}s)",
            per_cpu.unwrap_or_default(),
            (c - e).max(0.0)
        ),
        _ => String::new(),
    };
    println!(
        "replay run {run}: {} blocks, {} txs in {:.2}s = {:.0} txs/s, {} roots checked{detail}",
        report.blocks,
        report.txs,
        report.elapsed.as_secs_f64(),
        report.txs_per_sec(),
        report.roots_checked
    );
    (report.txs_per_sec(), per_cpu)
}

/// Medians of the wall and CPU figures of several replays.
fn replay_medians(runs: Vec<(f64, Option<f64>)>) -> (f64, Option<f64>) {
    let mut wall: Vec<f64> = runs.iter().map(|r| r.0).collect();
    let mut cpu: Vec<f64> = runs.iter().filter_map(|r| r.1).collect();
    (
        median(&mut wall),
        (!cpu.is_empty()).then(|| median(&mut cpu)),
    )
}

fn print_replay(wall: f64, cpu: Option<f64>) {
    println!("replay_orders_per_sec={wall:.0}");
    if let Some(c) = cpu {
        println!("replay_orders_per_cpu_sec={c:.0}");
    }
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
    if std::env::var("STORAGE_BENCH_ONLY").as_deref() == Ok("replay") {
        commit(&genesis, &blocks, false, &nosync_dir);
        let store = ChainStore::open_read_only(&nosync_dir).expect("open read-only");
        let (wall, cpu) = replay_medians((0..runs).map(|run| replay(&store, run)).collect());
        println!("figures: median of {runs} runs, {n_blocks} blocks of {n_txs} txs");
        print_replay(wall, cpu);
        return;
    }
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
    let (replay_tps, replay_cpu) =
        replay_medians((0..runs).map(|run| replay(&store, run)).collect());
    drop(store);

    // Recovery: record every block as final, then open (replays and commits the gap).
    let mut recovery_runs = Vec::new();
    for run in 0..runs {
        let dir = work.path().join(format!("recovery-{run}"));
        {
            let store = ChainStore::open(&dir, StoreOptions::unsynced()).expect("open");
            let mut ex = Executor::open(store, Some(&genesis)).expect("init");
            for b in &blocks {
                ex.record_final(b, &testkit::certificate(b.height()))
                    .expect("record");
            }
        }
        let t = Instant::now();
        let store = ChainStore::open(&dir, StoreOptions::unsynced()).expect("open");
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
    print_replay(replay_tps, replay_cpu);
}
