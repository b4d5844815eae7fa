//! State shared between the consensus driver (the only writer of chain and ledger
//! state) and the RPC server, health checks and metrics (readers).
//!
//! Lock order, to rule out deadlocks: `executor` before `mempool` before anything else.

use crate::mempool::Mempool;
use crate::metrics::Metrics;
use ledger_rpc::Catalog;
use ledger_storage::{AppliedBlock, ChainStore, Executor};
use ledger_types::{Block, Genesis, Hash, SignedTx, TxHash};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{broadcast, mpsc};

/// A block that was finalized and executed, with its receipts (for subscriptions).
#[derive(Debug)]
pub struct FinalBlock {
    /// The block.
    pub block: Block,
    /// What executing it did.
    pub applied: AppliedBlock,
}

/// A peer as the RPC shows it.
#[derive(Clone, Debug)]
pub struct PeerEntry {
    /// libp2p peer id.
    pub peer_id: String,
    /// Remote address.
    pub address: String,
    /// True if the peer dialled us.
    pub inbound: bool,
    /// Its identify agent string.
    pub agent: Option<String>,
}

/// Chain progress as the node sees it.
#[derive(Clone, Debug, Default)]
pub struct ChainProgress {
    /// Height and hash of the best (notarized / most-work) tip.
    pub head: (u64, Hash),
    /// Height and hash of the last final block.
    pub final_tip: (u64, Hash),
    /// Current Streamlet epoch (0 for Nakamoto).
    pub epoch: u64,
    /// The highest final height a peer reported during sync.
    pub best_peer_final: u64,
    /// True while the node is fetching blocks it is missing.
    pub syncing: bool,
    /// When the final height last advanced.
    pub last_final_at: Option<Instant>,
}

/// What the RPC asks the driver to do.
#[derive(Debug)]
pub enum Command {
    /// Gossip a transaction admitted through the RPC.
    Gossip(SignedTx),
}

/// Everything the readers share with the driver.
pub struct Shared {
    /// The genesis.
    pub genesis: Genesis,
    /// Conversions to wire types.
    pub catalog: Catalog,
    /// The store (reads do not need the executor lock).
    pub store: ChainStore,
    /// The executor, which owns the engine; written only by the driver.
    pub executor: RwLock<Executor>,
    /// Pending transactions.
    pub mempool: Arc<Mutex<Mempool>>,
    /// Progress.
    pub progress: RwLock<ChainProgress>,
    /// Connected peers.
    pub peers: RwLock<Vec<PeerEntry>>,
    /// Transactions in blocks that are on the best chain but not final yet.
    pub included: RwLock<HashMap<TxHash, (u64, Hash)>>,
    /// Final blocks as they are executed.
    pub final_blocks: broadcast::Sender<Arc<FinalBlock>>,
    /// Requests to the driver.
    pub commands: mpsc::Sender<Command>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// This node's libp2p peer id.
    pub peer_id: String,
    /// This node's listen multiaddrs (with `/p2p/`).
    pub listen_addrs: Vec<String>,
    /// The validator key of this node, if it is in the genesis validator set.
    pub validator: Option<ledger_types::PublicKey>,
    /// When the node started.
    pub started: Instant,
    /// Signature checks of RPC submissions, batched.
    pub signatures: crate::sig_batcher::SignatureBatcher,
}

impl Shared {
    /// True when the node is synced and finalizing: not fetching missing blocks, and
    /// the final height advanced recently (within `stall_after`).
    pub fn readiness(&self, stall_after: std::time::Duration) -> Result<(), String> {
        let p = self.progress.read();
        if p.syncing {
            return Err(format!(
                "syncing: final height {} of {}",
                p.final_tip.0, p.best_peer_final
            ));
        }
        let since = p.last_final_at.unwrap_or(self.started).elapsed();
        if since > stall_after {
            return Err(format!(
                "not finalizing: final height {} unchanged for {}s",
                p.final_tip.0,
                since.as_secs()
            ));
        }
        Ok(())
    }
}
