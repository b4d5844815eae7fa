//! Bundles and hashlock swaps on the wire: the [`AtomicApi`] methods (`submit_bundle`,
//! `get_swap`, `get_swaps`, `subscribe_swaps`), their views, and the [`Wallet`] methods
//! that sign `bundle`, `swap_lock`, `swap_claim` and `swap_refund` transactions.
//!
//! The API is a second jsonrpsee trait next to [`crate::LedgerApi`], served on the same
//! port by the node; the generated [`AtomicApiClient`] works on a [`crate::LedgerClient`]
//! like the main client trait. Bundles and swap transactions may also be sent through
//! `submit_tx`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ledger_rpc::{connect, AtomicApiClient, BundleBuilder, LedgerApiClient, Wallet};
//! use ledger_types::{Decimal, Keypair, Side};
//!
//! let client = connect("ws://127.0.0.1:8545").await?;
//! let mut wallet = Wallet::from_node(&client, Keypair::for_testing("alice")).await?;
//! let (btc, eth, eth_btc) = (
//!     wallet.market_id("BTC/USD").unwrap(),
//!     wallet.market_id("ETH/USD").unwrap(),
//!     wallet.market_id("ETH/BTC").unwrap(),
//! );
//! // USD -> BTC -> ETH -> USD, all or nothing, ending with at least +0.5 USD.
//! let bundle = BundleBuilder::new()
//!     .ioc(btc, Side::Buy, Decimal::new(100_00, 2), Decimal::new(1, 1))
//!     .ioc(eth_btc, Side::Buy, Decimal::new(5, 2), Decimal::from(2))
//!     .ioc(eth, Side::Sell, Decimal::new(5_10, 2), Decimal::from(2))
//!     .min_net(ledger_types::AssetId(1), Decimal::new(5, 1));
//! let submitted = client.submit_bundle(wallet.bundle(bundle.build()).into()).await?;
//! println!("bundle {} legs {:?}", submitted.tx_hash, submitted.leg_order_ids);
//! # Ok(()) }
//! ```

use crate::num::u64_str;
use crate::types::{Page, WireTx};
use crate::wallet::Wallet;
use jsonrpsee::core::{RpcResult, SubscriptionResult};
use jsonrpsee::proc_macros::rpc;
use ledger_types::{
    Address, AssetId, Bundle, BundleLeg, ClientOrderId, Decimal, Hash, MarketId, NetBound, OrderId,
    Payload, Preimage, SelfTradePrevention, Side, SignedTx, SwapClaim, SwapLock, SwapRefund,
    TimeInForce, TxHash,
};
use serde::{Deserialize, Serialize};

/// Bundles and hashlock swaps (HTTP and WebSocket; the subscription on WebSocket only).
#[rpc(server, client)]
pub trait AtomicApi {
    /// Submits a signed `bundle` transaction. Checks its shape first (2 to 8 `IOC`/`FOK`
    /// legs with positive prices and quantities, at most one net bound per asset) and
    /// each leg against its market (tick, lot and minimum size). Returns the transaction
    /// hash and every leg's order id. Errors: -32000 (`wrong_payload_type`,
    /// `hash_mismatch`, `invalid_input` with `field` `payload.legs[i]...` or
    /// `payload.min_net`), -32003 (mempool reason), -32005 (`mempool_full`,
    /// `account_limit`, `tx_too_large`).
    #[method(name = "submit_bundle")]
    async fn submit_bundle(&self, tx: WireTx) -> RpcResult<BundleSubmitted>;

    /// A hashlock swap by id (the hash of its `swap_lock` transaction): its terms, and
    /// how it ended (a claim shows the revealed preimage). Errors: -32001
    /// `swap_not_found`.
    #[method(name = "get_swap")]
    async fn get_swap(&self, swap_id: Hash) -> RpcResult<SwapView>;

    /// The swaps an account owns or may claim, newest lock first. `limit` defaults to 30
    /// (at most 100); `cursor` is the previous page's `next_cursor` (a swap id). Errors:
    /// -32000 (`cursor`), -32005 (`limit`).
    #[method(name = "get_swaps")]
    async fn get_swaps(
        &self,
        account: Address,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> RpcResult<Page<SwapView>>;

    /// Every swap lock, claim and refund as its block becomes final (of one account, as
    /// owner or counterparty, if given).
    #[subscription(name = "subscribe_swaps", unsubscribe = "unsubscribe_swaps", item = SwapUpdate)]
    async fn subscribe_swaps(&self, account: Option<Address>) -> SubscriptionResult;
}

/// Result of `submit_bundle`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct BundleSubmitted {
    /// Transaction hash.
    pub tx_hash: TxHash,
    /// The order id of each leg, in leg order ([`Bundle::leg_order_id`]).
    pub leg_order_ids: Vec<OrderId>,
}

/// A swap's terms, as locked.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SwapTerms {
    /// Swap id (the hash of the locking transaction).
    pub swap_id: Hash,
    /// Who locked it (and may refund it from the timeout on).
    pub owner: Address,
    /// Who may claim it with the preimage, below the timeout.
    pub counterparty: Address,
    /// Asset symbol.
    pub asset: String,
    /// Asset id.
    pub asset_id: u32,
    /// Amount.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// `SHA-256(preimage)`.
    pub hashlock: Hash,
    /// First height at which the claim is refused and the refund allowed.
    #[serde(with = "u64_str")]
    pub timeout_height: u64,
}

/// Where a swap stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwapState {
    /// Locked: claimable below the timeout height, refundable from it.
    Open,
    /// Claimed by the counterparty (the preimage is public).
    Claimed,
    /// Taken back by the owner.
    Refunded,
}

/// Result of `get_swap`, and each item of `get_swaps`.
///
/// ```json
/// {"swap_id":"…","owner":"…","counterparty":"…","asset":"BTC","asset_id":0,
///  "amount":"0.5","hashlock":"…","timeout_height":"140","lock_height":"100",
///  "status":"claimed","preimage":"…","settled_height":"103","settle_tx":"…"}
/// ```
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SwapView {
    /// The terms.
    #[serde(flatten)]
    pub terms: SwapTerms,
    /// Height of the block that locked it.
    #[serde(with = "u64_str")]
    pub lock_height: u64,
    /// `open`, `claimed` or `refunded`.
    pub status: SwapState,
    /// The revealed secret (claimed swaps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preimage: Option<Preimage>,
    /// Height of the claim or refund.
    #[serde(
        default,
        with = "crate::num::opt_u64_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub settled_height: Option<u64>,
    /// The claiming or refunding transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle_tx: Option<TxHash>,
}

/// What happened to a swap (the `event` field of a [`SwapUpdate`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwapEventKind {
    /// Locked.
    Locked,
    /// Claimed with the preimage.
    Claimed,
    /// Refunded after the timeout.
    Refunded,
}

/// The item of `subscribe_swaps`: a swap event and the swap as it stands after it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SwapUpdate {
    /// Height of the final block.
    #[serde(with = "u64_str")]
    pub block_height: u64,
    /// The transaction that caused it.
    pub tx_hash: TxHash,
    /// `locked`, `claimed` or `refunded`.
    pub event: SwapEventKind,
    /// The swap after the event.
    pub swap: SwapView,
}

/// Builds a bundle: legs in execution order, then optional net bounds.
#[derive(Clone, Debug)]
pub struct BundleBuilder {
    bundle: Bundle,
}

impl Default for BundleBuilder {
    fn default() -> Self {
        BundleBuilder::new()
    }
}

impl BundleBuilder {
    /// An empty bundle.
    pub fn new() -> BundleBuilder {
        BundleBuilder {
            bundle: Bundle {
                legs: Vec::new(),
                min_net: Vec::new(),
            },
        }
    }

    /// Adds a leg.
    pub fn leg(mut self, leg: BundleLeg) -> BundleBuilder {
        self.bundle.legs.push(leg);
        self
    }

    /// Adds an `IOC` leg at limit `price`.
    pub fn ioc(self, market: MarketId, side: Side, price: Decimal, quantity: Decimal) -> Self {
        self.leg(BundleLeg {
            market,
            side,
            price,
            quantity,
            time_in_force: TimeInForce::Ioc,
            client_order_id: None,
            self_trade: SelfTradePrevention::default(),
        })
    }

    /// Adds a `FOK` leg at limit `price`.
    pub fn fok(self, market: MarketId, side: Side, price: Decimal, quantity: Decimal) -> Self {
        self.leg(BundleLeg {
            market,
            side,
            price,
            quantity,
            time_in_force: TimeInForce::Fok,
            client_order_id: None,
            self_trade: SelfTradePrevention::default(),
        })
    }

    /// Sets the client order id of the last leg added.
    pub fn client_order_id(mut self, id: u128) -> Self {
        if let Some(l) = self.bundle.legs.last_mut() {
            l.client_order_id = Some(ClientOrderId(id));
        }
        self
    }

    /// Requires the sender to end with at least `min` more of `asset` (negative: at most
    /// that much less), fees included.
    pub fn min_net(mut self, asset: AssetId, min: Decimal) -> Self {
        self.bundle.min_net.push(NetBound { asset, min });
        self
    }

    /// The bundle.
    pub fn build(self) -> Bundle {
        self.bundle
    }
}

impl Wallet {
    /// Signs a bundle (see [`BundleBuilder`]); its legs' order ids are
    /// [`Bundle::leg_order_id`] of the returned transaction's hash.
    pub fn bundle(&mut self, bundle: Bundle) -> SignedTx {
        self.sign(Payload::Bundle(bundle))
    }

    /// Signs a hashlock swap lock of `amount` of `asset` for `counterparty` under
    /// `hashlock` until `timeout_height`. The swap's id is the returned transaction's
    /// hash.
    pub fn swap_lock(
        &mut self,
        counterparty: Address,
        asset: AssetId,
        amount: Decimal,
        hashlock: Hash,
        timeout_height: u64,
    ) -> SignedTx {
        self.sign(Payload::SwapLock(SwapLock {
            counterparty,
            asset,
            amount,
            hashlock,
            timeout_height,
        }))
    }

    /// Signs a claim of a swap locked for this account.
    pub fn swap_claim(&mut self, swap_id: Hash, preimage: Preimage) -> SignedTx {
        self.sign(Payload::SwapClaim(SwapClaim { swap_id, preimage }))
    }

    /// Signs a refund of a swap this account locked.
    pub fn swap_refund(&mut self, swap_id: Hash) -> SignedTx {
        self.sign(Payload::SwapRefund(SwapRefund { swap_id }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_types::Keypair;
    use serde_json::json;

    #[test]
    fn swap_view_shape() {
        let k = Keypair::for_testing("a").public();
        let v = SwapView {
            terms: SwapTerms {
                swap_id: Hash::digest(b"s"),
                owner: k,
                counterparty: k,
                asset: "BTC".into(),
                asset_id: 0,
                amount: Decimal::new(5, 1),
                hashlock: Hash::digest(b"h"),
                timeout_height: 140,
            },
            lock_height: 100,
            status: SwapState::Claimed,
            preimage: Some(Preimage([1; 32])),
            settled_height: Some(103),
            settle_tx: Some(Hash::digest(b"t")),
        };
        let j = serde_json::to_value(&v).unwrap();
        assert_eq!(j["timeout_height"], json!("140"));
        assert_eq!(j["status"], json!("claimed"));
        assert_eq!(j["amount"], json!("0.5"));
        assert_eq!(j["preimage"], json!("01".repeat(32)));
        assert_eq!(serde_json::from_value::<SwapView>(j).unwrap(), v);
    }

    #[test]
    fn wallet_signs_bundles_and_swaps_with_sequential_nonces() {
        let mut w = Wallet::new(Keypair::for_testing("alice"), "ledger-test", 3);
        let b = BundleBuilder::new()
            .ioc(MarketId(0), Side::Buy, Decimal::from(100), Decimal::ONE)
            .client_order_id(5)
            .fok(MarketId(1), Side::Sell, Decimal::from(5), Decimal::ONE)
            .min_net(AssetId(1), Decimal::new(5, 1))
            .build();
        assert_eq!(b.check_shape(), Ok(()));
        assert_eq!(b.legs[0].client_order_id, Some(ClientOrderId(5)));
        let t1 = w.bundle(b);
        let p = Preimage([9; 32]);
        let t2 = w.swap_lock(
            Keypair::for_testing("bob").public(),
            AssetId(0),
            Decimal::ONE,
            p.hashlock(),
            50,
        );
        let t3 = w.swap_claim(t2.hash(), p);
        let t4 = w.swap_refund(t2.hash());
        for (i, t) in [&t1, &t2, &t3, &t4].iter().enumerate() {
            assert_eq!(t.tx.nonce, 3 + i as u64);
            assert_eq!(t.verify(), Ok(()));
        }
        let wire = serde_json::to_value(WireTx::from(&t1)).unwrap();
        assert_eq!(wire["payload"]["type"], json!("bundle"));
        let back: WireTx = serde_json::from_value(wire).unwrap();
        assert_eq!(back.into_signed().unwrap(), t1);
        let wire = serde_json::to_value(WireTx::from(&t3)).unwrap();
        assert_eq!(wire["payload"]["type"], json!("swap_claim"));
        let back: WireTx = serde_json::from_value(wire).unwrap();
        assert_eq!(back.into_signed().unwrap(), t3);
    }
}
