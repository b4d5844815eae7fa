//! Replays whole-node runs and prints what the checkers found, with the executed
//! heights over the last seconds: for investigating a seed the sweep flagged.
//!
//! ```text
//! cargo run --release -p ledger-node-sim --example replay_seed -- streamlet 4 equivocating-leader 31 479
//! ```

use ledger_node_sim::{run_traced, Adversary, NodeObs, ProtocolKind, Scenario};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: replay_seed streamlet|nakamoto N ADVERSARY SEED...\n  adversaries: none, equivocating-leader, vote-withholder, double-voter, selfish-miner";
    if args.len() < 4 {
        eprintln!("{usage}");
        std::process::exit(2);
    }
    let protocol = match args[0].as_str() {
        "streamlet" => ProtocolKind::Streamlet,
        "nakamoto" => ProtocolKind::Nakamoto,
        other => {
            eprintln!("unknown protocol {other:?}\n{usage}");
            std::process::exit(2);
        }
    };
    let Ok(n) = args[1].parse::<usize>() else {
        eprintln!("N must be a number\n{usage}");
        std::process::exit(2);
    };
    let adversary = match args[2].as_str() {
        "none" => Adversary::None,
        "equivocating-leader" => Adversary::EquivocatingLeader,
        "vote-withholder" => Adversary::VoteWithholder,
        "double-voter" => Adversary::DoubleVoter,
        "selfish-miner" => Adversary::SelfishMiner,
        other => {
            eprintln!("unknown adversary {other:?}\n{usage}");
            std::process::exit(2);
        }
    };
    // LEDGER_NODE_SIM_TRACE=1: print the run's observations (finality, crashes,
    // restarts, alarms) before the verdict.
    let trace = std::env::var_os("LEDGER_NODE_SIM_TRACE").is_some();
    for seed in &args[3..] {
        let Ok(seed) = seed.parse::<u64>() else {
            eprintln!("seed {seed:?} is not a number");
            std::process::exit(2);
        };
        let (o, trace) = run_traced(&Scenario::new(protocol, n, adversary, seed), trace);
        for (t, node, obs) in &trace {
            let at = t.0 as f64 / 1e6;
            match obs {
                NodeObs::Epoch(_) => {}
                NodeObs::Executed { .. } => {}
                other => println!("  {at:9.4} s node {node}: {other:?}"),
            }
        }
        println!(
            "seed {seed}: T* {:.2} s, end {:.2} s, crashes {}, heights {:?}, trace {:016x}",
            o.faults_end.0 as f64 / 1e6,
            o.simulated.0 as f64 / 1e6,
            o.crashes,
            o.honest_heights,
            o.trace_hash
        );
        for v in &o.violations {
            println!("  {v:?}");
        }
    }
}
