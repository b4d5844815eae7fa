//! Whole-node scenarios: n nodes (the node's own driver, mempool, executor and store),
//! Byzantine adversaries, honest nodes that crash and restart at chosen points, a late
//! joiner, a wallet submitting orders, partial synchrony with partitions that heal and
//! message loss before GST; and the checkers every run goes through.
//!
//! # What is checked, and the bounds
//!
//! Honest nodes are every node that is not Byzantine: crash-restart nodes and the late
//! joiner included.
//!
//! 1. **Agreement**: no two honest nodes finalize (consensus) or execute (storage)
//!    different blocks at one height, and no node's alarm for a conflicting final chain
//!    goes off.
//! 2. **One chain per node**: each node's executed blocks, across all its restarts, are
//!    heights 1, 2, 3, ... each extending the previous.
//! 3. **Equal state**: equal state roots at equal executed heights.
//! 4. **No honest equivocation**: no honest node ever records evidence against an
//!    honest validator (a restart must never make a validator vote or propose twice in
//!    an epoch: the safety record is persisted before the message it protects).
//! 5. **Liveness after the faults end**. Let T* be the latest of GST (plus
//!    [`CATCH_UP_MS`] when messages were lost before it), the end of the last restart
//!    plus [`CATCH_UP_MS`], and the late joiner's start plus [`CATCH_UP_MS`].
//!    Streamlet: let E* be the highest epoch an honest node had entered by T*, and
//!    w..w+4 the first five consecutive epochs after E* whose leaders are honest; every
//!    honest node finalizes a block of epoch >= w by T* + (w + 5 - E*) x 2Δ + Δ. This is
//!    Chan and Shi's Theorem 6 stated in the node's own epochs: with responsive epochs
//!    an epoch ends when a block of it is notarized or, at the latest, at its 2Δ
//!    timeout, and a node joins a later epoch once f+1 validators are in it, so after
//!    T* the honest nodes pass at least one epoch per 2Δ, within Δ of each other.
//!    Nakamoto: every honest node executes a new final block within `k + 30` block
//!    intervals of T*.
//! 6. **Catch-up**: at the end, every honest node has executed at least the height the
//!    highest honest node had executed [`CATCH_UP_MS`] earlier (two sync rounds: every
//!    restarted node and the late joiner caught up, and no node lags by more).
//! 7. **No fatal error**: no node failed to restore, execute or serve.

use crate::byzantine::{Byzantine, NakamotoCodec, StreamletCodec};
use crate::client::{Client, ClientPlan};
use crate::node::{CrashPlan, CrashPoint, NodeSetup, SimNode};
use crate::wire::{NodeObs, Wire};
use ledger_consensus::nakamoto::NakamotoConfig;
use ledger_consensus::streamlet::{leader_index, StreamletConfig};
use ledger_driver::Faults;
use ledger_simulator::adversary::{DoubleVoter, EquivocatingLeader, SelfishMiner, VoteWithholder};
use ledger_simulator::checkers::streamlet_liveness_window;
use ledger_simulator::core::mix;
use ledger_simulator::nakamoto::{sim_miner_key, u256_f64, Discovery};
use ledger_simulator::network::{Lossy, NetworkModel, PartialSynchrony, PreGst};
use ledger_simulator::streamlet::{sim_validator_key, HonestStreamlet};
use ledger_simulator::{Node, NodeId, Simulation, Stats, Time};
use ledger_types::genesis::{NakamotoParams, StreamletParams};
use ledger_types::{ConsensusParams, Genesis, Hash, Keypair, PublicKey};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A restarted node or a late joiner gets this long to catch up before liveness is
/// expected of it, milliseconds (two sync rounds of the node's 1 s retry).
pub const CATCH_UP_MS: u64 = 2_000;
/// k, the depth at which a Nakamoto block is final in the simulated genesis.
pub const NAKAMOTO_FINALITY_DEPTH: u64 = 16;
/// Funded accounts the client signs with.
const ACCOUNTS: usize = 8;

/// The consensus protocol of a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProtocolKind {
    /// Streamlet BFT.
    Streamlet,
    /// Nakamoto proof of work.
    Nakamoto,
}

/// The Byzantine behaviour of the `byzantine` corrupt nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Adversary {
    /// None (crash-restarts only).
    None,
    /// Streamlet: proposes two conflicting blocks to two halves and votes for both.
    EquivocatingLeader,
    /// Streamlet: withholds its votes and leaks them late.
    VoteWithholder,
    /// Streamlet: votes for every proposal and a phantom block every epoch.
    DoubleVoter,
    /// Nakamoto: Eyal and Sirer's selfish miner.
    SelfishMiner,
}

impl Adversary {
    /// The adversaries of a protocol (with `None` first).
    pub fn of(protocol: ProtocolKind) -> &'static [Adversary] {
        match protocol {
            ProtocolKind::Streamlet => &[
                Adversary::None,
                Adversary::EquivocatingLeader,
                Adversary::VoteWithholder,
                Adversary::DoubleVoter,
            ],
            ProtocolKind::Nakamoto => &[Adversary::None, Adversary::SelfishMiner],
        }
    }
}

/// One whole-node run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The protocol.
    pub protocol: ProtocolKind,
    /// Validators (Streamlet) or miners (Nakamoto).
    pub n: usize,
    /// The Byzantine behaviour.
    pub adversary: Adversary,
    /// Byzantine nodes (ignored with [`Adversary::None`]).
    pub byzantine: usize,
    /// Honest nodes that crash and restart (one to three times each).
    pub crash_restart: usize,
    /// One more node (not a validator, not a miner) joins late with an empty store.
    pub late_joiner: bool,
    /// GST is uniform in `[0, max_gst_slots]` slots of 2Δ; before it the network holds
    /// messages at random or splits the nodes into two partitions that heal at GST.
    pub max_gst_slots: u64,
    /// Before GST each message is also lost with this probability (gossip relays and
    /// block sync must make up for it).
    pub loss: f64,
    /// Δ, milliseconds.
    pub delta_ms: u64,
    /// Transactions the wallet submits.
    pub txs: usize,
    /// The seed: the run is a function of it.
    pub seed: u64,
    /// Deliberately broken behaviours of the honest nodes (self-tests).
    pub faults: Faults,
}

impl Scenario {
    /// `n` nodes, f = ⌊(n-1)/3⌋ of them Byzantine with `adversary` (none with
    /// [`Adversary::None`]), f honest nodes that crash and restart, a late joiner, GST up
    /// to 12 slots, Δ = 100 ms, 40 transactions.
    pub fn new(protocol: ProtocolKind, n: usize, adversary: Adversary, seed: u64) -> Self {
        let f = (n.max(1) - 1) / 3;
        Scenario {
            protocol,
            n,
            adversary,
            byzantine: if adversary == Adversary::None { 0 } else { f },
            crash_restart: f.max(1),
            late_joiner: true,
            max_gst_slots: 12,
            loss: 0.02,
            delta_ms: 100,
            txs: 40,
            seed,
            faults: Faults::none(),
        }
    }
}

/// Something a run did that it must never do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Two honest nodes finalized or executed different blocks at one height.
    Conflict {
        /// Height.
        height: u64,
        /// One node and its block.
        a: (NodeId, Hash),
        /// The other.
        b: (NodeId, Hash),
    },
    /// A node's executed blocks are not one chain from genesis.
    BrokenChain {
        /// The node.
        node: NodeId,
        /// The height where it broke.
        height: u64,
    },
    /// Different state roots at one executed height.
    RootMismatch {
        /// Height.
        height: u64,
        /// The two nodes.
        nodes: (NodeId, NodeId),
    },
    /// An honest validator equivocated (seen by an honest node).
    HonestEquivocated {
        /// The node that recorded the evidence.
        seen_by: NodeId,
        /// The honest offender.
        offender: PublicKey,
    },
    /// An honest node's alarm: a conflicting chain met the finality rule.
    ConflictAlarm {
        /// The node.
        node: NodeId,
    },
    /// An honest node did not finalize in time after the faults ended.
    NotLive {
        /// The node.
        node: NodeId,
        /// The deadline (virtual time).
        deadline: Time,
    },
    /// An honest node did not catch up by the end.
    Behind {
        /// The node.
        node: NodeId,
        /// Its executed height.
        height: u64,
        /// The height the highest honest node had executed [`CATCH_UP_MS`] before the
        /// end.
        best: u64,
    },
    /// A node failed (restore, execution, serving sync): a bug.
    Fatal {
        /// The node.
        node: NodeId,
        /// What failed.
        reason: String,
    },
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The trace hash: equal for equal scenarios.
    pub trace_hash: u64,
    /// Everything the checkers found (empty: the run is correct).
    pub violations: Vec<Violation>,
    /// Message accounting.
    pub stats: Stats,
    /// Virtual time simulated.
    pub simulated: Time,
    /// T*: when the faults ended (see the module docs).
    pub faults_end: Time,
    /// Executed height of each honest node at the end.
    pub honest_heights: Vec<(NodeId, u64)>,
    /// Transactions in executed blocks (at the highest honest node).
    pub executed_txs: u64,
    /// Crashes that happened.
    pub crashes: usize,
}

impl Outcome {
    /// True if no checker found anything.
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }
}

struct Layout {
    genesis: Arc<Genesis>,
    accounts: Vec<Keypair>,
    slot_us: u64,
}

fn layout(s: &Scenario) -> Layout {
    let accounts: Vec<Keypair> = (0..ACCOUNTS)
        .map(|i| Keypair::for_testing(&format!("node-sim/acct{i}")))
        .collect();
    let addrs: Vec<PublicKey> = accounts.iter().map(|k| k.public()).collect();
    let validators: Vec<PublicKey> = match s.protocol {
        ProtocolKind::Streamlet => (0..s.n).map(sim_validator_key).collect(),
        ProtocolKind::Nakamoto => Vec::new(),
    };
    let mut g = Genesis::for_testing(&addrs, &validators);
    g.chain_id = "node-sim".into();
    g.consensus = match s.protocol {
        ProtocolKind::Streamlet => ConsensusParams::Streamlet(StreamletParams {
            delta_ms: s.delta_ms,
        }),
        ProtocolKind::Nakamoto => ConsensusParams::Nakamoto(NakamotoParams {
            target_block_ms: 4 * s.delta_ms,
            retarget_interval: 16,
            // Deep enough that no side of a pre-GST partition (at most 12 slots of 2Δ,
            // 6 block intervals) nor a selfish miner with a quarter of the work finalizes
            // a chain of its own: a side with half the miners expects 3 blocks in that
            // time, and P(17 or more) is negligible (Poisson). With k = 4 the 1,000-seed
            // sweep had 147 runs of 4,000 with conflicting final blocks; with k = 12, one
            // (seed 285: a selfish miner keeping two halves of the honest work on equal
            // branches for 13 blocks); with k = 16, none (crates/node-sim/README.md).
            finality_depth: NAKAMOTO_FINALITY_DEPTH,
            initial_difficulty: 4,
            max_retarget_factor: 4,
        }),
    };
    Layout {
        genesis: Arc::new(g),
        accounts,
        slot_us: 2 * s.delta_ms * 1000,
    }
}

/// Runs a scenario and checks it.
pub fn run(s: &Scenario) -> Outcome {
    run_traced(s, false).0
}

/// [`run`], also returning every observation of the run in order (`keep`; else empty),
/// for investigating a seed.
pub fn run_traced(s: &Scenario, keep: bool) -> (Outcome, Vec<(Time, NodeId, NodeObs)>) {
    let Layout {
        genesis,
        accounts,
        slot_us,
    } = layout(s);
    let mut rng = ChaCha8Rng::seed_from_u64(mix(s.seed, 0x6e6f_6465_7369_6d00));
    let n = s.n.max(1);
    let joiner = s.late_joiner.then_some(n);
    let full_nodes = n + usize::from(s.late_joiner);
    let total = full_nodes + 1;

    // Who is Byzantine, who crashes.
    let mut ids: Vec<usize> = (0..n).collect();
    ids.shuffle(&mut rng);
    let f = if s.adversary == Adversary::None {
        0
    } else {
        s.byzantine.min(n)
    };
    let byzantine: Vec<bool> = (0..total).map(|i| ids[..f].contains(&i)).collect();
    let crashing: Vec<usize> = ids[f..(f + s.crash_restart).min(n)].to_vec();

    // The network: partial synchrony, partitions or random holds before GST.
    let gst = Time(rng.gen_range(0..=s.max_gst_slots * slot_us));
    let pre_gst = if rng.gen_bool(0.5) {
        PreGst::RandomHold
    } else {
        PreGst::Split {
            group: (0..total).map(|_| rng.gen_range(0..2u8)).collect(),
        }
    };
    let network: Box<dyn NetworkModel> = Box::new(Lossy {
        inner: PartialSynchrony {
            gst,
            delta_us: s.delta_ms * 1000,
            pre_gst,
        },
        loss: s.loss,
        until: Some(gst),
    });

    // Crash plans and the end of the faults.
    let crash_window = (s.max_gst_slots + 10) * slot_us;
    let mut plans: BTreeMap<usize, Vec<CrashPlan>> = BTreeMap::new();
    // Messages lost before GST are made up by block sync.
    let mut faults_end = if s.loss > 0.0 {
        gst.plus(CATCH_UP_MS * 1000)
    } else {
        gst
    };
    for &node in &crashing {
        let count = rng.gen_range(1..=3);
        let mut at = 0;
        let mut list = Vec::new();
        for _ in 0..count {
            at += rng.gen_range(slot_us..=crash_window / count);
            let point = CrashPoint::ALL[rng.gen_range(0..CrashPoint::ALL.len())];
            let downtime_us = if rng.gen_bool(0.5) {
                rng.gen_range(1_000..=slot_us / 2)
            } else {
                rng.gen_range(slot_us..=4 * slot_us)
            };
            list.push(CrashPlan {
                at: Time(at),
                point,
                downtime_us,
            });
            // A plan lands by `at + 2 s` at the latest (see `node`).
            let restarted = Time(at + 2_000_000 + downtime_us);
            faults_end = faults_end.max(restarted.plus(CATCH_UP_MS * 1000));
            at += 2_000_000 + downtime_us;
        }
        plans.insert(node, list);
    }
    let join_at = Time(rng.gen_range(5..=15) * slot_us);
    if joiner.is_some() {
        faults_end = faults_end.max(join_at.plus(CATCH_UP_MS * 1000));
    }

    // The nodes.
    let peers_of = |me: usize| (0..full_nodes).filter(|&p| p != me).collect::<Vec<_>>();
    let alpha = 0.25;
    let honest_miners = n - f;
    let mut nodes: Vec<Box<dyn Node<Wire, NodeObs>>> = Vec::new();
    for (i, &corrupt) in byzantine.iter().enumerate().take(full_nodes) {
        if corrupt {
            nodes.push(byzantine_node(s, &genesis, i, alpha));
            continue;
        }
        let is_joiner = Some(i) == joiner;
        let (validator, mining) = match s.protocol {
            ProtocolKind::Streamlet if !is_joiner => (Some(sim_validator_key(i)), None),
            ProtocolKind::Nakamoto if !is_joiner => {
                let share = if f > 0 { 1.0 - alpha } else { 1.0 } / honest_miners as f64;
                (None, Some((share, sim_miner_key(i))))
            }
            _ => (None, None),
        };
        nodes.push(Box::new(SimNode::new(NodeSetup {
            genesis: genesis.clone(),
            validator,
            mining,
            peers: peers_of(i),
            crashes: plans.remove(&i).unwrap_or_default(),
            join_at: is_joiner.then_some(join_at),
            exec_us: 2_000,
            faults: s.faults,
        })));
    }
    let client_gap = (faults_end.0 / s.txs.max(1) as u64).max(slot_us / 4);
    nodes.push(Box::new(Client::new(ClientPlan {
        chain_id: genesis.chain_id.clone(),
        accounts,
        nodes: (0..full_nodes).collect(),
        txs: s.txs,
        mean_gap_us: client_gap,
    })));

    let mut sim = Simulation::new(s.seed, nodes, network);
    // Run to T*, then state the liveness deadline from where the honest nodes are.
    sim.run_until(faults_end);
    let (deadline, window) = match s.protocol {
        ProtocolKind::Streamlet => {
            // E*: the highest epoch an honest node had entered by T*. Every honest
            // node leaves an epoch within its 2Δ timeout (sooner when a block of it is
            // notarized) and joins a later one as soon as f+1 validators are there, so
            // after T* the honest nodes pass one epoch per 2Δ at least, together
            // (within Δ). Theorem 6 of Chan and Shi, in the node's own epochs: for the
            // first epochs w..w+4 after E* whose leaders are all honest, a block of
            // epoch >= w is final at every honest node by the end of epoch w+4, that
            // is by T* + (w + 5 - E*) x 2Δ, plus Δ for the stragglers.
            let e_star = sim
                .observations()
                .iter()
                .filter_map(|(_, node, o)| match o {
                    NodeObs::Epoch(e) if !byzantine[*node] => Some(*e),
                    _ => None,
                })
                .max()
                .unwrap_or(0);
            let first = e_star + 1;
            let w = streamlet_liveness_window(first, first + 400, |e| {
                !byzantine[leader_index(e, n) as usize]
            });
            let epochs = w.map_or(400, |w| w + 5 - e_star);
            (faults_end.plus(epochs * slot_us + s.delta_ms * 1000), w)
        }
        ProtocolKind::Nakamoto => (
            faults_end.plus((NAKAMOTO_FINALITY_DEPTH + 30) * 4 * s.delta_ms * 1000),
            None,
        ),
    };
    let end = deadline
        .plus(2 * slot_us)
        .max(faults_end.plus(CATCH_UP_MS * 1000 * 2));
    sim.run_until(end);

    let honest: Vec<bool> = (0..full_nodes).map(|i| !byzantine[i]).collect();
    let honest_keys: Vec<PublicKey> = (0..n)
        .filter(|&i| honest[i])
        .map(|i| match s.protocol {
            ProtocolKind::Streamlet => sim_validator_key(i),
            ProtocolKind::Nakamoto => sim_miner_key(i),
        })
        .collect();
    let check = Check {
        genesis: genesis.block().hash(),
        honest: &honest,
        honest_keys: &honest_keys,
        observations: sim.observations(),
        faults_end,
        deadline,
        window,
        caught_up_by: Time(end.0.saturating_sub(CATCH_UP_MS * 1000)),
    };
    let (violations, honest_heights, executed_txs) = check.run();
    let crashes = sim
        .observations()
        .iter()
        .filter(|(_, _, o)| *o == NodeObs::Crashed)
        .count();
    let kept = if keep {
        sim.observations().to_vec()
    } else {
        Vec::new()
    };
    (
        Outcome {
            trace_hash: sim.trace_hash(),
            violations,
            stats: sim.stats().clone(),
            simulated: end,
            faults_end,
            honest_heights,
            executed_txs,
            crashes,
        },
        kept,
    )
}

fn byzantine_node(
    s: &Scenario,
    genesis: &Genesis,
    i: usize,
    alpha: f64,
) -> Box<dyn Node<Wire, NodeObs>> {
    match s.protocol {
        ProtocolKind::Streamlet => {
            let cfg = StreamletConfig::from_genesis(genesis).unwrap_or_else(|e| {
                panic!("the simulated genesis is a valid Streamlet genesis: {e}")
            });
            let key = sim_validator_key(i);
            let inner = HonestStreamlet::new(cfg, key);
            let adv: Box<dyn Node<_, _>> = match s.adversary {
                Adversary::EquivocatingLeader => Box::new(EquivocatingLeader::new(inner, key)),
                Adversary::VoteWithholder => Box::new(VoteWithholder::new(inner, key)),
                Adversary::DoubleVoter => Box::new(DoubleVoter::new(inner, key)),
                Adversary::None | Adversary::SelfishMiner => Box::new(inner),
            };
            Box::new(Byzantine::<StreamletCodec>::new(adv))
        }
        ProtocolKind::Nakamoto => {
            let cfg = NakamotoConfig::from_genesis(genesis).unwrap_or_else(|e| {
                panic!("the simulated genesis is a valid Nakamoto genesis: {e}")
            });
            let ConsensusParams::Nakamoto(p) = &genesis.consensus else {
                unreachable!("a Nakamoto scenario has a Nakamoto genesis")
            };
            let d = Discovery {
                share: alpha,
                interval_us: p.target_block_ms as f64 * 1000.0,
                initial_work: u256_f64(&cfg.initial_target.work()),
                generation: 0,
            };
            Box::new(Byzantine::<NakamotoCodec>::new(Box::new(
                SelfishMiner::new(cfg, sim_miner_key(i), d),
            )))
        }
    }
}

struct Check<'a> {
    genesis: Hash,
    honest: &'a [bool],
    honest_keys: &'a [PublicKey],
    observations: &'a [(Time, NodeId, NodeObs)],
    faults_end: Time,
    deadline: Time,
    window: Option<u64>,
    caught_up_by: Time,
}

impl Check<'_> {
    fn run(&self) -> (Vec<Violation>, Vec<(NodeId, u64)>, u64) {
        let mut violations = Vec::new();
        let honest = |n: NodeId| self.honest.get(n).copied().unwrap_or(false);
        let mut by_height: BTreeMap<u64, (NodeId, Hash)> = BTreeMap::new();
        let mut roots: BTreeMap<u64, (NodeId, Hash)> = BTreeMap::new();
        let mut chain: BTreeMap<NodeId, (u64, Hash)> = BTreeMap::new();
        let mut executed_txs: BTreeMap<NodeId, u64> = BTreeMap::new();
        let mut live: BTreeMap<NodeId, bool> = BTreeMap::new();
        for (time, node, o) in self.observations {
            let node = *node;
            if !honest(node) {
                continue;
            }
            let mut agree = |height: u64, hash: Hash, v: &mut Vec<Violation>| {
                let e = by_height.entry(height).or_insert((node, hash));
                if e.1 != hash {
                    v.push(Violation::Conflict {
                        height,
                        a: *e,
                        b: (node, hash),
                    });
                }
            };
            match o {
                NodeObs::Finalized {
                    hash,
                    height,
                    epoch,
                } => {
                    agree(*height, *hash, &mut violations);
                    if let Some(w) = self.window {
                        if *epoch >= w && *time <= self.deadline {
                            live.insert(node, true);
                        }
                    }
                }
                NodeObs::Executed {
                    hash,
                    parent,
                    height,
                    root,
                    txs,
                    ..
                } => {
                    agree(*height, *hash, &mut violations);
                    let (h, prev) = chain.get(&node).copied().unwrap_or((0, self.genesis));
                    if *height != h + 1 || *parent != prev {
                        violations.push(Violation::BrokenChain {
                            node,
                            height: *height,
                        });
                    }
                    chain.insert(node, (*height, *hash));
                    *executed_txs.entry(node).or_default() += u64::from(*txs);
                    let r = roots.entry(*height).or_insert((node, *root));
                    if r.1 != *root {
                        violations.push(Violation::RootMismatch {
                            height: *height,
                            nodes: (r.0, node),
                        });
                    }
                    if self.window.is_none() && *time > self.faults_end && *time <= self.deadline {
                        live.insert(node, true);
                    }
                }
                NodeObs::Evidence { offender } if self.honest_keys.contains(offender) => {
                    violations.push(Violation::HonestEquivocated {
                        seen_by: node,
                        offender: *offender,
                    });
                }
                NodeObs::ConflictAlarm => violations.push(Violation::ConflictAlarm { node }),
                NodeObs::Fatal(reason) => violations.push(Violation::Fatal {
                    node,
                    reason: reason.clone(),
                }),
                _ => {}
            }
        }
        let honest_nodes: Vec<NodeId> = (0..self.honest.len()).filter(|&n| honest(n)).collect();
        for &node in &honest_nodes {
            if !live.get(&node).copied().unwrap_or(false) {
                violations.push(Violation::NotLive {
                    node,
                    deadline: self.deadline,
                });
            }
        }
        let heights: Vec<(NodeId, u64)> = honest_nodes
            .iter()
            .map(|&n| (n, chain.get(&n).map_or(0, |c| c.0)))
            .collect();
        // The height the best honest node had executed CATCH_UP_MS before the end.
        let best = self
            .observations
            .iter()
            .filter(|(time, node, _)| honest(*node) && *time <= self.caught_up_by)
            .filter_map(|(_, _, o)| match o {
                NodeObs::Executed { height, .. } => Some(*height),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        for &(node, height) in &heights {
            if height < best {
                violations.push(Violation::Behind { node, height, best });
            }
        }
        let txs = executed_txs.values().copied().max().unwrap_or(0);
        (violations, heights, txs)
    }
}
