//! A tiny in-process node for the CLI's process tests: the real engine behind the
//! generated `LedgerApiServer`, served by jsonrpsee on 127.0.0.1:0 (HTTP and WebSocket),
//! with a per-account mempool (consecutive nonces, a capacity that answers -32005
//! `mempool_full`, a nonce gap that answers `nonce_too_high`) and blocks produced on
//! demand or by a background ticker. Adapted from `crates/rpc/tests/server.rs`.

#![allow(dead_code)]

use jsonrpsee::core::{async_trait, to_json_raw_value, RpcResult, SubscriptionResult};
use jsonrpsee::server::{PendingSubscriptionSink, Server, ServerHandle, SubscriptionSink};
use jsonrpsee::types::ErrorObjectOwned;
use ledger_engine::{Engine, Event};
use ledger_rpc::{
    book_depth, order_cursor, page_limit, trade_cursor, AccountView, BlockSelector, BlockView,
    Catalog, ChainStatus, LedgerApiServer, MarketRef, MarketView, MempoolError, OrderBookView,
    OrderStatusFilter, OrderSubmitted, OrderUpdate, OrderView, Page, PeerDirection, PeerView,
    Resource, RpcError, TradeView, TxStatus, TxSubmitted, TxView, ValidatorView, WireTx,
};
use ledger_types::{
    codec, Address, Block, ConsensusHeader, Genesis, Hash, Keypair, MarketId, OrderId, Payload,
    SignedTx, TxHash,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// Funded test accounts: `account-0 .. account-{N-1}`.
pub const ACCOUNTS: u32 = 8;
/// Most pending transactions (then -32005 `mempool_full`).
pub const MEMPOOL_CAPACITY: usize = 3_000;
/// How far ahead of the next nonce a transaction may be.
pub const MAX_NONCE_GAP: u64 = 256;

struct State {
    engine: Engine,
    /// Pending transactions per account, by nonce.
    pending: BTreeMap<Address, BTreeMap<u64, SignedTx>>,
    pending_count: usize,
    blocks: Vec<Block>,
    roots: Vec<Hash>,
    txs: HashMap<TxHash, TxView>,
    trades: Vec<TradeView>,
    orders: Vec<OrderView>,
}

/// The mock node.
pub struct Node {
    genesis: Genesis,
    catalog: Catalog,
    proposer: Address,
    state: Mutex<State>,
    blocks_tx: broadcast::Sender<(Arc<Block>, Hash)>,
    trades_tx: broadcast::Sender<TradeView>,
    books_tx: broadcast::Sender<(MarketId, u64)>,
    orders_tx: broadcast::Sender<OrderUpdate>,
}

impl State {
    /// The next nonce counting the consecutive run of pending transactions.
    fn pending_nonce(&self, account: &Address) -> u64 {
        let mut n = self.engine.next_nonce(account);
        if let Some(q) = self.pending.get(account) {
            while q.contains_key(&n) {
                n += 1;
            }
        }
        n
    }
}

impl Node {
    fn new(genesis: Genesis) -> Node {
        let engine = Engine::from_genesis(&genesis).unwrap();
        let root = engine.state_root();
        Node {
            catalog: Catalog::from_genesis(&genesis),
            proposer: genesis.validators[0].public_key,
            state: Mutex::new(State {
                engine,
                pending: BTreeMap::new(),
                pending_count: 0,
                blocks: vec![genesis.block()],
                roots: vec![root],
                txs: HashMap::new(),
                trades: Vec::new(),
                orders: Vec::new(),
            }),
            genesis,
            blocks_tx: broadcast::channel(1024).0,
            trades_tx: broadcast::channel(65_536).0,
            books_tx: broadcast::channel(64).0,
            orders_tx: broadcast::channel(65_536).0,
        }
    }

    fn admit(&self, stx: SignedTx) -> Result<(), RpcError> {
        let size = codec::encode(&stx).len() as u64;
        let max = self.genesis.limits.max_tx_bytes as u64;
        if size > max {
            return Err(MempoolError::TooLarge { size, max }.into());
        }
        if stx.tx.chain_id != self.genesis.chain_id {
            return Err(MempoolError::WrongChainId {
                expected: self.genesis.chain_id.clone(),
                got: stx.tx.chain_id.clone(),
            }
            .into());
        }
        stx.verify().map_err(|_| MempoolError::BadSignature)?;
        let mut st = self.state.lock().unwrap();
        if st.txs.contains_key(&stx.hash()) {
            return Err(MempoolError::Duplicate.into());
        }
        let sender = stx.sender();
        let expected = st.engine.next_nonce(&sender);
        let got = stx.tx.nonce;
        if got < expected
            || st
                .pending
                .get(&sender)
                .is_some_and(|q| q.contains_key(&got))
        {
            return Err(MempoolError::NonceTooLow { expected, got }.into());
        }
        if got > expected + MAX_NONCE_GAP {
            return Err(MempoolError::NonceTooHigh {
                expected,
                got,
                max_gap: MAX_NONCE_GAP,
            }
            .into());
        }
        if st.pending_count >= MEMPOOL_CAPACITY {
            return Err(MempoolError::Full {
                capacity: MEMPOOL_CAPACITY as u64,
            }
            .into());
        }
        st.txs.insert(stx.hash(), TxView::pending(&stx));
        st.pending.entry(sender).or_default().insert(got, stx);
        st.pending_count += 1;
        Ok(())
    }

    /// Packs every account's run of consecutive nonces into a block, finalizes and
    /// executes it, indexes and publishes. Returns the height.
    pub fn produce_block(&self) -> u64 {
        let mut st = self.state.lock().unwrap();
        let mut txs = Vec::new();
        let accounts: Vec<Address> = st.pending.keys().copied().collect();
        for a in accounts {
            let mut n = st.engine.next_nonce(&a);
            let q = st.pending.get_mut(&a).unwrap();
            while let Some(tx) = q.remove(&n) {
                txs.push(tx);
                n += 1;
            }
            if q.is_empty() {
                st.pending.remove(&a);
            }
        }
        st.pending_count -= txs.len();
        let height = st.blocks.len() as u64;
        let parent = st.blocks.last().unwrap().hash();
        let block = Block::new(
            parent,
            height,
            ConsensusHeader::Streamlet {
                epoch: height * 2,
                proposer: self.proposer,
                time_ms: height * 1000,
            },
            txs,
        );
        let out = st.engine.execute_block(&block.txs);
        let mut touched = Vec::new();
        for (i, (stx, receipt)) in block.txs.iter().zip(&out.receipts).enumerate() {
            let view =
                self.catalog
                    .final_tx(stx, height, block.hash(), height * 1000, i as u32, receipt);
            st.txs.insert(stx.hash(), view);
            for e in &receipt.events {
                if let Event::Fill(f) = e {
                    let t = self.catalog.trade(f, height, height * 1000, stx.hash());
                    st.trades.push(t.clone());
                    let _ = self.trades_tx.send(t);
                }
                if let Some(m) = e.market() {
                    if !touched.contains(&m) {
                        touched.push(m);
                    }
                }
                for u in self.catalog.order_updates(e, height, stx.hash()) {
                    match OrderView::from_accepted(&u) {
                        Some(v) => st.orders.push(v),
                        None => {
                            if let Some(o) = st.orders.iter_mut().find(|o| o.order_id == u.order_id)
                            {
                                o.apply(&u);
                            }
                        }
                    }
                    let _ = self.orders_tx.send(u);
                }
            }
        }
        st.roots.push(out.state_root);
        let block = Arc::new(block);
        st.blocks.push((*block).clone());
        drop(st);
        let _ = self.blocks_tx.send((block, out.state_root));
        for m in touched {
            let _ = self.books_tx.send((m, height));
        }
        height
    }

    fn book(&self, market: MarketId, depth: usize) -> OrderBookView {
        let st = self.state.lock().unwrap();
        let d = st.engine.depth(market, depth).unwrap_or_default();
        self.catalog
            .order_book(market, &d, st.blocks.len() as u64 - 1)
    }

    /// Number of trades so far.
    pub fn trade_count(&self) -> usize {
        self.state.lock().unwrap().trades.len()
    }

    /// Height of the last block.
    pub fn height(&self) -> u64 {
        self.state.lock().unwrap().blocks.len() as u64 - 1
    }
}

async fn forward<T: Clone, U: Serialize>(
    sink: SubscriptionSink,
    mut rx: broadcast::Receiver<T>,
    map: impl Fn(T) -> Option<U>,
) -> SubscriptionResult {
    loop {
        tokio::select! {
            _ = sink.closed() => return Ok(()),
            item = rx.recv() => match item {
                Ok(item) => {
                    if let Some(out) = map(item) {
                        sink.send(to_json_raw_value(&out)?).await?;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    return Err("subscriber lagged behind; resubscribe".into())
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            }
        }
    }
}

struct Rpc(Arc<Node>);

impl Rpc {
    fn submit(
        &self,
        tx: WireTx,
        method: &'static str,
        expected: &'static str,
        ok: fn(&Payload) -> bool,
    ) -> Result<SignedTx, RpcError> {
        let got = tx.payload_type();
        if !ok(&tx.payload) {
            return Err(RpcError::WrongPayload {
                method,
                expected,
                got,
            });
        }
        let stx = tx.into_signed()?;
        self.0.admit(stx.clone())?;
        Ok(stx)
    }
}

#[async_trait]
impl LedgerApiServer for Rpc {
    async fn submit_order(&self, tx: WireTx) -> RpcResult<OrderSubmitted> {
        let stx = self.submit(tx, "submit_order", "place_order", |p| {
            matches!(p, Payload::PlaceOrder(_))
        })?;
        let Payload::PlaceOrder(p) = &stx.tx.payload else {
            unreachable!()
        };
        Ok(OrderSubmitted {
            tx_hash: stx.hash(),
            order_id: stx.hash(),
            client_order_id: p.client_order_id,
        })
    }

    async fn cancel_order(&self, tx: WireTx) -> RpcResult<TxSubmitted> {
        let stx = self.submit(tx, "cancel_order", "cancel_order or cancel_all", |p| {
            matches!(p, Payload::CancelOrder(_) | Payload::CancelAll(_))
        })?;
        Ok(TxSubmitted {
            tx_hash: stx.hash(),
            order_id: None,
            tx: None,
        })
    }

    async fn submit_tx(
        &self,
        tx: WireTx,
        wait: Option<ledger_rpc::WaitFor>,
        timeout_ms: Option<u64>,
    ) -> RpcResult<TxSubmitted> {
        let timeout_ms = ledger_rpc::wait_timeout(timeout_ms)?;
        let stx = self.submit(tx, "submit_tx", "any", |_| true)?;
        let is_order = matches!(stx.tx.payload, Payload::PlaceOrder(_));
        let mut view = None;
        if wait.is_some() {
            // The mock has no unfinalized blocks: any wait is a wait for finality.
            let deadline = std::time::Instant::now() + Duration::from_millis(timeout_ms);
            loop {
                let v = self.0.state.lock().unwrap().txs.get(&stx.hash()).cloned();
                if let Some(v) =
                    v.filter(|v| matches!(v.status, TxStatus::Final | TxStatus::Rejected))
                {
                    view = Some(Box::new(v));
                    break;
                }
                if std::time::Instant::now() >= deadline {
                    return Err(RpcError::WaitTimeout {
                        tx_hash: stx.hash(),
                        wanted: "final",
                        status: "pending",
                        timeout_ms,
                    }
                    .into());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        Ok(TxSubmitted {
            tx_hash: stx.hash(),
            order_id: is_order.then(|| stx.hash()),
            tx: view,
        })
    }

    async fn get_txs(&self, hashes: Vec<TxHash>) -> RpcResult<Vec<Option<TxView>>> {
        let st = self.0.state.lock().unwrap();
        Ok(hashes.iter().map(|h| st.txs.get(h).cloned()).collect())
    }

    async fn get_account_fills(
        &self,
        account: Address,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<Page<TradeView>> {
        let limit = page_limit(limit)?;
        let cursor = trade_cursor(cursor.as_deref())?;
        let st = self.0.state.lock().unwrap();
        let items: Vec<TradeView> = st
            .trades
            .iter()
            .rev()
            .filter(|t| {
                (t.maker == account || t.taker == account) && cursor.is_none_or(|c| t.trade_id < c)
            })
            .take(limit)
            .cloned()
            .collect();
        let next_cursor = (items.len() == limit)
            .then(|| items.last().map(|t| t.trade_id.to_string()))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    async fn get_account_transfers(
        &self,
        _account: Address,
        _limit: Option<u32>,
        _cursor: Option<String>,
    ) -> RpcResult<Page<ledger_rpc::TransferView>> {
        Err(unserved("get_account_transfers"))
    }

    async fn get_account_txs(
        &self,
        _account: Address,
        _limit: Option<u32>,
        _cursor: Option<String>,
    ) -> RpcResult<Page<TxView>> {
        Err(unserved("get_account_txs"))
    }

    async fn get_candles(
        &self,
        _market: MarketRef,
        _interval: String,
        _limit: Option<u32>,
        _cursor: Option<String>,
    ) -> RpcResult<Page<ledger_rpc::CandleView>> {
        Err(unserved("get_candles"))
    }

    async fn get_market_stats(&self, _market: MarketRef) -> RpcResult<ledger_rpc::MarketStatsView> {
        Err(unserved("get_market_stats"))
    }

    async fn discover(&self) -> RpcResult<serde_json::Value> {
        Ok(ledger_rpc::discover::openrpc_document())
    }

    async fn subscribe_tx(
        &self,
        pending: PendingSubscriptionSink,
        _hash: TxHash,
    ) -> SubscriptionResult {
        pending.reject(unserved("subscribe_tx")).await;
        Ok(())
    }

    async fn get_tx(&self, hash: TxHash) -> RpcResult<TxView> {
        let st = self.0.state.lock().unwrap();
        st.txs
            .get(&hash)
            .cloned()
            .ok_or_else(|| RpcError::not_found(Resource::Tx, "hash", hash).into())
    }

    async fn get_block(
        &self,
        block: BlockSelector,
        include_txs: Option<bool>,
    ) -> RpcResult<BlockView> {
        let st = self.0.state.lock().unwrap();
        let tip = st.blocks.len() - 1;
        let index = match block {
            BlockSelector::Latest | BlockSelector::Final => Some(tip),
            BlockSelector::Height(h) => (h as usize <= tip).then_some(h as usize),
            BlockSelector::Hash(h) => st.blocks.iter().position(|b| b.hash() == h),
        };
        let i = index.ok_or_else(|| RpcError::not_found(Resource::Block, "block", block))?;
        Ok(BlockView::new(
            &st.blocks[i],
            true,
            Some(st.roots[i]),
            include_txs.unwrap_or(false),
        ))
    }

    async fn get_account(&self, account: Address) -> RpcResult<AccountView> {
        let st = self.0.state.lock().unwrap();
        let record = st.engine.account(&account);
        let pending = st.pending_nonce(&account);
        Ok(self
            .0
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
        let limit = page_limit(limit)?;
        let cursor = order_cursor(cursor.as_deref())?;
        let market = market
            .map(|m| self.0.catalog.resolve_market(&m).map(|m| m.id.0))
            .transpose()?;
        let status = status.unwrap_or_default();
        let st = self.0.state.lock().unwrap();
        let mut matching = st.orders.iter().rev().filter(|o| {
            o.account == account
                && market.is_none_or(|m| o.market_id == m)
                && match status {
                    OrderStatusFilter::Open => !o.is_closed(),
                    OrderStatusFilter::Closed => o.is_closed(),
                    OrderStatusFilter::All => true,
                }
        });
        if let Some(c) = cursor {
            for o in matching.by_ref() {
                if o.order_id == c {
                    break;
                }
            }
        }
        let items: Vec<OrderView> = matching.by_ref().take(limit).cloned().collect();
        let more = matching.next().is_some();
        Ok(Page {
            next_cursor: more.then(|| items.last().unwrap().order_id.to_hex()),
            items,
        })
    }

    async fn get_order(&self, order_id: OrderId) -> RpcResult<OrderView> {
        let st = self.0.state.lock().unwrap();
        st.orders
            .iter()
            .find(|o| o.order_id == order_id)
            .cloned()
            .ok_or_else(|| RpcError::not_found(Resource::Order, "order_id", order_id).into())
    }

    async fn get_order_book(
        &self,
        market: MarketRef,
        depth: Option<u32>,
    ) -> RpcResult<OrderBookView> {
        let m = self.0.catalog.resolve_market(&market)?.id;
        Ok(self.0.book(m, book_depth(depth)?))
    }

    async fn get_trades(
        &self,
        market: MarketRef,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<Page<TradeView>> {
        let m = self.0.catalog.resolve_market(&market)?.id.0;
        let limit = page_limit(limit)?;
        let below = trade_cursor(cursor.as_deref())?.unwrap_or(u64::MAX);
        let st = self.0.state.lock().unwrap();
        let mut matching = st
            .trades
            .iter()
            .rev()
            .filter(|t| t.market_id == m && t.trade_id < below);
        let items: Vec<TradeView> = matching.by_ref().take(limit).cloned().collect();
        let more = matching.next().is_some();
        Ok(Page {
            next_cursor: more.then(|| items.last().unwrap().trade_id.to_string()),
            items,
        })
    }

    async fn get_markets(&self) -> RpcResult<Vec<MarketView>> {
        Ok(self.0.catalog.market_views())
    }

    async fn chain_status(&self) -> RpcResult<ChainStatus> {
        let st = self.0.state.lock().unwrap();
        let tip = st.blocks.last().unwrap();
        Ok(ChainStatus {
            chain_id: self.0.genesis.chain_id.clone(),
            genesis_hash: self.0.genesis.hash(),
            consensus: self.0.genesis.consensus.kind().into(),
            node_version: "0.1.0-test".into(),
            latest_height: tip.height(),
            latest_hash: tip.hash(),
            final_height: tip.height(),
            final_hash: tip.hash(),
            state_root: *st.roots.last().unwrap(),
            peers: 1,
            syncing: false,
            mempool_size: st.pending_count as u32,
            validator: Some(self.0.proposer),
        })
    }

    async fn get_validators(&self) -> RpcResult<Vec<ValidatorView>> {
        Ok(self.0.catalog.validators())
    }

    async fn get_peers(&self) -> RpcResult<Vec<PeerView>> {
        Ok(vec![PeerView {
            peer_id: "12D3KooWPeer".into(),
            addresses: vec!["/ip4/127.0.0.1/tcp/30333".into()],
            direction: PeerDirection::Outbound,
            agent_version: Some("ledger-node/0.1.0".into()),
        }])
    }

    async fn subscribe_blocks(
        &self,
        pending: PendingSubscriptionSink,
        include_txs: Option<bool>,
    ) -> SubscriptionResult {
        let rx = self.0.blocks_tx.subscribe();
        let sink = pending.accept().await?;
        let include = include_txs.unwrap_or(false);
        forward(sink, rx, move |(b, root): (Arc<Block>, Hash)| {
            Some(BlockView::new(&b, true, Some(root), include))
        })
        .await
    }

    async fn subscribe_trades(
        &self,
        pending: PendingSubscriptionSink,
        market: MarketRef,
    ) -> SubscriptionResult {
        let m = match self.0.catalog.resolve_market(&market) {
            Ok(m) => m.id.0,
            Err(e) => {
                pending.reject(ErrorObjectOwned::from(e)).await;
                return Ok(());
            }
        };
        let rx = self.0.trades_tx.subscribe();
        let sink = pending.accept().await?;
        forward(sink, rx, move |t: TradeView| {
            (t.market_id == m).then_some(t)
        })
        .await
    }

    async fn subscribe_book(
        &self,
        pending: PendingSubscriptionSink,
        market: MarketRef,
        depth: Option<u32>,
    ) -> SubscriptionResult {
        let checked = self
            .0
            .catalog
            .resolve_market(&market)
            .map(|m| m.id)
            .and_then(|m| Ok((m, book_depth(depth)?)));
        let (m, depth) = match checked {
            Ok(v) => v,
            Err(e) => {
                pending.reject(ErrorObjectOwned::from(e)).await;
                return Ok(());
            }
        };
        let rx = self.0.books_tx.subscribe();
        let sink = pending.accept().await?;
        sink.send(to_json_raw_value(&self.0.book(m, depth))?)
            .await?;
        let node = self.0.clone();
        forward(sink, rx, move |(market, _h): (MarketId, u64)| {
            (market == m).then(|| node.book(m, depth))
        })
        .await
    }

    async fn subscribe_orders(
        &self,
        pending: PendingSubscriptionSink,
        account: Address,
    ) -> SubscriptionResult {
        let rx = self.0.orders_tx.subscribe();
        let sink = pending.accept().await?;
        forward(sink, rx, move |u: OrderUpdate| {
            (u.account == account).then_some(u)
        })
        .await
    }
}

/// A running mock node.
pub struct Mock {
    /// The node (produce blocks by hand with `node.produce_block()`).
    pub node: Arc<Node>,
    /// Its address (HTTP and WebSocket).
    pub addr: SocketAddr,
    handle: ServerHandle,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Mock {
    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server.
    pub async fn stop(self) {
        if let Some(t) = &self.ticker {
            t.abort();
        }
        self.handle.stop().unwrap();
        self.handle.stopped().await;
    }
}

/// Starts a mock node whose genesis funds `account-0 .. account-{ACCOUNTS-1}`; with
/// `block_every`, a background task produces a block at that interval.
pub async fn start(block_every: Option<Duration>) -> Mock {
    let keys: Vec<Address> = (0..ACCOUNTS)
        .map(|i| Keypair::for_testing(&format!("account-{i}")).public())
        .collect();
    let genesis = Genesis::for_testing(&keys, &[Keypair::for_testing("v0").public()]);
    let node = Arc::new(Node::new(genesis));
    let server = Server::builder().build("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.start(Rpc(node.clone()).into_rpc());
    let ticker = block_every.map(|every| {
        let node = node.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let n = node.clone();
                let _ = tokio::task::spawn_blocking(move || n.produce_block()).await;
            }
        })
    });
    Mock {
        node,
        addr,
        handle,
        ticker,
    }
}

/// The index-backed history methods are the node's (tested in `tests/`); this mock does
/// not serve them.
fn unserved(method: &str) -> ErrorObjectOwned {
    RpcError::Unavailable {
        reason: "unsupported",
        message: format!("{method} is not served by this test node"),
    }
    .into()
}
