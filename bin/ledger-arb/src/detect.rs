//! Finding opportunities in book snapshots, net of taker fees and sized to the depth
//! seen (pure: no I/O, so it is tested on its own).
//!
//! * **Cross-venue**: one pair (say BTC/USD) on two venues; buy where the asks are low,
//!   sell where the bids are high. Level by level, both books are walked while the next
//!   unit still earns something after both taker fees; the size is then capped by the
//!   caller's limits and rounded down to the lot.
//! * **Triangular**: three markets of one venue, `A/Q`, `B/Q` and `B/A` (BTC/USD,
//!   ETH/USD, ETH/BTC): `Q -> A -> B -> Q` (buy A, buy B with A, sell B) or
//!   `Q -> B -> A -> Q` (buy B, sell B for A, sell A). A ladder of sizes is tried, each
//!   priced by walking the three books with every fee, and the most profitable is kept.
//!
//! Every leg's limit is the worst price level its walk reached, so a leg never trades
//! worse than what was priced; a bundle adds net bounds on top.

use ledger_rpc::{MarketView, OrderBookView};
use ledger_types::{Decimal, Side};
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

const BPS: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

/// A book side: (price, quantity) levels, best first.
pub type Levels = Vec<(Decimal, Decimal)>;

/// A market's book on one venue, with its trading rules.
#[derive(Clone, Debug)]
pub struct VenueBook {
    /// Venue index.
    pub venue: usize,
    /// The market's rules (symbol, sizes, fees).
    pub market: MarketView,
    /// Bids, best first.
    pub bids: Levels,
    /// Asks, best first.
    pub asks: Levels,
}

impl VenueBook {
    /// From a book snapshot.
    pub fn new(venue: usize, market: MarketView, view: &OrderBookView) -> VenueBook {
        VenueBook {
            venue,
            market,
            bids: view.bids.iter().map(|l| (l.price, l.quantity)).collect(),
            asks: view.asks.iter().map(|l| (l.price, l.quantity)).collect(),
        }
    }

    /// Mid price, if both sides exist.
    pub fn mid(&self) -> Option<Decimal> {
        Some((self.bids.first()?.0 + self.asks.first()?.0) / Decimal::TWO)
    }

    fn taker_fee(&self) -> Decimal {
        Decimal::from(self.market.taker_fee_bps) / BPS
    }
}

/// Walks `levels` for `qty` base: total quote and the worst price reached; `None` if the
/// depth seen is not enough.
pub fn walk(levels: &[(Decimal, Decimal)], qty: Decimal) -> Option<(Decimal, Decimal)> {
    let mut left = qty;
    let mut quote = Decimal::ZERO;
    let mut worst = None;
    for &(p, q) in levels {
        if left <= Decimal::ZERO {
            break;
        }
        let take = left.min(q);
        quote += take * p;
        left -= take;
        worst = Some(p);
    }
    if left > Decimal::ZERO || qty <= Decimal::ZERO {
        return None;
    }
    Some((quote, worst?))
}

/// Rounds down to a multiple of `lot`.
pub fn floor_lot(q: Decimal, lot: Decimal) -> Decimal {
    if lot <= Decimal::ZERO {
        return q;
    }
    (q / lot).floor() * lot
}

/// Rounds up to a multiple of `lot`.
pub fn ceil_lot(q: Decimal, lot: Decimal) -> Decimal {
    if lot <= Decimal::ZERO {
        return q;
    }
    (q / lot).ceil() * lot
}

/// One order of an opportunity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Leg {
    /// Venue index.
    pub venue: usize,
    /// Market symbol.
    pub market: String,
    /// Market id on that venue.
    pub market_id: u32,
    /// Buy or sell.
    pub side: Side,
    /// Quantity (base).
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    /// Limit: the worst level priced.
    #[serde(with = "rust_decimal::serde::str")]
    pub limit: Decimal,
}

/// Cross-venue or triangular.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// One pair on two venues (two IOC orders, one per venue).
    Cross,
    /// Three markets of one venue (one bundle).
    Triangle,
}

/// A priced opportunity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Opportunity {
    /// Identifies the gap across snapshots: kind, venues, markets and direction.
    pub key: String,
    /// Kind.
    pub kind: Kind,
    /// The orders, in execution order.
    pub legs: Vec<Leg>,
    /// Expected profit, net of taker fees, in `profit_asset`.
    #[serde(with = "rust_decimal::serde::str")]
    pub profit: Decimal,
    /// The asset the profit is counted in (the quote asset).
    pub profit_asset: String,
    /// Notional spent, in `profit_asset`.
    #[serde(with = "rust_decimal::serde::str")]
    pub notional: Decimal,
    /// For triangles: the intermediate asset left over as dust (base A), not counted in
    /// `profit`.
    #[serde(with = "rust_decimal::serde::str")]
    pub dust: Decimal,
}

impl Opportunity {
    /// Profit per notional, in basis points.
    pub fn bps(&self) -> f64 {
        if self.notional <= Decimal::ZERO {
            return 0.0;
        }
        (self.profit / self.notional * BPS).to_f64().unwrap_or(0.0)
    }
}

/// Limits on a cross-venue trade's size.
#[derive(Clone, Copy, Debug)]
pub struct CrossCaps {
    /// Largest base quantity.
    pub max_base: Decimal,
    /// Largest notional in the quote asset.
    pub max_notional: Decimal,
}

/// The cross-venue opportunity buying on `buy` and selling on `sell` (the same pair),
/// if any unit earns after fees; sized to the depth seen and `caps`.
pub fn cross(buy: &VenueBook, sell: &VenueBook, caps: CrossCaps) -> Option<Opportunity> {
    let (fb, fs) = (buy.taker_fee(), sell.taker_fee());
    let (mut i, mut j) = (0, 0);
    let (mut ask_left, mut bid_left) = (buy.asks.first()?.1, sell.bids.first()?.1);
    let mut qty = Decimal::ZERO;
    while i < buy.asks.len() && j < sell.bids.len() {
        let (pa, pb) = (buy.asks[i].0, sell.bids[j].0);
        if pb * (Decimal::ONE - fs) <= pa * (Decimal::ONE + fb) {
            break;
        }
        let take = ask_left.min(bid_left);
        qty += take;
        ask_left -= take;
        bid_left -= take;
        if ask_left <= Decimal::ZERO {
            i += 1;
            ask_left = buy.asks.get(i).map_or(Decimal::ZERO, |l| l.1);
        }
        if bid_left <= Decimal::ZERO {
            j += 1;
            bid_left = sell.bids.get(j).map_or(Decimal::ZERO, |l| l.1);
        }
    }
    let best_ask = buy.asks.first()?.0;
    let lot = buy.market.lot_size.max(sell.market.lot_size);
    let cap_notional = if best_ask > Decimal::ZERO {
        caps.max_notional / best_ask
    } else {
        Decimal::ZERO
    };
    let qty = floor_lot(qty.min(caps.max_base).min(cap_notional), lot);
    if qty < buy.market.min_size.max(sell.market.min_size) || qty <= Decimal::ZERO {
        return None;
    }
    let (cost, buy_limit) = walk(&buy.asks, qty)?;
    let (revenue, sell_limit) = walk(&sell.bids, qty)?;
    let profit = revenue * (Decimal::ONE - fs) - cost * (Decimal::ONE + fb);
    if profit <= Decimal::ZERO {
        return None;
    }
    let symbol = buy.market.symbol.clone();
    Some(Opportunity {
        key: format!("cross:{symbol}:{}->{}", buy.venue, sell.venue),
        kind: Kind::Cross,
        legs: vec![
            Leg {
                venue: buy.venue,
                market: symbol.clone(),
                market_id: buy.market.id,
                side: Side::Buy,
                quantity: qty,
                limit: buy_limit,
            },
            Leg {
                venue: sell.venue,
                market: symbol,
                market_id: sell.market.id,
                side: Side::Sell,
                quantity: qty,
                limit: sell_limit,
            },
        ],
        profit,
        profit_asset: buy.market.quote.clone(),
        notional: cost,
        dust: Decimal::ZERO,
    })
}

/// The three books of a triangle on one venue: `A/Q`, `B/Q`, `B/A`.
#[derive(Clone, Copy, Debug)]
pub struct Triangle<'a> {
    /// `A/Q` (BTC/USD).
    pub aq: &'a VenueBook,
    /// `B/Q` (ETH/USD).
    pub bq: &'a VenueBook,
    /// `B/A` (ETH/BTC).
    pub ba: &'a VenueBook,
}

impl<'a> Triangle<'a> {
    /// Finds `A/Q`, `B/Q`, `B/A` among one venue's books (`None` if not all present).
    pub fn find(books: &'a [VenueBook]) -> Vec<Triangle<'a>> {
        let mut out = Vec::new();
        for ba in books {
            let (b, a) = (&ba.market.base, &ba.market.quote);
            for aq in books.iter().filter(|m| &m.market.base == a) {
                let q = &aq.market.quote;
                if let Some(bq) = books
                    .iter()
                    .find(|m| &m.market.base == b && &m.market.quote == q)
                {
                    out.push(Triangle { aq, bq, ba });
                }
            }
        }
        out
    }

    /// The best size of one direction (`forward`: `Q -> A -> B -> Q`), trying a ladder of
    /// sizes of B up to `max_notional` of Q.
    pub fn best(&self, forward: bool, max_notional: Decimal) -> Option<Opportunity> {
        let lot_b = self.ba.market.lot_size.max(self.bq.market.lot_size);
        let min_b = self
            .ba
            .market
            .min_size
            .max(self.bq.market.min_size)
            .max(lot_b);
        let mut best: Option<Opportunity> = None;
        let mut k = Decimal::ONE;
        for _ in 0..24 {
            let qb = ceil_lot(min_b * k, lot_b);
            let Some(o) = self.price(forward, qb) else {
                break;
            };
            if o.notional > max_notional {
                break;
            }
            if o.profit > Decimal::ZERO && best.as_ref().is_none_or(|b| o.profit > b.profit) {
                best = Some(o);
            }
            k *= Decimal::new(15, 1);
        }
        best
    }

    /// Prices one direction for `qb` of B (`None` if the depth seen is not enough).
    pub fn price(&self, forward: bool, qb: Decimal) -> Option<Opportunity> {
        let one = Decimal::ONE;
        let (faq, fbq, fba) = (
            self.aq.taker_fee(),
            self.bq.taker_fee(),
            self.ba.taker_fee(),
        );
        let lot_a = self.aq.market.lot_size;
        let venue = self.aq.venue;
        let leg = |b: &VenueBook, side, quantity, limit| Leg {
            venue,
            market: b.market.symbol.clone(),
            market_id: b.market.id,
            side,
            quantity,
            limit,
        };
        let (legs, profit, notional, dust) = if forward {
            // Buy B with A (fee in A), buy that A with Q, sell B for Q.
            let (cost_a, lim_ba) = walk(&self.ba.asks, qb)?;
            let need_a = cost_a * (one + fba);
            let qa = ceil_lot(need_a, lot_a);
            let (cost_q, lim_aq) = walk(&self.aq.asks, qa)?;
            let (rev_q, lim_bq) = walk(&self.bq.bids, qb)?;
            let spent = cost_q * (one + faq);
            (
                vec![
                    leg(self.aq, Side::Buy, qa, lim_aq),
                    leg(self.ba, Side::Buy, qb, lim_ba),
                    leg(self.bq, Side::Sell, qb, lim_bq),
                ],
                rev_q * (one - fbq) - spent,
                spent,
                qa - need_a,
            )
        } else {
            // Buy B with Q, sell B for A (fee in A), sell that A for Q.
            let (cost_q, lim_bq) = walk(&self.bq.asks, qb)?;
            let (rev_a, lim_ba) = walk(&self.ba.bids, qb)?;
            let got_a = rev_a * (one - fba);
            let qa = floor_lot(got_a, lot_a);
            if qa < self.aq.market.min_size {
                return None;
            }
            let (rev_q, lim_aq) = walk(&self.aq.bids, qa)?;
            let spent = cost_q * (one + fbq);
            (
                vec![
                    leg(self.bq, Side::Buy, qb, lim_bq),
                    leg(self.ba, Side::Sell, qb, lim_ba),
                    leg(self.aq, Side::Sell, qa, lim_aq),
                ],
                rev_q * (one - faq) - spent,
                spent,
                got_a - qa,
            )
        };
        let names = [
            &self.aq.market.base,
            &self.bq.market.base,
            &self.aq.market.quote,
        ];
        let path = if forward {
            format!("{}>{}>{}>{}", names[2], names[0], names[1], names[2])
        } else {
            format!("{}>{}>{}>{}", names[2], names[1], names[0], names[2])
        };
        Some(Opportunity {
            key: format!("tri:{venue}:{path}"),
            kind: Kind::Triangle,
            legs,
            profit,
            profit_asset: self.aq.market.quote.clone(),
            notional,
            dust,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn market(id: u32, base: &str, quote: &str, tick: &str, lot: &str, fee: u32) -> MarketView {
        MarketView {
            id,
            symbol: format!("{base}/{quote}"),
            base: base.into(),
            quote: quote.into(),
            base_asset_id: 0,
            quote_asset_id: 1,
            base_decimals: 8,
            quote_decimals: 6,
            tick_size: tick.parse().unwrap(),
            lot_size: lot.parse().unwrap(),
            min_size: lot.parse().unwrap(),
            maker_fee_bps: 0,
            taker_fee_bps: fee,
        }
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn book(
        venue: usize,
        m: MarketView,
        bids: &[(&str, &str)],
        asks: &[(&str, &str)],
    ) -> VenueBook {
        VenueBook {
            venue,
            market: m,
            bids: bids.iter().map(|(p, q)| (d(p), d(q))).collect(),
            asks: asks.iter().map(|(p, q)| (d(p), d(q))).collect(),
        }
    }

    const CAPS: CrossCaps = CrossCaps {
        max_base: Decimal::from_parts(100, 0, 0, false, 0),
        max_notional: Decimal::from_parts(1_000_000, 0, 0, false, 0),
    };

    #[test]
    fn walk_and_lots() {
        let levels = vec![(d("100"), d("1")), (d("101"), d("2"))];
        assert_eq!(walk(&levels, d("2")), Some((d("201"), d("101"))));
        assert_eq!(walk(&levels, d("4")), None);
        assert_eq!(walk(&levels, d("0")), None);
        assert_eq!(floor_lot(d("1.23456"), d("0.001")), d("1.234"));
        assert_eq!(ceil_lot(d("1.2341"), d("0.001")), d("1.235"));
    }

    #[test]
    fn cross_takes_only_levels_that_earn_after_fees() {
        let m = market(0, "BTC", "USD", "0.01", "0.0001", 5);
        // Buy at 100 on venue 0, sell at 101 on venue 1; fees 5 bps each side.
        let a = book(
            0,
            m.clone(),
            &[("99", "5")],
            &[("100", "1"), ("100.9", "3")],
        );
        let b = book(1, m, &[("101", "2"), ("100.5", "5")], &[("102", "5")]);
        let o = cross(&a, &b, CAPS).unwrap();
        // Level 100 -> 101 earns; 100.9 -> 101 does not after 10 bps of fees.
        assert_eq!(o.legs[0].quantity, d("1"));
        assert_eq!(o.legs[0].limit, d("100"));
        assert_eq!(o.legs[1].limit, d("101"));
        assert_eq!(o.profit, d("101") * d("0.9995") - d("100") * d("1.0005"));
        assert!(o.bps() > 80.0 && o.bps() < 90.0, "{}", o.bps());
        assert_eq!(o.key, "cross:BTC/USD:0->1");
        // Nothing the other way round.
        assert!(cross(&b, &a, CAPS).is_none());
        // Caps round down to the lot.
        let capped = cross(
            &a,
            &b,
            CrossCaps {
                max_base: d("0.33333"),
                max_notional: d("1000000"),
            },
        )
        .unwrap();
        assert_eq!(capped.legs[0].quantity, d("0.3333"));
    }

    #[test]
    fn triangle_in_both_directions() {
        let aq = book(
            0,
            market(0, "BTC", "USD", "0.01", "0.0001", 5),
            &[("99.9", "10")],
            &[("100", "10")],
        );
        let bq = book(
            0,
            market(1, "ETH", "USD", "0.01", "0.001", 10),
            &[("52", "100")],
            &[("52.1", "100")],
        );
        // ETH/BTC at 0.5 while ETH/USD / BTC/USD is 0.52: buying ETH with BTC is cheap.
        let ba = book(
            0,
            market(2, "ETH", "BTC", "0.0001", "0.01", 5),
            &[("0.499", "100")],
            &[("0.5", "100")],
        );
        let books = vec![aq, bq, ba];
        let tris = Triangle::find(&books);
        assert_eq!(tris.len(), 1);
        let t = tris[0];
        let fwd = t.best(true, d("5000")).unwrap();
        assert_eq!(fwd.key, "tri:0:USD>BTC>ETH>USD");
        assert!(fwd.profit > Decimal::ZERO);
        assert!(fwd.notional <= d("5000"));
        assert!(fwd.dust >= Decimal::ZERO);
        assert_eq!(fwd.legs.len(), 3);
        assert_eq!(fwd.legs[0].side, Side::Buy);
        assert_eq!(fwd.legs[2].side, Side::Sell);
        // The reverse cycle loses money here.
        assert!(t.best(false, d("5000")).is_none());
        // Priced exactly for 1 ETH: 0.5 BTC * 1.0005 -> 0.5003 BTC bought at 100.
        let one = t.price(true, d("1")).unwrap();
        assert_eq!(one.legs[0].quantity, d("0.5003"));
        assert_eq!(
            one.profit,
            d("52") * d("0.999") - d("0.5003") * d("100") * d("1.0005")
        );
    }
}
