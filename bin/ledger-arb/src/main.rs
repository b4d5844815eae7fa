//! `ledger-arb`: an arbitrage bot for ledger-node networks, and its dashboard.
//!
//! `ledger-arb run` watches books over WebSocket on any number of markets and venues
//! (networks), finds triangular gaps within a venue and price gaps for one pair between
//! venues, each net of taker fees and sized to the depth seen, and acts on those above
//! `--min-profit-bps`: within a venue as one atomic bundle, between venues as two
//! simultaneous IOC orders. It keeps inventory on every venue and rebalances it with
//! hashlock swaps against a swap desk (`ledger-cli swap desk`), crash-safe through a
//! journal in `--state-dir`. It enforces limits on inventory drift, notional per trade and
//! loss, has a `--dry-run`, and prints opportunities seen, taken and missed (with the
//! reason), gap closing times, leg failures and latency, and profit per asset, live and at
//! the end (`--json` for JSON lines).
//!
//! `ledger-arb report --state-dir DIR --out OUT` writes `OUT/index.html`: a
//! self-contained dashboard (inline SVG, no scripts) drawn from the run log.

mod bot;
mod detect;
mod report;
mod runlog;
mod stats;
mod svg;
mod swaps;
mod venue;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use ledger_rpc::swap_protocol::SwapTimeouts;
use ledger_types::keyfile::read_key_file;
use ledger_types::{Address, Decimal, Keypair};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

const AFTER_HELP: &str = "\
Examples:
  ledger-node testnet --networks 2 --dir pair          # two exchanges: pair/networks.json
  ledger-cli --rpc http://127.0.0.1:30001 noise --seed 1 &
  ledger-cli --rpc http://127.0.0.1:30501 noise --seed 2 &
  ledger-cli --rpc http://127.0.0.1:30001 swap desk --key desk --rpc-b http://127.0.0.1:30501 --serve BTC=5 --serve USD=1000 &
  ledger-arb run --networks pair/networks.json --test-key account-900 --desk <DESK ADDRESS> \\
      --max-notional USD=500 --max-inventory BTC=2 --rebalance-at BTC=1 --duration 120
  ledger-arb report --state-dir arb-state --out arb-report   # open arb-report/index.html";

/// Arbitrage between ledger-node networks: triangular gaps as atomic bundles, cross-venue
/// gaps as simultaneous IOC legs, inventory rebalanced with hashlock swaps.
#[derive(Parser, Debug)]
#[command(name = "ledger-arb", version, after_help = AFTER_HELP, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Watch the venues and trade (or only price with --dry-run).
    Run(Box<RunArgs>),
    /// Write the dashboard (OUT/index.html) from a state directory's run log.
    Report {
        /// The bot's state directory.
        #[arg(long, default_value = "arb-state")]
        state_dir: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args, Debug)]
struct RunArgs {
    /// A venue: NAME=URL (http:// or ws://; repeatable, at least one).
    #[arg(long = "venue", value_name = "NAME=URL")]
    venues: Vec<String>,
    /// Take the venues from `networks.json` of `ledger-node testnet --networks 2` (the
    /// first node of each network).
    #[arg(long, value_name = "FILE")]
    networks: Option<PathBuf>,
    /// The bot's key file.
    #[arg(long, value_name = "FILE", conflicts_with = "test_key")]
    key_file: Option<PathBuf>,
    /// A deterministic test key (testnets only), e.g. account-900.
    #[arg(long, value_name = "LABEL")]
    test_key: Option<String>,
    /// The swap desk's address (rebalancing needs one).
    #[arg(long, value_name = "ADDRESS")]
    desk: Option<String>,
    /// Markets to watch (comma-separated) [default: every market].
    #[arg(long, value_delimiter = ',')]
    markets: Vec<String>,
    /// Least expected profit, net of taker fees, in basis points of the notional.
    #[arg(long, default_value_t = 5.0)]
    min_profit_bps: f64,
    /// Largest notional per execution: QUOTE=AMOUNT (repeatable) [default: 1000 of each
    /// quote asset].
    #[arg(long = "max-notional", value_name = "ASSET=AMOUNT")]
    max_notional: Vec<String>,
    /// Largest drift of holdings on any venue from the start: ASSET=AMOUNT (repeatable).
    #[arg(long = "max-inventory", value_name = "ASSET=AMOUNT")]
    max_inventory: Vec<String>,
    /// Drift on a venue that starts a rebalancing swap: ASSET=AMOUNT (repeatable)
    /// [default: half of --max-inventory].
    #[arg(long = "rebalance-at", value_name = "ASSET=AMOUNT")]
    rebalance_at: Vec<String>,
    /// Start a rebalancing swap at once, from the first venue to the second:
    /// ASSET=AMOUNT (repeatable).
    #[arg(long = "rebalance-now", value_name = "ASSET=AMOUNT")]
    rebalance_now: Vec<String>,
    /// Stop taking opportunities once the holdings lost this much value (in the
    /// valuation asset, USD).
    #[arg(long, value_name = "AMOUNT")]
    max_loss: Option<Decimal>,
    /// Price and report only: send nothing.
    #[arg(long)]
    dry_run: bool,
    /// JSON lines on stdout (live figures, then the final summary).
    #[arg(long)]
    json: bool,
    /// Stop after this many seconds [default: run until Ctrl-C or SIGTERM].
    #[arg(long)]
    duration: Option<f64>,
    /// After trading stops, keep driving open swaps up to this many seconds.
    #[arg(long, default_value_t = 0.0)]
    drain: f64,
    /// State directory: the swap journal and the run log.
    #[arg(long, default_value = "arb-state")]
    state_dir: PathBuf,
    /// Seconds between live reports.
    #[arg(long, default_value_t = 5.0)]
    stats_every: f64,
    /// Swap timing: time one party needs to act, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    swap_step_ms: u64,
    /// Swap timing: slack between the two timeouts, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    swap_margin_ms: u64,
    /// When one leg of a cross execution fills less than the other, the difference is
    /// completed at once with an IOC order on the short leg's venue, up to this many
    /// basis points past that leg's limit.
    #[arg(long, default_value_t = Decimal::from(50), value_name = "BPS")]
    hedge_slippage_bps: Decimal,
}

fn asset_amounts(list: &[String], what: &str) -> Result<BTreeMap<String, Decimal>> {
    let mut out = BTreeMap::new();
    for s in list {
        let (a, v) = s
            .split_once('=')
            .ok_or_else(|| anyhow!("{what} {s:?}: expected ASSET=AMOUNT"))?;
        let d = Decimal::from_str(v.trim())
            .map_err(|_| anyhow!("{what} {s:?}: {v:?} is not a decimal number"))?;
        if d <= Decimal::ZERO {
            bail!("{what} {s:?}: the amount must be positive");
        }
        out.insert(a.trim().to_ascii_uppercase(), d);
    }
    Ok(out)
}

#[derive(serde::Deserialize)]
struct NetworksFile {
    networks: Vec<NetworkEntry>,
}

#[derive(serde::Deserialize)]
struct NetworkEntry {
    name: String,
    rpc_urls: Vec<String>,
}

fn config(a: RunArgs) -> Result<bot::Config> {
    let mut venues = Vec::new();
    if let Some(p) = &a.networks {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        let n: NetworksFile = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a networks.json", p.display()))?;
        for e in n.networks {
            let url = e
                .rpc_urls
                .first()
                .ok_or_else(|| anyhow!("network {} lists no node", e.name))?;
            venues.push((e.name, url.clone()));
        }
    }
    for v in &a.venues {
        let (n, u) = v
            .split_once('=')
            .ok_or_else(|| anyhow!("--venue {v:?}: expected NAME=URL"))?;
        venues.push((n.trim().to_string(), u.trim().to_string()));
    }
    if venues.is_empty() {
        bail!("give at least one --venue NAME=URL, or --networks FILE");
    }
    let key = match (&a.key_file, &a.test_key) {
        (Some(p), _) => read_key_file(p)?,
        (None, Some(label)) => Keypair::for_testing(label),
        (None, None) => bail!("give the bot's key: --key-file FILE or --test-key LABEL"),
    };
    let desk = a
        .desk
        .as_deref()
        .map(|d| Address::from_str(d.trim()).map_err(|_| anyhow!("--desk {d:?}: not an address")))
        .transpose()?;
    let max_inventory = asset_amounts(&a.max_inventory, "--max-inventory")?;
    let mut rebalance_at = asset_amounts(&a.rebalance_at, "--rebalance-at")?;
    for (asset, max) in &max_inventory {
        rebalance_at
            .entry(asset.clone())
            .or_insert(*max / Decimal::TWO);
    }
    if !(a.min_profit_bps.is_finite() && a.min_profit_bps >= 0.0) {
        bail!("--min-profit-bps must be zero or more");
    }
    Ok(bot::Config {
        venues,
        key,
        desk,
        markets: a.markets,
        min_profit_bps: a.min_profit_bps,
        max_notional: asset_amounts(&a.max_notional, "--max-notional")?,
        max_inventory,
        rebalance_at,
        rebalance_now: asset_amounts(&a.rebalance_now, "--rebalance-now")?
            .into_iter()
            .collect(),
        max_loss: a.max_loss,
        dry_run: a.dry_run,
        json: a.json,
        duration: a.duration,
        drain: a.drain,
        state_dir: a.state_dir,
        stats_every: a.stats_every.max(0.5),
        timeouts: SwapTimeouts {
            step_ms: a.swap_step_ms,
            margin_ms: a.swap_margin_ms,
        },
        hedge_slippage_bps: a.hedge_slippage_bps.max(Decimal::ZERO),
    })
}

fn print_summary(s: &stats::Summary, json: bool) {
    if json {
        println!("{}", serde_json::to_string(s).unwrap_or_default());
        return;
    }
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0} ms"));
    println!(
        "ledger-arb summary after {:.0} s{}",
        s.elapsed_s,
        if s.dry_run { " (dry run)" } else { "" }
    );
    println!(
        "  opportunities seen      {} ({:.1} per minute)",
        s.opportunities_seen, s.opportunities_per_minute
    );
    println!(
        "  taken / captured        {} / {}",
        s.opportunities_taken, s.opportunities_captured
    );
    println!(
        "  capture rate            {}",
        s.capture_rate
            .map_or("-".into(), |r| format!("{:.1}%", r * 100.0))
    );
    println!("  missed                  {:?}", s.missed);
    println!(
        "  time to close a gap     median {}, p90 {}, max {} (over {} gaps)",
        ms(s.time_to_close_ms.p50),
        ms(s.time_to_close_ms.p90),
        ms(s.time_to_close_ms.max),
        s.time_to_close_ms.count
    );
    println!(
        "  executions ok / sent    {} / {}",
        s.executions_ok, s.executions
    );
    println!("  leg failures            {:?}", s.leg_failures);
    println!("  hedges                  {:?}", s.hedges);
    println!(
        "  leg latency             median {}, p90 {} (over {} legs)",
        ms(s.leg_latency_ms.p50),
        ms(s.leg_latency_ms.p90),
        s.leg_latency_ms.count
    );
    println!("  profit per asset        {:?}", s.profit_per_asset);
    println!(
        "  profit value            {} {}",
        s.profit_value, s.value_asset
    );
    println!("  swaps                   {:?}", s.swaps);
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let res = match cli.command {
        Command::Report { state_dir, out } => report::write(&state_dir, &out).map(|p| {
            println!("wrote {}", p.display());
        }),
        Command::Run(a) => {
            let json = a.json;
            config(*a).and_then(|cfg| {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()?;
                let summary = rt.block_on(bot::run(cfg))?;
                print_summary(&summary, json);
                Ok(())
            })
        }
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn asset_amount_lists() {
        let m = asset_amounts(&["btc=2".into(), "USD=1000.5".into()], "--x").unwrap();
        assert_eq!(m["BTC"], Decimal::from(2));
        assert_eq!(m["USD"], Decimal::new(10005, 1));
        assert!(asset_amounts(&["BTC".into()], "--x").is_err());
        assert!(asset_amounts(&["BTC=-1".into()], "--x").is_err());
        assert!(asset_amounts(&["BTC=abc".into()], "--x").is_err());
    }
}
