//! The proof-of-work miner: threads that search nonces for the current template and hand
//! solved blocks to the driver. The search runs outside the consensus state machine.

use crate::runtime::now_ms;
use ledger_consensus::nakamoto::mine;
use ledger_driver::MiningJob;
use ledger_types::{Block, ConsensusHeader, PublicKey};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Hashes tried between checks for a new template.
const CHUNK: u64 = 5_000;

/// Starts `threads` miner threads; they stop when `stop` is set or the driver goes away.
pub fn spawn(
    threads: u32,
    miner: PublicKey,
    jobs: watch::Receiver<Option<MiningJob>>,
    found: mpsc::Sender<Block>,
    stop: Arc<AtomicBool>,
) {
    for i in 0..threads.max(1) {
        let mut jobs = jobs.clone();
        let found = found.clone();
        let stop = stop.clone();
        let _ = std::thread::Builder::new()
            .name(format!("miner-{i}"))
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let job = jobs.borrow_and_update().clone();
                    let Some(job) = job else {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    };
                    let mut block = job.template.block(now_ms(), miner, job.txs);
                    // Threads search disjoint nonce ranges.
                    if let ConsensusHeader::Nakamoto { nonce, .. } = &mut block.header.consensus {
                        *nonce = (i as u64) << 48;
                    }
                    loop {
                        if stop.load(Ordering::Relaxed) || found.is_closed() {
                            return;
                        }
                        if mine(&mut block, CHUNK) {
                            if found.blocking_send(block).is_err() {
                                return;
                            }
                            // Wait for the template that builds on it (or give up after
                            // a while and mine this template again).
                            for _ in 0..200 {
                                if jobs.has_changed().unwrap_or(true)
                                    || stop.load(Ordering::Relaxed)
                                {
                                    break;
                                }
                                std::thread::sleep(Duration::from_millis(10));
                            }
                            break;
                        }
                        if jobs.has_changed().unwrap_or(true) {
                            break;
                        }
                    }
                }
            });
    }
}
