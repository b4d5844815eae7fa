//! Byzantine nodes in the whole-node simulation: the simulator's protocol-level
//! adversaries (one behaviour per module in `ledger_simulator::adversary`), carried in
//! the node's wire format. They speak consensus only: they neither serve block sync nor
//! relay transactions, and honest nodes must cope.

use crate::wire::{NodeObs, Wire};
use ledger_consensus::streamlet::Message;
use ledger_driver::Topic;
use ledger_simulator::nakamoto::{NakamotoObs, SimBlock};
use ledger_simulator::streamlet::StreamletObs;
use ledger_simulator::{Action, Context, Node, NodeId};
use ledger_types::{codec, Block};
use std::rc::Rc;

/// How a protocol-level message type maps onto gossip.
pub trait GossipCodec {
    /// The protocol-level message.
    type Msg;
    /// The protocol-level observation (dropped).
    type Obs;
    /// The message carried by a gossip message, if it is one of this protocol's.
    fn decode(topic: Topic, data: &[u8]) -> Option<Self::Msg>;
    /// The gossip message for a protocol-level message.
    fn encode(msg: &Self::Msg) -> Wire;
}

/// Streamlet proposals and votes on the consensus topic.
#[derive(Debug)]
pub struct StreamletCodec;

impl GossipCodec for StreamletCodec {
    type Msg = Message;
    type Obs = StreamletObs;
    fn decode(topic: Topic, data: &[u8]) -> Option<Message> {
        (topic == Topic::Consensus)
            .then(|| codec::decode(data).ok())
            .flatten()
    }
    fn encode(msg: &Message) -> Wire {
        Wire::gossip(Topic::Consensus, codec::encode(msg))
    }
}

/// Nakamoto blocks on the blocks topic.
#[derive(Debug)]
pub struct NakamotoCodec;

impl GossipCodec for NakamotoCodec {
    type Msg = SimBlock;
    type Obs = NakamotoObs;
    fn decode(topic: Topic, data: &[u8]) -> Option<SimBlock> {
        (topic == Topic::Blocks)
            .then(|| codec::decode::<Block>(data).ok().map(SimBlock::new))
            .flatten()
    }
    fn encode(msg: &SimBlock) -> Wire {
        Wire::gossip(Topic::Blocks, codec::encode(&msg.block))
    }
}

/// A protocol-level node (an adversary) speaking the node's wire format.
pub struct Byzantine<C: GossipCodec> {
    inner: Box<dyn Node<C::Msg, C::Obs>>,
}

impl<C: GossipCodec> Byzantine<C> {
    /// Wraps `inner`.
    pub fn new(inner: Box<dyn Node<C::Msg, C::Obs>>) -> Self {
        Byzantine { inner }
    }

    fn emit(ctx: &mut Context<'_, Wire, NodeObs>, actions: Vec<Action<C::Msg>>) {
        for a in actions {
            match a {
                Action::Send { to, msg } => ctx.send(to, Rc::new(C::encode(&msg))),
                Action::Broadcast { except, msg } => {
                    let w = Rc::new(C::encode(&msg));
                    match except {
                        Some(e) => ctx.broadcast_except(w, e),
                        None => ctx.broadcast(w),
                    }
                }
                Action::Timer { at, id } => ctx.set_timer(at, id),
            }
        }
    }
}

impl<C: GossipCodec> Node<Wire, NodeObs> for Byzantine<C> {
    fn on_start(&mut self, ctx: &mut Context<'_, Wire, NodeObs>) {
        let inner = &mut self.inner;
        let ((), actions) = ctx.translate(|c| inner.on_start(c));
        Self::emit(ctx, actions);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Wire, NodeObs>, from: NodeId, msg: &Rc<Wire>) {
        let Wire::Gossip { topic, data, .. } = msg.as_ref() else {
            return;
        };
        let Some(m) = C::decode(*topic, data) else {
            return;
        };
        let m = Rc::new(m);
        let inner = &mut self.inner;
        let ((), actions) = ctx.translate(|c| inner.on_message(c, from, &m));
        Self::emit(ctx, actions);
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Wire, NodeObs>, timer: u64) {
        let inner = &mut self.inner;
        let ((), actions) = ctx.translate(|c| inner.on_timer(c, timer));
        Self::emit(ctx, actions);
    }
}
