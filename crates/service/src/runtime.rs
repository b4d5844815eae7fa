//! The consensus driver on a real node: libp2p as its [`Transport`], the system clock,
//! RocksDB as its store, and an executor thread beside it.
//!
//! One tokio task owns the [`Driver`] and feeds it: timers, gossip (consensus messages;
//! transaction batches go to the gossip worker), transactions submitted through the RPC,
//! mined blocks, block-sync requests and responses, and executed heights. The executor
//! thread applies final blocks to the engine and commits each in one RocksDB batch,
//! then updates the readers (progress, subscriptions, metrics) and reports the height
//! back; the driver never waits for it.

use crate::metrics::ReasonLabel;
use crate::offences::Offences;
use crate::shared::{ChainProgress, Command, FinalBlock as ExecutedBlock, PeerEntry, Shared};
use ledger_consensus::streamlet::DEFAULT_MAX_FUTURE_MS;
use ledger_consensus::streamlet::{streamlet_fields, Message};
use ledger_driver::{
    Clock, Driver, FinalBlock, Host, MiningJob, Observation, SyncBatch, SyncResult, Topic,
    Transport, Verdict,
};
use ledger_network::{
    GossipMessage, NetworkEvent, NetworkHandle, PeerId, SyncResponse, ValidationOutcome,
};
use ledger_storage::{ChainStore, StoreError};
use ledger_types::{Block, Hash, SignedTx};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Transactions submitted through the RPC are gossiped at least this often.
const GOSSIP_FLUSH: Duration = Duration::from_millis(10);
/// Gossip messages at most this long may be votes (a vote encodes to about 150 bytes);
/// only those are decoded a second time, to track which validators vote.
const MAX_VOTE_BYTES: usize = 256;
/// Block sync is retried at least this often.
const SYNC_RETRY: Duration = Duration::from_millis(1_000);

/// Wall-clock milliseconds since the Unix epoch: the only clock the node reads (the
/// driver and the state machines get it as an input).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The node's driver type.
pub type NodeDriver = Driver<Libp2pTransport, SystemClock, ChainStore, NodeHost>;

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        now_ms()
    }
}

/// libp2p as the driver's transport. Sync requests run as tasks; their answers come
/// back on a channel the run loop reads.
pub struct Libp2pTransport {
    net: NetworkHandle,
    sync_tx: mpsc::UnboundedSender<(PeerId, SyncResult)>,
    max_item_bytes: usize,
    /// Test-only misbehaviour of what this node sends.
    #[cfg(feature = "byzantine")]
    byzantine: Option<crate::byzantine::Byzantine>,
}

impl Libp2pTransport {
    /// A transport over `net`; sync answers go to `sync_tx`.
    pub fn new(
        net: NetworkHandle,
        sync_tx: mpsc::UnboundedSender<(PeerId, SyncResult)>,
        max_item_bytes: usize,
    ) -> Self {
        Libp2pTransport {
            net,
            sync_tx,
            max_item_bytes,
            #[cfg(feature = "byzantine")]
            byzantine: None,
        }
    }

    /// Makes this node Byzantine (test-only builds).
    #[cfg(feature = "byzantine")]
    pub fn set_byzantine(&mut self, byzantine: Option<crate::byzantine::Byzantine>) {
        self.byzantine = byzantine;
    }
}

fn network_topic(topic: Topic) -> ledger_network::Topic {
    match topic {
        Topic::Transactions => ledger_network::Topic::Transactions,
        Topic::Consensus => ledger_network::Topic::Consensus,
        Topic::Blocks => ledger_network::Topic::Blocks,
    }
}

fn driver_topic(topic: ledger_network::Topic) -> Topic {
    match topic {
        ledger_network::Topic::Transactions => Topic::Transactions,
        ledger_network::Topic::Consensus => Topic::Consensus,
        ledger_network::Topic::Blocks => Topic::Blocks,
    }
}

impl Transport for Libp2pTransport {
    type Peer = PeerId;

    fn publish(&mut self, topic: Topic, data: Vec<u8>) {
        #[cfg(feature = "byzantine")]
        if let Some(b) = self.byzantine.as_mut() {
            for (topic, data) in b.outgoing(topic, data) {
                self.net.publish_nowait(network_topic(topic), data);
            }
            return;
        }
        self.net.publish_nowait(network_topic(topic), data);
    }

    fn request_blocks(&mut self, peer: PeerId, from: u64, to: u64) {
        let net = self.net.clone();
        let tx = self.sync_tx.clone();
        let max_item_bytes = self.max_item_bytes;
        tokio::spawn(async move {
            let result = net
                .request_blocks(peer, from, to)
                .await
                .map(|r| SyncBatch::decode(r.final_height, r.time_ms, &r.items, max_item_bytes))
                .map_err(|e| e.to_string());
            let _ = tx.send((peer, result));
        });
    }

    fn peers(&self) -> Vec<PeerId> {
        self.net.peers().into_iter().map(|p| p.peer_id).collect()
    }
}

/// The rest of the node as the driver sees it: the executor thread, the miner, and the
/// readers' shared state.
pub struct NodeHost {
    shared: Arc<Shared>,
    execute: std::sync::mpsc::Sender<FinalBlock>,
    mining: Option<watch::Sender<Option<MiningJob>>>,
    /// When the last clock-skew warning was logged.
    skew_warned: Option<Instant>,
    offences: Offences<NetworkHandle>,
}

/// A clock further than this from the network's is warned about: at
/// [`DEFAULT_MAX_FUTURE_MS`] the others stop voting for this node's proposals (or it
/// for theirs), so this is half the skew the node can absorb.
pub const CLOCK_SKEW_WARN_MS: i64 = DEFAULT_MAX_FUTURE_MS as i64 / 2;
/// Least time between two clock-skew warnings.
const CLOCK_SKEW_WARN_EVERY: Duration = Duration::from_secs(60);

impl NodeHost {
    /// A host over `shared`, sending final blocks to the executor thread; offences of
    /// peers are penalised through `net`.
    pub fn new(
        shared: Arc<Shared>,
        execute: std::sync::mpsc::Sender<FinalBlock>,
        mining: Option<watch::Sender<Option<MiningJob>>>,
        net: NetworkHandle,
    ) -> Self {
        let validators: Vec<ledger_types::PublicKey> = shared
            .genesis
            .validators
            .iter()
            .map(|v| v.public_key)
            .collect();
        let offences = Offences::new(net, shared.metrics.clone(), &validators, shared.validator);
        NodeHost {
            shared,
            execute,
            mining,
            skew_warned: None,
            offences,
        }
    }

    /// The node's record of misbehaving peers.
    pub fn offences_mut(&mut self) -> &mut Offences<NetworkHandle> {
        &mut self.offences
    }
}

impl Host for NodeHost {
    fn execute(&mut self, block: FinalBlock) {
        // The thread only goes away with the node; a send error means we are stopping.
        let _ = self.execute.send(block);
    }

    fn mining_job(&mut self, job: MiningJob) {
        if let Some(mining) = &self.mining {
            let _ = mining.send(Some(job));
        }
    }

    fn readmit(&mut self, txs: Vec<SignedTx>) {
        let exec = self.shared.executor.read();
        self.shared.mempool.lock().readmit(txs, exec.engine());
    }

    fn observe(&mut self, observation: Observation) {
        let shared = &self.shared;
        match observation {
            Observation::Head { tip, epoch } => {
                shared.metrics.epoch.set(epoch as i64);
                let mut p = shared.progress.write();
                p.epoch = epoch;
                p.head = (tip.height, tip.hash);
            }
            Observation::Included(block) => {
                let (height, hash) = (block.height(), block.hash());
                let mut included = shared.included.write();
                for tx in &block.txs {
                    included.insert(tx.hash(), (height, hash));
                }
            }
            Observation::Returned(txs) => {
                let mut included = shared.included.write();
                for tx in &txs {
                    included.remove(&tx.hash());
                }
            }
            Observation::Rejected(topic) => {
                shared
                    .metrics
                    .gossip_rejected
                    .get_or_create(&ReasonLabel {
                        reason: topic.name().into(),
                    })
                    .inc();
            }
            Observation::Synced {
                blocks,
                peer_final,
                behind,
            } => {
                shared.metrics.synced_blocks.inc_by(blocks);
                let mut p = shared.progress.write();
                p.best_peer_final = p.best_peer_final.max(peer_final);
                p.syncing = behind;
            }
            Observation::ClockOffset(offset) => {
                shared.metrics.clock_offset_ms.set(offset.ahead_ms);
                let due = self
                    .skew_warned
                    .is_none_or(|t| t.elapsed() >= CLOCK_SKEW_WARN_EVERY);
                if offset.ahead_ms.abs() > CLOCK_SKEW_WARN_MS && due {
                    self.skew_warned = Some(Instant::now());
                    tracing::warn!(
                        offset_ms = offset.ahead_ms,
                        samples = offset.samples,
                        limit_ms = DEFAULT_MAX_FUTURE_MS,
                        "this node's clock is {} ms {} the network's (median over the last {} sync answers); \
                         beyond {} ms its proposals are refused: check NTP",
                        offset.ahead_ms.abs(),
                        if offset.ahead_ms > 0 { "ahead of" } else { "behind" },
                        offset.samples,
                        DEFAULT_MAX_FUTURE_MS,
                    );
                }
            }
            Observation::Evidence(evidence) => self.offences.evidence(&evidence),
            Observation::Finalized { header, .. } => {
                if let Some((epoch, _)) = streamlet_fields(&header) {
                    self.offences.final_epoch(epoch);
                }
            }
            Observation::ConflictingFinality => {}
        }
    }
}

/// Starts the executor thread: it applies final blocks in order, one RocksDB batch
/// each, and reports every height done (or the store's failure, which stops the node).
pub fn spawn_executor(
    shared: Arc<Shared>,
    blocks: std::sync::mpsc::Receiver<FinalBlock>,
    done: mpsc::UnboundedSender<Result<u64, StoreError>>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("executor".into())
        .spawn(move || {
            for FinalBlock { block, certificate } in blocks {
                let height = block.height();
                let result = execute(&shared, block, &certificate).map(|()| height);
                let failed = result.is_err();
                if done.send(result).is_err() || failed {
                    return;
                }
            }
        })
}

/// Executes one final block and updates the readers.
fn execute(shared: &Shared, block: Block, certificate: &[u8]) -> Result<(), StoreError> {
    let height = block.height();
    let hash = block.hash();
    let applied = {
        let mut exec = shared.executor.write();
        let applied = exec.finalize(block.clone(), certificate)?;
        let mut pool = shared.mempool.lock();
        pool.remove_final(&block.txs, exec.engine());
        shared.metrics.mempool_txs.set(pool.len() as i64);
        shared.metrics.mempool_bytes.set(pool.bytes() as i64);
        applied
    };
    {
        let mut included = shared.included.write();
        for tx in &block.txs {
            included.remove(&tx.hash());
        }
        included.retain(|_, (h, _)| *h > height);
    }
    {
        let mut p = shared.progress.write();
        p.final_tip = (height, hash);
        p.last_final_at = Some(Instant::now());
        if p.head.0 < height {
            p.head = (height, hash);
        }
        if p.best_peer_final <= height {
            p.syncing = false;
        }
    }
    let m = &shared.metrics;
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
        let _ = shared
            .final_blocks
            .send(Arc::new(ExecutedBlock { block, applied }));
    }
    Ok(())
}

/// The channels the run loop reads besides the network.
pub struct Inbox {
    /// Consensus events from the network (transaction gossip is routed elsewhere).
    pub events: mpsc::Receiver<NetworkEvent>,
    /// Requests from the RPC.
    pub commands: mpsc::Receiver<Command>,
    /// Blocks the miner solved.
    pub mined: mpsc::Receiver<Block>,
    /// Sync answers (from [`Libp2pTransport`]).
    pub sync: mpsc::UnboundedReceiver<(PeerId, SyncResult)>,
    /// Executed heights (from [`spawn_executor`]).
    pub executed: mpsc::UnboundedReceiver<Result<u64, StoreError>>,
}

/// Why the run loop stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The driver failed (the store).
    #[error(transparent)]
    Driver(#[from] ledger_driver::DriverError),
    /// The executor failed (the store); a restart recovers from disk.
    #[error("executor: {0}")]
    Executor(#[from] StoreError),
}

/// Runs the driver until `stop` is cancelled or the store fails.
pub async fn run(
    mut driver: NodeDriver,
    net: NetworkHandle,
    mut inbox: Inbox,
    restored: Vec<ledger_consensus::Effect>,
    stop: CancellationToken,
) -> Result<(), RunError> {
    driver.start(restored)?;
    let shared = driver.host().shared.clone();
    let mut gossip_tick = tokio::time::interval(GOSSIP_FLUSH);
    gossip_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sync_tick = tokio::time::interval(SYNC_RETRY);
    sync_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next_timer = driver.next_timer();
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
            done = inbox.executed.recv() => match done {
                Some(Ok(height)) => driver.on_executed(height),
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            _ = sleep => driver.fire_timers()?,
            Some(ev) = inbox.events.recv() => on_network(&mut driver, &net, &shared, ev)?,
            Some(cmd) = inbox.commands.recv() => match cmd {
                Command::Gossip(tx) => driver.submit(tx),
            },
            Some(block) = inbox.mined.recv() => driver.on_mined(block)?,
            Some((peer, resp)) = inbox.sync.recv() => {
                if let Some(offence) = driver.on_sync_response_checked(peer, resp)? {
                    driver.host_mut().offences_mut().sync(peer, &offence);
                }
            }
            _ = gossip_tick.tick() => driver.flush_gossip(),
            _ = sync_tick.tick() => driver.tick(),
        }
        driver.maybe_sync();
    }
    driver.flush_gossip();
    Ok(())
}

fn on_network(
    driver: &mut NodeDriver,
    net: &NetworkHandle,
    shared: &Shared,
    ev: NetworkEvent,
) -> Result<(), RunError> {
    match ev {
        NetworkEvent::Message(m) => {
            let topic = driver_topic(m.topic);
            let (verdict, offence) = driver.on_gossip_checked(topic, &m.data)?;
            if let Some(offence) = offence {
                driver
                    .host_mut()
                    .offences_mut()
                    .gossip(m.propagation_source, &offence);
            } else if topic == Topic::Consensus {
                note_consensus_message(driver, verdict, &m);
            }
            let outcome = match verdict {
                Verdict::Accept => ValidationOutcome::Accept,
                Verdict::Reject => ValidationOutcome::Reject,
                Verdict::Ignore => ValidationOutcome::Ignore,
            };
            let _ = net.report_validation(m.message_id, m.propagation_source, outcome);
        }
        NetworkEvent::SyncRequest {
            request, responder, ..
        } => {
            let batch = driver.serve_sync(
                request.from_height,
                request.to_height,
                responder.max_items() as usize,
            )?;
            #[cfg(feature = "byzantine")]
            let batch = {
                let epoch = driver.consensus().epoch();
                match driver.transport_mut().byzantine.as_ref() {
                    Some(b) => b.forge_sync(batch, request.from_height, epoch),
                    None => batch,
                }
            };
            let _ = responder.respond(SyncResponse {
                final_height: batch.final_height,
                time_ms: batch.time_ms,
                items: batch.encode_items(),
            });
        }
        NetworkEvent::PeerConnected(_) | NetworkEvent::PeerDisconnected { .. } => {
            refresh_peers(net, shared);
            driver.on_peers_changed();
        }
        NetworkEvent::NewListenAddr { .. } => {}
    }
    Ok(())
}

/// Tracks which validators vote (withheld votes) and stale messages (replays).
fn note_consensus_message(driver: &mut NodeDriver, verdict: Verdict, m: &GossipMessage) {
    match verdict {
        Verdict::Accept if m.data.len() <= MAX_VOTE_BYTES => {
            if let Ok(Message::Vote(v)) = ledger_types::codec::decode::<Message>(&m.data) {
                driver
                    .host_mut()
                    .offences_mut()
                    .vote_seen(&v.voter, v.epoch);
            }
        }
        Verdict::Ignore => {
            if let Ok(message) = ledger_types::codec::decode::<Message>(&m.data) {
                driver
                    .host_mut()
                    .offences_mut()
                    .ignored(m.propagation_source, message.epoch());
            }
        }
        _ => {}
    }
}

fn refresh_peers(net: &NetworkHandle, shared: &Shared) {
    let peers: Vec<PeerEntry> = net
        .peers()
        .into_iter()
        .map(|p| PeerEntry {
            peer_id: p.peer_id.to_string(),
            address: p.address.to_string(),
            inbound: p.inbound,
            agent: p.agent_version.clone(),
        })
        .collect();
    shared.metrics.peers.set(peers.len() as i64);
    *shared.peers.write() = peers;
}

/// Progress of a node that just opened its store (genesis, or the stored final tip).
pub fn initial_progress(store: &ChainStore) -> Result<ChainProgress, StoreError> {
    let h = store.final_height()?;
    let hash = store.final_hash(h)?.unwrap_or(Hash::ZERO);
    Ok(ChainProgress {
        head: (h, hash),
        final_tip: (h, hash),
        ..Default::default()
    })
}
