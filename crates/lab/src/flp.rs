//! FLP in action (Fischer, Lynch and Paterson, "Impossibility of distributed consensus
//! with one faulty process", 1985): "no completely asynchronous consensus protocol can
//! tolerate even a single unannounced process death" — for every deterministic protocol
//! there is an admissible schedule (every message eventually delivered, nobody even
//! crashes) in which it never decides.
//!
//! # The deterministic protocol ([`MajorityNode`])
//!
//! A natural round-based protocol for binary consensus tolerating f < n/3 crashes:
//! - round r: "broadcast (r, est); wait for n − f round-r values, one's own included;"
//! - "if all n − f values equal v, decide v" (and keep running);
//! - "otherwise est ← the value held by a strict majority of them; on a tie keep est."
//!
//! Agreement: if a process decides v in round r, at most f processes had another
//! estimate, so every process sees at least n − 2f > f copies of v among its n − f and
//! adopts v; from round r + 1 everyone holds v. Validity: unanimous inputs are decided in
//! round 1. Termination is what FLP takes away.
//!
//! # The adversary ([`crate::sched::SplitScheduler`])
//!
//! Start bivalent (inputs split, each group larger than (n − f)/2). In every round the
//! scheduler lets each process hear promptly from exactly n − f − 1 others: at least one
//! holding the other value, and enough holding its own for a strict majority. Every
//! other message is delayed (for a long but finite time) and arrives after its round is
//! over. No process ever sees unanimity, none changes its mind, and the configuration
//! stays bivalent round after round: the run never decides, though no message is lost
//! and no process crashes. Under a fair scheduler the same protocol decides quickly.
//! Under the same adversarial scheduler the randomized protocol
//! ([`crate::randomized`]) decides: its common coin is a move the scheduler cannot
//! anticipate.

use crate::error::{LabError, Result};
use crate::randomized::{run_randomized, AbaAdversary, AbaRun, AbaScenario, AsyncNetwork, Inputs};
use crate::sched::{shared_tap, Envelope, SharedTap, Tap};
use ledger_simulator::core::{
    mix, Context, Node, NodeId, SimMessage, SimObservation, Simulation, Time,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::rc::Rc;

/// A round message: (round, estimate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Est {
    /// Round.
    pub round: u64,
    /// The sender's estimate.
    pub value: bool,
}

impl SimMessage for Est {
    fn wire_bits(&self) -> u64 {
        33
    }
    fn trace_digest(&self) -> u64 {
        mix(self.round, u64::from(self.value))
    }
}

/// What the deterministic processes report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlpObs {
    /// A process decided.
    Decided {
        /// Value.
        value: bool,
        /// Round.
        round: u64,
    },
    /// A process finished a round (and its estimate for the next).
    Round {
        /// Round.
        round: u64,
        /// Estimate after it.
        est: bool,
        /// Whether it saw both values.
        mixed: bool,
    },
}

impl SimObservation for FlpObs {
    fn trace_digest(&self) -> u64 {
        match *self {
            FlpObs::Decided { value, round } => mix(round, 1 + u64::from(value)),
            FlpObs::Round { round, est, mixed } => {
                mix(round, 4 + u64::from(est) + 2 * u64::from(mixed))
            }
        }
    }
}

/// The deterministic majority protocol (see the module docs).
pub struct MajorityNode {
    me: NodeId,
    n: usize,
    f: usize,
    est: bool,
    round: u64,
    decided: bool,
    max_rounds: u64,
    /// Values received per future-or-current round: (sender, value).
    inbox: BTreeMap<u64, Vec<(NodeId, bool)>>,
    tap: SharedTap,
}

impl MajorityNode {
    /// Process `me` of `n` tolerating `f`, with `input`.
    pub fn new(
        me: NodeId,
        n: usize,
        f: usize,
        input: bool,
        max_rounds: u64,
        tap: SharedTap,
    ) -> Self {
        MajorityNode {
            me,
            n,
            f,
            est: input,
            round: 0,
            decided: false,
            max_rounds,
            inbox: BTreeMap::new(),
            tap,
        }
    }

    fn start_round(&mut self, ctx: &mut Context<'_, Est, FlpObs>) {
        self.round += 1;
        if self.round > self.max_rounds {
            return;
        }
        let m = Est {
            round: self.round,
            value: self.est,
        };
        let env = Envelope {
            round: self.round,
            kind: 1,
            value: Some(self.est),
            estimate: true,
        };
        // "Broadcast (r, est)."
        Tap::broadcast(&self.tap, ctx, Rc::new(m), env);
        let (me, round, est) = (self.me, self.round, self.est);
        self.inbox.entry(round).or_default().push((me, est));
    }

    fn progress(&mut self, ctx: &mut Context<'_, Est, FlpObs>) {
        while self.round <= self.max_rounds {
            let round = self.round;
            let need = self.n - self.f;
            let Some(got) = self.inbox.get(&round) else {
                return;
            };
            // "Wait for n − f round-r values, one's own included."
            if got.len() < need {
                return;
            }
            let first = &got[..need];
            let ones = first.iter().filter(|(_, v)| *v).count();
            let zeros = need - ones;
            let mixed = ones > 0 && zeros > 0;
            if !mixed {
                // "If all n − f values equal v, decide v."
                let v = ones > 0;
                self.est = v;
                if !self.decided {
                    self.decided = true;
                    ctx.observe(FlpObs::Decided { value: v, round });
                }
            } else if ones != zeros {
                // "Otherwise est ← the strict majority; on a tie keep est."
                self.est = ones > zeros;
            }
            ctx.observe(FlpObs::Round {
                round,
                est: self.est,
                mixed,
            });
            self.inbox.remove(&round);
            self.start_round(ctx);
        }
    }
}

impl Node<Est, FlpObs> for MajorityNode {
    fn on_start(&mut self, ctx: &mut Context<'_, Est, FlpObs>) {
        self.start_round(ctx);
        self.progress(ctx);
    }
    fn on_message(&mut self, ctx: &mut Context<'_, Est, FlpObs>, from: NodeId, msg: &Rc<Est>) {
        if msg.round < self.round || msg.round > self.max_rounds {
            return; // a round already over: too late to matter
        }
        let slot = self.inbox.entry(msg.round).or_default();
        if !slot.iter().any(|(j, _)| *j == from) {
            slot.push((from, msg.value));
        }
        self.progress(ctx);
    }
    fn on_timer(&mut self, _ctx: &mut Context<'_, Est, FlpObs>, _timer: u64) {}
}

/// The scheduler of an FLP run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlpScheduler {
    /// The FLP adversary ([`crate::sched::SplitScheduler`]).
    Adversarial,
    /// Random delays.
    Fair,
}

/// One run of the deterministic protocol.
#[derive(Clone, Debug)]
pub struct FlpScenario {
    /// Processes (at least 4).
    pub n: usize,
    /// Crash tolerance, `1 <= f`, `3f < n` (no process actually crashes).
    pub f: usize,
    /// Scheduler.
    pub scheduler: FlpScheduler,
    /// Rounds the run lasts at most.
    pub max_rounds: u64,
    /// The seed.
    pub seed: u64,
}

impl FlpScenario {
    /// n processes, f = ⌊(n−1)/3⌋, split inputs, `max_rounds` rounds.
    pub fn new(n: usize, scheduler: FlpScheduler, max_rounds: u64, seed: u64) -> Self {
        FlpScenario {
            n,
            f: n.saturating_sub(1) / 3,
            scheduler,
            max_rounds,
            seed,
        }
    }
}

/// What an FLP run produced.
#[derive(Clone, Debug, Serialize)]
pub struct FlpRun {
    /// Processes.
    pub n: usize,
    /// Tolerance.
    pub f: usize,
    /// Scheduler.
    pub scheduler: FlpScheduler,
    /// Inputs (split).
    pub inputs: Vec<bool>,
    /// Decisions (value, round) per process.
    pub decisions: Vec<Option<(bool, u64)>>,
    /// Rounds every process completed.
    pub rounds_completed: u64,
    /// Rounds the run was allowed.
    pub max_rounds: u64,
    /// No process decided during the whole run.
    pub undecided_throughout: bool,
    /// In every completed round, every process saw both values.
    pub always_mixed: bool,
    /// Agreement among those that decided.
    pub agreement: bool,
    /// Messages sent.
    pub messages: u64,
    /// Messages the adversary held back past their round.
    pub held_back: u64,
    /// Virtual time, microseconds.
    pub time_us: u64,
    /// Trace hash.
    pub trace_hash: u64,
}

/// Split inputs: the first ⌈n/2⌉ processes 0, the rest 1 (a bivalent configuration
/// when both groups exceed (n − f)/2).
pub fn split_inputs(n: usize) -> Vec<bool> {
    (0..n).map(|i| i >= n.div_ceil(2)).collect()
}

/// Checks a scenario.
pub fn validate(s: &FlpScenario) -> Result<()> {
    if s.f == 0 || 3 * s.f >= s.n {
        return Err(LabError::invalid(
            "n/f",
            format!(
                "the FLP demonstration needs 1 <= f and 3f < n (n = {}, f = {})",
                s.n, s.f
            ),
        ));
    }
    let small = s.n / 2;
    if 2 * small + s.f <= s.n {
        return Err(LabError::invalid(
            "n/f",
            format!(
                "a bivalent split needs both halves larger than (n - f)/2; n = {}, f = {} does not allow it (try an even n)",
                s.n, s.f
            ),
        ));
    }
    if s.max_rounds == 0 {
        return Err(LabError::invalid("rounds", "at least 1"));
    }
    Ok(())
}

/// Runs the deterministic protocol from a split start.
pub fn run_flp(s: &FlpScenario) -> Result<FlpRun> {
    validate(s)?;
    let n = s.n;
    let inputs = split_inputs(n);
    let tap = shared_tap();
    let nodes: Vec<Box<dyn Node<Est, FlpObs>>> = (0..n)
        .map(|i| -> Box<dyn Node<Est, FlpObs>> {
            Box::new(MajorityNode::new(
                i,
                n,
                s.f,
                inputs[i],
                s.max_rounds,
                Rc::clone(&tap),
            ))
        })
        .collect();
    let held = Rc::new(std::cell::Cell::new(0u64));
    let scheduler: Box<dyn crate::sched::Scheduler> = match s.scheduler {
        FlpScheduler::Adversarial => Box::new(CountingSplit {
            inner: crate::sched::SplitScheduler::new(n, s.f, 1000)
                .with_estimates(inputs.iter().map(|v| Some(*v)).collect()),
            held: Rc::clone(&held),
        }),
        FlpScheduler::Fair => Box::new(crate::sched::FairScheduler { max_us: 5000 }),
    };
    let network = crate::sched::TappedNetwork::new(Rc::clone(&tap), scheduler);
    let mut sim = Simulation::new(s.seed, nodes, Box::new(network));
    // Run until every process has decided, or until the bound and the queue run out.
    let (mut decided, mut scanned) = (0usize, 0usize);
    sim.run_while(Time(u64::MAX / 2), |sim| {
        let obs = sim.observations();
        decided += obs[scanned..]
            .iter()
            .filter(|(_, _, o)| matches!(o, FlpObs::Decided { .. }))
            .count();
        scanned = obs.len();
        decided < n
    });
    let mut decisions = vec![None; n];
    let mut completed = vec![0u64; n];
    let mut always_mixed = true;
    for (_, node, o) in sim.observations() {
        match *o {
            FlpObs::Decided { value, round } => {
                if decisions[*node].is_none() {
                    decisions[*node] = Some((value, round));
                }
            }
            FlpObs::Round { round, mixed, .. } => {
                completed[*node] = completed[*node].max(round);
                always_mixed &= mixed;
            }
        }
    }
    let decided: Vec<bool> = decisions.iter().flatten().map(|d| d.0).collect();
    Ok(FlpRun {
        n,
        f: s.f,
        scheduler: s.scheduler,
        inputs,
        undecided_throughout: decided.is_empty(),
        agreement: decided.windows(2).all(|w| w[0] == w[1]),
        decisions,
        rounds_completed: completed.iter().copied().min().unwrap_or(0),
        max_rounds: s.max_rounds,
        always_mixed,
        messages: sim.stats().messages_sent,
        held_back: held.get(),
        time_us: sim.now().0,
        trace_hash: sim.trace_hash(),
    })
}

struct CountingSplit {
    inner: crate::sched::SplitScheduler,
    held: Rc<std::cell::Cell<u64>>,
}

impl crate::sched::Scheduler for CountingSplit {
    fn delay(
        &mut self,
        now: Time,
        from: NodeId,
        to: NodeId,
        env: Option<&Envelope>,
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> u64 {
        let d = self.inner.delay(now, from, to, env, rng);
        self.held.set(self.inner.held());
        d
    }
}

/// The demonstration: the deterministic protocol under the adversarial and under a
/// fair scheduler, and the randomized protocol under the same adversarial scheduler.
#[derive(Clone, Debug, Serialize)]
pub struct FlpDemo {
    /// Deterministic, adversarial scheduler.
    pub deterministic_adversarial: FlpRun,
    /// Deterministic, fair scheduler.
    pub deterministic_fair: FlpRun,
    /// Randomized (MMR), the same adversarial scheduler, split inputs, no Byzantine
    /// process.
    pub randomized_adversarial: AbaRun,
}

/// Runs the three FLP runs for `n` processes.
pub fn flp_demo(n: usize, max_rounds: u64, seed: u64) -> Result<FlpDemo> {
    let adv = run_flp(&FlpScenario::new(
        n,
        FlpScheduler::Adversarial,
        max_rounds,
        seed,
    ))?;
    let fair = run_flp(&FlpScenario::new(n, FlpScheduler::Fair, max_rounds, seed))?;
    let mut r = AbaScenario::new(n, seed);
    r.adversary = AbaAdversary::None;
    r.f = 0;
    r.inputs = Inputs::Split;
    r.network = AsyncNetwork::Adversarial;
    r.max_rounds = max_rounds;
    let randomized = run_randomized(&r)?;
    Ok(FlpDemo {
        deterministic_adversarial: adv,
        deterministic_fair: fair,
        randomized_adversarial: randomized,
    })
}
