//! The shared test suite: every test is a generic function over a [`Backend`] and is
//! instantiated twice by `suite!`, once on RocksDB (a temporary directory, reopened for
//! real) and once on the in-memory twin.

use crate::records::{OrderFilter, OrderStatus};
use crate::schema::{self, meta, Cf};
use crate::testkit;
use crate::{
    replay_chain, AppliedBlock, Batch, ChainStore, Executor, MemStore, RocksStore, Store,
    StoreError, StoreOptions,
};
use ledger_engine::{Engine, Event, Fill};
use ledger_types::{codec, Address, Block, Genesis, Hash, Keypair, MarketId, OrderId};
use std::collections::{BTreeMap, BTreeSet};

/// A way to get (and re-get, as after a restart) a store over the same data.
trait Backend {
    type S: Store;
    fn open_with(&mut self, options: StoreOptions) -> ChainStore<Self::S>;
    fn open(&mut self) -> ChainStore<Self::S> {
        self.open_with(StoreOptions::unsynced())
    }
}

struct Rocks(tempfile::TempDir);

impl Backend for Rocks {
    type S = RocksStore;
    fn open_with(&mut self, options: StoreOptions) -> ChainStore<RocksStore> {
        ChainStore::open(self.0.path(), options).expect("open rocksdb")
    }
}

struct Mem(MemStore);

impl Backend for Mem {
    type S = MemStore;
    fn open_with(&mut self, options: StoreOptions) -> ChainStore<MemStore> {
        ChainStore::new(self.0.clone(), options)
    }
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod rocks {
            $(#[test]
            fn $name() {
                super::$name(&mut super::Rocks(tempfile::tempdir().expect("tempdir")));
            })*
        }
        mod memory {
            $(#[test]
            fn $name() {
                super::$name(&mut super::Mem(crate::MemStore::new()));
            })*
        }
    };
}

suite!(
    empty_store_needs_a_genesis,
    genesis_is_height_zero,
    blocks_by_height_hash_and_ranges,
    bad_final_blocks_are_refused,
    tx_index_points_at_first_execution,
    a_store_without_indexes_refuses_lookups_and_rebuilds_them_when_turned_on,
    account_orders_page_newest_first,
    trades_page_newest_first,
    account_history_and_candles_agree_with_the_trades,
    state_reads_match_engine,
    consensus_store_restores_typed_state,
    record_then_apply_across_restart,
    replay_detects_altered_root,
    corrupt_truncated_account,
    corrupt_altered_account,
    corrupt_truncated_and_altered_blocks,
    corrupt_missing_markers,
    corrupt_schema_and_genesis,
    corrupt_bytes_never_panic,
);

struct Fixture {
    genesis: Genesis,
    keys: Vec<Keypair>,
    blocks: Vec<Block>,
    roots: Vec<Hash>,
}

fn fixture(blocks: usize, txs: usize) -> Fixture {
    let (genesis, keys) = testkit::genesis(12);
    let blocks = testkit::chain(&genesis, &keys, 11, blocks, txs);
    let roots = testkit::reference_roots(&genesis, &blocks);
    Fixture {
        genesis,
        keys,
        blocks,
        roots,
    }
}

/// Finalizes every block of the fixture, returning what each commit reported.
fn finalize_all<S: Store>(ex: &mut Executor<S>, f: &Fixture) -> Vec<AppliedBlock> {
    f.blocks
        .iter()
        .map(|b| {
            let a = ex
                .finalize(b.clone(), &testkit::certificate(b.height()))
                .expect("finalize")
                .expect("new block");
            assert_eq!(a.state_root, f.roots[b.height() as usize]);
            a
        })
        .collect()
}

fn put_raw<S: Store>(store: &ChainStore<S>, cf: Cf, key: &[u8], value: &[u8]) {
    let mut b = Batch::new();
    b.put(cf, key, value);
    store.raw().write(&b, false).expect("raw write");
}

fn delete_raw<S: Store>(store: &ChainStore<S>, cf: Cf, key: &[u8]) {
    let mut b = Batch::new();
    b.delete(cf, key);
    store.raw().write(&b, false).expect("raw delete");
}

fn open_err<B: Backend>(backend: &mut B, genesis: Option<&Genesis>) -> StoreError {
    match Executor::open(backend.open(), genesis) {
        Ok(ex) => panic!(
            "opened a corrupt store at applied height {}",
            ex.applied_height()
        ),
        Err(e) => {
            eprintln!("refused: {e}");
            e
        }
    }
}

// ------------------------------------------------------------------------ tests

fn empty_store_needs_a_genesis<B: Backend>(b: &mut B) {
    let store = b.open();
    assert!(store.is_empty().unwrap());
    let e = Executor::open(store.clone(), None).unwrap_err();
    assert!(matches!(e, StoreError::NotInitialized), "{e}");
    assert!(store.is_empty().unwrap(), "a failed open wrote nothing");
}

fn genesis_is_height_zero<B: Backend>(b: &mut B) {
    let (genesis, _) = testkit::genesis(3);
    let store = b.open();
    let ex = Executor::open(store.clone(), Some(&genesis)).unwrap();
    assert_eq!((ex.applied_height(), ex.final_height()), (0, 0));
    let g0 = store.block_by_height(0).unwrap().unwrap();
    assert_eq!(g0, genesis.block());
    assert_eq!(store.final_hash(0).unwrap(), Some(genesis.block().hash()));
    let root0 = Engine::from_genesis(&genesis).unwrap().state_root();
    assert_eq!(store.state_root(0).unwrap(), Some(root0));
    assert_eq!(ex.state_root(), root0);
    assert_eq!(store.genesis().unwrap(), genesis);
    assert_eq!(store.block_by_height(1).unwrap(), None);
    drop((ex, store));
    // Reopening without a genesis uses the stored one.
    let ex = Executor::open(b.open(), None).unwrap();
    assert_eq!(ex.state_root(), root0);
    assert_eq!(ex.genesis(), &genesis);
}

fn blocks_by_height_hash_and_ranges<B: Backend>(b: &mut B) {
    let f = fixture(12, 60);
    let store = b.open();
    let mut ex = Executor::open(store.clone(), Some(&f.genesis)).unwrap();
    finalize_all(&mut ex, &f);
    assert_eq!(
        (
            store.final_height().unwrap(),
            store.applied_height().unwrap()
        ),
        (12, 12)
    );
    for blk in &f.blocks {
        let h = blk.height();
        assert_eq!(store.block_by_height(h).unwrap().as_ref(), Some(blk));
        assert_eq!(
            store.block_by_hash(&blk.hash()).unwrap().as_ref(),
            Some(blk)
        );
        assert!(store.is_final(&blk.hash()).unwrap());
        assert_eq!(store.state_root(h).unwrap(), Some(f.roots[h as usize]));
    }
    assert_eq!(store.state_root(13).unwrap(), None);
    assert_eq!(store.block_by_height(13).unwrap(), None);

    // Range scans by height, with certificates, clamped at the final height and `max`.
    let r = store.finalized_range(3, 7, 100).unwrap();
    assert_eq!(
        r.iter().map(|x| x.block.height()).collect::<Vec<_>>(),
        vec![3, 4, 5, 6, 7]
    );
    for x in &r {
        assert_eq!(x.certificate, testkit::certificate(x.block.height()));
    }
    let r = store.finalized_range(10, 50, 100).unwrap();
    assert_eq!(
        r.iter().map(|x| x.block.height()).collect::<Vec<_>>(),
        vec![10, 11, 12]
    );
    assert_eq!(store.finalized_range(1, 12, 4).unwrap().len(), 4);
    assert!(store.finalized_range(13, 20, 10).unwrap().is_empty());
    assert!(store.finalized_range(5, 4, 10).unwrap().is_empty());
    let hashes = store.final_hashes(0, 12).unwrap();
    assert_eq!(hashes.len(), 13);
    assert_eq!(hashes[0], (0, f.genesis.block().hash()));
    assert_eq!(hashes[12], (12, f.blocks[11].hash()));
    assert_eq!(
        store.finalized_block(5).unwrap().unwrap().block,
        f.blocks[4]
    );

    // A non-final block (a fork) is stored by hash but is not final.
    let mut fork = f.blocks[4].clone();
    fork.txs.truncate(3);
    let fork = Block::new(fork.header.parent, 5, fork.header.consensus, fork.txs);
    store.put_block(&fork).unwrap();
    assert!(store.has_block(&fork.hash()).unwrap());
    assert_eq!(
        store.block_by_hash(&fork.hash()).unwrap(),
        Some(fork.clone())
    );
    assert!(!store.is_final(&fork.hash()).unwrap());
    assert_eq!(
        store.block_by_height(5).unwrap().as_ref(),
        Some(&f.blocks[4])
    );
    assert_eq!(
        store.block_by_hash(&Hash::digest(b"unknown")).unwrap(),
        None
    );
}

fn bad_final_blocks_are_refused<B: Backend>(b: &mut B) {
    let f = fixture(4, 20);
    let store = b.open();
    let mut ex = Executor::open(store.clone(), Some(&f.genesis)).unwrap();
    let cert = testkit::certificate(1);
    // Not the next height.
    let e = ex.finalize(f.blocks[1].clone(), &cert).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::NotNext {
                expected: 1,
                got: 2
            }
        ),
        "{e}"
    );
    // Wrong parent.
    let b1 = &f.blocks[0];
    let orphan = Block::new(
        Hash::digest(b"x"),
        1,
        b1.header.consensus.clone(),
        b1.txs.clone(),
    );
    let e = ex.finalize(orphan, &cert).unwrap_err();
    assert!(
        matches!(e, StoreError::NotExtending { height: 1, .. }),
        "{e}"
    );
    // Transactions that do not match the header.
    let mut forged = b1.clone();
    forged.txs.pop();
    let e = ex.finalize(forged, &cert).unwrap_err();
    assert!(matches!(e, StoreError::BadBlock { height: 1, .. }), "{e}");
    // Nothing was written by the refusals.
    assert_eq!(store.final_height().unwrap(), 0);
    ex.finalize(b1.clone(), &cert).unwrap().unwrap();
    // Finalizing the same block again is a no-op; a different one is a conflict.
    assert!(ex.finalize(b1.clone(), &cert).unwrap().is_none());
    let other = Block::new(b1.header.parent, 1, b1.header.consensus.clone(), vec![]);
    let e = ex.finalize(other, &cert).unwrap_err();
    assert!(
        matches!(e, StoreError::ConflictingFinal { height: 1, .. }),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("conflicting final blocks at height 1"),
        "{e}"
    );
    assert_eq!(ex.state_root(), f.roots[1]);
}

fn tx_index_points_at_first_execution<B: Backend>(b: &mut B) {
    let f = fixture(10, 80);
    let store = b.open();
    let mut ex = Executor::open(store.clone(), Some(&f.genesis)).unwrap();
    let applied = finalize_all(&mut ex, &f);
    let mut first: BTreeMap<Hash, (u64, u32, bool)> = BTreeMap::new();
    let (mut ok, mut rejected, mut dups) = (0, 0, 0);
    for a in &applied {
        for (i, r) in a.receipts.iter().enumerate() {
            let stateless = matches!(&r.result, Err(e) if e.is_stateless());
            match first.get(&r.tx_hash) {
                Some(_) if stateless => dups += 1,
                _ => {
                    first.insert(r.tx_hash, (a.height, i as u32, r.result.is_ok()));
                }
            }
            if r.result.is_ok() {
                ok += 1
            } else {
                rejected += 1
            }
        }
    }
    assert!(
        ok > 500 && rejected > 20 && dups > 5,
        "{ok} ok, {rejected} rejected, {dups} dups"
    );
    for (hash, (height, position, is_ok)) in &first {
        let rec = store.tx(hash).unwrap().expect("indexed");
        assert_eq!(
            (rec.height, rec.position, rec.result.is_ok()),
            (*height, *position, *is_ok)
        );
        let (_, body) = store.tx_with_body(hash).unwrap().unwrap();
        assert_eq!(body.hash(), *hash);
    }
    assert_eq!(store.tx(&Hash::digest(b"nope")).unwrap(), None);
}

fn a_store_without_indexes_refuses_lookups_and_rebuilds_them_when_turned_on<B: Backend>(b: &mut B) {
    let f = fixture(8, 50);
    let off = StoreOptions {
        sync: false,
        indexes: false,
    };
    let index_entries = |store: &ChainStore<B::S>| -> u64 {
        schema::INDEXES
            .iter()
            .map(|cf| crate::count_entries(store, *cf).unwrap())
            .sum()
    };
    let txs: Vec<(Hash, u64)> = f
        .blocks
        .iter()
        .flat_map(|b| b.txs.iter().map(move |t| (t.hash(), b.height())))
        .collect();
    {
        // Without indexes: the same roots (checked by `finalize_all`), no index entry,
        // lookups refused with a reason, replay still checks every root.
        let store = b.open_with(off);
        let mut ex = Executor::open(store.clone(), Some(&f.genesis)).unwrap();
        finalize_all(&mut ex, &f);
        assert_eq!(index_entries(&store), 0);
        let (hash, _) = txs[0];
        assert!(matches!(
            store.tx(&hash),
            Err(StoreError::NotIndexed("tx_index"))
        ));
        assert!(matches!(
            store.order(&hash),
            Err(StoreError::NotIndexed("order_index"))
        ));
        assert!(matches!(
            store.trades(MarketId(0), None, Some(10)),
            Err(StoreError::NotIndexed("trades"))
        ));
        let report = replay_chain(&store, None, |_| {}).unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(report.blocks, 8);
    }
    {
        // Reopened still without them: nothing to rebuild, the state as it was.
        let store = b.open_with(off);
        let ex = Executor::open(store.clone(), Some(&f.genesis)).unwrap();
        assert_eq!((ex.applied_height(), ex.state_root()), (8, f.roots[8]));
        assert_eq!(index_entries(&store), 0);
    }
    // Turned on: the start-up check finds them behind and rebuilds them from the blocks.
    let store = b.open();
    let ex = Executor::open(store.clone(), Some(&f.genesis)).unwrap();
    assert_eq!((ex.applied_height(), ex.state_root()), (8, f.roots[8]));
    assert!(index_entries(&store) > 400);
    for (hash, height) in &txs {
        let rec = store.tx(hash).unwrap().expect("indexed after the rebuild");
        assert!(rec.height <= *height, "{hash} at {} > {height}", rec.height);
    }
    let report = replay_chain(&store, None, |_| {}).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert!(!report.index_counts.is_empty());
}

fn account_orders_page_newest_first<B: Backend>(b: &mut B) {
    let f = fixture(10, 100);
    let store = b.open();
    let mut ex = Executor::open(store.clone(), Some(&f.genesis)).unwrap();
    let applied = finalize_all(&mut ex, &f);
    // Expected: accepted orders per account, and lots filled per order, from the events.
    let mut placed: BTreeMap<Address, Vec<(u64, u32, OrderId)>> = BTreeMap::new();
    let mut filled: BTreeMap<OrderId, u64> = BTreeMap::new();
    for a in &applied {
        for (i, r) in a.receipts.iter().enumerate() {
            for e in &r.events {
                match e {
                    Event::OrderAccepted {
                        order_id, account, ..
                    } => placed
                        .entry(*account)
                        .or_default()
                        .push((a.height, i as u32, *order_id)),
                    Event::Fill(Fill {
                        maker_order,
                        taker_order,
                        quantity,
                        ..
                    }) => {
                        *filled.entry(*maker_order).or_default() += quantity;
                        *filled.entry(*taker_order).or_default() += quantity;
                    }
                    _ => {}
                }
            }
        }
    }
    let (mut statuses, mut pages) = (BTreeSet::new(), 0);
    for k in &f.keys {
        let acct = k.public();
        let mut want: Vec<OrderId> = placed
            .get(&acct)
            .cloned()
            .unwrap_or_default()
            .iter()
            .rev()
            .map(|x| x.2)
            .collect();
        let mut got = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .account_orders(&acct, OrderFilter::All, cursor, Some(7))
                .unwrap();
            pages += 1;
            assert!(page.items.len() <= 7);
            for s in &page.items {
                assert_eq!(s.account, acct);
                assert_eq!(
                    s.filled,
                    filled.get(&s.order_id).copied().unwrap_or(0),
                    "filled lots of {}",
                    s.order_id
                );
                if s.status == OrderStatus::Filled {
                    assert_eq!(s.filled, s.quantity);
                }
                statuses.insert(
                    format!("{:?}", s.status)
                        .split('(')
                        .next()
                        .unwrap()
                        .to_string(),
                );
                got.push(s.order_id);
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(got, want, "all orders of {acct}, newest first");
        // Open orders: exactly the engine's resting orders, newest first.
        let mut open = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .account_orders(&acct, OrderFilter::Open, cursor, Some(5))
                .unwrap();
            for s in &page.items {
                assert_eq!(s.status, OrderStatus::Open);
                let rec = ex
                    .engine()
                    .order(&s.order_id)
                    .expect("resting in the engine");
                assert_eq!(s.quantity - s.filled, rec.remaining);
                open.push(s.order_id);
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let mut engine_open: Vec<OrderId> = ex
            .engine()
            .open_orders(&acct)
            .iter()
            .map(|o| o.id)
            .collect();
        engine_open.sort();
        let mut sorted = open.clone();
        sorted.sort();
        assert_eq!(sorted, engine_open);
        want.retain(|id| open.contains(id));
        assert_eq!(open, want, "open orders keep the newest-first order");
    }
    assert!(pages > 30);
    for s in ["Open", "Filled", "Cancelled", "Expired"] {
        assert!(
            statuses.contains(s),
            "no {s} order in the stream: {statuses:?}"
        );
    }
}

fn trades_page_newest_first<B: Backend>(b: &mut B) {
    let f = fixture(10, 100);
    let store = b.open();
    let mut ex = Executor::open(store.clone(), Some(&f.genesis)).unwrap();
    let applied = finalize_all(&mut ex, &f);
    let mut fills: BTreeMap<MarketId, Vec<(u64, Fill)>> = BTreeMap::new();
    for a in &applied {
        for r in &a.receipts {
            for e in &r.events {
                if let Event::Fill(fl) = e {
                    fills
                        .entry(fl.market)
                        .or_default()
                        .push((a.height, fl.clone()));
                }
            }
        }
    }
    assert_eq!(fills.len(), 2, "both markets trade");
    for (market, list) in &fills {
        assert!(list.len() > 40, "{} trades on {market:?}", list.len());
        let want: Vec<(u64, u64)> = list.iter().rev().map(|(h, fl)| (*h, fl.trade_id)).collect();
        let mut got = Vec::new();
        let mut cursor = None;
        loop {
            let page = store.trades(*market, cursor, Some(9)).unwrap();
            got.extend(page.items.iter().map(|t| (t.height, t.fill.trade_id)));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(got, want);
        assert_eq!(
            store.trades(*market, None, None).unwrap().items.len(),
            30.min(list.len())
        );
        assert_eq!(
            store
                .trades(*market, None, Some(10_000))
                .unwrap()
                .items
                .len(),
            100.min(list.len())
        );
        assert_eq!(store.trades(*market, None, Some(0)).unwrap().items.len(), 1);
        let newest = store.trades(*market, None, Some(1)).unwrap();
        assert_eq!(newest.items[0].fill, list.last().unwrap().1);
        assert_eq!(
            store.last_trade_id(*market).unwrap(),
            Some(list.last().unwrap().1.trade_id)
        );
    }
    assert!(store
        .trades(MarketId(7), None, None)
        .unwrap()
        .items
        .is_empty());
}

fn state_reads_match_engine<B: Backend>(b: &mut B) {
    let f = fixture(6, 100);
    let store = b.open();
    let mut ex = Executor::open(store.clone(), Some(&f.genesis)).unwrap();
    finalize_all(&mut ex, &f);
    let engine = ex.engine();
    let state = engine.export_state();
    for a in &state.accounts {
        assert_eq!(store.account(&a.key).unwrap().as_ref(), Some(a));
    }
    for o in &state.orders {
        assert_eq!(store.resting_order(&o.id).unwrap().as_ref(), Some(o));
    }
    assert!(!state.orders.is_empty());
    assert_eq!(store.counters().unwrap(), engine.counters());
    let loaded = store.load_state().unwrap();
    assert_eq!(loaded.accounts.len(), state.accounts.len());
    assert_eq!(loaded.orders.len(), state.orders.len());
    let restored = Engine::restore(&f.genesis, loaded).unwrap();
    assert_eq!(restored.state_root(), f.roots[6]);
}

fn certificate_of(block: &Block) -> ledger_consensus::streamlet::Certificate {
    ledger_consensus::streamlet::Certificate {
        epoch: block.height(),
        block: block.hash(),
        votes: Vec::new(),
    }
}

fn consensus_store_restores_typed_state<B: Backend>(b: &mut B) {
    use crate::ConsensusStore;
    use ledger_consensus::streamlet::SafetyRecord;
    let f = fixture(6, 10);
    let store = b.open();
    let mut ex = Executor::open(store.clone(), Some(&f.genesis)).unwrap();
    // A fresh node: the genesis block is final, nothing voted, nothing notarized.
    let st = store.load_streamlet().unwrap();
    assert_eq!(st.final_block.hash(), f.genesis.block().hash());
    assert_eq!(st.safety, SafetyRecord::default());
    assert!(st.notarized.is_empty());
    let record = SafetyRecord {
        epoch: 7,
        max_vote_height: 4,
        last_vote: None,
    };
    store.save_safety_record(&record).unwrap();
    for blk in &f.blocks[..4] {
        store.save_notarized(blk, &certificate_of(blk)).unwrap();
    }
    // Blocks 1 and 2 become final: their certificates leave in the final batch.
    for blk in &f.blocks[..2] {
        let cert = ledger_types::codec::encode(&certificate_of(blk));
        ex.finalize(blk.clone(), &cert).unwrap();
    }
    drop(ex);
    drop(store);
    let store = b.open();
    let st = store.load_streamlet().unwrap();
    assert_eq!(st.safety, record);
    assert_eq!(st.final_block.hash(), f.blocks[1].hash());
    let mut notarized: Vec<(u64, Hash)> = st
        .notarized
        .iter()
        .map(|(blk, cert)| {
            assert_eq!(cert, &certificate_of(blk));
            (blk.height(), blk.hash())
        })
        .collect();
    notarized.sort();
    assert_eq!(
        notarized,
        vec![(3, f.blocks[2].hash()), (4, f.blocks[3].hash())]
    );
    // Nakamoto's restore reads the final tail.
    let tail = store.load_nakamoto(1).unwrap().final_tail;
    assert_eq!(
        tail.iter().map(Block::height).collect::<Vec<_>>(),
        vec![1, 2]
    );
    // A corrupt certificate is an error that names the column family, not a panic.
    let mut batch = Batch::new();
    batch.put(
        Cf::Consensus,
        &crate::consensus::cert_key(&f.blocks[2].hash()),
        b"garbage",
    );
    store.raw().write(&batch, false).unwrap();
    match store.load_streamlet() {
        Err(StoreError::Decode { cf, .. }) => assert_eq!(cf, "consensus"),
        other => panic!("expected a decode error, got {other:?}"),
    }
}

fn record_then_apply_across_restart<B: Backend>(b: &mut B) {
    let f = fixture(9, 60);
    let store = b.open();
    let mut ex = Executor::open(store.clone(), Some(&f.genesis)).unwrap();
    for blk in &f.blocks[..5] {
        ex.finalize(blk.clone(), &testkit::certificate(blk.height()))
            .unwrap();
    }
    for blk in &f.blocks[5..] {
        assert!(ex
            .record_final(blk, &testkit::certificate(blk.height()))
            .unwrap());
        assert!(!ex.record_final(blk, b"again").unwrap(), "already final");
    }
    assert_eq!((ex.applied_height(), ex.final_height()), (5, 9));
    // Recorded blocks are served (with certificates) before they are applied.
    assert_eq!(
        store.block_by_height(8).unwrap().as_ref(),
        Some(&f.blocks[7])
    );
    assert_eq!(store.state_root(6).unwrap(), None);
    assert_eq!(store.tx(&f.blocks[6].txs[0].hash()).unwrap(), None);
    drop((ex, store));

    // "Restart": load only, the gap is visible, then catch up.
    let store = b.open();
    let mut ex = Executor::load(store.clone(), None).unwrap();
    assert_eq!((ex.applied_height(), ex.final_height()), (5, 9));
    assert_eq!(ex.state_root(), f.roots[5]);
    assert_eq!(ex.catch_up().unwrap(), 4);
    assert_eq!(ex.state_root(), f.roots[9]);
    for h in 6..=9u64 {
        assert_eq!(store.state_root(h).unwrap(), Some(f.roots[h as usize]));
    }
    assert_eq!(
        store
            .tx(&f.blocks[6].txs[0].hash())
            .unwrap()
            .unwrap()
            .height,
        7
    );
    // Finalizing while a gap exists applies the gap first.
    let mut stream = testkit::BlockStream::new(&f.genesis, &f.keys, 11, false);
    let more: Vec<Block> = (0..12).map(|_| stream.next_block(60)).collect();
    assert_eq!(more[8], f.blocks[8], "same seed, same chain");
    ex.record_final(&more[9], b"c10").unwrap();
    let a = ex.finalize(more[10].clone(), b"c11").unwrap().unwrap();
    assert_eq!(
        (a.height, ex.applied_height(), ex.final_height()),
        (11, 11, 11)
    );
    assert_eq!(
        a.state_root,
        testkit::reference_roots(&f.genesis, &more[..11])[11]
    );
    drop((ex, store));
    let ex = Executor::open(b.open(), Some(&f.genesis)).unwrap();
    assert_eq!(ex.applied_height(), 11);
}

fn replay_detects_altered_root<B: Backend>(b: &mut B) {
    let f = fixture(8, 50);
    let store = b.open();
    let mut ex = Executor::open(store.clone(), Some(&f.genesis)).unwrap();
    finalize_all(&mut ex, &f);
    let mut progress = 0;
    let report = replay_chain(&store, None, |_| progress += 1).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!((report.blocks, report.roots_checked), (8, 9));
    assert_eq!(report.txs, 400);
    assert_eq!(report.final_root, f.roots[8]);
    assert!(progress >= 1);
    put_raw(
        &store,
        Cf::Roots,
        &schema::height_key(5),
        &codec::encode(&Hash::digest(b"x")),
    );
    let report = replay_chain(&store, None, |_| {}).unwrap();
    let m = report.mismatch.expect("mismatch");
    assert_eq!(
        (m.height, m.stored, m.computed),
        (5, Hash::digest(b"x"), f.roots[5])
    );
    assert_eq!(report.blocks, 5, "replay stops at the first mismatch");
    // The stored state itself altered: replay's last check sees it.
    put_raw(
        &store,
        Cf::Roots,
        &schema::height_key(5),
        &codec::encode(&f.roots[5]),
    );
    let mut acct = store.account(&f.keys[0].public()).unwrap().unwrap();
    acct.balances[0].free += 1;
    put_raw(
        &store,
        Cf::State,
        &schema::account_key(&acct.key),
        &codec::encode(&acct),
    );
    let report = replay_chain(&store, None, |_| {}).unwrap();
    assert!(report.mismatch.is_none());
    assert_eq!(report.state_mismatch.expect("state mismatch").height, 8);
}

// ------------------------------------------------------------- corrupt inputs

/// A store with 6 applied blocks and 3 recorded but not applied (final 9).
fn corrupt_fixture<B: Backend>(b: &mut B) -> Fixture {
    let f = fixture(9, 40);
    let mut ex = Executor::open(b.open(), Some(&f.genesis)).unwrap();
    for blk in &f.blocks[..6] {
        ex.finalize(blk.clone(), b"c").unwrap();
    }
    for blk in &f.blocks[6..] {
        ex.record_final(blk, b"c").unwrap();
    }
    f
}

fn corrupt_truncated_account<B: Backend>(b: &mut B) {
    let f = corrupt_fixture(b);
    let store = b.open();
    let key = schema::account_key(&f.keys[3].public());
    let v = store.raw().get(Cf::State, &key).unwrap().unwrap();
    put_raw(&store, Cf::State, &key, &v[..v.len() - 5]);
    drop(store);
    let e = open_err(b, None);
    let msg = e.to_string();
    assert!(matches!(e, StoreError::Decode { cf: "state", .. }), "{msg}");
    assert!(
        msg.contains(&format!("account {}", f.keys[3].public())),
        "{msg}"
    );
    assert!(msg.contains("applied height 6"), "{msg}");
    // Trailing garbage is as bad as missing bytes.
    let store = b.open();
    let mut long = v.clone();
    long.push(0);
    put_raw(&store, Cf::State, &key, &long);
    drop(store);
    assert!(open_err(b, None).to_string().contains("trailing bytes"));
}

fn corrupt_altered_account<B: Backend>(b: &mut B) {
    let f = corrupt_fixture(b);
    let store = b.open();
    let mut acct = store.account(&f.keys[2].public()).unwrap().unwrap();
    acct.balances[1].free += 1;
    put_raw(
        &store,
        Cf::State,
        &schema::account_key(&acct.key),
        &codec::encode(&acct),
    );
    drop(store);
    let e = open_err(b, None);
    assert!(
        matches!(e, StoreError::StateRootMismatch { height: 6, stored, .. } if stored == f.roots[6]),
        "{e}"
    );
    assert!(
        e.to_string().starts_with("state root mismatch at height 6"),
        "{e}"
    );
    // An order whose lock disagrees with its account: the engine's consistency check.
    let store = b.open();
    let state = store.load_state().unwrap();
    let mut o = state.orders[0].clone();
    o.locked += 7;
    put_raw(
        &store,
        Cf::State,
        &schema::order_key(&o.id),
        &codec::encode(&o),
    );
    drop(store);
    let e = open_err(b, None);
    assert!(
        matches!(e, StoreError::InconsistentState { height: 6, .. }),
        "{e}"
    );
}

fn corrupt_truncated_and_altered_blocks<B: Backend>(b: &mut B) {
    let f = corrupt_fixture(b);
    let store = b.open();
    // Block 8 (in the replay gap) truncated.
    let h8 = f.blocks[7].hash();
    let v = store.raw().get(Cf::Blocks, &h8.0).unwrap().unwrap();
    put_raw(&store, Cf::Blocks, &h8.0, &v[..v.len() / 2]);
    drop(store);
    let e = open_err(b, None);
    assert!(matches!(e, StoreError::BadBlock { height: 8, .. }), "{e}");
    assert!(
        e.to_string().contains("block at height 8 is invalid"),
        "{e}"
    );
    // Blocks 7 was applied by the failed open (7 is before the bad block 8).
    let store = b.open();
    assert_eq!(store.applied_height().unwrap(), 7);
    // Block 8 altered: one byte of a transaction changed, still decodes.
    let mut bytes = v.clone();
    let n = bytes.len();
    bytes[n - 70] ^= 0x01; // inside the last transaction's signature
    put_raw(&store, Cf::Blocks, &h8.0, &bytes);
    drop(store);
    let e = open_err(b, None);
    assert!(matches!(e, StoreError::BadBlock { height: 8, .. }), "{e}");
    // The final marker's value truncated.
    let store = b.open();
    put_raw(&store, Cf::Blocks, &h8.0, &v);
    let k9 = schema::height_key(9);
    let m = store.raw().get(Cf::Final, &k9).unwrap().unwrap();
    put_raw(&store, Cf::Final, &k9, &m[..10]);
    drop(store);
    let e = open_err(b, None);
    assert!(matches!(e, StoreError::Decode { cf: "final", .. }), "{e}");
    assert!(e.to_string().contains("height 9"), "{e}");
    let store = b.open();
    put_raw(&store, Cf::Final, &k9, &m);
    drop(store);
    let ex = Executor::open(b.open(), None).unwrap();
    assert_eq!(ex.state_root(), f.roots[9], "repaired, it recovers fully");
}

fn corrupt_missing_markers<B: Backend>(b: &mut B) {
    let f = corrupt_fixture(b);
    // A final-block marker missing inside the gap.
    let store = b.open();
    let k8 = schema::height_key(8);
    let m8 = store.raw().get(Cf::Final, &k8).unwrap().unwrap();
    delete_raw(&store, Cf::Final, &k8);
    drop(store);
    let e = open_err(b, None);
    assert!(
        matches!(
            e,
            StoreError::MissingFinal {
                height: 8,
                final_height: 9
            }
        ),
        "{e}"
    );
    assert_eq!(e.height(), Some(8));
    let store = b.open();
    put_raw(&store, Cf::Final, &k8, &m8);
    // The final height entry missing.
    let fh = store
        .raw()
        .get(Cf::Meta, meta::FINAL_HEIGHT)
        .unwrap()
        .unwrap();
    delete_raw(&store, Cf::Meta, meta::FINAL_HEIGHT);
    drop(store);
    let e = open_err(b, None);
    assert!(matches!(e, StoreError::MissingMeta("final_height")), "{e}");
    let store = b.open();
    put_raw(&store, Cf::Meta, meta::FINAL_HEIGHT, &fh);
    // The state root at the applied height missing.
    let k6 = schema::height_key(6);
    let r6 = store.raw().get(Cf::Roots, &k6).unwrap().unwrap();
    delete_raw(&store, Cf::Roots, &k6);
    drop(store);
    let e = open_err(b, None);
    assert!(
        matches!(e, StoreError::MissingStateRoot { height: 6 }),
        "{e}"
    );
    let store = b.open();
    put_raw(&store, Cf::Roots, &k6, &r6);
    // Applied height above the final height.
    put_raw(
        &store,
        Cf::Meta,
        meta::APPLIED_HEIGHT,
        &codec::encode(&10u64),
    );
    drop(store);
    let e = open_err(b, None);
    assert!(
        matches!(
            e,
            StoreError::HeightsInconsistent {
                applied: 10,
                final_height: 9
            }
        ),
        "{e}"
    );
    let store = b.open();
    put_raw(
        &store,
        Cf::Meta,
        meta::APPLIED_HEIGHT,
        &codec::encode(&6u64),
    );
    // A marker above the final height.
    put_raw(&store, Cf::Final, &schema::height_key(11), &m8);
    drop(store);
    let e = open_err(b, None);
    assert!(
        matches!(e, StoreError::UnexpectedFinal { height: 11, .. }),
        "{e}"
    );
    let store = b.open();
    delete_raw(&store, Cf::Final, &schema::height_key(11));
    // A block missing from the block store.
    let h7 = f.blocks[6].hash();
    let b7 = store.raw().get(Cf::Blocks, &h7.0).unwrap().unwrap();
    delete_raw(&store, Cf::Blocks, &h7.0);
    drop(store);
    let e = open_err(b, None);
    assert!(
        matches!(e, StoreError::MissingBlock { height: 7, .. }),
        "{e}"
    );
    let store = b.open();
    put_raw(&store, Cf::Blocks, &h7.0, &b7);
    drop(store);
    let ex = Executor::open(b.open(), None).unwrap();
    assert_eq!(ex.state_root(), f.roots[9]);
}

fn corrupt_schema_and_genesis<B: Backend>(b: &mut B) {
    let f = corrupt_fixture(b);
    let store = b.open();
    put_raw(
        &store,
        Cf::Meta,
        meta::SCHEMA_VERSION,
        &codec::encode(&99u32),
    );
    drop(store);
    let e = open_err(b, None);
    assert!(
        matches!(
            e,
            StoreError::SchemaVersion {
                found: 99,
                expected: crate::SCHEMA_VERSION
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "schema version 99 in the data directory, this node reads version {}",
            crate::SCHEMA_VERSION
        )
    );
    let store = b.open();
    put_raw(&store, Cf::Meta, meta::SCHEMA_VERSION, &[1, 0]);
    drop(store);
    assert!(matches!(
        open_err(b, None),
        StoreError::Decode { cf: "meta", .. }
    ));
    let store = b.open();
    delete_raw(&store, Cf::Meta, meta::SCHEMA_VERSION);
    drop(store);
    assert!(matches!(
        open_err(b, None),
        StoreError::MissingMeta("schema_version")
    ));
    let store = b.open();
    put_raw(
        &store,
        Cf::Meta,
        meta::SCHEMA_VERSION,
        &codec::encode(&crate::SCHEMA_VERSION),
    );
    // Another genesis.
    drop(store);
    let (other, _) = testkit::genesis(2);
    let e = open_err(b, Some(&other));
    assert!(matches!(e, StoreError::GenesisMismatch { .. }), "{e}");
    // The stored genesis document altered.
    let store = b.open();
    let doc = store.raw().get(Cf::Meta, meta::GENESIS).unwrap().unwrap();
    let altered = String::from_utf8(doc.clone())
        .unwrap()
        .replace("ledger-test", "ledger-tesu");
    put_raw(&store, Cf::Meta, meta::GENESIS, altered.as_bytes());
    drop(store);
    let e = open_err(b, None);
    assert!(matches!(e, StoreError::GenesisCorrupt(_)), "{e}");
    let store = b.open();
    put_raw(&store, Cf::Meta, meta::GENESIS, &doc);
    drop(store);
    let ex = Executor::open(b.open(), Some(&f.genesis)).unwrap();
    assert_eq!(ex.state_root(), f.roots[9]);
}

fn corrupt_bytes_never_panic<B: Backend>(b: &mut B) {
    use rand::{Rng, SeedableRng};
    let f = corrupt_fixture(b);
    let store = b.open();
    // Every key of the column families start-up reads (completeness markers have an
    // empty value: nothing to corrupt).
    let mut keys = Vec::new();
    for cf in [Cf::Meta, Cf::Final, Cf::Roots, Cf::State, Cf::Blocks] {
        store
            .raw()
            .scan(cf, None, None, crate::Direction::Forward, &mut |k, _| {
                if !crate::schema::is_marker(k) {
                    keys.push((cf, k.to_vec()));
                }
                Ok(true)
            })
            .unwrap();
    }
    drop(store);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let (mut refused, mut by_replay, mut opaque) = (0, 0, 0);
    for i in 0..60 {
        let (cf, key) = keys[rng.gen_range(0..keys.len())].clone();
        let store = b.open();
        // A successful open may have applied the gap and removed this key since.
        let Some(original) = store.raw().get(cf, &key).unwrap() else {
            continue;
        };
        let mut v = original.clone();
        match i % 3 {
            0 => v.truncate(rng.gen_range(0..v.len().max(1))),
            1 => {
                let j = rng.gen_range(0..v.len().max(1));
                if let Some(x) = v.get_mut(j) {
                    *x ^= 1 << rng.gen_range(0..8);
                }
            }
            _ => v.extend_from_slice(&[0xff; 3]),
        }
        put_raw(&store, cf, &key, &v);
        drop(store);
        let where_ = format!("corrupt {} key {}", cf.name(), hex::encode(&key));
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Executor::open(b.open(), None).map(|ex| ex.state_root())
        }))
        .unwrap_or_else(|_| panic!("open panicked on {where_}"));
        match res {
            Err(_) => refused += 1,
            // Start-up reads the metadata, the state, and the chain from the applied
            // height up; damage deeper in the history is `replay`'s to find.
            Ok(root) => {
                assert_eq!(root, f.roots[9], "opened with a wrong state");
                assert!(
                    matches!(cf, Cf::Blocks | Cf::Final | Cf::Roots),
                    "corrupt {} key {} not detected at start-up",
                    cf.name(),
                    hex::encode(&key)
                );
                let store = b.open();
                let replay = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    replay_chain(&store, None, |_| {}).map(|r| r.is_ok())
                }))
                .unwrap_or_else(|_| panic!("replay panicked on {where_}"));
                match replay {
                    Err(_) | Ok(false) => by_replay += 1,
                    // Only bytes no hash covers: a transaction signature (the tx id
                    // excludes it) or the opaque finality certificate.
                    Ok(true) => {
                        assert!(matches!(cf, Cf::Blocks | Cf::Final), "{}", cf.name());
                        opaque += 1;
                    }
                }
            }
        }
        // Restore (a successful open may have applied the gap: state keys may be gone).
        let store = b.open();
        put_raw(&store, cf, &key, &original);
    }
    eprintln!("{refused} refused at start-up, {by_replay} found by replay, {opaque} in signature or certificate bytes");
    assert!(refused >= 20 && refused + by_replay + opaque >= 45);
    assert!(opaque <= 5);
}

/// One page of (height, position) pairs and the next cursor.
type HistoryPager<'a> =
    dyn Fn(Option<crate::HistoryCursor>) -> (Vec<(u64, u32)>, Option<crate::HistoryCursor>) + 'a;

fn account_history_and_candles_agree_with_the_trades<B: Backend>(b: &mut B) {
    use crate::CandleInterval;
    let f = fixture(12, 100);
    let store = b.open();
    let mut ex = Executor::open(store.clone(), Some(&f.genesis)).unwrap();
    let applied = finalize_all(&mut ex, &f);
    // Every fill (newest first), every transaction and transfer per account.
    let mut fills: Vec<(u64, Fill)> = Vec::new();
    let mut txs: BTreeMap<Address, Vec<(u64, u32)>> = BTreeMap::new();
    let mut transfers: BTreeMap<Address, Vec<(u64, u32)>> = BTreeMap::new();
    for (a, block) in applied.iter().zip(&f.blocks) {
        assert_eq!(a.time_ms, block.header.time_ms());
        for (i, r) in a.receipts.iter().enumerate() {
            let stateless = matches!(&r.result, Err(e) if e.is_stateless());
            if !stateless {
                txs.entry(r.sender).or_default().push((a.height, i as u32));
                if let ledger_types::Payload::Transfer(t) = &block.txs[i].tx.payload {
                    if t.to != r.sender {
                        txs.entry(t.to).or_default().push((a.height, i as u32));
                    }
                }
            }
            for e in &r.events {
                match e {
                    Event::Fill(fl) => fills.push((a.height, fl.clone())),
                    Event::Transferred { from, to, .. } => {
                        transfers
                            .entry(*from)
                            .or_default()
                            .push((a.height, i as u32));
                        transfers.entry(*to).or_default().push((a.height, i as u32));
                    }
                    _ => {}
                }
            }
        }
    }
    fills.sort_by_key(|(_, fl)| std::cmp::Reverse(fl.trade_id));
    assert!(fills.len() > 100, "{} fills", fills.len());
    assert!(!transfers.is_empty(), "the stream has transfers");
    for k in &f.keys {
        let who = k.public();
        let want: Vec<u64> = fills
            .iter()
            .filter(|(_, fl)| fl.maker == who || fl.taker == who)
            .map(|(_, fl)| fl.trade_id)
            .collect();
        let (mut got, mut cursor) = (Vec::new(), None);
        loop {
            let page = store.account_fills(&who, cursor, Some(7)).unwrap();
            got.extend(page.items.iter().map(|t| t.fill.trade_id));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(got, want, "fills of {who}");
        let page_all = |tag: &str, f: &HistoryPager| {
            let (mut got, mut cursor) = (Vec::new(), None);
            loop {
                let (items, next) = f(cursor);
                got.extend(items);
                match next {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            let _ = tag;
            got
        };
        let got_txs = page_all("txs", &|c| {
            let p = store.account_txs(&who, c, Some(5)).unwrap();
            (
                p.items.iter().map(|t| (t.height, t.position)).collect(),
                p.next_cursor,
            )
        });
        let mut want_txs = txs.get(&who).cloned().unwrap_or_default();
        want_txs.sort();
        want_txs.dedup();
        want_txs.reverse();
        assert_eq!(got_txs, want_txs, "transactions of {who}");
        let got_tr = page_all("transfers", &|c| {
            let p = store.account_transfers(&who, c, Some(3)).unwrap();
            (
                p.items.iter().map(|t| (t.height, t.position)).collect(),
                p.next_cursor,
            )
        });
        let mut want_tr = transfers.get(&who).cloned().unwrap_or_default();
        want_tr.sort();
        want_tr.dedup();
        want_tr.reverse();
        assert_eq!(got_tr, want_tr, "transfers of {who}");
    }
    // Candles: per market and interval, trades and volume add up; a 10-block candle
    // holds exactly the fills of its heights, with their first and last prices.
    for market in [MarketId(0), MarketId(1)] {
        let mine: Vec<&(u64, Fill)> = fills.iter().filter(|(_, fl)| fl.market == market).collect();
        for iv in CandleInterval::ALL {
            let candles = store.candles(market, iv, None, 100).unwrap();
            let n: u64 = candles.iter().map(|c| c.trades).sum();
            let vol: u64 = candles.iter().map(|c| c.volume).sum();
            assert_eq!(n as usize, mine.len(), "{iv:?}");
            assert_eq!(vol, mine.iter().map(|(_, fl)| fl.quantity).sum::<u64>());
            assert!(
                candles.windows(2).all(|w| w[0].start > w[1].start),
                "newest first"
            );
        }
        for c in store
            .candles(market, CandleInterval::B10, None, 100)
            .unwrap()
        {
            let mut inside: Vec<&Fill> = mine
                .iter()
                .filter(|(h, _)| h / 10 * 10 == c.start)
                .map(|(_, fl)| fl)
                .collect();
            inside.sort_by_key(|fl| fl.trade_id);
            assert_eq!(c.trades as usize, inside.len());
            assert_eq!(c.open, inside[0].price);
            assert_eq!(c.close, inside.last().unwrap().price);
            assert_eq!(c.high, inside.iter().map(|fl| fl.price).max().unwrap());
            assert_eq!(c.low, inside.iter().map(|fl| fl.price).min().unwrap());
            assert_eq!(c.first_trade_id, inside[0].trade_id);
        }
        let last_time = f.blocks.last().unwrap().header.time_ms();
        let stats = store.market_stats(market, last_time).unwrap();
        assert_eq!(stats.candle.map(|c| c.trades as usize), Some(mine.len()));
        assert_eq!(stats.last_trade.map(|(id, _)| id), Some(mine[0].1.trade_id));
    }
}
