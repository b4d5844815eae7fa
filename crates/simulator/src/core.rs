//! The protocol-agnostic core: virtual time, the event queue, the node abstraction,
//! message accounting and the trace hash.
//!
//! A [`Simulation`] owns `n` nodes (`Box<dyn Node<M, O>>`, honest or adversarial), a
//! [`NetworkModel`] and one seed. Events (message deliveries and timers) are processed
//! in `(time, class, sequence)` order: at equal times deliveries come before timers, so
//! a message that arrives exactly at an epoch boundary is seen before the new epoch
//! starts; otherwise first scheduled, first processed. All randomness comes from
//! ChaCha8 generators derived from the seed (one for the network, one per node), so a
//! run is a pure function of its seed and configuration, and [`Simulation::trace_hash`]
//! (a running 64-bit hash of every processed event and observation) proves it.
//!
//! `M` is the protocol's message type (shared between recipients as `Rc<M>`: a
//! broadcast costs one allocation, not n); `O` is what nodes report to the checkers
//! (finalized blocks, tips, ...), recorded with time and node id.

use crate::network::NetworkModel;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::rc::Rc;

/// Index of a node, `0..n`.
pub type NodeId = usize;

/// Virtual time in microseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub u64);

impl Time {
    /// Zero.
    pub const ZERO: Time = Time(0);
    /// A time given in milliseconds.
    pub const fn from_ms(ms: u64) -> Time {
        Time(ms.saturating_mul(1000))
    }
    /// Whole milliseconds (the protocols' clock unit).
    pub const fn as_ms(self) -> u64 {
        self.0 / 1000
    }
    /// `self + us` microseconds, saturating.
    pub const fn plus(self, us: u64) -> Time {
        Time(self.0.saturating_add(us))
    }
}

/// What the simulator needs from a message type.
pub trait SimMessage {
    /// Size on the wire in bits (for the bit complexity accounting).
    fn wire_bits(&self) -> u64;
    /// A cheap digest of the content, folded into the trace hash.
    fn trace_digest(&self) -> u64;
}

/// What the simulator needs from an observation type.
pub trait SimObservation {
    /// A cheap digest of the content, folded into the trace hash.
    fn trace_digest(&self) -> u64;
}

/// A simulated node. Callbacks act through the [`Context`].
pub trait Node<M, O> {
    /// Called once at time 0.
    fn on_start(&mut self, ctx: &mut Context<'_, M, O>);
    /// A message from `from` arrives.
    fn on_message(&mut self, ctx: &mut Context<'_, M, O>, from: NodeId, msg: &Rc<M>);
    /// A timer set with [`Context::set_timer`] fires.
    fn on_timer(&mut self, ctx: &mut Context<'_, M, O>, timer: u64);
}

/// What a node asked for during a callback: a send, a broadcast or a timer. (A node
/// run inside another with [`Context::translate`] hands these to its host.)
#[derive(Debug)]
pub enum Action<M> {
    /// Send `msg` to `to`.
    Send {
        /// Recipient.
        to: NodeId,
        /// The message.
        msg: Rc<M>,
    },
    /// Send `msg` to every other node but `except`.
    Broadcast {
        /// Node left out (besides the sender).
        except: Option<NodeId>,
        /// The message.
        msg: Rc<M>,
    },
    /// Call back `on_timer(id)` at `at`.
    Timer {
        /// When.
        at: Time,
        /// The timer's id.
        id: u64,
    },
}

/// A node's handle on the simulation during a callback.
pub struct Context<'a, M, O> {
    now: Time,
    me: NodeId,
    n: usize,
    actions: &'a mut Vec<Action<M>>,
    observations: &'a mut Vec<(Time, NodeId, O)>,
    trace: &'a mut u64,
    rng: &'a mut ChaCha8Rng,
}

impl<M, O> Context<'_, M, O> {
    /// The current virtual time.
    pub fn now(&self) -> Time {
        self.now
    }
    /// This node's id.
    pub fn me(&self) -> NodeId {
        self.me
    }
    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Sends `msg` to one node (through the network model).
    pub fn send(&mut self, to: NodeId, msg: Rc<M>) {
        self.actions.push(Action::Send { to, msg });
    }
    /// Sends `msg` to every other node.
    pub fn broadcast(&mut self, msg: Rc<M>) {
        self.actions.push(Action::Broadcast { except: None, msg });
    }
    /// Sends `msg` to every other node except `except` (echo/relay).
    pub fn broadcast_except(&mut self, msg: Rc<M>, except: NodeId) {
        self.actions.push(Action::Broadcast {
            except: Some(except),
            msg,
        });
    }
    /// Calls `on_timer(id)` at `at` (or now, if `at` is in the past).
    pub fn set_timer(&mut self, at: Time, id: u64) {
        self.actions.push(Action::Timer { at, id });
    }
    /// This node's deterministic random generator.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        self.rng
    }
}

impl<M, O> Context<'_, M, O> {
    /// Runs `f` with a context for another message and observation type, sharing this
    /// node's clock, id, random generator and trace; returns what `f` returned and the
    /// actions it asked for (its observations are dropped). A host node uses it to run
    /// a protocol-level node (an adversary, say) and carry its messages in its own wire
    /// format.
    pub fn translate<M2, O2, R>(
        &mut self,
        f: impl FnOnce(&mut Context<'_, M2, O2>) -> R,
    ) -> (R, Vec<Action<M2>>) {
        let mut actions = Vec::new();
        let mut observations = Vec::new();
        let mut inner = Context {
            now: self.now,
            me: self.me,
            n: self.n,
            actions: &mut actions,
            observations: &mut observations,
            trace: self.trace,
            rng: self.rng,
        };
        let r = f(&mut inner);
        (r, actions)
    }
}

impl<M, O: SimObservation> Context<'_, M, O> {
    /// Records an observation for the checkers.
    pub fn observe(&mut self, o: O) {
        *self.trace = mix(
            *self.trace,
            o.trace_digest() ^ (self.me as u64).rotate_left(48),
        );
        self.observations.push((self.now, self.me, o));
    }
}

/// Message and event accounting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Point-to-point messages handed to the network (a broadcast to n-1 nodes is n-1).
    pub messages_sent: u64,
    /// Messages delivered to a node.
    pub messages_delivered: u64,
    /// Messages the network dropped.
    pub messages_dropped: u64,
    /// Bits handed to the network.
    pub bits_sent: u64,
    /// Messages sent by each node.
    pub sent_by_node: Vec<u64>,
    /// Timer events processed.
    pub timers: u64,
}

struct Event<M> {
    time: Time,
    class: u8,
    seq: u64,
    kind: EventKind<M>,
}

enum EventKind<M> {
    Deliver { to: u32, from: u32, msg: Rc<M> },
    Timer { node: u32, id: u64 },
}

impl<M> PartialEq for Event<M> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<M> Eq for Event<M> {}
impl<M> PartialOrd for Event<M> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<M> Ord for Event<M> {
    /// Reversed: the heap pops the earliest `(time, class, seq)`.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.class, other.seq).cmp(&(self.time, self.class, self.seq))
    }
}

/// A hasher for keys that are already uniformly random (block hashes): it keeps the
/// first eight bytes written. Lookup-only maps in the simulator use it; nothing iterates
/// them, so determinism does not depend on it.
#[derive(Clone, Copy, Debug, Default)]
pub struct PrefixHasher(u64);

impl std::hash::Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut b = [0u8; 8];
        let n = bytes.len().min(8);
        b[..n].copy_from_slice(&bytes[..n]);
        self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(b);
    }
}

/// `BuildHasher` for [`PrefixHasher`].
pub type PrefixBuild = std::hash::BuildHasherDefault<PrefixHasher>;

/// One 64-bit mixing step (splitmix64 finaliser) for the trace hash.
pub fn mix(h: u64, v: u64) -> u64 {
    let mut z = (h ^ v).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A discrete-event simulation of `n` nodes exchanging `M`s and reporting `O`s.
pub struct Simulation<M, O> {
    now: Time,
    queue: BinaryHeap<Event<M>>,
    seq: u64,
    nodes: Vec<Box<dyn Node<M, O>>>,
    network: Box<dyn NetworkModel>,
    net_rng: ChaCha8Rng,
    node_rngs: Vec<ChaCha8Rng>,
    stats: Stats,
    trace: u64,
    observations: Vec<(Time, NodeId, O)>,
    actions: Vec<Action<M>>,
    started: bool,
}

impl<M: SimMessage, O: SimObservation> Simulation<M, O> {
    /// A simulation of `nodes` over `network`, all randomness derived from `seed`.
    pub fn new(seed: u64, nodes: Vec<Box<dyn Node<M, O>>>, network: Box<dyn NetworkModel>) -> Self {
        let n = nodes.len();
        let node_rngs = (0..n)
            .map(|i| ChaCha8Rng::seed_from_u64(mix(seed, 0x6e6f_6465_0000_0000 ^ i as u64)))
            .collect();
        Simulation {
            now: Time::ZERO,
            queue: BinaryHeap::new(),
            seq: 0,
            nodes,
            network,
            net_rng: ChaCha8Rng::seed_from_u64(mix(seed, 0x6e65_7477_6f72_6b00)),
            node_rngs,
            stats: Stats {
                sent_by_node: vec![0; n],
                ..Stats::default()
            },
            trace: mix(seed, n as u64),
            observations: Vec::new(),
            actions: Vec::new(),
            started: false,
        }
    }

    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.nodes.len()
    }

    /// The current virtual time.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Message accounting so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Observations so far, in the order they were made.
    pub fn observations(&self) -> &[(Time, NodeId, O)] {
        &self.observations
    }

    /// Takes the observations out (leaves the list empty).
    pub fn take_observations(&mut self) -> Vec<(Time, NodeId, O)> {
        std::mem::take(&mut self.observations)
    }

    /// The running trace hash: equal for equal seeds and configurations.
    pub fn trace_hash(&self) -> u64 {
        self.trace
    }

    fn push(&mut self, time: Time, class: u8, kind: EventKind<M>) {
        self.seq += 1;
        self.queue.push(Event {
            time,
            class,
            seq: self.seq,
            kind,
        });
    }

    fn deliver_to(&mut self, from: NodeId, to: NodeId, msg: &Rc<M>, bits: u64) {
        self.stats.messages_sent += 1;
        self.stats.bits_sent += bits;
        self.stats.sent_by_node[from] += 1;
        match self.network.delay(self.now, from, to, &mut self.net_rng) {
            Some(d) => self.push(
                self.now.plus(d.max(1)),
                0,
                EventKind::Deliver {
                    to: to as u32,
                    from: from as u32,
                    msg: Rc::clone(msg),
                },
            ),
            None => self.stats.messages_dropped += 1,
        }
    }

    fn apply_actions(&mut self, node: NodeId) {
        let mut actions = std::mem::take(&mut self.actions);
        for a in actions.drain(..) {
            match a {
                Action::Send { to, msg } => {
                    if to < self.nodes.len() && to != node {
                        let bits = msg.wire_bits();
                        self.deliver_to(node, to, &msg, bits);
                    }
                }
                Action::Broadcast { except, msg } => {
                    let bits = msg.wire_bits();
                    for to in 0..self.nodes.len() {
                        if to != node && Some(to) != except {
                            self.deliver_to(node, to, &msg, bits);
                        }
                    }
                }
                Action::Timer { at, id } => {
                    let at = at.max(self.now);
                    self.push(
                        at,
                        1,
                        EventKind::Timer {
                            node: node as u32,
                            id,
                        },
                    );
                }
            }
        }
        self.actions = actions;
    }

    fn start(&mut self) {
        self.started = true;
        for i in 0..self.nodes.len() {
            let mut ctx = Context {
                now: self.now,
                me: i,
                n: self.nodes.len(),
                actions: &mut self.actions,
                observations: &mut self.observations,
                trace: &mut self.trace,
                rng: &mut self.node_rngs[i],
            };
            self.nodes[i].on_start(&mut ctx);
            self.apply_actions(i);
        }
    }

    /// Processes the next event if it is due at or before `until`. Returns false when
    /// there is none.
    pub fn step(&mut self, until: Time) -> bool {
        if !self.started {
            self.start();
        }
        match self.queue.peek() {
            Some(e) if e.time <= until => {}
            _ => return false,
        }
        let Some(ev) = self.queue.pop() else {
            return false;
        };
        self.now = ev.time;
        let n = self.nodes.len();
        match ev.kind {
            EventKind::Deliver { to, from, msg } => {
                self.stats.messages_delivered += 1;
                self.trace = mix(
                    self.trace,
                    ev.time.0
                        ^ (u64::from(to) << 48)
                        ^ (u64::from(from) << 32)
                        ^ msg.trace_digest(),
                );
                let to = to as usize;
                let mut ctx = Context {
                    now: self.now,
                    me: to,
                    n,
                    actions: &mut self.actions,
                    observations: &mut self.observations,
                    trace: &mut self.trace,
                    rng: &mut self.node_rngs[to],
                };
                self.nodes[to].on_message(&mut ctx, from as usize, &msg);
                self.apply_actions(to);
            }
            EventKind::Timer { node, id } => {
                self.stats.timers += 1;
                self.trace = mix(
                    self.trace,
                    ev.time.0 ^ (u64::from(node) << 48) ^ id.rotate_left(17) ^ 1,
                );
                let node = node as usize;
                let mut ctx = Context {
                    now: self.now,
                    me: node,
                    n,
                    actions: &mut self.actions,
                    observations: &mut self.observations,
                    trace: &mut self.trace,
                    rng: &mut self.node_rngs[node],
                };
                self.nodes[node].on_timer(&mut ctx, id);
                self.apply_actions(node);
            }
        }
        true
    }

    /// Runs every event due at or before `until`; the clock ends at `until`.
    pub fn run_until(&mut self, until: Time) {
        while self.step(until) {}
        self.now = self.now.max(until);
    }

    /// Runs until `stop` returns true (checked after each event) or no event is due
    /// at or before `until`.
    pub fn run_while(&mut self, until: Time, mut keep_going: impl FnMut(&Self) -> bool) {
        while keep_going(self) && self.step(until) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Synchronous;

    /// A minimal protocol (not a blockchain): node 0 floods a counter; each node relays
    /// the first copy it sees and records when. Shows the core is protocol-agnostic.
    #[derive(Debug)]
    struct Ping(u64);
    impl SimMessage for Ping {
        fn wire_bits(&self) -> u64 {
            64
        }
        fn trace_digest(&self) -> u64 {
            self.0
        }
    }
    #[derive(Debug, PartialEq)]
    struct Heard(u64);
    impl SimObservation for Heard {
        fn trace_digest(&self) -> u64 {
            self.0
        }
    }
    struct Flood {
        heard: bool,
    }
    impl Node<Ping, Heard> for Flood {
        fn on_start(&mut self, ctx: &mut Context<'_, Ping, Heard>) {
            if ctx.me() == 0 {
                self.heard = true;
                ctx.broadcast(Rc::new(Ping(7)));
                ctx.set_timer(Time(50), 1);
            }
        }
        fn on_message(&mut self, ctx: &mut Context<'_, Ping, Heard>, from: NodeId, msg: &Rc<Ping>) {
            if !self.heard {
                self.heard = true;
                ctx.observe(Heard(msg.0));
                ctx.broadcast_except(Rc::clone(msg), from);
            }
        }
        fn on_timer(&mut self, ctx: &mut Context<'_, Ping, Heard>, timer: u64) {
            ctx.observe(Heard(1000 + timer));
        }
    }

    fn run(seed: u64, n: usize) -> (u64, Stats, Vec<(Time, NodeId, Heard)>) {
        let nodes: Vec<Box<dyn Node<Ping, Heard>>> = (0..n)
            .map(|_| Box::new(Flood { heard: false }) as Box<dyn Node<Ping, Heard>>)
            .collect();
        let mut sim = Simulation::new(
            seed,
            nodes,
            Box::new(Synchronous {
                min_us: 1,
                delta_us: 50,
            }),
        );
        sim.run_until(Time(1_000));
        (
            sim.trace_hash(),
            sim.stats().clone(),
            sim.take_observations(),
        )
    }

    #[test]
    fn flood_reaches_everyone_with_exact_accounting() {
        let n = 6;
        let (_, stats, obs) = run(1, n);
        assert_eq!(obs.iter().filter(|(_, _, h)| h.0 == 7).count(), n - 1);
        // Node 0 sends n-1; each other node relays to n-2.
        assert_eq!(stats.messages_sent, (n - 1 + (n - 1) * (n - 2)) as u64);
        assert_eq!(stats.messages_delivered, stats.messages_sent);
        assert_eq!(stats.bits_sent, stats.messages_sent * 64);
        assert_eq!(stats.timers, 1);
        assert!(
            obs.iter().all(|(t, _, h)| h.0 != 7 || t.0 <= 100),
            "two hops of at most Δ"
        );
    }

    #[test]
    fn runs_are_reproducible_from_the_seed() {
        assert_eq!(run(9, 5).0, run(9, 5).0);
        assert_ne!(run(9, 5).0, run(10, 5).0);
    }

    #[test]
    fn deliveries_precede_timers_at_the_same_instant() {
        let mut a: Event<Ping> = Event {
            time: Time(5),
            class: 1,
            seq: 1,
            kind: EventKind::Timer { node: 0, id: 0 },
        };
        let b: Event<Ping> = Event {
            time: Time(5),
            class: 0,
            seq: 2,
            kind: EventKind::Timer { node: 0, id: 0 },
        };
        let mut heap = BinaryHeap::new();
        heap.push(std::mem::replace(
            &mut a,
            Event {
                time: Time(4),
                class: 1,
                seq: 0,
                kind: EventKind::Timer { node: 0, id: 0 },
            },
        ));
        heap.push(b);
        heap.push(a);
        let order: Vec<(u64, u8)> =
            std::iter::from_fn(|| heap.pop().map(|e| (e.time.0, e.class))).collect();
        assert_eq!(order, vec![(4, 1), (5, 0), (5, 1)]);
    }
}
