//! `ledger-sim`: the protocol lab's front end.
//!
//! - `ledger-sim run PROTOCOL [--n N --f F --network NET --adversary KIND --seed S] [--json]`
//!   runs one experiment and prints its outcome and figures (rounds, messages, bits,
//!   decisions).
//! - `ledger-sim sweep PROTOCOL [lists of parameters] [--format csv|json] [--out FILE]`
//!   runs a grid of experiments and writes one row per run.
//! - `ledger-sim report --out DIR` runs the standard suite and writes a self-contained
//!   HTML report with inline SVG charts.
//!
//! Data goes to stdout, logs and progress to stderr (progress bars only on a terminal).
//! Bad flags are errors with a non-zero exit code (2 for usage, 1 for failures).

mod args;
mod output;
mod sweep;

use args::{Cli, Command, Protocol, RunArgs};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use ledger_lab::dolev_strong::{run_dolev_strong, DsAdversary, DsScenario};
use ledger_lab::flp::{flp_demo, run_flp, FlpScenario, FlpScheduler};
use ledger_lab::nakamoto::{
    run_pow, selfish_full_stack, simulate_double_spend, simulate_selfish, Delay, PowScenario,
};
use ledger_lab::randomized::{run_randomized, AbaAdversary, AbaScenario, AsyncNetwork};
use ledger_lab::report::{run_suite, write_report, SuiteOptions};
use ledger_lab::streamlet::streamlet_row;
use ledger_lab::LabError;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

/// A failure: usage errors exit with 2, everything else with 1.
#[derive(Debug)]
pub enum Failure {
    /// The command line asks for something invalid.
    Usage(String),
    /// The experiment or the output failed.
    Run(String),
}

impl From<LabError> for Failure {
    fn from(e: LabError) -> Self {
        match e {
            LabError::Io { .. } | LabError::Json(_) => Failure::Run(e.to_string()),
            other => Failure::Usage(other.to_string()),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(a) => run(&a),
        Command::Sweep(a) => sweep::sweep(&a),
        Command::Report(a) => report(a.out.as_path(), a.seed, a.quick, a.threads),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "ledger-sim",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Run(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(1)
        }
    }
}

/// A progress bar on stderr, hidden unless stderr is a terminal.
pub fn progress_bar(total: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    let style =
        ProgressStyle::with_template("{prefix} [{bar:36}] {pos}/{len} {elapsed_precise} {msg}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style);
    pb.set_prefix(what.to_string());
    pb
}

fn run(a: &RunArgs) -> Result<(), Failure> {
    a.check_flags()?;
    let seed = a.seed;
    match a.protocol {
        Protocol::DolevStrong => {
            let n = a.n.unwrap_or(4);
            let adversary = DsAdversary::parse(a.adversary.as_deref().unwrap_or("none"))?;
            let f =
                a.f.unwrap_or(if adversary == DsAdversary::None { 0 } else { 1 });
            a.require_network(&["sync"])?;
            let mut s = DsScenario::new(n, f, adversary, seed);
            s.sig = a.sig()?;
            if let Some(v) = a.value {
                s.value = v;
            }
            s.rounds_override = a.rounds;
            let r = run_dolev_strong(&s)?;
            output::emit(a.json, &r, || output::dolev_strong_text(&r))
        }
        Protocol::Randomized => {
            let n = a.n.unwrap_or(4);
            let mut s = AbaScenario::new(n, seed);
            s.adversary = AbaAdversary::parse(a.adversary.as_deref().unwrap_or("conflicting"))?;
            s.f = a.f.unwrap_or(if s.adversary == AbaAdversary::None {
                0
            } else {
                (n.max(1) - 1) / 3
            });
            s.network = AsyncNetwork::parse("randomized", a.network.as_deref().unwrap_or("async"))?;
            s.inputs = a.inputs()?;
            if let Some(r) = a.rounds {
                s.max_rounds = r;
            }
            let r = run_randomized(&s)?;
            output::emit(a.json, &r, || output::randomized_text(&r, s.network))
        }
        Protocol::Flp => {
            let n = a.n.unwrap_or(4);
            let rounds = a.rounds.unwrap_or(1000);
            a.require_network(&["async"])?;
            match a.adversary.as_deref().unwrap_or("scheduler") {
                "scheduler" | "split" => {
                    if let Some(f) = a.f {
                        if f != (n.max(1) - 1) / 3 {
                            return Err(Failure::Usage(format!(
                                "flp uses f = ⌊(n−1)/3⌋ = {} for n = {n}",
                                (n.max(1) - 1) / 3
                            )));
                        }
                    }
                    let d = flp_demo(n, rounds, seed)?;
                    output::emit(a.json, &d, || output::flp_text(&d))
                }
                "none" | "fair" => {
                    let mut s = FlpScenario::new(n, FlpScheduler::Fair, rounds, seed);
                    if let Some(f) = a.f {
                        s.f = f;
                    }
                    let r = run_flp(&s)?;
                    output::emit(a.json, &r, || output::flp_run_text(&r))
                }
                other => Err(LabError::UnknownAdversary {
                    protocol: "flp",
                    given: other.to_string(),
                    expected: "scheduler (the FLP adversarial scheduler), none (a fair scheduler)"
                        .into(),
                }
                .into()),
            }
        }
        Protocol::Streamlet => {
            let n = a.n.unwrap_or(4);
            if a.f.is_some() {
                return Err(Failure::Usage(
                    "streamlet corrupts f = ⌊(n−1)/3⌋ validators when --adversary is not none; --f is not settable".into(),
                ));
            }
            let network = a.network.as_deref().unwrap_or("partial-sync");
            let adversary = a.adversary.as_deref().unwrap_or("none");
            let r = streamlet_row(
                n,
                network,
                adversary,
                a.seeds.unwrap_or(1),
                a.epochs.unwrap_or(100),
                seed,
            )?;
            output::emit(a.json, &r, || output::streamlet_text(&r))
        }
        Protocol::Nakamoto => {
            let miners = a.miners.unwrap_or(10);
            let blocks = a.blocks.unwrap_or(2000);
            match a.adversary.as_deref().unwrap_or("none") {
                "none" => {
                    let delay = a.delay_ms.unwrap_or(20.0);
                    let mut s = PowScenario::fixed(miners, delay, blocks, seed);
                    match a.network.as_deref().unwrap_or("sync") {
                        "sync" => {}
                        "async" => s.delay = Delay::Uniform(delay),
                        "partial-sync" => s.partition_ms = a.partition_ms.unwrap_or(30_000),
                        other => {
                            return Err(LabError::UnsupportedNetwork {
                                protocol: "nakamoto",
                                network: other.to_string(),
                                expected: "sync (fixed delay), async (uniform delays in [0, Δ]), partial-sync (a partition that heals)".into(),
                            }
                            .into())
                        }
                    }
                    s.common_prefix = true;
                    let r = run_pow(&s)?;
                    output::emit(a.json, &r, || output::pow_text(&r))
                }
                "selfish" => {
                    a.require_network(&["sync"])?;
                    let alpha = a.alpha.ok_or_else(|| {
                        Failure::Usage("--adversary selfish needs --alpha".into())
                    })?;
                    let r =
                        selfish_full_stack(alpha, a.gamma.unwrap_or(0.0), miners, blocks, seed)?;
                    output::emit(a.json, &r, || output::selfish_text(&r))
                }
                other => Err(LabError::UnknownAdversary {
                    protocol: "nakamoto",
                    given: other.to_string(),
                    expected: "none, selfish".into(),
                }
                .into()),
            }
        }
        Protocol::SelfishMining => {
            let alpha = a.alpha.unwrap_or(0.3);
            let gamma = a.gamma.unwrap_or(0.0);
            let r = if a.full_stack {
                selfish_full_stack(
                    alpha,
                    gamma,
                    a.miners.unwrap_or(10),
                    a.blocks.unwrap_or(5000),
                    seed,
                )?
            } else {
                simulate_selfish(alpha, gamma, a.blocks.unwrap_or(100_000), seed)?
            };
            output::emit(a.json, &r, || output::selfish_text(&r))
        }
        Protocol::DoubleSpend => {
            let r = simulate_double_spend(
                a.q.unwrap_or(0.1),
                a.depth.unwrap_or(6),
                a.trials.unwrap_or(100_000),
                seed,
            )?;
            output::emit(a.json, &r, || output::double_spend_text(&r))
        }
    }
}

fn report(out: &std::path::Path, seed: u64, quick: bool, threads: usize) -> Result<(), Failure> {
    let start = Instant::now();
    let opts = SuiteOptions {
        seed,
        quick,
        threads: threads.max(1),
    };
    let pb = progress_bar(9, "report");
    let report = run_suite(&opts, &mut |done, total, label| {
        pb.set_length(total as u64);
        pb.set_position(done as u64);
        pb.set_message(label.to_string());
        if pb.is_hidden() && done > 0 {
            eprintln!("[{done}/{total}] {label}");
        }
    })?;
    pb.finish_and_clear();
    let files = write_report(&report, out)?;
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.claim.as_str())
        .collect();
    eprintln!(
        "wrote {} ({} files) in {:.1} s; {} of {} checks passed",
        out.join("index.html").display(),
        files.len(),
        start.elapsed().as_secs_f64(),
        report.checks.len() - failed.len(),
        report.checks.len()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Run(format!(
            "checks failed: {}",
            failed.join("; ")
        )))
    }
}
