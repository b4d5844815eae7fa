//! Plain records of the engine's state: what storage persists, what snapshots hold and
//! what queries return.

use bincode::{Decode, Encode};
use ledger_types::{Address, AssetId, ClientOrderId, Hash, MarketId, OrderId, Side};
use serde::{Deserialize, Serialize};

/// Free and locked amounts of one asset, in its smallest units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Balance {
    /// Spendable.
    pub free: u128,
    /// Reserved by open orders.
    pub locked: u128,
}

/// An account: its next nonce and a balance per asset (indexed by asset id).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct AccountRecord {
    /// Address.
    pub key: Address,
    /// Next expected nonce.
    pub nonce: u64,
    /// Balance per asset id.
    pub balances: Vec<Balance>,
    /// The dead man's switch: the height at which every open order of the account is
    /// cancelled, if armed.
    pub cancel_at_height: Option<u64>,
}

/// A resting order.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct OrderRecord {
    /// Order id (the placing transaction's hash).
    pub id: OrderId,
    /// Owner.
    pub account: Address,
    /// Market.
    pub market: MarketId,
    /// Side.
    pub side: Side,
    /// Limit price in ticks.
    pub price: u64,
    /// Original quantity in lots.
    pub quantity: u64,
    /// Open quantity in lots.
    pub remaining: u64,
    /// Funds still reserved for this order (quote units for a buy, base units for a sell).
    pub locked: u128,
    /// Client order id.
    pub client_order_id: Option<ClientOrderId>,
    /// Time priority: lower rests earlier.
    pub seq: u64,
    /// Good-till height: the engine expires the order at the start of the next block.
    pub good_till_height: Option<u64>,
}

/// Engine-wide counters that are part of the state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Counters {
    /// Next order sequence number (time priority).
    pub next_seq: u64,
    /// Next trade id.
    pub next_trade_id: u64,
    /// Height of the last block the engine began (see `Engine::begin_block`); 0 before
    /// the first block.
    pub height: u64,
}

/// An open hashlock swap: an amount held by the engine (in no account's balance) until
/// the counterparty claims it with the preimage or the owner refunds it after the
/// timeout.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct SwapRecord {
    /// Swap id (the hash of the locking transaction).
    pub id: Hash,
    /// Who locked it.
    pub owner: Address,
    /// Who may claim it.
    pub counterparty: Address,
    /// Asset.
    pub asset: AssetId,
    /// Amount in smallest units.
    pub amount: u128,
    /// `SHA-256(preimage)`.
    pub hashlock: Hash,
    /// First height at which the claim is refused and the refund allowed.
    pub timeout_height: u64,
    /// Height of the block that locked it.
    pub lock_height: u64,
}

/// The whole engine state, for snapshots and restore.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct EngineState {
    /// Every account.
    pub accounts: Vec<AccountRecord>,
    /// Every resting order.
    pub orders: Vec<OrderRecord>,
    /// Counters.
    pub counters: Counters,
    /// Every open hashlock swap.
    pub swaps: Vec<SwapRecord>,
}

/// Everything that changed since the previous commit: what storage writes for a block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// Accounts created or changed (their full new value).
    pub accounts: Vec<AccountRecord>,
    /// Orders created or changed (their full new value).
    pub orders: Vec<OrderRecord>,
    /// Orders that were committed before and have left the book since.
    pub removed_orders: Vec<OrderId>,
    /// The counters after the commit.
    pub counters: Counters,
    /// Swaps opened since the previous commit and still open.
    pub swaps: Vec<SwapRecord>,
    /// Swaps that were committed open before and have been claimed or refunded since.
    pub removed_swaps: Vec<Hash>,
}

/// One price level of an L2 book.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelView {
    /// Price in ticks.
    pub price: u64,
    /// Total open lots.
    pub quantity: u64,
    /// Number of orders.
    pub orders: u32,
}

/// L2 depth: the best `n` levels per side, best first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Depth {
    /// Bids, highest price first.
    pub bids: Vec<LevelView>,
    /// Asks, lowest price first.
    pub asks: Vec<LevelView>,
}
