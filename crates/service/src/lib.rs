//! ledger-service: everything a running node does between the network, consensus,
//! storage, the engine and the RPC: configuration, the consensus driver's runtime
//! (libp2p, the system clock, RocksDB, the executor thread; the driver and the mempool
//! are `ledger-driver`'s), the JSON-RPC server, the explorer page, health and metrics.

#[cfg(feature = "byzantine")]
pub mod byzantine;
pub mod config;
pub mod explorer;
pub mod gossip;
pub mod http;
pub mod isolation;
pub mod metrics;
pub mod miner;
pub mod node;
pub mod offences;
pub mod process_metrics;
pub mod progress_log;
pub mod rpc_batch;
pub mod rpc_limits;
pub mod rpc_server;
pub mod runtime;
pub mod shared;
pub mod sig_batcher;
pub mod state_sync;

pub use config::Config;
pub use ledger_driver::{mempool, validation};
pub use ledger_driver::{AdmitError, Mempool};
pub use node::{start, NodeError, NodeHandle};
