//! Table-driven tests of each Nakamoto rule.

use super::*;
use ledger_types::{CancelAll, Payload, Signature, SignedTx, Tx};

fn params(retarget_interval: u64, k: u64) -> NakamotoParams {
    NakamotoParams {
        target_block_ms: 1000,
        retarget_interval,
        finality_depth: k,
        initial_difficulty: 2,
        max_retarget_factor: 4,
    }
}

fn config(retarget_interval: u64, k: u64) -> NakamotoConfig {
    let mut g = Genesis::for_testing(&[], &[]);
    g.consensus = ConsensusParams::Nakamoto(params(retarget_interval, k));
    NakamotoConfig::from_genesis(&g).unwrap()
}

fn miner() -> PublicKey {
    PublicKey([3; 32])
}

fn tx(nonce: u64) -> SignedTx {
    SignedTx::new(
        Tx {
            chain_id: "ledger-test".into(),
            sender: miner(),
            nonce,
            payload: Payload::CancelAll(CancelAll { market: None }),
            valid_until_height: None,
        },
        Signature([0; 64]),
    )
}

/// A valid block on `parent` (per `n`'s view) at `time_ms`.
fn child(n: &Nakamoto, parent: &Hash, time_ms: u64, txs: Vec<SignedTx>) -> Block {
    let t = n.template_for(parent).unwrap();
    let mut b = t.block(time_ms, miner(), txs);
    assert!(mine(&mut b, 1 << 20));
    b
}

fn header_mut(b: &mut Block) -> (&mut u64, &mut Hash, &mut u64) {
    match &mut b.header.consensus {
        ConsensusHeader::Nakamoto {
            time_ms,
            target,
            nonce,
            ..
        } => (time_ms, target, nonce),
        ConsensusHeader::Streamlet { .. } => unreachable!(),
    }
}

/// Re-mines after a header change so only the intended rule fails.
fn remine(b: &mut Block) {
    *header_mut(b).2 = 0;
    assert!(mine(b, 1 << 20));
}

fn extend(n: &mut Nakamoto, count: usize, start_ms: u64, step_ms: u64) -> (Vec<Hash>, Vec<Effect>) {
    let mut out = Vec::new();
    let mut hashes = Vec::new();
    for i in 0..count {
        let tip = n.tip();
        let b = child(n, &tip, start_ms + i as u64 * step_ms, vec![]);
        hashes.push(b.hash());
        n.on_block(b, u64::MAX / 2, &mut out).unwrap();
    }
    (hashes, out)
}

#[test]
fn difficulty_and_target_arithmetic() {
    assert_eq!(target_for_difficulty(1), U256::MAX);
    assert_eq!(target_for_difficulty(0), U256::MAX);
    assert_eq!(
        target_for_difficulty(2),
        U256([u64::MAX, u64::MAX, u64::MAX, u64::MAX >> 1])
    );
    let t = U256([0, 0, 0, 1 << 40]);
    // (old, actual, intervals, block_ms, factor) -> new
    let cases = [
        ((t, 10_000, 10, 1000, 4), t), // on time: unchanged
        ((t, 20_000, 10, 1000, 4), U256([0, 0, 0, 1 << 41])), // twice as slow: target x2
        ((t, 5_000, 10, 1000, 4), U256([0, 0, 0, 1 << 39])), // twice as fast: target /2
        ((t, 1_000_000, 10, 1000, 4), U256([0, 0, 0, 1 << 42])), // clamp x4
        ((t, 0, 10, 1000, 4), U256([0, 0, 0, 1 << 38])), // clamp /4
        ((U256::MAX, 40_000, 10, 1000, 4), U256::MAX), // saturates at the limit
        ((U256::ONE, 1, 10, 1000, 4), U256::ONE), // never zero
    ];
    for ((old, actual, intervals, ms, factor), want) in cases {
        assert_eq!(
            retarget(old, actual, intervals, ms, factor),
            want,
            "actual {actual}"
        );
    }
}

#[test]
fn proof_of_work_is_hash_at_most_target() {
    let t = MiningTemplate {
        parent: Hash::ZERO,
        height: 1,
        target: U256::MAX.to_hash(),
        min_time_ms: 0,
    };
    let b = t.block(5, miner(), vec![]);
    assert!(
        meets_target(&b.header),
        "everything meets the maximum target"
    );
    let mut hard = MiningTemplate {
        target: U256::ZERO.to_hash(),
        ..t
    }
    .block(5, miner(), vec![]);
    assert!(!meets_target(&hard.header));
    assert!(!mine(&mut hard, 100), "no hash is <= 0");
    let mut b = MiningTemplate {
        target: target_for_difficulty(64).to_hash(),
        ..t
    }
    .block(5, miner(), vec![]);
    assert!(mine(&mut b, 1 << 20));
    assert!(U256::from_hash(&b.hash()) <= target_for_difficulty(64));
    assert_eq!(
        t.block(0, miner(), vec![]).header,
        MiningTemplate {
            min_time_ms: 0,
            ..t
        }
        .block(0, miner(), vec![])
        .header
    );
    assert!(matches!(
        MiningTemplate {
            min_time_ms: 9,
            ..t
        }
        .block(5, miner(), vec![])
        .header
        .consensus,
        ConsensusHeader::Nakamoto { time_ms: 9, .. }
    ));
}

#[test]
fn invalid_blocks_are_rejected_with_typed_errors_and_change_nothing() {
    let cfg = config(1 << 30, 6);
    let g = cfg.genesis.hash();
    let base = Nakamoto::new(cfg.clone());
    let good = child(&base, &g, 1000, vec![]);
    let mut cases: Vec<(&str, Block, u64, NakamotoError)> = Vec::new();

    let mut b = good.clone();
    b.header.consensus = ConsensusHeader::Streamlet {
        epoch: 1,
        proposer: miner(),
        time_ms: 0,
    };
    cases.push((
        "streamlet header",
        b,
        2000,
        NakamotoError::NotNakamotoHeader,
    ));

    let mut b = good.clone();
    b.header.height = 0;
    cases.push(("height 0", b, 2000, NakamotoError::GenesisHeight));

    let mut b = good.clone();
    *header_mut(&mut b).1 = U256::ZERO.to_hash();
    let h = b.hash();
    cases.push((
        "hash above target",
        b,
        2000,
        NakamotoError::InsufficientWork { hash: h },
    ));

    let mut b = good.clone();
    b.txs.push(tx(1));
    remine(&mut b);
    cases.push(("tx root mismatch", b, 2000, NakamotoError::TxRootMismatch));

    let mut b = good.clone();
    b.header.height = 2;
    remine(&mut b);
    cases.push((
        "height skips",
        b,
        2000,
        NakamotoError::BadHeight {
            height: 2,
            parent_height: 0,
        },
    ));

    let mut b = good.clone();
    *header_mut(&mut b).1 = U256::MAX.to_hash();
    remine(&mut b);
    cases.push((
        "target not from the retarget rule",
        b,
        2000,
        NakamotoError::WrongTarget {
            expected: cfg.initial_target.to_hash(),
            got: U256::MAX.to_hash(),
        },
    ));

    let mut b = good.clone();
    *header_mut(&mut b).0 = 10_000_000;
    remine(&mut b);
    cases.push((
        "time far ahead of the clock",
        b,
        2000,
        NakamotoError::TimeTooFarAhead {
            time_ms: 10_000_000,
            now_ms: 2000,
        },
    ));

    let mut b = good.clone();
    b.header.height = 5_000_000;
    remine(&mut b);
    cases.push((
        "absurd height",
        b,
        2000,
        NakamotoError::HeightTooFarAhead {
            height: 5_000_000,
            tip: 0,
        },
    ));

    for (name, block, now, want) in cases {
        let mut n = Nakamoto::new(cfg.clone());
        let mut out = Vec::new();
        assert_eq!(n.on_block(block, now, &mut out), Err(want), "{name}");
        assert!(out.is_empty(), "{name}");
        assert_eq!(n.tip(), g, "{name}");
        assert_eq!(
            n.on_block(good.clone(), 2000, &mut out),
            Ok(Delivery::New),
            "{name}"
        );
    }
}

#[test]
fn timestamps_must_not_go_below_the_median_of_the_last_eleven() {
    let cfg = config(1 << 30, 100);
    let mut n = Nakamoto::new(cfg);
    extend(&mut n, 11, 10_000, 1000); // times 10_000 .. 20_000, median 15_000
    let tip = n.tip();
    let t = n.template_for(&tip).unwrap();
    assert_eq!(t.min_time_ms, 15_000);
    for (time, ok) in [(14_999, false), (15_000, true), (30_000, true)] {
        let mut b = t.block(0, miner(), vec![]);
        *header_mut(&mut b).0 = time;
        remine(&mut b);
        let r = n.clone_for_test().on_block(b, 40_000, &mut Vec::new());
        assert_eq!(r.is_ok(), ok, "time {time}: {r:?}");
    }
}

#[test]
fn fork_choice_is_most_work_and_ties_keep_the_first() {
    let cfg = config(1 << 30, 100);
    let g = cfg.genesis.hash();
    let mut n = Nakamoto::new(cfg);
    let mut out = Vec::new();
    let a1 = child(&n, &g, 1000, vec![tx(1)]);
    let b1 = child(&n, &g, 1001, vec![tx(2)]);
    n.on_block(a1.clone(), 5000, &mut out).unwrap();
    n.on_block(b1.clone(), 5000, &mut out).unwrap();
    assert_eq!(n.tip(), a1.hash(), "equal work: the first seen stays");
    let b2 = child(&n, &b1.hash(), 2000, vec![tx(3)]);
    let mut out = Vec::new();
    n.on_block(b2.clone(), 5000, &mut out).unwrap();
    assert_eq!(n.tip(), b2.hash(), "more work wins");
    // The reorg hands a1's transaction back and comes before the new tip.
    assert_eq!(
        out[0],
        Effect::Reorg {
            fork_point: g,
            abandoned: vec![a1.hash()],
            returned_txs: vec![tx(1)],
        }
    );
    assert_eq!(out[1], Effect::Head(Tip::new(b2.hash(), 2)));
    assert!(matches!(
        out[2],
        Effect::MiningJob(MiningTemplate { height: 3, .. })
    ));
}

#[test]
fn reorg_returns_only_transactions_the_new_branch_lacks() {
    let cfg = config(1 << 30, 100);
    let g = cfg.genesis.hash();
    let mut n = Nakamoto::new(cfg);
    let a1 = child(&n, &g, 1000, vec![tx(1), tx(2)]);
    n.on_block(a1, 5000, &mut Vec::new()).unwrap();
    let b1 = child(&n, &g, 1000, vec![tx(2)]);
    n.on_block(b1.clone(), 5000, &mut Vec::new()).unwrap();
    let b2 = child(&n, &b1.hash(), 1000, vec![]);
    let mut out = Vec::new();
    n.on_block(b2, 5000, &mut out).unwrap();
    assert!(matches!(&out[0], Effect::Reorg { returned_txs, .. } if *returned_txs == vec![tx(1)]));
}

/// GKL: the ledger is "C^{⌈k}", the chain without its last k blocks.
#[test]
fn finality_at_depth_k_in_order_exactly_once() {
    for (k, blocks, want_final) in [
        (1u64, 1usize, 0u64),
        (1, 3, 2),
        (3, 3, 0),
        (3, 10, 7),
        (6, 20, 14),
    ] {
        let mut n = Nakamoto::new(config(1 << 30, k));
        let (hashes, out) = extend(&mut n, blocks, 1000, 1000);
        let finals: Vec<Hash> = out
            .iter()
            .filter_map(|o| match o {
                Effect::Finalized { block: b, .. } => Some(b.hash()),
                _ => None,
            })
            .collect();
        assert_eq!(finals.len() as u64, want_final, "k={k} blocks={blocks}");
        assert_eq!(
            finals[..],
            hashes[..want_final as usize],
            "in chain order, each once"
        );
        assert_eq!(n.final_tip().height, want_final);
    }
}

#[test]
fn blocks_conflicting_with_the_final_chain_are_refused() {
    let cfg = config(1 << 30, 2);
    let g = cfg.genesis.hash();
    let mut n = Nakamoto::new(cfg);
    let side = child(&n, &g, 500, vec![]);
    extend(&mut n, 4, 1000, 1000); // final height 2
    assert_eq!(n.on_block(side, 9000, &mut Vec::new()), Ok(Delivery::Stale));
    // A long private branch from genesis, however heavy, cannot revert final blocks.
    let mut other = Nakamoto::new(config(1 << 30, 100));
    let (branch, _) = extend(&mut other, 8, 700, 1000);
    let mut results = Vec::new();
    for h in &branch {
        results.push(n.on_block(other.block(h).unwrap().clone(), 20_000, &mut Vec::new()));
    }
    assert_eq!(results[0], Ok(Delivery::Stale));
    assert_eq!(
        results[2],
        Err(NakamotoError::ConflictsWithFinal(branch[2]))
    );
    assert_eq!(n.final_tip().height, 2);
}

#[test]
fn orphans_wait_for_their_parent_which_is_requested() {
    let cfg = config(1 << 30, 100);
    let mut src = Nakamoto::new(cfg.clone());
    let (hashes, _) = extend(&mut src, 3, 1000, 1000);
    let mut n = Nakamoto::new(cfg);
    let mut out = Vec::new();
    let b3 = src.block(&hashes[2]).unwrap().clone();
    let b2 = src.block(&hashes[1]).unwrap().clone();
    let b1 = src.block(&hashes[0]).unwrap().clone();
    assert_eq!(n.on_block(b3.clone(), 9000, &mut out), Ok(Delivery::New));
    assert_eq!(out, vec![Effect::RequestBlock { hash: hashes[1] }]);
    assert_eq!(n.on_block(b3, 9000, &mut out), Ok(Delivery::Duplicate));
    n.on_block(b2, 9000, &mut out).unwrap();
    let mut out = Vec::new();
    n.on_block(b1, 9000, &mut out).unwrap();
    assert_eq!(n.tip(), hashes[2]);
    assert!(out.contains(&Effect::Head(Tip::new(hashes[2], 3))));
}

#[test]
fn difficulty_retargets_every_interval_within_the_clamp() {
    // Blocks every 2 s against a 1 s target: the target doubles at height 4, 8, ...
    let mut n = Nakamoto::new(config(4, 100));
    let t0 = n.template().target;
    extend(&mut n, 3, 2000, 2000);
    let t1 = n.template();
    assert_eq!(t1.height, 4);
    assert_eq!(
        U256::from_hash(&t1.target),
        U256::from_hash(&t0)
            .mul_div_u64(2, 1)
            .unwrap()
            .min(U256::MAX)
    );
    extend(&mut n, 4, 8000, 100_000);
    let t2 = n.template();
    assert_eq!(t2.height, 8);
    // 100 s per block: clamped to a factor of 4.
    assert_eq!(
        U256::from_hash(&t2.target),
        U256::from_hash(&t1.target).mul_div_u64(4, 1).unwrap()
    );
    // Between retargets the target stays.
    extend(&mut n, 1, 500_000, 1000);
    assert_eq!(n.template().target, t2.target);
}

#[test]
fn mined_blocks_are_broadcast_and_restore_rebuilds_the_chain() {
    let cfg = config(4, 3);
    let mut n = Nakamoto::new(cfg.clone());
    let out = n.handle(Input::Start { now_ms: 0 }).effects;
    assert!(matches!(
        out[..],
        [Effect::MiningJob(MiningTemplate { height: 1, .. })]
    ));
    let mut all = Vec::new();
    let mut final_blocks = vec![cfg.genesis.clone()];
    for i in 0..6u64 {
        let t = n.template();
        let mut b = t.block(1000 * (i + 1), miner(), vec![]);
        assert!(mine(&mut b, 1 << 20));
        let step = n.handle(Input::Mined {
            block: b.clone(),
            now_ms: 10_000,
        });
        assert_eq!(step.verdict, Ok(Delivery::New));
        let out = step.effects;
        assert_eq!(
            out[0],
            Effect::Broadcast(ConsensusMessage::Block(b.clone()))
        );
        for o in &out {
            if let Effect::Finalized { block: f, .. } = o {
                final_blocks.push(f.clone());
            }
        }
        all.push(b);
    }
    assert_eq!(n.final_tip().height, 3);
    let unfinal: Vec<Block> = all[3..].to_vec();
    let (r, _) = Nakamoto::restore(
        cfg,
        RestoreState {
            final_tail: final_blocks,
            unfinal,
        },
        10_000,
    )
    .unwrap();
    assert_eq!(r.tip(), n.tip());
    assert_eq!(r.template(), n.template());
    assert_eq!(r.final_tip(), n.final_tip());
}

impl Nakamoto {
    /// A cheap copy for table tests (the real type is not `Clone` on purpose).
    fn clone_for_test(&self) -> Nakamoto {
        let mut n = Nakamoto::new(self.cfg.clone());
        let chain: Vec<Block> = self
            .unfinal_hashes()
            .iter()
            .filter_map(|h| self.block(h).cloned())
            .collect();
        for b in chain {
            let _ = n.on_block(b, u64::MAX / 2, &mut Vec::new());
        }
        n
    }
}
