//! Command-line arguments.

use crate::Failure;
use clap::{Args, Parser, Subcommand, ValueEnum};
use ledger_lab::randomized::Inputs;
use ledger_lab::sig::SigMode;
use std::path::PathBuf;

/// Examples shown under `ledger-sim --help`.
pub const AFTER_HELP: &str = "\
Examples:
  ledger-sim report --out target/lab-report            # the full suite as HTML (15-35 s)
  ledger-sim report --out /tmp/lab --quick             # a smaller, faster look
  ledger-sim run dolev-strong --n 7 --f 3 --adversary last-round
  ledger-sim run dolev-strong --n 7 --f 3 --adversary last-round --rounds 3   # breaks
  ledger-sim run randomized --n 10 --network async --adversary conflicting --seed 7
  ledger-sim run flp --n 4 --rounds 1000
  ledger-sim run streamlet --n 7 --network partial-sync --adversary equivocating-leader
  ledger-sim run selfish-mining --alpha 0.35 --gamma 0.5 --blocks 100000
  ledger-sim run double-spend --q 0.3 --depth 6 --trials 100000 --json
  ledger-sim sweep dolev-strong --n 2..16 --f all --adversary all --sig sim > ds.csv
  ledger-sim sweep selfish-mining --alpha 0.1,0.25,0.4 --gamma 0,0.5,1 --format json
  ledger-sim completions bash > ~/.local/share/bash-completion/completions/ledger-sim

Data goes to stdout, progress and errors to stderr; exit code 2 for a bad flag.
`ledger-sim run --help` lists every protocol, network model and adversary;
docs/lab/README.md explains what each experiment measures.";

/// The protocol lab: textbook protocols and the node's consensus code on a
/// deterministic simulator.
#[derive(Debug, Parser)]
#[command(name = "ledger-sim", version, about, long_about = None, after_help = AFTER_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one experiment and print its outcome and figures.
    Run(RunArgs),
    /// Run a grid of experiments and write one row per run (CSV or JSON).
    Sweep(SweepArgs),
    /// Run the standard suite and write a self-contained HTML report.
    Report(ReportArgs),
    /// Print a shell completion script: `ledger-sim completions bash >
    /// ~/.local/share/bash-completion/completions/ledger-sim` (zsh: into a directory of
    /// your `$fpath` as `_ledger-sim`; fish: `~/.config/fish/completions/ledger-sim.fish`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// The protocols and experiments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// Dolev-Strong Byzantine broadcast (synchronous; adversaries none, equivocate,
    /// last-round, withhold).
    DolevStrong,
    /// Mostéfaoui-Moumen-Raynal randomized binary agreement (asynchronous; adversaries
    /// conflicting, none).
    Randomized,
    /// FLP: a deterministic protocol under the adversarial scheduler, next to the
    /// randomized one (adversaries scheduler, none).
    Flp,
    /// Streamlet from the consensus crate (adversaries none, crash,
    /// equivocating-leader, vote-withholder, double-voter).
    Streamlet,
    /// Nakamoto from the consensus crate: stale rate, growth, common prefix
    /// (adversaries none, selfish).
    Nakamoto,
    /// Selfish mining: the pool's relative revenue against Eyal and Sirer.
    SelfishMining,
    /// Double spending by confirmation depth against Nakamoto and Rosenfeld.
    DoubleSpend,
}

impl Protocol {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::DolevStrong => "dolev-strong",
            Protocol::Randomized => "randomized",
            Protocol::Flp => "flp",
            Protocol::Streamlet => "streamlet",
            Protocol::Nakamoto => "nakamoto",
            Protocol::SelfishMining => "selfish-mining",
            Protocol::DoubleSpend => "double-spend",
        }
    }
}

/// `ledger-sim run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The protocol or experiment.
    #[arg(value_enum)]
    pub protocol: Protocol,
    /// Number of nodes.
    #[arg(long)]
    pub n: Option<usize>,
    /// Number of corrupt (Byzantine) nodes.
    #[arg(long)]
    pub f: Option<usize>,
    /// Network model: sync, async, partial-sync (and fair for the asynchronous
    /// protocols: random delays instead of the adversarial scheduler).
    #[arg(long)]
    pub network: Option<String>,
    /// Adversary kind (depends on the protocol; see `ledger-sim run --help`).
    #[arg(long)]
    pub adversary: Option<String>,
    /// Seed: every run is reproducible from it.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Signature scheme (dolev-strong): ed25519 or sim.
    #[arg(long)]
    pub sig: Option<String>,
    /// The honest sender's value (dolev-strong).
    #[arg(long)]
    pub value: Option<u64>,
    /// Rounds: dolev-strong runs this many instead of f+1 (demonstration);
    /// flp and randomized stop after this many.
    #[arg(long)]
    pub rounds: Option<u64>,
    /// Honest inputs (randomized): random, split, 0 or 1.
    #[arg(long)]
    pub inputs: Option<String>,
    /// Seeds to average over (streamlet).
    #[arg(long)]
    pub seeds: Option<u64>,
    /// Epochs per run (streamlet).
    #[arg(long)]
    pub epochs: Option<u64>,
    /// Honest miners (nakamoto, selfish-mining --full-stack).
    #[arg(long)]
    pub miners: Option<usize>,
    /// Propagation delay in milliseconds, block interval 1000 ms (nakamoto).
    #[arg(long)]
    pub delay_ms: Option<f64>,
    /// Partition length in milliseconds with --network partial-sync (nakamoto).
    #[arg(long)]
    pub partition_ms: Option<u64>,
    /// Selfish pool's hash share (selfish-mining, nakamoto --adversary selfish).
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Share of honest miners that mine on the pool's block in a tie.
    #[arg(long)]
    pub gamma: Option<f64>,
    /// Blocks to simulate (selfish-mining, nakamoto).
    #[arg(long)]
    pub blocks: Option<u64>,
    /// Use the full stack (the node's Nakamoto machines) instead of the fast
    /// block-by-block simulation (selfish-mining).
    #[arg(long)]
    pub full_stack: bool,
    /// Attacker's hash share (double-spend).
    #[arg(long)]
    pub q: Option<f64>,
    /// Confirmations the merchant waits for (double-spend).
    #[arg(long)]
    pub depth: Option<u64>,
    /// Attacks to simulate (double-spend).
    #[arg(long)]
    pub trials: Option<u64>,
}

impl RunArgs {
    /// Rejects flags the protocol does not use.
    pub fn check_flags(&self) -> Result<(), Failure> {
        let given: Vec<(&str, bool)> = vec![
            ("--n", self.n.is_some()),
            ("--f", self.f.is_some()),
            ("--network", self.network.is_some()),
            ("--adversary", self.adversary.is_some()),
            ("--sig", self.sig.is_some()),
            ("--value", self.value.is_some()),
            ("--rounds", self.rounds.is_some()),
            ("--inputs", self.inputs.is_some()),
            ("--seeds", self.seeds.is_some()),
            ("--epochs", self.epochs.is_some()),
            ("--miners", self.miners.is_some()),
            ("--delay-ms", self.delay_ms.is_some()),
            ("--partition-ms", self.partition_ms.is_some()),
            ("--alpha", self.alpha.is_some()),
            ("--gamma", self.gamma.is_some()),
            ("--blocks", self.blocks.is_some()),
            ("--full-stack", self.full_stack),
            ("--q", self.q.is_some()),
            ("--depth", self.depth.is_some()),
            ("--trials", self.trials.is_some()),
        ];
        let allowed = allowed_flags(self.protocol);
        for (flag, set) in given {
            if set && !allowed.contains(&flag) {
                return Err(Failure::Usage(format!(
                    "{flag} is not used by `{}`; its flags are: {}",
                    self.protocol.name(),
                    allowed.join(" ")
                )));
            }
        }
        Ok(())
    }

    /// Fails unless the network is one of `allowed` (or not given).
    pub fn require_network(&self, allowed: &[&str]) -> Result<(), Failure> {
        match self.network.as_deref() {
            Some(n) if !allowed.contains(&n) => Err(Failure::Usage(format!(
                "{} does not run on the {n} network model; expected one of: {}",
                self.protocol.name(),
                allowed.join(", ")
            ))),
            _ => Ok(()),
        }
    }

    /// The signature scheme.
    pub fn sig(&self) -> Result<SigMode, Failure> {
        match self.sig.as_deref() {
            None => Ok(SigMode::Ed25519),
            Some(s) => SigMode::parse(s).ok_or_else(|| {
                Failure::Usage(format!("unknown --sig `{s}`; expected ed25519 or sim"))
            }),
        }
    }

    /// The honest inputs.
    pub fn inputs(&self) -> Result<Inputs, Failure> {
        parse_inputs(self.inputs.as_deref().unwrap_or("random"))
    }
}

/// Parses `random`, `split`, `0` or `1`.
pub fn parse_inputs(s: &str) -> Result<Inputs, Failure> {
    match s {
        "random" => Ok(Inputs::Random),
        "split" => Ok(Inputs::Split),
        "0" => Ok(Inputs::All(false)),
        "1" => Ok(Inputs::All(true)),
        other => Err(Failure::Usage(format!(
            "unknown --inputs `{other}`; expected random, split, 0 or 1"
        ))),
    }
}

/// The flags each protocol uses.
pub fn allowed_flags(p: Protocol) -> &'static [&'static str] {
    match p {
        Protocol::DolevStrong => &[
            "--n",
            "--f",
            "--network",
            "--adversary",
            "--sig",
            "--value",
            "--rounds",
        ],
        Protocol::Randomized => &[
            "--n",
            "--f",
            "--network",
            "--adversary",
            "--rounds",
            "--inputs",
        ],
        Protocol::Flp => &["--n", "--f", "--network", "--adversary", "--rounds"],
        Protocol::Streamlet => &[
            "--n",
            "--f",
            "--network",
            "--adversary",
            "--seeds",
            "--epochs",
        ],
        Protocol::Nakamoto => &[
            "--network",
            "--adversary",
            "--miners",
            "--delay-ms",
            "--partition-ms",
            "--alpha",
            "--gamma",
            "--blocks",
        ],
        Protocol::SelfishMining => &["--alpha", "--gamma", "--blocks", "--full-stack", "--miners"],
        Protocol::DoubleSpend => &["--q", "--depth", "--trials"],
    }
}

/// Output format of a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// `ledger-sim sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The protocol or experiment.
    #[arg(value_enum)]
    pub protocol: Protocol,
    /// Node counts: a list (4,7,10) or an inclusive range (4..16).
    #[arg(long)]
    pub n: Option<String>,
    /// Corrupt counts: a list, a range, or `all` (0..n−1, dolev-strong).
    #[arg(long)]
    pub f: Option<String>,
    /// Network models, comma-separated.
    #[arg(long)]
    pub network: Option<String>,
    /// Adversary kinds, comma-separated, or `all`.
    #[arg(long)]
    pub adversary: Option<String>,
    /// Seeds per configuration (runs use seed, seed+1, ...).
    #[arg(long, default_value_t = 1)]
    pub seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Signature scheme (dolev-strong): ed25519 or sim.
    #[arg(long)]
    pub sig: Option<String>,
    /// Rounds bound (flp, randomized).
    #[arg(long)]
    pub rounds: Option<u64>,
    /// Honest inputs (randomized): random, split, 0 or 1.
    #[arg(long)]
    pub inputs: Option<String>,
    /// Epochs per run (streamlet).
    #[arg(long)]
    pub epochs: Option<u64>,
    /// Honest miners (nakamoto).
    #[arg(long)]
    pub miners: Option<usize>,
    /// Propagation delays in milliseconds, a list (nakamoto).
    #[arg(long)]
    pub delay_ms: Option<String>,
    /// Pool shares, a list (selfish-mining).
    #[arg(long)]
    pub alpha: Option<String>,
    /// Tie-breaking shares, a list (selfish-mining).
    #[arg(long)]
    pub gamma: Option<String>,
    /// Blocks per run (nakamoto, selfish-mining).
    #[arg(long)]
    pub blocks: Option<u64>,
    /// Attacker shares, a list (double-spend).
    #[arg(long)]
    pub q: Option<String>,
    /// Confirmation depths: a list or a range (double-spend).
    #[arg(long)]
    pub depth: Option<String>,
    /// Attacks per configuration (double-spend).
    #[arg(long)]
    pub trials: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Write to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `ledger-sim report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Directory to write index.html, charts/ and data/ into (created if needed).
    #[arg(long)]
    pub out: PathBuf,
    /// Base seed of every experiment.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Smaller sweeps (a quick look; the acceptance sizes need the full suite).
    #[arg(long)]
    pub quick: bool,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
}

/// Parses a list of integers: `4,7,10`, `4..16` (inclusive) or a mix `1,4..6`.
pub fn parse_usize_list(flag: &str, s: &str) -> Result<Vec<usize>, Failure> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || Failure::Usage(format!("{flag}: `{part}` is not a number or a range a..b"));
        if let Some((a, b)) = part.split_once("..") {
            let a: usize = a.trim().parse().map_err(|_| bad())?;
            let b: usize = b
                .trim()
                .trim_start_matches('=')
                .parse()
                .map_err(|_| bad())?;
            if b < a {
                return Err(Failure::Usage(format!("{flag}: empty range `{part}`")));
            }
            out.extend(a..=b);
        } else {
            out.push(part.parse().map_err(|_| bad())?);
        }
    }
    if out.is_empty() {
        return Err(Failure::Usage(format!("{flag}: no values given")));
    }
    Ok(out)
}

/// Parses a comma-separated list of numbers.
pub fn parse_f64_list(flag: &str, s: &str) -> Result<Vec<f64>, Failure> {
    let v: Result<Vec<f64>, Failure> = s
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| Failure::Usage(format!("{flag}: `{p}` is not a number")))
        })
        .collect();
    let v = v?;
    if v.is_empty() {
        return Err(Failure::Usage(format!("{flag}: no values given")));
    }
    Ok(v)
}
