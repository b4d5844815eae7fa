//! A signer for Rust callers: [`Wallet`] builds and signs transactions with sequential
//! nonces, and [`Order`] builds orders.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ledger_rpc::{connect, LedgerApiClient, Order, Wallet};
//! use ledger_types::{Decimal, Keypair, Side};
//! use std::str::FromStr;
//!
//! let client = connect("ws://127.0.0.1:8545").await?;
//! // Chain id, next nonce and market symbols come from the node.
//! let mut wallet = Wallet::from_node(&client, Keypair::for_testing("alice")).await?;
//! let btc_usd = wallet.market_id("BTC/USD").expect("market exists");
//!
//! // A GTC limit buy of 0.25 BTC at 100.50 USD.
//! let tx = wallet.place_limit(btc_usd, Side::Buy, Decimal::from_str("100.50")?, Decimal::from_str("0.25")?);
//! let placed = client.submit_order(tx.into()).await?;
//!
//! // Post-only with a client order id, then cancel it by order id.
//! let order = Order::limit(btc_usd, Side::Sell, Decimal::from(120), Decimal::ONE)
//!     .post_only()
//!     .client_order_id(7);
//! client.submit_order(wallet.place(order).into()).await?;
//! client.cancel_order(wallet.cancel(placed.order_id).into()).await?;
//! # Ok(()) }
//! ```

use crate::api::LedgerApiClient;
use crate::types::MarketView;
use jsonrpsee::core::client::{Error as ClientError, SubscriptionClientT};
use ledger_types::{
    Address, AmendOrder, AssetId, Batch, BatchAction, CancelAll, CancelOrder, ClientOrderId,
    Decimal, Keypair, MarketId, OrderId, OrderKind, OrderRef, Payload, PlaceOrder, ScheduleCancel,
    SelfTradePrevention, Side, SignedTx, TimeInForce, Transfer, Tx,
};
use std::collections::BTreeMap;

/// An order under construction. Defaults: limit orders are `GTC`, market orders `IOC`
/// without a price bound, no client order id, self-trade prevention `EXPIRE_MAKER`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order(PlaceOrder);

impl Order {
    /// A good-till-cancelled limit order.
    pub fn limit(market: MarketId, side: Side, price: Decimal, quantity: Decimal) -> Order {
        Order(PlaceOrder {
            market,
            side,
            kind: OrderKind::Limit,
            price: Some(price),
            quantity,
            time_in_force: TimeInForce::Gtc,
            client_order_id: None,
            self_trade: SelfTradePrevention::default(),
            good_till_height: None,
        })
    }

    /// An immediate-or-cancel market order without a price bound.
    pub fn market(market: MarketId, side: Side, quantity: Decimal) -> Order {
        Order(PlaceOrder {
            market,
            side,
            kind: OrderKind::Market,
            price: None,
            quantity,
            time_in_force: TimeInForce::Ioc,
            client_order_id: None,
            self_trade: SelfTradePrevention::default(),
            good_till_height: None,
        })
    }

    /// Sets the time in force.
    pub fn time_in_force(mut self, tif: TimeInForce) -> Order {
        self.0.time_in_force = tif;
        self
    }

    /// Immediate or cancel.
    pub fn ioc(self) -> Order {
        self.time_in_force(TimeInForce::Ioc)
    }

    /// Fill or kill.
    pub fn fok(self) -> Order {
        self.time_in_force(TimeInForce::Fok)
    }

    /// Post-only (`ALO`): rejected if it would trade on arrival.
    pub fn post_only(self) -> Order {
        self.time_in_force(TimeInForce::PostOnly)
    }

    /// Sets the client order id (unique per account among open orders).
    pub fn client_order_id(mut self, id: u128) -> Order {
        self.0.client_order_id = Some(ClientOrderId(id));
        self
    }

    /// Sets the self-trade prevention mode.
    pub fn self_trade(mut self, mode: SelfTradePrevention) -> Order {
        self.0.self_trade = mode;
        self
    }

    /// Makes it a good-till order: it rests through block `height` at most.
    pub fn good_till(mut self, height: u64) -> Order {
        self.0.good_till_height = Some(height);
        self
    }

    /// Sets the worst acceptable price of a market order (or the price of a limit order).
    pub fn price(mut self, price: Decimal) -> Order {
        self.0.price = Some(price);
        self
    }

    /// The payload.
    pub fn build(self) -> PlaceOrder {
        self.0
    }
}

impl From<Order> for PlaceOrder {
    fn from(o: Order) -> PlaceOrder {
        o.0
    }
}

/// A key with its chain id and next nonce: signs transactions for one account. Each
/// signing method uses the next nonce and advances it; if a submission fails, call
/// [`Wallet::set_next_nonce`] or [`Wallet::resync`].
#[derive(Clone, Debug)]
pub struct Wallet {
    keypair: Keypair,
    chain_id: String,
    next_nonce: u64,
    markets: BTreeMap<String, MarketId>,
}

impl Wallet {
    /// A wallet for `chain_id` whose next transaction uses `next_nonce`.
    pub fn new(keypair: Keypair, chain_id: impl Into<String>, next_nonce: u64) -> Wallet {
        Wallet {
            keypair,
            chain_id: chain_id.into(),
            next_nonce,
            markets: BTreeMap::new(),
        }
    }

    /// A wallet set up from a node: its chain id, the account's pending nonce and the
    /// market symbols.
    pub async fn from_node<C>(client: &C, keypair: Keypair) -> Result<Wallet, ClientError>
    where
        C: SubscriptionClientT + Sync,
    {
        let status = LedgerApiClient::chain_status(client).await?;
        let mut w = Wallet::new(keypair, status.chain_id, 0);
        w.resync(client).await?;
        w.set_markets(&LedgerApiClient::get_markets(client).await?);
        Ok(w)
    }

    /// Sets the next nonce from the node (the account's pending nonce).
    pub async fn resync<C>(&mut self, client: &C) -> Result<u64, ClientError>
    where
        C: SubscriptionClientT + Sync,
    {
        let account = LedgerApiClient::get_account(client, self.address()).await?;
        self.next_nonce = account.pending_nonce;
        Ok(self.next_nonce)
    }

    /// Remembers market symbols for [`Wallet::market_id`].
    pub fn set_markets(&mut self, markets: &[MarketView]) {
        self.markets = markets
            .iter()
            .map(|m| (m.symbol.clone(), MarketId(m.id)))
            .collect();
    }

    /// The id of a market by symbol (`BTC/USD` or `BTC-USD`), once markets are known.
    pub fn market_id(&self, symbol: &str) -> Option<MarketId> {
        self.markets.get(&symbol.replace('-', "/")).copied()
    }

    /// The account address.
    pub fn address(&self) -> Address {
        self.keypair.public()
    }

    /// The key.
    pub fn keypair(&self) -> &Keypair {
        &self.keypair
    }

    /// The chain id transactions are signed for.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// The nonce the next transaction will use.
    pub fn next_nonce(&self) -> u64 {
        self.next_nonce
    }

    /// Sets the nonce the next transaction will use.
    pub fn set_next_nonce(&mut self, nonce: u64) {
        self.next_nonce = nonce;
    }

    /// Signs a transaction with the next nonce and advances it.
    pub fn sign(&mut self, payload: Payload) -> SignedTx {
        self.sign_until(payload, None)
    }

    /// Signs a transaction that is valid only up to block `valid_until_height` (if
    /// given), with the next nonce, and advances it.
    pub fn sign_until(&mut self, payload: Payload, valid_until_height: Option<u64>) -> SignedTx {
        let tx = Tx {
            chain_id: self.chain_id.clone(),
            sender: self.keypair.public(),
            nonce: self.next_nonce,
            payload,
            valid_until_height,
        };
        self.next_nonce += 1;
        tx.sign(&self.keypair)
    }

    /// Signs a batch of order actions (at most [`ledger_types::MAX_BATCH_ACTIONS`]).
    /// The order placed by action `i` has the id
    /// [`ledger_types::batch_order_id`]`(tx.hash(), i)`.
    pub fn batch(&mut self, actions: Vec<BatchAction>) -> SignedTx {
        self.sign(Payload::Batch(Batch { actions }))
    }

    /// Signs an amendment: a new price and/or a new total quantity.
    pub fn amend(
        &mut self,
        order: OrderRef,
        price: Option<Decimal>,
        quantity: Option<Decimal>,
    ) -> SignedTx {
        self.sign(Payload::AmendOrder(AmendOrder {
            order,
            price,
            quantity,
        }))
    }

    /// Signs a schedule-cancel: arm (or move) the dead man's switch to `at_height`, or
    /// clear it with `None`.
    pub fn schedule_cancel(&mut self, at_height: Option<u64>) -> SignedTx {
        self.sign(Payload::ScheduleCancel(ScheduleCancel { at_height }))
    }

    /// Signs an order (see [`Order`]). Its order id is the returned transaction's hash.
    pub fn place(&mut self, order: impl Into<PlaceOrder>) -> SignedTx {
        self.sign(Payload::PlaceOrder(order.into()))
    }

    /// Signs a GTC limit order.
    pub fn place_limit(
        &mut self,
        market: MarketId,
        side: Side,
        price: Decimal,
        quantity: Decimal,
    ) -> SignedTx {
        self.place(Order::limit(market, side, price, quantity))
    }

    /// Signs an IOC market order without a price bound.
    pub fn place_market(&mut self, market: MarketId, side: Side, quantity: Decimal) -> SignedTx {
        self.place(Order::market(market, side, quantity))
    }

    /// Signs a cancel by order id.
    pub fn cancel(&mut self, order_id: OrderId) -> SignedTx {
        self.sign(Payload::CancelOrder(CancelOrder {
            order: OrderRef::OrderId(order_id),
        }))
    }

    /// Signs a cancel by client order id.
    pub fn cancel_by_client_id(&mut self, client_order_id: u128) -> SignedTx {
        self.sign(Payload::CancelOrder(CancelOrder {
            order: OrderRef::ClientOrderId(ClientOrderId(client_order_id)),
        }))
    }

    /// Signs a cancel of every open order, on one market or on all.
    pub fn cancel_all(&mut self, market: Option<MarketId>) -> SignedTx {
        self.sign(Payload::CancelAll(CancelAll { market }))
    }

    /// Signs a transfer of `amount` whole units of `asset`.
    pub fn transfer(&mut self, to: Address, asset: AssetId, amount: Decimal) -> SignedTx {
        self.sign(Payload::Transfer(Transfer { to, asset, amount }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_with_sequential_nonces_and_valid_signatures() {
        let mut w = Wallet::new(Keypair::for_testing("alice"), "ledger-test", 5);
        let a = w.place_limit(MarketId(0), Side::Buy, Decimal::new(1005, 1), Decimal::ONE);
        let b = w.place(
            Order::market(MarketId(1), Side::Sell, Decimal::new(5, 1))
                .price(Decimal::from(90))
                .client_order_id(9)
                .self_trade(SelfTradePrevention::ExpireBoth),
        );
        let c = w.cancel(a.hash());
        let d = w.cancel_by_client_id(9);
        let e = w.cancel_all(None);
        let f = w.transfer(
            Keypair::for_testing("bob").public(),
            AssetId(1),
            Decimal::from(3),
        );
        let all = [&a, &b, &c, &d, &e, &f];
        for (i, t) in all.iter().enumerate() {
            assert_eq!(t.tx.nonce, 5 + i as u64);
            assert_eq!(t.tx.chain_id, "ledger-test");
            assert_eq!(t.sender(), w.address());
            assert_eq!(t.verify(), Ok(()));
        }
        assert_eq!(w.next_nonce(), 11);
        let Payload::PlaceOrder(p) = &b.tx.payload else {
            panic!("not an order")
        };
        assert_eq!(p.kind, OrderKind::Market);
        assert_eq!(p.time_in_force, TimeInForce::Ioc);
        assert_eq!(p.price, Some(Decimal::from(90)));
        assert_eq!(p.client_order_id, Some(ClientOrderId(9)));
        assert_eq!(p.self_trade, SelfTradePrevention::ExpireBoth);
        assert_eq!(
            Order::limit(MarketId(0), Side::Buy, Decimal::ONE, Decimal::ONE)
                .post_only()
                .build()
                .time_in_force,
            TimeInForce::PostOnly
        );
        assert_eq!(
            Order::limit(MarketId(0), Side::Buy, Decimal::ONE, Decimal::ONE)
                .fok()
                .build()
                .time_in_force,
            TimeInForce::Fok
        );
        w.set_next_nonce(0);
        assert_eq!(w.cancel_all(Some(MarketId(0))).tx.nonce, 0);
    }
}
