//! The genesis document: chain id, assets, markets, initial balances, validators and
//! consensus parameters. Loaded from TOML (see `config/genesis.toml`) and validated with
//! errors that name the offending field.

use crate::block::{Block, ConsensusHeader};
use crate::crypto::{Address, PublicKey};
use crate::decimal::{to_steps, to_units};
use crate::hash::Hash;
use crate::tx::{AssetId, MarketId, MAX_CHAIN_ID_LEN};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

/// Largest number of decimals an asset may have.
pub const MAX_ASSET_DECIMALS: u32 = 18;
/// Largest total supply of one asset, in its smallest units (fits a 96-bit decimal).
pub const MAX_SUPPLY_UNITS: u128 = (1u128 << 96) - 1;

/// An asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetSpec {
    /// Ticker, for example `BTC`.
    pub symbol: String,
    /// Number of decimals of the smallest unit (`8` for BTC: 1 unit = 0.00000001).
    pub decimals: u32,
}

/// A spot market trading `base` against `quote`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketSpec {
    /// Base asset symbol (what is bought and sold).
    pub base: String,
    /// Quote asset symbol (what prices are in).
    pub quote: String,
    /// Price increment, in quote per base.
    #[serde(with = "rust_decimal::serde::str")]
    pub tick_size: Decimal,
    /// Quantity increment, in base.
    #[serde(with = "rust_decimal::serde::str")]
    pub lot_size: Decimal,
    /// Smallest order quantity, in base (a multiple of the lot size).
    #[serde(with = "rust_decimal::serde::str")]
    pub min_size: Decimal,
    /// Fee charged to the resting side of a fill, in basis points of the notional.
    pub maker_fee_bps: u32,
    /// Fee charged to the incoming side of a fill, in basis points of the notional.
    pub taker_fee_bps: u32,
}

impl MarketSpec {
    /// `BASE/QUOTE`.
    pub fn symbol(&self) -> String {
        format!("{}/{}", self.base, self.quote)
    }
}

/// A balance credited at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisBalance {
    /// Account credited.
    pub account: Address,
    /// Asset symbol.
    pub asset: String,
    /// Amount in whole units.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
}

/// A validator (Streamlet) or known miner (Nakamoto).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSpec {
    /// Human-readable name, for logs.
    pub name: String,
    /// ed25519 public key that signs its proposals and votes.
    pub public_key: PublicKey,
}

/// Streamlet parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamletParams {
    /// The network delay bound Δ in milliseconds; an epoch lasts 2Δ.
    #[serde(default = "default_delta_ms")]
    pub delta_ms: u64,
}

fn default_delta_ms() -> u64 {
    250
}

/// Nakamoto (proof-of-work) parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NakamotoParams {
    /// Target time between blocks, in milliseconds.
    #[serde(default = "default_block_ms")]
    pub target_block_ms: u64,
    /// Difficulty is retargeted every this many blocks.
    #[serde(default = "default_retarget")]
    pub retarget_interval: u64,
    /// A block is final when this many blocks are on top of it (k).
    #[serde(default = "default_depth")]
    pub finality_depth: u64,
    /// Expected number of header hashes needed per block at genesis.
    #[serde(default = "default_difficulty")]
    pub initial_difficulty: u64,
    /// A retarget changes difficulty by at most this factor (Bitcoin uses 4).
    #[serde(default = "default_retarget_factor")]
    pub max_retarget_factor: u64,
}

fn default_block_ms() -> u64 {
    1000
}
fn default_retarget() -> u64 {
    32
}
fn default_depth() -> u64 {
    6
}
fn default_difficulty() -> u64 {
    20_000
}
fn default_retarget_factor() -> u64 {
    4
}

/// Which consensus protocol the network runs, with its parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConsensusParams {
    /// Streamlet BFT.
    Streamlet(StreamletParams),
    /// Proof of work.
    Nakamoto(NakamotoParams),
}

impl ConsensusParams {
    /// `"streamlet"` or `"nakamoto"`.
    pub fn kind(&self) -> &'static str {
        match self {
            ConsensusParams::Streamlet(_) => "streamlet",
            ConsensusParams::Nakamoto(_) => "nakamoto",
        }
    }
}

/// Protocol-wide size limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most transactions in one block.
    #[serde(default = "default_block_txs")]
    pub max_block_txs: u32,
    /// Largest encoded block, in bytes (kept below the gossip message limit).
    #[serde(default = "default_block_bytes")]
    pub max_block_bytes: u64,
    /// Largest encoded signed transaction, in bytes.
    #[serde(default = "default_tx_bytes")]
    pub max_tx_bytes: u32,
    /// Most open orders one account may have across all markets.
    #[serde(default = "default_open_orders")]
    pub max_open_orders_per_account: u32,
}

fn default_block_txs() -> u32 {
    8_000
}
fn default_block_bytes() -> u64 {
    3 * 1024 * 1024
}
fn default_tx_bytes() -> u32 {
    // A batch of 32 orders (the most one transaction holds) is about 3 KiB.
    4096
}
fn default_open_orders() -> u32 {
    1_000
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_block_txs: default_block_txs(),
            max_block_bytes: default_block_bytes(),
            max_tx_bytes: default_tx_bytes(),
            max_open_orders_per_account: default_open_orders(),
        }
    }
}

/// The genesis document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Chain id: lowercase letters, digits, `-`, `_` and `.`, at most 64 bytes.
    pub chain_id: String,
    /// Genesis time in milliseconds since the Unix epoch (epoch 0 starts here).
    pub genesis_time_ms: u64,
    /// Account that receives trading fees.
    pub fee_account: Address,
    /// Consensus protocol and parameters.
    pub consensus: ConsensusParams,
    /// Size limits.
    #[serde(default)]
    pub limits: Limits,
    /// Assets; an asset's id is its index here.
    pub assets: Vec<AssetSpec>,
    /// Markets; a market's id is its index here.
    pub markets: Vec<MarketSpec>,
    /// Initial balances.
    #[serde(default)]
    pub balances: Vec<GenesisBalance>,
    /// Validators (Streamlet) or known miners (Nakamoto).
    #[serde(default)]
    pub validators: Vec<ValidatorSpec>,
}

/// Why a genesis document was refused.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// The file could not be read.
    #[error("cannot read genesis file {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML does not parse or does not match the schema.
    #[error("genesis file {path} is not valid: {message}")]
    Parse {
        /// The path.
        path: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A field has an invalid value.
    #[error("genesis field `{field}`: {message}")]
    Invalid {
        /// The field, for example `markets[1].tick_size`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> GenesisError {
    GenesisError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

impl Genesis {
    /// Reads, parses and validates a genesis TOML file.
    pub fn load(path: &Path) -> Result<Genesis, GenesisError> {
        let text = std::fs::read_to_string(path).map_err(|source| GenesisError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Genesis::from_toml(&text).map_err(|e| match e {
            GenesisError::Parse { message, .. } => GenesisError::Parse {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Parses and validates genesis TOML text.
    pub fn from_toml(text: &str) -> Result<Genesis, GenesisError> {
        let mut g: Genesis = toml::from_str(text).map_err(|e| GenesisError::Parse {
            path: "<string>".into(),
            message: e.to_string(),
        })?;
        g.normalize();
        g.validate()?;
        Ok(g)
    }

    /// The genesis as commented-free TOML (for writing generated genesis files).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    fn normalize(&mut self) {
        for m in &mut self.markets {
            m.tick_size = m.tick_size.normalize();
            m.lot_size = m.lot_size.normalize();
            m.min_size = m.min_size.normalize();
        }
        for b in &mut self.balances {
            b.amount = b.amount.normalize();
        }
    }

    /// Checks every rule; the error names the first offending field.
    pub fn validate(&self) -> Result<(), GenesisError> {
        let id = &self.chain_id;
        if id.is_empty()
            || id.len() > MAX_CHAIN_ID_LEN
            || !id
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"-_.".contains(&c))
        {
            return Err(invalid(
                "chain_id",
                "must be 1 to 64 characters of a-z, 0-9, '-', '_' or '.'",
            ));
        }
        if self.assets.is_empty() {
            return Err(invalid("assets", "at least one asset is required"));
        }
        let mut symbols = BTreeSet::new();
        for (i, a) in self.assets.iter().enumerate() {
            if a.symbol.is_empty()
                || a.symbol.len() > 16
                || !a.symbol.bytes().all(|c| c.is_ascii_alphanumeric())
            {
                return Err(invalid(
                    format!("assets[{i}].symbol"),
                    "must be 1 to 16 ASCII letters or digits",
                ));
            }
            if !symbols.insert(a.symbol.as_str()) {
                return Err(invalid(
                    format!("assets[{i}].symbol"),
                    format!("duplicate asset {}", a.symbol),
                ));
            }
            if a.decimals > MAX_ASSET_DECIMALS {
                return Err(invalid(
                    format!("assets[{i}].decimals"),
                    format!("at most {MAX_ASSET_DECIMALS}"),
                ));
            }
        }
        let mut pairs = BTreeSet::new();
        for (i, m) in self.markets.iter().enumerate() {
            let f = |name: &str| format!("markets[{i}].{name}");
            let base = self
                .asset_id(&m.base)
                .ok_or_else(|| invalid(f("base"), format!("unknown asset {}", m.base)))?;
            let quote = self
                .asset_id(&m.quote)
                .ok_or_else(|| invalid(f("quote"), format!("unknown asset {}", m.quote)))?;
            if base == quote {
                return Err(invalid(f("quote"), "base and quote must differ"));
            }
            if !pairs.insert((base, quote)) {
                return Err(invalid(
                    f("base"),
                    format!("duplicate market {}", m.symbol()),
                ));
            }
            for (name, v) in [
                ("tick_size", m.tick_size),
                ("lot_size", m.lot_size),
                ("min_size", m.min_size),
            ] {
                if v <= Decimal::ZERO {
                    return Err(invalid(f(name), "must be positive"));
                }
            }
            let base_dec = self.assets[base.0 as usize].decimals;
            let quote_dec = self.assets[quote.0 as usize].decimals;
            if to_units(m.lot_size, base_dec).is_none_or(|u| u == 0) {
                return Err(invalid(
                    f("lot_size"),
                    format!("must be a whole number of {}'s smallest unit", m.base),
                ));
            }
            let tick_lot = m.tick_size.checked_mul(m.lot_size);
            if tick_lot
                .and_then(|v| to_units(v, quote_dec))
                .is_none_or(|u| u == 0)
            {
                return Err(invalid(
                    f("tick_size"),
                    format!(
                        "tick_size * lot_size must be a whole number of {}'s smallest unit",
                        m.quote
                    ),
                ));
            }
            if to_steps(m.min_size, m.lot_size).is_none() {
                return Err(invalid(f("min_size"), "must be a multiple of lot_size"));
            }
            if m.maker_fee_bps > 1_000 || m.taker_fee_bps > 1_000 {
                return Err(invalid(
                    f("taker_fee_bps"),
                    "fees are at most 1000 bps (10%)",
                ));
            }
        }
        let mut supply = vec![0u128; self.assets.len()];
        for (i, b) in self.balances.iter().enumerate() {
            let asset = self.asset_id(&b.asset).ok_or_else(|| {
                invalid(
                    format!("balances[{i}].asset"),
                    format!("unknown asset {}", b.asset),
                )
            })?;
            let decimals = self.assets[asset.0 as usize].decimals;
            let units = to_units(b.amount, decimals).ok_or_else(|| {
                invalid(
                    format!("balances[{i}].amount"),
                    format!("must be non-negative with at most {decimals} decimals"),
                )
            })?;
            let total = &mut supply[asset.0 as usize];
            *total = total
                .checked_add(units)
                .filter(|t| *t <= MAX_SUPPLY_UNITS)
                .ok_or_else(|| {
                    invalid(
                        format!("balances[{i}].amount"),
                        format!("total supply of {} exceeds 2^96 units", b.asset),
                    )
                })?;
        }
        let mut keys = BTreeSet::new();
        for (i, v) in self.validators.iter().enumerate() {
            if !keys.insert(v.public_key) {
                return Err(invalid(
                    format!("validators[{i}].public_key"),
                    "duplicate validator key",
                ));
            }
        }
        match &self.consensus {
            ConsensusParams::Streamlet(p) => {
                if self.validators.is_empty() {
                    return Err(invalid(
                        "validators",
                        "Streamlet needs at least one validator",
                    ));
                }
                if p.delta_ms == 0 {
                    return Err(invalid("consensus.delta_ms", "must be positive"));
                }
            }
            ConsensusParams::Nakamoto(p) => {
                for (name, v) in [
                    ("target_block_ms", p.target_block_ms),
                    ("retarget_interval", p.retarget_interval),
                    ("finality_depth", p.finality_depth),
                    ("initial_difficulty", p.initial_difficulty),
                ] {
                    if v == 0 {
                        return Err(invalid(format!("consensus.{name}"), "must be positive"));
                    }
                }
                if p.max_retarget_factor < 2 {
                    return Err(invalid(
                        "consensus.max_retarget_factor",
                        "must be at least 2",
                    ));
                }
            }
        }
        let l = &self.limits;
        if l.max_block_txs == 0 || l.max_tx_bytes < 128 || l.max_block_bytes < l.max_tx_bytes as u64
        {
            return Err(invalid(
                "limits",
                "need max_block_txs > 0, max_tx_bytes >= 128, max_block_bytes >= max_tx_bytes",
            ));
        }
        if l.max_block_bytes > 8 * 1024 * 1024 {
            return Err(invalid("limits.max_block_bytes", "at most 8 MiB"));
        }
        Ok(())
    }

    /// The id of the asset with this symbol.
    pub fn asset_id(&self, symbol: &str) -> Option<AssetId> {
        self.assets
            .iter()
            .position(|a| a.symbol == symbol)
            .map(|i| AssetId(i as u32))
    }

    /// The id of the market `BASE/QUOTE` (also accepts `BASE-QUOTE`).
    pub fn market_id(&self, symbol: &str) -> Option<MarketId> {
        let normalized = symbol.replace('-', "/");
        self.markets
            .iter()
            .position(|m| m.symbol() == normalized)
            .map(|i| MarketId(i as u32))
    }

    /// Hash of the genesis document; the genesis block's parent, and the network id.
    pub fn hash(&self) -> Hash {
        let json = serde_json::to_vec(self).unwrap_or_default();
        Hash::tagged("ledger-node/genesis/v1", &[&json])
    }

    /// The genesis block (height 0, no transactions).
    pub fn block(&self) -> Block {
        let consensus = match &self.consensus {
            ConsensusParams::Streamlet(_) => ConsensusHeader::Streamlet {
                epoch: 0,
                proposer: PublicKey::default(),
                time_ms: self.genesis_time_ms,
            },
            ConsensusParams::Nakamoto(_) => ConsensusHeader::Nakamoto {
                time_ms: self.genesis_time_ms,
                target: Hash::ZERO,
                nonce: 0,
                miner: PublicKey::default(),
            },
        };
        Block::new(self.hash(), 0, consensus, Vec::new())
    }

    /// The validators' public keys, in genesis order.
    pub fn validator_keys(&self) -> Vec<PublicKey> {
        self.validators.iter().map(|v| v.public_key).collect()
    }

    /// A small genesis for tests: assets BTC (8 decimals) and USD (6), ETH (8); markets
    /// BTC/USD and ETH/USD; each account funded with 100 BTC, 1000 ETH and 10,000,000 USD.
    pub fn for_testing(accounts: &[Address], validators: &[PublicKey]) -> Genesis {
        let mut balances = Vec::new();
        for a in accounts {
            for (asset, amount) in [("BTC", 100), ("ETH", 1000), ("USD", 10_000_000)] {
                balances.push(GenesisBalance {
                    account: *a,
                    asset: asset.into(),
                    amount: Decimal::from(amount),
                });
            }
        }
        Genesis {
            chain_id: "ledger-test".into(),
            genesis_time_ms: 0,
            fee_account: crate::crypto::Keypair::for_testing("fees").public(),
            consensus: ConsensusParams::Streamlet(StreamletParams { delta_ms: 100 }),
            limits: Limits::default(),
            assets: vec![
                AssetSpec {
                    symbol: "BTC".into(),
                    decimals: 8,
                },
                AssetSpec {
                    symbol: "USD".into(),
                    decimals: 6,
                },
                AssetSpec {
                    symbol: "ETH".into(),
                    decimals: 8,
                },
            ],
            markets: vec![
                MarketSpec {
                    base: "BTC".into(),
                    quote: "USD".into(),
                    tick_size: Decimal::new(1, 2),
                    lot_size: Decimal::new(1, 4),
                    min_size: Decimal::new(1, 4),
                    maker_fee_bps: 2,
                    taker_fee_bps: 5,
                },
                MarketSpec {
                    base: "ETH".into(),
                    quote: "USD".into(),
                    tick_size: Decimal::new(1, 2),
                    lot_size: Decimal::new(1, 3),
                    min_size: Decimal::new(1, 2),
                    maker_fee_bps: 0,
                    taker_fee_bps: 10,
                },
            ],
            balances,
            validators: validators
                .iter()
                .enumerate()
                .map(|(i, k)| ValidatorSpec {
                    name: format!("validator-{i}"),
                    public_key: *k,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Keypair;

    fn sample() -> Genesis {
        let a = Keypair::for_testing("a").public();
        let v = Keypair::for_testing("v").public();
        Genesis::for_testing(&[a], &[v])
    }

    #[test]
    fn toml_round_trip_and_validation() {
        let g = sample();
        g.validate().unwrap();
        let text = g.to_toml();
        let back = Genesis::from_toml(&text).unwrap();
        assert_eq!(back, g);
        assert_eq!(back.hash(), g.hash());
        assert_eq!(g.market_id("BTC-USD"), Some(MarketId(0)));
        assert_eq!(g.market_id("ETH/USD"), Some(MarketId(1)));
    }

    #[test]
    fn errors_name_the_field() {
        let mut g = sample();
        g.markets[1].tick_size = Decimal::ZERO;
        let e = g.validate().unwrap_err().to_string();
        assert!(e.contains("markets[1].tick_size"), "{e}");

        let mut g = sample();
        g.markets[0].quote = "EUR".into();
        let e = g.validate().unwrap_err().to_string();
        assert!(e.contains("markets[0].quote") && e.contains("EUR"), "{e}");

        let mut g = sample();
        g.balances[0].amount = Decimal::new(1, 9); // 9 decimals on an 8-decimal asset
        let e = g.validate().unwrap_err().to_string();
        assert!(e.contains("balances[0].amount"), "{e}");

        let mut g = sample();
        g.chain_id = "Bad Chain".into();
        assert!(g.validate().unwrap_err().to_string().contains("chain_id"));
    }

    #[test]
    fn unknown_keys_and_bad_toml_are_errors() {
        let mut text = sample().to_toml();
        text.push_str("\nsurprise = 1\n");
        let e = Genesis::from_toml(&text).unwrap_err().to_string();
        assert!(e.contains("surprise"), "{e}");
        assert!(Genesis::from_toml("chain_id = ").is_err());
        let missing = Genesis::load(Path::new("/nonexistent/genesis.toml")).unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/genesis.toml"));
    }

    #[test]
    fn genesis_block_is_tied_to_the_document() {
        let g = sample();
        let mut other = g.clone();
        other.chain_id = "other".into();
        assert_ne!(g.block().hash(), other.block().hash());
        assert_eq!(g.block().header.parent, g.hash());
    }
}

#[cfg(test)]
mod example_file {
    use super::*;

    /// The example genesis in `config/` loads and validates.
    #[test]
    fn config_genesis_toml_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/genesis.toml");
        let g = Genesis::load(&path).unwrap();
        assert_eq!(g.chain_id, "ledger-local-1");
        assert_eq!(g.markets.len(), 2);
        assert_eq!(g.consensus.kind(), "streamlet");
        let alice = crate::Keypair::for_testing("alice").public();
        assert!(g.balances.iter().any(|b| b.account == alice));
        assert_eq!(g.fee_account, crate::Keypair::for_testing("fees").public());
        assert_eq!(
            g.validators[0].public_key,
            crate::Keypair::for_testing("validator-0").public()
        );
    }
}
