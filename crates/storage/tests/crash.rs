//! Crash test: the executor runs in a child process (this test binary re-executed with
//! `LEDGER_CRASH_DIR` set, running only `crash_child`) on a seeded stream of blocks whose
//! orders trade, mixing the one-batch path (`finalize`) with the two-batch path
//! (`record_final`, then `apply_next`). The parent kills it with SIGKILL at random
//! moments (during start-up recovery too), then checks the directory before anything
//! repairs it:
//!
//! * no finalized block is lost: the final and applied heights are at least what the
//!   child reported as committed, and every final marker names the reference block;
//! * no block is half-applied: the state root exists exactly up to the applied height,
//!   the stored ledger state restores to the reference root at that height, the counters
//!   and the newest indexed trade match it, the transactions of the applied block are
//!   indexed and those of the next block are not;
//! * the next child run recovers (replays the gap) and carries on.
//!
//! `LEDGER_CRASH_KILLS` sets the number of kills (default 40).

use ledger_engine::{Counters, Engine};
use ledger_storage::{testkit, ChainStore, Executor, StoreError, StoreOptions};
use ledger_types::{codec, Block, Genesis, Hash, MarketId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BLOCKS: usize = 400;
const TXS: usize = 100;
const ACCOUNTS: usize = 12;
const SEED: u64 = 2024;

fn chain() -> (Genesis, Vec<Block>) {
    let (genesis, keys) = testkit::genesis(ACCOUNTS);
    let mut stream = testkit::BlockStream::new(&genesis, &keys, SEED, true);
    let blocks = (0..BLOCKS).map(|_| stream.next_block(TXS)).collect();
    (genesis, blocks)
}

/// The child: recover, then commit blocks until killed, reporting each durable step.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var("LEDGER_CRASH_DIR") else {
        return; // run normally: nothing to do
    };
    let blocks_file = std::env::var("LEDGER_CRASH_BLOCKS").expect("blocks file");
    let seed: u64 = std::env::var("LEDGER_CRASH_SEED").unwrap().parse().unwrap();
    let sync = std::env::var("LEDGER_CRASH_SYNC").as_deref() == Ok("1");
    let blocks: Vec<Block> = codec::decode(&std::fs::read(blocks_file).unwrap()).unwrap();
    let (genesis, _) = testkit::genesis(ACCOUNTS);
    let out = std::io::stdout();
    let say = |line: String| {
        let mut o = out.lock();
        writeln!(o, "@@ {line}").unwrap();
        o.flush().unwrap();
    };
    let store = ChainStore::open(
        &dir,
        StoreOptions {
            sync,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let mut ex = Executor::open(store, Some(&genesis)).unwrap();
    say(format!(
        "OPEN {} {}",
        ex.applied_height(),
        ex.final_height()
    ));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    loop {
        let next = ex.final_height() as usize + 1;
        let roll = rng.gen_range(0..100);
        if roll < 50 {
            let Some(b) = blocks.get(next - 1) else { break };
            ex.catch_up().unwrap();
            say(format!("APPLIED {}", ex.applied_height()));
            let a = ex
                .finalize(b.clone(), &testkit::certificate(next as u64))
                .unwrap()
                .unwrap();
            say(format!("FINAL {}", a.height));
            say(format!("APPLIED {}", a.height));
        } else if roll < 75 {
            // Usually a few blocks; sometimes a long run, as when consensus finalizes a
            // whole chain of notarized blocks at once.
            let run = if rng.gen_bool(0.15) {
                rng.gen_range(10..40)
            } else {
                rng.gen_range(1..5)
            };
            for h in next..next + run {
                let Some(b) = blocks.get(h - 1) else { break };
                ex.record_final(b, &testkit::certificate(h as u64)).unwrap();
                say(format!("FINAL {h}"));
            }
        } else {
            for _ in 0..rng.gen_range(1..4) {
                if let Some(a) = ex.apply_next().unwrap() {
                    say(format!("APPLIED {}", a.height));
                }
            }
        }
        if ex.applied_height() as usize == blocks.len() {
            break;
        }
    }
    say("DONE".into());
}

struct Reference {
    genesis: Genesis,
    blocks: Vec<Block>,
    roots: Vec<Hash>,
    counters: Vec<Counters>,
}

#[derive(Default, Debug)]
struct Stats {
    kills: u32,
    killed_in_startup: u32,
    killed_in_startup_with_gap: u32,
    found_gap: u32,
    max_gap: u64,
    completed_chains: u32,
    checks: u32,
}

/// Checks a directory left by a killed child, without repairing anything.
/// Returns the gap between the final and applied heights found.
fn check_dir(
    dir: &Path,
    r: &Reference,
    reported_final: u64,
    reported_applied: u64,
    stats: &mut Stats,
) -> u64 {
    let store = ChainStore::open(dir, StoreOptions::unsynced()).unwrap();
    match store.check(Some(&r.genesis)) {
        Err(StoreError::NotInitialized) => {
            assert_eq!(reported_final, 0, "an initialised store vanished");
            return 0;
        }
        Err(e) => panic!("directory refused after a crash: {e}"),
        Ok(_) => {}
    }
    let (f, a) = (
        store.final_height().unwrap(),
        store.applied_height().unwrap(),
    );
    assert!(
        f >= reported_final,
        "final height {f} < reported {reported_final}: lost a final block"
    );
    assert!(
        a >= reported_applied,
        "applied height {a} < reported {reported_applied}"
    );
    assert!(a <= f);
    if a < f {
        stats.found_gap += 1;
        stats.max_gap = stats.max_gap.max(f - a);
    }
    for (h, hash) in store.final_hashes(0, f).unwrap() {
        let want = if h == 0 {
            r.genesis.block().hash()
        } else {
            r.blocks[h as usize - 1].hash()
        };
        assert_eq!(hash, want, "final block at height {h}");
    }
    assert_eq!(store.final_hashes(f + 1, f + 10).unwrap(), vec![]);
    // Roots exactly for 0..=a.
    assert_eq!(store.state_root(a).unwrap(), Some(r.roots[a as usize]));
    assert_eq!(
        store.state_root(a + 1).unwrap(),
        None,
        "root above the applied height"
    );
    // Counters and the trade index agree with the reference at `a`.
    let c = store.counters().unwrap();
    assert_eq!(c, r.counters[a as usize], "counters at applied height {a}");
    let newest = [MarketId(0), MarketId(1)]
        .iter()
        .filter_map(|m| store.last_trade_id(*m).unwrap())
        .max();
    assert_eq!(
        newest.map(|t| t + 1),
        (c.next_trade_id > 0).then_some(c.next_trade_id)
    );
    // The applied block's transactions are indexed, the next block's are not.
    if a > 0 {
        for t in &r.blocks[a as usize - 1].txs {
            let rec = store
                .tx(&t.hash())
                .unwrap()
                .expect("tx of the applied block indexed");
            assert!(rec.height <= a);
        }
    }
    if let Some(next) = r.blocks.get(a as usize) {
        for t in &next.txs {
            if let Some(rec) = store.tx(&t.hash()).unwrap() {
                assert!(rec.height <= a, "tx of unapplied block {} indexed", a + 1);
            }
        }
    }
    // The whole ledger state restores to the reference root (Executor::load checks it).
    let ex = Executor::load(store, Some(&r.genesis)).unwrap();
    assert_eq!(ex.state_root(), r.roots[a as usize]);
    assert_eq!((ex.applied_height(), ex.final_height()), (a, f));
    stats.checks += 1;
    f - a
}

#[test]
fn crash_recovery_under_sigkill() {
    let started = Instant::now();
    let want_kills: u32 = std::env::var("LEDGER_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let (genesis, blocks) = chain();
    let mut engine = Engine::from_genesis(&genesis).unwrap();
    let mut roots = vec![engine.state_root()];
    let mut counters = vec![engine.counters()];
    for b in &blocks {
        roots.push(engine.execute_block(&b.txs).state_root);
        counters.push(engine.counters());
    }
    let r = Reference {
        genesis,
        blocks,
        roots,
        counters,
    };
    let work = tempfile::tempdir().unwrap();
    let blocks_file = work.path().join("blocks.bin");
    std::fs::write(&blocks_file, codec::encode(&r.blocks)).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut stats = Stats::default();
    let mut dir = tempfile::tempdir_in(work.path()).unwrap();
    let mut iteration = 0u64;
    let mut gap = 0;
    while stats.kills < want_kills {
        iteration += 1;
        let sync = iteration.is_multiple_of(2);
        let mut child = Command::new(&exe)
            .args([
                "crash_child",
                "--exact",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("LEDGER_CRASH_DIR", dir.path())
            .env("LEDGER_CRASH_BLOCKS", &blocks_file)
            .env("LEDGER_CRASH_SEED", iteration.to_string())
            .env("LEDGER_CRASH_SYNC", if sync { "1" } else { "0" })
            .env("RUST_BACKTRACE", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                // libtest may print "test crash_child ... " on the same line first.
                .filter_map(|l| l.find("@@ ").map(|i| l[i + 3..].to_string()))
                .collect::<Vec<String>>()
        });
        let delay = Duration::from_millis(rng.gen_range(5..400));
        std::thread::sleep(delay);
        let killed = matches!(child.try_wait(), Ok(None));
        child.kill().ok(); // SIGKILL
        let status = child.wait().unwrap();
        let lines = reader.join().unwrap();
        let (mut fin, mut app, mut opened, mut done) = (0u64, 0u64, false, false);
        for l in &lines {
            let mut it = l.split(' ');
            match (it.next(), it.next().map(|x| x.parse::<u64>().unwrap())) {
                (Some("FINAL"), Some(h)) => fin = fin.max(h),
                (Some("APPLIED"), Some(h)) => app = app.max(h),
                (Some("OPEN"), Some(a)) => {
                    opened = true;
                    app = app.max(a);
                    fin = fin.max(it.next().unwrap().parse().unwrap());
                }
                (Some("DONE"), _) => done = true,
                _ => {}
            }
        }
        if std::env::var("LEDGER_CRASH_DEBUG").is_ok() {
            eprintln!("iter {iteration}: delay {delay:?} killed {killed} opened {opened} done {done} lines {} fin {fin} app {app} first {:?}", lines.len(), lines.first());
        }
        assert!(
            killed || done,
            "child exited on its own without finishing: {status:?} {lines:?}"
        );
        if killed {
            stats.kills += 1;
            stats.killed_in_startup += u32::from(!opened);
            stats.killed_in_startup_with_gap += u32::from(!opened && gap > 0);
        }
        gap = check_dir(dir.path(), &r, fin, app, &mut stats);
        if done {
            // A whole chain written through crashes: verify it end to end, start anew.
            let store = ChainStore::open(dir.path(), StoreOptions::unsynced()).unwrap();
            let report = ledger_storage::replay_chain(&store, Some(&r.genesis), |_| {}).unwrap();
            assert!(
                report.is_ok() && report.blocks == BLOCKS as u64,
                "{report:?}"
            );
            assert_eq!(report.final_root, r.roots[BLOCKS]);
            drop(store);
            stats.completed_chains += 1;
            dir = tempfile::tempdir_in(work.path()).unwrap();
            gap = 0;
        }
    }
    // Let the last directory recover completely.
    let ex = Executor::open(
        ChainStore::open(dir.path(), StoreOptions::unsynced()).unwrap(),
        Some(&r.genesis),
    )
    .unwrap();
    assert_eq!(ex.state_root(), r.roots[ex.applied_height() as usize]);
    assert_eq!(ex.applied_height(), ex.final_height());
    eprintln!(
        "crash test: {} SIGKILLs ({} during start-up, {} of them with final blocks to replay), {} directory checks, {} found with applied < final (largest gap {}), {} chains of {BLOCKS} blocks completed through crashes, {:.1}s",
        stats.kills,
        stats.killed_in_startup,
        stats.killed_in_startup_with_gap,
        stats.checks,
        stats.found_gap,
        stats.max_gap,
        stats.completed_chains,
        started.elapsed().as_secs_f64()
    );
    assert!(stats.kills >= 30);
    assert!(
        stats.found_gap > 0,
        "the two-batch path was never interrupted: {stats:?}"
    );
}
