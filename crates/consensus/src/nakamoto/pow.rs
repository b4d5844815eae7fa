//! Proof of work: the header check, difficulty retargeting, chain work and a nonce
//! search helper for the node's miner and for tests.

use crate::u256::U256;
use ledger_types::{Block, BlockHeader, ConsensusHeader, Hash, PublicKey, SignedTx};

/// The target for an initial difficulty `d` (expected hashes per block):
/// `floor((2^256 - 1) / d)`.
pub fn target_for_difficulty(difficulty: u64) -> U256 {
    U256::MAX
        .div_rem_u64(difficulty.max(1))
        .map_or(U256::MAX, |(q, _)| q)
}

/// The target a Nakamoto header claims, `None` for another header kind.
pub fn header_target(header: &BlockHeader) -> Option<U256> {
    match &header.consensus {
        ConsensusHeader::Nakamoto { target, .. } => Some(U256::from_hash(target)),
        ConsensusHeader::Streamlet { .. } => None,
    }
}

/// "H(ctr, G(s, x)) < T" (GKL's `pow`), here `hash(header) <= target`: true if the
/// header's hash, read as a 256-bit big-endian number, does not exceed its own target.
pub fn meets_target(header: &BlockHeader) -> bool {
    header_target(header).is_some_and(|t| U256::from_hash(&header.hash()) <= t)
}

/// The retargeting rule. `old` is the parent's target, `actual_ms` the time the last
/// `intervals` blocks took, `target_block_ms` the desired spacing, `factor` the clamp:
/// `new = old * clamp(actual, expected / factor, expected * factor) / expected`, with
/// `expected = intervals * target_block_ms`, at least 1 and at most 2^256 - 1.
pub fn retarget(
    old: U256,
    actual_ms: u64,
    intervals: u64,
    target_block_ms: u64,
    factor: u64,
) -> U256 {
    let expected = intervals.saturating_mul(target_block_ms).max(1);
    let factor = factor.max(1);
    let lo = (expected / factor).max(1);
    let hi = expected.saturating_mul(factor);
    let actual = actual_ms.clamp(lo, hi);
    let new = old.mul_div_u64(actual, expected).unwrap_or(old);
    if new.is_zero() {
        U256::ONE
    } else {
        new
    }
}

/// A block template: what the miner needs to build the next block on the best tip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MiningTemplate {
    /// The parent (the current tip).
    pub parent: Hash,
    /// Height of the block to mine.
    pub height: u64,
    /// The target the header must carry and its hash must not exceed.
    pub target: Hash,
    /// Smallest timestamp the block may carry (median of the last 11 blocks' times).
    pub min_time_ms: u64,
}

impl MiningTemplate {
    /// An unmined block (nonce 0) for this template. `time_ms` is raised to
    /// `min_time_ms` if needed.
    pub fn block(&self, time_ms: u64, miner: PublicKey, txs: Vec<SignedTx>) -> Block {
        Block::new(
            self.parent,
            self.height,
            ConsensusHeader::Nakamoto {
                time_ms: time_ms.max(self.min_time_ms),
                target: self.target,
                nonce: 0,
                miner,
            },
            txs,
        )
    }
}

/// Searches nonces, starting from the header's current nonce, for at most `max_tries`
/// hashes. Returns true (with the nonce set) when `hash <= target`. This is the miner's
/// loop; it runs outside the state machine.
pub fn mine(block: &mut Block, max_tries: u64) -> bool {
    for _ in 0..max_tries {
        if meets_target(&block.header) {
            return true;
        }
        match &mut block.header.consensus {
            ConsensusHeader::Nakamoto { nonce, .. } => *nonce = nonce.wrapping_add(1),
            ConsensusHeader::Streamlet { .. } => return false,
        }
    }
    meets_target(&block.header)
}
