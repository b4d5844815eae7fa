//! Simulated messages per second on one core: Streamlet with n = 10 validators, echo on,
//! synchronous network. The last line is `msgs_per_sec=N`.
//! Run with `cargo bench -p ledger-simulator`.

use ledger_simulator::streamlet::{
    run_streamlet, StreamletAdversary, StreamletNetwork, StreamletScenario,
};
use std::time::Instant;

fn main() {
    let mut delivered = 0u64;
    let mut bits = 0u64;
    let start = Instant::now();
    let mut seed = 0;
    while start.elapsed().as_secs_f64() < 5.0 {
        let mut s = StreamletScenario::new(10, StreamletAdversary::None, seed);
        s.network = StreamletNetwork::Synchronous;
        s.max_epochs = 100;
        let r = run_streamlet(&s);
        delivered += r.stats.messages_delivered;
        bits += r.stats.bits_sent;
        seed += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("streamlet n=10 sync: {seed} runs, {delivered} messages delivered, {bits} bits, {secs:.2} s");
    println!("msgs_per_sec={}", (delivered as f64 / secs) as u64);
}
