//! Seeded streams of blocks whose orders trade, for tests, the crash test, benchmarks
//! and the `make_chain` example (feature `test-utils`).
//!
//! The stream is generated against a shadow engine so that cancels name orders that are
//! open at that moment. Mix per transaction: ~55% limit orders near the mid (GTC, some
//! post-only, some with client order ids), ~20% cancels of an open order (by id or client
//! id), ~10% marketable IOC market orders that sweep the book, ~4% cancel-all, ~4%
//! transfers, ~4% rejected placements (off-tick price), ~3% duplicates of an earlier
//! transaction (rejected as replayed, never re-indexed).

use ledger_engine::Engine;
use ledger_types::{
    Address, Block, CancelAll, CancelOrder, ClientOrderId, ConsensusHeader, Decimal, Genesis, Hash,
    Keypair, MarketId, OrderKind, OrderRef, Payload, PlaceOrder, SelfTradePrevention, Side,
    Signature, SignedTx, TimeInForce, Transfer, Tx,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A test genesis with `accounts` funded accounts (`Keypair::for_testing("acct{i}")`)
/// and large balances, and their keys.
pub fn genesis(accounts: usize) -> (Genesis, Vec<Keypair>) {
    let keys: Vec<Keypair> = (0..accounts)
        .map(|i| Keypair::for_testing(&format!("acct{i}")))
        .collect();
    let addrs: Vec<Address> = keys.iter().map(|k| k.public()).collect();
    let mut g = Genesis::for_testing(&addrs, &[Keypair::for_testing("validator0").public()]);
    for b in &mut g.balances {
        b.amount = Decimal::from(match b.asset.as_str() {
            "USD" => 1_000_000_000u64,
            _ => 1_000_000,
        });
    }
    g.limits.max_open_orders_per_account = 100_000;
    (g, keys)
}

/// Generates blocks one after another.
pub struct BlockStream {
    genesis: Genesis,
    keys: Vec<Keypair>,
    shadow: Engine,
    rng: ChaCha8Rng,
    nonces: Vec<u64>,
    sign: bool,
    history: Vec<SignedTx>,
    parent: Hash,
    height: u64,
    next_cid: u128,
}

impl std::fmt::Debug for BlockStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockStream")
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

impl BlockStream {
    /// A stream over `genesis` for the given account keys. With `sign` false the
    /// signatures are zero (the engine and storage never check them; block validation
    /// does, upstream) which makes generating large benchmarks fast.
    pub fn new(genesis: &Genesis, keys: &[Keypair], seed: u64, sign: bool) -> BlockStream {
        BlockStream {
            genesis: genesis.clone(),
            keys: keys.to_vec(),
            shadow: Engine::from_genesis(genesis).expect("valid test genesis"),
            rng: ChaCha8Rng::seed_from_u64(seed),
            nonces: vec![0; keys.len()],
            sign,
            history: Vec::new(),
            parent: genesis.block().hash(),
            height: 0,
            next_cid: 1,
        }
    }

    fn finish(&mut self, who: usize, payload: Payload) -> SignedTx {
        let tx = Tx {
            chain_id: self.genesis.chain_id.clone(),
            sender: self.keys[who].public(),
            nonce: self.nonces[who],
            payload,
            valid_until_height: None,
        };
        self.nonces[who] += 1;
        if self.sign {
            tx.sign(&self.keys[who])
        } else {
            SignedTx::new(tx, Signature([0; 64]))
        }
    }

    fn next_tx(&mut self) -> SignedTx {
        let rng = &mut self.rng;
        let roll = rng.gen_range(0..100u32);
        if roll < 3 && !self.history.is_empty() {
            let i = rng.gen_range(0..self.history.len());
            return self.history[i].clone();
        }
        let who = rng.gen_range(0..self.keys.len());
        let m = rng.gen_range(0..self.shadow.markets().len());
        let cfg = self.shadow.markets()[m].clone();
        let mid = 10_000u64;
        let payload = if roll < 23 {
            let open = self.shadow.open_orders(&self.keys[who].public());
            if open.is_empty() {
                Payload::CancelAll(CancelAll { market: None })
            } else {
                let o = &open[rng.gen_range(0..open.len())];
                let order = match o.client_order_id {
                    Some(cid) if rng.gen_bool(0.5) => OrderRef::ClientOrderId(cid),
                    _ => OrderRef::OrderId(o.id),
                };
                Payload::CancelOrder(CancelOrder { order })
            }
        } else if roll < 27 {
            Payload::CancelAll(CancelAll {
                market: rng.gen_bool(0.5).then_some(MarketId(m as u32)),
            })
        } else if roll < 31 {
            let to = rng.gen_range(0..self.keys.len());
            let to = if to == who {
                (to + 1) % self.keys.len()
            } else {
                to
            };
            Payload::Transfer(Transfer {
                to: self.keys[to].public(),
                asset: cfg.quote,
                amount: Decimal::new(rng.gen_range(1..1000), 2),
            })
        } else {
            let side = if rng.gen_bool(0.5) {
                Side::Buy
            } else {
                Side::Sell
            };
            let marketable = roll >= 90;
            let lots = if marketable {
                rng.gen_range(100..600u64)
            } else {
                rng.gen_range(10..200u64)
            };
            let (kind, price, tif) = if marketable {
                (OrderKind::Market, None, TimeInForce::Ioc)
            } else {
                let off = rng.gen_range(1..50u64);
                // A few limit orders cross the spread and trade on arrival.
                let ticks = match (side, rng.gen_bool(0.1)) {
                    (Side::Buy, false) | (Side::Sell, true) => mid - off,
                    (Side::Sell, false) | (Side::Buy, true) => mid + off,
                };
                let mut price = cfg.ticks_to_price(ticks);
                if roll < 35 {
                    // Off the tick grid: rejected (and the nonce is consumed).
                    price += Decimal::new(1, 6);
                }
                let tif = if rng.gen_bool(0.1) {
                    TimeInForce::PostOnly
                } else {
                    TimeInForce::Gtc
                };
                (OrderKind::Limit, Some(price), tif)
            };
            let client_order_id = rng.gen_bool(0.3).then(|| {
                self.next_cid += 1;
                ClientOrderId(self.next_cid)
            });
            Payload::PlaceOrder(PlaceOrder {
                market: MarketId(m as u32),
                side,
                kind,
                price,
                quantity: cfg.lots_to_quantity(lots),
                time_in_force: tif,
                client_order_id,
                self_trade: SelfTradePrevention::ExpireMaker,
                good_till_height: None,
            })
        };
        self.finish(who, payload)
    }

    /// The next block, with `txs` transactions, extending the previous one.
    pub fn next_block(&mut self, txs: usize) -> Block {
        let mut list = Vec::with_capacity(txs);
        for _ in 0..txs {
            let stx = self.next_tx();
            let _ = self.shadow.apply_signed(&stx);
            self.shadow.clear_events();
            if self.history.len() < 10_000 {
                self.history.push(stx.clone());
            } else {
                let i = self.rng.gen_range(0..self.history.len());
                self.history[i] = stx.clone();
            }
            list.push(stx);
        }
        self.shadow.commit();
        self.height += 1;
        let block = Block::new(
            self.parent,
            self.height,
            ConsensusHeader::Streamlet {
                epoch: self.height,
                proposer: self.keys[0].public(),
                time_ms: self.height * 1000,
            },
            list,
        );
        self.parent = block.hash();
        block
    }

    /// The shadow engine's state root after the last block (the reference root).
    pub fn state_root(&self) -> Hash {
        self.shadow.state_root()
    }
}

/// `count` blocks of `txs` transactions each, heights `1..=count`.
pub fn chain(
    genesis: &Genesis,
    keys: &[Keypair],
    seed: u64,
    count: usize,
    txs: usize,
) -> Vec<Block> {
    let mut s = BlockStream::new(genesis, keys, seed, false);
    (0..count).map(|_| s.next_block(txs)).collect()
}

/// The reference state roots: index `h` is the root after blocks `1..=h` executed in a
/// fresh engine (index 0 is the genesis root).
pub fn reference_roots(genesis: &Genesis, blocks: &[Block]) -> Vec<Hash> {
    let mut engine = Engine::from_genesis(genesis).expect("valid genesis");
    let mut roots = vec![engine.state_root()];
    for b in blocks {
        roots.push(engine.execute_block(&b.txs).state_root);
    }
    roots
}

/// A stand-in finality certificate for height `h` (opaque bytes to storage).
pub fn certificate(height: u64) -> Vec<u8> {
    format!("cert-{height}").into_bytes()
}
