//! The whole-node safety sweep and the checkers' self-tests.
//!
//! `LEDGER_NODE_SIM_SEEDS=N` sets the seeds per configuration (CI runs a small number;
//! the acceptance run is 1,000: see the crate README). Runs use both cores.

use ledger_driver::Faults;
use ledger_node_sim::{run, Adversary, Outcome, ProtocolKind, Scenario, Violation};
use std::time::Instant;

fn seeds(default: u64) -> u64 {
    std::env::var("LEDGER_NODE_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Runs `scenarios` on two threads; returns the outcomes in order.
fn run_all(scenarios: Vec<Scenario>) -> Vec<(Scenario, Outcome)> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    let chunks: Vec<Vec<Scenario>> = (0..threads)
        .map(|t| scenarios.iter().skip(t).step_by(threads).cloned().collect())
        .collect();
    let mut out: Vec<(usize, Scenario, Outcome)> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .enumerate()
            .map(|(t, chunk)| {
                s.spawn(move || {
                    chunk
                        .into_iter()
                        .enumerate()
                        .map(|(i, sc)| {
                            let o = run(&sc);
                            (i * threads + t, sc, o)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a sweep thread panicked"))
            .collect()
    });
    out.sort_by_key(|(i, _, _)| *i);
    out.into_iter().map(|(_, s, o)| (s, o)).collect()
}

fn configurations(seeds: u64) -> Vec<Scenario> {
    let mut all = Vec::new();
    // LEDGER_NODE_SIM_PROTOCOL=streamlet|nakamoto runs one protocol's configurations.
    let only = std::env::var("LEDGER_NODE_SIM_PROTOCOL").unwrap_or_default();
    for protocol in [ProtocolKind::Streamlet, ProtocolKind::Nakamoto] {
        let name = match protocol {
            ProtocolKind::Streamlet => "streamlet",
            ProtocolKind::Nakamoto => "nakamoto",
        };
        if !only.is_empty() && only != name {
            continue;
        }
        for n in [4, 7] {
            for &adversary in Adversary::of(protocol) {
                for seed in 0..seeds {
                    all.push(Scenario::new(protocol, n, adversary, seed));
                }
            }
        }
    }
    all
}

#[test]
fn whole_nodes_stay_safe_and_live_under_crashes_partitions_and_byzantine_peers() {
    let seeds = seeds(12);
    let started = Instant::now();
    let outcomes = run_all(configurations(seeds));
    let wall = started.elapsed();
    let mut failures = Vec::new();
    let (mut simulated_s, mut crashes, mut txs) = (0.0, 0, 0);
    for (s, o) in &outcomes {
        simulated_s += o.simulated.0 as f64 / 1e6;
        crashes += o.crashes;
        txs += o.executed_txs;
        if !o.ok() {
            failures.push(format!(
                "{:?} n={} {:?} seed {}: {:?}",
                s.protocol, s.n, s.adversary, s.seed, o.violations
            ));
        }
    }
    println!(
        "whole-node sweep: {} runs ({} configurations x {seeds} seeds), {:.0} s simulated, {:.1} s wall, {crashes} crashes, {txs} transactions executed, {} failures",
        outcomes.len(),
        outcomes.len() as u64 / seeds.max(1),
        simulated_s,
        wall.as_secs_f64(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        crashes > 0 && txs > 0,
        "the sweep exercised crashes and trading"
    );
}

#[test]
fn the_same_seed_replays_the_same_run() {
    for protocol in [ProtocolKind::Streamlet, ProtocolKind::Nakamoto] {
        let adversary = Adversary::of(protocol)[1];
        let s = Scenario::new(protocol, 4, adversary, 42);
        let (a, b) = (run(&s), run(&s));
        assert_eq!(a.trace_hash, b.trace_hash, "{protocol:?}");
        assert_eq!(a.honest_heights, b.honest_heights);
        let other = run(&Scenario { seed: 43, ..s });
        assert_ne!(a.trace_hash, other.trace_hash);
    }
}

/// Runs the Streamlet configurations with `faults` until the checkers flag a run, up
/// to `limit` seeds per configuration. Returns how many runs were flagged, out of how
/// many, and the violations of the first.
fn hunt(faults: Faults, limit: u64) -> (usize, usize, Vec<Violation>) {
    let mut scenarios = Vec::new();
    for seed in 0..limit {
        for n in [4, 7] {
            scenarios.push(Scenario {
                faults,
                ..Scenario::new(ProtocolKind::Streamlet, n, Adversary::None, seed)
            });
        }
    }
    let outcomes = run_all(scenarios);
    let flagged: Vec<&Outcome> = outcomes
        .iter()
        .map(|(_, o)| o)
        .filter(|o| !o.ok())
        .collect();
    let first = flagged
        .first()
        .map(|o| o.violations.clone())
        .unwrap_or_default();
    (flagged.len(), outcomes.len(), first)
}

#[test]
fn broken_build_send_before_persist_is_caught() {
    let (flagged, runs, first) = hunt(Faults::none().send_before_persist(), seeds(12).max(40));
    println!("send-before-persist: {flagged} of {runs} runs flagged; first: {first:?}");
    assert!(flagged > 0);
    assert!(first.iter().any(|v| matches!(
        v,
        Violation::HonestEquivocated { .. } | Violation::Conflict { .. }
    )));
}

#[test]
fn broken_build_restore_forgets_the_voted_epoch_is_caught() {
    let (flagged, runs, first) = hunt(Faults::none().forget_voted_epoch(), seeds(12).max(40));
    println!("forget-voted-epoch: {flagged} of {runs} runs flagged; first: {first:?}");
    assert!(flagged > 0);
    assert!(first.iter().any(|v| matches!(
        v,
        Violation::HonestEquivocated { .. } | Violation::Conflict { .. }
    )));
}

#[test]
fn broken_build_quorum_of_half_is_caught() {
    // n = 4 with quorum 2: while the network is split before GST, each side can
    // notarize and finalize its own chain. Long pre-GST periods and equivocating or
    // double-voting peers make that likely (as in the protocol-level mutation check).
    let mut scenarios = Vec::new();
    for seed in 0..seeds(12).max(150) {
        for adversary in [Adversary::DoubleVoter, Adversary::EquivocatingLeader] {
            scenarios.push(Scenario {
                faults: Faults::none().quorum(2),
                max_gst_slots: 30,
                ..Scenario::new(ProtocolKind::Streamlet, 4, adversary, seed)
            });
        }
    }
    let outcomes = run_all(scenarios);
    let flagged: Vec<&Outcome> = outcomes
        .iter()
        .map(|(_, o)| o)
        .filter(|o| {
            o.violations.iter().any(|v| {
                matches!(
                    v,
                    Violation::Conflict { .. } | Violation::ConflictAlarm { .. }
                )
            })
        })
        .collect();
    println!(
        "quorum n/2: {} of {} runs finalize conflicting blocks; first: {:?}",
        flagged.len(),
        outcomes.len(),
        flagged.first().map(|o| &o.violations)
    );
    assert!(!flagged.is_empty());
}
