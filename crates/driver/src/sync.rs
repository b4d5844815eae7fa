//! Block sync payloads: what a node serves to a peer that is behind and how the items
//! are encoded inside the network's opaque sync response.

use bincode::{Decode, Encode};
use ledger_consensus::streamlet::Certificate;
use ledger_types::{codec, Block};

/// Most blocks asked for in one sync request.
pub const SYNC_BATCH: u64 = 64;

/// A block with its finality or notarization certificate, as block sync carries it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SyncItem {
    /// The block.
    pub block: Block,
    /// Encoded Streamlet certificate, or empty (proof of work).
    pub certificate: Vec<u8>,
}

impl SyncItem {
    /// An item for `block` with an optional Streamlet certificate.
    pub fn new(block: Block, certificate: Option<&Certificate>) -> SyncItem {
        SyncItem {
            block,
            certificate: certificate.map(codec::encode).unwrap_or_default(),
        }
    }

    /// The certificate, if the item carries one. `Err` if it does not decode.
    pub fn decode_certificate(&self) -> Result<Option<Certificate>, String> {
        if self.certificate.is_empty() {
            return Ok(None);
        }
        codec::decode(&self.certificate)
            .map(Some)
            .map_err(|e| format!("certificate does not decode: {e}"))
    }
}

/// The answer to a sync request: consecutive blocks from the requested height, and the
/// responder's final height.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncBatch {
    /// The responder's final height.
    pub final_height: u64,
    /// The responder's clock when it answered (ms since the Unix epoch; 0: unknown).
    pub time_ms: u64,
    /// Blocks in height order.
    pub items: Vec<SyncItem>,
}

impl SyncBatch {
    /// Encodes the items for the network's opaque response.
    pub fn encode_items(&self) -> Vec<Vec<u8>> {
        self.items.iter().map(codec::encode).collect()
    }

    /// Decodes a network response: items that do not decode end the batch (the rest is
    /// asked again, from another peer if this one keeps failing).
    pub fn decode(
        final_height: u64,
        time_ms: u64,
        items: &[Vec<u8>],
        max_item_bytes: usize,
    ) -> SyncBatch {
        let items = items
            .iter()
            .map_while(|i| codec::decode_bounded::<SyncItem>(i, max_item_bytes).ok())
            .collect();
        SyncBatch {
            final_height,
            time_ms,
            items,
        }
    }
}
