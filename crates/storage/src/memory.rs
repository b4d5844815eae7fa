//! [`MemStore`]: the in-memory twin of [`RocksStore`](crate::RocksStore), for tests
//! only (feature `test-utils`). One `BTreeMap` per column family behind one lock, so a
//! batch is applied atomically like a RocksDB `WriteBatch`.

use crate::error::Result;
use crate::schema::Cf;
use crate::store::{Batch, BatchOp, Direction, Store, Visit};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, RwLock};

type Tables = Vec<BTreeMap<Vec<u8>, Vec<u8>>>;

/// An in-memory [`Store`]. Cloning shares the data (like reopening the same directory).
#[derive(Clone, Debug)]
pub struct MemStore {
    tables: Arc<RwLock<Tables>>,
}

impl Default for MemStore {
    fn default() -> Self {
        MemStore {
            tables: Arc::new(RwLock::new(vec![BTreeMap::new(); Cf::ALL.len()])),
        }
    }
}

impl MemStore {
    /// An empty store.
    pub fn new() -> MemStore {
        MemStore::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tables> {
        self.tables.read().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for MemStore {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.read()[cf.index()].get(key).cloned())
    }

    fn scan(
        &self,
        cf: Cf,
        start: Option<&[u8]>,
        end: Option<&[u8]>,
        direction: Direction,
        visit: &mut Visit<'_>,
    ) -> Result<()> {
        // Copy the range out first so the callback may read the store again.
        let items: Vec<(Vec<u8>, Vec<u8>)> = {
            let tables = self.read();
            let lo = start.map_or(Bound::Unbounded, |s| Bound::Included(s.to_vec()));
            let hi = end.map_or(Bound::Unbounded, |e| Bound::Excluded(e.to_vec()));
            if let (Bound::Included(l), Bound::Excluded(h)) = (&lo, &hi) {
                if l >= h {
                    return Ok(());
                }
            }
            let range = tables[cf.index()].range((lo, hi));
            match direction {
                Direction::Forward => range.map(|(k, v)| (k.clone(), v.clone())).collect(),
                Direction::Reverse => range.rev().map(|(k, v)| (k.clone(), v.clone())).collect(),
            }
        };
        for (k, v) in &items {
            if !visit(k, v)? {
                break;
            }
        }
        Ok(())
    }

    fn write(&self, batch: &Batch, _sync: bool) -> Result<()> {
        let mut tables = self.tables.write().unwrap_or_else(|p| p.into_inner());
        for op in batch.iter() {
            match op {
                BatchOp::Put { cf, key, value } => {
                    tables[cf.index()].insert(key.to_vec(), value.to_vec());
                }
                BatchOp::Delete { cf, key } => {
                    tables[cf.index()].remove(key);
                }
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }
}
