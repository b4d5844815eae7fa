//! Byzantine validators (tracker issue 13): one test per mode. Each starts a
//! 4-validator network on loopback in which node-3 runs `ledger-node-byzantine` with a
//! `[byzantine]` mode and the three honest nodes run the product `ledger-node`; orders
//! go in through the honest nodes. Each test asserts that
//!
//! - the honest nodes stay live: every one finalizes at least 10 blocks past a mark
//!   taken after the orders went in, and every order is final on each;
//! - they stay safe: the same block hash and state root at every final height;
//! - the offender is penalised: each honest node logs a `peer offence` line naming the
//!   Byzantine node's peer id and the offence, and (except for withheld votes, which
//!   look like a crash) bans it.
//!
//! `history_checker_catches_a_build_that_skips_the_quorum_check` runs the checker's
//! self-test on real processes: a build that notarizes without a quorum, split in two.
//!
//! The modes run one at a time (a 4-node network each) to keep the 2-core CI runner
//! honest about timing; each takes about 10 to 25 s.

use ledger_e2e::byzantine::{banned_in_log, byzantine_binary, offence_lines, peer_id_in_log};
use ledger_e2e::history::{check, Acked, History, Violation};
use ledger_e2e::*;
use ledger_rpc::{LedgerApiClient, LedgerClient, Wallet};
use ledger_types::{Decimal, Keypair, Side, TxHash};
use std::io::Write;
use std::time::{Duration, Instant};

/// One network at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The Byzantine node.
const BYZ: usize = 3;
/// The honest nodes.
const HONEST: [usize; 3] = [0, 1, 2];

struct Case {
    /// The `[byzantine]` mode of node-3.
    mode: &'static str,
    /// The offence the honest nodes must log.
    offence: &'static str,
    /// Whether the honest nodes must ban node-3.
    banned: bool,
    /// Extra environment of every node.
    env: &'static [(&'static str, &'static str)],
}

fn account(i: usize) -> Keypair {
    Keypair::for_testing(&format!("account-{i}"))
}

/// Crossing orders from accounts `0..4`, three each, through the honest nodes.
async fn submit_orders(clients: &[LedgerClient]) -> Vec<TxHash> {
    let mut hashes = Vec::new();
    for k in 0..4usize {
        let client = &clients[k % clients.len()];
        let mut wallet = Wallet::from_node(client, account(k)).await.unwrap();
        let m = wallet.market_id("BTC/USD").unwrap();
        for j in 0..3i64 {
            let (side, price) = if k % 2 == 0 {
                (Side::Sell, Decimal::new(10_000 + j * 10, 2))
            } else {
                (Side::Buy, Decimal::new(10_040 - j * 10, 2))
            };
            let tx = wallet.place_limit(m, side, price, Decimal::new(1, 1));
            hashes.push(client.submit_order(tx.into()).await.unwrap().tx_hash);
        }
    }
    hashes
}

async fn min_final(clients: &[LedgerClient]) -> u64 {
    let mut h = u64::MAX;
    for c in clients {
        h = h.min(final_height(c).await);
    }
    h
}

async fn byzantine_validator(case: Case) {
    let _serial = SERIAL.lock().await;
    let byzantine = byzantine_binary();
    let started = Instant::now();
    let mut net = Testnet::create(&["--validators", "4", "--delta-ms", "100"]);
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(&net.info.nodes[BYZ].config)
        .unwrap();
    writeln!(config, "\n[byzantine]\nmode = \"{}\"", case.mode).unwrap();
    drop(config);
    for i in HONEST {
        net.start_with(i, &binary("ledger-node"), case.env);
    }
    net.start_with(BYZ, &byzantine, case.env);

    let mut clients = Vec::new();
    for i in HONEST {
        clients.push(net.client(i).await);
    }
    wait_until("first final blocks", Duration::from_secs(60), || async {
        min_final(&clients).await >= 2
    })
    .await;
    let log = net.log(BYZ);
    let offender = peer_id_in_log(&log)
        .unwrap_or_else(|| panic!("no peer id in node-{BYZ}'s log:\n{}", net.log_tail(BYZ)));
    assert!(
        log.contains("BYZANTINE MODE"),
        "node-{BYZ} is not running the Byzantine mode:\n{}",
        net.log_tail(BYZ)
    );

    // Live: orders go final and every honest node finalizes 10 more blocks.
    let txs = submit_orders(&clients).await;
    let mark = min_final(&clients).await;
    for (n, c) in clients.iter().enumerate() {
        wait_until(
            &format!(
                "honest node {n} to finalize past {} with every order",
                mark + 10
            ),
            Duration::from_secs(90),
            || async { final_height(c).await >= mark + 10 && all_final(c, &txs).await },
        )
        .await;
    }

    // Penalised: every honest node logs the offence with the offender's peer id (and
    // bans it).
    for i in HONEST {
        wait_until(
            &format!(
                "node-{i} to log offence {} by {offender}{}",
                case.offence,
                if case.banned { " and ban it" } else { "" }
            ),
            Duration::from_secs(60),
            || {
                let log = net.log(i);
                let ok = !offence_lines(&log, &offender, case.offence).is_empty()
                    && (!case.banned || banned_in_log(&log, &offender));
                async move { ok }
            },
        )
        .await;
    }
    if !case.banned {
        for i in HONEST {
            assert!(
                !banned_in_log(&net.log(i), &offender),
                "node-{i} banned the offender for {}",
                case.offence
            );
        }
    }

    // Safe: the same blocks and state roots everywhere.
    let h = assert_same_roots(&clients.iter().collect::<Vec<_>>()).await;
    let example = offence_lines(&net.log(0), &offender, case.offence)
        .first()
        .map(|l| l.to_string())
        .unwrap_or_default();
    eprintln!(
        "{}: {} orders final, honest nodes agree on heights 1..={h}, offence {} logged{} by all 3, {:.1} s\n  node-0: {}",
        case.mode,
        txs.len(),
        case.offence,
        if case.banned { " and offender banned" } else { "" },
        started.elapsed().as_secs_f64(),
        example.trim()
    );
    for i in 0..4 {
        net.stop(i);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equivocating_leader_is_banned() {
    byzantine_validator(Case {
        mode: "equivocate",
        offence: "equivocation",
        banned: true,
        env: &[],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_voter_is_banned() {
    byzantine_validator(Case {
        mode: "double-vote",
        offence: "double-vote",
        banned: true,
        env: &[],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withheld_votes_are_reported() {
    byzantine_validator(Case {
        mode: "withhold-votes",
        offence: "withheld-votes",
        banned: false,
        env: &[],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_with_bad_signatures_get_the_leader_banned() {
    byzantine_validator(Case {
        mode: "invalid-block-signature",
        offence: "bad-signature",
        banned: true,
        env: &[],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_spending_foreign_accounts_get_the_leader_banned() {
    byzantine_validator(Case {
        mode: "invalid-state-transition",
        offence: "invalid-block",
        banned: true,
        env: &[],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_blocks_get_the_leader_banned() {
    byzantine_validator(Case {
        mode: "oversized-block",
        offence: "invalid-block",
        banned: true,
        env: &[],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_spammer_is_banned() {
    byzantine_validator(Case {
        mode: "gossip-spam",
        offence: "malformed-message",
        banned: true,
        env: &[],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_sync_responses_get_the_server_banned() {
    byzantine_validator(Case {
        mode: "forged-sync",
        offence: "forged-sync",
        banned: true,
        env: &[],
    })
    .await;
}

/// Gossip drops copies of a message for `network.duplicate_cache_secs` (120 s by
/// default, on the sender too), so a replay only reaches consensus after that: the
/// nodes run with 2 s here so that the replays arrive within the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_old_messages_get_the_replayer_banned() {
    byzantine_validator(Case {
        mode: "replay-old",
        offence: "replay",
        banned: true,
        env: &[("LEDGER_NODE_NETWORK_DUPLICATE_CACHE_SECS", "2")],
    })
    .await;
}

/// Rewrites node `i`'s config so that it dials only `partner`, and (with `broken`) runs
/// the `broken-quorum` build.
fn dial_only(net: &Testnet, i: usize, partner: usize, broken: bool) {
    let read = |j: usize| -> toml::Table {
        let text = std::fs::read_to_string(&net.info.nodes[j].config).unwrap();
        text.parse().unwrap()
    };
    let listen =
        |t: &toml::Table| -> String { t["network"]["listen"][0].as_str().unwrap().to_string() };
    let prefix = format!("{}/p2p/", listen(&read(partner)));
    let mut config = read(i);
    let network = config["network"].as_table_mut().unwrap();
    let boot: Vec<toml::Value> = network["bootnodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b.as_str().is_some_and(|b| b.starts_with(&prefix)))
        .cloned()
        .collect();
    assert_eq!(
        boot.len(),
        1,
        "node-{i} has no bootnode entry for node-{partner}"
    );
    network.insert("bootnodes".into(), toml::Value::Array(boot));
    if broken {
        let mut section = toml::Table::new();
        section.insert("mode".into(), "broken-quorum".into());
        config.insert("byzantine".into(), toml::Value::Table(section));
    }
    std::fs::write(&net.info.nodes[i].config, toml::to_string(&config).unwrap()).unwrap();
}

/// One crossing pair of orders from accounts `a` and `a + 1` through `client`, waited on
/// until final there; returns what the client was told.
async fn acked_pair(client: &LedgerClient, node: usize, a: usize) -> Vec<Acked> {
    let mut hashes = Vec::new();
    for (k, side, cents) in [(a, Side::Sell, 10_000), (a + 1, Side::Buy, 10_000)] {
        let mut wallet = Wallet::from_node(client, account(k)).await.unwrap();
        let m = wallet.market_id("BTC/USD").unwrap();
        let tx = wallet.place_limit(m, side, Decimal::new(cents, 2), Decimal::new(1, 1));
        hashes.push(client.submit_order(tx.into()).await.unwrap().tx_hash);
    }
    wait_until(
        &format!("node-{node} to finalize its orders"),
        Duration::from_secs(60),
        || all_final(client, &hashes),
    )
    .await;
    let mut acked = Vec::new();
    for tx in hashes {
        let v = client.get_tx(tx).await.unwrap();
        acked.push(Acked {
            tx,
            height: v.block_height.unwrap(),
            block: v.block_hash.unwrap(),
            node,
        });
    }
    acked
}

/// The history checker's self-test on real processes. The network is split in halves
/// {0, 1} | {2, 3} from the start: each node dials only its partner, and Kademlia finds
/// nobody else. First the correct node runs (no `[byzantine]` section): neither half
/// has a two-thirds quorum, so nothing becomes final. Then every node is restarted as
/// the deliberately broken `broken-quorum` build (notarization with 2 of 4 votes):
/// both halves finalize, each its own chain, and orders are acknowledged as final on
/// each. The checker, fed what the four nodes' RPC says, must report the conflicting
/// final blocks and the orders acknowledged on one half and missing on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_checker_catches_a_build_that_skips_the_quorum_check() {
    let _serial = SERIAL.lock().await;
    let byzantine = byzantine_binary();
    let started = Instant::now();
    let mut net = Testnet::create(&["--validators", "4", "--delta-ms", "100"]);
    let partner = [1, 0, 3, 2];

    // The correct node, split: no quorum on either side, nothing final.
    for (i, &partner) in partner.iter().enumerate() {
        dial_only(&net, i, partner, false);
        net.start(i);
    }
    let mut clients = Vec::new();
    for i in 0..4 {
        clients.push(net.client(i).await);
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let finals = ledger_e2e::faults::heights(&clients).await;
    assert_eq!(
        finals,
        vec![0; 4],
        "the correct build finalized without a quorum"
    );
    for i in 0..4 {
        net.stop(i);
    }

    // The broken build, same split: both halves finalize.
    for (i, &partner) in partner.iter().enumerate() {
        dial_only(&net, i, partner, true);
        net.start_with(i, &byzantine, &[]);
    }
    wait_until(
        "node-0 to start as the broken build",
        Duration::from_secs(30),
        || {
            let broken = net.log(0).contains("BROKEN BUILD");
            async move { broken }
        },
    )
    .await;
    wait_until(
        "both halves to finalize 5 blocks",
        Duration::from_secs(90),
        || async { min_final(&clients).await >= 5 },
    )
    .await;
    let mut acked = acked_pair(&clients[0], 0, 0).await;
    acked.extend(acked_pair(&clients[2], 2, 2).await);

    let genesis = ledger_types::Genesis::load(&net.dir.path().join("genesis.toml")).unwrap();
    let mut nodes = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        nodes.push(ledger_e2e::faults::read_node(c, i, &genesis).await.unwrap());
    }
    for i in 0..4 {
        net.stop(i);
    }
    let history = History {
        nodes,
        acked: acked.clone(),
        genesis_totals: ledger_e2e::faults::genesis_totals(&genesis),
        resumes: Vec::new(),
        resume_bound: Duration::from_secs(15),
    };
    let violations = check(&history);
    let forked = violations.iter().find(|v| {
        matches!(v, Violation::ConflictingBlocks { a, b, .. }
            if (a.0 < 2) != (b.0 < 2))
    });
    assert!(
        forked.is_some(),
        "the checker missed the fork across the halves: {violations:?}"
    );
    for a in &acked {
        let other_half: Vec<usize> = (0..4).filter(|n| (n / 2) != (a.node / 2)).collect();
        for n in other_half {
            assert!(
                violations
                    .iter()
                    .any(|v| matches!(v, Violation::LostOrder { tx, node } if *tx == a.tx && *node == n)),
                "the checker missed order {} (final on node-{}) missing on node-{n}: {violations:?}",
                a.tx,
                a.node
            );
        }
    }
    let count = |f: fn(&Violation) -> bool| violations.iter().filter(|v| f(v)).count();
    eprintln!(
        "broken-quorum: correct build finalized 0 blocks in 5 s split; broken build finalized \
         heights {:?}; checker: {} violations ({} conflicting blocks, {} lost orders, {} other), \
         first: {}; {:.1} s",
        history
            .nodes
            .iter()
            .map(|n| n.final_height())
            .collect::<Vec<_>>(),
        violations.len(),
        count(|v| matches!(v, Violation::ConflictingBlocks { .. })),
        count(|v| matches!(v, Violation::LostOrder { .. })),
        count(|v| {
            !matches!(
                v,
                Violation::ConflictingBlocks { .. } | Violation::LostOrder { .. }
            )
        }),
        forked.unwrap(),
        started.elapsed().as_secs_f64()
    );
}
