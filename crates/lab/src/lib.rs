//! ledger-lab: the protocol lab. Textbook protocols and experiments on the same
//! deterministic simulator (`ledger-simulator`) and consensus code (`ledger-consensus`)
//! that the node runs, with figures next to the theory (Elaine Shi, "Foundations of
//! Distributed Consensus and Blockchains").
//!
//! - [`dolev_strong`]: Dolev-Strong Byzantine broadcast with signature chains
//!   (ed25519 or simulated signatures), adversaries up to f = n - 1.
//! - [`randomized`]: Mostéfaoui-Moumen-Raynal asynchronous binary agreement with a
//!   common coin, f < n/3 Byzantine nodes, under an adversarial scheduler.
//! - [`flp`]: a deterministic asynchronous protocol kept undecided forever by the FLP
//!   scheduler, next to the randomized protocol deciding under the same scheduler.
//! - [`sched`]: the message schedulers of the asynchronous model (fair, adversarial).
//! - [`nakamoto`]: proof-of-work experiments (stale rate and chain growth against
//!   delay, common prefix by depth, double spending against Nakamoto's and Rosenfeld's
//!   formulas, selfish mining against Eyal and Sirer's).
//! - [`streamlet`]: Streamlet finality latency, throughput and messages per network
//!   model and adversary.
//! - [`complexity`]: rounds, messages and bits over sweeps of n and f next to the bounds.
//! - [`table`], [`svg`], [`report`]: data tables (CSV/JSON), inline SVG charts and the
//!   self-contained HTML report.
//!
//! Every run is a pure function of its parameters and seed.

#![deny(missing_docs)]

pub mod complexity;
pub mod dolev_strong;
pub mod error;
pub mod flp;
pub mod nakamoto;
pub mod randomized;
pub mod report;
pub mod sched;
pub mod sig;
pub mod streamlet;
pub mod svg;
pub mod table;

pub use error::{LabError, Result};
