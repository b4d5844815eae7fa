//! 32-byte SHA-256 hashes and the binary Merkle root of a list of hashes.

use bincode::{Decode, Encode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// A SHA-256 digest. Lowercase hex in JSON and `Display`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The all-zero hash (the parent of a genesis block).
    pub const ZERO: Hash = Hash([0; 32]);

    /// SHA-256 of `data`.
    ///
    /// Fed to the hash core directly: the message's full 64-byte blocks go from `data`
    /// to the compression function and only the tail is copied to be padded, where the
    /// `Digest` API copies every byte into its block buffer first (the engine hashes
    /// hundreds of thousands of short leaves per second through this).
    #[inline]
    pub fn digest(data: &[u8]) -> Hash {
        use sha2::digest::block_buffer::{BlockBuffer, Eager};
        use sha2::digest::core_api::{UpdateCore, VariableOutputCore};
        use sha2::digest::generic_array::GenericArray;
        use sha2::digest::typenum::U64;
        let mut core = sha2::Sha256VarCore::new(32).expect("32 is a valid SHA-256 output size");
        let mut blocks = data.chunks_exact(64);
        for block in &mut blocks {
            core.update_blocks(std::slice::from_ref(GenericArray::from_slice(block)));
        }
        let mut tail = BlockBuffer::<U64, Eager>::new(blocks.remainder());
        let mut out = GenericArray::default();
        core.finalize_variable_core(&mut tail, &mut out);
        Hash(out.into())
    }

    /// SHA-256 over a domain tag followed by `parts`, each length-prefixed so that no two
    /// different part lists hash alike.
    pub fn tagged(domain: &str, parts: &[&[u8]]) -> Hash {
        let mut h = Sha256::new();
        h.update((domain.len() as u64).to_le_bytes());
        h.update(domain.as_bytes());
        for p in parts {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p);
        }
        Hash(h.finalize().into())
    }

    /// The bytes of the hash.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first eight bytes as a big-endian integer (for leader selection and sampling).
    pub fn prefix_u64(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(b)
    }
}

/// A hex string that is not a valid 32-byte hash or key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("expected {expected} bytes of lowercase or uppercase hex, got {got:?}")]
pub struct HexError {
    /// The number of bytes expected.
    pub expected: usize,
    /// The (possibly truncated) input.
    pub got: String,
}

pub(crate) fn parse_hex_array<const N: usize>(s: &str) -> Result<[u8; N], HexError> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).map_err(|_| HexError {
        expected: N,
        got: s.chars().take(80).collect(),
    })?;
    Ok(out)
}

impl FromStr for Hash {
    type Err = HexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex_array::<32>(s).map(Hash)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({}..)", &self.to_hex()[..12])
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Binary Merkle root over `leaves` (RFC 6962 style: leaves and inner nodes are
/// domain-separated, an odd node is promoted unchanged). The root of no leaves is
/// `Hash::tagged("merkle/empty", [])`.
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return Hash::tagged("merkle/empty", &[]);
    }
    let mut level: Vec<Hash> = leaves
        .iter()
        .map(|l| {
            let mut h = Sha256::new();
            h.update([0u8]);
            h.update(l.0);
            Hash(h.finalize().into())
        })
        .collect();
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for pair in level.chunks(2) {
            if let [a, b] = pair {
                let mut h = Sha256::new();
                h.update([1u8]);
                h.update(a.0);
                h.update(b.0);
                next.push(Hash(h.finalize().into()));
            } else {
                next.push(pair[0]);
            }
        }
        level = next;
    }
    level[0]
}

#[cfg(test)]
mod tests {
    #[test]
    fn digest_equals_sha256_for_every_length_up_to_300() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in 0..=300 {
            let want: [u8; 32] = Sha256::digest(&data[..n]).into();
            assert_eq!(Hash::digest(&data[..n]).0, want, "length {n}");
        }
    }

    use super::*;

    #[test]
    fn hex_round_trip() {
        let h = Hash::digest(b"abc");
        assert_eq!(
            h.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(h.to_hex().parse::<Hash>().unwrap(), h);
        assert!("zz".parse::<Hash>().is_err());
        assert!("abcd".parse::<Hash>().is_err());
    }

    #[test]
    fn tagged_parts_are_unambiguous() {
        assert_ne!(
            Hash::tagged("d", &[b"ab", b"c"]),
            Hash::tagged("d", &[b"a", b"bc"])
        );
        assert_ne!(Hash::tagged("d1", &[b"x"]), Hash::tagged("d2", &[b"x"]));
    }

    #[test]
    fn merkle_root_depends_on_order_and_content() {
        let a = Hash::digest(b"a");
        let b = Hash::digest(b"b");
        let c = Hash::digest(b"c");
        assert_ne!(merkle_root(&[a, b]), merkle_root(&[b, a]));
        assert_ne!(merkle_root(&[a, b, c]), merkle_root(&[a, b]));
        assert_ne!(merkle_root(&[a]), a);
        assert_eq!(merkle_root(&[a, b, c]), merkle_root(&[a, b, c]));
        assert_ne!(merkle_root(&[]), merkle_root(&[Hash::ZERO]));
    }
}
