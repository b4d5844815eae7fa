//! The API end to end over real sockets: a tiny in-process node (a mock of the service
//! that runs the real engine, with a toy mempool and a "produce block" button) serves the
//! generated `LedgerApiServer` with jsonrpsee on 127.0.0.1:0; every method is called
//! through the generated client over HTTP and WebSocket, subscriptions deliver blocks,
//! trades, book snapshots and order updates, and errors arrive with their documented
//! codes, reasons and fields.

use jsonrpsee::core::client::{ClientT, Error as ClientError};
use jsonrpsee::core::params::{ArrayParams, ObjectParams};
use jsonrpsee::core::{async_trait, to_json_raw_value, RpcResult, SubscriptionResult};
use jsonrpsee::server::{
    BatchRequestConfig, PendingSubscriptionSink, Server, ServerConfig, SubscriptionSink,
};
use jsonrpsee::types::ErrorObjectOwned;
use ledger_engine::{Engine, Event};
use ledger_rpc::{
    book_depth, order_cursor, page_limit, trade_cursor, AccountView, ApiError, BlockSelector,
    BlockView, Catalog, ChainStatus, LedgerApiClient, LedgerApiServer, LedgerClient, MarketRef,
    MarketView, MempoolError, Order, OrderBookView, OrderEvent, OrderStatus, OrderStatusFilter,
    OrderSubmitted, OrderUpdate, OrderView, Page, PeerDirection, PeerView, Resource, RpcError,
    TradeView, TxStatus, TxSubmitted, TxView, ValidatorView, Wallet, WireTx,
};
use ledger_types::{
    codec, Address, Block, ConsensusHeader, Decimal, Genesis, Hash, Keypair, MarketId, OrderId,
    Payload, Side, SignedTx, TxHash,
};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast;

// =======================================================================================
// The mock node
// =======================================================================================

const MAX_NONCE_GAP: u64 = 16;

struct State {
    engine: Engine,
    pending: Vec<SignedTx>,
    blocks: Vec<Block>,
    roots: Vec<Hash>,
    txs: HashMap<TxHash, TxView>,
    trades: Vec<TradeView>,
    orders: Vec<OrderView>,
}

struct Node {
    genesis: Genesis,
    catalog: Catalog,
    proposer: Address,
    state: Mutex<State>,
    blocks_tx: broadcast::Sender<(Arc<Block>, Hash)>,
    trades_tx: broadcast::Sender<TradeView>,
    books_tx: broadcast::Sender<(MarketId, u64)>,
    orders_tx: broadcast::Sender<OrderUpdate>,
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
                pending: Vec::new(),
                blocks: vec![genesis.block()],
                roots: vec![root],
                txs: HashMap::new(),
                trades: Vec::new(),
                orders: Vec::new(),
            }),
            genesis,
            blocks_tx: broadcast::channel(64).0,
            trades_tx: broadcast::channel(64).0,
            books_tx: broadcast::channel(64).0,
            orders_tx: broadcast::channel(256).0,
        }
    }

    /// The toy mempool: size, chain, signature, duplicate and nonce checks.
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
        let queued = st.pending.iter().filter(|t| t.sender() == sender).count() as u64;
        let expected = st.engine.next_nonce(&sender) + queued;
        let got = stx.tx.nonce;
        if got < expected {
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
        st.txs.insert(stx.hash(), TxView::pending(&stx));
        st.pending.push(stx);
        Ok(())
    }

    /// Packs the mempool into a block, finalizes and executes it, indexes and publishes.
    fn produce_block(&self) -> u64 {
        let mut st = self.state.lock().unwrap();
        let txs = std::mem::take(&mut st.pending);
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
}

/// Forwards broadcast items that pass `filter` (mapped by `map`) until the client leaves.
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
        let queued = st.pending.iter().filter(|t| t.sender() == account).count() as u64;
        let record = st.engine.account(&account);
        let next = st.engine.next_nonce(&account);
        Ok(self
            .0
            .catalog
            .account(account, record.as_ref(), Some(next + queued)))
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
            next_cursor: (more).then(|| items.last().unwrap().order_id.to_hex()),
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
            mempool_size: st.pending.len() as u32,
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

    async fn get_block_certificate(
        &self,
        block: BlockSelector,
    ) -> RpcResult<ledger_rpc::CertificateView> {
        // This twin makes blocks without consensus: no block has a finality certificate.
        Err(RpcError::not_found(Resource::Block, "block", block).into())
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

// =======================================================================================
// Helpers
// =======================================================================================

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

const BATCH_LIMIT: u32 = 4;
const BODY_LIMIT: u32 = 64 * 1024;

async fn start() -> (Arc<Node>, SocketAddr, jsonrpsee::server::ServerHandle) {
    let keys: Vec<Address> = ["alice", "bob", "mm"]
        .iter()
        .map(|l| Keypair::for_testing(l).public())
        .collect();
    let genesis = Genesis::for_testing(&keys, &[Keypair::for_testing("v0").public()]);
    let node = Arc::new(Node::new(genesis));
    let config = ServerConfig::builder()
        .max_request_body_size(BODY_LIMIT)
        .set_batch_request_config(BatchRequestConfig::Limit(BATCH_LIMIT))
        .build();
    let server = Server::builder()
        .set_config(config)
        .build("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.start(Rpc(node.clone()).into_rpc());
    (node, addr, handle)
}

/// The methods the generated server registers are exactly those `rpc.discover`
/// documents (and `API.md`, see `api_doc.rs`).
#[tokio::test]
async fn rpc_discover_lists_every_registered_method() {
    let (node, addr, handle) = start().await;
    let mut registered: Vec<String> = Rpc(node)
        .into_rpc()
        .method_names()
        .map(String::from)
        .collect();
    registered.sort();
    let mut documented: Vec<String> = ledger_rpc::discover::wire_names()
        .into_iter()
        .map(String::from)
        .collect();
    documented.sort();
    assert_eq!(registered, documented);
    // And the method answers over HTTP with the document.
    let client = ledger_rpc::connect(&format!("http://{addr}"))
        .await
        .unwrap();
    let doc = client.discover().await.unwrap();
    assert_eq!(doc["openrpc"], "1.2.6");
    assert_eq!(
        doc["methods"].as_array().unwrap().len(),
        ledger_rpc::discover::METHODS.len() + ledger_rpc::discover::ATOMIC_METHODS.len()
    );
    handle.stop().unwrap();
}

/// The error object of a failed call.
fn api_err<T: std::fmt::Debug>(r: Result<T, ClientError>) -> ApiError {
    let e = r.expect_err("call should fail");
    ApiError::from_client_error(&e).unwrap_or_else(|| panic!("not an error object: {e}"))
}

async fn next<T>(sub: &mut jsonrpsee::core::client::Subscription<T>) -> T
where
    T: serde::de::DeserializeOwned,
{
    tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("subscription item in time")
        .expect("subscription open")
        .expect("item decodes")
}

/// One raw HTTP POST; returns the status code and the JSON body.
async fn raw_post(addr: SocketAddr, body: &[u8]) -> (u16, Value) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status: u16 = text[9..12].parse().unwrap();
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    let start = body.find(['{', '[']).unwrap();
    let end = body.rfind(['}', ']']).unwrap();
    (status, serde_json::from_str(&body[start..=end]).unwrap())
}

// =======================================================================================
// The test
// =======================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_over_http_and_websocket() {
    let (node, addr, handle) = start().await;
    let http = ledger_rpc::connect(&format!("http://{addr}"))
        .await
        .unwrap();
    let ws = ledger_rpc::connect(&format!("ws://{addr}")).await.unwrap();
    assert!(!http.is_ws() && ws.is_ws());
    assert!(ledger_rpc::connect("ftp://x").await.is_err());

    // ---- static reads, both transports
    for c in [&http, &ws] {
        let status = c.chain_status().await.unwrap();
        assert_eq!(status.chain_id, "ledger-test");
        assert_eq!(status.consensus, "streamlet");
        assert_eq!(status.final_height, 0);
        let markets = c.get_markets().await.unwrap();
        assert_eq!(markets.len(), 2);
        assert_eq!(markets[0].symbol, "BTC/USD");
        assert_eq!(c.get_validators().await.unwrap()[0].name, "validator-0");
        assert_eq!(
            c.get_peers().await.unwrap()[0].direction,
            PeerDirection::Outbound
        );
        let genesis_block = c.get_block(BlockSelector::Height(0), None).await.unwrap();
        assert_eq!(genesis_block.height, 0);
        assert_eq!(genesis_block.tx_hashes, Some(vec![]));
    }

    // ---- subscriptions (WebSocket)
    let mut blocks = ws.subscribe_blocks(None).await.unwrap();
    let mut blocks_full = ws.subscribe_blocks(Some(true)).await.unwrap();
    let mut trades = ws.subscribe_trades("BTC/USD".into()).await.unwrap();
    let mut eth_trades = ws.subscribe_trades(MarketId(1).into()).await.unwrap();
    let mut book = ws.subscribe_book("btc-usd".into(), Some(5)).await.unwrap();
    let alice_key = Keypair::for_testing("alice");
    let mut alice_orders = ws.subscribe_orders(alice_key.public()).await.unwrap();
    // The book subscription starts with a snapshot.
    let snap = next(&mut book).await;
    assert!(snap.bids.is_empty() && snap.asks.is_empty());
    assert_eq!(snap.market, "BTC/USD");

    // Subscription errors and HTTP.
    let e = api_err(ws.subscribe_trades("DOGE/USD".into()).await);
    assert_eq!((e.code, e.reason()), (-32001, Some("market_not_found")));
    let e = api_err(ws.subscribe_book(MarketId(0).into(), Some(501)).await);
    assert_eq!((e.code, e.field()), (-32005, Some("depth")));
    assert!(matches!(
        http.subscribe_blocks(None).await,
        Err(ClientError::HttpNotImplemented)
    ));

    // ---- wallets set up from the node
    let mut alice = Wallet::from_node(&http, alice_key).await.unwrap();
    let mut bob = Wallet::from_node(&ws, Keypair::for_testing("bob"))
        .await
        .unwrap();
    assert_eq!(alice.chain_id(), "ledger-test");
    assert_eq!(alice.next_nonce(), 0);
    let btc_usd = alice.market_id("BTC/USD").unwrap();

    // ---- block 1: alice rests a sell
    let sell =
        alice.place(Order::limit(btc_usd, Side::Sell, d("100.50"), d("0.5")).client_order_id(11));
    let placed = http.submit_order(sell.clone().into()).await.unwrap();
    assert_eq!(placed.order_id, sell.hash());
    assert_eq!(placed.tx_hash, sell.hash());
    assert_eq!(
        placed.client_order_id,
        Some(ledger_types::ClientOrderId(11))
    );
    let pending = http.get_tx(sell.hash()).await.unwrap();
    assert_eq!(pending.status, TxStatus::Pending);
    assert_eq!(pending.block_height, None);
    assert_eq!(
        http.get_account(alice.address())
            .await
            .unwrap()
            .pending_nonce,
        1
    );
    assert_eq!(node.produce_block(), 1);

    let b1 = next(&mut blocks).await;
    assert_eq!(b1.height, 1);
    assert!(b1.is_final);
    assert_eq!(b1.tx_hashes, Some(vec![sell.hash()]));
    assert!(b1.txs.is_none());
    let b1_full = next(&mut blocks_full).await;
    assert_eq!(b1_full.txs.as_ref().unwrap()[0].hash, Some(sell.hash()));
    let u = next(&mut alice_orders).await;
    assert!(matches!(u.event, OrderEvent::Accepted { .. }));
    assert_eq!(u.block_height, 1);
    assert_eq!(u.client_order_id, Some(ledger_types::ClientOrderId(11)));
    let u = next(&mut alice_orders).await;
    assert!(matches!(u.event, OrderEvent::Rested { .. }));
    let snap = next(&mut book).await;
    assert_eq!(snap.block_height, 1);
    assert_eq!(snap.asks.len(), 1);
    assert_eq!(snap.asks[0].price, d("100.5"));
    assert_eq!(snap.asks[0].quantity, d("0.5"));

    // ---- block 2: bob takes 0.3 (IOC), and an order with a bad tick that the engine rejects
    let buy = bob.place(Order::limit(btc_usd, Side::Buy, d("101"), d("0.3")).ioc());
    let res = ws.submit_tx(buy.clone().into(), None, None).await.unwrap();
    assert_eq!(res.order_id, Some(buy.hash()));
    let bad_tick = bob.place_limit(btc_usd, Side::Buy, d("99.999"), d("0.1"));
    ws.submit_order(bad_tick.clone().into()).await.unwrap();
    assert_eq!(node.produce_block(), 2);

    let b2 = next(&mut blocks).await;
    assert_eq!(b2.height, 2);
    assert_eq!(b2.tx_count, 2);
    assert_eq!(b2.parent, b1.hash);
    next(&mut blocks_full).await;
    let t = next(&mut trades).await;
    assert_eq!((t.price, t.quantity), (d("100.5"), d("0.3")));
    assert_eq!(t.maker_order_id, sell.hash());
    assert_eq!(t.taker_order_id, buy.hash());
    assert_eq!(t.block_height, 2);
    let u = next(&mut alice_orders).await;
    assert_eq!(u.order_id, sell.hash());
    let OrderEvent::Fill {
        liquidity,
        fee,
        remaining,
        ..
    } = u.event
    else {
        panic!("expected a fill, got {u:?}")
    };
    assert_eq!(liquidity, ledger_rpc::Liquidity::Maker);
    assert_eq!(fee, d("0.00603")); // 30.15 USD * 2 bps
    assert_eq!(remaining, d("0.2"));
    let snap = next(&mut book).await;
    assert_eq!(snap.asks[0].quantity, d("0.2"));

    // ---- reads after trading
    let tx = http.get_tx(buy.hash()).await.unwrap();
    assert_eq!(tx.status, TxStatus::Final);
    assert_eq!((tx.block_height, tx.position), (Some(2), Some(0)));
    assert_eq!(tx.block_hash, Some(b2.hash));
    assert_eq!(tx.events.len(), 2); // accepted, fill (fully filled: nothing expires)
    let rejected = ws.get_tx(bad_tick.hash()).await.unwrap();
    assert_eq!(rejected.status, TxStatus::Rejected);
    let e = rejected.error.unwrap();
    assert_eq!(
        (e.code, e.reason(), e.field()),
        (-32003, Some("invalid_price"), Some("payload.price"))
    );
    assert_eq!(e.detail("tick_size"), Some("0.01"));

    for sel in [
        BlockSelector::Latest,
        BlockSelector::Final,
        BlockSelector::Height(2),
        BlockSelector::Hash(b2.hash),
    ] {
        let b = http.get_block(sel, Some(true)).await.unwrap();
        assert_eq!(b.hash, b2.hash, "{sel}");
        assert_eq!(b.txs.as_ref().unwrap().len(), 2);
        assert!(b.state_root.is_some());
    }
    let e = api_err(http.get_block(BlockSelector::Height(99), None).await);
    assert_eq!(
        (e.code, e.reason(), e.field()),
        (-32001, Some("block_not_found"), Some("block"))
    );

    let orders = http
        .get_orders(alice.address(), None, None, None, None)
        .await
        .unwrap();
    assert_eq!(orders.items.len(), 1);
    assert_eq!(orders.items[0].filled, d("0.3"));
    assert_eq!(orders.items[0].status, OrderStatus::Open);
    assert_eq!(orders.next_cursor, None);
    let one = ws.get_order(sell.hash()).await.unwrap();
    assert_eq!(one, orders.items[0]);
    let e = api_err(ws.get_order(Hash::ZERO).await);
    assert_eq!(
        (e.code, e.reason(), e.field()),
        (-32001, Some("order_not_found"), Some("order_id"))
    );
    let closed = http
        .get_orders(
            bob.address(),
            Some("BTC/USD".into()),
            Some(OrderStatusFilter::Closed),
            Some(10),
            None,
        )
        .await
        .unwrap();
    assert_eq!(closed.items.len(), 1);
    assert_eq!(closed.items[0].status, OrderStatus::Filled);

    let ob = ws.get_order_book("BTC/USD".into(), None).await.unwrap();
    assert_eq!(ob.asks[0].quantity, d("0.2"));
    let acct = ws.get_account(alice.address()).await.unwrap();
    assert_eq!(acct.next_nonce, 1);
    assert_eq!(acct.balances[0].locked, d("0.2"));

    // ---- more trades for paging: bob lifts 0.05 five times
    for _ in 0..4 {
        let t = bob.place(Order::market(btc_usd, Side::Buy, d("0.05")));
        http.submit_order(t.into()).await.unwrap();
    }
    assert_eq!(node.produce_block(), 3);
    assert_eq!(next(&mut blocks).await.tx_count, 4);
    next(&mut blocks_full).await;
    for _ in 0..4 {
        next(&mut trades).await;
    }
    let page1 = http
        .get_trades("BTC/USD".into(), Some(2), None)
        .await
        .unwrap();
    let ids: Vec<u64> = page1.items.iter().map(|t| t.trade_id).collect();
    assert_eq!(ids, [4, 3]);
    assert_eq!(page1.next_cursor.as_deref(), Some("3"));
    let page2 = http
        .get_trades("BTC/USD".into(), Some(2), page1.next_cursor)
        .await
        .unwrap();
    assert_eq!(
        page2.items.iter().map(|t| t.trade_id).collect::<Vec<_>>(),
        [2, 1]
    );
    let page3 = http
        .get_trades("BTC/USD".into(), Some(2), page2.next_cursor)
        .await
        .unwrap();
    assert_eq!(
        page3.items.iter().map(|t| t.trade_id).collect::<Vec<_>>(),
        [0]
    );
    assert_eq!(page3.next_cursor, None);
    assert_eq!(
        http.get_trades("BTC/USD".into(), None, None)
            .await
            .unwrap()
            .items
            .len(),
        5
    );
    let e = api_err(http.get_trades("BTC/USD".into(), Some(101), None).await);
    assert_eq!(
        (e.code, e.reason(), e.field()),
        (-32005, Some("limit_exceeded"), Some("limit"))
    );
    assert_eq!(e.detail("max"), Some("100"));
    let e = api_err(
        http.get_trades("BTC/USD".into(), None, Some("soon".into()))
            .await,
    );
    assert_eq!((e.code, e.field()), (-32000, Some("cursor")));
    let e = api_err(http.get_trades("DOGE/USD".into(), None, None).await);
    assert_eq!((e.code, e.reason()), (-32001, Some("market_not_found")));
    let bob_orders = http
        .get_orders(bob.address(), None, None, Some(2), None)
        .await
        .unwrap();
    assert_eq!(bob_orders.items.len(), 2);
    let rest = http
        .get_orders(
            bob.address(),
            None,
            None,
            Some(100),
            bob_orders.next_cursor.clone(),
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 3); // 6 placed, 1 rejected (never an order): 5 orders
    assert!(rest.items.iter().all(|o| !bob_orders.items.contains(o)));

    // ---- mempool refusals, with codes, reasons and fields
    let e = api_err(http.submit_order(sell.clone().into()).await);
    assert_eq!(
        (e.code, e.reason(), e.field()),
        (-32003, Some("duplicate"), Some("hash"))
    );
    alice.set_next_nonce(0);
    let replay = alice.cancel_all(None);
    let e = api_err(http.cancel_order(replay.into()).await);
    assert_eq!(
        (e.code, e.reason(), e.field()),
        (-32003, Some("nonce_too_low"), Some("nonce"))
    );
    assert_eq!(
        (e.detail("expected"), e.detail("got")),
        (Some("1"), Some("0"))
    );
    alice.set_next_nonce(1000);
    let e = api_err(http.cancel_order(alice.cancel_all(None).into()).await);
    assert_eq!(e.reason(), Some("nonce_too_high"));
    alice.resync(&http).await.unwrap();
    assert_eq!(alice.next_nonce(), 1);
    let mut forged = WireTx::from(alice.cancel(sell.hash()));
    forged.signature.0[0] ^= 1;
    let e = api_err(ws.cancel_order(forged).await);
    assert_eq!(
        (e.code, e.reason(), e.field()),
        (-32003, Some("bad_signature"), Some("signature"))
    );
    let mut other_chain = Wallet::new(Keypair::for_testing("alice"), "other-chain", 1);
    let e = api_err(
        ws.submit_tx(other_chain.cancel_all(None).into(), None, None)
            .await,
    );
    assert_eq!(
        (e.code, e.reason(), e.field()),
        (-32003, Some("wrong_chain_id"), Some("chain_id"))
    );
    assert_eq!(e.detail("expected"), Some("ledger-test"));
    alice.set_next_nonce(1);
    let transfer = alice.transfer(bob.address(), ledger_types::AssetId(1), d("1"));
    let e = api_err(ws.submit_order(transfer.clone().into()).await);
    assert_eq!(
        (e.code, e.reason(), e.field()),
        (-32000, Some("wrong_payload_type"), Some("payload.type"))
    );
    let mut wrong_hash = WireTx::from(transfer.clone());
    wrong_hash.hash = Some(Hash::ZERO);
    let e = api_err(ws.submit_tx(wrong_hash, None, None).await);
    assert_eq!((e.code, e.reason()), (-32000, Some("hash_mismatch")));
    let e = api_err(ws.cancel_order(transfer.clone().into()).await);
    assert_eq!(e.reason(), Some("wrong_payload_type"));
    assert!(ws
        .submit_tx(transfer.into(), None, None)
        .await
        .unwrap()
        .order_id
        .is_none());

    // ---- standard JSON-RPC errors come from jsonrpsee, and the node keeps serving
    let e = api_err(
        http.request::<Value, _>("no_such_method", ArrayParams::new())
            .await,
    );
    assert_eq!(e.code, -32601);
    let mut p = ArrayParams::new();
    p.insert("not-a-hash").unwrap();
    let e = api_err(http.request::<Value, _>("get_tx", p).await);
    assert_eq!(e.code, -32602);
    let e = api_err(
        ws.request::<Value, _>("get_block", ArrayParams::new())
            .await,
    );
    assert_eq!(e.code, -32602);
    let mut p = ArrayParams::new();
    p.insert("pending").unwrap();
    let e = api_err(ws.request::<Value, _>("get_block", p).await);
    assert_eq!(e.code, -32602);

    // Named parameters work too, and optional ones may be left out.
    let mut p = ObjectParams::new();
    p.insert("market", "BTC-USD").unwrap();
    p.insert("limit", 1).unwrap();
    let page: Page<TradeView> = http.request("get_trades", p).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next_cursor.as_deref(), Some("4"));

    // Raw HTTP: invalid JSON, an invalid request, an oversized body and batches.
    let (_, v) = raw_post(addr, b"{\"jsonrpc\":\"2.0\",").await;
    assert_eq!(v["error"]["code"], json!(-32700));
    let (_, v) = raw_post(addr, br#"{"jsonrpc":"2.0","id":1}"#).await;
    assert_eq!(v["error"]["code"], json!(-32600));
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"get_markets","params":["{}"]}}"#,
        "x".repeat(BODY_LIMIT as usize)
    );
    let (status, v) = raw_post(addr, big.as_bytes()).await;
    assert_eq!((status, v["error"]["code"].clone()), (413, json!(-32007)));
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"chain_status","params":[]}"#;
    let ok_batch = format!("[{}]", vec![call; BATCH_LIMIT as usize].join(","));
    let (status, v) = raw_post(addr, ok_batch.as_bytes()).await;
    assert_eq!(status, 200);
    assert_eq!(v.as_array().unwrap().len(), BATCH_LIMIT as usize);
    let long_batch = format!("[{}]", vec![call; BATCH_LIMIT as usize + 1].join(","));
    let (_, v) = raw_post(addr, long_batch.as_bytes()).await;
    assert_eq!(v["error"]["code"], json!(-32010));
    // Exact wire shape of a result: u64 as strings, money as strings.
    let (_, v) = raw_post(
        addr,
        br#"{"jsonrpc":"2.0","id":7,"method":"get_trades","params":["BTC/USD",1]}"#,
    )
    .await;
    let t = &v["result"]["items"][0];
    assert_eq!(t["trade_id"], json!("4"));
    assert_eq!(t["price"], json!("100.5"));
    assert_eq!(t["quantity"], json!("0.05"));
    assert_eq!(t["block_height"], json!("3"));
    assert_eq!(v["result"]["next_cursor"], json!("4"));
    let (_, v) = raw_post(
        addr,
        br#"{"jsonrpc":"2.0","id":8,"method":"get_tx","params":["0000000000000000000000000000000000000000000000000000000000000000"]}"#,
    )
    .await;
    assert_eq!(
        v["error"],
        json!({"code": -32001, "message": format!("transaction {} not found", Hash::ZERO),
               "data": {"reason": "tx_not_found", "field": "hash"}})
    );
    assert_eq!(http.chain_status().await.unwrap().final_height, 3);

    // ---- unsubscribe, and other markets' subscribers saw nothing
    assert!(
        tokio::time::timeout(Duration::from_millis(200), eth_trades.next())
            .await
            .is_err(),
        "ETH/USD trades subscriber got a BTC/USD trade"
    );
    eth_trades.unsubscribe().await.unwrap();
    trades.unsubscribe().await.unwrap();
    book.unsubscribe().await.unwrap();
    blocks_full.unsubscribe().await.unwrap();
    // The remaining subscriptions keep working after others left.
    node.produce_block();
    assert_eq!(next(&mut blocks).await.height, 4);
    alice_orders.unsubscribe().await.unwrap();

    handle.stop().unwrap();
    handle.stopped().await;
    let _: &LedgerClient = &ws;
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
