//! The node's JSON-RPC server: [`LedgerApiServer`] over the shared node state, served
//! with jsonrpsee on HTTP and WebSocket (one port), with `GET /health`,
//! `GET /health/ready` and the explorer page on the same port.
//!
//! Resources are bounded per client: TCP connections, per-IP connections and idle
//! sockets by [`crate::rpc_limits`], subscription notifications by bytes queued (see
//! [`SubscriptionBudget`]).

use crate::mempool::AdmitError;
use crate::shared::{Command, FinalBlock, Shared};
use jsonrpsee::core::SubscriptionError;
use jsonrpsee::core::{async_trait, to_json_raw_value, RpcResult, SubscriptionResult};
use jsonrpsee::server::{
    BatchRequestConfig, Methods, PendingSubscriptionSink, PingConfig, Server, ServerConfig,
    ServerHandle, SubscriptionSink, TrySendError,
};
use ledger_consensus::streamlet::{two_thirds_quorum, Certificate};
use ledger_engine::Event;
use ledger_rpc::{
    book_depth, order_cursor, page_limit, trade_cursor, tx_cursor, wait_timeout, AccountView,
    BlockSelector, BlockView, CandleView, ChainStatus, LedgerApiServer, MarketRef, MarketStatsView,
    MarketView, MempoolError, OrderBookView, OrderStatusFilter, OrderSubmitted, OrderView, Page,
    PeerDirection, PeerView, Resource, RpcError, TradeView, TransferView, TxStatus, TxSubmitted,
    TxView, ValidatorView, WaitFor, WireTx,
};
use ledger_rpc::{CertificateView, CloseReason, SignerView, VALIDATOR_ACTIVITY_WINDOW};
use ledger_storage::{
    CandleInterval, HistoryCursor, OrderFilter, OrderStatus as StoredStatus, OrderSummary,
};
use ledger_types::{codec, Address, Block, MarketId, OrderId, Payload, SignedTx, TxHash};
use serde::Serialize;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::broadcast;

#[path = "rpc_atomic.rs"]
mod atomic;

/// The RPC implementation.
#[derive(Clone)]
pub struct RpcImpl {
    shared: Arc<Shared>,
    subscriptions: Arc<SubscriptionBudget>,
}

/// The byte bounds on subscription notifications (`rpc.subscription_buffer_bytes` per
/// subscription, `rpc.subscription_buffer_bytes_total` for all) and the bytes queued now.
///
/// A notification is queued in its connection's channel (`rpc.ws_message_buffer`
/// messages) until the connection's writer takes it. A subscription counts the bytes of
/// its notifications that may still be there: the connection's channel is first in,
/// first out, so at most its last `occupied` notifications are, where `occupied` is the
/// channel's current length. This is an upper bound; it is refreshed at every final
/// block. A subscription whose next notification would pass a bound is ended with an
/// error notification (code -32005, `data.reason`).
pub struct SubscriptionBudget {
    per_subscription: usize,
    total_max: usize,
    total: AtomicUsize,
    log: crate::rpc_limits::RateLimitedLog,
}

impl SubscriptionBudget {
    /// The bounds of the `[rpc]` section.
    pub fn new(rpc: &crate::config::RpcSection) -> SubscriptionBudget {
        SubscriptionBudget {
            per_subscription: rpc.subscription_buffer_bytes,
            total_max: rpc.subscription_buffer_bytes_total,
            total: AtomicUsize::new(0),
            log: Default::default(),
        }
    }

    /// Bytes queued by all subscriptions now (an upper bound).
    pub fn queued_bytes(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }
}

/// One subscription's notifications that may still be in its connection's channel.
struct Outbox<'a> {
    budget: &'a SubscriptionBudget,
    metrics: &'a crate::metrics::Metrics,
    sizes: VecDeque<usize>,
    queued: usize,
}

/// Why [`Outbox::push`] did not send.
enum Unsent {
    /// The connection is gone.
    Closed,
    /// The subscriber is too far behind: end the subscription with this notice.
    Behind(SubscriptionError),
}

impl<'a> Outbox<'a> {
    fn new(budget: &'a SubscriptionBudget, metrics: &'a crate::metrics::Metrics) -> Self {
        Outbox {
            budget,
            metrics,
            sizes: VecDeque::new(),
            queued: 0,
        }
    }

    fn publish_total(&self) {
        self.metrics
            .rpc_subscription_buffer_bytes
            .set(self.budget.total.load(Ordering::Relaxed) as i64);
    }

    /// Forgets notifications the connection's writer has certainly taken.
    fn refresh(&mut self, sink: &SubscriptionSink) {
        let occupied = sink.max_capacity().saturating_sub(sink.capacity());
        let mut freed = 0;
        while self.sizes.len() > occupied {
            freed += self.sizes.pop_front().unwrap_or(0);
        }
        if freed > 0 {
            self.queued -= freed;
            self.budget.total.fetch_sub(freed, Ordering::Relaxed);
            self.publish_total();
        }
    }

    /// The notice that ends a subscriber that fell behind, counted and logged.
    fn behind(&self, sink: &SubscriptionSink, reason: &'static str, limit: usize) -> Unsent {
        crate::rpc_limits::refusal(
            self.metrics,
            &self.budget.log,
            reason,
            format_args!(
                "dropping subscriber {:?} ({}) of connection {:?}: {} bytes of notifications unsent, limit {limit}",
                sink.subscription_id(),
                sink.method_name(),
                sink.connection_id(),
                self.queued
            ),
        );
        Unsent::Behind(lag_notice(reason, self.queued as u64, limit as u64))
    }

    /// Hands one notification to the connection, or says why not.
    fn push(
        &mut self,
        sink: &mut SubscriptionSink,
        json: Box<serde_json::value::RawValue>,
    ) -> Result<(), Unsent> {
        let len = json.get().len();
        // One notification larger than the bound still goes out when nothing is queued.
        if self.queued > 0 && self.queued + len > self.budget.per_subscription {
            return Err(self.behind(sink, "subscriber_behind", self.budget.per_subscription));
        }
        if self.budget.total.load(Ordering::Relaxed) + len > self.budget.total_max {
            return Err(self.behind(sink, "subscription_buffers_full", self.budget.total_max));
        }
        match sink.try_send(json) {
            Ok(()) => {
                self.sizes.push_back(len);
                self.queued += len;
                self.budget.total.fetch_add(len, Ordering::Relaxed);
                self.publish_total();
                Ok(())
            }
            Err(TrySendError::Full(_)) => {
                Err(self.behind(sink, "connection_buffer_full", sink.max_capacity()))
            }
            Err(TrySendError::Closed(_)) => Err(Unsent::Closed),
        }
    }
}

impl Drop for Outbox<'_> {
    fn drop(&mut self) {
        self.budget.total.fetch_sub(self.queued, Ordering::Relaxed);
        self.publish_total();
    }
}

/// The final error notification of a subscription ended for falling behind:
/// `{"code":-32005,"message":...,"data":{"reason":...,"queued":...,"limit":...}}`.
fn lag_notice(reason: &str, queued: u64, limit: u64) -> SubscriptionError {
    let v = serde_json::json!({
        "code": -32005,
        "message": "subscription dropped: the client did not read its notifications fast enough; resubscribe",
        "data": { "reason": reason, "queued": queued, "limit": limit },
    });
    match serde_json::value::to_raw_value(&v) {
        Ok(raw) => SubscriptionError::from_json(raw),
        Err(e) => SubscriptionError::from(e),
    }
}

/// A lookup in a query index this node does not keep (`[storage] indexes = false`).
fn not_indexed(index: &'static str) -> RpcError {
    internal(ledger_storage::StoreError::NotIndexed(index))
}

fn internal(e: impl std::fmt::Display + 'static) -> RpcError {
    // A lookup in an index this node does not keep is not a bug: say so (-32002).
    if let Some(ledger_storage::StoreError::NotIndexed(_)) =
        (&e as &dyn std::any::Any).downcast_ref::<ledger_storage::StoreError>()
    {
        return RpcError::Unavailable {
            reason: "not_indexed",
            message: e.to_string(),
        };
    }
    RpcError::Internal(e.to_string())
}

/// Maps a mempool refusal to its RPC error.
pub fn admit_error(shared: &Shared, e: AdmitError) -> RpcError {
    let m = match e {
        AdmitError::TooLarge { size, max } => MempoolError::TooLarge {
            size: size as u64,
            max: max as u64,
        },
        AdmitError::WrongChainId { expected, got } => MempoolError::WrongChainId { expected, got },
        AdmitError::BadSignature(_) => MempoolError::BadSignature,
        AdmitError::Duplicate | AdmitError::NonceTaken(_) => MempoolError::Duplicate,
        AdmitError::NonceTooLow { expected, got } => MempoolError::NonceTooLow { expected, got },
        AdmitError::NonceTooHigh {
            expected,
            got,
            max_gap,
        } => MempoolError::NonceTooHigh {
            expected,
            got,
            max_gap,
        },
        AdmitError::InsufficientBalance {
            asset,
            needed,
            available,
        } => {
            let id = ledger_types::AssetId(asset);
            MempoolError::InsufficientBalance {
                asset: shared.catalog.asset_symbol(id),
                needed: shared.catalog.asset_amount(id, needed),
                available: shared.catalog.asset_amount(id, available),
            }
        }
        AdmitError::Full("per-account limit") => MempoolError::AccountLimit {
            limit: shared.mempool.lock().limits().max_per_account as u64,
        },
        AdmitError::Full(_) => MempoolError::Full {
            capacity: shared.mempool.lock().limits().max_txs as u64,
        },
        AdmitError::Expired {
            valid_until_height,
            next_height,
        } => MempoolError::TxExpired {
            valid_until_height,
            next_height,
        },
    };
    m.into()
}

impl RpcImpl {
    /// An implementation over the shared state.
    pub fn new(shared: Arc<Shared>) -> RpcImpl {
        RpcImpl::with_limits(shared, &crate::config::RpcSection::default())
    }

    /// An implementation with the subscription bounds of `rpc`.
    pub fn with_limits(shared: Arc<Shared>, rpc: &crate::config::RpcSection) -> RpcImpl {
        RpcImpl {
            shared,
            subscriptions: Arc::new(SubscriptionBudget::new(rpc)),
        }
    }

    /// The subscription byte bounds and the bytes queued now.
    pub fn subscription_budget(&self) -> &SubscriptionBudget {
        &self.subscriptions
    }

    /// Forwards final-block items to a subscriber within the byte bounds.
    async fn forward<U: Serialize>(
        &self,
        sink: SubscriptionSink,
        rx: broadcast::Receiver<Arc<FinalBlock>>,
        map: impl FnMut(&FinalBlock) -> Vec<U>,
    ) -> SubscriptionResult {
        forward(sink, rx, &self.subscriptions, &self.shared.metrics, map).await
    }

    fn count(&self, method: &str) {
        self.shared.metrics.rpc_call(method);
    }

    /// Checks the payload type, the hash and the signature, admits the transaction to
    /// the mempool and queues it for gossip.
    async fn submit(
        &self,
        tx: WireTx,
        method: &'static str,
        expected: &'static str,
        ok: fn(&Payload) -> bool,
    ) -> Result<SignedTx, RpcError> {
        self.count(method);
        let started = std::time::Instant::now();
        let got = tx.payload_type();
        if !ok(&tx.payload) {
            return Err(RpcError::WrongPayload {
                method,
                expected,
                got,
            });
        }
        let stx = tx.into_signed()?;
        atomic::precheck(&self.shared, &stx)?;
        let len = codec::encode(&stx).len();
        let shared = &self.shared;
        let refuse = |e: AdmitError| {
            shared.metrics.refused(e.code_name());
            admit_error(shared, e)
        };
        let known = {
            let pool = shared.mempool.lock();
            pool.check_stateless(&stx, len).map_err(refuse)?;
            pool.knows_signature(&stx)
        };
        // The signature is checked before any lock is taken, batched with the
        // submissions that arrive with it, unless this node verified it already.
        if !known {
            shared
                .signatures
                .verify(&stx)
                .await
                .map_err(|e| refuse(AdmitError::BadSignature(e)))?;
        }
        {
            let exec = shared.executor.read();
            let mut pool = shared.mempool.lock();
            pool.admit_verified(stx.clone(), len, exec.engine())
                .map_err(refuse)?;
            shared.metrics.admitted_txs.inc();
            shared.metrics.mempool_txs.set(pool.len() as i64);
        }
        shared.metrics.tx_seen(stx.hash());
        shared
            .metrics
            .observe_stage(crate::metrics::Stage::Admission, started.elapsed());
        let _ = shared.commands.send(Command::Gossip(stx.clone())).await;
        Ok(stx)
    }

    /// A final transaction's view from its index record and block.
    fn final_view(&self, hash: &TxHash) -> Result<Option<TxView>, RpcError> {
        let store = &self.shared.store;
        let Some(rec) = store.tx(hash).map_err(internal)? else {
            return Ok(None);
        };
        let block = store
            .block_by_height(rec.height)
            .map_err(internal)?
            .ok_or_else(|| internal(format!("tx {hash} names a missing block")))?;
        let stx = block
            .txs
            .get(rec.position as usize)
            .filter(|t| t.hash() == *hash)
            .ok_or_else(|| internal(format!("tx {hash} is not where its index says")))?;
        let receipt = ledger_engine::Receipt {
            tx_hash: *hash,
            sender: stx.sender(),
            result: rec.result.clone(),
            events: rec.events.clone(),
            actions: rec.actions.clone(),
        };
        Ok(Some(self.shared.catalog.final_tx(
            stx,
            rec.height,
            block.hash(),
            block.header.time_ms(),
            rec.position,
            &receipt,
        )))
    }

    /// A transaction's view wherever it is (final, included, pending), if known here.
    /// A node without indexes (`[storage] indexes = false`) still knows its included
    /// and pending transactions; of any other it cannot tell whether it is final.
    fn tx_view(&self, hash: &TxHash) -> Result<Option<TxView>, RpcError> {
        let store = &self.shared.store;
        let indexed = store.options().indexes;
        if indexed {
            if let Some(v) = self.final_view(hash)? {
                return Ok(Some(v));
            }
        }
        let included = self.shared.included.read().get(hash).copied();
        if let Some((height, block_hash)) = included {
            if let Some(block) = store.block_by_hash(&block_hash).map_err(internal)? {
                if let Some(pos) = block.txs.iter().position(|t| t.hash() == *hash) {
                    let mut v = TxView::included(&block.txs[pos], height, block_hash, pos as u32);
                    v.time_ms = Some(block.header.time_ms());
                    return Ok(Some(v));
                }
            }
        }
        match self.shared.mempool.lock().get(hash).map(TxView::pending) {
            None if !indexed => Err(not_indexed("tx_index")),
            view => Ok(view),
        }
    }

    /// Waits until the transaction reaches `wanted` (or a later status), polling the
    /// node's state on every final block and every 25 ms in between.
    async fn wait_for(
        &self,
        hash: TxHash,
        wanted: WaitFor,
        timeout_ms: u64,
    ) -> Result<TxView, RpcError> {
        let mut rx = self.shared.final_blocks.subscribe();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(timeout_ms);
        loop {
            let view = self.tx_view(&hash)?;
            let status = view.as_ref().map(|v| v.status);
            let done = matches!(
                (wanted, status),
                (_, Some(TxStatus::Final | TxStatus::Rejected))
                    | (WaitFor::Included, Some(TxStatus::Included))
            );
            if let (true, Some(v)) = (done, view) {
                return Ok(v);
            }
            tokio::select! {
                _ = rx.recv() => {}
                _ = tokio::time::sleep(std::time::Duration::from_millis(25)) => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(RpcError::WaitTimeout {
                        tx_hash: hash,
                        wanted: match wanted {
                            WaitFor::Included => "included",
                            WaitFor::Final => "final",
                        },
                        status: match status {
                            Some(TxStatus::Pending) => "pending",
                            Some(TxStatus::Included) => "included",
                            Some(_) => "final",
                            None => "dropped",
                        },
                        timeout_ms,
                    });
                }
            }
        }
    }

    /// The block timestamp at a final height (0 if unknown).
    fn time_at(&self, height: u64) -> Result<u64, RpcError> {
        Ok(self
            .shared
            .store
            .block_by_height(height)
            .map_err(internal)?
            .map_or(0, |b| b.header.time_ms()))
    }

    /// A trade view with the tx hash looked up from the trade's block position.
    fn trade_view(&self, t: &ledger_storage::TradeRecord) -> Result<TradeView, RpcError> {
        let tx_hash = self
            .shared
            .store
            .block_by_height(t.height)
            .map_err(internal)?
            .and_then(|b| b.txs.get(t.position as usize).map(|x| x.hash()))
            .unwrap_or_default();
        Ok(self
            .shared
            .catalog
            .trade(&t.fill, t.height, t.time_ms, tx_hash))
    }

    /// The history position of a transaction named by a `cursor`.
    fn history_cursor(&self, cursor: Option<String>) -> Result<Option<HistoryCursor>, RpcError> {
        match tx_cursor(cursor.as_deref())? {
            None => Ok(None),
            Some(h) => {
                let rec = self
                    .shared
                    .store
                    .tx(&h)
                    .map_err(internal)?
                    .ok_or_else(|| RpcError::invalid("cursor", "unknown transaction hash"))?;
                Ok(Some(HistoryCursor {
                    height: rec.height,
                    position: rec.position,
                }))
            }
        }
    }

    fn order_view(&self, s: &OrderSummary) -> OrderView {
        let cat = &self.shared.catalog;
        let market = cat.market(s.market);
        let lots = |l: u64| market.map(|m| m.lots_to_quantity(l)).unwrap_or_default();
        let (status, reason) = match s.status {
            StoredStatus::Open => (ledger_rpc::OrderStatus::Open, None),
            StoredStatus::Filled => (ledger_rpc::OrderStatus::Filled, None),
            StoredStatus::Cancelled(r) => (
                ledger_rpc::OrderStatus::Cancelled,
                Some(CloseReason::Cancelled(r)),
            ),
            StoredStatus::Expired(r) => (
                ledger_rpc::OrderStatus::Expired,
                Some(CloseReason::Expired(r)),
            ),
        };
        let remaining = if s.status.is_open() {
            lots(s.quantity.saturating_sub(s.filled))
        } else {
            lots(0)
        };
        OrderView {
            order_id: s.order_id,
            client_order_id: s.client_order_id,
            account: s.account,
            market: market.map(|m| m.symbol.clone()).unwrap_or_default(),
            market_id: s.market.0,
            side: s.side,
            kind: s.kind,
            time_in_force: Some(s.time_in_force),
            price: s.price.and_then(|t| market.map(|m| m.ticks_to_price(t))),
            quantity: lots(s.quantity),
            filled: lots(s.filled),
            remaining,
            fees: market.map(|m| m.quote_amount(s.fees)).unwrap_or_default(),
            status,
            reason,
            placed_height: Some(s.height),
            updated_height: Some(s.updated_height),
        }
    }

    fn block_view(&self, block: &Block, include_txs: bool) -> Result<BlockView, RpcError> {
        let store = &self.shared.store;
        let final_height = store.final_height().map_err(internal)?;
        let is_final = block.height() <= final_height
            && store.final_hash(block.height()).map_err(internal)? == Some(block.hash());
        let root = if is_final {
            store.state_root(block.height()).map_err(internal)?
        } else {
            None
        };
        Ok(BlockView::new(block, is_final, root, include_txs))
    }

    /// The block a selector names, if this node has it (final or not).
    fn find_block(&self, block: &BlockSelector) -> Result<Option<Block>, RpcError> {
        let store = &self.shared.store;
        Ok(match block {
            BlockSelector::Latest => {
                let head = self.shared.progress.read().head;
                store.block_by_hash(&head.1).map_err(internal)?
            }
            BlockSelector::Final => {
                let h = store.final_height().map_err(internal)?;
                store.block_by_height(h).map_err(internal)?
            }
            BlockSelector::Height(h) => store.block_by_height(*h).map_err(internal)?,
            BlockSelector::Hash(h) => store.block_by_hash(h).map_err(internal)?,
        })
    }

    /// The genesis validators with their last proposal and last vote among the latest
    /// [`VALIDATOR_ACTIVITY_WINDOW`] final blocks (newest first, stopping once every
    /// validator has both).
    fn validator_activity(&self) -> Result<Vec<ValidatorView>, RpcError> {
        let mut views = self.shared.catalog.validators();
        let streamlet = matches!(
            self.shared.genesis.consensus,
            ledger_types::ConsensusParams::Streamlet(_)
        );
        let store = &self.shared.store;
        let top = store.final_height().map_err(internal)?;
        let lowest = top.saturating_sub(VALIDATOR_ACTIVITY_WINDOW - 1).max(1);
        let complete = |views: &[ValidatorView]| {
            views
                .iter()
                .all(|v| v.last_proposal.is_some() && (!streamlet || v.last_vote.is_some()))
        };
        let mut to = top;
        while to >= lowest && !complete(&views) {
            let from = to.saturating_sub(31).max(lowest);
            let chunk = store.finalized_range(from, to, 32).map_err(internal)?;
            for fb in chunk.iter().rev() {
                let height = fb.block.height();
                let author = match &fb.block.header.consensus {
                    ledger_types::ConsensusHeader::Streamlet { proposer, .. } => *proposer,
                    ledger_types::ConsensusHeader::Nakamoto { miner, .. } => *miner,
                };
                if let Some(v) = views.iter_mut().find(|v| v.public_key == author) {
                    if v.last_proposal.is_none() {
                        v.last_proposal = Some(height);
                        v.last_proposal_time_ms = Some(fb.block.header.time_ms());
                    }
                }
                if streamlet {
                    if let Ok(cert) = codec::decode::<Certificate>(&fb.certificate) {
                        for vote in &cert.votes {
                            if let Some(v) = views.get_mut(vote.validator as usize) {
                                v.last_vote.get_or_insert(height);
                            }
                        }
                    }
                }
            }
            if from == lowest {
                break;
            }
            to = from - 1;
        }
        Ok(views)
    }

    fn book(&self, market: MarketId, depth: usize) -> OrderBookView {
        let exec = self.shared.executor.read();
        let d = exec.engine().depth(market, depth).unwrap_or_default();
        self.shared
            .catalog
            .order_book(market, &d, exec.applied_height())
    }
}

/// Forwards items from the final-block stream to a subscriber until it leaves or falls
/// behind. Never waits on the client: each final block is read at once and its items
/// handed to the connection within the byte bounds of `budget`.
async fn forward<U: Serialize>(
    mut sink: SubscriptionSink,
    mut rx: broadcast::Receiver<Arc<FinalBlock>>,
    budget: &SubscriptionBudget,
    metrics: &crate::metrics::Metrics,
    mut map: impl FnMut(&FinalBlock) -> Vec<U>,
) -> SubscriptionResult {
    let mut outbox = Outbox::new(budget, metrics);
    loop {
        tokio::select! {
            _ = sink.closed() => return Ok(()),
            item = rx.recv() => match item {
                Ok(fb) => {
                    outbox.refresh(&sink);
                    for out in map(&fb) {
                        match outbox.push(&mut sink, to_json_raw_value(&out)?) {
                            Ok(()) => {}
                            Err(Unsent::Closed) => return Ok(()),
                            Err(Unsent::Behind(notice)) => return Err(notice),
                        }
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    crate::rpc_limits::refusal(
                        metrics,
                        &budget.log,
                        "lagged_blocks",
                        format_args!("dropping subscriber {:?}: {n} blocks behind", sink.subscription_id()),
                    );
                    return Err(lag_notice("lagged_blocks", n, 0));
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            }
        }
    }
}

#[async_trait]
impl LedgerApiServer for RpcImpl {
    async fn submit_order(&self, tx: WireTx) -> RpcResult<OrderSubmitted> {
        let stx = self
            .submit(tx, "submit_order", "place_order", |p| {
                matches!(p, Payload::PlaceOrder(_))
            })
            .await?;
        let client_order_id = match &stx.tx.payload {
            Payload::PlaceOrder(p) => p.client_order_id,
            _ => None,
        };
        Ok(OrderSubmitted {
            tx_hash: stx.hash(),
            order_id: stx.hash(),
            client_order_id,
        })
    }

    async fn cancel_order(&self, tx: WireTx) -> RpcResult<TxSubmitted> {
        let stx = self
            .submit(tx, "cancel_order", "cancel_order or cancel_all", |p| {
                matches!(p, Payload::CancelOrder(_) | Payload::CancelAll(_))
            })
            .await?;
        Ok(TxSubmitted {
            tx_hash: stx.hash(),
            order_id: None,
            tx: None,
        })
    }

    async fn submit_tx(
        &self,
        tx: WireTx,
        wait: Option<WaitFor>,
        timeout_ms: Option<u64>,
    ) -> RpcResult<TxSubmitted> {
        let timeout_ms = wait_timeout(timeout_ms)?;
        if wait.is_some() && !self.shared.store.options().indexes {
            // Waiting reads the transaction index: refuse before admitting anything.
            return Err(not_indexed("tx_index").into());
        }
        let stx = self.submit(tx, "submit_tx", "any", |_| true).await?;
        let is_order = matches!(stx.tx.payload, Payload::PlaceOrder(_));
        let tx = match wait {
            Some(w) => Some(Box::new(self.wait_for(stx.hash(), w, timeout_ms).await?)),
            None => None,
        };
        Ok(TxSubmitted {
            tx_hash: stx.hash(),
            order_id: is_order.then(|| stx.hash()),
            tx,
        })
    }

    async fn get_tx(&self, hash: TxHash) -> RpcResult<TxView> {
        self.count("get_tx");
        match self.tx_view(&hash)? {
            Some(v) => Ok(v),
            None => Err(RpcError::not_found(Resource::Tx, "hash", hash).into()),
        }
    }

    async fn get_txs(&self, hashes: Vec<TxHash>) -> RpcResult<Vec<Option<TxView>>> {
        self.count("get_txs");
        if hashes.len() > ledger_rpc::types::MAX_TXS_PER_CALL {
            return Err(RpcError::LimitExceeded {
                field: "hashes",
                got: hashes.len() as u64,
                max: ledger_rpc::types::MAX_TXS_PER_CALL as u64,
            }
            .into());
        }
        let mut out = Vec::with_capacity(hashes.len());
        for h in &hashes {
            out.push(self.tx_view(h)?);
        }
        Ok(out)
    }

    async fn get_account_fills(
        &self,
        account: Address,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<Page<TradeView>> {
        self.count("get_account_fills");
        let limit = page_limit(limit)?;
        let cursor = trade_cursor(cursor.as_deref())?;
        let page = self
            .shared
            .store
            .account_fills(&account, cursor, Some(limit))
            .map_err(internal)?;
        let mut items = Vec::with_capacity(page.items.len());
        for t in &page.items {
            items.push(self.trade_view(t)?);
        }
        Ok(Page {
            items,
            next_cursor: page.next_cursor.map(|c| c.to_string()),
        })
    }

    async fn get_account_transfers(
        &self,
        account: Address,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<Page<TransferView>> {
        self.count("get_account_transfers");
        let limit = page_limit(limit)?;
        let cursor = self.history_cursor(cursor)?;
        let page = self
            .shared
            .store
            .account_transfers(&account, cursor, Some(limit))
            .map_err(internal)?;
        let cat = &self.shared.catalog;
        let items: Vec<TransferView> = page
            .items
            .iter()
            .map(|t| {
                cat.transfer(
                    t.height, t.time_ms, t.tx_hash, t.from, t.to, t.asset, t.amount,
                )
            })
            .collect();
        let next_cursor = page
            .next_cursor
            .and(items.last().map(|t| t.tx_hash.to_hex()));
        Ok(Page { items, next_cursor })
    }

    async fn get_account_txs(
        &self,
        account: Address,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<Page<TxView>> {
        self.count("get_account_txs");
        let limit = page_limit(limit)?;
        let cursor = self.history_cursor(cursor)?;
        let page = self
            .shared
            .store
            .account_txs(&account, cursor, Some(limit))
            .map_err(internal)?;
        let mut items = Vec::with_capacity(page.items.len());
        for r in &page.items {
            if let Some(v) = self.final_view(&r.tx_hash)? {
                items.push(v);
            }
        }
        let next_cursor = page
            .next_cursor
            .and(page.items.last().map(|r| r.tx_hash.to_hex()));
        Ok(Page { items, next_cursor })
    }

    async fn get_candles(
        &self,
        market: MarketRef,
        interval: String,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<Page<CandleView>> {
        self.count("get_candles");
        let limit = page_limit(limit)?;
        let m = self.shared.catalog.resolve_market(&market)?.id;
        let iv = CandleInterval::parse(&interval).ok_or_else(|| {
            RpcError::invalid(
                "interval",
                "expected 1m, 5m, 15m, 1h, 4h, 1d, 10b, 100b or 1000b",
            )
        })?;
        let before = cursor
            .as_deref()
            .map(|c| {
                ledger_rpc::num::parse_u64(c).map_err(|_| {
                    RpcError::invalid("cursor", "expected a bucket start (decimal string)")
                })
            })
            .transpose()?;
        let candles = self
            .shared
            .store
            .candles(m, iv, before, limit)
            .map_err(internal)?;
        let cat = &self.shared.catalog;
        let items: Vec<CandleView> = candles
            .iter()
            .map(|c| {
                cat.candle(
                    m,
                    iv.name(),
                    c.start,
                    [c.open, c.high, c.low, c.close],
                    c.volume,
                    c.quote_volume,
                    c.trades,
                )
            })
            .collect();
        let next_cursor = (items.len() == limit)
            .then(|| items.last().map(|c| c.start.to_string()))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    async fn get_market_stats(&self, market: MarketRef) -> RpcResult<MarketStatsView> {
        self.count("get_market_stats");
        let m = self.shared.catalog.resolve_market(&market)?.id;
        let applied = self.shared.executor.read().applied_height();
        let to_ms = self.time_at(applied)?;
        let st = self.shared.store.market_stats(m, to_ms).map_err(internal)?;
        Ok(self.shared.catalog.market_stats(
            m,
            st.from_ms,
            st.to_ms,
            st.candle.map(|c| {
                (
                    [c.open, c.high, c.low, c.close],
                    c.volume,
                    c.quote_volume,
                    c.trades,
                )
            }),
            st.last_trade.map(|(_, p)| p),
        ))
    }

    async fn discover(&self) -> RpcResult<serde_json::Value> {
        self.count("rpc.discover");
        Ok(ledger_rpc::discover::openrpc_document())
    }

    async fn get_block(
        &self,
        block: BlockSelector,
        include_txs: Option<bool>,
    ) -> RpcResult<BlockView> {
        self.count("get_block");
        let b = self
            .find_block(&block)?
            .ok_or_else(|| RpcError::not_found(Resource::Block, "block", block))?;
        Ok(self.block_view(&b, include_txs.unwrap_or(false))?)
    }

    async fn get_account(&self, account: Address) -> RpcResult<AccountView> {
        self.count("get_account");
        let exec = self.shared.executor.read();
        let record = exec.engine().account(&account);
        let next = exec.engine().next_nonce(&account);
        let pending = self
            .shared
            .mempool
            .lock()
            .pending_of(&account)
            .iter()
            .map(|t| t.tx.nonce)
            .fold(next, |n, nonce| if nonce == n { n + 1 } else { n });
        Ok(self
            .shared
            .catalog
            .account(account, record.as_ref(), Some(pending)))
    }

    async fn get_orders(
        &self,
        account: Address,
        market: Option<MarketRef>,
        status: Option<OrderStatusFilter>,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<Page<OrderView>> {
        self.count("get_orders");
        let limit = page_limit(limit)?;
        let cursor = order_cursor(cursor.as_deref())?;
        let market = market
            .map(|m| self.shared.catalog.resolve_market(&m).map(|m| m.id))
            .transpose()?;
        let status = status.unwrap_or_default();
        let store = &self.shared.store;
        // The cursor is an order id: page past its (height, position).
        let start = match cursor {
            Some(id) => Some(
                store
                    .order(&id)
                    .map_err(internal)?
                    .ok_or_else(|| RpcError::invalid("cursor", "unknown order id"))?
                    .cursor(),
            ),
            None => None,
        };
        let filter = match status {
            OrderStatusFilter::Open => OrderFilter::Open,
            _ => OrderFilter::All,
        };
        let mut items = Vec::new();
        let mut next = start;
        // Filter by market and closed status in the service, scanning pages until the
        // requested number is found (each store page is bounded).
        loop {
            let page = store
                .account_orders(&account, filter, next, Some(100))
                .map_err(internal)?;
            for s in &page.items {
                let keep = market.is_none_or(|m| s.market == m)
                    && match status {
                        OrderStatusFilter::Closed => !s.status.is_open(),
                        _ => true,
                    };
                if keep && items.len() < limit {
                    items.push(self.order_view(s));
                }
            }
            if items.len() >= limit {
                break;
            }
            match page.next_cursor {
                Some(c) => next = Some(c),
                None => break,
            }
        }
        let next_cursor = (items.len() == limit)
            .then(|| items.last().map(|o: &OrderView| o.order_id.to_hex()))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    async fn get_order(&self, order_id: OrderId) -> RpcResult<OrderView> {
        self.count("get_order");
        let s = self
            .shared
            .store
            .order(&order_id)
            .map_err(internal)?
            .ok_or_else(|| RpcError::not_found(Resource::Order, "order_id", order_id))?;
        Ok(self.order_view(&s))
    }

    async fn get_order_book(
        &self,
        market: MarketRef,
        depth: Option<u32>,
    ) -> RpcResult<OrderBookView> {
        self.count("get_order_book");
        let depth = book_depth(depth)?;
        let m = self.shared.catalog.resolve_market(&market)?.id;
        Ok(self.book(m, depth))
    }

    async fn get_trades(
        &self,
        market: MarketRef,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<Page<TradeView>> {
        self.count("get_trades");
        let limit = page_limit(limit)?;
        let cursor = trade_cursor(cursor.as_deref())?;
        let m = self.shared.catalog.resolve_market(&market)?.id;
        let page = self
            .shared
            .store
            .trades(m, cursor, Some(limit))
            .map_err(internal)?;
        let mut items = Vec::with_capacity(page.items.len());
        for t in &page.items {
            items.push(self.trade_view(t)?);
        }
        Ok(Page {
            items,
            next_cursor: page.next_cursor.map(|c| c.to_string()),
        })
    }

    async fn get_markets(&self) -> RpcResult<Vec<MarketView>> {
        self.count("get_markets");
        Ok(self.shared.catalog.market_views())
    }

    async fn chain_status(&self) -> RpcResult<ChainStatus> {
        self.count("chain_status");
        let p = self.shared.progress.read().clone();
        let state_root = self.shared.executor.read().state_root();
        Ok(ChainStatus {
            chain_id: self.shared.genesis.chain_id.clone(),
            genesis_hash: self.shared.genesis.hash(),
            consensus: self.shared.genesis.consensus.kind().to_string(),
            node_version: env!("CARGO_PKG_VERSION").to_string(),
            latest_height: p.head.0,
            latest_hash: p.head.1,
            final_height: p.final_tip.0,
            final_hash: p.final_tip.1,
            state_root,
            peers: self.shared.peers.read().len() as u32,
            syncing: p.syncing,
            mempool_size: self.shared.mempool.lock().len() as u32,
            validator: self.shared.validator,
        })
    }

    async fn get_validators(&self) -> RpcResult<Vec<ValidatorView>> {
        self.count("get_validators");
        Ok(self.validator_activity()?)
    }

    async fn get_block_certificate(&self, block: BlockSelector) -> RpcResult<CertificateView> {
        self.count("get_block_certificate");
        let not_found = || RpcError::not_found(Resource::Block, "block", block);
        let b = self.find_block(&block)?.ok_or_else(not_found)?;
        let height = b.height();
        let store = &self.shared.store;
        let fb = store
            .finalized_block(height)
            .map_err(internal)?
            .filter(|fb| fb.block.hash() == b.hash())
            .ok_or_else(not_found)?;
        match &self.shared.genesis.consensus {
            ledger_types::ConsensusParams::Streamlet(_) if height == 0 => {
                // The genesis block is final by definition: no votes, no certificate.
                let validators = self.shared.catalog.validators();
                Ok(CertificateView::Streamlet {
                    height,
                    block: fb.block.hash(),
                    epoch: 0,
                    quorum: two_thirds_quorum(validators.len()) as u32,
                    validators: validators.len() as u32,
                    signers: Vec::new(),
                })
            }
            ledger_types::ConsensusParams::Streamlet(_) => {
                let cert = codec::decode::<Certificate>(&fb.certificate)
                    .map_err(|e| internal(format!("stored certificate at {height}: {e}")))?;
                let validators = self.shared.catalog.validators();
                let signers = cert
                    .votes
                    .iter()
                    .map(|v| {
                        let known = validators.get(v.validator as usize);
                        SignerView {
                            index: v.validator,
                            name: known.map(|k| k.name.clone()).unwrap_or_default(),
                            public_key: known.map(|k| k.public_key),
                            signature: v.signature,
                        }
                    })
                    .collect();
                Ok(CertificateView::Streamlet {
                    height,
                    block: fb.block.hash(),
                    epoch: cert.epoch,
                    quorum: two_thirds_quorum(validators.len()) as u32,
                    validators: validators.len() as u32,
                    signers,
                })
            }
            ledger_types::ConsensusParams::Nakamoto(p) => Ok(CertificateView::ProofOfWork {
                height,
                block: fb.block.hash(),
                finality_depth: p.finality_depth,
            }),
        }
    }

    async fn get_peers(&self) -> RpcResult<Vec<PeerView>> {
        self.count("get_peers");
        Ok(self
            .shared
            .peers
            .read()
            .iter()
            .map(|p| PeerView {
                peer_id: p.peer_id.clone(),
                addresses: vec![p.address.clone()],
                direction: if p.inbound {
                    PeerDirection::Inbound
                } else {
                    PeerDirection::Outbound
                },
                agent_version: p.agent.clone(),
            })
            .collect())
    }

    async fn subscribe_blocks(
        &self,
        pending: PendingSubscriptionSink,
        include_txs: Option<bool>,
    ) -> SubscriptionResult {
        self.count("subscribe_blocks");
        let rx = self.shared.final_blocks.subscribe();
        let sink = pending.accept().await?;
        let include = include_txs.unwrap_or(false);
        self.forward(sink, rx, move |fb| {
            vec![BlockView::new(
                &fb.block,
                true,
                Some(fb.applied.state_root),
                include,
            )]
        })
        .await
    }

    async fn subscribe_trades(
        &self,
        pending: PendingSubscriptionSink,
        market: MarketRef,
    ) -> SubscriptionResult {
        self.count("subscribe_trades");
        let m = match self.shared.catalog.resolve_market(&market) {
            Ok(m) => m.id,
            Err(e) => {
                pending.reject(e).await;
                return Ok(());
            }
        };
        let rx = self.shared.final_blocks.subscribe();
        let sink = pending.accept().await?;
        let catalog = self.shared.catalog.clone();
        self.forward(sink, rx, move |fb| {
            let mut out = Vec::new();
            for r in &fb.applied.receipts {
                for e in &r.events {
                    if let Event::Fill(f) = e {
                        if f.market == m {
                            out.push(catalog.trade(
                                f,
                                fb.applied.height,
                                fb.applied.time_ms,
                                r.tx_hash,
                            ));
                        }
                    }
                }
            }
            out
        })
        .await
    }

    async fn subscribe_book(
        &self,
        pending: PendingSubscriptionSink,
        market: MarketRef,
        depth: Option<u32>,
    ) -> SubscriptionResult {
        self.count("subscribe_book");
        let (m, depth) = match self
            .shared
            .catalog
            .resolve_market(&market)
            .and_then(|m| book_depth(depth).map(|d| (m.id, d)))
        {
            Ok(v) => v,
            Err(e) => {
                pending.reject(e).await;
                return Ok(());
            }
        };
        let rx = self.shared.final_blocks.subscribe();
        let sink = pending.accept().await?;
        sink.send(to_json_raw_value(&self.book(m, depth))?).await?;
        let this = self.clone();
        self.forward(sink, rx, move |fb| {
            let touched = fb
                .applied
                .receipts
                .iter()
                .flat_map(|r| &r.events)
                .chain(&fb.applied.block_events)
                .any(|e| e.market() == Some(m));
            if touched {
                vec![this.book(m, depth)]
            } else {
                Vec::new()
            }
        })
        .await
    }

    async fn subscribe_tx(
        &self,
        pending: PendingSubscriptionSink,
        hash: TxHash,
    ) -> SubscriptionResult {
        self.tx_subscription(pending, hash).await
    }

    async fn subscribe_orders(
        &self,
        pending: PendingSubscriptionSink,
        account: Address,
    ) -> SubscriptionResult {
        self.count("subscribe_orders");
        let rx = self.shared.final_blocks.subscribe();
        let sink = pending.accept().await?;
        let catalog = self.shared.catalog.clone();
        self.forward(sink, rx, move |fb| {
            let mut out = Vec::new();
            // The block's own events (good-till expiries, scheduled cancels) come first;
            // no transaction caused them, so their `tx_hash` is all zeros.
            let block_events = ledger_engine::Receipt {
                tx_hash: TxHash::ZERO,
                sender: account,
                result: Ok(()),
                events: fb.applied.block_events.clone(),
                actions: Vec::new(),
            };
            for r in std::iter::once(&block_events).chain(&fb.applied.receipts) {
                for e in &r.events {
                    if e.accounts().contains(&account) {
                        out.extend(
                            catalog
                                .order_updates(e, fb.applied.height, r.tx_hash)
                                .into_iter()
                                .filter(|u| u.account == account),
                        );
                    }
                }
            }
            out
        })
        .await
    }
}

impl RpcImpl {
    /// `subscribe_tx`: the view at once, then every status change, until final.
    async fn tx_subscription(
        &self,
        pending: PendingSubscriptionSink,
        hash: TxHash,
    ) -> SubscriptionResult {
        self.count("subscribe_tx");
        let mut rx = self.shared.final_blocks.subscribe();
        let first = match self.tx_view(&hash) {
            Ok(Some(v)) => v,
            Ok(None) => {
                pending
                    .reject(RpcError::not_found(Resource::Tx, "hash", hash))
                    .await;
                return Ok(());
            }
            Err(e) => {
                pending.reject(e).await;
                return Ok(());
            }
        };
        let sink = pending.accept().await?;
        let terminal = |s: TxStatus| matches!(s, TxStatus::Final | TxStatus::Rejected);
        let mut last = first.status;
        sink.send(to_json_raw_value(&first)?).await?;
        while !terminal(last) {
            tokio::select! {
                _ = sink.closed() => return Ok(()),
                _ = rx.recv() => {}
                _ = tokio::time::sleep(std::time::Duration::from_millis(25)) => {}
            }
            if let Some(v) = self.tx_view(&hash)? {
                if v.status != last {
                    last = v.status;
                    sink.send(to_json_raw_value(&v)?).await?;
                }
            }
        }
        Ok(())
    }
}

/// Starts the RPC server with the `[rpc]` limits; returns its handle and bound address.
///
/// The node accepts TCP connections itself ([`crate::rpc_limits::accept_loop`]: limits
/// on open and per-IP connections, an idle timeout) and serves each with jsonrpsee's
/// tower service (HTTP, WebSocket, the node's GET routes, CORS).
pub async fn serve(
    shared: Arc<Shared>,
    rpc: &crate::config::RpcSection,
    addr: SocketAddr,
) -> std::io::Result<(ServerHandle, SocketAddr)> {
    let idle = std::time::Duration::from_secs(rpc.idle_timeout_secs.max(1));
    let config = ServerConfig::builder()
        .max_request_body_size(rpc.max_request_bytes)
        .max_response_body_size(rpc.max_response_bytes)
        .max_connections(rpc.max_connections)
        .max_subscriptions_per_connection(rpc.max_subscriptions_per_connection)
        .set_batch_request_config(BatchRequestConfig::Limit(rpc.max_batch_len))
        .set_message_buffer_capacity(rpc.ws_message_buffer.max(1))
        // Live WebSocket clients answer pings, so they never reach the idle timeout;
        // one that stops answering is closed by jsonrpsee after `idle`.
        .enable_ws_ping(
            PingConfig::new()
                .ping_interval((idle / 3).max(std::time::Duration::from_secs(1)))
                .inactive_limit(idle),
        )
        .set_first_request_timeout(Some(idle))
        .build();
    let cors = crate::http::cors_layer(&rpc.cors_origins);
    let middleware = tower::ServiceBuilder::new()
        .option_layer(cors)
        .layer(crate::http::NodeHttpLayer::new(shared.clone()));
    let max_response_bytes = rpc.max_response_bytes;
    let rpc_middleware =
        jsonrpsee::server::middleware::rpc::RpcServiceBuilder::new().layer_fn(move |service| {
            crate::rpc_batch::ConcurrentBatches::new(service, max_response_bytes)
        });
    let services = Server::builder()
        .set_config(config)
        .set_http_middleware(middleware)
        .set_rpc_middleware(rpc_middleware)
        .to_service_builder();
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let limits = crate::rpc_limits::ConnectionLimits::new(rpc, shared.metrics.clone());
    let mut module = LedgerApiServer::into_rpc(RpcImpl::with_limits(shared.clone(), rpc));
    module
        .merge(ledger_rpc::AtomicApiServer::into_rpc(RpcImpl::with_limits(
            shared, rpc,
        )))
        .map_err(std::io::Error::other)?;
    let methods: Methods = module.into();
    let (stop, handle) = jsonrpsee::server::stop_channel();
    let stop_all = stop.clone();
    tokio::spawn(crate::rpc_limits::accept_loop(
        listener,
        limits,
        stop,
        move |stream| {
            let service = services.clone().build(methods.clone(), stop_all.clone());
            let stopped = stop_all.clone().shutdown();
            async move {
                if let Err(e) =
                    jsonrpsee::server::serve_with_graceful_shutdown(stream, service, stopped).await
                {
                    tracing::debug!("rpc connection ended: {e}");
                }
            }
        },
    ));
    Ok((handle, local))
}
