//! Message schedulers for the asynchronous protocols (randomized agreement, FLP).
//!
//! In the asynchronous model "the adversary controls the network: it sees every message
//! and chooses when it is delivered, subject only to every message being delivered
//! eventually" (Fischer, Lynch and Paterson 1985; Shi, ch. 12). The simulator's
//! [`NetworkModel`] chooses each message's delay from `(now, from, to)` alone, so to let
//! the adversary read messages the lab's protocols send through a [`Tap`]: next to each
//! point-to-point message they record a small [`Envelope`] (round, kind, value), in the
//! very order in which the simulator asks the network for delays. [`TappedNetwork`]
//! pops the envelope and hands it to a [`Scheduler`]. The tap changes nothing for the
//! protocol: messages, their counts and their bits are the simulator's.
//!
//! Schedulers:
//! - [`FairScheduler`]: every delay uniform in `[1, max]` (a benign asynchronous network).
//! - [`SplitScheduler`]: the FLP-style adversary. For every recipient and round it lets
//!   through promptly exactly `n - f - 1` messages, chosen so that the recipient sees
//!   both values but a strict majority for its own estimate; every other message is
//!   held for a long (finite) time. A deterministic protocol that waits for `n - f`
//!   messages per round never sees unanimity and never changes its mind, so it never
//!   decides; a protocol with a common coin decides anyway.

use ledger_simulator::core::{Context, NodeId, Time};
use ledger_simulator::network::NetworkModel;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

/// What the scheduler sees of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The protocol round the message belongs to.
    pub round: u64,
    /// Message kind (protocol-specific small number).
    pub kind: u8,
    /// The binary value it carries, if any.
    pub value: Option<bool>,
    /// True if the value is the sender's own current estimate (not an echo).
    pub estimate: bool,
}

/// The adversary's view of the wire: envelopes of messages handed to the simulator
/// and not yet given a delay.
#[derive(Debug, Default)]
pub struct Tap {
    pending: VecDeque<(NodeId, NodeId, Envelope)>,
    mismatches: u64,
}

/// A tap shared between the nodes and the network model.
pub type SharedTap = Rc<RefCell<Tap>>;

/// A new shared tap.
pub fn shared_tap() -> SharedTap {
    Rc::new(RefCell::new(Tap::default()))
}

impl Tap {
    /// Sends `msg` to `to` and records its envelope (mirrors the core's rule: no
    /// message to oneself or to a node that does not exist).
    pub fn send<M, O>(
        tap: &SharedTap,
        ctx: &mut Context<'_, M, O>,
        to: NodeId,
        msg: Rc<M>,
        env: Envelope,
    ) {
        if to < ctx.n() && to != ctx.me() {
            tap.borrow_mut().pending.push_back((ctx.me(), to, env));
        }
        ctx.send(to, msg);
    }

    /// Broadcasts `msg` to every other node and records one envelope per recipient,
    /// in the order the core delivers them.
    pub fn broadcast<M, O>(
        tap: &SharedTap,
        ctx: &mut Context<'_, M, O>,
        msg: Rc<M>,
        env: Envelope,
    ) {
        {
            let mut t = tap.borrow_mut();
            for to in 0..ctx.n() {
                if to != ctx.me() {
                    t.pending.push_back((ctx.me(), to, env));
                }
            }
        }
        ctx.broadcast(msg);
    }

    /// Delays asked for without a matching envelope (should stay 0).
    pub fn mismatches(&self) -> u64 {
        self.mismatches
    }

    fn pop(&mut self, from: NodeId, to: NodeId) -> Option<Envelope> {
        match self.pending.front() {
            Some(&(f, t, env)) if f == from && t == to => {
                self.pending.pop_front();
                Some(env)
            }
            _ => {
                self.mismatches += 1;
                None
            }
        }
    }
}

/// Chooses the delay of each message, seeing its envelope.
pub trait Scheduler {
    /// Delay in microseconds (at least 1) of a message from `from` to `to` sent at
    /// `now`. Randomness only from `rng`.
    fn delay(
        &mut self,
        now: Time,
        from: NodeId,
        to: NodeId,
        env: Option<&Envelope>,
        rng: &mut ChaCha8Rng,
    ) -> u64;
}

/// A [`NetworkModel`] that gives the scheduler each message's envelope.
pub struct TappedNetwork {
    tap: SharedTap,
    scheduler: Box<dyn Scheduler>,
}

impl TappedNetwork {
    /// A network reading `tap`, delaying with `scheduler`.
    pub fn new(tap: SharedTap, scheduler: Box<dyn Scheduler>) -> Self {
        TappedNetwork { tap, scheduler }
    }
}

impl NetworkModel for TappedNetwork {
    fn delay(&mut self, now: Time, from: NodeId, to: NodeId, rng: &mut ChaCha8Rng) -> Option<u64> {
        let env = self.tap.borrow_mut().pop(from, to);
        Some(
            self.scheduler
                .delay(now, from, to, env.as_ref(), rng)
                .max(1),
        )
    }
}

/// Benign asynchrony: every delay uniform in `[1, max_us]`.
#[derive(Clone, Debug)]
pub struct FairScheduler {
    /// Longest delay, microseconds.
    pub max_us: u64,
}

impl Scheduler for FairScheduler {
    fn delay(
        &mut self,
        _now: Time,
        _from: NodeId,
        _to: NodeId,
        _env: Option<&Envelope>,
        rng: &mut ChaCha8Rng,
    ) -> u64 {
        rng.gen_range(1..=self.max_us.max(1))
    }
}

/// The FLP-style adversarial scheduler (see the module docs).
#[derive(Clone, Debug)]
pub struct SplitScheduler {
    n: usize,
    f: usize,
    /// Prompt delays are uniform in `[1, fast_us]`.
    pub fast_us: u64,
    /// Held messages are delayed uniformly in `[slow_min_us, slow_max_us]`.
    pub slow_min_us: u64,
    /// See `slow_min_us`.
    pub slow_max_us: u64,
    estimates: Vec<Option<bool>>,
    /// Prompt messages so far per (recipient, round, kind): (same value, other value).
    prompt: BTreeMap<(NodeId, u64, u8), (usize, usize)>,
    held: u64,
}

impl SplitScheduler {
    /// The adversary for `n` nodes of which the protocol waits for `n - f` per round.
    pub fn new(n: usize, f: usize, fast_us: u64) -> Self {
        SplitScheduler {
            n,
            f,
            fast_us: fast_us.max(1),
            slow_min_us: fast_us.max(1) * 5_000,
            slow_max_us: fast_us.max(1) * 10_000,
            estimates: vec![None; n],
            prompt: BTreeMap::new(),
            held: 0,
        }
    }

    /// The adversary also knows the initial estimates (the inputs it started the run
    /// from); `None` for processes it does not track.
    pub fn with_estimates(mut self, estimates: Vec<Option<bool>>) -> Self {
        for (i, e) in estimates.into_iter().enumerate().take(self.n) {
            self.estimates[i] = e;
        }
        self
    }

    /// Messages held back so far.
    pub fn held(&self) -> u64 {
        self.held
    }

    fn prompt_quota(&self, to: NodeId, own: bool) -> (usize, usize) {
        let wait = self.n.saturating_sub(self.f).saturating_sub(1);
        let same = (0..self.n)
            .filter(|j| *j != to && self.estimates[*j] == Some(own))
            .count();
        // At least one message with the other value; as many with the recipient's own
        // value as the other nodes can supply; the rest with the other value.
        let other = wait.saturating_sub(same).max(1).min(wait);
        (wait - other, other)
    }
}

impl Scheduler for SplitScheduler {
    fn delay(
        &mut self,
        _now: Time,
        from: NodeId,
        to: NodeId,
        env: Option<&Envelope>,
        rng: &mut ChaCha8Rng,
    ) -> u64 {
        let fast = rng.gen_range(1..=self.fast_us);
        let Some(env) = env else { return fast };
        if env.estimate {
            if let Some(v) = env.value {
                if from < self.n {
                    self.estimates[from] = Some(v);
                }
            }
        }
        let (Some(value), Some(Some(own))) = (env.value, self.estimates.get(to).copied()) else {
            return fast;
        };
        let (quota_same, quota_other) = self.prompt_quota(to, own);
        let entry = self
            .prompt
            .entry((to, env.round, env.kind))
            .or_insert((0, 0));
        let allowed = if value == own {
            if entry.0 < quota_same {
                entry.0 += 1;
                true
            } else {
                false
            }
        } else if entry.1 < quota_other {
            entry.1 += 1;
            true
        } else {
            false
        };
        if allowed {
            fast
        } else {
            self.held += 1;
            rng.gen_range(self.slow_min_us..=self.slow_max_us.max(self.slow_min_us))
        }
    }
}
