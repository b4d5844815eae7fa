//! Double voter: a Streamlet validator that votes for every proposal it sees, whatever
//! its epoch and whether or not it extends a longest notarized chain, and additionally
//! votes every epoch for a phantom block that conflicts with everything (so it signs at
//! least two votes per epoch: evidence). It does not echo.

use crate::core::{Context, Node, NodeId};
use crate::streamlet::{pass, HonestStreamlet, StreamletObs};
use ledger_consensus::streamlet::{Message, Vote};
use ledger_consensus::{Delivery, SimSigner};
use ledger_types::{Hash, PublicKey};
use std::rc::Rc;

/// See the module docs.
pub struct DoubleVoter {
    inner: HonestStreamlet,
    signer: SimSigner,
}

impl DoubleVoter {
    /// Wraps the validator with `key`.
    pub fn new(mut inner: HonestStreamlet, key: PublicKey) -> Self {
        inner.echo = false;
        DoubleVoter {
            inner,
            signer: SimSigner { key },
        }
    }
}

impl Node<Message, StreamletObs> for DoubleVoter {
    fn on_start(&mut self, ctx: &mut Context<'_, Message, StreamletObs>) {
        self.inner.start(ctx, &mut pass);
    }
    fn on_message(
        &mut self,
        ctx: &mut Context<'_, Message, StreamletObs>,
        from: NodeId,
        msg: &Rc<Message>,
    ) {
        let verdict = self.inner.message(ctx, from, msg, &mut pass);
        if let (Some(Delivery::New), Message::Proposal(p)) = (verdict, msg.as_ref()) {
            if let Some(epoch) = p.epoch() {
                let chain = self.inner.sm.config().chain;
                let v = Vote::sign(&chain, epoch, p.block.hash(), &self.signer);
                ctx.broadcast(Rc::new(Message::Vote(v)));
            }
        }
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, Message, StreamletObs>, timer: u64) {
        self.inner.timer(ctx, timer, &mut pass);
        let chain = self.inner.sm.config().chain;
        let phantom = Hash::tagged(
            "ledger-sim/phantom",
            &[&timer.to_le_bytes(), &self.signer.key.0],
        );
        let v = Vote::sign(&chain, timer, phantom, &self.signer);
        ctx.broadcast(Rc::new(Message::Vote(v)));
    }
}
