//! Writes a seeded test chain into a data directory, for trying `ledger-node replay`.
//!
//! ```text
//! cargo run --release -p ledger-storage --features test-utils --example make_chain -- \
//!     DIR [--blocks N] [--txs N] [--unapplied N] [--alter-root H]
//! ```
//!
//! `--unapplied N` records the last N blocks as final without executing them (as after a
//! crash between the two batches); `--alter-root H` overwrites the stored state root at
//! height H, so that replay reports a mismatch there. The genesis is also written to
//! `DIR.genesis.toml`.

use ledger_storage::{testkit, Batch, Cf, ChainStore, Executor, Store, StoreOptions};
use ledger_types::Hash;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or("usage: make_chain DIR [--blocks N] [--txs N] [--unapplied N] [--alter-root H]")?;
    let (mut blocks, mut txs, mut unapplied, mut alter) = (50usize, 1000usize, 0usize, None);
    while let Some(flag) = args.next() {
        let value: u64 = args.next().ok_or("missing value")?.parse()?;
        match flag.as_str() {
            "--blocks" => blocks = value as usize,
            "--txs" => txs = value as usize,
            "--unapplied" => unapplied = value as usize,
            "--alter-root" => alter = Some(value),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let (genesis, keys) = testkit::genesis(100);
    std::fs::write(format!("{dir}.genesis.toml"), genesis.to_toml())?;
    let store = ChainStore::open(&dir, StoreOptions::unsynced())?;
    let mut exec = Executor::open(store.clone(), Some(&genesis))?;
    let mut stream = testkit::BlockStream::new(&genesis, &keys, 7, false);
    for i in 0..blocks {
        let block = stream.next_block(txs);
        let cert = testkit::certificate(block.height());
        if i + unapplied >= blocks {
            exec.record_final(&block, &cert)?;
        } else {
            exec.finalize(block, &cert)?;
        }
    }
    if let Some(h) = alter {
        let mut b = Batch::new();
        b.put_encoded(Cf::Roots, &h.to_be_bytes(), &Hash::digest(b"altered"));
        store.raw().write(&b, true)?;
    }
    store.flush()?;
    println!(
        "wrote {dir}: final height {}, applied height {}, {} txs per block, genesis {dir}.genesis.toml",
        exec.final_height(),
        exec.applied_height(),
        txs
    );
    Ok(())
}
