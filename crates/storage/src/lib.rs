//! ledger-storage: the node's data directory, one RocksDB instance with column
//! families, and the executor that turns final blocks into persisted ledger state.
//!
//! * [`Store`]: an ordered key-value store with column families and atomic batches;
//!   [`RocksStore`] in the product, `MemStore` (feature `test-utils`) in tests.
//! * [`ChainStore`]: the typed layer every component shares: start-up checks, blocks and
//!   finality, ledger state and the index queries the RPC layer serves. See [`schema`]
//!   for the key layout.
//! * [`ConsensusStore`]: what consensus keeps beside the ledger, behind typed methods
//!   (the safety record, written synced before the vote it protects; certificates;
//!   non-final blocks; typed restore for Streamlet and Nakamoto).
//! * [`Executor`]: applies a final block to the engine and writes the block, its
//!   certificate, every state change, the indexes, the state root and the new heights in
//!   **one** batch; on open it loads and verifies the state and replays the final blocks
//!   not yet applied. See its module docs for how final and applied heights relate.
//! * [`replay_chain`]: re-executes the whole history and compares every state root.
//!
//! ```no_run
//! use ledger_storage::{ChainStore, Executor, StoreOptions};
//! # fn demo(genesis: ledger_types::Genesis, block: ledger_types::Block, cert: Vec<u8>)
//! #     -> Result<(), ledger_storage::StoreError> {
//! let store = ChainStore::open("/var/lib/ledger/data", StoreOptions::default())?;
//! let mut exec = Executor::open(store.clone(), Some(&genesis))?; // checks, loads, replays
//! if let Some(applied) = exec.finalize(block, &cert)? {
//!     println!("height {} root {}", applied.height, applied.state_root);
//! }
//! let trades = store.trades(ledger_types::MarketId(0), None, None)?; // newest 30
//! # let _ = trades; Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod chain;
pub mod consensus;
pub mod error;
pub mod executor;
#[cfg(any(test, feature = "test-utils"))]
pub mod memory;
pub mod records;
pub mod replay;
pub mod rocks;
pub mod schema;
pub mod snapshot;
pub mod store;
pub mod swaps;
#[cfg(any(test, feature = "test-utils"))]
pub mod testkit;

#[cfg(test)]
mod tests;

pub use chain::{ChainStore, StoreMeta, StoreOptions};
pub use consensus::ConsensusStore;
pub use error::{Result, StoreError};
pub use executor::Executor;
#[cfg(any(test, feature = "test-utils"))]
pub use memory::MemStore;
pub use records::{
    page_limit, AccountTxRef, AppliedBlock, Candle, CandleInterval, FinalRecord, FinalizedBlock,
    HistoryCursor, MarketStats, OrderCursor, OrderFilter, OrderStatus, OrderSummary, Page,
    TradeRecord, TransferRecord, TxRecord, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT,
};
pub use replay::{
    count_entries, replay_chain, IndexCount, ReplayProgress, ReplayReport, RootMismatch,
};
pub use rocks::RocksStore;
pub use schema::{Cf, SCHEMA_VERSION};
pub use snapshot::{Snapshot, SnapshotContent, SnapshotError, SnapshotManifest};
pub use store::{Batch, BatchOp, Direction, Store};
pub use swaps::{SwapStatus, SwapSummary};
