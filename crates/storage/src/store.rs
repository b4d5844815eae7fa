//! The [`Store`] trait: an ordered key-value store with column families and atomic
//! batches. [`RocksStore`](crate::RocksStore) is the product implementation;
//! `MemStore` (feature `test-utils`) is its in-memory twin for tests. Everything typed
//! (blocks, state, indexes, recovery) is written once on top of this trait, in
//! [`ChainStore`](crate::ChainStore) and [`Executor`](crate::Executor), so both backends
//! behave the same by construction and one test suite runs against both.

use crate::error::Result;
use crate::schema::Cf;
use bincode::Encode;
use ledger_types::codec;

/// Iteration order of a scan.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Direction {
    /// Ascending keys.
    Forward,
    /// Descending keys (newest first for big-endian heights and ids).
    Reverse,
}

/// What a scan callback wants next.
pub type Visit<'a> = dyn FnMut(&[u8], &[u8]) -> Result<bool> + 'a;

/// An ordered key-value store with column families and atomic batches.
///
/// Implementations must apply a [`Batch`] atomically: after a crash, either every
/// operation of a written batch is visible or none is. With `sync = true`, `write`
/// returns only once the batch is durable on disk.
pub trait Store: Send + Sync + 'static {
    /// The value at `key`, if any.
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Visits the keys in `[start, end)` (unbounded where `None`) in `direction`, calling
    /// `visit(key, value)` until it returns `Ok(false)` or an error.
    fn scan(
        &self,
        cf: Cf,
        start: Option<&[u8]>,
        end: Option<&[u8]>,
        direction: Direction,
        visit: &mut Visit<'_>,
    ) -> Result<()>;

    /// Applies every operation of `batch` atomically, in order; durable before returning
    /// when `sync` is true.
    fn write(&self, batch: &Batch, sync: bool) -> Result<()>;

    /// Flushes buffered writes to disk (memtables and the write-ahead log).
    fn flush(&self) -> Result<()>;

    /// The final and applied heights this data directory last recorded outside the
    /// database (see [`record_progress`](Self::record_progress)), read at open; `None`
    /// if it keeps no such record.
    fn recorded_progress(&self) -> Option<(u64, u64)> {
        None
    }

    /// Records the heights just committed outside the database, so that a store that
    /// lost writes (a damaged write-ahead log or MANIFEST) can say what it lost. Not
    /// synced: a process crash keeps it, a power failure may not. Best effort.
    fn record_progress(&self, _final_height: u64, _applied_height: u64) {}

    /// Where the store lives and what files it holds, for error messages.
    fn describe(&self) -> (String, String) {
        ("memory".into(), String::new())
    }
}

#[derive(Clone, Copy, Debug)]
struct Op {
    cf: Cf,
    start: usize,
    key_end: usize,
    end: usize,
    delete: bool,
}

/// A list of puts and deletes across column families, written atomically by
/// [`Store::write`]. Keys and values live in one buffer, so building a batch of tens of
/// thousands of entries costs a few allocations.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    ops: Vec<Op>,
    buf: Vec<u8>,
}

/// One operation of a [`Batch`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BatchOp<'a> {
    /// Set `key` to `value`.
    Put {
        /// Column family.
        cf: Cf,
        /// Key.
        key: &'a [u8],
        /// Value.
        value: &'a [u8],
    },
    /// Remove `key`.
    Delete {
        /// Column family.
        cf: Cf,
        /// Key.
        key: &'a [u8],
    },
}

impl BatchOp<'_> {
    /// The column family.
    pub fn cf(&self) -> Cf {
        match self {
            BatchOp::Put { cf, .. } | BatchOp::Delete { cf, .. } => *cf,
        }
    }

    /// The key.
    pub fn key(&self) -> &[u8] {
        match self {
            BatchOp::Put { key, .. } | BatchOp::Delete { key, .. } => key,
        }
    }
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds a put of raw bytes.
    pub fn put(&mut self, cf: Cf, key: &[u8], value: &[u8]) {
        let start = self.buf.len();
        self.buf.extend_from_slice(key);
        let key_end = self.buf.len();
        self.buf.extend_from_slice(value);
        self.ops.push(Op {
            cf,
            start,
            key_end,
            end: self.buf.len(),
            delete: false,
        });
    }

    /// Adds a put of the canonical encoding of `value`.
    pub fn put_encoded<T: Encode>(&mut self, cf: Cf, key: &[u8], value: &T) {
        let start = self.buf.len();
        self.buf.extend_from_slice(key);
        let key_end = self.buf.len();
        codec::encode_into(value, &mut self.buf);
        self.ops.push(Op {
            cf,
            start,
            key_end,
            end: self.buf.len(),
            delete: false,
        });
    }

    /// Adds a delete.
    pub fn delete(&mut self, cf: Cf, key: &[u8]) {
        let start = self.buf.len();
        self.buf.extend_from_slice(key);
        self.ops.push(Op {
            cf,
            start,
            key_end: self.buf.len(),
            end: self.buf.len(),
            delete: true,
        });
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True if the batch has no operations.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Total bytes of keys and values.
    pub fn size_in_bytes(&self) -> usize {
        self.buf.len()
    }

    /// The operations sorted by column family and key, keeping the batch order of
    /// operations on the same key: applying them gives the same result as [`iter`]
    /// (a batch is atomic), and inserting sorted keys into a skip-list memtable is
    /// several times faster than inserting random hashes.
    ///
    /// [`iter`]: Batch::iter
    pub fn sorted(&self) -> Vec<BatchOp<'_>> {
        let mut ops: Vec<BatchOp<'_>> = self.iter().collect();
        // `sort_by` is stable.
        ops.sort_by(|a, b| (a.cf(), a.key()).cmp(&(b.cf(), b.key())));
        ops
    }

    /// The operations, in order.
    pub fn iter(&self) -> impl Iterator<Item = BatchOp<'_>> + '_ {
        self.ops.iter().map(move |op| {
            let key = &self.buf[op.start..op.key_end];
            if op.delete {
                BatchOp::Delete { cf: op.cf, key }
            } else {
                BatchOp::Put {
                    cf: op.cf,
                    key,
                    value: &self.buf[op.key_end..op.end],
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_keeps_operations_in_order() {
        let mut b = Batch::new();
        b.put(Cf::Meta, b"k1", b"v1");
        b.delete(Cf::State, b"k2");
        b.put_encoded(Cf::Roots, b"k3", &7u64);
        let ops: Vec<BatchOp<'_>> = b.iter().collect();
        assert_eq!(
            ops,
            vec![
                BatchOp::Put {
                    cf: Cf::Meta,
                    key: b"k1",
                    value: b"v1"
                },
                BatchOp::Delete {
                    cf: Cf::State,
                    key: b"k2"
                },
                BatchOp::Put {
                    cf: Cf::Roots,
                    key: b"k3",
                    value: &7u64.to_le_bytes()
                },
            ]
        );
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn sorting_keeps_the_order_of_operations_on_one_key() {
        let mut b = Batch::new();
        b.put(Cf::State, b"b", b"1");
        b.delete(Cf::State, b"a");
        b.put(Cf::Meta, b"z", b"2");
        b.put(Cf::State, b"a", b"3");
        let sorted: Vec<(Cf, Vec<u8>, bool)> = b
            .sorted()
            .iter()
            .map(|op| {
                (
                    op.cf(),
                    op.key().to_vec(),
                    matches!(op, BatchOp::Delete { .. }),
                )
            })
            .collect();
        assert_eq!(
            sorted,
            vec![
                (Cf::Meta, b"z".to_vec(), false),
                (Cf::State, b"a".to_vec(), true),
                (Cf::State, b"a".to_vec(), false),
                (Cf::State, b"b".to_vec(), false),
            ]
        );
    }
}
