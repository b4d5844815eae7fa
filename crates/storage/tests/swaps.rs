//! Bundles and hashlock swaps through the executor and RocksDB: open swaps persist as
//! ledger state (a restarted executor loads them under the same root), the swap index
//! keeps every swap's history with the revealed preimage, bundle legs are indexed as
//! orders, and a replay of the chain reproduces every root (timeouts depend on heights).

use ledger_engine::Event;
use ledger_storage::testkit::{certificate, genesis};
use ledger_storage::{replay_chain, ChainStore, Executor, StoreOptions, SwapStatus};
use ledger_types::{
    AssetId, Block, Bundle, BundleLeg, ConsensusHeader, Decimal, Hash, Keypair, MarketId,
    OrderKind, Payload, PlaceOrder, Preimage, SelfTradePrevention, Side, SignedTx, SwapClaim,
    SwapLock, SwapRefund, TimeInForce, Tx,
};

struct Chain {
    keys: Vec<Keypair>,
    chain_id: String,
    nonces: Vec<u64>,
    parent: Hash,
    height: u64,
}

impl Chain {
    fn tx(&mut self, who: usize, payload: Payload) -> SignedTx {
        let tx = Tx {
            chain_id: self.chain_id.clone(),
            sender: self.keys[who].public(),
            nonce: self.nonces[who],
            payload,
            valid_until_height: None,
        };
        self.nonces[who] += 1;
        tx.sign(&self.keys[who])
    }

    fn block(&mut self, txs: Vec<SignedTx>) -> Block {
        self.height += 1;
        let b = Block::new(
            self.parent,
            self.height,
            ConsensusHeader::Streamlet {
                epoch: self.height,
                proposer: self.keys[0].public(),
                time_ms: self.height * 1000,
            },
            txs,
        );
        self.parent = b.hash();
        b
    }
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn limit(market: u32, side: Side, price: &str, qty: &str) -> Payload {
    Payload::PlaceOrder(PlaceOrder {
        market: MarketId(market),
        side,
        kind: OrderKind::Limit,
        price: Some(d(price)),
        quantity: d(qty),
        time_in_force: TimeInForce::Gtc,
        client_order_id: None,
        self_trade: SelfTradePrevention::ExpireMaker,
        good_till_height: None,
    })
}

#[test]
fn swaps_and_bundles_persist_index_and_replay() {
    let (g, keys) = genesis(3);
    let dir = tempfile::tempdir().unwrap();
    let mut c = Chain {
        keys,
        chain_id: g.chain_id.clone(),
        nonces: vec![0; 3],
        parent: g.block().hash(),
        height: 0,
    };
    let secret = Preimage([5; 32]);
    let bob = c.keys[1].public();
    // Block 1: a maker's quotes, two swaps (one to claim, one to leave open), a bundle.
    let quotes = [
        c.tx(2, limit(0, Side::Sell, "100", "1")),
        c.tx(2, limit(1, Side::Buy, "50", "2")),
    ];
    let lock = |c: &mut Chain, timeout| {
        c.tx(
            0,
            Payload::SwapLock(SwapLock {
                counterparty: bob,
                asset: AssetId(0),
                amount: d("1.5"),
                hashlock: secret.hashlock(),
                timeout_height: timeout,
            }),
        )
    };
    let (claimed, open) = (lock(&mut c, 10), lock(&mut c, 1_000));
    let leg = |market, side, price: &str, qty: &str| BundleLeg {
        market: MarketId(market),
        side,
        price: d(price),
        quantity: d(qty),
        time_in_force: TimeInForce::Ioc,
        client_order_id: None,
        self_trade: SelfTradePrevention::ExpireMaker,
    };
    let bundle = c.tx(
        0,
        Payload::Bundle(Bundle {
            legs: vec![
                leg(0, Side::Buy, "100", "0.5"),
                leg(1, Side::Sell, "50", "1"),
            ],
            min_net: vec![],
        }),
    );
    let mut txs = quotes.to_vec();
    txs.extend([claimed.clone(), open.clone(), bundle.clone()]);
    let b1 = c.block(txs);
    // Block 2: the claim, a refund too early (rejected), a duplicate claim (rejected).
    let claim = c.tx(
        1,
        Payload::SwapClaim(SwapClaim {
            swap_id: claimed.hash(),
            preimage: secret,
        }),
    );
    let early = c.tx(
        0,
        Payload::SwapRefund(SwapRefund {
            swap_id: open.hash(),
        }),
    );
    let again = c.tx(
        1,
        Payload::SwapClaim(SwapClaim {
            swap_id: claimed.hash(),
            preimage: secret,
        }),
    );
    let b2 = c.block(vec![claim.clone(), early.clone(), again.clone()]);

    let root = {
        let store = ChainStore::open(dir.path(), StoreOptions::default()).unwrap();
        let mut ex = Executor::open(store.clone(), Some(&g)).unwrap();
        let a1 = ex.finalize(b1.clone(), &certificate(1)).unwrap().unwrap();
        let legs_ok = a1
            .receipts
            .iter()
            .find(|r| r.tx_hash == bundle.hash())
            .map(|r| {
                r.result.is_ok() && matches!(r.events.last(), Some(Event::BundleExecuted { .. }))
            });
        assert_eq!(legs_ok, Some(true));
        let a2 = ex.finalize(b2.clone(), &certificate(2)).unwrap().unwrap();
        assert!(a2.receipts[0].result.is_ok());
        assert!(a2.receipts[1].result.is_err());
        assert!(a2.receipts[2].result.is_err());
        // The index: claimed with the preimage, the other open.
        let s = store.swap(&claimed.hash()).unwrap().unwrap();
        assert_eq!(
            s.status,
            SwapStatus::Claimed {
                preimage: secret,
                height: 2,
                tx_hash: claim.hash()
            }
        );
        assert_eq!((s.record.lock_height, s.lock_position), (1, 2));
        assert_eq!(
            store.swap(&open.hash()).unwrap().unwrap().status,
            SwapStatus::Open
        );
        // Both parties list both swaps, newest lock first; paging works.
        for who in [c.keys[0].public(), bob] {
            let page = store.account_swaps(&who, None, Some(1)).unwrap();
            assert_eq!(page.items[0].record.id, open.hash());
            let next = store
                .account_swaps(&who, page.next_cursor.as_ref(), None)
                .unwrap();
            assert_eq!(next.items.len(), 1);
            assert_eq!(next.items[0].record.id, claimed.hash());
        }
        // Both bundle legs are indexed as orders of the sender.
        let orders = store
            .account_orders(&c.keys[0].public(), Default::default(), None, None)
            .unwrap();
        for i in 0..2 {
            let id = Bundle::leg_order_id(&bundle.hash(), i);
            let o = orders.items.iter().find(|o| o.order_id == id).unwrap();
            assert_eq!(o.filled, o.quantity);
        }
        ex.state_root()
    };
    // A restarted executor loads the open swap from the store under the same root.
    let store = ChainStore::open(dir.path(), StoreOptions::default()).unwrap();
    let ex = Executor::open(store.clone(), Some(&g)).unwrap();
    assert_eq!(ex.state_root(), root);
    assert!(ex.engine().swap(&open.hash()).is_some());
    assert!(ex.engine().swap(&claimed.hash()).is_none());
    let report = replay_chain(&store, Some(&g), |_| {}).unwrap();
    assert!(report.mismatch.is_none() && report.state_mismatch.is_none());
    assert_eq!(report.final_root, root);
}
