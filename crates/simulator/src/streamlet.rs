//! Streamlet in the simulator: the honest node (the consensus crate's state machine
//! with the simulated signature scheme, echoing every new message as the paper says),
//! and scenario runs with adversaries, network models and the checkers.

use crate::adversary::{Crash, DoubleVoter, EquivocatingLeader, VoteWithholder};
use crate::checkers::{
    check_liveness, check_safety, streamlet_liveness_window, FinalizedRecord, LivenessViolation,
    SafetyViolation,
};
use crate::core::{
    mix, Context, Node, NodeId, SimMessage, SimObservation, Simulation, Stats, Time,
};
use crate::network::{Asynchronous, NetworkModel, PartialSynchrony, PreGst, Synchronous};
use ledger_consensus::streamlet::{leader_index, Message, Pacing, Streamlet, StreamletConfig};
use ledger_consensus::{
    ConsensusMessage, Delivery, Effect, Input, Protocol, SimSignatures, SimSigner,
};
use ledger_types::genesis::StreamletParams;
use ledger_types::{ConsensusParams, Genesis, Hash, PublicKey};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;
use std::rc::Rc;

impl SimMessage for Message {
    fn wire_bits(&self) -> u64 {
        self.wire_len() as u64 * 8
    }
    fn trace_digest(&self) -> u64 {
        match self {
            Message::Vote(v) => {
                v.epoch
                    ^ v.block.prefix_u64().rotate_left(7)
                    ^ u64::from_le_bytes([
                        v.voter.0[0],
                        v.voter.0[1],
                        v.voter.0[2],
                        v.voter.0[3],
                        v.voter.0[4],
                        v.voter.0[5],
                        v.voter.0[6],
                        v.voter.0[7],
                    ])
            }
            Message::Proposal(p) => {
                let mut s = [0u8; 8];
                s.copy_from_slice(&p.signature.0[..8]);
                u64::from_le_bytes(s) ^ p.block.header.height.rotate_left(40) ^ 0x5052_4f50
            }
        }
    }
}

/// What Streamlet nodes report to the checkers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamletObs {
    /// A block became final at this node.
    Finalized(FinalizedRecord),
    /// The node recorded equivocation evidence against `offender`.
    Evidence {
        /// The equivocating validator.
        offender: PublicKey,
    },
    /// The node's own alarm: a conflicting chain met the finality rule.
    ConflictAlarm,
}

impl SimObservation for StreamletObs {
    fn trace_digest(&self) -> u64 {
        match self {
            StreamletObs::Finalized(r) => r.hash.prefix_u64() ^ r.height,
            StreamletObs::Evidence { offender } => Hash(offender.0).prefix_u64() ^ 0xe1,
            StreamletObs::ConflictAlarm => 0xc0,
        }
    }
}

/// The simulator's Streamlet state machine type.
pub type SimStreamlet = Streamlet<SimSignatures>;

/// An honest validator: the consensus crate's machine, driven by the simulator.
pub struct HonestStreamlet {
    /// The state machine.
    pub sm: SimStreamlet,
    /// Echo new messages to everyone (the paper's implicit echo). On for honest nodes.
    pub echo: bool,
}

/// An adversary's hook on the outputs of its inner honest machine.
pub type EffectFilter<'f> =
    dyn FnMut(&Effect, &mut Context<'_, Message, StreamletObs>, &mut SimStreamlet) -> Filter + 'f;

/// A node's decision on one output of its inner machine (adversaries filter outputs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Carry it out as an honest node would.
    Pass,
    /// The adversary handled it (or suppresses it).
    Handled,
}

impl HonestStreamlet {
    /// A validator with `key`.
    pub fn new(cfg: StreamletConfig, key: PublicKey) -> Self {
        HonestStreamlet {
            sm: Streamlet::new(cfg, SimSignatures, Some(Box::new(SimSigner { key }))),
            echo: true,
        }
    }

    /// Starts the machine at `ctx.now()`.
    pub fn start(
        &mut self,
        ctx: &mut Context<'_, Message, StreamletObs>,
        filter: &mut EffectFilter<'_>,
    ) {
        let mut out = self
            .sm
            .handle(Input::Start {
                now_ms: ctx.now().as_ms(),
            })
            .effects;
        self.process(ctx, &mut out, filter);
    }

    /// Delivers a timer.
    pub fn timer(
        &mut self,
        ctx: &mut Context<'_, Message, StreamletObs>,
        epoch: u64,
        filter: &mut EffectFilter<'_>,
    ) {
        let mut out = self
            .sm
            .handle(Input::Timer {
                id: epoch,
                now_ms: ctx.now().as_ms(),
            })
            .effects;
        self.process(ctx, &mut out, filter);
    }

    /// Delivers a message; echoes it if new. Returns the machine's verdict.
    pub fn message(
        &mut self,
        ctx: &mut Context<'_, Message, StreamletObs>,
        from: NodeId,
        msg: &Rc<Message>,
        filter: &mut EffectFilter<'_>,
    ) -> Option<Delivery> {
        let step = self.sm.handle(Input::Message {
            message: ConsensusMessage::Streamlet((**msg).clone()),
            now_ms: ctx.now().as_ms(),
        });
        let verdict = step.verdict.ok();
        if self.echo && verdict == Some(Delivery::New) {
            // "Every honest player echoes every message it hears (for the first time)."
            ctx.broadcast_except(Rc::clone(msg), from);
        }
        let mut out = step.effects;
        self.process(ctx, &mut out, filter);
        verdict
    }

    /// Carries out outputs: broadcasts, timers, block building (empty blocks, at once),
    /// observations of final blocks and evidence.
    pub fn process(
        &mut self,
        ctx: &mut Context<'_, Message, StreamletObs>,
        out: &mut Vec<Effect>,
        filter: &mut EffectFilter<'_>,
    ) {
        let mut queue: VecDeque<Effect> = out.drain(..).collect();
        while let Some(o) = queue.pop_front() {
            if filter(&o, ctx, &mut self.sm) == Filter::Handled {
                continue;
            }
            match o {
                Effect::Broadcast(ConsensusMessage::Streamlet(m)) => ctx.broadcast(Rc::new(m)),
                Effect::SetTimer { at_ms, id } => ctx.set_timer(Time::from_ms(at_ms), id),
                Effect::BuildBlock { epoch, .. } => {
                    let step = self.sm.handle(Input::BlockBuilt {
                        epoch,
                        time_ms: ctx.now().as_ms(),
                        txs: Vec::new(),
                    });
                    queue.extend(step.effects);
                }
                Effect::Finalized { block, .. } => {
                    let epoch = ledger_consensus::streamlet::streamlet_fields(&block.header)
                        .map_or(0, |f| f.0);
                    let record = FinalizedRecord {
                        node: ctx.me(),
                        time: ctx.now(),
                        hash: block.hash(),
                        parent: block.header.parent,
                        height: block.height(),
                        epoch,
                    };
                    ctx.observe(StreamletObs::Finalized(record));
                }
                Effect::Evidence(e) => ctx.observe(StreamletObs::Evidence {
                    offender: e.offender(),
                }),
                Effect::ConflictingFinality { .. } => ctx.observe(StreamletObs::ConflictAlarm),
                Effect::Persist(_)
                | Effect::Notarized { .. }
                | Effect::RequestBlock { .. }
                | Effect::Head(_)
                | Effect::Broadcast(ConsensusMessage::Block(_))
                | Effect::MiningJob(_)
                | Effect::Reorg { .. } => {}
            }
        }
    }
}

/// No filtering: an honest node.
pub fn pass(
    _: &Effect,
    _: &mut Context<'_, Message, StreamletObs>,
    _: &mut SimStreamlet,
) -> Filter {
    Filter::Pass
}

impl Node<Message, StreamletObs> for HonestStreamlet {
    fn on_start(&mut self, ctx: &mut Context<'_, Message, StreamletObs>) {
        self.start(ctx, &mut pass);
    }
    fn on_message(
        &mut self,
        ctx: &mut Context<'_, Message, StreamletObs>,
        from: NodeId,
        msg: &Rc<Message>,
    ) {
        self.message(ctx, from, msg, &mut pass);
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, Message, StreamletObs>, timer: u64) {
        self.timer(ctx, timer, &mut pass);
    }
}

/// Which Byzantine behaviour the `f` corrupt validators follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamletAdversary {
    /// All validators honest (f is ignored).
    None,
    /// Crash at a random time.
    Crash,
    /// When leading, propose two conflicting blocks to two halves and vote for both.
    EquivocatingLeader,
    /// Never vote in time; leak withheld votes late to a single node.
    VoteWithholder,
    /// Vote for every proposal seen (ignoring the longest-chain rule and the
    /// once-per-epoch rule) and for a conflicting phantom block every epoch.
    DoubleVoter,
}

impl StreamletAdversary {
    /// Every Byzantine kind.
    pub const BYZANTINE: [StreamletAdversary; 4] = [
        StreamletAdversary::Crash,
        StreamletAdversary::EquivocatingLeader,
        StreamletAdversary::VoteWithholder,
        StreamletAdversary::DoubleVoter,
    ];
}

/// The network a Streamlet scenario runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamletNetwork {
    /// Delays in `[1 µs, Δ]`; GST = 0.
    Synchronous,
    /// Adversarial finite delays up to `max_delay_epochs` epochs; no GST (no liveness
    /// check).
    Asynchronous {
        /// Longest delay, in epochs.
        max_delay_epochs: u64,
    },
    /// Partial synchrony with GST uniform in `[0, max_gst_epochs]` epochs and a random
    /// pre-GST strategy (random holds or a split into two groups).
    PartialSynchrony {
        /// Largest GST, in epochs.
        max_gst_epochs: u64,
    },
}

/// One Streamlet run.
#[derive(Clone, Debug)]
pub struct StreamletScenario {
    /// Validators.
    pub n: usize,
    /// Byzantine validators (chosen at random among the n).
    pub byzantine: usize,
    /// Their behaviour.
    pub adversary: StreamletAdversary,
    /// Network model.
    pub network: StreamletNetwork,
    /// Δ in milliseconds.
    pub delta_ms: u64,
    /// The seed.
    pub seed: u64,
    /// Epochs simulated at most (also the run length when liveness is not checked).
    pub max_epochs: u64,
    /// Extra epochs to run after the liveness deadline.
    pub extra_epochs: u64,
    /// **Test only**: a lowered quorum (the mutation check).
    pub insecure_quorum: Option<usize>,
}

impl StreamletScenario {
    /// A scenario with f = ⌊(n-1)/3⌋ Byzantine validators under partial synchrony.
    pub fn new(n: usize, adversary: StreamletAdversary, seed: u64) -> Self {
        StreamletScenario {
            n,
            byzantine: if adversary == StreamletAdversary::None {
                0
            } else {
                (n.max(1) - 1) / 3
            },
            adversary,
            network: StreamletNetwork::PartialSynchrony { max_gst_epochs: 12 },
            delta_ms: 100,
            seed,
            max_epochs: 200,
            extra_epochs: 0,
            insecure_quorum: None,
        }
    }
}

/// The outcome of the liveness check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LivenessOutcome {
    /// Every honest node finalized a new block by the deadline.
    Met {
        /// First epoch of the honest-leader window.
        window_start: u64,
    },
    /// Some honest node did not.
    Violated(LivenessViolation),
    /// Not checked (asynchronous network, or no window of 5 honest leaders in the run).
    NotApplicable,
}

/// What a Streamlet run produced.
#[derive(Clone, Debug)]
pub struct StreamletRun {
    /// Trace hash of the run.
    pub trace_hash: u64,
    /// Message accounting.
    pub stats: Stats,
    /// The safety checker's verdict.
    pub safety: Result<(), SafetyViolation>,
    /// The liveness checker's verdict.
    pub liveness: LivenessOutcome,
    /// GST of the run.
    pub gst: Time,
    /// Epochs simulated.
    pub epochs: u64,
    /// Final height reached by each honest node.
    pub honest_final_heights: Vec<u64>,
    /// Evidence items recorded by honest nodes.
    pub evidence: usize,
    /// Every finalized record (all nodes).
    pub finalized: Vec<FinalizedRecord>,
}

/// Key of simulated validator `i` (no ed25519 work: the simulated scheme needs none).
pub fn sim_validator_key(i: usize) -> PublicKey {
    PublicKey(Hash::tagged("ledger-sim/validator", &[&(i as u64).to_le_bytes()]).0)
}

/// The genesis of an `n`-validator simulated Streamlet chain.
pub fn sim_genesis(n: usize, delta_ms: u64) -> Genesis {
    let keys: Vec<PublicKey> = (0..n).map(sim_validator_key).collect();
    let mut g = Genesis::for_testing(&[], &keys);
    g.consensus = ConsensusParams::Streamlet(StreamletParams { delta_ms });
    g
}

/// Runs one scenario and checks it.
pub fn run_streamlet(s: &StreamletScenario) -> StreamletRun {
    let genesis = sim_genesis(s.n, s.delta_ms);
    let mut cfg = match StreamletConfig::from_genesis(&genesis) {
        Ok(c) => c,
        Err(e) => panic!("simulated genesis is valid: {e}"),
    };
    // The lab measures the protocol as published: epochs of 2Δ by the clock.
    cfg.pacing = Pacing::Clock;
    if let Some(q) = s.insecure_quorum {
        cfg.validators = cfg.validators.clone().with_insecure_quorum_for_testing(q);
    }
    let genesis_hash = cfg.genesis.hash();
    let mut rng = ChaCha8Rng::seed_from_u64(mix(s.seed, 0x7363_656e));
    let epoch_us = cfg.epoch_ms() * 1000;
    let delta_us = s.delta_ms * 1000;

    // Corrupt validators.
    let mut ids: Vec<usize> = (0..s.n).collect();
    ids.shuffle(&mut rng);
    let f = if s.adversary == StreamletAdversary::None {
        0
    } else {
        s.byzantine.min(s.n)
    };
    let mut honest = vec![true; s.n];
    for &i in &ids[..f] {
        honest[i] = false;
    }

    // Network.
    let (network, gst): (Box<dyn NetworkModel>, Option<Time>) = match s.network {
        StreamletNetwork::Synchronous => (
            Box::new(Synchronous {
                min_us: 1,
                delta_us,
            }),
            Some(Time::ZERO),
        ),
        StreamletNetwork::Asynchronous { max_delay_epochs } => {
            let links = (0..s.n)
                .flat_map(|a| (0..s.n).map(move |b| (a, b)))
                .filter(|_| rng.gen_bool(0.1))
                .collect();
            (
                Box::new(Asynchronous {
                    fast_us: delta_us,
                    max_delay_us: max_delay_epochs.max(1) * epoch_us,
                    slow_probability: 0.2,
                    slow_links: links,
                }),
                None,
            )
        }
        StreamletNetwork::PartialSynchrony { max_gst_epochs } => {
            let gst = Time(rng.gen_range(0..=max_gst_epochs * epoch_us));
            let pre_gst = if rng.gen_bool(0.5) {
                PreGst::RandomHold
            } else {
                PreGst::Split {
                    group: (0..s.n).map(|_| rng.gen_range(0..2u8)).collect(),
                }
            };
            (
                Box::new(PartialSynchrony {
                    gst,
                    delta_us,
                    pre_gst,
                }),
                Some(gst),
            )
        }
    };

    // Run length: up to the liveness deadline of the theorem, or max_epochs.
    let window = gst.and_then(|g| {
        let first = g.0.div_ceil(epoch_us);
        streamlet_liveness_window(first, s.max_epochs, |e| {
            honest[leader_index(e, s.n) as usize]
        })
    });
    let end_epoch = window.map_or(s.max_epochs, |w| w + 5 + s.extra_epochs);
    let deadline = window.map(|w| Time((w + 5) * epoch_us));

    let nodes: Vec<Box<dyn Node<Message, StreamletObs>>> = (0..s.n)
        .map(|i| {
            let key = sim_validator_key(i);
            let inner = HonestStreamlet::new(cfg.clone(), key);
            let node: Box<dyn Node<Message, StreamletObs>> = if honest[i] {
                Box::new(inner)
            } else {
                match s.adversary {
                    StreamletAdversary::None => Box::new(inner),
                    StreamletAdversary::Crash => {
                        let at = Time(rng.gen_range(0..=end_epoch * epoch_us));
                        Box::new(Crash::new(inner, at))
                    }
                    StreamletAdversary::EquivocatingLeader => {
                        Box::new(EquivocatingLeader::new(inner, key))
                    }
                    StreamletAdversary::VoteWithholder => Box::new(VoteWithholder::new(inner, key)),
                    StreamletAdversary::DoubleVoter => Box::new(DoubleVoter::new(inner, key)),
                }
            };
            node
        })
        .collect();

    let mut sim = Simulation::new(s.seed, nodes, network);
    sim.run_until(Time(end_epoch * epoch_us));

    let mut finalized = Vec::new();
    let mut evidence = 0;
    for (_, node, o) in sim.observations() {
        match o {
            StreamletObs::Finalized(r) => finalized.push(*r),
            StreamletObs::Evidence { .. } if honest[*node] => evidence += 1,
            _ => {}
        }
    }
    let safety = check_safety(genesis_hash, &honest, &finalized);
    let liveness = match (window, deadline) {
        (Some(w), Some(d)) => match check_liveness(&honest, &finalized, w, d) {
            Ok(()) => LivenessOutcome::Met { window_start: w },
            Err(v) => LivenessOutcome::Violated(v),
        },
        _ => LivenessOutcome::NotApplicable,
    };
    let honest_final_heights = (0..s.n)
        .filter(|i| honest[*i])
        .map(|i| {
            finalized
                .iter()
                .filter(|r| r.node == i)
                .map(|r| r.height)
                .max()
                .unwrap_or(0)
        })
        .collect();
    StreamletRun {
        trace_hash: sim.trace_hash(),
        stats: sim.stats().clone(),
        safety,
        liveness,
        gst: gst.unwrap_or(Time(u64::MAX)),
        epochs: end_epoch,
        honest_final_heights,
        evidence,
        finalized,
    }
}
