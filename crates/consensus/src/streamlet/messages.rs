//! Streamlet wire messages, certificates, evidence and the persisted safety record.

use crate::crypto::{Signer, Verifier};
use bincode::{Decode, Encode};
use ledger_types::{Block, BlockHeader, ConsensusHeader, Hash, PublicKey, Signature};

/// Domain tag of vote signatures.
pub const VOTE_TAG: &[u8; 8] = b"LNSVOTE1";
/// Domain tag of proposal signatures.
pub const PROPOSAL_TAG: &[u8; 8] = b"LNSPROP1";

/// The 80 bytes a proposal or vote signature covers: tag, chain (genesis hash), epoch
/// (little endian) and block hash. Fixed size, so signing allocates nothing.
pub fn signing_bytes(tag: &[u8; 8], chain: &Hash, epoch: u64, block: &Hash) -> [u8; 80] {
    let mut out = [0u8; 80];
    out[..8].copy_from_slice(tag);
    out[8..40].copy_from_slice(&chain.0);
    out[40..48].copy_from_slice(&epoch.to_le_bytes());
    out[48..80].copy_from_slice(&block.0);
    out
}

/// A vote: "a signature on the proposed block" (Chan and Shi), here on the block hash
/// together with its epoch and the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Vote {
    /// Epoch of the block voted for.
    pub epoch: u64,
    /// Hash of the block voted for.
    pub block: Hash,
    /// The voting validator.
    pub voter: PublicKey,
    /// The voter's signature over [`signing_bytes`]`(VOTE_TAG, chain, epoch, block)`.
    pub signature: Signature,
}

impl Vote {
    /// Signs a vote for `block` of `epoch` on `chain`.
    pub fn sign(chain: &Hash, epoch: u64, block: Hash, signer: &dyn Signer) -> Vote {
        Vote {
            epoch,
            block,
            voter: signer.public(),
            signature: signer.sign(&signing_bytes(VOTE_TAG, chain, epoch, &block)),
        }
    }

    /// True if the signature verifies.
    pub fn verify(&self, chain: &Hash, verifier: &dyn Verifier) -> bool {
        verifier.verify(
            &self.voter,
            &signing_bytes(VOTE_TAG, chain, self.epoch, &self.block),
            &self.signature,
        )
    }
}

/// A leader's proposal: a block whose header names the epoch and the proposer, signed
/// by the proposer.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Proposal {
    /// The proposed block.
    pub block: Block,
    /// The proposer's signature over [`signing_bytes`]`(PROPOSAL_TAG, chain, epoch, hash)`.
    pub signature: Signature,
}

impl Proposal {
    /// Signs `block` (whose header must be a Streamlet header) as a proposal.
    pub fn sign(chain: &Hash, block: Block, signer: &dyn Signer) -> Proposal {
        let epoch = streamlet_fields(&block.header).map_or(0, |(e, _)| e);
        let signature = signer.sign(&signing_bytes(PROPOSAL_TAG, chain, epoch, &block.hash()));
        Proposal { block, signature }
    }

    /// The epoch named in the header, if it is a Streamlet header.
    pub fn epoch(&self) -> Option<u64> {
        streamlet_fields(&self.block.header).map(|(e, _)| e)
    }
}

/// `(epoch, proposer)` of a Streamlet header, `None` for any other header.
pub fn streamlet_fields(header: &BlockHeader) -> Option<(u64, PublicKey)> {
    match header.consensus {
        ConsensusHeader::Streamlet {
            epoch, proposer, ..
        } => Some((epoch, proposer)),
        ConsensusHeader::Nakamoto { .. } => None,
    }
}

/// A Streamlet message. In the node every message is gossiped; the paper's "implicit
/// echoing" is gossip relaying every message the state machine reports as new.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Message {
    /// A leader's proposal.
    Proposal(Proposal),
    /// A vote.
    Vote(Vote),
}

/// Canonical encoded size of a block header with a Streamlet header.
const STREAMLET_HEADER_LEN: usize = 32 + 8 + 32 + 4 + 8 + 32 + 8;

impl Message {
    /// The epoch the message belongs to (0 for a non-Streamlet header).
    pub fn epoch(&self) -> u64 {
        match self {
            Message::Proposal(p) => p.epoch().unwrap_or(0),
            Message::Vote(v) => v.epoch,
        }
    }

    /// The exact length of the canonical encoding, computed without encoding (the
    /// simulator charges bits per message with it).
    pub fn wire_len(&self) -> usize {
        match self {
            Message::Vote(_) => 4 + 8 + 32 + 32 + 64,
            Message::Proposal(p) => {
                let txs: usize = p
                    .block
                    .txs
                    .iter()
                    .map(|t| ledger_types::codec::encode(t).len())
                    .sum();
                let header = match p.block.header.consensus {
                    ConsensusHeader::Streamlet { .. } => STREAMLET_HEADER_LEN,
                    ConsensusHeader::Nakamoto { .. } => 32 + 8 + 32 + 4 + 8 + 32 + 8 + 32,
                };
                4 + header + 8 + txs + 64
            }
        }
    }
}

/// One vote inside a [`Certificate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CertVote {
    /// Index of the validator in the validator set (genesis order).
    pub validator: u32,
    /// Its vote signature.
    pub signature: Signature,
}

/// A notarization certificate: votes from at least a quorum of distinct validators for
/// one block. A block "is notarized" when it has one.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Certificate {
    /// The block's epoch.
    pub epoch: u64,
    /// The block's hash.
    pub block: Hash,
    /// The votes, sorted by strictly increasing validator index.
    pub votes: Vec<CertVote>,
}

/// A block header with its proposer's proposal signature (the signature covers the
/// header hash, so the header alone proves what was signed).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SignedHeader {
    /// The header.
    pub header: BlockHeader,
    /// The proposal signature.
    pub signature: Signature,
}

/// Proof that a validator equivocated.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Evidence {
    /// Two different signed proposals from the leader of one epoch.
    DoubleProposal {
        /// The leader.
        proposer: PublicKey,
        /// The first proposal seen.
        first: Box<SignedHeader>,
        /// The conflicting proposal.
        second: Box<SignedHeader>,
    },
    /// Two votes of one validator in one epoch for different blocks.
    DoubleVote {
        /// The first vote seen.
        first: Vote,
        /// The conflicting vote.
        second: Vote,
    },
}

impl Evidence {
    /// The equivocating validator.
    pub fn offender(&self) -> PublicKey {
        match self {
            Evidence::DoubleProposal { proposer, .. } => *proposer,
            Evidence::DoubleVote { first, .. } => first.voter,
        }
    }
}

/// What a validator must have on disk before it sends a proposal or a vote, so that a
/// restart never equivocates: the last epoch it proposed or voted in, the height of the
/// highest block it voted for (a lower bound on the notarized chains it had seen), and
/// the last vote itself (so it can be re-sent). Each record supersedes the previous one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Encode, Decode)]
pub struct SafetyRecord {
    /// Last epoch in which this validator proposed or voted (0: never).
    pub epoch: u64,
    /// Height of the highest block it voted for (0: none).
    pub max_vote_height: u64,
    /// Its last vote.
    pub last_vote: Option<Vote>,
}
