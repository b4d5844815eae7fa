//! Transactions: `Tx { chain_id, sender, nonce, payload, valid_until_height }`, signed over domain-separated
//! canonical bytes that include the chain id.

use crate::atomic::{Bundle, SwapClaim, SwapLock, SwapRefund};
use crate::codec;
use crate::crypto::{Address, Keypair, PublicKey, Signature, SignatureError};
use crate::decimal::{decode_decimal, encode_decimal};
use crate::hash::{parse_hex_array, Hash, HexError};
use bincode::de::Decoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Domain tag prepended to a transaction's canonical bytes before signing and hashing.
pub const TX_SIGNING_DOMAIN: &[u8] = b"ledger-node/tx/v1\0";

/// Longest accepted chain id, in bytes.
pub const MAX_CHAIN_ID_LEN: usize = 64;

/// Index of an asset in the genesis asset list.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct AssetId(pub u32);

/// Index of a market in the genesis market list.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct MarketId(pub u32);

/// An order's id: the hash of the transaction that placed it, so a wallet knows it the
/// moment it signs.
pub type OrderId = Hash;

/// A transaction's id: SHA-256 of its domain-separated canonical bytes.
pub type TxHash = Hash;

/// A client order id chosen by the wallet: 128 bits, 32 hex digits in JSON. Unique per
/// account among its open orders.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct ClientOrderId(pub u128);

impl FromStr for ClientOrderId {
    type Err = HexError;
    fn from_str(s: &str) -> Result<Self, HexError> {
        let s = s.strip_prefix("0x").unwrap_or(s);
        if s.len() == 32 {
            return parse_hex_array::<16>(s).map(|b| ClientOrderId(u128::from_be_bytes(b)));
        }
        // Shorter hex is accepted and left-padded with zeros.
        if !s.is_empty() && s.len() < 32 {
            if let Ok(v) = u128::from_str_radix(s, 16) {
                return Ok(ClientOrderId(v));
            }
        }
        Err(HexError {
            expected: 16,
            got: s.chars().take(80).collect(),
        })
    }
}

impl fmt::Display for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientOrderId({:x})", self.0)
    }
}

impl Serialize for ClientOrderId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ClientOrderId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Buy or sell.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Buy the base asset, pay the quote asset.
    Buy,
    /// Sell the base asset, receive the quote asset.
    Sell,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// Limit or market.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderKind {
    /// Executes at the given price or better; may rest on the book.
    Limit,
    /// Executes immediately against the book; never rests. An optional price is a
    /// protection bound (worst acceptable price).
    Market,
}

/// How long an order stays active.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
pub enum TimeInForce {
    /// Good till cancelled: the unfilled rest stays on the book.
    #[serde(rename = "GTC")]
    Gtc,
    /// Immediate or cancel: fill what can be filled now, cancel the rest.
    #[serde(rename = "IOC")]
    Ioc,
    /// Fill or kill: fill the whole quantity now or do nothing.
    #[serde(rename = "FOK")]
    Fok,
    /// Post-only (add liquidity only): rejected if any part would execute on arrival.
    #[serde(rename = "ALO", alias = "POST_ONLY")]
    PostOnly,
}

/// What happens when an order would trade against a resting order of the same account.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Encode, Decode, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SelfTradePrevention {
    /// The incoming (taker) order's remainder is expired; the resting order stays.
    ExpireTaker,
    /// The resting (maker) order is expired and matching continues (the default, as on
    /// Binance).
    #[default]
    ExpireMaker,
    /// Both the resting order and the incoming order's remainder are expired.
    ExpireBoth,
}

/// Move an amount of an asset to another account.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Transfer {
    /// Receiving account.
    pub to: Address,
    /// Asset moved.
    pub asset: AssetId,
    /// Amount in whole units of the asset (for example `1.5`).
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
}

/// Place an order on a market.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct PlaceOrder {
    /// Market traded.
    pub market: MarketId,
    /// Buy or sell.
    pub side: Side,
    /// Limit or market.
    pub kind: OrderKind,
    /// Limit price in quote units per base unit; required for limit orders, an optional
    /// worst-price bound for market orders.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    pub price: Option<Decimal>,
    /// Quantity of the base asset.
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    /// Time in force.
    pub time_in_force: TimeInForce,
    /// Optional id chosen by the wallet.
    #[serde(default)]
    pub client_order_id: Option<ClientOrderId>,
    /// Self-trade prevention mode (default `EXPIRE_MAKER`).
    #[serde(default)]
    pub self_trade: SelfTradePrevention,
    /// Good-till height (GTD): the order may rest through this block height; the engine
    /// expires what is left of it at the start of the next block. Only for orders that
    /// may rest (limit `GTC` or `ALO`). Absent: the order rests until filled or cancelled.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_height_str"
    )]
    pub good_till_height: Option<u64>,
}

/// Which order to cancel.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderRef {
    /// By order id (the placing transaction's hash).
    OrderId(OrderId),
    /// By the wallet's client order id.
    ClientOrderId(ClientOrderId),
}

/// Cancel one open order of the sender.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct CancelOrder {
    /// The order.
    pub order: OrderRef,
}

/// Cancel all open orders of the sender, on one market or on all.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct CancelAll {
    /// The market, or every market when absent.
    #[serde(default)]
    pub market: Option<MarketId>,
}

/// What a transaction does.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// Move funds.
    Transfer(Transfer),
    /// Place an order.
    PlaceOrder(PlaceOrder),
    /// Cancel an order.
    CancelOrder(CancelOrder),
    /// Cancel all orders.
    CancelAll(CancelAll),
    /// Up to [`MAX_BATCH_ACTIONS`] order actions applied in order, each with its own
    /// result (one failing action does not undo the others).
    Batch(Batch),
    /// Change an open order's price and/or quantity.
    AmendOrder(AmendOrder),
    /// Arm, renew or clear the account's dead man's switch.
    ScheduleCancel(ScheduleCancel),
    /// 2 to 8 immediate legs across markets, all or nothing (see [`crate::atomic`]).
    Bundle(Bundle),
    /// Lock an amount for a counterparty under a SHA-256 hashlock until a timeout height.
    SwapLock(SwapLock),
    /// Claim a hashlocked amount with its preimage, below the timeout.
    SwapClaim(SwapClaim),
    /// Take a hashlocked amount back at or after its timeout.
    SwapRefund(SwapRefund),
}

impl Encode for Transfer {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.to.encode(e)?;
        self.asset.encode(e)?;
        encode_decimal(&self.amount, e)
    }
}

impl<C> Decode<C> for Transfer {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(Transfer {
            to: Decode::decode(d)?,
            asset: Decode::decode(d)?,
            amount: decode_decimal(d)?,
        })
    }
}
bincode::impl_borrow_decode!(Transfer);

impl Encode for PlaceOrder {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.market.encode(e)?;
        self.side.encode(e)?;
        self.kind.encode(e)?;
        match &self.price {
            None => 0u8.encode(e)?,
            Some(p) => {
                1u8.encode(e)?;
                encode_decimal(p, e)?;
            }
        }
        encode_decimal(&self.quantity, e)?;
        self.time_in_force.encode(e)?;
        self.client_order_id.encode(e)?;
        // The self-trade mode's variant tag (a u32, as derived) carries bit 8 when a
        // good-till height follows, so an order without one encodes exactly as before.
        let stp = self.self_trade as u32;
        match self.good_till_height {
            None => stp.encode(e),
            Some(h) => {
                (stp | GTD_FLAG).encode(e)?;
                h.encode(e)
            }
        }
    }
}

/// Bit of `PlaceOrder`'s encoded self-trade tag saying that a good-till height follows.
const GTD_FLAG: u32 = 0x100;

impl<C> Decode<C> for PlaceOrder {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        let market = Decode::decode(d)?;
        let side = Decode::decode(d)?;
        let kind = Decode::decode(d)?;
        let price = match u8::decode(d)? {
            0 => None,
            1 => Some(decode_decimal(d)?),
            other => {
                return Err(DecodeError::UnexpectedVariant {
                    type_name: "Option<Decimal>",
                    allowed: &bincode::error::AllowedEnumVariants::Range { min: 0, max: 1 },
                    found: other as u32,
                })
            }
        };
        let quantity = decode_decimal(d)?;
        let time_in_force = Decode::decode(d)?;
        let client_order_id = Decode::decode(d)?;
        let tag = u32::decode(d)?;
        let self_trade = match tag & !GTD_FLAG {
            0 => SelfTradePrevention::ExpireTaker,
            1 => SelfTradePrevention::ExpireMaker,
            2 => SelfTradePrevention::ExpireBoth,
            _ => {
                return Err(DecodeError::UnexpectedVariant {
                    type_name: "SelfTradePrevention",
                    allowed: &bincode::error::AllowedEnumVariants::Range { min: 0, max: 2 },
                    found: tag,
                })
            }
        };
        let good_till_height = if tag & GTD_FLAG != 0 {
            Some(u64::decode(d)?)
        } else {
            None
        };
        Ok(PlaceOrder {
            market,
            side,
            kind,
            price,
            quantity,
            time_in_force,
            client_order_id,
            self_trade,
            good_till_height,
        })
    }
}
bincode::impl_borrow_decode!(PlaceOrder);

/// Most actions in one [`Batch`].
pub const MAX_BATCH_ACTIONS: usize = 32;

/// Domain tag of the order ids of orders placed by a batch (16 bytes).
pub const BATCH_ORDER_DOMAIN: &[u8; 16] = b"ledger/batch-ord";

/// The order id of the order placed by action `index` of the batch transaction
/// `tx_hash`: `SHA-256(BATCH_ORDER_DOMAIN ‖ tx_hash ‖ index as u32 LE)` (52 bytes, one
/// SHA-256 block), so a wallet knows every id the moment it signs.
pub fn batch_order_id(tx_hash: &TxHash, index: u32) -> OrderId {
    let mut buf = [0u8; 52];
    buf[..16].copy_from_slice(BATCH_ORDER_DOMAIN);
    buf[16..48].copy_from_slice(&tx_hash.0);
    buf[48..].copy_from_slice(&index.to_le_bytes());
    Hash::digest(&buf)
}

/// Change an open order of the sender. `price` and `quantity` are the new values (at
/// least one must be given); `quantity` is the new **total** quantity, including what
/// has already filled, as on Binance and Coinbase. The order keeps its id and client
/// order id. It keeps its time priority only when the price is unchanged and the
/// quantity decreases; a new price or a larger quantity sends it to the back of its
/// (new) price level. An amendment never trades: a new price that would cross the book
/// is rejected and the order is left as it was.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AmendOrder {
    /// The order.
    pub order: OrderRef,
    /// New limit price (absent: unchanged).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    pub price: Option<Decimal>,
    /// New total quantity (absent: unchanged); must exceed the quantity already filled.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    pub quantity: Option<Decimal>,
}

impl Encode for AmendOrder {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.order.encode(e)?;
        encode_opt_decimal(&self.price, e)?;
        encode_opt_decimal(&self.quantity, e)
    }
}

impl<C> Decode<C> for AmendOrder {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(AmendOrder {
            order: Decode::decode(d)?,
            price: decode_opt_decimal(d)?,
            quantity: decode_opt_decimal(d)?,
        })
    }
}
bincode::impl_borrow_decode!(AmendOrder);

fn encode_opt_decimal<E: Encoder>(v: &Option<Decimal>, e: &mut E) -> Result<(), EncodeError> {
    match v {
        None => 0u8.encode(e),
        Some(p) => {
            1u8.encode(e)?;
            encode_decimal(p, e)
        }
    }
}

fn decode_opt_decimal<C, D: Decoder<Context = C>>(
    d: &mut D,
) -> Result<Option<Decimal>, DecodeError> {
    match u8::decode(d)? {
        0 => Ok(None),
        1 => Ok(Some(decode_decimal(d)?)),
        other => Err(DecodeError::UnexpectedVariant {
            type_name: "Option<Decimal>",
            allowed: &bincode::error::AllowedEnumVariants::Range { min: 0, max: 1 },
            found: other as u32,
        }),
    }
}

/// The account's dead man's switch (Hyperliquid's `scheduleCancel`): at the start of
/// block `at_height` the engine cancels every open order of the account, unless a later
/// `schedule_cancel` renewed (moved) or cleared it first. `at_height` must be above the
/// height of the block that executes this; absent, it clears the switch.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct ScheduleCancel {
    /// Height at which every open order is cancelled; absent to clear.
    #[serde(default, with = "opt_height_str")]
    pub at_height: Option<u64>,
}

/// One action of a [`Batch`].
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BatchAction {
    /// Place an order; its id is [`batch_order_id`] of the transaction and the index.
    PlaceOrder(PlaceOrder),
    /// Cancel an order by id or client order id.
    CancelOrder(CancelOrder),
    /// Amend an order.
    AmendOrder(AmendOrder),
}

/// Order actions executed in order within one transaction, each with its own result in
/// the receipt: a failing action does not undo the others (Hyperliquid's batch
/// semantics; the opposite of an all-or-nothing bundle). One nonce, one signature.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Batch {
    /// The actions, 1 to [`MAX_BATCH_ACTIONS`].
    #[serde(deserialize_with = "bounded_actions")]
    pub actions: Vec<BatchAction>,
}

fn bounded_actions<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<BatchAction>, D::Error> {
    let v = Vec::<BatchAction>::deserialize(d)?;
    if v.len() > MAX_BATCH_ACTIONS {
        return Err(serde::de::Error::custom(format!(
            "a batch holds at most {MAX_BATCH_ACTIONS} actions, got {}",
            v.len()
        )));
    }
    Ok(v)
}

impl Encode for Batch {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.actions.encode(e)
    }
}

impl<C> Decode<C> for Batch {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        let len = u64::decode(d)?;
        if len > MAX_BATCH_ACTIONS as u64 {
            return Err(DecodeError::OtherString(format!(
                "a batch holds at most {MAX_BATCH_ACTIONS} actions, got {len}"
            )));
        }
        let mut actions = Vec::with_capacity(len as usize);
        for _ in 0..len {
            actions.push(BatchAction::decode(d)?);
        }
        Ok(Batch { actions })
    }
}
bincode::impl_borrow_decode!(Batch);

/// Serde for an optional height: a decimal string on output; a string or a JSON integer
/// on input (64-bit integers travel as strings, see the RPC conventions).
pub mod opt_height_str {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes a decimal string, or nothing.
    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(h) => s.collect_str(h),
            None => s.serialize_none(),
        }
    }

    /// Reads a decimal string, a JSON integer or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Int(u64),
            Str(String),
        }
        match Option::<Repr>::deserialize(d)? {
            None => Ok(None),
            Some(Repr::Int(h)) => Ok(Some(h)),
            Some(Repr::Str(s))
                if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) =>
            {
                s.parse().map(Some).map_err(serde::de::Error::custom)
            }
            Some(Repr::Str(s)) => Err(serde::de::Error::custom(format!(
                "expected a height as a decimal string, got {:?}",
                s.chars().take(40).collect::<String>()
            ))),
        }
    }
}

/// An unsigned transaction.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Tx {
    /// The chain this transaction is valid on (replay protection across networks).
    pub chain_id: String,
    /// The signing account.
    pub sender: Address,
    /// The sender's next nonce: strictly sequential from 0.
    pub nonce: u64,
    /// What it does.
    pub payload: Payload,
    /// The last block height this transaction may execute in. Above it the mempool
    /// refuses it and the engine rejects it with no effect (`tx_expired`: the nonce is
    /// not used). Absent: valid until its nonce is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until_height: Option<u64>,
}

impl Tx {
    /// A transaction without an expiry height.
    pub fn new(chain_id: impl Into<String>, sender: Address, nonce: u64, payload: Payload) -> Tx {
        Tx {
            chain_id: chain_id.into(),
            sender,
            nonce,
            payload,
            valid_until_height: None,
        }
    }

    /// The bytes that are signed and hashed: a domain tag, then the canonical encoding.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = TX_SIGNING_DOMAIN.to_vec();
        codec::encode_into(self, &mut out);
        out
    }

    /// The transaction id (also the order id of a `PlaceOrder`).
    pub fn hash(&self) -> TxHash {
        Hash::digest(&self.signing_bytes())
    }

    /// The id of the transaction whose canonical encoding is `encoded`, hashed from
    /// those bytes without decoding or re-encoding: equal to [`Tx::hash`] of the decoded
    /// transaction, because the codec accepts only canonical encodings.
    pub fn hash_of_encoding(encoded: &[u8]) -> TxHash {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(TX_SIGNING_DOMAIN);
        h.update(encoded);
        Hash(h.finalize().into())
    }

    /// Signs with `key`; the sender must be `key`'s public key.
    pub fn sign(self, key: &Keypair) -> SignedTx {
        debug_assert_eq!(self.sender, key.public());
        let bytes = self.signing_bytes();
        let signature = key.sign(&bytes);
        SignedTx {
            hash: Hash::digest(&bytes),
            tx: self,
            signature,
        }
    }
}

/// A transaction with its sender's signature. The hash is computed once, at signing
/// or decoding, and cached.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedTx {
    /// The transaction.
    pub tx: Tx,
    /// ed25519 signature by `tx.sender` over `tx.signing_bytes()`.
    pub signature: Signature,
    hash: TxHash,
}

impl SignedTx {
    /// Builds a signed transaction from its parts (the signature is not checked).
    pub fn new(tx: Tx, signature: Signature) -> SignedTx {
        SignedTx {
            hash: tx.hash(),
            tx,
            signature,
        }
    }

    /// Decodes one signed transaction from the front of `bytes` (canonical encoding),
    /// hashing the transaction from the bytes it was decoded from instead of encoding it
    /// again (see [`Tx::hash_of_encoding`]). Returns it and the bytes it took.
    pub(crate) fn decode_prefix(bytes: &[u8]) -> Result<(SignedTx, usize), DecodeError> {
        let (tx, n) = bincode::decode_from_slice::<Tx, _>(bytes, codec::config())?;
        let hash = Tx::hash_of_encoding(&bytes[..n]);
        let (signature, m) =
            bincode::decode_from_slice::<Signature, _>(&bytes[n..], codec::config())?;
        Ok((
            SignedTx {
                tx,
                signature,
                hash,
            },
            n + m,
        ))
    }

    /// The transaction id.
    pub fn hash(&self) -> TxHash {
        self.hash
    }

    /// Checks the signature with `verify_strict`.
    pub fn verify(&self) -> Result<(), SignatureError> {
        self.tx
            .sender
            .verify(&self.tx.signing_bytes(), &self.signature)
    }

    /// The sender.
    pub fn sender(&self) -> PublicKey {
        self.tx.sender
    }

    /// Checks the signatures of many transactions with one ed25519 batch verification
    /// (see [`crate::crypto::verify_batch`]); one result per transaction, in order.
    pub fn verify_many<'a>(
        txs: impl IntoIterator<Item = &'a SignedTx>,
    ) -> Vec<Result<(), SignatureError>> {
        let txs: Vec<&SignedTx> = txs.into_iter().collect();
        let messages: Vec<Vec<u8>> = txs.iter().map(|t| t.tx.signing_bytes()).collect();
        let items: Vec<_> = txs
            .iter()
            .zip(&messages)
            .map(|(t, m)| (t.tx.sender, m.as_slice(), t.signature))
            .collect();
        crate::crypto::verify_batch(&items)
    }
}

impl Encode for SignedTx {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.tx.encode(e)?;
        self.signature.encode(e)
    }
}

impl<C> Decode<C> for SignedTx {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        let tx: Tx = Decode::decode(d)?;
        let signature = Decode::decode(d)?;
        Ok(SignedTx::new(tx, signature))
    }
}
bincode::impl_borrow_decode!(SignedTx);

impl Serialize for SignedTx {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            hash: TxHash,
            #[serde(flatten)]
            tx: &'a Tx,
            signature: Signature,
        }
        Wire {
            hash: self.hash,
            tx: &self.tx,
            signature: self.signature,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for SignedTx {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(flatten)]
            tx: Tx,
            signature: Signature,
        }
        let w = Wire::deserialize(d)?;
        Ok(SignedTx::new(w.tx, w.signature))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn order_tx(key: &Keypair, nonce: u64) -> Tx {
        Tx {
            chain_id: "test-1".into(),
            sender: key.public(),
            nonce,
            payload: Payload::PlaceOrder(PlaceOrder {
                market: MarketId(0),
                side: Side::Buy,
                kind: OrderKind::Limit,
                price: Some(Decimal::from_str("100.50").unwrap()),
                quantity: Decimal::from_str("2").unwrap(),
                time_in_force: TimeInForce::Gtc,
                client_order_id: Some(ClientOrderId(42)),
                self_trade: SelfTradePrevention::ExpireMaker,
                good_till_height: None,
            }),
            valid_until_height: None,
        }
    }

    #[test]
    fn signed_tx_round_trips_and_verifies() {
        let k = Keypair::for_testing("alice");
        let stx = order_tx(&k, 0).sign(&k);
        assert_eq!(stx.verify(), Ok(()));
        let bytes = codec::encode(&stx);
        let back: SignedTx = codec::decode(&bytes).unwrap();
        assert_eq!(back, stx);
        assert_eq!(back.hash(), stx.hash());
        assert_eq!(codec::encode(&back), bytes);
    }

    #[test]
    fn signature_covers_chain_id_nonce_and_payload() {
        let k = Keypair::for_testing("alice");
        let stx = order_tx(&k, 0).sign(&k);
        let mut other_chain = stx.clone();
        other_chain.tx.chain_id = "test-2".into();
        let other_chain = SignedTx::new(other_chain.tx, other_chain.signature);
        assert!(other_chain.verify().is_err());
        let mut other_nonce = stx.tx.clone();
        other_nonce.nonce = 1;
        assert!(SignedTx::new(other_nonce, stx.signature).verify().is_err());
        assert_ne!(order_tx(&k, 0).hash(), order_tx(&k, 1).hash());
    }

    #[test]
    fn json_uses_strings_for_money_and_hex_for_ids() {
        let k = Keypair::for_testing("alice");
        let stx = order_tx(&k, 3).sign(&k);
        let json = serde_json::to_value(&stx).unwrap();
        assert_eq!(json["payload"]["price"], "100.50");
        assert_eq!(json["payload"]["type"], "place_order");
        assert_eq!(json["payload"]["time_in_force"], "GTC");
        assert_eq!(json["payload"]["self_trade"], "EXPIRE_MAKER");
        assert_eq!(json["hash"], stx.hash().to_hex());
        let back: SignedTx = serde_json::from_value(json).unwrap();
        assert_eq!(back, stx);
    }

    #[test]
    fn market_order_without_price_round_trips_through_json() {
        let k = Keypair::for_testing("alice");
        let mut tx = order_tx(&k, 1);
        if let Payload::PlaceOrder(p) = &mut tx.payload {
            p.kind = OrderKind::Market;
            p.price = None;
            p.time_in_force = TimeInForce::Ioc;
        }
        let stx = tx.sign(&k);
        let json = serde_json::to_value(&stx).unwrap();
        assert!(json["payload"].get("price").is_none());
        let back: SignedTx = serde_json::from_value(json).unwrap();
        assert_eq!(back, stx);
    }

    #[test]
    fn client_order_id_hex() {
        let c: ClientOrderId = "00000000000000000000000000000abc".parse().unwrap();
        assert_eq!(c, ClientOrderId(0xabc));
        assert_eq!("abc".parse::<ClientOrderId>().unwrap(), c);
        assert_eq!(c.to_string(), "00000000000000000000000000000abc");
        assert!("xyz".parse::<ClientOrderId>().is_err());
        assert!("".parse::<ClientOrderId>().is_err());
    }

    #[test]
    fn garbage_does_not_decode() {
        assert!(codec::decode::<SignedTx>(&[0xff; 40]).is_err());
        assert!(codec::decode::<SignedTx>(&[]).is_err());
    }
}
