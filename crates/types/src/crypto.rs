//! ed25519 keys, addresses and signatures.
//!
//! An account address is an ed25519 public key. Signatures are checked with
//! `verify_strict` (rejects small-order keys and R values, and non-canonical S).
//! [`verify_batch`] is a fast path for bursts: it runs ed25519-dalek's batch
//! verification and, if the batch fails, falls back to `verify_strict` per item to name
//! the bad ones. Batch verification accepts everything `verify_strict` accepts; for
//! deliberately crafted signatures with torsion components it can accept what
//! `verify_strict` rejects, so it is used only for admission (mempool, gossip), never to
//! decide the effect of a final block (the engine does not look at signatures at all).

use crate::hash::{parse_hex_array, HexError};
use bincode::{Decode, Encode};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An ed25519 public key; also the address of an account. Lowercase hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode)]
pub struct PublicKey(pub [u8; 32]);

/// An account address (an ed25519 public key).
pub type Address = PublicKey;

/// An ed25519 signature (R || S). Lowercase hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct Signature(pub [u8; 64]);

/// Why a signature did not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum SignatureError {
    /// The public key is not a valid curve point encoding.
    #[error("public key is not a valid ed25519 point")]
    BadPublicKey,
    /// The signature does not verify under `verify_strict`.
    #[error("signature does not verify")]
    Invalid,
}

impl PublicKey {
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Checks `signature` over `message` with ed25519 `verify_strict`.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        let key = decoded_key(self).ok_or(SignatureError::BadPublicKey)?;
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        key.verify_strict(message, &sig)
            .map_err(|_| SignatureError::Invalid)
    }
}

/// Decoded public keys, by address: decoding one is a point decompression (a field
/// exponentiation, about a sixth of a verification), and the same accounts sign again
/// and again. Bounded: when full it is emptied and refilled by use.
struct KeyCache {
    keys: std::sync::Mutex<std::collections::HashMap<[u8; 32], VerifyingKey>>,
}

/// Keys the cache holds at most (about 10 MB).
const KEY_CACHE_CAPACITY: usize = 65_536;

static KEY_CACHE: std::sync::LazyLock<KeyCache> = std::sync::LazyLock::new(|| KeyCache {
    keys: std::sync::Mutex::new(std::collections::HashMap::new()),
});

/// The decoded key of `pk` (from the cache when it was decoded before), or `None` if it
/// is not a valid point encoding. Only valid keys are cached; weak (small-order) keys
/// are returned like any other and refused by the verification itself.
fn decoded_key(pk: &PublicKey) -> Option<VerifyingKey> {
    fn lock() -> std::sync::MutexGuard<'static, std::collections::HashMap<[u8; 32], VerifyingKey>> {
        KEY_CACHE.keys.lock().unwrap_or_else(|e| e.into_inner())
    }
    if let Some(k) = lock().get(&pk.0) {
        return Some(*k);
    }
    let key = VerifyingKey::from_bytes(&pk.0).ok()?;
    let mut keys = lock();
    if keys.len() >= KEY_CACHE_CAPACITY {
        keys.clear();
    }
    keys.insert(pk.0, key);
    Some(key)
}

/// Verifies many `(key, message, signature)` triples at once. Returns one result per
/// item, in order. See the module docs for how this relates to `verify_strict`.
pub fn verify_batch(items: &[(PublicKey, &[u8], Signature)]) -> Vec<Result<(), SignatureError>> {
    let mut keys = Vec::with_capacity(items.len());
    for (pk, _, _) in items {
        match decoded_key(pk) {
            Some(k) if !k.is_weak() => keys.push(k),
            // A bad key somewhere: verify one by one so each item gets its own answer.
            _ => return items.iter().map(|(pk, m, s)| pk.verify(m, s)).collect(),
        }
    }
    let messages: Vec<&[u8]> = items.iter().map(|(_, m, _)| *m).collect();
    let sigs: Vec<ed25519_dalek::Signature> = items
        .iter()
        .map(|(_, _, s)| ed25519_dalek::Signature::from_bytes(&s.0))
        .collect();
    if ed25519_dalek::verify_batch(&messages, &sigs, &keys).is_ok() {
        return vec![Ok(()); items.len()];
    }
    items.iter().map(|(pk, m, s)| pk.verify(m, s)).collect()
}

impl FromStr for PublicKey {
    type Err = HexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex_array::<32>(s).map(PublicKey)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({}..)", &self.to_hex()[..12])
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Signature {
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl FromStr for Signature {
    type Err = HexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex_array::<64>(s).map(Signature)
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}..)", &self.to_hex()[..12])
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An ed25519 signing key with its public key.
#[derive(Clone)]
pub struct Keypair {
    signing: SigningKey,
}

impl Keypair {
    /// The keypair for a 32-byte secret seed.
    pub fn from_seed(seed: &[u8; 32]) -> Keypair {
        Keypair {
            signing: SigningKey::from_bytes(seed),
        }
    }

    /// A deterministic test key derived from a label (for testnets, tests and the
    /// simulator). Never use for real funds: anyone can derive it.
    pub fn for_testing(label: &str) -> Keypair {
        Keypair::from_seed(
            &crate::hash::Hash::tagged("ledger-node/test-key", &[label.as_bytes()]).0,
        )
    }

    /// A fresh random keypair from the operating system's RNG.
    pub fn generate() -> Keypair {
        let mut seed = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut seed);
        Keypair::from_seed(&seed)
    }

    /// The secret seed (keep it secret).
    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The public key (the account address).
    pub fn public(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.signing.sign(message).to_bytes())
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({})", self.public())
    }
}

use rand_core::RngCore;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let k = Keypair::for_testing("alice");
        let sig = k.sign(b"hello");
        assert_eq!(k.public().verify(b"hello", &sig), Ok(()));
        assert_eq!(
            k.public().verify(b"hellp", &sig),
            Err(SignatureError::Invalid)
        );
        let other = Keypair::for_testing("bob");
        assert_eq!(
            other.public().verify(b"hello", &sig),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn small_order_key_is_rejected() {
        // The identity point encodes as 1 followed by zeros: a small-order key.
        let mut id = [0u8; 32];
        id[0] = 1;
        let pk = PublicKey(id);
        assert!(pk.verify(b"m", &Signature([0; 64])).is_err());
    }

    #[test]
    fn batch_matches_single_verification() {
        let keys: Vec<Keypair> = (0..8)
            .map(|i| Keypair::for_testing(&i.to_string()))
            .collect();
        let msgs: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 10]).collect();
        let mut items: Vec<(PublicKey, &[u8], Signature)> = keys
            .iter()
            .zip(&msgs)
            .map(|(k, m)| (k.public(), m.as_slice(), k.sign(m)))
            .collect();
        assert!(verify_batch(&items).iter().all(|r| r.is_ok()));
        items[3].2 .0[5] ^= 1;
        let res = verify_batch(&items);
        assert!(res[3].is_err());
        assert_eq!(res.iter().filter(|r| r.is_ok()).count(), 7);
    }

    #[test]
    fn cached_keys_give_the_same_verdicts() {
        let k = Keypair::for_testing("cached");
        let sig = k.sign(b"m");
        let mut other = sig;
        other.0[0] ^= 1;
        for _ in 0..3 {
            assert_eq!(k.public().verify(b"m", &sig), Ok(()));
            assert_eq!(k.public().verify(b"n", &sig), Err(SignatureError::Invalid));
            assert!(k.public().verify(b"m", &other).is_err());
            let items = [(k.public(), &b"m"[..], sig), (k.public(), &b"n"[..], sig)];
            assert_eq!(
                verify_batch(&items),
                vec![Ok(()), Err(SignatureError::Invalid)]
            );
        }
        // A small-order key is refused every time, cached or not.
        let mut id = [0u8; 32];
        id[0] = 1;
        for _ in 0..2 {
            assert!(PublicKey(id).verify(b"m", &sig).is_err());
        }
        // Not a point at all.
        let mut bad = [0xffu8; 32];
        bad[31] = 0x7f;
        assert!(matches!(
            PublicKey(bad).verify(b"m", &sig),
            Err(SignatureError::BadPublicKey) | Err(SignatureError::Invalid)
        ));
    }

    #[test]
    fn hex_round_trip_for_keys_and_signatures() {
        let k = Keypair::for_testing("x");
        let pk = k.public();
        assert_eq!(pk.to_hex().parse::<PublicKey>().unwrap(), pk);
        let s = k.sign(b"m");
        assert_eq!(s.to_hex().parse::<Signature>().unwrap(), s);
        let json = serde_json::to_string(&pk).unwrap();
        assert_eq!(json, format!("\"{}\"", pk.to_hex()));
    }
}
