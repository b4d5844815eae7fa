//! Batches: up to [`MAX_BATCH_ACTIONS`] order actions in one transaction, applied in
//! order, each with its own result (Hyperliquid's batch semantics).

use super::Engine;
use crate::events::Rejection;
use ledger_types::{batch_order_id, Batch, BatchAction, TxHash, MAX_BATCH_ACTIONS};

impl Engine {
    /// Applies a batch's actions in order. The batch as a whole is rejected (and no
    /// action runs) only when it is empty or too long; otherwise it succeeds and each
    /// action's own result is kept for the receipt ([`Engine::take_action_results`]).
    /// Every action is atomic on its own: a rejected action changes nothing, and the
    /// actions before and after it keep their effects. The order placed by action `i`
    /// has the id [`batch_order_id`]`(tx_hash, i)`.
    pub(super) fn batch(&mut self, a: u32, hash: TxHash, b: &Batch) -> Result<(), Rejection> {
        if b.actions.is_empty() {
            return Err(Rejection::EmptyBatch);
        }
        if b.actions.len() > MAX_BATCH_ACTIONS {
            return Err(Rejection::BatchTooLarge {
                max: MAX_BATCH_ACTIONS as u32,
                got: b.actions.len().min(u32::MAX as usize) as u32,
            });
        }
        let mut results = Vec::with_capacity(b.actions.len());
        for (i, action) in b.actions.iter().enumerate() {
            let r = match action {
                BatchAction::PlaceOrder(p) => self.place(a, batch_order_id(&hash, i as u32), p),
                BatchAction::CancelOrder(c) => self.cancel(a, c),
                BatchAction::AmendOrder(am) => self.amend(a, am),
            };
            results.push(r);
        }
        self.action_results = results;
        Ok(())
    }
}
