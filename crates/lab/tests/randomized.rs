//! Randomized agreement acceptance: over 1,000 seeds per configuration with
//! f = ⌊(n−1)/3⌋ Byzantine processes sending conflicting values, under the adversarial
//! scheduler, agreement and validity always hold, every honest process decides, and
//! the mean number of rounds is within the paper's bound (4).

use ledger_lab::randomized::{
    run_randomized, AbaScenario, AsyncNetwork, Inputs, MMR_EXPECTED_ROUNDS_BOUND,
};

fn sweep(n: usize, seeds: u64, network: AsyncNetwork, inputs: Inputs) -> (f64, u64, f64) {
    let mut total_rounds = 0u64;
    let mut max_rounds = 0;
    let mut messages = 0u64;
    for seed in 0..seeds {
        let mut s = AbaScenario::new(n, seed);
        s.network = network;
        s.inputs = inputs;
        assert_eq!(s.f, (n - 1) / 3);
        let r = run_randomized(&s).unwrap();
        let ctx = format!(
            "n={n} seed={seed} {network:?} {inputs:?}: {:?}",
            r.decisions
        );
        assert!(r.terminated, "termination: {ctx}");
        assert!(r.agreement, "agreement: {ctx}");
        assert!(r.validity, "validity: {ctx}");
        if let Inputs::All(v) = inputs {
            assert!(
                r.decisions.iter().flatten().all(|d| d.0 == v),
                "unanimous validity: {ctx}"
            );
        }
        total_rounds += r.rounds;
        max_rounds = max_rounds.max(r.rounds);
        messages += r.messages;
    }
    let mean = total_rounds as f64 / seeds as f64;
    println!("n={n} {network:?} {inputs:?}: {seeds} seeds, mean rounds {mean:.3}, max {max_rounds}, mean messages {:.0}", messages as f64 / seeds as f64);
    (mean, max_rounds, messages as f64 / seeds as f64)
}

#[test]
fn n4_thousand_seeds_adversarial_scheduler() {
    let (mean, _, _) = sweep(4, 1000, AsyncNetwork::Adversarial, Inputs::Random);
    assert!(mean <= MMR_EXPECTED_ROUNDS_BOUND, "mean rounds {mean}");
}

#[test]
fn n7_and_n10_thousand_seeds_adversarial_scheduler() {
    for n in [7, 10] {
        let (mean, _, _) = sweep(n, 1000, AsyncNetwork::Adversarial, Inputs::Random);
        assert!(
            mean <= MMR_EXPECTED_ROUNDS_BOUND,
            "n={n}: mean rounds {mean}"
        );
    }
}

#[test]
fn bivalent_and_unanimous_starts_and_other_networks() {
    for network in [
        AsyncNetwork::Adversarial,
        AsyncNetwork::Fair,
        AsyncNetwork::Synchronous,
        AsyncNetwork::PartialSynchrony,
    ] {
        for inputs in [Inputs::Split, Inputs::All(false), Inputs::All(true)] {
            let (mean, _, _) = sweep(7, 200, network, inputs);
            assert!(
                mean <= MMR_EXPECTED_ROUNDS_BOUND,
                "{network:?} {inputs:?}: {mean}"
            );
        }
    }
}

#[test]
fn runs_are_reproducible_from_the_seed() {
    for network in [AsyncNetwork::Adversarial, AsyncNetwork::Fair] {
        let mut s = AbaScenario::new(10, 42);
        s.network = network;
        let a = run_randomized(&s).unwrap();
        let b = run_randomized(&s).unwrap();
        assert_eq!(a.trace_hash, b.trace_hash);
        assert_eq!(
            (a.messages, a.rounds, &a.decisions),
            (b.messages, b.rounds, &b.decisions)
        );
        s.seed = 43;
        assert_ne!(run_randomized(&s).unwrap().trace_hash, a.trace_hash);
    }
}
