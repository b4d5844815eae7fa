//! Randomized asynchronous binary Byzantine agreement with a common coin: Mostéfaoui,
//! Moumen and Raynal, "Signature-free asynchronous Byzantine consensus with t < n/3 and
//! O(n²) messages" (PODC 2014; JACM 2015 "... O(1) expected time").
//!
//! # The protocol (the paper's Figures 1 and 2)
//!
//! **BV-broadcast** (binary-value broadcast), one instance per round, always running:
//! - "BV_broadcast MSG(v_i): broadcast B_VAL(v_i)."
//! - "When B_VAL(v) is received: if B_VAL(v) received from (t + 1) different processes
//!   and B_VAL(v) not yet broadcast then broadcast B_VAL(v)" (a process echoes a value
//!   only once);
//! - "if B_VAL(v) received from (2t + 1) different processes then bin_values ←
//!   bin_values ∪ {v}" (local delivery of a value).
//!
//! **Consensus**, `propose(v_i)`: `est ← v_i; r ← 0`; repeat forever:
//! - (01) "r ← r + 1;"
//! - (02) "BV_broadcast EST\[r\](est);"
//! - (03) "wait until bin_values\[r\] ≠ ∅;"
//! - (04) "broadcast AUX\[r\](w) where w ∈ bin_values\[r\];"
//! - (05) "wait until there is a set of (n − t) AUX\[r\](x) messages delivered from
//!   distinct processes such that values ⊆ bin_values\[r\], where values is the set of
//!   values x carried by these (n − t) messages;"
//! - (06) "s ← random()" (the common coin of round r);
//! - (07–09) "if values = {v} then est ← v; if v = s then decide(v) if not yet done;"
//! - (10) "else est ← s."
//!
//! A process's broadcast reaches itself too: its own B_VAL and AUX count. A process
//! keeps running after it decides (the paper's loop has no exit); a run stops once every
//! honest process has decided. The coin is an ideal common coin (Rabin): the same
//! unpredictable bit at every process, derived from the run's seed and the round, and
//! seen by nobody (scheduler and Byzantine nodes included) before line 06.
//!
//! The paper: agreement and validity (a decided value was proposed by a correct
//! process) always hold for t < n/3; "the expected number of rounds to decide is four"
//! (the HAL version's abstract; constant in the JACM title); each round has two or
//! three communication steps and O(n²) messages of a round number and one bit. (Crain
//! 2020 notes that this coin-based version needs the scheduler not to exploit the
//! coin; the lab's schedulers never see it.)
//!
//! # Byzantine nodes
//!
//! [`AbaAdversary::Conflicting`]: in every round they hear of, Byzantine nodes send
//! B_VAL(0) *and* B_VAL(1) to everyone (pushing both values towards `bin_values`), and
//! AUX(0) to even-numbered and AUX(1) to odd-numbered processes.

use crate::error::{LabError, Result};
use crate::sched::{
    shared_tap, Envelope, FairScheduler, SharedTap, SplitScheduler, Tap, TappedNetwork,
};
use ledger_simulator::core::{
    mix, Context, Node, NodeId, SimMessage, SimObservation, Simulation, Time,
};
use ledger_simulator::network::{NetworkModel, PartialSynchrony, PreGst, Synchronous};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Message kinds (for the scheduler's envelope).
const KIND_BVAL: u8 = 1;
const KIND_AUX: u8 = 2;

/// An MMR message: "a round number plus a single bit".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbaMessage {
    /// B_VAL\[r\](v).
    BVal {
        /// Round.
        round: u64,
        /// Value.
        value: bool,
    },
    /// AUX\[r\](v).
    Aux {
        /// Round.
        round: u64,
        /// Value.
        value: bool,
    },
}

impl SimMessage for AbaMessage {
    fn wire_bits(&self) -> u64 {
        // 32-bit round number, 1-bit tag, 1-bit value.
        34
    }
    fn trace_digest(&self) -> u64 {
        match *self {
            AbaMessage::BVal { round, value } => mix(round, 2 + u64::from(value)),
            AbaMessage::Aux { round, value } => mix(round, 4 + u64::from(value)),
        }
    }
}

/// What agreement nodes report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbaObs {
    /// An honest process decided.
    Decided {
        /// The value.
        value: bool,
        /// The round.
        round: u64,
    },
    /// An honest process finished a round without deciding in it.
    RoundDone {
        /// The round.
        round: u64,
        /// Its estimate for the next round.
        est: bool,
    },
}

impl SimObservation for AbaObs {
    fn trace_digest(&self) -> u64 {
        match *self {
            AbaObs::Decided { value, round } => mix(round, 10 + u64::from(value)),
            AbaObs::RoundDone { round, est } => mix(round, 20 + u64::from(est)),
        }
    }
}

/// The ideal common coin of round `r` in a run with `seed`.
pub fn common_coin(seed: u64, round: u64) -> bool {
    mix(mix(seed, 0x636f_696e), round) & 1 == 1
}

#[derive(Debug, Default)]
struct RoundState {
    bval_from: [Vec<bool>; 2],
    bval_count: [usize; 2],
    bval_sent: [bool; 2],
    /// bin_values, in the order values entered it.
    bin_values: Vec<bool>,
    /// AUX messages in arrival order (first per sender and value).
    aux: Vec<(NodeId, bool)>,
}

impl RoundState {
    fn new(n: usize) -> Self {
        RoundState {
            bval_from: [vec![false; n], vec![false; n]],
            ..RoundState::default()
        }
    }
}

/// An honest MMR process.
pub struct MmrNode {
    me: NodeId,
    n: usize,
    t: usize,
    est: bool,
    round: u64,
    aux_sent: bool,
    decided: Option<(bool, u64)>,
    rounds: BTreeMap<u64, RoundState>,
    seed: u64,
    max_rounds: u64,
    tap: SharedTap,
}

impl MmrNode {
    /// Process `me` of `n` (tolerating `t`), proposing `input`.
    pub fn new(
        me: NodeId,
        n: usize,
        t: usize,
        input: bool,
        seed: u64,
        max_rounds: u64,
        tap: SharedTap,
    ) -> Self {
        MmrNode {
            me,
            n,
            t,
            est: input,
            round: 0,
            aux_sent: false,
            decided: None,
            rounds: BTreeMap::new(),
            seed,
            max_rounds,
            tap,
        }
    }

    fn state(&mut self, round: u64) -> &mut RoundState {
        let n = self.n;
        self.rounds
            .entry(round)
            .or_insert_with(|| RoundState::new(n))
    }

    fn send_bval(
        &mut self,
        ctx: &mut Context<'_, AbaMessage, AbaObs>,
        round: u64,
        value: bool,
        estimate: bool,
    ) {
        let env = Envelope {
            round,
            kind: KIND_BVAL,
            value: Some(value),
            estimate,
        };
        Tap::broadcast(
            &self.tap,
            ctx,
            Rc::new(AbaMessage::BVal { round, value }),
            env,
        );
        let me = self.me;
        let st = self.state(round);
        st.bval_sent[usize::from(value)] = true;
        // The broadcast reaches the sender too.
        self.on_bval(ctx, me, round, value);
    }

    /// The BV-broadcast rules for B_VAL[round](value) from `from`.
    fn on_bval(
        &mut self,
        ctx: &mut Context<'_, AbaMessage, AbaObs>,
        from: NodeId,
        round: u64,
        value: bool,
    ) {
        let t = self.t;
        let v = usize::from(value);
        let st = self.state(round);
        if st.bval_from[v][from] {
            return;
        }
        st.bval_from[v][from] = true;
        st.bval_count[v] += 1;
        let count = st.bval_count[v];
        // "If B_VAL(v) received from (t + 1) different processes and B_VAL(v) not yet
        // broadcast then broadcast B_VAL(v)."
        if count > t && !st.bval_sent[v] {
            self.send_bval(ctx, round, value, false);
        }
        // "If B_VAL(v) received from (2t + 1) different processes then
        // bin_values ← bin_values ∪ {v}."
        let st = self.state(round);
        if st.bval_count[v] > 2 * t && !st.bin_values.contains(&value) {
            st.bin_values.push(value);
        }
    }

    fn on_aux(&mut self, from: NodeId, round: u64, value: bool) {
        let st = self.state(round);
        if !st.aux.contains(&(from, value)) {
            st.aux.push((from, value));
        }
    }

    /// Line 05: the values of the first n − t AUX messages from distinct processes
    /// whose values are in bin_values, if there are that many.
    fn aux_values(&self) -> Option<Vec<bool>> {
        let st = self.rounds.get(&self.round)?;
        let mut senders = vec![false; self.n];
        let mut count = 0;
        let mut values = Vec::new();
        for &(j, v) in &st.aux {
            if senders[j] || !st.bin_values.contains(&v) {
                continue;
            }
            senders[j] = true;
            count += 1;
            if !values.contains(&v) {
                values.push(v);
            }
            if count == self.n - self.t {
                return Some(values);
            }
        }
        None
    }

    fn start_round(&mut self, ctx: &mut Context<'_, AbaMessage, AbaObs>) {
        // (01) r ← r + 1; (02) BV_broadcast EST[r](est).
        self.round += 1;
        self.aux_sent = false;
        let (round, est) = (self.round, self.est);
        // If B_VAL[r](est) already went out as an echo, every process has it: sending
        // it again would only be ignored (each sender counts once per value).
        if !self.state(round).bval_sent[usize::from(est)] {
            self.send_bval(ctx, round, est, true);
        }
    }

    fn progress(&mut self, ctx: &mut Context<'_, AbaMessage, AbaObs>) {
        while self.round <= self.max_rounds {
            let round = self.round;
            if !self.aux_sent {
                // (03) wait until bin_values ≠ ∅; (04) broadcast AUX[r](w), w ∈ bin_values.
                let Some(&w) = self.rounds.get(&round).and_then(|s| s.bin_values.first()) else {
                    return;
                };
                self.aux_sent = true;
                let env = Envelope {
                    round,
                    kind: KIND_AUX,
                    value: Some(w),
                    estimate: false,
                };
                Tap::broadcast(
                    &self.tap,
                    ctx,
                    Rc::new(AbaMessage::Aux { round, value: w }),
                    env,
                );
                let me = self.me;
                self.on_aux(me, round, w);
            }
            // (05) wait for n − t AUX messages with values ⊆ bin_values.
            let Some(values) = self.aux_values() else {
                return;
            };
            // (06) s ← random().
            let s = common_coin(self.seed, round);
            if let [v] = values[..] {
                // (07–09) est ← v; if v = s then decide(v) if not yet done.
                self.est = v;
                if v == s && self.decided.is_none() {
                    self.decided = Some((v, round));
                    ctx.observe(AbaObs::Decided { value: v, round });
                }
            } else {
                // (10) est ← s.
                self.est = s;
            }
            if self.decided.is_none_or(|(_, r)| r != round) {
                ctx.observe(AbaObs::RoundDone {
                    round,
                    est: self.est,
                });
            }
            // Old rounds' B_VAL echoes keep running; their AUX sets are no longer needed.
            if let Some(st) = self.rounds.get_mut(&round) {
                st.aux = Vec::new();
            }
            self.start_round(ctx);
        }
    }
}

impl Node<AbaMessage, AbaObs> for MmrNode {
    fn on_start(&mut self, ctx: &mut Context<'_, AbaMessage, AbaObs>) {
        self.start_round(ctx);
        self.progress(ctx);
    }
    fn on_message(
        &mut self,
        ctx: &mut Context<'_, AbaMessage, AbaObs>,
        from: NodeId,
        msg: &Rc<AbaMessage>,
    ) {
        match **msg {
            AbaMessage::BVal { round, value } => {
                if round == 0 || round > self.max_rounds + 1 {
                    return;
                }
                self.on_bval(ctx, from, round, value);
            }
            AbaMessage::Aux { round, value } => {
                if round < self.round || round > self.max_rounds + 1 {
                    return;
                }
                self.on_aux(from, round, value);
            }
        }
        self.progress(ctx);
    }
    fn on_timer(&mut self, _ctx: &mut Context<'_, AbaMessage, AbaObs>, _timer: u64) {}
}

/// A Byzantine process sending conflicting values (see the module docs).
pub struct ConflictingByzantine {
    me: NodeId,
    acted: u64,
    max_rounds: u64,
    tap: SharedTap,
}

impl ConflictingByzantine {
    fn act_up_to(&mut self, ctx: &mut Context<'_, AbaMessage, AbaObs>, round: u64) {
        while self.acted < round.min(self.max_rounds + 1) {
            self.acted += 1;
            let r = self.acted;
            for value in [false, true] {
                let env = Envelope {
                    round: r,
                    kind: KIND_BVAL,
                    value: Some(value),
                    estimate: false,
                };
                Tap::broadcast(
                    &self.tap,
                    ctx,
                    Rc::new(AbaMessage::BVal { round: r, value }),
                    env,
                );
            }
            for to in 0..ctx.n() {
                if to == self.me {
                    continue;
                }
                let value = to % 2 == 1;
                let env = Envelope {
                    round: r,
                    kind: KIND_AUX,
                    value: Some(value),
                    estimate: false,
                };
                Tap::send(
                    &self.tap,
                    ctx,
                    to,
                    Rc::new(AbaMessage::Aux { round: r, value }),
                    env,
                );
            }
        }
    }
}

impl Node<AbaMessage, AbaObs> for ConflictingByzantine {
    fn on_start(&mut self, ctx: &mut Context<'_, AbaMessage, AbaObs>) {
        self.act_up_to(ctx, 1);
    }
    fn on_message(
        &mut self,
        ctx: &mut Context<'_, AbaMessage, AbaObs>,
        _from: NodeId,
        msg: &Rc<AbaMessage>,
    ) {
        let (AbaMessage::BVal { round, .. } | AbaMessage::Aux { round, .. }) = **msg;
        self.act_up_to(ctx, round);
    }
    fn on_timer(&mut self, _ctx: &mut Context<'_, AbaMessage, AbaObs>, _timer: u64) {}
}

/// The Byzantine behaviour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AbaAdversary {
    /// All processes honest.
    None,
    /// f Byzantine processes send conflicting values.
    #[default]
    Conflicting,
}

impl AbaAdversary {
    /// Parses a command-line name.
    pub fn parse(s: &str) -> Result<AbaAdversary> {
        match s {
            "none" => Ok(AbaAdversary::None),
            "conflicting" | "byzantine" => Ok(AbaAdversary::Conflicting),
            _ => Err(LabError::UnknownAdversary {
                protocol: "randomized",
                given: s.to_string(),
                expected: "none, conflicting".to_string(),
            }),
        }
    }
}

/// How the honest processes' inputs are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Inputs {
    /// Each honest input a fair coin from the seed.
    Random,
    /// The first half 0, the rest 1 (a bivalent start).
    Split,
    /// Everyone proposes this value.
    All(bool),
}

/// The network an asynchronous protocol runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AsyncNetwork {
    /// The FLP-style adversarial scheduler ([`SplitScheduler`]).
    Adversarial,
    /// Random delays (a fair scheduler).
    Fair,
    /// The simulator's synchronous model (Δ = 1 ms).
    Synchronous,
    /// The simulator's partial synchrony (random holds before GST = 50 ms).
    PartialSynchrony,
}

impl AsyncNetwork {
    /// Parses `async`/`adversarial`, `fair`, `sync`, `partial-sync`.
    pub fn parse(protocol: &'static str, s: &str) -> Result<AsyncNetwork> {
        match s {
            "async" | "adversarial" => Ok(AsyncNetwork::Adversarial),
            "fair" => Ok(AsyncNetwork::Fair),
            "sync" => Ok(AsyncNetwork::Synchronous),
            "partial-sync" => Ok(AsyncNetwork::PartialSynchrony),
            _ => Err(LabError::UnsupportedNetwork {
                protocol,
                network: s.to_string(),
                expected: "async, fair, sync, partial-sync".to_string(),
            }),
        }
    }

    /// The network model; `tolerance` is the f the protocol waits around, `inputs`
    /// the initial estimates (known to the adversarial scheduler).
    pub fn model(
        self,
        n: usize,
        tolerance: usize,
        inputs: &[Option<bool>],
        tap: &SharedTap,
    ) -> Box<dyn NetworkModel> {
        match self {
            AsyncNetwork::Adversarial => Box::new(TappedNetwork::new(
                Rc::clone(tap),
                Box::new(SplitScheduler::new(n, tolerance, 1000).with_estimates(inputs.to_vec())),
            )),
            AsyncNetwork::Fair => Box::new(TappedNetwork::new(
                Rc::clone(tap),
                Box::new(FairScheduler { max_us: 5000 }),
            )),
            AsyncNetwork::Synchronous => Box::new(TappedNetwork::new(
                Rc::clone(tap),
                Box::new(NetAsScheduler(Box::new(Synchronous {
                    min_us: 1,
                    delta_us: 1000,
                }))),
            )),
            AsyncNetwork::PartialSynchrony => Box::new(TappedNetwork::new(
                Rc::clone(tap),
                Box::new(NetAsScheduler(Box::new(PartialSynchrony {
                    gst: Time::from_ms(50),
                    delta_us: 1000,
                    pre_gst: PreGst::RandomHold,
                }))),
            )),
        }
    }
}

/// A simulator network model used as a (content-blind) scheduler.
struct NetAsScheduler(Box<dyn NetworkModel>);

impl crate::sched::Scheduler for NetAsScheduler {
    fn delay(
        &mut self,
        now: Time,
        from: NodeId,
        to: NodeId,
        _env: Option<&Envelope>,
        rng: &mut ChaCha8Rng,
    ) -> u64 {
        self.0.delay(now, from, to, rng).unwrap_or(u64::MAX / 4)
    }
}

/// One agreement run.
#[derive(Clone, Debug)]
pub struct AbaScenario {
    /// Processes.
    pub n: usize,
    /// Byzantine processes (the protocol tolerates t = ⌊(n−1)/3⌋; `f <= t`).
    pub f: usize,
    /// Their behaviour.
    pub adversary: AbaAdversary,
    /// Honest inputs.
    pub inputs: Inputs,
    /// Network / scheduler.
    pub network: AsyncNetwork,
    /// The seed (also the coin's).
    pub seed: u64,
    /// Safety valve: processes stop after this many rounds.
    pub max_rounds: u64,
}

impl AbaScenario {
    /// `n` processes, f = ⌊(n−1)/3⌋ conflicting Byzantine ones, random inputs, the
    /// adversarial scheduler.
    pub fn new(n: usize, seed: u64) -> Self {
        AbaScenario {
            n,
            f: n.saturating_sub(1) / 3,
            adversary: AbaAdversary::Conflicting,
            inputs: Inputs::Random,
            network: AsyncNetwork::Adversarial,
            seed,
            max_rounds: 200,
        }
    }
}

/// What an agreement run produced.
#[derive(Clone, Debug, Serialize)]
pub struct AbaRun {
    /// Processes.
    pub n: usize,
    /// Byzantine processes.
    pub f: usize,
    /// The honest processes' inputs (`None` for Byzantine ones).
    pub inputs: Vec<Option<bool>>,
    /// Each honest process's decision and round (`None` if it did not decide).
    pub decisions: Vec<Option<(bool, u64)>>,
    /// Every honest process decided.
    pub terminated: bool,
    /// No two honest processes decided differently.
    pub agreement: bool,
    /// Every decided value is some honest process's input.
    pub validity: bool,
    /// The round in which the last honest process decided.
    pub rounds: u64,
    /// Mean decision round over honest processes.
    pub mean_decision_round: f64,
    /// The highest round any honest process had started when the run stopped
    /// (processes keep running after deciding).
    pub rounds_started: u64,
    /// Messages sent until the last honest decision.
    pub messages: u64,
    /// Bits sent.
    pub bits: u64,
    /// Virtual time until the last honest decision, microseconds.
    pub time_us: u64,
    /// Trace hash.
    pub trace_hash: u64,
}

/// Checks a scenario.
pub fn validate(s: &AbaScenario) -> Result<()> {
    if s.n < 1 {
        return Err(LabError::invalid("n", "at least one process"));
    }
    let t = (s.n - 1) / 3;
    if s.f > t {
        return Err(LabError::invalid(
            "f",
            format!(
                "the protocol tolerates f <= ⌊(n-1)/3⌋ = {t} Byzantine processes (n = {}, f = {})",
                s.n, s.f
            ),
        ));
    }
    if s.max_rounds == 0 {
        return Err(LabError::invalid("max rounds", "at least 1"));
    }
    Ok(())
}

/// Chooses the Byzantine set (never more than `f`), the honest inputs.
fn setup(
    n: usize,
    f: usize,
    inputs: Inputs,
    rng: &mut ChaCha8Rng,
) -> (Vec<bool>, Vec<Option<bool>>) {
    let mut byz = vec![false; n];
    let mut ids: Vec<usize> = (0..n).collect();
    rand::seq::SliceRandom::shuffle(&mut ids[..], rng);
    for &i in ids.iter().take(f) {
        byz[i] = true;
    }
    let honest: Vec<usize> = (0..n).filter(|i| !byz[*i]).collect();
    let mut ins = vec![None; n];
    for (k, &i) in honest.iter().enumerate() {
        ins[i] = Some(match inputs {
            Inputs::Random => rng.gen_bool(0.5),
            Inputs::Split => k >= honest.len().div_ceil(2),
            Inputs::All(v) => v,
        });
    }
    (byz, ins)
}

/// Runs MMR binary agreement until every honest process decides (or the round cap).
pub fn run_randomized(s: &AbaScenario) -> Result<AbaRun> {
    validate(s)?;
    let n = s.n;
    let t = (n - 1) / 3;
    let f = if s.adversary == AbaAdversary::None {
        0
    } else {
        s.f
    };
    let mut rng = ChaCha8Rng::seed_from_u64(mix(s.seed, 0x0061_6261));
    let (byz, inputs) = setup(n, f, s.inputs, &mut rng);
    let tap = shared_tap();
    let nodes: Vec<Box<dyn Node<AbaMessage, AbaObs>>> = (0..n)
        .map(|i| -> Box<dyn Node<AbaMessage, AbaObs>> {
            match inputs[i] {
                Some(input) => Box::new(MmrNode::new(
                    i,
                    n,
                    t,
                    input,
                    s.seed,
                    s.max_rounds,
                    Rc::clone(&tap),
                )),
                None => Box::new(ConflictingByzantine {
                    me: i,
                    acted: 0,
                    max_rounds: s.max_rounds,
                    tap: Rc::clone(&tap),
                }),
            }
        })
        .collect();
    let network = s.network.model(n, t, &inputs, &tap);
    let mut sim = Simulation::new(s.seed, nodes, network);
    let honest_count = n - f;
    let mut decided = 0usize;
    let mut scanned = 0usize;
    sim.run_while(Time(u64::MAX / 2), |sim| {
        let obs = sim.observations();
        decided += obs[scanned..]
            .iter()
            .filter(|(_, _, o)| matches!(o, AbaObs::Decided { .. }))
            .count();
        scanned = obs.len();
        decided < honest_count
    });
    let mut decisions = vec![None; n];
    let mut rounds_started = 1;
    for (_, node, o) in sim.observations() {
        match *o {
            AbaObs::Decided { value, round } => {
                decisions[*node] = Some((value, round));
                rounds_started = rounds_started.max(round + 1);
            }
            AbaObs::RoundDone { round, .. } => rounds_started = rounds_started.max(round + 1),
        }
    }
    let honest_decisions: Vec<(bool, u64)> = (0..n)
        .filter(|i| !byz[*i])
        .filter_map(|i| decisions[i])
        .collect();
    let terminated = honest_decisions.len() == honest_count;
    let agreement = honest_decisions.windows(2).all(|w| w[0].0 == w[1].0);
    let validity = honest_decisions
        .iter()
        .all(|(v, _)| inputs.contains(&Some(*v)));
    let rounds = honest_decisions.iter().map(|d| d.1).max().unwrap_or(0);
    let mean_decision_round = if honest_decisions.is_empty() {
        0.0
    } else {
        honest_decisions.iter().map(|d| d.1 as f64).sum::<f64>() / honest_decisions.len() as f64
    };
    let stats = sim.stats();
    Ok(AbaRun {
        n,
        f,
        inputs,
        decisions,
        terminated,
        agreement,
        validity,
        rounds,
        mean_decision_round,
        rounds_started,
        messages: stats.messages_sent,
        bits: stats.bits_sent,
        time_us: sim.now().0,
        trace_hash: sim.trace_hash(),
    })
}

/// The paper's bound on the expected number of rounds to decide (MMR 2014: "the
/// expected number of rounds to decide is four").
pub const MMR_EXPECTED_ROUNDS_BOUND: f64 = 4.0;

/// Most messages sent per round index: every process (an honest one, or the lab's
/// Byzantine one) sends at most two B_VAL broadcasts (its value and one echo of the
/// other) and one AUX broadcast, to n − 1 others.
pub fn mmr_messages_per_round_bound(n: usize) -> u64 {
    3 * n as u64 * (n as u64 - 1)
}
