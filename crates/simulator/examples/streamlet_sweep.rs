//! Runs Streamlet over many seeds for each n and adversary and prints the outcome.
//! `cargo run --release -p ledger-simulator --example streamlet_sweep -- [seeds]`

use ledger_simulator::streamlet::{
    run_streamlet, LivenessOutcome, StreamletAdversary, StreamletScenario,
};
use std::time::Instant;

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    for n in [4usize, 7, 10] {
        for adv in StreamletAdversary::BYZANTINE {
            let t = Instant::now();
            let (mut unsafe_runs, mut live_fail, mut na, mut msgs, mut epochs, mut fin) =
                (0, 0, 0, 0u64, 0u64, 0u64);
            for seed in 0..seeds {
                let r = run_streamlet(&StreamletScenario::new(n, adv, seed));
                if r.safety.is_err() {
                    unsafe_runs += 1;
                    println!(
                        "  safety violation n={n} {adv:?} seed={seed}: {:?}",
                        r.safety
                    );
                }
                match r.liveness {
                    LivenessOutcome::Violated(v) => {
                        live_fail += 1;
                        if live_fail <= 3 {
                            println!(
                                "  liveness violation n={n} {adv:?} seed={seed}: {v:?} gst={:?}",
                                r.gst
                            );
                        }
                    }
                    LivenessOutcome::NotApplicable => na += 1,
                    LivenessOutcome::Met { .. } => {}
                }
                msgs += r.stats.messages_delivered;
                epochs += r.epochs;
                fin += r.honest_final_heights.iter().copied().min().unwrap_or(0);
            }
            let secs = t.elapsed().as_secs_f64();
            println!(
                "n={n:2} {adv:?}: unsafe={unsafe_runs} liveness_fail={live_fail} no_window={na} avg_epochs={:.1} avg_min_final_height={:.1} msgs={msgs} {:.2}s {:.0} msgs/s",
                epochs as f64 / seeds as f64,
                fin as f64 / seeds as f64,
                secs,
                msgs as f64 / secs
            );
        }
    }
}
