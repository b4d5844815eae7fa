//! Faults on real nodes, judged by the history checker (see `ledger_e2e::faults` and
//! docs/reliability.md, "Faults on real nodes").
//!
//! - `checker_catches_doctored_histories`: the checker's self-test, on histories with
//!   one deliberate defect each (no namespaces needed).
//! - `seeded_faults_under_load_keep_every_final_order`: 4 validators in network
//!   namespaces behind the link emulator; every fault kind once on a seeded schedule
//!   while clients submit signed orders; the history of every node is checked, the
//!   stores are replayed, and a doctored copy of the real history must be caught.
//!   Needs root, iproute2, ethtool and tmpfs; skips with a message otherwise (clock skew
//!   needs the `faketime` package and is left out, with a message, without it).
//!
//! Soak: `LEDGER_FAULTS_SECS=600 LEDGER_FAULTS_SEED=7 cargo test --release -p
//! ledger-e2e --test faults -- --nocapture` draws faults at random for about that long.

use ledger_e2e::faults::{self, RunOptions};
use ledger_e2e::history::{check, Acked, BlockRecord, History, NodeHistory, Resume, Violation};
use ledger_e2e::netns::{in_namespace, NetnsLab};
use ledger_e2e::wan::LinkShape;
use ledger_types::{Decimal, Hash, TxHash};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;
use std::time::Instant;

fn h(tag: &str, i: u64) -> Hash {
    Hash::digest(format!("{tag}-{i}").as_bytes())
}

fn tx(i: u64) -> TxHash {
    h("tx", i)
}

/// Four honest nodes agreeing on 6 blocks, orders 0..6 acknowledged at height i % 6 + 1.
fn clean() -> History {
    let blocks: Vec<BlockRecord> = (1..=6)
        .map(|height| BlockRecord {
            height,
            hash: h("block", height),
            parent: h("block", height - 1),
            state_root: Some(h("root", height)),
            txs: (0..12).filter(|i| i % 6 + 1 == height).map(tx).collect(),
        })
        .collect();
    let totals: BTreeMap<String, Decimal> = [
        ("USD".to_string(), Decimal::from(1_000)),
        ("BTC".to_string(), Decimal::from(7)),
    ]
    .into_iter()
    .collect();
    History {
        nodes: (0..4)
            .map(|node| NodeHistory {
                node,
                honest: true,
                blocks: blocks.clone(),
                totals: totals.clone(),
            })
            .collect(),
        acked: (0..12)
            .map(|i| Acked {
                tx: tx(i),
                height: i % 6 + 1,
                block: h("block", i % 6 + 1),
                node: (i % 4) as usize,
            })
            .collect(),
        genesis_totals: totals,
        resumes: vec![Resume {
            fault: "SIGKILL + restart node-1".into(),
            after: Some(Duration::from_secs(2)),
        }],
        resume_bound: Duration::from_secs(15),
    }
}

#[test]
fn checker_catches_doctored_histories() {
    assert_eq!(check(&clean()), vec![], "a clean history passes");

    // A node finalizing another block at height 4 (and so its child's parent differs).
    let mut bad = clean();
    bad.nodes[2].blocks[3].hash = h("fork", 4);
    bad.nodes[2].blocks[4].parent = h("fork", 4);
    let v = check(&bad);
    assert!(
        v.iter().any(|v| matches!(
            v,
            Violation::ConflictingBlocks {
                height: 4,
                b: (2, _),
                ..
            }
        )),
        "{v:?}"
    );

    // The same block with another state root.
    let mut bad = clean();
    bad.nodes[1].blocks[2].state_root = Some(h("other-root", 3));
    assert_eq!(
        check(&bad),
        vec![Violation::RootMismatch { height: 3, node: 1 }]
    );

    // An acknowledged order missing on one node.
    let mut bad = clean();
    bad.nodes[3].blocks[0].txs.clear();
    let v = check(&bad);
    assert!(
        v.contains(&Violation::LostOrder { tx: tx(0), node: 3 }),
        "{v:?}"
    );
    assert!(
        v.contains(&Violation::LostOrder { tx: tx(6), node: 3 }),
        "{v:?}"
    );

    // An acknowledged order executed twice.
    let mut bad = clean();
    bad.nodes[0].blocks[5].txs.push(tx(1));
    assert_eq!(
        check(&bad),
        vec![Violation::DuplicateOrder {
            tx: tx(1),
            node: 0,
            heights: vec![2, 6]
        }]
    );

    // An acknowledgement naming another height than the chain has.
    let mut bad = clean();
    bad.acked[2].height = 5;
    bad.acked[2].block = h("block", 5);
    let v = check(&bad);
    assert_eq!(v.len(), 4, "{v:?}");
    assert!(v.iter().all(|v| matches!(
        v,
        Violation::MovedOrder {
            acked_height: 5,
            found_height: 3,
            ..
        }
    )));

    // Money created on one node.
    let mut bad = clean();
    *bad.nodes[1].totals.get_mut("BTC").unwrap() += Decimal::new(1, 8);
    let v = check(&bad);
    assert!(
        matches!(&v[..], [Violation::TotalsChanged { node: 1, asset, .. }] if asset == "BTC"),
        "{v:?}"
    );

    // A node whose chain does not link.
    let mut bad = clean();
    bad.nodes[0].blocks[2].parent = h("nowhere", 0);
    assert_eq!(
        check(&bad),
        vec![Violation::BrokenChain { node: 0, height: 3 }]
    );

    // A node that never caught up.
    let mut bad = clean();
    bad.nodes[2].blocks.truncate(3);
    assert_eq!(
        check(&bad),
        vec![Violation::Behind {
            node: 2,
            height: 3,
            needed: 6
        }]
    );

    // Finality that came back too late, or never.
    let mut bad = clean();
    bad.resumes.push(Resume {
        fault: "partition 2/2".into(),
        after: Some(Duration::from_secs(40)),
    });
    bad.resumes.push(Resume {
        fault: "isolated leader".into(),
        after: None,
    });
    let v = check(&bad);
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v.iter().all(|v| matches!(v, Violation::SlowResume { .. })));

    // A node marked faulty is not judged: its fork is not a violation of the others.
    let mut byz = clean();
    byz.nodes[2].honest = false;
    byz.nodes[2].blocks[3].hash = h("fork", 4);
    assert_eq!(check(&byz), vec![]);

    // Every violation reads as a sentence naming the node.
    let mut bad = clean();
    bad.nodes[3].blocks[0].txs.clear();
    let text = check(&bad)[0].to_string();
    assert!(
        text.contains("node-3") && text.contains("missing"),
        "{text}"
    );
}

/// Connects from node `from`'s namespace to `to`; the time the handshake took (one
/// round trip) or `None` if it failed within 1.5 s.
fn connect_time(lab: &NetnsLab, from: usize, to: SocketAddr) -> Option<Duration> {
    in_namespace(&lab.ns(from), move || {
        let t = Instant::now();
        TcpStream::connect_timeout(&to, Duration::from_millis(1500))
            .ok()
            .map(|_| t.elapsed())
    })
    .expect("enter the namespace")
}

#[test]
fn link_emulator_delays_drops_and_cuts_per_pair() {
    if let Some(why) = NetnsLab::emulation_unavailable() {
        eprintln!("skipping the link emulator test: {why}");
        return;
    }
    let lab = NetnsLab::create_emulated(3, 9).expect("create the lab");
    let links = lab.links().expect("emulated");
    // Node 0 listens; nodes 1 and 2 connect to its address.
    let ip = lab.ip(0);
    let listener = in_namespace(&lab.ns(0), move || TcpListener::bind((ip, 0)))
        .expect("namespace")
        .expect("bind");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || for _ in listener.incoming() {});
    // Clear links: a switch (the first connection also resolves ARP).
    assert!(connect_time(&lab, 1, addr).is_some(), "clear link");
    // 120 ms out and 80 ms back on 1 <-> 0: a handshake takes at least 200 ms; 2 <-> 0
    // stays clear.
    links.set(1, 0, LinkShape::ms(120, 0));
    links.set(0, 1, LinkShape::ms(80, 0));
    let rtt = connect_time(&lab, 1, addr).expect("delayed link");
    assert!(rtt >= Duration::from_millis(200), "{rtt:?}");
    let clear = connect_time(&lab, 2, addr).expect("clear link");
    assert!(clear < rtt, "{clear:?} vs {rtt:?}");
    eprintln!("handshake over 120+80 ms: {rtt:?}; over the clear pair: {clear:?}");
    // Cut 1 <-> 0: nothing passes; 2 still connects. Heal: 1 connects again.
    links.set_cut(0, 1, true);
    assert_eq!(links.cuts(), vec![(0, 1)]);
    assert!(connect_time(&lab, 1, addr).is_none(), "cut link");
    assert!(connect_time(&lab, 2, addr).is_some());
    links.heal();
    assert!(connect_time(&lab, 1, addr).is_some(), "healed link");
    // Total loss on 2 -> 0 is a cut in one direction.
    links.set(2, 0, LinkShape::CLEAR.with_loss(1.0));
    assert!(connect_time(&lab, 2, addr).is_none(), "lossy link");
    // A partition {0} | {1, 2}.
    links.set_all(LinkShape::CLEAR);
    links.partition(&[&[0], &[1, 2]]);
    assert_eq!(links.cuts(), vec![(0, 1), (0, 2)]);
    assert!(connect_time(&lab, 1, addr).is_none());
    let s = links.stats();
    assert!(s.forwarded > 0 && s.lost > 0 && s.cut > 0, "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_faults_under_load_keep_every_final_order() {
    if let Some(why) = faults::unavailable() {
        eprintln!("skipping the fault test: {why}");
        return;
    }
    if let Some(why) = faults::skew_unavailable() {
        eprintln!("{why}");
    }
    let seed = std::env::var("LEDGER_FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let soak = std::env::var("LEDGER_FAULTS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs);
    let opts = RunOptions {
        seed,
        soak,
        ..RunOptions::default()
    };
    let report = faults::run(&opts).await.expect("the testbed runs");
    eprintln!("{}\n{}", report.table(), report.summary());
    for v in &report.violations {
        eprintln!("VIOLATION: {v}");
    }
    assert!(report.violations.is_empty(), "{}", report.summary());
    assert!(
        report.load.acked_final >= 20,
        "too few orders confirmed to judge: {}",
        report.summary()
    );
    for (node, ok, last) in &report.replays {
        assert!(ok, "replay of node-{node}'s store: {last}");
    }
    for s in &report.steps {
        match s.fault {
            faults::Fault::DiskFull(_) => {
                assert!(
                    s.note.contains("names ENOSPC and the path"),
                    "disk full: {}",
                    s.note
                )
            }
            faults::Fault::CorruptStore(..) => {
                for bad in [
                    "WITHOUT A CLEAR ERROR",
                    "could not damage",
                    "restart failed",
                ] {
                    assert!(!s.note.contains(bad), "corrupted store: {}", s.note);
                }
            }
            faults::Fault::SlowFsync(..) => {
                assert!(!s.note.contains("did not report"), "slow fsync: {}", s.note)
            }
            _ => {}
        }
    }
    // Every fault kind ran (the seeded schedule has each once when not soaking).
    if soak.is_none() {
        assert!(report.steps.len() >= 8, "{}", report.table());
    }

    // The checker on the real history, doctored: one node's copy of a block replaced,
    // and an acknowledged order taken out of another node's chain.
    let mut doctored = report.history.clone();
    let mid = doctored.nodes[1].blocks.len() / 2;
    doctored.nodes[1].blocks[mid].hash = Hash::digest(b"doctored");
    let first = doctored.acked[0].clone();
    for b in &mut doctored.nodes[2].blocks {
        b.txs.retain(|t| *t != first.tx);
    }
    let v = check(&doctored);
    assert!(
        v.iter()
            .any(|v| matches!(v, Violation::ConflictingBlocks { b: (1, _), .. })),
        "{v:?}"
    );
    assert!(
        v.contains(&Violation::LostOrder {
            tx: first.tx,
            node: 2
        }),
        "{v:?}"
    );
}

/// The clock-skew acceptance run: one validator's clock 1 s ahead (libfaketime), then a
/// second validator SIGSTOPped for 15 s, so that the quorum (3 of 4) needs the skewed
/// one's votes. Finality must go on through the pause and every node must be past the
/// height at SIGCONT within 5 s of it; the skewed validator must propose and vote, and
/// measure its own offset (`ledger_clock_offset_ms`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_one_second_ahead_keeps_proposing_and_voting() {
    use ledger_rpc::LedgerApiClient;
    use nix::sys::signal::Signal;
    if let Some(why) = faults::unavailable().or_else(faults::skew_unavailable) {
        eprintln!("skipping the clock-skew test: {why}");
        return;
    }
    const SKEWED: usize = 1;
    const PAUSED: usize = 2;
    let mut hosts = faults::Hosts::start(4, 5, 200, 8, None).expect("the testbed starts");
    let cs = faults::clients(&hosts.urls).await;
    assert!(
        faults::wait_resumed(&cs, 2, Duration::from_secs(30))
            .await
            .is_some(),
        "the network never finalized: {:?}",
        faults::heights(&cs).await
    );
    hosts.stop_node(SKEWED);
    hosts.set_skew(SKEWED, 1_000);
    hosts.start_node(SKEWED).expect("restart under libfaketime");
    let chain_id = hosts.genesis.chain_id.clone();
    let load = faults::Load::start(
        &hosts.urls,
        &chain_id,
        8,
        Duration::from_millis(20),
        Duration::from_secs(15),
    );
    let top = faults::heights(&cs).await.into_iter().max().unwrap_or(0);
    let caught_up = faults::wait_resumed(&cs, top, Duration::from_secs(30)).await;
    assert!(
        caught_up.is_some(),
        "the skewed node never caught up: {:?}\n{}",
        faults::heights(&cs).await,
        hosts.log_tail(SKEWED, 30)
    );
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Pause a second validator: now every quorum includes the skewed one.
    let at_stop = faults::heights(&cs).await.into_iter().max().unwrap_or(0);
    hosts.signal(PAUSED, Signal::SIGSTOP);
    tokio::time::sleep(Duration::from_secs(15)).await;
    let during: Vec<u64> = faults::heights(&cs).await;
    let at_cont = during.iter().copied().max().unwrap_or(0);
    hosts.signal(PAUSED, Signal::SIGCONT);
    let resumed = faults::wait_resumed(&cs, at_cont, Duration::from_secs(30)).await;
    let (acked, counts, _) = load.finish().await;
    eprintln!(
        "skewed node-{SKEWED} (+1 s), node-{PAUSED} paused 15 s: final height {at_stop} at SIGSTOP, \
         {at_cont} at SIGCONT (heights {during:?}); every node past it {resumed:?} after SIGCONT; \
         orders {counts:?}"
    );
    assert!(
        at_cont >= at_stop + 10,
        "finality stalled while node-{PAUSED} was paused: {at_stop} -> {at_cont}\n{}",
        hosts.log_tail(SKEWED, 30)
    );
    let resumed = resumed.expect("finality resumed after SIGCONT");
    assert!(
        resumed <= Duration::from_secs(5),
        "took {resumed:?} after SIGCONT"
    );

    // The skewed validator proposed and voted in final blocks during the pause.
    let key = &hosts.keys[SKEWED];
    let validators = cs[0].get_validators().await.expect("get_validators");
    let v = validators
        .iter()
        .find(|v| v.public_key.to_string() == *key)
        .unwrap_or_else(|| panic!("validator {key} in {validators:?}"));
    eprintln!(
        "skewed validator: last proposal {:?}, last vote {:?}",
        v.last_proposal, v.last_vote
    );
    assert!(
        v.last_proposal.is_some_and(|h| h > at_stop),
        "no final block proposed by the skewed validator after height {at_stop}: {v:?}"
    );
    assert!(
        v.last_vote.is_some_and(|h| h > at_stop),
        "no vote of the skewed validator after height {at_stop}: {v:?}"
    );

    // It measured its own offset; an unskewed node measures about 0.
    let offset = |i: usize| {
        hosts
            .lab
            .forward(i, faults::METRICS_PORT)
            .ok()
            .and_then(|a| faults::read_metric(a, "clock_offset_ms"))
    };
    let (skewed, true_clock) = (offset(SKEWED), offset(0));
    eprintln!("clock_offset_ms: node-{SKEWED} {skewed:?}, node-0 {true_clock:?}");
    assert!(
        skewed.is_some_and(|o| (700.0..=1_300.0).contains(&o)),
        "node-{SKEWED}'s offset estimate: {skewed:?}"
    );
    assert!(
        true_clock.is_some_and(|o| o.abs() <= 400.0),
        "node-0's offset estimate: {true_clock:?}"
    );

    // Safety over the whole run: the nodes agree on every final block and order.
    let mut nodes = Vec::new();
    for (i, c) in cs.iter().enumerate() {
        nodes.push(
            faults::read_node(c, i, &hosts.genesis)
                .await
                .expect("read the node's history"),
        );
    }
    let history = History {
        nodes,
        acked,
        genesis_totals: faults::genesis_totals(&hosts.genesis),
        resumes: vec![Resume {
            fault: format!("SIGCONT node-{PAUSED} (node-{SKEWED} at +1 s)"),
            after: Some(resumed),
        }],
        resume_bound: Duration::from_secs(5),
    };
    let violations = check(&history);
    assert!(violations.is_empty(), "{violations:?}");
}
