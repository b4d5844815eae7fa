//! The JSON-RPC API, declared once.
//!
//! `#[rpc(server, client)]` generates [`LedgerApiServer`] (implemented by the node's
//! service) and [`LedgerApiClient`] (an extension trait implemented for every jsonrpsee
//! client, including [`crate::LedgerClient`]). Method names are the wire names.
//!
//! Parameters may be sent by position (`"params": ["BTC/USD", 10]`) or by name
//! (`"params": {"market": "BTC/USD", "limit": 10}`); trailing optional parameters may be
//! left out. Errors are listed per method in `API.md`; the codes are in
//! [`crate::error::codes`].

use crate::types::{
    AccountView, BlockSelector, BlockView, CandleView, ChainStatus, MarketRef, MarketStatsView,
    MarketView, OrderBookView, OrderStatusFilter, OrderSubmitted, OrderUpdate, OrderView, Page,
    PeerView, TradeView, TransferView, TxSubmitted, TxView, ValidatorView, WaitFor, WireTx,
};
use jsonrpsee::core::{RpcResult, SubscriptionResult};
use jsonrpsee::proc_macros::rpc;
use ledger_types::{Address, OrderId, TxHash};

/// The ledger node's JSON-RPC API (HTTP and WebSocket; subscriptions on WebSocket only).
#[rpc(server, client)]
pub trait LedgerApi {
    // ------------------------------------------------------------------------- writes

    /// Submits a signed `place_order` transaction to the mempool. Returns its hash and the
    /// order id (the same hash). Errors: -32000 (`wrong_payload_type`, `hash_mismatch`),
    /// -32003 (mempool or engine pre-check reason), -32005 (`mempool_full`,
    /// `account_limit`, `tx_too_large`).
    #[method(name = "submit_order")]
    async fn submit_order(&self, tx: WireTx) -> RpcResult<OrderSubmitted>;

    /// Submits a signed `cancel_order` or `cancel_all` transaction. Errors as
    /// `submit_order`.
    #[method(name = "cancel_order")]
    async fn cancel_order(&self, tx: WireTx) -> RpcResult<TxSubmitted>;

    /// Submits any signed transaction (transfer, order, cancel, batch, amendment,
    /// schedule-cancel). With `wait` (`included` or `final`) the answer comes once the
    /// transaction has that status, with its view (for `final`: the receipt, events and
    /// per-action results), or after `timeout_ms` (default 30,000, at most 120,000) with
    /// -32002 `wait_timeout`. Errors as `submit_order` (without `wrong_payload_type`).
    #[method(name = "submit_tx")]
    async fn submit_tx(
        &self,
        tx: WireTx,
        wait: Option<WaitFor>,
        timeout_ms: Option<u64>,
    ) -> RpcResult<TxSubmitted>;

    // -------------------------------------------------------------------------- reads

    /// A transaction with its status (`pending`, `included`, `final`, `rejected`), block,
    /// position, engine events, and the engine's reason if rejected. Errors: -32001
    /// `tx_not_found`.
    #[method(name = "get_tx")]
    async fn get_tx(&self, hash: TxHash) -> RpcResult<TxView>;

    /// Many transactions at once (at most 100 hashes): one entry per hash, in order,
    /// `null` for an unknown one. Errors: -32005 (`hashes`).
    #[method(name = "get_txs")]
    async fn get_txs(&self, hashes: Vec<TxHash>) -> RpcResult<Vec<Option<TxView>>>;

    /// An account's fills (maker or taker, every market), newest first; `cursor` is a
    /// trade id. Errors: -32000 (`cursor`), -32005 (`limit`).
    #[method(name = "get_account_fills")]
    async fn get_account_fills(
        &self,
        account: Address,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<Page<TradeView>>;

    /// An account's transfers (sent and received), newest first; `cursor` is the
    /// previous page's `next_cursor` (a transaction hash). Errors: -32000 (`cursor`),
    /// -32005 (`limit`).
    #[method(name = "get_account_transfers")]
    async fn get_account_transfers(
        &self,
        account: Address,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<Page<TransferView>>;

    /// An account's final transactions (sent, and transfers it received), newest first,
    /// with their receipts; `cursor` is a transaction hash. Errors: -32000 (`cursor`),
    /// -32005 (`limit`).
    #[method(name = "get_account_txs")]
    async fn get_account_txs(
        &self,
        account: Address,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<Page<TxView>>;

    /// OHLCV candles of a market, newest first: `interval` is `1m`, `5m`, `15m`, `1h`,
    /// `4h`, `1d` (by block timestamps) or `10b`, `100b`, `1000b` (by height); intervals
    /// without trades have no candle. `cursor` is a bucket start: the page holds older
    /// buckets. Errors: -32000 (`interval`, `cursor`), -32001 `market_not_found`,
    /// -32005 (`limit`).
    #[method(name = "get_candles")]
    async fn get_candles(
        &self,
        market: MarketRef,
        interval: String,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<Page<CandleView>>;

    /// A market's rolling 24-hour statistics, up to the last final block's timestamp.
    /// Errors: -32001 `market_not_found`.
    #[method(name = "get_market_stats")]
    async fn get_market_stats(&self, market: MarketRef) -> RpcResult<MarketStatsView>;

    /// The API as an OpenRPC 1.2 document (methods, parameters, results and the JSON
    /// shapes of the wire types).
    #[method(name = "rpc.discover")]
    async fn discover(&self) -> RpcResult<serde_json::Value>;

    /// A block by height, hash, `latest` or `final` (`finalized`); with full transactions
    /// if `include_txs` (default false: hashes only). Errors: -32001 `block_not_found`.
    #[method(name = "get_block")]
    async fn get_block(
        &self,
        block: BlockSelector,
        include_txs: Option<bool>,
    ) -> RpcResult<BlockView>;

    /// An account's balances (free and locked per asset) and next nonce. An unknown
    /// account has zero balances and nonce 0.
    #[method(name = "get_account")]
    async fn get_account(&self, account: Address) -> RpcResult<AccountView>;

    /// An account's open and recently closed orders, newest first, optionally on one
    /// market and in one state. `limit` defaults to 30 (at most 100); `cursor` is the
    /// previous page's `next_cursor`. Errors: -32000 (`cursor`), -32001
    /// `market_not_found`, -32005 (`limit`).
    #[method(name = "get_orders")]
    async fn get_orders(
        &self,
        account: Address,
        market: Option<MarketRef>,
        status: Option<OrderStatusFilter>,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<Page<OrderView>>;

    /// One order by id. Errors: -32001 `order_not_found`.
    #[method(name = "get_order")]
    async fn get_order(&self, order_id: OrderId) -> RpcResult<OrderView>;

    /// L2 depth of a market: `depth` levels per side (default 20, at most 500), best
    /// first. Errors: -32001 `market_not_found`, -32005 (`depth`).
    #[method(name = "get_order_book")]
    async fn get_order_book(
        &self,
        market: MarketRef,
        depth: Option<u32>,
    ) -> RpcResult<OrderBookView>;

    /// A market's trades, newest first. `limit` defaults to 30 (at most 100); `cursor` is
    /// a trade id: the page holds trades with smaller ids. Errors: -32000 (`cursor`),
    /// -32001 `market_not_found`, -32005 (`limit`).
    #[method(name = "get_trades")]
    async fn get_trades(
        &self,
        market: MarketRef,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<Page<TradeView>>;

    /// Every market with its sizes and fees.
    #[method(name = "get_markets")]
    async fn get_markets(&self) -> RpcResult<Vec<MarketView>>;

    /// Chain id, consensus kind, latest and final heights, state root, peers, syncing.
    #[method(name = "chain_status")]
    async fn chain_status(&self) -> RpcResult<ChainStatus>;

    /// The validators (Streamlet) or known miners (Nakamoto) of the genesis.
    #[method(name = "get_validators")]
    async fn get_validators(&self) -> RpcResult<Vec<ValidatorView>>;

    /// The node's connected peers.
    #[method(name = "get_peers")]
    async fn get_peers(&self) -> RpcResult<Vec<PeerView>>;

    // ------------------------------------------------------------------ subscriptions

    /// Every new final block, in height order (with full transactions if `include_txs`).
    #[subscription(name = "subscribe_blocks", unsubscribe = "unsubscribe_blocks", item = BlockView)]
    async fn subscribe_blocks(&self, include_txs: Option<bool>) -> SubscriptionResult;

    /// Every trade of a market, as its block becomes final, in trade id order. Errors:
    /// -32001 `market_not_found`.
    #[subscription(name = "subscribe_trades", unsubscribe = "unsubscribe_trades", item = TradeView)]
    async fn subscribe_trades(&self, market: MarketRef) -> SubscriptionResult;

    /// A market's book: a snapshot of the top `depth` levels (default 20) at once, then
    /// after every final block that changed it. Errors: -32001 `market_not_found`,
    /// -32005 (`depth`).
    #[subscription(name = "subscribe_book", unsubscribe = "unsubscribe_book", item = OrderBookView)]
    async fn subscribe_book(&self, market: MarketRef, depth: Option<u32>) -> SubscriptionResult;

    /// Every update (accepted, fill, rested, cancelled, expired) of an account's orders,
    /// as its block becomes final.
    #[subscription(name = "subscribe_orders", unsubscribe = "unsubscribe_orders", item = OrderUpdate)]
    async fn subscribe_orders(&self, account: Address) -> SubscriptionResult;

    /// One transaction's status: its view at once (`pending`, `included`, `final` or
    /// `rejected`; -32001 `tx_not_found` if this node has never seen it), then on every
    /// change; the subscription ends after `final` or `rejected`.
    #[subscription(name = "subscribe_tx", unsubscribe = "unsubscribe_tx", item = TxView)]
    async fn subscribe_tx(&self, hash: TxHash) -> SubscriptionResult;
}
