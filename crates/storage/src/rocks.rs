//! [`RocksStore`]: the [`Store`] on RocksDB, one instance with a column family per
//! [`Cf`].
//!
//! A [`Batch`] becomes one RocksDB `WriteBatch`; all column families share the
//! write-ahead log, so a batch is atomic across them, and RocksDB's default
//! point-in-time WAL recovery drops a torn last batch whole after a crash. `sync = true`
//! writes with `WriteOptions::set_sync(true)` (fsync of the WAL before returning).
//!
//! # Guarding the directory
//!
//! * **One process.** [`RocksStore::open`] takes an exclusive `flock` on the directory
//!   itself, held for the store's lifetime, before RocksDB opens. RocksDB's own `LOCK`
//!   file can be deleted by hand; the directory cannot be deleted under a live store,
//!   so a second node on the same directory is refused even then.
//! * **CURRENT.** A directory with RocksDB files but a missing, empty or dangling
//!   `CURRENT` is refused (RocksDB would otherwise create a new, empty database on top).
//! * **Write-ahead log.** The database opens with `TolerateCorruptedTailRecords`
//!   recovery: a torn last record (a crash mid-write) is dropped, but a damaged record
//!   is an error. The store then reopens with point-in-time recovery, which keeps what
//!   precedes the damage and drops the rest, and logs the loss; the executor compares
//!   the recovered heights with the progress file and logs the heights lost.
//! * **Progress file.** `ledger-node.progress` in the directory holds the pid of the
//!   process that holds it and the final and applied heights last committed, rewritten
//!   after each block (not synced). A store that comes back empty while this file
//!   records progress is refused as lost, not treated as a fresh directory.
//! * **Errors.** RocksDB corruption reports become [`StoreError::Corrupt`] (logged with
//!   the file RocksDB names), a full disk [`StoreError::DiskFull`] with the bytes free.

use crate::error::{Result, StoreError};
use crate::schema::Cf;
use crate::store::{Batch, BatchOp, Direction, Store, Visit};
use rocksdb::{
    BlockBasedOptions, ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, Options,
    ReadOptions, WriteOptions, DB,
};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Name of the progress file in the database directory.
pub const PROGRESS_FILE: &str = "ledger-node.progress";

/// The RocksDB-backed store.
pub struct RocksStore {
    db: DB,
    path: PathBuf,
    /// The directory, `flock`ed exclusively for the store's lifetime (read-write only).
    _lock: Option<File>,
    /// The progress file (read-write only).
    progress: Option<File>,
    /// Heights the progress file recorded when the store opened.
    recorded: Option<(u64, u64)>,
}

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStore")
            .field("path", &self.path)
            .finish()
    }
}

fn backend(context: &str, path: &Path, e: rocksdb::Error) -> StoreError {
    classify(context, path, &e.into_string())
}

/// Bytes available to an unprivileged process on the filesystem holding `path`.
pub fn free_bytes(path: &Path) -> Option<u64> {
    let st = rustix::fs::statvfs(path).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

/// The RocksDB file a message names (`.../000123.sst`, `.log`, `MANIFEST-...`), if any.
pub fn named_file(message: &str) -> Option<&str> {
    message
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .map(|w| w.trim_end_matches([':', '.', ')']))
        .find(|w| {
            w.ends_with(".sst")
                || w.ends_with(".log")
                || w.ends_with(".blob")
                || w.contains("MANIFEST-")
                || w.ends_with("CURRENT")
        })
}

/// Turns a RocksDB message into the error that says what happened.
fn classify(context: &str, path: &Path, msg: &str) -> StoreError {
    let p = path.display().to_string();
    // RocksDB repeats its status prefix when it wraps a status and ends with a period.
    let msg = msg
        .replace("Corruption: Corruption: ", "Corruption: ")
        .replace("\n", " ");
    let msg = msg.trim_end().trim_end_matches('.');
    let lower = msg.to_ascii_lowercase();
    if lower.contains("no space left") || lower.contains("enospc") {
        return StoreError::DiskFull {
            path: p,
            free: free_bytes(path).unwrap_or(0),
            detail: format!("{context}: {msg}"),
        };
    }
    if lower.starts_with("corruption") || lower.contains("corruption:") {
        return StoreError::Corrupt {
            path: p,
            detail: format!("{context}: {msg}"),
        };
    }
    // RocksDB reports later writes after a failed append as "Writer has previous error"
    // or a background error, hiding the cause: a full disk is the usual one.
    if lower.contains("previous error")
        || lower.contains("background")
        || lower.contains("io error")
    {
        if let Some(free) = free_bytes(path) {
            if free < (1 << 20) {
                return StoreError::DiskFull {
                    path: p,
                    free,
                    detail: format!("{context}: {msg}"),
                };
            }
        }
    }
    StoreError::Backend(format!("{context} {p}: {msg}"))
}

/// The RocksDB files in `dir` (not the progress file), for messages.
fn rocksdb_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    n.ends_with(".sst")
                        || n.ends_with(".log")
                        || n.starts_with("MANIFEST-")
                        || n == "CURRENT"
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Refuses a directory whose CURRENT is missing, empty or names no MANIFEST while other
/// RocksDB files are present: opening it would start a new, empty database.
fn check_current(path: &Path) -> Result<()> {
    let files = rocksdb_files(path);
    let others: Vec<&String> = files.iter().filter(|n| *n != "CURRENT").collect();
    if others.is_empty() {
        return Ok(());
    }
    let corrupt = |detail: String| StoreError::Corrupt {
        path: path.display().to_string(),
        detail,
    };
    let current = path.join("CURRENT");
    let text = match std::fs::read_to_string(&current) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(corrupt(format!(
                "{} is missing but the directory holds {} RocksDB files ({}); CURRENT names the live MANIFEST, so nothing can be read without it",
                current.display(),
                others.len(),
                summarize(&others)
            )))
        }
        Err(e) => return Err(corrupt(format!("cannot read {}: {e}", current.display()))),
    };
    let name = text.trim_end_matches('\n');
    if name.is_empty() || !name.starts_with("MANIFEST-") || !text.ends_with('\n') {
        return Err(corrupt(format!(
            "{} does not name a MANIFEST (it holds {:?}); the directory holds {}",
            current.display(),
            text.chars().take(40).collect::<String>(),
            summarize(&others)
        )));
    }
    if !path.join(name).is_file() {
        return Err(corrupt(format!(
            "{} names {name}, which does not exist; the directory holds {}",
            current.display(),
            summarize(&others)
        )));
    }
    Ok(())
}

/// Removes what RocksDB leaves when it is killed while creating a database: it writes
/// `MANIFEST-000001`, then CURRENT (through a `.dbtmp` file and a rename). A directory
/// with that first MANIFEST and nothing else (no CURRENT, no WAL, no table file) and no
/// recorded progress was never opened, so it holds no data; every open of a database
/// writes a new MANIFEST and a WAL, so a database that lost its CURRENT later never
/// looks like this and is still refused by [`check_current`].
fn clear_interrupted_creation(path: &Path, progress_path: &Path) -> Result<()> {
    if path.join("CURRENT").exists() || rocksdb_files(path) != ["MANIFEST-000001"] {
        return Ok(());
    }
    let recorded = std::fs::read_to_string(progress_path)
        .ok()
        .and_then(|t| parse_progress(&t))
        .map_or((0, 0), |(_, f, a)| (f, a));
    if recorded != (0, 0) {
        return Ok(());
    }
    let fail = |e: std::io::Error| {
        StoreError::Backend(format!(
            "clearing the interrupted creation of {}: {e}",
            path.display()
        ))
    };
    tracing::warn!(
        path = %path.display(),
        "the creation of this database was interrupted (MANIFEST-000001 without CURRENT, nothing written yet); creating it again"
    );
    for entry in std::fs::read_dir(path).map_err(fail)? {
        let name = entry.map_err(fail)?.file_name();
        let name = name.to_string_lossy();
        if name == "MANIFEST-000001" || name.ends_with(".dbtmp") {
            std::fs::remove_file(path.join(&*name)).map_err(fail)?;
        }
    }
    Ok(())
}

fn summarize(names: &[&String]) -> String {
    let shown: Vec<&str> = names.iter().take(6).map(|s| s.as_str()).collect();
    if names.len() > shown.len() {
        format!("{}, ... {} in all", shown.join(", "), names.len())
    } else {
        shown.join(", ")
    }
}

/// Parses the progress file: `pid final applied`.
fn parse_progress(text: &str) -> Option<(u32, u64, u64)> {
    let mut it = text.split_whitespace();
    let pid = it.next()?.parse().ok()?;
    let f = it.next()?.parse().ok()?;
    let a = it.next()?.parse().ok()?;
    Some((pid, f, a))
}

fn write_progress(file: &File, pid: u32, final_height: u64, applied: u64) -> std::io::Result<()> {
    // Fixed width, so rewriting in place never leaves a longer old tail.
    let line = format!("{pid:>10} {final_height:>20} {applied:>20}\n");
    file.write_all_at(line.as_bytes(), 0)
}

fn db_options() -> Options {
    let mut opts = Options::default();
    // Check everything RocksDB can on open and while reading (file sizes against the
    // MANIFEST, checksums), and fail on a damaged write-ahead log record instead of
    // silently dropping everything after it; see the module docs for what follows.
    opts.set_paranoid_checks(true);
    opts.set_wal_recovery_mode(rocksdb::DBRecoveryMode::TolerateCorruptedTailRecords);
    opts.set_track_and_verify_wals_in_manifest(true);
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    opts.increase_parallelism(threads.clamp(2, 16) as i32);
    opts.set_max_open_files(1024);
    opts.set_keep_log_file_num(4);
    opts.set_bytes_per_sync(1 << 20);
    opts
}

fn cf_options(cf: Cf) -> Options {
    let mut opts = Options::default();
    opts.set_compression_type(DBCompressionType::Lz4);
    opts.set_level_compaction_dynamic_level_bytes(true);
    let mut table = BlockBasedOptions::default();
    // Point lookups dominate everywhere except the scanned lists; a bloom filter saves a
    // disk read for every absent key (duplicate checks, unknown hashes).
    if !matches!(cf, Cf::Final | Cf::Roots | Cf::Trades | Cf::AccountOrders) {
        table.set_bloom_filter(10.0, false);
    }
    opts.set_block_based_table_factory(&table);
    if cf == Cf::Blocks {
        opts.set_write_buffer_size(128 << 20);
    }
    opts
}

fn descriptors() -> Vec<ColumnFamilyDescriptor> {
    Cf::ALL
        .iter()
        .map(|cf| ColumnFamilyDescriptor::new(cf.name(), cf_options(*cf)))
        .collect()
}

impl RocksStore {
    /// Opens (creating if missing) the database at `path` for reading and writing. Fails
    /// if another process holds it open.
    pub fn open(path: impl AsRef<Path>) -> Result<RocksStore> {
        Self::open_with(path, true)
    }

    /// [`open`](Self::open), choosing whether RocksDB tracks the write-ahead log files in
    /// the MANIFEST and refuses to open when one it lists is missing (`true` in the
    /// product). `false` is RocksDB's default, and how the store behaved before; tests
    /// use it to show that the completeness markers catch what RocksDB then misses.
    pub fn open_with(path: impl AsRef<Path>, track_wals: bool) -> Result<RocksStore> {
        let path = path.as_ref().to_path_buf();
        std::fs::create_dir_all(&path)
            .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", path.display())))?;
        let io = |what: &str, e: std::io::Error| {
            StoreError::Backend(format!("cannot {what} {}: {e}", path.display()))
        };
        let progress_path = path.join(PROGRESS_FILE);
        let lock = File::open(&path).map_err(|e| io("open the directory", e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&progress_path)
                    .ok()
                    .and_then(|t| parse_progress(&t))
                    .map(|(pid, _, _)| format!(", by pid {pid}"))
                    .unwrap_or_default();
                // Not logged here: the caller prints a fatal error once.
                return Err(StoreError::Locked {
                    path: path.display().to_string(),
                    holder,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", e)),
        }
        clear_interrupted_creation(&path, &progress_path)?;
        check_current(&path)?;
        let progress = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&progress_path)
            .map_err(|e| io("open the progress file in", e))?;
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut &progress, &mut text);
        let recorded = parse_progress(&text).map(|(_, f, a)| (f, a));
        let mut opts = db_options();
        opts.set_track_and_verify_wals_in_manifest(track_wals);
        if path.join("CURRENT").is_file() {
            // An existing database must hold every column family: one the MANIFEST does
            // not list lost its files (and a new one could take over the id of a lost
            // family's write-ahead log records).
            opts.create_missing_column_families(false);
            if let Ok(found) = DB::list_cf(&opts, &path) {
                let missing: Vec<&str> = Cf::ALL
                    .iter()
                    .map(|cf| cf.name())
                    .filter(|n| !found.iter().any(|f| f == n))
                    .collect();
                if !missing.is_empty() && recorded.is_none() {
                    // No height was ever recorded here: the process died while RocksDB
                    // was creating the families of a new store (it creates them one
                    // after another). Finish creating them; nothing can have been lost.
                    tracing::info!(
                        path = %path.display(),
                        missing = %missing.join(", "),
                        "finishing the creation of a new store that was interrupted"
                    );
                    opts.create_missing_column_families(true);
                } else if !missing.is_empty() {
                    return Err(StoreError::Corrupt {
                        path: path.display().to_string(),
                        detail: format!(
                            "the MANIFEST does not list the column families {} (it lists {}): it was truncated or replaced",
                            missing.join(", "),
                            found.join(", ")
                        ),
                    });
                }
            }
        }
        let db = match DB::open_cf_descriptors(&opts, &path, descriptors()) {
            Ok(db) => db,
            Err(first) if first.kind() == rocksdb::ErrorKind::Corruption => {
                let first = first.into_string();
                opts.set_wal_recovery_mode(rocksdb::DBRecoveryMode::PointInTime);
                match DB::open_cf_descriptors(&opts, &path, descriptors()) {
                    Ok(db) => {
                        tracing::error!(
                            path = %path.display(),
                            file = named_file(&first).unwrap_or("?"),
                            "damaged write-ahead log: {first}; recovered to the last consistent point before the damage, every write after it is lost (the node checks below which heights)"
                        );
                        db
                    }
                    Err(second) => {
                        let second = second.into_string();
                        let detail = if second == first {
                            first
                        } else {
                            format!("{first} (point-in-time recovery: {second})")
                        };
                        return Err(classify("cannot open database", &path, &detail));
                    }
                }
            }
            Err(e) => return Err(backend("cannot open database", &path, e)),
        };
        let (f, a) = recorded.unwrap_or((0, 0));
        write_progress(&progress, std::process::id(), f, a)
            .map_err(|e| io("write the progress file in", e))?;
        Ok(RocksStore {
            db,
            path,
            _lock: Some(lock),
            progress: Some(progress),
            recorded,
        })
    }

    /// Opens an existing database read-only (for `ledger-node replay` and inspection; it
    /// may run next to a live node). Writes fail.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<RocksStore> {
        let path = path.as_ref().to_path_buf();
        // A damaged directory is reported as damaged, not as "not a database".
        check_current(&path)?;
        if !path.join("CURRENT").is_file() {
            return Err(StoreError::Backend(format!(
                "{} is not a RocksDB database (no CURRENT file)",
                path.display()
            )));
        }
        let mut opts = db_options();
        opts.create_if_missing(false);
        opts.create_missing_column_families(false);
        let recorded = std::fs::read_to_string(path.join(PROGRESS_FILE))
            .ok()
            .and_then(|t| parse_progress(&t))
            .map(|(_, f, a)| (f, a));
        let db = DB::open_cf_descriptors_read_only(&opts, &path, descriptors(), false)
            .map_err(|e| backend("cannot open database read-only", &path, e))?;
        Ok(RocksStore {
            db,
            path,
            _lock: None,
            progress: None,
            recorded,
        })
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// An integer RocksDB property (`rocksdb.estimate-num-keys`, ...) of one column
    /// family, or of the whole database when `cf` is `None`; `None` if RocksDB does not
    /// report it. For metrics.
    pub fn property_int(&self, cf: Option<Cf>, name: &str) -> Option<u64> {
        match cf {
            Some(cf) => {
                let handle = self.db.cf_handle(cf.name())?;
                self.db.property_int_value_cf(handle, name).ok().flatten()
            }
            None => self.db.property_int_value(name).ok().flatten(),
        }
    }

    fn cf(&self, cf: Cf) -> Result<&ColumnFamily> {
        self.db.cf_handle(cf.name()).ok_or_else(|| {
            StoreError::Backend(format!(
                "column family {} missing in {}",
                cf.name(),
                self.path.display()
            ))
        })
    }

    fn err(&self, context: &str, e: rocksdb::Error) -> StoreError {
        let e = backend(context, &self.path, e);
        // A read error is answered to a caller (an RPC client sees only an internal
        // error): the log names the file. Failed writes stop the node and are printed
        // once, by whoever reports the fatal error.
        let read = context.starts_with("read") || context.starts_with("scan");
        if let (true, StoreError::Corrupt { detail, .. }) = (read, &e) {
            tracing::error!(
                path = %self.path.display(),
                file = named_file(detail).unwrap_or("?"),
                "read error from a corrupted file: {detail}"
            );
        }
        e
    }
}

impl Store for RocksStore {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let handle = self.cf(cf)?;
        self.db
            .get_pinned_cf(handle, key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| self.err("read from", e))
    }

    fn scan(
        &self,
        cf: Cf,
        start: Option<&[u8]>,
        end: Option<&[u8]>,
        direction: Direction,
        visit: &mut Visit<'_>,
    ) -> Result<()> {
        let handle = self.cf(cf)?;
        let mut opts = ReadOptions::default();
        if let Some(s) = start {
            opts.set_iterate_lower_bound(s.to_vec());
        }
        if let Some(e) = end {
            opts.set_iterate_upper_bound(e.to_vec());
        }
        let mut it = self.db.raw_iterator_cf_opt(handle, opts);
        match direction {
            Direction::Forward => it.seek_to_first(),
            Direction::Reverse => it.seek_to_last(),
        }
        while let Some((k, v)) = it.item() {
            if !visit(k, v)? {
                return Ok(());
            }
            match direction {
                Direction::Forward => it.next(),
                Direction::Reverse => it.prev(),
            }
        }
        it.status().map_err(|e| self.err("scan of", e))
    }

    fn write(&self, batch: &Batch, sync: bool) -> Result<()> {
        let mut handles: Vec<&ColumnFamily> = Vec::with_capacity(Cf::ALL.len());
        for cf in Cf::ALL {
            handles.push(self.cf(cf)?);
        }
        let mut wb =
            rocksdb::WriteBatch::with_capacity_bytes(batch.size_in_bytes() + 64 * batch.len());
        for op in batch.sorted() {
            match op {
                BatchOp::Put { cf, key, value } => wb.put_cf(handles[cf.index()], key, value),
                BatchOp::Delete { cf, key } => wb.delete_cf(handles[cf.index()], key),
            }
        }
        let mut opts = WriteOptions::default();
        opts.set_sync(sync);
        self.db
            .write_opt(wb, &opts)
            .map_err(|e| self.err("write to", e))
    }

    fn flush(&self) -> Result<()> {
        self.db
            .flush_wal(true)
            .map_err(|e| self.err("flush of", e))?;
        let handles: Vec<&ColumnFamily> = Cf::ALL
            .iter()
            .map(|cf| self.cf(*cf))
            .collect::<Result<_>>()?;
        self.db
            .flush_cfs_opt(&handles, &rocksdb::FlushOptions::default())
            .map_err(|e| self.err("flush of", e))
    }

    fn recorded_progress(&self) -> Option<(u64, u64)> {
        self.recorded
    }

    fn record_progress(&self, final_height: u64, applied_height: u64) {
        if let Some(f) = &self.progress {
            if let Err(e) = write_progress(f, std::process::id(), final_height, applied_height) {
                tracing::warn!(path = %self.path.display(), "cannot update the progress file: {e}");
            }
        }
    }

    fn describe(&self) -> (String, String) {
        let files = rocksdb_files(&self.path);
        let refs: Vec<&String> = files.iter().collect();
        (self.path.display().to_string(), summarize(&refs))
    }
}
