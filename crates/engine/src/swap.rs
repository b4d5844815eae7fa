//! Hashlock swaps (a child module of `engine`, so it sees the engine's private state).
//!
//! * **lock** (`swap_lock`): the sender's free balance pays `amount` into the swap, which
//!   the engine holds outside every account until it ends. The swap's id is the locking
//!   transaction's hash. The timeout must be above the executing block's height and at
//!   most [`MAX_SWAP_TIMEOUT_BLOCKS`] ahead; an account holds at most
//!   [`MAX_OPEN_SWAPS_PER_ACCOUNT`] open swaps.
//! * **claim** (`swap_claim`): only the counterparty, only below the timeout height, only
//!   with a preimage whose SHA-256 is the hashlock; the amount goes to its free balance
//!   and the preimage is in the `SwapClaimed` event for everyone to read.
//! * **refund** (`swap_refund`): only the owner, only at or after the timeout height; the
//!   amount returns to its free balance.
//!
//! A claim and a refund both end the swap (it leaves the state), so a swap ends claimed
//! or refunded, never both; and from its timeout on the owner's refund always succeeds,
//! so no swap is stuck. Open swaps are state-root leaves; timeouts compare against the
//! height of the block being executed ([`Engine::begin_block`], [`Engine::height`]).

use super::Engine;
use crate::events::{Event, Rejection};
use crate::root::LeafHasher;
use crate::state::{ChangeSet, SwapRecord};
use ledger_types::decimal::to_units;
use ledger_types::{Address, Hash, SwapClaim, SwapLock, SwapRefund, TxHash};
use std::collections::BTreeMap;

/// Most open swaps one account may own.
pub const MAX_OPEN_SWAPS_PER_ACCOUNT: u32 = 64;
/// Longest timeout a swap may have, in blocks after the locking block.
pub const MAX_SWAP_TIMEOUT_BLOCKS: u64 = 1_000_000;

#[derive(Clone, Debug)]
struct OpenSwap {
    record: SwapRecord,
    /// The leaf hash as of the last commit (`None` if locked since).
    committed: Option<[u8; 32]>,
}

/// The open swaps.
#[derive(Clone, Debug, Default)]
pub(crate) struct SwapBook {
    open: BTreeMap<Hash, OpenSwap>,
    per_owner: BTreeMap<Address, u32>,
    /// Swaps locked since the last commit (possibly ended again since).
    locked: Vec<Hash>,
    /// Committed swaps ended since the last commit, with their committed leaf.
    ended: Vec<(Hash, [u8; 32])>,
}

impl SwapBook {
    fn insert(&mut self, record: SwapRecord, committed: Option<[u8; 32]>) {
        *self.per_owner.entry(record.owner).or_default() += 1;
        self.open.insert(record.id, OpenSwap { record, committed });
    }

    fn remove(&mut self, id: &Hash) -> Option<SwapRecord> {
        let s = self.open.remove(id)?;
        if let Some(n) = self.per_owner.get_mut(&s.record.owner) {
            *n -= 1;
            if *n == 0 {
                self.per_owner.remove(&s.record.owner);
            }
        }
        if let Some(leaf) = s.committed {
            self.ended.push((*id, leaf));
        }
        Some(s.record)
    }
}

fn swap_leaf(s: &SwapRecord) -> [u8; 32] {
    let mut h = LeafHasher::new(b"swap");
    h.bytes(&s.id.0)
        .bytes(&s.owner.0)
        .bytes(&s.counterparty.0)
        .u64(s.asset.0 as u64)
        .u128(s.amount)
        .bytes(&s.hashlock.0)
        .u64(s.timeout_height)
        .u64(s.lock_height);
    h.finish()
}

impl Engine {
    /// An open swap by id.
    pub fn swap(&self, id: &Hash) -> Option<&SwapRecord> {
        self.swaps.open.get(id).map(|s| &s.record)
    }

    /// Every open swap, by id.
    pub fn open_swaps(&self) -> impl Iterator<Item = &SwapRecord> {
        self.swaps.open.values().map(|s| &s.record)
    }

    /// Checks a claim or refund against the current state without changing anything, as
    /// if executed in a block at `height` (the RPC server's admission check: a wrong
    /// preimage, a claim after the timeout or a refund before it is refused at once).
    pub fn check_swap_settlement(
        &self,
        sender: &Address,
        payload: &ledger_types::Payload,
        height: u64,
    ) -> Result<(), Rejection> {
        match payload {
            ledger_types::Payload::SwapClaim(c) => {
                let s = self.swap(&c.swap_id).ok_or(Rejection::SwapNotFound)?;
                claim_rules(s, sender, c, height)
            }
            ledger_types::Payload::SwapRefund(r) => {
                let s = self.swap(&r.swap_id).ok_or(Rejection::SwapNotFound)?;
                refund_rules(s, sender, height)
            }
            _ => Ok(()),
        }
    }

    pub(super) fn swap_lock(&mut self, a: u32, id: TxHash, l: &SwapLock) -> Result<(), Rejection> {
        let height = self.counters.height;
        if l.asset.0 as usize >= self.n_assets {
            return Err(Rejection::UnknownAsset(l.asset));
        }
        let amount = to_units(l.amount, self.asset_decimals[l.asset.0 as usize])
            .filter(|u| *u > 0)
            .ok_or(Rejection::InvalidAmount)?;
        let owner = self.accounts[a as usize].key;
        if l.counterparty == owner {
            return Err(Rejection::SelfTransfer);
        }
        if l.timeout_height <= height || l.timeout_height - height > MAX_SWAP_TIMEOUT_BLOCKS {
            return Err(Rejection::InvalidSwapTimeout {
                timeout_height: l.timeout_height,
                height,
                max_ahead: MAX_SWAP_TIMEOUT_BLOCKS,
            });
        }
        if self.swaps.per_owner.get(&owner).copied().unwrap_or(0) >= MAX_OPEN_SWAPS_PER_ACCOUNT {
            return Err(Rejection::TooManySwaps {
                limit: MAX_OPEN_SWAPS_PER_ACCOUNT,
            });
        }
        let free = self.bal(a, l.asset.0 as usize).free;
        if amount > free {
            return Err(Rejection::InsufficientBalance {
                asset: l.asset,
                needed: amount,
                available: free,
            });
        }
        self.bal_mut(a, l.asset.0 as usize).free -= amount;
        self.touch_account(a);
        let record = SwapRecord {
            id,
            owner,
            counterparty: l.counterparty,
            asset: l.asset,
            amount,
            hashlock: l.hashlock,
            timeout_height: l.timeout_height,
            lock_height: height,
        };
        self.events.push(Event::SwapLocked {
            swap_id: id,
            owner,
            counterparty: l.counterparty,
            asset: l.asset,
            amount,
            hashlock: l.hashlock,
            timeout_height: l.timeout_height,
        });
        self.swaps.locked.push(id);
        self.swaps.insert(record, None);
        Ok(())
    }

    pub(super) fn swap_claim(&mut self, a: u32, c: &SwapClaim) -> Result<(), Rejection> {
        let sender = self.accounts[a as usize].key;
        let s = self.swap(&c.swap_id).ok_or(Rejection::SwapNotFound)?;
        claim_rules(s, &sender, c, self.counters.height)?;
        let s = self
            .swaps
            .remove(&c.swap_id)
            .ok_or(Rejection::SwapNotFound)?;
        self.bal_mut(a, s.asset.0 as usize).free += s.amount;
        self.touch_account(a);
        self.events.push(Event::SwapClaimed {
            swap_id: s.id,
            owner: s.owner,
            counterparty: s.counterparty,
            asset: s.asset,
            amount: s.amount,
            preimage: c.preimage,
        });
        Ok(())
    }

    pub(super) fn swap_refund(&mut self, a: u32, r: &SwapRefund) -> Result<(), Rejection> {
        let sender = self.accounts[a as usize].key;
        let s = self.swap(&r.swap_id).ok_or(Rejection::SwapNotFound)?;
        refund_rules(s, &sender, self.counters.height)?;
        let s = self
            .swaps
            .remove(&r.swap_id)
            .ok_or(Rejection::SwapNotFound)?;
        self.bal_mut(a, s.asset.0 as usize).free += s.amount;
        self.touch_account(a);
        self.events.push(Event::SwapRefunded {
            swap_id: s.id,
            owner: s.owner,
            counterparty: s.counterparty,
            asset: s.asset,
            amount: s.amount,
        });
        Ok(())
    }

    /// Folds the swaps locked and ended since the last commit into the root (and the
    /// change set).
    pub(super) fn commit_swaps(&mut self, changes: Option<&mut ChangeSet>) {
        let mut added = Vec::new();
        for id in std::mem::take(&mut self.swaps.locked) {
            if let Some(s) = self.swaps.open.get_mut(&id) {
                if s.committed.is_none() {
                    let leaf = swap_leaf(&s.record);
                    s.committed = Some(leaf);
                    self.acc.add(&leaf);
                    added.push(s.record.clone());
                }
            }
        }
        let mut removed = Vec::new();
        for (id, leaf) in std::mem::take(&mut self.swaps.ended) {
            self.acc.remove(&leaf);
            removed.push(id);
        }
        if let Some(c) = changes {
            c.swaps = added;
            c.removed_swaps = removed;
        }
    }

    /// The open swaps, by id (for [`Engine::export_state`]).
    pub(super) fn swap_records(&self) -> Vec<SwapRecord> {
        self.open_swaps().cloned().collect()
    }

    /// Loads open swaps into an engine being restored (before its first commit).
    pub(super) fn restore_swaps(&mut self, swaps: Vec<SwapRecord>) -> Result<(), String> {
        for s in swaps {
            if s.asset.0 as usize >= self.n_assets {
                return Err(format!("swap {} names unknown asset {:?}", s.id, s.asset));
            }
            if s.amount == 0 {
                return Err(format!("swap {} holds nothing", s.id));
            }
            if !self.account_index.contains_key(&s.owner) {
                return Err(format!("swap {} names unknown owner {}", s.id, s.owner));
            }
            if self.swaps.open.contains_key(&s.id) {
                return Err(format!("swap {} appears twice", s.id));
            }
            self.swaps.locked.push(s.id);
            self.swaps.insert(s, None);
        }
        Ok(())
    }

    /// Adds what open swaps hold to per-asset totals (for [`Engine::total_supply`]).
    pub(super) fn add_swap_escrow(&self, totals: &mut [u128]) {
        for s in self.open_swaps() {
            totals[s.asset.0 as usize] += s.amount;
        }
    }

    /// Checks the swap book's own invariants.
    pub(super) fn check_swaps(&self) -> Result<(), String> {
        let mut owners: BTreeMap<Address, u32> = BTreeMap::new();
        for s in self.open_swaps() {
            *owners.entry(s.owner).or_default() += 1;
            if s.amount == 0 {
                return Err(format!("swap {} holds nothing", s.id));
            }
        }
        if owners != self.swaps.per_owner {
            return Err("per-owner swap counts disagree with the open swaps".into());
        }
        Ok(())
    }
}

fn claim_rules(
    s: &SwapRecord,
    sender: &Address,
    c: &SwapClaim,
    height: u64,
) -> Result<(), Rejection> {
    if *sender != s.counterparty {
        return Err(Rejection::SwapNotCounterparty);
    }
    if height >= s.timeout_height {
        return Err(Rejection::SwapExpired {
            timeout_height: s.timeout_height,
            height,
        });
    }
    if c.preimage.hashlock() != s.hashlock {
        return Err(Rejection::WrongPreimage);
    }
    Ok(())
}

fn refund_rules(s: &SwapRecord, sender: &Address, height: u64) -> Result<(), Rejection> {
    if *sender != s.owner {
        return Err(Rejection::SwapNotOwner);
    }
    if height < s.timeout_height {
        return Err(Rejection::SwapNotExpired {
            timeout_height: s.timeout_height,
            height,
        });
    }
    Ok(())
}
