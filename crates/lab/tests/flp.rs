//! FLP acceptance: the deterministic protocol stays undecided for the whole bounded
//! run under the adversarial scheduler (every process completes every round, always
//! seeing both values), decides under a fair scheduler, and the randomized protocol
//! decides under the very same adversarial scheduler.

use ledger_lab::flp::{flp_demo, run_flp, FlpScenario, FlpScheduler};

#[test]
fn adversarial_scheduler_keeps_the_deterministic_protocol_undecided() {
    for (n, rounds) in [(4usize, 5000u64), (7, 2000), (10, 1000), (16, 300)] {
        for seed in 0..3 {
            let r = run_flp(&FlpScenario::new(
                n,
                FlpScheduler::Adversarial,
                rounds,
                seed,
            ))
            .unwrap();
            assert!(
                r.undecided_throughout,
                "n={n} seed={seed}: {:?}",
                r.decisions
            );
            assert_eq!(r.rounds_completed, rounds, "every process ran every round");
            assert!(r.always_mixed);
            assert!(r.held_back > 0);
            println!(
                "n={n} seed={seed}: {} rounds undecided, {} messages, {} held back",
                r.rounds_completed, r.messages, r.held_back
            );
        }
    }
}

#[test]
fn fair_scheduler_decides_and_agrees() {
    for n in [4usize, 7, 10, 16] {
        let mut worst = 0;
        for seed in 0..100 {
            let r = run_flp(&FlpScenario::new(n, FlpScheduler::Fair, 1000, seed)).unwrap();
            assert!(r.decisions.iter().all(|d| d.is_some()), "n={n} seed={seed}");
            assert!(r.agreement);
            worst = worst.max(r.decisions.iter().flatten().map(|d| d.1).max().unwrap());
        }
        println!("n={n}: fair scheduler, 100 seeds all decided, latest decision round {worst}");
    }
}

#[test]
fn randomized_protocol_decides_under_the_same_scheduler() {
    for n in [4usize, 7, 10] {
        for seed in 0..50 {
            let d = flp_demo(n, 500, seed).unwrap();
            assert!(d.deterministic_adversarial.undecided_throughout);
            assert!(d.deterministic_fair.decisions.iter().all(|x| x.is_some()));
            let r = &d.randomized_adversarial;
            assert!(
                r.terminated && r.agreement && r.validity,
                "n={n} seed={seed}"
            );
        }
    }
}

#[test]
fn impossible_configurations_are_errors() {
    assert!(run_flp(&FlpScenario::new(3, FlpScheduler::Fair, 10, 0)).is_err());
    assert!(run_flp(&FlpScenario::new(5, FlpScheduler::Fair, 10, 0)).is_err());
}

#[test]
fn runs_are_reproducible_from_the_seed() {
    for sched in [FlpScheduler::Adversarial, FlpScheduler::Fair] {
        let a = run_flp(&FlpScenario::new(7, sched, 200, 5)).unwrap();
        let b = run_flp(&FlpScenario::new(7, sched, 200, 5)).unwrap();
        assert_eq!(a.trace_hash, b.trace_hash);
        assert_eq!(a.decisions, b.decisions);
    }
}
