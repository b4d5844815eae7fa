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

    /// Decodes a block's canonical encoding, like [`codec::decode`], but hashes each
    /// transaction from the bytes it was decoded from instead of encoding it again
    /// (the transaction ids are the same: the codec accepts only canonical encodings;
    /// see [`crate::Tx::hash_of_encoding`]). For reading stored blocks in bulk (replay).
    ///
    /// Rejects what [`codec::decode`] rejects: oversized input, malformed bytes, a
    /// transaction count whose claimed memory exceeds the codec limit, trailing bytes.
    /// (The codec's memory limit is applied per transaction rather than to the whole
    /// block's claims; each transaction is bounded by its own bytes either way.)
    pub fn decode_canonical(bytes: &[u8]) -> Result<Block, codec::CodecError> {
        use codec::{CodecError, MAX_ENCODED_LEN};
        let malformed = |e: bincode::error::DecodeError| CodecError::Malformed(e.to_string());
        if bytes.len() > MAX_ENCODED_LEN {
            return Err(CodecError::TooLarge {
                len: bytes.len(),
                limit: MAX_ENCODED_LEN,
            });
        }
        let (header, mut at) = bincode::decode_from_slice::<BlockHeader, _>(bytes, codec::config())
            .map_err(malformed)?;
        let (count, n) = bincode::decode_from_slice::<u64, _>(&bytes[at..], codec::config())
            .map_err(malformed)?;
        at += n;
        // As the codec's container check: the claimed memory must fit the limit.
        let claim = (count as usize).checked_mul(std::mem::size_of::<SignedTx>());
        if count > usize::MAX as u64 || claim.is_none_or(|c| c > MAX_ENCODED_LEN) {
            return Err(CodecError::Malformed(format!(
                "a block of {count} transactions exceeds the decoding limit"
            )));
        }
        let mut txs = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let (stx, n) = SignedTx::decode_prefix(&bytes[at..]).map_err(malformed)?;
            at += n;
            txs.push(stx);
        }
        if at != bytes.len() {
            return Err(CodecError::TrailingBytes(bytes.len() - at));
        }
        Ok(Block { header, txs })
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

    fn mixed_block() -> Block {
        use crate::tx::{
            AmendOrder, Batch, BatchAction, CancelOrder, ClientOrderId, MarketId, OrderKind,
            OrderRef, PlaceOrder, SelfTradePrevention, Side, TimeInForce, Transfer,
        };
        use rust_decimal::Decimal;
        let k = Keypair::for_testing("a");
        let place = |i: u64| PlaceOrder {
            market: MarketId(i as u32 % 2),
            side: if i.is_multiple_of(2) {
                Side::Buy
            } else {
                Side::Sell
            },
            kind: OrderKind::Limit,
            price: Some(Decimal::new(100_000 + i as i64, 2)),
            quantity: Decimal::new(15 + i as i64, 3),
            time_in_force: TimeInForce::Gtc,
            client_order_id: i.is_multiple_of(3).then_some(ClientOrderId(i as u128 * 77)),
            self_trade: SelfTradePrevention::ExpireMaker,
            good_till_height: i.is_multiple_of(4).then_some(i + 9),
        };
        let txs = (0..40u64)
            .map(|i| {
                let payload = match i % 5 {
                    0 => Payload::PlaceOrder(place(i)),
                    1 => Payload::CancelOrder(CancelOrder {
                        order: OrderRef::ClientOrderId(ClientOrderId(i as u128)),
                    }),
                    2 => Payload::Batch(Batch {
                        actions: vec![
                            BatchAction::PlaceOrder(place(i)),
                            BatchAction::CancelOrder(CancelOrder {
                                order: OrderRef::OrderId(Hash([i as u8; 32])),
                            }),
                            BatchAction::AmendOrder(AmendOrder {
                                order: OrderRef::OrderId(Hash([1; 32])),
                                price: None,
                                quantity: Some(Decimal::new(5, 1)),
                            }),
                        ],
                    }),
                    3 => Payload::Transfer(Transfer {
                        to: Keypair::for_testing("b").public(),
                        asset: crate::tx::AssetId(1),
                        amount: Decimal::new(12_345, 4),
                    }),
                    _ => Payload::CancelAll(CancelAll { market: None }),
                };
                Tx {
                    chain_id: "ledger-test".into(),
                    sender: k.public(),
                    nonce: i,
                    payload,
                    valid_until_height: i.is_multiple_of(7).then_some(100 + i),
                }
                .sign(&k)
            })
            .collect();
        let c = ConsensusHeader::Nakamoto {
            time_ms: 5,
            target: Hash([9; 32]),
            nonce: 3,
            miner: k.public(),
        };
        Block::new(Hash([2; 32]), 7, c, txs)
    }

    /// Hashing a transaction from its stored bytes gives `Tx::hash`, and the block
    /// decoder that does so returns exactly what `codec::decode` returns.
    #[test]
    fn decode_canonical_equals_the_codec_and_keeps_the_hashes() {
        let block = mixed_block();
        for stx in &block.txs {
            let bytes = codec::encode(&stx.tx);
            assert_eq!(crate::Tx::hash_of_encoding(&bytes), stx.tx.hash());
            assert_eq!(stx.hash(), stx.tx.hash());
        }
        let bytes = codec::encode(&block);
        let fast = Block::decode_canonical(&bytes).unwrap();
        let slow: Block = codec::decode(&bytes).unwrap();
        assert_eq!(fast, slow);
        assert_eq!(fast, block);
        for (f, s) in fast.txs.iter().zip(&slow.txs) {
            assert_eq!(f.hash(), s.hash());
        }
        assert!(fast.tx_root_matches());
        // Empty block.
        let empty = Block::new(Hash::ZERO, 1, block.header.consensus.clone(), vec![]);
        let e = codec::encode(&empty);
        assert_eq!(Block::decode_canonical(&e).unwrap(), empty);
    }

    /// Truncated, extended and corrupted encodings: the fast decoder accepts exactly
    /// what the codec accepts, with the same value.
    #[test]
    fn decode_canonical_rejects_what_the_codec_rejects() {
        let bytes = codec::encode(&mixed_block());
        for cut in 0..bytes.len() {
            assert!(
                Block::decode_canonical(&bytes[..cut]).is_err(),
                "prefix {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            Block::decode_canonical(&longer),
            Err(codec::CodecError::TrailingBytes(1))
        );
        assert_eq!(
            codec::decode::<Block>(&longer),
            Err(codec::CodecError::TrailingBytes(1))
        );
        for i in 0..bytes.len() {
            for flip in [1u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                let fast = Block::decode_canonical(&b).ok();
                let slow = codec::decode::<Block>(&b).ok();
                assert_eq!(fast, slow, "byte {i} ^ {flip:#x}");
            }
        }
        // A transaction count whose claimed memory exceeds the limit.
        let mut huge = codec::encode(&mixed_block().header);
        huge.extend_from_slice(&(u64::MAX / 2).to_le_bytes());
        assert!(Block::decode_canonical(&huge).is_err());
        assert!(codec::decode::<Block>(&huge).is_err());
    }
}
