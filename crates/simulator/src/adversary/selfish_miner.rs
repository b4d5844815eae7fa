//! The selfish miner of Eyal and Sirer ("Majority is not enough", 2014), Algorithm 1.
//! It mines on a private branch and publishes strategically:
//!
//! - on its own block: "Δprev ← length(private) − length(public); append; if Δprev = 0
//!   and privateBranchLen = 2 then publish all of the private chain (pool wins due to
//!   the lead of 1)";
//! - on others' block: "if Δprev = 0 then private ← public (they win); else if Δprev = 1
//!   then publish the last block of the private chain (now same length, try our luck);
//!   else if Δprev = 2 then publish all of the private chain (pool wins due to the lead
//!   of 1); else publish the first unpublished block".
//!
//! γ (the share of honest miners that mine on the pool's block in a tie) comes from the
//! network model ([`crate::network::Rushing`]). The pool keeps its own view in a
//! Nakamoto state machine, so its blocks carry exactly the targets honest nodes expect.

use crate::core::{Context, Node, NodeId};
use crate::nakamoto::{solve, Discovery, NakamotoObs, SimBlock};
use ledger_consensus::nakamoto::{Nakamoto, NakamotoConfig};
use ledger_consensus::{ConsensusMessage, Delivery, Input, Protocol};
use ledger_types::{Block, Hash, PublicKey};
use std::rc::Rc;

/// See the module docs.
pub struct SelfishMiner {
    sm: Nakamoto,
    key: PublicKey,
    discovery: Discovery,
    /// Unpublished private blocks, oldest first.
    unpublished: Vec<Block>,
    private_tip: Hash,
    private_height: u64,
    private_branch_len: u64,
    public_height: u64,
}

impl SelfishMiner {
    /// A selfish pool with `key` and discovery parameters.
    pub fn new(cfg: NakamotoConfig, key: PublicKey, discovery: Discovery) -> Self {
        let sm = Nakamoto::new(cfg);
        let private_tip = sm.tip();
        SelfishMiner {
            sm,
            key,
            discovery,
            unpublished: Vec::new(),
            private_tip,
            private_height: 0,
            private_branch_len: 0,
            public_height: 0,
        }
    }

    fn publish_up_to(&mut self, ctx: &mut Context<'_, SimBlock, NakamotoObs>, height: u64) {
        while self
            .unpublished
            .first()
            .is_some_and(|b| b.height() <= height)
        {
            let b = self.unpublished.remove(0);
            self.public_height = self.public_height.max(b.height());
            ctx.broadcast(Rc::new(SimBlock::new(b)));
        }
    }

    fn reschedule(&mut self, ctx: &mut Context<'_, SimBlock, NakamotoObs>) {
        if let Some(t) = self.sm.template_for(&self.private_tip) {
            self.discovery.schedule(ctx, &t.target);
        }
    }
}

impl Node<SimBlock, NakamotoObs> for SelfishMiner {
    fn on_start(&mut self, ctx: &mut Context<'_, SimBlock, NakamotoObs>) {
        self.reschedule(ctx);
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<'_, SimBlock, NakamotoObs>,
        _from: NodeId,
        msg: &Rc<SimBlock>,
    ) {
        let height = msg.block.height();
        let hash = msg.hash;
        if self.sm.block(&hash).is_some() {
            return;
        }
        let verdict = self
            .sm
            .handle(Input::Message {
                message: ConsensusMessage::Block(msg.block.clone()),
                now_ms: ctx.now().as_ms(),
            })
            .verdict;
        if verdict != Ok(Delivery::New) || height <= self.public_height {
            return;
        }
        // "Others found a block."
        let delta_prev = self.private_height as i64 - self.public_height as i64;
        self.public_height = height;
        match delta_prev {
            d if d <= 0 => {
                // "They win": adopt the public chain.
                self.private_tip = hash;
                self.private_height = height;
                self.unpublished.clear();
                self.private_branch_len = 0;
                self.reschedule(ctx);
            }
            1 => {
                // "Now same length. Try our luck."
                self.publish_up_to(ctx, self.private_height);
            }
            2 => {
                // "Pool wins due to the lead of 1."
                self.publish_up_to(ctx, self.private_height);
                self.private_branch_len = 0;
            }
            _ => {
                // "Publish first unpublished block."
                self.publish_up_to(ctx, height);
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, SimBlock, NakamotoObs>, timer: u64) {
        if timer != self.discovery.generation {
            return;
        }
        // "My pool found a block."
        let Some(t) = self.sm.template_for(&self.private_tip) else {
            return;
        };
        let delta_prev = self.private_height as i64 - self.public_height as i64;
        let block = solve(&t, ctx.now().as_ms(), self.key);
        let hash = block.hash();
        ctx.observe(NakamotoObs::Mined {
            hash,
            parent: block.header.parent,
            height: block.height(),
            adversarial: true,
        });
        // The pool's own view: its block joins its private branch (not broadcast).
        let _ = self.sm.handle(Input::Message {
            message: ConsensusMessage::Block(block.clone()),
            now_ms: ctx.now().as_ms(),
        });
        self.unpublished.push(block);
        self.private_tip = hash;
        self.private_height += 1;
        self.private_branch_len += 1;
        if delta_prev == 0 && self.private_branch_len == 2 {
            self.publish_up_to(ctx, self.private_height);
            self.private_branch_len = 0;
        }
        self.reschedule(ctx);
    }
}
