//! Pluggable signatures.
//!
//! Consensus messages are signed and checked through two small traits so that the same
//! state machines run with real ed25519 in the node and with a cheap stand-in in the
//! simulator (which must process about a million messages per second on one core; an
//! ed25519 verification alone costs tens of microseconds).
//!
//! - [`Ed25519Verifier`] (the default verifier of every state machine) checks with
//!   ed25519 `verify_strict`; [`Keypair`] implements [`Signer`].
//! - [`SimSignatures`] and [`SimSigner`] are the simulator's scheme: a signature is a
//!   64-bit keyed mix of the key and the message. It is **not** secure (anyone who knows
//!   a public key can forge), which is fine inside a simulation where the adversary
//!   modules are written not to forge, exactly as the papers' idealised signatures
//!   assume. Never use it in the node.

use ledger_types::{Keypair, PublicKey, Signature};

/// Checks signatures. Implementations must be deterministic.
pub trait Verifier {
    /// True if `signature` is `key`'s signature over `message`.
    fn verify(&self, key: &PublicKey, message: &[u8], signature: &Signature) -> bool;
}

/// Produces this node's signatures.
pub trait Signer {
    /// The public key the signatures verify under.
    fn public(&self) -> PublicKey;
    /// Signs `message`.
    fn sign(&self, message: &[u8]) -> Signature;
}

/// Real ed25519 (`verify_strict`): the node's verifier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ed25519Verifier;

impl Verifier for Ed25519Verifier {
    fn verify(&self, key: &PublicKey, message: &[u8], signature: &Signature) -> bool {
        key.verify(message, signature).is_ok()
    }
}

impl Signer for Keypair {
    fn public(&self) -> PublicKey {
        Keypair::public(self)
    }
    fn sign(&self, message: &[u8]) -> Signature {
        Keypair::sign(self, message)
    }
}

/// The simulator's insecure, fast signature scheme (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimSignatures;

/// Marker filling the unused bytes of a simulated signature, so that an all-zero
/// signature never verifies.
const SIM_MARKER: u8 = 0x5a;

/// The 64-bit tag of a simulated signature: a multiply-xorshift mix of the key and the
/// message, eight bytes at a time.
fn sim_tag(key: &PublicKey, message: &[u8]) -> u64 {
    const M: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h: u64 = 0x243f_6a88_85a3_08d3 ^ (message.len() as u64);
    let mut absorb = |chunk: &[u8]| {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(b)).wrapping_mul(M);
        h ^= h >> 29;
    };
    for c in key.0.chunks(8) {
        absorb(c);
    }
    for c in message.chunks(8) {
        absorb(c);
    }
    h
}

impl SimSignatures {
    /// The simulated signature of `key` over `message`.
    pub fn sign_as(key: &PublicKey, message: &[u8]) -> Signature {
        let mut s = [SIM_MARKER; 64];
        s[..8].copy_from_slice(&sim_tag(key, message).to_le_bytes());
        Signature(s)
    }
}

impl Verifier for SimSignatures {
    fn verify(&self, key: &PublicKey, message: &[u8], signature: &Signature) -> bool {
        signature.0[8..].iter().all(|b| *b == SIM_MARKER)
            && signature.0[..8] == sim_tag(key, message).to_le_bytes()
    }
}

/// A simulated signer for `key` (see [`SimSignatures`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimSigner {
    /// The key it signs as.
    pub key: PublicKey,
}

impl Signer for SimSigner {
    fn public(&self) -> PublicKey {
        self.key
    }
    fn sign(&self, message: &[u8]) -> Signature {
        SimSignatures::sign_as(&self.key, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_verifier_accepts_only_genuine_signatures() {
        let k = Keypair::for_testing("v");
        let sig = Signer::sign(&k, b"m");
        assert!(Ed25519Verifier.verify(&Signer::public(&k), b"m", &sig));
        assert!(!Ed25519Verifier.verify(&Signer::public(&k), b"n", &sig));
        let other = Keypair::for_testing("w").public();
        assert!(!Ed25519Verifier.verify(&other, b"m", &sig));
    }

    #[test]
    fn sim_signatures_bind_key_and_message() {
        let a = PublicKey([1; 32]);
        let b = PublicKey([2; 32]);
        let s = SimSigner { key: a }.sign(b"hello");
        assert!(SimSignatures.verify(&a, b"hello", &s));
        assert!(!SimSignatures.verify(&b, b"hello", &s));
        assert!(!SimSignatures.verify(&a, b"hellp", &s));
        assert!(!SimSignatures.verify(&a, b"hello\0", &s));
        assert!(!SimSignatures.verify(&a, b"hello", &Signature([0; 64])));
        let mut tampered = s;
        tampered.0[40] ^= 1;
        assert!(!SimSignatures.verify(&a, b"hello", &tampered));
    }
}
