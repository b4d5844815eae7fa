//! The hashlock swap index: every swap ever locked, with how it ended (the revealed
//! preimage of a claim included), and each account's swaps (as owner or counterparty)
//! by lock height. Written by the executor in the block's batch, from the engine's
//! `SwapLocked`, `SwapClaimed` and `SwapRefunded` events.

use crate::chain::{decode_value, ChainStore};
use crate::error::{Result, StoreError};
use crate::records::{page_limit, Page};
use crate::schema::{self, Cf};
use crate::store::{Batch, Direction, Store};
use bincode::{Decode, Encode};
use ledger_engine::{Event, SwapRecord};
use ledger_types::{Address, Hash, Preimage, TxHash};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a swap stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SwapStatus {
    /// Locked; claimable below the timeout, refundable from it.
    Open,
    /// The counterparty claimed it with the preimage.
    Claimed {
        /// The revealed secret.
        preimage: Preimage,
        /// Height of the claiming block.
        height: u64,
        /// The claiming transaction.
        tx_hash: TxHash,
    },
    /// The owner took it back after the timeout.
    Refunded {
        /// Height of the refunding block.
        height: u64,
        /// The refunding transaction.
        tx_hash: TxHash,
    },
}

/// A swap's history: what was locked, where, and how it ended.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct SwapSummary {
    /// The swap as locked (its id is the locking transaction's hash).
    pub record: SwapRecord,
    /// Position of the locking transaction in its block.
    pub lock_position: u32,
    /// Open, claimed or refunded.
    pub status: SwapStatus,
}

/// Collects one block's swap index changes (a swap may be locked and claimed in the same
/// block, so summaries are kept in memory until the batch is built).
#[derive(Default)]
pub(crate) struct SwapIndexWriter {
    touched: BTreeMap<Hash, (SwapSummary, bool)>,
}

impl SwapIndexWriter {
    fn summary<S: Store>(&mut self, store: &ChainStore<S>, id: &Hash) -> Result<&mut SwapSummary> {
        if !self.touched.contains_key(id) {
            let s = store.swap(id)?.ok_or_else(|| {
                StoreError::Index(format!("swap {id} ended but was never indexed"))
            })?;
            self.touched.insert(*id, (s, false));
        }
        self.touched
            .get_mut(id)
            .map(|(s, _)| s)
            .ok_or_else(|| StoreError::Index(format!("swap {id} vanished from the block cache")))
    }

    /// Indexes one swap event of the transaction `tx_hash` at (`height`, `position`).
    pub(crate) fn event<S: Store>(
        &mut self,
        store: &ChainStore<S>,
        e: &Event,
        height: u64,
        position: u32,
        tx_hash: TxHash,
    ) -> Result<()> {
        match e {
            Event::SwapLocked {
                swap_id,
                owner,
                counterparty,
                asset,
                amount,
                hashlock,
                timeout_height,
            } => {
                let summary = SwapSummary {
                    record: SwapRecord {
                        id: *swap_id,
                        owner: *owner,
                        counterparty: *counterparty,
                        asset: *asset,
                        amount: *amount,
                        hashlock: *hashlock,
                        timeout_height: *timeout_height,
                        lock_height: height,
                    },
                    lock_position: position,
                    status: SwapStatus::Open,
                };
                self.touched.insert(*swap_id, (summary, true));
            }
            Event::SwapClaimed {
                swap_id, preimage, ..
            } => {
                self.summary(store, swap_id)?.status = SwapStatus::Claimed {
                    preimage: *preimage,
                    height,
                    tx_hash,
                };
            }
            Event::SwapRefunded { swap_id, .. } => {
                self.summary(store, swap_id)?.status = SwapStatus::Refunded { height, tx_hash };
            }
            _ => {}
        }
        Ok(())
    }

    /// Puts the summaries (and, for new swaps, both parties' list entries).
    pub(crate) fn flush(self, batch: &mut Batch) {
        for (id, (s, new)) in self.touched {
            batch.put_encoded(Cf::Swaps, &schema::swap_summary_key(&id), &s);
            if new {
                let r = &s.record;
                for who in [r.owner, r.counterparty] {
                    batch.put_encoded(
                        Cf::Swaps,
                        &schema::account_swap_key(&who, r.lock_height, s.lock_position),
                        &id,
                    );
                }
            }
        }
    }
}

impl<S: Store> ChainStore<S> {
    /// A swap's summary (open or ended), by id.
    pub fn swap(&self, id: &Hash) -> Result<Option<SwapSummary>> {
        self.indexed(Cf::Swaps)?;
        self.get_decoded(Cf::Swaps, &schema::swap_summary_key(id))
    }

    /// The swaps an account owns or may claim, newest lock first. `cursor` is a swap id:
    /// the page holds swaps locked before it. `limit` defaults to 30, at most 100.
    pub fn account_swaps(
        &self,
        account: &Address,
        cursor: Option<&Hash>,
        limit: Option<usize>,
    ) -> Result<Page<SwapSummary, Hash>> {
        self.indexed(Cf::Swaps)?;
        let limit = page_limit(limit);
        let prefix = schema::account_orders_prefix(schema::SWAP_ACCOUNT, account);
        let end = match cursor {
            Some(id) => {
                let s = self
                    .swap(id)?
                    .ok_or_else(|| StoreError::Index(format!("cursor names unknown swap {id}")))?;
                schema::account_swap_key(account, s.record.lock_height, s.lock_position).to_vec()
            }
            None => schema::prefix_end(&prefix).unwrap_or_default(),
        };
        let mut ids = Vec::new();
        self.raw().scan(
            Cf::Swaps,
            Some(&prefix),
            Some(&end),
            Direction::Reverse,
            &mut |k, v| {
                let id: Hash = decode_value(Cf::Swaps, k, v)?;
                ids.push(id);
                Ok(ids.len() <= limit)
            },
        )?;
        let more = ids.len() > limit;
        ids.truncate(limit);
        let mut items = Vec::with_capacity(ids.len());
        for id in &ids {
            items.push(self.swap(id)?.ok_or_else(|| {
                StoreError::Index(format!(
                    "swap {id} is listed for {account} but has no summary"
                ))
            })?);
        }
        let next_cursor = if more { ids.last().copied() } else { None };
        Ok(Page { items, next_cursor })
    }
}
