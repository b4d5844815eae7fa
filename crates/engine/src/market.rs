//! Market configuration in integer units: prices in ticks, quantities in lots, amounts in
//! each asset's smallest unit.

use ledger_types::decimal::{from_steps, from_units, to_steps, to_units};
use ledger_types::genesis::Genesis;
use ledger_types::{AssetId, Decimal, MarketId};

/// Basis points in one whole.
pub const BPS: u128 = 10_000;

const POW10: [u128; 39] = {
    let mut t = [1u128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// A positive step (tick or lot size) that converts decimals to whole steps with
/// integer arithmetic only (no normalization, no decimal division).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    mantissa: u128,
    scale: u32,
}

impl Step {
    /// The step for a positive decimal.
    pub fn new(step: Decimal) -> Step {
        let n = step.normalize();
        Step {
            mantissa: n.mantissa().unsigned_abs(),
            scale: n.scale(),
        }
    }

    /// `value / step` if `value` is a positive exact multiple that fits in a `u64`.
    #[inline]
    pub fn count(&self, value: Decimal) -> Option<u64> {
        if value.is_sign_negative() || value.is_zero() || self.mantissa == 0 {
            return None;
        }
        let (m, s) = (value.mantissa().unsigned_abs(), value.scale());
        // value / step = (m / 10^s) / (sm / 10^ss) = m * 10^ss / (sm * 10^s)
        let (num, den) = if s >= self.scale {
            (
                m,
                self.mantissa
                    .checked_mul(POW10[(s - self.scale) as usize])?,
            )
        } else {
            (
                m.checked_mul(POW10[(self.scale - s) as usize])?,
                self.mantissa,
            )
        };
        let q = if den == 1 {
            num
        } else if num <= u64::MAX as u128 && den <= u64::MAX as u128 {
            let (n, d) = (num as u64, den as u64);
            if n % d != 0 {
                return None;
            }
            (n / d) as u128
        } else {
            if num % den != 0 {
                return None;
            }
            num / den
        };
        u64::try_from(q).ok()
    }
}

/// A market with every constant the matching engine needs, precomputed as integers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketConfig {
    /// Market id (index in the genesis).
    pub id: MarketId,
    /// `BASE/QUOTE`.
    pub symbol: String,
    /// Base asset.
    pub base: AssetId,
    /// Quote asset.
    pub quote: AssetId,
    /// Price increment (quote per base).
    pub tick_size: Decimal,
    /// Quantity increment (base).
    pub lot_size: Decimal,
    /// Smallest order, in lots.
    pub min_lots: u64,
    /// The tick as a fast converter.
    pub tick: Step,
    /// The lot as a fast converter.
    pub lot: Step,
    /// Smallest units of the base asset in one lot.
    pub base_units_per_lot: u128,
    /// Smallest units of the quote asset that one lot costs at a price of one tick.
    pub quote_units_per_tick_lot: u128,
    /// Maker fee in basis points.
    pub maker_fee_bps: u32,
    /// Taker fee in basis points.
    pub taker_fee_bps: u32,
    /// Decimals of the base asset.
    pub base_decimals: u32,
    /// Decimals of the quote asset.
    pub quote_decimals: u32,
}

impl MarketConfig {
    /// Builds every market of a validated genesis.
    pub fn all_from_genesis(genesis: &Genesis) -> Vec<MarketConfig> {
        genesis
            .markets
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let base = genesis.asset_id(&m.base)?;
                let quote = genesis.asset_id(&m.quote)?;
                let base_decimals = genesis.assets[base.0 as usize].decimals;
                let quote_decimals = genesis.assets[quote.0 as usize].decimals;
                Some(MarketConfig {
                    id: MarketId(i as u32),
                    symbol: m.symbol(),
                    base,
                    quote,
                    tick_size: m.tick_size,
                    lot_size: m.lot_size,
                    min_lots: to_steps(m.min_size, m.lot_size)?,
                    tick: Step::new(m.tick_size),
                    lot: Step::new(m.lot_size),
                    base_units_per_lot: to_units(m.lot_size, base_decimals)?,
                    quote_units_per_tick_lot: to_units(
                        m.tick_size.checked_mul(m.lot_size)?,
                        quote_decimals,
                    )?,
                    maker_fee_bps: m.maker_fee_bps,
                    taker_fee_bps: m.taker_fee_bps,
                    base_decimals,
                    quote_decimals,
                })
            })
            .collect()
    }

    /// A price in ticks, if it is a positive multiple of the tick size.
    pub fn price_to_ticks(&self, price: Decimal) -> Option<u64> {
        self.tick.count(price)
    }

    /// A quantity in lots, if it is a positive multiple of the lot size.
    pub fn quantity_to_lots(&self, quantity: Decimal) -> Option<u64> {
        self.lot.count(quantity)
    }

    /// A price in ticks as a decimal.
    pub fn ticks_to_price(&self, ticks: u64) -> Decimal {
        from_steps(ticks, self.tick_size).unwrap_or(Decimal::MAX)
    }

    /// A quantity in lots as a decimal.
    pub fn lots_to_quantity(&self, lots: u64) -> Decimal {
        from_steps(lots, self.lot_size).unwrap_or(Decimal::MAX)
    }

    /// An amount of the quote asset in smallest units as a decimal.
    pub fn quote_amount(&self, units: u128) -> Decimal {
        from_units(units, self.quote_decimals).unwrap_or(Decimal::MAX)
    }

    /// Quote units paid for `lots` at `ticks` (before fees), if it fits in a `u128`.
    pub fn notional(&self, ticks: u64, lots: u64) -> Option<u128> {
        (ticks as u128)
            .checked_mul(lots as u128)?
            .checked_mul(self.quote_units_per_tick_lot)
    }

    /// Base units in `lots`.
    pub fn base_units(&self, lots: u64) -> Option<u128> {
        (lots as u128).checked_mul(self.base_units_per_lot)
    }

    /// The larger of the two fee rates: what a buy order locks for fees.
    pub fn max_fee_bps(&self) -> u32 {
        self.maker_fee_bps.max(self.taker_fee_bps)
    }
}

/// Fee on `notional` at `bps` basis points, **rounded down** to the quote asset's
/// smallest unit (in the payer's favour). Rounding down per fill means the sum of the
/// fees of an order's fills never exceeds the fee on its total, so what a buy order locks
/// up front (notional at its limit plus the rounded-down fee at the higher rate) always
/// covers every fill.
#[inline]
pub fn fee(notional: u128, bps: u32) -> u128 {
    let x = notional.saturating_mul(bps as u128);
    // The same quotient; a 64-bit division by a constant is a multiplication, a 128-bit
    // one a call to `__udivti3`.
    match u64::try_from(x) {
        Ok(x) => (x / BPS as u64) as u128,
        Err(_) => x / BPS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_types::Keypair;
    use std::str::FromStr;

    #[test]
    fn units_from_genesis() {
        let g = Genesis::for_testing(&[Keypair::for_testing("a").public()], &[]);
        let m = &MarketConfig::all_from_genesis(&g)[0];
        // BTC/USD: tick 0.01 USD, lot 0.0001 BTC (8 decimals), USD 6 decimals.
        assert_eq!(m.base_units_per_lot, 10_000);
        assert_eq!(m.quote_units_per_tick_lot, 1); // 0.01 * 0.0001 = 1e-6 USD
        assert_eq!(
            m.price_to_ticks(Decimal::from_str("100.05").unwrap()),
            Some(10_005)
        );
        assert_eq!(
            m.price_to_ticks(Decimal::from_str("100.055").unwrap()),
            None
        );
        assert_eq!(
            m.quantity_to_lots(Decimal::from_str("0.5").unwrap()),
            Some(5_000)
        );
        assert_eq!(m.notional(10_000, 10_000), Some(100_000_000)); // 100 USD * 1 BTC
        assert_eq!(
            m.ticks_to_price(10_005),
            Decimal::from_str("100.05").unwrap()
        );
    }

    #[test]
    fn fee_equals_the_128_bit_quotient() {
        let edges = [0u128, 1, 9_999, 10_000, 10_001, u64::MAX as u128, u128::MAX];
        for bps in [0u32, 1, 2, 5, 30, 10_000, u32::MAX] {
            let mut ns: Vec<u128> = edges.to_vec();
            if bps > 0 {
                // Around the notional where `notional * bps` leaves 64 bits.
                let n = u64::MAX as u128 / bps as u128;
                ns.extend([n - 1, n, n + 1, n + 2, n * 10_000]);
            }
            for n in ns {
                let want = n.saturating_mul(bps as u128) / BPS;
                assert_eq!(fee(n, bps), want, "notional {n} bps {bps}");
            }
        }
    }

    #[test]
    fn step_counts_match_decimal_division() {
        let cases = [
            ("0.01", "100.05", Some(10_005)),
            ("0.01", "100.050", Some(10_005)),
            ("0.01", "100.055", None),
            ("0.05", "100.25", Some(2005)),
            ("0.05", "100.26", None),
            ("5", "100", Some(20)),
            ("5", "102", None),
            ("0.0001", "3", Some(30_000)),
            ("0.01", "0", None),
            ("0.01", "-1", None),
            ("0.01", "184467440737095516.15", Some(u64::MAX)),
            ("0.01", "184467440737095516.16", None),
        ];
        for (step, value, want) in cases {
            let step_d = Decimal::from_str(step).unwrap();
            let v = Decimal::from_str(value).unwrap();
            assert_eq!(Step::new(step_d).count(v), want, "{value} / {step}");
            assert_eq!(to_steps(v, step_d), want, "{value} / {step}");
        }
    }

    #[test]
    fn fees_round_down() {
        assert_eq!(fee(19_999, 5), 9); // 9.9995 -> 9
        assert_eq!(fee(20_000, 5), 10);
        assert_eq!(fee(1, 10), 0);
    }
}
