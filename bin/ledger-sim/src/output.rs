//! Human-readable and JSON output of single runs.

use crate::Failure;
use ledger_lab::dolev_strong::DsRun;
use ledger_lab::flp::{FlpDemo, FlpRun};
use ledger_lab::nakamoto::{DoubleSpendRow, PowRun, SelfishRow};
use ledger_lab::randomized::{AbaRun, AsyncNetwork};
use ledger_lab::streamlet::StreamletRow;
use serde::Serialize;
use std::fmt::Write as _;
use std::io::Write as _;

/// Prints `value` as JSON or `text()` to stdout.
pub fn emit<T: Serialize>(
    json: bool,
    value: &T,
    text: impl FnOnce() -> String,
) -> Result<(), Failure> {
    let s = if json {
        serde_json::to_string_pretty(value).map_err(|e| Failure::Run(e.to_string()))? + "\n"
    } else {
        text()
    };
    std::io::stdout()
        .write_all(s.as_bytes())
        .map_err(|e| Failure::Run(format!("cannot write to stdout: {e}")))
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "NO"
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or("⊥".to_string(), |v| v.to_string())
}

/// Dolev-Strong.
pub fn dolev_strong_text(r: &DsRun) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "dolev-strong  n={} f={} adversary={} signatures={:?} rounds run={}",
        r.n,
        r.f,
        r.adversary.name(),
        r.sig,
        r.protocol_rounds
    );
    let _ = writeln!(
        s,
        "corrupt nodes: {:?}  sender {}",
        r.corrupt,
        if r.sender_honest {
            format!("honest, input {}", r.sender_value)
        } else {
            "corrupt".to_string()
        }
    );
    let outs: Vec<String> = r
        .outputs
        .iter()
        .map(|o| format!("{}:{}", o.node, opt(o.value)))
        .collect();
    let _ = writeln!(s, "outputs (node:value): {}", outs.join(" "));
    let _ = writeln!(
        s,
        "consistent: {}  valid: {}  rounds: {}",
        yes(r.consistent),
        r.valid.map_or("n/a (corrupt sender)", yes),
        r.rounds.map_or("not uniform".to_string(), |x| format!(
            "{x} (f+1 = {})",
            r.f + 1
        ))
    );
    let _ = writeln!(
        s,
        "messages: {} (honest {})  signatures: {} (honest {})  bits: {}",
        r.messages, r.honest_messages, r.signatures, r.honest_signatures, r.bits
    );
    let _ = writeln!(s, "trace: {:016x}", r.trace_hash);
    s
}

/// Randomized agreement.
pub fn randomized_text(r: &AbaRun, network: AsyncNetwork) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "randomized (MMR 2014)  n={} f={} network={:?}",
        r.n, r.f, network
    );
    let ins: Vec<String> = r
        .inputs
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{i}:{}",
                v.map_or("byz".to_string(), |b| u8::from(b).to_string())
            )
        })
        .collect();
    let _ = writeln!(s, "inputs: {}", ins.join(" "));
    let dec: Vec<String> = r
        .decisions
        .iter()
        .enumerate()
        .filter(|(i, _)| r.inputs[*i].is_some())
        .map(|(i, d)| match d {
            Some((v, round)) => format!("{i}:{} (round {round})", u8::from(*v)),
            None => format!("{i}:undecided"),
        })
        .collect();
    let _ = writeln!(s, "decisions: {}", dec.join("  "));
    let _ = writeln!(
        s,
        "agreement: {}  validity: {}  terminated: {}",
        yes(r.agreement),
        yes(r.validity),
        yes(r.terminated)
    );
    let _ = writeln!(
        s,
        "rounds: {} (mean decision round {:.2}; the paper's expectation: 4)",
        r.rounds, r.mean_decision_round
    );
    let _ = writeln!(
        s,
        "messages: {}  bits: {}  virtual time: {:.3} ms",
        r.messages,
        r.bits,
        r.time_us as f64 / 1000.0
    );
    let _ = writeln!(s, "trace: {:016x}", r.trace_hash);
    s
}

/// One deterministic FLP run.
pub fn flp_run_text(r: &FlpRun) -> String {
    let mut s = String::new();
    let decided = r.decisions.iter().flatten().count();
    let _ = writeln!(
        s,
        "deterministic majority protocol  n={} f={} scheduler={:?}",
        r.n, r.f, r.scheduler
    );
    let _ = writeln!(
        s,
        "rounds completed: {} of {}  decided: {} of {}{}",
        r.rounds_completed,
        r.max_rounds,
        decided,
        r.n,
        r.decisions
            .iter()
            .flatten()
            .map(|d| d.1)
            .max()
            .map_or(String::new(), |x| format!(" (by round {x})"))
    );
    let _ = writeln!(
        s,
        "undecided throughout: {}  every round mixed: {}  agreement: {}",
        yes(r.undecided_throughout),
        yes(r.always_mixed),
        yes(r.agreement)
    );
    let _ = writeln!(
        s,
        "messages: {}  held back by the scheduler: {}",
        r.messages, r.held_back
    );
    s
}

/// The FLP demonstration.
pub fn flp_text(d: &FlpDemo) -> String {
    let mut s = String::from("== deterministic protocol, adversarial (FLP) scheduler ==\n");
    s.push_str(&flp_run_text(&d.deterministic_adversarial));
    s.push_str("== deterministic protocol, fair scheduler ==\n");
    s.push_str(&flp_run_text(&d.deterministic_fair));
    s.push_str("== randomized protocol (common coin), the same adversarial scheduler ==\n");
    s.push_str(&randomized_text(
        &d.randomized_adversarial,
        AsyncNetwork::Adversarial,
    ));
    s
}

/// Streamlet.
pub fn streamlet_text(r: &StreamletRow) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "streamlet  n={} f={} network={} adversary={} seeds={} epochs={}",
        r.n, r.f, r.network, r.adversary, r.seeds, r.epochs
    );
    let _ = writeln!(
        s,
        "safe: {}  liveness bound met: {} of {} checked runs",
        yes(r.safe),
        r.live_runs,
        r.liveness_checked
    );
    let _ = writeln!(
        s,
        "finality latency (epochs): mean {:.2}  median {:.2}  p90 {:.2}",
        r.latency_mean_epochs, r.latency_p50_epochs, r.latency_p90_epochs
    );
    let _ = writeln!(
        s,
        "throughput: {:.3} final blocks per epoch ({:.2} per second)",
        r.final_blocks_per_epoch, r.final_blocks_per_second
    );
    let _ = writeln!(
        s,
        "messages per epoch: {:.0}  bits per epoch: {:.0}  evidence: {}",
        r.messages_per_epoch, r.bits_per_epoch, r.evidence
    );
    s
}

/// Nakamoto.
pub fn pow_text(r: &PowRun) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "nakamoto  miners={} λΔ={:.3}", r.miners, r.lambda_delta);
    let _ = writeln!(s, "mined: {}  main chain: {}", r.mined, r.main_chain);
    let _ = writeln!(
        s,
        "stale rate: {:.4} ± {:.4}  analytic {:.4}  first order {:.4}",
        r.stale_rate, r.stale_stderr, r.stale_formula, r.stale_first_order
    );
    let _ = writeln!(
        s,
        "chain growth: {:.4} blocks per block interval",
        r.growth_per_interval
    );
    let _ = writeln!(
        s,
        "common-prefix violations for k = 1..10: {:?}  deepest fork: {}",
        r.cp_violations_by_depth, r.max_fork_depth
    );
    let _ = writeln!(
        s,
        "messages: {}  virtual time: {} ms",
        r.messages, r.duration_ms
    );
    s
}

/// Selfish mining.
pub fn selfish_text(r: &SelfishRow) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "selfish mining ({})  alpha={} gamma={:.3} blocks={}",
        r.engine, r.alpha, r.gamma, r.blocks
    );
    let _ = writeln!(
        s,
        "pool's relative revenue: {:.4}  Eyal-Sirer: {:.4}  difference: {:+.2} points  (honest mining: {:.4})",
        r.revenue,
        r.formula,
        r.difference * 100.0,
        r.alpha
    );
    let _ = writeln!(
        s,
        "main-chain blocks: pool {} honest {}  orphaned: honest {} pool {}",
        r.pool_blocks, r.honest_blocks, r.orphaned_honest, r.orphaned_pool
    );
    s
}

/// Double spending.
pub fn double_spend_text(r: &DoubleSpendRow) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "double spend  q={} confirmations={} trials={}",
        r.q, r.z, r.trials
    );
    let _ = writeln!(
        s,
        "success rate: {:.5} ± {:.5}  Rosenfeld (exact): {:.5}  Nakamoto (estimate): {:.5}",
        r.rate, r.stderr, r.rosenfeld, r.nakamoto
    );
    s
}
