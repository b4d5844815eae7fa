//! ledger-consensus: Streamlet and Nakamoto as deterministic, sans-IO state machines.
//!
//! Both protocols are written as `handle(input) -> step` machines behind one interface
//! ([`machine::Protocol`]: one [`Input`] vocabulary, one [`Effect`] vocabulary, the relay
//! verdict in the [`Step`]), with no clock,
//! socket, disk or randomness inside: time arrives as an input (`now_ms`, timer
//! expiries), effects leave as outputs (broadcast, set a timer, persist, build a block,
//! finalized blocks). The node drives them with tokio and libp2p; the simulator
//! (`ledger-simulator`) drives the very same code with virtual time and hostile
//! networks. State lives in `BTreeMap`s and `Vec`s only, so a run is a pure function of
//! its inputs.
//!
//! - [`streamlet`]: permissioned BFT (Chan and Shi 2020), finality from three
//!   consecutive notarized epochs; notarization certificates for block sync.
//! - [`nakamoto`]: proof of work (Garay–Kiayias–Leonardos backbone), most-work fork
//!   choice, retargeting, finality at depth k, reorg outputs for the mempool.
//! - [`crypto`]: the pluggable signature scheme (ed25519 for the node, a cheap
//!   simulated scheme for the simulator).
//! - [`payload`]: the transaction-validation hook and the [`Delivery`] verdict that
//!   tells gossip whether to relay a message.
//! - [`u256`]: 256-bit arithmetic for targets and chain work.

pub mod crypto;
pub mod machine;
pub mod nakamoto;
pub mod payload;
pub mod streamlet;
pub mod u256;

pub use crypto::{Ed25519Verifier, Signer, SimSignatures, SimSigner, Verifier};
pub use machine::{Channel, ConsensusError, ConsensusMessage, Effect, Input, Protocol, Step, Tip};
pub use payload::{AcceptAllPayloads, Delivery, PayloadValidator};
pub use streamlet::ConfigError;
pub use u256::U256;
