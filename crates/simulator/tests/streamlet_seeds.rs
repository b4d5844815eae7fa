//! Streamlet under partial synchrony with random GST: for n in {4, 7, 10} and
//! f = ⌊(n-1)/3⌋ Byzantine validators of each kind, every seed must be safe and must
//! finalize within the liveness theorem's bound after GST. `LEDGER_SIM_SEEDS` sets the
//! number of seeds per configuration (default 1000).

use ledger_simulator::streamlet::{
    run_streamlet, LivenessOutcome, StreamletAdversary, StreamletNetwork, StreamletScenario,
};

fn seeds() -> u64 {
    std::env::var("LEDGER_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
}

fn sweep(n: usize) {
    let seeds = seeds();
    for adversary in StreamletAdversary::BYZANTINE {
        let mut finalized_after_gst = 0;
        let mut messages = 0u64;
        let mut evidence = 0usize;
        for seed in 0..seeds {
            let s = StreamletScenario::new(n, adversary, seed);
            assert_eq!(s.byzantine, (n - 1) / 3);
            let r = run_streamlet(&s);
            assert_eq!(r.safety, Ok(()), "n={n} {adversary:?} seed={seed}");
            match r.liveness {
                LivenessOutcome::Met { .. } => finalized_after_gst += 1,
                other => panic!("n={n} {adversary:?} seed={seed}: liveness {other:?}"),
            }
            messages += r.stats.messages_delivered;
            evidence += r.evidence;
        }
        assert_eq!(finalized_after_gst, seeds);
        if matches!(
            adversary,
            StreamletAdversary::DoubleVoter | StreamletAdversary::EquivocatingLeader
        ) {
            assert!(
                evidence > 0,
                "equivocation must be detected ({adversary:?})"
            );
        }
        println!("n={n} {adversary:?}: {seeds} seeds safe and live, {messages} messages, {evidence} evidence items");
    }
}

#[test]
fn streamlet_n4_every_adversary_is_safe_and_live_after_gst() {
    sweep(4);
}

#[test]
fn streamlet_n7_every_adversary_is_safe_and_live_after_gst() {
    sweep(7);
}

#[test]
fn streamlet_n10_every_adversary_is_safe_and_live_after_gst() {
    sweep(10);
}

#[test]
fn same_seed_same_trace_hash() {
    for adversary in StreamletAdversary::BYZANTINE {
        for seed in [1u64, 42, 7777] {
            let s = StreamletScenario::new(7, adversary, seed);
            let a = run_streamlet(&s);
            let b = run_streamlet(&s);
            assert_eq!(a.trace_hash, b.trace_hash);
            assert_eq!(a.stats, b.stats);
            assert_eq!(a.finalized, b.finalized);
            let c = run_streamlet(&StreamletScenario::new(7, adversary, seed + 1));
            assert_ne!(
                a.trace_hash, c.trace_hash,
                "different seeds give different runs"
            );
        }
    }
}

#[test]
fn asynchronous_network_is_safe() {
    for n in [4usize, 7] {
        for adversary in StreamletAdversary::BYZANTINE {
            for seed in 0..seeds() / 10 {
                let mut s = StreamletScenario::new(n, adversary, seed);
                s.network = StreamletNetwork::Asynchronous {
                    max_delay_epochs: 6,
                };
                s.max_epochs = 40;
                let r = run_streamlet(&s);
                assert_eq!(r.safety, Ok(()), "n={n} {adversary:?} seed={seed}");
            }
        }
    }
}

#[test]
fn synchronous_network_finalizes_every_run() {
    for adversary in StreamletAdversary::BYZANTINE {
        for seed in 0..seeds() / 10 {
            let mut s = StreamletScenario::new(10, adversary, seed);
            s.network = StreamletNetwork::Synchronous;
            let r = run_streamlet(&s);
            assert_eq!(r.safety, Ok(()));
            assert!(
                matches!(r.liveness, LivenessOutcome::Met { .. }),
                "{adversary:?} seed={seed}: {:?}",
                r.liveness
            );
        }
    }
}

/// The mutation check: with the quorum lowered to n/2 the same harness must find a
/// safety violation, proving the checker can fail.
#[test]
fn lowered_quorum_is_caught_by_the_safety_checker() {
    let mut violations = 0;
    let mut runs = 0;
    for adversary in [
        StreamletAdversary::DoubleVoter,
        StreamletAdversary::EquivocatingLeader,
    ] {
        for seed in 0..seeds().min(200) {
            let mut s = StreamletScenario::new(4, adversary, seed);
            s.insecure_quorum = Some(s.n / 2);
            s.network = StreamletNetwork::PartialSynchrony { max_gst_epochs: 30 };
            let r = run_streamlet(&s);
            runs += 1;
            if r.safety.is_err() {
                violations += 1;
            }
        }
    }
    println!("quorum n/2: {violations} of {runs} runs violate safety");
    assert!(
        violations > 0,
        "the safety checker must catch a lowered quorum"
    );
}

/// The liveness checker can fail: with more crashed validators than Streamlet
/// tolerates, runs stop finalizing and are reported.
#[test]
fn too_many_crashes_are_caught_by_the_liveness_checker() {
    let mut caught = 0;
    for seed in 0..50 {
        let mut s = StreamletScenario::new(4, StreamletAdversary::Crash, seed);
        s.byzantine = 2;
        let r = run_streamlet(&s);
        assert_eq!(r.safety, Ok(()), "crashes never break safety");
        if matches!(r.liveness, LivenessOutcome::Violated(_)) {
            caught += 1;
        }
    }
    assert!(caught > 0, "liveness violations must be reported");
}
