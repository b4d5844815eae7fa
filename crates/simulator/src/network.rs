//! Network models: how long each point-to-point message takes, or whether it is lost.
//!
//! - [`Synchronous`]: every delay in `[min, Δ]` (the synchronous model: at most Δ).
//! - [`Asynchronous`]: finite but adversarial delays: most messages are fast, a
//!   fraction is held for up to `max_delay`, and a per-run set of victim links is slow,
//!   so order is scrambled (every message is still delivered).
//! - [`PartialSynchrony`]: adversarial before GST (see [`PreGst`]), at most Δ after;
//!   a message sent before GST arrives by `GST + Δ` at the latest (the DLS model).
//! - [`Lossy`]: drops each message with a probability (until an optional time).
//! - [`Partitioned`]: nodes in different groups cannot talk until the partition heals;
//!   their messages are held (not lost) and delivered within Δ after healing.
//! - [`Rushing`]: an adversary whose messages reach a chosen set of nodes faster than
//!   anyone else's (Eyal–Sirer's γ for selfish mining).

use crate::core::{NodeId, Time};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Decides the delay of each message.
pub trait NetworkModel {
    /// Delay in microseconds of a message sent at `now` from `from` to `to`, or `None`
    /// to drop it. Must draw randomness only from `rng`.
    fn delay(&mut self, now: Time, from: NodeId, to: NodeId, rng: &mut ChaCha8Rng) -> Option<u64>;
}

/// Uniform delays in `[min_us, delta_us]`.
#[derive(Clone, Debug)]
pub struct Synchronous {
    /// Smallest delay, microseconds (at least 1).
    pub min_us: u64,
    /// Δ, microseconds.
    pub delta_us: u64,
}

impl NetworkModel for Synchronous {
    fn delay(
        &mut self,
        _now: Time,
        _from: NodeId,
        _to: NodeId,
        rng: &mut ChaCha8Rng,
    ) -> Option<u64> {
        let lo = self.min_us.max(1);
        Some(rng.gen_range(lo..=self.delta_us.max(lo)))
    }
}

/// Finite, adversarially chosen delays (see the module docs).
#[derive(Clone, Debug)]
pub struct Asynchronous {
    /// Usual delay bound, microseconds.
    pub fast_us: u64,
    /// Longest delay, microseconds.
    pub max_delay_us: u64,
    /// Probability that a message is held for a long time.
    pub slow_probability: f64,
    /// Links `(from, to)` the adversary slows down for the whole run.
    pub slow_links: Vec<(NodeId, NodeId)>,
}

impl NetworkModel for Asynchronous {
    fn delay(&mut self, _now: Time, from: NodeId, to: NodeId, rng: &mut ChaCha8Rng) -> Option<u64> {
        let slow = self.slow_links.contains(&(from, to))
            || rng.gen_bool(self.slow_probability.clamp(0.0, 1.0));
        if slow {
            Some(rng.gen_range(self.fast_us.max(1)..=self.max_delay_us.max(self.fast_us.max(1))))
        } else {
            Some(rng.gen_range(1..=self.fast_us.max(1)))
        }
    }
}

/// The adversary's strategy before GST.
#[derive(Clone, Debug)]
pub enum PreGst {
    /// Every message is delivered at a uniformly random time before `GST + Δ`.
    RandomHold,
    /// Nodes are split into groups (`group[i]`); within a group delays are at most Δ,
    /// across groups messages are held until `GST` plus up to Δ.
    Split {
        /// Group of each node.
        group: Vec<u8>,
    },
}

/// Partial synchrony with a global stabilisation time.
#[derive(Clone, Debug)]
pub struct PartialSynchrony {
    /// GST.
    pub gst: Time,
    /// Δ, microseconds.
    pub delta_us: u64,
    /// What the adversary does before GST.
    pub pre_gst: PreGst,
}

impl NetworkModel for PartialSynchrony {
    fn delay(&mut self, now: Time, from: NodeId, to: NodeId, rng: &mut ChaCha8Rng) -> Option<u64> {
        let delta = self.delta_us.max(1);
        if now >= self.gst {
            return Some(rng.gen_range(1..=delta));
        }
        // Sent before GST: delivered by GST + Δ at the latest.
        let latest = self.gst.0 + delta - now.0;
        match &self.pre_gst {
            PreGst::RandomHold => Some(rng.gen_range(1..=latest)),
            PreGst::Split { group } => {
                if group.get(from) == group.get(to) {
                    Some(rng.gen_range(1..=delta))
                } else {
                    Some(self.gst.0 - now.0 + rng.gen_range(1..=delta))
                }
            }
        }
    }
}

/// Drops each message with probability `loss` (only before `until`, if set).
pub struct Lossy<N> {
    /// The underlying model.
    pub inner: N,
    /// Drop probability.
    pub loss: f64,
    /// No loss from this time on.
    pub until: Option<Time>,
}

impl<N: NetworkModel> NetworkModel for Lossy<N> {
    fn delay(&mut self, now: Time, from: NodeId, to: NodeId, rng: &mut ChaCha8Rng) -> Option<u64> {
        let d = self.inner.delay(now, from, to, rng)?;
        let active = self.until.is_none_or(|u| now < u);
        if active && rng.gen_bool(self.loss.clamp(0.0, 1.0)) {
            None
        } else {
            Some(d)
        }
    }
}

/// A partition that heals: across groups, messages wait until `heal_at`.
pub struct Partitioned<N> {
    /// The model inside a group and after healing.
    pub inner: N,
    /// Group of each node.
    pub group: Vec<u8>,
    /// When the partition heals.
    pub heal_at: Time,
}

impl<N: NetworkModel> NetworkModel for Partitioned<N> {
    fn delay(&mut self, now: Time, from: NodeId, to: NodeId, rng: &mut ChaCha8Rng) -> Option<u64> {
        let d = self.inner.delay(now, from, to, rng)?;
        if now < self.heal_at && self.group.get(from) != self.group.get(to) {
            Some(self.heal_at.0 - now.0 + d)
        } else {
            Some(d)
        }
    }
}

/// Selfish-mining network: messages from `adversary` reach the nodes in `fast_set` in
/// `rush_us`; every other message to a node in `fast_set` takes `base_us + extra_us`;
/// the adversary's messages to other nodes take `base_us + extra_us`; the rest `base_us`.
/// With equal hash power per honest node, γ is the fraction of honest nodes in
/// `fast_set` (the finder of a block always mines on its own).
#[derive(Clone, Debug)]
pub struct Rushing {
    /// The rushing adversary.
    pub adversary: NodeId,
    /// Nodes that hear the adversary first.
    pub fast_set: Vec<bool>,
    /// Ordinary delay, microseconds.
    pub base_us: u64,
    /// Extra delay of the slow paths, microseconds.
    pub extra_us: u64,
    /// Adversary to fast set, microseconds.
    pub rush_us: u64,
}

impl NetworkModel for Rushing {
    fn delay(
        &mut self,
        _now: Time,
        from: NodeId,
        to: NodeId,
        _rng: &mut ChaCha8Rng,
    ) -> Option<u64> {
        let fast = self.fast_set.get(to).copied().unwrap_or(false);
        Some(match (from == self.adversary, fast) {
            (true, true) => self.rush_us,
            (true, false) | (false, true) => self.base_us + self.extra_us,
            (false, false) => self.base_us,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(5)
    }

    #[test]
    fn delay_bounds_of_each_model() {
        let mut r = rng();
        let mut sync = Synchronous {
            min_us: 1,
            delta_us: 100,
        };
        let mut ps = PartialSynchrony {
            gst: Time(10_000),
            delta_us: 100,
            pre_gst: PreGst::RandomHold,
        };
        let mut split = PartialSynchrony {
            gst: Time(10_000),
            delta_us: 100,
            pre_gst: PreGst::Split {
                group: vec![0, 0, 1],
            },
        };
        let mut asynch = Asynchronous {
            fast_us: 100,
            max_delay_us: 50_000,
            slow_probability: 0.3,
            slow_links: vec![(0, 2)],
        };
        for i in 0..2000u64 {
            let now = Time(i * 7);
            let d = sync.delay(now, 0, 1, &mut r).unwrap();
            assert!((1..=100).contains(&d));
            // Partial synchrony: by max(GST, now) + Δ, and at most Δ after GST.
            let d = ps.delay(now, 0, 1, &mut r).unwrap();
            assert!(now.0 + d <= now.0.max(10_000) + 100);
            if now.0 >= 10_000 {
                assert!(d <= 100);
            }
            let d = split.delay(now, 0, 2, &mut r).unwrap();
            if now.0 < 10_000 {
                assert!(now.0 + d > 10_000, "held across the split until GST");
            }
            assert!(
                split.delay(now, 0, 1, &mut r).unwrap() <= 100,
                "same group: synchronous"
            );
            let d = asynch.delay(now, 0, 2, &mut r).unwrap();
            assert!((100..=50_000).contains(&d), "slow link");
            assert!(asynch.delay(now, 1, 2, &mut r).unwrap() <= 50_000, "finite");
        }
    }

    #[test]
    fn loss_partition_and_rushing() {
        let mut r = rng();
        let mut lossy = Lossy {
            inner: Synchronous {
                min_us: 1,
                delta_us: 10,
            },
            loss: 0.5,
            until: Some(Time(1000)),
        };
        let lost = (0..1000)
            .filter(|_| lossy.delay(Time(0), 0, 1, &mut r).is_none())
            .count();
        assert!((350..650).contains(&lost), "{lost}");
        assert!(
            (0..100).all(|_| lossy.delay(Time(1000), 0, 1, &mut r).is_some()),
            "no loss after `until`"
        );
        let mut part = Partitioned {
            inner: Synchronous {
                min_us: 1,
                delta_us: 10,
            },
            group: vec![0, 1],
            heal_at: Time(500),
        };
        assert!(part.delay(Time(100), 0, 1, &mut r).unwrap() >= 400);
        assert!(part.delay(Time(600), 0, 1, &mut r).unwrap() <= 10);
        let mut rush = Rushing {
            adversary: 2,
            fast_set: vec![true, false, false],
            base_us: 100,
            extra_us: 100,
            rush_us: 1,
        };
        assert_eq!(rush.delay(Time(0), 2, 0, &mut r), Some(1));
        assert_eq!(rush.delay(Time(0), 1, 0, &mut r), Some(200));
        assert_eq!(rush.delay(Time(0), 2, 1, &mut r), Some(200));
        assert_eq!(rush.delay(Time(0), 0, 1, &mut r), Some(100));
    }
}
