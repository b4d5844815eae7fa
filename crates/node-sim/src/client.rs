//! A simulated wallet: signs orders from funded accounts and submits each to every full
//! node (as a wallet pushing to several RPC endpoints), through the simulated network.

use crate::wire::{NodeObs, Wire};
use ledger_simulator::{Context, Node, NodeId, Time};
use ledger_types::{
    CancelAll, Decimal, Keypair, MarketId, OrderKind, Payload, PlaceOrder, SelfTradePrevention,
    Side, SignedTx, TimeInForce, Tx,
};
use rand::Rng;
use std::rc::Rc;

/// The client's plan.
#[derive(Clone, Debug)]
pub struct ClientPlan {
    /// The chain id signed into every transaction.
    pub chain_id: String,
    /// Funded account keys.
    pub accounts: Vec<Keypair>,
    /// Nodes that receive the submissions.
    pub nodes: Vec<NodeId>,
    /// Transactions in total.
    pub txs: usize,
    /// Mean time between submissions, microseconds.
    pub mean_gap_us: u64,
}

/// The client node.
pub struct Client {
    plan: ClientPlan,
    nonces: Vec<u64>,
    sent: usize,
}

impl Client {
    /// A client following `plan`.
    pub fn new(plan: ClientPlan) -> Self {
        let nonces = vec![0; plan.accounts.len()];
        Client {
            plan,
            nonces,
            sent: 0,
        }
    }

    fn schedule(&self, ctx: &mut Context<'_, Wire, NodeObs>) {
        if self.sent < self.plan.txs && !self.plan.accounts.is_empty() {
            let u: f64 = ctx.rng().gen();
            let gap = (-(1.0 - u).ln() * self.plan.mean_gap_us as f64).clamp(1.0, 1e12) as u64;
            ctx.set_timer(ctx.now().plus(gap), 0);
        }
    }

    /// A random order: a limit buy or sell near 100 on BTC/USD, now and then a cancel
    /// of everything (so books change in both directions).
    fn next_tx(&mut self, ctx: &mut Context<'_, Wire, NodeObs>) -> SignedTx {
        let rng = ctx.rng();
        let a = rng.gen_range(0..self.plan.accounts.len());
        let payload = if rng.gen_bool(0.1) {
            Payload::CancelAll(CancelAll { market: None })
        } else {
            let side = if rng.gen_bool(0.5) {
                Side::Buy
            } else {
                Side::Sell
            };
            let price = Decimal::new(rng.gen_range(9_500..=10_500), 2);
            let quantity = Decimal::new(rng.gen_range(1..=100), 2);
            Payload::PlaceOrder(PlaceOrder {
                market: MarketId(0),
                side,
                kind: OrderKind::Limit,
                price: Some(price),
                quantity,
                time_in_force: TimeInForce::Gtc,
                client_order_id: None,
                self_trade: SelfTradePrevention::default(),
                good_till_height: None,
            })
        };
        let key = &self.plan.accounts[a];
        let nonce = self.nonces[a];
        self.nonces[a] += 1;
        Tx {
            chain_id: self.plan.chain_id.clone(),
            sender: key.public(),
            nonce,
            payload,
            valid_until_height: None,
        }
        .sign(key)
    }
}

impl Node<Wire, NodeObs> for Client {
    fn on_start(&mut self, ctx: &mut Context<'_, Wire, NodeObs>) {
        self.schedule(ctx);
    }

    fn on_message(&mut self, _: &mut Context<'_, Wire, NodeObs>, _: NodeId, _: &Rc<Wire>) {}

    fn on_timer(&mut self, ctx: &mut Context<'_, Wire, NodeObs>, _: u64) {
        let tx = Rc::new(self.next_tx(ctx));
        self.sent += 1;
        let msg = Rc::new(Wire::Submit(tx));
        for &node in &self.plan.nodes {
            ctx.send(node, Rc::clone(&msg));
        }
        self.schedule(ctx);
    }
}

/// When the client stops (for run-length planning): roughly `txs * mean_gap`.
pub fn expected_end(plan: &ClientPlan) -> Time {
    Time(plan.txs as u64 * plan.mean_gap_us)
}
