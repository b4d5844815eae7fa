//! Complexity analysis: rounds, messages and bits per protocol over sweeps of n and f,
//! next to the theoretical bounds.
//!
//! - Dolev-Strong: exactly f + 1 rounds (optimal: "no deterministic protocol can reach
//!   agreement in fewer than t + 1 rounds", Dolev and Strong 1983); honest messages at
//!   most `(n−1) + 2n(n−1)` = O(n²) and signatures at most that times f + 1 = O(n²f);
//!   the Dolev-Reischuk lower bounds `max(n−1, (f/2)²)` messages and Ω(nf) signatures
//!   (worst case over executions).
//! - MMR randomized agreement: expected constant rounds (the paper: four), at most
//!   3n(n−1) messages per round (O(n²)).
//! - Streamlet: O(n³) messages per epoch with the echo rule (n votes, each echoed by
//!   every node to every node).

use crate::dolev_strong::{
    dolev_reischuk_messages, dolev_reischuk_signatures, honest_message_upper_bound,
    honest_signature_upper_bound, run_dolev_strong, DsAdversary, DsScenario,
};
use crate::error::Result;
use crate::randomized::{
    mmr_messages_per_round_bound, run_randomized, AbaScenario, MMR_EXPECTED_ROUNDS_BOUND,
};
use crate::sig::SigMode;
use crate::streamlet::streamlet_row;
use serde::Serialize;

/// Dolev-Strong figures for one (n, f): the worst case over every adversary.
#[derive(Clone, Debug, Serialize)]
pub struct DsComplexityRow {
    /// Nodes.
    pub n: usize,
    /// Corrupt nodes.
    pub f: usize,
    /// Rounds every honest node took (the same under every adversary).
    pub rounds: u64,
    /// The f + 1 bound.
    pub rounds_bound: u64,
    /// Most messages sent by honest nodes (over adversaries).
    pub honest_messages: u64,
    /// Most messages sent by all nodes.
    pub messages: u64,
    /// Most signatures sent by honest nodes.
    pub honest_signatures: u64,
    /// Most bits sent by all nodes.
    pub bits: u64,
    /// Upper bound on honest messages, (n−1) + 2n(n−1).
    pub messages_upper_bound: u64,
    /// Upper bound on honest signatures, O(n²f).
    pub signatures_upper_bound: u64,
    /// Dolev-Reischuk lower bound on messages (worst case), max(n−1, (f/2)²).
    pub dolev_reischuk_messages: f64,
    /// Dolev-Reischuk lower bound on signatures, n(f+1)/4.
    pub dolev_reischuk_signatures: f64,
    /// Every run was consistent and valid.
    pub correct: bool,
}

/// Dolev-Strong over (n, f) pairs, every adversary, simulated signatures.
pub fn dolev_strong_sweep(
    pairs: &[(usize, usize)],
    seed: u64,
    sig: SigMode,
) -> Result<Vec<DsComplexityRow>> {
    let mut rows = Vec::new();
    for &(n, f) in pairs {
        let mut row = DsComplexityRow {
            n,
            f,
            rounds: 0,
            rounds_bound: f as u64 + 1,
            honest_messages: 0,
            messages: 0,
            honest_signatures: 0,
            bits: 0,
            messages_upper_bound: honest_message_upper_bound(n),
            signatures_upper_bound: honest_signature_upper_bound(n, f),
            dolev_reischuk_messages: dolev_reischuk_messages(n, f),
            dolev_reischuk_signatures: dolev_reischuk_signatures(n, f),
            correct: true,
        };
        for adversary in DsAdversary::ALL {
            let mut s = DsScenario::new(n, f, adversary, seed);
            s.sig = sig;
            let r = run_dolev_strong(&s)?;
            row.correct &= r.consistent && r.valid != Some(false) && r.rounds == Some(f as u64 + 1);
            row.rounds = row.rounds.max(r.rounds.unwrap_or(0));
            row.honest_messages = row.honest_messages.max(r.honest_messages);
            row.messages = row.messages.max(r.messages);
            row.honest_signatures = row.honest_signatures.max(r.honest_signatures);
            row.bits = row.bits.max(r.bits);
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Randomized agreement figures for one n over many seeds.
#[derive(Clone, Debug, Serialize)]
pub struct AbaComplexityRow {
    /// Processes.
    pub n: usize,
    /// Byzantine processes, ⌊(n−1)/3⌋.
    pub f: usize,
    /// Runs.
    pub seeds: u64,
    /// Mean decision round of an honest process (the paper's "rounds to decide").
    pub mean_decision_round: f64,
    /// Mean rounds to the last honest decision of a run.
    pub mean_rounds: f64,
    /// Standard error of the mean.
    pub rounds_stderr: f64,
    /// Most rounds in a run.
    pub max_rounds: u64,
    /// The paper's expected-rounds bound.
    pub rounds_bound: f64,
    /// Mean messages per run.
    pub mean_messages: f64,
    /// Mean messages per round started (processes run on after deciding until the
    /// last one decides).
    pub messages_per_round: f64,
    /// 3n(n−1): the per-round bound for honest processes.
    pub messages_per_round_bound: u64,
    /// Mean bits per run.
    pub mean_bits: f64,
    /// Agreement, validity and termination held in every run, and no run sent more
    /// than 3n(n−1) messages per round started.
    pub correct: bool,
}

/// MMR agreement for each n, f = ⌊(n−1)/3⌋ conflicting Byzantine processes, random
/// inputs, the adversarial scheduler.
pub fn randomized_sweep(ns: &[usize], seeds: u64, seed0: u64) -> Result<Vec<AbaComplexityRow>> {
    let mut rows = Vec::new();
    for &n in ns {
        let (mut rounds, mut sq, mut max, mut msgs, mut bits, mut correct) =
            (0u64, 0u64, 0, 0u64, 0u64, true);
        let mut started = 0u64;
        let mut decision_rounds = 0.0;
        let mut f = 0;
        for k in 0..seeds {
            let s = AbaScenario::new(n, seed0.wrapping_add(k));
            f = s.f;
            let r = run_randomized(&s)?;
            correct &= r.terminated && r.agreement && r.validity;
            rounds += r.rounds;
            decision_rounds += r.mean_decision_round;
            started += r.rounds_started;
            correct &= r.messages <= mmr_messages_per_round_bound(n) * r.rounds_started;
            sq += r.rounds * r.rounds;
            max = max.max(r.rounds);
            msgs += r.messages;
            bits += r.bits;
        }
        let m = seeds.max(1) as f64;
        let mean = rounds as f64 / m;
        let var = (sq as f64 / m - mean * mean).max(0.0);
        rows.push(AbaComplexityRow {
            n,
            f,
            seeds,
            mean_decision_round: decision_rounds / m,
            mean_rounds: mean,
            rounds_stderr: (var / m).sqrt(),
            max_rounds: max,
            rounds_bound: MMR_EXPECTED_ROUNDS_BOUND,
            mean_messages: msgs as f64 / m,
            messages_per_round: msgs as f64 / started.max(1) as f64,
            messages_per_round_bound: mmr_messages_per_round_bound(n),
            mean_bits: bits as f64 / m,
            correct,
        });
    }
    Ok(rows)
}

/// Streamlet messages per epoch for one n.
#[derive(Clone, Debug, Serialize)]
pub struct StreamletComplexityRow {
    /// Validators.
    pub n: usize,
    /// Messages per epoch (synchronous, all honest).
    pub messages_per_epoch: f64,
    /// Bits per epoch.
    pub bits_per_epoch: f64,
    /// n³, the order of the echo rule's cost.
    pub n_cubed: u64,
}

/// Streamlet's per-epoch cost for each n (synchronous network, no adversary).
pub fn streamlet_sweep(
    ns: &[usize],
    epochs: u64,
    seed: u64,
) -> Result<Vec<StreamletComplexityRow>> {
    ns.iter()
        .map(|&n| {
            let r = streamlet_row(n, "sync", "none", 1, epochs, seed)?;
            Ok(StreamletComplexityRow {
                n,
                messages_per_epoch: r.messages_per_epoch,
                bits_per_epoch: r.bits_per_epoch,
                n_cubed: (n as u64).pow(3),
            })
        })
        .collect()
}
