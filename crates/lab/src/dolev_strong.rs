//! Dolev-Strong Byzantine broadcast (Dolev and Strong, "Authenticated algorithms for
//! Byzantine agreement", 1983), in the wording of Shi, "Foundations of Distributed
//! Consensus and Blockchains", ch. 3, on the simulator's synchronous network.
//!
//! # The protocol
//!
//! A designated sender (node 0) holds an input value; up to `f < n` nodes (possibly the
//! sender) are corrupt. A message `<b>_{1, j_1, ..., j_k}` is the value `b` with a
//! *signature chain*: the sender's signature first, then the signature of each node that
//! relayed it, each signing everything before it.
//!
//! - **Round 1 (the sender).** "The sender sends `<b>_1` to everyone" (and adds `b` to
//!   its own extracted set).
//! - **Rounds r = 1 .. f+1 (everyone).** "For every message `<b>_{1,j_1,...,j_{r-1}}` a
//!   node i receives in round r that carries r valid signatures from r distinct nodes,
//!   the first of which is the sender's: if `b` is not in `extr_i`, add `b` to `extr_i`
//!   and send `<b>_{1,j_1,...,j_{r-1},i}` to everyone" in the next round. A node relays
//!   at most its first two extracted values (a third cannot change its output, and two
//!   already reach every honest node), which keeps the message count at O(n^2).
//! - **Output (end of round f+1).** "If `|extr_i| = 1`, output the single value in
//!   `extr_i`; otherwise output a default value" (here `⊥`, [`None`]).
//!
//! Consistency holds for any `f < n`: if an honest node extracts `b` in round `r <= f`
//! it relays it and every honest node extracts `b` in round `r + 1`; if it extracts `b`
//! in round `f + 1`, the chain carries `f + 1` distinct signatures, one of them honest,
//! and that honest signer extracted and relayed `b` earlier. Validity: an honest
//! sender's value reaches everyone in round 1 and no other value can carry its signature.
//!
//! # Timing
//!
//! Round `r` is the interval `((r-1)R, rR]` of virtual time with `R` = Δ of the
//! [`Synchronous`] network: a message sent at the start of a round arrives within it.
//! Nodes check and extract on arrival, and send their relays at the round's end (the
//! start of the next round), so a relay of round `r` is received in round `r + 1`.
//! Every honest node outputs at time `(f+1)R`, after exactly `f + 1` rounds.
//!
//! # Adversaries ([`DsAdversary`])
//!
//! The corrupt nodes act as one coalition holding all their keys (never the honest
//! ones): `equivocate` (the sender signs two values for two halves of the honest nodes
//! and a third value reaches one honest node, signed by every corrupt node, in round
//! f), `last-round` (the sender stays silent and the coalition releases a value signed by
//! all its members to a few honest nodes only in round f, the last round in which such
//! a chain is accepted, then a second value in round f+1, too late), `withhold` (an
//! honest sender; the corrupt relays never relay, forward the sender's value to one
//! honest node at a time as late as possible, and send chains with forged signatures).

use crate::error::{LabError, Result};
use crate::sig::{Keyring, SigMode};
use ledger_simulator::core::{
    mix, Context, Node, NodeId, SimMessage, SimObservation, Simulation, Time,
};
use ledger_simulator::network::Synchronous;
use ledger_types::{Hash, Signature};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

/// Domain separation tag of every Dolev-Strong signature.
pub const DS_DOMAIN: &str = "ledger-lab/dolev-strong/v1";
/// Bits of the value on the wire.
pub const VALUE_BITS: u64 = 64;
/// Bits of one chain link on the wire: a 32-bit signer index and a 512-bit signature.
pub const LINK_BITS: u64 = 32 + 512;

/// One signature of a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The signer's node index.
    pub signer: u32,
    /// Its signature over the digest of everything before it.
    pub signature: Signature,
}

/// A Dolev-Strong message: a value and its signature chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsMessage {
    /// The value.
    pub value: u64,
    /// The signature chain, sender first.
    pub chain: Vec<Link>,
}

/// The digest the first signer signs: the run's instance and the value.
pub fn root_digest(instance: u64, value: u64) -> Hash {
    Hash::tagged(DS_DOMAIN, &[&instance.to_le_bytes(), &value.to_le_bytes()])
}

/// The digest after one more link: what the next signer signs.
pub fn next_digest(prev: &Hash, link: &Link) -> Hash {
    Hash::tagged(
        DS_DOMAIN,
        &[&prev.0, &link.signer.to_le_bytes(), &link.signature.0],
    )
}

impl DsMessage {
    /// A fresh message signed by `signer` (the sender's first link).
    pub fn new(keys: &Keyring, instance: u64, value: u64, signer: usize) -> DsMessage {
        let d = root_digest(instance, value);
        DsMessage {
            value,
            chain: vec![Link {
                signer: signer as u32,
                signature: keys.sign(signer, &d.0),
            }],
        }
    }

    /// The digest of the whole chain (what the next signer signs).
    pub fn digest(&self, instance: u64) -> Hash {
        self.chain
            .iter()
            .fold(root_digest(instance, self.value), |d, l| next_digest(&d, l))
    }

    /// This message with `signer`'s signature appended.
    pub fn extended(&self, keys: &Keyring, instance: u64, signer: usize) -> DsMessage {
        let d = self.digest(instance);
        let mut m = self.clone();
        m.chain.push(Link {
            signer: signer as u32,
            signature: keys.sign(signer, &d.0),
        });
        m
    }
}

impl SimMessage for DsMessage {
    fn wire_bits(&self) -> u64 {
        VALUE_BITS + LINK_BITS * self.chain.len() as u64
    }
    fn trace_digest(&self) -> u64 {
        self.chain.iter().fold(self.value, |h, l| {
            let mut s = [0u8; 8];
            s.copy_from_slice(&l.signature.0[..8]);
            mix(h, u64::from(l.signer) ^ u64::from_le_bytes(s))
        })
    }
}

/// What Dolev-Strong nodes report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DsObs {
    /// An honest node added `value` to its extracted set in `round`.
    Extracted {
        /// The value.
        value: u64,
        /// The round.
        round: u64,
    },
    /// An honest node's output at the end of `round`.
    Output {
        /// The output, `None` for the default `⊥`.
        value: Option<u64>,
        /// The round it was produced at the end of.
        round: u64,
    },
}

impl SimObservation for DsObs {
    fn trace_digest(&self) -> u64 {
        match self {
            DsObs::Extracted { value, round } => mix(*value, *round),
            DsObs::Output { value, round } => mix(value.unwrap_or(u64::MAX), round.rotate_left(32)),
        }
    }
}

/// The corrupt coalition's behaviour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DsAdversary {
    /// Nobody is corrupt.
    #[default]
    None,
    /// A corrupt sender signs different values for different honest nodes.
    Equivocate,
    /// A corrupt sender releases a value to a few honest nodes only in the last round
    /// in which it can be accepted (round f), and another too late (round f+1).
    LastRound,
    /// An honest sender; corrupt relays withhold, forward selectively and late, and
    /// send chains with forged signatures.
    Withhold,
}

impl DsAdversary {
    /// Every kind, for sweeps.
    pub const ALL: [DsAdversary; 4] = [
        DsAdversary::None,
        DsAdversary::Equivocate,
        DsAdversary::LastRound,
        DsAdversary::Withhold,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            DsAdversary::None => "none",
            DsAdversary::Equivocate => "equivocate",
            DsAdversary::LastRound => "last-round",
            DsAdversary::Withhold => "withhold",
        }
    }

    /// Parses a command-line name.
    pub fn parse(s: &str) -> Result<DsAdversary> {
        DsAdversary::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| LabError::UnknownAdversary {
                protocol: "dolev-strong",
                given: s.to_string(),
                expected: DsAdversary::ALL.map(|a| a.name()).join(", "),
            })
    }

    /// Whether this adversary corrupts the sender (when it corrupts anyone).
    pub fn corrupts_sender(self) -> bool {
        matches!(self, DsAdversary::Equivocate | DsAdversary::LastRound)
    }
}

/// One Dolev-Strong run.
#[derive(Clone, Debug)]
pub struct DsScenario {
    /// Nodes (node 0 is the sender).
    pub n: usize,
    /// Corrupt nodes tolerated, `0 <= f < n`; the adversary corrupts exactly `f` (none
    /// for [`DsAdversary::None`]).
    pub f: usize,
    /// The coalition's behaviour.
    pub adversary: DsAdversary,
    /// The honest sender's input.
    pub value: u64,
    /// Signature scheme.
    pub sig: SigMode,
    /// Round length R = Δ, microseconds.
    pub round_us: u64,
    /// The seed.
    pub seed: u64,
    /// **Demonstration only**: run this many rounds instead of f+1 (fewer rounds break
    /// consistency under the last-round attack).
    pub rounds_override: Option<u64>,
}

impl DsScenario {
    /// `n` nodes, `f` corrupt with `adversary`, real signatures, value 1, R = 1 ms.
    pub fn new(n: usize, f: usize, adversary: DsAdversary, seed: u64) -> Self {
        DsScenario {
            n,
            f,
            adversary,
            value: 1,
            sig: SigMode::Ed25519,
            round_us: 1000,
            seed,
            rounds_override: None,
        }
    }
}

/// One honest node's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DsOutput {
    /// The node.
    pub node: usize,
    /// Its output (`None` = the default ⊥).
    pub value: Option<u64>,
    /// The round it output at the end of.
    pub round: u64,
    /// Virtual time of the output, microseconds.
    pub time_us: u64,
}

/// What a Dolev-Strong run produced.
#[derive(Clone, Debug, Serialize)]
pub struct DsRun {
    /// Nodes.
    pub n: usize,
    /// Corruption bound.
    pub f: usize,
    /// Adversary.
    pub adversary: DsAdversary,
    /// Signature scheme.
    pub sig: SigMode,
    /// Rounds the protocol runs (f+1 unless overridden).
    pub protocol_rounds: u64,
    /// The corrupt nodes.
    pub corrupt: Vec<usize>,
    /// Whether the sender is honest.
    pub sender_honest: bool,
    /// The honest sender's input.
    pub sender_value: u64,
    /// Each honest node's output.
    pub outputs: Vec<DsOutput>,
    /// All honest outputs are equal.
    pub consistent: bool,
    /// With an honest sender: every honest node output its value (`None` otherwise).
    pub valid: Option<bool>,
    /// The round at the end of which every honest node output, if they all did at
    /// the same round.
    pub rounds: Option<u64>,
    /// Messages sent (all nodes).
    pub messages: u64,
    /// Messages sent by honest nodes.
    pub honest_messages: u64,
    /// Signatures carried by all messages.
    pub signatures: u64,
    /// Signatures carried by honest nodes' messages.
    pub honest_signatures: u64,
    /// Bits sent.
    pub bits: u64,
    /// Trace hash.
    pub trace_hash: u64,
}

struct Params {
    n: usize,
    rounds: u64,
    sender: usize,
    round_us: u64,
    instance: u64,
    keys: Keyring,
    honest_sigs: RefCell<u64>,
}

impl Params {
    fn round_at(&self, now: Time) -> u64 {
        now.0.div_ceil(self.round_us)
    }
}

/// An honest Dolev-Strong node.
struct Honest {
    me: usize,
    p: Rc<Params>,
    input: Option<u64>,
    extracted: Vec<u64>,
    relays: Vec<DsMessage>,
    /// Digests of chain prefixes already verified (each signature checked once).
    verified: BTreeSet<[u8; 32]>,
    done: bool,
}

impl Honest {
    /// "r valid signatures from r distinct nodes, the first of which is the sender's."
    fn accepts(&mut self, msg: &DsMessage, round: u64) -> bool {
        let p = &self.p;
        if msg.chain.len() as u64 != round || msg.chain[0].signer as usize != p.sender {
            return false;
        }
        let mut signers = vec![false; p.n];
        for l in &msg.chain {
            let s = l.signer as usize;
            if s >= p.n || signers[s] {
                return false;
            }
            signers[s] = true;
        }
        let mut d = root_digest(p.instance, msg.value);
        for l in &msg.chain {
            let next = next_digest(&d, l);
            if !self.verified.contains(&next.0) {
                if !p.keys.verify(l.signer as usize, &d.0, &l.signature) {
                    return false;
                }
                self.verified.insert(next.0);
            }
            d = next;
        }
        true
    }

    fn broadcast(&self, ctx: &mut Context<'_, DsMessage, DsObs>, msg: DsMessage) {
        *self.p.honest_sigs.borrow_mut() += msg.chain.len() as u64 * (ctx.n() as u64 - 1);
        ctx.broadcast(Rc::new(msg));
    }
}

impl Node<DsMessage, DsObs> for Honest {
    fn on_start(&mut self, ctx: &mut Context<'_, DsMessage, DsObs>) {
        if let Some(v) = self.input {
            // Round 1: "the sender sends <b>_1 to everyone."
            self.extracted.push(v);
            ctx.observe(DsObs::Extracted { value: v, round: 1 });
            let m = DsMessage::new(&self.p.keys, self.p.instance, v, self.me);
            self.broadcast(ctx, m);
        }
        ctx.set_timer(Time(self.p.round_us), 1);
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<'_, DsMessage, DsObs>,
        _from: NodeId,
        msg: &Rc<DsMessage>,
    ) {
        let r = self.p.round_at(ctx.now());
        if self.done || r == 0 || r > self.p.rounds || !self.accepts(msg, r) {
            return;
        }
        // "If b is not in extr_i, add b to extr_i and send <b>_{1,...,i} to everyone."
        if self.extracted.contains(&msg.value) {
            return;
        }
        self.extracted.push(msg.value);
        ctx.observe(DsObs::Extracted {
            value: msg.value,
            round: r,
        });
        if self.extracted.len() <= 2 && r < self.p.rounds {
            let relay = msg.extended(&self.p.keys, self.p.instance, self.me);
            self.relays.push(relay);
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, DsMessage, DsObs>, round: u64) {
        // End of round `round`: relays go out at the start of round `round + 1`.
        for m in std::mem::take(&mut self.relays) {
            self.broadcast(ctx, m);
        }
        if round >= self.p.rounds {
            // "If |extr_i| = 1 output the value in extr_i, else output the default."
            let value = (self.extracted.len() == 1).then(|| self.extracted[0]);
            ctx.observe(DsObs::Output { value, round });
            self.done = true;
        } else {
            ctx.set_timer(Time((round + 1) * self.p.round_us), round + 1);
        }
    }
}

/// The corrupt nodes' shared brain.
struct Coalition {
    p: Rc<Params>,
    strategy: DsAdversary,
    f: usize,
    corrupt: Vec<usize>,
    honest: Vec<usize>,
    /// Chains received from honest nodes (the honest sender's value, in `withhold`).
    seen: Vec<DsMessage>,
}

impl Coalition {
    /// A chain of `value` signed by the first `len` corrupt nodes (the sender first if
    /// it is corrupt).
    fn corrupt_chain(&self, value: u64, len: usize) -> DsMessage {
        let mut m = DsMessage::new(&self.p.keys, self.p.instance, value, self.corrupt[0]);
        for &c in self.corrupt.iter().take(len).skip(1) {
            m = m.extended(&self.p.keys, self.p.instance, c);
        }
        m
    }

    fn send(&self, ctx: &mut Context<'_, DsMessage, DsObs>, to: &[usize], msg: DsMessage) {
        let msg = Rc::new(msg);
        for &t in to {
            ctx.send(t, Rc::clone(&msg));
        }
    }

    /// What the coalition sends at the start of round `s` (s = rounds + 1: after the
    /// last round, too late to count).
    fn act(&mut self, ctx: &mut Context<'_, DsMessage, DsObs>, s: u64) {
        let rounds = self.p.rounds;
        let f = self.f as u64;
        let h = self.honest.clone();
        let last = f.min(rounds).max(1);
        match self.strategy {
            DsAdversary::None => {}
            DsAdversary::Equivocate => {
                if s == 1 {
                    // Two values, two halves of the honest nodes.
                    let half = h.len().div_ceil(2);
                    let a = DsMessage::new(&self.p.keys, self.p.instance, 0, self.corrupt[0]);
                    let b = DsMessage::new(&self.p.keys, self.p.instance, 1, self.corrupt[0]);
                    self.send(ctx, &h[..half], a);
                    self.send(ctx, &h[half..], b);
                }
                if f >= 2 && s == last {
                    // A third value, signed by the whole coalition, to one honest node.
                    let c = self.corrupt_chain(2, last as usize);
                    self.send(ctx, &h[h.len() - 1..], c);
                }
            }
            DsAdversary::LastRound => {
                if s == last {
                    // The last round in which f corrupt signatures are enough.
                    let few = h.len().div_ceil(4).max(1);
                    let m = self.corrupt_chain(7, last as usize);
                    self.send(ctx, &h[..few], m);
                }
                if s == last + 1 {
                    // One round too late: f signatures in round f+1 are rejected.
                    let m = self.corrupt_chain(9, last as usize);
                    self.send(ctx, &h, m);
                }
            }
            DsAdversary::Withhold => {
                // Never relay honestly. Forward the sender's chain, padded with corrupt
                // signatures so it is as late as possible, to one honest node per round.
                if s >= 2 && !h.is_empty() {
                    let seen = self.seen.clone();
                    for m in seen.iter().filter(|m| m.chain.len() == 1) {
                        let want = (s as usize).min(1 + self.corrupt.len());
                        if want as u64 != s || s > rounds {
                            continue;
                        }
                        let mut padded = m.clone();
                        for &c in self.corrupt.iter().take(want - 1) {
                            padded = padded.extended(&self.p.keys, self.p.instance, c);
                        }
                        let target = h[(s as usize) % h.len()];
                        self.send(ctx, &[target], padded);
                    }
                }
                if s <= rounds && !h.is_empty() {
                    // A forged chain: the sender's index with a signature it never made.
                    let mut forged = DsMessage {
                        value: 666,
                        chain: Vec::new(),
                    };
                    for i in 0..s {
                        let signer = if i == 0 {
                            self.p.sender
                        } else {
                            self.corrupt[(i as usize - 1) % self.corrupt.len()]
                        };
                        forged.chain.push(Link {
                            signer: signer as u32,
                            signature: Signature([0x5a ^ (i as u8); 64]),
                        });
                    }
                    self.send(ctx, &h, forged);
                }
            }
        }
    }
}

/// A corrupt node: reports what it receives to the coalition; the first corrupt node
/// sends the coalition's messages.
struct Corrupt {
    me: usize,
    co: Rc<RefCell<Coalition>>,
}

impl Corrupt {
    fn is_actor(&self) -> bool {
        self.co.borrow().corrupt.first() == Some(&self.me)
    }
}

impl Node<DsMessage, DsObs> for Corrupt {
    fn on_start(&mut self, ctx: &mut Context<'_, DsMessage, DsObs>) {
        if self.is_actor() {
            self.co.borrow_mut().act(ctx, 1);
            ctx.set_timer(Time(self.co.borrow().p.round_us), 1);
        }
    }
    fn on_message(
        &mut self,
        _ctx: &mut Context<'_, DsMessage, DsObs>,
        _from: NodeId,
        msg: &Rc<DsMessage>,
    ) {
        let mut co = self.co.borrow_mut();
        if !co.seen.contains(msg) {
            co.seen.push((**msg).clone());
        }
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, DsMessage, DsObs>, round: u64) {
        let (rounds, round_us) = {
            let co = self.co.borrow();
            (co.p.rounds, co.p.round_us)
        };
        self.co.borrow_mut().act(ctx, round + 1);
        if round <= rounds {
            ctx.set_timer(Time((round + 1) * round_us), round + 1);
        }
    }
}

/// Checks a scenario's parameters.
pub fn validate(s: &DsScenario) -> Result<()> {
    if s.n == 0 {
        return Err(LabError::invalid("n", "at least one node is needed"));
    }
    if s.f >= s.n {
        return Err(LabError::invalid(
            "f",
            format!(
                "Dolev-Strong tolerates f <= n-1 corrupt nodes (n = {}, f = {})",
                s.n, s.f
            ),
        ));
    }
    if s.round_us < 2 {
        return Err(LabError::invalid("round length", "at least 2 µs"));
    }
    if s.rounds_override == Some(0) {
        return Err(LabError::invalid("rounds", "at least 1"));
    }
    Ok(())
}

/// Runs one Dolev-Strong instance and checks consistency, validity and the round count.
pub fn run_dolev_strong(s: &DsScenario) -> Result<DsRun> {
    validate(s)?;
    let n = s.n;
    let rounds = s.rounds_override.unwrap_or(s.f as u64 + 1);
    let mut rng = ChaCha8Rng::seed_from_u64(mix(s.seed, 0x6473));
    let f_corrupt = if s.adversary == DsAdversary::None {
        0
    } else {
        s.f
    };
    let mut corrupt: Vec<usize> = Vec::new();
    if f_corrupt > 0 {
        let mut others: Vec<usize> = (1..n).collect();
        others.shuffle(&mut rng);
        if s.adversary.corrupts_sender() {
            corrupt.push(0);
            corrupt.extend(others.into_iter().take(f_corrupt - 1));
        } else {
            corrupt.extend(others.into_iter().take(f_corrupt));
        }
    }
    let honest: Vec<usize> = (0..n).filter(|i| !corrupt.contains(i)).collect();
    let p = Rc::new(Params {
        n,
        rounds,
        sender: 0,
        round_us: s.round_us,
        instance: s.seed,
        keys: Keyring::new(s.sig, n, &format!("dolev-strong/{}", s.seed)),
        honest_sigs: RefCell::new(0),
    });
    let co = Rc::new(RefCell::new(Coalition {
        p: Rc::clone(&p),
        strategy: s.adversary,
        f: f_corrupt,
        corrupt: corrupt.clone(),
        honest: honest.clone(),
        seen: Vec::new(),
    }));
    let nodes: Vec<Box<dyn Node<DsMessage, DsObs>>> = (0..n)
        .map(|i| -> Box<dyn Node<DsMessage, DsObs>> {
            if corrupt.contains(&i) {
                Box::new(Corrupt {
                    me: i,
                    co: Rc::clone(&co),
                })
            } else {
                Box::new(Honest {
                    me: i,
                    p: Rc::clone(&p),
                    input: (i == 0).then_some(s.value),
                    extracted: Vec::new(),
                    relays: Vec::new(),
                    verified: BTreeSet::new(),
                    done: false,
                })
            }
        })
        .collect();
    let network = Synchronous {
        min_us: 1,
        delta_us: s.round_us,
    };
    let mut sim = Simulation::new(s.seed, nodes, Box::new(network));
    sim.run_until(Time((rounds + 1) * s.round_us));

    let mut outputs = Vec::new();
    for (t, node, o) in sim.observations() {
        if let DsObs::Output { value, round } = o {
            outputs.push(DsOutput {
                node: *node,
                value: *value,
                round: *round,
                time_us: t.0,
            });
        }
    }
    outputs.sort_by_key(|o| o.node);
    let all_output = outputs.len() == honest.len();
    let consistent = all_output && outputs.windows(2).all(|w| w[0].value == w[1].value);
    let sender_honest = !corrupt.contains(&0);
    let valid =
        sender_honest.then(|| all_output && outputs.iter().all(|o| o.value == Some(s.value)));
    let rounds_seen = (all_output
        && outputs
            .iter()
            .all(|o| o.round == rounds && o.time_us == rounds * s.round_us))
    .then_some(rounds);
    let stats = sim.stats();
    let honest_messages = honest.iter().map(|i| stats.sent_by_node[*i]).sum();
    let signatures = (stats.bits_sent - VALUE_BITS * stats.messages_sent) / LINK_BITS;
    let honest_signatures = *p.honest_sigs.borrow();
    Ok(DsRun {
        n,
        f: s.f,
        adversary: s.adversary,
        sig: s.sig,
        protocol_rounds: rounds,
        corrupt,
        sender_honest,
        sender_value: s.value,
        outputs,
        consistent,
        valid,
        rounds: rounds_seen,
        messages: stats.messages_sent,
        honest_messages,
        signatures,
        honest_signatures,
        bits: stats.bits_sent,
        trace_hash: sim.trace_hash(),
    })
}

/// Largest number of messages honest nodes send: the sender's n-1, and at most two
/// relays to n-1 nodes by every honest node.
pub fn honest_message_upper_bound(n: usize) -> u64 {
    let n = n as u64;
    (n - 1) + 2 * n * (n - 1)
}

/// Largest number of signatures honest nodes send: every message carries at most
/// f+1 of them (O(n^2 f)).
pub fn honest_signature_upper_bound(n: usize, f: usize) -> u64 {
    honest_message_upper_bound(n) * (f as u64 + 1)
}

/// The Dolev-Reischuk lower bound on messages sent by non-faulty nodes in the worst
/// case: "any deterministic broadcast protocol resilient to f failures has an execution
/// in which the non-faulty parties send more than (f/2)^2 messages", and every node must
/// receive one (n - 1): max(n - 1, (f/2)^2).
pub fn dolev_reischuk_messages(n: usize, f: usize) -> f64 {
    ((n as f64) - 1.0).max((f as f64 / 2.0).powi(2))
}

/// The Dolev-Reischuk lower bound on signatures: Ω(nt); the paper's constant gives
/// n(t+1)/4.
pub fn dolev_reischuk_signatures(n: usize, f: usize) -> f64 {
    n as f64 * (f as f64 + 1.0) / 4.0
}
