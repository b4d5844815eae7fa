//! Three nodes on loopback: gossip reaches every node after validation; a message the
//! middle node rejects is not forwarded and its sender's score drops.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use ledger_network::{PublishError, Topic, ValidationOutcome};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_is_validated_before_forwarding_and_rejects_penalise() {
    init_tracing();
    tokio::time::timeout(Duration::from_secs(120), run())
        .await
        .expect("test finished in time");
}

async fn run() {
    // B is the hub and rejects payloads starting with "bad". A and C may hold one peer
    // each, so the topology is A - B - C and anything C gets from A went through B.
    let reject_bad: Policy = Arc::new(|m| {
        if m.data.starts_with(b"bad") {
            ValidationOutcome::Reject
        } else {
            ValidationOutcome::Accept
        }
    });
    let chain = Arc::new(Vec::new());
    let mut b = start(config(2, vec![]), reject_bad, chain.clone()).await;
    let b_addr = addr(&b.handle);

    let mut cfg_a = config(1, vec![b_addr.clone()]);
    cfg_a.max_peers = 1;
    let mut a = start(cfg_a, accept_all(), chain.clone()).await;
    let mut cfg_c = config(3, vec![b_addr]);
    cfg_c.max_peers = 1;
    let mut c = start(cfg_c, accept_all(), chain).await;

    let (a_id, b_id, c_id) = (
        a.handle.local_peer_id(),
        b.handle.local_peer_id(),
        c.handle.local_peer_id(),
    );
    wait_until("B connected to A and C", || async {
        b.handle.peer_count() == 2 && a.handle.peer_count() == 1 && c.handle.peer_count() == 1
    })
    .await;
    assert_eq!(a.handle.peers()[0].peer_id, b_id);
    assert_eq!(c.handle.peers()[0].peer_id, b_id);

    // Warm up until subscriptions are known and B's mesh includes C: A publishes probes
    // until one arrives at C.
    let mut i = 0u32;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "no probe reached C");
        i += 1;
        let _ = a
            .handle
            .publish(Topic::Transactions, format!("probe-{i}").into_bytes())
            .await;
        if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(300), c.gossip.recv()).await
        {
            assert!(m.data.starts_with(b"probe-"));
            break;
        }
    }

    // A valid message from A reaches B and, after B accepts it, C.
    let good = b"good transaction".to_vec();
    let id = a
        .handle
        .publish(Topic::Transactions, good.clone())
        .await
        .expect("publish");
    let at_b = recv_data(&mut b.gossip, &good, WAIT)
        .await
        .expect("B got it");
    assert_eq!(at_b.message_id, id);
    assert_eq!(at_b.topic, Topic::Transactions);
    assert_eq!(at_b.propagation_source, a_id);
    assert_eq!(at_b.source, Some(a_id));
    let at_c = recv_data(&mut c.gossip, &good, WAIT)
        .await
        .expect("C got it");
    assert_eq!(at_c.propagation_source, b_id);
    assert_eq!(at_c.source, Some(a_id));
    assert_eq!(at_c.message_id, id);

    // Publishing the same bytes again is a duplicate (message id = hash of the data).
    assert_eq!(
        a.handle.publish(Topic::Transactions, good.clone()).await,
        Err(PublishError::Duplicate)
    );

    // Other topics and directions work too: C -> B -> A on the blocks topic.
    let block = b"a block".to_vec();
    c.handle
        .publish(Topic::Blocks, block.clone())
        .await
        .expect("publish block");
    let at_a = recv_data(&mut a.gossip, &block, WAIT)
        .await
        .expect("A got the block");
    assert_eq!(at_a.topic, Topic::Blocks);
    assert_eq!(at_a.source, Some(c_id));

    // An invalid message: B receives it, rejects it, and does not forward it to C.
    let score_before = b
        .handle
        .peer_score(a_id)
        .await
        .unwrap()
        .expect("A is scored");
    let bad = b"bad transaction".to_vec();
    a.handle
        .publish(Topic::Transactions, bad.clone())
        .await
        .expect("publish bad");
    recv_data(&mut b.gossip, &bad, WAIT)
        .await
        .expect("B got the bad message");
    assert!(
        recv_data(&mut c.gossip, &bad, Duration::from_secs(3))
            .await
            .is_none(),
        "a rejected message must not be forwarded"
    );
    let score_after = b.handle.peer_score(a_id).await.unwrap().expect("scored");
    println!("score of A at B: before {score_before:.2}, after reject {score_after:.2}");
    assert!(
        score_after <= score_before - 15.0 && score_after < 0.0,
        "score must drop: before {score_before}, after {score_after}"
    );
    // C, which behaved, keeps a non-negative score.
    let c_score = b.handle.peer_score(c_id).await.unwrap().expect("scored");
    assert!(c_score >= 0.0, "C score {c_score}");

    // An oversized payload is refused locally.
    let max = a.handle.max_message_bytes();
    assert!(matches!(
        a.handle.publish(Topic::Consensus, vec![0; max + 1]).await,
        Err(PublishError::TooLarge { .. })
    ));

    for n in [&a, &b, &c] {
        n.handle.shutdown().await;
    }
    assert!(a.handle.publish(Topic::Blocks, b"x".to_vec()).await == Err(PublishError::Stopped));
}
