//! Streamlet (Chan and Shi, "Streamlet: Textbook Streamlined Blockchains", 2020) as a
//! sans-IO state machine.
//!
//! # The protocol
//!
//! n permissioned validators (the genesis `validators`, each an ed25519 key). In the
//! paper, time is divided into epochs of 2Δ; epoch `e` starts at
//! `genesis_time_ms + e * 2Δ` ([`Pacing::Clock`]; the node paces epochs responsively,
//! see deviation 8). Epoch 0 holds only the genesis block, which is notarized and final
//! by definition.
//!
//! - **Leader.** "Each epoch has a designated leader chosen at random by a publicly known
//!   hash function": `validators[H(e) mod n]`, `H` = SHA-256 tagged
//!   `ledger-node/streamlet/leader/v1` over the epoch number ([`leader_index`]).
//! - **Propose.** "The epoch's designated leader proposes a new block extending from the
//!   longest notarized chain it has seen (if there are multiple, break ties
//!   arbitrarily)." Ties are broken by keeping the chain that reached that length first.
//! - **Vote.** "Every player votes for the first proposal they see from the epoch's
//!   leader, as long as the proposed block extends from (one of) the longest notarized
//!   chain(s) that the voter has seen. A vote is a signature on the proposed block."
//! - **Notarize.** "When a block gains votes from at least 2n/3 distinct players, it
//!   becomes notarized. A chain is notarized if its constituent blocks are all
//!   notarized." The quorum is `ceil(2n/3)` ([`two_thirds_quorum`]).
//! - **Finalize.** "If in any notarized chain, there are three adjacent blocks with
//!   consecutive epoch numbers, the prefix of the chain up to the second of the three
//!   blocks is considered final."
//! - **Echo.** "Every honest player echoes every message it hears (for the first time)
//!   to all other players": the state machine returns [`Delivery::New`] for a valid,
//!   first-seen message and the transport relays exactly those (gossip in the node,
//!   an explicit re-broadcast in the simulator).
//!
//! # Driving it
//!
//! Through the one interface of every protocol, [`Protocol::handle`]
//! (see [`crate::machine`]): `Input::Start { now_ms }` once (also after a restart),
//! `Input::Timer` when a timer set by `Effect::SetTimer` fires (its id is the epoch
//! that begins), peer messages, the block the host built when asked
//! (`Input::BlockBuilt`), and notarized blocks with certificates fetched by block sync
//! (`Input::Synced`). Effects are carried out **in order**; in particular
//! `Effect::Persist` (the validator's [`SafetyRecord`]) must be durable before any later
//! effect of the same step: it always precedes the proposal or vote it protects.
//! `Finalized` effects come in chain order, each block exactly once.
//!
//! ```
//! use ledger_consensus::streamlet::{Streamlet, StreamletConfig};
//! use ledger_consensus::{Effect, Input, Protocol};
//! use ledger_types::{Genesis, Keypair};
//! let key = Keypair::for_testing("v0");
//! let genesis = Genesis::for_testing(&[], &[key.public()]);
//! let config = StreamletConfig::from_genesis(&genesis).unwrap();
//! let mut node = Streamlet::with_keypair(config, Some(key));
//! let step = node.handle(Input::Start { now_ms: 250 });
//! // Epoch 1 (200..400 ms with Δ = 100) has begun; the single validator leads it.
//! let Some(Effect::BuildBlock { epoch, .. }) = step.effects.iter().find(|e| matches!(e, Effect::BuildBlock { .. })) else { panic!() };
//! let step = node.handle(Input::BlockBuilt { epoch: *epoch, time_ms: 250, txs: vec![] });
//! assert!(matches!(step.effects[0], Effect::Persist(_)));
//! ```
//!
//! Signatures are checked through the pluggable [`Verifier`] (ed25519 by default), and
//! transactions through the [`PayloadValidator`] hook (see [`crate::payload`]).
//!
//! # Deviations from the paper (all deliberate)
//!
//! 1. Votes cover `(chain, epoch, block hash)` rather than "the block"; the hash commits
//!    to the whole block. A vote counts only for a block whose header has that epoch.
//! 2. A validator votes only while it is *in* the proposal's epoch (a proposal for an
//!    epoch that has not started is kept and considered when the epoch starts); a
//!    proposal that arrives after its epoch is still stored (it may become notarized)
//!    but never voted for. Only the first proposal of the epoch is ever considered, as
//!    the paper says.
//! 3. Bounded memory against Byzantine validators: at most
//!    [`MAX_PROPOSALS_PER_EPOCH`] distinct proposals per epoch and
//!    [`MAX_VOTES_PER_VALIDATOR_EPOCH`] distinct votes per validator and epoch are
//!    stored (further ones are rejected; the first two are already evidence), at most
//!    `max_orphans` blocks whose parent is unknown, and messages more than
//!    `max_epoch_lead` epochs ahead of the local epoch are rejected.
//! 4. State at or below the final tip's epoch is pruned; messages for those epochs are
//!    [`Delivery::Stale`] (they can no longer change anything: epochs increase along a
//!    chain, so such a block is final or conflicts with a final block).
//! 5. Restart safety (the paper has no crashes-and-recoveries): a validator records
//!    its last epoch and the height of its highest vote ([`SafetyRecord`]) before it
//!    sends; after a restart it never proposes or votes in an epoch at or below it and
//!    never votes below that height (the paper's vote rule with the knowledge the
//!    node provably had).
//! 6. Epoch 0 is the genesis epoch: the first proposals are in epoch 1.
//! 7. Block time: a proposal carries its leader's clock (`time_ms` in the header). A
//!    block's time is never before its parent's, and a proposal more than
//!    [`StreamletConfig::max_future_ms`] ahead of the local clock is not voted for
//!    (Bitcoin's future-drift rule; the paper's blocks carry no time).
//! 8. Responsive epochs ([`Pacing::Responsive`], the node's default; the lab runs the
//!    paper's [`Pacing::Clock`]). The paper's epochs last 2Δ by the clock, so however
//!    idle the network, a transaction waits for the next epoch and two more. Here:
//!    - a node moves to epoch e+1 as soon as it sees a block of epoch e (or later)
//!      notarized, but not before `min_epoch_ms` after it entered e (blocks still
//!      batch); if nothing is notarized, 2Δ after it entered e (the paper's length, kept
//!      as the timeout);
//!    - it joins a later epoch once f+1 validators (n minus the quorum, plus one: at
//!      least one of them correct) have sent verified messages of that epoch or later,
//!      so a node that was paused, partitioned, restarted or whose clock is off by
//!      seconds falls in step with the others instead of voting alone;
//!    - it votes *late*: for the first proposal of an epoch it has already left, if the
//!      rest of the vote rule holds and the epoch is after every epoch it voted or
//!      proposed in (votes stay in increasing epoch order, which is all the consistency
//!      proof uses of time). A node ahead of the others (its clock runs fast) thus still
//!      votes for their proposals.
//!
//!    Consistency does not depend on timing (the paper proves it under asynchrony), and
//!    none of the rules above changes what a vote means: each honest vote is for the
//!    first proposal of its epoch, extends a longest notarized chain the voter has seen,
//!    and comes in increasing epoch order. The whole-node simulator checks this over
//!    thousands of seeds under asynchrony, partitions, crashes and Byzantine leaders.
//!
//!    Liveness after GST (stated, and checked by the simulator's `NotLive` bound): once
//!    messages arrive within Δ, every correct node is within one epoch of the most
//!    advanced correct node within Δ of seeing its messages (f+1 rule, notarizations),
//!    epochs advance at least every 2Δ, and an epoch whose leader is correct notarizes
//!    its block; three consecutive such epochs make blocks final. With Δ = 200 ms that is
//!    typically 3 × `min_epoch_ms` plus message delays while leaders are correct.

mod messages;
#[cfg(test)]
mod tests;
mod validators;

pub use messages::{
    signing_bytes, streamlet_fields, CertVote, Certificate, Evidence, Message, Proposal,
    SafetyRecord, SignedHeader, Vote, PROPOSAL_TAG, VOTE_TAG,
};
pub use validators::{
    leader_index, two_thirds_quorum, CertificateError, ConfigError, ValidatorSet, LEADER_DOMAIN,
};

use crate::crypto::{Ed25519Verifier, Signer, Verifier};
use crate::machine::{ConsensusError, ConsensusMessage, Effect, Input, Protocol, Step, Tip};
use crate::payload::{AcceptAllPayloads, Delivery, PayloadValidator};
use ledger_types::{
    Block, BlockHeader, ConsensusHeader, ConsensusParams, Genesis, Hash, Keypair, PublicKey,
    Signature, SignedTx,
};
use std::collections::{BTreeMap, BTreeSet};

/// Most distinct proposals kept per epoch (an honest leader makes one).
pub const MAX_PROPOSALS_PER_EPOCH: usize = 4;
/// Most distinct votes kept per validator and epoch (an honest validator casts one).
pub const MAX_VOTES_PER_VALIDATOR_EPOCH: usize = 4;
/// Default of [`StreamletConfig::max_epoch_lead`].
pub const DEFAULT_MAX_EPOCH_LEAD: u64 = 8;
/// Default of [`StreamletConfig::max_orphans`].
pub const DEFAULT_MAX_ORPHANS: usize = 1024;
/// Default of [`StreamletConfig::max_future_ms`].
pub const DEFAULT_MAX_FUTURE_MS: u64 = 5_000;
/// Most evidence items kept in memory (all are also emitted as outputs).
pub const MAX_KEPT_EVIDENCE: usize = 1024;
/// Default of [`Pacing::Responsive`]'s `min_epoch_ms`.
pub const DEFAULT_MIN_EPOCH_MS: u64 = 50;

/// How a node moves from one epoch to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pacing {
    /// The paper's clock: epoch `e` runs from `genesis_time_ms + e·2Δ` for 2Δ, whatever
    /// happens in it. The protocol lab uses it to measure the protocol as published.
    Clock,
    /// Responsive epochs (deviation 8): the next epoch begins as soon as a block of the
    /// current one is notarized (but not before `min_epoch_ms` after this one began, so
    /// blocks still batch), or 2Δ after this one began if none is; a node that sees a
    /// notarized block, or messages of f+1 validators, from later epochs joins them.
    Responsive {
        /// Shortest epoch, in milliseconds.
        min_epoch_ms: u64,
    },
}

/// Static configuration of a Streamlet instance.
#[derive(Clone, Debug)]
pub struct StreamletConfig {
    /// Chain identity signed into every proposal and vote (the genesis hash).
    pub chain: Hash,
    /// The genesis block (height 0, epoch 0).
    pub genesis: Block,
    /// Start of epoch 0, in milliseconds since the Unix epoch.
    pub genesis_time_ms: u64,
    /// Δ in milliseconds; an epoch lasts 2Δ.
    pub delta_ms: u64,
    /// The validators and the quorum.
    pub validators: ValidatorSet,
    /// Messages for epochs more than this far ahead of the local epoch are rejected.
    pub max_epoch_lead: u64,
    /// Most blocks kept while their parent is unknown.
    pub max_orphans: usize,
    /// A proposal whose block time is more than this far ahead of the local clock is
    /// not voted for (Bitcoin's future-drift rule).
    pub max_future_ms: u64,
    /// How epochs advance (default: responsive).
    pub pacing: Pacing,
}

impl StreamletConfig {
    /// The configuration a genesis document describes.
    pub fn from_genesis(genesis: &Genesis) -> Result<StreamletConfig, ConfigError> {
        let ConsensusParams::Streamlet(p) = &genesis.consensus else {
            return Err(ConfigError::WrongProtocol(genesis.consensus.kind()));
        };
        if p.delta_ms == 0 {
            return Err(ConfigError::InvalidParameter {
                name: "delta_ms",
                message: "must be positive".into(),
            });
        }
        Ok(StreamletConfig {
            chain: genesis.hash(),
            genesis: genesis.block(),
            genesis_time_ms: genesis.genesis_time_ms,
            delta_ms: p.delta_ms,
            validators: ValidatorSet::new(genesis.validator_keys())?,
            max_epoch_lead: DEFAULT_MAX_EPOCH_LEAD,
            max_orphans: DEFAULT_MAX_ORPHANS,
            max_future_ms: DEFAULT_MAX_FUTURE_MS,
            pacing: Pacing::Responsive {
                min_epoch_ms: DEFAULT_MIN_EPOCH_MS,
            },
        })
    }

    /// Length of an epoch (2Δ) in milliseconds.
    pub fn epoch_ms(&self) -> u64 {
        self.delta_ms.saturating_mul(2).max(1)
    }

    /// When `epoch` starts, in milliseconds since the Unix epoch.
    pub fn epoch_start_ms(&self, epoch: u64) -> u64 {
        self.genesis_time_ms
            .saturating_add(epoch.saturating_mul(self.epoch_ms()))
    }

    /// The epoch the clock schedule gives for `now_ms` (under [`Pacing::Responsive`] a
    /// lower bound, used when a node starts).
    pub fn epoch_at(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.genesis_time_ms) / self.epoch_ms()
    }

    /// The most validators that may be faulty with this quorum: n - quorum.
    pub fn max_faulty(&self) -> usize {
        self.validators
            .len()
            .saturating_sub(self.validators.quorum())
    }
}

/// Why an input was rejected. A rejected input changes nothing.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum StreamletError {
    /// The block header is not a Streamlet header.
    #[error("not a Streamlet block header")]
    NotStreamletHeader,
    /// The signer is not a validator.
    #[error("{0} is not a validator")]
    NotAValidator(PublicKey),
    /// A proposal from someone other than the epoch's leader.
    #[error("epoch {epoch} is led by {expected}, not {got}")]
    WrongLeader {
        /// The epoch.
        epoch: u64,
        /// Its leader.
        expected: PublicKey,
        /// The proposer named.
        got: PublicKey,
    },
    /// Epoch 0 belongs to the genesis block.
    #[error("epoch 0 has no proposals or votes")]
    GenesisEpoch,
    /// The message is too far in the future.
    #[error("epoch {epoch} is too far ahead of the local epoch {current}")]
    EpochTooFarAhead {
        /// The message's epoch.
        epoch: u64,
        /// The local epoch.
        current: u64,
    },
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// The header's transaction root does not match the transactions.
    #[error("transaction root does not match the transactions")]
    TxRootMismatch,
    /// The payload validator refused the block.
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    /// The height is not the parent's plus one.
    #[error("height {height} does not follow parent height {parent_height}")]
    BadHeight {
        /// The block's height.
        height: u64,
        /// The parent's height.
        parent_height: u64,
    },
    /// A block's epoch must exceed its parent's.
    #[error("epoch {epoch} is not after the parent's epoch {parent_epoch}")]
    EpochNotAfterParent {
        /// The block's epoch.
        epoch: u64,
        /// The parent's epoch.
        parent_epoch: u64,
    },
    /// The leader already made too many different proposals this epoch.
    #[error("too many proposals in epoch {epoch}")]
    TooManyProposals {
        /// The epoch.
        epoch: u64,
    },
    /// The validator already cast too many different votes this epoch.
    #[error("{voter} cast too many votes in epoch {epoch}")]
    TooManyVotes {
        /// The voter.
        voter: PublicKey,
        /// The epoch.
        epoch: u64,
    },
    /// Too many blocks wait for unknown parents.
    #[error("too many blocks with unknown parents")]
    TooManyOrphans,
    /// A certificate did not verify.
    #[error("bad certificate: {0}")]
    Certificate(#[from] CertificateError),
    /// `BlockBuilt` for an epoch that is not the one requested or is over.
    #[error("no block was requested for epoch {epoch} (current epoch {current})")]
    StaleBuild {
        /// The epoch answered.
        epoch: u64,
        /// The local epoch.
        current: u64,
    },
    /// Restored state is inconsistent.
    #[error("cannot restore: {0}")]
    Restore(String),
    /// The block's time is further ahead of the local clock than the configured bound.
    #[error(
        "block time {time_ms} is more than {max_future_ms} ms ahead of the local clock {now_ms}"
    )]
    TimeTooFarAhead {
        /// The block's time.
        time_ms: u64,
        /// The local clock.
        now_ms: u64,
        /// The bound.
        max_future_ms: u64,
    },
    /// The block's time is before its parent's.
    #[error("block time {time_ms} is before its parent's time {parent_ms}")]
    TimeBeforeParent {
        /// The block's time.
        time_ms: u64,
        /// The parent's time.
        parent_ms: u64,
    },
}

/// What a restarted node loads from its store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreState {
    /// The last final block (the genesis block if none).
    pub final_block: Block,
    /// Notarized blocks above it, with certificates, in any order.
    pub notarized: Vec<(Block, Certificate)>,
    /// The last persisted [`SafetyRecord`] (default if the node never voted).
    pub safety: SafetyRecord,
}

struct Entry {
    block: Block,
    epoch: u64,
    height: u64,
    parent: Hash,
    notarized: bool,
    chain_notarized: bool,
    children: Vec<Hash>,
}

#[derive(Default)]
struct EpochState {
    /// Distinct proposals: signature, hash, header.
    proposals: Vec<(Signature, Hash, BlockHeader)>,
    first_proposal: Option<Hash>,
    /// Votes sorted by (validator, block).
    votes: Vec<(u32, Hash, Signature)>,
    /// Validators already reported for equivocation this epoch.
    reported: Vec<u32>,
    proposal_reported: bool,
}

impl EpochState {
    fn vote_pos(&self, v: u32, block: &Hash) -> Result<usize, usize> {
        self.votes
            .binary_search_by(|(i, h, _)| (*i, h).cmp(&(v, block)))
    }
    fn votes_of(&self, v: u32) -> impl Iterator<Item = &(u32, Hash, Signature)> {
        let start = self.votes.partition_point(|(i, _, _)| *i < v);
        self.votes[start..]
            .iter()
            .take_while(move |(i, _, _)| *i == v)
    }
}

/// The Streamlet state machine of one node (validator or observer).
pub struct Streamlet<V: Verifier = Ed25519Verifier> {
    cfg: StreamletConfig,
    verifier: V,
    signer: Option<Box<dyn Signer + Send>>,
    me: Option<u32>,
    payload: Box<dyn PayloadValidator + Send>,
    current_epoch: u64,
    /// Local time at which `current_epoch` began.
    entered_ms: u64,
    /// Highest epoch of a verified message from each validator (responsive catch-up).
    peer_epochs: Vec<u64>,
    safety: SafetyRecord,
    pending_build: Option<(u64, Hash, u64)>,
    blocks: BTreeMap<Hash, Entry>,
    tallies: BTreeMap<(Hash, u64), Vec<(u32, Signature)>>,
    epochs: BTreeMap<u64, EpochState>,
    orphans: BTreeMap<Hash, Vec<(Hash, Block)>>,
    orphan_count: usize,
    requested: BTreeSet<Hash>,
    best: Tip,
    final_tip: Hash,
    final_height: u64,
    final_epoch: u64,
    needs_prune: bool,
    evidence: Vec<Evidence>,
}

impl Streamlet<Ed25519Verifier> {
    /// A node with real ed25519 signatures; `key` is `None` for a non-voting observer.
    pub fn with_keypair(cfg: StreamletConfig, key: Option<Keypair>) -> Streamlet<Ed25519Verifier> {
        Streamlet::new(
            cfg,
            Ed25519Verifier,
            key.map(|k| Box::new(k) as Box<dyn Signer + Send>),
        )
    }
}

impl<V: Verifier> Streamlet<V> {
    /// A fresh node at genesis. `signer` is this validator's key (`None`: observer, or a
    /// key that is not in the validator set, which then never votes).
    pub fn new(cfg: StreamletConfig, verifier: V, signer: Option<Box<dyn Signer + Send>>) -> Self {
        let root = cfg.genesis.clone();
        Self::with_root(cfg, verifier, signer, root, SafetyRecord::default())
    }

    fn with_root(
        cfg: StreamletConfig,
        verifier: V,
        signer: Option<Box<dyn Signer + Send>>,
        root: Block,
        safety: SafetyRecord,
    ) -> Self {
        let me = signer
            .as_ref()
            .and_then(|s| cfg.validators.index_of(&s.public()));
        let hash = root.hash();
        let epoch = streamlet_fields(&root.header).map_or(0, |(e, _)| e);
        let height = root.height();
        let mut blocks = BTreeMap::new();
        blocks.insert(
            hash,
            Entry {
                parent: root.header.parent,
                block: root,
                epoch,
                height,
                notarized: true,
                chain_notarized: true,
                children: Vec::new(),
            },
        );
        let n = cfg.validators.len();
        Streamlet {
            cfg,
            verifier,
            signer,
            me,
            payload: Box::new(AcceptAllPayloads),
            current_epoch: epoch,
            entered_ms: 0,
            peer_epochs: vec![0; n],
            safety,
            pending_build: None,
            blocks,
            tallies: BTreeMap::new(),
            epochs: BTreeMap::new(),
            orphans: BTreeMap::new(),
            orphan_count: 0,
            requested: BTreeSet::new(),
            best: Tip::new(hash, height),
            final_tip: hash,
            final_height: height,
            final_epoch: epoch,
            needs_prune: false,
            evidence: Vec::new(),
        }
    }

    /// Replaces the payload validator (default: [`AcceptAllPayloads`]).
    pub fn with_payload_validator(mut self, validator: Box<dyn PayloadValidator + Send>) -> Self {
        self.payload = validator;
        self
    }

    /// Rebuilds a node from its store after a restart. Returns the node and the outputs
    /// of re-inserting the notarized blocks (`Notarized` again, and `Finalized` for any
    /// block above the stored final block that the stored chain already finalizes).
    /// Send `Input::Start` next.
    pub fn restore(
        cfg: StreamletConfig,
        verifier: V,
        signer: Option<Box<dyn Signer + Send>>,
        state: RestoreState,
    ) -> Result<(Self, Vec<Effect>), StreamletError> {
        if streamlet_fields(&state.final_block.header).is_none() {
            return Err(StreamletError::Restore(
                "final block is not a Streamlet block".into(),
            ));
        }
        let mut node = Self::with_root(cfg, verifier, signer, state.final_block, state.safety);
        node.current_epoch = node.current_epoch.max(state.safety.epoch);
        let mut notarized = state.notarized;
        notarized.sort_by_key(|(b, _)| b.height());
        let mut out = Vec::new();
        for (block, certificate) in notarized {
            node.on_certified_block(block, certificate, &mut out)
                .map_err(|e| StreamletError::Restore(e.to_string()))?;
        }
        Ok((node, out))
    }

    /// `Input::Start`: enters the epoch running at `now_ms` (or the restored one, if
    /// later) and sets the next timer.
    fn on_start(&mut self, now_ms: u64, out: &mut Vec<Effect>) {
        let e = self.cfg.epoch_at(now_ms).max(self.current_epoch);
        self.enter_epoch(e, now_ms, out);
        self.maybe_prune();
    }

    /// `Input::Timer`: epoch `epoch` begins (ignored if it is not in the future).
    fn on_epoch_timer(&mut self, epoch: u64, now_ms: u64, out: &mut Vec<Effect>) {
        if epoch > self.current_epoch {
            self.enter_epoch(epoch, now_ms, out);
        }
        self.maybe_prune();
    }

    /// Responsive catch-up: validator `idx` sent a verified message of `epoch`. Once
    /// f+1 validators (so at least one correct one) are at or past an epoch later than
    /// this node's, it joins that epoch.
    fn note_peer_epoch(&mut self, idx: u32, epoch: u64, now_ms: u64, out: &mut Vec<Effect>) {
        let Pacing::Responsive { .. } = self.cfg.pacing else {
            return;
        };
        let Some(seen) = self.peer_epochs.get_mut(idx as usize) else {
            return;
        };
        if epoch <= *seen {
            return;
        }
        *seen = epoch;
        let mut epochs = self.peer_epochs.clone();
        epochs.sort_unstable_by(|a, b| b.cmp(a));
        let target = epochs
            .get(self.cfg.max_faulty())
            .copied()
            .unwrap_or_default();
        if target > self.current_epoch {
            self.enter_epoch(target, now_ms, out);
        }
    }

    /// `Input::Message`: a proposal or a vote. `Ok(Delivery::New)` means the transport
    /// should relay it; an error means the sender misbehaved and nothing changed.
    fn on_message(
        &mut self,
        msg: &Message,
        now_ms: u64,
        out: &mut Vec<Effect>,
    ) -> Result<Delivery, StreamletError> {
        let r = match msg {
            Message::Vote(v) => self.on_vote(v, now_ms, out),
            Message::Proposal(p) => self.on_proposal(p, now_ms, out),
        };
        self.maybe_prune();
        r
    }

    fn enter_epoch(&mut self, e: u64, now_ms: u64, out: &mut Vec<Effect>) {
        self.current_epoch = e;
        self.entered_ms = now_ms;
        self.pending_build = None;
        let timeout = match self.cfg.pacing {
            Pacing::Clock => self.cfg.epoch_start_ms(e.saturating_add(1)),
            // 2Δ kept as the timeout of an epoch in which nothing is notarized.
            Pacing::Responsive { .. } => now_ms.saturating_add(self.cfg.epoch_ms()),
        };
        out.push(Effect::SetTimer {
            at_ms: timeout,
            id: e.saturating_add(1),
        });
        // "The epoch's designated leader proposes a new block extending from the longest
        // notarized chain it has seen" (at the beginning of the epoch).
        if e > 0
            && e > self.safety.epoch
            && self.signer.is_some()
            && self.me == Some(self.cfg.validators.leader_index(e))
        {
            let Tip {
                hash: parent,
                height,
            } = self.best;
            self.pending_build = Some((e, parent, height + 1));
            out.push(Effect::BuildBlock {
                epoch: e,
                parent,
                height: height + 1,
            });
        }
        // A proposal for this epoch may have arrived early.
        self.try_vote(e, out);
    }

    /// `Input::BlockBuilt`: signs and sends the proposal (and this leader's vote).
    fn on_block_built(
        &mut self,
        epoch: u64,
        time_ms: u64,
        txs: Vec<SignedTx>,
        out: &mut Vec<Effect>,
    ) -> Result<(), StreamletError> {
        let stale = StreamletError::StaleBuild {
            epoch,
            current: self.current_epoch,
        };
        let Some((e, parent, height)) = self.pending_build else {
            return Err(stale);
        };
        if e != epoch || epoch != self.current_epoch || epoch <= self.safety.epoch {
            return Err(stale);
        }
        let (Some(signer), Some(me)) = (self.signer.as_ref(), self.me) else {
            return Err(stale);
        };
        let proposer = self.cfg.validators.keys()[me as usize];
        let parent_time = self
            .blocks
            .get(&parent)
            .map_or(0, |p| p.block.header.time_ms());
        let block = Block::new(
            parent,
            height,
            ConsensusHeader::Streamlet {
                epoch,
                proposer,
                time_ms: time_ms.max(parent_time),
            },
            txs,
        );
        let proposal = Proposal::sign(&self.cfg.chain, block, signer.as_ref());
        let hash = proposal.block.hash();
        self.pending_build = None;
        self.record_proposal(&proposal, hash, epoch, out);
        self.insert_block(proposal.block.clone(), hash, out);
        // The leader, like every player, votes for the first proposal it sees: its own.
        let vote = self.vote_decision(epoch).filter(|(h, _)| *h == hash);
        self.safety.epoch = epoch;
        let vote = vote.and_then(|(h, height)| self.sign_vote(epoch, h, height));
        out.push(Effect::Persist(self.safety));
        out.push(Effect::Broadcast(ConsensusMessage::Streamlet(
            Message::Proposal(proposal),
        )));
        if let Some(v) = vote {
            out.push(Effect::Broadcast(ConsensusMessage::Streamlet(
                Message::Vote(v),
            )));
            self.record_vote(&v, out);
        }
        self.maybe_prune();
        Ok(())
    }

    /// `Input::Synced`: a notarized block from sync, checked against the validator set
    /// before it is used.
    fn on_certified_block(
        &mut self,
        block: Block,
        certificate: Certificate,
        out: &mut Vec<Effect>,
    ) -> Result<Delivery, StreamletError> {
        let (epoch, proposer) =
            streamlet_fields(&block.header).ok_or(StreamletError::NotStreamletHeader)?;
        let hash = block.hash();
        if certificate.block != hash || certificate.epoch != epoch {
            return Err(CertificateError::WrongBlock {
                cert_block: certificate.block,
                cert_epoch: certificate.epoch,
                block: hash,
                epoch,
            }
            .into());
        }
        if epoch == 0 {
            return Err(StreamletError::GenesisEpoch);
        }
        if epoch <= self.final_epoch {
            return Ok(Delivery::Stale);
        }
        if self.blocks.get(&hash).is_some_and(|e| e.notarized) {
            return Ok(Delivery::Duplicate);
        }
        self.check_leader(epoch, proposer)?;
        self.cfg
            .validators
            .verify_certificate(&certificate, &self.cfg.chain, &self.verifier)?;
        self.check_block(&block, epoch)?;
        for v in &certificate.votes {
            let tally = self.tallies.entry((hash, epoch)).or_default();
            if let Err(pos) = tally.binary_search_by_key(&v.validator, |(i, _)| *i) {
                tally.insert(pos, (v.validator, v.signature));
            }
        }
        if self.blocks.contains_key(&hash) {
            self.check_notarized(hash, out);
        } else {
            self.insert_block(block, hash, out);
        }
        self.maybe_prune();
        Ok(Delivery::New)
    }

    fn check_leader(&self, epoch: u64, proposer: PublicKey) -> Result<(), StreamletError> {
        let leader = self.cfg.validators.leader(epoch);
        if proposer != leader {
            if self.cfg.validators.index_of(&proposer).is_none() {
                return Err(StreamletError::NotAValidator(proposer));
            }
            return Err(StreamletError::WrongLeader {
                epoch,
                expected: leader,
                got: proposer,
            });
        }
        Ok(())
    }

    /// Checks of a block that need no signature: height, transaction root, payload,
    /// and (if the parent is known) height and epoch against the parent.
    fn check_block(&self, block: &Block, epoch: u64) -> Result<(), StreamletError> {
        if block.height() == 0 {
            return Err(StreamletError::BadHeight {
                height: 0,
                parent_height: 0,
            });
        }
        if !block.tx_root_matches() {
            return Err(StreamletError::TxRootMismatch);
        }
        self.payload
            .validate(block)
            .map_err(StreamletError::InvalidPayload)?;
        match self.blocks.get(&block.header.parent) {
            Some(parent) => check_against_parent(block, epoch, parent),
            None if self.orphan_count >= self.cfg.max_orphans => {
                Err(StreamletError::TooManyOrphans)
            }
            None => Ok(()),
        }
    }

    fn on_proposal(
        &mut self,
        p: &Proposal,
        now_ms: u64,
        out: &mut Vec<Effect>,
    ) -> Result<Delivery, StreamletError> {
        let (epoch, proposer) =
            streamlet_fields(&p.block.header).ok_or(StreamletError::NotStreamletHeader)?;
        if epoch == 0 {
            return Err(StreamletError::GenesisEpoch);
        }
        if epoch <= self.final_epoch {
            return Ok(Delivery::Stale);
        }
        if epoch > self.current_epoch.saturating_add(self.cfg.max_epoch_lead) {
            return Err(StreamletError::EpochTooFarAhead {
                epoch,
                current: self.current_epoch,
            });
        }
        self.check_leader(epoch, proposer)?;
        if let Some(st) = self.epochs.get(&epoch) {
            if st.proposals.iter().any(|(s, _, _)| *s == p.signature) {
                return Ok(Delivery::Duplicate);
            }
        }
        let hash = p.block.hash();
        if let Some(st) = self.epochs.get(&epoch) {
            if st.proposals.iter().any(|(_, h, _)| *h == hash) {
                return Ok(Delivery::Duplicate);
            }
            if st.proposals.len() >= MAX_PROPOSALS_PER_EPOCH {
                return Err(StreamletError::TooManyProposals { epoch });
            }
        }
        let time_ms = p.block.header.time_ms();
        if time_ms > now_ms.saturating_add(self.cfg.max_future_ms) {
            return Err(StreamletError::TimeTooFarAhead {
                time_ms,
                now_ms,
                max_future_ms: self.cfg.max_future_ms,
            });
        }
        let msg = signing_bytes(PROPOSAL_TAG, &self.cfg.chain, epoch, &hash);
        if !self.verifier.verify(&proposer, &msg, &p.signature) {
            return Err(StreamletError::BadSignature);
        }
        self.check_block(&p.block, epoch)?;
        // Accepted: nothing below fails.
        self.record_proposal(p, hash, epoch, out);
        self.insert_block(p.block.clone(), hash, out);
        if let Some(idx) = self.cfg.validators.index_of(&proposer) {
            self.note_peer_epoch(idx, epoch, now_ms, out);
        }
        if epoch <= self.current_epoch {
            self.try_vote(epoch, out);
        }
        Ok(Delivery::New)
    }

    fn record_proposal(&mut self, p: &Proposal, hash: Hash, epoch: u64, out: &mut Vec<Effect>) {
        let st = self.epochs.entry(epoch).or_default();
        if let Some((sig, _, header)) = st.proposals.first() {
            if !st.proposal_reported {
                st.proposal_reported = true;
                let ev = Evidence::DoubleProposal {
                    proposer: streamlet_fields(header).map_or_else(PublicKey::default, |f| f.1),
                    first: Box::new(SignedHeader {
                        header: header.clone(),
                        signature: *sig,
                    }),
                    second: Box::new(SignedHeader {
                        header: p.block.header.clone(),
                        signature: p.signature,
                    }),
                };
                out.push(Effect::Evidence(ev.clone()));
                if self.evidence.len() < MAX_KEPT_EVIDENCE {
                    self.evidence.push(ev);
                }
            }
        }
        st.proposals
            .push((p.signature, hash, p.block.header.clone()));
        // "Every player votes for the first proposal they see from the epoch's leader."
        if st.first_proposal.is_none() {
            st.first_proposal = Some(hash);
        }
    }

    fn on_vote(
        &mut self,
        v: &Vote,
        now_ms: u64,
        out: &mut Vec<Effect>,
    ) -> Result<Delivery, StreamletError> {
        let idx = self
            .cfg
            .validators
            .index_of(&v.voter)
            .ok_or(StreamletError::NotAValidator(v.voter))?;
        if v.epoch == 0 {
            return Err(StreamletError::GenesisEpoch);
        }
        if v.epoch <= self.final_epoch {
            return Ok(Delivery::Stale);
        }
        if v.epoch > self.current_epoch.saturating_add(self.cfg.max_epoch_lead) {
            // A node far behind (after a partition, a pause or a restart) learns from
            // such votes where the others are (responsive pacing only).
            let responsive = matches!(self.cfg.pacing, Pacing::Responsive { .. });
            if !responsive || self.peer_epochs.get(idx as usize) >= Some(&v.epoch) {
                return Err(StreamletError::EpochTooFarAhead {
                    epoch: v.epoch,
                    current: self.current_epoch,
                });
            }
            if !v.verify(&self.cfg.chain, &self.verifier) {
                return Err(StreamletError::BadSignature);
            }
            self.note_peer_epoch(idx, v.epoch, now_ms, out);
            if v.epoch > self.current_epoch.saturating_add(self.cfg.max_epoch_lead) {
                return Ok(Delivery::Stale);
            }
        }
        if let Some(st) = self.epochs.get(&v.epoch) {
            if st.vote_pos(idx, &v.block).is_ok() {
                return Ok(Delivery::Duplicate);
            }
            if st.votes_of(idx).count() >= MAX_VOTES_PER_VALIDATOR_EPOCH {
                return Err(StreamletError::TooManyVotes {
                    voter: v.voter,
                    epoch: v.epoch,
                });
            }
        }
        if !v.verify(&self.cfg.chain, &self.verifier) {
            return Err(StreamletError::BadSignature);
        }
        self.note_peer_epoch(idx, v.epoch, now_ms, out);
        self.record_vote(v, out);
        if v.epoch < self.current_epoch {
            // A late vote may complete a notarization that lets this node vote late.
            self.try_vote(v.epoch, out);
        }
        Ok(Delivery::New)
    }

    /// Records a verified vote: equivocation evidence, the tally, notarization.
    fn record_vote(&mut self, v: &Vote, out: &mut Vec<Effect>) {
        let Some(idx) = self.cfg.validators.index_of(&v.voter) else {
            return;
        };
        let st = self.epochs.entry(v.epoch).or_default();
        let Err(pos) = st.vote_pos(idx, &v.block) else {
            return;
        };
        let prior = st.votes_of(idx).next().map(|(_, h, s)| (*h, *s));
        st.votes.insert(pos, (idx, v.block, v.signature));
        if let Some((block, signature)) = prior {
            if !st.reported.contains(&idx) {
                st.reported.push(idx);
                let ev = Evidence::DoubleVote {
                    first: Vote {
                        epoch: v.epoch,
                        block,
                        voter: v.voter,
                        signature,
                    },
                    second: *v,
                };
                out.push(Effect::Evidence(ev.clone()));
                if self.evidence.len() < MAX_KEPT_EVIDENCE {
                    self.evidence.push(ev);
                }
            }
        }
        let tally = self.tallies.entry((v.block, v.epoch)).or_default();
        if let Err(pos) = tally.binary_search_by_key(&idx, |(i, _)| *i) {
            tally.insert(pos, (idx, v.signature));
            if tally.len() >= self.cfg.validators.quorum() {
                self.check_notarized(v.block, out);
            }
        }
    }

    /// Which block this validator may vote for in `epoch` now, with its height.
    fn vote_decision(&self, epoch: u64) -> Option<(Hash, u64)> {
        self.signer.as_ref()?;
        self.me?;
        // The paper votes only in the proposal's epoch; responsive pacing also votes
        // late (deviation 8), always in increasing epoch order.
        let in_time = match self.cfg.pacing {
            Pacing::Clock => epoch == self.current_epoch,
            Pacing::Responsive { .. } => epoch <= self.current_epoch,
        };
        if !in_time || epoch <= self.safety.epoch {
            return None;
        }
        // "Every player votes for the first proposal they see from the epoch's leader,
        // as long as the proposed block extends from (one of) the longest notarized
        // chain(s) that the voter has seen."
        let hash = self.epochs.get(&epoch)?.first_proposal?;
        let entry = self.blocks.get(&hash)?;
        let parent = self.blocks.get(&entry.parent)?;
        if !parent.chain_notarized || parent.height != self.best.height {
            return None;
        }
        // Restart safety: never below a height this validator already voted for.
        if entry.height < self.safety.max_vote_height {
            return None;
        }
        Some((hash, entry.height))
    }

    /// Signs a vote and moves the safety record past `epoch`; `None` for a node without
    /// a key (it never gets here: [`Self::vote_decision`] requires one).
    fn sign_vote(&mut self, epoch: u64, hash: Hash, height: u64) -> Option<Vote> {
        let vote = Vote::sign(&self.cfg.chain, epoch, hash, self.signer.as_deref()?);
        self.safety = SafetyRecord {
            epoch,
            max_vote_height: self.safety.max_vote_height.max(height),
            last_vote: Some(vote),
        };
        Some(vote)
    }

    fn try_vote(&mut self, epoch: u64, out: &mut Vec<Effect>) {
        if let Some((hash, height)) = self.vote_decision(epoch) {
            // "... and at most once per epoch": the safety record moves past `epoch`.
            let Some(vote) = self.sign_vote(epoch, hash, height) else {
                return;
            };
            out.push(Effect::Persist(self.safety));
            out.push(Effect::Broadcast(ConsensusMessage::Streamlet(
                Message::Vote(vote),
            )));
            self.record_vote(&vote, out);
        }
    }

    /// Adds a checked block to the tree if its parent is known, else keeps it as an
    /// orphan (and asks for the parent). Orphans connect when their parent arrives.
    fn insert_block(&mut self, block: Block, hash: Hash, out: &mut Vec<Effect>) {
        if self.blocks.contains_key(&hash) {
            return;
        }
        let parent = block.header.parent;
        if !self.blocks.contains_key(&parent) {
            if self.orphan_count >= self.cfg.max_orphans {
                return;
            }
            let list = self.orphans.entry(parent).or_default();
            if list.iter().any(|(h, _)| *h == hash) {
                return;
            }
            list.push((hash, block));
            self.orphan_count += 1;
            if self.requested.insert(parent) {
                out.push(Effect::RequestBlock { hash: parent });
            }
            return;
        }
        self.link(block, hash, out);
        let mut stack = vec![hash];
        while let Some(h) = stack.pop() {
            let Some(kids) = self.orphans.remove(&h) else {
                continue;
            };
            self.requested.remove(&h);
            for (kh, kid) in kids {
                self.orphan_count = self.orphan_count.saturating_sub(1);
                if self.blocks.contains_key(&kh) {
                    continue;
                }
                let epoch = streamlet_fields(&kid.header).map_or(0, |f| f.0);
                let ok = self
                    .blocks
                    .get(&h)
                    .is_some_and(|p| check_against_parent(&kid, epoch, p).is_ok());
                if ok {
                    self.link(kid, kh, out);
                    stack.push(kh);
                }
            }
        }
    }

    fn link(&mut self, block: Block, hash: Hash, out: &mut Vec<Effect>) {
        let epoch = streamlet_fields(&block.header).map_or(0, |f| f.0);
        let parent = block.header.parent;
        let height = block.height();
        if let Some(p) = self.blocks.get_mut(&parent) {
            p.children.push(hash);
        }
        self.blocks.insert(
            hash,
            Entry {
                block,
                epoch,
                height,
                parent,
                notarized: false,
                chain_notarized: false,
                children: Vec::new(),
            },
        );
        self.check_notarized(hash, out);
    }

    fn certificate_of(&self, hash: &Hash, epoch: u64) -> Certificate {
        let votes = self
            .tallies
            .get(&(*hash, epoch))
            .map(|t| {
                t.iter()
                    .map(|(validator, signature)| CertVote {
                        validator: *validator,
                        signature: *signature,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Certificate {
            epoch,
            block: *hash,
            votes,
        }
    }

    /// "When a block gains votes from at least 2n/3 distinct players, it becomes
    /// notarized."
    fn check_notarized(&mut self, hash: Hash, out: &mut Vec<Effect>) {
        let quorum = self.cfg.validators.quorum();
        let Some(e) = self.blocks.get(&hash) else {
            return;
        };
        if e.notarized {
            return;
        }
        let count = self.tallies.get(&(hash, e.epoch)).map_or(0, Vec::len);
        if count < quorum {
            return;
        }
        let epoch = e.epoch;
        let parent = e.parent;
        let certificate = self.certificate_of(&hash, epoch);
        let Some(e) = self.blocks.get_mut(&hash) else {
            return;
        };
        e.notarized = true;
        out.push(Effect::Notarized {
            block: e.block.clone(),
            certificate,
        });
        // Responsive pacing: a notarized block of this epoch (or a later one) ends the
        // epoch, after the minimum epoch length.
        if let Pacing::Responsive { min_epoch_ms } = self.cfg.pacing {
            if epoch >= self.current_epoch {
                let at_ms = if epoch == self.current_epoch {
                    self.entered_ms.saturating_add(min_epoch_ms)
                } else {
                    self.entered_ms
                };
                out.push(Effect::SetTimer {
                    at_ms,
                    id: epoch.saturating_add(1),
                });
            }
        }
        // "A chain is notarized if its constituent blocks are all notarized."
        if self.blocks.get(&parent).is_some_and(|p| p.chain_notarized) {
            self.propagate_chain_notarized(hash, out);
        }
    }

    fn propagate_chain_notarized(&mut self, start: Hash, out: &mut Vec<Effect>) {
        let mut stack = vec![start];
        while let Some(h) = stack.pop() {
            let Some(e) = self.blocks.get_mut(&h) else {
                continue;
            };
            if e.chain_notarized || !e.notarized {
                continue;
            }
            e.chain_notarized = true;
            let height = e.height;
            for c in &e.children {
                stack.push(*c);
            }
            if height > self.best.height {
                self.best = Tip::new(h, height);
                out.push(Effect::Head(self.best));
            }
            self.check_finality(h, out);
        }
    }

    /// "If in any notarized chain, there are three adjacent blocks with consecutive epoch
    /// numbers, the prefix of the chain up to the second of the three blocks is
    /// considered final." Called when `third` joins a notarized chain (it is the last of
    /// any such triple to do so).
    fn check_finality(&mut self, third: Hash, out: &mut Vec<Effect>) {
        let Some(c) = self.blocks.get(&third) else {
            return;
        };
        let Some(b) = self.blocks.get(&c.parent) else {
            return;
        };
        let Some(a) = self.blocks.get(&b.parent) else {
            return;
        };
        if c.epoch == b.epoch + 1 && b.epoch == a.epoch + 1 {
            let second = c.parent;
            self.finalize(second, out);
        }
    }

    fn finalize(&mut self, target: Hash, out: &mut Vec<Effect>) {
        let Some(t) = self.blocks.get(&target) else {
            return;
        };
        if t.height <= self.final_height {
            if !self.is_ancestor_of_final(target, t.height) {
                out.push(Effect::ConflictingFinality {
                    final_tip: self.final_tip,
                    conflicting: target,
                });
            }
            return;
        }
        // Walk down to the final tip; the chain must pass through it.
        let mut path = Vec::new();
        let mut cur = target;
        loop {
            let Some(e) = self.blocks.get(&cur) else {
                out.push(Effect::ConflictingFinality {
                    final_tip: self.final_tip,
                    conflicting: target,
                });
                return;
            };
            if e.height == self.final_height {
                if cur != self.final_tip {
                    out.push(Effect::ConflictingFinality {
                        final_tip: self.final_tip,
                        conflicting: target,
                    });
                    return;
                }
                break;
            }
            path.push(cur);
            cur = e.parent;
        }
        // "When a block becomes final, all of its prefix must be final too": emit the
        // newly final blocks oldest first.
        for h in path.iter().rev() {
            if let Some(e) = self.blocks.get(h) {
                out.push(Effect::Finalized {
                    block: e.block.clone(),
                    certificate: Some(self.certificate_of(h, e.epoch)),
                });
            }
        }
        if let Some(e) = self.blocks.get(&target) {
            self.final_tip = target;
            self.final_height = e.height;
            self.final_epoch = e.epoch;
            self.needs_prune = true;
        }
    }

    fn is_ancestor_of_final(&self, hash: Hash, height: u64) -> bool {
        let mut cur = self.final_tip;
        loop {
            let Some(e) = self.blocks.get(&cur) else {
                return false;
            };
            if e.height == height {
                return cur == hash;
            }
            if e.height < height {
                return false;
            }
            cur = e.parent;
        }
    }

    /// Drops state at or below the final epoch (see deviation 4).
    fn maybe_prune(&mut self) {
        if !self.needs_prune {
            return;
        }
        self.needs_prune = false;
        let floor = self.final_epoch;
        let tip = self.final_tip;
        self.blocks.retain(|h, e| e.epoch > floor || *h == tip);
        self.tallies
            .retain(|(h, e), _| *e > floor || (*e == floor && *h == tip));
        self.epochs = self.epochs.split_off(&(floor + 1));
        let mut count = 0;
        self.orphans.retain(|_, list| {
            list.retain(|(_, b)| streamlet_fields(&b.header).is_some_and(|f| f.0 > floor));
            count += list.len();
            !list.is_empty()
        });
        self.orphan_count = count;
        let orphans = &self.orphans;
        self.requested.retain(|h| orphans.contains_key(h));
    }

    /// The configuration.
    pub fn config(&self) -> &StreamletConfig {
        &self.cfg
    }

    /// The epoch the node is in.
    pub fn current_epoch(&self) -> u64 {
        self.current_epoch
    }

    /// Epoch of the last final block.
    pub fn final_epoch(&self) -> u64 {
        self.final_epoch
    }

    /// The tip of the longest notarized chain (first reached wins).
    pub fn best_notarized(&self) -> Tip {
        self.best
    }

    /// The current safety record (what was last emitted in `Effect::Persist`).
    pub fn safety_record(&self) -> SafetyRecord {
        self.safety
    }

    /// This node's validator key, if it is a validator.
    pub fn validator_key(&self) -> Option<PublicKey> {
        self.me.and_then(|i| self.cfg.validators.key(i).copied())
    }

    /// Equivocation evidence seen so far (the first [`MAX_KEPT_EVIDENCE`] items).
    pub fn evidence(&self) -> &[Evidence] {
        &self.evidence
    }

    /// True if the block is known and notarized.
    pub fn is_notarized(&self, hash: &Hash) -> bool {
        self.blocks.get(hash).is_some_and(|e| e.notarized)
    }

    /// The certificate of a known notarized block above the final tip (or of the final
    /// tip, if this node saw its votes).
    pub fn certificate(&self, hash: &Hash) -> Option<Certificate> {
        let e = self.blocks.get(hash)?;
        let cert = self.certificate_of(hash, e.epoch);
        (cert.votes.len() >= self.cfg.validators.quorum()).then_some(cert)
    }

    /// The longest notarized chain above the final tip, oldest first, with certificates:
    /// what a node serves to a peer that is behind (after the final blocks from its
    /// store), and what it stores for a restart.
    pub fn notarized_chain(&self) -> Vec<(Block, Certificate)> {
        let mut chain = Vec::new();
        let mut cur = self.best.hash;
        while cur != self.final_tip {
            let Some(e) = self.blocks.get(&cur) else {
                break;
            };
            chain.push((e.block.clone(), self.certificate_of(&cur, e.epoch)));
            cur = e.parent;
        }
        chain.reverse();
        chain
    }
}

impl<V: Verifier> Protocol for Streamlet<V> {
    fn name(&self) -> &'static str {
        "streamlet"
    }

    fn handle(&mut self, input: Input) -> Step {
        let mut out = Vec::new();
        let verdict = match input {
            Input::Start { now_ms } => {
                self.on_start(now_ms, &mut out);
                Ok(Delivery::New)
            }
            Input::Timer { id, now_ms } => {
                self.on_epoch_timer(id, now_ms, &mut out);
                Ok(Delivery::New)
            }
            Input::Message {
                message: ConsensusMessage::Streamlet(m),
                now_ms,
            } => self
                .on_message(&m, now_ms, &mut out)
                .map_err(ConsensusError::from),
            Input::BlockBuilt {
                epoch,
                time_ms,
                txs,
            } => self
                .on_block_built(epoch, time_ms, txs, &mut out)
                .map(|()| Delivery::New)
                .map_err(ConsensusError::from),
            Input::Synced {
                block,
                certificate: Some(certificate),
                ..
            } => self
                .on_certified_block(block, certificate, &mut out)
                .map_err(ConsensusError::from),
            Input::Message { .. } | Input::Mined { .. } | Input::Synced { .. } => {
                Err(ConsensusError::NotForThisProtocol {
                    protocol: "streamlet",
                })
            }
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
        self.best
    }

    fn epoch(&self) -> u64 {
        self.current_epoch
    }

    fn block(&self, hash: &Hash) -> Option<&Block> {
        self.blocks.get(hash).map(|e| &e.block)
    }

    fn unfinal_chain(&self) -> Vec<(Block, Option<Certificate>)> {
        self.notarized_chain()
            .into_iter()
            .map(|(b, c)| (b, Some(c)))
            .collect()
    }
}

fn check_against_parent(block: &Block, epoch: u64, parent: &Entry) -> Result<(), StreamletError> {
    let height = block.height();
    if height != parent.height + 1 {
        return Err(StreamletError::BadHeight {
            height,
            parent_height: parent.height,
        });
    }
    if epoch <= parent.epoch {
        return Err(StreamletError::EpochNotAfterParent {
            epoch,
            parent_epoch: parent.epoch,
        });
    }
    let (time_ms, parent_ms) = (block.header.time_ms(), parent.block.header.time_ms());
    if time_ms < parent_ms {
        return Err(StreamletError::TimeBeforeParent { time_ms, parent_ms });
    }
    Ok(())
}
