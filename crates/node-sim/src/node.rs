//! A whole node in the simulator: the node's own driver, mempool, executor and store,
//! with simulated links, virtual time and crash-restarts.
//!
//! What survives a crash is exactly what survives it on a real machine: the store (a
//! [`MemStore`] shared across incarnations). The driver, the consensus machine, the
//! mempool, the executor's queue and the gossip cache are rebuilt from the store on
//! restart by the same code the node runs ([`restore_protocol`], [`Executor::open`]).
//!
//! A crash lands at a chosen point ([`CrashPoint`]): at a time, right after the safety
//! record is persisted, right after a consensus message is sent, right after the node's
//! own proposal is sent, or in the middle of executing a final block (the engine ran,
//! the batch was not written). From the crash on, the process does nothing: what it
//! had not yet written or sent is lost.

use crate::wire::{NodeObs, Wire};
use ledger_consensus::nakamoto::{mine, MiningTemplate};
use ledger_consensus::streamlet::{streamlet_fields, Message};
use ledger_consensus::{Effect, SimSignatures, SimSigner, Tip, U256};
use ledger_driver::{
    admit_gossip_batch, restore_protocol, Clock, Driver, DriverConfig, DriverParts, Faults,
    FinalBlock, Host, Mempool, MempoolLimits, MiningJob, NodePayloadValidator, Observation,
    RestoreParams, SyncBatch, Topic, Transport, Verdict, DEFAULT_MAX_EXEC_BACKLOG, SYNC_BATCH,
};
use ledger_simulator::nakamoto::u256_f64;
use ledger_simulator::{Context, Node, NodeId, Time};
use ledger_storage::{
    ChainStore, ConsensusStore, Executor, FinalizedBlock, MemStore, StoreOptions,
};
use ledger_types::{codec, Block, Genesis, Hash, PublicKey, SignedTx};
use parking_lot::Mutex;
use rand::Rng;
use std::cell::Cell;
use std::collections::{HashSet, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

/// Where a planned crash lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CrashPoint {
    /// At the planned time.
    Now,
    /// Right after the next safety record is written.
    AfterPersist,
    /// Right after the next consensus message is sent.
    AfterSend,
    /// Right after the node's next own proposal is sent.
    AfterProposal,
    /// In the middle of executing the next final block (before its batch is written).
    MidExecute,
}

impl CrashPoint {
    /// Every crash point.
    pub const ALL: [CrashPoint; 5] = [
        CrashPoint::Now,
        CrashPoint::AfterPersist,
        CrashPoint::AfterSend,
        CrashPoint::AfterProposal,
        CrashPoint::MidExecute,
    ];
}

/// One planned crash and restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashPlan {
    /// When the crash is armed.
    pub at: Time,
    /// Where it lands (the first such point after `at`; at `at + give_up` it lands
    /// anyway).
    pub point: CrashPoint,
    /// How long the node stays down, microseconds.
    pub downtime_us: u64,
}

/// How a node is set up.
#[derive(Clone)]
pub struct NodeSetup {
    /// The chain.
    pub genesis: Arc<Genesis>,
    /// The validator key (Streamlet, simulated signatures); `None` for a full node.
    pub validator: Option<PublicKey>,
    /// Proof of work: this node's share of the hash power (0: does not mine) and its
    /// miner key.
    pub mining: Option<(f64, PublicKey)>,
    /// The nodes it talks to (block-sync peers).
    pub peers: Vec<NodeId>,
    /// Planned crash-restarts, in time order.
    pub crashes: Vec<CrashPlan>,
    /// A late joiner starts (with an empty store) at this time instead of at 0.
    pub join_at: Option<Time>,
    /// Virtual time one final block takes to execute, microseconds.
    pub exec_us: u64,
    /// Deliberately broken behaviours (the checkers' self-tests).
    pub faults: Faults,
}

/// Timer kinds (the high bits of a timer id; the low 32 bits are a payload, bits 32..40
/// the kind, the rest the incarnation, so timers of a dead process are ignored).
const WAKE: u64 = 1;
const EXEC: u64 = 2;
const TICK: u64 = 3;
const SYNC_TIMEOUT: u64 = 4;
const MINE: u64 = 5;
const ARM_CRASH: u64 = 6;
const GIVE_UP: u64 = 7;
const RESTART: u64 = 8;
const JOIN: u64 = 9;

/// Periodic work (gossip flush, sync retry), microseconds. The node's own: 1 s.
const TICK_US: u64 = 1_000_000;
/// A sync request without an answer fails after this long, microseconds.
const SYNC_TIMEOUT_US: u64 = 500_000;
/// An armed crash point not reached after this long lands anyway, microseconds.
const GIVE_UP_US: u64 = 2_000_000;

fn timer_id(incarnation: u64, kind: u64, payload: u32) -> u64 {
    (incarnation << 40) | (kind << 32) | u64::from(payload)
}

/// The crash switch shared by a process's store, transport and executor.
#[derive(Default)]
struct CrashSwitch {
    armed: Cell<Option<CrashPoint>>,
    crashed: Cell<bool>,
}

impl CrashSwitch {
    fn hit(&self, point: CrashPoint) {
        if self.armed.get() == Some(point) {
            self.armed.set(None);
            self.crashed.set(true);
        }
    }
    fn crashed(&self) -> bool {
        self.crashed.get()
    }
}

/// The store as a process sees it: the node's memory store, with writes refused (as a
/// dead process writes nothing) once the process crashed.
struct SimStore {
    inner: ChainStore<MemStore>,
    crash: Rc<CrashSwitch>,
}

impl ConsensusStore for SimStore {
    fn save_safety_record(
        &self,
        record: &ledger_consensus::streamlet::SafetyRecord,
    ) -> ledger_storage::Result<()> {
        if self.crash.crashed() {
            return Ok(());
        }
        self.inner.save_safety_record(record)?;
        self.crash.hit(CrashPoint::AfterPersist);
        Ok(())
    }
    fn save_notarized(
        &self,
        block: &Block,
        certificate: &ledger_consensus::streamlet::Certificate,
    ) -> ledger_storage::Result<()> {
        if self.crash.crashed() {
            return Ok(());
        }
        self.inner.save_notarized(block, certificate)
    }
    fn save_block(&self, block: &Block) -> ledger_storage::Result<()> {
        if self.crash.crashed() {
            return Ok(());
        }
        self.inner.save_block(block)
    }
    fn load_streamlet(&self) -> ledger_storage::Result<ledger_consensus::streamlet::RestoreState> {
        self.inner.load_streamlet()
    }
    fn load_nakamoto(
        &self,
        keep: u64,
    ) -> ledger_storage::Result<ledger_consensus::nakamoto::RestoreState> {
        self.inner.load_nakamoto(keep)
    }
    fn final_blocks(
        &self,
        from: u64,
        to: u64,
        max: usize,
    ) -> ledger_storage::Result<Vec<FinalizedBlock>> {
        self.inner.final_blocks(from, to, max)
    }
}

enum Outgoing {
    Publish(Topic, Vec<u8>),
    Request { peer: NodeId, from: u64, to: u64 },
}

/// The simulated links as the driver sees them: what it sends is collected and handed
/// to the simulation after each input.
struct SimTransport {
    peers: Vec<NodeId>,
    out: Vec<Outgoing>,
    crash: Rc<CrashSwitch>,
}

impl Transport for SimTransport {
    type Peer = NodeId;

    fn publish(&mut self, topic: Topic, data: Vec<u8>) {
        if self.crash.crashed() {
            return;
        }
        if topic != Topic::Transactions {
            let proposal = self.crash.armed.get() == Some(CrashPoint::AfterProposal)
                && matches!(codec::decode::<Message>(&data), Ok(Message::Proposal(_)));
            self.out.push(Outgoing::Publish(topic, data));
            self.crash.hit(CrashPoint::AfterSend);
            if proposal {
                self.crash.hit(CrashPoint::AfterProposal);
            }
            return;
        }
        self.out.push(Outgoing::Publish(topic, data));
    }

    fn request_blocks(&mut self, peer: NodeId, from: u64, to: u64) {
        if !self.crash.crashed() {
            self.out.push(Outgoing::Request { peer, from, to });
        }
    }

    fn peers(&self) -> Vec<NodeId> {
        self.peers.clone()
    }
}

/// Virtual time.
#[derive(Clone)]
struct SimClock(Rc<Cell<u64>>);

impl Clock for SimClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
}

/// What the driver hands the rest of the node: collected, then acted on by [`SimNode`].
#[derive(Default)]
struct SimHost {
    execute: VecDeque<FinalBlock>,
    job: Option<MiningJob>,
    new_job: bool,
    readmit: Vec<SignedTx>,
    observations: Vec<Observation>,
}

impl Host for SimHost {
    fn execute(&mut self, block: FinalBlock) {
        self.execute.push_back(block);
    }
    fn mining_job(&mut self, job: MiningJob) {
        self.job = Some(job);
        self.new_job = true;
    }
    fn readmit(&mut self, txs: Vec<SignedTx>) {
        self.readmit.extend(txs);
    }
    fn observe(&mut self, observation: Observation) {
        self.observations.push(observation);
    }
}

type SimDriver = Driver<SimTransport, SimClock, SimStore, SimHost>;

/// A running incarnation of the node: everything a crash loses.
struct Process {
    driver: SimDriver,
    executor: Executor<MemStore>,
    mempool: Arc<Mutex<Mempool>>,
    clock: Rc<Cell<u64>>,
    crash: Rc<CrashSwitch>,
    seen: HashSet<Hash>,
    wake_at: Option<u64>,
    executing: bool,
    sync: Option<(u64, NodeId)>,
    mining_generation: u32,
}

/// A whole node. See the module docs.
pub struct SimNode {
    setup: NodeSetup,
    store: MemStore,
    process: Option<Process>,
    incarnation: u64,
    next_request: u64,
    next_crash: usize,
    /// The highest epoch reported as [`NodeObs::Epoch`] (across restarts).
    epoch_seen: u64,
    /// Set when the node could not (re)start: a bug the checkers report.
    pub fatal: Option<String>,
}

impl SimNode {
    /// A node that starts at time 0 (or at `setup.join_at`) with an empty store.
    pub fn new(setup: NodeSetup) -> SimNode {
        SimNode {
            setup,
            store: MemStore::new(),
            process: None,
            incarnation: 0,
            next_request: 0,
            next_crash: 0,
            epoch_seen: 0,
            fatal: None,
        }
    }

    fn timer(&self, kind: u64, payload: u32) -> u64 {
        timer_id(self.incarnation, kind, payload)
    }

    /// Starts a process from the store (empty at first, kept across crashes).
    fn boot(&mut self, ctx: &mut Context<'_, Wire, NodeObs>) {
        self.incarnation += 1;
        let genesis = self.setup.genesis.clone();
        let chain = ChainStore::new(self.store.clone(), StoreOptions::unsynced());
        let executor = match Executor::open(chain.clone(), Some(&genesis)) {
            Ok(e) => e,
            Err(e) => return self.die_fatally(ctx, format!("executor: {e}")),
        };
        let mempool = Arc::new(Mutex::new(Mempool::new(
            MempoolLimits::default(),
            genesis.chain_id.clone(),
            genesis.limits.max_tx_bytes as usize,
        )));
        let crash = Rc::new(CrashSwitch::default());
        let store = SimStore {
            inner: chain,
            crash: crash.clone(),
        };
        let clock = Rc::new(Cell::new(ctx.now().as_ms()));
        let payload = NodePayloadValidator::new(
            genesis.chain_id.clone(),
            genesis.limits.clone(),
            mempool.clone(),
        );
        let signer = self
            .setup
            .validator
            .map(|key| Box::new(SimSigner { key }) as Box<dyn ledger_consensus::Signer + Send>);
        let restored = restore_protocol(
            &store,
            RestoreParams {
                genesis: &genesis,
                signer,
                verifier: SimSignatures,
                payload: Box::new(payload),
                now_ms: clock.get(),
                faults: self.setup.faults,
                pacing: None,
            },
        );
        let (consensus, effects): (_, Vec<Effect>) = match restored {
            Ok(r) => r,
            Err(e) => return self.die_fatally(ctx, format!("restore: {e}")),
        };
        let limits = &genesis.limits;
        let driver = Driver::new(DriverParts {
            consensus,
            net: SimTransport {
                peers: self.setup.peers.clone(),
                out: Vec::new(),
                crash: crash.clone(),
            },
            clock: SimClock(clock.clone()),
            store,
            host: SimHost::default(),
            mempool: mempool.clone(),
            config: DriverConfig {
                max_block_txs: limits.max_block_txs as usize,
                max_block_bytes: limits.max_block_bytes as usize,
                max_message_bytes: limits.max_block_bytes as usize + 64 * 1024,
                max_exec_backlog: DEFAULT_MAX_EXEC_BACKLOG,
                faults: self.setup.faults,
            },
        });
        self.process = Some(Process {
            driver,
            executor,
            mempool,
            clock,
            crash,
            seen: HashSet::new(),
            wake_at: None,
            executing: false,
            sync: None,
            mining_generation: 0,
        });
        ctx.set_timer(ctx.now().plus(TICK_US), self.timer(TICK, 0));
        self.schedule_crash(ctx);
        let started = self.with_driver(ctx, |d| d.start(effects));
        if let Some(Err(e)) = started {
            self.die_fatally(ctx, format!("start: {e}"));
        }
    }

    fn die_fatally(&mut self, ctx: &mut Context<'_, Wire, NodeObs>, reason: String) {
        self.process = None;
        ctx.observe(NodeObs::Fatal(reason.clone()));
        self.fatal.get_or_insert(reason);
    }

    fn schedule_crash(&mut self, ctx: &mut Context<'_, Wire, NodeObs>) {
        if let Some(plan) = self.setup.crashes.get(self.next_crash) {
            let at = plan.at.max(ctx.now());
            ctx.set_timer(at, self.timer(ARM_CRASH, self.next_crash as u32));
        }
    }

    fn crash_now(&mut self, ctx: &mut Context<'_, Wire, NodeObs>) {
        self.process = None;
        ctx.observe(NodeObs::Crashed);
        let downtime = self
            .setup
            .crashes
            .get(self.next_crash)
            .map_or(0, |p| p.downtime_us);
        self.next_crash += 1;
        // Timers of the dead incarnation are ignored from now on.
        self.incarnation += 1;
        ctx.set_timer(ctx.now().plus(downtime.max(1)), self.timer(RESTART, 0));
    }

    /// Runs one input through the driver at the current time, then acts on what it
    /// produced (sends, timers, execution, mining, observations) or crashes.
    fn with_driver<R>(
        &mut self,
        ctx: &mut Context<'_, Wire, NodeObs>,
        f: impl FnOnce(&mut SimDriver) -> R,
    ) -> Option<R> {
        let p = self.process.as_mut()?;
        p.clock.set(ctx.now().as_ms());
        let r = f(&mut p.driver);
        self.after(ctx);
        Some(r)
    }

    fn after(&mut self, ctx: &mut Context<'_, Wire, NodeObs>) {
        let incarnation = self.incarnation;
        let Some(p) = self.process.as_mut() else {
            return;
        };
        // Sends (those before a crash point left the machine).
        for o in std::mem::take(&mut p.driver.transport_mut().out) {
            match o {
                Outgoing::Publish(topic, data) => {
                    let w = Wire::gossip(topic, data);
                    if let Wire::Gossip { id, .. } = &w {
                        p.seen.insert(*id);
                    }
                    ctx.broadcast(Rc::new(w));
                }
                Outgoing::Request { peer, from, to } => {
                    self.next_request += 1;
                    let request = self.next_request;
                    p.sync = Some((request, peer));
                    ctx.send(peer, Rc::new(Wire::SyncRequest { request, from, to }));
                    ctx.set_timer(
                        ctx.now().plus(SYNC_TIMEOUT_US),
                        timer_id(incarnation, SYNC_TIMEOUT, request as u32),
                    );
                }
            }
        }
        if p.crash.crashed() {
            self.crash_now(ctx);
            return;
        }
        let host = p.driver.host_mut();
        let observations = std::mem::take(&mut host.observations);
        let readmit = std::mem::take(&mut host.readmit);
        let new_job = std::mem::take(&mut host.new_job);
        let has_work = !host.execute.is_empty();
        for o in observations {
            match o {
                Observation::Finalized {
                    tip: Tip { hash, height },
                    header,
                } => ctx.observe(NodeObs::Finalized {
                    hash,
                    height,
                    epoch: streamlet_fields(&header).map_or(0, |f| f.0),
                }),
                Observation::Evidence(e) => ctx.observe(NodeObs::Evidence {
                    offender: e.offender(),
                }),
                Observation::ConflictingFinality => ctx.observe(NodeObs::ConflictAlarm),
                Observation::Head { epoch, .. } if epoch > self.epoch_seen => {
                    self.epoch_seen = epoch;
                    ctx.observe(NodeObs::Epoch(epoch));
                }
                _ => {}
            }
        }
        if !readmit.is_empty() {
            p.mempool.lock().readmit(readmit, p.executor.engine());
        }
        if has_work && !p.executing {
            p.executing = true;
            ctx.set_timer(
                ctx.now().plus(self.setup.exec_us.max(1)),
                timer_id(incarnation, EXEC, 0),
            );
        }
        if new_job {
            if let (Some((share, _)), Some(job)) = (self.setup.mining, &p.driver.host().job) {
                p.mining_generation += 1;
                let dt = discovery_delay_us(ctx, share, &self.setup.genesis, &job.template);
                ctx.set_timer(
                    ctx.now().plus(dt),
                    timer_id(incarnation, MINE, p.mining_generation),
                );
            }
        }
        if let Some(at) = p.driver.next_timer() {
            if p.wake_at.is_none_or(|w| at < w) {
                p.wake_at = Some(at);
                ctx.set_timer(Time::from_ms(at), timer_id(incarnation, WAKE, 0));
            }
        }
    }

    fn execute_next(&mut self, ctx: &mut Context<'_, Wire, NodeObs>) {
        let Some(p) = self.process.as_mut() else {
            return;
        };
        p.executing = false;
        let Some(FinalBlock { block, certificate }) = p.driver.host_mut().execute.pop_front()
        else {
            return;
        };
        p.crash.hit(CrashPoint::MidExecute);
        if p.crash.crashed() {
            // The engine ran; the batch never reached the store.
            self.crash_now(ctx);
            return;
        }
        let (height, hash, parent) = (block.height(), block.hash(), block.header.parent);
        let epoch = streamlet_fields(&block.header).map_or(0, |f| f.0);
        let txs = block.txs.len() as u32;
        let txs_of_block = block.txs.clone();
        match p.executor.finalize(block, &certificate) {
            Ok(_) => {}
            Err(e) => return self.die_fatally(ctx, format!("execute {height}: {e}")),
        }
        p.mempool
            .lock()
            .remove_final(&txs_of_block, p.executor.engine());
        ctx.observe(NodeObs::Executed {
            hash,
            parent,
            height,
            epoch,
            root: p.executor.state_root(),
            txs,
        });
        self.with_driver(ctx, |d| d.on_executed(height));
    }

    fn on_gossip(
        &mut self,
        ctx: &mut Context<'_, Wire, NodeObs>,
        from: NodeId,
        msg: &Rc<Wire>,
        topic: Topic,
        data: &[u8],
        id: Hash,
    ) {
        let Some(p) = self.process.as_mut() else {
            return;
        };
        if !p.seen.insert(id) {
            return;
        }
        let verdict = if topic == Topic::Transactions {
            let verdict = admit_gossip_batch(&p.mempool, p.executor.engine(), data).verdict;
            self.after(ctx);
            verdict
        } else {
            match self.with_driver(ctx, |d| d.on_gossip(topic, data)) {
                Some(Ok(v)) => v,
                Some(Err(e)) => return self.die_fatally(ctx, format!("driver: {e}")),
                None => return,
            }
        };
        if verdict == Verdict::Accept && self.process.is_some() {
            // Gossip relays what its validator accepts.
            ctx.broadcast_except(Rc::clone(msg), from);
        }
    }

    fn on_submit(&mut self, ctx: &mut Context<'_, Wire, NodeObs>, tx: &SignedTx) {
        let Some(p) = self.process.as_mut() else {
            return;
        };
        let len = codec::encode(tx).len();
        let admitted = p
            .mempool
            .lock()
            .admit(tx.clone(), len, p.executor.engine())
            .is_ok();
        if admitted {
            let tx = tx.clone();
            self.with_driver(ctx, |d| {
                d.submit(tx);
                d.flush_gossip();
            });
        }
    }

    fn mine(&mut self, ctx: &mut Context<'_, Wire, NodeObs>, generation: u32) {
        let Some((_, miner)) = self.setup.mining else {
            return;
        };
        let Some(p) = self.process.as_mut() else {
            return;
        };
        if generation != p.mining_generation {
            return;
        }
        let Some(job) = p.driver.host().job.clone() else {
            return;
        };
        let block = solve(&job.template, ctx.now().as_ms(), miner, job.txs);
        let r = self.with_driver(ctx, |d| d.on_mined(block));
        if let Some(Err(e)) = r {
            return self.die_fatally(ctx, format!("driver: {e}"));
        }
        // Keep mining: the same template again if the block was refused (a new job
        // replaces it otherwise).
        if let Some(p) = self.process.as_mut() {
            if p.mining_generation == generation {
                if let (Some((share, _)), Some(job)) = (self.setup.mining, &p.driver.host().job) {
                    p.mining_generation += 1;
                    let dt = discovery_delay_us(ctx, share, &self.setup.genesis, &job.template);
                    ctx.set_timer(
                        ctx.now().plus(dt),
                        timer_id(self.incarnation, MINE, p.mining_generation),
                    );
                }
            }
        }
    }

    /// The executed state root and height (for checkers and tests).
    pub fn executed(&self) -> Option<(u64, Hash)> {
        let p = self.process.as_ref()?;
        Some((p.executor.applied_height(), p.executor.state_root()))
    }

    /// The final blocks in the store (what survives a crash), for checkers.
    pub fn stored_final_height(&self) -> u64 {
        ChainStore::new(self.store.clone(), StoreOptions::unsynced())
            .final_height()
            .unwrap_or(0)
    }
}

/// Poisson block discovery at rate `share / interval * D0 / D` (see
/// `ledger_simulator::nakamoto`).
fn discovery_delay_us(
    ctx: &mut Context<'_, Wire, NodeObs>,
    share: f64,
    genesis: &Genesis,
    template: &MiningTemplate,
) -> u64 {
    let ledger_types::ConsensusParams::Nakamoto(params) = &genesis.consensus else {
        return u64::MAX / 4;
    };
    if share <= 0.0 {
        return u64::MAX / 4;
    }
    let initial = ledger_consensus::nakamoto::target_for_difficulty(params.initial_difficulty);
    let d0 = u256_f64(&initial.work()).max(1.0);
    let d = u256_f64(&U256::from_hash(&template.target).work()).max(1.0);
    let rate = share / (params.target_block_ms as f64 * 1000.0) * d0 / d;
    let u: f64 = ctx.rng().gen();
    (-(1.0 - u).ln() / rate).clamp(1.0, 1e15) as u64
}

/// Solves a template with its transactions (the simulated difficulty is tiny).
fn solve(t: &MiningTemplate, time_ms: u64, miner: PublicKey, txs: Vec<SignedTx>) -> Block {
    let mut b = t.block(time_ms, miner, txs);
    while !mine(&mut b, 1 << 20) {}
    b
}

impl Node<Wire, NodeObs> for SimNode {
    fn on_start(&mut self, ctx: &mut Context<'_, Wire, NodeObs>) {
        match self.setup.join_at {
            Some(at) if at > ctx.now() => ctx.set_timer(at, timer_id(0, JOIN, 0)),
            _ => self.boot(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Wire, NodeObs>, from: NodeId, msg: &Rc<Wire>) {
        if self.process.is_none() {
            return; // down: the message is lost
        }
        match msg.as_ref() {
            Wire::Gossip { topic, data, id } => {
                let data = Rc::clone(data);
                self.on_gossip(ctx, from, msg, *topic, &data, *id);
            }
            Wire::SyncRequest {
                request,
                from: lo,
                to,
            } => {
                let served = self
                    .process
                    .as_ref()
                    .map(|p| p.driver.serve_sync(*lo, *to, SYNC_BATCH as usize));
                match served {
                    Some(Ok(batch)) => ctx.send(
                        from,
                        Rc::new(Wire::SyncResponse {
                            request: *request,
                            batch: Rc::new(batch),
                        }),
                    ),
                    Some(Err(e)) => self.die_fatally(ctx, format!("serve sync: {e}")),
                    None => {}
                }
            }
            Wire::SyncResponse { request, batch } => {
                let Some(p) = self.process.as_mut() else {
                    return;
                };
                if p.sync.map(|(r, _)| r) != Some(*request) {
                    return; // late: the request already timed out
                }
                p.sync = None;
                let batch: SyncBatch = (**batch).clone();
                if let Some(Err(e)) = self.with_driver(ctx, |d| d.on_sync_response(from, Ok(batch)))
                {
                    self.die_fatally(ctx, format!("driver: {e}"));
                }
            }
            Wire::Submit(tx) => {
                let tx = Rc::clone(tx);
                self.on_submit(ctx, &tx);
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Wire, NodeObs>, timer: u64) {
        let (incarnation, kind, payload) = (timer >> 40, (timer >> 32) & 0xff, timer as u32);
        match kind {
            JOIN => {
                ctx.observe(NodeObs::Joined);
                self.boot(ctx);
                return;
            }
            RESTART if incarnation == self.incarnation => {
                let stored_final = self.stored_final_height();
                ctx.observe(NodeObs::Restarted { stored_final });
                self.boot(ctx);
                return;
            }
            _ => {}
        }
        if incarnation != self.incarnation || self.process.is_none() {
            return; // a timer of a dead process
        }
        match kind {
            WAKE => {
                if let Some(p) = self.process.as_mut() {
                    p.wake_at = None;
                }
                if let Some(Err(e)) = self.with_driver(ctx, |d| d.fire_timers()) {
                    self.die_fatally(ctx, format!("driver: {e}"));
                }
            }
            EXEC => self.execute_next(ctx),
            TICK => {
                self.with_driver(ctx, |d| {
                    d.flush_gossip();
                    d.tick();
                });
                ctx.set_timer(ctx.now().plus(TICK_US), self.timer(TICK, 0));
            }
            SYNC_TIMEOUT => {
                let Some(p) = self.process.as_mut() else {
                    return;
                };
                if let Some((request, peer)) = p.sync {
                    if request as u32 == payload {
                        p.sync = None;
                        let r = self.with_driver(ctx, |d| {
                            d.on_sync_response(peer, Err("timed out".into()))
                        });
                        if let Some(Err(e)) = r {
                            self.die_fatally(ctx, format!("driver: {e}"));
                        }
                    }
                }
            }
            MINE => self.mine(ctx, payload),
            ARM_CRASH => {
                let Some(plan) = self.setup.crashes.get(payload as usize).copied() else {
                    return;
                };
                if plan.point == CrashPoint::Now {
                    self.crash_now(ctx);
                } else if let Some(p) = self.process.as_ref() {
                    p.crash.armed.set(Some(plan.point));
                    ctx.set_timer(ctx.now().plus(GIVE_UP_US), self.timer(GIVE_UP, payload));
                }
            }
            GIVE_UP => {
                let armed = self
                    .process
                    .as_ref()
                    .is_some_and(|p| p.crash.armed.get().is_some());
                if armed && payload as usize == self.next_crash {
                    self.crash_now(ctx);
                }
            }
            _ => {}
        }
    }
}
