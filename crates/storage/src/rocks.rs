//! [`RocksStore`]: the [`Store`] on RocksDB, one instance with a column family per
//! [`Cf`].
//!
//! A [`Batch`] becomes one RocksDB `WriteBatch`; all column families share the
//! write-ahead log, so a batch is atomic across them, and RocksDB's default
//! point-in-time WAL recovery drops a torn last batch whole after a crash. `sync = true`
//! writes with `WriteOptions::set_sync(true)` (fsync of the WAL before returning).

use crate::error::{Result, StoreError};
use crate::schema::Cf;
use crate::store::{Batch, BatchOp, Direction, Store, Visit};
use rocksdb::{
    BlockBasedOptions, ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, Options,
    ReadOptions, WriteOptions, DB,
};
use std::path::{Path, PathBuf};

/// The RocksDB-backed store.
pub struct RocksStore {
    db: DB,
    path: PathBuf,
}

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStore")
            .field("path", &self.path)
            .finish()
    }
}

fn backend(context: &str, path: &Path, e: rocksdb::Error) -> StoreError {
    StoreError::Backend(format!("{context} {}: {e}", path.display()))
}

fn db_options() -> Options {
    let mut opts = Options::default();
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
        let path = path.as_ref().to_path_buf();
        std::fs::create_dir_all(&path)
            .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", path.display())))?;
        let db = DB::open_cf_descriptors(&db_options(), &path, descriptors())
            .map_err(|e| backend("cannot open database", &path, e))?;
        Ok(RocksStore { db, path })
    }

    /// Opens an existing database read-only (for `ledger-node replay` and inspection; it
    /// may run next to a live node). Writes fail.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<RocksStore> {
        let path = path.as_ref().to_path_buf();
        if !path.join("CURRENT").is_file() {
            return Err(StoreError::Backend(format!(
                "{} is not a RocksDB database (no CURRENT file)",
                path.display()
            )));
        }
        let mut opts = db_options();
        opts.create_if_missing(false);
        opts.create_missing_column_families(false);
        let db = DB::open_cf_descriptors_read_only(&opts, &path, descriptors(), false)
            .map_err(|e| backend("cannot open database read-only", &path, e))?;
        Ok(RocksStore { db, path })
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
        backend(context, &self.path, e)
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
}
