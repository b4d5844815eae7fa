//! Wire types: what the JSON-RPC API sends and receives.
//!
//! Conventions (see the crate docs and `API.md`):
//! - money (prices, quantities, balances, fees, amounts) is a **decimal string** in the
//!   asset's or market's natural unit (`"100.25"`, never a float, never smallest units);
//! - every 64-bit integer (heights, nonces, trade ids, epochs, timestamps) is a decimal
//!   string; small counts (positions, fee basis points, market ids) are JSON numbers;
//! - hashes, keys, signatures and client order ids are lowercase hex;
//! - markets are named by symbol (`"BTC/USD"`) and carry their numeric id next to it.
//!
//! Views are built from engine and chain types by [`crate::Catalog`].

use crate::error::{ApiError, RpcError};
use crate::num::{opt_u64_str, u64_str};
use ledger_engine::{CancelReason, ExpireReason};
use ledger_types::{
    Address, Block, ClientOrderId, ConsensusHeader, Decimal, Hash, MarketId, OrderId, OrderKind,
    Payload, PublicKey, Side, Signature, SignedTx, TimeInForce, Tx, TxHash,
};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Default number of items in a page (`limit` absent).
pub const DEFAULT_PAGE_LIMIT: u32 = 30;
/// Largest accepted `limit`.
pub const MAX_PAGE_LIMIT: u32 = 100;
/// Default number of price levels per side of a book (`depth` absent).
pub const DEFAULT_BOOK_DEPTH: u32 = 20;
/// Largest accepted book `depth`.
pub const MAX_BOOK_DEPTH: u32 = 500;

// ---------------------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------------------

/// A signed transaction as it travels over JSON-RPC (parameter of the write methods, and
/// part of transaction and block views).
///
/// The same fields as [`SignedTx`], with the nonce as a decimal string. `hash` is always
/// present on output; on input it is optional, and if given it must equal the hash of the
/// canonical encoding (so a wallet with an encoding bug learns it at once).
///
/// ```json
/// {"hash":"5c1f…","chain_id":"ledger-test","sender":"8a88…","nonce":"0",
///  "payload":{"type":"place_order","market":0,"side":"buy","kind":"limit",
///             "price":"100.5","quantity":"0.25","time_in_force":"GTC",
///             "client_order_id":"00000000000000000000000000000007","self_trade":"EXPIRE_MAKER"},
///  "signature":"3f0a…"}
/// ```
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireTx {
    /// Transaction hash (the order id of a `place_order`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<TxHash>,
    /// Chain id the transaction is signed for.
    pub chain_id: String,
    /// Signing account.
    pub sender: Address,
    /// The sender's nonce.
    #[serde(with = "u64_str")]
    pub nonce: u64,
    /// What the transaction does (`type`: `transfer`, `place_order`, `cancel_order`,
    /// `cancel_all`). A market order without a price bound has no `price` (`null` is
    /// accepted on input).
    #[serde(with = "payload_json")]
    pub payload: Payload,
    /// ed25519 signature over the domain-separated canonical encoding.
    pub signature: Signature,
    /// The last block height the transaction may execute in (absent: no expiry).
    #[serde(default, with = "opt_u64_str", skip_serializing_if = "Option::is_none")]
    pub valid_until_height: Option<u64>,
}

impl WireTx {
    /// The signed transaction, checking a supplied `hash` against the computed one.
    /// The signature is not checked here (the mempool does that, once).
    pub fn into_signed(self) -> Result<SignedTx, RpcError> {
        let claimed = self.hash;
        let stx = SignedTx::new(
            Tx {
                chain_id: self.chain_id,
                sender: self.sender,
                nonce: self.nonce,
                payload: self.payload,
                valid_until_height: self.valid_until_height,
            },
            self.signature,
        );
        match claimed {
            Some(h) if h != stx.hash() => Err(RpcError::HashMismatch {
                claimed: h,
                computed: stx.hash(),
            }),
            _ => Ok(stx),
        }
    }

    /// The transaction's payload type as it appears in JSON (`"place_order"`, ...).
    pub fn payload_type(&self) -> &'static str {
        payload_type(&self.payload)
    }
}

/// The payload in `ledger-types`' JSON form, except that an absent `price` is left out
/// rather than written as `null`: `ledger-types` writes `"price": null` for a market
/// order without a bound but cannot read it back inside its tagged `Payload` enum. Input
/// accepts either form.
mod payload_json {
    use ledger_types::Payload;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    fn drop_null_price(v: &mut Value) {
        if let Some(o) = v.as_object_mut() {
            if o.get("price").is_some_and(Value::is_null) {
                o.remove("price");
            }
        }
    }

    pub fn serialize<S: Serializer>(p: &Payload, s: S) -> Result<S::Ok, S::Error> {
        use ledger_types::{
            ClientOrderId, Decimal, MarketId, OrderKind, SelfTradePrevention, Side, TimeInForce,
        };
        #[derive(Serialize)]
        struct Unbounded {
            #[serde(rename = "type")]
            kind_tag: &'static str,
            market: MarketId,
            side: Side,
            kind: OrderKind,
            #[serde(with = "rust_decimal::serde::str")]
            quantity: Decimal,
            time_in_force: TimeInForce,
            client_order_id: Option<ClientOrderId>,
            self_trade: SelfTradePrevention,
            #[serde(
                skip_serializing_if = "Option::is_none",
                with = "ledger_types::tx::opt_height_str"
            )]
            good_till_height: Option<u64>,
        }
        match p {
            Payload::PlaceOrder(o) if o.price.is_none() => Unbounded {
                kind_tag: "place_order",
                market: o.market,
                side: o.side,
                kind: o.kind,
                quantity: o.quantity,
                time_in_force: o.time_in_force,
                client_order_id: o.client_order_id,
                self_trade: o.self_trade,
                good_till_height: o.good_till_height,
            }
            .serialize(s),
            other => other.serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Payload, D::Error> {
        let mut v = Value::deserialize(d)?;
        drop_null_price(&mut v);
        serde_json::from_value(v).map_err(serde::de::Error::custom)
    }
}

/// The `type` tag of a payload in JSON.
pub fn payload_type(p: &Payload) -> &'static str {
    match p {
        Payload::Transfer(_) => "transfer",
        Payload::PlaceOrder(_) => "place_order",
        Payload::CancelOrder(_) => "cancel_order",
        Payload::CancelAll(_) => "cancel_all",
        Payload::Batch(_) => "batch",
        Payload::AmendOrder(_) => "amend_order",
        Payload::ScheduleCancel(_) => "schedule_cancel",
        Payload::Bundle(_) => "bundle",
        Payload::SwapLock(_) => "swap_lock",
        Payload::SwapClaim(_) => "swap_claim",
        Payload::SwapRefund(_) => "swap_refund",
    }
}

impl From<SignedTx> for WireTx {
    fn from(stx: SignedTx) -> WireTx {
        WireTx {
            hash: Some(stx.hash()),
            signature: stx.signature,
            chain_id: stx.tx.chain_id,
            sender: stx.tx.sender,
            nonce: stx.tx.nonce,
            payload: stx.tx.payload,
            valid_until_height: stx.tx.valid_until_height,
        }
    }
}

impl From<&SignedTx> for WireTx {
    fn from(stx: &SignedTx) -> WireTx {
        WireTx::from(stx.clone())
    }
}

/// Result of `submit_order`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct OrderSubmitted {
    /// Transaction hash.
    pub tx_hash: TxHash,
    /// Order id (equal to the transaction hash).
    pub order_id: OrderId,
    /// The wallet's client order id, if it set one.
    #[serde(default)]
    pub client_order_id: Option<ClientOrderId>,
}

/// Result of `submit_tx` and `cancel_order`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct TxSubmitted {
    /// Transaction hash.
    pub tx_hash: TxHash,
    /// The order id if the transaction places an order (equal to the transaction hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    /// With `wait`: the transaction once it reached the requested status (`included`,
    /// or `final` / `rejected` with the receipt's events and per-action results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<Box<TxView>>,
}

/// How long `submit_tx` waits before answering (Solana's commitment levels, CometBFT's
/// `broadcast_tx_commit`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitFor {
    /// Until the transaction is in a block on the best chain (or final).
    Included,
    /// Until the block holding it is final and executed: the answer has the receipt.
    Final,
}

/// Default `timeout_ms` of a waiting `submit_tx`.
pub const DEFAULT_WAIT_TIMEOUT_MS: u64 = 30_000;
/// Largest accepted `timeout_ms`.
pub const MAX_WAIT_TIMEOUT_MS: u64 = 120_000;
/// Most hashes in one `get_txs`.
pub const MAX_TXS_PER_CALL: usize = 100;

/// The result of one action of a batch, in `TxView.actions`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct ActionResultView {
    /// Index of the action in the batch.
    pub index: u32,
    /// `ok` or `rejected`.
    pub status: ActionStatus,
    /// The id of the order a `place_order` action placed (`batch_order_id(tx, index)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    /// Why the engine rejected the action (the same error object as a transaction's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
}

/// Outcome of one batch action.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// Executed.
    Ok,
    /// Refused by the engine; the other actions are unaffected.
    Rejected,
}

/// Where a transaction is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxStatus {
    /// In this node's mempool, not yet in a block.
    Pending,
    /// In a block that is not final yet (it may still be dropped by a reorg).
    Included,
    /// In a final block and executed by the engine.
    Final,
    /// In a final block and refused by the engine (`error` says why); or refused earlier.
    Rejected,
}

/// Result of `get_tx`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct TxView {
    /// Transaction hash.
    pub hash: TxHash,
    /// `pending`, `included`, `final` or `rejected`.
    pub status: TxStatus,
    /// Height of the block that holds it (absent while pending).
    #[serde(default, with = "opt_u64_str", skip_serializing_if = "Option::is_none")]
    pub block_height: Option<u64>,
    /// Hash of that block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_hash: Option<Hash>,
    /// Index of the transaction in the block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
    /// The signed transaction.
    pub tx: WireTx,
    /// What the engine did (final transactions only), in order.
    #[serde(default)]
    pub events: Vec<EventView>,
    /// Why the engine rejected it (status `rejected` only): the same error object the
    /// write methods return, code `-32003`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    /// For a final batch: one result per action, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<ActionResultView>>,
    /// Timestamp of its block (once in a block), ms since the Unix epoch.
    #[serde(default, with = "opt_u64_str", skip_serializing_if = "Option::is_none")]
    pub time_ms: Option<u64>,
}

impl TxView {
    /// A transaction waiting in the mempool.
    pub fn pending(stx: &SignedTx) -> TxView {
        TxView {
            hash: stx.hash(),
            status: TxStatus::Pending,
            block_height: None,
            block_hash: None,
            position: None,
            tx: stx.into(),
            events: Vec::new(),
            error: None,
            actions: None,
            time_ms: None,
        }
    }

    /// A transaction in a block that is not final yet.
    pub fn included(stx: &SignedTx, block_height: u64, block_hash: Hash, position: u32) -> TxView {
        TxView {
            status: TxStatus::Included,
            block_height: Some(block_height),
            block_hash: Some(block_hash),
            position: Some(position),
            ..TxView::pending(stx)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Selectors
// ---------------------------------------------------------------------------------------

/// Which block `get_block` returns: a height, a hash, `latest` (the highest block this
/// node has, final or not) or `final` (the highest final block; `finalized` is accepted
/// too).
///
/// JSON: `"12"` or `12`, `"9f86…"` (64 hex digits), `"latest"`, `"final"`, `"finalized"`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BlockSelector {
    /// By height.
    Height(u64),
    /// By block hash.
    Hash(Hash),
    /// The highest block, final or not.
    Latest,
    /// The highest final block.
    Final,
}

impl FromStr for BlockSelector {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "latest" => Ok(BlockSelector::Latest),
            "final" | "finalized" => Ok(BlockSelector::Final),
            _ if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) => {
                crate::num::parse_u64(s).map(BlockSelector::Height)
            }
            _ => s.parse::<Hash>().map(BlockSelector::Hash).map_err(|_| {
                format!(
                    "expected a block height, a 64-digit hex hash, \"latest\", \"final\" or \"finalized\", got {:?}",
                    s.chars().take(80).collect::<String>()
                )
            }),
        }
    }
}

impl fmt::Display for BlockSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockSelector::Height(h) => write!(f, "{h}"),
            BlockSelector::Hash(h) => write!(f, "{h}"),
            BlockSelector::Latest => f.write_str("latest"),
            BlockSelector::Final => f.write_str("final"),
        }
    }
}

impl From<u64> for BlockSelector {
    fn from(h: u64) -> Self {
        BlockSelector::Height(h)
    }
}

impl From<Hash> for BlockSelector {
    fn from(h: Hash) -> Self {
        BlockSelector::Hash(h)
    }
}

impl Serialize for BlockSelector {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BlockSelector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = BlockSelector;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a block height, a block hash, \"latest\" or \"final\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<BlockSelector, E> {
                Ok(BlockSelector::Height(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<BlockSelector, E> {
                u64::try_from(v)
                    .map(BlockSelector::Height)
                    .map_err(|_| E::custom("a block height cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<BlockSelector, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A market named by symbol (`"BTC/USD"`; `"BTC-USD"` and any letter case accepted) or
/// by id (`0` or `"0"`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum MarketRef {
    /// By symbol.
    Symbol(String),
    /// By id (index in the genesis market list).
    Id(MarketId),
}

impl fmt::Display for MarketRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MarketRef::Symbol(s) => f.write_str(s),
            MarketRef::Id(id) => write!(f, "{}", id.0),
        }
    }
}

impl From<&str> for MarketRef {
    fn from(s: &str) -> Self {
        MarketRef::Symbol(s.to_string())
    }
}

impl From<String> for MarketRef {
    fn from(s: String) -> Self {
        MarketRef::Symbol(s)
    }
}

impl From<MarketId> for MarketRef {
    fn from(id: MarketId) -> Self {
        MarketRef::Id(id)
    }
}

impl FromStr for MarketRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() || s.len() > 40 {
            return Err("a market is a symbol like \"BTC/USD\" or a numeric id".into());
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return s
                .parse::<u32>()
                .map(|i| MarketRef::Id(MarketId(i)))
                .map_err(|_| format!("market id {s} is too large"));
        }
        Ok(MarketRef::Symbol(s.to_string()))
    }
}

impl Serialize for MarketRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MarketRef::Symbol(sym) => s.serialize_str(sym),
            MarketRef::Id(id) => s.serialize_u32(id.0),
        }
    }
}

impl<'de> Deserialize<'de> for MarketRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = MarketRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a market symbol like \"BTC/USD\" or a numeric market id")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MarketRef, E> {
                u32::try_from(v)
                    .map(|i| MarketRef::Id(MarketId(i)))
                    .map_err(|_| E::custom(format!("market id {v} is too large")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MarketRef, E> {
                u32::try_from(v)
                    .map(|i| MarketRef::Id(MarketId(i)))
                    .map_err(|_| E::custom(format!("market id {v} is out of range")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MarketRef, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Which of an account's orders `get_orders` lists.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatusFilter {
    /// Open orders only (resting on a book).
    Open,
    /// Recently closed orders only (filled, cancelled or expired).
    Closed,
    /// Both (the default).
    #[default]
    All,
}

/// A page of a list, newest first.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// Pass this as `cursor` to get the next (older) page; `null` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Blocks and chain
// ---------------------------------------------------------------------------------------

/// Protocol-specific block header fields.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConsensusView {
    /// Streamlet: epoch and proposer.
    Streamlet {
        /// Epoch the block was proposed in.
        #[serde(with = "u64_str")]
        epoch: u64,
        /// The epoch's leader.
        proposer: PublicKey,
        /// The proposer's timestamp, milliseconds since the Unix epoch.
        #[serde(with = "u64_str")]
        time_ms: u64,
    },
    /// Nakamoto proof of work.
    Nakamoto {
        /// Miner's timestamp, milliseconds since the Unix epoch.
        #[serde(with = "u64_str")]
        time_ms: u64,
        /// Proof-of-work target (256-bit big endian).
        target: Hash,
        /// Nonce found by the miner.
        #[serde(with = "u64_str")]
        nonce: u64,
        /// The miner's key.
        miner: PublicKey,
    },
}

impl From<&ConsensusHeader> for ConsensusView {
    fn from(h: &ConsensusHeader) -> Self {
        match h {
            ConsensusHeader::Streamlet {
                epoch,
                proposer,
                time_ms,
            } => ConsensusView::Streamlet {
                epoch: *epoch,
                proposer: *proposer,
                time_ms: *time_ms,
            },
            ConsensusHeader::Nakamoto {
                time_ms,
                target,
                nonce,
                miner,
            } => ConsensusView::Nakamoto {
                time_ms: *time_ms,
                target: *target,
                nonce: *nonce,
                miner: *miner,
            },
        }
    }
}

/// Result of `get_block`, and the item of `subscribe_blocks`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct BlockView {
    /// Block hash.
    pub hash: Hash,
    /// Height.
    #[serde(with = "u64_str")]
    pub height: u64,
    /// Parent block hash.
    pub parent: Hash,
    /// Merkle root of the transaction hashes.
    pub tx_root: Hash,
    /// Protocol-specific header fields (`kind`: `streamlet` or `nakamoto`).
    pub consensus: ConsensusView,
    /// The block's timestamp, ms since the Unix epoch: the Streamlet proposer's or the
    /// Nakamoto miner's clock.
    #[serde(with = "u64_str")]
    pub time_ms: u64,
    /// True once the block is final (executed by the engine).
    #[serde(rename = "final")]
    pub is_final: bool,
    /// The engine's state root after executing this block (final blocks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_root: Option<Hash>,
    /// Number of transactions.
    pub tx_count: u32,
    /// Transaction hashes in order (when transactions were not requested).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_hashes: Option<Vec<TxHash>>,
    /// The transactions in order (when requested with `include_txs = true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txs: Option<Vec<WireTx>>,
}

impl BlockView {
    /// The view of a block: with full transactions if `include_txs`, else their hashes.
    pub fn new(
        block: &Block,
        is_final: bool,
        state_root: Option<Hash>,
        include_txs: bool,
    ) -> BlockView {
        BlockView {
            hash: block.hash(),
            height: block.height(),
            parent: block.header.parent,
            tx_root: block.header.tx_root,
            consensus: (&block.header.consensus).into(),
            time_ms: block.header.time_ms(),
            is_final,
            state_root,
            tx_count: u32::try_from(block.txs.len()).unwrap_or(u32::MAX),
            tx_hashes: (!include_txs).then(|| block.txs.iter().map(|t| t.hash()).collect()),
            txs: include_txs.then(|| block.txs.iter().map(WireTx::from).collect()),
        }
    }
}

/// Result of `chain_status`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ChainStatus {
    /// Chain id (what transactions must be signed for).
    pub chain_id: String,
    /// Hash of the genesis document.
    pub genesis_hash: Hash,
    /// `streamlet` or `nakamoto`.
    pub consensus: String,
    /// The node's software version.
    pub node_version: String,
    /// Height of the highest block this node has (final or not).
    #[serde(with = "u64_str")]
    pub latest_height: u64,
    /// Hash of that block.
    pub latest_hash: Hash,
    /// Height of the highest final block.
    #[serde(with = "u64_str")]
    pub final_height: u64,
    /// Hash of that block.
    pub final_hash: Hash,
    /// The engine's state root after the highest final block.
    pub state_root: Hash,
    /// Number of connected peers.
    pub peers: u32,
    /// True while the node is catching up with its peers.
    pub syncing: bool,
    /// Transactions waiting in this node's mempool.
    pub mempool_size: u32,
    /// This node's validator (or miner) key, if it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator: Option<PublicKey>,
}

/// An item of `get_validators`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ValidatorView {
    /// Position in the genesis validator list.
    pub index: u32,
    /// Human-readable name.
    pub name: String,
    /// Public key that signs its proposals and votes.
    pub public_key: PublicKey,
    /// Height of the latest final block it proposed (Streamlet) or mined (Nakamoto),
    /// among the last [`VALIDATOR_ACTIVITY_WINDOW`] final blocks; absent if none.
    #[serde(default, with = "opt_u64_str", skip_serializing_if = "Option::is_none")]
    pub last_proposal: Option<u64>,
    /// The timestamp of that block, milliseconds since the Unix epoch.
    #[serde(default, with = "opt_u64_str", skip_serializing_if = "Option::is_none")]
    pub last_proposal_time_ms: Option<u64>,
    /// Height of the latest final block whose finality certificate carries its vote
    /// (Streamlet only), among the last [`VALIDATOR_ACTIVITY_WINDOW`] final blocks.
    #[serde(default, with = "opt_u64_str", skip_serializing_if = "Option::is_none")]
    pub last_vote: Option<u64>,
}

/// How many of the latest final blocks `get_validators` looks through for each
/// validator's last proposal and last vote.
pub const VALIDATOR_ACTIVITY_WINDOW: u64 = 256;

/// One vote of a finality certificate, with the validator that cast it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SignerView {
    /// Position in the genesis validator list.
    pub index: u32,
    /// The validator's name in the genesis (empty if the index is unknown).
    pub name: String,
    /// The validator's key (absent if the index is unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKey>,
    /// Its vote signature.
    pub signature: Signature,
}

/// Result of `get_block_certificate`: why a final block is final.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CertificateView {
    /// Streamlet: notarization votes of at least a quorum of validators for the block.
    Streamlet {
        /// Block height.
        #[serde(with = "u64_str")]
        height: u64,
        /// Block hash.
        block: Hash,
        /// The block's epoch.
        #[serde(with = "u64_str")]
        epoch: u64,
        /// Votes needed (`ceil(2n/3)`).
        quorum: u32,
        /// Number of validators.
        validators: u32,
        /// The votes, by increasing validator index.
        signers: Vec<SignerView>,
    },
    /// Nakamoto: final once buried `finality_depth` blocks deep on the best chain; the
    /// proof of work itself is in the header (`target`, `nonce`, `miner`).
    ProofOfWork {
        /// Block height.
        #[serde(with = "u64_str")]
        height: u64,
        /// Block hash.
        block: Hash,
        /// Blocks on top of it that made it final.
        #[serde(with = "u64_str")]
        finality_depth: u64,
    },
}

/// Who opened a peer connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerDirection {
    /// The peer dialed us.
    Inbound,
    /// We dialed the peer.
    Outbound,
}

/// An item of `get_peers`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct PeerView {
    /// libp2p peer id (base58).
    pub peer_id: String,
    /// Known multiaddrs of the peer (`/ip4/…/tcp/…`).
    pub addresses: Vec<String>,
    /// Who dialed.
    pub direction: PeerDirection,
    /// The peer's identify agent version, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Markets, books, accounts
// ---------------------------------------------------------------------------------------

/// An item of `get_markets`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MarketView {
    /// Market id (index in the genesis).
    pub id: u32,
    /// `BASE/QUOTE`.
    pub symbol: String,
    /// Base asset symbol.
    pub base: String,
    /// Quote asset symbol.
    pub quote: String,
    /// Base asset id.
    pub base_asset_id: u32,
    /// Quote asset id.
    pub quote_asset_id: u32,
    /// Decimals of the base asset.
    pub base_decimals: u32,
    /// Decimals of the quote asset.
    pub quote_decimals: u32,
    /// Price increment (quote per base).
    #[serde(with = "rust_decimal::serde::str")]
    pub tick_size: Decimal,
    /// Quantity increment (base).
    #[serde(with = "rust_decimal::serde::str")]
    pub lot_size: Decimal,
    /// Smallest order quantity (base).
    #[serde(with = "rust_decimal::serde::str")]
    pub min_size: Decimal,
    /// Fee of the resting side, in basis points of the notional.
    pub maker_fee_bps: u32,
    /// Fee of the incoming side, in basis points of the notional.
    pub taker_fee_bps: u32,
}

/// One price level of an L2 book.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct LevelView {
    /// Price.
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
    /// Total open quantity at this price.
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    /// Number of orders at this price.
    pub orders: u32,
}

/// Result of `get_order_book`, and the item of `subscribe_book` (a full snapshot of the
/// top levels after each final block that changed the book).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct OrderBookView {
    /// Market symbol.
    pub market: String,
    /// Market id.
    pub market_id: u32,
    /// Height of the final block the book reflects.
    #[serde(with = "u64_str")]
    pub block_height: u64,
    /// Bids, highest price first.
    pub bids: Vec<LevelView>,
    /// Asks, lowest price first.
    pub asks: Vec<LevelView>,
}

/// Free and locked amounts of one asset.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct BalanceView {
    /// Asset symbol.
    pub asset: String,
    /// Asset id.
    pub asset_id: u32,
    /// Spendable.
    #[serde(with = "rust_decimal::serde::str")]
    pub free: Decimal,
    /// Reserved by open orders.
    #[serde(with = "rust_decimal::serde::str")]
    pub locked: Decimal,
    /// `free + locked`.
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
}

/// Result of `get_account`. An account nobody has paid yet has zero balances and nonce 0.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AccountView {
    /// Address (public key).
    pub address: Address,
    /// Next nonce according to the final state.
    #[serde(with = "u64_str")]
    pub next_nonce: u64,
    /// Next nonce counting this node's pending transactions from the account: the nonce
    /// to sign the next transaction with.
    #[serde(with = "u64_str")]
    pub pending_nonce: u64,
    /// One entry per asset of the chain, in asset id order.
    pub balances: Vec<BalanceView>,
}

// ---------------------------------------------------------------------------------------
// Orders, trades and events
// ---------------------------------------------------------------------------------------

/// Maker (the resting order) or taker (the incoming order) in a fill.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Liquidity {
    /// The order was resting on the book.
    Maker,
    /// The order arrived and traded against the book.
    Taker,
}

/// Where an order is.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Accepted and still working (resting on the book, possibly partly filled).
    Open,
    /// Completely filled.
    Filled,
    /// Cancelled by its owner (possibly after partial fills).
    Cancelled,
    /// Dropped by the engine: IOC remainder, self-trade prevention, market order out of
    /// balance or past its price bound (possibly after partial fills).
    Expired,
}

/// Why an order closed without filling completely (`reason` of an order).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CloseReason {
    /// Cancelled: `user` or `cancel_all`.
    Cancelled(CancelReason),
    /// Expired: `ioc_remainder`, `self_trade`, `insufficient_balance` or `price_bound`.
    Expired(ExpireReason),
}

/// An order: result of `get_order`, items of `get_orders`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct OrderView {
    /// Order id (the placing transaction's hash).
    pub order_id: OrderId,
    /// The wallet's client order id.
    #[serde(default)]
    pub client_order_id: Option<ClientOrderId>,
    /// Owner.
    pub account: Address,
    /// Market symbol.
    pub market: String,
    /// Market id.
    pub market_id: u32,
    /// `buy` or `sell`.
    pub side: Side,
    /// `limit` or `market`.
    pub kind: OrderKind,
    /// `GTC`, `IOC`, `FOK` or `ALO` (absent when only the resting record is known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_in_force: Option<TimeInForce>,
    /// Limit price (worst price for a market order; absent for an unbounded one).
    #[serde(default, with = "crate::num::opt_decimal_str")]
    pub price: Option<Decimal>,
    /// Original quantity.
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    /// Quantity filled so far.
    #[serde(with = "rust_decimal::serde::str")]
    pub filled: Decimal,
    /// Quantity still open on the book (zero once closed).
    #[serde(with = "rust_decimal::serde::str")]
    pub remaining: Decimal,
    /// Fees paid so far, in the quote asset.
    #[serde(with = "rust_decimal::serde::str")]
    pub fees: Decimal,
    /// `open`, `filled`, `cancelled` or `expired`.
    pub status: OrderStatus,
    /// Why a cancelled or expired order closed: `user` or `cancel_all` (cancelled),
    /// `ioc_remainder`, `self_trade`, `insufficient_balance` or `price_bound` (expired).
    /// Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CloseReason>,
    /// Height of the block that placed it (if known).
    #[serde(default, with = "opt_u64_str", skip_serializing_if = "Option::is_none")]
    pub placed_height: Option<u64>,
    /// Height of the block that last changed it (if known).
    #[serde(default, with = "opt_u64_str", skip_serializing_if = "Option::is_none")]
    pub updated_height: Option<u64>,
}

impl OrderView {
    /// The order as its `accepted` update describes it, or `None` for any other update.
    /// Apply the order's later updates with [`OrderView::apply`].
    pub fn from_accepted(update: &OrderUpdate) -> Option<OrderView> {
        let OrderEvent::Accepted {
            side,
            kind,
            time_in_force,
            price,
            quantity,
        } = &update.event
        else {
            return None;
        };
        Some(OrderView {
            order_id: update.order_id,
            client_order_id: update.client_order_id,
            account: update.account,
            market: update.market.clone(),
            market_id: update.market_id,
            side: *side,
            kind: *kind,
            time_in_force: Some(*time_in_force),
            price: *price,
            quantity: *quantity,
            filled: Decimal::ZERO,
            remaining: *quantity,
            fees: Decimal::ZERO,
            status: OrderStatus::Open,
            reason: None,
            placed_height: Some(update.block_height),
            updated_height: Some(update.block_height),
        })
    }

    /// Applies a later update of the same order (updates of other orders are ignored).
    pub fn apply(&mut self, update: &OrderUpdate) {
        if update.order_id != self.order_id {
            return;
        }
        self.updated_height = Some(update.block_height);
        match &update.event {
            OrderEvent::Accepted { .. } => {}
            OrderEvent::Fill {
                quantity,
                fee,
                remaining,
                ..
            } => {
                self.filled += *quantity;
                self.fees += *fee;
                self.remaining = *remaining;
                if remaining.is_zero() {
                    self.status = OrderStatus::Filled;
                }
            }
            OrderEvent::Rested { remaining, .. } => {
                self.remaining = *remaining;
                self.status = OrderStatus::Open;
            }
            OrderEvent::Cancelled { reason, .. } => {
                self.remaining = Decimal::ZERO;
                self.status = OrderStatus::Cancelled;
                self.reason = Some(CloseReason::Cancelled(*reason));
            }
            OrderEvent::Expired { reason, .. } => {
                self.remaining = Decimal::ZERO;
                self.status = OrderStatus::Expired;
                self.reason = Some(CloseReason::Expired(*reason));
            }
            OrderEvent::Amended {
                price,
                quantity,
                remaining,
                ..
            } => {
                self.price = Some(*price);
                self.quantity = *quantity;
                self.remaining = *remaining;
            }
        }
    }

    /// True once the order can no longer trade.
    pub fn is_closed(&self) -> bool {
        self.status != OrderStatus::Open
    }
}

/// A trade: items of `get_trades` and `subscribe_trades`, and the `fill` event.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TradeView {
    /// Sequential trade id, unique per chain.
    #[serde(with = "u64_str")]
    pub trade_id: u64,
    /// Market symbol.
    pub market: String,
    /// Market id.
    pub market_id: u32,
    /// Execution price (the maker's price).
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
    /// Quantity traded (base).
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    /// `price * quantity` (quote).
    #[serde(with = "rust_decimal::serde::str")]
    pub quote_quantity: Decimal,
    /// Side of the taker (the maker was on the other side).
    pub taker_side: Side,
    /// Resting order.
    pub maker_order_id: OrderId,
    /// Resting order's client order id.
    #[serde(default)]
    pub maker_client_order_id: Option<ClientOrderId>,
    /// Resting order's account.
    pub maker: Address,
    /// Fee the maker paid (quote asset).
    #[serde(with = "rust_decimal::serde::str")]
    pub maker_fee: Decimal,
    /// Open quantity left on the maker order.
    #[serde(with = "rust_decimal::serde::str")]
    pub maker_remaining: Decimal,
    /// Incoming order.
    pub taker_order_id: OrderId,
    /// Incoming order's client order id.
    #[serde(default)]
    pub taker_client_order_id: Option<ClientOrderId>,
    /// Incoming order's account.
    pub taker: Address,
    /// Fee the taker paid (quote asset).
    #[serde(with = "rust_decimal::serde::str")]
    pub taker_fee: Decimal,
    /// Quantity of the taker order not yet filled after this trade.
    #[serde(with = "rust_decimal::serde::str")]
    pub taker_remaining: Decimal,
    /// Asset the fees are paid in (the quote asset).
    pub fee_asset: String,
    /// Height of the final block that executed the trade.
    #[serde(with = "u64_str")]
    pub block_height: u64,
    /// Timestamp of that block, ms since the Unix epoch.
    #[serde(with = "u64_str")]
    pub time_ms: u64,
    /// Transaction that caused it (the taker's).
    pub tx_hash: TxHash,
}

/// A transfer in an account's history: items of `get_account_transfers`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TransferView {
    /// Height of the final block.
    #[serde(with = "u64_str")]
    pub block_height: u64,
    /// Its timestamp, ms since the Unix epoch.
    #[serde(with = "u64_str")]
    pub time_ms: u64,
    /// The transaction.
    pub tx_hash: TxHash,
    /// Sender.
    pub from: Address,
    /// Receiver.
    pub to: Address,
    /// Asset symbol.
    pub asset: String,
    /// Asset id.
    pub asset_id: u32,
    /// Amount.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
}

/// One OHLCV candle: items of `get_candles`. Prices in quote per base, volume in base,
/// quote volume in quote.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CandleView {
    /// Market symbol.
    pub market: String,
    /// Market id.
    pub market_id: u32,
    /// `1m`, `5m`, `15m`, `1h`, `4h`, `1d` (by block timestamps) or `10b`, `100b`,
    /// `1000b` (by height).
    pub interval: String,
    /// Bucket start: ms since the Unix epoch, or a height for block intervals.
    #[serde(with = "u64_str")]
    pub start: u64,
    /// First trade's price.
    #[serde(with = "rust_decimal::serde::str")]
    pub open: Decimal,
    /// Highest price.
    #[serde(with = "rust_decimal::serde::str")]
    pub high: Decimal,
    /// Lowest price.
    #[serde(with = "rust_decimal::serde::str")]
    pub low: Decimal,
    /// Last trade's price.
    #[serde(with = "rust_decimal::serde::str")]
    pub close: Decimal,
    /// Base volume.
    #[serde(with = "rust_decimal::serde::str")]
    pub volume: Decimal,
    /// Quote volume.
    #[serde(with = "rust_decimal::serde::str")]
    pub quote_volume: Decimal,
    /// Number of trades.
    #[serde(with = "u64_str")]
    pub trades: u64,
}

/// Result of `get_market_stats`: the rolling 24 hours before the last final block (by
/// block timestamps). Prices are absent when the window had no trade.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MarketStatsView {
    /// Market symbol.
    pub market: String,
    /// Market id.
    pub market_id: u32,
    /// Window start, ms since the Unix epoch.
    #[serde(with = "u64_str")]
    pub from_ms: u64,
    /// Window end: the last final block's timestamp.
    #[serde(with = "u64_str")]
    pub to_ms: u64,
    /// First price in the window.
    #[serde(default, with = "crate::num::opt_decimal_str")]
    pub open: Option<Decimal>,
    /// Highest price.
    #[serde(default, with = "crate::num::opt_decimal_str")]
    pub high: Option<Decimal>,
    /// Lowest price.
    #[serde(default, with = "crate::num::opt_decimal_str")]
    pub low: Option<Decimal>,
    /// Last price in the window.
    #[serde(default, with = "crate::num::opt_decimal_str")]
    pub close: Option<Decimal>,
    /// `close - open`.
    #[serde(default, with = "crate::num::opt_decimal_str")]
    pub change: Option<Decimal>,
    /// Base volume.
    #[serde(with = "rust_decimal::serde::str")]
    pub volume: Decimal,
    /// Quote volume.
    #[serde(with = "rust_decimal::serde::str")]
    pub quote_volume: Decimal,
    /// Number of trades.
    #[serde(with = "u64_str")]
    pub trades: u64,
    /// The market's last trade price, at any time.
    #[serde(default, with = "crate::num::opt_decimal_str")]
    pub last_price: Option<Decimal>,
}

/// An engine event in decimals, as listed in `get_tx`. Every order event names the order
/// id, the client order id and the block height.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventView {
    /// An order passed every check and went to the book.
    OrderAccepted {
        /// Block height.
        #[serde(with = "u64_str")]
        block_height: u64,
        /// Transaction.
        tx_hash: TxHash,
        /// Order id.
        order_id: OrderId,
        /// Client order id.
        client_order_id: Option<ClientOrderId>,
        /// Owner.
        account: Address,
        /// Market symbol.
        market: String,
        /// Market id.
        market_id: u32,
        /// Side.
        side: Side,
        /// Kind.
        kind: OrderKind,
        /// Time in force.
        time_in_force: TimeInForce,
        /// Limit price (absent for an unbounded market order).
        #[serde(default, with = "crate::num::opt_decimal_str")]
        price: Option<Decimal>,
        /// Quantity.
        #[serde(with = "rust_decimal::serde::str")]
        quantity: Decimal,
    },
    /// A trade.
    Fill(Box<TradeView>),
    /// The rest of an order now rests on the book.
    OrderRested {
        /// Block height.
        #[serde(with = "u64_str")]
        block_height: u64,
        /// Transaction.
        tx_hash: TxHash,
        /// Order id.
        order_id: OrderId,
        /// Client order id.
        client_order_id: Option<ClientOrderId>,
        /// Owner.
        account: Address,
        /// Market symbol.
        market: String,
        /// Market id.
        market_id: u32,
        /// Side.
        side: Side,
        /// Price.
        #[serde(with = "rust_decimal::serde::str")]
        price: Decimal,
        /// Quantity resting.
        #[serde(with = "rust_decimal::serde::str")]
        remaining: Decimal,
    },
    /// An order was cancelled by its owner.
    OrderCancelled {
        /// Block height.
        #[serde(with = "u64_str")]
        block_height: u64,
        /// Transaction.
        tx_hash: TxHash,
        /// Order id.
        order_id: OrderId,
        /// Client order id.
        client_order_id: Option<ClientOrderId>,
        /// Owner.
        account: Address,
        /// Market symbol.
        market: String,
        /// Market id.
        market_id: u32,
        /// Quantity that was still open.
        #[serde(with = "rust_decimal::serde::str")]
        remaining: Decimal,
        /// `user` or `cancel_all`.
        reason: CancelReason,
    },
    /// An order (or its remainder) was dropped by the engine.
    OrderExpired {
        /// Block height.
        #[serde(with = "u64_str")]
        block_height: u64,
        /// Transaction.
        tx_hash: TxHash,
        /// Order id.
        order_id: OrderId,
        /// Client order id.
        client_order_id: Option<ClientOrderId>,
        /// Owner.
        account: Address,
        /// Market symbol.
        market: String,
        /// Market id.
        market_id: u32,
        /// Quantity dropped.
        #[serde(with = "rust_decimal::serde::str")]
        remaining: Decimal,
        /// `ioc_remainder`, `self_trade`, `insufficient_balance` or `price_bound`.
        reason: ExpireReason,
    },
    /// Funds moved between accounts.
    Transferred {
        /// Block height.
        #[serde(with = "u64_str")]
        block_height: u64,
        /// Transaction.
        tx_hash: TxHash,
        /// Sender.
        from: Address,
        /// Receiver.
        to: Address,
        /// Asset symbol.
        asset: String,
        /// Asset id.
        asset_id: u32,
        /// Amount.
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
    },
    /// An open order was amended.
    OrderAmended {
        /// Block height.
        #[serde(with = "u64_str")]
        block_height: u64,
        /// Transaction.
        tx_hash: TxHash,
        /// Order id.
        order_id: OrderId,
        /// Client order id.
        client_order_id: Option<ClientOrderId>,
        /// Owner.
        account: Address,
        /// Market symbol.
        market: String,
        /// Market id.
        market_id: u32,
        /// Side.
        side: Side,
        /// The (new) price.
        #[serde(with = "rust_decimal::serde::str")]
        price: Decimal,
        /// The (new) total quantity.
        #[serde(with = "rust_decimal::serde::str")]
        quantity: Decimal,
        /// Quantity open after the amendment.
        #[serde(with = "rust_decimal::serde::str")]
        remaining: Decimal,
        /// True if the order kept its queue position (same price, smaller size).
        priority_kept: bool,
    },
    /// The account's dead man's switch was armed, moved or cleared.
    CancelScheduled {
        /// Block height.
        #[serde(with = "u64_str")]
        block_height: u64,
        /// Transaction.
        tx_hash: TxHash,
        /// The account.
        account: Address,
        /// Height at which its open orders will be cancelled (`null`: cleared).
        #[serde(default, with = "opt_u64_str")]
        at_height: Option<u64>,
    },
    /// Every leg of a bundle filled and its net bounds held (the legs' events precede).
    BundleExecuted {
        /// Block height.
        #[serde(with = "u64_str")]
        block_height: u64,
        /// Transaction.
        tx_hash: TxHash,
        /// The sender.
        account: Address,
        /// Number of legs.
        legs: u32,
        /// Change of the sender's balance per asset (fees included), by asset symbol.
        net: std::collections::BTreeMap<String, crate::num::SignedDecimal>,
    },
    /// An amount was locked under a hashlock.
    SwapLocked {
        /// Block height.
        #[serde(with = "u64_str")]
        block_height: u64,
        /// Transaction (also the swap id).
        tx_hash: TxHash,
        /// The swap.
        #[serde(flatten)]
        swap: crate::atomic::SwapTerms,
    },
    /// The counterparty claimed a swap, revealing its preimage.
    SwapClaimed {
        /// Block height.
        #[serde(with = "u64_str")]
        block_height: u64,
        /// Transaction.
        tx_hash: TxHash,
        /// Swap id.
        swap_id: Hash,
        /// Who locked it.
        owner: Address,
        /// Who claimed it.
        counterparty: Address,
        /// Asset symbol.
        asset: String,
        /// Asset id.
        asset_id: u32,
        /// Amount.
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
        /// The revealed secret.
        preimage: ledger_types::Preimage,
    },
    /// The owner took a swap back after its timeout.
    SwapRefunded {
        /// Block height.
        #[serde(with = "u64_str")]
        block_height: u64,
        /// Transaction.
        tx_hash: TxHash,
        /// Swap id.
        swap_id: Hash,
        /// Who locked it (and got it back).
        owner: Address,
        /// Who could have claimed it.
        counterparty: Address,
        /// Asset symbol.
        asset: String,
        /// Asset id.
        asset_id: u32,
        /// Amount.
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
    },
}

impl EventView {
    /// Height of the block that caused the event.
    pub fn block_height(&self) -> u64 {
        match self {
            EventView::OrderAccepted { block_height, .. }
            | EventView::OrderRested { block_height, .. }
            | EventView::OrderCancelled { block_height, .. }
            | EventView::OrderExpired { block_height, .. }
            | EventView::Transferred { block_height, .. }
            | EventView::OrderAmended { block_height, .. }
            | EventView::CancelScheduled { block_height, .. }
            | EventView::BundleExecuted { block_height, .. }
            | EventView::SwapLocked { block_height, .. }
            | EventView::SwapClaimed { block_height, .. }
            | EventView::SwapRefunded { block_height, .. } => *block_height,
            EventView::Fill(t) => t.block_height,
        }
    }
}

/// What happened to an order, from its owner's point of view (the `type` field).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrderEvent {
    /// The order passed every check.
    Accepted {
        /// Side.
        side: Side,
        /// Kind.
        kind: OrderKind,
        /// Time in force.
        time_in_force: TimeInForce,
        /// Limit price (absent for an unbounded market order).
        #[serde(default, with = "crate::num::opt_decimal_str")]
        price: Option<Decimal>,
        /// Quantity.
        #[serde(with = "rust_decimal::serde::str")]
        quantity: Decimal,
    },
    /// The order traded.
    Fill {
        /// Trade id.
        #[serde(with = "u64_str")]
        trade_id: u64,
        /// This order's side.
        side: Side,
        /// Execution price.
        #[serde(with = "rust_decimal::serde::str")]
        price: Decimal,
        /// Quantity traded.
        #[serde(with = "rust_decimal::serde::str")]
        quantity: Decimal,
        /// Fee this account paid for the trade.
        #[serde(with = "rust_decimal::serde::str")]
        fee: Decimal,
        /// Asset of the fee (the quote asset).
        fee_asset: String,
        /// `maker` if this order was resting, `taker` if it was incoming.
        liquidity: Liquidity,
        /// Quantity of this order not yet filled.
        #[serde(with = "rust_decimal::serde::str")]
        remaining: Decimal,
    },
    /// The order's rest now rests on the book.
    Rested {
        /// Side.
        side: Side,
        /// Price.
        #[serde(with = "rust_decimal::serde::str")]
        price: Decimal,
        /// Quantity resting.
        #[serde(with = "rust_decimal::serde::str")]
        remaining: Decimal,
    },
    /// The order was cancelled by its owner.
    Cancelled {
        /// Quantity that was still open.
        #[serde(with = "rust_decimal::serde::str")]
        remaining: Decimal,
        /// `user` or `cancel_all`.
        reason: CancelReason,
    },
    /// The order (or its remainder) was dropped by the engine.
    Expired {
        /// Quantity dropped.
        #[serde(with = "rust_decimal::serde::str")]
        remaining: Decimal,
        /// `ioc_remainder`, `self_trade`, `insufficient_balance`, `price_bound` or
        /// `good_till`.
        reason: ExpireReason,
    },
    /// The order was amended.
    Amended {
        /// Side.
        side: Side,
        /// The (new) price.
        #[serde(with = "rust_decimal::serde::str")]
        price: Decimal,
        /// The (new) total quantity.
        #[serde(with = "rust_decimal::serde::str")]
        quantity: Decimal,
        /// Quantity open after the amendment.
        #[serde(with = "rust_decimal::serde::str")]
        remaining: Decimal,
        /// True if it kept its queue position.
        priority_kept: bool,
    },
}

/// An update of one of an account's orders: the item of `subscribe_orders`.
///
/// ```json
/// {"block_height":"12","tx_hash":"…","order_id":"…","client_order_id":"…07",
///  "account":"…","market":"BTC/USD","market_id":0,
///  "type":"fill","trade_id":"3","side":"buy","price":"100.5","quantity":"0.1",
///  "fee":"0.005025","fee_asset":"USD","liquidity":"taker","remaining":"0.15"}
/// ```
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct OrderUpdate {
    /// Height of the final block that caused the update.
    #[serde(with = "u64_str")]
    pub block_height: u64,
    /// Transaction that caused it.
    pub tx_hash: TxHash,
    /// Order id.
    pub order_id: OrderId,
    /// Client order id.
    pub client_order_id: Option<ClientOrderId>,
    /// Owner of the order.
    pub account: Address,
    /// Market symbol.
    pub market: String,
    /// Market id.
    pub market_id: u32,
    /// What happened (`type`: `accepted`, `fill`, `rested`, `cancelled`, `expired`).
    #[serde(flatten)]
    pub event: OrderEvent,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_types::{Keypair, PlaceOrder, SelfTradePrevention};
    use serde_json::json;

    fn order_tx() -> SignedTx {
        let k = Keypair::for_testing("alice");
        Tx {
            chain_id: "ledger-test".into(),
            sender: k.public(),
            nonce: 7,
            payload: Payload::PlaceOrder(PlaceOrder {
                market: MarketId(0),
                side: Side::Buy,
                kind: OrderKind::Limit,
                price: Some(Decimal::new(10050, 2)),
                quantity: Decimal::new(25, 2),
                time_in_force: TimeInForce::Gtc,
                client_order_id: Some(ClientOrderId(7)),
                self_trade: SelfTradePrevention::ExpireMaker,
                good_till_height: None,
            }),
            valid_until_height: None,
        }
        .sign(&k)
    }

    #[test]
    fn wire_tx_shape_and_round_trip() {
        let stx = order_tx();
        let wire = WireTx::from(&stx);
        let v = serde_json::to_value(&wire).unwrap();
        assert_eq!(v["nonce"], json!("7"));
        assert_eq!(v["hash"], json!(stx.hash().to_hex()));
        assert_eq!(v["sender"], json!(stx.tx.sender.to_hex()));
        assert_eq!(v["signature"], json!(stx.signature.to_hex()));
        assert_eq!(v["payload"]["price"], json!("100.50"));
        assert_eq!(v["payload"]["quantity"], json!("0.25"));
        assert_eq!(
            v["payload"]["client_order_id"],
            json!("00000000000000000000000000000007")
        );
        let back: WireTx = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back.clone().into_signed().unwrap(), stx);

        // Hash is optional on input; a nonce given as a JSON number is accepted.
        let mut no_hash = v.clone();
        no_hash.as_object_mut().unwrap().remove("hash");
        no_hash["nonce"] = json!(7);
        let w: WireTx = serde_json::from_value(no_hash).unwrap();
        assert_eq!(w.into_signed().unwrap().hash(), stx.hash());

        // A wrong hash is caught.
        let mut bad = v.clone();
        bad["hash"] = json!(Hash::ZERO.to_hex());
        let w: WireTx = serde_json::from_value(bad).unwrap();
        assert!(matches!(
            w.into_signed(),
            Err(RpcError::HashMismatch { .. })
        ));

        // Unknown fields and float money are refused.
        let mut extra = v.clone();
        extra["gas"] = json!(1);
        assert!(serde_json::from_value::<WireTx>(extra).is_err());
        let mut float = v;
        float["payload"]["price"] = json!(100.5);
        assert!(serde_json::from_value::<WireTx>(float).is_err());
    }

    #[test]
    fn market_orders_without_price_round_trip() {
        let k = Keypair::for_testing("bob");
        let stx = Tx {
            chain_id: "ledger-test".into(),
            sender: k.public(),
            nonce: 1,
            payload: Payload::PlaceOrder(PlaceOrder {
                market: MarketId(0),
                side: Side::Sell,
                kind: OrderKind::Market,
                price: None,
                quantity: Decimal::ONE,
                time_in_force: TimeInForce::Ioc,
                client_order_id: None,
                self_trade: SelfTradePrevention::ExpireTaker,
                good_till_height: None,
            }),
            valid_until_height: None,
        }
        .sign(&k);
        let v = serde_json::to_value(WireTx::from(&stx)).unwrap();
        assert!(v["payload"].get("price").is_none());
        let back: WireTx = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back.into_signed().unwrap(), stx);
        let mut with_null = v;
        with_null["payload"]["price"] = json!(null);
        let back: WireTx = serde_json::from_value(with_null).unwrap();
        assert_eq!(back.into_signed().unwrap(), stx);

        let accepted = EventView::OrderAccepted {
            block_height: 1,
            tx_hash: stx.hash(),
            order_id: stx.hash(),
            client_order_id: None,
            account: k.public(),
            market: "BTC/USD".into(),
            market_id: 0,
            side: Side::Sell,
            kind: OrderKind::Market,
            time_in_force: TimeInForce::Ioc,
            price: None,
            quantity: Decimal::ONE,
        };
        let j = serde_json::to_value(&accepted).unwrap();
        assert_eq!(j["price"], json!(null));
        assert_eq!(serde_json::from_value::<EventView>(j).unwrap(), accepted);
        let update = OrderUpdate {
            block_height: 1,
            tx_hash: stx.hash(),
            order_id: stx.hash(),
            client_order_id: None,
            account: k.public(),
            market: "BTC/USD".into(),
            market_id: 0,
            event: OrderEvent::Accepted {
                side: Side::Sell,
                kind: OrderKind::Market,
                time_in_force: TimeInForce::Ioc,
                price: None,
                quantity: Decimal::ONE,
            },
        };
        let j = serde_json::to_value(&update).unwrap();
        assert_eq!(serde_json::from_value::<OrderUpdate>(j).unwrap(), update);
    }

    #[test]
    fn block_selector_forms() {
        let h = Hash::digest(b"x");
        let cases = [
            (json!(12), BlockSelector::Height(12)),
            (json!("12"), BlockSelector::Height(12)),
            (json!("latest"), BlockSelector::Latest),
            (json!("final"), BlockSelector::Final),
            (json!("finalized"), BlockSelector::Final),
            (json!(h.to_hex()), BlockSelector::Hash(h)),
            (json!(format!("0x{}", h.to_hex())), BlockSelector::Hash(h)),
        ];
        for (j, want) in cases {
            assert_eq!(serde_json::from_value::<BlockSelector>(j).unwrap(), want);
        }
        for bad in [
            json!(-1),
            json!("pending"),
            json!("12a"),
            json!(1.5),
            json!(null),
        ] {
            assert!(
                serde_json::from_value::<BlockSelector>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            serde_json::to_value(BlockSelector::Height(5)).unwrap(),
            json!("5")
        );
        assert_eq!(
            serde_json::to_value(BlockSelector::Final).unwrap(),
            json!("final")
        );
        assert_eq!(
            serde_json::to_value(BlockSelector::Hash(h)).unwrap(),
            json!(h.to_hex())
        );
    }

    #[test]
    fn market_ref_forms() {
        assert_eq!(
            serde_json::from_value::<MarketRef>(json!("BTC/USD")).unwrap(),
            MarketRef::Symbol("BTC/USD".into())
        );
        assert_eq!(
            serde_json::from_value::<MarketRef>(json!(1)).unwrap(),
            MarketRef::Id(MarketId(1))
        );
        assert_eq!(
            serde_json::from_value::<MarketRef>(json!("1")).unwrap(),
            MarketRef::Id(MarketId(1))
        );
        assert!(serde_json::from_value::<MarketRef>(json!(-1)).is_err());
        assert!(serde_json::from_value::<MarketRef>(json!("")).is_err());
        assert!(serde_json::from_value::<MarketRef>(json!(5_000_000_000u64)).is_err());
        assert_eq!(
            serde_json::to_value(MarketRef::from("ETH/USD")).unwrap(),
            json!("ETH/USD")
        );
        assert_eq!(
            serde_json::to_value(MarketRef::from(MarketId(3))).unwrap(),
            json!(3)
        );
    }

    #[test]
    fn order_view_follows_updates() {
        let base = |event| OrderUpdate {
            block_height: 5,
            tx_hash: Hash::digest(b"t"),
            order_id: Hash::digest(b"o"),
            client_order_id: None,
            account: Keypair::for_testing("a").public(),
            market: "BTC/USD".into(),
            market_id: 0,
            event,
        };
        let accepted = base(OrderEvent::Accepted {
            side: Side::Sell,
            kind: OrderKind::Limit,
            time_in_force: TimeInForce::Gtc,
            price: Some(Decimal::from(100)),
            quantity: Decimal::from(2),
        });
        let mut view = OrderView::from_accepted(&accepted).unwrap();
        assert_eq!(view.status, OrderStatus::Open);
        view.apply(&base(OrderEvent::Rested {
            side: Side::Sell,
            price: Decimal::from(100),
            remaining: Decimal::from(2),
        }));
        let mut fill = base(OrderEvent::Fill {
            trade_id: 1,
            side: Side::Sell,
            price: Decimal::from(100),
            quantity: Decimal::from(1),
            fee: Decimal::new(2, 2),
            fee_asset: "USD".into(),
            liquidity: Liquidity::Maker,
            remaining: Decimal::from(1),
        });
        fill.block_height = 6;
        view.apply(&fill);
        assert_eq!(view.filled, Decimal::from(1));
        assert_eq!(view.remaining, Decimal::from(1));
        assert_eq!(view.status, OrderStatus::Open);
        assert_eq!(view.updated_height, Some(6));
        view.apply(&base(OrderEvent::Cancelled {
            remaining: Decimal::from(1),
            reason: CancelReason::User,
        }));
        assert_eq!(view.status, OrderStatus::Cancelled);
        assert_eq!(
            view.reason,
            Some(CloseReason::Cancelled(CancelReason::User))
        );
        assert_eq!(
            serde_json::to_value(view.reason).unwrap(),
            serde_json::json!("user")
        );
        assert_eq!(view.remaining, Decimal::ZERO);
        assert_eq!(view.fees, Decimal::new(2, 2));
        assert!(view.is_closed());
        assert!(OrderView::from_accepted(&fill).is_none());
    }
}
