//! The [`AtomicApiServer`] methods (bundles and hashlock swaps), and the admission checks
//! for bundle and swap transactions that every write method applies. A child module of
//! `rpc_server`, so it shares its submission path.

use super::{internal, RpcImpl};
use crate::shared::Shared;
use jsonrpsee::core::{async_trait, RpcResult, SubscriptionResult};
use jsonrpsee::server::PendingSubscriptionSink;
use ledger_engine::Event;
use ledger_rpc::{
    page_limit, AtomicApiServer, BundleSubmitted, Page, Resource, RpcError, SwapEventKind,
    SwapState, SwapTerms, SwapUpdate, SwapView, WireTx,
};
use ledger_storage::{SwapStatus, SwapSummary};
use ledger_types::{Address, Bundle, Hash, Payload, SignedTx};

/// The view of a stored swap.
pub(crate) fn swap_view(shared: &Shared, s: &SwapSummary) -> SwapView {
    let r = &s.record;
    let cat = &shared.catalog;
    let (status, preimage, settled_height, settle_tx) = match s.status {
        SwapStatus::Open => (SwapState::Open, None, None, None),
        SwapStatus::Claimed {
            preimage,
            height,
            tx_hash,
        } => (
            SwapState::Claimed,
            Some(preimage),
            Some(height),
            Some(tx_hash),
        ),
        SwapStatus::Refunded { height, tx_hash } => {
            (SwapState::Refunded, None, Some(height), Some(tx_hash))
        }
    };
    SwapView {
        terms: SwapTerms {
            swap_id: r.id,
            owner: r.owner,
            counterparty: r.counterparty,
            asset: cat.asset_symbol(r.asset),
            asset_id: r.asset.0,
            amount: cat.asset_amount(r.asset, r.amount),
            hashlock: r.hashlock,
            timeout_height: r.timeout_height,
        },
        lock_height: r.lock_height,
        status,
        preimage,
        settled_height,
        settle_tx,
    }
}

/// Admission checks beyond the mempool's, for bundles and swap settlements: a bundle's
/// shape and each leg against its market (-32000 `invalid_bundle`, with the field at
/// fault); a claim or refund against the swap as it stands for the next block (-32003
/// with the engine's reason: `wrong_preimage`, `swap_expired`, `swap_not_expired`, ...).
pub(crate) fn precheck(shared: &Shared, stx: &SignedTx) -> Result<(), RpcError> {
    match &stx.tx.payload {
        Payload::Bundle(b) => {
            let invalid = |field: String, message: String| RpcError::InvalidInput {
                reason: "invalid_bundle",
                field,
                message,
            };
            b.check_shape()
                .map_err(|e| invalid(e.field(), e.to_string()))?;
            for (i, leg) in b.legs.iter().enumerate() {
                let Some(m) = shared.catalog.market(leg.market) else {
                    return Err(invalid(
                        format!("payload.legs[{i}].market"),
                        format!("leg {i}: unknown market id {}", leg.market.0),
                    ));
                };
                if m.price_to_ticks(leg.price).is_none() {
                    return Err(invalid(
                        format!("payload.legs[{i}].price"),
                        format!(
                            "leg {i}: price {} is not a positive multiple of {}'s tick size {}",
                            leg.price,
                            m.symbol,
                            m.tick_size.normalize()
                        ),
                    ));
                }
                match m.quantity_to_lots(leg.quantity) {
                    None => {
                        return Err(invalid(
                            format!("payload.legs[{i}].quantity"),
                            format!(
                            "leg {i}: quantity {} is not a positive multiple of {}'s lot size {}",
                            leg.quantity,
                            m.symbol,
                            m.lot_size.normalize()
                        ),
                        ))
                    }
                    Some(lots) if lots < m.min_lots => {
                        return Err(invalid(
                            format!("payload.legs[{i}].quantity"),
                            format!(
                                "leg {i}: quantity {} is below {}'s minimum size {}",
                                leg.quantity,
                                m.symbol,
                                m.lots_to_quantity(m.min_lots)
                            ),
                        ))
                    }
                    Some(_) => {}
                }
            }
            for (i, nb) in b.min_net.iter().enumerate() {
                if shared.catalog.asset(nb.asset).is_none() {
                    return Err(invalid(
                        format!("payload.min_net[{i}].asset"),
                        format!("net bound {i}: unknown asset id {}", nb.asset.0),
                    ));
                }
            }
            Ok(())
        }
        p @ (Payload::SwapClaim(_) | Payload::SwapRefund(_)) => {
            let exec = shared.executor.read();
            exec.engine()
                .check_swap_settlement(&stx.tx.sender, p, exec.applied_height() + 1)
                .map_err(|r| shared.catalog.rejection(&r, Some(p)))
        }
        _ => Ok(()),
    }
}

#[async_trait]
impl AtomicApiServer for RpcImpl {
    async fn submit_bundle(&self, tx: WireTx) -> RpcResult<BundleSubmitted> {
        let stx = self
            .submit(tx, "submit_bundle", "bundle", |p| {
                matches!(p, Payload::Bundle(_))
            })
            .await?;
        let legs = match &stx.tx.payload {
            Payload::Bundle(b) => b.legs.len(),
            _ => 0,
        };
        Ok(BundleSubmitted {
            tx_hash: stx.hash(),
            leg_order_ids: (0..legs)
                .map(|i| Bundle::leg_order_id(&stx.hash(), i))
                .collect(),
        })
    }

    async fn get_swap(&self, swap_id: Hash) -> RpcResult<SwapView> {
        self.count("get_swap");
        let s = self
            .shared
            .store
            .swap(&swap_id)
            .map_err(internal)?
            .ok_or_else(|| RpcError::not_found(Resource::Swap, "swap_id", swap_id))?;
        Ok(swap_view(&self.shared, &s))
    }

    async fn get_swaps(
        &self,
        account: Address,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<Page<SwapView>> {
        self.count("get_swaps");
        let limit = page_limit(limit)?;
        let store = &self.shared.store;
        let cursor = match cursor {
            None => None,
            Some(c) => {
                let id: Hash = c.parse().map_err(|_| {
                    RpcError::invalid("cursor", "expected a swap id (64 hex digits)")
                })?;
                if store.swap(&id).map_err(internal)?.is_none() {
                    return Err(RpcError::invalid("cursor", "unknown swap id").into());
                }
                Some(id)
            }
        };
        let page = store
            .account_swaps(&account, cursor.as_ref(), Some(limit))
            .map_err(internal)?;
        Ok(Page {
            items: page
                .items
                .iter()
                .map(|s| swap_view(&self.shared, s))
                .collect(),
            next_cursor: page.next_cursor.map(|h| h.to_hex()),
        })
    }

    async fn subscribe_swaps(
        &self,
        pending: PendingSubscriptionSink,
        account: Option<Address>,
    ) -> SubscriptionResult {
        self.count("subscribe_swaps");
        let rx = self.shared.final_blocks.subscribe();
        let sink = pending.accept().await?;
        let shared = self.shared.clone();
        self.forward(sink, rx, move |fb: &crate::shared::FinalBlock| {
            let mut out = Vec::new();
            for r in &fb.applied.receipts {
                for e in &r.events {
                    let (id, kind) = match e {
                        Event::SwapLocked { swap_id, .. } => (swap_id, SwapEventKind::Locked),
                        Event::SwapClaimed { swap_id, .. } => (swap_id, SwapEventKind::Claimed),
                        Event::SwapRefunded { swap_id, .. } => (swap_id, SwapEventKind::Refunded),
                        _ => continue,
                    };
                    if account.is_some_and(|a| !e.accounts().contains(&a)) {
                        continue;
                    }
                    if let Ok(Some(s)) = shared.store.swap(id) {
                        out.push(SwapUpdate {
                            block_height: fb.applied.height,
                            tx_hash: r.tx_hash,
                            event: kind,
                            swap: swap_view(&shared, &s),
                        });
                    }
                }
            }
            out
        })
        .await
    }
}
