//! `ledger-node snapshot export|import`: the state-sync snapshot as a file, for moving a
//! node's ledger state offline.

use anyhow::{bail, Context, Result};
use ledger_storage::snapshot::{assemble, Snapshot};
use ledger_storage::{ChainStore, Executor, StoreOptions};
use ledger_types::Genesis;
use std::path::Path;
use std::process::ExitCode;

/// Writes the snapshot of the ledger at the final height of `data_dir` to `out`.
pub fn export(data_dir: &Path, out: &Path) -> Result<ExitCode> {
    if out.exists() {
        bail!("{} already exists; refusing to overwrite it", out.display());
    }
    let store = ChainStore::open_read_only(data_dir)
        .with_context(|| format!("cannot open {} (is the node stopped?)", data_dir.display()))?;
    let exec = Executor::load(store, None)?;
    if exec.applied_height() != exec.final_height() {
        bail!(
            "the ledger is applied to height {} of {}: start the node once so it catches up, then export",
            exec.applied_height(),
            exec.final_height()
        );
    }
    let snap = Snapshot::build(&exec)?;
    std::fs::write(out, snap.to_file_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!("snapshot:   {}", out.display());
    println!("height:     {}", snap.manifest.height);
    println!("block:      {}", snap.manifest.block_hash);
    println!("state root: {}", snap.manifest.state_root);
    println!(
        "chunks:     {} ({} bytes)",
        snap.chunks.len(),
        snap.manifest.total_bytes
    );
    Ok(ExitCode::SUCCESS)
}

/// Checks the snapshot in `file` against `genesis` and writes it into the empty
/// `data_dir`.
pub fn import(data_dir: &Path, genesis: &Path, file: &Path) -> Result<ExitCode> {
    let genesis = Genesis::load(genesis)?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let snap = Snapshot::from_file_bytes(&bytes)
        .with_context(|| format!("{} is not a usable snapshot", file.display()))?;
    let (content, _) = assemble(&genesis, &snap.manifest, &snap.chunks)
        .with_context(|| format!("{} is refused", file.display()))?;
    if matches!(
        genesis.consensus,
        ledger_types::ConsensusParams::Streamlet(_)
    ) {
        ledger_service::state_sync::check_certificate(
            &genesis,
            &content.block,
            &content.certificate,
        )?;
    }
    let store = ChainStore::open(data_dir, StoreOptions::default())?;
    store.import_snapshot(&genesis, &snap.manifest, &content)?;
    store.flush()?;
    println!(
        "imported height {} (state root {}) into {}",
        snap.manifest.height,
        snap.manifest.state_root,
        data_dir.display()
    );
    println!(
        "start the node: it block-syncs from height {} on",
        snap.manifest.height + 1
    );
    Ok(ExitCode::SUCCESS)
}
