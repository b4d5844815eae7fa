//! The hook through which the node checks the transactions of a block before the
//! state machine votes for it (Streamlet) or adopts it (Nakamoto).
//!
//! Design choice: validation is a synchronous, pure function called by the state
//! machine, not a request/answer round trip. Block validity in this ledger is stateless
//! (each transaction is well formed, signed, on this chain, within the genesis limits);
//! whether a transaction *executes* is decided by the engine on final blocks only, and
//! a failing transaction is recorded as rejected rather than invalidating the block. A
//! stateless check is deterministic, so every honest node reaches the same verdict,
//! and no "pending validation" state is needed.

use ledger_types::Block;

/// Checks a block's transactions (everything consensus itself does not check).
pub trait PayloadValidator {
    /// `Ok` if the block's payload is acceptable, else a human-readable reason.
    fn validate(&self, block: &Block) -> Result<(), String>;
}

/// Accepts every payload: for the simulator (whose blocks carry no transactions) and
/// tests. The node plugs in its own validator (signatures, chain id, limits).
#[derive(Clone, Copy, Debug, Default)]
pub struct AcceptAllPayloads;

impl PayloadValidator for AcceptAllPayloads {
    fn validate(&self, _block: &Block) -> Result<(), String> {
        Ok(())
    }
}

/// How the state machine classified a message that it did not reject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Valid and seen for the first time: gossip should relay it (the paper's echo).
    New,
    /// Seen before: nothing changed; do not relay.
    Duplicate,
    /// Valid but too old to matter (at or below the final tip): ignored, do not relay.
    Stale,
}
