//! ledger-node-sim: whole nodes under the deterministic simulator.
//!
//! Every simulated node is the node's own [`ledger_driver::Driver`] with its mempool, an
//! executor over the in-memory twin of the store, and the same restore path the node
//! runs after a crash; only the transport (simulated links), the clock (virtual time)
//! and the store backend ([`ledger_storage::MemStore`]) differ. Runs put them through
//! partial synchrony with partitions that heal, Byzantine adversaries, crash-restarts at
//! chosen points (between a persist and its send, in the middle of an execute, ...),
//! late joiners that catch up by block sync, and a wallet submitting signed orders, then
//! check the whole history ([`scenario`] lists the checks and their bounds). One seed
//! reproduces a run exactly; the trace hash proves it.
//!
//! ```
//! use ledger_node_sim::{run, Adversary, ProtocolKind, Scenario};
//! let outcome = run(&Scenario::new(ProtocolKind::Streamlet, 4, Adversary::None, 7));
//! assert!(outcome.ok(), "{:?}", outcome.violations);
//! assert_eq!(outcome.trace_hash, run(&Scenario::new(ProtocolKind::Streamlet, 4, Adversary::None, 7)).trace_hash);
//! ```

#![warn(missing_docs)]

pub mod byzantine;
pub mod client;
pub mod node;
pub mod scenario;
pub mod wire;

pub use node::{CrashPlan, CrashPoint, NodeSetup, SimNode};
pub use scenario::{run, run_traced, Adversary, Outcome, ProtocolKind, Scenario, Violation};
pub use wire::{NodeObs, Wire};
