//! Serde helpers for 64-bit integers on the wire.
//!
//! Every `u64` that travels in JSON (heights, nonces, trade ids, epochs, timestamps) is a
//! **decimal string**, because JavaScript numbers lose precision above 2^53. On input a
//! JSON integer is accepted as well, so hand-written requests such as
//! `{"limit": 10, "height": 5}` work; output is always a string.
//!
//! Use with `#[serde(with = "ledger_rpc::num::u64_str")]` or
//! `#[serde(with = "ledger_rpc::num::opt_u64_str")]`.

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};
use std::fmt;

struct U64Visitor;

impl Visitor<'_> for U64Visitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an unsigned 64-bit integer as a decimal string")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom(format!("expected a non-negative integer, got {v}")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        parse_u64(v).map_err(E::custom)
    }
}

/// Parses a decimal `u64` (digits only: no sign, no spaces, no exponent).
pub fn parse_u64(s: &str) -> Result<u64, String> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "expected an unsigned 64-bit integer as a decimal string, got {:?}",
            s.chars().take(40).collect::<String>()
        ));
    }
    s.parse::<u64>()
        .map_err(|_| format!("{s:?} does not fit in an unsigned 64-bit integer"))
}

/// A `u64` as a decimal string (accepts a JSON integer on input).
pub mod u64_str {
    use super::*;

    /// Serializes as a decimal string.
    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    /// Deserializes from a decimal string or a JSON integer.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_any(U64Visitor)
    }
}

/// An `Option<u64>` as a decimal string or `null` (accepts a JSON integer on input).
pub mod opt_u64_str {
    use super::*;

    /// Serializes as a decimal string or `null`.
    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }

    /// Deserializes from a decimal string, a JSON integer or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        struct OptVisitor;
        impl<'de> Visitor<'de> for OptVisitor {
            type Value = Option<u64>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an unsigned 64-bit integer as a decimal string, or null")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                d.deserialize_any(U64Visitor).map(Some)
            }
        }
        d.deserialize_option(OptVisitor)
    }
}

/// An `Option<Decimal>` as a decimal string or `null`.
///
/// Unlike `rust_decimal::serde::str_option`, this also reads `null` inside internally
/// tagged enums and flattened structs (where serde buffers `null` as a unit value).
pub mod opt_decimal_str {
    use super::*;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    /// Serializes as a decimal string or `null`.
    pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }

    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<Decimal>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a decimal number as a string, or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(V)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Decimal::from_str(v)
                .map(Some)
                .map_err(|e| E::custom(format!("invalid decimal {v:?}: {e}")))
        }
    }

    /// Deserializes from a decimal string or `null` (numbers are refused: no floats).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        d.deserialize_option(V)
    }
}

/// A decimal that may be negative, as a decimal string (`"-0.5"`); a net balance change.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default, Hash)]
pub struct SignedDecimal(pub rust_decimal::Decimal);

impl serde::Serialize for SignedDecimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0.normalize())
    }
}

impl<'de> serde::Deserialize<'de> for SignedDecimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        s.parse::<rust_decimal::Decimal>()
            .map(SignedDecimal)
            .map_err(|e| de::Error::custom(format!("invalid decimal {s:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct T {
        #[serde(with = "u64_str")]
        a: u64,
        #[serde(with = "opt_u64_str", default)]
        b: Option<u64>,
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    #[serde(tag = "type")]
    enum Tagged {
        A {
            #[serde(default, with = "opt_decimal_str")]
            price: Option<rust_decimal::Decimal>,
        },
    }

    #[test]
    fn optional_decimals_inside_tagged_enums() {
        for (json, want) in [
            (r#"{"type":"A","price":null}"#, None),
            (r#"{"type":"A"}"#, None),
            (
                r#"{"type":"A","price":"1.50"}"#,
                Some(rust_decimal::Decimal::new(150, 2)),
            ),
        ] {
            assert_eq!(
                serde_json::from_str::<Tagged>(json).unwrap(),
                Tagged::A { price: want }
            );
        }
        assert!(serde_json::from_str::<Tagged>(r#"{"type":"A","price":1.5}"#).is_err());
        assert!(serde_json::from_str::<Tagged>(r#"{"type":"A","price":"x"}"#).is_err());
        let none = Tagged::A { price: None };
        let s = serde_json::to_string(&none).unwrap();
        assert_eq!(s, r#"{"type":"A","price":null}"#);
        assert_eq!(serde_json::from_str::<Tagged>(&s).unwrap(), none);
    }

    #[test]
    fn strings_out_strings_or_integers_in() {
        let t = T {
            a: u64::MAX,
            b: Some(7),
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"a":"18446744073709551615","b":"7"}"#);
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), t);
        let t2: T = serde_json::from_str(r#"{"a":5,"b":null}"#).unwrap();
        assert_eq!(t2, T { a: 5, b: None });
        let t3: T = serde_json::from_str(r#"{"a":"5"}"#).unwrap();
        assert_eq!(t3, T { a: 5, b: None });
        for bad in [
            r#"{"a":"-1"}"#,
            r#"{"a":-1}"#,
            r#"{"a":"1e3"}"#,
            r#"{"a":1.5}"#,
            r#"{"a":""}"#,
            r#"{"a":"18446744073709551616"}"#,
            r#"{"a":" 1"}"#,
        ] {
            assert!(serde_json::from_str::<T>(bad).is_err(), "{bad}");
        }
    }
}
