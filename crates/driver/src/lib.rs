//! ledger-driver: the node's consensus driver and mempool, independent of any runtime.
//!
//! The [`Driver`] is the only code that turns consensus effects into I/O. It is written
//! once for Streamlet and Nakamoto (both speak [`ledger_consensus::Protocol`]) and is
//! generic over small traits ([`host`]): a [`Transport`] (publish, request blocks, the
//! peers), a [`Clock`], a [`ledger_storage::ConsensusStore`], and a [`Host`] that
//! executes final blocks beside the driver, mines, and observes. The node
//! (`ledger-service`) plugs in libp2p, the system clock, RocksDB and an executor thread;
//! the whole-node simulator (`ledger-node-sim`) plugs in simulated links, virtual time,
//! the memory store and crash-restarts, and runs the very same driver.
//!
//! - [`driver`]: the driver (inputs, effects in order, back-pressure, block sync).
//! - [`mempool`]: pending transactions, admission checks, block selection.
//! - [`admission`]: gossiped transaction batches, verified once, in batches.
//! - [`validation`]: the payload check consensus runs before voting for a block.
//! - [`verified`]: signatures already verified here, so each is checked once per node.
//! - [`clock_offset`]: how far this node's clock is from its peers', from sync answers.
//! - [`restore`]: the consensus machine of a restarted node, rebuilt from its store.
//! - [`sync`]: block-sync payloads.

#![warn(missing_docs)]

pub mod admission;
pub mod clock_offset;
pub mod driver;
pub mod host;
pub mod mempool;
pub mod restore;
pub mod sync;
pub mod validation;
pub mod verified;

pub use admission::{
    admit_gossip_batch, insert_gossip_batch, verify_gossip_batch, BatchAdmission, VerifiedBatch,
    GOSSIP_BATCH,
};
pub use clock_offset::{ClockOffset, ClockOffsetEstimator};
pub use driver::{Driver, DriverConfig, DriverParts, Faults, Offence, DEFAULT_MAX_EXEC_BACKLOG};
pub use host::{
    Clock, FinalBlock, Host, MiningJob, Observation, SyncResult, Topic, Transport, Verdict,
};
pub use mempool::{AdmitError, Mempool, MempoolLimits};
pub use restore::{restore_protocol, RestoreParams};
pub use sync::{SyncBatch, SyncItem, SYNC_BATCH};
pub use validation::NodePayloadValidator;
pub use verified::VerifiedSignatures;

/// Why the driver stopped or a node could not be restored.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The store failed; the node must stop (a restart recovers from disk).
    #[error("storage: {0}")]
    Storage(#[from] ledger_storage::StoreError),
    /// The genesis does not describe a valid consensus configuration.
    #[error("consensus configuration: {0}")]
    Config(#[from] ledger_consensus::ConfigError),
    /// The stored consensus state does not restore.
    #[error("cannot restore consensus state: {0}")]
    Restore(ledger_consensus::ConsensusError),
}
