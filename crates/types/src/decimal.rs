//! Canonical binary encoding of `rust_decimal::Decimal` and exact unit conversions.
//!
//! A decimal is encoded as its normalized 96-bit mantissa (as an `i128`) and scale
//! (`u8`). Decoding rejects a scale above 28, a mantissa beyond 96 bits and any value
//! that is not normalized (trailing zeros), so each number has exactly one encoding.

use bincode::de::Decoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};
use rust_decimal::Decimal;

const MAX_MANTISSA: i128 = (1i128 << 96) - 1;

/// Writes the canonical encoding of `d`.
pub fn encode_decimal<E: Encoder>(d: &Decimal, encoder: &mut E) -> Result<(), EncodeError> {
    let n = d.normalize();
    n.mantissa().encode(encoder)?;
    (n.scale() as u8).encode(encoder)
}

/// Reads a canonically encoded decimal.
pub fn decode_decimal<C, D: Decoder<Context = C>>(decoder: &mut D) -> Result<Decimal, DecodeError> {
    let mantissa = i128::decode(decoder)?;
    let scale = u8::decode(decoder)?;
    if scale > 28 || !(-MAX_MANTISSA..=MAX_MANTISSA).contains(&mantissa) {
        return Err(DecodeError::OtherString(format!(
            "decimal out of range (mantissa {mantissa}, scale {scale})"
        )));
    }
    let d = Decimal::from_i128_with_scale(mantissa, scale as u32);
    let n = d.normalize();
    if n.mantissa() != mantissa || n.scale() != scale as u32 {
        return Err(DecodeError::OtherString(
            "decimal is not in canonical (normalized) form".into(),
        ));
    }
    Ok(d)
}

/// `amount` expressed in units of `10^-decimals`, if it is a non-negative exact multiple
/// of that unit that fits in a `u128`.
pub fn to_units(amount: Decimal, decimals: u32) -> Option<u128> {
    if amount.is_sign_negative() && !amount.is_zero() {
        return None;
    }
    let n = amount.normalize();
    let scale = n.scale();
    let mantissa = n.mantissa().unsigned_abs();
    if scale <= decimals {
        mantissa.checked_mul(10u128.checked_pow(decimals - scale)?)
    } else {
        let div = 10u128.checked_pow(scale - decimals)?;
        if mantissa.is_multiple_of(div) {
            Some(mantissa / div)
        } else {
            None
        }
    }
}

/// `units * 10^-decimals` as a decimal, if it fits (96-bit mantissa, scale at most 28).
pub fn from_units(units: u128, decimals: u32) -> Option<Decimal> {
    if units > MAX_MANTISSA as u128 || decimals > 28 {
        return None;
    }
    Some(Decimal::from_i128_with_scale(units as i128, decimals).normalize())
}

/// `value / step` if `value` is a positive exact multiple of the positive `step` and the
/// quotient fits in a `u64`. Used for prices in ticks and quantities in lots.
pub fn to_steps(value: Decimal, step: Decimal) -> Option<u64> {
    if value.is_sign_negative() || value.is_zero() || step.is_sign_negative() || step.is_zero() {
        return None;
    }
    // Bring both to the same scale and divide the mantissas exactly.
    let (v, s) = (value.normalize(), step.normalize());
    let scale = v.scale().max(s.scale());
    let vm = v
        .mantissa()
        .checked_mul(10i128.checked_pow(scale - v.scale())?)?;
    let sm = s
        .mantissa()
        .checked_mul(10i128.checked_pow(scale - s.scale())?)?;
    if vm % sm != 0 {
        return None;
    }
    u64::try_from(vm / sm).ok()
}

/// `steps * step` as a decimal, if it fits.
pub fn from_steps(steps: u64, step: Decimal) -> Option<Decimal> {
    step.checked_mul(Decimal::from(steps))
        .map(|d| d.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;
    use std::str::FromStr;

    struct D(Decimal);
    impl Encode for D {
        fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
            encode_decimal(&self.0, e)
        }
    }
    impl<C> Decode<C> for D {
        fn decode<De: Decoder<Context = C>>(d: &mut De) -> Result<Self, DecodeError> {
            decode_decimal(d).map(D)
        }
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn equal_values_encode_identically() {
        assert_eq!(
            codec::encode(&D(dec("1.50"))),
            codec::encode(&D(dec("1.5")))
        );
        let back: D = codec::decode(&codec::encode(&D(dec("1.50")))).unwrap();
        assert_eq!(back.0, dec("1.5"));
    }

    #[test]
    fn non_normalized_encoding_is_rejected() {
        // 150 with scale 2 (= 1.50): not canonical.
        let mut bytes = codec::encode(&150i128);
        bytes.push(2);
        assert!(codec::decode::<D>(&bytes).is_err());
        let mut bytes = codec::encode(&15i128);
        bytes.push(29);
        assert!(codec::decode::<D>(&bytes).is_err());
        let mut bytes = codec::encode(&(1i128 << 100));
        bytes.push(0);
        assert!(codec::decode::<D>(&bytes).is_err());
    }

    #[test]
    fn unit_conversions_are_exact() {
        assert_eq!(to_units(dec("1.5"), 6), Some(1_500_000));
        assert_eq!(to_units(dec("0.0000001"), 6), None);
        assert_eq!(to_units(dec("-1"), 6), None);
        assert_eq!(to_units(dec("0"), 6), Some(0));
        assert_eq!(from_units(1_500_000, 6), Some(dec("1.5")));
        assert_eq!(to_steps(dec("100.25"), dec("0.05")), Some(2005));
        assert_eq!(to_steps(dec("100.26"), dec("0.05")), None);
        assert_eq!(to_steps(dec("0"), dec("0.05")), None);
        assert_eq!(to_steps(dec("3"), dec("0.001")), Some(3000));
        assert_eq!(from_steps(2005, dec("0.05")), Some(dec("100.25")));
    }
}
