//! The index from order id to slot.
//!
//! A hash table of slot numbers only (4 bytes an entry, against 36 for a map from the
//! 32-byte id): the id of slot `s` is read from the engine's `orders[s]` when a lookup
//! lands on it (hashbrown compares a 7-bit tag from the hash first, so this is about
//! once per lookup). A small table stays in cache while the orders it points to do not.
//! Order ids are transaction hashes, which nobody can choose bit by bit, so the seeded
//! word mixer of [`crate::fasthash`] is the hasher, as for the map this replaces. The
//! table is never iterated.

use crate::fasthash::KeyHasherBuilder;
use crate::state::OrderRecord;
use hashbrown::HashTable;
use ledger_types::OrderId;
use std::hash::BuildHasher;

/// Live order ids to their slots (see the module docs).
#[derive(Clone, Debug, Default)]
pub(super) struct OrderIndex {
    table: HashTable<u32>,
    hasher: KeyHasherBuilder,
}

impl OrderIndex {
    /// The slot of order `id`, given every slot's order.
    #[inline]
    pub(super) fn get(&self, id: &OrderId, orders: &[OrderRecord]) -> Option<u32> {
        let h = self.hasher.hash_one(id);
        self.table
            .find(h, |&s| orders[s as usize].id == *id)
            .copied()
    }

    /// Records that slot `s` holds order `orders[s].id` (not yet in the index).
    #[inline]
    pub(super) fn insert(&mut self, s: u32, orders: &[OrderRecord]) {
        let hasher = &self.hasher;
        let h = hasher.hash_one(orders[s as usize].id);
        self.table
            .insert_unique(h, s, |&t| hasher.hash_one(orders[t as usize].id));
    }

    /// Forgets order `id` (its slot still holds it); returns its slot.
    #[inline]
    pub(super) fn remove(&mut self, id: &OrderId, orders: &[OrderRecord]) -> Option<u32> {
        let h = self.hasher.hash_one(id);
        self.table
            .find_entry(h, |&s| orders[s as usize].id == *id)
            .ok()
            .map(|e| e.remove().0)
    }

    /// Number of orders indexed.
    pub(super) fn len(&self) -> usize {
        self.table.len()
    }
}
