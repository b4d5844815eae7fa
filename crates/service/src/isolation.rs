//! A node that can make no progress at all: it only follows the chain (not a
//! validator) and no peer is connected. The node logs it at start (and again while it
//! lasts), and `GET /health/ready` answers 503 with the same reason.

use crate::shared::Shared;

/// True if the node only follows the chain: Streamlet, and it is not a validator (its
/// key is not in the genesis validator set, or `participate = false`). Nakamoto nodes
/// mine by themselves.
pub fn follows_only(shared: &Shared) -> bool {
    shared.validator.is_none()
        && matches!(
            shared.genesis.consensus,
            ledger_types::ConsensusParams::Streamlet(_)
        )
}

/// Why a node that only follows and has no peer can make no progress (for the log and
/// `/health/ready`). `has_peer_sources`: whether bootnodes or mDNS are configured, if
/// known.
pub fn alone_reason(shared: &Shared, has_peer_sources: Option<bool>) -> String {
    format!(
        "not a validator and no peers: this node's key is not one of the genesis's {} validator(s) \
         (or [consensus] participate = false), so it only follows the chain, and {}; it stays at final height {}. \
         Run a one-validator chain with `ledger-node dev`, or connect it to a running network",
        shared.genesis.validators.len(),
        match has_peer_sources {
            Some(true) => "no peer has connected yet",
            Some(false) => "it has no peers to follow ([network] bootnodes is empty, mdns is off)",
            None => "no peer is connected",
        },
        shared.progress.read().final_tip.0
    )
}

/// `Some(reason)` when the node follows only and no peer is connected.
pub fn alone(shared: &Shared) -> Option<String> {
    (follows_only(shared) && shared.peers.read().is_empty()).then(|| alone_reason(shared, None))
}
