//! Dolev-Strong acceptance: for every adversary, every n from 1 to 16 and every f from
//! 0 to n-1, with real ed25519 signatures, every honest node outputs the same value
//! (consistency), the honest sender's value when the sender is honest (validity), and
//! every honest node outputs at the end of round f+1, exactly.

use ledger_lab::dolev_strong::{run_dolev_strong, DsAdversary, DsScenario};
use ledger_lab::sig::SigMode;

#[test]
fn consistency_validity_and_f_plus_one_rounds_for_every_adversary_n_and_f() {
    let mut runs = 0;
    let mut default_outputs = 0;
    let mut max_honest_messages = 0;
    for adversary in DsAdversary::ALL {
        for n in 1..=16usize {
            for f in 0..n {
                let s = DsScenario::new(n, f, adversary, (n * 100 + f) as u64);
                let r = run_dolev_strong(&s).unwrap();
                let ctx = format!("{adversary:?} n={n} f={f}: {:?}", r.outputs);
                assert!(r.consistent, "consistency: {ctx}");
                if r.sender_honest {
                    assert_eq!(r.valid, Some(true), "validity: {ctx}");
                }
                assert_eq!(r.rounds, Some(f as u64 + 1), "rounds: {ctx}");
                assert_eq!(r.outputs.len(), n - r.corrupt.len());
                if adversary == DsAdversary::None || adversary == DsAdversary::Withhold {
                    assert!(r.sender_honest);
                }
                if f > 0 && adversary.corrupts_sender() {
                    assert!(!r.sender_honest);
                }
                default_outputs += r.outputs.iter().filter(|o| o.value.is_none()).count();
                max_honest_messages = max_honest_messages.max(r.honest_messages);
                runs += 1;
            }
        }
    }
    println!(
        "{runs} runs, {default_outputs} default outputs, max honest messages {max_honest_messages}"
    );
}

#[test]
fn last_round_attack_needs_exactly_f_plus_one_rounds() {
    for n in [4usize, 7, 10, 16] {
        for f in 1..n {
            // With f+1 rounds the value released in round f reaches everyone.
            let s = DsScenario::new(n, f, DsAdversary::LastRound, 7 + n as u64);
            let r = run_dolev_strong(&s).unwrap();
            assert!(r.consistent);
            assert!(
                r.outputs.iter().all(|o| o.value == Some(7)),
                "n={n} f={f}: {:?}",
                r.outputs
            );
            // With only f rounds, the few honest nodes that got it in the last round
            // output it and the others output the default: consistency breaks.
            let honest = n - f;
            let few = honest.div_ceil(4).max(1);
            if honest > few {
                let mut short = s.clone();
                short.rounds_override = Some(f as u64);
                let r = run_dolev_strong(&short).unwrap();
                assert!(!r.consistent, "n={n} f={f}: f rounds must not be enough");
                assert_eq!(r.outputs.iter().filter(|o| o.value == Some(7)).count(), few);
            }
        }
    }
}

#[test]
fn equivocation_yields_the_default_everywhere() {
    for n in [3usize, 8, 16] {
        for f in 1..n - 1 {
            let r = run_dolev_strong(&DsScenario::new(n, f, DsAdversary::Equivocate, 3)).unwrap();
            assert!(r.consistent);
            assert!(r.outputs.iter().all(|o| o.value.is_none()), "n={n} f={f}");
        }
    }
}

#[test]
fn forged_chains_are_rejected_and_withholding_cannot_break_validity() {
    for sig in [SigMode::Ed25519, SigMode::Simulated] {
        let mut s = DsScenario::new(10, 6, DsAdversary::Withhold, 5);
        s.sig = sig;
        s.value = 42;
        let r = run_dolev_strong(&s).unwrap();
        assert_eq!(r.valid, Some(true));
        assert!(r.outputs.iter().all(|o| o.value == Some(42)));
        assert!(r.messages > r.honest_messages, "the coalition did send");
    }
}

#[test]
fn simulated_signatures_give_the_same_outcomes_and_runs_reproduce() {
    for adversary in DsAdversary::ALL {
        for (n, f) in [(5usize, 2usize), (9, 8), (12, 4)] {
            let s = DsScenario::new(n, f, adversary, 11);
            let mut sim = s.clone();
            sim.sig = SigMode::Simulated;
            let a = run_dolev_strong(&s).unwrap();
            let b = run_dolev_strong(&sim).unwrap();
            assert_eq!(a.outputs, b.outputs);
            assert_eq!((a.messages, a.bits), (b.messages, b.bits));
            assert_eq!(run_dolev_strong(&s).unwrap().trace_hash, a.trace_hash);
            assert_eq!(run_dolev_strong(&sim).unwrap().trace_hash, b.trace_hash);
        }
    }
}

#[test]
fn honest_messages_stay_within_the_quadratic_bound() {
    use ledger_lab::dolev_strong::{honest_message_upper_bound, honest_signature_upper_bound};
    for adversary in DsAdversary::ALL {
        for n in [8usize, 16, 32] {
            for f in [0, n / 4, n / 2, n - 1] {
                let mut s = DsScenario::new(n, f, adversary, 1);
                s.sig = SigMode::Simulated;
                let r = run_dolev_strong(&s).unwrap();
                assert!(r.consistent && r.rounds == Some(f as u64 + 1));
                assert!(r.honest_messages <= honest_message_upper_bound(n));
                assert!(r.honest_signatures <= honest_signature_upper_bound(n, f));
            }
        }
    }
}

#[test]
fn bad_parameters_are_errors() {
    assert!(run_dolev_strong(&DsScenario::new(4, 4, DsAdversary::None, 1)).is_err());
    assert!(run_dolev_strong(&DsScenario::new(0, 0, DsAdversary::None, 1)).is_err());
    assert!(DsAdversary::parse("bogus").is_err());
    assert_eq!(
        DsAdversary::parse("last-round").unwrap(),
        DsAdversary::LastRound
    );
}
