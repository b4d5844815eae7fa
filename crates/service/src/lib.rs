//! ledger-service: everything a running node does between the network, consensus,
//! storage, the engine and the RPC: configuration, the mempool, the consensus driver,
//! the block executor, the JSON-RPC server, the explorer page, health and metrics.

pub mod config;
pub mod driver;
pub mod gossip;
pub mod http;
pub mod isolation;
pub mod mempool;
pub mod metrics;
pub mod miner;
pub mod node;
pub mod progress_log;
pub mod rpc_server;
pub mod shared;
pub mod validation;

pub use config::Config;
pub use mempool::{AdmitError, Mempool};
pub use node::{start, NodeError, NodeHandle};
