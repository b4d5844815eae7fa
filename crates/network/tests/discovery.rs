//! Kademlia discovery through a bootnode, and mDNS switched on.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_of_a_bootnode_find_each_other_through_kademlia() {
    init_tracing();
    tokio::time::timeout(Duration::from_secs(60), kademlia())
        .await
        .expect("test finished in time");
}

async fn kademlia() {
    let chain = Arc::new(Vec::new());
    let boot = start(config(30, vec![]), accept_all(), chain.clone()).await;
    let boot_addr = addr(&boot.handle);
    let a = start(
        config(31, vec![boot_addr.clone()]),
        accept_all(),
        chain.clone(),
    )
    .await;
    let c = start(config(32, vec![boot_addr]), accept_all(), chain).await;
    let (a_id, c_id) = (a.handle.local_peer_id(), c.handle.local_peer_id());
    // A and C only know the bootnode; they must end up connected to each other.
    wait_until("A and C discover each other", || async {
        a.handle.peers().iter().any(|p| p.peer_id == c_id)
            && c.handle.peers().iter().any(|p| p.peer_id == a_id)
    })
    .await;
    for n in [&a, &c, &boot] {
        n.handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_mdns_enabled_starts_and_stops() {
    init_tracing();
    let mut cfg = config(33, vec![]);
    cfg.enable_mdns = true;
    let node = tokio::time::timeout(
        Duration::from_secs(20),
        start(cfg, accept_all(), Arc::new(Vec::new())),
    )
    .await
    .expect("started in time");
    assert_eq!(node.handle.listen_addrs().len(), 1);
    node.handle.shutdown().await;
}

/// A node whose listen port is held by another socket on another local address (here a
/// listener on 127.0.0.2; in the flood test, an attacker's client socket bound to
/// 127.0.0.6) still reaches its bootnode. libp2p's default dial binds the dial socket to
/// 0.0.0.0:<listen port>, which fails with "address in use" on every retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_reaches_its_bootnode_while_its_listen_port_is_taken_on_another_address() {
    init_tracing();
    let chain = Arc::new(Vec::new());
    let boot = start(config(34, vec![]), accept_all(), chain.clone()).await;
    let squatter = std::net::TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    let port = squatter.local_addr().unwrap().port();
    let mut cfg = config(35, vec![addr(&boot.handle)]);
    cfg.listen_addrs = vec![format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap()];
    let node = start(cfg, accept_all(), chain).await;
    let boot_id = boot.handle.local_peer_id();
    wait_until("the node connects to its bootnode", || async {
        node.handle.peers().iter().any(|p| p.peer_id == boot_id)
    })
    .await;
    drop(squatter);
    for n in [&node, &boot] {
        n.handle.shutdown().await;
    }
}
