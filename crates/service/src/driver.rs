//! The consensus driver: the one task that owns the consensus state machine and drives
//! it with the network, the clock, the mempool and the store.
//!
//! Inputs: gossip (transaction batches, consensus messages, blocks), timer expiries,
//! transactions admitted by the RPC (to gossip), block-sync responses and mined blocks.
//! Outputs of the state machine are carried out in order; in particular a Streamlet
//! `Persist` is written to disk (synced) before the vote or proposal after it is sent.
//! Final blocks go to the executor (one RocksDB batch each), then leave the mempool and
//! reach the subscribers.

use crate::shared::{ChainProgress, Command, FinalBlock, PeerEntry, Shared};
use ledger_consensus::nakamoto::{self, MiningTemplate, Nakamoto};
use ledger_consensus::streamlet::{self, Certificate, Message, Streamlet};
use ledger_consensus::Delivery;
use ledger_network::{NetworkEvent, NetworkHandle, PeerId, SyncResponse, Topic, ValidationOutcome};
use ledger_types::{codec, Block, Hash, Keypair, SignedTx};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Key of the Streamlet safety record in the consensus column family.
pub const SAFETY_KEY: &[u8] = b"streamlet/safety";
/// Prefix of stored notarization certificates (followed by the block hash).
pub const CERT_PREFIX: &[u8] = b"streamlet/cert/";

/// Most blocks asked for in one sync request.
const SYNC_BATCH: u64 = 64;
use crate::gossip::GOSSIP_BATCH;
/// Transactions submitted through the RPC are gossiped at least this often.
const GOSSIP_FLUSH: Duration = Duration::from_millis(10);

/// Wall-clock milliseconds since the Unix epoch (the only clock the node reads; the
/// state machines get it as an input).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A block with its finality certificate, as block sync carries it.
#[derive(Clone, Debug, bincode::Encode, bincode::Decode)]
pub struct SyncItem {
    /// The block.
    pub block: Block,
    /// Encoded certificate (Streamlet) or empty (Nakamoto).
    pub certificate: Vec<u8>,
}

/// The protocol the genesis chose.
pub enum Protocol {
    /// Streamlet BFT.
    Streamlet(Box<Streamlet>),
    /// Nakamoto proof of work.
    Nakamoto(Box<Nakamoto>),
}

impl Protocol {
    /// Hash of the final tip.
    fn final_hash(&self) -> Hash {
        match self {
            Protocol::Streamlet(sm) => sm.final_tip().0,
            Protocol::Nakamoto(sm) => sm.final_tip().0,
        }
    }

    /// A block the state machine knows.
    fn block(&self, hash: &Hash) -> Option<&Block> {
        match self {
            Protocol::Streamlet(sm) => sm.block(hash),
            Protocol::Nakamoto(sm) => sm.block(hash),
        }
    }
}

/// A job for the miner threads.
#[derive(Clone, Debug)]
pub struct MiningJob {
    /// Template of the next block.
    pub template: MiningTemplate,
    /// Transactions to include.
    pub txs: Vec<SignedTx>,
}

/// Why the driver stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The store failed; the node must stop (a restart recovers from disk).
    #[error("storage: {0}")]
    Storage(#[from] ledger_storage::StoreError),
}

/// The driver's state.
pub struct Driver {
    shared: Arc<Shared>,
    net: NetworkHandle,
    protocol: Protocol,
    key: Option<Keypair>,
    max_block_txs: usize,
    max_block_bytes: usize,
    timers: BTreeMap<(u64, u64), ()>,
    queue: VecDeque<streamlet::Input>,
    gossip_out: Vec<SignedTx>,
    sync_in_flight: bool,
    sync_wanted: bool,
    sync_peer_cursor: usize,
    sync_tx: mpsc::Sender<(PeerId, Result<SyncResponse, ledger_network::SyncError>)>,
    sync_rx: mpsc::Receiver<(PeerId, Result<SyncResponse, ledger_network::SyncError>)>,
    mining: Option<watch::Sender<Option<MiningJob>>>,
}

impl Driver {
    /// A driver for `protocol`.
    pub fn new(
        shared: Arc<Shared>,
        net: NetworkHandle,
        protocol: Protocol,
        key: Option<Keypair>,
        max_block_txs: usize,
        mining: Option<watch::Sender<Option<MiningJob>>>,
    ) -> Driver {
        let (sync_tx, sync_rx) = mpsc::channel(4);
        let max_block_bytes = shared.genesis.limits.max_block_bytes as usize;
        Driver {
            shared,
            net,
            protocol,
            key,
            max_block_txs,
            max_block_bytes,
            timers: BTreeMap::new(),
            queue: VecDeque::new(),
            gossip_out: Vec::new(),
            sync_in_flight: false,
            sync_wanted: true,
            sync_peer_cursor: 0,
            sync_tx,
            sync_rx,
            mining,
        }
    }

    /// Runs until `stop` is cancelled or the store fails.
    pub async fn run(
        mut self,
        mut events: mpsc::Receiver<NetworkEvent>,
        mut commands: mpsc::Receiver<Command>,
        mut mined: mpsc::Receiver<Block>,
        restored: RestoredOutputs,
        stop: CancellationToken,
    ) -> Result<(), DriverError> {
        self.apply_restored(restored).await?;
        self.start().await?;
        let mut gossip_tick = tokio::time::interval(GOSSIP_FLUSH);
        gossip_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sync_tick = tokio::time::interval(Duration::from_millis(1_000));
        sync_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let next_timer = self.timers.keys().next().map(|(at, _)| *at);
            let sleep = async {
                match next_timer {
                    Some(at) => {
                        let wait = at.saturating_sub(now_ms());
                        tokio::time::sleep(Duration::from_millis(wait)).await
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                _ = sleep => self.fire_timers().await?,
                Some(ev) = events.recv() => self.on_network(ev).await?,
                Some(cmd) = commands.recv() => self.on_command(cmd).await,
                Some(block) = mined.recv() => self.on_mined(block).await?,
                Some((peer, resp)) = self.sync_rx.recv() => self.on_sync_response(peer, resp).await?,
                _ = gossip_tick.tick() => self.flush_gossip().await,
                _ = sync_tick.tick() => self.maybe_sync(),
            }
            if self.sync_wanted && !self.sync_in_flight {
                self.maybe_sync();
            }
        }
        self.flush_gossip().await;
        Ok(())
    }

    // ------------------------------------------------------------------- start-up

    async fn apply_restored(&mut self, restored: RestoredOutputs) -> Result<(), DriverError> {
        match restored {
            RestoredOutputs::Streamlet(outs) => self.streamlet_outputs(outs).await,
            RestoredOutputs::Nakamoto(outs) => self.nakamoto_outputs(outs).await,
        }
    }

    async fn start(&mut self) -> Result<(), DriverError> {
        match &mut self.protocol {
            Protocol::Streamlet(sm) => {
                let mut out = Vec::new();
                sm.on_start(now_ms(), &mut out);
                self.streamlet_outputs(out).await
            }
            Protocol::Nakamoto(sm) => {
                let out = sm.handle(nakamoto::Input::Start).unwrap_or_default();
                self.nakamoto_outputs(out).await
            }
        }
    }

    // ------------------------------------------------------------------- timers

    async fn fire_timers(&mut self) -> Result<(), DriverError> {
        let now = now_ms();
        let due: Vec<(u64, u64)> = self
            .timers
            .keys()
            .take_while(|(at, _)| *at <= now)
            .copied()
            .collect();
        for key in due {
            self.timers.remove(&key);
            if let Protocol::Streamlet(sm) = &mut self.protocol {
                let mut out = Vec::new();
                sm.on_epoch_timer(key.1, &mut out);
                self.streamlet_outputs(out).await?;
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------------- network

    async fn on_network(&mut self, ev: NetworkEvent) -> Result<(), DriverError> {
        match ev {
            NetworkEvent::Message(m) => {
                let outcome = match m.topic {
                    // Transaction batches are handled by the gossip worker.
                    Topic::Transactions => ValidationOutcome::Ignore,
                    Topic::Consensus => self.on_consensus_message(&m.data).await?,
                    Topic::Blocks => self.on_block_message(&m.data).await?,
                };
                if outcome == ValidationOutcome::Reject {
                    self.shared
                        .metrics
                        .gossip_rejected
                        .get_or_create(&crate::metrics::ReasonLabel {
                            reason: format!("{:?}", m.topic).to_lowercase(),
                        })
                        .inc();
                }
                let _ = self
                    .net
                    .report_validation(m.message_id, m.propagation_source, outcome);
            }
            NetworkEvent::SyncRequest {
                request, responder, ..
            } => {
                let resp = self.serve_sync(
                    request.from_height,
                    request.to_height,
                    responder.max_items() as usize,
                )?;
                let _ = responder.respond(resp);
            }
            NetworkEvent::PeerConnected(_) | NetworkEvent::PeerDisconnected { .. } => {
                self.refresh_peers();
                self.sync_wanted = true;
            }
            NetworkEvent::NewListenAddr { .. } => {}
        }
        Ok(())
    }

    fn refresh_peers(&self) {
        let peers: Vec<PeerEntry> = self
            .net
            .peers()
            .into_iter()
            .map(|p| PeerEntry {
                peer_id: p.peer_id.to_string(),
                address: p.address.to_string(),
                inbound: p.inbound,
                agent: p.agent_version.clone(),
            })
            .collect();
        self.shared.metrics.peers.set(peers.len() as i64);
        *self.shared.peers.write() = peers;
    }

    async fn on_consensus_message(
        &mut self,
        data: &[u8],
    ) -> Result<ValidationOutcome, DriverError> {
        let Protocol::Streamlet(sm) = &mut self.protocol else {
            return Ok(ValidationOutcome::Reject);
        };
        let limit = self.shared.genesis.limits.max_block_bytes as usize + 64 * 1024;
        let Ok(msg) = codec::decode_bounded::<Message>(data, limit) else {
            return Ok(ValidationOutcome::Reject);
        };
        let mut out = Vec::new();
        let verdict = sm.on_message(&msg, &mut out);
        self.streamlet_outputs(out).await?;
        Ok(match verdict {
            Ok(Delivery::New) => ValidationOutcome::Accept,
            Ok(_) => ValidationOutcome::Ignore,
            Err(streamlet::StreamletError::EpochTooFarAhead { .. })
            | Err(streamlet::StreamletError::TooManyOrphans)
            | Err(streamlet::StreamletError::StaleBuild { .. }) => ValidationOutcome::Ignore,
            Err(e) => {
                tracing::debug!(error = %e, "rejected consensus message");
                ValidationOutcome::Reject
            }
        })
    }

    async fn on_block_message(&mut self, data: &[u8]) -> Result<ValidationOutcome, DriverError> {
        let Protocol::Nakamoto(sm) = &mut self.protocol else {
            return Ok(ValidationOutcome::Reject);
        };
        let limit = self.shared.genesis.limits.max_block_bytes as usize + 1024;
        let Ok(block) = codec::decode_bounded::<Block>(data, limit) else {
            return Ok(ValidationOutcome::Reject);
        };
        let mut out = Vec::new();
        let verdict = sm.on_block(block, now_ms(), &mut out);
        self.nakamoto_outputs(out).await?;
        Ok(match verdict {
            Ok(Delivery::New) => ValidationOutcome::Accept,
            Ok(_) => ValidationOutcome::Ignore,
            Err(nakamoto::NakamotoError::TimeTooFarAhead { .. })
            | Err(nakamoto::NakamotoError::ConflictsWithFinal(_)) => ValidationOutcome::Ignore,
            Err(e) => {
                tracing::debug!(error = %e, "rejected block");
                ValidationOutcome::Reject
            }
        })
    }

    async fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Gossip(tx) => {
                self.gossip_out.push(tx);
                if self.gossip_out.len() >= GOSSIP_BATCH {
                    self.flush_gossip().await;
                }
            }
        }
    }

    async fn flush_gossip(&mut self) {
        while !self.gossip_out.is_empty() {
            let n = self.gossip_out.len().min(GOSSIP_BATCH);
            let batch: Vec<SignedTx> = self.gossip_out.drain(..n).collect();
            // NoPeers and Duplicate are harmless: the transaction is in our mempool.
            let _ = self
                .net
                .publish(Topic::Transactions, codec::encode(&batch))
                .await;
        }
    }

    // ------------------------------------------------------------------- Streamlet

    async fn streamlet_outputs(&mut self, outs: Vec<streamlet::Output>) -> Result<(), DriverError> {
        let mut pending: VecDeque<streamlet::Output> = outs.into();
        loop {
            while let Some(o) = pending.pop_front() {
                self.streamlet_output(o).await?;
            }
            let Some(input) = self.queue.pop_front() else {
                break;
            };
            let Protocol::Streamlet(sm) = &mut self.protocol else {
                break;
            };
            match sm.handle(input) {
                Ok(more) => pending.extend(more),
                Err(e) => tracing::warn!(error = %e, "consensus input refused"),
            }
        }
        let Protocol::Streamlet(sm) = &self.protocol else {
            return Ok(());
        };
        let epoch = sm.current_epoch();
        let best = sm.best_notarized();
        self.shared.metrics.epoch.set(epoch as i64);
        let mut p = self.shared.progress.write();
        p.epoch = epoch;
        p.head = (best.1, best.0);
        Ok(())
    }

    async fn streamlet_output(&mut self, o: streamlet::Output) -> Result<(), DriverError> {
        use streamlet::Output as O;
        match o {
            O::Persist(record) => {
                // Durable before the proposal or vote that follows it is sent.
                self.shared
                    .store
                    .put_consensus_synced(SAFETY_KEY, &codec::encode(&record))?;
            }
            O::Broadcast(msg) => {
                let _ = self
                    .net
                    .publish(Topic::Consensus, codec::encode(&msg))
                    .await;
            }
            O::SetTimer { at_ms, epoch } => {
                self.timers.insert((at_ms, epoch), ());
            }
            O::BuildBlock {
                epoch,
                parent,
                height,
            } => {
                let txs = self.select_txs_streamlet(parent);
                tracing::debug!(epoch, height, txs = txs.len(), "proposing");
                self.queue.push_back(streamlet::Input::BlockBuilt {
                    epoch,
                    time_ms: now_ms(),
                    txs,
                });
            }
            O::Notarized { block, certificate } => {
                self.shared.store.put_block(&block)?;
                let mut key = CERT_PREFIX.to_vec();
                key.extend_from_slice(&block.hash().0);
                self.shared
                    .store
                    .put_consensus(&key, &codec::encode(&certificate))?;
                let mut included = self.shared.included.write();
                let (height, hash) = (block.height(), block.hash());
                for tx in &block.txs {
                    included.insert(tx.hash(), (height, hash));
                }
            }
            O::Finalized { block, certificate } => {
                let mut key = CERT_PREFIX.to_vec();
                key.extend_from_slice(&block.hash().0);
                self.execute(block, codec::encode(&certificate))?;
                self.shared.store.delete_consensus(&key)?;
            }
            O::Evidence(e) => {
                tracing::warn!(offender = %e.offender(), "equivocation detected; evidence kept");
            }
            O::RequestBlock { hash } => {
                tracing::debug!(%hash, "missing block; syncing");
                self.sync_wanted = true;
            }
            O::ConflictingFinality {
                final_tip,
                conflicting,
            } => {
                tracing::error!(%final_tip, %conflicting,
                    "a chain conflicting with the final chain met the finality rule: more than n/3 validators are faulty");
            }
        }
        Ok(())
    }

    /// Transactions for a block extending `parent`: skips those already in the
    /// not-final blocks between the final tip and `parent`.
    fn select_txs_streamlet(&self, parent: Hash) -> Vec<SignedTx> {
        let chain = self.unfinal_ancestors(parent);
        let ancestors: Vec<&SignedTx> = chain.iter().flat_map(|b| b.txs.iter()).collect();
        self.select(&ancestors)
    }

    /// The blocks from just above the final tip up to `tip`, oldest first.
    fn unfinal_ancestors(&self, tip: Hash) -> Vec<&Block> {
        let final_hash = self.protocol.final_hash();
        let mut chain = Vec::new();
        let mut cursor = tip;
        while cursor != final_hash {
            match self.protocol.block(&cursor) {
                Some(b) => {
                    chain.push(b);
                    cursor = b.header.parent;
                }
                None => break,
            }
        }
        chain.reverse();
        chain
    }

    fn select(&self, ancestors: &[&SignedTx]) -> Vec<SignedTx> {
        let exec = self.shared.executor.read();
        let pool = self.shared.mempool.lock();
        // Leave room for the header and length prefixes.
        let bytes = self.max_block_bytes.saturating_sub(4 * 1024);
        pool.select(exec.engine(), ancestors, self.max_block_txs, bytes)
    }

    // ------------------------------------------------------------------- Nakamoto

    async fn on_mined(&mut self, block: Block) -> Result<(), DriverError> {
        let Protocol::Nakamoto(sm) = &mut self.protocol else {
            return Ok(());
        };
        let mut out = Vec::new();
        match sm.on_mined(block, now_ms(), &mut out) {
            Ok(()) => self.nakamoto_outputs(out).await,
            Err(e) => {
                tracing::debug!(error = %e, "mined block refused (stale template)");
                Ok(())
            }
        }
    }

    async fn nakamoto_outputs(&mut self, outs: Vec<nakamoto::Output>) -> Result<(), DriverError> {
        use nakamoto::Output as O;
        for o in outs {
            match o {
                O::Broadcast(block) => {
                    self.shared.store.put_block(&block)?;
                    let _ = self.net.publish(Topic::Blocks, codec::encode(&block)).await;
                }
                O::NewTip { hash, height } => {
                    if let Protocol::Nakamoto(sm) = &self.protocol {
                        if let Some(b) = sm.block(&hash) {
                            self.shared.store.put_block(b)?;
                            let mut included = self.shared.included.write();
                            for tx in &b.txs {
                                included.insert(tx.hash(), (height, hash));
                            }
                        }
                    }
                    self.shared.progress.write().head = (height, hash);
                }
                O::Template(template) => self.new_mining_job(template),
                O::Reorg {
                    abandoned,
                    returned_txs,
                    ..
                } => {
                    tracing::info!(
                        abandoned = abandoned.len(),
                        returned = returned_txs.len(),
                        "reorg"
                    );
                    {
                        let mut included = self.shared.included.write();
                        for tx in &returned_txs {
                            included.remove(&tx.hash());
                        }
                    }
                    let exec = self.shared.executor.read();
                    self.shared
                        .mempool
                        .lock()
                        .readmit(returned_txs, exec.engine());
                }
                O::Finalized(block) => self.execute(block, Vec::new())?,
                O::RequestBlock { hash } => {
                    tracing::debug!(%hash, "missing block; syncing");
                    self.sync_wanted = true;
                }
            }
        }
        Ok(())
    }

    fn new_mining_job(&self, template: MiningTemplate) {
        let Some(mining) = &self.mining else { return };
        // Transactions already on the chain being extended are skipped.
        let chain = self.unfinal_ancestors(template.parent);
        let ancestors: Vec<&SignedTx> = chain.iter().flat_map(|b| b.txs.iter()).collect();
        let txs = self.select(&ancestors);
        let _ = mining.send(Some(MiningJob { template, txs }));
    }

    // ------------------------------------------------------------------- execution

    fn execute(&mut self, block: Block, certificate: Vec<u8>) -> Result<(), DriverError> {
        let height = block.height();
        let hash = block.hash();
        let applied = {
            let mut exec = self.shared.executor.write();
            let applied = exec.finalize(block.clone(), &certificate)?;
            let mut pool = self.shared.mempool.lock();
            pool.remove_final(&block.txs, exec.engine());
            self.shared.metrics.mempool_txs.set(pool.len() as i64);
            self.shared.metrics.mempool_bytes.set(pool.bytes() as i64);
            applied
        };
        {
            let mut included = self.shared.included.write();
            for tx in &block.txs {
                included.remove(&tx.hash());
            }
            included.retain(|_, (h, _)| *h > height);
        }
        {
            let mut p = self.shared.progress.write();
            p.final_tip = (height, hash);
            p.last_final_at = Some(Instant::now());
            if p.head.0 < height {
                p.head = (height, hash);
            }
            if p.best_peer_final <= height {
                p.syncing = false;
            }
        }
        let m = &self.shared.metrics;
        m.final_height.set(height as i64);
        m.applied_height.set(height as i64);
        if let Some(applied) = applied {
            m.finalized_blocks.inc();
            m.finalized_txs.inc_by(applied.receipts.len() as u64);
            let rejected = applied
                .receipts
                .iter()
                .filter(|r| r.result.is_err())
                .count();
            m.rejected_txs.inc_by(rejected as u64);
            let trades = applied
                .receipts
                .iter()
                .flat_map(|r| &r.events)
                .filter(|e| matches!(e, ledger_engine::Event::Fill(_)))
                .count();
            m.trades.inc_by(trades as u64);
            tracing::info!(height, %hash, txs = applied.receipts.len(), root = %applied.state_root, "final");
            let _ = self
                .shared
                .final_blocks
                .send(Arc::new(FinalBlock { block, applied }));
        }
        Ok(())
    }

    // ------------------------------------------------------------------- block sync

    fn final_height(&self) -> u64 {
        self.shared.progress.read().final_tip.0
    }

    fn maybe_sync(&mut self) {
        if self.sync_in_flight {
            return;
        }
        let peers = self.net.peers();
        if peers.is_empty() {
            return;
        }
        self.sync_wanted = false;
        self.sync_in_flight = true;
        self.sync_peer_cursor = (self.sync_peer_cursor + 1) % peers.len();
        let peer = peers[self.sync_peer_cursor].peer_id;
        let from = self.final_height() + 1;
        let net = self.net.clone();
        let tx = self.sync_tx.clone();
        tokio::spawn(async move {
            let resp = net.request_blocks(peer, from, from + SYNC_BATCH - 1).await;
            let _ = tx.send((peer, resp)).await;
        });
    }

    async fn on_sync_response(
        &mut self,
        peer: PeerId,
        resp: Result<SyncResponse, ledger_network::SyncError>,
    ) -> Result<(), DriverError> {
        self.sync_in_flight = false;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "sync request failed");
                return Ok(());
            }
        };
        let before = self.final_height();
        {
            let mut p = self.shared.progress.write();
            p.best_peer_final = p.best_peer_final.max(resp.final_height);
            p.syncing = resp.final_height > before + 2;
        }
        let mut fetched = 0u64;
        for item in &resp.items {
            let Ok(item) = codec::decode::<SyncItem>(item) else {
                tracing::debug!(%peer, "malformed sync item");
                break;
            };
            fetched += 1;
            match &mut self.protocol {
                Protocol::Streamlet(sm) => {
                    let Ok(certificate) = codec::decode::<Certificate>(&item.certificate) else {
                        break;
                    };
                    let mut out = Vec::new();
                    if let Err(e) = sm.on_certified_block(item.block, certificate, &mut out) {
                        tracing::debug!(%peer, error = %e, "sync block refused");
                        break;
                    }
                    self.streamlet_outputs(out).await?;
                }
                Protocol::Nakamoto(sm) => {
                    let mut out = Vec::new();
                    if let Err(e) = sm.on_block(item.block, now_ms(), &mut out) {
                        tracing::debug!(%peer, error = %e, "sync block refused");
                        break;
                    }
                    self.nakamoto_outputs(out).await?;
                }
            }
        }
        self.shared.metrics.synced_blocks.inc_by(fetched);
        let after = self.final_height();
        if after > before || resp.final_height > after {
            // Progress, or the peer is ahead: ask again at once.
            self.sync_wanted =
                resp.final_height > after || !resp.items.is_empty() && after > before;
        }
        Ok(())
    }

    /// Final blocks `from..=to` with certificates, then (Streamlet) the notarized blocks
    /// above the final tip or (Nakamoto) the best chain above it, so a node that
    /// catches up can finalize up to the same tip.
    fn serve_sync(
        &self,
        from: u64,
        to: u64,
        max_items: usize,
    ) -> Result<SyncResponse, DriverError> {
        let store = &self.shared.store;
        let final_height = store.final_height()?;
        let mut items: Vec<Vec<u8>> = store
            .finalized_range(from, to, max_items)?
            .into_iter()
            .map(|f| {
                codec::encode(&SyncItem {
                    block: f.block,
                    certificate: f.certificate,
                })
            })
            .collect();
        if to > final_height && items.len() < max_items {
            let tail: Vec<SyncItem> = match &self.protocol {
                Protocol::Streamlet(sm) => sm
                    .notarized_chain()
                    .into_iter()
                    .filter(|(b, _)| b.height() > final_height && b.height() >= from)
                    .map(|(block, cert)| SyncItem {
                        block,
                        certificate: codec::encode(&cert),
                    })
                    .collect(),
                Protocol::Nakamoto(sm) => sm
                    .unfinal_chain()
                    .iter()
                    .filter_map(|h| sm.block(h).cloned())
                    .filter(|b| b.height() >= from)
                    .map(|block| SyncItem {
                        block,
                        certificate: Vec::new(),
                    })
                    .collect(),
            };
            for item in tail.into_iter().take(max_items - items.len()) {
                items.push(codec::encode(&item));
            }
        }
        Ok(SyncResponse {
            final_height,
            items,
        })
    }

    /// The validator key, for logs.
    pub fn key(&self) -> Option<ledger_types::PublicKey> {
        self.key.as_ref().map(|k| k.public())
    }
}

/// What restoring the state machine produced (to be carried out first).
pub enum RestoredOutputs {
    /// Streamlet outputs.
    Streamlet(Vec<streamlet::Output>),
    /// Nakamoto outputs.
    Nakamoto(Vec<nakamoto::Output>),
}

/// Rebuilds the state machine from the store after a (re)start.
pub fn restore_protocol(
    shared: &Shared,
    key: Option<Keypair>,
    validator: Box<dyn ledger_consensus::PayloadValidator + Send>,
) -> Result<(Protocol, RestoredOutputs), String> {
    let store = &shared.store;
    let genesis = &shared.genesis;
    let final_height = store.final_height().map_err(|e| e.to_string())?;
    match &genesis.consensus {
        ledger_types::ConsensusParams::Streamlet(_) => {
            let cfg =
                streamlet::StreamletConfig::from_genesis(genesis).map_err(|e| e.to_string())?;
            let final_block = store
                .block_by_height(final_height)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("final block at height {final_height} is missing"))?;
            let safety = match store.get_consensus(SAFETY_KEY).map_err(|e| e.to_string())? {
                Some(bytes) => codec::decode(&bytes)
                    .map_err(|e| format!("stored safety record is corrupt: {e}"))?,
                None => Default::default(),
            };
            let mut notarized = Vec::new();
            for (k, v) in store
                .consensus_with_prefix(CERT_PREFIX)
                .map_err(|e| e.to_string())?
            {
                let Ok(cert) = codec::decode::<Certificate>(&v) else {
                    return Err("stored certificate is corrupt".into());
                };
                let mut h = [0u8; 32];
                if k.len() != CERT_PREFIX.len() + 32 {
                    continue;
                }
                h.copy_from_slice(&k[CERT_PREFIX.len()..]);
                if let Some(block) = store.block_by_hash(&Hash(h)).map_err(|e| e.to_string())? {
                    if block.height() > final_height {
                        notarized.push((block, cert));
                    }
                }
            }
            let state = streamlet::RestoreState {
                final_block,
                notarized,
                safety,
            };
            let signer = key.map(|k| Box::new(k) as Box<dyn ledger_consensus::Signer + Send>);
            let (sm, outs) =
                Streamlet::restore(cfg, ledger_consensus::Ed25519Verifier, signer, state)
                    .map_err(|e| e.to_string())?;
            let sm = sm.with_payload_validator(validator);
            Ok((
                Protocol::Streamlet(Box::new(sm)),
                RestoredOutputs::Streamlet(outs),
            ))
        }
        ledger_types::ConsensusParams::Nakamoto(p) => {
            let cfg = nakamoto::NakamotoConfig::from_genesis(genesis).map_err(|e| e.to_string())?;
            let keep = p.retarget_interval + nakamoto::MEDIAN_TIME_SPAN as u64 + 1;
            let start = final_height.saturating_sub(keep);
            let mut final_tail = Vec::new();
            for h in start..=final_height {
                let b = store
                    .block_by_height(h)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("final block at height {h} is missing"))?;
                final_tail.push(b);
            }
            let state = nakamoto::RestoreState {
                final_tail,
                unfinal: Vec::new(),
            };
            let (sm, outs) = Nakamoto::restore(cfg, state, now_ms()).map_err(|e| e.to_string())?;
            let sm = sm.with_payload_validator(validator);
            Ok((
                Protocol::Nakamoto(Box::new(sm)),
                RestoredOutputs::Nakamoto(outs),
            ))
        }
    }
}

/// Progress snapshot for a fresh node (genesis, or the stored final tip).
pub fn initial_progress(shared: &Shared) -> Result<ChainProgress, ledger_storage::StoreError> {
    let h = shared.store.final_height()?;
    let hash = shared.store.final_hash(h)?.unwrap_or(Hash::ZERO);
    Ok(ChainProgress {
        head: (h, hash),
        final_tip: (h, hash),
        ..Default::default()
    })
}
