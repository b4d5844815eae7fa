//! [`Catalog`]: a chain's assets and markets, and every conversion from engine and chain
//! types (integer ticks, lots and smallest units) to wire views (decimals and symbols).

use crate::error::{Resource, RpcError};
use crate::types::{
    AccountView, ActionResultView, ActionStatus, BalanceView, CandleView, EventView, LevelView,
    Liquidity, MarketRef, MarketStatsView, MarketView, OrderBookView, OrderEvent, OrderStatus,
    OrderUpdate, OrderView, TradeView, TransferView, TxStatus, TxView, ValidatorView,
};
use ledger_engine::market::Step;
use ledger_engine::{
    AccountRecord, Depth, Event, Fill, MarketConfig, OrderRecord, Receipt, Rejection,
};
use ledger_types::decimal::from_units;
use ledger_types::{
    batch_order_id, Address, AssetId, Batch, BatchAction, Decimal, Genesis, Hash, MarketId,
    OrderKind, Payload, SignedTx, TxHash,
};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// An asset of the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetInfo {
    /// Asset id (index in the genesis).
    pub id: AssetId,
    /// Ticker, for example `BTC`.
    pub symbol: String,
    /// Decimals of the smallest unit.
    pub decimals: u32,
}

/// A chain's assets, markets and validators, with the conversions from engine units to
/// wire decimals. Build it once from the genesis and share it.
#[derive(Clone, Debug)]
pub struct Catalog {
    chain_id: String,
    assets: Vec<AssetInfo>,
    markets: Vec<MarketConfig>,
    validators: Vec<ValidatorView>,
}

impl Catalog {
    /// The catalog of a validated genesis.
    pub fn from_genesis(genesis: &Genesis) -> Catalog {
        Catalog {
            chain_id: genesis.chain_id.clone(),
            assets: genesis
                .assets
                .iter()
                .enumerate()
                .map(|(i, a)| AssetInfo {
                    id: AssetId(i as u32),
                    symbol: a.symbol.clone(),
                    decimals: a.decimals,
                })
                .collect(),
            markets: MarketConfig::all_from_genesis(genesis),
            validators: genesis
                .validators
                .iter()
                .enumerate()
                .map(|(i, v)| ValidatorView {
                    index: i as u32,
                    name: v.name.clone(),
                    public_key: v.public_key,
                    last_proposal: None,
                    last_proposal_time_ms: None,
                    last_vote: None,
                })
                .collect(),
        }
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// Every asset, in id order.
    pub fn assets(&self) -> &[AssetInfo] {
        &self.assets
    }

    /// Every market, in id order.
    pub fn markets(&self) -> &[MarketConfig] {
        &self.markets
    }

    /// The market with this id.
    pub fn market(&self, id: MarketId) -> Option<&MarketConfig> {
        self.markets.get(id.0 as usize)
    }

    /// The market named by symbol (`BTC/USD`, `BTC-USD`, any letter case) or id; a
    /// `market_not_found` error (code -32001, field `market`) otherwise.
    pub fn resolve_market(&self, r: &MarketRef) -> Result<&MarketConfig, RpcError> {
        let found = match r {
            MarketRef::Id(id) => self.market(*id),
            MarketRef::Symbol(s) => {
                let s = s.replace('-', "/");
                self.markets.iter().find(|m| m.symbol == s).or_else(|| {
                    self.markets
                        .iter()
                        .find(|m| m.symbol.eq_ignore_ascii_case(&s))
                })
            }
        };
        found.ok_or_else(|| RpcError::not_found(Resource::Market, "market", r))
    }

    /// The asset with this id.
    pub fn asset(&self, id: AssetId) -> Option<&AssetInfo> {
        self.assets.get(id.0 as usize)
    }

    /// The asset's symbol (`#<id>` for an unknown id).
    pub fn asset_symbol(&self, id: AssetId) -> String {
        self.asset(id)
            .map(|a| a.symbol.clone())
            .unwrap_or_else(|| format!("#{}", id.0))
    }

    /// An amount in the asset's smallest units as a decimal of whole units.
    pub fn asset_amount(&self, id: AssetId, units: u128) -> Decimal {
        let decimals = self.asset(id).map_or(0, |a| a.decimals);
        from_units(units, decimals).unwrap_or(Decimal::MAX)
    }

    /// The validators (or known miners) of the genesis.
    pub fn validators(&self) -> Vec<ValidatorView> {
        self.validators.clone()
    }

    /// The market's config; for an id outside the genesis (which a correct engine never
    /// produces) a stand-in with unit tick and lot, so conversions never panic.
    fn market_or_fallback(&self, id: MarketId) -> Cow<'_, MarketConfig> {
        match self.market(id) {
            Some(m) => Cow::Borrowed(m),
            None => Cow::Owned(MarketConfig {
                id,
                symbol: format!("#{}", id.0),
                base: AssetId(u32::MAX),
                quote: AssetId(u32::MAX),
                tick_size: Decimal::ONE,
                lot_size: Decimal::ONE,
                min_lots: 1,
                tick: Step::new(Decimal::ONE),
                lot: Step::new(Decimal::ONE),
                base_units_per_lot: 1,
                quote_units_per_tick_lot: 1,
                maker_fee_bps: 0,
                taker_fee_bps: 0,
                base_decimals: 0,
                quote_decimals: 0,
            }),
        }
    }

    // -----------------------------------------------------------------------------------
    // Markets and books
    // -----------------------------------------------------------------------------------

    /// The view of one market.
    pub fn market_view(&self, m: &MarketConfig) -> MarketView {
        MarketView {
            id: m.id.0,
            symbol: m.symbol.clone(),
            base: self.asset_symbol(m.base),
            quote: self.asset_symbol(m.quote),
            base_asset_id: m.base.0,
            quote_asset_id: m.quote.0,
            base_decimals: m.base_decimals,
            quote_decimals: m.quote_decimals,
            tick_size: m.tick_size.normalize(),
            lot_size: m.lot_size.normalize(),
            min_size: m.lots_to_quantity(m.min_lots),
            maker_fee_bps: m.maker_fee_bps,
            taker_fee_bps: m.taker_fee_bps,
        }
    }

    /// Every market (result of `get_markets`).
    pub fn market_views(&self) -> Vec<MarketView> {
        self.markets.iter().map(|m| self.market_view(m)).collect()
    }

    /// An L2 book in decimals (result of `get_order_book`, item of `subscribe_book`).
    pub fn order_book(&self, market: MarketId, depth: &Depth, block_height: u64) -> OrderBookView {
        let m = self.market_or_fallback(market);
        let levels = |side: &[ledger_engine::LevelView]| {
            side.iter()
                .map(|l| LevelView {
                    price: m.ticks_to_price(l.price),
                    quantity: m.lots_to_quantity(l.quantity),
                    orders: l.orders,
                })
                .collect()
        };
        OrderBookView {
            market: m.symbol.clone(),
            market_id: market.0,
            block_height,
            bids: levels(&depth.bids),
            asks: levels(&depth.asks),
        }
    }

    // -----------------------------------------------------------------------------------
    // Accounts and orders
    // -----------------------------------------------------------------------------------

    /// An account with a balance entry for every asset (zero where the record has none).
    /// `pending_nonce` is the next nonce counting the mempool (defaults to the final one).
    pub fn account(
        &self,
        address: Address,
        record: Option<&AccountRecord>,
        pending_nonce: Option<u64>,
    ) -> AccountView {
        let next_nonce = record.map_or(0, |r| r.nonce);
        AccountView {
            address,
            next_nonce,
            pending_nonce: pending_nonce.unwrap_or(next_nonce).max(next_nonce),
            balances: self
                .assets
                .iter()
                .map(|a| {
                    let b = record
                        .and_then(|r| r.balances.get(a.id.0 as usize))
                        .copied()
                        .unwrap_or_default();
                    BalanceView {
                        asset: a.symbol.clone(),
                        asset_id: a.id.0,
                        free: self.asset_amount(a.id, b.free),
                        locked: self.asset_amount(a.id, b.locked),
                        total: self.asset_amount(a.id, b.free.saturating_add(b.locked)),
                    }
                })
                .collect(),
        }
    }

    /// An open order from the engine's resting record. The record does not know the time
    /// in force or the fees paid so far (`time_in_force` is absent, `fees` zero); the
    /// node's order index, built with [`OrderView::from_accepted`] and
    /// [`OrderView::apply`], knows both.
    pub fn open_order(&self, record: &OrderRecord, placed_height: Option<u64>) -> OrderView {
        let m = self.market_or_fallback(record.market);
        OrderView {
            order_id: record.id,
            client_order_id: record.client_order_id,
            account: record.account,
            market: m.symbol.clone(),
            market_id: record.market.0,
            side: record.side,
            kind: OrderKind::Limit,
            time_in_force: None,
            price: Some(m.ticks_to_price(record.price)),
            quantity: m.lots_to_quantity(record.quantity),
            filled: m.lots_to_quantity(record.quantity.saturating_sub(record.remaining)),
            remaining: m.lots_to_quantity(record.remaining),
            fees: Decimal::ZERO,
            status: OrderStatus::Open,
            reason: None,
            placed_height,
            updated_height: None,
        }
    }

    // -----------------------------------------------------------------------------------
    // Events
    // -----------------------------------------------------------------------------------

    /// A fill as a trade, in a block at `block_height` with timestamp `time_ms`.
    pub fn trade(&self, f: &Fill, block_height: u64, time_ms: u64, tx_hash: TxHash) -> TradeView {
        let m = self.market_or_fallback(f.market);
        let price = m.ticks_to_price(f.price);
        let quantity = m.lots_to_quantity(f.quantity);
        let quote_quantity = m
            .notional(f.price, f.quantity)
            .map(|n| m.quote_amount(n))
            .or_else(|| price.checked_mul(quantity))
            .unwrap_or(Decimal::MAX);
        TradeView {
            trade_id: f.trade_id,
            market: m.symbol.clone(),
            market_id: f.market.0,
            price,
            quantity,
            quote_quantity,
            taker_side: f.taker_side,
            maker_order_id: f.maker_order,
            maker_client_order_id: f.maker_client_order_id,
            maker: f.maker,
            maker_fee: m.quote_amount(f.maker_fee),
            maker_remaining: m.lots_to_quantity(f.maker_remaining),
            taker_order_id: f.taker_order,
            taker_client_order_id: f.taker_client_order_id,
            taker: f.taker,
            taker_fee: m.quote_amount(f.taker_fee),
            taker_remaining: m.lots_to_quantity(f.taker_remaining),
            fee_asset: self.asset_symbol(m.quote),
            block_height,
            time_ms,
            tx_hash,
        }
    }

    /// A transfer of an account's history.
    #[allow(clippy::too_many_arguments)]
    pub fn transfer(
        &self,
        block_height: u64,
        time_ms: u64,
        tx_hash: TxHash,
        from: Address,
        to: Address,
        asset: AssetId,
        amount: u128,
    ) -> TransferView {
        TransferView {
            block_height,
            time_ms,
            tx_hash,
            from,
            to,
            asset: self.asset_symbol(asset),
            asset_id: asset.0,
            amount: self.asset_amount(asset, amount),
        }
    }

    /// A candle in decimals. `interval` is its wire name.
    #[allow(clippy::too_many_arguments)]
    pub fn candle(
        &self,
        market: MarketId,
        interval: &str,
        start: u64,
        ohlc: [u64; 4],
        volume_lots: u64,
        quote_units: u128,
        trades: u64,
    ) -> CandleView {
        let m = self.market_or_fallback(market);
        let [open, high, low, close] = ohlc.map(|p| m.ticks_to_price(p));
        CandleView {
            market: m.symbol.clone(),
            market_id: market.0,
            interval: interval.to_string(),
            start,
            open,
            high,
            low,
            close,
            volume: m.lots_to_quantity(volume_lots),
            quote_volume: m.quote_amount(quote_units),
            trades,
        }
    }

    /// 24-hour statistics in decimals; `ohlcv` is `None` when the window had no trade.
    #[allow(clippy::too_many_arguments)]
    pub fn market_stats(
        &self,
        market: MarketId,
        from_ms: u64,
        to_ms: u64,
        ohlcv: Option<([u64; 4], u64, u128, u64)>,
        last_price: Option<u64>,
    ) -> MarketStatsView {
        let m = self.market_or_fallback(market);
        let px = |t: u64| m.ticks_to_price(t);
        let (ohlc, volume, quote, trades) = match ohlcv {
            Some((ohlc, v, q, n)) => (
                Some(ohlc.map(px)),
                m.lots_to_quantity(v),
                m.quote_amount(q),
                n,
            ),
            None => (None, Decimal::ZERO, Decimal::ZERO, 0),
        };
        MarketStatsView {
            market: m.symbol.clone(),
            market_id: market.0,
            from_ms,
            to_ms,
            open: ohlc.map(|o| o[0]),
            high: ohlc.map(|o| o[1]),
            low: ohlc.map(|o| o[2]),
            close: ohlc.map(|o| o[3]),
            change: ohlc.map(|o| o[3] - o[0]),
            volume,
            quote_volume: quote,
            trades,
            last_price: last_price.map(px),
        }
    }

    /// An engine event in decimals (`time_ms`: the block's timestamp).
    pub fn event(&self, e: &Event, block_height: u64, time_ms: u64, tx_hash: TxHash) -> EventView {
        match e {
            Event::OrderAccepted {
                order_id,
                client_order_id,
                account,
                market,
                side,
                kind,
                time_in_force,
                price,
                quantity,
            } => {
                let m = self.market_or_fallback(*market);
                EventView::OrderAccepted {
                    block_height,
                    tx_hash,
                    order_id: *order_id,
                    client_order_id: *client_order_id,
                    account: *account,
                    market: m.symbol.clone(),
                    market_id: market.0,
                    side: *side,
                    kind: *kind,
                    time_in_force: *time_in_force,
                    price: price.map(|p| m.ticks_to_price(p)),
                    quantity: m.lots_to_quantity(*quantity),
                }
            }
            Event::Fill(f) => {
                EventView::Fill(Box::new(self.trade(f, block_height, time_ms, tx_hash)))
            }
            Event::OrderRested {
                order_id,
                client_order_id,
                account,
                market,
                side,
                price,
                remaining,
            } => {
                let m = self.market_or_fallback(*market);
                EventView::OrderRested {
                    block_height,
                    tx_hash,
                    order_id: *order_id,
                    client_order_id: *client_order_id,
                    account: *account,
                    market: m.symbol.clone(),
                    market_id: market.0,
                    side: *side,
                    price: m.ticks_to_price(*price),
                    remaining: m.lots_to_quantity(*remaining),
                }
            }
            Event::OrderCancelled {
                order_id,
                client_order_id,
                account,
                market,
                remaining,
                reason,
            } => {
                let m = self.market_or_fallback(*market);
                EventView::OrderCancelled {
                    block_height,
                    tx_hash,
                    order_id: *order_id,
                    client_order_id: *client_order_id,
                    account: *account,
                    market: m.symbol.clone(),
                    market_id: market.0,
                    remaining: m.lots_to_quantity(*remaining),
                    reason: *reason,
                }
            }
            Event::OrderExpired {
                order_id,
                client_order_id,
                account,
                market,
                remaining,
                reason,
            } => {
                let m = self.market_or_fallback(*market);
                EventView::OrderExpired {
                    block_height,
                    tx_hash,
                    order_id: *order_id,
                    client_order_id: *client_order_id,
                    account: *account,
                    market: m.symbol.clone(),
                    market_id: market.0,
                    remaining: m.lots_to_quantity(*remaining),
                    reason: *reason,
                }
            }
            Event::Transferred {
                from,
                to,
                asset,
                amount,
            } => EventView::Transferred {
                block_height,
                tx_hash,
                from: *from,
                to: *to,
                asset: self.asset_symbol(*asset),
                asset_id: asset.0,
                amount: self.asset_amount(*asset, *amount),
            },
            Event::OrderAmended {
                order_id,
                client_order_id,
                account,
                market,
                side,
                price,
                quantity,
                remaining,
                priority_kept,
            } => {
                let m = self.market_or_fallback(*market);
                EventView::OrderAmended {
                    block_height,
                    tx_hash,
                    order_id: *order_id,
                    client_order_id: *client_order_id,
                    account: *account,
                    market: m.symbol.clone(),
                    market_id: market.0,
                    side: *side,
                    price: m.ticks_to_price(*price),
                    quantity: m.lots_to_quantity(*quantity),
                    remaining: m.lots_to_quantity(*remaining),
                    priority_kept: *priority_kept,
                }
            }
            Event::CancelScheduled { account, at_height } => EventView::CancelScheduled {
                block_height,
                tx_hash,
                account: *account,
                at_height: *at_height,
            },
            Event::BundleExecuted { account, legs, net } => EventView::BundleExecuted {
                block_height,
                tx_hash,
                account: *account,
                legs: *legs,
                net: net
                    .iter()
                    .map(|(a, n)| (self.asset_symbol(*a), self.signed_amount(*a, *n)))
                    .collect(),
            },
            Event::SwapLocked {
                swap_id,
                owner,
                counterparty,
                asset,
                amount,
                hashlock,
                timeout_height,
            } => EventView::SwapLocked {
                block_height,
                tx_hash,
                swap: crate::atomic::SwapTerms {
                    swap_id: *swap_id,
                    owner: *owner,
                    counterparty: *counterparty,
                    asset: self.asset_symbol(*asset),
                    asset_id: asset.0,
                    amount: self.asset_amount(*asset, *amount),
                    hashlock: *hashlock,
                    timeout_height: *timeout_height,
                },
            },
            Event::SwapClaimed {
                swap_id,
                owner,
                counterparty,
                asset,
                amount,
                preimage,
            } => EventView::SwapClaimed {
                block_height,
                tx_hash,
                swap_id: *swap_id,
                owner: *owner,
                counterparty: *counterparty,
                asset: self.asset_symbol(*asset),
                asset_id: asset.0,
                amount: self.asset_amount(*asset, *amount),
                preimage: *preimage,
            },
            Event::SwapRefunded {
                swap_id,
                owner,
                counterparty,
                asset,
                amount,
            } => EventView::SwapRefunded {
                block_height,
                tx_hash,
                swap_id: *swap_id,
                owner: *owner,
                counterparty: *counterparty,
                asset: self.asset_symbol(*asset),
                asset_id: asset.0,
                amount: self.asset_amount(*asset, *amount),
            },
        }
    }

    /// A signed amount in an asset's smallest units as a decimal of whole units.
    pub fn signed_amount(&self, id: AssetId, units: i128) -> crate::num::SignedDecimal {
        let d = self.asset_amount(id, units.unsigned_abs());
        crate::num::SignedDecimal(if units < 0 { -d } else { d })
    }

    /// Every event of a transaction in decimals.
    pub fn events(
        &self,
        events: &[Event],
        block_height: u64,
        time_ms: u64,
        tx_hash: TxHash,
    ) -> Vec<EventView> {
        events
            .iter()
            .map(|e| self.event(e, block_height, time_ms, tx_hash))
            .collect()
    }

    /// The order updates an event causes, from each owner's point of view: one for an
    /// order event, two for a fill (maker first, then taker, each with its own side, fee
    /// and `liquidity`), none for a transfer. Filter by `account` for
    /// `subscribe_orders`.
    pub fn order_updates(&self, e: &Event, block_height: u64, tx_hash: TxHash) -> Vec<OrderUpdate> {
        let update = |order_id, client_order_id, account, market: MarketId, event| {
            let m = self.market_or_fallback(market);
            OrderUpdate {
                block_height,
                tx_hash,
                order_id,
                client_order_id,
                account,
                market: m.symbol.clone(),
                market_id: market.0,
                event,
            }
        };
        match e {
            Event::OrderAccepted {
                order_id,
                client_order_id,
                account,
                market,
                side,
                kind,
                time_in_force,
                price,
                quantity,
            } => {
                let m = self.market_or_fallback(*market);
                let event = OrderEvent::Accepted {
                    side: *side,
                    kind: *kind,
                    time_in_force: *time_in_force,
                    price: price.map(|p| m.ticks_to_price(p)),
                    quantity: m.lots_to_quantity(*quantity),
                };
                vec![update(
                    *order_id,
                    *client_order_id,
                    *account,
                    *market,
                    event,
                )]
            }
            Event::Fill(f) => {
                let t = self.trade(f, block_height, 0, tx_hash);
                let maker = OrderEvent::Fill {
                    trade_id: t.trade_id,
                    side: f.taker_side.opposite(),
                    price: t.price,
                    quantity: t.quantity,
                    fee: t.maker_fee,
                    fee_asset: t.fee_asset.clone(),
                    liquidity: Liquidity::Maker,
                    remaining: t.maker_remaining,
                };
                let taker = OrderEvent::Fill {
                    trade_id: t.trade_id,
                    side: f.taker_side,
                    price: t.price,
                    quantity: t.quantity,
                    fee: t.taker_fee,
                    fee_asset: t.fee_asset.clone(),
                    liquidity: Liquidity::Taker,
                    remaining: t.taker_remaining,
                };
                vec![
                    update(
                        f.maker_order,
                        f.maker_client_order_id,
                        f.maker,
                        f.market,
                        maker,
                    ),
                    update(
                        f.taker_order,
                        f.taker_client_order_id,
                        f.taker,
                        f.market,
                        taker,
                    ),
                ]
            }
            Event::OrderRested {
                order_id,
                client_order_id,
                account,
                market,
                side,
                price,
                remaining,
            } => {
                let m = self.market_or_fallback(*market);
                let event = OrderEvent::Rested {
                    side: *side,
                    price: m.ticks_to_price(*price),
                    remaining: m.lots_to_quantity(*remaining),
                };
                vec![update(
                    *order_id,
                    *client_order_id,
                    *account,
                    *market,
                    event,
                )]
            }
            Event::OrderCancelled {
                order_id,
                client_order_id,
                account,
                market,
                remaining,
                reason,
            } => {
                let m = self.market_or_fallback(*market);
                let event = OrderEvent::Cancelled {
                    remaining: m.lots_to_quantity(*remaining),
                    reason: *reason,
                };
                vec![update(
                    *order_id,
                    *client_order_id,
                    *account,
                    *market,
                    event,
                )]
            }
            Event::OrderExpired {
                order_id,
                client_order_id,
                account,
                market,
                remaining,
                reason,
            } => {
                let m = self.market_or_fallback(*market);
                let event = OrderEvent::Expired {
                    remaining: m.lots_to_quantity(*remaining),
                    reason: *reason,
                };
                vec![update(
                    *order_id,
                    *client_order_id,
                    *account,
                    *market,
                    event,
                )]
            }
            Event::OrderAmended {
                order_id,
                client_order_id,
                account,
                market,
                side,
                price,
                quantity,
                remaining,
                priority_kept,
            } => {
                let m = self.market_or_fallback(*market);
                let event = OrderEvent::Amended {
                    side: *side,
                    price: m.ticks_to_price(*price),
                    quantity: m.lots_to_quantity(*quantity),
                    remaining: m.lots_to_quantity(*remaining),
                    priority_kept: *priority_kept,
                };
                vec![update(
                    *order_id,
                    *client_order_id,
                    *account,
                    *market,
                    event,
                )]
            }
            Event::Transferred { .. }
            | Event::CancelScheduled { .. }
            | Event::BundleExecuted { .. }
            | Event::SwapLocked { .. }
            | Event::SwapClaimed { .. }
            | Event::SwapRefunded { .. } => Vec::new(),
        }
    }

    // -----------------------------------------------------------------------------------
    // Transactions and rejections
    // -----------------------------------------------------------------------------------

    /// A transaction of a final block with its receipt: status `final` with its events
    /// (and, for a batch, one result per action), or `rejected` with the engine's reason
    /// as an error object (code -32003). `time_ms` is the block's timestamp.
    pub fn final_tx(
        &self,
        stx: &SignedTx,
        block_height: u64,
        block_hash: Hash,
        time_ms: u64,
        position: u32,
        receipt: &Receipt,
    ) -> TxView {
        let mut view = TxView::included(stx, block_height, block_hash, position);
        view.time_ms = Some(time_ms);
        match &receipt.result {
            Ok(()) => view.status = TxStatus::Final,
            Err(r) => {
                view.status = TxStatus::Rejected;
                view.error = Some(self.rejection(r, Some(&stx.tx.payload)).to_api_error());
            }
        }
        if let (Payload::Batch(b), Ok(())) = (&stx.tx.payload, &receipt.result) {
            view.actions = Some(self.action_results(stx, b, &receipt.actions));
        }
        view.events = self.events(&receipt.events, block_height, time_ms, stx.hash());
        view
    }

    /// One view per batch action: `ok` with the placed order's id, or `rejected` with the
    /// engine's reason (its `field` prefixed with `payload.actions[i].`).
    pub fn action_results(
        &self,
        stx: &SignedTx,
        batch: &Batch,
        results: &[Result<(), Rejection>],
    ) -> Vec<ActionResultView> {
        batch
            .actions
            .iter()
            .zip(results)
            .enumerate()
            .map(|(i, (action, r))| {
                let index = i as u32;
                let (payload, placed) = match action {
                    BatchAction::PlaceOrder(p) => (Payload::PlaceOrder(p.clone()), true),
                    BatchAction::CancelOrder(c) => (Payload::CancelOrder(*c), false),
                    BatchAction::AmendOrder(a) => (Payload::AmendOrder(a.clone()), false),
                };
                match r {
                    Ok(()) => ActionResultView {
                        index,
                        status: ActionStatus::Ok,
                        order_id: placed.then(|| batch_order_id(&stx.hash(), index)),
                        error: None,
                    },
                    Err(rej) => {
                        let mut e = self.rejection(rej, Some(&payload)).to_api_error();
                        if let Some(d) = e.data.as_mut() {
                            if let Some(f) = d.field.as_mut() {
                                if let Some(rest) = f.strip_prefix("payload") {
                                    *f = format!("payload.actions[{i}]{rest}");
                                }
                            }
                        }
                        ActionResultView {
                            index,
                            status: ActionStatus::Rejected,
                            order_id: None,
                            error: Some(e),
                        }
                    }
                }
            })
            .collect()
    }

    /// An engine rejection as an error (code -32003) with amounts in decimals and asset
    /// symbols. Pass the transaction's payload when known: it names the market for tick,
    /// lot and minimum sizes.
    pub fn rejection(&self, r: &Rejection, payload: Option<&Payload>) -> RpcError {
        render_rejection(r, Some(self), payload)
    }
}

/// Renders an engine rejection (see [`Catalog::rejection`]).
pub(crate) fn render_rejection(
    r: &Rejection,
    catalog: Option<&Catalog>,
    payload: Option<&Payload>,
) -> RpcError {
    let market = match (catalog, payload) {
        (Some(c), Some(Payload::PlaceOrder(o))) => c.market(o.market),
        _ => None,
    };
    let height_details = |put: &mut dyn FnMut(&str, String), a: (&str, u64), b: u64| {
        put(a.0, a.1.to_string());
        put("height", b.to_string());
    };
    let mut details = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        details.insert(k.to_string(), v);
    };
    let mut message = r.to_string();
    let field = match r {
        Rejection::WrongChainId { expected, got } => {
            put("expected", expected.clone());
            put("got", got.clone());
            "chain_id"
        }
        Rejection::NonceReplayed { expected, got } | Rejection::NonceTooHigh { expected, got } => {
            put("expected", expected.to_string());
            put("got", got.to_string());
            "nonce"
        }
        Rejection::UnknownMarket(id) => {
            put("market_id", id.0.to_string());
            message = format!("unknown market id {}", id.0);
            "payload.market"
        }
        Rejection::UnknownAsset(id) => {
            put("asset_id", id.0.to_string());
            message = format!("unknown asset id {}", id.0);
            "payload.asset"
        }
        Rejection::MissingPrice => "payload.price",
        Rejection::InvalidPrice => {
            if let Some(m) = market {
                put("tick_size", m.tick_size.normalize().to_string());
                message = format!(
                    "price is not a positive multiple of {}'s tick size {}",
                    m.symbol,
                    m.tick_size.normalize()
                );
            }
            "payload.price"
        }
        Rejection::InvalidQuantity => {
            if let Some(m) = market {
                put("lot_size", m.lot_size.normalize().to_string());
                message = format!(
                    "quantity is not a positive multiple of {}'s lot size {}",
                    m.symbol,
                    m.lot_size.normalize()
                );
            }
            "payload.quantity"
        }
        Rejection::BelowMinSize { min_lots } => {
            put("min_lots", min_lots.to_string());
            if let Some(m) = market {
                let min = m.lots_to_quantity(*min_lots);
                put("min_size", min.to_string());
                message = format!("quantity is below {}'s minimum size {min}", m.symbol);
            }
            "payload.quantity"
        }
        Rejection::InvalidTimeInForce => "payload.time_in_force",
        Rejection::InsufficientBalance {
            asset,
            needed,
            available,
        } => {
            put("asset_id", asset.0.to_string());
            match catalog {
                Some(c) => {
                    let symbol = c.asset_symbol(*asset);
                    let needed = c.asset_amount(*asset, *needed);
                    let available = c.asset_amount(*asset, *available);
                    message =
                        format!("insufficient {symbol} balance: need {needed}, have {available}");
                    put("asset", symbol);
                    put("needed", needed.to_string());
                    put("available", available.to_string());
                }
                None => {
                    put("needed_units", needed.to_string());
                    put("available_units", available.to_string());
                }
            }
            "payload"
        }
        Rejection::PostOnlyWouldCross => "payload.price",
        Rejection::FillOrKillUnfilled => "payload.quantity",
        Rejection::NoLiquidity => "payload.market",
        Rejection::DuplicateClientOrderId => "payload.client_order_id",
        Rejection::OrderNotFound => match payload {
            Some(Payload::CancelOrder(_)) | None => "payload.order",
            Some(_) => "payload",
        },
        Rejection::TooManyOpenOrders { limit } => {
            put("limit", limit.to_string());
            "sender"
        }
        Rejection::InvalidAmount => "payload.amount",
        Rejection::SelfTransfer => "payload.to",
        Rejection::Overflow => "payload",
        Rejection::TxExpired {
            valid_until_height,
            height,
        } => {
            height_details(
                &mut put,
                ("valid_until_height", *valid_until_height),
                *height,
            );
            "valid_until_height"
        }
        Rejection::EmptyBatch => "payload.actions",
        Rejection::BatchTooLarge { max, got } => {
            put("max", max.to_string());
            put("got", got.to_string());
            "payload.actions"
        }
        Rejection::GoodTillInPast {
            good_till_height,
            height,
        } => {
            height_details(&mut put, ("good_till_height", *good_till_height), *height);
            "payload.good_till_height"
        }
        Rejection::EmptyAmend => "payload",
        Rejection::AmendBelowFilled { filled_lots } => {
            put("filled_lots", filled_lots.to_string());
            "payload.quantity"
        }
        Rejection::AmendWouldCross => "payload.price",
        Rejection::ScheduleNotInFuture { at_height, height } => {
            height_details(&mut put, ("at_height", *at_height), *height);
            "payload.at_height"
        }
        Rejection::InvalidBundle { detail } => {
            put("detail", detail.clone());
            "payload.legs"
        }
        Rejection::BundleLegFailed { leg, cause } => {
            let payload_leg = match (catalog, payload) {
                (Some(_), Some(Payload::Bundle(b))) => b.legs.get(*leg as usize).map(|l| {
                    Payload::PlaceOrder(ledger_types::PlaceOrder {
                        market: l.market,
                        side: l.side,
                        kind: OrderKind::Limit,
                        price: Some(l.price),
                        quantity: l.quantity,
                        time_in_force: l.time_in_force,
                        client_order_id: l.client_order_id,
                        self_trade: l.self_trade,
                        good_till_height: None,
                    })
                }),
                _ => None,
            };
            let inner = render_rejection(cause, catalog, payload_leg.as_ref());
            if let RpcError::Rejected {
                message: m,
                field: f,
                details: d,
                ..
            } = inner
            {
                message = format!("bundle leg {leg}: {m}");
                put("cause_field", f.to_string());
                for (k, v) in d {
                    put(&k, v);
                }
            }
            put("leg", leg.to_string());
            put("cause", cause.code_name().to_string());
            "payload.legs"
        }
        Rejection::BundleLegUnfilled {
            leg,
            filled,
            quantity,
        } => {
            put("leg", leg.to_string());
            put("filled_lots", filled.to_string());
            put("quantity_lots", quantity.to_string());
            "payload.legs"
        }
        Rejection::BundleNetBelowMinimum { asset, net, min } => {
            put("asset_id", asset.0.to_string());
            if let Some(c) = catalog {
                let symbol = c.asset_symbol(*asset);
                let (net, min) = (
                    c.signed_amount(*asset, *net).0,
                    c.signed_amount(*asset, *min).0,
                );
                message =
                    format!("the bundle would end with {net} {symbol}, below the minimum {min}");
                put("asset", symbol);
                put("net", net.to_string());
                put("min", min.to_string());
            }
            "payload.min_net"
        }
        Rejection::SwapNotFound => "payload.swap_id",
        Rejection::SwapNotCounterparty | Rejection::SwapNotOwner => "sender",
        Rejection::WrongPreimage => "payload.preimage",
        Rejection::SwapExpired {
            timeout_height,
            height,
        }
        | Rejection::SwapNotExpired {
            timeout_height,
            height,
        } => {
            put("timeout_height", timeout_height.to_string());
            put("height", height.to_string());
            "payload.swap_id"
        }
        Rejection::InvalidSwapTimeout {
            timeout_height,
            height,
            max_ahead,
        } => {
            put("timeout_height", timeout_height.to_string());
            put("height", height.to_string());
            put("max_ahead", max_ahead.to_string());
            "payload.timeout_height"
        }
        Rejection::TooManySwaps { limit } => {
            put("limit", limit.to_string());
            "sender"
        }
    };
    RpcError::Rejected {
        rejection: Box::new(r.clone()),
        message,
        field,
        details,
    }
}
