use ledger_lab::nakamoto::*;
use std::time::Instant;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).cloned().unwrap_or_default();
    if what == "stale" {
        let blocks: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5000);
        let miners: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10);
        for d in [10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0] {
            let t = Instant::now();
            let r = run_pow(&PowScenario::fixed(miners, d, blocks, 1)).unwrap();
            println!("ld={:.3} stale={:.4}±{:.4} formula={:.4} first={:.4} growth={:.4} {:.2}s",
                r.lambda_delta, r.stale_rate, r.stale_stderr, r.stale_formula, r.stale_first_order, r.growth_per_interval, t.elapsed().as_secs_f64());
        }
    }
    if what == "selfish" {
        let t = Instant::now();
        for g in [0.0, 0.5, 1.0] { for a in [0.1, 0.2, 0.25, 0.3, 0.35, 0.4] {
            let r = simulate_selfish(a, g, 100_000, 1).unwrap();
            println!("a={a} g={g} rev={:.4} formula={:.4} diff={:+.4}", r.revenue, r.formula, r.difference);
        }}
        println!("{:.2}s", t.elapsed().as_secs_f64());
        for g in [0.0, 1.0] { for a in [0.1, 0.25, 0.4] {
            let t = Instant::now();
            let r = selfish_full_stack(a, g, 10, 4000, 1).unwrap();
            println!("full a={a} g={:.3} rev={:.4} formula={:.4} diff={:+.4} {:.2}s", r.gamma, r.revenue, r.formula, r.difference, t.elapsed().as_secs_f64());
        }}
    }
    if what == "ds" {
        let t = Instant::now();
        for q in [0.1, 0.25, 0.3, 0.4, 0.45] { for z in [1, 2, 3, 4, 6, 8, 10] {
            let r = simulate_double_spend(q, z, 20000, 1).unwrap();
            println!("q={q} z={z} rate={:.4} ros={:.4} nak={:.4} dev={:+.2}σ", r.rate, r.rosenfeld, r.nakamoto, (r.rate - r.rosenfeld) / r.stderr.max(1e-9));
        }}
        println!("{:.2}s", t.elapsed().as_secs_f64());
    }
}
