//! The typed values the store keeps besides blocks and engine records, and what its
//! read API returns.

use bincode::{Decode, Encode};
use ledger_engine::{CancelReason, Event, ExpireReason, Fill, Receipt, Rejection};
use ledger_types::{
    Address, Block, ClientOrderId, Hash, MarketId, OrderId, OrderKind, Side, TimeInForce,
};
use serde::{Deserialize, Serialize};

/// Default page size of list queries.
pub const DEFAULT_PAGE_LIMIT: usize = 30;
/// Largest page size of list queries; larger requests are clamped to it.
pub const MAX_PAGE_LIMIT: usize = 100;

/// The page size for an optional requested limit: default 30, at least 1, at most 100.
pub fn page_limit(requested: Option<usize>) -> usize {
    requested
        .unwrap_or(DEFAULT_PAGE_LIMIT)
        .clamp(1, MAX_PAGE_LIMIT)
}

/// The `final` column family's value: which block is final at a height, and the proof.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct FinalRecord {
    /// Hash of the final block.
    pub hash: Hash,
    /// The finality certificate, opaque to storage (consensus encodes and checks it).
    pub certificate: Vec<u8>,
}

/// A final block with its finality certificate (what block sync serves).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FinalizedBlock {
    /// The block.
    pub block: Block,
    /// Its finality certificate.
    pub certificate: Vec<u8>,
}

/// Where a transaction landed and how it ended.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct TxRecord {
    /// Height of the final block that holds it.
    pub height: u64,
    /// Index in the block's transaction list.
    pub position: u32,
    /// `Ok` if executed, or the engine's rejection.
    pub result: Result<(), Rejection>,
    /// The events it caused (fills, cancels, ...), for `get_tx`.
    pub events: Vec<Event>,
}

/// Lifecycle state of an order in the history index.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum OrderStatus {
    /// Resting on the book (possibly partially filled).
    Open,
    /// Completely filled.
    Filled,
    /// Cancelled by its owner.
    Cancelled(CancelReason),
    /// Dropped by the engine (IOC remainder, self-trade prevention, ...).
    Expired(ExpireReason),
}

impl OrderStatus {
    /// True while the order rests on the book.
    pub fn is_open(self) -> bool {
        self == OrderStatus::Open
    }
}

/// An order's history: what was asked, what happened, where and when. Kept for every
/// accepted order (rejected placements only appear in the transaction index).
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct OrderSummary {
    /// Order id (the placing transaction's hash).
    pub order_id: OrderId,
    /// Client order id.
    pub client_order_id: Option<ClientOrderId>,
    /// Owner.
    pub account: Address,
    /// Market.
    pub market: MarketId,
    /// Side.
    pub side: Side,
    /// Limit or market.
    pub kind: OrderKind,
    /// Time in force.
    pub time_in_force: TimeInForce,
    /// Limit price in ticks (`None` for an unbounded market order).
    pub price: Option<u64>,
    /// Quantity in lots.
    pub quantity: u64,
    /// Lots filled so far.
    pub filled: u64,
    /// Fees this order paid so far, in smallest units of the market's quote asset.
    pub fees: u128,
    /// Current status.
    pub status: OrderStatus,
    /// Height of the block that placed it.
    pub height: u64,
    /// Position of the placing transaction in that block.
    pub position: u32,
    /// Height of the last change.
    pub updated_height: u64,
}

impl OrderSummary {
    /// The cursor that pages past this order.
    pub fn cursor(&self) -> OrderCursor {
        OrderCursor {
            height: self.height,
            position: self.position,
        }
    }
}

/// A trade with where it happened.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct TradeRecord {
    /// Height of the block.
    pub height: u64,
    /// Position of the taker's transaction in the block.
    pub position: u32,
    /// The fill.
    pub fill: Fill,
}

/// Page position in an account's order list: returns orders placed strictly before
/// (`height`, `position`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct OrderCursor {
    /// Placement height.
    pub height: u64,
    /// Placement position.
    pub position: u32,
}

/// Which of an account's orders to list.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderFilter {
    /// Every order, open or closed.
    #[default]
    All,
    /// Only orders resting on the book.
    Open,
}

/// One page of a newest-first list.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Page<T, C> {
    /// Items, newest first.
    pub items: Vec<T>,
    /// Pass this as the cursor to get the next (older) page; `None` on the last page.
    pub next_cursor: Option<C>,
}

/// What [`Executor::finalize`](crate::Executor::finalize) and
/// [`Executor::catch_up`](crate::Executor::catch_up) report for each block they apply.
#[derive(Clone, Debug)]
pub struct AppliedBlock {
    /// Height.
    pub height: u64,
    /// Block hash.
    pub hash: Hash,
    /// State root after the block.
    pub state_root: Hash,
    /// One receipt per transaction, with its events (for subscriptions).
    pub receipts: Vec<Receipt>,
    /// Time the engine took to execute the block (for metrics).
    pub execute_time: std::time::Duration,
    /// Time the RocksDB batch of the block took to build and write (for metrics).
    pub commit_time: std::time::Duration,
}
