//! Column families and key encodings.
//!
//! Integers in keys are big-endian so that byte order is numeric order and a reverse
//! scan walks newest first. Every value is the canonical `ledger_types::codec` encoding
//! of the type named below (the genesis document is its JSON, whose hash is the genesis
//! hash).
//!
//! | column family    | key                                        | value |
//! |------------------|--------------------------------------------|-------|
//! | `meta`           | `schema_version`                           | `u32` |
//! |                  | `genesis_hash`                             | `Hash` |
//! |                  | `genesis`                                  | genesis JSON bytes |
//! |                  | `final_height`                             | `u64` |
//! |                  | `applied_height`                           | `u64` |
//! | `blocks`         | block hash (32)                            | `Block` |
//! | `final`          | height (8)                                 | [`FinalRecord`](crate::FinalRecord) (hash + certificate) |
//! | `roots`          | height (8)                                 | `Hash` (state root after the block) |
//! | `consensus`      | opaque bytes chosen by the consensus driver | opaque bytes |
//! | `state`          | `a` + address (33)                         | `AccountRecord` |
//! |                  | `o` + order id (33)                        | `OrderRecord` (resting order) |
//! |                  | `s` + swap id (33)                         | `SwapRecord` (open hashlock swap) |
//! |                  | `c` (1)                                    | `Counters` |
//! | `tx_index`       | tx hash (32)                               | [`TxRecord`](crate::TxRecord) |
//! | `order_index`    | order id (32)                              | [`OrderSummary`](crate::OrderSummary) |
//! | `account_orders` | `a` + address + height (8) + position (4)  | order id (every order, newest last) |
//! |                  | `o` + address + height (8) + position (4)  | order id (open orders only) |
//! | `trades`         | market (4) + trade id (8)                  | [`TradeRecord`](crate::TradeRecord) |
//! | `account_history`| `f` + address + trade id (8)               | market id (`u32`): the account's fills |
//! |                  | `t` + address + height (8) + position (4)  | [`TransferRecord`](crate::TransferRecord) (sent or received) |
//! |                  | `x` + address + height (8) + position (4)  | tx hash (sent, or a transfer received) |
//! | `candles`        | market (4) + interval (1) + bucket start (8) | [`Candle`](crate::Candle) |
//! | `swaps`          | `s` + swap id (33)                         | [`SwapSummary`](crate::SwapSummary) (every swap, open or ended) |
//! |                  | `a` + address + height (8) + position (4)  | swap id (the swaps an account owns or may claim, by lock) |
//! | `account_orders` | (bundle legs) `a` + address + height + position + leg (4) | order id |
//!
//! # Completeness markers
//!
//! Every column family in [`MARKED`] also holds a marker key
//! [`MARKER_PREFIX`] + height (8), empty value, written in the same batch as the block
//! whose height it names, and the batch deletes the marker of the height before. Healthy,
//! the column family holds exactly one marker: the height it is complete to (the final
//! height for `blocks` and `final`, the applied height for the others). RocksDB loses
//! data per column family (a cut MANIFEST drops one family's flushed files, a damaged
//! write-ahead log drops a tail); a family that lost writes and then replayed later
//! ones keeps the old marker whose deletion was lost, so two markers (or a marker below
//! the height) say exactly which height it is complete to. See
//! [`ChainStore::check_markers`](crate::ChainStore::check_markers).

use ledger_types::{Address, Hash, MarketId};

/// Version of this layout. Bump it on any incompatible change; a node refuses a
/// directory with another version.
pub const SCHEMA_VERSION: u32 = 3;

/// A column family.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Cf {
    /// Schema version, genesis, heights.
    Meta,
    /// Every known block, final or not, by hash.
    Blocks,
    /// Final height to block hash and finality certificate.
    Final,
    /// State root per applied height.
    Roots,
    /// Opaque consensus data (votes, notarizations, the node's own last vote).
    Consensus,
    /// Ledger state: accounts, resting orders, counters.
    State,
    /// Transaction hash to height, position and result.
    TxIndex,
    /// Order id to the order's history summary.
    OrderIndex,
    /// Account to its orders (all, and open), by placement height and position.
    AccountOrders,
    /// Trades by market and trade id.
    Trades,
    /// Per account: fills, transfers and transactions, newest last.
    AccountHistory,
    /// OHLCV candles by market, interval and bucket.
    Candles,
    /// Hashlock swaps by id, and each account's swaps by lock height.
    Swaps,
}

impl Cf {
    /// Every column family, in a fixed order.
    pub const ALL: [Cf; 13] = [
        Cf::Meta,
        Cf::Blocks,
        Cf::Final,
        Cf::Roots,
        Cf::Consensus,
        Cf::State,
        Cf::TxIndex,
        Cf::OrderIndex,
        Cf::AccountOrders,
        Cf::Trades,
        Cf::AccountHistory,
        Cf::Candles,
        Cf::Swaps,
    ];

    /// The column family's name in RocksDB.
    pub const fn name(self) -> &'static str {
        match self {
            Cf::Meta => "meta",
            Cf::Blocks => "blocks",
            Cf::Final => "final",
            Cf::Roots => "roots",
            Cf::Consensus => "consensus",
            Cf::State => "state",
            Cf::TxIndex => "tx_index",
            Cf::OrderIndex => "order_index",
            Cf::AccountOrders => "account_orders",
            Cf::Trades => "trades",
            Cf::AccountHistory => "account_history",
            Cf::Candles => "candles",
            Cf::Swaps => "swaps",
        }
    }

    /// Position in [`Cf::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// The query indexes: records derived from the executed blocks that only answer queries
/// (transactions, orders, trades, account history, candles, swaps). A node may keep none
/// of them ([`StoreOptions::indexes`](crate::StoreOptions::indexes)); consensus and
/// execution never read them.
pub const INDEXES: [Cf; 7] = [
    Cf::TxIndex,
    Cf::OrderIndex,
    Cf::AccountOrders,
    Cf::Trades,
    Cf::AccountHistory,
    Cf::Candles,
    Cf::Swaps,
];

impl Cf {
    /// True for a query index (see [`INDEXES`]).
    pub fn is_index(self) -> bool {
        INDEXES.contains(&self)
    }
}

/// Column families that carry completeness markers, with what they are complete to.
pub const MARKED: [(Cf, MarkerOf); 9] = [
    (Cf::Blocks, MarkerOf::Final),
    (Cf::Final, MarkerOf::Final),
    (Cf::Roots, MarkerOf::Applied),
    (Cf::TxIndex, MarkerOf::Applied),
    (Cf::OrderIndex, MarkerOf::Applied),
    (Cf::AccountOrders, MarkerOf::Applied),
    (Cf::Trades, MarkerOf::Applied),
    (Cf::AccountHistory, MarkerOf::Applied),
    (Cf::Candles, MarkerOf::Applied),
];

/// Which height a marked column family must be complete to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MarkerOf {
    /// The final height (blocks and final markers: written when a block becomes final).
    Final,
    /// The applied height (written when a block is executed; rebuildable from blocks).
    Applied,
}

/// Prefix of a completeness marker key. No data key of a marked column family starts
/// with it: hashes and ids would need 16 leading `0xff` bytes, tagged keys start with a
/// letter, trade and candle keys with a market id (at most `u32::MAX`, then an id).
pub const MARKER_PREFIX: &[u8; 16] = b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff#cmp";

/// A completeness marker key.
pub fn marker_key(height: u64) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..16].copy_from_slice(MARKER_PREFIX);
    k[16..].copy_from_slice(&height.to_be_bytes());
    k
}

/// The height of a marker key, `None` if `key` is not one.
pub fn parse_marker(key: &[u8]) -> Option<u64> {
    if key.len() == 24 && key.starts_with(MARKER_PREFIX) {
        parse_height(&key[16..])
    } else {
        None
    }
}

/// True if `key` is a completeness marker (data scans skip it).
pub fn is_marker(key: &[u8]) -> bool {
    key.starts_with(MARKER_PREFIX)
}

/// Keys of the `meta` column family.
pub mod meta {
    /// Schema version (`u32`).
    pub const SCHEMA_VERSION: &[u8] = b"schema_version";
    /// Genesis hash (`Hash`).
    pub const GENESIS_HASH: &[u8] = b"genesis_hash";
    /// Genesis document (JSON).
    pub const GENESIS: &[u8] = b"genesis";
    /// Highest final height (`u64`).
    pub const FINAL_HEIGHT: &[u8] = b"final_height";
    /// Highest applied height (`u64`).
    pub const APPLIED_HEIGHT: &[u8] = b"applied_height";
}

/// Tag of account records in `state`.
pub const STATE_ACCOUNT: u8 = b'a';
/// Tag of resting orders in `state`.
pub const STATE_ORDER: u8 = b'o';
/// Tag of open swaps in `state`.
pub const STATE_SWAP: u8 = b's';
/// Tag of swap summaries in `swaps`.
pub const SWAP_SUMMARY: u8 = b's';
/// Tag of the per-account swap lists in `swaps`.
pub const SWAP_ACCOUNT: u8 = b'a';
/// Key of the counters in `state`.
pub const STATE_COUNTERS: &[u8] = b"c";
/// Tag of the all-orders list in `account_orders`.
pub const ACCOUNT_ALL: u8 = b'a';
/// Tag of the open-orders list in `account_orders`.
pub const ACCOUNT_OPEN: u8 = b'o';

/// Tag of an account's fills in `account_history`.
pub const HISTORY_FILL: u8 = b'f';
/// Tag of an account's transfers in `account_history`.
pub const HISTORY_TRANSFER: u8 = b't';
/// Tag of an account's transactions in `account_history`.
pub const HISTORY_TX: u8 = b'x';

/// `account_history` key of a fill.
pub fn history_fill_key(account: &Address, trade_id: u64) -> [u8; 41] {
    let mut k = [0u8; 41];
    k[..33].copy_from_slice(&tagged32(HISTORY_FILL, &account.0));
    k[33..].copy_from_slice(&trade_id.to_be_bytes());
    k
}

/// `account_history` key of a transfer or transaction (`tag`) at a block position.
pub fn history_key(tag: u8, account: &Address, height: u64, position: u32) -> [u8; 45] {
    account_order_key(tag, account, height, position)
}

/// The `account_history` prefix of one account's list.
pub fn history_prefix(tag: u8, account: &Address) -> [u8; 33] {
    tagged32(tag, &account.0)
}

/// `candles` key.
pub fn candle_key(market: MarketId, interval: u8, start: u64) -> [u8; 13] {
    let mut k = [0u8; 13];
    k[..4].copy_from_slice(&market.0.to_be_bytes());
    k[4] = interval;
    k[5..].copy_from_slice(&start.to_be_bytes());
    k
}

/// A height key.
pub fn height_key(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

/// Parses a height key.
pub fn parse_height(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.try_into().ok()?))
}

/// `state` key of an account.
pub fn account_key(address: &Address) -> [u8; 33] {
    tagged32(STATE_ACCOUNT, &address.0)
}

/// `state` key of a resting order.
pub fn order_key(id: &Hash) -> [u8; 33] {
    tagged32(STATE_ORDER, &id.0)
}

/// `state` key of an open swap.
pub fn swap_state_key(id: &Hash) -> [u8; 33] {
    tagged32(STATE_SWAP, &id.0)
}

/// `swaps` key of a swap's summary.
pub fn swap_summary_key(id: &Hash) -> [u8; 33] {
    tagged32(SWAP_SUMMARY, &id.0)
}

/// `swaps` key of an account's entry for the swap locked at (`height`, `position`).
pub fn account_swap_key(account: &Address, height: u64, position: u32) -> [u8; 45] {
    account_order_key(SWAP_ACCOUNT, account, height, position)
}

fn tagged32(tag: u8, bytes: &[u8; 32]) -> [u8; 33] {
    let mut k = [0u8; 33];
    k[0] = tag;
    k[1..].copy_from_slice(bytes);
    k
}

/// `account_orders` key: tag, account, placement height and position.
pub fn account_order_key(tag: u8, account: &Address, height: u64, position: u32) -> [u8; 45] {
    let mut k = [0u8; 45];
    k[0] = tag;
    k[1..33].copy_from_slice(&account.0);
    k[33..41].copy_from_slice(&height.to_be_bytes());
    k[41..45].copy_from_slice(&position.to_be_bytes());
    k
}

/// The `account_orders` prefix of one account's list.
pub fn account_orders_prefix(tag: u8, account: &Address) -> [u8; 33] {
    tagged32(tag, &account.0)
}

/// `trades` key.
pub fn trade_key(market: MarketId, trade_id: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&market.0.to_be_bytes());
    k[4..].copy_from_slice(&trade_id.to_be_bytes());
    k
}

/// The smallest key strictly greater than every key starting with `prefix`, or `None`
/// if there is none (the prefix is all `0xff`).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// A key for error messages: a height, a hash or hex.
pub fn describe_key(cf: Cf, key: &[u8]) -> String {
    match (cf, key.len()) {
        (Cf::Final | Cf::Roots, 8) => format!("height {}", parse_height(key).unwrap_or(0)),
        (Cf::Meta, _) => String::from_utf8_lossy(key).into_owned(),
        (Cf::State, 33) if key[0] == STATE_ACCOUNT => format!("account {}", hex::encode(&key[1..])),
        (Cf::State, 33) if key[0] == STATE_ORDER => format!("order {}", hex::encode(&key[1..])),
        (Cf::State | Cf::Swaps, 33) if key[0] == STATE_SWAP => {
            format!("swap {}", hex::encode(&key[1..]))
        }
        (Cf::State, 1) if key == STATE_COUNTERS => "counters".into(),
        _ => hex::encode(key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_is_the_next_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
    }

    #[test]
    fn big_endian_keys_sort_numerically() {
        assert!(height_key(255) < height_key(256));
        assert!(trade_key(MarketId(0), u64::MAX) < trade_key(MarketId(1), 0));
        let a = Address::default();
        assert!(
            account_order_key(ACCOUNT_ALL, &a, 1, 9) < account_order_key(ACCOUNT_ALL, &a, 2, 0)
        );
    }

    #[test]
    fn cf_indices_match_all() {
        for (i, cf) in Cf::ALL.iter().enumerate() {
            assert_eq!(cf.index(), i);
        }
    }
}
