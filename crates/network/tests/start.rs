//! Start-up errors are clear and name what is wrong.

mod common;

use common::*;
use ledger_network::{Network, NetworkError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configs_and_busy_ports_are_errors() {
    init_tracing();
    let mut cfg = config(50, vec![]);
    cfg.max_response_bytes = cfg.max_message_bytes;
    match Network::start(cfg).await {
        Err(NetworkError::Config { field, .. }) => assert_eq!(field, "max_response_bytes"),
        other => panic!("expected a config error, got {:?}", other.map(|_| ())),
    }

    let mut cfg = config(51, vec![]);
    cfg.bootnodes = vec!["/ip4/127.0.0.1/tcp/1".parse().unwrap()];
    let err = Network::start(cfg).await.map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("bootnodes"), "{err}");

    // A port already taken by another node.
    let (first, _events) = Network::start(config(52, vec![])).await.unwrap();
    let first_addr = first.listen_addrs()[0].clone();
    let mut busy = first_addr.clone();
    busy.pop(); // drop /p2p/<id>
    let mut cfg = config(53, vec![]);
    cfg.listen_addrs = vec![busy.clone()];
    match Network::start(cfg).await {
        Err(NetworkError::Listen { addr, reason }) => {
            assert_eq!(addr, busy);
            println!("busy port: {reason}");
        }
        other => panic!("expected a listen error, got {:?}", other.map(|_| ())),
    }
    first.shutdown().await;
    assert!(first.listen_addrs().is_empty());
    assert_eq!(first.peer_count(), 0);

    // After shutdown the port is free again: the same node restarts on the same address.
    let mut cfg = config(52, vec![]);
    cfg.listen_addrs = vec![busy];
    let (again, _events) = Network::start(cfg).await.expect("restart on the same port");
    assert_eq!(again.listen_addrs(), vec![first_addr]);
    again.shutdown().await;
}
