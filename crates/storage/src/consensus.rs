//! What consensus keeps on disk beside the ledger, behind typed methods: the
//! validator's safety record, notarization certificates of blocks above the final
//! tip, non-final blocks, and the typed state a restarted node restores from.
//!
//! Keys (column family `consensus`), owned by this module alone:
//!
//! | key | value |
//! | --- | --- |
//! | `streamlet/safety` | the [`SafetyRecord`] (written synced, before the vote it protects) |
//! | `streamlet/cert/<block hash>` | the block's notarization [`Certificate`] |
//!
//! A certificate is deleted in the batch that makes its block final (the final marker
//! carries it from then on, see [`crate::executor`]); certificates of blocks that can no
//! longer become final are dropped when a node restores.

use crate::chain::ChainStore;
use crate::error::{Result, StoreError};
use crate::records::FinalizedBlock;
use crate::schema::Cf;
use crate::store::{Batch, Store};
use ledger_consensus::nakamoto;
use ledger_consensus::streamlet::{self, Certificate, SafetyRecord};
use ledger_types::{Block, Hash};

/// Key of the Streamlet safety record.
const SAFETY_KEY: &[u8] = b"streamlet/safety";
/// Prefix of notarization certificates (followed by the 32-byte block hash).
const CERT_PREFIX: &[u8] = b"streamlet/cert/";

/// The key of a block's notarization certificate.
pub(crate) fn cert_key(hash: &Hash) -> [u8; 47] {
    let mut k = [0u8; 47];
    k[..15].copy_from_slice(CERT_PREFIX);
    k[15..].copy_from_slice(&hash.0);
    k
}

/// Storage a consensus host needs: the safety record, certificates, non-final blocks
/// and typed restore. Final blocks and the ledger are the executor's
/// ([`crate::Executor`]); this trait never writes them.
pub trait ConsensusStore {
    /// Stores the validator's safety record and returns only once it is durable: the
    /// proposal or vote it protects is sent after this returns.
    fn save_safety_record(&self, record: &SafetyRecord) -> Result<()>;
    /// Stores a notarized block and its certificate (one batch).
    fn save_notarized(&self, block: &Block, certificate: &Certificate) -> Result<()>;
    /// Stores a block that is not final (a Nakamoto block on the best chain).
    fn save_block(&self, block: &Block) -> Result<()>;
    /// The Streamlet state of a restarted node: the final block, the notarized blocks
    /// above it with their certificates, and the safety record. Certificates of blocks
    /// at or below the final height are deleted on the way.
    fn load_streamlet(&self) -> Result<streamlet::RestoreState>;
    /// The Nakamoto state of a restarted node: the last `keep + 1` final blocks (or all
    /// from genesis), oldest first.
    fn load_nakamoto(&self, keep: u64) -> Result<nakamoto::RestoreState>;
    /// Executed final blocks `from..=to` with their certificates, at most `max`, in
    /// height order (what block sync serves).
    fn final_blocks(&self, from: u64, to: u64, max: usize) -> Result<Vec<FinalizedBlock>>;
}

impl<S: Store> ConsensusStore for ChainStore<S> {
    fn save_safety_record(&self, record: &SafetyRecord) -> Result<()> {
        let mut b = Batch::new();
        b.put_encoded(Cf::Consensus, SAFETY_KEY, record);
        self.raw().write(&b, true)
    }

    fn save_notarized(&self, block: &Block, certificate: &Certificate) -> Result<()> {
        let hash = block.hash();
        let mut b = Batch::new();
        b.put_encoded(Cf::Blocks, &hash.0, block);
        b.put_encoded(Cf::Consensus, &cert_key(&hash), certificate);
        self.write(&b)
    }

    fn save_block(&self, block: &Block) -> Result<()> {
        self.put_block(block)
    }

    fn load_streamlet(&self) -> Result<streamlet::RestoreState> {
        let final_height = self.final_height()?;
        let final_block = self
            .block_by_height(final_height)?
            .ok_or(StoreError::MissingFinal {
                height: final_height,
                final_height,
            })?;
        let safety: SafetyRecord = self
            .get_decoded(Cf::Consensus, SAFETY_KEY)?
            .unwrap_or_default();
        let mut notarized = Vec::new();
        let mut stale = Batch::new();
        for (key, value) in self.consensus_with_prefix(CERT_PREFIX)? {
            let Ok(hash) = <[u8; 32]>::try_from(&key[CERT_PREFIX.len()..]).map(Hash) else {
                return Err(StoreError::BadKey {
                    cf: Cf::Consensus.name(),
                    key: hex::encode(&key),
                });
            };
            let certificate: Certificate = crate::chain::decode_value(Cf::Consensus, &key, &value)?;
            match self.block_by_hash(&hash)? {
                Some(block) if block.height() > final_height => {
                    notarized.push((block, certificate))
                }
                _ => stale.delete(Cf::Consensus, &key),
            }
        }
        if !stale.is_empty() {
            self.write(&stale)?;
        }
        Ok(streamlet::RestoreState {
            final_block,
            notarized,
            safety,
        })
    }

    fn load_nakamoto(&self, keep: u64) -> Result<nakamoto::RestoreState> {
        let final_height = self.final_height()?;
        let mut final_tail = Vec::new();
        for h in final_height.saturating_sub(keep)..=final_height {
            let block = self.block_by_height(h)?.ok_or(StoreError::MissingFinal {
                height: h,
                final_height,
            })?;
            final_tail.push(block);
        }
        Ok(nakamoto::RestoreState {
            final_tail,
            unfinal: Vec::new(),
        })
    }

    fn final_blocks(&self, from: u64, to: u64, max: usize) -> Result<Vec<FinalizedBlock>> {
        self.finalized_range(from, to, max)
    }
}
