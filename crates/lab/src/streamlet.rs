//! Streamlet experiments (Chan and Shi 2020), on the simulator's runner and the
//! consensus crate's state machine: finality latency in epochs, throughput and message
//! cost for each network model and adversary.
//!
//! Streamlet's rules (see `ledger_consensus::streamlet`): "the epoch's leader proposes a
//! block extending the longest notarized chain it has seen; every player votes for the
//! first proposal from the epoch's leader that extends one of the longest notarized
//! chains it has seen; a block with votes from at least 2n/3 players is notarized; if a
//! notarized chain has three adjacent blocks with consecutive epochs, the prefix up to
//! the second of them is final"; every honest player echoes every message it hears for
//! the first time. Epochs last 2Δ.
//!
//! Finality latency of a block: the time an honest node finalizes it, minus the start
//! of the block's epoch, in epochs. Throughput: final blocks per epoch at each honest
//! node (every block here is empty; in the node each carries a batch of orders).

use crate::error::{LabError, Result};
use ledger_simulator::checkers::FinalizedRecord;
use ledger_simulator::core::mix;
use ledger_simulator::streamlet::{
    run_streamlet, LivenessOutcome, StreamletAdversary, StreamletNetwork, StreamletScenario,
};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Which validators a Streamlet scenario corrupted. The runner picks them by shuffling
/// the ids with a generator seeded from the scenario's seed; this repeats that choice
/// and checks it against the runner's report (each honest node's final height, in id
/// order). If the check fails, every validator is treated as honest.
pub fn honest_validators(
    s: &StreamletScenario,
    honest_heights: &[u64],
    finalized: &[FinalizedRecord],
) -> Vec<bool> {
    let mut rng = ChaCha8Rng::seed_from_u64(mix(s.seed, 0x7363_656e));
    let mut ids: Vec<usize> = (0..s.n).collect();
    ids.shuffle(&mut rng);
    let f = if s.adversary == StreamletAdversary::None {
        0
    } else {
        s.byzantine.min(s.n)
    };
    let mut honest = vec![true; s.n];
    for &i in &ids[..f] {
        honest[i] = false;
    }
    let heights: Vec<u64> = (0..s.n)
        .filter(|i| honest[*i])
        .map(|i| {
            finalized
                .iter()
                .filter(|r| r.node == i)
                .map(|r| r.height)
                .max()
                .unwrap_or(0)
        })
        .collect();
    if heights == honest_heights {
        honest
    } else {
        vec![true; s.n]
    }
}

/// The network models Streamlet runs on in the lab.
pub const NETWORKS: [&str; 3] = ["sync", "partial-sync", "async"];

/// Every adversary name.
pub const ADVERSARIES: [&str; 5] = [
    "none",
    "crash",
    "equivocating-leader",
    "vote-withholder",
    "double-voter",
];

/// Parses an adversary name.
pub fn parse_adversary(s: &str) -> Result<StreamletAdversary> {
    Ok(match s {
        "none" => StreamletAdversary::None,
        "crash" => StreamletAdversary::Crash,
        "equivocating-leader" | "equivocate" => StreamletAdversary::EquivocatingLeader,
        "vote-withholder" | "withhold" => StreamletAdversary::VoteWithholder,
        "double-voter" => StreamletAdversary::DoubleVoter,
        _ => {
            return Err(LabError::UnknownAdversary {
                protocol: "streamlet",
                given: s.to_string(),
                expected: ADVERSARIES.join(", "),
            })
        }
    })
}

/// The command-line name of an adversary.
pub fn adversary_name(a: StreamletAdversary) -> &'static str {
    match a {
        StreamletAdversary::None => "none",
        StreamletAdversary::Crash => "crash",
        StreamletAdversary::EquivocatingLeader => "equivocating-leader",
        StreamletAdversary::VoteWithholder => "vote-withholder",
        StreamletAdversary::DoubleVoter => "double-voter",
    }
}

/// Parses a network name: `sync`, `partial-sync` (GST uniform in the first 12 epochs)
/// or `async` (adversarial delays up to 3 epochs, no GST).
pub fn parse_network(s: &str) -> Result<StreamletNetwork> {
    Ok(match s {
        "sync" => StreamletNetwork::Synchronous,
        "partial-sync" => StreamletNetwork::PartialSynchrony { max_gst_epochs: 12 },
        "async" => StreamletNetwork::Asynchronous {
            max_delay_epochs: 3,
        },
        _ => {
            return Err(LabError::UnsupportedNetwork {
                protocol: "streamlet",
                network: s.to_string(),
                expected: NETWORKS.join(", "),
            })
        }
    })
}

/// Streamlet figures for one (n, network, adversary), over several seeds.
#[derive(Clone, Debug, Serialize)]
pub struct StreamletRow {
    /// Validators.
    pub n: usize,
    /// Byzantine validators (⌊(n−1)/3⌋ unless the adversary is `none`).
    pub f: usize,
    /// Network model.
    pub network: String,
    /// Adversary.
    pub adversary: String,
    /// Runs.
    pub seeds: u64,
    /// Every run was safe (no conflicting final blocks).
    pub safe: bool,
    /// Runs in which the liveness theorem's bound was met / checked.
    pub live_runs: u64,
    /// Runs in which liveness was checked (a GST and five honest leaders in a row).
    pub liveness_checked: u64,
    /// Epochs simulated (all runs).
    pub epochs: u64,
    /// Final blocks per epoch at an honest node (mean over nodes and runs).
    pub final_blocks_per_epoch: f64,
    /// Final blocks per second (epochs of 2Δ, Δ = 100 ms).
    pub final_blocks_per_second: f64,
    /// Finality latency in epochs: mean.
    pub latency_mean_epochs: f64,
    /// Finality latency in epochs: median.
    pub latency_p50_epochs: f64,
    /// Finality latency in epochs: 90th percentile.
    pub latency_p90_epochs: f64,
    /// Messages sent per epoch.
    pub messages_per_epoch: f64,
    /// Bits sent per epoch.
    pub bits_per_epoch: f64,
    /// Equivocation evidence items recorded by honest nodes.
    pub evidence: u64,
}

/// Runs `seeds` Streamlet runs of about `epochs` epochs each and summarises them.
pub fn streamlet_row(
    n: usize,
    network: &str,
    adversary: &str,
    seeds: u64,
    epochs: u64,
    seed0: u64,
) -> Result<StreamletRow> {
    if n == 0 {
        return Err(LabError::invalid("n", "at least one validator"));
    }
    if seeds == 0 || epochs < 10 {
        return Err(LabError::invalid(
            "seeds/epochs",
            "at least one seed and ten epochs",
        ));
    }
    let net = parse_network(network)?;
    let adv = parse_adversary(adversary)?;
    let mut latencies = Vec::new();
    let (mut safe, mut live, mut checked, mut total_epochs) = (true, 0, 0, 0);
    let (mut final_per_epoch, mut messages, mut bits, mut evidence, mut f) =
        (0.0, 0u64, 0u64, 0u64, 0);
    for k in 0..seeds {
        let mut s = StreamletScenario::new(n, adv, seed0.wrapping_add(k));
        s.network = net;
        s.max_epochs = epochs;
        s.extra_epochs = epochs;
        f = s.byzantine;
        let r = run_streamlet(&s);
        let epoch_us = (2 * s.delta_ms * 1000) as f64;
        safe &= r.safety.is_ok();
        match r.liveness {
            LivenessOutcome::Met { .. } => {
                live += 1;
                checked += 1;
            }
            LivenessOutcome::Violated(_) => checked += 1,
            LivenessOutcome::NotApplicable => {}
        }
        total_epochs += r.epochs;
        let honest_nodes = r.honest_final_heights.len().max(1);
        final_per_epoch += r.honest_final_heights.iter().sum::<u64>() as f64
            / honest_nodes as f64
            / r.epochs.max(1) as f64;
        let honest = honest_validators(&s, &r.honest_final_heights, &r.finalized);
        for rec in &r.finalized {
            if honest[rec.node] && rec.epoch > 0 {
                latencies.push(rec.time.0 as f64 / epoch_us - rec.epoch as f64);
            }
        }
        messages += r.stats.messages_sent;
        bits += r.stats.bits_sent;
        evidence += r.evidence as u64;
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            f64::NAN
        } else {
            latencies[((latencies.len() - 1) as f64 * p).round() as usize]
        }
    };
    let mean = if latencies.is_empty() {
        f64::NAN
    } else {
        latencies.iter().sum::<f64>() / latencies.len() as f64
    };
    let per_epoch = final_per_epoch / seeds as f64;
    Ok(StreamletRow {
        n,
        f: if adv == StreamletAdversary::None {
            0
        } else {
            f
        },
        network: network.to_string(),
        adversary: adversary.to_string(),
        seeds,
        safe,
        live_runs: live,
        liveness_checked: checked,
        epochs: total_epochs,
        final_blocks_per_epoch: per_epoch,
        final_blocks_per_second: per_epoch * 5.0,
        latency_mean_epochs: mean,
        latency_p50_epochs: pct(0.5),
        latency_p90_epochs: pct(0.9),
        messages_per_epoch: messages as f64 / total_epochs.max(1) as f64,
        bits_per_epoch: bits as f64 / total_epochs.max(1) as f64,
        evidence,
    })
}
