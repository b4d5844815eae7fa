//! What the driver needs from the world it runs in, as small traits. The node plugs in
//! libp2p, the system clock and an executor thread; the whole-node simulator plugs in
//! simulated links, virtual time and an executor it steps itself. The store is
//! [`ledger_storage::ConsensusStore`] (RocksDB in the node, the memory twin in the
//! simulator).

use crate::sync::SyncBatch;
use ledger_consensus::nakamoto::MiningTemplate;
use ledger_consensus::streamlet::Evidence;
use ledger_consensus::{Channel, Tip};
use ledger_types::{Block, BlockHeader, SignedTx};
use std::fmt::{Debug, Display};

/// A gossip topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    /// Batches of signed transactions.
    Transactions,
    /// Streamlet proposals and votes.
    Consensus,
    /// Nakamoto blocks.
    Blocks,
}

impl From<Channel> for Topic {
    fn from(c: Channel) -> Topic {
        match c {
            Channel::Consensus => Topic::Consensus,
            Channel::Blocks => Topic::Blocks,
        }
    }
}

impl Topic {
    /// Lowercase name, for logs and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Transactions => "transactions",
            Topic::Consensus => "consensus",
            Topic::Blocks => "blocks",
        }
    }
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the driver decided about a gossip message: the transport relays `Accept`,
/// penalises the sender on `Reject`, and drops `Ignore` quietly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Valid and new: relay it.
    Accept,
    /// Invalid: the sender misbehaved.
    Reject,
    /// Known, stale or not checkable now: do not relay, nobody penalised.
    Ignore,
}

/// The network as the driver sees it: publish, ask for blocks, know the peers.
pub trait Transport {
    /// A peer's identity.
    type Peer: Copy + Eq + Debug + Display;
    /// Sends `data` to every peer on `topic` (best effort; duplicates are dropped by the
    /// network).
    fn publish(&mut self, topic: Topic, data: Vec<u8>);
    /// Asks `peer` for final blocks `from..=to`; the answer comes back through
    /// [`crate::Driver::on_sync_response`].
    fn request_blocks(&mut self, peer: Self::Peer, from: u64, to: u64);
    /// The connected peers, in a stable order.
    fn peers(&self) -> Vec<Self::Peer>;
}

/// The clock. Timers are the driver's own (it reports its next deadline with
/// [`crate::Driver::next_timer`]); the host only tells the time.
pub trait Clock {
    /// Milliseconds since the Unix epoch (virtual in the simulator).
    fn now_ms(&self) -> u64;
}

/// A job for the miner: a template and the transactions to include.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MiningJob {
    /// Template of the next block.
    pub template: MiningTemplate,
    /// Transactions to include.
    pub txs: Vec<SignedTx>,
}

/// A final block handed to execution, in order, each exactly once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalBlock {
    /// The block.
    pub block: Block,
    /// Its encoded finality certificate (empty for proof of work).
    pub certificate: Vec<u8>,
}

/// What the driver tells the node about (for RPC status, metrics and checkers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// The best chain's tip moved (and, for Streamlet, the epoch).
    Head {
        /// The tip.
        tip: Tip,
        /// The current epoch (0 for Nakamoto).
        epoch: u64,
    },
    /// A block's transactions are in the best chain but not final yet.
    Included(Block),
    /// A reorganisation abandoned blocks; these transactions went back to the mempool.
    Returned(Vec<SignedTx>),
    /// Consensus finalized a block (execution follows).
    Finalized {
        /// The block.
        tip: Tip,
        /// Its header.
        header: BlockHeader,
    },
    /// A validator equivocated.
    Evidence(Evidence),
    /// A chain conflicting with the final chain met the finality rule: more than a
    /// third of the validators are faulty.
    ConflictingFinality,
    /// A gossip message was rejected.
    Rejected(Topic),
    /// The clock-offset estimate moved (see [`crate::clock_offset`]).
    ClockOffset(crate::clock_offset::ClockOffset),
    /// Block sync: blocks fetched, the best final height a peer reported, and whether
    /// the node is behind.
    Synced {
        /// Blocks applied from this response.
        blocks: u64,
        /// The peer's final height.
        peer_final: u64,
        /// True while the node is more than a couple of blocks behind.
        behind: bool,
    },
}

/// The rest of the node: execution, the miner, and whoever watches.
pub trait Host {
    /// Queues a final block for execution. Must not block: the executor works beside
    /// the driver and reports back through [`crate::Driver::on_executed`].
    fn execute(&mut self, block: FinalBlock);
    /// Replaces the miner's job (proof of work only).
    fn mining_job(&mut self, job: MiningJob);
    /// Puts transactions of abandoned blocks back into the mempool (they need the
    /// executed state for their nonce checks, which the host owns).
    fn readmit(&mut self, txs: Vec<SignedTx>);
    /// Something happened that readers may want to know.
    fn observe(&mut self, observation: Observation);
}

/// A sync response as the transport delivers it: the batch, or why the request failed.
pub type SyncResult = Result<SyncBatch, String>;
