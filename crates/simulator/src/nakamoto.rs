//! Nakamoto in the simulator: honest miners (the consensus crate's state machine plus
//! a Poisson block-discovery process), the selfish miner, and scenario runs checked for
//! common prefix and chain quality.
//!
//! Block discovery: miner i finds blocks as a Poisson process of rate
//! `share_i / target_block_ms * D0 / D`, where `D0` is the genesis difficulty and `D`
//! the difficulty of the block it works on (so retargeting changes the rate exactly as
//! it would for real hash power). When a discovery fires, the miner takes the state
//! machine's template and really solves it (the simulated difficulty is tiny), so every
//! block passes the same proof-of-work check as in the node. Propagation delays come
//! from the network model; honest nodes relay every new block (gossip).

use crate::adversary::SelfishMiner;
use crate::checkers::{chain_quality, ChainQuality, CommonPrefixChecker, FinalizedRecord};
use crate::core::{
    mix, Context, Node, NodeId, PrefixBuild, SimMessage, SimObservation, Simulation, Stats, Time,
};
use crate::network::{NetworkModel, Partitioned, Rushing, Synchronous};
use ledger_consensus::nakamoto::{mine, MiningTemplate, Nakamoto, NakamotoConfig};
use ledger_consensus::{ConsensusMessage, Delivery, Effect, Input, Protocol, U256};
use ledger_types::genesis::NakamotoParams;
use ledger_types::{Block, ConsensusParams, Genesis, Hash, PublicKey};
use rand::Rng;
use std::collections::HashSet;
use std::rc::Rc;

/// A block on the simulated wire, with its hash computed once by the sender. Receivers
/// use the hash only to skip duplicates cheaply (a gossip layer's message id); the state
/// machine recomputes and checks everything on first receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimBlock {
    /// The block.
    pub block: Block,
    /// Its hash.
    pub hash: Hash,
}

impl SimBlock {
    /// Wraps a block.
    pub fn new(block: Block) -> SimBlock {
        SimBlock {
            hash: block.hash(),
            block,
        }
    }
}

impl SimMessage for SimBlock {
    fn wire_bits(&self) -> u64 {
        // Header (Nakamoto variant) + tx vector length + transactions.
        let txs: usize = self
            .block
            .txs
            .iter()
            .map(|t| ledger_types::codec::encode(t).len())
            .sum();
        ((32 + 8 + 32 + 4 + 8 + 32 + 8 + 32 + 8 + txs) * 8) as u64
    }
    fn trace_digest(&self) -> u64 {
        self.hash.prefix_u64()
    }
}

/// What Nakamoto nodes report to the checkers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NakamotoObs {
    /// A block was created (published or not) by `miner`.
    Mined {
        /// Block hash.
        hash: Hash,
        /// Parent hash.
        parent: Hash,
        /// Height.
        height: u64,
        /// Whether the adversary mined it.
        adversarial: bool,
    },
    /// An honest node adopted a new tip.
    Tip {
        /// Tip hash.
        hash: Hash,
    },
    /// A block became final at an honest node.
    Finalized {
        /// The record.
        record: FinalizedRecord,
        /// Who mined it.
        miner: PublicKey,
    },
}

impl SimObservation for NakamotoObs {
    fn trace_digest(&self) -> u64 {
        match self {
            NakamotoObs::Mined { hash, .. } => hash.prefix_u64() ^ 1,
            NakamotoObs::Tip { hash } => hash.prefix_u64() ^ 2,
            NakamotoObs::Finalized { record, .. } => record.hash.prefix_u64() ^ 3,
        }
    }
}

/// Poisson block discovery for one miner.
#[derive(Clone, Debug)]
pub struct Discovery {
    /// Share of the total hash power.
    pub share: f64,
    /// Target block interval, microseconds.
    pub interval_us: f64,
    /// Work of the genesis target (D0).
    pub initial_work: f64,
    /// Timer generation: older timers are stale.
    pub generation: u64,
}

/// A 256-bit number as a float (for rates only).
pub fn u256_f64(x: &U256) -> f64 {
    x.0.iter().rev().fold(0.0, |acc, limb| {
        acc * 18_446_744_073_709_551_616.0 + *limb as f64
    })
}

impl Discovery {
    /// Schedules the next discovery for work on `target` (memoryless: any pending
    /// one is superseded).
    pub fn schedule<M, O>(&mut self, ctx: &mut Context<'_, M, O>, target: &Hash) {
        self.generation += 1;
        if self.share <= 0.0 {
            return;
        }
        let work = u256_f64(&U256::from_hash(target).work()).max(1.0);
        let rate = self.share / self.interval_us * self.initial_work / work;
        let u: f64 = ctx.rng().gen();
        let dt = -(1.0 - u).ln() / rate;
        let at = ctx.now().plus(dt.clamp(1.0, 1e15) as u64);
        ctx.set_timer(at, self.generation);
    }
}

/// Solves a template (the simulated difficulty is tiny).
pub fn solve(t: &MiningTemplate, time_ms: u64, miner: PublicKey) -> Block {
    let mut b = t.block(time_ms, miner, Vec::new());
    while !mine(&mut b, 1 << 20) {}
    b
}

/// An honest miner.
pub struct HonestMiner {
    /// The state machine.
    pub sm: Nakamoto,
    key: PublicKey,
    discovery: Discovery,
    template: MiningTemplate,
    seen: HashSet<Hash, PrefixBuild>,
    out: Vec<Effect>,
}

impl HonestMiner {
    /// A miner with `key` and `discovery` parameters.
    pub fn new(cfg: NakamotoConfig, key: PublicKey, discovery: Discovery) -> Self {
        let sm = Nakamoto::new(cfg);
        let template = sm.template();
        HonestMiner {
            sm,
            key,
            discovery,
            template,
            seen: HashSet::default(),
            out: Vec::new(),
        }
    }

    fn process(&mut self, ctx: &mut Context<'_, SimBlock, NakamotoObs>) {
        let mut out = std::mem::take(&mut self.out);
        for o in out.drain(..) {
            match o {
                Effect::Broadcast(ConsensusMessage::Block(b)) => {
                    ctx.broadcast(Rc::new(SimBlock::new(b)))
                }
                Effect::Head(tip) => ctx.observe(NakamotoObs::Tip { hash: tip.hash }),
                Effect::MiningJob(t) => {
                    let retarget = t.target != self.template.target;
                    self.template = t;
                    if retarget {
                        self.discovery.schedule(ctx, &t.target);
                    }
                }
                Effect::Finalized { block: b, .. } => {
                    let miner = Nakamoto::miner_of(&b).unwrap_or_default();
                    let record = FinalizedRecord {
                        node: ctx.me(),
                        time: ctx.now(),
                        hash: b.hash(),
                        parent: b.header.parent,
                        height: b.height(),
                        epoch: 0,
                    };
                    ctx.observe(NakamotoObs::Finalized { record, miner });
                }
                _ => {}
            }
        }
        self.out = out;
    }
}

impl Node<SimBlock, NakamotoObs> for HonestMiner {
    fn on_start(&mut self, ctx: &mut Context<'_, SimBlock, NakamotoObs>) {
        let t = self.template.target;
        self.discovery.schedule(ctx, &t);
    }
    fn on_message(
        &mut self,
        ctx: &mut Context<'_, SimBlock, NakamotoObs>,
        from: NodeId,
        msg: &Rc<SimBlock>,
    ) {
        if !self.seen.insert(msg.hash) {
            return;
        }
        let step = self.sm.handle(Input::Message {
            message: ConsensusMessage::Block(msg.block.clone()),
            now_ms: ctx.now().as_ms(),
        });
        self.out = step.effects;
        if step.verdict == Ok(Delivery::New) {
            ctx.broadcast_except(Rc::clone(msg), from);
        }
        self.process(ctx);
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, SimBlock, NakamotoObs>, timer: u64) {
        if timer != self.discovery.generation {
            return;
        }
        let block = solve(&self.template, ctx.now().as_ms(), self.key);
        let hash = block.hash();
        self.seen.insert(hash);
        ctx.observe(NakamotoObs::Mined {
            hash,
            parent: block.header.parent,
            height: block.height(),
            adversarial: false,
        });
        self.out = self
            .sm
            .handle(Input::Mined {
                block,
                now_ms: ctx.now().as_ms(),
            })
            .effects;
        self.process(ctx);
        let t = self.template.target;
        self.discovery.schedule(ctx, &t);
    }
}

/// One Nakamoto run.
#[derive(Clone, Debug)]
pub struct NakamotoScenario {
    /// Honest miners (equal shares of the honest hash power).
    pub honest_miners: usize,
    /// Hash-power share of a selfish miner (`None`: no adversary).
    pub selfish_alpha: Option<f64>,
    /// Eyal–Sirer γ: fraction of honest nodes that hear the selfish miner first.
    pub gamma: f64,
    /// Ordinary propagation delay bound, milliseconds (uniform in `[0, max]`).
    pub max_delay_ms: f64,
    /// Honest miners are split into two halves (even and odd ids) that cannot hear each
    /// other for this long, milliseconds (0: no partition). Not with a selfish miner.
    pub partition_ms: u64,
    /// Target block interval, milliseconds.
    pub block_interval_ms: u64,
    /// Difficulty retargeting interval, blocks.
    pub retarget_interval: u64,
    /// Finality depth k.
    pub k: u64,
    /// Stop once the first honest node has this many final blocks.
    pub blocks: u64,
    /// The seed.
    pub seed: u64,
}

impl NakamotoScenario {
    /// Honest miners only, delays at most 1% of the block interval.
    pub fn honest(miners: usize, blocks: u64, seed: u64) -> Self {
        NakamotoScenario {
            honest_miners: miners,
            selfish_alpha: None,
            gamma: 0.0,
            max_delay_ms: 10.0,
            partition_ms: 0,
            block_interval_ms: 1000,
            retarget_interval: 32,
            k: 6,
            blocks,
            seed,
        }
    }

    /// A selfish miner with share `alpha` against `honest` equal honest miners. Eyal and
    /// Sirer's model has no finality and fixed difficulty, so retargeting is off and k
    /// is 5000: a race between the private and the public branch can last hundreds of
    /// blocks near α = 0.5 even when the lead stays small, and with a small k honest
    /// nodes would refuse the pool's deep reorgs (as the node must).
    pub fn selfish(alpha: f64, gamma: f64, honest: usize, blocks: u64, seed: u64) -> Self {
        NakamotoScenario {
            selfish_alpha: Some(alpha),
            gamma,
            max_delay_ms: 1.0,
            k: 5000,
            retarget_interval: 1 << 40,
            ..NakamotoScenario::honest(honest, blocks, seed)
        }
    }
}

/// What a Nakamoto run produced.
#[derive(Clone, Debug)]
pub struct NakamotoRun {
    /// Trace hash.
    pub trace_hash: u64,
    /// Message accounting.
    pub stats: Stats,
    /// Common-prefix violations at depth k.
    pub common_prefix_violations: usize,
    /// Deepest fork below an honest tip.
    pub max_fork_depth: u64,
    /// Chain quality of the first honest node's final chain.
    pub quality: ChainQuality,
    /// Blocks mined in total.
    pub mined: u64,
    /// Fraction of mined blocks that are not on the final chain (stale rate).
    pub stale_rate: f64,
    /// Final height of the first honest node.
    pub final_height: u64,
    /// Safety of final blocks across honest nodes.
    pub safety_ok: bool,
    /// Virtual time simulated.
    pub duration: Time,
}

/// Key of simulated miner `i`.
pub fn sim_miner_key(i: usize) -> PublicKey {
    PublicKey(Hash::tagged("ledger-sim/miner", &[&(i as u64).to_le_bytes()]).0)
}

/// Runs a Nakamoto scenario and checks it.
pub fn run_nakamoto(s: &NakamotoScenario) -> NakamotoRun {
    let mut genesis = Genesis::for_testing(&[], &[]);
    genesis.consensus = ConsensusParams::Nakamoto(NakamotoParams {
        target_block_ms: s.block_interval_ms,
        retarget_interval: s.retarget_interval.max(1),
        finality_depth: s.k.max(1),
        initial_difficulty: 4,
        max_retarget_factor: 4,
    });
    let cfg = match NakamotoConfig::from_genesis(&genesis) {
        Ok(c) => c,
        Err(e) => panic!("simulated genesis is valid: {e}"),
    };
    let genesis_hash = cfg.genesis.hash();
    let initial_work = u256_f64(&cfg.initial_target.work());
    let interval_us = s.block_interval_ms as f64 * 1000.0;
    let alpha = s.selfish_alpha.unwrap_or(0.0).clamp(0.0, 1.0);
    let h = s.honest_miners.max(1);
    let n = h + usize::from(s.selfish_alpha.is_some());
    let mut nodes: Vec<Box<dyn Node<SimBlock, NakamotoObs>>> = Vec::new();
    for i in 0..h {
        let d = Discovery {
            share: (1.0 - alpha) / h as f64,
            interval_us,
            initial_work,
            generation: 0,
        };
        nodes.push(Box::new(HonestMiner::new(cfg.clone(), sim_miner_key(i), d)));
    }
    let selfish_key = sim_miner_key(h);
    if s.selfish_alpha.is_some() {
        let d = Discovery {
            share: alpha,
            interval_us,
            initial_work,
            generation: 0,
        };
        nodes.push(Box::new(SelfishMiner::new(cfg.clone(), selfish_key, d)));
    }
    let delay_us = (s.max_delay_ms * 1000.0).max(1.0) as u64;
    let network: Box<dyn NetworkModel> = if s.selfish_alpha.is_some() {
        let fast = (s.gamma.clamp(0.0, 1.0) * h as f64).round() as usize;
        Box::new(Rushing {
            adversary: h,
            fast_set: (0..n).map(|i| i < fast).collect(),
            base_us: delay_us,
            extra_us: delay_us,
            rush_us: 1,
        })
    } else if s.partition_ms > 0 {
        Box::new(Partitioned {
            inner: Synchronous {
                min_us: 1,
                delta_us: delay_us,
            },
            group: (0..n).map(|i| (i % 2) as u8).collect(),
            heal_at: Time::from_ms(s.partition_ms),
        })
    } else {
        Box::new(Synchronous {
            min_us: 1,
            delta_us: delay_us,
        })
    };
    let mut sim = Simulation::new(mix(s.seed, 0x6e61_6b61), nodes, network);
    let chunk = Time((interval_us * 50.0) as u64);
    let mut until = chunk;
    let (mut scanned, mut finals) = (0usize, 0u64);
    loop {
        sim.run_until(until);
        let obs = sim.observations();
        finals += obs[scanned..]
            .iter()
            .filter(|(_, node, o)| *node == 0 && matches!(o, NakamotoObs::Finalized { .. }))
            .count() as u64;
        scanned = obs.len();
        if finals >= s.blocks || until.0 > (interval_us * (s.blocks as f64 * 20.0 + 1000.0)) as u64
        {
            break;
        }
        until = until.plus(chunk.0);
    }

    let honest: Vec<bool> = (0..n).map(|i| i < h).collect();
    let mut cp = CommonPrefixChecker::new(s.k, honest.clone(), genesis_hash);
    let mut mined = 0u64;
    let mut chain: Vec<bool> = Vec::new();
    let mut records = Vec::new();
    for (time, node, o) in sim.observations() {
        match o {
            NakamotoObs::Mined {
                hash,
                parent,
                height,
                ..
            } => {
                mined += 1;
                cp.on_block(*hash, *parent, *height);
            }
            NakamotoObs::Tip { hash } => cp.on_tip(*time, *node, *hash),
            NakamotoObs::Finalized { record, miner } => {
                records.push(*record);
                if *node == 0 {
                    chain.push(*miner == selfish_key);
                }
            }
        }
    }
    let safety_ok = crate::checkers::check_safety(genesis_hash, &honest, &records).is_ok();
    let final_height = chain.len() as u64;
    NakamotoRun {
        trace_hash: sim.trace_hash(),
        stats: sim.stats().clone(),
        common_prefix_violations: cp.violations().len(),
        max_fork_depth: cp.max_fork_depth(),
        quality: chain_quality(&chain, 100),
        mined,
        stale_rate: if mined == 0 {
            0.0
        } else {
            1.0 - final_height as f64 / mined as f64
        },
        final_height,
        safety_ok,
        duration: sim.now(),
    }
}

/// Eyal and Sirer's closed-form relative revenue of a selfish pool with hash share
/// `alpha` and tie-breaking advantage `gamma` (their equation 8).
pub fn eyal_sirer_revenue(alpha: f64, gamma: f64) -> f64 {
    let a = alpha;
    let num = a * (1.0 - a).powi(2) * (4.0 * a + gamma * (1.0 - 2.0 * a)) - a.powi(3);
    let den = 1.0 - a * (1.0 + (2.0 - a) * a);
    num / den
}
