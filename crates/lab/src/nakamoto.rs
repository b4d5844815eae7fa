//! Proof-of-work experiments: the consensus crate's Nakamoto miners on the simulator,
//! and the classic closed forms next to them.
//!
//! - [`run_pow`]: honest miners (the simulator's [`HonestMiner`]: the node's state
//!   machine plus Poisson block discovery and real nonce search) under a fixed or
//!   uniform propagation delay, optionally partitioned. Reports the stale-block rate,
//!   main-chain growth and common-prefix violations by depth k (Garay-Kiayias-Leonardos:
//!   "the chain without its last k blocks is a prefix of every later chain of every
//!   honest player").
//! - [`stale_rate_formula`] and [`stale_rate_first_order`]: the analytic stale rate of
//!   honest miners when every block reaches every miner exactly Δ after it is found
//!   (total block rate λ, h equal miners).
//! - Double spending ([`simulate_double_spend`]): Nakamoto's whitepaper estimate
//!   ([`nakamoto_double_spend`]) and Rosenfeld's exact probability
//!   ([`rosenfeld_double_spend`]), next to an event-driven race of the two Poisson
//!   mining processes in Rosenfeld's model.
//! - Selfish mining ([`simulate_selfish`]): Eyal and Sirer's Algorithm 1 against the
//!   honest longest-chain rule with tie-breaking γ, block by block from one seed, next
//!   to their closed form ([`eyal_sirer_revenue`]); and the full-stack selfish miner of
//!   the simulator ([`selfish_full_stack`]).

use crate::error::{LabError, Result};
use ledger_consensus::nakamoto::NakamotoConfig;
use ledger_simulator::checkers::CommonPrefixChecker;
use ledger_simulator::core::{mix, Node, Simulation, Time};
pub use ledger_simulator::nakamoto::eyal_sirer_revenue;
use ledger_simulator::nakamoto::{
    run_nakamoto, sim_miner_key, u256_f64, Discovery, HonestMiner, NakamotoObs, NakamotoScenario,
    SimBlock,
};
use ledger_simulator::network::{NetworkModel, Partitioned, Synchronous};
use ledger_types::genesis::NakamotoParams;
use ledger_types::{ConsensusParams, Genesis, Hash};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// How long a block takes to reach another miner.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delay {
    /// Exactly this many milliseconds.
    Fixed(f64),
    /// Uniform in `[0, max]` milliseconds.
    Uniform(f64),
}

/// One proof-of-work run with honest miners.
#[derive(Clone, Debug)]
pub struct PowScenario {
    /// Honest miners, equal hash power.
    pub miners: usize,
    /// Propagation delay.
    pub delay: Delay,
    /// The miners are split in two halves (even and odd ids) that cannot hear each
    /// other for this long, milliseconds (0: no partition).
    pub partition_ms: u64,
    /// Target (and, without retargeting, actual) mean block interval T = 1/λ, ms.
    pub block_interval_ms: u64,
    /// Stop once the first miner's chain is this long.
    pub blocks: u64,
    /// Track common prefix (costs time on long runs).
    pub common_prefix: bool,
    /// The seed.
    pub seed: u64,
}

impl PowScenario {
    /// `miners` honest miners, fixed delay `delay_ms`, T = 1 s, `blocks` blocks.
    pub fn fixed(miners: usize, delay_ms: f64, blocks: u64, seed: u64) -> Self {
        PowScenario {
            miners,
            delay: Delay::Fixed(delay_ms),
            partition_ms: 0,
            block_interval_ms: 1000,
            blocks,
            common_prefix: false,
            seed,
        }
    }
}

/// What a proof-of-work run produced.
#[derive(Clone, Debug, Serialize)]
pub struct PowRun {
    /// Miners.
    pub miners: usize,
    /// λΔ: the delay in block intervals (for a uniform delay, its maximum).
    pub lambda_delta: f64,
    /// Blocks mined (all miners), up to the measured height.
    pub mined: u64,
    /// Blocks of the first miner's final chain up to the measured height.
    pub main_chain: u64,
    /// Fraction of mined blocks not on the main chain.
    pub stale_rate: f64,
    /// Binomial standard error of `stale_rate`.
    pub stale_stderr: f64,
    /// [`stale_rate_formula`] for this λΔ and miner count.
    pub stale_formula: f64,
    /// [`stale_rate_first_order`] for this λΔ and miner count.
    pub stale_first_order: f64,
    /// Main-chain blocks per block interval (λ = 1).
    pub growth_per_interval: f64,
    /// Common-prefix violations for k = 1..=10 (index k−1), if tracked.
    pub cp_violations_by_depth: Vec<u64>,
    /// Deepest fork seen below an honest tip.
    pub max_fork_depth: u64,
    /// Messages sent.
    pub messages: u64,
    /// Virtual time, milliseconds.
    pub duration_ms: u64,
    /// Trace hash.
    pub trace_hash: u64,
}

/// Heights this close to the tip are not counted (their fate is still open).
const TIP_MARGIN: u64 = 20;

/// The analytic stale rate for `h` equal miners under a fixed delay Δ (λ = total block
/// rate), from the renewal argument: once the longest chain first reaches a new height
/// at time s (by miner A), the next height comes from A's own next block (rate λ/h,
/// from s) or from any block found after s + Δ, when everyone has heard of A's (rate λ).
/// Ignoring the rare miners that found a competing block within (s, s + Δ) and extend
/// it, the expected gap is `E = (h/λ)(1 − e^{−λΔ/h}) + e^{−λΔ/h}/λ`, the chain grows at
/// 1/E and the stale fraction of mined blocks is `1 − 1/(λE)`. As h → ∞ this is
/// exactly `λΔ/(1 + λΔ)` (growth λ/(1+λΔ), Sompolinsky and Zohar's bound); to first
/// order in λΔ it is [`stale_rate_first_order`].
pub fn stale_rate_formula(lambda_delta: f64, h: usize) -> f64 {
    let x = lambda_delta.max(0.0);
    let h = h.max(1) as f64;
    let own = (-x / h).exp();
    let expected_gap = h * (1.0 - own) + own; // in block intervals 1/λ
    1.0 - 1.0 / expected_gap
}

/// The first-order stale rate: a block is stale when a miner other than its finder
/// finds a competing block during the Δ it takes to propagate,
/// `1 − e^{−λΔ(h−1)/h}` (`1 − e^{−λΔ}` for many miners). Good for small λΔ.
pub fn stale_rate_first_order(lambda_delta: f64, h: usize) -> f64 {
    let others = if h <= 1 {
        0.0
    } else {
        (h as f64 - 1.0) / h as f64
    };
    1.0 - (-lambda_delta * others).exp()
}

/// The configuration of simulated proof of work with fixed difficulty and no finality
/// interference (k = 10,000): Nakamoto's longest chain as in the papers.
fn pow_config(block_interval_ms: u64) -> NakamotoConfig {
    let mut genesis = Genesis::for_testing(&[], &[]);
    genesis.consensus = ConsensusParams::Nakamoto(NakamotoParams {
        target_block_ms: block_interval_ms.max(1),
        retarget_interval: 1 << 40,
        finality_depth: 10_000,
        initial_difficulty: 4,
        max_retarget_factor: 4,
    });
    match NakamotoConfig::from_genesis(&genesis) {
        Ok(c) => c,
        Err(e) => panic!("the lab's proof-of-work genesis is valid: {e}"),
    }
}

/// Runs honest miners and measures stale rate, growth and common prefix.
pub fn run_pow(s: &PowScenario) -> Result<PowRun> {
    if s.miners == 0 {
        return Err(LabError::invalid("miners", "at least one"));
    }
    if s.blocks == 0 || s.block_interval_ms == 0 {
        return Err(LabError::invalid(
            "blocks",
            "at least one block and a positive interval",
        ));
    }
    let (delay_ms, min_us, max_us) = match s.delay {
        Delay::Fixed(d) if d >= 0.0 => {
            let us = (d * 1000.0).round().max(1.0) as u64;
            (d, us, us)
        }
        Delay::Uniform(d) if d >= 0.0 => (d, 1, (d * 1000.0).round().max(1.0) as u64),
        _ => return Err(LabError::invalid("delay", "must not be negative")),
    };
    let cfg = pow_config(s.block_interval_ms);
    let genesis_hash = cfg.genesis.hash();
    let initial_work = u256_f64(&cfg.initial_target.work());
    let interval_us = s.block_interval_ms as f64 * 1000.0;
    let h = s.miners;
    let nodes: Vec<Box<dyn Node<SimBlock, NakamotoObs>>> = (0..h)
        .map(|i| -> Box<dyn Node<SimBlock, NakamotoObs>> {
            let d = Discovery {
                share: 1.0 / h as f64,
                interval_us,
                initial_work,
                generation: 0,
            };
            Box::new(HonestMiner::new(cfg.clone(), sim_miner_key(i), d))
        })
        .collect();
    let sync = Synchronous {
        min_us,
        delta_us: max_us,
    };
    let network: Box<dyn NetworkModel> = if s.partition_ms > 0 {
        Box::new(Partitioned {
            inner: sync,
            group: (0..h).map(|i| (i % 2) as u8).collect(),
            heal_at: Time::from_ms(s.partition_ms),
        })
    } else {
        Box::new(sync)
    };
    let mut sim = Simulation::new(mix(s.seed, 0x0070_6f77), nodes, network);

    // Run in chunks until miner 0's tip is high enough.
    let target = s.blocks + TIP_MARGIN;
    let chunk = (interval_us * 100.0) as u64;
    let mut until = Time(chunk);
    let mut heights: BTreeMap<Hash, (Hash, u64)> = BTreeMap::new();
    let mut scanned = 0usize;
    let mut tip0 = (genesis_hash, 0u64);
    let mut tip0_times: Vec<(Time, u64)> = Vec::new();
    loop {
        sim.run_until(until);
        for (time, node, o) in &sim.observations()[scanned..] {
            match o {
                NakamotoObs::Mined {
                    hash,
                    parent,
                    height,
                    ..
                } => {
                    heights.insert(*hash, (*parent, *height));
                }
                NakamotoObs::Tip { hash } if *node == 0 => {
                    if let Some(&(_, ht)) = heights.get(hash) {
                        tip0 = (*hash, ht);
                        tip0_times.push((*time, ht));
                    }
                }
                _ => {}
            }
        }
        scanned = sim.observations().len();
        if tip0.1 >= target || until.0 as f64 > interval_us * (target as f64 * 50.0 + 1000.0) {
            break;
        }
        until = until.plus(chunk);
    }

    // The main chain: miner 0's final tip back to genesis.
    let measured = tip0.1.saturating_sub(TIP_MARGIN).min(s.blocks);
    let mut main: BTreeSet<Hash> = BTreeSet::new();
    let mut cur = tip0.0;
    while let Some(&(parent, height)) = heights.get(&cur) {
        if height <= measured {
            main.insert(cur);
        }
        cur = parent;
    }
    let mined = heights.values().filter(|(_, ht)| *ht <= measured).count() as u64;
    let main_chain = main.len() as u64;
    let stale_rate = if mined == 0 {
        0.0
    } else {
        1.0 - main_chain as f64 / mined as f64
    };
    let stale_stderr = if mined == 0 {
        0.0
    } else {
        (stale_rate * (1.0 - stale_rate) / mined as f64).sqrt()
    };

    let (mut cp_violations_by_depth, mut max_fork_depth) = (Vec::new(), 0);
    if s.common_prefix {
        let mut cp = CommonPrefixChecker::new(0, vec![true; h], genesis_hash);
        for (time, node, o) in sim.observations() {
            match o {
                NakamotoObs::Mined {
                    hash,
                    parent,
                    height,
                    ..
                } => cp.on_block(*hash, *parent, *height),
                NakamotoObs::Tip { hash } => cp.on_tip(*time, *node, *hash),
                NakamotoObs::Finalized { .. } => {}
            }
        }
        cp_violations_by_depth = (1..=10u64)
            .map(|k| cp.violations().iter().filter(|v| v.depth > k).count() as u64)
            .collect();
        max_fork_depth = cp.max_fork_depth();
    }
    // Growth: the measured height over the time miner 0's chain first reached it.
    let duration_ms = sim.now().as_ms();
    let lambda_delta = delay_ms / s.block_interval_ms as f64;
    let reached_us = tip0_times
        .iter()
        .find(|(_, ht)| *ht >= measured)
        .map_or(sim.now().0, |(t, _)| t.0);
    let growth_per_interval = if reached_us == 0 {
        0.0
    } else {
        measured as f64 / (reached_us as f64 / interval_us)
    };
    Ok(PowRun {
        miners: h,
        lambda_delta,
        mined,
        main_chain,
        stale_rate,
        stale_stderr,
        stale_formula: stale_rate_formula(lambda_delta, h),
        stale_first_order: stale_rate_first_order(lambda_delta, h),
        growth_per_interval,
        cp_violations_by_depth,
        max_fork_depth,
        messages: sim.stats().messages_sent,
        duration_ms,
        trace_hash: sim.trace_hash(),
    })
}

/// Nakamoto's whitepaper estimate (section 11) of the probability that an attacker
/// with hash share `q` ever catches up from `z` blocks behind: "P = 1 − Σ_{k=0}^{z}
/// (λ^k e^{−λ} / k!) (1 − (q/p)^{z−k})" with λ = z q/p.
pub fn nakamoto_double_spend(q: f64, z: u64) -> f64 {
    let p = 1.0 - q;
    if q >= p {
        return 1.0;
    }
    let lambda = z as f64 * q / p;
    let mut sum = 0.0;
    let mut poisson = (-lambda).exp();
    for k in 0..=z {
        if k > 0 {
            poisson *= lambda / k as f64;
        }
        sum += poisson * (1.0 - (q / p).powi((z - k) as i32));
    }
    1.0 - sum
}

/// Rosenfeld's exact double-spend success probability ("Analysis of hashrate-based
/// double spending", 2012/2014) after `n` confirmations for an attacker with share `q`:
/// "r = 1 − Σ_{m=0}^{n} C(m+n−1, m) (p^n q^m − p^m q^n)" for q < p, 1 otherwise. The
/// model: the attacker has pre-mined one block when the merchant's transaction is
/// first confirmed, the number of attacker blocks while the honest network finds n is
/// negative binomial, and the attack succeeds if the attacker's chain ever becomes
/// longer than the honest one.
pub fn rosenfeld_double_spend(q: f64, n: u64) -> f64 {
    let p = 1.0 - q;
    if q >= p {
        return 1.0;
    }
    if n == 0 {
        return 1.0;
    }
    let mut sum = 0.0;
    let mut binom = 1.0; // C(m+n−1, m)
    for m in 0..=n {
        if m > 0 {
            binom *= (m + n - 1) as f64 / m as f64;
        }
        sum += binom * (p.powi(n as i32) * q.powi(m as i32) - p.powi(m as i32) * q.powi(n as i32));
    }
    1.0 - sum
}

/// Simulated double spending by confirmation depth.
#[derive(Clone, Debug, Serialize)]
pub struct DoubleSpendRow {
    /// Attacker's hash share.
    pub q: f64,
    /// Confirmations the merchant waits for.
    pub z: u64,
    /// Attacks simulated.
    pub trials: u64,
    /// Successful attacks.
    pub successes: u64,
    /// `successes / trials`.
    pub rate: f64,
    /// Binomial standard error of `rate` (at the formula's value).
    pub stderr: f64,
    /// Rosenfeld's exact probability.
    pub rosenfeld: f64,
    /// Nakamoto's estimate.
    pub nakamoto: f64,
}

/// Simulates `trials` double-spend attacks (Rosenfeld's model, see
/// [`rosenfeld_double_spend`]): blocks are found by two Poisson processes, the honest
/// network's at rate p and the attacker's at rate q; the next block is the attacker's
/// with probability q (the jump chain of the two processes). The attacker starts one
/// block ahead (pre-mined), keeps its chain private, and wins if, after the honest
/// chain has `z` confirmations, its chain is ever longer. A race is abandoned once the
/// attacker is so far behind that catching up has probability below 1e-12.
pub fn simulate_double_spend(q: f64, z: u64, trials: u64, seed: u64) -> Result<DoubleSpendRow> {
    if !(0.0..1.0).contains(&q) || trials == 0 || z == 0 {
        return Err(LabError::invalid(
            "q/depth/trials",
            "need 0 <= q < 1, at least one confirmation and one trial",
        ));
    }
    let p = 1.0 - q;
    let give_up: i64 = if q < p {
        ((1e-12f64).ln() / (q / p).ln()).ceil() as i64 + 1
    } else {
        i64::MAX
    };
    let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, 0x6473_7065));
    let mut successes = 0;
    for _ in 0..trials {
        let mut attacker: i64 = 1; // pre-mined
        let mut honest: i64 = 0;
        // The merchant waits for z confirmations.
        while honest < z as i64 {
            if rng.gen_bool(q) {
                attacker += 1;
            } else {
                honest += 1;
            }
        }
        // Then the attacker races until it is ahead (or hopelessly behind). With q >= p
        // it is ahead with probability 1; cap the race for termination.
        let mut steps = 0u64;
        loop {
            if attacker > honest {
                successes += 1;
                break;
            }
            if honest - attacker > give_up || steps > 10_000_000 {
                break;
            }
            if rng.gen_bool(q) {
                attacker += 1;
            } else {
                honest += 1;
            }
            steps += 1;
        }
    }
    let rate = successes as f64 / trials as f64;
    let rosenfeld = rosenfeld_double_spend(q, z);
    Ok(DoubleSpendRow {
        q,
        z,
        trials,
        successes,
        rate,
        stderr: (rosenfeld * (1.0 - rosenfeld) / trials as f64).sqrt(),
        rosenfeld,
        nakamoto: nakamoto_double_spend(q, z),
    })
}

/// A selfish-mining run.
#[derive(Clone, Debug, Serialize)]
pub struct SelfishRow {
    /// The pool's hash share.
    pub alpha: f64,
    /// Share of honest miners that mine on the pool's block in a tie.
    pub gamma: f64,
    /// Main-chain blocks settled.
    pub blocks: u64,
    /// Main-chain blocks of the pool.
    pub pool_blocks: u64,
    /// Main-chain blocks of honest miners.
    pub honest_blocks: u64,
    /// Honest blocks orphaned by the pool.
    pub orphaned_honest: u64,
    /// Pool blocks orphaned.
    pub orphaned_pool: u64,
    /// The pool's relative revenue: its share of main-chain blocks.
    pub revenue: f64,
    /// Eyal and Sirer's closed form at (α, γ).
    pub formula: f64,
    /// `revenue − formula`.
    pub difference: f64,
    /// How the run was simulated ("markov" or "full-stack").
    pub engine: &'static str,
}

/// Simulates Eyal and Sirer's selfish mining block by block from one seed.
///
/// Each block is the pool's with probability α. The pool follows their Algorithm 1
/// (see [`ledger_simulator::adversary::SelfishMiner`] for the wording): on its own
/// block, "if Δprev = 0 and privateBranchLen = 2, publish all of the private chain";
/// on others' block, "Δprev = 0: they win, adopt; Δprev = 1: publish the last block
/// (same length, try our luck); Δprev = 2: publish all (pool wins due to the lead of
/// 1); otherwise publish the first unpublished block". Honest miners mine on the longest
/// public chain; in a tie a share γ of them mines on the pool's block. Blocks are
/// counted when their fate is settled (the race ends); revenue is the pool's share of
/// main-chain blocks.
pub fn simulate_selfish(alpha: f64, gamma: f64, blocks: u64, seed: u64) -> Result<SelfishRow> {
    if !(0.0..0.5).contains(&alpha) || !(0.0..=1.0).contains(&gamma) || blocks == 0 {
        return Err(LabError::invalid(
            "alpha/gamma/blocks",
            "need 0 <= alpha < 0.5, 0 <= gamma <= 1 and at least one block",
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, 0x7365_6c66));
    // Branch lengths since the last settled block.
    let (mut private, mut published, mut public) = (0u64, 0u64, 0u64);
    let (mut pool, mut honest, mut orphan_pool, mut orphan_honest) = (0u64, 0u64, 0u64, 0u64);
    while pool + honest < blocks {
        if rng.gen_bool(alpha) {
            // "My pool found a block."
            let delta_prev = private as i64 - public as i64;
            private += 1;
            if delta_prev == 0 && private == 2 {
                // A tie (1 vs 1) broken by the pool: "publish all of the private chain
                // (pool wins due to the lead of 1)".
                pool += private;
                orphan_honest += public;
                (private, published, public) = (0, 0, 0);
            }
            continue;
        }
        // "Others found a block." In a visible tie, a share γ of the honest miners
        // mine on the pool's published branch.
        if published > 0 && published == public && private == published && rng.gen_bool(gamma) {
            pool += private;
            honest += 1;
            orphan_honest += public;
            (private, published, public) = (0, 0, 0);
            continue;
        }
        let delta_prev = private as i64 - public as i64;
        public += 1;
        match delta_prev {
            d if d <= 0 => {
                // "They win": private ← public.
                honest += public;
                orphan_pool += private;
                (private, published, public) = (0, 0, 0);
            }
            1 => {
                // "Now same length. Try our luck": publish the last block.
                published = private;
            }
            2 => {
                // "Pool wins due to the lead of 1": publish all.
                pool += private;
                orphan_honest += public;
                (private, published, public) = (0, 0, 0);
            }
            _ => {
                // "Publish first unpublished block."
                published += 1;
            }
        }
    }
    let revenue = pool as f64 / (pool + honest) as f64;
    let formula = eyal_sirer_revenue(alpha, gamma);
    Ok(SelfishRow {
        alpha,
        gamma,
        blocks: pool + honest,
        pool_blocks: pool,
        honest_blocks: honest,
        orphaned_honest: orphan_honest,
        orphaned_pool: orphan_pool,
        revenue,
        formula,
        difference: revenue - formula,
        engine: "markov",
    })
}

/// The simulator's full-stack selfish miner (the consensus crate's state machines,
/// Poisson mining, the rushing network) with `honest` honest miners. The network gives
/// γ to the honest nodes that hear the pool first, but the honest finder of a block
/// always mines on its own, so the effective γ is `γ (1 − 1/honest)`; the formula
/// column uses that effective γ.
pub fn selfish_full_stack(
    alpha: f64,
    gamma: f64,
    honest: usize,
    blocks: u64,
    seed: u64,
) -> Result<SelfishRow> {
    if !(0.0..0.5).contains(&alpha) || !(0.0..=1.0).contains(&gamma) || blocks == 0 || honest < 2 {
        return Err(LabError::invalid(
            "alpha/gamma/blocks/miners",
            "need 0 <= alpha < 0.5, 0 <= gamma <= 1, a block and two honest miners",
        ));
    }
    let r = run_nakamoto(&NakamotoScenario::selfish(
        alpha, gamma, honest, blocks, seed,
    ));
    let effective_gamma = gamma * (1.0 - 1.0 / honest as f64);
    let formula = eyal_sirer_revenue(alpha, effective_gamma);
    let revenue = r.quality.adversary_share;
    Ok(SelfishRow {
        alpha,
        gamma: effective_gamma,
        blocks: r.quality.blocks as u64,
        pool_blocks: r.quality.adversarial as u64,
        honest_blocks: (r.quality.blocks - r.quality.adversarial) as u64,
        orphaned_honest: 0,
        orphaned_pool: 0,
        revenue,
        formula,
        difference: revenue - formula,
        engine: "full-stack",
    })
}

/// GKL chain quality: with adversarial share α the honest fraction of any long enough
/// chain segment is at least `1 − α/(1 − α)` (μ = 1 − (1+δ)t/(n−t) with δ → 0); the
/// adversary's share is at most α/(1−α).
pub fn gkl_adversary_share_bound(alpha: f64) -> f64 {
    alpha / (1.0 - alpha)
}
