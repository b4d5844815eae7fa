//! Nakamoto's common-prefix property (Garay, Kiayias, Leonardos): "for any pair of
//! honest players P1, P2 adopting the chains C1, C2 at rounds r1 <= r2, it holds that
//! C1^{⌈k} ⪯ C2" — the chain without its last k blocks is a prefix of every later chain
//! of every honest player. Checked on every tip adoption: against the same node's
//! previous tip (a reorg deeper than k violates it) and against every other honest
//! node's current tip, in both directions.

use crate::core::{NodeId, PrefixBuild, Time};
use ledger_types::Hash;
use std::collections::HashMap;

/// A violation of the common-prefix property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommonPrefixViolation {
    /// When.
    pub time: Time,
    /// The node whose (earlier) chain, pruned by k, is not a prefix.
    pub a: NodeId,
    /// The node whose chain does not contain it.
    pub b: NodeId,
    /// How deep the fork goes below a's tip.
    pub depth: u64,
}

/// The checker. Feed it every block created (`on_block`) and every tip adoption
/// (`on_tip`) in time order.
#[derive(Debug)]
pub struct CommonPrefixChecker {
    k: u64,
    tree: HashMap<Hash, (Hash, u64), PrefixBuild>,
    tips: Vec<Option<Hash>>,
    honest: Vec<bool>,
    violations: Vec<CommonPrefixViolation>,
    max_fork_depth: u64,
}

impl CommonPrefixChecker {
    /// A checker for depth `k` over nodes with `honest[i]`; `genesis` is the root.
    pub fn new(k: u64, honest: Vec<bool>, genesis: Hash) -> Self {
        let mut tree = HashMap::default();
        tree.insert(genesis, (Hash::ZERO, 0));
        CommonPrefixChecker {
            k,
            tree,
            tips: vec![Some(genesis); honest.len()],
            honest,
            violations: Vec::new(),
            max_fork_depth: 0,
        }
    }

    /// A block exists (whoever mined it).
    pub fn on_block(&mut self, hash: Hash, parent: Hash, height: u64) {
        self.tree.insert(hash, (parent, height));
    }

    fn height(&self, h: &Hash) -> Option<u64> {
        self.tree.get(h).map(|x| x.1)
    }

    /// The deepest common ancestor height of two tips, if both are known.
    fn fork_height(&self, a: Hash, b: Hash) -> Option<u64> {
        let (mut a, mut b) = (a, b);
        loop {
            if a == b {
                return self.height(&a);
            }
            let (pa, ha) = *self.tree.get(&a)?;
            let (pb, hb) = *self.tree.get(&b)?;
            if ha >= hb {
                a = pa;
            } else {
                b = pb;
            }
        }
    }

    fn check_pair(&mut self, time: Time, a: NodeId, ta: Hash, b: NodeId, tb: Hash) {
        if ta == tb {
            return;
        }
        let (Some(ha), Some(fork)) = (self.height(&ta), self.fork_height(ta, tb)) else {
            return;
        };
        let depth = ha - fork;
        self.max_fork_depth = self.max_fork_depth.max(depth);
        if depth > self.k {
            self.violations
                .push(CommonPrefixViolation { time, a, b, depth });
        }
    }

    /// Honest node `node` adopted `tip` at `time`.
    pub fn on_tip(&mut self, time: Time, node: NodeId, tip: Hash) {
        if !self.honest.get(node).copied().unwrap_or(false) {
            return;
        }
        if let Some(old) = self.tips[node] {
            // Same party, r1 < r2: the old chain pruned by k is in the new one.
            self.check_pair(time, node, old, node, tip);
        }
        self.tips[node] = Some(tip);
        for other in 0..self.tips.len() {
            if other == node || !self.honest[other] {
                continue;
            }
            if let Some(t) = self.tips[other] {
                self.check_pair(time, other, t, node, tip);
                self.check_pair(time, node, tip, other, t);
            }
        }
    }

    /// Violations found so far.
    pub fn violations(&self) -> &[CommonPrefixViolation] {
        &self.violations
    }

    /// The deepest fork seen below any honest tip (whether or not it exceeded k).
    pub fn max_fork_depth(&self) -> u64 {
        self.max_fork_depth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(x: u8) -> Hash {
        Hash([x; 32])
    }

    #[test]
    fn deep_fork_is_a_violation_shallow_is_not() {
        let mut c = CommonPrefixChecker::new(2, vec![true, true], h(0));
        // Chain A: 1-2-3-4 ; chain B: 11-12-13 off genesis.
        c.on_block(h(1), h(0), 1);
        c.on_block(h(2), h(1), 2);
        c.on_block(h(3), h(2), 3);
        c.on_block(h(4), h(3), 4);
        c.on_block(h(11), h(0), 1);
        c.on_block(h(12), h(11), 2);
        c.on_tip(Time(1), 0, h(2));
        c.on_tip(Time(1), 1, h(12));
        assert!(c.violations().is_empty(), "depth 2 <= k");
        c.on_tip(Time(2), 0, h(4));
        assert!(!c.violations().is_empty(), "node 0 at depth 4 vs node 1");
        assert_eq!(c.max_fork_depth(), 4);
    }

    #[test]
    fn reorg_deeper_than_k_at_one_node_is_a_violation() {
        let mut c = CommonPrefixChecker::new(1, vec![true], h(0));
        c.on_block(h(1), h(0), 1);
        c.on_block(h(2), h(1), 2);
        c.on_block(h(11), h(0), 1);
        c.on_block(h(12), h(11), 2);
        c.on_block(h(13), h(12), 3);
        c.on_tip(Time(1), 0, h(2));
        c.on_tip(Time(2), 0, h(13));
        assert_eq!(c.violations().len(), 1);
    }
}
