//! Corruption is always seen: a store of a few hundred blocks of trades is damaged in
//! every way an operator's probe damaged one, and every open must end in a refusal with
//! a clear error, or in a repair after which every index holds exactly the entries the
//! blocks produce (also after the lost blocks come back, as they do from peers) and
//! `replay` agrees. `replay` run on the damaged directory first must never report a
//! healthy store while an index is short.
//!
//! Kinds: the MANIFEST cut at every record boundary (its log framing: 32 KiB blocks,
//! 7-byte record headers), every SST file truncated, CURRENT emptied or deleted, a
//! flipped byte at several offsets of the write-ahead log (and in a store held only in
//! the log), a second process on the same directory with RocksDB's LOCK deleted.
//!
//! `cargo test --release -p ledger-storage --test corruption -- --nocapture` prints the
//! table reported in docs/reliability.md.

use ledger_storage::{
    count_entries, replay_chain, schema, testkit, Batch, Cf, ChainStore, Direction, Executor,
    MemStore, RocksStore, Store, StoreError, StoreOptions,
};
use ledger_types::{Block, Genesis};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const ACCOUNTS: usize = 12;
const SEED: u64 = 1313;
const BLOCKS: usize = 300;
const TXS: usize = 24;
/// Blocks per writing session (the store is closed and reopened between sessions, as a
/// node restarts) and the flush interval inside a session (as memtables fill). The last
/// 25 blocks stay in the write-ahead log only.
const SESSION: usize = 100;
const FLUSH_EVERY: usize = 25;

/// Entry counts of the query indexes, in the order of [`schema::INDEXES`].
type Counts = [u64; schema::INDEXES.len()];

fn counts<S: Store>(store: &ChainStore<S>) -> Counts {
    let mut c = [0u64; schema::INDEXES.len()];
    for (i, cf) in schema::INDEXES.iter().enumerate() {
        c[i] = count_entries(store, *cf).unwrap();
    }
    c
}

struct Reference {
    genesis: Genesis,
    blocks: Vec<Block>,
    /// Index entry counts after each height (index 0: genesis).
    counts: Vec<Counts>,
}

fn reference() -> Reference {
    let (genesis, keys) = testkit::genesis(ACCOUNTS);
    let blocks = testkit::chain(&genesis, &keys, SEED, BLOCKS, TXS);
    let store = ChainStore::new(MemStore::new(), StoreOptions::default());
    let mut ex = Executor::open(store.clone(), Some(&genesis)).unwrap();
    let mut counts = vec![self::counts(&store)];
    for (i, b) in blocks.iter().enumerate() {
        ex.finalize(b.clone(), &testkit::certificate(i as u64 + 1))
            .unwrap();
        counts.push(self::counts(&store));
    }
    let last = counts[BLOCKS];
    assert!(last[3] > 1000, "the chain should trade: {last:?}");
    Reference {
        genesis,
        blocks,
        counts,
    }
}

fn build(dir: &Path, r: &Reference) {
    for session in 0..BLOCKS / SESSION {
        let store = ChainStore::open(dir, StoreOptions::default()).unwrap();
        let mut ex = Executor::open(store.clone(), Some(&r.genesis)).unwrap();
        for h in session * SESSION + 1..=(session + 1) * SESSION {
            ex.finalize(r.blocks[h - 1].clone(), &testkit::certificate(h as u64))
                .unwrap();
            if h % FLUSH_EVERY == 0 && h < BLOCKS {
                store.flush().unwrap();
            }
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn files(dir: &Path, pred: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| pred(p.file_name().unwrap().to_str().unwrap()))
        .collect();
    v.sort();
    v
}

fn manifest(dir: &Path) -> PathBuf {
    let name = std::fs::read_to_string(dir.join("CURRENT")).unwrap();
    dir.join(name.trim())
}

/// End offsets of the complete records of a RocksDB log file (MANIFEST or WAL):
/// 32 KiB blocks, each record a 7-byte header (crc 4, length 2, type 1) and payload;
/// types FULL (1) and LAST (4) end a record; a block tail under 7 bytes is padding.
fn record_ends(bytes: &[u8]) -> Vec<usize> {
    const BLOCK: usize = 32 * 1024;
    let mut ends = Vec::new();
    let mut pos = 0;
    while pos + 7 <= bytes.len() {
        let left = BLOCK - pos % BLOCK;
        if left < 7 {
            pos += left;
            continue;
        }
        let len = u16::from_le_bytes([bytes[pos + 4], bytes[pos + 5]]) as usize;
        let kind = bytes[pos + 6];
        if kind == 0 && len == 0 {
            break;
        }
        let end = pos + 7 + len;
        if end > bytes.len() {
            break;
        }
        if kind == 1 || kind == 4 {
            ends.push(end);
        }
        pos = end;
    }
    ends
}

#[derive(Debug)]
enum Outcome {
    /// The open refused with this error.
    Refused(String),
    /// The open repaired (or found nothing wrong); the store came back at this applied
    /// height, below the height before the damage when the damage lost blocks.
    Opened { applied: u64, rebuilt: bool },
}

/// Opens a damaged directory as replay and then as a node would, and checks the result.
fn evaluate(dir: &Path, r: &Reference, what: &str) -> Outcome {
    evaluate_with(dir, r, what, true)
}

/// [`evaluate`], with RocksDB's tracking of write-ahead log files in the MANIFEST on
/// (the product) or off (RocksDB's default, the probe's setting).
fn evaluate_with(dir: &Path, r: &Reference, what: &str, track_wals: bool) -> Outcome {
    // `replay` on the damaged directory: if it calls it healthy, it must be.
    if let Ok(store) = ChainStore::open_read_only(dir) {
        if let Ok(report) = replay_chain(&store, Some(&r.genesis), |_| {}) {
            if report.is_ok() {
                let a = report.applied_height as usize;
                assert_eq!(
                    counts(&store),
                    r.counts[a],
                    "{what}: replay reported a healthy store at applied height {a}, but the indexes differ"
                );
            }
        }
    }
    let opened = RocksStore::open_with(dir, track_wals).and_then(|raw| {
        let store = ChainStore::new(raw, StoreOptions::default());
        let before = store.markers(Cf::Trades).ok();
        Executor::open(store, Some(&r.genesis)).map(|ex| (ex, before))
    });
    let (mut ex, before) = match opened {
        Err(e) => {
            let msg = e.to_string();
            assert!(
                !matches!(e, StoreError::NotInitialized),
                "{what}: a damaged store was taken for an empty one"
            );
            assert!(
                msg.len() > 30 && !msg.contains("Writer has previous error"),
                "{what}: unclear error: {msg}"
            );
            return Outcome::Refused(msg);
        }
        Ok(x) => x,
    };
    let store = ex.store().clone();
    let applied = ex.applied_height();
    assert!(applied as usize <= BLOCKS);
    assert_eq!(
        counts(&store),
        r.counts[applied as usize],
        "{what}: opened at applied height {applied} with incomplete indexes"
    );
    // The lost final blocks come back (from peers, in a node) and the indexes follow.
    for h in ex.final_height() as usize + 1..=BLOCKS {
        ex.finalize(r.blocks[h - 1].clone(), &testkit::certificate(h as u64))
            .unwrap();
    }
    ex.catch_up().unwrap();
    assert_eq!(
        counts(&store),
        r.counts[BLOCKS],
        "{what}: indexes incomplete after catching up"
    );
    let rebuilt = before.is_some_and(|m| m != [applied]);
    drop(ex);
    drop(store);
    let store = ChainStore::open_read_only(dir).unwrap();
    let report = replay_chain(&store, Some(&r.genesis), |_| {}).unwrap();
    assert!(
        report.is_ok(),
        "{what}: replay after the repair: {report:?}"
    );
    assert_eq!(report.applied_height as usize, BLOCKS);
    Outcome::Opened { applied, rebuilt }
}

#[derive(Default)]
struct Tally {
    cases: u32,
    refused: u32,
    full: u32,
    lost_blocks: u32,
    rebuilt: u32,
    errors: BTreeMap<String, (u32, String)>,
}

impl Tally {
    fn add(&mut self, o: Outcome) {
        self.cases += 1;
        match o {
            Outcome::Refused(msg) => {
                self.refused += 1;
                // One line per kind of refusal: paths and numbers vary.
                let class: String = msg
                    .chars()
                    .filter(|c| !c.is_ascii_digit())
                    .take(140)
                    .collect();
                let e = self.errors.entry(class).or_insert((0, msg));
                e.0 += 1;
            }
            Outcome::Opened { applied, rebuilt } => {
                if applied as usize == BLOCKS {
                    self.full += 1;
                } else {
                    self.lost_blocks += 1;
                }
                if rebuilt {
                    self.rebuilt += 1;
                }
            }
        }
    }
}

fn case(pristine: &Path, work: &Path, name: &str, damage: impl FnOnce(&Path)) -> PathBuf {
    let dir = work.join(name);
    copy_dir(pristine, &dir);
    damage(&dir);
    dir
}

#[test]
fn every_corruption_is_refused_or_repaired() {
    let r = reference();
    let tmp = tempfile::tempdir().unwrap();
    let pristine = tmp.path().join("pristine");
    build(&pristine, &r);
    let work = tmp.path().join("cases");
    let mut table: Vec<(String, Tally)> = Vec::new();

    // MANIFEST cut at every record boundary.
    let m = manifest(&pristine);
    let m_name = m.file_name().unwrap().to_owned();
    let bytes = std::fs::read(&m).unwrap();
    let mut cuts = vec![0];
    cuts.extend(record_ends(&bytes).into_iter().filter(|e| *e < bytes.len()));
    assert!(
        cuts.len() > 10,
        "expected many MANIFEST records, found {}",
        cuts.len()
    );
    for track_wals in [true, false] {
        let mut t = Tally::default();
        for cut in &cuts {
            let dir = case(&pristine, &work, &format!("manifest-{cut}"), |d| {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(d.join(&m_name))
                    .unwrap();
                f.set_len(*cut as u64).unwrap();
            });
            let what = format!("MANIFEST cut at {cut} (WAL tracking {track_wals})");
            t.add(evaluate_with(&dir, &r, &what, track_wals));
            std::fs::remove_dir_all(&dir).unwrap();
        }
        table.push((
            format!(
                "MANIFEST cut at each record boundary ({} of {} bytes){}",
                cuts.len(),
                bytes.len(),
                if track_wals {
                    ""
                } else {
                    ", RocksDB's WAL tracking off"
                }
            ),
            t,
        ));
    }

    // Every SST truncated to half its size.
    let ssts = files(&pristine, |n| n.ends_with(".sst"));
    assert!(!ssts.is_empty());
    let mut t = Tally::default();
    for sst in &ssts {
        let name = sst.file_name().unwrap().to_owned();
        let dir = case(&pristine, &work, "sst", |d| {
            let p = d.join(&name);
            let len = std::fs::metadata(&p).unwrap().len();
            std::fs::OpenOptions::new()
                .write(true)
                .open(&p)
                .unwrap()
                .set_len(len / 2)
                .unwrap();
        });
        t.add(evaluate(&dir, &r, &format!("{name:?} truncated")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
    table.push((format!("SST truncated to half ({} files)", ssts.len()), t));

    // CURRENT emptied, deleted.
    for (label, empty) in [("CURRENT empty", true), ("CURRENT deleted", false)] {
        let mut t = Tally::default();
        let dir = case(&pristine, &work, "current", |d| {
            if empty {
                std::fs::write(d.join("CURRENT"), b"").unwrap();
            } else {
                std::fs::remove_file(d.join("CURRENT")).unwrap();
            }
        });
        // replay (read-only) says the store is damaged, not that it is no database.
        let ro = ChainStore::open_read_only(&dir).unwrap_err();
        assert!(matches!(ro, StoreError::Corrupt { .. }), "{label}: {ro}");
        let o = evaluate(&dir, &r, label);
        assert!(matches!(o, Outcome::Refused(_)), "{label}: {o:?}");
        t.add(o);
        std::fs::remove_dir_all(&dir).unwrap();
        table.push((label.to_string(), t));
    }

    // A flipped byte in the write-ahead log, at several offsets.
    let wals = files(&pristine, |n| n.ends_with(".log"));
    let wal = wals.last().expect("a write-ahead log").clone();
    let wal_name = wal.file_name().unwrap().to_owned();
    let wal_len = std::fs::metadata(&wal).unwrap().len() as usize;
    let mut t = Tally::default();
    let offsets: Vec<usize> = (0..8).map(|i| 10 + i * (wal_len - 20) / 8).collect();
    for off in &offsets {
        let dir = case(&pristine, &work, "wal", |d| flip(&d.join(&wal_name), *off));
        t.add(evaluate(&dir, &r, &format!("WAL byte {off} flipped")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
    table.push((
        format!(
            "WAL byte flipped ({} offsets of {wal_len} bytes)",
            offsets.len()
        ),
        t,
    ));

    // A store held only in its write-ahead log, first record damaged: everything lost.
    let mut t = Tally::default();
    let only_log = work.join("only-log");
    {
        let store = ChainStore::open(&only_log, StoreOptions::default()).unwrap();
        let mut ex = Executor::open(store, Some(&r.genesis)).unwrap();
        for h in 1..=40 {
            ex.finalize(r.blocks[h - 1].clone(), &testkit::certificate(h as u64))
                .unwrap();
        }
    }
    let log = files(&only_log, |n| n.ends_with(".log")).pop().unwrap();
    flip(&log, 20);
    let o = evaluate(
        &only_log,
        &r,
        "WAL first record flipped, store only in the log",
    );
    if let Outcome::Refused(msg) = &o {
        assert!(!msg.contains("is empty"), "{msg}");
    }
    t.add(o);
    table.push(("WAL first record flipped, store only in the log".into(), t));

    // Two processes on one directory, RocksDB's LOCK deleted.
    let mut t = Tally::default();
    let dir = case(&pristine, &work, "two", |_| {});
    {
        let first = ChainStore::open(&dir, StoreOptions::default()).unwrap();
        let ex = Executor::open(first.clone(), Some(&r.genesis)).unwrap();
        std::fs::remove_file(dir.join("LOCK")).unwrap();
        let second = ChainStore::open(&dir, StoreOptions::default());
        let err = second.expect_err("a second store on the same directory");
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        t.add(Outcome::Refused(err.to_string()));
        drop(ex);
    }
    // The first one's data is intact.
    let o = evaluate(&dir, &r, "after the refused second open");
    assert!(matches!(o, Outcome::Opened { applied, rebuilt: false } if applied as usize == BLOCKS));
    table.push(("second process on the directory (LOCK deleted)".into(), t));

    println!("\n| corruption | cases | refused | repaired, no block lost | repaired, lost blocks re-fetched | indexes rebuilt |");
    println!("|---|---|---|---|---|---|");
    for (label, t) in &table {
        println!(
            "| {label} | {} | {} | {} | {} | {} |",
            t.cases, t.refused, t.full, t.lost_blocks, t.rebuilt
        );
    }
    println!("\nrefusals:");
    for (label, t) in &table {
        for (n, msg) in t.errors.values() {
            println!("- {label}: {n} x, e.g. `{msg}`");
        }
    }
    let trades = r.counts[BLOCKS][3];
    let orders = r.counts[BLOCKS][1];
    println!("\nreference: {BLOCKS} blocks, {trades} trades, {orders} order index entries");
    let _ = schema::SCHEMA_VERSION;
}

fn flip(path: &Path, offset: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[offset] ^= 0x5a;
    std::fs::write(path, b).unwrap();
}

/// An index that lost entries behind the markers' back (a hole: an old marker kept, as
/// when its deletion was in lost writes) is rebuilt on open; one that lost entries with
/// its markers intact is caught by replay's counts.
#[test]
fn holes_are_rebuilt_and_replay_counts_catch_the_rest() {
    let (genesis, keys) = testkit::genesis(ACCOUNTS);
    let blocks = testkit::chain(&genesis, &keys, SEED, 120, TXS);
    let store = ChainStore::new(MemStore::new(), StoreOptions::default());
    let mut ex = Executor::open(store.clone(), Some(&genesis)).unwrap();
    for (i, b) in blocks.iter().enumerate() {
        ex.finalize(b.clone(), &testkit::certificate(i as u64 + 1))
            .unwrap();
    }
    drop(ex);
    let healthy = counts(&store);
    let trades_key = |store: &ChainStore<MemStore>, n: usize| {
        let mut keys = Vec::new();
        store
            .raw()
            .scan(Cf::Trades, None, None, Direction::Forward, &mut |k, _| {
                if !schema::is_marker(k) {
                    keys.push(k.to_vec());
                }
                Ok(keys.len() < n)
            })
            .unwrap();
        keys
    };
    // 1. Lose 200 trades and every order summary, and keep stale markers at 60.
    let mut b = Batch::new();
    for k in trades_key(&store, 200) {
        b.delete(Cf::Trades, &k);
    }
    store
        .raw()
        .scan(
            Cf::OrderIndex,
            None,
            None,
            Direction::Forward,
            &mut |k, _| {
                if !schema::is_marker(k) {
                    b.delete(Cf::OrderIndex, k);
                }
                Ok(true)
            },
        )
        .unwrap();
    b.put(Cf::Trades, &schema::marker_key(60), &[]);
    b.put(Cf::OrderIndex, &schema::marker_key(60), &[]);
    store.raw().write(&b, true).unwrap();
    let err = store.check(Some(&genesis)).unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Incomplete {
                cf: "order_index",
                complete_to: Some(60),
                rebuildable: true,
                ..
            }
        ),
        "{err}"
    );
    // replay refuses with the same error; the node rebuilds.
    let e = replay_chain(&store, Some(&genesis), |_| {}).unwrap_err();
    assert!(e.to_string().contains("complete only to height 60"), "{e}");
    let ex = Executor::open(store.clone(), Some(&genesis)).unwrap();
    assert_eq!(ex.applied_height(), 120);
    assert_eq!(counts(&store), healthy);
    assert!(replay_chain(&store, Some(&genesis), |_| {})
        .unwrap()
        .is_ok());
    drop(ex);

    // 2. Lose 10 trades with the markers intact: open cannot see it, replay can.
    let mut b = Batch::new();
    for k in trades_key(&store, 10) {
        b.delete(Cf::Trades, &k);
    }
    store.raw().write(&b, true).unwrap();
    let report = replay_chain(&store, Some(&genesis), |_| {}).unwrap();
    assert!(!report.is_ok());
    let bad = report.index_mismatches();
    assert_eq!(bad.len(), 1);
    assert_eq!(
        (bad[0].index, bad[0].found + 10),
        ("trades", bad[0].expected)
    );
    // Rebuilding on request restores it.
    Executor::rebuild_indexes(&store).unwrap();
    assert_eq!(counts(&store), healthy);
    assert!(replay_chain(&store, Some(&genesis), |_| {})
        .unwrap()
        .is_ok());
}

/// Unmounts the test's tmpfs, also when the test fails.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// A full disk is named: ENOSPC and the store's path, on the write that hit it and on
/// every later one, never RocksDB's "Writer has previous error" alone. Needs a small
/// tmpfs (root, or a user namespace allowing mounts); skips with a message otherwise.
#[test]
fn disk_full_names_enospc_and_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("small");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=6m", "tmpfs"])
        .arg(&mnt)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIP disk_full_names_enospc_and_the_path: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
        return;
    }
    let _guard = Mount(mnt.clone());
    let dir = mnt.join("data");
    let (genesis, keys) = testkit::genesis(ACCOUNTS);
    let mut stream = testkit::BlockStream::new(&genesis, &keys, SEED, false);
    let err = match ChainStore::open(&dir, StoreOptions::default())
        .and_then(|s| Executor::open(s, Some(&genesis)))
    {
        Err(e) => e,
        Ok(mut ex) => {
            let mut h = 0u64;
            loop {
                h += 1;
                assert!(h < 100_000, "the 6 MiB disk never filled");
                if let Err(e) = ex.finalize(stream.next_block(200), &testkit::certificate(h)) {
                    // Every later write names the cause too (or the poisoned executor).
                    let again = ex.finalize(stream.next_block(1), &testkit::certificate(h));
                    assert!(again.is_err());
                    break e;
                }
            }
        }
    };
    let msg = err.to_string();
    println!("disk full: {msg}");
    assert!(matches!(err, StoreError::DiskFull { .. }), "{msg}");
    assert!(msg.contains("ENOSPC"), "{msg}");
    assert!(msg.contains(&dir.display().to_string()), "{msg}");
}

/// A kill while RocksDB creates a database (found by the SIGKILL crash test) leaves
/// `MANIFEST-000001` without CURRENT: nothing was ever written, so the store is created
/// again. The same file next to a WAL (a database that was opened) is still refused.
#[test]
fn an_interrupted_creation_is_created_again_and_a_lost_current_is_still_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("MANIFEST-000001"), b"first manifest record").unwrap();
    std::fs::write(dir.join("000001.dbtmp"), b"MANIFEST-000001\n").unwrap();
    let store = ChainStore::open(&dir, StoreOptions::unsynced()).expect("created again");
    assert!(matches!(store.check(None), Err(StoreError::NotInitialized)));
    drop(store);
    assert!(dir.join("CURRENT").is_file());
    assert!(!dir.join("000001.dbtmp").exists());

    let used = tmp.path().join("used");
    std::fs::create_dir_all(&used).unwrap();
    std::fs::write(used.join("MANIFEST-000001"), b"first manifest record").unwrap();
    std::fs::write(used.join("000004.log"), b"a write").unwrap();
    match ChainStore::open(&used, StoreOptions::unsynced()) {
        Err(StoreError::Corrupt { detail, .. }) => assert!(detail.contains("CURRENT"), "{detail}"),
        Err(e) => panic!("refused for the wrong reason: {e}"),
        Ok(_) => panic!("a database with a WAL and no CURRENT was opened"),
    }
    assert!(used.join("MANIFEST-000001").exists(), "nothing removed");
}
