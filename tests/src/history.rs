//! The history checker: what every honest node says after a run under faults, judged
//! against what clients were told.
//!
//! A [`History`] holds, per node, its final chain as its RPC (or its store, read after
//! the node stopped) reports it, the per-asset totals of every funded account at its
//! final height, the orders that some node acknowledged as final during the run, and
//! how long finality took to resume after each heal or restart. [`check`] returns every
//! [`Violation`]; an empty list is a clean run:
//!
//! - every order acknowledged as final is in exactly one final block of every honest
//!   node, at the height and in the block the acknowledgement named;
//! - no two honest nodes have different final blocks at one height, and each node's
//!   chain links parent to child;
//! - state roots agree at equal heights (and every final block has one);
//! - per-asset totals equal the genesis totals on every node;
//! - every honest node caught up to the highest acknowledged height;
//! - after every heal or restart, finality resumed within the stated bound.
//!
//! The checker only reads these records, so its self-test feeds it doctored histories
//! (tests/tests/faults.rs) and the live test feeds it what real nodes said.

use ledger_types::{Decimal, Hash, TxHash};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// One final block as a node reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRecord {
    /// Height.
    pub height: u64,
    /// Block hash.
    pub hash: Hash,
    /// Parent hash.
    pub parent: Hash,
    /// State root after executing it (`None` if the node reported none).
    pub state_root: Option<Hash>,
    /// Transaction hashes in order.
    pub txs: Vec<TxHash>,
}

/// What one node says at the end of a run.
#[derive(Clone, Debug, Default)]
pub struct NodeHistory {
    /// Node index.
    pub node: usize,
    /// False for nodes deliberately run faulty (not judged, not counted).
    pub honest: bool,
    /// Its final blocks, heights `1..=n` in order.
    pub blocks: Vec<BlockRecord>,
    /// Per-asset totals (free + locked) over every funded account and the fee account,
    /// read at its final height.
    pub totals: BTreeMap<String, Decimal>,
}

impl NodeHistory {
    /// Its final height (0 with no blocks).
    pub fn final_height(&self) -> u64 {
        self.blocks.last().map(|b| b.height).unwrap_or(0)
    }
}

/// An order a client was told is final.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acked {
    /// The order's transaction hash.
    pub tx: TxHash,
    /// The height the acknowledgement named.
    pub height: u64,
    /// The block hash the acknowledgement named.
    pub block: Hash,
    /// The node that acknowledged it.
    pub node: usize,
}

/// How long finality took to resume after one heal or restart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resume {
    /// The fault that was healed (e.g. `kill node-2`).
    pub fault: String,
    /// Time from the heal to every node finalizing past the height the network had at
    /// the heal; `None` if that did not happen before the run gave up waiting.
    pub after: Option<Duration>,
}

/// Everything the checker judges.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// One entry per node.
    pub nodes: Vec<NodeHistory>,
    /// Orders acknowledged as final.
    pub acked: Vec<Acked>,
    /// Per-asset totals of the genesis.
    pub genesis_totals: BTreeMap<String, Decimal>,
    /// Finality resumption after each heal or restart.
    pub resumes: Vec<Resume>,
    /// The stated bound on resumption.
    pub resume_bound: Duration,
}

/// One way a history is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Two honest nodes finalized different blocks at one height.
    ConflictingBlocks {
        /// Height.
        height: u64,
        /// Nodes and their block hashes.
        a: (usize, Hash),
        /// Nodes and their block hashes.
        b: (usize, Hash),
    },
    /// Same block, different state roots (or a missing root).
    RootMismatch {
        /// Height.
        height: u64,
        /// The node that disagrees with the first honest node at that height.
        node: usize,
    },
    /// A node's chain does not link (wrong parent, or a height out of order).
    BrokenChain {
        /// Node.
        node: usize,
        /// Height of the block that does not fit.
        height: u64,
    },
    /// An acknowledged final order is missing on an honest node.
    LostOrder {
        /// The order.
        tx: TxHash,
        /// The node that lacks it.
        node: usize,
    },
    /// An acknowledged order appears more than once on a node.
    DuplicateOrder {
        /// The order.
        tx: TxHash,
        /// The node.
        node: usize,
        /// Heights it appears at.
        heights: Vec<u64>,
    },
    /// An acknowledged order is final at another height or block than acknowledged.
    MovedOrder {
        /// The order.
        tx: TxHash,
        /// The node.
        node: usize,
        /// Where the acknowledgement said.
        acked_height: u64,
        /// Where the node has it.
        found_height: u64,
    },
    /// An honest node never caught up to the highest acknowledged height.
    Behind {
        /// The node.
        node: usize,
        /// Its final height.
        height: u64,
        /// The highest acknowledged height.
        needed: u64,
    },
    /// Per-asset totals differ from the genesis.
    TotalsChanged {
        /// The node.
        node: usize,
        /// Asset symbol.
        asset: String,
        /// Genesis total.
        expected: Decimal,
        /// The node's total.
        found: Decimal,
    },
    /// Finality did not resume within the bound after a heal or restart.
    SlowResume {
        /// The fault healed.
        fault: String,
        /// How long it took (`None`: never, within the wait).
        after: Option<Duration>,
        /// The bound.
        bound: Duration,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::ConflictingBlocks { height, a, b } => write!(
                f,
                "safety: node-{} finalized {} and node-{} finalized {} at height {height}",
                a.0, a.1, b.0, b.1
            ),
            Violation::RootMismatch { height, node } => {
                write!(f, "state root of node-{node} differs at height {height}")
            }
            Violation::BrokenChain { node, height } => {
                write!(f, "node-{node}'s chain does not link at height {height}")
            }
            Violation::LostOrder { tx, node } => {
                write!(f, "order {tx} acknowledged as final is missing on node-{node}")
            }
            Violation::DuplicateOrder { tx, node, heights } => {
                write!(f, "order {tx} is on node-{node} at heights {heights:?}")
            }
            Violation::MovedOrder {
                tx,
                node,
                acked_height,
                found_height,
            } => write!(
                f,
                "order {tx} acknowledged at height {acked_height} is at {found_height} on node-{node}"
            ),
            Violation::Behind {
                node,
                height,
                needed,
            } => write!(
                f,
                "node-{node} stopped at final height {height}, below the acknowledged {needed}"
            ),
            Violation::TotalsChanged {
                node,
                asset,
                expected,
                found,
            } => write!(
                f,
                "node-{node}: total {asset} is {found}, genesis had {expected}"
            ),
            Violation::SlowResume {
                fault,
                after,
                bound,
            } => match after {
                Some(t) => write!(f, "after {fault}, finality took {t:?} to resume (bound {bound:?})"),
                None => write!(f, "after {fault}, finality did not resume (bound {bound:?})"),
            },
        }
    }
}

/// Judges a history; returns every violation found (empty: a clean run).
pub fn check(h: &History) -> Vec<Violation> {
    let mut out = Vec::new();
    let honest: Vec<&NodeHistory> = h.nodes.iter().filter(|n| n.honest).collect();

    // Each chain links, parent to child, heights 1, 2, 3, ...
    for n in &honest {
        for (i, b) in n.blocks.iter().enumerate() {
            let linked = b.height == i as u64 + 1 && (i == 0 || n.blocks[i - 1].hash == b.parent);
            if !linked {
                out.push(Violation::BrokenChain {
                    node: n.node,
                    height: b.height,
                });
                break;
            }
        }
    }

    // One block per height across honest nodes, with one state root.
    let top = honest.iter().map(|n| n.final_height()).max().unwrap_or(0);
    for height in 1..=top {
        let mut first: Option<(usize, &BlockRecord)> = None;
        for n in &honest {
            let Some(b) = n.blocks.get(height as usize - 1) else {
                continue;
            };
            match first {
                None => {
                    if b.state_root.is_none() {
                        out.push(Violation::RootMismatch {
                            height,
                            node: n.node,
                        });
                    }
                    first = Some((n.node, b));
                }
                Some((node0, b0)) => {
                    if b.hash != b0.hash {
                        out.push(Violation::ConflictingBlocks {
                            height,
                            a: (node0, b0.hash),
                            b: (n.node, b.hash),
                        });
                    } else if b.state_root != b0.state_root || b.state_root.is_none() {
                        out.push(Violation::RootMismatch {
                            height,
                            node: n.node,
                        });
                    }
                }
            }
        }
    }

    // Every acknowledged order, exactly once, where it was acknowledged, everywhere.
    let needed = h.acked.iter().map(|a| a.height).max().unwrap_or(0);
    for n in &honest {
        if n.final_height() < needed {
            out.push(Violation::Behind {
                node: n.node,
                height: n.final_height(),
                needed,
            });
        }
        let mut at: BTreeMap<TxHash, Vec<(u64, Hash)>> = BTreeMap::new();
        for b in &n.blocks {
            for t in &b.txs {
                at.entry(*t).or_default().push((b.height, b.hash));
            }
        }
        for a in &h.acked {
            if a.height > n.final_height() {
                continue; // reported once above as Behind
            }
            match at.get(&a.tx).map(Vec::as_slice) {
                None | Some([]) => out.push(Violation::LostOrder {
                    tx: a.tx,
                    node: n.node,
                }),
                Some([(height, hash)]) => {
                    if *height != a.height || *hash != a.block {
                        out.push(Violation::MovedOrder {
                            tx: a.tx,
                            node: n.node,
                            acked_height: a.height,
                            found_height: *height,
                        });
                    }
                }
                Some(many) => out.push(Violation::DuplicateOrder {
                    tx: a.tx,
                    node: n.node,
                    heights: many.iter().map(|(h, _)| *h).collect(),
                }),
            }
        }
    }

    // Nothing created or destroyed.
    for n in &honest {
        for (asset, expected) in &h.genesis_totals {
            let found = n.totals.get(asset).copied().unwrap_or_default();
            if found != *expected {
                out.push(Violation::TotalsChanged {
                    node: n.node,
                    asset: asset.clone(),
                    expected: *expected,
                    found,
                });
            }
        }
    }

    // Liveness after every heal or restart.
    for r in &h.resumes {
        if r.after.is_none_or(|t| t > h.resume_bound) {
            out.push(Violation::SlowResume {
                fault: r.fault.clone(),
                after: r.after,
                bound: h.resume_bound,
            });
        }
    }
    out
}
