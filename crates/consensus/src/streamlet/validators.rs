//! The permissioned validator set, the quorum, the epoch leader and certificate checks.

use super::messages::{signing_bytes, Certificate, VOTE_TAG};
use crate::crypto::Verifier;
use ledger_types::{Hash, PublicKey};
use std::collections::BTreeMap;

/// Domain tag of the leader "random oracle".
pub const LEADER_DOMAIN: &str = "ledger-node/streamlet/leader/v1";

/// Why a validator set or configuration was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum ConfigError {
    /// No validators.
    #[error("the validator set is empty")]
    NoValidators,
    /// A key appears twice.
    #[error("validator {0} appears twice")]
    DuplicateValidator(PublicKey),
    /// More validators than indices fit in a certificate.
    #[error("too many validators: {0}")]
    TooManyValidators(usize),
    /// The genesis does not configure this protocol.
    #[error("the genesis configures {0}, not this protocol")]
    WrongProtocol(&'static str),
    /// A parameter is out of range.
    #[error("invalid parameter {name}: {message}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Why a notarization certificate does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum CertificateError {
    /// Fewer distinct votes than the quorum.
    #[error("{got} votes, quorum is {quorum}")]
    TooFewVotes {
        /// Votes in the certificate.
        got: usize,
        /// Votes needed.
        quorum: usize,
    },
    /// Validator indices are not strictly increasing (a duplicate voter).
    #[error("validator indices must be strictly increasing")]
    UnsortedOrDuplicate,
    /// A validator index is out of range.
    #[error("no validator with index {0}")]
    UnknownValidator(u32),
    /// A vote signature does not verify.
    #[error("vote of validator {0} does not verify")]
    BadSignature(u32),
    /// The certificate is for another block or epoch than the one it accompanies.
    #[error("certificate is for block {cert_block} epoch {cert_epoch}, not {block} epoch {epoch}")]
    WrongBlock {
        /// Block named by the certificate.
        cert_block: Hash,
        /// Epoch named by the certificate.
        cert_epoch: u64,
        /// The block it accompanies.
        block: Hash,
        /// That block's epoch.
        epoch: u64,
    },
}

/// The validators, in genesis order, with the notarization quorum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    keys: Vec<PublicKey>,
    index: BTreeMap<PublicKey, u32>,
    quorum: usize,
}

impl ValidatorSet {
    /// A set of distinct validators; the quorum is `ceil(2n/3)` ("at least 2n/3
    /// distinct players").
    pub fn new(keys: Vec<PublicKey>) -> Result<ValidatorSet, ConfigError> {
        if keys.is_empty() {
            return Err(ConfigError::NoValidators);
        }
        if keys.len() > u32::MAX as usize / 4 {
            return Err(ConfigError::TooManyValidators(keys.len()));
        }
        let mut index = BTreeMap::new();
        for (i, k) in keys.iter().enumerate() {
            if index.insert(*k, i as u32).is_some() {
                return Err(ConfigError::DuplicateValidator(*k));
            }
        }
        let quorum = two_thirds_quorum(keys.len());
        Ok(ValidatorSet {
            keys,
            index,
            quorum,
        })
    }

    /// **Test only: breaks safety.** Replaces the quorum (the simulator's mutation check
    /// lowers it to n/2 to prove the safety checker can fail). Nothing in the node or
    /// the genesis can set it.
    pub fn with_insecure_quorum_for_testing(mut self, quorum: usize) -> ValidatorSet {
        self.quorum = quorum.clamp(1, self.keys.len());
        self
    }

    /// Number of validators n.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false (a set has at least one validator).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Votes needed to notarize a block.
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// The keys in genesis order.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// Index of a validator.
    pub fn index_of(&self, key: &PublicKey) -> Option<u32> {
        self.index.get(key).copied()
    }

    /// Key of the validator with this index.
    pub fn key(&self, index: u32) -> Option<&PublicKey> {
        self.keys.get(index as usize)
    }

    /// Index of the leader of `epoch`: `H(epoch) mod n`.
    pub fn leader_index(&self, epoch: u64) -> u32 {
        leader_index(epoch, self.keys.len())
    }

    /// Key of the leader of `epoch`.
    pub fn leader(&self, epoch: u64) -> PublicKey {
        self.keys[self.leader_index(epoch) as usize]
    }

    /// Checks a notarization certificate: at least a quorum of distinct known validators,
    /// each with a valid vote signature for `(cert.epoch, cert.block)` on `chain`.
    pub fn verify_certificate(
        &self,
        cert: &Certificate,
        chain: &Hash,
        verifier: &dyn Verifier,
    ) -> Result<(), CertificateError> {
        if cert.votes.len() < self.quorum {
            return Err(CertificateError::TooFewVotes {
                got: cert.votes.len(),
                quorum: self.quorum,
            });
        }
        if cert
            .votes
            .windows(2)
            .any(|w| w[0].validator >= w[1].validator)
        {
            return Err(CertificateError::UnsortedOrDuplicate);
        }
        let msg = signing_bytes(VOTE_TAG, chain, cert.epoch, &cert.block);
        for v in &cert.votes {
            let key = self
                .key(v.validator)
                .ok_or(CertificateError::UnknownValidator(v.validator))?;
            if !verifier.verify(key, &msg, &v.signature) {
                return Err(CertificateError::BadSignature(v.validator));
            }
        }
        Ok(())
    }
}

/// `ceil(2n/3)`: the smallest number of votes that is at least 2n/3.
pub fn two_thirds_quorum(n: usize) -> usize {
    (2 * n).div_ceil(3)
}

/// The leader of `epoch` among `n` validators: `H(epoch) mod n`, with `H` SHA-256 tagged
/// with [`LEADER_DOMAIN`] (the paper's "publicly known hash function").
pub fn leader_index(epoch: u64, n: usize) -> u32 {
    if n == 0 {
        return 0;
    }
    let h = Hash::tagged(LEADER_DOMAIN, &[&epoch.to_le_bytes()]);
    (h.prefix_u64() % n as u64) as u32
}
