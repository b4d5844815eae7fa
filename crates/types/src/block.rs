//! Blocks and headers shared by both consensus protocols.

use crate::codec;
use crate::crypto::PublicKey;
use crate::hash::{merkle_root, Hash};
use crate::tx::SignedTx;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Domain tag of block header hashes.
pub const BLOCK_DOMAIN: &str = "ledger-node/block/v1";

/// Protocol-specific header fields.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConsensusHeader {
    /// A Streamlet proposal: the epoch it was proposed in and the epoch's leader.
    Streamlet {
        /// Epoch number.
        epoch: u64,
        /// The leader that proposed it.
        proposer: PublicKey,
        /// The proposer's clock when it built the block, in milliseconds since the Unix
        /// epoch (not decreasing along a chain; see the Streamlet module docs).
        time_ms: u64,
    },
    /// A proof-of-work block.
    Nakamoto {
        /// Miner's timestamp in milliseconds since the Unix epoch.
        time_ms: u64,
        /// The target the header hash must not exceed (256-bit, big endian).
        target: Hash,
        /// Nonce found by the miner.
        nonce: u64,
        /// The miner's key (for chain-quality accounting).
        miner: PublicKey,
    },
}

/// A block header. Its hash identifies the block.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct BlockHeader {
    /// Hash of the parent block (for height 0, the hash of the genesis document).
    pub parent: Hash,
    /// Height: the parent's height plus one; 0 for the genesis block.
    pub height: u64,
    /// Merkle root of the transaction hashes.
    pub tx_root: Hash,
    /// Protocol-specific fields.
    pub consensus: ConsensusHeader,
}

impl BlockHeader {
    /// The block hash: SHA-256 over a domain tag and the canonical header bytes.
    pub fn hash(&self) -> Hash {
        Hash::tagged(BLOCK_DOMAIN, &[&codec::encode(self)])
    }

    /// The block's timestamp in milliseconds since the Unix epoch: the Streamlet
    /// proposer's or the Nakamoto miner's clock (the genesis time for a genesis block).
    pub fn time_ms(&self) -> u64 {
        match self.consensus {
            ConsensusHeader::Streamlet { time_ms, .. }
            | ConsensusHeader::Nakamoto { time_ms, .. } => time_ms,
        }
    }
}

/// A block: a header and its transactions.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// Transactions, executed in order when the block is final.
    pub txs: Vec<SignedTx>,
}

impl Block {
    /// Builds a block, computing the transaction root.
    pub fn new(parent: Hash, height: u64, consensus: ConsensusHeader, txs: Vec<SignedTx>) -> Block {
        let tx_root = tx_root(&txs);
        Block {
            header: BlockHeader {
                parent,
                height,
                tx_root,
                consensus,
            },
            txs,
        }
    }

    /// The block hash.
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// Height.
    pub fn height(&self) -> u64 {
        self.header.height
    }

    /// True if the header's transaction root matches the transactions.
    pub fn tx_root_matches(&self) -> bool {
        tx_root(&self.txs) == self.header.tx_root
    }

    /// Size of the canonical encoding in bytes.
    pub fn encoded_len(&self) -> usize {
        codec::encode(self).len()
    }
}

/// Merkle root of the transactions' hashes.
pub fn tx_root(txs: &[SignedTx]) -> Hash {
    let hashes: Vec<Hash> = txs.iter().map(|t| t.hash()).collect();
    merkle_root(&hashes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Keypair;
    use crate::tx::{CancelAll, Payload, Tx};

    #[test]
    fn block_hash_commits_to_transactions() {
        let k = Keypair::for_testing("a");
        let tx = Tx {
            chain_id: "c".into(),
            sender: k.public(),
            nonce: 0,
            payload: Payload::CancelAll(CancelAll { market: None }),
            valid_until_height: None,
        }
        .sign(&k);
        let c = ConsensusHeader::Streamlet {
            epoch: 1,
            proposer: k.public(),
            time_ms: 0,
        };
        let b1 = Block::new(Hash::ZERO, 1, c.clone(), vec![tx.clone()]);
        let b2 = Block::new(Hash::ZERO, 1, c, vec![]);
        assert_ne!(b1.hash(), b2.hash());
        assert!(b1.tx_root_matches());
        let mut forged = b1.clone();
        forged.txs.clear();
        assert!(!forged.tx_root_matches());
        let back: Block = codec::decode(&codec::encode(&b1)).unwrap();
        assert_eq!(back.hash(), b1.hash());
    }
}
