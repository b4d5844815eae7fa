//! The driver on its own: no sockets, no threads. A recording transport, a settable
//! clock, the in-memory store and a host that keeps what it is given.

use ledger_consensus::nakamoto::mine;
use ledger_consensus::streamlet::{Message, SafetyRecord};
use ledger_consensus::{SimSignatures, SimSigner};
use ledger_driver::{
    restore_protocol, Clock, Driver, DriverConfig, DriverParts, Faults, FinalBlock, Host, Mempool,
    MempoolLimits, MiningJob, NodePayloadValidator, Observation, Offence, RestoreParams, Topic,
    Transport, Verdict,
};
use ledger_storage::{ChainStore, ConsensusStore, Executor, MemStore, StoreOptions};
use ledger_types::genesis::{NakamotoParams, StreamletParams};
use ledger_types::{
    codec, CancelAll, ConsensusParams, Genesis, Hash, Keypair, Payload, PublicKey, SignedTx, Tx,
};
use parking_lot::Mutex;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

/// Everything the test world saw, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    Persisted(SafetyRecord),
    Published(Topic, Vec<u8>),
    Requested(u32, u64, u64),
}

type Log = Rc<RefCell<Vec<Event>>>;

struct TestTransport {
    log: Log,
    peers: Vec<u32>,
}

impl Transport for TestTransport {
    type Peer = u32;
    fn publish(&mut self, topic: Topic, data: Vec<u8>) {
        self.log.borrow_mut().push(Event::Published(topic, data));
    }
    fn request_blocks(&mut self, peer: u32, from: u64, to: u64) {
        self.log.borrow_mut().push(Event::Requested(peer, from, to));
    }
    fn peers(&self) -> Vec<u32> {
        self.peers.clone()
    }
}

#[derive(Clone)]
struct TestClock(Rc<Cell<u64>>);

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
}

/// The store, recording every safety record into the shared log as it is written.
struct LoggingStore {
    inner: ChainStore<MemStore>,
    log: Log,
}

impl ConsensusStore for LoggingStore {
    fn save_safety_record(&self, r: &SafetyRecord) -> ledger_storage::Result<()> {
        self.inner.save_safety_record(r)?;
        self.log.borrow_mut().push(Event::Persisted(*r));
        Ok(())
    }
    fn save_notarized(
        &self,
        b: &ledger_types::Block,
        c: &ledger_consensus::streamlet::Certificate,
    ) -> ledger_storage::Result<()> {
        self.inner.save_notarized(b, c)
    }
    fn save_block(&self, b: &ledger_types::Block) -> ledger_storage::Result<()> {
        self.inner.save_block(b)
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
    ) -> ledger_storage::Result<Vec<ledger_storage::FinalizedBlock>> {
        self.inner.final_blocks(from, to, max)
    }
}

#[derive(Default)]
struct TestHost {
    executed: Vec<FinalBlock>,
    jobs: Vec<MiningJob>,
    observations: Vec<Observation>,
}

impl Host for TestHost {
    fn execute(&mut self, block: FinalBlock) {
        self.executed.push(block);
    }
    fn mining_job(&mut self, job: MiningJob) {
        self.jobs.push(job);
    }
    fn readmit(&mut self, _: Vec<SignedTx>) {}
    fn observe(&mut self, o: Observation) {
        self.observations.push(o);
    }
}

type TestDriver = Driver<TestTransport, TestClock, LoggingStore, TestHost>;

fn validator(i: usize) -> PublicKey {
    PublicKey(Hash::tagged("driver-test/validator", &[&(i as u64).to_le_bytes()]).0)
}

fn streamlet_genesis(n: usize, accounts: &[PublicKey]) -> Genesis {
    let keys: Vec<PublicKey> = (0..n).map(validator).collect();
    let mut g = Genesis::for_testing(accounts, &keys);
    g.consensus = ConsensusParams::Streamlet(StreamletParams { delta_ms: 100 });
    g
}

struct World {
    driver: TestDriver,
    log: Log,
    clock: Rc<Cell<u64>>,
    store: MemStore,
    mempool: Arc<Mutex<Mempool>>,
    genesis: Genesis,
}

fn world(genesis: &Genesis, me: Option<usize>, store: MemStore, max_exec_backlog: usize) -> World {
    let log: Log = Rc::default();
    let clock = Rc::new(Cell::new(1_000));
    let chain = ChainStore::new(store.clone(), StoreOptions::unsynced());
    Executor::open(chain.clone(), Some(genesis)).expect("store opens");
    let mempool = Arc::new(Mutex::new(Mempool::new(
        MempoolLimits::default(),
        genesis.chain_id.clone(),
        genesis.limits.max_tx_bytes as usize,
    )));
    let store_view = LoggingStore {
        inner: chain,
        log: log.clone(),
    };
    let (consensus, effects) = restore_protocol(
        &store_view,
        RestoreParams {
            genesis,
            signer: me.map(|i| {
                Box::new(SimSigner { key: validator(i) })
                    as Box<dyn ledger_consensus::Signer + Send>
            }),
            verifier: SimSignatures,
            payload: Box::new(NodePayloadValidator::new(
                genesis.chain_id.clone(),
                genesis.limits.clone(),
                mempool.clone(),
            )),
            now_ms: clock.get(),
            faults: Faults::none(),
            pacing: None,
        },
    )
    .expect("restores");
    let mut driver = Driver::new(DriverParts {
        consensus,
        net: TestTransport {
            log: log.clone(),
            peers: vec![7],
        },
        clock: TestClock(clock.clone()),
        store: store_view,
        host: TestHost::default(),
        mempool: mempool.clone(),
        config: DriverConfig {
            max_block_txs: 1000,
            max_block_bytes: 1 << 20,
            max_message_bytes: 2 << 20,
            max_exec_backlog,
            faults: Faults::none(),
        },
    });
    driver.start(effects).expect("starts");
    World {
        driver,
        log,
        clock,
        store,
        mempool,
        genesis: genesis.clone(),
    }
}

fn published_messages(log: &Log) -> Vec<Message> {
    log.borrow()
        .iter()
        .filter_map(|e| match e {
            Event::Published(Topic::Consensus, data) => codec::decode(data).ok(),
            _ => None,
        })
        .collect()
}

fn advance(w: &mut World, to_ms: u64) {
    while let Some(at) = w.driver.next_timer() {
        if at > to_ms {
            break;
        }
        w.clock.set(at);
        w.driver.fire_timers().expect("timers");
    }
    w.clock.set(to_ms);
}

#[test]
fn a_single_validator_persists_before_it_sends_and_executes_in_order() {
    let g = streamlet_genesis(1, &[]);
    let mut w = world(&g, Some(0), MemStore::new(), 32);
    advance(&mut w, 3_000);
    let log = w.log.borrow().clone();
    // Every proposal and vote is preceded by the safety record of its epoch.
    let mut persisted_epoch = 0;
    let mut sent = 0;
    for e in &log {
        match e {
            Event::Persisted(r) => persisted_epoch = r.epoch,
            Event::Published(Topic::Consensus, data) => {
                let m: Message = codec::decode(data).unwrap();
                assert!(
                    m.epoch() <= persisted_epoch,
                    "message of epoch {} sent before its record was durable",
                    m.epoch()
                );
                sent += 1;
            }
            _ => {}
        }
    }
    assert!(sent >= 20, "proposals and votes: {sent}");
    // Final blocks reach execution in height order, each once.
    let heights: Vec<u64> = w
        .driver
        .host()
        .executed
        .iter()
        .map(|f| f.block.height())
        .collect();
    assert!(heights.len() >= 8, "{heights:?}");
    assert_eq!(heights, (1..=heights.len() as u64).collect::<Vec<_>>());
    assert_eq!(w.driver.execution_backlog(), heights.len());
    w.driver.on_executed(3);
    assert_eq!(w.driver.execution_backlog(), heights.len() - 3);
}

fn signed(k: &Keypair, chain: &str, nonce: u64) -> SignedTx {
    Tx {
        chain_id: chain.into(),
        sender: k.public(),
        nonce,
        payload: Payload::CancelAll(CancelAll { market: None }),
        valid_until_height: None,
    }
    .sign(k)
}

#[test]
fn blocks_skip_what_awaits_execution_and_go_empty_when_execution_lags() {
    let alice = Keypair::for_testing("alice");
    let g = streamlet_genesis(1, &[alice.public()]);
    let mut w = world(&g, Some(0), MemStore::new(), 2);
    {
        let engine = ledger_engine::Engine::from_genesis(&w.genesis).unwrap();
        let mut pool = w.mempool.lock();
        for nonce in 0..3 {
            let tx = signed(&alice, &g.chain_id, nonce);
            let len = codec::encode(&tx).len();
            pool.admit(tx, len, &engine).unwrap();
        }
    }
    advance(&mut w, 4_000);
    // Each transaction is in exactly one block: once a block holding it is final (and
    // waiting for execution), later blocks skip it.
    let executed = &w.driver.host().executed;
    let txs: Vec<u64> = executed
        .iter()
        .flat_map(|f| f.block.txs.iter().map(|t| t.tx.nonce))
        .collect();
    assert_eq!(txs, vec![0, 1, 2], "each transaction once, in nonce order");
    // Nothing was executed (the host never reported), so the backlog exceeded 2 and the
    // later blocks are empty.
    assert!(executed.len() > 4);
    assert!(executed[4..].iter().all(|f| f.block.txs.is_empty()));
}

#[test]
fn garbage_and_foreign_gossip_is_rejected_and_reported() {
    let g = streamlet_genesis(4, &[]);
    let mut w = world(&g, Some(1), MemStore::new(), 32);
    let (verdict, offence) = w
        .driver
        .on_gossip_checked(Topic::Consensus, b"not a message")
        .unwrap();
    assert_eq!(verdict, Verdict::Reject);
    assert!(
        matches!(offence, Some(Offence::Undecodable { bytes: 13 })),
        "{offence:?}"
    );
    // A vote signed by a key outside the validator set.
    let stranger = SimSigner {
        key: PublicKey([9; 32]),
    };
    let chain = g.hash();
    let vote = ledger_consensus::streamlet::Vote::sign(&chain, 1, Hash::ZERO, &stranger);
    let data = codec::encode(&Message::Vote(vote));
    assert_eq!(
        w.driver.on_gossip(Topic::Consensus, &data).unwrap(),
        Verdict::Reject
    );
    // Transaction batches are not the driver's: ignored here.
    assert_eq!(
        w.driver.on_gossip(Topic::Transactions, b"x").unwrap(),
        Verdict::Ignore
    );
    let rejected = w
        .driver
        .host()
        .observations
        .iter()
        .filter(|o| matches!(o, Observation::Rejected(Topic::Consensus)))
        .count();
    assert_eq!(rejected, 2);
}

#[test]
fn a_node_that_is_behind_catches_up_from_a_peer_through_sync() {
    let g = streamlet_genesis(1, &[]);
    // The validator runs ahead and executes what it finalizes.
    let mut ahead = world(&g, Some(0), MemStore::new(), 32);
    advance(&mut ahead, 3_000);
    let mut exec = Executor::open(
        ChainStore::new(ahead.store.clone(), StoreOptions::unsynced()),
        Some(&g),
    )
    .unwrap();
    let finals: Vec<FinalBlock> = ahead.driver.host().executed.clone();
    for f in finals.iter().take(4) {
        exec.finalize(f.block.clone(), &f.certificate).unwrap();
    }
    ahead.driver.on_executed(4);
    // An observer (no key) starts from genesis and asks for blocks.
    let mut behind = world(&g, None, MemStore::new(), 32);
    behind.driver.tick();
    let (from, to) = match behind.log.borrow().last() {
        Some(Event::Requested(7, from, to)) => (*from, *to),
        other => panic!("expected a sync request, got {other:?}"),
    };
    assert_eq!(from, 1);
    // The peer serves its stored final blocks, then the ones awaiting execution, then
    // its notarized chain.
    let batch = ahead.driver.serve_sync(from, to, 64).unwrap();
    assert!(
        batch.items.len() >= finals.len(),
        "{} items",
        batch.items.len()
    );
    let heights: Vec<u64> = batch.items.iter().map(|i| i.block.height()).collect();
    assert_eq!(heights, (1..=heights.len() as u64).collect::<Vec<_>>());
    behind.driver.on_sync_response(7, Ok(batch)).unwrap();
    let caught_up: Vec<u64> = behind
        .driver
        .host()
        .executed
        .iter()
        .map(|f| f.block.height())
        .collect();
    assert_eq!(caught_up, (1..=finals.len() as u64).collect::<Vec<_>>());
    // A forged batch (a block with the certificate of another block) changes nothing.
    let mut forged = ahead.driver.serve_sync(1, 2, 2).unwrap();
    forged.items[0].certificate = forged.items[1].certificate.clone();
    let mut fresh = world(&g, None, MemStore::new(), 32);
    let offence = fresh
        .driver
        .on_sync_response_checked(7, Ok(forged))
        .unwrap();
    assert!(matches!(offence, Some(Offence::Refused(_))), "{offence:?}");
    assert!(fresh.driver.host().executed.is_empty());
    // A failed request is nobody's offence.
    let offence = fresh
        .driver
        .on_sync_response_checked(7, Err("timed out".into()))
        .unwrap();
    assert!(offence.is_none());
    let served = fresh.driver.serve_sync(1, 10, 10).unwrap();
    assert_eq!((served.final_height, served.items.len()), (0, 0));
    assert!(
        served.time_ms > 0,
        "a sync answer carries the responder's clock"
    );
}

#[test]
fn a_restarted_leader_never_proposes_twice_in_an_epoch() {
    let g = streamlet_genesis(1, &[]);
    let store = MemStore::new();
    let mut w = world(&g, Some(0), store.clone(), 32);
    advance(&mut w, 1_050);
    let before = published_messages(&w.log);
    let last_epoch = before.iter().map(Message::epoch).max().unwrap();
    drop(w);
    // Crash, restart in the same epoch from the store alone.
    let w = world(&g, Some(0), store, 32);
    let after = published_messages(&w.log);
    assert!(
        after.iter().all(|m| m.epoch() > last_epoch),
        "re-sent a message of epoch {last_epoch} after the restart"
    );
}

#[test]
fn nakamoto_mining_jobs_and_mined_blocks_go_through_the_same_driver() {
    let mut g = Genesis::for_testing(&[], &[]);
    g.consensus = ConsensusParams::Nakamoto(NakamotoParams {
        target_block_ms: 1_000,
        retarget_interval: 16,
        finality_depth: 2,
        initial_difficulty: 4,
        max_retarget_factor: 4,
    });
    let mut w = world(&g, None, MemStore::new(), 32);
    for i in 0..5u64 {
        let job = w.driver.host().jobs.last().cloned().expect("a job");
        let mut block = job.template.block(2_000 + i, PublicKey([1; 32]), job.txs);
        assert!(mine(&mut block, 1 << 20));
        w.clock.set(2_000 + i);
        w.driver.on_mined(block).unwrap();
    }
    let published = w
        .log
        .borrow()
        .iter()
        .filter(|e| matches!(e, Event::Published(Topic::Blocks, _)))
        .count();
    assert_eq!(published, 5);
    let heights: Vec<u64> = w
        .driver
        .host()
        .executed
        .iter()
        .map(|f| f.block.height())
        .collect();
    assert_eq!(heights, vec![1, 2, 3], "final at depth 2");
    assert!(w
        .driver
        .host()
        .executed
        .iter()
        .all(|f| f.certificate.is_empty()));
}
