//! Snapshots of the ledger state at a final height, for state sync and for
//! `ledger-node snapshot export|import`.
//!
//! A snapshot is a [`SnapshotManifest`] and a list of chunks. Each chunk is the canonical
//! encoding of one [`SnapshotPart`] of at most about [`CHUNK_TARGET_BYTES`]: first the
//! header (the final block at the snapshot height with its finality certificate, and the
//! engine counters), then every account (by address), every resting order (by time
//! priority) and the history summary of every resting order (by id). The manifest names
//! the genesis, the height, the block hash, the state root after the block, and the
//! SHA-256 of every chunk, so a chunk is checked on arrival, whoever sends it. The same
//! state gives the same chunks on every node.
//!
//! What the manifest's state root is worth is decided by the caller: the node accepts a
//! root only with the signatures of a quorum of validators (see `ledger-service`'s
//! `state_sync`). [`assemble`] checks that the chunks rebuild an engine state whose root
//! **is** that root, that the block is the one named, and that the order summaries agree
//! with the resting orders; [`ChainStore::import_snapshot`] then writes it into an empty
//! store as its final and applied height, and block sync fetches the rest.
//!
//! History below the snapshot height (blocks, transactions, trades) is not in a
//! snapshot: a node that joined by state sync serves blocks and indexes from the snapshot
//! height on. The lowest height with history is kept under `meta/history_from`.

use crate::chain::ChainStore;
use crate::error::{Result, StoreError};
use crate::executor::Executor;
use crate::records::{FinalRecord, OrderSummary};
use crate::schema::{self, meta, Cf, SCHEMA_VERSION};
use crate::store::{Batch, Store};
use crate::swaps::{SwapStatus, SwapSummary};
use bincode::{Decode, Encode};
use ledger_engine::{AccountRecord, Counters, Engine, EngineState, OrderRecord};
use ledger_types::{codec, Block, Genesis, Hash};

/// Version of the snapshot format.
pub const SNAPSHOT_VERSION: u32 = 1;
/// Chunks are cut when they reach about this size.
pub const CHUNK_TARGET_BYTES: usize = 512 * 1024;
/// Largest chunk accepted.
pub const MAX_CHUNK_BYTES: usize = 4 * 1024 * 1024;
/// Most chunks a manifest may list.
pub const MAX_CHUNKS: usize = 1 << 20;
/// Key of the lowest height with full history (`u64`, absent: 0).
pub const HISTORY_FROM: &[u8] = b"history_from";
/// Domain tag of manifest ids.
const MANIFEST_DOMAIN: &str = "ledger-node/snapshot-manifest/v1";

/// What a snapshot is: the height, the block, the root, and the chunks' hashes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SnapshotManifest {
    /// [`SNAPSHOT_VERSION`].
    pub version: u32,
    /// The chain's genesis hash.
    pub genesis_hash: Hash,
    /// The final height of the snapshot.
    pub height: u64,
    /// Hash of the final block at that height.
    pub block_hash: Hash,
    /// The state root after that block.
    pub state_root: Hash,
    /// SHA-256 of each chunk, in order.
    pub chunk_hashes: Vec<Hash>,
    /// Total bytes of the chunks.
    pub total_bytes: u64,
}

impl SnapshotManifest {
    /// The manifest's id (a hash of its encoding).
    pub fn id(&self) -> Hash {
        Hash::tagged(MANIFEST_DOMAIN, &[&codec::encode(self)])
    }
}

/// One chunk's content.
// One value per chunk, encoded at once: the size of the header variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum SnapshotPart {
    /// The first chunk: the final block at the snapshot height, its certificate and the
    /// engine counters.
    Header {
        /// The block.
        block: Block,
        /// Its finality certificate (opaque here; the node checks it).
        certificate: Vec<u8>,
        /// Engine counters.
        counters: Counters,
    },
    /// Accounts, by address.
    Accounts(Vec<AccountRecord>),
    /// Resting orders, by time priority.
    Orders(Vec<OrderRecord>),
    /// History summaries of the resting orders, by order id.
    Summaries(Vec<OrderSummary>),
    /// Open hashlock swaps with their index summaries, by swap id.
    Swaps(Vec<SwapSummary>),
}

/// A snapshot: manifest and chunks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The manifest.
    pub manifest: SnapshotManifest,
    /// The chunks.
    pub chunks: Vec<Vec<u8>>,
}

/// A snapshot's content, checked by [`assemble`].
#[derive(Clone, Debug)]
pub struct SnapshotContent {
    /// The final block at the snapshot height.
    pub block: Block,
    /// Its finality certificate.
    pub certificate: Vec<u8>,
    /// The engine state after it.
    pub state: EngineState,
    /// History summaries of the resting orders.
    pub summaries: Vec<OrderSummary>,
    /// Index summaries of the open swaps (their records are `state.swaps`).
    pub swap_summaries: Vec<SwapSummary>,
}

/// Why a snapshot was refused.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A chunk does not hash to the manifest's hash.
    #[error("chunk {index} does not match the manifest (hash {got}, expected {expected})")]
    ChunkHash {
        /// The chunk.
        index: usize,
        /// What it hashes to.
        got: Hash,
        /// What the manifest says.
        expected: Hash,
    },
    /// A chunk does not decode, or is out of place.
    #[error("chunk {index}: {reason}")]
    BadChunk {
        /// The chunk.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// The manifest is unusable.
    #[error("manifest: {0}")]
    BadManifest(String),
    /// The content contradicts the manifest.
    #[error("snapshot content: {0}")]
    Content(String),
}

fn hash_chunk(bytes: &[u8]) -> Hash {
    Hash::digest(bytes)
}

/// Cuts parts into chunks of about [`CHUNK_TARGET_BYTES`].
fn chunks_of<T: Clone + Encode>(
    items: &[T],
    make: fn(Vec<T>) -> SnapshotPart,
    out: &mut Vec<Vec<u8>>,
) {
    let mut batch: Vec<T> = Vec::new();
    let mut size = 0usize;
    for item in items {
        let len = codec::encode(item).len();
        if !batch.is_empty() && size + len > CHUNK_TARGET_BYTES {
            out.push(codec::encode(&make(std::mem::take(&mut batch))));
            size = 0;
        }
        size += len;
        batch.push(item.clone());
    }
    if !batch.is_empty() {
        out.push(codec::encode(&make(batch)));
    }
}

impl Snapshot {
    /// Builds the snapshot of `content` (its state must hash to `state_root`).
    pub fn from_content(
        genesis_hash: Hash,
        state_root: Hash,
        mut content: SnapshotContent,
    ) -> Snapshot {
        content.state.accounts.sort_by_key(|a| a.key);
        content.state.orders.sort_by_key(|o| o.seq);
        content.summaries.sort_by_key(|s| s.order_id);
        content.swap_summaries.sort_by_key(|s| s.record.id);
        let mut chunks = vec![codec::encode(&SnapshotPart::Header {
            block: content.block.clone(),
            certificate: content.certificate,
            counters: content.state.counters,
        })];
        chunks_of(&content.state.accounts, SnapshotPart::Accounts, &mut chunks);
        chunks_of(&content.state.orders, SnapshotPart::Orders, &mut chunks);
        chunks_of(&content.summaries, SnapshotPart::Summaries, &mut chunks);
        chunks_of(&content.swap_summaries, SnapshotPart::Swaps, &mut chunks);
        let manifest = SnapshotManifest {
            version: SNAPSHOT_VERSION,
            genesis_hash,
            height: content.block.height(),
            block_hash: content.block.hash(),
            state_root,
            chunk_hashes: chunks.iter().map(|c| hash_chunk(c)).collect(),
            total_bytes: chunks.iter().map(|c| c.len() as u64).sum(),
        };
        Snapshot { manifest, chunks }
    }

    /// The snapshot of `exec`'s ledger at its applied height, which must be its final
    /// height (the executor has caught up).
    pub fn build<S: Store>(exec: &Executor<S>) -> Result<Snapshot> {
        let height = exec.applied_height();
        if height != exec.final_height() {
            return Err(StoreError::Backend(format!(
                "snapshot: applied height {height} is below the final height {}",
                exec.final_height()
            )));
        }
        let store = exec.store();
        let fin = store
            .finalized_block(height)?
            .ok_or(StoreError::MissingFinal {
                height,
                final_height: exec.final_height(),
            })?;
        let state = exec.engine().export_state();
        let mut summaries = Vec::with_capacity(state.orders.len());
        for o in &state.orders {
            let s = store.order(&o.id)?.ok_or_else(|| {
                StoreError::Index(format!("resting order {} has no history summary", o.id))
            })?;
            summaries.push(s);
        }
        let mut swap_summaries = Vec::with_capacity(state.swaps.len());
        for r in &state.swaps {
            let s = store.swap(&r.id)?.ok_or_else(|| {
                StoreError::Index(format!("open swap {} has no index summary", r.id))
            })?;
            swap_summaries.push(s);
        }
        let content = SnapshotContent {
            block: fin.block,
            certificate: fin.certificate,
            state,
            summaries,
            swap_summaries,
        };
        Ok(Snapshot::from_content(
            exec.genesis().hash(),
            exec.state_root(),
            content,
        ))
    }

    /// The snapshot as one file: a magic line, then the manifest and the chunks, each a
    /// 4-byte big-endian length and its bytes.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        let mut out = FILE_MAGIC.to_vec();
        let m = codec::encode(&self.manifest);
        out.extend_from_slice(&(m.len() as u32).to_be_bytes());
        out.extend_from_slice(&m);
        for c in &self.chunks {
            out.extend_from_slice(&(c.len() as u32).to_be_bytes());
            out.extend_from_slice(c);
        }
        out
    }

    /// Reads [`Self::to_file_bytes`]; every bound is checked, nothing panics.
    pub fn from_file_bytes(bytes: &[u8]) -> std::result::Result<Snapshot, SnapshotError> {
        let bad = |m: &str| SnapshotError::BadManifest(m.to_string());
        let mut rest = bytes
            .strip_prefix(FILE_MAGIC)
            .ok_or_else(|| bad("not a ledger-node snapshot file"))?;
        let mut next = |max: usize| -> std::result::Result<Vec<u8>, SnapshotError> {
            if rest.len() < 4 {
                return Err(bad("truncated file"));
            }
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if len > max || rest.len() < 4 + len {
                return Err(bad("truncated file or oversized section"));
            }
            let v = rest[4..4 + len].to_vec();
            rest = &rest[4 + len..];
            Ok(v)
        };
        let manifest = decode_manifest(&next(MAX_CHUNK_BYTES)?)?;
        let mut chunks = Vec::with_capacity(manifest.chunk_hashes.len());
        for _ in 0..manifest.chunk_hashes.len() {
            chunks.push(next(MAX_CHUNK_BYTES)?);
        }
        if !rest.is_empty() {
            return Err(bad("trailing bytes after the last chunk"));
        }
        Ok(Snapshot { manifest, chunks })
    }
}

const FILE_MAGIC: &[u8] = b"ledger-node snapshot v1\n";

/// Decodes a manifest and checks its bounds.
pub fn decode_manifest(bytes: &[u8]) -> std::result::Result<SnapshotManifest, SnapshotError> {
    let m: SnapshotManifest = codec::decode_bounded(bytes, MAX_CHUNK_BYTES)
        .map_err(|e| SnapshotError::BadManifest(format!("does not decode: {e}")))?;
    if m.version != SNAPSHOT_VERSION {
        return Err(SnapshotError::BadManifest(format!(
            "version {} (expected {SNAPSHOT_VERSION})",
            m.version
        )));
    }
    if m.chunk_hashes.is_empty() || m.chunk_hashes.len() > MAX_CHUNKS {
        return Err(SnapshotError::BadManifest(format!(
            "{} chunks (1 to {MAX_CHUNKS})",
            m.chunk_hashes.len()
        )));
    }
    Ok(m)
}

/// Checks one chunk against the manifest.
pub fn check_chunk(
    manifest: &SnapshotManifest,
    index: usize,
    bytes: &[u8],
) -> std::result::Result<(), SnapshotError> {
    let expected = *manifest
        .chunk_hashes
        .get(index)
        .ok_or_else(|| SnapshotError::BadChunk {
            index,
            reason: "no such chunk in the manifest".into(),
        })?;
    let got = hash_chunk(bytes);
    if bytes.len() > MAX_CHUNK_BYTES || got != expected {
        return Err(SnapshotError::ChunkHash {
            index,
            got,
            expected,
        });
    }
    Ok(())
}

/// Rebuilds and checks a snapshot's content: every chunk against the manifest, the
/// header block against the manifest's height and hash, the engine state against the
/// manifest's state root (restoring it checks its consistency), and every resting
/// order's summary against the order.
pub fn assemble(
    genesis: &Genesis,
    manifest: &SnapshotManifest,
    chunks: &[Vec<u8>],
) -> std::result::Result<(SnapshotContent, Engine), SnapshotError> {
    if manifest.genesis_hash != genesis.hash() {
        return Err(SnapshotError::BadManifest(format!(
            "genesis {} is not this chain's {}",
            manifest.genesis_hash,
            genesis.hash()
        )));
    }
    if chunks.len() != manifest.chunk_hashes.len() {
        return Err(SnapshotError::BadManifest(format!(
            "{} chunks given, the manifest lists {}",
            chunks.len(),
            manifest.chunk_hashes.len()
        )));
    }
    let mut header = None;
    let mut accounts = Vec::new();
    let mut orders = Vec::new();
    let mut summaries = Vec::new();
    let mut swap_summaries: Vec<SwapSummary> = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        check_chunk(manifest, i, c)?;
        let part: SnapshotPart =
            codec::decode_bounded(c, MAX_CHUNK_BYTES).map_err(|e| SnapshotError::BadChunk {
                index: i,
                reason: format!("does not decode: {e}"),
            })?;
        match (i, part) {
            (
                0,
                SnapshotPart::Header {
                    block,
                    certificate,
                    counters,
                },
            ) => header = Some((block, certificate, counters)),
            (0, _) | (_, SnapshotPart::Header { .. }) => {
                return Err(SnapshotError::BadChunk {
                    index: i,
                    reason: "the header must be the first chunk, and only it".into(),
                })
            }
            (_, SnapshotPart::Accounts(v)) => accounts.extend(v),
            (_, SnapshotPart::Orders(v)) => orders.extend(v),
            (_, SnapshotPart::Summaries(v)) => summaries.extend(v),
            (_, SnapshotPart::Swaps(v)) => swap_summaries.extend(v),
        }
    }
    let (block, certificate, counters) =
        header.ok_or_else(|| SnapshotError::Content("no header chunk".into()))?;
    if block.height() != manifest.height || block.hash() != manifest.block_hash {
        return Err(SnapshotError::Content(format!(
            "the header block is {} at height {}, the manifest names {} at {}",
            block.hash(),
            block.height(),
            manifest.block_hash,
            manifest.height
        )));
    }
    // The engine's height is not in the state root: it must be the snapshot's.
    if counters.height != manifest.height {
        return Err(SnapshotError::Content(format!(
            "the engine counters are at height {}, the snapshot at {}",
            counters.height, manifest.height
        )));
    }
    if !block.tx_root_matches() {
        return Err(SnapshotError::Content(
            "the header block's transactions do not match its tx_root".into(),
        ));
    }
    let state = EngineState {
        accounts,
        orders,
        counters,
        swaps: swap_summaries.iter().map(|s| s.record.clone()).collect(),
    };
    let engine = Engine::restore(genesis, state.clone())
        .map_err(|e| SnapshotError::Content(e.to_string()))?;
    if engine.state_root() != manifest.state_root {
        return Err(SnapshotError::Content(format!(
            "the state hashes to {}, the manifest's (attested) root is {}",
            engine.state_root(),
            manifest.state_root
        )));
    }
    // Summaries: exactly one per resting order, agreeing with it.
    if summaries.len() != state.orders.len() {
        return Err(SnapshotError::Content(format!(
            "{} order summaries for {} resting orders",
            summaries.len(),
            state.orders.len()
        )));
    }
    let by_id: std::collections::BTreeMap<_, _> = state.orders.iter().map(|o| (o.id, o)).collect();
    for s in &summaries {
        let o = by_id.get(&s.order_id).ok_or_else(|| {
            SnapshotError::Content(format!("summary of {} names no resting order", s.order_id))
        })?;
        let agrees = s.account == o.account
            && s.market == o.market
            && s.side == o.side
            && s.price == Some(o.price)
            && s.quantity == o.quantity
            && s.filled + o.remaining == o.quantity
            && s.client_order_id == o.client_order_id
            && s.status.is_open()
            // Only limit GTC or post-only orders rest; the order was placed before it
            // was last updated, both at or below the snapshot height.
            && s.kind == ledger_types::OrderKind::Limit
            && matches!(
                s.time_in_force,
                ledger_types::TimeInForce::Gtc | ledger_types::TimeInForce::PostOnly
            )
            && s.height <= s.updated_height
            && s.updated_height <= manifest.height;
        if !agrees {
            return Err(SnapshotError::Content(format!(
                "the summary of order {} contradicts the resting order",
                s.order_id
            )));
        }
    }
    // Swap summaries: the open swaps (the state checked above), each still open.
    for s in &swap_summaries {
        if s.status != SwapStatus::Open || s.record.lock_height > manifest.height {
            return Err(SnapshotError::Content(format!(
                "the summary of swap {} is not that of an open swap",
                s.record.id
            )));
        }
    }
    Ok((
        SnapshotContent {
            block,
            certificate,
            state,
            summaries,
            swap_summaries,
        },
        engine,
    ))
}

impl<S: Store> ChainStore<S> {
    /// Writes a checked snapshot ([`assemble`]) into an **empty** store: schema, genesis,
    /// the genesis block (final at 0), the snapshot block (final at its height, with its
    /// certificate), the state root, the ledger state and the resting orders' index
    /// entries; final and applied height = the snapshot height. One synced batch.
    pub fn import_snapshot(
        &self,
        genesis: &Genesis,
        manifest: &SnapshotManifest,
        content: &SnapshotContent,
    ) -> Result<()> {
        if !self.is_empty()? {
            return Err(StoreError::Backend(
                "refusing to import a snapshot into a store that already holds data".into(),
            ));
        }
        let json = serde_json::to_vec(genesis)
            .map_err(|e| StoreError::InvalidGenesis(format!("cannot serialise: {e}")))?;
        let g = genesis.block();
        let h = manifest.height;
        let mut b = Batch::new();
        b.put_encoded(Cf::Meta, meta::SCHEMA_VERSION, &SCHEMA_VERSION);
        b.put_encoded(Cf::Meta, meta::GENESIS_HASH, &genesis.hash());
        b.put(Cf::Meta, meta::GENESIS, &json);
        b.put_encoded(Cf::Meta, meta::FINAL_HEIGHT, &h);
        b.put_encoded(Cf::Meta, meta::APPLIED_HEIGHT, &h);
        b.put_encoded(Cf::Meta, HISTORY_FROM, &h);
        b.put_encoded(Cf::Blocks, &g.hash().0, &g);
        b.put_encoded(
            Cf::Final,
            &schema::height_key(0),
            &FinalRecord {
                hash: g.hash(),
                certificate: Vec::new(),
            },
        );
        b.put_encoded(Cf::Blocks, &manifest.block_hash.0, &content.block);
        b.put_encoded(
            Cf::Final,
            &schema::height_key(h),
            &FinalRecord {
                hash: manifest.block_hash,
                certificate: content.certificate.clone(),
            },
        );
        b.put_encoded(Cf::Roots, &schema::height_key(h), &manifest.state_root);
        for a in &content.state.accounts {
            b.put_encoded(Cf::State, &schema::account_key(&a.key), a);
        }
        for o in &content.state.orders {
            b.put_encoded(Cf::State, &schema::order_key(&o.id), o);
        }
        b.put_encoded(Cf::State, schema::STATE_COUNTERS, &content.state.counters);
        for s in &content.swap_summaries {
            let r = &s.record;
            b.put_encoded(Cf::State, &schema::swap_state_key(&r.id), r);
            b.put_encoded(Cf::Swaps, &schema::swap_summary_key(&r.id), s);
            for who in [r.owner, r.counterparty] {
                b.put_encoded(
                    Cf::Swaps,
                    &schema::account_swap_key(&who, r.lock_height, s.lock_position),
                    &r.id,
                );
            }
        }
        for s in &content.summaries {
            b.put_encoded(Cf::OrderIndex, &s.order_id.0, s);
            for tag in [schema::ACCOUNT_ALL, schema::ACCOUNT_OPEN] {
                b.put_encoded(
                    Cf::AccountOrders,
                    &schema::account_order_key(tag, &s.account, s.height, s.position),
                    &s.order_id,
                );
            }
        }
        for (cf, _) in schema::MARKED {
            b.put(cf, &schema::marker_key(h), &[]);
        }
        self.raw().write(&b, true)?;
        self.raw().record_progress(h, h);
        tracing::info!(height = h, root = %manifest.state_root, block = %manifest.block_hash, "imported a snapshot");
        Ok(())
    }

    /// The lowest height whose block and indexes this store holds (0 unless it was
    /// created from a snapshot).
    pub fn history_from(&self) -> Result<u64> {
        Ok(self
            .get_decoded::<u64>(Cf::Meta, HISTORY_FROM)?
            .unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit;

    #[test]
    fn build_assemble_import_round_trip_and_tampering() {
        let (genesis, keys) = testkit::genesis(20);
        let blocks = testkit::chain(&genesis, &keys, 7, 30, 40);
        let store = ChainStore::new(crate::MemStore::new(), Default::default());
        let mut exec = Executor::open(store, Some(&genesis)).unwrap();
        for b in blocks {
            let cert = testkit::certificate(b.height());
            exec.finalize(b, &cert).unwrap();
        }
        let snap = Snapshot::build(&exec).unwrap();
        assert_eq!(snap.manifest.height, exec.final_height());
        assert_eq!(snap.manifest.state_root, exec.state_root());
        assert!(!exec.engine().export_state().orders.is_empty());
        // Same state, same chunks (determinism across nodes).
        assert_eq!(Snapshot::build(&exec).unwrap(), snap);
        // File round trip.
        let back = Snapshot::from_file_bytes(&snap.to_file_bytes()).unwrap();
        assert_eq!(back, snap);
        let (content, engine) = assemble(&genesis, &snap.manifest, &snap.chunks).unwrap();
        assert_eq!(engine.state_root(), exec.state_root());

        // Import into an empty store: it opens at the snapshot height with the same root,
        // book and balances.
        let fresh = ChainStore::new(crate::MemStore::new(), Default::default());
        fresh
            .import_snapshot(&genesis, &snap.manifest, &content)
            .unwrap();
        let other = Executor::open(fresh.clone(), Some(&genesis)).unwrap();
        assert_eq!(other.final_height(), exec.final_height());
        assert_eq!(other.state_root(), exec.state_root());
        assert_eq!(
            other.engine().export_state().orders,
            exec.engine().export_state().orders
        );
        assert_eq!(fresh.history_from().unwrap(), snap.manifest.height);
        let any = &content.summaries[0];
        assert_eq!(fresh.order(&any.order_id).unwrap().as_ref(), Some(any));
        // Not twice.
        assert!(fresh
            .import_snapshot(&genesis, &snap.manifest, &content)
            .is_err());

        // A flipped byte in any chunk is refused by its hash.
        for i in 0..snap.chunks.len() {
            let mut bad = snap.chunks.clone();
            let last = bad[i].len() - 1;
            bad[i][last] ^= 1;
            assert!(matches!(
                assemble(&genesis, &snap.manifest, &bad),
                Err(SnapshotError::ChunkHash { index, .. }) if index == i
            ));
        }
        // A forged state with a self-consistent manifest is refused by the root.
        let mut forged_content = content.clone();
        forged_content.state.accounts[0].balances[0].free += 1;
        let forged =
            Snapshot::from_content(genesis.hash(), snap.manifest.state_root, forged_content);
        let e = assemble(&genesis, &forged.manifest, &forged.chunks).unwrap_err();
        assert!(matches!(e, SnapshotError::Content(_)), "{e}");
        // Garbage files are errors.
        assert!(Snapshot::from_file_bytes(b"nope").is_err());
        let mut cut = snap.to_file_bytes();
        cut.truncate(cut.len() - 1);
        assert!(Snapshot::from_file_bytes(&cut).is_err());
    }
}
