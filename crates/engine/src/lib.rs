//! The deterministic matching engine every node runs on finalized blocks.
//!
//! Limit order books with price-time priority per market, accounts with free and
//! locked balances per asset, maker and taker fees, self-trade prevention, and an
//! incrementally updated state root. Pure: no I/O, clock, randomness or hash-map
//! iteration, so the same transactions always produce the same state and root. See
//! [`Engine`] for the rules.

pub mod engine;
pub mod events;
pub mod fasthash;
pub mod market;
pub mod root;
pub mod state;

pub use engine::swap::{MAX_OPEN_SWAPS_PER_ACCOUNT, MAX_SWAP_TIMEOUT_BLOCKS};
pub use engine::{BlockOutcome, Engine, RestoreError};
pub use events::{CancelReason, Event, ExpireReason, Fill, Receipt, Rejection};
pub use market::{fee, MarketConfig};
pub use state::{
    AccountRecord, Balance, ChangeSet, Counters, Depth, EngineState, LevelView, OrderRecord,
    SwapRecord,
};
