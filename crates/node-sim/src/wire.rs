//! What travels between simulated nodes, and what nodes report to the checkers.

use ledger_driver::{SyncBatch, Topic};
use ledger_simulator::core::mix;
use ledger_simulator::{SimMessage, SimObservation};
use ledger_types::{Hash, PublicKey, SignedTx};
use std::rc::Rc;

/// A message on the simulated wire: the node's gossip topics, block sync, and client
/// submissions (a wallet's RPC call, subject to the same network as everything else).
#[derive(Clone, Debug)]
pub enum Wire {
    /// A gossip message: relayed by every node that accepts it (gossipsub's mesh).
    Gossip {
        /// The topic.
        topic: Topic,
        /// The canonical bytes.
        data: Rc<Vec<u8>>,
        /// Message id (the bytes' digest): nodes drop what they have seen.
        id: Hash,
    },
    /// A block-sync request.
    SyncRequest {
        /// Matches the response to the request.
        request: u64,
        /// First height wanted.
        from: u64,
        /// Last height wanted.
        to: u64,
    },
    /// A block-sync response.
    SyncResponse {
        /// The request answered.
        request: u64,
        /// The blocks.
        batch: Rc<SyncBatch>,
    },
    /// A transaction a client submits to a node (its RPC).
    Submit(Rc<SignedTx>),
}

impl Wire {
    /// A gossip message for `data` on `topic`.
    pub fn gossip(topic: Topic, data: Vec<u8>) -> Wire {
        let id = Hash::digest(&data);
        Wire::Gossip {
            topic,
            data: Rc::new(data),
            id,
        }
    }
}

impl SimMessage for Wire {
    fn wire_bits(&self) -> u64 {
        let bytes = match self {
            Wire::Gossip { data, .. } => data.len() + 8,
            Wire::SyncRequest { .. } => 24,
            Wire::SyncResponse { batch, .. } => {
                16 + batch
                    .items
                    .iter()
                    .map(|i| 8 + i.certificate.len() + 256 * (1 + i.block.txs.len()))
                    .sum::<usize>()
            }
            Wire::Submit(_) => 256,
        };
        bytes as u64 * 8
    }

    fn trace_digest(&self) -> u64 {
        match self {
            Wire::Gossip { id, .. } => id.prefix_u64(),
            Wire::SyncRequest { request, from, to } => mix(*request, from ^ to.rotate_left(32)),
            Wire::SyncResponse { request, batch } => mix(*request, batch.items.len() as u64),
            Wire::Submit(tx) => tx.hash().prefix_u64(),
        }
    }
}

/// What a simulated node reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeObs {
    /// Consensus finalized a block at this node.
    Finalized {
        /// Block hash.
        hash: Hash,
        /// Height.
        height: u64,
        /// Epoch of the block (Streamlet; 0 for Nakamoto).
        epoch: u64,
    },
    /// The executor committed a final block (state root after it).
    Executed {
        /// Block hash.
        hash: Hash,
        /// Parent hash.
        parent: Hash,
        /// Height.
        height: u64,
        /// Epoch of the block (Streamlet; 0 for Nakamoto).
        epoch: u64,
        /// State root after executing it.
        root: Hash,
        /// Transactions in the block.
        txs: u32,
    },
    /// The node recorded equivocation evidence against a validator.
    Evidence {
        /// The equivocating validator.
        offender: PublicKey,
    },
    /// The node's own alarm: a conflicting chain met the finality rule.
    ConflictAlarm,
    /// The process crashed (memory lost, store kept).
    Crashed,
    /// The process restarted from its store.
    Restarted {
        /// Final height in the store at restart.
        stored_final: u64,
    },
    /// A late joiner started with an empty store.
    Joined,
    /// The node entered a new consensus epoch (Streamlet).
    Epoch(u64),
    /// The node failed in a way the node would report as fatal (restore, execution,
    /// serving sync): a bug.
    Fatal(String),
}

impl SimObservation for NodeObs {
    fn trace_digest(&self) -> u64 {
        match self {
            NodeObs::Finalized { hash, height, .. } => hash.prefix_u64() ^ height,
            NodeObs::Executed { hash, root, .. } => {
                hash.prefix_u64() ^ root.prefix_u64().rotate_left(7)
            }
            NodeObs::Evidence { offender } => Hash(offender.0).prefix_u64() ^ 0xe1,
            NodeObs::ConflictAlarm => 0xc0,
            NodeObs::Crashed => 0xc1,
            NodeObs::Restarted { stored_final } => 0xc2 ^ stored_final.rotate_left(11),
            NodeObs::Joined => 0xc3,
            NodeObs::Epoch(e) => 0xe0 ^ e.rotate_left(17),
            NodeObs::Fatal(_) => 0xf0,
        }
    }
}
