//! Safety: no two honest nodes finalize conflicting blocks, and each honest node's
//! final sequence is one chain (heights 1, 2, 3, ... each parent the previous block),
//! each block exactly once.

use crate::core::{NodeId, Time};
use ledger_types::Hash;
use std::collections::BTreeMap;

/// One "block finalized" observation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FinalizedRecord {
    /// The node that finalized it.
    pub node: NodeId,
    /// When.
    pub time: Time,
    /// Block hash.
    pub hash: Hash,
    /// Parent hash.
    pub parent: Hash,
    /// Height.
    pub height: u64,
    /// Epoch (Streamlet; 0 for Nakamoto).
    pub epoch: u64,
}

/// A safety violation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SafetyViolation {
    /// Two honest nodes finalized different blocks at one height.
    Conflict {
        /// Height.
        height: u64,
        /// First node and its block.
        a: (NodeId, Hash),
        /// Second node and its block.
        b: (NodeId, Hash),
    },
    /// A node's final sequence skips or repeats a height.
    NotConsecutive {
        /// The node.
        node: NodeId,
        /// Height expected next.
        expected: u64,
        /// Height finalized.
        got: u64,
    },
    /// A node's final block does not extend its previous final block.
    BrokenChain {
        /// The node.
        node: NodeId,
        /// Height.
        height: u64,
    },
}

/// Checks the finalized records of the honest nodes (`honest[node]`). `genesis` is the
/// hash of the height-0 block every sequence must start from.
pub fn check_safety(
    genesis: Hash,
    honest: &[bool],
    records: &[FinalizedRecord],
) -> Result<(), SafetyViolation> {
    let mut last: BTreeMap<NodeId, (u64, Hash)> = BTreeMap::new();
    let mut by_height: BTreeMap<u64, (NodeId, Hash)> = BTreeMap::new();
    for r in records {
        if !honest.get(r.node).copied().unwrap_or(false) {
            continue;
        }
        let (h, prev) = last.get(&r.node).copied().unwrap_or((0, genesis));
        if r.height != h + 1 {
            return Err(SafetyViolation::NotConsecutive {
                node: r.node,
                expected: h + 1,
                got: r.height,
            });
        }
        if r.parent != prev {
            return Err(SafetyViolation::BrokenChain {
                node: r.node,
                height: r.height,
            });
        }
        last.insert(r.node, (r.height, r.hash));
        match by_height.get(&r.height) {
            Some((other, hash)) if *hash != r.hash => {
                return Err(SafetyViolation::Conflict {
                    height: r.height,
                    a: (*other, *hash),
                    b: (r.node, r.hash),
                })
            }
            Some(_) => {}
            None => {
                by_height.insert(r.height, (r.node, r.hash));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(x: u8) -> Hash {
        Hash([x; 32])
    }
    fn rec(node: NodeId, height: u64, hash: u8, parent: u8) -> FinalizedRecord {
        FinalizedRecord {
            node,
            time: Time::ZERO,
            hash: h(hash),
            parent: h(parent),
            height,
            epoch: 0,
        }
    }

    #[test]
    fn table() {
        let honest = [true, true, false];
        let cases: Vec<(Vec<FinalizedRecord>, Option<&str>)> = vec![
            (
                vec![rec(0, 1, 1, 0), rec(1, 1, 1, 0), rec(0, 2, 2, 1)],
                None,
            ),
            (vec![rec(0, 1, 1, 0), rec(1, 1, 9, 0)], Some("Conflict")),
            // A Byzantine node's records are ignored.
            (vec![rec(0, 1, 1, 0), rec(2, 1, 9, 0)], None),
            (vec![rec(0, 2, 2, 1)], Some("NotConsecutive")),
            (
                vec![rec(0, 1, 1, 0), rec(0, 1, 1, 0)],
                Some("NotConsecutive"),
            ),
            (vec![rec(0, 1, 1, 0), rec(0, 2, 2, 7)], Some("BrokenChain")),
            (vec![rec(0, 1, 1, 5)], Some("BrokenChain")),
        ];
        for (i, (records, want)) in cases.into_iter().enumerate() {
            let got = check_safety(h(0), &honest, &records);
            match want {
                None => assert_eq!(got, Ok(()), "case {i}"),
                Some(kind) => assert!(format!("{got:?}").contains(kind), "case {i}: {got:?}"),
            }
        }
    }
}
