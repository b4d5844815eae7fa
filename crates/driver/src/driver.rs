//! [`Driver`]: the one piece of code that turns consensus effects into I/O, written
//! once for both protocols and generic over the world it runs in.
//!
//! Each input has its own method (a timer, a gossip message, a mined block, a sync
//! response, an executed height, ...); each feeds the consensus machine through
//! [`Protocol::handle`] and carries out the effects **in order**:
//!
//! - `Persist` is written to the store (synced) before any later effect, so the
//!   proposal or vote it protects is sent only once it is durable;
//! - `Finalized` blocks are handed, in order, to the host's executor, which runs beside
//!   the driver: a vote never waits for the engine or for the block's commit. Until the
//!   executor reports a height done ([`Driver::on_executed`]) the driver keeps the block,
//!   to skip its transactions when building and to serve it to peers that sync;
//! - blocks are built from the mempool without touching the engine; while more than
//!   `max_exec_backlog` final blocks wait for execution, the leader proposes empty
//!   blocks (back-pressure: consensus stays live, execution catches up).

use crate::admission::GOSSIP_BATCH;
use crate::clock_offset::ClockOffsetEstimator;
use crate::host::{
    Clock, FinalBlock, Host, MiningJob, Observation, SyncResult, Topic, Transport, Verdict,
};
use crate::mempool::Mempool;
use crate::sync::{SyncBatch, SyncItem, SYNC_BATCH};
use crate::DriverError;
use ledger_consensus::streamlet::Certificate;
use ledger_consensus::{ConsensusMessage, Delivery, Effect, Input, Protocol, Tip};
use ledger_storage::ConsensusStore;
use ledger_types::{codec, Block, Hash, SignedTx};
use parking_lot::Mutex;
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

/// Default of [`DriverConfig::max_exec_backlog`].
pub const DEFAULT_MAX_EXEC_BACKLOG: usize = 32;

/// Deliberately broken behaviours, for the checkers' self-tests only. Every build has
/// the type, but only the `test-faults` feature can turn a fault on; [`Faults::none`]
/// is what the product uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    send_before_persist: bool,
    forget_voted_epoch: bool,
    quorum: Option<usize>,
}

impl Faults {
    /// No fault: the correct node.
    pub const fn none() -> Faults {
        Faults {
            send_before_persist: false,
            forget_voted_epoch: false,
            quorum: None,
        }
    }

    /// True if no fault is on.
    pub fn is_none(&self) -> bool {
        *self == Faults::none()
    }

    /// Broken build 1: a proposal or vote is sent before its safety record is persisted.
    #[cfg(feature = "test-faults")]
    pub fn send_before_persist(mut self) -> Faults {
        self.send_before_persist = true;
        self
    }

    /// Broken build 2: restore forgets the last epoch this validator voted in.
    #[cfg(feature = "test-faults")]
    pub fn forget_voted_epoch(mut self) -> Faults {
        self.forget_voted_epoch = true;
        self
    }

    /// Broken build 3: notarization with `quorum` votes (n/2 breaks safety).
    #[cfg(feature = "test-faults")]
    pub fn quorum(mut self, quorum: usize) -> Faults {
        self.quorum = Some(quorum);
        self
    }

    pub(crate) fn forgets_voted_epoch(&self) -> bool {
        self.forget_voted_epoch
    }

    pub(crate) fn quorum_override(&self) -> Option<usize> {
        self.quorum
    }
}

/// Why a peer's gossip message or sync response proves it misbehaved (the transport
/// penalises it; the node logs it with the peer).
#[derive(Debug)]
pub enum Offence {
    /// The bytes are not a consensus message of the topic (or exceed the size bound).
    Undecodable {
        /// Their length.
        bytes: usize,
    },
    /// Consensus refused the message or synced block as invalid
    /// ([`ledger_consensus::ConsensusError::is_offence`]).
    Refused(ledger_consensus::ConsensusError),
    /// A sync item whose certificate does not decode.
    MalformedSyncItem(String),
}

impl std::fmt::Display for Offence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Offence::Undecodable { bytes } => write!(f, "undecodable message of {bytes} bytes"),
            Offence::Refused(e) => write!(f, "{e}"),
            Offence::MalformedSyncItem(e) => write!(f, "malformed sync item: {e}"),
        }
    }
}

/// Limits and tuning of the driver.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// Most transactions in a block this node builds.
    pub max_block_txs: usize,
    /// Most transaction bytes in a block this node builds.
    pub max_block_bytes: usize,
    /// Largest consensus message accepted from gossip.
    pub max_message_bytes: usize,
    /// While more final blocks than this wait for execution, this node builds empty
    /// blocks.
    pub max_exec_backlog: usize,
    /// Deliberate faults (tests only).
    pub faults: Faults,
}

/// What block sync is doing.
#[derive(Debug)]
struct SyncState {
    in_flight: bool,
    /// When the request in flight was sent (for the clock-offset estimate).
    sent_ms: u64,
    wanted: bool,
    cursor: usize,
}

/// The consensus driver. See the module docs.
pub struct Driver<T: Transport, C: Clock, S: ConsensusStore, H: Host> {
    consensus: Box<dyn Protocol + Send>,
    net: T,
    clock: C,
    store: S,
    host: H,
    mempool: Arc<Mutex<Mempool>>,
    cfg: DriverConfig,
    timers: BTreeSet<(u64, u64)>,
    /// Final blocks handed to execution and not yet reported done, oldest first.
    pending_exec: VecDeque<(Block, Option<Certificate>)>,
    gossip_out: Vec<SignedTx>,
    sync: SyncState,
    reported: (Tip, u64),
    clock_offset: ClockOffsetEstimator,
}

/// The pieces a driver is made of.
pub struct DriverParts<T, C, S, H> {
    /// The consensus machine (restored with [`crate::restore_protocol`]).
    pub consensus: Box<dyn Protocol + Send>,
    /// The network.
    pub net: T,
    /// The clock.
    pub clock: C,
    /// The consensus store.
    pub store: S,
    /// Execution, mining, observers.
    pub host: H,
    /// The mempool (shared with RPC admission and the executor).
    pub mempool: Arc<Mutex<Mempool>>,
    /// Limits.
    pub config: DriverConfig,
}

impl<T: Transport, C: Clock, S: ConsensusStore, H: Host> Driver<T, C, S, H> {
    /// Assembles a driver. Call [`Driver::start`] next.
    pub fn new(parts: DriverParts<T, C, S, H>) -> Self {
        let reported = (parts.consensus.head(), parts.consensus.epoch());
        Driver {
            consensus: parts.consensus,
            net: parts.net,
            clock: parts.clock,
            store: parts.store,
            host: parts.host,
            mempool: parts.mempool,
            cfg: parts.config,
            timers: BTreeSet::new(),
            pending_exec: VecDeque::new(),
            gossip_out: Vec::new(),
            sync: SyncState {
                in_flight: false,
                sent_ms: 0,
                wanted: true,
                cursor: 0,
            },
            reported,
            clock_offset: ClockOffsetEstimator::new(),
        }
    }

    /// Carries out what restoring produced, then starts the machine at the clock's time.
    pub fn start(&mut self, restored: Vec<Effect>) -> Result<(), DriverError> {
        self.carry_out(restored)?;
        let now_ms = self.clock.now_ms();
        if let Err(e) = self.step(Input::Start { now_ms })? {
            tracing::error!(error = %e, "consensus refused to start");
        }
        Ok(())
    }

    // ------------------------------------------------------------------ inputs

    /// The earliest timer the host must wake the driver for ([`Driver::fire_timers`]).
    pub fn next_timer(&self) -> Option<u64> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// Fires every timer due at the clock's time.
    pub fn fire_timers(&mut self) -> Result<(), DriverError> {
        let now_ms = self.clock.now_ms();
        while let Some(&(at, id)) = self.timers.first() {
            if at > now_ms {
                break;
            }
            self.timers.pop_first();
            if let Err(e) = self.step(Input::Timer { id, now_ms })? {
                tracing::debug!(id, error = %e, "timer refused");
            }
        }
        Ok(())
    }

    /// A consensus message from gossip (`Consensus` or `Blocks` topic). The verdict
    /// tells the transport whether to relay it or penalise the sender. Transaction
    /// batches are admitted elsewhere ([`crate::admit_gossip_batch`]) and ignored here.
    pub fn on_gossip(&mut self, topic: Topic, data: &[u8]) -> Result<Verdict, DriverError> {
        self.on_gossip_checked(topic, data)
            .map(|(verdict, _)| verdict)
    }

    /// [`Driver::on_gossip`], also saying why a `Reject` was one (the node logs the
    /// offence with the sending peer and penalises it).
    pub fn on_gossip_checked(
        &mut self,
        topic: Topic,
        data: &[u8],
    ) -> Result<(Verdict, Option<Offence>), DriverError> {
        let channel = match topic {
            Topic::Transactions => return Ok((Verdict::Ignore, None)),
            Topic::Consensus => ledger_consensus::Channel::Consensus,
            Topic::Blocks => ledger_consensus::Channel::Blocks,
        };
        let Some(message) = ConsensusMessage::decode(channel, data, self.cfg.max_message_bytes)
        else {
            self.host.observe(Observation::Rejected(topic));
            let offence = Offence::Undecodable { bytes: data.len() };
            return Ok((Verdict::Reject, Some(offence)));
        };
        let now_ms = self.clock.now_ms();
        let checked = match self.step(Input::Message { message, now_ms })? {
            Ok(Delivery::New) => (Verdict::Accept, None),
            Ok(Delivery::Duplicate | Delivery::Stale) => (Verdict::Ignore, None),
            Err(e) if e.is_offence() => {
                tracing::debug!(%topic, error = %e, "rejected consensus message");
                self.host.observe(Observation::Rejected(topic));
                (Verdict::Reject, Some(Offence::Refused(e)))
            }
            Err(e) => {
                tracing::debug!(%topic, error = %e, "ignored consensus message");
                (Verdict::Ignore, None)
            }
        };
        Ok(checked)
    }

    /// A transaction admitted through the RPC: gossip it (batched).
    pub fn submit(&mut self, tx: SignedTx) {
        self.gossip_out.push(tx);
        if self.gossip_out.len() >= GOSSIP_BATCH {
            self.flush_gossip();
        }
    }

    /// Gossips the transactions submitted since the last flush.
    pub fn flush_gossip(&mut self) {
        while !self.gossip_out.is_empty() {
            let n = self.gossip_out.len().min(GOSSIP_BATCH);
            let batch: Vec<SignedTx> = self.gossip_out.drain(..n).collect();
            self.net.publish(Topic::Transactions, codec::encode(&batch));
        }
    }

    /// A block the local miner solved.
    pub fn on_mined(&mut self, block: Block) -> Result<(), DriverError> {
        let now_ms = self.clock.now_ms();
        if let Err(e) = self.step(Input::Mined { block, now_ms })? {
            tracing::debug!(error = %e, "mined block refused (stale template)");
        }
        Ok(())
    }

    /// The executor finished every final block up to `height`.
    pub fn on_executed(&mut self, height: u64) {
        while self
            .pending_exec
            .front()
            .is_some_and(|(b, _)| b.height() <= height)
        {
            self.pending_exec.pop_front();
        }
    }

    /// Peers came or went: look for blocks we miss.
    pub fn on_peers_changed(&mut self) {
        self.sync.wanted = true;
    }

    /// Asks the next peer for blocks above our final height, unless a request is in
    /// flight or there is no reason to (call it periodically and after inputs).
    pub fn maybe_sync(&mut self) {
        if self.sync.in_flight || !self.sync.wanted {
            return;
        }
        let peers = self.net.peers();
        if peers.is_empty() {
            return;
        }
        self.sync.wanted = false;
        self.sync.in_flight = true;
        self.sync.sent_ms = self.clock.now_ms();
        self.sync.cursor = (self.sync.cursor + 1) % peers.len();
        let from = self.consensus.final_tip().height + 1;
        self.net
            .request_blocks(peers[self.sync.cursor], from, from + SYNC_BATCH - 1);
    }

    /// Periodic: sync again even without a trigger (a peer may be ahead silently).
    pub fn tick(&mut self) {
        self.sync.wanted = true;
        self.maybe_sync();
    }

    /// The answer to [`Transport::request_blocks`].
    pub fn on_sync_response(
        &mut self,
        peer: T::Peer,
        response: SyncResult,
    ) -> Result<(), DriverError> {
        self.on_sync_response_checked(peer, response).map(|_| ())
    }

    /// [`Driver::on_sync_response`], also returning the offence if the response proves
    /// the peer misbehaved (a malformed item, or a block consensus refuses as invalid,
    /// such as one with a forged certificate).
    pub fn on_sync_response_checked(
        &mut self,
        peer: T::Peer,
        response: SyncResult,
    ) -> Result<Option<Offence>, DriverError> {
        self.sync.in_flight = false;
        let batch = match response {
            Ok(b) => b,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "sync request failed");
                return Ok(None);
            }
        };
        // NTP's estimate: the responder's clock against the middle of the round trip.
        let received_ms = self.clock.now_ms();
        if let Some(offset) =
            self.clock_offset
                .sample(self.sync.sent_ms, batch.time_ms, received_ms)
        {
            self.host.observe(Observation::ClockOffset(offset));
        }
        let mut offence = None;
        let before = self.consensus.final_tip().height;
        let mut applied = 0u64;
        for item in batch.items {
            let certificate = match item.decode_certificate() {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "malformed sync item");
                    offence = Some(Offence::MalformedSyncItem(e.to_string()));
                    break;
                }
            };
            let now_ms = self.clock.now_ms();
            let input = Input::Synced {
                block: item.block,
                certificate,
                now_ms,
            };
            if let Err(e) = self.step(input)? {
                tracing::debug!(%peer, error = %e, "sync block refused");
                if e.is_offence() {
                    offence = Some(Offence::Refused(e));
                }
                break;
            }
            applied += 1;
        }
        let after = self.consensus.final_tip().height;
        self.host.observe(Observation::Synced {
            blocks: applied,
            peer_final: batch.final_height,
            behind: batch.final_height > after + 2,
        });
        // Progress, or the peer is ahead: ask again at once.
        self.sync.wanted = batch.final_height > after || (applied > 0 && after > before);
        self.maybe_sync();
        Ok(offence)
    }

    // ----------------------------------------------------------------- queries

    /// The consensus machine (read only: inputs go through the driver).
    pub fn consensus(&self) -> &dyn Protocol {
        self.consensus.as_ref()
    }

    /// The host.
    pub fn host(&self) -> &H {
        &self.host
    }

    /// The host, mutably (the node's runtime feeds it).
    pub fn host_mut(&mut self) -> &mut H {
        &mut self.host
    }

    /// The transport, mutably (the simulator drains it).
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.net
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Final blocks handed to the executor and not reported done.
    pub fn execution_backlog(&self) -> usize {
        self.pending_exec.len()
    }

    /// What this node serves to a peer asking for `from..=to` (at most `max` blocks):
    /// final blocks from the store, then final blocks still waiting for execution, then
    /// the best chain above the final tip, so a peer that catches up can finalize up to
    /// the same tip.
    pub fn serve_sync(&self, from: u64, to: u64, max: usize) -> Result<SyncBatch, DriverError> {
        let mut items: Vec<SyncItem> = self
            .store
            .final_blocks(from, to, max)?
            .into_iter()
            .map(|f| SyncItem {
                block: f.block,
                certificate: f.certificate,
            })
            .collect();
        let mut next = items.last().map_or(from, |i| i.block.height() + 1);
        let pending = self
            .pending_exec
            .iter()
            .map(|(b, c)| (b.clone(), c.clone()));
        for (block, certificate) in pending.chain(self.consensus.unfinal_chain()) {
            if items.len() >= max || next > to {
                break;
            }
            if block.height() == next {
                items.push(SyncItem::new(block, certificate.as_ref()));
                next += 1;
            }
        }
        Ok(SyncBatch {
            final_height: self.consensus.final_tip().height,
            time_ms: self.clock.now_ms(),
            items,
        })
    }

    // ---------------------------------------------------------------- internals

    /// Feeds one input to the machine and carries out its effects. The outer `Result`
    /// is the store failing (the node must stop); the inner is the machine's verdict.
    fn step(
        &mut self,
        input: Input,
    ) -> Result<Result<Delivery, ledger_consensus::ConsensusError>, DriverError> {
        let step = self.consensus.handle(input);
        self.carry_out(step.effects)?;
        let now = (self.consensus.head(), self.consensus.epoch());
        if now != self.reported {
            self.reported = now;
            self.host.observe(Observation::Head {
                tip: now.0,
                epoch: now.1,
            });
        }
        Ok(step.verdict)
    }

    fn carry_out(&mut self, effects: Vec<Effect>) -> Result<(), DriverError> {
        let mut queue: VecDeque<Effect> = effects.into();
        // Broken build 1 holds a safety record back until after the next send.
        let mut held_back = None;
        while let Some(effect) = queue.pop_front() {
            match effect {
                Effect::Persist(record) if self.cfg.faults.send_before_persist => {
                    held_back = Some(record);
                }
                Effect::Persist(record) => self.store.save_safety_record(&record)?,
                Effect::Broadcast(message) => {
                    self.net.publish(message.channel().into(), message.encode());
                    if let Some(record) = held_back.take() {
                        self.store.save_safety_record(&record)?;
                    }
                }
                Effect::SetTimer { at_ms, id } => {
                    self.timers.insert((at_ms, id));
                }
                Effect::BuildBlock {
                    epoch,
                    parent,
                    height,
                } => {
                    let txs = self.select(parent);
                    tracing::debug!(epoch, height, txs = txs.len(), "proposing");
                    let time_ms = self.clock.now_ms();
                    let step = self.consensus.handle(Input::BlockBuilt {
                        epoch,
                        time_ms,
                        txs,
                    });
                    if let Err(e) = step.verdict {
                        tracing::debug!(error = %e, "block built too late");
                    }
                    queue.extend(step.effects);
                }
                Effect::MiningJob(template) => {
                    let txs = self.select(template.parent);
                    self.host.mining_job(MiningJob { template, txs });
                }
                Effect::Notarized { block, certificate } => {
                    self.store.save_notarized(&block, &certificate)?;
                    self.host.observe(Observation::Included(block));
                }
                Effect::Head(tip) => {
                    if let Some(block) = self.consensus.block(&tip.hash) {
                        self.store.save_block(block)?;
                        self.host.observe(Observation::Included(block.clone()));
                    }
                }
                Effect::Reorg {
                    abandoned,
                    returned_txs,
                    ..
                } => {
                    tracing::info!(
                        abandoned = abandoned.len(),
                        returned = returned_txs.len(),
                        "reorg"
                    );
                    self.host
                        .observe(Observation::Returned(returned_txs.clone()));
                    self.host.readmit(returned_txs);
                }
                Effect::Finalized { block, certificate } => {
                    let tip = Tip::new(block.hash(), block.height());
                    let header = block.header.clone();
                    let encoded = certificate.as_ref().map(codec::encode).unwrap_or_default();
                    self.pending_exec.push_back((block.clone(), certificate));
                    self.host.execute(FinalBlock {
                        block,
                        certificate: encoded,
                    });
                    self.host.observe(Observation::Finalized { tip, header });
                }
                Effect::RequestBlock { hash } => {
                    tracing::debug!(%hash, "missing block; syncing");
                    self.sync.wanted = true;
                }
                Effect::Evidence(evidence) => {
                    tracing::warn!(offender = %evidence.offender(), "equivocation detected; evidence kept");
                    self.host.observe(Observation::Evidence(evidence));
                }
                Effect::ConflictingFinality {
                    final_tip,
                    conflicting,
                } => {
                    tracing::error!(%final_tip, %conflicting,
                        "a chain conflicting with the final chain met the finality rule: more than n/3 validators are faulty");
                    self.host.observe(Observation::ConflictingFinality);
                }
            }
        }
        if let Some(record) = held_back {
            self.store.save_safety_record(&record)?;
        }
        Ok(())
    }

    /// Transactions for a block extending `parent`: none while execution lags (see the
    /// module docs), else the mempool's choice, skipping what the blocks between the
    /// executed state and `parent` already hold.
    fn select(&self, parent: Hash) -> Vec<SignedTx> {
        if self.pending_exec.len() > self.cfg.max_exec_backlog {
            tracing::debug!(
                backlog = self.pending_exec.len(),
                "execution lags: building an empty block"
            );
            return Vec::new();
        }
        let chain = self.unfinal_ancestors(parent);
        let final_tip = self.consensus.final_tip();
        let height = 1 + match self.consensus.block(&parent) {
            Some(b) if parent != final_tip.hash => b.height(),
            _ => final_tip.height,
        };
        let ancestors: Vec<&SignedTx> = self
            .pending_exec
            .iter()
            .map(|(b, _)| b)
            .chain(chain)
            .flat_map(|b| b.txs.iter())
            .collect();
        // Leave room for the header and length prefixes.
        let bytes = self.cfg.max_block_bytes.saturating_sub(4 * 1024);
        self.mempool
            .lock()
            .select(height, &ancestors, self.cfg.max_block_txs, bytes)
    }

    /// The blocks from just above the consensus final tip up to `tip`, oldest first.
    fn unfinal_ancestors(&self, tip: Hash) -> Vec<&Block> {
        let final_hash = self.consensus.final_tip().hash;
        let mut chain = Vec::new();
        let mut cursor = tip;
        while cursor != final_hash {
            match self.consensus.block(&cursor) {
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
}
