//! The typed values the store keeps besides blocks and engine records, and what its
//! read API returns.

use bincode::{Decode, Encode};
use ledger_engine::{CancelReason, Event, ExpireReason, Fill, Receipt, Rejection};
use ledger_types::{
    Address, AssetId, Block, ClientOrderId, Hash, MarketId, OrderId, OrderKind, Side, TimeInForce,
    TxHash,
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
    /// For a batch: one result per action, in order (empty for other transactions).
    pub actions: Vec<Result<(), Rejection>>,
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
    /// The block's timestamp (proposer's or miner's clock), ms since the Unix epoch.
    pub time_ms: u64,
    /// The fill.
    pub fill: Fill,
}

/// A transfer in an account's history (both sides list it).
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct TransferRecord {
    /// Height of the block.
    pub height: u64,
    /// Position of the transaction in the block.
    pub position: u32,
    /// The block's timestamp, ms since the Unix epoch.
    pub time_ms: u64,
    /// The transaction.
    pub tx_hash: TxHash,
    /// Sender.
    pub from: Address,
    /// Receiver.
    pub to: Address,
    /// Asset.
    pub asset: AssetId,
    /// Amount in the asset's smallest units.
    pub amount: u128,
}

/// A transaction in an account's history: where it is (look it up with
/// [`ChainStore::tx`](crate::ChainStore::tx)).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AccountTxRef {
    /// Height of the block.
    pub height: u64,
    /// Position in the block.
    pub position: u32,
    /// The transaction.
    pub tx_hash: TxHash,
}

/// Page position in an account's transactions or transfers: returns entries strictly
/// before (`height`, `position`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct HistoryCursor {
    /// Height.
    pub height: u64,
    /// Position.
    pub position: u32,
}

/// A candle's interval: in wall-clock time (from the blocks' timestamps) or in blocks.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub enum CandleInterval {
    /// One minute.
    #[serde(rename = "1m")]
    M1,
    /// Five minutes.
    #[serde(rename = "5m")]
    M5,
    /// Fifteen minutes.
    #[serde(rename = "15m")]
    M15,
    /// One hour.
    #[serde(rename = "1h")]
    H1,
    /// Four hours.
    #[serde(rename = "4h")]
    H4,
    /// One day (UTC).
    #[serde(rename = "1d")]
    D1,
    /// Ten blocks.
    #[serde(rename = "10b")]
    B10,
    /// One hundred blocks.
    #[serde(rename = "100b")]
    B100,
    /// One thousand blocks.
    #[serde(rename = "1000b")]
    B1000,
}

impl CandleInterval {
    /// Every interval, in a fixed order.
    pub const ALL: [CandleInterval; 9] = [
        CandleInterval::M1,
        CandleInterval::M5,
        CandleInterval::M15,
        CandleInterval::H1,
        CandleInterval::H4,
        CandleInterval::D1,
        CandleInterval::B10,
        CandleInterval::B100,
        CandleInterval::B1000,
    ];

    /// The wire name (`1m`, ..., `1000b`).
    pub fn name(self) -> &'static str {
        match self {
            CandleInterval::M1 => "1m",
            CandleInterval::M5 => "5m",
            CandleInterval::M15 => "15m",
            CandleInterval::H1 => "1h",
            CandleInterval::H4 => "4h",
            CandleInterval::D1 => "1d",
            CandleInterval::B10 => "10b",
            CandleInterval::B100 => "100b",
            CandleInterval::B1000 => "1000b",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<CandleInterval> {
        CandleInterval::ALL.into_iter().find(|i| i.name() == s)
    }

    /// The key byte in the `candles` column family.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// True for intervals counted in blocks.
    pub fn in_blocks(self) -> bool {
        matches!(
            self,
            CandleInterval::B10 | CandleInterval::B100 | CandleInterval::B1000
        )
    }

    /// Length: milliseconds for time intervals, blocks for block intervals.
    pub fn length(self) -> u64 {
        match self {
            CandleInterval::M1 => 60_000,
            CandleInterval::M5 => 300_000,
            CandleInterval::M15 => 900_000,
            CandleInterval::H1 => 3_600_000,
            CandleInterval::H4 => 14_400_000,
            CandleInterval::D1 => 86_400_000,
            CandleInterval::B10 => 10,
            CandleInterval::B100 => 100,
            CandleInterval::B1000 => 1_000,
        }
    }

    /// The start of the bucket holding a block at `height` with timestamp `time_ms`:
    /// a time in ms for time intervals, a height for block intervals.
    pub fn bucket(self, height: u64, time_ms: u64) -> u64 {
        let x = if self.in_blocks() { height } else { time_ms };
        x - x % self.length()
    }
}

/// OHLCV of one market over one interval, in engine units (ticks, lots, quote units).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Candle {
    /// Bucket start: a time in ms or a height (see [`CandleInterval::bucket`]).
    pub start: u64,
    /// First trade's price (ticks).
    pub open: u64,
    /// Highest price.
    pub high: u64,
    /// Lowest price.
    pub low: u64,
    /// Last trade's price.
    pub close: u64,
    /// Base volume in lots.
    pub volume: u64,
    /// Quote volume in the quote asset's smallest units.
    pub quote_volume: u128,
    /// Number of trades.
    pub trades: u64,
    /// First trade id in the bucket.
    pub first_trade_id: u64,
    /// Last trade id in the bucket.
    pub last_trade_id: u64,
}

impl Candle {
    /// A candle of one trade.
    pub fn new(start: u64, f: &Fill, quote: u128) -> Candle {
        Candle {
            start,
            open: f.price,
            high: f.price,
            low: f.price,
            close: f.price,
            volume: f.quantity,
            quote_volume: quote,
            trades: 1,
            first_trade_id: f.trade_id,
            last_trade_id: f.trade_id,
        }
    }

    /// Adds a later trade.
    pub fn add(&mut self, f: &Fill, quote: u128) {
        self.high = self.high.max(f.price);
        self.low = self.low.min(f.price);
        self.close = f.price;
        self.volume = self.volume.saturating_add(f.quantity);
        self.quote_volume = self.quote_volume.saturating_add(quote);
        self.trades += 1;
        self.last_trade_id = f.trade_id;
    }

    /// Merges a later candle (for rolling windows).
    pub fn merge(&mut self, later: &Candle) {
        self.high = self.high.max(later.high);
        self.low = self.low.min(later.low);
        self.close = later.close;
        self.volume = self.volume.saturating_add(later.volume);
        self.quote_volume = self.quote_volume.saturating_add(later.quote_volume);
        self.trades += later.trades;
        self.last_trade_id = later.last_trade_id;
    }
}

/// Rolling statistics of a market over the 24 hours before its last block (by block
/// timestamps), from the one-minute candles.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MarketStats {
    /// Window start (ms), inclusive: 24 h before `to_ms`, rounded down to a minute.
    pub from_ms: u64,
    /// Window end (ms): the timestamp of the last applied block.
    pub to_ms: u64,
    /// OHLCV over the window; `None` without trades.
    pub candle: Option<Candle>,
    /// The market's last trade, at any time.
    pub last_trade: Option<(u64, u64)>,
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
    /// What the engine did at the start of the block (good-till expiries, scheduled
    /// cancels), before any transaction.
    pub block_events: Vec<Event>,
    /// The block's timestamp, ms since the Unix epoch.
    pub time_ms: u64,
}
