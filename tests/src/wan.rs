//! A link emulator for [`crate::netns::NetnsLab`]: delay, jitter, loss and cuts per
//! ordered pair of nodes, played on the real Ethernet frames between the namespaces.
//!
//! The kernels this project runs on do not all ship `sch_netem` (this machine's has no
//! `tc qdisc netem`, `prio` or `fq`), so the lab's hub does the switching in user space:
//! one `AF_PACKET` socket on the hub's veths reads every frame a node sends, looks up the
//! destination port by the MAC addresses it has learnt (broadcasts and unknown
//! destinations go to every other port, as a switch floods), and sends the frame out of
//! that port after the pair's delay plus a uniform jitter, or drops it with the pair's
//! loss probability. A cut pair drops everything in both directions, which is how
//! partitions are made. Frames of one pair keep their order (a jittered frame never
//! overtakes an earlier one, as netem does with a rate), so TCP sees delay, not
//! reordering.
//!
//! Offloads (TSO, GSO, GRO, checksum) are switched off on both ends of each pair with
//! `ethtool`, so frames are at most one MTU and carry their checksums.
//!
//! The random choices (loss, jitter) come from a seeded ChaCha generator, so a run's
//! link decisions depend only on the seed and the frames' arrival order.

use nix::sys::socket::LinkAddr;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BinaryHeap};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How one direction of a link behaves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkShape {
    /// One-way delay added to every frame.
    pub delay: Duration,
    /// Each frame gets an extra delay drawn uniformly from `0..=jitter`.
    pub jitter: Duration,
    /// Probability of dropping a frame, 0.0 to 1.0.
    pub loss: f64,
}

impl LinkShape {
    /// No delay, no loss: a plain switch.
    pub const CLEAR: LinkShape = LinkShape {
        delay: Duration::ZERO,
        jitter: Duration::ZERO,
        loss: 0.0,
    };

    /// A delay in milliseconds with a jitter in milliseconds and no loss.
    pub fn ms(delay: u64, jitter: u64) -> LinkShape {
        LinkShape {
            delay: Duration::from_millis(delay),
            jitter: Duration::from_millis(jitter),
            loss: 0.0,
        }
    }

    /// The same shape with a loss probability.
    pub fn with_loss(mut self, loss: f64) -> LinkShape {
        self.loss = loss.clamp(0.0, 1.0);
        self
    }
}

/// A named WAN profile: which region each node is in and the one-way delay between
/// regions.
#[derive(Clone, Debug)]
pub struct RegionProfile {
    /// Region names.
    pub regions: Vec<&'static str>,
    /// One-way delay in ms from region `a` to region `b` (symmetric in the profiles
    /// given here; within a region, `one_way_ms[a][a]`).
    pub one_way_ms: Vec<Vec<u64>>,
    /// Jitter in ms on every link.
    pub jitter_ms: u64,
}

impl RegionProfile {
    /// Four regions with 30 to 150 ms one-way delays (roughly Frankfurt, Virginia,
    /// Oregon, Singapore), 2 ms within a region, 5 ms jitter.
    pub fn four_regions() -> RegionProfile {
        RegionProfile {
            regions: vec!["eu-central", "us-east", "us-west", "ap-southeast"],
            one_way_ms: vec![
                vec![2, 45, 75, 85],
                vec![45, 2, 30, 110],
                vec![75, 30, 2, 150],
                vec![85, 110, 150, 2],
            ],
            jitter_ms: 5,
        }
    }

    /// The region of node `i` when nodes are dealt round-robin over the regions.
    pub fn region_of(&self, i: usize) -> usize {
        i % self.regions.len()
    }

    /// The one-way delay between nodes `a` and `b`.
    pub fn delay_ms(&self, a: usize, b: usize) -> u64 {
        self.one_way_ms[self.region_of(a)][self.region_of(b)]
    }
}

/// Counters of what the emulator did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Frames delivered.
    pub forwarded: u64,
    /// Frames dropped by loss.
    pub lost: u64,
    /// Frames dropped because their pair was cut.
    pub cut: u64,
}

struct Shared {
    n: usize,
    shapes: Mutex<Vec<LinkShape>>,
    cut: Mutex<Vec<bool>>,
    macs: Mutex<BTreeMap<[u8; 6], usize>>,
    rng: Mutex<ChaCha8Rng>,
    /// Per ordered pair: the time the last frame was scheduled for (keeps FIFO order).
    last: Mutex<Vec<Instant>>,
    queue: Mutex<BinaryHeap<Pending>>,
    wake: Condvar,
    stop: AtomicBool,
    seq: AtomicU64,
    forwarded: AtomicU64,
    lost: AtomicU64,
    dropped_cut: AtomicU64,
    /// The one packet socket, receiving from and sending to every port.
    socket: OwnedFd,
    /// Interface index of each port.
    ifindex: Vec<usize>,
    /// A link-layer address naming each port's interface, taken from a frame received
    /// on it (how frames are sent out of that port).
    port_addr: Mutex<Vec<Option<LinkAddr>>>,
}

struct Pending {
    at: Instant,
    seq: u64,
    port: usize,
    frame: Vec<u8>,
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    // Earliest first out of a max-heap.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

/// The user-space switch between a lab's namespaces. Stops (joins its threads) on drop.
pub struct LinkEmulator {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// One `AF_PACKET` socket for every interface of the hub namespace (must be called from
/// a thread inside it), with a receive timeout so the reader notices the stop flag.
fn packet_socket() -> Result<OwnedFd, String> {
    use nix::sys::socket::{
        setsockopt, socket, sockopt, AddressFamily, SockFlag, SockProtocol, SockType,
    };
    let fd = socket(
        AddressFamily::Packet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::EthAll,
    )
    .map_err(|e| format!("AF_PACKET socket: {e}"))?;
    setsockopt(
        &fd,
        sockopt::ReceiveTimeout,
        &nix::sys::time::TimeVal::new(0, 100_000),
    )
    .map_err(|e| format!("SO_RCVTIMEO: {e}"))?;
    let _ = setsockopt(&fd, sockopt::RcvBuf, &(8 << 20));
    Ok(fd)
}

impl LinkEmulator {
    /// Starts switching between `ports` (hub-side interface names, port `i` leading to
    /// node `i`). Must be called from a thread inside the hub namespace (the sockets
    /// bind to its interfaces); the threads it starts keep working from anywhere.
    pub fn start(ports: &[String], seed: u64) -> Result<LinkEmulator, String> {
        let n = ports.len();
        let socket = packet_socket()?;
        let ifindex = ports
            .iter()
            .map(|p| {
                nix::net::if_::if_nametoindex(p.as_str())
                    .map(|i| i as usize)
                    .map_err(|e| format!("no interface {p} in the hub namespace: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let shared = Arc::new(Shared {
            n,
            shapes: Mutex::new(vec![LinkShape::CLEAR; n * n]),
            cut: Mutex::new(vec![false; n * n]),
            macs: Mutex::new(BTreeMap::new()),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
            last: Mutex::new(vec![Instant::now(); n * n]),
            queue: Mutex::new(BinaryHeap::new()),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            seq: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            dropped_cut: AtomicU64::new(0),
            socket,
            ifindex,
            port_addr: Mutex::new(vec![None; n]),
        });
        let mut threads = Vec::new();
        let s = shared.clone();
        threads.push(
            std::thread::Builder::new()
                .name("wan-rx".into())
                .spawn(move || receive_loop(&s))
                .map_err(|e| e.to_string())?,
        );
        let s = shared.clone();
        threads.push(
            std::thread::Builder::new()
                .name("wan-tx".into())
                .spawn(move || send_loop(&s))
                .map_err(|e| e.to_string())?,
        );
        Ok(LinkEmulator { shared, threads })
    }

    /// Number of ports (nodes).
    pub fn len(&self) -> usize {
        self.shared.n
    }

    /// Always false.
    pub fn is_empty(&self) -> bool {
        self.shared.n == 0
    }

    /// Shapes the direction `from -> to`.
    pub fn set(&self, from: usize, to: usize, shape: LinkShape) {
        let n = self.shared.n;
        self.shared.shapes.lock().unwrap()[from * n + to] = shape;
    }

    /// Shapes every direction of every pair alike.
    pub fn set_all(&self, shape: LinkShape) {
        for s in self.shared.shapes.lock().unwrap().iter_mut() {
            *s = shape;
        }
    }

    /// Plays a region profile: node `i` in region `profile.region_of(i)`, every pair
    /// delayed by the regions' one-way delay, with the profile's jitter and `loss`.
    pub fn apply_regions(&self, profile: &RegionProfile, loss: f64) {
        let n = self.shared.n;
        for a in 0..n {
            for b in 0..n {
                self.set(
                    a,
                    b,
                    LinkShape::ms(profile.delay_ms(a, b), profile.jitter_ms).with_loss(loss),
                );
            }
        }
    }

    /// Cuts (`true`) or restores the pair `a <-> b`, both directions.
    pub fn set_cut(&self, a: usize, b: usize, cut: bool) {
        let n = self.shared.n;
        let mut c = self.shared.cut.lock().unwrap();
        c[a * n + b] = cut;
        c[b * n + a] = cut;
    }

    /// Partitions the nodes into `groups`: every pair in different groups is cut,
    /// every pair within a group restored. A node in no group is isolated.
    pub fn partition(&self, groups: &[&[usize]]) {
        let n = self.shared.n;
        let group_of = |i: usize| groups.iter().position(|g| g.contains(&i));
        for a in 0..n {
            for b in 0..n {
                if a != b {
                    let same = matches!((group_of(a), group_of(b)), (Some(x), Some(y)) if x == y);
                    self.set_cut(a, b, !same);
                }
            }
        }
    }

    /// Restores every pair.
    pub fn heal(&self) {
        for c in self.shared.cut.lock().unwrap().iter_mut() {
            *c = false;
        }
    }

    /// Pairs currently cut, `(a, b)` with `a < b`.
    pub fn cuts(&self) -> Vec<(usize, usize)> {
        let n = self.shared.n;
        let c = self.shared.cut.lock().unwrap();
        let mut out = Vec::new();
        for a in 0..n {
            for b in a + 1..n {
                if c[a * n + b] {
                    out.push((a, b));
                }
            }
        }
        out
    }

    /// What the emulator has done so far.
    pub fn stats(&self) -> LinkStats {
        LinkStats {
            forwarded: self.shared.forwarded.load(Ordering::Relaxed),
            lost: self.shared.lost.load(Ordering::Relaxed),
            cut: self.shared.dropped_cut.load(Ordering::Relaxed),
        }
    }
}

fn mac(b: &[u8]) -> [u8; 6] {
    let mut m = [0u8; 6];
    m.copy_from_slice(&b[..6]);
    m
}

fn receive_loop(s: &Shared) {
    let fd = s.socket.as_raw_fd();
    let mut buf = vec![0u8; 65_536];
    while !s.stop.load(Ordering::Relaxed) {
        let Ok((got, Some(from))) = nix::sys::socket::recvfrom::<LinkAddr>(fd, &mut buf) else {
            continue; // timeout or error
        };
        // Frames leaving a port (ours, or the hub kernel's) are not input.
        if got < 14 || from.pkttype() == libc::PACKET_OUTGOING {
            continue;
        }
        let Some(port) = s.ifindex.iter().position(|i| *i == from.ifindex()) else {
            continue; // lo or the unused bridge
        };
        s.port_addr.lock().unwrap()[port].get_or_insert(from);
        let frame = &buf[..got];
        let dst = mac(&frame[0..6]);
        let src = mac(&frame[6..12]);
        let targets: Vec<usize> = {
            let mut macs = s.macs.lock().unwrap();
            macs.insert(src, port);
            match macs.get(&dst) {
                Some(&p) if dst[0] & 1 == 0 => vec![p],
                _ => (0..s.n).collect(),
            }
        };
        let now = Instant::now();
        for to in targets.into_iter().filter(|&t| t != port) {
            let pair = port * s.n + to;
            if s.cut.lock().unwrap()[pair] {
                s.dropped_cut.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let shape = s.shapes.lock().unwrap()[pair];
            let (lose, extra) = {
                let mut rng = s.rng.lock().unwrap();
                let lose = shape.loss > 0.0 && rng.gen::<f64>() < shape.loss;
                let j = shape.jitter.as_micros() as u64;
                let extra = if j > 0 { rng.gen_range(0..=j) } else { 0 };
                (lose, Duration::from_micros(extra))
            };
            if lose {
                s.lost.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let at = {
                let mut last = s.last.lock().unwrap();
                let at = (now + shape.delay + extra).max(last[pair]);
                last[pair] = at;
                at
            };
            let p = Pending {
                at,
                seq: s.seq.fetch_add(1, Ordering::Relaxed),
                port: to,
                frame: frame.to_vec(),
            };
            s.queue.lock().unwrap().push(p);
            s.wake.notify_one();
        }
    }
}

fn send_loop(s: &Shared) {
    let mut q = s.queue.lock().unwrap();
    while !s.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        match q.peek() {
            Some(p) if p.at <= now => {
                let p = q.pop().expect("peeked");
                drop(q);
                let to = s.port_addr.lock().unwrap()[p.port];
                // A port that has not sent a frame yet has no address: its node's
                // interface is not up, as if the frame were lost on the way.
                if let Some(to) = to {
                    let sent = nix::sys::socket::sendto(
                        s.socket.as_raw_fd(),
                        &p.frame,
                        &to,
                        nix::sys::socket::MsgFlags::empty(),
                    );
                    if sent.is_ok() {
                        s.forwarded.fetch_add(1, Ordering::Relaxed);
                    }
                }
                q = s.queue.lock().unwrap();
            }
            Some(p) => {
                let wait = p.at - now;
                q = s.wake.wait_timeout(q, wait).unwrap().0;
            }
            None => {
                q = s
                    .wake
                    .wait_timeout(q, Duration::from_millis(100))
                    .unwrap()
                    .0;
            }
        }
    }
}

impl Drop for LinkEmulator {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.wake.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
