//! Vote withholder: a Streamlet validator that never sends its votes in time. It keeps
//! them and, when the next epoch starts, leaks them to a single random node (which may
//! then see a notarization the others see only through its echo). It does not echo.

use crate::core::{Context, Node, NodeId};
use crate::streamlet::{Filter, HonestStreamlet, SimStreamlet, StreamletObs};
use ledger_consensus::streamlet::{Message, Vote};
use ledger_consensus::{ConsensusMessage, Effect};
use ledger_types::PublicKey;
use rand::Rng;
use std::rc::Rc;

/// See the module docs.
pub struct VoteWithholder {
    inner: HonestStreamlet,
    key: PublicKey,
    withheld: Vec<Vote>,
}

impl VoteWithholder {
    /// Wraps the validator with `key`.
    pub fn new(mut inner: HonestStreamlet, key: PublicKey) -> Self {
        inner.echo = false;
        VoteWithholder {
            inner,
            key,
            withheld: Vec::new(),
        }
    }

    fn filter<'a>(
        key: PublicKey,
        withheld: &'a mut Vec<Vote>,
    ) -> impl FnMut(&Effect, &mut Context<'_, Message, StreamletObs>, &mut SimStreamlet) -> Filter + 'a
    {
        move |o, _, _| match o {
            Effect::Broadcast(ConsensusMessage::Streamlet(Message::Vote(v))) if v.voter == key => {
                withheld.push(*v);
                Filter::Handled
            }
            _ => Filter::Pass,
        }
    }
}

impl Node<Message, StreamletObs> for VoteWithholder {
    fn on_start(&mut self, ctx: &mut Context<'_, Message, StreamletObs>) {
        let mut f = Self::filter(self.key, &mut self.withheld);
        self.inner.start(ctx, &mut f);
    }
    fn on_message(
        &mut self,
        ctx: &mut Context<'_, Message, StreamletObs>,
        from: NodeId,
        msg: &Rc<Message>,
    ) {
        let mut f = Self::filter(self.key, &mut self.withheld);
        self.inner.message(ctx, from, msg, &mut f);
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, Message, StreamletObs>, timer: u64) {
        if !self.withheld.is_empty() && ctx.n() > 1 {
            let n = ctx.n();
            let mut to = ctx.rng().gen_range(0..n - 1);
            if to >= ctx.me() {
                to += 1;
            }
            for v in self.withheld.drain(..) {
                ctx.send(to, Rc::new(Message::Vote(v)));
            }
        }
        let mut f = Self::filter(self.key, &mut self.withheld);
        self.inner.timer(ctx, timer, &mut f);
    }
}
