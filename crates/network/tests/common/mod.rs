//! Shared helpers for the integration tests: start nodes on 127.0.0.1 port 0 and drive
//! them with a tiny test driver.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ledger_network::{
    GossipMessage, Multiaddr, Network, NetworkConfig, NetworkEvent, NetworkHandle, SyncResponse,
    ValidationOutcome,
};
use tokio::sync::mpsc;

/// Chain id used by every test node.
pub const CHAIN: &str = "test-chain";

/// Upper bound on any single wait in the tests.
pub const WAIT: Duration = Duration::from_secs(30);

/// Decides what the test driver reports for a gossip message.
pub type Policy = Arc<dyn Fn(&GossipMessage) -> ValidationOutcome + Send + Sync>;

/// A started node and what its driver saw.
pub struct Node {
    pub handle: NetworkHandle,
    /// Every gossip message the driver received (after it reported its verdict).
    pub gossip: mpsc::UnboundedReceiver<GossipMessage>,
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// A config for node `i` (distinct deterministic seed) with the given bootnodes.
pub fn config(i: u8, bootnodes: Vec<Multiaddr>) -> NetworkConfig {
    let mut cfg = NetworkConfig::local(CHAIN, [i; 32]);
    cfg.bootnodes = bootnodes;
    cfg.discovery_interval_secs = 1;
    cfg
}

pub fn accept_all() -> Policy {
    Arc::new(|_| ValidationOutcome::Accept)
}

/// Starts a node with a driver that validates gossip with `policy` and serves sync
/// requests from `chain` (item for height h is `chain[h - 1]`).
pub async fn start(cfg: NetworkConfig, policy: Policy, chain: Arc<Vec<Vec<u8>>>) -> Node {
    let (handle, mut events) = Network::start(cfg).await.expect("network starts");
    let (tx, rx) = mpsc::unbounded_channel();
    let h = handle.clone();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                NetworkEvent::Message(m) => {
                    let outcome = policy(&m);
                    let _ = h.report_validation(m.message_id, m.propagation_source, outcome);
                    let _ = tx.send(m);
                }
                NetworkEvent::SyncRequest {
                    request, responder, ..
                } => {
                    let from = request.from_height.max(1);
                    let to = request.to_height.min(chain.len() as u64);
                    let items = if from <= to {
                        chain[(from - 1) as usize..to as usize].to_vec()
                    } else {
                        Vec::new()
                    };
                    let _ = responder.respond(SyncResponse {
                        final_height: chain.len() as u64,
                        time_ms: 0,
                        items,
                    });
                }
                _ => {}
            }
        }
    });
    Node { handle, gossip: rx }
}

/// The node's first listen address (`/ip4/127.0.0.1/tcp/PORT/p2p/ID`).
pub fn addr(handle: &NetworkHandle) -> Multiaddr {
    handle.listen_addrs()[0].clone()
}

/// Polls `cond` every 50 ms until it holds; panics after [`WAIT`].
pub async fn wait_until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Receives the next gossip message with `data`, skipping others; `None` after `within`.
pub async fn recv_data(
    rx: &mut mpsc::UnboundedReceiver<GossipMessage>,
    data: &[u8],
    within: Duration,
) -> Option<GossipMessage> {
    tokio::time::timeout(within, async {
        while let Some(m) = rx.recv().await {
            if m.data == data {
                return Some(m);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
}
