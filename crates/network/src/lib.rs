//! ledger-network: the node's libp2p layer.
//!
//! One swarm over TCP + noise + yamux with the standard protocols any libp2p peer speaks
//! (identify `/ipfs/id/1.0.0`, ping `/ipfs/ping/1.0.0`, Kademlia `/ipfs/kad/1.0.0`,
//! gossipsub `/meshsub/1.2.0`, `/meshsub/1.1.0`, `/meshsub/1.0.0`), mDNS when enabled,
//! connection limits per peer and in total, and two ledger-specific parts:
//!
//! - **Gossip** on three topics scoped by chain id: `/ledger/<chain_id>/txs/1`,
//!   `/ledger/<chain_id>/consensus/1`, `/ledger/<chain_id>/blocks/1` ([`Topic`]).
//!   Payloads are opaque bytes (canonical `ledger-types` encodings), at most
//!   `max_message_bytes`. Messages are signed by their author; the message id is the
//!   SHA-256 of the payload, so duplicates are dropped before the driver sees them.
//!   Nothing is forwarded before the driver validates it: every
//!   [`NetworkEvent::Message`] must be answered with
//!   [`NetworkHandle::report_validation`] (`Accept` forwards, `Reject` drops and lowers
//!   the forwarding peer's gossipsub score, `Ignore` drops).
//! - **Block sync** over request-response `/ledger/<chain_id>/sync/1`: a
//!   [`SyncRequest`] names a height range (cut to `max_blocks_per_request`), a
//!   [`SyncResponse`] carries opaque encoded items, the responder's final height and
//!   its clock.
//!   Frames are a 4-byte big-endian length and the canonical bincode body, bounded on
//!   both sides; anything oversized or undecodable is an error, never a panic.
//!
//! The driver (the node service) starts the network, then loops over events:
//!
//! ```no_run
//! use ledger_network::{Network, NetworkConfig, NetworkEvent, SyncResponse, Topic, ValidationOutcome};
//!
//! # async fn run(seed: [u8; 32], my_final_height: u64, now_ms: u64) -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = NetworkConfig::local("ledger-dev", seed);
//! config.bootnodes = vec!["/ip4/127.0.0.1/tcp/29100/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN".parse()?];
//! let (net, mut events) = Network::start(config).await?;
//! println!("peer id {}, listening on {:?}", net.local_peer_id(), net.listen_addrs());
//!
//! net.publish(Topic::Transactions, b"encoded tx".to_vec()).await.ok();
//!
//! while let Some(event) = events.recv().await {
//!     match event {
//!         NetworkEvent::Message(m) => {
//!             let ok = !m.data.is_empty(); // decode and check per topic
//!             let outcome = if ok { ValidationOutcome::Accept } else { ValidationOutcome::Reject };
//!             net.report_validation(m.message_id, m.propagation_source, outcome)?;
//!         }
//!         NetworkEvent::SyncRequest { request, responder, .. } => {
//!             let items = Vec::new(); // encoded blocks request.from_height..=request.to_height
//!             responder.respond(SyncResponse { final_height: my_final_height, time_ms: now_ms, items })?;
//!         }
//!         NetworkEvent::PeerConnected(peer) => {
//!             // Behind? Fetch blocks from it.
//!             let resp = net.request_blocks(peer.peer_id, my_final_height + 1, my_final_height + 64).await;
//!             let _ = resp;
//!         }
//!         NetworkEvent::PeerDisconnected { .. } | NetworkEvent::NewListenAddr { .. } => {}
//!     }
//! }
//! net.shutdown().await;
//! # Ok(()) }
//! ```

mod behaviour;
pub mod config;
pub mod error;
mod network;
pub mod protocol;
mod refusals;
pub mod snapshot;

#[cfg(test)]
mod fuzz_tests;

pub use config::{peer_id_of_key, IdentitySeed, NetworkConfig};
pub use error::{NetworkError, PublishError, SyncError};
pub use network::{
    GossipMessage, Network, NetworkEvent, NetworkHandle, PeerInfo, SyncResponder, ValidationOutcome,
};
pub use protocol::{sync_protocol_name, MessageId, SyncRequest, SyncResponse, Topic};
pub use snapshot::{
    snapshot_protocol_name, InboundSnapshotRequest, SnapshotRequest, SnapshotResponse,
};

/// Re-exported libp2p types that appear in this crate's API.
pub use libp2p::{Multiaddr, PeerId};
