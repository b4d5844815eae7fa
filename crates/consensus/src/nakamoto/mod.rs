//! Nakamoto consensus (proof of work) in the Garay–Kiayias–Leonardos backbone model, as
//! a sans-IO state machine.
//!
//! # The protocol
//!
//! - **Validity** (GKL `validate`): a block is valid if its header hash is at most its
//!   target ("H(ctr, G(s, x)) < T"), its target is the one the retargeting rule gives for
//!   its parent, its height is the parent's plus one, its time is at least the median of
//!   the previous 11 blocks' times and at most `max_future_ms` ahead of the local clock
//!   (Bitcoin's rules; the backbone has rounds instead of clocks), its transaction root
//!   matches and the payload validator accepts it.
//! - **Difficulty** (GKL, "chains of variable difficulty"): every `retarget_interval`
//!   blocks the target is multiplied by `actual / expected` time of the last window,
//!   clamped to a factor of `max_retarget_factor` either way ([`pow::retarget`]).
//! - **Fork choice** (GKL `maxvalid`, variable difficulty): "the chain with the most
//!   accumulated difficulty" — the most cumulative work `sum(2^256 / (target + 1))`;
//!   on a tie the chain seen first is kept.
//! - **Output / finality**: GKL's ledger is "C^{⌈k}", the chain without its last k
//!   blocks; so a block is final when k blocks are on top of it (`finality_depth`).
//!   Final blocks are emitted in order, each exactly once.
//! - **Mining** happens outside: the node's miner (or the simulator) takes the
//!   [`MiningTemplate`] of the current tip, searches nonces ([`pow::mine`]) and hands a
//!   solved block back as `Input::Mined`.
//!
//! # Driving it
//!
//! ```
//! use ledger_consensus::nakamoto::{mine, Nakamoto, NakamotoConfig};
//! use ledger_consensus::{ConsensusMessage, Effect, Input, Protocol};
//! use ledger_types::{Genesis, Keypair, ConsensusParams, genesis::NakamotoParams};
//! let mut genesis = Genesis::for_testing(&[], &[]);
//! genesis.consensus = ConsensusParams::Nakamoto(NakamotoParams {
//!     target_block_ms: 1000, retarget_interval: 32, finality_depth: 6,
//!     initial_difficulty: 4, max_retarget_factor: 4 });
//! let mut node = Nakamoto::new(NakamotoConfig::from_genesis(&genesis).unwrap());
//! let template = node.template();
//! let mut block = template.block(1_000, Keypair::for_testing("m").public(), vec![]);
//! assert!(mine(&mut block, 1_000_000));
//! let step = node.handle(Input::Mined { block, now_ms: 1_000 });
//! assert!(matches!(step.effects[0], Effect::Broadcast(ConsensusMessage::Block(_))));
//! ```
//!
//! # Deviations from the backbone paper
//!
//! 1. Time: blocks carry wall-clock timestamps checked with Bitcoin's median-time-past
//!    and future-drift rules (the paper works in synchronous rounds); the timestamp may
//!    equal the median (Bitcoin requires strictly greater) so that a simulator with
//!    coarse clocks never stalls.
//! 2. Finality is a checkpoint: once a block is final, a chain that does not contain it
//!    is never adopted, however much work it has (the paper's common-prefix property
//!    says this happens only with negligible probability; a node must not revert what
//!    it executed). Blocks conflicting with the final chain are rejected.
//! 3. Blocks whose parent is unknown are kept (at most `max_orphans`, oldest evicted
//!    first) and the parent is requested with `Effect::RequestBlock`.
//! 4. Transactions of blocks abandoned by a reorganisation are handed back to the
//!    mempool (`Effect::Reorg::returned_txs`); the paper's ledger has no mempool.

pub mod pow;
#[cfg(test)]
mod tests;

pub use pow::{meets_target, mine, retarget, target_for_difficulty, MiningTemplate};

use crate::machine::{ConsensusError, ConsensusMessage, Effect, Input, Protocol, Step, Tip};
use crate::payload::{AcceptAllPayloads, Delivery, PayloadValidator};
use crate::streamlet::Certificate;
use crate::u256::U256;
use crate::ConfigError;
use ledger_types::genesis::NakamotoParams;
use ledger_types::{Block, ConsensusHeader, ConsensusParams, Genesis, Hash, PublicKey};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Default of [`NakamotoConfig::max_orphans`].
pub const DEFAULT_MAX_ORPHANS: usize = 1024;
/// Blocks claiming a height this far above the tip are rejected.
pub const MAX_HEIGHT_LEAD: u64 = 1_000_000;
/// Number of previous blocks whose median time bounds a new block's time.
pub const MEDIAN_TIME_SPAN: usize = 11;

/// Static configuration of a Nakamoto instance.
#[derive(Clone, Debug)]
pub struct NakamotoConfig {
    /// The genesis hash (chain identity).
    pub chain: Hash,
    /// The genesis block.
    pub genesis: Block,
    /// Genesis time (the genesis block's timestamp), milliseconds since the Unix epoch.
    pub genesis_time_ms: u64,
    /// Protocol parameters from the genesis.
    pub params: NakamotoParams,
    /// Target of the first blocks (from `initial_difficulty`).
    pub initial_target: U256,
    /// How far ahead of the local clock a block's time may be.
    pub max_future_ms: u64,
    /// Most blocks kept while their parent is unknown.
    pub max_orphans: usize,
}

impl NakamotoConfig {
    /// The configuration a genesis document describes.
    pub fn from_genesis(genesis: &Genesis) -> Result<NakamotoConfig, ConfigError> {
        let ConsensusParams::Nakamoto(p) = &genesis.consensus else {
            return Err(ConfigError::WrongProtocol(genesis.consensus.kind()));
        };
        for (name, v) in [
            ("target_block_ms", p.target_block_ms),
            ("retarget_interval", p.retarget_interval),
            ("finality_depth", p.finality_depth),
            ("initial_difficulty", p.initial_difficulty),
        ] {
            if v == 0 {
                return Err(ConfigError::InvalidParameter {
                    name,
                    message: "must be positive".into(),
                });
            }
        }
        if p.max_retarget_factor < 2 {
            return Err(ConfigError::InvalidParameter {
                name: "max_retarget_factor",
                message: "must be at least 2".into(),
            });
        }
        Ok(NakamotoConfig {
            chain: genesis.hash(),
            genesis: genesis.block(),
            genesis_time_ms: genesis.genesis_time_ms,
            params: p.clone(),
            initial_target: target_for_difficulty(p.initial_difficulty),
            max_future_ms: p.target_block_ms.saturating_mul(12).max(2_000),
            max_orphans: DEFAULT_MAX_ORPHANS,
        })
    }
}

/// Why a block was rejected. A rejected block changes nothing.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum NakamotoError {
    /// Not a proof-of-work header.
    #[error("not a Nakamoto block header")]
    NotNakamotoHeader,
    /// Height 0 is the genesis block.
    #[error("height 0 is reserved for the genesis block")]
    GenesisHeight,
    /// The header hash exceeds the target.
    #[error("header hash {hash} exceeds its target")]
    InsufficientWork {
        /// The block hash.
        hash: Hash,
    },
    /// The header's transaction root does not match.
    #[error("transaction root does not match the transactions")]
    TxRootMismatch,
    /// The payload validator refused the block.
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    /// Height is not the parent's plus one.
    #[error("height {height} does not follow parent height {parent_height}")]
    BadHeight {
        /// The block's height.
        height: u64,
        /// The parent's height.
        parent_height: u64,
    },
    /// Height absurdly far above the tip.
    #[error("height {height} is too far above the tip {tip}")]
    HeightTooFarAhead {
        /// The block's height.
        height: u64,
        /// The tip height.
        tip: u64,
    },
    /// The header's target is not what retargeting gives.
    #[error("target {got} is not the expected {expected}")]
    WrongTarget {
        /// Expected target.
        expected: Hash,
        /// Target in the header.
        got: Hash,
    },
    /// Timestamp below the median of the previous blocks.
    #[error("time {time_ms} is below the median time {min_ms}")]
    TimeTooOld {
        /// The block's time.
        time_ms: u64,
        /// The smallest allowed.
        min_ms: u64,
    },
    /// Timestamp too far in the future.
    #[error("time {time_ms} is too far ahead of the local clock {now_ms}")]
    TimeTooFarAhead {
        /// The block's time.
        time_ms: u64,
        /// The local clock.
        now_ms: u64,
    },
    /// The block does not extend the final chain.
    #[error("block {0} conflicts with the final chain")]
    ConflictsWithFinal(Hash),
    /// Restored state is inconsistent.
    #[error("cannot restore: {0}")]
    Restore(String),
}

struct Entry {
    block: Block,
    height: u64,
    parent: Hash,
    time_ms: u64,
    target: U256,
    work: U256,
    children: Vec<Hash>,
}

/// The Nakamoto state machine of one node.
pub struct Nakamoto {
    cfg: NakamotoConfig,
    payload: Box<dyn PayloadValidator + Send>,
    blocks: BTreeMap<Hash, Entry>,
    by_height: BTreeMap<u64, Vec<Hash>>,
    final_times: BTreeMap<u64, u64>,
    tip: Hash,
    /// The best chain above the final tip, by height.
    main_chain: BTreeMap<u64, Hash>,
    final_tip: Hash,
    final_height: u64,
    orphans: BTreeMap<Hash, Vec<(Hash, Block)>>,
    orphan_fifo: VecDeque<(Hash, Hash)>,
    orphan_count: usize,
    requested: BTreeSet<Hash>,
    work_cache: (U256, U256),
}

/// What a restarted node loads from its store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreState {
    /// The last final blocks, oldest first, ending with the final tip: at least
    /// `retarget_interval + 11` of them when the chain is that long (the retargeting
    /// window and the median time need their timestamps), else all from genesis.
    pub final_tail: Vec<Block>,
    /// Known blocks above the final tip, in any order.
    pub unfinal: Vec<Block>,
}

impl Nakamoto {
    /// A fresh node at genesis.
    pub fn new(cfg: NakamotoConfig) -> Nakamoto {
        let g = cfg.genesis.clone();
        let hash = g.hash();
        let mut blocks = BTreeMap::new();
        let time_ms = cfg.genesis_time_ms;
        blocks.insert(
            hash,
            Entry {
                parent: g.header.parent,
                height: 0,
                time_ms,
                target: cfg.initial_target,
                work: U256::ZERO,
                children: Vec::new(),
                block: g,
            },
        );
        let mut final_times = BTreeMap::new();
        final_times.insert(0, time_ms);
        Nakamoto {
            cfg,
            payload: Box::new(AcceptAllPayloads),
            blocks,
            by_height: BTreeMap::from([(0, vec![hash])]),
            final_times,
            tip: hash,
            main_chain: BTreeMap::new(),
            final_tip: hash,
            final_height: 0,
            orphans: BTreeMap::new(),
            orphan_fifo: VecDeque::new(),
            orphan_count: 0,
            requested: BTreeSet::new(),
            work_cache: (U256::ZERO, U256::MAX),
        }
    }

    /// Replaces the payload validator (default: [`AcceptAllPayloads`]).
    pub fn with_payload_validator(mut self, validator: Box<dyn PayloadValidator + Send>) -> Self {
        self.payload = validator;
        self
    }

    /// Rebuilds a node after a restart from its final tail and unfinal blocks (which
    /// are re-validated). Returns the node and the outputs of re-inserting them.
    pub fn restore(
        cfg: NakamotoConfig,
        state: RestoreState,
        now_ms: u64,
    ) -> Result<(Nakamoto, Vec<Effect>), NakamotoError> {
        let Some(last) = state.final_tail.last() else {
            return Err(NakamotoError::Restore("empty final tail".into()));
        };
        let mut node = Nakamoto::new(cfg);
        if last.height() > 0 {
            let target =
                pow::header_target(&last.header).ok_or(NakamotoError::NotNakamotoHeader)?;
            for w in state.final_tail.windows(2) {
                if w[1].header.parent != w[0].hash() || w[1].height() != w[0].height() + 1 {
                    return Err(NakamotoError::Restore("final tail is not a chain".into()));
                }
            }
            node.blocks.clear();
            node.by_height.clear();
            node.final_times.clear();
            for b in &state.final_tail {
                node.final_times.insert(b.height(), block_time(b));
            }
            let hash = last.hash();
            node.blocks.insert(
                hash,
                Entry {
                    block: last.clone(),
                    height: last.height(),
                    parent: last.header.parent,
                    time_ms: block_time(last),
                    target,
                    work: U256::ZERO,
                    children: Vec::new(),
                },
            );
            node.by_height.insert(last.height(), vec![hash]);
            node.tip = hash;
            node.final_tip = hash;
            node.final_height = last.height();
        }
        let mut unfinal = state.unfinal;
        unfinal.sort_by_key(Block::height);
        let mut out = Vec::new();
        for b in unfinal {
            node.on_block(b, now_ms, &mut out)?;
        }
        Ok((node, out))
    }

    /// A block solved by the local miner: validated like any block, then broadcast.
    fn on_mined(
        &mut self,
        block: Block,
        now_ms: u64,
        out: &mut Vec<Effect>,
    ) -> Result<(), NakamotoError> {
        let copy = block.clone();
        let mut inner = Vec::new();
        if self.on_block(block, now_ms, &mut inner)? == Delivery::New {
            out.push(Effect::Broadcast(ConsensusMessage::Block(copy)));
        }
        out.append(&mut inner);
        Ok(())
    }

    /// A block from the network. `Ok(Delivery::New)` means the transport should relay
    /// it; an error means it is invalid and nothing changed.
    fn on_block(
        &mut self,
        block: Block,
        now_ms: u64,
        out: &mut Vec<Effect>,
    ) -> Result<Delivery, NakamotoError> {
        let ConsensusHeader::Nakamoto { target, .. } = &block.header.consensus else {
            return Err(NakamotoError::NotNakamotoHeader);
        };
        let target = U256::from_hash(target);
        let height = block.height();
        if height == 0 {
            return Err(NakamotoError::GenesisHeight);
        }
        let hash = block.hash();
        if self.blocks.contains_key(&hash)
            || self
                .orphans
                .get(&block.header.parent)
                .is_some_and(|l| l.iter().any(|(h, _)| *h == hash))
        {
            return Ok(Delivery::Duplicate);
        }
        if height <= self.final_height {
            return Ok(Delivery::Stale);
        }
        let tip_height = self.tip_height();
        if height > tip_height.saturating_add(MAX_HEIGHT_LEAD) {
            return Err(NakamotoError::HeightTooFarAhead {
                height,
                tip: tip_height,
            });
        }
        // GKL validate: "H(ctr, G(s, x)) < T".
        if U256::from_hash(&hash) > target {
            return Err(NakamotoError::InsufficientWork { hash });
        }
        if !block.tx_root_matches() {
            return Err(NakamotoError::TxRootMismatch);
        }
        self.payload
            .validate(&block)
            .map_err(NakamotoError::InvalidPayload)?;
        let parent = block.header.parent;
        if !self.blocks.contains_key(&parent) {
            // The parent would sit at or below the final height, where only the final
            // tip is kept: this block forks off the final chain.
            if height <= self.final_height + 1 {
                return Err(NakamotoError::ConflictsWithFinal(hash));
            }
            self.add_orphan(parent, hash, block, out);
            return Ok(Delivery::New);
        }
        self.check_contextual(&block, hash, now_ms)?;
        let old_tip = self.tip;
        let mut best = self.tip;
        self.link(block, hash, &mut best);
        // Connect orphans waiting for this block (invalid ones are dropped).
        let mut stack = vec![hash];
        while let Some(h) = stack.pop() {
            let Some(kids) = self.orphans.remove(&h) else {
                continue;
            };
            self.requested.remove(&h);
            for (kh, kid) in kids {
                self.orphan_count = self.orphan_count.saturating_sub(1);
                if !self.blocks.contains_key(&kh) && self.check_contextual(&kid, kh, now_ms).is_ok()
                {
                    self.link(kid, kh, &mut best);
                    stack.push(kh);
                }
            }
        }
        if best != old_tip {
            self.switch_tip(old_tip, best, out);
        }
        Ok(Delivery::New)
    }

    fn add_orphan(&mut self, parent: Hash, hash: Hash, block: Block, out: &mut Vec<Effect>) {
        while self.orphan_count >= self.cfg.max_orphans.max(1) {
            let Some((p, h)) = self.orphan_fifo.pop_front() else {
                break;
            };
            if let Some(list) = self.orphans.get_mut(&p) {
                let before = list.len();
                list.retain(|(x, _)| *x != h);
                self.orphan_count -= before - list.len();
                if list.is_empty() {
                    self.orphans.remove(&p);
                }
            }
        }
        self.orphans.entry(parent).or_default().push((hash, block));
        self.orphan_fifo.push_back((parent, hash));
        self.orphan_count += 1;
        if self.requested.insert(parent) {
            out.push(Effect::RequestBlock { hash: parent });
        }
    }

    /// Checks that need the parent: height, final chain, target, time.
    fn check_contextual(
        &self,
        block: &Block,
        hash: Hash,
        now_ms: u64,
    ) -> Result<(), NakamotoError> {
        let parent_hash = block.header.parent;
        let Some(parent) = self.blocks.get(&parent_hash) else {
            return Err(NakamotoError::ConflictsWithFinal(hash));
        };
        if block.height() != parent.height + 1 {
            return Err(NakamotoError::BadHeight {
                height: block.height(),
                parent_height: parent.height,
            });
        }
        // Deviation 2: only descendants of the final tip are accepted.
        if parent.height < self.final_height
            || (parent.height == self.final_height && parent_hash != self.final_tip)
        {
            return Err(NakamotoError::ConflictsWithFinal(hash));
        }
        let expected = self.expected_target(&parent_hash);
        let got = pow::header_target(&block.header).unwrap_or(U256::ZERO);
        if got != expected {
            return Err(NakamotoError::WrongTarget {
                expected: expected.to_hash(),
                got: got.to_hash(),
            });
        }
        let time_ms = block_time(block);
        let min_ms = self.median_time(&parent_hash);
        if time_ms < min_ms {
            return Err(NakamotoError::TimeTooOld { time_ms, min_ms });
        }
        if time_ms > now_ms.saturating_add(self.cfg.max_future_ms) {
            return Err(NakamotoError::TimeTooFarAhead { time_ms, now_ms });
        }
        Ok(())
    }

    fn work_of(&mut self, target: U256) -> U256 {
        if self.work_cache.0 != target {
            self.work_cache = (target, target.work());
        }
        self.work_cache.1
    }

    /// Inserts a checked block; updates `best` if it has more work (first seen wins).
    fn link(&mut self, block: Block, hash: Hash, best: &mut Hash) {
        let target = pow::header_target(&block.header).unwrap_or(U256::MAX);
        let w = self.work_of(target);
        let parent = block.header.parent;
        let Some(p) = self.blocks.get_mut(&parent) else {
            return;
        };
        p.children.push(hash);
        let work = p.work.saturating_add(&w);
        let height = block.height();
        self.by_height.entry(height).or_default().push(hash);
        self.blocks.insert(
            hash,
            Entry {
                height,
                parent,
                time_ms: block_time(&block),
                target,
                work,
                children: Vec::new(),
                block,
            },
        );
        // GKL maxvalid: the chain with the most accumulated work; ties keep the first.
        if self.blocks.get(best).is_none_or(|b| work > b.work) {
            *best = hash;
        }
    }

    fn switch_tip(&mut self, old: Hash, new: Hash, out: &mut Vec<Effect>) {
        // Find the fork point.
        let (mut a, mut b) = (old, new);
        let mut abandoned = Vec::new();
        let mut adopted = Vec::new();
        while let (Some(ea), Some(eb)) = (self.blocks.get(&a), self.blocks.get(&b)) {
            if a == b {
                break;
            }
            if ea.height >= eb.height {
                abandoned.push(a);
                a = ea.parent;
            } else {
                adopted.push(b);
                b = eb.parent;
            }
        }
        abandoned.reverse();
        adopted.reverse();
        let new_height = self.blocks.get(&new).map_or(0, |e| e.height);
        let _abandoned_heights = self.main_chain.split_off(&(new_height + 1));
        for h in &adopted {
            if let Some(e) = self.blocks.get(h) {
                self.main_chain.insert(e.height, *h);
            }
        }
        if !abandoned.is_empty() {
            let kept: BTreeSet<Hash> = adopted
                .iter()
                .filter_map(|h| self.blocks.get(h))
                .flat_map(|e| e.block.txs.iter().map(|t| t.hash()))
                .collect();
            let returned_txs = abandoned
                .iter()
                .filter_map(|h| self.blocks.get(h))
                .flat_map(|e| e.block.txs.iter())
                .filter(|t| !kept.contains(&t.hash()))
                .cloned()
                .collect();
            out.push(Effect::Reorg {
                fork_point: a,
                abandoned,
                returned_txs,
            });
        }
        self.tip = new;
        let height = self.tip_height();
        out.push(Effect::Head(Tip::new(new, height)));
        out.push(Effect::MiningJob(self.template()));
        self.advance_finality(out);
    }

    /// "C^{⌈k}": everything but the last k blocks of the best chain is final.
    fn advance_finality(&mut self, out: &mut Vec<Effect>) {
        let k = self.cfg.params.finality_depth;
        let tip_height = self.tip_height();
        let Some(new_final_height) = tip_height.checked_sub(k) else {
            return;
        };
        if new_final_height <= self.final_height {
            return;
        }
        let path: Vec<Hash> = self
            .main_chain
            .range(self.final_height + 1..=new_final_height)
            .map(|(_, h)| *h)
            .collect();
        self.main_chain = self.main_chain.split_off(&(new_final_height + 1));
        for h in &path {
            if let Some(e) = self.blocks.get(h) {
                self.final_times.insert(e.height, e.time_ms);
                out.push(Effect::Finalized {
                    block: e.block.clone(),
                    certificate: None,
                });
            }
        }
        if let Some(last) = path.last() {
            let old_final = self.final_height;
            self.final_tip = *last;
            self.final_height = new_final_height;
            self.prune(old_final, &path);
        }
    }

    /// Drops final blocks below the final tip and every block that does not descend
    /// from it; keeps the timestamps retargeting and the median time still need.
    fn prune(&mut self, old_final: u64, final_path: &[Hash]) {
        let on_final: BTreeSet<Hash> = final_path.iter().copied().collect();
        let heights: Vec<u64> = self
            .by_height
            .range(old_final..=self.final_height)
            .map(|(h, _)| *h)
            .collect();
        let mut doomed = Vec::new();
        for h in heights {
            if let Some(list) = self.by_height.get(&h) {
                for x in list {
                    let keep = on_final.contains(x) || *x == self.final_tip;
                    if h > old_final && !keep {
                        doomed.push(*x);
                    } else if h < self.final_height {
                        // Final ancestors: only their times are needed (final_times).
                        doomed.push(*x);
                    }
                }
            }
        }
        // Remove doomed blocks and all their descendants.
        while let Some(x) = doomed.pop() {
            if x == self.final_tip {
                continue;
            }
            if let Some(e) = self.blocks.remove(&x) {
                if let Some(list) = self.by_height.get_mut(&e.height) {
                    list.retain(|y| *y != x);
                    if list.is_empty() {
                        self.by_height.remove(&e.height);
                    }
                }
                if !on_final.contains(&x) {
                    doomed.extend(e.children);
                }
            }
        }
        let keep = self
            .cfg
            .params
            .retarget_interval
            .saturating_add(MEDIAN_TIME_SPAN as u64 + 1);
        if let Some(floor) = self.final_height.checked_sub(keep) {
            self.final_times = self.final_times.split_off(&floor);
        }
        let fh = self.final_height;
        let mut count = 0;
        self.orphans.retain(|_, l| {
            l.retain(|(_, b)| b.height() > fh);
            count += l.len();
            !l.is_empty()
        });
        self.orphan_count = count;
        let orphans = &self.orphans;
        self.orphan_fifo.retain(|(p, _)| orphans.contains_key(p));
        self.requested.retain(|h| orphans.contains_key(h));
    }

    /// The timestamp of the ancestor of `from` at `height` (final heights come from the
    /// kept final timestamps).
    fn time_at(&self, from: &Hash, height: u64) -> Option<u64> {
        let mut cur = *from;
        loop {
            let e = self.blocks.get(&cur)?;
            if e.height == height {
                return Some(e.time_ms);
            }
            if e.height < height {
                return None;
            }
            if e.height <= self.final_height {
                return self.final_times.get(&height).copied();
            }
            cur = e.parent;
        }
    }

    /// Median of the times of `parent` and up to 10 of its ancestors (one walk down the
    /// chain; final heights come from the kept final timestamps).
    fn median_time(&self, parent: &Hash) -> u64 {
        let mut times = Vec::with_capacity(MEDIAN_TIME_SPAN);
        let mut cur = *parent;
        let mut next_height = None;
        while times.len() < MEDIAN_TIME_SPAN {
            let Some(e) = self.blocks.get(&cur) else {
                break;
            };
            times.push(e.time_ms);
            if e.height == 0 {
                break;
            }
            if e.height <= self.final_height {
                next_height = Some(e.height - 1);
                break;
            }
            cur = e.parent;
        }
        if let Some(top) = next_height {
            let need = (MEDIAN_TIME_SPAN - times.len()) as u64;
            let low = top.saturating_sub(need.saturating_sub(1));
            times.extend(self.final_times.range(low..=top).map(|(_, t)| *t));
        }
        times.sort_unstable();
        times.get(times.len() / 2).copied().unwrap_or(0)
    }

    /// The target a child of `parent` must carry.
    fn expected_target(&self, parent: &Hash) -> U256 {
        let Some(p) = self.blocks.get(parent) else {
            return self.cfg.initial_target;
        };
        let n = self.cfg.params.retarget_interval.max(1);
        let h = p.height + 1;
        if h % n != 0 {
            return p.target;
        }
        // Retarget over the window ending at the parent: at most n intervals.
        let start = p.height.saturating_sub(n);
        let intervals = p.height - start;
        if intervals == 0 {
            return p.target;
        }
        let Some(t_start) = self.time_at(parent, start) else {
            return p.target;
        };
        retarget(
            p.target,
            p.time_ms.saturating_sub(t_start),
            intervals,
            self.cfg.params.target_block_ms,
            self.cfg.params.max_retarget_factor,
        )
    }

    /// The template for mining on the current tip.
    pub fn template(&self) -> MiningTemplate {
        self.template_for(&self.tip).unwrap_or(MiningTemplate {
            parent: self.tip,
            height: self.tip_height() + 1,
            target: self.cfg.initial_target.to_hash(),
            min_time_ms: 0,
        })
    }

    /// The template for mining on any known block at or above the final tip (a
    /// selfish miner mines on its private tip).
    pub fn template_for(&self, parent: &Hash) -> Option<MiningTemplate> {
        let p = self.blocks.get(parent)?;
        Some(MiningTemplate {
            parent: *parent,
            height: p.height + 1,
            target: self.expected_target(parent).to_hash(),
            min_time_ms: self.median_time(parent),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &NakamotoConfig {
        &self.cfg
    }

    /// Hash of the best tip.
    pub fn tip(&self) -> Hash {
        self.tip
    }

    /// Height of the best tip.
    pub fn tip_height(&self) -> u64 {
        self.blocks.get(&self.tip).map_or(0, |e| e.height)
    }

    /// Cumulative work of a known block above the final tip (relative to the final tip
    /// of a restored node).
    pub fn chain_work(&self, hash: &Hash) -> Option<U256> {
        self.blocks.get(hash).map(|e| e.work)
    }

    /// The best chain above the final tip, oldest first (hashes).
    pub fn unfinal_hashes(&self) -> Vec<Hash> {
        self.main_chain.values().copied().collect()
    }

    /// The miner named in a Nakamoto header.
    pub fn miner_of(block: &Block) -> Option<PublicKey> {
        match block.header.consensus {
            ConsensusHeader::Nakamoto { miner, .. } => Some(miner),
            ConsensusHeader::Streamlet { .. } => None,
        }
    }
}

impl Protocol for Nakamoto {
    fn name(&self) -> &'static str {
        "nakamoto"
    }

    fn handle(&mut self, input: Input) -> Step {
        let mut out = Vec::new();
        let verdict = match input {
            Input::Start { .. } => {
                out.push(Effect::MiningJob(self.template()));
                Ok(Delivery::New)
            }
            Input::Message {
                message: ConsensusMessage::Block(block),
                now_ms,
            }
            | Input::Synced {
                block,
                certificate: None,
                now_ms,
            } => self.on_block(block, now_ms, &mut out).map_err(Into::into),
            Input::Mined { block, now_ms } => self
                .on_mined(block, now_ms, &mut out)
                .map(|()| Delivery::New)
                .map_err(Into::into),
            Input::Timer { .. }
            | Input::Message { .. }
            | Input::BlockBuilt { .. }
            | Input::Synced { .. } => Err(ConsensusError::NotForThisProtocol {
                protocol: "nakamoto",
            }),
        };
        if verdict.is_err() {
            out.clear();
        }
        Step {
            verdict,
            effects: out,
        }
    }

    fn final_tip(&self) -> Tip {
        Tip::new(self.final_tip, self.final_height)
    }

    fn head(&self) -> Tip {
        Tip::new(self.tip, self.tip_height())
    }

    fn epoch(&self) -> u64 {
        0
    }

    fn block(&self, hash: &Hash) -> Option<&Block> {
        self.blocks.get(hash).map(|e| &e.block)
    }

    fn unfinal_chain(&self) -> Vec<(Block, Option<Certificate>)> {
        self.main_chain
            .values()
            .filter_map(|h| self.blocks.get(h))
            .map(|e| (e.block.clone(), None))
            .collect()
    }
}

fn block_time(b: &Block) -> u64 {
    match b.header.consensus {
        ConsensusHeader::Nakamoto { time_ms, .. } => time_ms,
        ConsensusHeader::Streamlet { .. } => 0,
    }
}
