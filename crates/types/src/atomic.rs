//! Payloads for trading that must not half-happen: **bundles** (2 to 8 immediate legs
//! across the markets of one chain, all or nothing in one transaction) and **hashlock
//! swaps** (an amount locked for a named counterparty under a SHA-256 hash until a
//! timeout height; the building block of swaps between two chains).
//!
//! The canonical decoders bound every list: a bundle with more than
//! [`MAX_BUNDLE_LEGS`] legs or more than [`MAX_NET_BOUNDS`] net bounds does not decode.
//! [`Bundle::check_shape`] states the rules that need no chain state, so a wallet, the
//! RPC server and the engine apply the same ones.

use crate::crypto::Address;
use crate::decimal::{decode_decimal, encode_decimal};
use crate::hash::{parse_hex_array, Hash, HexError};
use crate::tx::{AssetId, ClientOrderId, MarketId, SelfTradePrevention, Side, TimeInForce};
use bincode::de::Decoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Fewest legs a bundle holds.
pub const MIN_BUNDLE_LEGS: usize = 2;
/// Most legs a bundle holds.
pub const MAX_BUNDLE_LEGS: usize = 8;
/// Most minimum-net bounds a bundle carries (one per asset).
pub const MAX_NET_BOUNDS: usize = 8;
/// Bytes of a swap preimage (the secret whose SHA-256 is the hashlock).
pub const PREIMAGE_LEN: usize = 32;

/// One leg of a bundle: an immediate limit order (`IOC` or `FOK`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleLeg {
    /// Market traded.
    pub market: MarketId,
    /// Buy or sell.
    pub side: Side,
    /// Limit price in quote units per base unit: the leg never trades beyond it.
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
    /// Quantity of the base asset; the leg must fill all of it.
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    /// `IOC` or `FOK` (a leg never rests).
    pub time_in_force: TimeInForce,
    /// Optional id chosen by the wallet, echoed in the leg's events.
    #[serde(default)]
    pub client_order_id: Option<ClientOrderId>,
    /// Self-trade prevention mode (default `EXPIRE_MAKER`).
    #[serde(default)]
    pub self_trade: SelfTradePrevention,
}

/// "End the bundle with at least `min` of `asset` more than before" (negative: at most
/// that much less). Fees count: the net is the change of the sender's total balance.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetBound {
    /// The asset.
    pub asset: AssetId,
    /// Least acceptable change of the sender's balance of `asset`, in whole units (may
    /// be negative).
    #[serde(with = "rust_decimal::serde::str")]
    pub min: Decimal,
}

/// Up to [`MAX_BUNDLE_LEGS`] immediate legs executed in order, all or nothing: if a leg
/// cannot fill completely or a net bound fails, nothing changes except the nonce.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// The legs, executed in this order.
    pub legs: Vec<BundleLeg>,
    /// Minimum net result per asset (at most one bound per asset).
    #[serde(default)]
    pub min_net: Vec<NetBound>,
}

/// Why a bundle is malformed regardless of chain state.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum BundleShapeError {
    /// Fewer than 2 or more than 8 legs.
    #[error("a bundle holds {MIN_BUNDLE_LEGS} to {MAX_BUNDLE_LEGS} legs, this one {0}")]
    LegCount(usize),
    /// More net bounds than allowed.
    #[error("a bundle carries at most {MAX_NET_BOUNDS} net bounds, this one {0}")]
    BoundCount(usize),
    /// Two bounds for one asset.
    #[error("net bound {index} repeats asset {asset}")]
    DuplicateBound {
        /// Position of the repeated bound.
        index: usize,
        /// Its asset id.
        asset: u32,
    },
    /// A leg is not `IOC` or `FOK`.
    #[error("leg {0}: time in force must be IOC or FOK")]
    TimeInForce(usize),
    /// A leg's price is not positive.
    #[error("leg {0}: price must be greater than zero")]
    Price(usize),
    /// A leg's quantity is not positive.
    #[error("leg {0}: quantity must be greater than zero")]
    Quantity(usize),
}

impl BundleShapeError {
    /// The payload field at fault (`payload.legs`, `payload.legs[2].price`, ...).
    pub fn field(&self) -> String {
        match self {
            BundleShapeError::LegCount(_) => "payload.legs".into(),
            BundleShapeError::BoundCount(_) => "payload.min_net".into(),
            BundleShapeError::DuplicateBound { index, .. } => format!("payload.min_net[{index}]"),
            BundleShapeError::TimeInForce(i) => format!("payload.legs[{i}].time_in_force"),
            BundleShapeError::Price(i) => format!("payload.legs[{i}].price"),
            BundleShapeError::Quantity(i) => format!("payload.legs[{i}].quantity"),
        }
    }
}

impl Bundle {
    /// Checks what needs no chain state: 2 to 8 legs, each `IOC` or `FOK` with a positive
    /// price and quantity, at most 8 net bounds, one per asset.
    pub fn check_shape(&self) -> Result<(), BundleShapeError> {
        if !(MIN_BUNDLE_LEGS..=MAX_BUNDLE_LEGS).contains(&self.legs.len()) {
            return Err(BundleShapeError::LegCount(self.legs.len()));
        }
        if self.min_net.len() > MAX_NET_BOUNDS {
            return Err(BundleShapeError::BoundCount(self.min_net.len()));
        }
        for (i, b) in self.min_net.iter().enumerate() {
            if self.min_net[..i].iter().any(|o| o.asset == b.asset) {
                return Err(BundleShapeError::DuplicateBound {
                    index: i,
                    asset: b.asset.0,
                });
            }
        }
        for (i, leg) in self.legs.iter().enumerate() {
            if !matches!(leg.time_in_force, TimeInForce::Ioc | TimeInForce::Fok) {
                return Err(BundleShapeError::TimeInForce(i));
            }
            if leg.price <= Decimal::ZERO {
                return Err(BundleShapeError::Price(i));
            }
            if leg.quantity <= Decimal::ZERO {
                return Err(BundleShapeError::Quantity(i));
            }
        }
        Ok(())
    }

    /// The order id of leg `index` of the bundle placed by transaction `tx_hash`: a
    /// domain-separated hash of both, so a wallet knows every leg's id when it signs.
    pub fn leg_order_id(tx_hash: &Hash, index: usize) -> Hash {
        Hash::tagged(
            "ledger-node/bundle-leg/v1",
            &[&tx_hash.0, &(index as u32).to_le_bytes()],
        )
    }
}

impl Encode for BundleLeg {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.market.encode(e)?;
        self.side.encode(e)?;
        encode_decimal(&self.price, e)?;
        encode_decimal(&self.quantity, e)?;
        self.time_in_force.encode(e)?;
        self.client_order_id.encode(e)?;
        self.self_trade.encode(e)
    }
}

impl<C> Decode<C> for BundleLeg {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(BundleLeg {
            market: Decode::decode(d)?,
            side: Decode::decode(d)?,
            price: decode_decimal(d)?,
            quantity: decode_decimal(d)?,
            time_in_force: Decode::decode(d)?,
            client_order_id: Decode::decode(d)?,
            self_trade: Decode::decode(d)?,
        })
    }
}
bincode::impl_borrow_decode!(BundleLeg);

impl Encode for NetBound {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.asset.encode(e)?;
        encode_decimal(&self.min, e)
    }
}

impl<C> Decode<C> for NetBound {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(NetBound {
            asset: Decode::decode(d)?,
            min: decode_decimal(d)?,
        })
    }
}
bincode::impl_borrow_decode!(NetBound);

/// Reads a list length and refuses one above `max` before reading any element.
fn bounded_len<C, D: Decoder<Context = C>>(
    d: &mut D,
    max: usize,
    what: &'static str,
) -> Result<usize, DecodeError> {
    let n = u64::decode(d)?;
    if n > max as u64 {
        return Err(DecodeError::OtherString(format!(
            "{what}: {n} entries, at most {max} allowed"
        )));
    }
    Ok(n as usize)
}

impl Encode for Bundle {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        (self.legs.len() as u64).encode(e)?;
        for l in &self.legs {
            l.encode(e)?;
        }
        (self.min_net.len() as u64).encode(e)?;
        for b in &self.min_net {
            b.encode(e)?;
        }
        Ok(())
    }
}

impl<C> Decode<C> for Bundle {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        let n = bounded_len(d, MAX_BUNDLE_LEGS, "bundle legs")?;
        let mut legs = Vec::with_capacity(n);
        for _ in 0..n {
            legs.push(BundleLeg::decode(d)?);
        }
        let n = bounded_len(d, MAX_NET_BOUNDS, "bundle net bounds")?;
        let mut min_net = Vec::with_capacity(n);
        for _ in 0..n {
            min_net.push(NetBound::decode(d)?);
        }
        Ok(Bundle { legs, min_net })
    }
}
bincode::impl_borrow_decode!(Bundle);

// ---------------------------------------------------------------------------------------
// Hashlock swaps
// ---------------------------------------------------------------------------------------

/// The secret of a hashlock: 32 bytes, 64 hex digits in JSON. Its SHA-256 is the
/// hashlock.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct Preimage(pub [u8; PREIMAGE_LEN]);

impl Preimage {
    /// The hashlock this preimage opens: `SHA-256(preimage)`.
    pub fn hashlock(&self) -> Hash {
        Hash::digest(&self.0)
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl FromStr for Preimage {
    type Err = HexError;
    fn from_str(s: &str) -> Result<Self, HexError> {
        parse_hex_array::<PREIMAGE_LEN>(s.strip_prefix("0x").unwrap_or(s)).map(Preimage)
    }
}

impl fmt::Display for Preimage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Preimage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Preimage({})", self.to_hex())
    }
}

impl Serialize for Preimage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Preimage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A `u64` as a decimal string in JSON (heights), accepting a JSON integer on input.
mod u64_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Str(String),
            Num(u64),
        }
        match Either::deserialize(d)? {
            Either::Num(n) => Ok(n),
            Either::Str(s) => s
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a u64"))),
        }
    }
}

/// Lock `amount` of `asset` for `counterparty`, who can claim it with the preimage of
/// `hashlock` while the chain is below `timeout_height`; from that height on, only the
/// sender can take it back (`swap_refund`). The swap's id is this transaction's hash.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwapLock {
    /// Who may claim.
    pub counterparty: Address,
    /// Asset locked.
    pub asset: AssetId,
    /// Amount in whole units.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// `SHA-256(preimage)`.
    pub hashlock: Hash,
    /// First height at which the claim is refused and the refund allowed.
    #[serde(with = "u64_string")]
    pub timeout_height: u64,
}

/// Claim a swap locked for the sender, revealing its preimage (below the timeout).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwapClaim {
    /// The swap (the hash of its `swap_lock` transaction).
    pub swap_id: Hash,
    /// The secret whose SHA-256 is the swap's hashlock.
    pub preimage: Preimage,
}

/// Take back a swap the sender locked, at or after its timeout height.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwapRefund {
    /// The swap.
    pub swap_id: Hash,
}

impl Encode for SwapLock {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.counterparty.encode(e)?;
        self.asset.encode(e)?;
        encode_decimal(&self.amount, e)?;
        self.hashlock.encode(e)?;
        self.timeout_height.encode(e)
    }
}

impl<C> Decode<C> for SwapLock {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(SwapLock {
            counterparty: Decode::decode(d)?,
            asset: Decode::decode(d)?,
            amount: decode_decimal(d)?,
            hashlock: Decode::decode(d)?,
            timeout_height: Decode::decode(d)?,
        })
    }
}
bincode::impl_borrow_decode!(SwapLock);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;
    use crate::crypto::Keypair;

    fn leg(i: u32) -> BundleLeg {
        BundleLeg {
            market: MarketId(i % 3),
            side: if i.is_multiple_of(2) {
                Side::Buy
            } else {
                Side::Sell
            },
            price: Decimal::new(10_050 + i as i64, 2),
            quantity: Decimal::new(25, 2),
            time_in_force: TimeInForce::Ioc,
            client_order_id: Some(ClientOrderId(i as u128)),
            self_trade: SelfTradePrevention::ExpireMaker,
        }
    }

    fn bundle(n: u32) -> Bundle {
        Bundle {
            legs: (0..n).map(leg).collect(),
            min_net: vec![NetBound {
                asset: AssetId(1),
                min: Decimal::new(-5, 1),
            }],
        }
    }

    #[test]
    fn bundle_round_trips_in_both_encodings() {
        let b = bundle(3);
        let bytes = codec::encode(&b);
        assert_eq!(codec::decode::<Bundle>(&bytes).unwrap(), b);
        let json = serde_json::to_value(&b).unwrap();
        assert_eq!(json["legs"][0]["price"], "100.50");
        assert_eq!(json["min_net"][0]["min"], "-0.5");
        assert_eq!(serde_json::from_value::<Bundle>(json).unwrap(), b);
        assert_eq!(b.check_shape(), Ok(()));
    }

    #[test]
    fn decoder_refuses_more_than_eight_legs_before_reading_them() {
        let nine = codec::encode(&bundle(9));
        let err = codec::decode::<Bundle>(&nine).unwrap_err().to_string();
        assert!(err.contains("at most 8"), "{err}");
        // A claimed length of 2^60 legs is refused without allocating.
        let mut huge = Vec::new();
        huge.extend_from_slice(&(1u64 << 60).to_le_bytes());
        assert!(codec::decode::<Bundle>(&huge).is_err());
        // Truncated legs and garbage are refused.
        let good = codec::encode(&bundle(2));
        for cut in 0..good.len() {
            assert!(codec::decode::<Bundle>(&good[..cut]).is_err(), "cut {cut}");
        }
        assert!(codec::decode::<Bundle>(&[0xff; 64]).is_err());
    }

    #[test]
    fn shape_rules() {
        assert_eq!(bundle(1).check_shape(), Err(BundleShapeError::LegCount(1)));
        assert_eq!(bundle(9).check_shape(), Err(BundleShapeError::LegCount(9)));
        let mut b = bundle(2);
        b.legs[1].time_in_force = TimeInForce::Gtc;
        assert_eq!(b.check_shape(), Err(BundleShapeError::TimeInForce(1)));
        assert_eq!(
            b.check_shape().unwrap_err().field(),
            "payload.legs[1].time_in_force"
        );
        let mut b = bundle(2);
        b.legs[0].quantity = Decimal::ZERO;
        assert_eq!(b.check_shape(), Err(BundleShapeError::Quantity(0)));
        let mut b = bundle(2);
        b.legs[0].price = Decimal::new(-1, 0);
        assert_eq!(b.check_shape(), Err(BundleShapeError::Price(0)));
        let mut b = bundle(2);
        b.min_net.push(b.min_net[0].clone());
        assert!(matches!(
            b.check_shape(),
            Err(BundleShapeError::DuplicateBound { index: 1, asset: 1 })
        ));
    }

    #[test]
    fn leg_ids_differ_per_leg_and_transaction() {
        let a = Hash::digest(b"a");
        let b = Hash::digest(b"b");
        assert_ne!(Bundle::leg_order_id(&a, 0), Bundle::leg_order_id(&a, 1));
        assert_ne!(Bundle::leg_order_id(&a, 0), Bundle::leg_order_id(&b, 0));
        assert_ne!(Bundle::leg_order_id(&a, 0), a);
    }

    #[test]
    fn swap_payloads_round_trip() {
        let p = Preimage([7; 32]);
        let lock = SwapLock {
            counterparty: Keypair::for_testing("bob").public(),
            asset: AssetId(0),
            amount: Decimal::new(15, 1),
            hashlock: p.hashlock(),
            timeout_height: 120,
        };
        assert_eq!(
            codec::decode::<SwapLock>(&codec::encode(&lock)).unwrap(),
            lock
        );
        let json = serde_json::to_value(&lock).unwrap();
        assert_eq!(json["timeout_height"], "120");
        assert_eq!(json["amount"], "1.5");
        assert_eq!(
            serde_json::from_value::<SwapLock>(json.clone()).unwrap(),
            lock
        );
        let mut as_int = json;
        as_int["timeout_height"] = serde_json::json!(120);
        assert_eq!(serde_json::from_value::<SwapLock>(as_int).unwrap(), lock);

        let claim = SwapClaim {
            swap_id: Hash::digest(b"s"),
            preimage: p,
        };
        let json = serde_json::to_value(claim).unwrap();
        assert_eq!(json["preimage"], "07".repeat(32));
        assert_eq!(serde_json::from_value::<SwapClaim>(json).unwrap(), claim);
        assert_eq!(
            codec::decode::<SwapClaim>(&codec::encode(&claim)).unwrap(),
            claim
        );
        assert!("07".parse::<Preimage>().is_err());
        assert!(serde_json::from_value::<SwapClaim>(serde_json::json!({
            "swap_id": Hash::ZERO.to_hex(), "preimage": "zz"
        }))
        .is_err());
        assert_eq!(p.hashlock(), Hash::digest(&[7; 32]));
    }
}
