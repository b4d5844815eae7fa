//! Prints the selfish miner's share of main-chain blocks for α from 0.1 to 0.45 next to
//! Eyal and Sirer's closed form, and the honest stale rate.
//! `cargo run --release -p ledger-simulator --example selfish_mining -- [blocks] [gamma]`

use ledger_simulator::nakamoto::{eyal_sirer_revenue, run_nakamoto, NakamotoScenario};
use std::time::Instant;

fn main() {
    let blocks: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let gamma: f64 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    println!("alpha  gamma  simulated_share  eyal_sirer  honest_share_if_fair  blocks  seconds");
    for alpha in [0.10, 0.15, 0.20, 0.25, 0.30, 0.33, 0.35, 0.40, 0.45] {
        let t = Instant::now();
        let r = run_nakamoto(&NakamotoScenario::selfish(alpha, gamma, 20, blocks, 1));
        println!(
            "{alpha:.2}   {gamma:.2}   {:.4}           {:.4}      {alpha:.2}                  {}   {:.1}",
            r.quality.adversary_share,
            eyal_sirer_revenue(alpha, gamma),
            r.final_height,
            t.elapsed().as_secs_f64()
        );
    }
}
