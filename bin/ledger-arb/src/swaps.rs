//! Rebalancing inventory between venues with hashlock swaps against a swap desk, crash
//! safe: each swap's state (its secret above all) is written to
//! `STATE_DIR/swaps/<hashlock>.json` (write, fsync, rename) before its lock is sent and
//! after every step; a restarted bot loads every swap not done and drives it to its end
//! (claimed on the receiving venue, or refunded on the giving one).

use crate::venue::Venue;
use anyhow::{Context, Result};
use ledger_rpc::swap_protocol::{InitiatorStep, InitiatorSwap, SwapTimeouts};
use ledger_rpc::LedgerApiClient;
use ledger_types::{Address, Decimal, Preimage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A swap's journal entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Journal {
    /// Giving venue (where the lock is).
    pub from: usize,
    /// Receiving venue.
    pub to: usize,
    /// Chain ids of both, to refuse a journal from other networks.
    pub chains: (String, String),
    /// The protocol state.
    pub swap: InitiatorSwap,
}

impl Journal {
    /// True while the giving venue's lock is final and ours (counts as our holdings).
    pub fn in_escrow(&self) -> bool {
        matches!(
            self.swap.step,
            InitiatorStep::AwaitingCounterLock
                | InitiatorStep::ClaimPending
                | InitiatorStep::RefundPending
        )
    }
}

/// The open swaps.
pub struct SwapManager {
    dir: PathBuf,
    desk: Address,
    timeouts: SwapTimeouts,
    /// Swaps not done, by hashlock (hex).
    pub active: BTreeMap<String, Journal>,
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

impl SwapManager {
    /// Loads the journal in `state_dir/swaps`; swaps not done on these `venues` resume.
    pub fn load(
        state_dir: &Path,
        desk: Address,
        timeouts: SwapTimeouts,
        venues: &[Venue],
    ) -> Result<SwapManager> {
        let dir = state_dir.join("swaps");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let mut active = BTreeMap::new();
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let text = std::fs::read_to_string(&path)?;
            let j: Journal = match serde_json::from_str(&text) {
                Ok(j) => j,
                Err(e) => {
                    tracing::warn!("skipping {}: {e}", path.display());
                    continue;
                }
            };
            let chains_ok = venues.get(j.from).map(|v| &v.chain_id) == Some(&j.chains.0)
                && venues.get(j.to).map(|v| &v.chain_id) == Some(&j.chains.1);
            if !chains_ok {
                tracing::warn!("skipping {}: made for other networks", path.display());
                continue;
            }
            if !j.swap.step.is_done() {
                tracing::info!(
                    swap = %j.swap.a_swap_id(),
                    step = ?j.swap.step,
                    "resuming a rebalancing swap from the journal"
                );
                active.insert(j.swap.hashlock.to_hex(), j);
            }
        }
        Ok(SwapManager {
            dir,
            desk,
            timeouts,
            active,
        })
    }

    fn save(&self, j: &Journal) -> Result<()> {
        let path = self.dir.join(format!("{}.json", j.swap.hashlock.to_hex()));
        let text = serde_json::to_vec_pretty(j)?;
        write_atomic(&path, &text).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Amounts of ours held in escrow (final locks not yet ended), per (venue, asset).
    pub fn escrow(&self) -> BTreeMap<(usize, String), Decimal> {
        let mut out = BTreeMap::new();
        for j in self.active.values().filter(|j| j.in_escrow()) {
            *out.entry((j.from, j.swap.give_asset.clone())).or_default() += j.swap.give_amount;
        }
        out
    }

    /// Plans a swap giving `amount` of `asset` on `from` for the same on `to`, and writes
    /// it to the journal (nothing is sent until [`SwapManager::advance_all`]).
    pub async fn start(
        &mut self,
        venues: &[Venue],
        from: usize,
        to: usize,
        asset: &str,
        amount: Decimal,
    ) -> Result<String> {
        let (vf, vt) = (&venues[from], &venues[to]);
        let asset_id = *vf
            .assets
            .get(asset)
            .with_context(|| format!("venue {} has no asset {asset}", vf.name))?;
        let pace = vf.pace().await;
        let height = vf.client.chain_status().await?.latest_height;
        let timeout = self.timeouts.initiator_timeout(height, pace);
        let swap = {
            let mut w = vf.wallet.lock().await;
            w.resync(vf.client.as_ref()).await?;
            InitiatorSwap::new(
                &mut w,
                Preimage(rand::random()),
                self.desk,
                (asset_id, asset, amount),
                (asset, amount),
                timeout,
            )
        };
        let j = Journal {
            from,
            to,
            chains: (vf.chain_id.clone(), vt.chain_id.clone()),
            swap,
        };
        // The secret is on disk before the lock can be sent.
        self.save(&j)?;
        let key = j.swap.hashlock.to_hex();
        self.active.insert(key.clone(), j);
        Ok(key)
    }

    /// Advances every open swap once; returns those whose step changed (with the new
    /// step), and drops the finished ones from `active` (their journal files stay).
    pub async fn advance_all(&mut self, venues: &[Venue]) -> Vec<Journal> {
        let mut changed = Vec::new();
        let keys: Vec<String> = self.active.keys().cloned().collect();
        for k in keys {
            let Some(mut j) = self.active.get(&k).cloned() else {
                continue;
            };
            let before = j.swap.step.clone();
            let (va, vb) = (&venues[j.from], &venues[j.to]);
            let b_pace = vb.pace().await;
            // Lock both wallets in venue order.
            let (first, second) = if j.from < j.to {
                (&va.wallet, &vb.wallet)
            } else {
                (&vb.wallet, &va.wallet)
            };
            let mut g1 = first.lock().await;
            let mut g2 = second.lock().await;
            let (wa, wb) = if j.from < j.to {
                (&mut *g1, &mut *g2)
            } else {
                (&mut *g2, &mut *g1)
            };
            let res = j
                .swap
                .advance(
                    va.client.as_ref(),
                    vb.client.as_ref(),
                    wa,
                    wb,
                    &self.timeouts,
                    b_pace,
                )
                .await;
            drop(g2);
            drop(g1);
            if let Err(e) = res {
                tracing::warn!(swap = %j.swap.a_swap_id(), "swap step failed: {e}; retrying");
            }
            if let Err(e) = self.save(&j) {
                tracing::error!("{e}");
            }
            if j.swap.step != before {
                changed.push(j.clone());
            }
            if j.swap.step.is_done() {
                self.active.remove(&k);
            } else {
                self.active.insert(k, j);
            }
        }
        changed
    }
}
