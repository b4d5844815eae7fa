//! Crash fault: behaves honestly until `at`, then stops forever (sends nothing, hears
//! nothing). Generic over the protocol.

use crate::core::{Context, Node, NodeId, Time};
use std::rc::Rc;

/// A node that crashes at a given time.
pub struct Crash<N> {
    inner: N,
    at: Time,
}

impl<N> Crash<N> {
    /// Wraps `inner`, which crashes at `at`.
    pub fn new(inner: N, at: Time) -> Self {
        Crash { inner, at }
    }
}

impl<M, O, N: Node<M, O>> Node<M, O> for Crash<N> {
    fn on_start(&mut self, ctx: &mut Context<'_, M, O>) {
        if ctx.now() < self.at {
            self.inner.on_start(ctx);
        }
    }
    fn on_message(&mut self, ctx: &mut Context<'_, M, O>, from: NodeId, msg: &Rc<M>) {
        if ctx.now() < self.at {
            self.inner.on_message(ctx, from, msg);
        }
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, M, O>, timer: u64) {
        if ctx.now() < self.at {
            self.inner.on_timer(ctx, timer);
        }
    }
}
