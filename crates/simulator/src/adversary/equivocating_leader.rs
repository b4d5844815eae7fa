//! Equivocating leader: a Streamlet validator that, whenever it leads an epoch, signs
//! two different blocks on the same parent, sends each (with its own vote for it) to a
//! random half of the validators, and so splits the honest votes. Otherwise honest; it
//! does not echo.

use crate::core::{Context, Node, NodeId};
use crate::streamlet::{Filter, HonestStreamlet, SimStreamlet, StreamletObs};
use ledger_consensus::streamlet::{Message, Proposal, Vote};
use ledger_consensus::{Effect, SimSigner};
use ledger_types::{
    Block, CancelAll, ConsensusHeader, Payload, PublicKey, Signature, SignedTx, Tx,
};
use rand::Rng;
use std::rc::Rc;

/// See the module docs.
pub struct EquivocatingLeader {
    inner: HonestStreamlet,
    key: PublicKey,
}

impl EquivocatingLeader {
    /// Wraps the validator with `key`.
    pub fn new(mut inner: HonestStreamlet, key: PublicKey) -> Self {
        inner.echo = false;
        EquivocatingLeader { inner, key }
    }

    fn filter(
        key: PublicKey,
    ) -> impl FnMut(&Effect, &mut Context<'_, Message, StreamletObs>, &mut SimStreamlet) -> Filter
    {
        move |o, ctx, sm| {
            let Effect::BuildBlock {
                epoch,
                parent,
                height,
            } = o
            else {
                return Filter::Pass;
            };
            let chain = sm.config().chain;
            let signer = SimSigner { key };
            let mut pairs = Vec::new();
            for variant in 0..2u64 {
                // A marker transaction makes the two blocks differ (the simulator does
                // not validate payloads).
                let marker = SignedTx::new(
                    Tx {
                        chain_id: "ledger-sim".into(),
                        sender: key,
                        nonce: epoch.wrapping_mul(2).wrapping_add(variant),
                        payload: Payload::CancelAll(CancelAll { market: None }),
                        valid_until_height: None,
                    },
                    Signature([0; 64]),
                );
                let block = Block::new(
                    *parent,
                    *height,
                    ConsensusHeader::Streamlet {
                        epoch: *epoch,
                        proposer: key,
                        time_ms: ctx.now().as_ms(),
                    },
                    vec![marker],
                );
                let vote = Vote::sign(&chain, *epoch, block.hash(), &signer);
                let proposal = Proposal::sign(&chain, block, &signer);
                pairs.push((
                    Rc::new(Message::Proposal(proposal)),
                    Rc::new(Message::Vote(vote)),
                ));
            }
            for to in 0..ctx.n() {
                if to == ctx.me() {
                    continue;
                }
                let side = usize::from(ctx.rng().gen_bool(0.5));
                ctx.send(to, Rc::clone(&pairs[side].0));
                ctx.send(to, Rc::clone(&pairs[side].1));
            }
            Filter::Handled
        }
    }
}

impl Node<Message, StreamletObs> for EquivocatingLeader {
    fn on_start(&mut self, ctx: &mut Context<'_, Message, StreamletObs>) {
        self.inner.start(ctx, &mut Self::filter(self.key));
    }
    fn on_message(
        &mut self,
        ctx: &mut Context<'_, Message, StreamletObs>,
        from: NodeId,
        msg: &Rc<Message>,
    ) {
        self.inner
            .message(ctx, from, msg, &mut Self::filter(self.key));
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, Message, StreamletObs>, timer: u64) {
        self.inner.timer(ctx, timer, &mut Self::filter(self.key));
    }
}
