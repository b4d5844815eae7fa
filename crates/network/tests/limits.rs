//! Connection limits: a node with `max_peers = 1` refuses a second peer, inbound and
//! outbound.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_peers_refuses_a_second_peer() {
    init_tracing();
    tokio::time::timeout(Duration::from_secs(90), run())
        .await
        .expect("test finished in time");
}

async fn run() {
    let chain = Arc::new(Vec::new());
    let mut cfg_x = config(10, vec![]);
    cfg_x.max_peers = 1;
    let x = start(cfg_x, accept_all(), chain.clone()).await;
    let x_addr = addr(&x.handle);

    let a = start(
        config(11, vec![x_addr.clone()]),
        accept_all(),
        chain.clone(),
    )
    .await;
    wait_until("A connected to X", || async {
        x.handle.peer_count() == 1 && a.handle.peer_count() == 1
    })
    .await;

    // B lists X as its bootnode and keeps re-dialling it (every second): always refused.
    let b = start(config(12, vec![x_addr]), accept_all(), chain.clone()).await;
    // C is a free node X itself tries to dial: refused on X's side too.
    let c = start(config(13, vec![]), accept_all(), chain).await;
    let err = x.handle.dial(addr(&c.handle)).await.unwrap_err();
    assert!(err.to_string().contains("peer limit of 1 reached"), "{err}");

    tokio::time::sleep(Duration::from_secs(4)).await;
    let x_peers: Vec<_> = x.handle.peers().into_iter().map(|p| p.peer_id).collect();
    assert_eq!(x_peers, vec![a.handle.local_peer_id()], "X keeps only A");
    // B re-dials every second; X closes each attempt, so B may see a connection for a
    // moment, but never keeps one.
    wait_until("B refused (no lasting connection)", || async {
        b.handle.peer_count() == 0
    })
    .await;
    assert_eq!(c.handle.peer_count(), 0, "X did not connect to C");

    // When A leaves, the slot frees up and B's next re-dial gets in.
    c.handle.shutdown().await;
    a.handle.shutdown().await;
    wait_until("B takes A's place", || async {
        x.handle.peers().first().map(|p| p.peer_id) == Some(b.handle.local_peer_id())
    })
    .await;
    assert_eq!(x.handle.peer_count(), 1);

    for n in [&x, &b] {
        n.handle.shutdown().await;
    }
}
