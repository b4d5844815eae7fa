//! The one canonical binary encoding used for hashing, signing, storage and the wire.
//!
//! bincode 2 (pinned `=2.0.1`) with a single fixed configuration: little endian,
//! fixed-width integers (so every integer has exactly one encoding) and a hard limit on
//! the bytes a decoder may claim. [`decode`] rejects trailing bytes, so every accepted
//! byte string is the encoding of exactly one value and `encode(decode(b)) == b`.

use bincode::config::{Configuration, Fixint, Limit, LittleEndian};
use bincode::{Decode, Encode};

/// Largest encoded value accepted by [`decode`] (16 MiB): bounds every length prefix.
pub const MAX_ENCODED_LEN: usize = 16 * 1024 * 1024;

/// The bincode configuration every encoder and decoder in the project uses.
pub type CanonicalConfig = Configuration<LittleEndian, Fixint, Limit<MAX_ENCODED_LEN>>;

/// The canonical configuration value.
pub const fn config() -> CanonicalConfig {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<MAX_ENCODED_LEN>()
}

/// Why a byte string is not the canonical encoding of a value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    /// The input is longer than [`MAX_ENCODED_LEN`] or than the caller's bound.
    #[error("encoded value of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Input length.
        len: usize,
        /// The bound that was exceeded.
        limit: usize,
    },
    /// The bytes do not decode (truncated, bad tag, bad length, invalid UTF-8, ...).
    #[error("malformed encoding: {0}")]
    Malformed(String),
    /// The value decoded but bytes were left over.
    #[error("{0} trailing bytes after the encoded value")]
    TrailingBytes(usize),
}

/// Encodes a value canonically.
pub fn encode<T: Encode>(value: &T) -> Vec<u8> {
    // Encoding into a Vec cannot fail for our types: every value we encode is smaller
    // than the limit (blocks are bounded by the genesis well below it).
    bincode::encode_to_vec(value, config()).unwrap_or_default()
}

/// Appends the canonical encoding of `value` to `out`.
pub fn encode_into<T: Encode>(value: &T, out: &mut Vec<u8>) {
    out.extend_from_slice(&encode(value));
}

/// Decodes a canonical value, rejecting oversized input and trailing bytes.
pub fn decode<T: Decode<()>>(bytes: &[u8]) -> Result<T, CodecError> {
    decode_bounded(bytes, MAX_ENCODED_LEN)
}

/// Like [`decode`], with a tighter caller-chosen bound on the input length.
pub fn decode_bounded<T: Decode<()>>(bytes: &[u8], limit: usize) -> Result<T, CodecError> {
    let limit = limit.min(MAX_ENCODED_LEN);
    if bytes.len() > limit {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    let (value, read) = bincode::decode_from_slice::<T, _>(bytes, config())
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if read != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - read));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut bytes = encode(&7u64);
        bytes.push(0);
        assert_eq!(decode::<u64>(&bytes), Err(CodecError::TrailingBytes(1)));
    }

    #[test]
    fn truncated_input_is_rejected() {
        let bytes = encode(&7u64);
        assert!(matches!(
            decode::<u64>(&bytes[..4]),
            Err(CodecError::Malformed(_))
        ));
    }

    #[test]
    fn huge_length_prefix_is_rejected_without_allocating() {
        // A Vec<u64> claiming 2^60 elements.
        let mut bytes = (1u64 << 60).to_le_bytes().to_vec();
        bytes.extend_from_slice(&[0; 8]);
        assert!(decode::<Vec<u64>>(&bytes).is_err());
    }

    #[test]
    fn oversized_input_is_rejected() {
        let bytes = vec![0u8; 100];
        assert!(matches!(
            decode_bounded::<u8>(&bytes, 10),
            Err(CodecError::TooLarge {
                len: 100,
                limit: 10
            })
        ));
    }

    #[test]
    fn bool_other_than_zero_or_one_is_rejected() {
        assert!(decode::<bool>(&[2]).is_err());
    }
}
