//! State sync, in one process over loopback libp2p: four Streamlet validators build a
//! chain with trades and resting orders; a new node joins from a snapshot (attested by
//! a validator quorum, chunks checked), block-syncs the rest and serves the same book,
//! balances and state root. A peer that serves tampered chunks is refused and named.
//!
//! The 5,000-block figure and the comparison with a join by full replay come from
//! `LEDGER_STATE_SYNC_BLOCKS=5000 cargo test --release -p ledger-service --test
//! state_sync -- --nocapture` (see the README); CI runs the default (30 blocks).

mod common;

use common::*;
use ledger_network::{
    IdentitySeed, Network, NetworkConfig, PeerId, SnapshotRequest, SnapshotResponse,
};
use ledger_rpc::{BlockSelector, LedgerApiClient, MarketRef, Wallet};
use ledger_storage::snapshot::decode_manifest;
use ledger_storage::{ChainStore, StoreOptions};
use ledger_types::{Decimal, Keypair, Side, TxHash};
use std::time::{Duration, Instant};

fn validators(n: usize) -> Vec<Keypair> {
    (0..n)
        .map(|i| Keypair::for_testing(&format!("ss-validator-{i}")))
        .collect()
}

/// Crossing and resting orders from four accounts through two nodes.
async fn trade(net: &Net) -> Vec<TxHash> {
    let mut hashes = Vec::new();
    for k in 0..4usize {
        let client = net.client(k % 2).await;
        let mut wallet = Wallet::from_node(&client, account(k)).await.unwrap();
        let m = wallet.market_id("BTC/USD").unwrap();
        for j in 0..6i64 {
            let (side, price) = if k % 2 == 0 {
                (Side::Sell, Decimal::new(10_000 + j * 10, 2))
            } else {
                (Side::Buy, Decimal::new(10_020 - j * 10, 2))
            };
            let tx = wallet.place_limit(m, side, price, Decimal::new(3, 1));
            hashes.push(client.submit_order(tx.into()).await.unwrap().tx_hash);
        }
    }
    hashes
}

/// A peer id below every one in `others` (so a joiner, which walks its sources in
/// peer-id order, asks it first).
fn seed_sorting_first(others: &[PeerId]) -> [u8; 32] {
    for i in 0u32.. {
        let mut seed = [7u8; 32];
        seed[..4].copy_from_slice(&i.to_be_bytes());
        let id = IdentitySeed(seed).peer_id().unwrap();
        if others.iter().all(|o| id < *o) {
            return seed;
        }
    }
    unreachable!()
}

/// A peer that relays the honest validators' newest snapshot manifest but flips a
/// byte in every chunk it serves.
async fn tampering_peer(
    chain_id: &str,
    seed: [u8; 32],
    boot: Vec<String>,
    honest: Vec<PeerId>,
) -> ledger_network::NetworkHandle {
    let mut cfg = NetworkConfig::local(chain_id, seed);
    cfg.bootnodes = boot.iter().map(|a| a.parse().unwrap()).collect();
    let (net, mut events) = Network::start(cfg).await.unwrap();
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let mut requests = net.take_snapshot_requests().unwrap();
    let relay = net.clone();
    tokio::spawn(async move {
        while let Some(req) = requests.recv().await {
            let peers = honest.clone();
            let mut answer = SnapshotResponse::Unavailable("no".into());
            match req.request {
                SnapshotRequest::Manifest => {
                    let mut best: Option<(u64, Vec<u8>)> = None;
                    for p in peers {
                        if let Ok(SnapshotResponse::Data(b)) =
                            relay.request_snapshot(p, SnapshotRequest::Manifest).await
                        {
                            let h = decode_manifest(&b).unwrap().height;
                            if best.as_ref().is_none_or(|(bh, _)| h > *bh) {
                                best = Some((h, b));
                            }
                        }
                    }
                    if let Some((_, b)) = best {
                        answer = SnapshotResponse::Data(b);
                    }
                }
                r @ SnapshotRequest::Chunk { .. } => {
                    for p in peers {
                        if let Ok(SnapshotResponse::Data(mut b)) =
                            relay.request_snapshot(p, r).await
                        {
                            let last = b.len() - 1;
                            b[last] ^= 0x01;
                            answer = SnapshotResponse::Data(b);
                            break;
                        }
                    }
                }
                SnapshotRequest::Attestation { .. } => {}
            }
            let _ = req.respond(answer);
        }
    });
    net
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_joins_from_an_attested_snapshot_and_tampered_chunks_are_refused() {
    let blocks: u64 = std::env::var("LEDGER_STATE_SYNC_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    // Long chains (the documented 5,000-block run) use short epochs.
    let delta = if blocks > 500 { 25 } else { 100 };
    let keys = validators(4);
    let genesis = genesis(&keys, streamlet(delta));
    let mut net = Net::new(&genesis);
    net.start_validators(&keys).await;
    let c0 = net.client(0).await;
    let txs = trade(&net).await;
    let started = Instant::now();
    wait_until(
        "the chain to grow",
        Duration::from_secs(60 + blocks / 2),
        || async { final_height(&c0).await >= blocks && all_final(&c0, &txs).await },
    )
    .await;
    eprintln!(
        "chain of {} blocks built in {:?}",
        final_height(&c0).await,
        started.elapsed()
    );
    let validator_addrs: Vec<String> = (0..4).map(|i| net.p2p(i)).collect();
    let validator_ids: Vec<PeerId> = (0..4)
        .map(|i| net.nodes[i].as_ref().unwrap().peer_id.parse().unwrap())
        .collect();

    // 1. Through a network that also reaches a tampering peer: its chunks are refused,
    // and the peer is named; the snapshot comes from the honest validators.
    let bad_seed = seed_sorting_first(&validator_ids);
    let bad = tampering_peer(
        &genesis.chain_id,
        bad_seed,
        validator_addrs.clone(),
        validator_ids.clone(),
    )
    .await;
    let bad_addr = bad.listen_addrs()[0].to_string();
    let bad_id = bad.local_peer_id();
    let mut cfg = NetworkConfig::local(&genesis.chain_id, [42u8; 32]);
    cfg.bootnodes = std::iter::once(&bad_addr)
        .chain(&validator_addrs)
        .map(|a| a.parse().unwrap())
        .collect();
    let (joiner, mut events) = Network::start(cfg).await.unwrap();
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    wait_until(
        "the joiner to see every peer",
        Duration::from_secs(20),
        || async { joiner.peer_count() >= 5 && bad.peer_count() >= 5 },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let store = ChainStore::open(dir.path().join("data"), StoreOptions::default()).unwrap();
    let report =
        ledger_service::state_sync::join(&joiner, &genesis, &store, Duration::from_secs(60))
            .await
            .expect("join from a snapshot");
    eprintln!("state sync: {report:?}");
    assert!(report.height >= blocks, "{report:?}");
    assert!(report.attestations >= 3, "{report:?}");
    assert!(
        report
            .refused
            .iter()
            .any(|(p, why)| *p == bad_id && why.contains("does not match")),
        "the tampering peer was not refused: {report:?}"
    );
    let root = c0
        .get_block(BlockSelector::Height(report.height), None)
        .await
        .unwrap()
        .state_root;
    assert_eq!(root, Some(report.state_root));
    joiner.shutdown().await;
    bad.shutdown().await;
    drop(store);

    // 2. A node started with [state_sync] enabled joins, block-syncs the rest and serves
    // the same book, balances and roots as the validators.
    let newcomer = Keypair::for_testing("ss-newcomer");
    let mut c = net.config(4, &newcomer, validator_addrs.clone(), false);
    c.state_sync.enabled = true;
    let t = Instant::now();
    let i = net.start(c).await;
    let joined_in = t.elapsed();
    let cn = net.client(i).await;
    let target = final_height(&c0).await;
    wait_until(
        "the newcomer to catch up",
        Duration::from_secs(60),
        || async { final_height(&cn).await >= target },
    )
    .await;
    eprintln!(
        "state sync join: node started in {joined_in:?}, at final height {target} after {:?}",
        t.elapsed()
    );
    let h = final_height(&cn).await.min(final_height(&c0).await);
    for sel in [
        BlockSelector::Height(h),
        BlockSelector::Height(report.height + 1),
    ] {
        let a = c0.get_block(sel, None).await.unwrap();
        let b = cn.get_block(sel, None).await.unwrap();
        assert_eq!((a.hash, a.state_root), (b.hash, b.state_root));
    }
    // Same book and balances once both are at one height.
    wait_until(
        "equal books and balances",
        Duration::from_secs(30),
        || async {
            let m = MarketRef::Symbol("BTC/USD".into());
            let (b0, bn) = (
                c0.get_order_book(m.clone(), Some(50)).await.unwrap(),
                cn.get_order_book(m, Some(50)).await.unwrap(),
            );
            let mut same = b0.bids == bn.bids && b0.asks == bn.asks && !b0.bids.is_empty();
            for k in 0..4 {
                let a = account(k).public();
                same &= c0.get_account(a).await.unwrap().balances
                    == cn.get_account(a).await.unwrap().balances;
            }
            same
        },
    )
    .await;
    // History below the snapshot is not there; the chain above it is.
    assert!(cn
        .get_block(
            BlockSelector::Height(report.height.saturating_sub(5).max(1)),
            None
        )
        .await
        .is_err());
    let by_state_sync = t.elapsed();

    // 3. The same join by full replay (block sync and execution from genesis), timed.
    let replayer = Keypair::for_testing("ss-replayer");
    let c = net.config(5, &replayer, validator_addrs, false);
    let target = final_height(&c0).await;
    let t = Instant::now();
    let j = net.start(c).await;
    let cr = net.client(j).await;
    wait_until(
        "the replaying node to catch up",
        Duration::from_secs(120 + blocks / 5),
        || async { final_height(&cr).await >= target },
    )
    .await;
    let by_replay = t.elapsed();
    let a = c0
        .get_block(BlockSelector::Height(target), None)
        .await
        .unwrap();
    let b = cr
        .get_block(BlockSelector::Height(target), None)
        .await
        .unwrap();
    assert_eq!(a.state_root, b.state_root);
    eprintln!(
        "JOIN chain_height={target} snapshot_height={} state_sync_ms={} full_replay_ms={}",
        report.height,
        by_state_sync.as_millis(),
        by_replay.as_millis()
    );
    net.shutdown().await;
}
