//! What the engine tells the world: events for every accepted effect, typed rejection
//! reasons, and per-transaction receipts.

use bincode::{Decode, Encode};
use ledger_types::{
    Address, AssetId, ClientOrderId, Hash, MarketId, OrderId, OrderKind, Preimage, Side,
    TimeInForce, TxHash,
};
use serde::{Deserialize, Serialize};

/// Why an order left the book without trading (or an order's remainder was dropped).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpireReason {
    /// An IOC order's (or market order's) unfilled remainder.
    IocRemainder,
    /// Self-trade prevention removed it.
    SelfTrade,
    /// A market order ran out of the taker's balance before its quantity was filled.
    InsufficientBalance,
    /// A market order's protection price was reached.
    PriceBound,
    /// A good-till-height (GTD) order reached its height.
    GoodTill,
}

/// Why an order was cancelled.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// `CancelOrder` by its owner.
    User,
    /// `CancelAll` by its owner.
    CancelAll,
    /// The account's dead man's switch (`schedule_cancel`) fired.
    Scheduled,
}

/// One trade between a resting (maker) order and an incoming (taker) order.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Fill {
    /// Sequential trade id, unique per chain.
    pub trade_id: u64,
    /// Market.
    pub market: MarketId,
    /// Execution price in ticks (always the maker's price).
    pub price: u64,
    /// Quantity in lots.
    pub quantity: u64,
    /// Side of the taker (the maker is on the other side).
    pub taker_side: Side,
    /// Resting order.
    pub maker_order: OrderId,
    /// Resting order's client id.
    pub maker_client_order_id: Option<ClientOrderId>,
    /// Resting order's account.
    pub maker: Address,
    /// Incoming order.
    pub taker_order: OrderId,
    /// Incoming order's client id.
    pub taker_client_order_id: Option<ClientOrderId>,
    /// Incoming order's account.
    pub taker: Address,
    /// Fee the maker paid, in quote units.
    pub maker_fee: u128,
    /// Fee the taker paid, in quote units.
    pub taker_fee: u128,
    /// Lots left on the maker order after this fill.
    pub maker_remaining: u64,
    /// Lots left on the taker order after this fill.
    pub taker_remaining: u64,
}

/// An accepted effect.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// An order passed every check and is about to match (and possibly rest).
    OrderAccepted {
        /// Order id.
        order_id: OrderId,
        /// Client order id.
        client_order_id: Option<ClientOrderId>,
        /// Owner.
        account: Address,
        /// Market.
        market: MarketId,
        /// Side.
        side: Side,
        /// Kind.
        kind: OrderKind,
        /// Time in force.
        time_in_force: TimeInForce,
        /// Limit price in ticks (`None` for an unbounded market order).
        price: Option<u64>,
        /// Quantity in lots.
        quantity: u64,
    },
    /// A trade.
    Fill(Fill),
    /// The rest of an order now rests on the book.
    OrderRested {
        /// Order id.
        order_id: OrderId,
        /// Client order id.
        client_order_id: Option<ClientOrderId>,
        /// Owner.
        account: Address,
        /// Market.
        market: MarketId,
        /// Side.
        side: Side,
        /// Price in ticks.
        price: u64,
        /// Lots resting.
        remaining: u64,
    },
    /// An order was cancelled by its owner.
    OrderCancelled {
        /// Order id.
        order_id: OrderId,
        /// Client order id.
        client_order_id: Option<ClientOrderId>,
        /// Owner.
        account: Address,
        /// Market.
        market: MarketId,
        /// Lots that were still open.
        remaining: u64,
        /// Why.
        reason: CancelReason,
    },
    /// An order (or the rest of one) was dropped by the engine.
    OrderExpired {
        /// Order id.
        order_id: OrderId,
        /// Client order id.
        client_order_id: Option<ClientOrderId>,
        /// Owner.
        account: Address,
        /// Market.
        market: MarketId,
        /// Lots dropped.
        remaining: u64,
        /// Why.
        reason: ExpireReason,
    },
    /// Funds moved between accounts.
    Transferred {
        /// Sender.
        from: Address,
        /// Receiver.
        to: Address,
        /// Asset.
        asset: AssetId,
        /// Amount in the asset's smallest units.
        amount: u128,
    },
    /// An open order was amended (`amend_order`).
    OrderAmended {
        /// Order id.
        order_id: OrderId,
        /// Client order id.
        client_order_id: Option<ClientOrderId>,
        /// Owner.
        account: Address,
        /// Market.
        market: MarketId,
        /// Side.
        side: Side,
        /// The (new) price in ticks.
        price: u64,
        /// The (new) total quantity in lots.
        quantity: u64,
        /// Lots open after the amendment.
        remaining: u64,
        /// True if the order kept its place in the queue (same price, smaller size).
        priority_kept: bool,
    },
    /// The account's dead man's switch was armed, moved or cleared.
    CancelScheduled {
        /// The account.
        account: Address,
        /// The height at which its open orders will be cancelled; `None`: cleared.
        at_height: Option<u64>,
    },
    /// Every leg of a bundle filled and every net bound held (the legs' own events come
    /// before this one).
    BundleExecuted {
        /// The bundle's sender.
        account: Address,
        /// Number of legs.
        legs: u32,
        /// Change of the sender's total balance per asset it touched, in smallest units
        /// (fees included), by asset id.
        net: Vec<(AssetId, i128)>,
    },
    /// An amount was locked under a hashlock (the swap's id is the locking transaction's
    /// hash).
    SwapLocked {
        /// Swap id.
        swap_id: Hash,
        /// Who locked it (and may refund it from the timeout on).
        owner: Address,
        /// Who may claim it with the preimage.
        counterparty: Address,
        /// Asset.
        asset: AssetId,
        /// Amount in smallest units.
        amount: u128,
        /// `SHA-256(preimage)`.
        hashlock: Hash,
        /// First height at which the claim is refused and the refund allowed.
        timeout_height: u64,
    },
    /// The counterparty claimed a swap, revealing the preimage.
    SwapClaimed {
        /// Swap id.
        swap_id: Hash,
        /// Who locked it.
        owner: Address,
        /// Who claimed it (and received the amount).
        counterparty: Address,
        /// Asset.
        asset: AssetId,
        /// Amount in smallest units.
        amount: u128,
        /// The revealed secret.
        preimage: Preimage,
    },
    /// The owner took a swap back after its timeout.
    SwapRefunded {
        /// Swap id.
        swap_id: Hash,
        /// Who locked it (and received it back).
        owner: Address,
        /// Who could have claimed it.
        counterparty: Address,
        /// Asset.
        asset: AssetId,
        /// Amount in smallest units.
        amount: u128,
    },
}

impl Event {
    /// The market the event concerns, if any.
    pub fn market(&self) -> Option<MarketId> {
        match self {
            Event::OrderAccepted { market, .. }
            | Event::OrderRested { market, .. }
            | Event::OrderCancelled { market, .. }
            | Event::OrderExpired { market, .. }
            | Event::OrderAmended { market, .. } => Some(*market),
            Event::Fill(f) => Some(f.market),
            Event::Transferred { .. }
            | Event::CancelScheduled { .. }
            | Event::BundleExecuted { .. }
            | Event::SwapLocked { .. }
            | Event::SwapClaimed { .. }
            | Event::SwapRefunded { .. } => None,
        }
    }

    /// Every account the event concerns (one or two).
    pub fn accounts(&self) -> Vec<Address> {
        match self {
            Event::OrderAccepted { account, .. }
            | Event::OrderRested { account, .. }
            | Event::OrderCancelled { account, .. }
            | Event::OrderExpired { account, .. }
            | Event::OrderAmended { account, .. }
            | Event::CancelScheduled { account, .. } => vec![*account],
            Event::Fill(f) if f.maker == f.taker => vec![f.maker],
            Event::Fill(f) => vec![f.maker, f.taker],
            Event::Transferred { from, to, .. } => vec![*from, *to],
            Event::BundleExecuted { account, .. } => vec![*account],
            Event::SwapLocked {
                owner,
                counterparty,
                ..
            }
            | Event::SwapClaimed {
                owner,
                counterparty,
                ..
            }
            | Event::SwapRefunded {
                owner,
                counterparty,
                ..
            } => vec![*owner, *counterparty],
        }
    }
}

/// Why a transaction was rejected. A rejection for a wrong chain id or nonce has no
/// effect at all; any other rejection consumes the nonce (the transaction was executed
/// and failed) but changes nothing else.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Rejection {
    /// The transaction names another chain.
    #[error("transaction is for chain {got:?}, this chain is {expected:?}")]
    WrongChainId {
        /// This chain.
        expected: String,
        /// The transaction's.
        got: String,
    },
    /// The nonce was already used.
    #[error("nonce {got} already used; next nonce is {expected}")]
    NonceReplayed {
        /// Next expected nonce.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The nonce skips ahead.
    #[error("nonce {got} is ahead; next nonce is {expected}")]
    NonceTooHigh {
        /// Next expected nonce.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// No such market.
    #[error("unknown market {0:?}")]
    UnknownMarket(MarketId),
    /// No such asset.
    #[error("unknown asset {0:?}")]
    UnknownAsset(AssetId),
    /// A limit order needs a price.
    #[error("a limit order needs a price")]
    MissingPrice,
    /// The price is not a positive multiple of the tick size.
    #[error("price is not a positive multiple of the market's tick size")]
    InvalidPrice,
    /// The quantity is not a positive multiple of the lot size.
    #[error("quantity is not a positive multiple of the market's lot size")]
    InvalidQuantity,
    /// The quantity is below the market's minimum.
    #[error("quantity below the market's minimum size ({min_lots} lots)")]
    BelowMinSize {
        /// The minimum in lots.
        min_lots: u64,
    },
    /// Market orders must be IOC or FOK.
    #[error("market orders must be IOC or FOK")]
    InvalidTimeInForce,
    /// Not enough free balance.
    #[error(
        "insufficient balance of asset {asset:?}: need {needed}, have {available} (smallest units)"
    )]
    InsufficientBalance {
        /// Asset.
        asset: AssetId,
        /// Needed, in smallest units.
        needed: u128,
        /// Free, in smallest units.
        available: u128,
    },
    /// A post-only order would have traded on arrival.
    #[error("post-only order would cross the book")]
    PostOnlyWouldCross,
    /// A fill-or-kill order cannot be filled completely now.
    #[error("fill-or-kill order cannot be filled completely")]
    FillOrKillUnfilled,
    /// A market order found nothing to trade against.
    #[error("no liquidity on the other side of the book")]
    NoLiquidity,
    /// The account already has an open order with this client order id.
    #[error("client order id already used by an open order")]
    DuplicateClientOrderId,
    /// No open order of the sender matches.
    #[error("no open order of this account matches")]
    OrderNotFound,
    /// The account has too many open orders.
    #[error("too many open orders (limit {limit})")]
    TooManyOpenOrders {
        /// The limit.
        limit: u32,
    },
    /// The amount is zero or not a multiple of the asset's smallest unit.
    #[error("amount must be positive with at most the asset's decimals")]
    InvalidAmount,
    /// A transfer to oneself.
    #[error("cannot transfer to the sending account")]
    SelfTransfer,
    /// A value does not fit the engine's integer range.
    #[error("amount too large")]
    Overflow,
    /// The block is above the transaction's `valid_until_height` (no effect: the nonce
    /// is not used).
    #[error(
        "transaction expired: valid until height {valid_until_height}, block height is {height}"
    )]
    TxExpired {
        /// The transaction's last valid height.
        valid_until_height: u64,
        /// The height of the block that tried to execute it.
        height: u64,
    },
    /// A batch without actions.
    #[error("a batch needs at least one action")]
    EmptyBatch,
    /// A batch with more actions than allowed.
    #[error("a batch holds at most {max} actions, got {got}")]
    BatchTooLarge {
        /// The limit.
        max: u32,
        /// The batch's.
        got: u32,
    },
    /// A good-till height below the current block height.
    #[error("good-till height {good_till_height} is below the block height {height}")]
    GoodTillInPast {
        /// The order's good-till height.
        good_till_height: u64,
        /// The block height.
        height: u64,
    },
    /// An amendment without a new price or quantity.
    #[error("an amendment needs a new price or a new quantity")]
    EmptyAmend,
    /// An amendment's new quantity does not exceed what already filled.
    #[error("new quantity must exceed the {filled_lots} lots already filled")]
    AmendBelowFilled {
        /// Lots already filled.
        filled_lots: u64,
    },
    /// An amendment's new price would trade against the book (amendments never trade).
    #[error("the new price would cross the book; an amendment never trades")]
    AmendWouldCross,
    /// A schedule-cancel height that is not above the current block height.
    #[error("schedule-cancel height {at_height} is not above the block height {height}")]
    ScheduleNotInFuture {
        /// The requested height.
        at_height: u64,
        /// The block height.
        height: u64,
    },
    /// A bundle is malformed regardless of chain state (leg count, time in force, a
    /// non-positive price or quantity, net bounds); `detail` says which rule.
    #[error("malformed bundle: {detail}")]
    InvalidBundle {
        /// Which rule it breaks.
        detail: String,
    },
    /// A bundle leg was refused as an order would be; nothing of the bundle happened.
    #[error("bundle leg {leg} refused: {cause}")]
    BundleLegFailed {
        /// Index of the leg (from 0).
        leg: u32,
        /// Why, as for a single order.
        cause: Box<Rejection>,
    },
    /// A bundle leg could not fill completely; nothing of the bundle happened.
    #[error("bundle leg {leg} filled {filled} of {quantity} lots")]
    BundleLegUnfilled {
        /// Index of the leg (from 0).
        leg: u32,
        /// Lots it could fill.
        filled: u64,
        /// Lots it asked for.
        quantity: u64,
    },
    /// A net bound of the bundle failed; nothing of the bundle happened.
    #[error("bundle would end with a net of {net} smallest units of asset {asset:?}, below the minimum {min}")]
    BundleNetBelowMinimum {
        /// The asset.
        asset: AssetId,
        /// The sender's change of balance the legs would cause, in smallest units.
        net: i128,
        /// The bound, in smallest units.
        min: i128,
    },
    /// No open swap has this id.
    #[error("no open swap with this id")]
    SwapNotFound,
    /// Only the swap's counterparty may claim it.
    #[error("only the swap's counterparty may claim it")]
    SwapNotCounterparty,
    /// Only the swap's owner may refund it.
    #[error("only the swap's owner may refund it")]
    SwapNotOwner,
    /// SHA-256 of the preimage is not the swap's hashlock.
    #[error("the preimage does not hash to the swap's hashlock")]
    WrongPreimage,
    /// The claim comes at or after the timeout height.
    #[error("swap timed out at height {timeout_height}; this block is at height {height}")]
    SwapExpired {
        /// The swap's timeout height.
        timeout_height: u64,
        /// The height of the executing block.
        height: u64,
    },
    /// The refund comes before the timeout height.
    #[error("swap can be refunded from height {timeout_height}; this block is at height {height}")]
    SwapNotExpired {
        /// The swap's timeout height.
        timeout_height: u64,
        /// The height of the executing block.
        height: u64,
    },
    /// The timeout height is not above the executing block or too far ahead.
    #[error("timeout height {timeout_height} must be above {height} and at most {max_ahead} blocks ahead")]
    InvalidSwapTimeout {
        /// The requested timeout height.
        timeout_height: u64,
        /// The height of the executing block.
        height: u64,
        /// The longest accepted timeout, in blocks.
        max_ahead: u64,
    },
    /// The account has too many open swaps.
    #[error("too many open swaps (limit {limit})")]
    TooManySwaps {
        /// The limit.
        limit: u32,
    },
}

impl Rejection {
    /// A stable snake_case name for the reason (used in RPC errors and receipts).
    pub fn code_name(&self) -> &'static str {
        match self {
            Rejection::WrongChainId { .. } => "wrong_chain_id",
            Rejection::NonceReplayed { .. } => "nonce_replayed",
            Rejection::NonceTooHigh { .. } => "nonce_too_high",
            Rejection::UnknownMarket(_) => "unknown_market",
            Rejection::UnknownAsset(_) => "unknown_asset",
            Rejection::MissingPrice => "missing_price",
            Rejection::InvalidPrice => "invalid_price",
            Rejection::InvalidQuantity => "invalid_quantity",
            Rejection::BelowMinSize { .. } => "below_min_size",
            Rejection::InvalidTimeInForce => "invalid_time_in_force",
            Rejection::InsufficientBalance { .. } => "insufficient_balance",
            Rejection::PostOnlyWouldCross => "post_only_would_cross",
            Rejection::FillOrKillUnfilled => "fill_or_kill_unfilled",
            Rejection::NoLiquidity => "no_liquidity",
            Rejection::DuplicateClientOrderId => "duplicate_client_order_id",
            Rejection::OrderNotFound => "order_not_found",
            Rejection::TooManyOpenOrders { .. } => "too_many_open_orders",
            Rejection::InvalidAmount => "invalid_amount",
            Rejection::SelfTransfer => "self_transfer",
            Rejection::Overflow => "overflow",
            Rejection::TxExpired { .. } => "tx_expired",
            Rejection::EmptyBatch => "empty_batch",
            Rejection::BatchTooLarge { .. } => "batch_too_large",
            Rejection::GoodTillInPast { .. } => "good_till_in_past",
            Rejection::EmptyAmend => "empty_amend",
            Rejection::AmendBelowFilled { .. } => "amend_below_filled",
            Rejection::AmendWouldCross => "amend_would_cross",
            Rejection::ScheduleNotInFuture { .. } => "schedule_not_in_future",
            Rejection::InvalidBundle { .. } => "invalid_bundle",
            Rejection::BundleLegFailed { .. } => "bundle_leg_failed",
            Rejection::BundleLegUnfilled { .. } => "bundle_leg_unfilled",
            Rejection::BundleNetBelowMinimum { .. } => "bundle_net_below_minimum",
            Rejection::SwapNotFound => "swap_not_found",
            Rejection::SwapNotCounterparty => "swap_not_counterparty",
            Rejection::SwapNotOwner => "swap_not_owner",
            Rejection::WrongPreimage => "wrong_preimage",
            Rejection::SwapExpired { .. } => "swap_expired",
            Rejection::SwapNotExpired { .. } => "swap_not_expired",
            Rejection::InvalidSwapTimeout { .. } => "invalid_swap_timeout",
            Rejection::TooManySwaps { .. } => "too_many_swaps",
        }
    }

    /// True if the rejection left the nonce unconsumed (wrong chain, nonce or expired).
    pub fn is_stateless(&self) -> bool {
        matches!(
            self,
            Rejection::WrongChainId { .. }
                | Rejection::NonceReplayed { .. }
                | Rejection::NonceTooHigh { .. }
                | Rejection::TxExpired { .. }
        )
    }
}

/// The outcome of one transaction in a block.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Receipt {
    /// Transaction id.
    pub tx_hash: TxHash,
    /// Sender.
    pub sender: Address,
    /// `Ok` if executed, or why it was rejected.
    pub result: Result<(), Rejection>,
    /// The events it caused, in order.
    pub events: Vec<Event>,
    /// For a batch whose envelope was accepted: one result per action, in order (empty
    /// for every other transaction).
    pub actions: Vec<Result<(), Rejection>>,
}
