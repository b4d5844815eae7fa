//! Liveness after GST, with the bound of Streamlet's liveness theorem: "after GST,
//! suppose there are 5 consecutive epochs e, e+1, ..., e+4 all with honest leaders;
//! then by the beginning of epoch e+5, every honest node must have observed a new
//! final block that was not final at the beginning of epoch e" (Chan and Shi, Thm. 6).
//! The checker finds the first such window after GST from the public leader schedule
//! and requires every honest node to finalize a block of epoch >= e by the deadline.

use super::safety::FinalizedRecord;
use crate::core::{NodeId, Time};

/// Liveness was not achieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LivenessViolation {
    /// The honest node that did not finalize in time.
    pub node: NodeId,
    /// First epoch of the window of honest leaders.
    pub window_start: u64,
    /// The deadline.
    pub deadline: Time,
}

/// The first epoch `e >= first_epoch` such that epochs `e..e+5` all have honest
/// leaders, looking no further than `max_epoch`.
pub fn streamlet_liveness_window(
    first_epoch: u64,
    max_epoch: u64,
    honest_leader: impl Fn(u64) -> bool,
) -> Option<u64> {
    let mut run = 0;
    let mut e = first_epoch.max(1);
    while e <= max_epoch {
        if honest_leader(e) {
            run += 1;
            if run == 5 {
                return Some(e - 4);
            }
        } else {
            run = 0;
        }
        e += 1;
    }
    None
}

/// Every honest node finalized a block of epoch `>= window_start` at or before
/// `deadline`.
pub fn check_liveness(
    honest: &[bool],
    records: &[FinalizedRecord],
    window_start: u64,
    deadline: Time,
) -> Result<(), LivenessViolation> {
    for (node, _) in honest.iter().enumerate().filter(|(_, h)| **h) {
        let ok = records
            .iter()
            .any(|r| r.node == node && r.epoch >= window_start && r.time <= deadline);
        if !ok {
            return Err(LivenessViolation {
                node,
                window_start,
                deadline,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_types::Hash;

    #[test]
    fn window_needs_five_consecutive_honest_leaders() {
        let byz = [3u64, 9];
        let f = |e: u64| !byz.contains(&e);
        assert_eq!(streamlet_liveness_window(1, 100, f), Some(4));
        assert_eq!(streamlet_liveness_window(5, 100, f), Some(10));
        assert_eq!(streamlet_liveness_window(5, 13, f), None);
        assert_eq!(streamlet_liveness_window(0, 100, |_| true), Some(1));
    }

    #[test]
    fn every_honest_node_must_finalize_in_the_window() {
        let r = |node, epoch, t| FinalizedRecord {
            node,
            time: Time(t),
            hash: Hash::ZERO,
            parent: Hash::ZERO,
            height: 1,
            epoch,
        };
        let honest = [true, true, false];
        assert!(check_liveness(&honest, &[r(0, 5, 10), r(1, 6, 10)], 5, Time(10)).is_ok());
        // Node 1 finalized only an old block.
        assert!(check_liveness(&honest, &[r(0, 5, 10), r(1, 4, 10)], 5, Time(10)).is_err());
        // Node 1 finalized too late.
        assert!(check_liveness(&honest, &[r(0, 5, 10), r(1, 5, 11)], 5, Time(10)).is_err());
    }
}
