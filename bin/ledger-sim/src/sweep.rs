//! `ledger-sim sweep`: a grid of runs, one row each, as CSV or JSON.

use crate::args::{parse_f64_list, parse_inputs, parse_usize_list, Format, Protocol, SweepArgs};
use crate::{progress_bar, Failure};
use ledger_lab::dolev_strong::{run_dolev_strong, DsAdversary, DsScenario};
use ledger_lab::flp::{run_flp, FlpScenario, FlpScheduler};
use ledger_lab::nakamoto::{run_pow, simulate_double_spend, simulate_selfish, PowScenario};
use ledger_lab::randomized::{run_randomized, AbaAdversary, AbaScenario, AsyncNetwork};
use ledger_lab::sig::SigMode;
use ledger_lab::streamlet::{streamlet_row, ADVERSARIES, NETWORKS};
use ledger_lab::table::Table;
use serde::Serialize;
use std::io::Write as _;

#[derive(Serialize)]
struct DsRow {
    n: usize,
    f: usize,
    adversary: &'static str,
    seed: u64,
    sender_honest: bool,
    outputs: String,
    consistent: bool,
    valid: Option<bool>,
    rounds: Option<u64>,
    messages: u64,
    honest_messages: u64,
    signatures: u64,
    bits: u64,
}

#[derive(Serialize)]
struct AbaRow {
    n: usize,
    f: usize,
    network: String,
    seed: u64,
    terminated: bool,
    agreement: bool,
    validity: bool,
    rounds: u64,
    mean_decision_round: f64,
    messages: u64,
    bits: u64,
}

#[derive(Serialize)]
struct FlpRow {
    n: usize,
    f: usize,
    scheduler: &'static str,
    seed: u64,
    rounds_completed: u64,
    decided: usize,
    undecided_throughout: bool,
    agreement: bool,
    messages: u64,
    held_back: u64,
}

/// Rejects flags the protocol's sweep does not use.
fn check_flags(a: &SweepArgs) -> Result<(), Failure> {
    let given = [
        ("--n", a.n.is_some()),
        ("--f", a.f.is_some()),
        ("--network", a.network.is_some()),
        ("--adversary", a.adversary.is_some()),
        ("--sig", a.sig.is_some()),
        ("--rounds", a.rounds.is_some()),
        ("--inputs", a.inputs.is_some()),
        ("--epochs", a.epochs.is_some()),
        ("--miners", a.miners.is_some()),
        ("--delay-ms", a.delay_ms.is_some()),
        ("--alpha", a.alpha.is_some()),
        ("--gamma", a.gamma.is_some()),
        ("--blocks", a.blocks.is_some()),
        ("--q", a.q.is_some()),
        ("--depth", a.depth.is_some()),
        ("--trials", a.trials.is_some()),
    ];
    let allowed: &[&str] = match a.protocol {
        Protocol::DolevStrong => &["--n", "--f", "--adversary", "--sig"],
        Protocol::Randomized => &[
            "--n",
            "--f",
            "--network",
            "--adversary",
            "--rounds",
            "--inputs",
        ],
        Protocol::Flp => &["--n", "--adversary", "--rounds"],
        Protocol::Streamlet => &["--n", "--network", "--adversary", "--epochs"],
        Protocol::Nakamoto => &["--miners", "--delay-ms", "--blocks"],
        Protocol::SelfishMining => &["--alpha", "--gamma", "--blocks"],
        Protocol::DoubleSpend => &["--q", "--depth", "--trials"],
    };
    for (flag, set) in given {
        if set && !allowed.contains(&flag) {
            return Err(Failure::Usage(format!(
                "{flag} is not used by `sweep {}`; its flags are: {} --seeds --seed --format --out",
                a.protocol.name(),
                allowed.join(" ")
            )));
        }
    }
    if a.seeds == 0 {
        return Err(Failure::Usage("--seeds must be at least 1".into()));
    }
    Ok(())
}

fn list(s: &Option<String>, default: &str) -> Vec<String> {
    s.as_deref()
        .unwrap_or(default)
        .split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

/// Runs the sweep and writes the table.
pub fn sweep(a: &SweepArgs) -> Result<(), Failure> {
    check_flags(a)?;
    let seeds: Vec<u64> = (0..a.seeds).map(|k| a.seed.wrapping_add(k)).collect();
    let table = match a.protocol {
        Protocol::DolevStrong => {
            let ns = parse_usize_list("--n", a.n.as_deref().unwrap_or("4,7,10"))?;
            let advs: Vec<DsAdversary> = match a.adversary.as_deref().unwrap_or("all") {
                "all" => DsAdversary::ALL.to_vec(),
                s => s
                    .split(',')
                    .map(|x| DsAdversary::parse(x.trim()))
                    .collect::<Result<_, _>>()?,
            };
            let sig = match a.sig.as_deref() {
                None => SigMode::Ed25519,
                Some(s) => SigMode::parse(s).ok_or_else(|| {
                    Failure::Usage(format!("unknown --sig `{s}`; expected ed25519 or sim"))
                })?,
            };
            let mut grid = Vec::new();
            for &n in &ns {
                let fs = match a.f.as_deref().unwrap_or("all") {
                    "all" => (0..n).collect(),
                    s => parse_usize_list("--f", s)?,
                };
                for f in fs {
                    for &adv in &advs {
                        for &seed in &seeds {
                            grid.push((n, f, adv, seed));
                        }
                    }
                }
            }
            let pb = progress_bar(grid.len() as u64, "dolev-strong");
            let mut rows = Vec::new();
            for (n, f, adversary, seed) in grid {
                let mut s = DsScenario::new(n, f, adversary, seed);
                s.sig = sig;
                let r = run_dolev_strong(&s)?;
                let mut vals: Vec<String> = r
                    .outputs
                    .iter()
                    .map(|o| o.value.map_or("⊥".into(), |v| v.to_string()))
                    .collect();
                vals.dedup();
                rows.push(DsRow {
                    n,
                    f,
                    adversary: adversary.name(),
                    seed,
                    sender_honest: r.sender_honest,
                    outputs: vals.join("/"),
                    consistent: r.consistent,
                    valid: r.valid,
                    rounds: r.rounds,
                    messages: r.messages,
                    honest_messages: r.honest_messages,
                    signatures: r.signatures,
                    bits: r.bits,
                });
                pb.inc(1);
            }
            pb.finish_and_clear();
            Table::from_rows(&rows)?
        }
        Protocol::Randomized => {
            let ns = parse_usize_list("--n", a.n.as_deref().unwrap_or("4,7,10"))?;
            let nets = list(&a.network, "async");
            let adversary = AbaAdversary::parse(a.adversary.as_deref().unwrap_or("conflicting"))?;
            let inputs = parse_inputs(a.inputs.as_deref().unwrap_or("random"))?;
            let fs: Option<Vec<usize>> =
                a.f.as_deref()
                    .map(|s| parse_usize_list("--f", s))
                    .transpose()?;
            let mut grid = Vec::new();
            for &n in &ns {
                let default_f = if adversary == AbaAdversary::None {
                    0
                } else {
                    (n.max(1) - 1) / 3
                };
                for f in fs.clone().unwrap_or_else(|| vec![default_f]) {
                    for net in &nets {
                        let network = AsyncNetwork::parse("randomized", net)?;
                        for &seed in &seeds {
                            grid.push((n, f, network, net.clone(), seed));
                        }
                    }
                }
            }
            let pb = progress_bar(grid.len() as u64, "randomized");
            let mut rows = Vec::new();
            for (n, f, network, net, seed) in grid {
                let mut s = AbaScenario::new(n, seed);
                s.f = f;
                s.adversary = adversary;
                s.network = network;
                s.inputs = inputs;
                if let Some(r) = a.rounds {
                    s.max_rounds = r;
                }
                let r = run_randomized(&s)?;
                rows.push(AbaRow {
                    n,
                    f: r.f,
                    network: net,
                    seed,
                    terminated: r.terminated,
                    agreement: r.agreement,
                    validity: r.validity,
                    rounds: r.rounds,
                    mean_decision_round: r.mean_decision_round,
                    messages: r.messages,
                    bits: r.bits,
                });
                pb.inc(1);
            }
            pb.finish_and_clear();
            Table::from_rows(&rows)?
        }
        Protocol::Flp => {
            let ns = parse_usize_list("--n", a.n.as_deref().unwrap_or("4,7,10"))?;
            let scheds: Vec<(FlpScheduler, &'static str)> =
                match a.adversary.as_deref().unwrap_or("all") {
                    "all" => vec![
                        (FlpScheduler::Adversarial, "adversarial"),
                        (FlpScheduler::Fair, "fair"),
                    ],
                    "scheduler" | "split" => vec![(FlpScheduler::Adversarial, "adversarial")],
                    "none" | "fair" => vec![(FlpScheduler::Fair, "fair")],
                    other => {
                        return Err(Failure::Usage(format!(
                        "unknown adversary `{other}` for flp; expected one of: scheduler, none, all"
                    )))
                    }
                };
            let rounds = a.rounds.unwrap_or(500);
            let mut rows = Vec::new();
            let pb = progress_bar((ns.len() * scheds.len() * seeds.len()) as u64, "flp");
            for &n in &ns {
                for &(sched, name) in &scheds {
                    for &seed in &seeds {
                        let r = run_flp(&FlpScenario::new(n, sched, rounds, seed))?;
                        rows.push(FlpRow {
                            n,
                            f: r.f,
                            scheduler: name,
                            seed,
                            rounds_completed: r.rounds_completed,
                            decided: r.decisions.iter().flatten().count(),
                            undecided_throughout: r.undecided_throughout,
                            agreement: r.agreement,
                            messages: r.messages,
                            held_back: r.held_back,
                        });
                        pb.inc(1);
                    }
                }
            }
            pb.finish_and_clear();
            Table::from_rows(&rows)?
        }
        Protocol::Streamlet => {
            let ns = parse_usize_list("--n", a.n.as_deref().unwrap_or("4,7"))?;
            let nets = match a.network.as_deref().unwrap_or("all") {
                "all" => NETWORKS.iter().map(|s| s.to_string()).collect(),
                _ => list(&a.network, ""),
            };
            let advs = match a.adversary.as_deref().unwrap_or("all") {
                "all" => ADVERSARIES.iter().map(|s| s.to_string()).collect(),
                _ => list(&a.adversary, ""),
            };
            let pb = progress_bar((ns.len() * nets.len() * advs.len()) as u64, "streamlet");
            let mut rows = Vec::new();
            for &n in &ns {
                for net in &nets {
                    for adv in &advs {
                        rows.push(streamlet_row(
                            n,
                            net,
                            adv,
                            a.seeds,
                            a.epochs.unwrap_or(100),
                            a.seed,
                        )?);
                        pb.inc(1);
                    }
                }
            }
            pb.finish_and_clear();
            Table::from_rows(&rows)?
        }
        Protocol::Nakamoto => {
            let delays = parse_f64_list(
                "--delay-ms",
                a.delay_ms.as_deref().unwrap_or("10,20,50,100,200,500,1000"),
            )?;
            let pb = progress_bar((delays.len() * seeds.len()) as u64, "nakamoto");
            let mut rows = Vec::new();
            for &d in &delays {
                for &seed in &seeds {
                    let mut s = PowScenario::fixed(
                        a.miners.unwrap_or(10),
                        d,
                        a.blocks.unwrap_or(2000),
                        seed,
                    );
                    s.common_prefix = true;
                    rows.push(run_pow(&s)?);
                    pb.inc(1);
                }
            }
            pb.finish_and_clear();
            Table::from_rows(&rows)?
        }
        Protocol::SelfishMining => {
            let alphas = parse_f64_list(
                "--alpha",
                a.alpha.as_deref().unwrap_or("0.1,0.2,0.25,0.3,0.35,0.4"),
            )?;
            let gammas = parse_f64_list("--gamma", a.gamma.as_deref().unwrap_or("0,0.5,1"))?;
            let mut rows = Vec::new();
            for &g in &gammas {
                for &al in &alphas {
                    for &seed in &seeds {
                        rows.push(simulate_selfish(al, g, a.blocks.unwrap_or(100_000), seed)?);
                    }
                }
            }
            Table::from_rows(&rows)?
        }
        Protocol::DoubleSpend => {
            let qs = parse_f64_list("--q", a.q.as_deref().unwrap_or("0.1,0.2,0.3,0.4"))?;
            let zs = parse_usize_list("--depth", a.depth.as_deref().unwrap_or("1..10"))?;
            let mut rows = Vec::new();
            for &q in &qs {
                for &z in &zs {
                    for &seed in &seeds {
                        rows.push(simulate_double_spend(
                            q,
                            z as u64,
                            a.trials.unwrap_or(20_000),
                            seed,
                        )?);
                    }
                }
            }
            Table::from_rows(&rows)?
        }
    };
    let text = match a.format {
        Format::Csv => table.to_csv(),
        Format::Json => table.to_json(),
    };
    match &a.out {
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| Failure::Run(format!("cannot write {}: {e}", path.display())))?;
            eprintln!("wrote {} rows to {}", table.rows.len(), path.display());
        }
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| Failure::Run(format!("cannot write to stdout: {e}")))?,
    }
    Ok(())
}
