//! The RPC additions the explorer builds on, against a real 4-validator testnet (no
//! browser needed): finality certificates, validators' last proposal and vote, Streamlet
//! block times, and why an order closed.

use ledger_e2e::*;
use ledger_rpc::{
    BlockSelector, CertificateView, CloseReason, ConsensusView, LedgerApiClient, OrderStatus,
    OrderStatusFilter, Wallet,
};
use ledger_types::{Decimal, Keypair, Side};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_validator_activity_block_times_and_close_reasons() {
    let mut net = Testnet::create(&["--validators", "4", "--delta-ms", "100"]);
    net.start_all();
    let c = net.client(0).await;
    wait_until("final blocks", Duration::from_secs(60), || async {
        final_height(&c).await >= 8
    })
    .await;

    // The certificate of a final block: a quorum of distinct genesis validators.
    let validators = c.get_validators().await.unwrap();
    assert_eq!(validators.len(), 4);
    let status = c.chain_status().await.unwrap();
    let h = status.final_height;
    let block = c.get_block(BlockSelector::Height(h), None).await.unwrap();
    let cert = c
        .get_block_certificate(BlockSelector::Height(h))
        .await
        .unwrap();
    let CertificateView::Streamlet {
        height,
        block: hash,
        epoch,
        quorum,
        validators: n,
        signers,
    } = &cert
    else {
        panic!("a Streamlet certificate: {cert:?}")
    };
    assert_eq!((*height, *hash), (h, block.hash));
    let ConsensusView::Streamlet {
        epoch: block_epoch,
        time_ms,
        ..
    } = block.consensus
    else {
        panic!("streamlet")
    };
    assert_eq!(*epoch, block_epoch);
    assert_eq!((*quorum, *n), (3, 4));
    assert!(signers.len() >= 3, "{signers:?}");
    assert!(signers.windows(2).all(|w| w[0].index < w[1].index));
    for s in signers {
        let v = &validators[s.index as usize];
        assert_eq!(s.public_key, Some(v.public_key));
        assert_eq!(s.name, v.name);
    }
    // The same by hash; a height beyond the tip is not found (-32001).
    let by_hash = c
        .get_block_certificate(BlockSelector::Hash(block.hash))
        .await
        .unwrap();
    assert_eq!(by_hash, cert);
    let err = c
        .get_block_certificate(BlockSelector::Height(h + 1_000_000))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("-32001") || err.to_string().contains("not found"),
        "{err}"
    );

    // Block times: the proposer's clock, non-decreasing with height, not in the future.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        time_ms <= now + 2_000 && time_ms + 600_000 > now,
        "{time_ms} vs {now}"
    );
    let mut last = 0;
    for x in 1..=h {
        let b = c.get_block(BlockSelector::Height(x), None).await.unwrap();
        let ConsensusView::Streamlet { time_ms, .. } = b.consensus else {
            panic!("streamlet")
        };
        assert!(time_ms >= last, "block {x} is older than its parent");
        last = time_ms;
    }

    // Every validator proposed and voted lately (four honest validators, round robin).
    let final_now = final_height(&c).await;
    for v in c.get_validators().await.unwrap() {
        let p = v.last_proposal.unwrap_or_else(|| panic!("{v:?}"));
        let vote = v.last_vote.unwrap_or_else(|| panic!("{v:?}"));
        assert!(p <= final_now && vote <= final_now, "{v:?}");
        assert!(vote + 20 >= final_now, "{v:?} has not voted for 20 blocks");
        assert!(v.last_proposal_time_ms.is_some());
    }

    // An order cancelled by its owner says so.
    let mut w = Wallet::from_node(&c, Keypair::for_testing("account-3"))
        .await
        .unwrap();
    let m = w.market_id("BTC/USD").unwrap();
    let place = w.place_limit(m, Side::Buy, Decimal::new(5_000, 2), Decimal::new(1, 1));
    let id = place.hash();
    c.submit_order(place.into()).await.unwrap();
    wait_until("the order", Duration::from_secs(30), || async {
        c.get_order(id).await.is_ok()
    })
    .await;
    let cancel = w.cancel(id);
    let cancel_hash = [c.cancel_order(cancel.into()).await.unwrap().tx_hash];
    wait_until("the cancel", Duration::from_secs(30), || {
        all_final(&c, &cancel_hash)
    })
    .await;
    let o = c.get_order(id).await.unwrap();
    assert_eq!(o.status, OrderStatus::Cancelled);
    assert!(matches!(o.reason, Some(CloseReason::Cancelled(_))));
    assert_eq!(serde_json::to_value(o.reason).unwrap(), "user");
    let closed = c
        .get_orders(
            w.address(),
            None,
            Some(OrderStatusFilter::Closed),
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(closed.items[0].reason, o.reason);
    for i in 0..4 {
        assert!(net.stop(i), "node {i}:\n{}", net.log_tail(i));
    }
}
