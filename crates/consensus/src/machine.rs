//! The one interface every host uses: [`Protocol::handle`] takes an [`Input`] and
//! returns a [`Step`], the relay verdict and the [`Effect`]s to carry out in order.
//!
//! Streamlet and Nakamoto speak the same vocabulary, so the node's driver and the
//! simulator are written once for both (malachite's single entry point with a typed
//! effect list is the model). An input a protocol has no use for (a mined block given
//! to Streamlet) is refused with [`ConsensusError::NotForThisProtocol`] and changes
//! nothing.
//!
//! Each effect says what resumes the machine, if anything:
//!
//! | effect | the host | resumes with |
//! | --- | --- | --- |
//! | [`Effect::Persist`] | writes the safety record durably **before** any later effect | nothing |
//! | [`Effect::Broadcast`] | sends to every peer | nothing |
//! | [`Effect::SetTimer`] | waits until `at_ms` on its clock | [`Input::Timer`] |
//! | [`Effect::BuildBlock`] | picks transactions for the block | [`Input::BlockBuilt`] |
//! | [`Effect::MiningJob`] | searches nonces for the template | [`Input::Mined`] |
//! | [`Effect::RequestBlock`] | asks peers (block sync) | [`Input::Synced`] |
//! | [`Effect::Notarized`], [`Effect::Head`], [`Effect::Reorg`] | stores blocks, updates the mempool | nothing |
//! | [`Effect::Finalized`] | executes the block (in order, exactly once each) | nothing |
//! | [`Effect::Evidence`], [`Effect::ConflictingFinality`] | logs, keeps evidence | nothing |

use crate::nakamoto::{MiningTemplate, NakamotoError};
use crate::payload::Delivery;
use crate::streamlet::{self, Certificate, Evidence, SafetyRecord, StreamletError};
use ledger_types::{codec, Block, Hash, SignedTx};

/// A block named by hash and height: a tip of a chain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tip {
    /// The block hash.
    pub hash: Hash,
    /// Its height.
    pub height: u64,
}

impl Tip {
    /// A tip.
    pub const fn new(hash: Hash, height: u64) -> Tip {
        Tip { hash, height }
    }
}

/// Which gossip channel a consensus message travels on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// Streamlet proposals and votes.
    Consensus,
    /// Nakamoto blocks.
    Blocks,
}

/// A consensus message on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsensusMessage {
    /// A Streamlet proposal or vote.
    Streamlet(streamlet::Message),
    /// A Nakamoto block.
    Block(Block),
}

impl ConsensusMessage {
    /// The channel it travels on.
    pub fn channel(&self) -> Channel {
        match self {
            ConsensusMessage::Streamlet(_) => Channel::Consensus,
            ConsensusMessage::Block(_) => Channel::Blocks,
        }
    }

    /// Its canonical encoding (what gossip carries).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            ConsensusMessage::Streamlet(m) => codec::encode(m),
            ConsensusMessage::Block(b) => codec::encode(b),
        }
    }

    /// Decodes a message that arrived on `channel`, refusing more than `max_bytes`.
    pub fn decode(channel: Channel, data: &[u8], max_bytes: usize) -> Option<ConsensusMessage> {
        match channel {
            Channel::Consensus => codec::decode_bounded::<streamlet::Message>(data, max_bytes)
                .ok()
                .map(ConsensusMessage::Streamlet),
            Channel::Blocks => codec::decode_bounded::<Block>(data, max_bytes)
                .ok()
                .map(ConsensusMessage::Block),
        }
    }
}

/// An input to a consensus machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The node starts (or restarts) at this time: milliseconds since the Unix epoch.
    Start {
        /// The host's clock.
        now_ms: u64,
    },
    /// The timer set by [`Effect::SetTimer`] with this id fired.
    Timer {
        /// The timer's id (Streamlet: the epoch that begins).
        id: u64,
        /// The host's clock.
        now_ms: u64,
    },
    /// A message from a peer (authenticity comes from signatures or proof of work).
    Message {
        /// The message.
        message: ConsensusMessage,
        /// The host's clock.
        now_ms: u64,
    },
    /// The answer to [`Effect::BuildBlock`]: the transactions the mempool chose.
    BlockBuilt {
        /// The epoch of the request.
        epoch: u64,
        /// The proposer's clock: the block's timestamp.
        time_ms: u64,
        /// Transactions for the block, in order.
        txs: Vec<SignedTx>,
    },
    /// A block the local miner solved for an [`Effect::MiningJob`].
    Mined {
        /// The block.
        block: Block,
        /// The host's clock.
        now_ms: u64,
    },
    /// A block fetched by block sync (answering [`Effect::RequestBlock`], or catching
    /// up), with its Streamlet notarization certificate.
    Synced {
        /// The block.
        block: Block,
        /// Streamlet: the certificate (required). Nakamoto: `None`.
        certificate: Option<Certificate>,
        /// The host's clock.
        now_ms: u64,
    },
}

/// An effect for the host to carry out, in order. (Effects are short-lived; boxing the
/// block-carrying variants would only add allocations.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Durably store this record (replacing the previous one) **before** carrying out
    /// any later effect: it precedes the proposal or vote it protects.
    Persist(SafetyRecord),
    /// Send to every peer.
    Broadcast(ConsensusMessage),
    /// Deliver [`Input::Timer`] with `id` at `at_ms` (host clock, ms since the Unix epoch).
    SetTimer {
        /// When.
        at_ms: u64,
        /// The id to deliver.
        id: u64,
    },
    /// This node leads `epoch`: answer with [`Input::BlockBuilt`].
    BuildBlock {
        /// The epoch.
        epoch: u64,
        /// The parent chosen (tip of a longest notarized chain).
        parent: Hash,
        /// Height of the block to build.
        height: u64,
    },
    /// Mine on this template (replacing any earlier job): answer with [`Input::Mined`].
    MiningJob(MiningTemplate),
    /// A block became notarized: store it with its certificate (restarts and sync).
    Notarized {
        /// The block.
        block: Block,
        /// The votes that notarized it.
        certificate: Certificate,
    },
    /// The best chain has a new tip (Streamlet: longest notarized chain; Nakamoto: most
    /// work). The block is known to the machine ([`Protocol::block`]).
    Head(Tip),
    /// The best chain switched branches (Nakamoto; emitted before the [`Effect::Head`]
    /// it causes).
    Reorg {
        /// The last block both branches share.
        fork_point: Hash,
        /// Blocks of the old branch no longer on the best chain, oldest first.
        abandoned: Vec<Hash>,
        /// Transactions of abandoned blocks the new branch does not include, in chain
        /// order: give them back to the mempool.
        returned_txs: Vec<SignedTx>,
    },
    /// A block became final. In chain order, each block exactly once.
    Finalized {
        /// The block.
        block: Block,
        /// Streamlet: its notarization certificate. Nakamoto: `None`.
        certificate: Option<Certificate>,
    },
    /// A block with this hash is referenced but unknown: fetch it from peers.
    RequestBlock {
        /// The missing block.
        hash: Hash,
    },
    /// A validator equivocated.
    Evidence(Evidence),
    /// Alarm: a chain that conflicts with the local final chain met the finality rule
    /// (impossible with fewer than n/3 Byzantine validators). Nothing is finalized.
    ConflictingFinality {
        /// The local final tip.
        final_tip: Hash,
        /// The conflicting block that met the rule.
        conflicting: Hash,
    },
}

/// Why an input was refused. A refused input changes nothing.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum ConsensusError {
    /// Streamlet refused it.
    #[error(transparent)]
    Streamlet(#[from] StreamletError),
    /// Nakamoto refused it.
    #[error(transparent)]
    Nakamoto(#[from] NakamotoError),
    /// The input belongs to the other protocol (a block on the Streamlet machine, a
    /// vote on the Nakamoto machine, a synced Streamlet block without certificate).
    #[error("not an input for {protocol}")]
    NotForThisProtocol {
        /// The machine's protocol.
        protocol: &'static str,
    },
}

impl ConsensusError {
    /// True if the message proves its sender misbehaved (gossip should penalise the
    /// peer); false for refusals an honest peer can cause (a message too far ahead of
    /// our clock or epoch, a full orphan pool, a block conflicting with our final chain
    /// while we lag, our own stale build).
    pub fn is_offence(&self) -> bool {
        match self {
            ConsensusError::Streamlet(e) => !matches!(
                e,
                StreamletError::EpochTooFarAhead { .. }
                    | StreamletError::TooManyOrphans
                    | StreamletError::StaleBuild { .. }
                    | StreamletError::TimeTooFarAhead { .. }
            ),
            ConsensusError::Nakamoto(e) => !matches!(
                e,
                NakamotoError::TimeTooFarAhead { .. } | NakamotoError::ConflictsWithFinal(_)
            ),
            ConsensusError::NotForThisProtocol { .. } => true,
        }
    }
}

/// What one input did: the verdict (for a peer message: relay it if `Ok(New)`) and the
/// effects to carry out in order. A refused input has no effects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// `Ok(New)`: accepted and new (relay a peer message); `Ok(Duplicate | Stale)`: no
    /// change, do not relay; `Err`: refused, nothing changed.
    pub verdict: Result<Delivery, ConsensusError>,
    /// Effects, in order.
    pub effects: Vec<Effect>,
}

impl Step {
    /// A step that accepted its input.
    pub fn accepted(effects: Vec<Effect>) -> Step {
        Step {
            verdict: Ok(Delivery::New),
            effects,
        }
    }
}

/// A consensus protocol as the hosts see it. Implemented by
/// [`Streamlet`](crate::streamlet::Streamlet) and [`Nakamoto`](crate::nakamoto::Nakamoto).
pub trait Protocol {
    /// Short name: `streamlet` or `nakamoto`.
    fn name(&self) -> &'static str;
    /// Handles one input: the only way to change the machine.
    fn handle(&mut self, input: Input) -> Step;
    /// The last final block.
    fn final_tip(&self) -> Tip;
    /// The tip of the best chain (at or above the final tip).
    fn head(&self) -> Tip;
    /// The current epoch (Streamlet; 0 for Nakamoto).
    fn epoch(&self) -> u64;
    /// A known block at or above the final tip.
    fn block(&self, hash: &Hash) -> Option<&Block>;
    /// The best chain above the final tip, oldest first, with certificates (Streamlet)
    /// — what a node serves to a peer that catches up, after its final blocks.
    fn unfinal_chain(&self) -> Vec<(Block, Option<Certificate>)>;
}
