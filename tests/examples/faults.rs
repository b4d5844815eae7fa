//! The fault testbed from the command line (see docs/reliability.md).
//!
//! ```text
//! cargo run --release -p ledger-e2e --example faults -- soak [SECS] [SEED]
//! cargo run --release -p ledger-e2e --example faults -- wan-bench [SECS] [DELTA_MS]
//! ```
//!
//! `soak` plays faults drawn from SEED for about SECS (default: every kind once) on 4
//! validators in network namespaces under load and prints the table, the summary and
//! any violation (exit 1 if there is one). `wan-bench` runs the 4-region profile and
//! prints submit-to-final p50/p99 next to the one-way delays. Needs root; the
//! workspace binaries must be built first (`cargo build --release -p ledger-node`).

use ledger_e2e::faults::{self, RunOptions};
use ledger_e2e::wan::RegionProfile;
use std::process::ExitCode;
use std::time::Duration;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize| args.get(i).and_then(|s| s.parse::<u64>().ok());
    if let Some(why) = faults::unavailable() {
        eprintln!("cannot run the fault testbed here: {why}");
        return ExitCode::FAILURE;
    }
    match args.first().map(String::as_str) {
        Some("soak") => {
            let opts = RunOptions {
                soak: num(1).map(Duration::from_secs),
                seed: num(2).unwrap_or(1),
                ..RunOptions::default()
            };
            match faults::run(&opts).await {
                Ok(r) => {
                    println!("{}\n{}", r.table(), r.summary());
                    for v in &r.violations {
                        println!("VIOLATION: {v}");
                    }
                    for (node, ok, last) in &r.replays {
                        println!(
                            "replay node-{node}: {} ({last})",
                            if *ok { "ok" } else { "FAILED" }
                        );
                    }
                    if r.violations.is_empty() && r.replays.iter().all(|r| r.1) {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    }
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("wan-bench") => {
            let secs = num(1).unwrap_or(30);
            let delta = num(2).unwrap_or(200);
            let p = RegionProfile::four_regions();
            match faults::wan_bench(&p, delta, 8, secs, 1).await {
                Ok((rows, p50, p99, n)) => {
                    println!("4-region profile, Δ = {delta} ms, {n} orders over {secs} s, submit-to-final (polled every 10 ms):");
                    println!("| node | region | one-way ms to nodes 0..3 | orders | p50 ms | p99 ms |\n|---|---|---|---|---|---|");
                    for (i, region, a, b, k) in rows {
                        let d: Vec<String> = (0..4).map(|j| p.delay_ms(i, j).to_string()).collect();
                        println!(
                            "| node-{i} | {region} | {} | {k} | {} | {} |",
                            d.join(" / "),
                            a.as_millis(),
                            b.as_millis()
                        );
                    }
                    println!(
                        "| all | | | {n} | {} | {} |",
                        p50.as_millis(),
                        p99.as_millis()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("usage: faults soak [SECS] [SEED] | faults wan-bench [SECS] [DELTA_MS]");
            ExitCode::from(2)
        }
    }
}
