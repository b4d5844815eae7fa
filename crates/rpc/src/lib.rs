//! # ledger-rpc
//!
//! The JSON-RPC API of a ledger node, declared once as a jsonrpsee trait
//! (`LedgerApi` in [`api`]): the node implements the generated [`LedgerApiServer`], and
//! `ledger-cli`, bots and tests call it through the generated [`LedgerApiClient`] on a
//! [`LedgerClient`] from [`connect`]. The crate also holds the wire types ([`types`]), the
//! conversions from engine units to wire decimals ([`Catalog`]), the error codes
//! ([`error`]) and a signer ([`Wallet`]). Every method, with parameters, results, errors
//! and JSON examples, is documented in `crates/rpc/API.md`.
//!
//! ## Methods
//!
//! | Method | Params | Result |
//! |---|---|---|
//! | `submit_order` | `tx` (signed `place_order`) | [`OrderSubmitted`] |
//! | `cancel_order` | `tx` (signed `cancel_order` / `cancel_all`) | [`TxSubmitted`] |
//! | `submit_tx` | `tx` (any signed transaction) | [`TxSubmitted`] |
//! | `get_tx` | `hash` | [`TxView`] |
//! | `get_block` | `block` (height, hash, `latest`, `final`), `include_txs?` | [`BlockView`] |
//! | `get_account` | `account` | [`AccountView`] |
//! | `get_orders` | `account`, `market?`, `status?`, `limit?`, `cursor?` | [`Page`]`<`[`OrderView`]`>` |
//! | `get_order` | `order_id` | [`OrderView`] |
//! | `get_order_book` | `market`, `depth?` | [`OrderBookView`] |
//! | `get_trades` | `market`, `limit?`, `cursor?` | [`Page`]`<`[`TradeView`]`>` |
//! | `get_markets` | | `[`[`MarketView`]`]` |
//! | `chain_status` | | [`ChainStatus`] |
//! | `get_validators` | | `[`[`ValidatorView`]`]` |
//! | `get_peers` | | `[`[`PeerView`]`]` |
//! | `subscribe_blocks` / `unsubscribe_blocks` | `include_txs?` | [`BlockView`] per final block |
//! | `subscribe_trades` / `unsubscribe_trades` | `market` | [`TradeView`] per trade |
//! | `subscribe_book` / `unsubscribe_book` | `market`, `depth?` | [`OrderBookView`] snapshots |
//! | `subscribe_orders` / `unsubscribe_orders` | `account` | [`OrderUpdate`] per order event |
//! | `submit_bundle` | `tx` (signed `bundle`) | [`BundleSubmitted`] |
//! | `get_swap` | `swap_id` | [`SwapView`] |
//! | `get_swaps` | `account`, `limit?`, `cursor?` | [`Page`]`<`[`SwapView`]`>` |
//! | `subscribe_swaps` / `unsubscribe_swaps` | `account?` | [`SwapUpdate`] per swap event |
//!
//! The last four are the [`AtomicApi`](atomic::AtomicApiServer) trait (bundles and
//! hashlock swaps, see [`atomic`]), served next to the main one; [`swap_protocol`] runs
//! a swap between two chains on top of them.
//!
//! ## Wire conventions
//!
//! - Money (prices, quantities, balances, fees, amounts) is a decimal string in natural
//!   units (`"100.25"` USD, `"0.5"` BTC), never a float and never smallest units.
//! - Every 64-bit integer (heights, nonces, trade ids, epochs, timestamps) is a decimal
//!   string; inputs also accept JSON integers. Small counts (positions, fee basis points,
//!   market and asset ids) are JSON numbers.
//! - Hashes, public keys (addresses), signatures and client order ids are lowercase hex.
//! - Markets are named by symbol (`"BTC/USD"`; `"BTC-USD"` and any case are accepted) or
//!   id; views carry both `market` (symbol) and `market_id`.
//! - Lists page newest first with `limit` (default 30, at most 100) and `cursor` (the
//!   previous page's `next_cursor`: a trade id for trades, an order id for orders).
//! - Order events name the order id, client order id and block height; fills add price,
//!   quantity, fee, fee asset and `liquidity` (`maker` or `taker`).
//!
//! ## Errors
//!
//! Every error is a JSON-RPC error object `{code, message, data}`. `message` is for
//! people; application errors carry `data = {"reason", "field", ...details}` (details
//! are strings), see [`ErrorData`]. Codes are stable; reasons are stable snake_case.
//!
//! | Code | Name | Produced by | `data.reason` values |
//! |---|---|---|---|
//! | -32700 | parse error | jsonrpsee | (no data) invalid JSON |
//! | -32600 | invalid request | jsonrpsee | (no data) not a JSON-RPC request object |
//! | -32601 | method not found | jsonrpsee | (no data) unknown method |
//! | -32602 | invalid params | jsonrpsee | (no data) missing parameter, wrong JSON type, bad hex, float money |
//! | -32603 | internal error | node | (no data) a bug, never the answer to bad input |
//! | **-32000** | invalid input | node | `invalid_input` (a value that parses but is unacceptable: `cursor`, `limit` 0), `wrong_payload_type` (e.g. a transfer sent to `submit_order`), `hash_mismatch` (`hash` is not the transaction's hash) |
//! | **-32001** | not found | node | `tx_not_found`, `block_not_found`, `order_not_found`, `market_not_found` |
//! | **-32002** | unavailable | node | `syncing` (retry later) |
//! | **-32003** | rejected | mempool / engine | mempool: `duplicate`, `bad_signature`, `wrong_chain_id`, `nonce_too_low`, `nonce_too_high`, `insufficient_balance`; engine (also in `get_tx` of a rejected transaction): `wrong_chain_id`, `nonce_replayed`, `nonce_too_high`, `unknown_market`, `unknown_asset`, `missing_price`, `invalid_price`, `invalid_quantity`, `below_min_size`, `invalid_time_in_force`, `insufficient_balance`, `post_only_would_cross`, `fill_or_kill_unfilled`, `no_liquidity`, `duplicate_client_order_id`, `order_not_found`, `too_many_open_orders`, `invalid_amount`, `self_transfer`, `overflow` |
//! | **-32005** | limit exceeded | node / mempool | `limit_exceeded` (`limit` > 100, `depth` > 500), `mempool_full`, `account_limit`, `tx_too_large` (retry later or shrink) |
//! | -32006 | too many subscriptions | jsonrpsee | (no data) per-connection subscription limit |
//! | -32007 | request too big | jsonrpsee | (no data) request body over the `[rpc]` limit |
//! | -32008 | response too big | jsonrpsee | (no data) |
//! | -32009 | server busy | jsonrpsee | (no data) connection or in-flight limit |
//! | -32010 | batch too large | jsonrpsee | (no data) batch longer than the `[rpc]` limit |
//!
//! `field` names the parameter or transaction field at fault: `chain_id`, `nonce`,
//! `signature`, `hash`, `payload`, `payload.price`, `payload.quantity`, `payload.market`,
//! `payload.order`, `market`, `limit`, `cursor`, ... The mempool's `nonce_too_low` and the
//! engine's `nonce_replayed` mean the same thing, caught at admission or in a final block.
//! Build errors with [`RpcError`], [`MempoolError`] and [`Catalog::rejection`]; read them
//! on the client with [`ApiError::from_client_error`].
//!
//! ## A bot in a few lines
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use futures::StreamExt;
//! use ledger_rpc::{connect, LedgerApiClient, Liquidity, OrderEvent, Wallet};
//! use ledger_types::{Decimal, Keypair, Side};
//!
//! let client = connect("ws://127.0.0.1:8545").await?;
//! let mut wallet = Wallet::from_node(&client, Keypair::for_testing("alice")).await?;
//! let market = wallet.market_id("BTC/USD").unwrap();
//!
//! let mut updates = client.subscribe_orders(wallet.address()).await?;
//! let tx = wallet.place_limit(market, Side::Buy, Decimal::new(10050, 2), Decimal::new(25, 2));
//! let placed = client.submit_order(tx.into()).await?;
//! println!("order {}", placed.order_id);
//!
//! while let Some(update) = updates.next().await {
//!     let update = update?;
//!     if let OrderEvent::Fill { price, quantity, fee, liquidity, .. } = &update.event {
//!         let role = if *liquidity == Liquidity::Maker { "maker" } else { "taker" };
//!         println!("{} filled {quantity} @ {price} as {role}, fee {fee}", update.order_id);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! ## Implementing the server
//!
//! The node implements [`LedgerApiServer`] (an `async_trait`) and serves
//! `impl.into_rpc()` with `jsonrpsee::server::Server`. It converts engine data with a
//! [`Catalog`] built from the genesis, maps mempool outcomes to [`MempoolError`] and
//! engine rejections with [`Catalog::rejection`], checks paging with [`page_limit`],
//! [`book_depth`], [`trade_cursor`] and [`order_cursor`], and turns a [`WireTx`] into a
//! `SignedTx` with [`WireTx::into_signed`].

#![warn(missing_docs)]

pub mod api;
pub mod atomic;
pub mod catalog;
pub mod client;
pub mod discover;
pub mod error;
pub mod num;
pub mod swap_protocol;
pub mod types;
pub mod wallet;

pub use api::{LedgerApiClient, LedgerApiServer};
pub use atomic::{
    AtomicApiClient, AtomicApiServer, BundleBuilder, BundleSubmitted, SwapEventKind, SwapState,
    SwapTerms, SwapUpdate, SwapView,
};
pub use catalog::{AssetInfo, Catalog};
pub use client::{connect, connect_with, ConnectOptions, LedgerClient};
pub use error::{
    book_depth, codes, order_cursor, page_limit, trade_cursor, tx_cursor, wait_timeout, ApiError,
    ErrorData, MempoolError, Resource, RpcError,
};
pub use types::{
    AccountView, ActionResultView, ActionStatus, BalanceView, BlockSelector, BlockView, CandleView,
    ChainStatus, ConsensusView, EventView, LevelView, Liquidity, MarketRef, MarketStatsView,
    MarketView, OrderBookView, OrderEvent, OrderStatus, OrderStatusFilter, OrderSubmitted,
    OrderUpdate, OrderView, Page, PeerDirection, PeerView, TradeView, TransferView, TxStatus,
    TxSubmitted, TxView, ValidatorView, WaitFor, WireTx,
};
pub use types::{CertificateView, CloseReason, SignerView, VALIDATOR_ACTIVITY_WINDOW};
pub use wallet::{Order, Wallet};

/// Re-exported so callers can name the generated client's error and subscription types.
pub use jsonrpsee;
