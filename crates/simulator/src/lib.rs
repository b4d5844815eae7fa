//! ledger-simulator: a deterministic discrete-event simulator for consensus protocols.
//!
//! - [`core`]: virtual time, the event queue, the [`Node`] abstraction, message
//!   accounting (counts and bits) and the trace hash. Generic over the protocol's
//!   message and observation types, so other protocols (the lab's Dolev-Strong,
//!   randomized agreement, ...) run on the same engine.
//! - [`network`]: synchronous, asynchronous, partially synchronous, lossy,
//!   partitioned and rushing network models.
//! - [`adversary`]: one Byzantine behaviour per module.
//! - [`checkers`]: safety, liveness, common prefix and chain quality, written against
//!   observations only.
//! - [`streamlet`] and [`nakamoto`]: the consensus crate's state machines as simulated
//!   nodes, and scenario runners that wire nodes, networks, adversaries and checkers.
//!
//! Every run is reproducible from its seed; `trace_hash` proves it.

pub mod adversary;
pub mod checkers;
pub mod core;
pub mod nakamoto;
pub mod network;
pub mod streamlet;

pub use crate::core::{
    Action, Context, Node, NodeId, SimMessage, SimObservation, Simulation, Stats, Time,
};
