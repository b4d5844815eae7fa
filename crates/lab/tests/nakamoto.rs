//! Nakamoto acceptance:
//! - selfish mining: the pool's relative revenue, simulated over 100,000 blocks per
//!   configuration, is within 2 percentage points of Eyal and Sirer's closed form at
//!   each α in {0.1, 0.2, 0.25, 0.3, 0.35, 0.4} and γ in {0, 0.5, 1};
//! - double spending: the simulated success rate by confirmation depth agrees with
//!   Rosenfeld's exact formula within sampling error (3.5 standard errors);
//! - stale blocks: honest miners running the consensus crate's Nakamoto machine under a
//!   fixed delay Δ have the analytic stale rate within sampling error.

use ledger_lab::nakamoto::{
    nakamoto_double_spend, rosenfeld_double_spend, run_pow, selfish_full_stack,
    simulate_double_spend, simulate_selfish, stale_rate_first_order, stale_rate_formula, Delay,
    PowScenario,
};

#[test]
fn selfish_revenue_matches_eyal_sirer_within_two_points() {
    let mut worst: f64 = 0.0;
    for gamma in [0.0, 0.5, 1.0] {
        for alpha in [0.1, 0.2, 0.25, 0.3, 0.35, 0.4] {
            let r = simulate_selfish(alpha, gamma, 100_000, 7).unwrap();
            assert!(r.blocks >= 100_000);
            println!(
                "alpha {alpha:.2} gamma {gamma:.1}: simulated {:.4}, Eyal-Sirer {:.4}, diff {:+.4}",
                r.revenue, r.formula, r.difference
            );
            assert!(
                r.difference.abs() < 0.02,
                "alpha {alpha} gamma {gamma}: {r:?}"
            );
            worst = worst.max(r.difference.abs());
        }
    }
    println!("largest difference {:.4}", worst);
    // Selfish mining pays above the threshold and not below it (γ = 0: α > 1/3).
    assert!(simulate_selfish(0.4, 0.0, 100_000, 1).unwrap().revenue > 0.4);
    assert!(simulate_selfish(0.25, 0.0, 100_000, 1).unwrap().revenue < 0.25);
}

#[test]
fn full_stack_selfish_miner_tracks_the_formula() {
    // The consensus crate's state machines: a short run, a loose bound.
    for alpha in [0.25, 0.35] {
        let r = selfish_full_stack(alpha, 0.0, 10, 3000, 3).unwrap();
        println!(
            "full stack alpha {alpha}: {:.4} vs {:.4}",
            r.revenue, r.formula
        );
        assert!(r.difference.abs() < 0.04, "{r:?}");
    }
}

#[test]
fn double_spend_success_matches_rosenfeld_within_sampling_error() {
    let trials = 20_000;
    for q in [0.1, 0.25, 0.3, 0.4] {
        for z in 1..=8u64 {
            let r = simulate_double_spend(q, z, trials, 100 + z).unwrap();
            let expected = rosenfeld_double_spend(q, z);
            // Only where the normal approximation is sound (20+ expected successes).
            if expected * trials as f64 >= 20.0 {
                let dev = (r.rate - expected) / r.stderr;
                assert!(
                    dev.abs() < 3.5,
                    "q={q} z={z}: {} vs {expected} ({dev:.2} sigma)",
                    r.rate
                );
            }
            assert!((r.nakamoto - nakamoto_double_spend(q, z)).abs() < 1e-12);
        }
    }
}

#[test]
fn closed_forms_known_values() {
    // Rosenfeld: one confirmation against q gives 2q; q >= 1/2 always succeeds.
    for q in [0.05, 0.1, 0.3] {
        assert!((rosenfeld_double_spend(q, 1) - 2.0 * q).abs() < 1e-12);
    }
    assert_eq!(rosenfeld_double_spend(0.5, 6), 1.0);
    // Nakamoto's table (whitepaper, q = 0.1): z=5 -> 0.0009137, z=10 -> 0.0000012.
    assert!((nakamoto_double_spend(0.1, 5) - 0.000_913_7).abs() < 1e-7);
    assert!((nakamoto_double_spend(0.1, 10) - 0.000_001_2).abs() < 1e-7);
    // Rosenfeld's exact value is larger than Nakamoto's estimate at q = 0.1.
    assert!(rosenfeld_double_spend(0.1, 6) > nakamoto_double_spend(0.1, 6));
    // Stale rate: λΔ/(1+λΔ) for many miners, first order for small λΔ.
    assert!((stale_rate_formula(1.0, 1_000_000) - 0.5).abs() < 1e-5);
    assert!((stale_rate_formula(0.01, 10) - stale_rate_first_order(0.01, 10)).abs() < 1e-4);
}

#[test]
fn stale_rate_under_a_fixed_delay_matches_the_analytic_rate() {
    for (delay_ms, blocks) in [
        (20.0, 10_000u64),
        (50.0, 10_000),
        (100.0, 5_000),
        (200.0, 5_000),
    ] {
        let r = run_pow(&PowScenario::fixed(10, delay_ms, blocks, 5)).unwrap();
        let dev = (r.stale_rate - r.stale_formula) / r.stale_stderr;
        println!(
            "λΔ = {:.2}: stale {:.4} ± {:.4}, analytic {:.4} ({dev:+.2} σ), first order {:.4}, growth {:.4}/T",
            r.lambda_delta, r.stale_rate, r.stale_stderr, r.stale_formula, r.stale_first_order, r.growth_per_interval
        );
        assert!(dev.abs() < 3.0, "{r:?}");
        if r.lambda_delta <= 0.05 {
            let dev1 = (r.stale_rate - r.stale_first_order) / r.stale_stderr;
            assert!(dev1.abs() < 3.0, "first order: {r:?}");
        }
        assert!(r.main_chain >= blocks);
    }
}

#[test]
fn common_prefix_violations_shrink_with_depth_and_runs_reproduce() {
    let mut s = PowScenario::fixed(8, 0.0, 1500, 2);
    s.delay = Delay::Uniform(1000.0);
    s.common_prefix = true;
    let r = run_pow(&s).unwrap();
    let v = &r.cp_violations_by_depth;
    assert!(v[0] > 0, "λΔ = 1 forks at depth 1: {v:?}");
    assert!(v.windows(2).all(|w| w[0] >= w[1]), "{v:?}");
    assert!(*v.last().unwrap() < v[0]);
    let again = run_pow(&s).unwrap();
    assert_eq!(again.trace_hash, r.trace_hash);
    assert_eq!(again.cp_violations_by_depth, r.cp_violations_by_depth);
}
