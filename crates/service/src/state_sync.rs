//! State sync: serving snapshots of the ledger state to joining nodes, and joining a
//! chain from one instead of replaying every block from genesis.
//!
//! # Trust
//!
//! A block header carries no state root, so the root of a snapshot is vouched for by
//! the validators themselves: a validator that has executed the final block at height
//! `h` signs a [`StateAttestation`] `(genesis hash, h, block hash, state root)` with its
//! genesis key (the node key, which is also its libp2p identity). A joining node accepts
//! a snapshot only when **a Streamlet quorum (⌈2n/3⌉) of distinct genesis validators**
//! attest the manifest's block and root, the block's notarization certificate verifies
//! against the genesis validator set, every chunk matches the manifest's hash, and the
//! rebuilt engine state hashes to the attested root. That is the assumption Streamlet's
//! safety already makes (fewer than n/3 faulty validators): a forged root needs ⌈2n/3⌉
//! signatures, so at least one honest validator would have to sign it.
//!
//! A chunk that does not match the manifest is refused, the log names the peer that
//! sent it, `ledger_snapshot_refused_total{reason}` counts it, and the chunk is fetched
//! from another peer. Nakamoto chains have no validator set to vouch for a root, so
//! state sync refuses them (they join by block sync).
//!
//! # Serving
//!
//! Every node serves the manifest of a snapshot at its current applied height (rebuilt
//! at most every [`REBUILD_AFTER`], the two newest kept for joiners still fetching), its
//! chunks, and, if it is a validator, attestations for any height it has applied.

use crate::config::Config;
use crate::metrics::RocksCollector;
use crate::node::NodeError;
use crate::shared::Shared;
use bincode::{Decode, Encode};
use ledger_network::{
    IdentitySeed, Network, NetworkConfig, NetworkHandle, PeerId, SnapshotRequest, SnapshotResponse,
};
use ledger_storage::snapshot::{assemble, check_chunk, decode_manifest, Snapshot};
use ledger_storage::{ChainStore, SnapshotManifest};
use ledger_types::{codec, Genesis, Hash, Keypair, PublicKey, Signature};
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A served snapshot is rebuilt (at the then applied height) when older than this.
pub const REBUILD_AFTER: Duration = Duration::from_secs(10);
/// Domain tag of attestation signatures.
const ATTESTATION_DOMAIN: &str = "ledger-node/state-attestation/v1";

/// A validator's signed statement of its state root after a final block.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct StateAttestation {
    /// The final height.
    pub height: u64,
    /// The final block at that height.
    pub block_hash: Hash,
    /// The state root after it.
    pub state_root: Hash,
    /// The validator (genesis key).
    pub validator: PublicKey,
    /// Its signature over [`attestation_message`].
    pub signature: Signature,
}

/// The bytes a validator signs.
pub fn attestation_message(
    genesis_hash: &Hash,
    height: u64,
    block_hash: &Hash,
    state_root: &Hash,
) -> Vec<u8> {
    Hash::tagged(
        ATTESTATION_DOMAIN,
        &[
            &genesis_hash.0,
            &height.to_be_bytes(),
            &block_hash.0,
            &state_root.0,
        ],
    )
    .0
    .to_vec()
}

impl StateAttestation {
    /// Checks the signature and that the signer is a genesis validator.
    pub fn verify(&self, genesis: &Genesis) -> bool {
        genesis
            .validators
            .iter()
            .any(|v| v.public_key == self.validator)
            && self
                .validator
                .verify(
                    &attestation_message(
                        &genesis.hash(),
                        self.height,
                        &self.block_hash,
                        &self.state_root,
                    ),
                    &self.signature,
                )
                .is_ok()
    }
}

// ------------------------------------------------------------------ running node

/// Starts what an operator needs from a running node besides consensus: the snapshot
/// server, libp2p and RocksDB metrics in `/metrics`, and the final-block metrics
/// observer. Called once, when the node's network events are routed.
pub fn on_node_started(shared: &Arc<Shared>, net: &NetworkHandle) {
    shared.metrics.attach_registry(net.metrics_registry());
    shared
        .metrics
        .attach_collector(Box::new(RocksCollector::new(shared.store.clone())));
    spawn_block_observer(shared.clone());
    if let Some(requests) = net.take_snapshot_requests() {
        tokio::spawn(serve(shared.clone(), net.clone(), requests));
    }
}

fn spawn_block_observer(shared: Arc<Shared>) {
    let mut rx = shared.final_blocks.subscribe();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(fb) => shared.metrics.observe_final_block(
                    &fb.block,
                    Some(fb.applied.execute_time),
                    Some(fb.applied.commit_time),
                    crate::runtime::now_ms(),
                ),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

struct Served {
    built: Instant,
    by_height: BTreeMap<u64, Arc<Snapshot>>,
}

async fn serve(
    shared: Arc<Shared>,
    net: NetworkHandle,
    mut requests: tokio::sync::mpsc::Receiver<ledger_network::InboundSnapshotRequest>,
) {
    let served = Arc::new(Mutex::new(Served {
        built: Instant::now() - 2 * REBUILD_AFTER,
        by_height: BTreeMap::new(),
    }));
    while let Some(req) = requests.recv().await {
        let shared = shared.clone();
        let served = served.clone();
        let net = net.clone();
        let peer = req.peer;
        let request = req.request;
        let response = tokio::task::spawn_blocking(move || answer(&shared, &net, &served, request))
            .await
            .unwrap_or_else(|e| SnapshotResponse::Unavailable(format!("internal error: {e}")));
        tracing::debug!(%peer, ?request, "snapshot request answered");
        let _ = req.respond(response);
    }
}

fn answer(
    shared: &Shared,
    net: &NetworkHandle,
    served: &Mutex<Served>,
    request: SnapshotRequest,
) -> SnapshotResponse {
    let unavailable = |m: String| SnapshotResponse::Unavailable(m);
    match request {
        SnapshotRequest::Manifest => {
            let mut s = served.lock();
            let stale = s.built.elapsed() >= REBUILD_AFTER || s.by_height.is_empty();
            if stale {
                let built = {
                    let exec = shared.executor.read();
                    Snapshot::build(&exec)
                };
                match built {
                    Ok(snap) => {
                        tracing::info!(
                            height = snap.manifest.height,
                            chunks = snap.chunks.len(),
                            bytes = snap.manifest.total_bytes,
                            "built a state-sync snapshot"
                        );
                        s.by_height.insert(snap.manifest.height, Arc::new(snap));
                        while s.by_height.len() > 2 {
                            s.by_height.pop_first();
                        }
                        s.built = Instant::now();
                    }
                    Err(e) => return unavailable(format!("cannot build a snapshot: {e}")),
                }
            }
            match s.by_height.last_key_value() {
                Some((_, snap)) => SnapshotResponse::Data(codec::encode(&snap.manifest)),
                None => unavailable("no snapshot".into()),
            }
        }
        SnapshotRequest::Chunk { height, index } => {
            let snap = served.lock().by_height.get(&height).cloned();
            match snap.and_then(|s| s.chunks.get(index as usize).cloned()) {
                Some(c) => {
                    shared.metrics.snapshot_chunks_served.inc();
                    SnapshotResponse::Data(c)
                }
                None => unavailable(format!("no chunk {index} of a snapshot at {height}")),
            }
        }
        SnapshotRequest::Attestation { height } => {
            let Some(validator) = shared.validator else {
                return unavailable("not a validator".into());
            };
            let (root, hash) = match (
                shared.store.state_root(height),
                shared.store.final_hash(height),
            ) {
                (Ok(Some(r)), Ok(Some(h))) => (r, h),
                _ => return unavailable(format!("height {height} is not applied here")),
            };
            let msg = attestation_message(&shared.genesis.hash(), height, &hash, &root);
            let Some(sig) = net.sign_with_identity(&msg) else {
                return unavailable("cannot sign".into());
            };
            let Ok(signature) = <[u8; 64]>::try_from(sig.as_slice()).map(Signature) else {
                return unavailable("unexpected signature length".into());
            };
            SnapshotResponse::Data(codec::encode(&StateAttestation {
                height,
                block_hash: hash,
                state_root: root,
                validator,
                signature,
            }))
        }
    }
}

// ------------------------------------------------------------------ joining

/// What a finished state sync did, for logs and tests.
#[derive(Clone, Debug)]
pub struct JoinReport {
    /// The snapshot's height.
    pub height: u64,
    /// Its state root.
    pub state_root: Hash,
    /// Chunks fetched.
    pub chunks: usize,
    /// Bytes fetched.
    pub bytes: u64,
    /// Validators whose attestations were accepted.
    pub attestations: usize,
    /// Chunks refused (and fetched again elsewhere), with the peer that sent each.
    pub refused: Vec<(PeerId, String)>,
    /// Wall time.
    pub took: Duration,
}

fn sync_error(m: impl Into<String>) -> NodeError {
    NodeError::StateSync(m.into())
}

/// The one call in the node's start-up: if `[state_sync] enabled` and the data
/// directory is empty, fetch, check and import a snapshot before the executor opens the
/// store (then block sync fetches the rest as for any node that was offline).
pub async fn join_if_configured(
    config: &Config,
    genesis: &Genesis,
    key: &Keypair,
    store: &ChainStore,
) -> Result<Option<JoinReport>, NodeError> {
    if !config.state_sync.enabled {
        return Ok(None);
    }
    if !store.is_empty()? {
        tracing::info!("state sync skipped: the data directory already holds a chain");
        return Ok(None);
    }
    let mut netcfg = NetworkConfig {
        chain_id: genesis.chain_id.clone(),
        identity_seed: Some(IdentitySeed(key.seed())),
        max_message_bytes: config.network.max_message_bytes,
        ..NetworkConfig::default()
    };
    netcfg.max_response_bytes = netcfg.max_response_bytes.max(2 * netcfg.max_message_bytes);
    netcfg.listen_addrs = vec!["/ip4/127.0.0.1/tcp/0"
        .parse()
        .map_err(|e| sync_error(format!("listen address: {e}")))?];
    netcfg.bootnodes = config
        .network
        .bootnodes
        .iter()
        .map(|a| a.parse())
        .collect::<Result<_, _>>()
        .map_err(|e| sync_error(format!("network.bootnodes: {e}")))?;
    let (net, _events) = Network::start(netcfg).await?;
    let timeout = Duration::from_secs(config.state_sync.timeout_secs);
    let result = join(&net, genesis, store, timeout).await;
    net.shutdown().await;
    result.map(Some)
}

/// Joins through `net`: finds the newest attested snapshot among the connected peers,
/// fetches and checks it, and imports it into the empty `store`.
pub async fn join(
    net: &NetworkHandle,
    genesis: &Genesis,
    store: &ChainStore,
    timeout: Duration,
) -> Result<JoinReport, NodeError> {
    if !matches!(
        genesis.consensus,
        ledger_types::ConsensusParams::Streamlet(_)
    ) {
        return Err(sync_error(
            "only Streamlet chains can be joined from a snapshot (a Nakamoto chain has no validator set to attest a state root); disable [state_sync] to join by block sync",
        ));
    }
    // This node has nothing to serve yet: say so at once rather than let peers wait
    // for a timeout.
    if let Some(mut requests) = net.take_snapshot_requests() {
        tokio::spawn(async move {
            while let Some(r) = requests.recv().await {
                let _ = r.respond(SnapshotResponse::Unavailable(
                    "joining: no snapshot yet".into(),
                ));
            }
        });
    }
    let started = Instant::now();
    let deadline = started + timeout;
    let quorum = ledger_consensus::streamlet::two_thirds_quorum(genesis.validators.len());
    let mut last_problem = String::from("no peer connected");
    // Peers whose snapshot content was refused are not asked for manifests again.
    let mut banned: BTreeSet<PeerId> = BTreeSet::new();
    while Instant::now() < deadline {
        let peers: Vec<PeerId> = net
            .peers()
            .into_iter()
            .map(|p| p.peer_id)
            .filter(|p| !banned.contains(p))
            .collect();
        if peers.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        // 1. Manifests: the newest offered, and who offers it.
        let mut offers: BTreeMap<(u64, Hash), (SnapshotManifest, Vec<PeerId>)> = BTreeMap::new();
        for &peer in &peers {
            match net.request_snapshot(peer, SnapshotRequest::Manifest).await {
                Ok(SnapshotResponse::Data(bytes)) => match decode_manifest(&bytes) {
                    Ok(m) if m.genesis_hash == genesis.hash() => {
                        offers
                            .entry((m.height, m.id()))
                            .or_insert_with(|| (m.clone(), Vec::new()))
                            .1
                            .push(peer);
                    }
                    Ok(_) => tracing::warn!(%peer, "snapshot manifest of another chain refused"),
                    Err(e) => tracing::warn!(%peer, "snapshot manifest refused: {e}"),
                },
                Ok(SnapshotResponse::Unavailable(why)) => {
                    tracing::debug!(%peer, "no snapshot: {why}")
                }
                Err(e) => tracing::debug!(%peer, "snapshot manifest request failed: {e}"),
            }
        }
        let Some((_, (manifest, sources))) = offers.into_iter().next_back() else {
            last_problem = "no peer offers a snapshot".into();
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        if manifest.height == 0 {
            last_problem = "the peers' chain is at height 0".into();
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        // 2. Attestations of its root by a quorum of validators.
        let mut attested = BTreeSet::new();
        for &peer in &peers {
            if let Ok(SnapshotResponse::Data(bytes)) = net
                .request_snapshot(
                    peer,
                    SnapshotRequest::Attestation {
                        height: manifest.height,
                    },
                )
                .await
            {
                match codec::decode::<StateAttestation>(&bytes) {
                    Ok(a) if a.verify(genesis) => {
                        if a.height == manifest.height
                            && a.block_hash == manifest.block_hash
                            && a.state_root == manifest.state_root
                        {
                            attested.insert(a.validator);
                        } else {
                            tracing::warn!(%peer, validator = %a.validator, height = a.height, root = %a.state_root,
                                "a validator attests another block or root than the offered snapshot");
                        }
                    }
                    _ => {
                        tracing::warn!(%peer, "invalid state attestation refused");
                    }
                }
            }
        }
        if attested.len() < quorum {
            last_problem = format!(
                "the snapshot at height {} is attested by {} of the {quorum} validators needed",
                manifest.height,
                attested.len()
            );
            tracing::info!("{last_problem}; retrying");
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        // 3. Chunks, each checked against the manifest; a bad one is refused and fetched
        // from another source.
        let mut refused = Vec::new();
        let mut good: Vec<PeerId> = sources.clone();
        let mut chunks = Vec::with_capacity(manifest.chunk_hashes.len());
        let mut cursor = 0usize;
        'chunks: for index in 0..manifest.chunk_hashes.len() {
            while !good.is_empty() && Instant::now() < deadline {
                let peer = good[cursor % good.len()];
                cursor += 1;
                let request = SnapshotRequest::Chunk {
                    height: manifest.height,
                    index: index as u32,
                };
                match net.request_snapshot(peer, request).await {
                    Ok(SnapshotResponse::Data(bytes)) => {
                        match check_chunk(&manifest, index, &bytes) {
                            Ok(()) => {
                                chunks.push(bytes);
                                continue 'chunks;
                            }
                            Err(e) => {
                                tracing::warn!(%peer, index, "refused a snapshot chunk from peer {peer}: {e}");
                                refused.push((peer, e.to_string()));
                                good.retain(|p| *p != peer);
                            }
                        }
                    }
                    Ok(SnapshotResponse::Unavailable(why)) => {
                        tracing::debug!(%peer, index, "chunk unavailable: {why}");
                        good.retain(|p| *p != peer);
                    }
                    Err(e) => {
                        tracing::debug!(%peer, index, "chunk request failed: {e}");
                        good.retain(|p| *p != peer);
                    }
                }
            }
            break;
        }
        if chunks.len() != manifest.chunk_hashes.len() {
            last_problem = format!(
                "could not fetch every chunk of the snapshot at height {} (refused: {})",
                manifest.height,
                refused
                    .iter()
                    .map(|(p, e)| format!("{p}: {e}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            tracing::warn!("{last_problem}");
            continue;
        }
        // 4. Content: block, root, summaries; then the block's certificate.
        let (content, _engine) = match assemble(genesis, &manifest, &chunks) {
            Ok(c) => c,
            Err(e) => {
                last_problem = format!(
                    "the snapshot offered by {} is refused: {e}",
                    sources
                        .iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                tracing::warn!("{last_problem}");
                banned.extend(sources.iter().copied());
                continue;
            }
        };
        check_certificate(genesis, &content.block, &content.certificate)?;
        store.import_snapshot(genesis, &manifest, &content)?;
        let report = JoinReport {
            height: manifest.height,
            state_root: manifest.state_root,
            chunks: chunks.len(),
            bytes: manifest.total_bytes,
            attestations: attested.len(),
            refused,
            took: started.elapsed(),
        };
        tracing::info!(
            height = report.height,
            root = %report.state_root,
            chunks = report.chunks,
            bytes = report.bytes,
            attestations = report.attestations,
            ms = report.took.as_millis() as u64,
            "state sync: joined from a snapshot; block sync fetches the rest"
        );
        return Ok(report);
    }
    Err(sync_error(format!(
        "no attested snapshot within {}s: {last_problem}",
        timeout.as_secs()
    )))
}

/// Checks a Streamlet block's notarization certificate against the genesis validators.
pub fn check_certificate(
    genesis: &Genesis,
    block: &ledger_types::Block,
    certificate: &[u8],
) -> Result<(), NodeError> {
    use ledger_consensus::streamlet::{Certificate, StreamletConfig};
    let cfg = StreamletConfig::from_genesis(genesis).map_err(|e| sync_error(e.to_string()))?;
    let cert: Certificate = codec::decode(certificate).map_err(|e| {
        sync_error(format!(
            "the snapshot block's certificate does not decode: {e}"
        ))
    })?;
    if cert.block != block.hash() {
        return Err(sync_error(format!(
            "the certificate names block {}, not the snapshot block {}",
            cert.block,
            block.hash()
        )));
    }
    cfg.validators
        .verify_certificate(&cert, &cfg.chain, &ledger_consensus::Ed25519Verifier)
        .map_err(|e| sync_error(format!("the snapshot block's certificate is invalid: {e}")))
}
