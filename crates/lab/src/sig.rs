//! Signature schemes for the lab's authenticated protocols.
//!
//! The same two schemes as the consensus crate ([`ledger_consensus::crypto`]): real
//! ed25519 (`verify_strict`, the default) and the simulator's fast, insecure stand-in
//! for large sweeps. Adversaries in the lab never forge: they only sign with the keys
//! of nodes they corrupted, or send garbage that must fail verification (the papers'
//! idealised signatures).

use ledger_consensus::{Ed25519Verifier, Signer, SimSignatures, SimSigner, Verifier};
use ledger_types::{Hash, Keypair, PublicKey, Signature};
use serde::Serialize;

/// Which signature scheme a run uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SigMode {
    /// Real ed25519 signatures, checked with `verify_strict`.
    #[default]
    Ed25519,
    /// The simulator's 64-bit keyed mix (fast; not secure outside a simulation).
    Simulated,
}

impl SigMode {
    /// Parses `ed25519` or `sim`/`simulated`.
    pub fn parse(s: &str) -> Option<SigMode> {
        match s {
            "ed25519" => Some(SigMode::Ed25519),
            "sim" | "simulated" => Some(SigMode::Simulated),
            _ => None,
        }
    }
}

/// The keys of the `n` nodes of one run: every public key, every signer (each node
/// uses only its own; the adversary only those of the nodes it corrupted) and the
/// verifier.
pub struct Keyring {
    /// Public key of each node.
    pub public: Vec<PublicKey>,
    signers: Vec<Box<dyn Signer>>,
    verifier: Box<dyn Verifier>,
    mode: SigMode,
}

impl Keyring {
    /// Deterministic keys for `n` nodes, labelled by `label` (so two runs never share
    /// signatures).
    pub fn new(mode: SigMode, n: usize, label: &str) -> Keyring {
        let mut public = Vec::with_capacity(n);
        let mut signers: Vec<Box<dyn Signer>> = Vec::with_capacity(n);
        for i in 0..n {
            match mode {
                SigMode::Ed25519 => {
                    let k = Keypair::for_testing(&format!("ledger-lab/{label}/{i}"));
                    public.push(k.public());
                    signers.push(Box::new(k));
                }
                SigMode::Simulated => {
                    let key = PublicKey(
                        Hash::tagged(
                            "ledger-lab/sim-key",
                            &[label.as_bytes(), &(i as u64).to_le_bytes()],
                        )
                        .0,
                    );
                    public.push(key);
                    signers.push(Box::new(SimSigner { key }));
                }
            }
        }
        let verifier: Box<dyn Verifier> = match mode {
            SigMode::Ed25519 => Box::new(Ed25519Verifier),
            SigMode::Simulated => Box::new(SimSignatures),
        };
        Keyring {
            public,
            signers,
            verifier,
            mode,
        }
    }

    /// The scheme.
    pub fn mode(&self) -> SigMode {
        self.mode
    }

    /// Node `i`'s signature over `message`.
    pub fn sign(&self, i: usize, message: &[u8]) -> Signature {
        self.signers[i].sign(message)
    }

    /// True if `signature` is node `i`'s signature over `message`.
    pub fn verify(&self, i: usize, message: &[u8], signature: &Signature) -> bool {
        i < self.public.len() && self.verifier.verify(&self.public[i], message, signature)
    }
}
