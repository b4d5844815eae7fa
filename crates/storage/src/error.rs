//! Every way opening, reading or writing the store can fail.
//!
//! Errors about the directory's contents name what is wrong and, where it applies, the
//! height: an operator reading one line knows whether to restore a backup, re-sync or
//! point the node at the right genesis.

use ledger_types::Hash;

/// An error of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database backend failed (I/O error, RocksDB corruption report, lock held by
    /// another process, ...).
    #[error("database error: {0}")]
    Backend(String),

    /// A stored value is not the canonical encoding of what its column family holds
    /// (truncated, altered, or written by something else).
    #[error("corrupt value in column family `{cf}` at key {key}: {reason}")]
    Decode {
        /// Column family.
        cf: &'static str,
        /// The key, readably (a height, a hash or hex bytes).
        key: String,
        /// What the decoder reported.
        reason: String,
    },

    /// Two indexes or an index and the state disagree.
    #[error("index inconsistency: {0}")]
    Index(String),

    /// A stored key has the wrong shape for its column family.
    #[error("malformed key in column family `{cf}`: {key}")]
    BadKey {
        /// Column family.
        cf: &'static str,
        /// The key in hex.
        key: String,
    },

    /// The store keeps no query indexes (`StoreOptions::indexes` is off), so it cannot
    /// answer a lookup of transactions, orders, trades, account history, candles or swaps.
    #[error(
        "this node keeps no {0} index ([storage] indexes = false): ask a node that keeps them"
    )]
    NotIndexed(&'static str),

    /// The directory holds data but not this metadata entry.
    #[error("metadata entry `{0}` is missing: the data directory is incomplete or not a ledger-node store")]
    MissingMeta(&'static str),

    /// The directory was written by another schema version.
    #[error("schema version {found} in the data directory, this node reads version {expected}")]
    SchemaVersion {
        /// Stored version.
        found: u32,
        /// Version this build understands.
        expected: u32,
    },

    /// The directory is empty and no genesis was given to initialise it.
    #[error("the data directory is empty and no genesis was given to initialise it")]
    NotInitialized,

    /// The stored genesis document is unreadable or does not hash to the stored hash.
    #[error("stored genesis is corrupt: {0}")]
    GenesisCorrupt(String),

    /// The caller's genesis is not the one the directory was created with.
    #[error("genesis mismatch: the data directory belongs to genesis {stored}, the given genesis is {given}")]
    GenesisMismatch {
        /// Hash of the stored genesis.
        stored: Hash,
        /// Hash of the caller's genesis.
        given: Hash,
    },

    /// The given genesis document is invalid.
    #[error("invalid genesis: {0}")]
    InvalidGenesis(String),

    /// The applied height is above the final height.
    #[error("applied height {applied} is above final height {final_height}")]
    HeightsInconsistent {
        /// Applied height.
        applied: u64,
        /// Final height.
        final_height: u64,
    },

    /// A height at or below the final height has no final-block marker.
    #[error("no final block marker at height {height} (final height is {final_height})")]
    MissingFinal {
        /// The height.
        height: u64,
        /// The stored final height.
        final_height: u64,
    },

    /// A final-block marker exists above the final height.
    #[error("final block marker at height {height} is above the final height {final_height}")]
    UnexpectedFinal {
        /// The height.
        height: u64,
        /// The stored final height.
        final_height: u64,
    },

    /// A final-block marker names a block the store does not hold.
    #[error("final block {hash} at height {height} is missing from the block store")]
    MissingBlock {
        /// The height.
        height: u64,
        /// The block hash the marker names.
        hash: Hash,
    },

    /// A stored block contradicts its key, its marker or its parent.
    #[error("block at height {height} is invalid: {reason}")]
    BadBlock {
        /// The height.
        height: u64,
        /// What is wrong.
        reason: String,
    },

    /// An applied height has no stored state root.
    #[error("no stored state root at applied height {height}")]
    MissingStateRoot {
        /// The height.
        height: u64,
    },

    /// A state root exists above the applied height (a half-written or foreign batch).
    #[error("state root stored at height {height}, above the applied height {applied}")]
    UnexpectedStateRoot {
        /// The height.
        height: u64,
        /// The applied height.
        applied: u64,
    },

    /// The ledger state does not hash to the state root stored for its height.
    #[error("state root mismatch at height {height}: stored {stored}, computed {computed}")]
    StateRootMismatch {
        /// The height.
        height: u64,
        /// Root stored at that height.
        stored: Hash,
        /// Root of the state as loaded or re-executed.
        computed: Hash,
    },

    /// The stored ledger state contradicts itself or the genesis.
    #[error("ledger state at applied height {height} is inconsistent: {reason}")]
    InconsistentState {
        /// Applied height.
        height: u64,
        /// What the engine found.
        reason: String,
    },

    /// A block offered as final is not the next one.
    #[error("block at height {got} cannot be finalized next: the next final height is {expected}")]
    NotNext {
        /// The next final height.
        expected: u64,
        /// The block's height.
        got: u64,
    },

    /// A block offered as final does not extend the final chain.
    #[error("block at height {height} has parent {parent}, the final block at height {} is {tip}", height.saturating_sub(1))]
    NotExtending {
        /// The block's height.
        height: u64,
        /// Its parent.
        parent: Hash,
        /// The final block it should extend.
        tip: Hash,
    },

    /// A different block is already final at this height: a safety violation upstream.
    #[error("conflicting final blocks at height {height}: stored {stored}, offered {offered}")]
    ConflictingFinal {
        /// The height.
        height: u64,
        /// The stored final block.
        stored: Hash,
        /// The offered block.
        offered: Hash,
    },

    /// RocksDB reports corruption: a damaged MANIFEST, CURRENT, table (SST) file or
    /// write-ahead log. `detail` is RocksDB's message, which names the file where it can.
    #[error("the store at {path} is corrupt: {detail}. Restore the directory from a backup or snapshot, or move it away and let the node re-sync from its peers")]
    Corrupt {
        /// The database directory.
        path: String,
        /// What is damaged.
        detail: String,
    },

    /// The disk holding the store is full.
    #[error(
        "no space left on device (ENOSPC) for the store at {path} ({free} bytes free): {detail}"
    )]
    DiskFull {
        /// The database directory.
        path: String,
        /// Bytes available to the node on that filesystem when the error was seen.
        free: u64,
        /// RocksDB's message.
        detail: String,
    },

    /// Another process holds the data directory.
    #[error("the data directory {path} is in use by another process (its lock is held{holder}); refusing to open it twice")]
    Locked {
        /// The database directory.
        path: String,
        /// Who holds it, as recorded in the progress file (`", by pid N"`), or empty.
        holder: String,
    },

    /// A column family with completeness markers is not complete to the height it must
    /// be (see [`crate::schema`]): RocksDB lost writes of it.
    #[error("column family `{cf}` is incomplete: {}, but the store's {kind} height is {expected}{}", match complete_to { Some(h) => format!("it is complete only to height {h} (markers {markers:?})"), None => "it has no completeness marker".to_string() }, if *rebuildable { "; it will be rebuilt from the blocks" } else { "; it cannot be rebuilt from this store: restore a backup or snapshot, or move the directory away and re-sync" })]
    Incomplete {
        /// Column family.
        cf: &'static str,
        /// `final` or `applied`.
        kind: &'static str,
        /// The lowest marker (the height the family is known complete to).
        complete_to: Option<u64>,
        /// Every marker found.
        markers: Vec<u64>,
        /// The height it must be complete to.
        expected: u64,
        /// True if it is derived from the blocks and can be rebuilt.
        rebuildable: bool,
    },

    /// The store holds nothing, but the data directory recorded progress: its data was
    /// lost (a damaged write-ahead log or MANIFEST), it is not a fresh directory.
    #[error("the store at {path} holds no data, but this data directory recorded final height {final_height} and applied height {applied_height}: the data was lost ({files}). Move the directory away (or restore a backup) to start over")]
    Lost {
        /// The database directory.
        path: String,
        /// Final height recorded in the progress file.
        final_height: u64,
        /// Applied height recorded in the progress file.
        applied_height: u64,
        /// The RocksDB files present.
        files: String,
    },

    /// An earlier write failed after the engine had executed a block: the in-memory state
    /// is ahead of the disk. Restart the node; it will recover from the store.
    #[error("the executor stopped after a failed write at height {height}; restart to recover")]
    Poisoned {
        /// Height of the block whose write failed.
        height: u64,
    },
}

impl StoreError {
    /// The height the error is about, if it names one.
    pub fn height(&self) -> Option<u64> {
        match self {
            StoreError::MissingFinal { height, .. }
            | StoreError::UnexpectedFinal { height, .. }
            | StoreError::MissingBlock { height, .. }
            | StoreError::BadBlock { height, .. }
            | StoreError::MissingStateRoot { height }
            | StoreError::UnexpectedStateRoot { height, .. }
            | StoreError::StateRootMismatch { height, .. }
            | StoreError::InconsistentState { height, .. }
            | StoreError::ConflictingFinal { height, .. }
            | StoreError::NotExtending { height, .. }
            | StoreError::Poisoned { height } => Some(*height),
            StoreError::NotNext { got, .. } => Some(*got),
            StoreError::HeightsInconsistent { applied, .. } => Some(*applied),
            _ => None,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
