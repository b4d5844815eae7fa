//! Faults on a seeded schedule against real `ledger-node` processes, each in its own
//! network namespace ([`crate::netns`]) behind the link emulator ([`crate::wan`]),
//! while clients submit signed orders over the RPC; then the whole history goes to the
//! checker ([`crate::history`]).
//!
//! The network is written by `ledger-node testnet --hosts 10.77.0.1,... --no-start`
//! and each node is started from its own folder inside its namespace, as on its own
//! machine. One node's data directory is a small tmpfs so its disk can fill up.
//!
//! Faults ([`Fault`]): SIGKILL and restart, SIGSTOP/SIGCONT, partitions 2/2 and 3/1, an
//! isolated leader, a flapping link, lossy links, a full disk, and clock skew through
//! libfaketime. [`Schedule::seeded`] picks the order, the targets and the hold times
//! from a seed; [`run`] plays it and returns a [`RunReport`] with the checked history.

use crate::binary;
use crate::history::{self, Acked, BlockRecord, History, NodeHistory, Resume, Violation};
use crate::netns::NetnsLab;
use crate::wan::{LinkShape, RegionProfile};
use ledger_rpc::{connect, BlockSelector, LedgerApiClient, LedgerClient, TxStatus, Wallet, WireTx};
use ledger_types::{Decimal, Genesis, Keypair, Side};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The RPC port every host's node listens on (loopback inside its namespace).
pub const RPC_PORT: u16 = 29101;

/// The metrics port every host's node listens on (loopback inside its namespace).
pub const METRICS_PORT: u16 = 29102;

/// Where Debian's libfaketime (package `faketime`) puts its thread-safe library.
pub const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// One fault with its target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL the node, hold, start it again.
    Kill(usize),
    /// SIGSTOP the node, hold, SIGCONT.
    Pause(usize),
    /// Nodes {0, 1} and {2, 3} cannot reach each other (no quorum either side).
    SplitTwoTwo,
    /// One node cut from the three others.
    SplitOne(usize),
    /// The proposer of the latest final block, cut from the others.
    IsolateLeader,
    /// All of one node's links cut and restored every 600 ms.
    Flap(usize),
    /// 20% loss on every link of one node.
    Lossy(usize),
    /// The node's data filesystem filled up: it must exit naming ENOSPC and the path;
    /// the space is freed and it is started again.
    DiskFull(usize),
    /// The node restarted under libfaketime with its clock off by this many ms, then
    /// restarted with the right time.
    ClockSkew(usize, i64),
    /// The node restarted with every `fsync`/`fdatasync` delayed by this many ms (an
    /// `LD_PRELOAD` shim built at run time), then restarted without.
    SlowFsync(usize, u64),
    /// The node SIGKILLed, its data directory damaged, and started again: it must refuse
    /// with an error that says what is wrong (the operator then clears the directory and
    /// the node re-syncs from its peers) or open it and repair what was lost.
    CorruptStore(usize, Corruption),
}

/// A kind of damage to a stopped node's data directory (the kinds the probe tried).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// The MANIFEST cut at a seeded offset.
    ManifestCut,
    /// One byte of the newest write-ahead log flipped at a seeded offset.
    WalByteFlipped,
    /// CURRENT emptied.
    CurrentEmptied,
    /// CURRENT deleted.
    CurrentDeleted,
    /// The largest SST file truncated to half.
    SstTruncated,
}

impl Corruption {
    /// Every kind.
    pub const ALL: [Corruption; 5] = [
        Corruption::ManifestCut,
        Corruption::WalByteFlipped,
        Corruption::CurrentEmptied,
        Corruption::CurrentDeleted,
        Corruption::SstTruncated,
    ];
}

impl std::fmt::Display for Corruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Corruption::ManifestCut => "MANIFEST cut",
            Corruption::WalByteFlipped => "WAL byte flipped",
            Corruption::CurrentEmptied => "CURRENT emptied",
            Corruption::CurrentDeleted => "CURRENT deleted",
            Corruption::SstTruncated => "SST truncated",
        })
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Kill(i) => write!(f, "SIGKILL + restart node-{i}"),
            Fault::Pause(i) => write!(f, "SIGSTOP/SIGCONT node-{i}"),
            Fault::SplitTwoTwo => write!(f, "partition 2/2"),
            Fault::SplitOne(i) => write!(f, "partition 3/1 (node-{i} alone)"),
            Fault::IsolateLeader => write!(f, "isolated leader"),
            Fault::Flap(i) => write!(f, "flapping links of node-{i}"),
            Fault::Lossy(i) => write!(f, "20% loss on node-{i}'s links"),
            Fault::DiskFull(i) => write!(f, "disk full on node-{i}"),
            Fault::ClockSkew(i, ms) => write!(f, "clock skew {ms:+} ms on node-{i}"),
            Fault::SlowFsync(i, ms) => write!(f, "fsync +{ms} ms on node-{i}"),
            Fault::CorruptStore(i, c) => write!(f, "{c} in node-{i}'s store"),
        }
    }
}

/// A fault and how long it is held before the heal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The fault.
    pub fault: Fault,
    /// How long it lasts.
    pub hold: Duration,
}

/// The faults of a run, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The seed it was drawn from.
    pub seed: u64,
    /// Steps in order.
    pub steps: Vec<Step>,
}

impl Schedule {
    /// Every fault kind once (in `cargo test`), or, with `soak` set, kinds drawn at
    /// random until their hold times add up to `soak`. Order, targets (any of the `n`
    /// nodes; the disk fault on `disk_node`) and hold times (2-4 s, soak 3-10 s) come
    /// from `seed`. `skew` says whether clock-skew steps are included (libfaketime).
    /// With `slow_fsync`, a slow-fsync step follows (every 8th step in a soak; drawn
    /// apart, so the other steps of a seed do not change). A corrupted-store step
    /// comes last (every 6th step in a soak), its kind and node drawn from a second
    /// stream of the seed for the same reason.
    pub fn seeded(
        seed: u64,
        n: usize,
        disk_node: usize,
        skew: bool,
        slow_fsync: bool,
        soak: Option<Duration>,
    ) -> Schedule {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut damage = ChaCha8Rng::seed_from_u64(seed ^ 0x636f_7272_7570_7400);
        let corrupt = |rng: &mut ChaCha8Rng| {
            // Not the node whose data directory is a tmpfs of its own (the disk fault's).
            let node = (disk_node + rng.gen_range(1..n.max(2))) % n.max(1);
            Fault::CorruptStore(
                node,
                Corruption::ALL[rng.gen_range(0..Corruption::ALL.len())],
            )
        };
        let kinds = |rng: &mut ChaCha8Rng| -> Vec<Fault> {
            let mut node = || rng.gen_range(0..n);
            let mut v = vec![
                Fault::Kill(node()),
                Fault::Pause(node()),
                Fault::SplitTwoTwo,
                Fault::SplitOne(node()),
                Fault::IsolateLeader,
                Fault::Flap(node()),
                Fault::Lossy(node()),
                Fault::DiskFull(disk_node),
            ];
            if skew {
                let sign = if node() % 2 == 0 { 1 } else { -1 };
                v.push(Fault::ClockSkew(node(), sign * 1000));
            }
            v
        };
        let mut steps = Vec::new();
        match soak {
            None => {
                let mut v = kinds(&mut rng);
                v.shuffle(&mut rng);
                for fault in v {
                    let hold = Duration::from_millis(rng.gen_range(2000..=4000));
                    steps.push(Step { fault, hold });
                }
                if slow_fsync {
                    let node = rng.gen_range(0..n);
                    let hold = Duration::from_millis(rng.gen_range(2000..=4000));
                    steps.push(Step {
                        fault: Fault::SlowFsync(node, 100),
                        hold,
                    });
                }
                steps.push(Step {
                    fault: corrupt(&mut damage),
                    hold: Duration::from_secs(2),
                });
            }
            Some(total) => {
                let mut sum = Duration::ZERO;
                while sum < total {
                    let v = kinds(&mut rng);
                    let fault = v[rng.gen_range(0..v.len())].clone();
                    let hold = Duration::from_millis(rng.gen_range(3000..=10_000));
                    sum += hold;
                    steps.push(Step { fault, hold });
                    if steps.len() % 6 == 5 {
                        let hold = Duration::from_secs(3);
                        sum += hold;
                        steps.push(Step {
                            fault: corrupt(&mut damage),
                            hold,
                        });
                    }
                    if slow_fsync && steps.len() % 8 == 7 {
                        let hold = Duration::from_secs(5);
                        sum += hold;
                        steps.push(Step {
                            fault: Fault::SlowFsync(steps.len() % n, 100),
                            hold,
                        });
                    }
                }
            }
        }
        Schedule { seed, steps }
    }
}

/// What one step did.
#[derive(Clone, Debug)]
pub struct StepReport {
    /// The fault.
    pub fault: Fault,
    /// How long it was held.
    pub hold: Duration,
    /// Final height (highest over the nodes) when it was healed.
    pub height_at_heal: u64,
    /// Time from heal to every node finalizing past that height.
    pub resumed_after: Option<Duration>,
    /// Anything worth saying (e.g. the ENOSPC line the node printed).
    pub note: String,
}

/// Orders the clients sent and what they were told.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadCounts {
    /// Orders accepted by a node's `submit_order`.
    pub submitted: u64,
    /// Orders some node then reported final.
    pub acked_final: u64,
    /// Orders the engine rejected.
    pub rejected: u64,
    /// Orders not seen final within the client's wait (node down, partitioned).
    pub unconfirmed: u64,
}

/// Everything a run produced.
pub struct RunReport {
    /// The schedule played.
    pub schedule: Schedule,
    /// Per step.
    pub steps: Vec<StepReport>,
    /// Load.
    pub load: LoadCounts,
    /// The history as read from the nodes' RPC at the end.
    pub history: History,
    /// What the checker found.
    pub violations: Vec<Violation>,
    /// `ledger-node replay` on each node's store after it stopped: (node, ok, last line).
    pub replays: Vec<(usize, bool, String)>,
    /// Link emulator counters (forwarded, lost, cut).
    pub links: crate::wan::LinkStats,
    /// Wall time of the run.
    pub wall: Duration,
}

impl RunReport {
    /// A table in Markdown: one row per step.
    pub fn table(&self) -> String {
        let mut s = String::from("| # | fault | held | final height at heal | finality resumed after | note |\n|---|---|---|---|---|---|\n");
        for (i, r) in self.steps.iter().enumerate() {
            s += &format!(
                "| {} | {} | {:.1} s | {} | {} | {} |\n",
                i + 1,
                r.fault,
                r.hold.as_secs_f64(),
                r.height_at_heal,
                r.resumed_after
                    .map(|d| format!("{:.2} s", d.as_secs_f64()))
                    .unwrap_or_else(|| "never".into()),
                r.note
            );
        }
        s
    }

    /// One paragraph: seed, faults, orders, violations.
    pub fn summary(&self) -> String {
        format!(
            "seed {}: {} faults in {:.0} s; orders submitted {}, acknowledged final {} (each checked on all {} nodes), rejected {}, unconfirmed {}; final heights {:?}; violations {}; replay {}/{} stores clean; links: {} frames forwarded, {} lost, {} cut",
            self.schedule.seed,
            self.steps.len(),
            self.wall.as_secs_f64(),
            self.load.submitted,
            self.load.acked_final,
            self.history.nodes.len(),
            self.load.rejected,
            self.load.unconfirmed,
            self.history.nodes.iter().map(|n| n.final_height()).collect::<Vec<_>>(),
            self.violations.len(),
            self.replays.iter().filter(|r| r.1).count(),
            self.replays.len(),
            self.links.forwarded,
            self.links.lost,
            self.links.cut,
        )
    }
}

/// Why faults cannot run here (`None`: they can). Clock skew alone needs libfaketime;
/// see [`skew_unavailable`].
pub fn unavailable() -> Option<String> {
    if let Some(why) = NetnsLab::emulation_unavailable() {
        return Some(why);
    }
    let probe = tempfile::tempdir().ok()?;
    let o = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(probe.path())
        .output();
    match o {
        Ok(o) if o.status.success() => {
            let _ = Command::new("umount").arg(probe.path()).status();
            None
        }
        _ => Some("cannot mount a tmpfs (needed for the disk-full fault)".into()),
    }
}

/// Why clock skew cannot be applied (`None`: it can).
pub fn skew_unavailable() -> Option<String> {
    if Path::new(LIBFAKETIME).exists() {
        None
    } else {
        Some(format!(
            "{LIBFAKETIME} is missing (apt-get install faketime): clock skew skipped"
        ))
    }
}

/// Nodes in namespaces, started from `testnet --hosts` folders.
pub struct Hosts {
    /// The namespaces and the link emulator.
    pub lab: NetnsLab,
    /// The temporary directory (testnet folders and logs).
    pub dir: tempfile::TempDir,
    /// `testnet --hosts` output directory.
    pub net: PathBuf,
    /// Host addresses, by node.
    pub hosts: Vec<String>,
    /// RPC URLs reachable from this process, by node.
    pub urls: Vec<String>,
    /// The genesis.
    pub genesis: Genesis,
    /// Validator public keys (hex), by node.
    pub keys: Vec<String>,
    procs: Vec<Option<Child>>,
    skew_ms: Vec<i64>,
    fsync_delay_ms: Vec<u64>,
    /// The slow-fsync shim ([`build_slow_fsync_shim`]), if built.
    pub fsync_shim: Option<PathBuf>,
    mounted: Vec<PathBuf>,
    /// Streamlet Δ of the network.
    pub delta_ms: u64,
}

impl Hosts {
    /// Writes a network of `n` validators at the lab's addresses (Δ = `delta_ms`,
    /// `accounts` funded accounts), mounts a 512 MB tmpfs on `disk_node`'s data
    /// directory, and starts every node.
    pub fn start(
        n: usize,
        seed: u64,
        delta_ms: u64,
        accounts: usize,
        disk_node: Option<usize>,
    ) -> Result<Hosts, String> {
        let lab = NetnsLab::create_emulated(n, seed)?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let net = dir.path().join("net");
        let hosts: Vec<String> = lab.ips().iter().map(|ip| ip.to_string()).collect();
        let o = Command::new(binary("ledger-node"))
            .args(["testnet", "--hosts", &hosts.join(","), "--no-start"])
            .args(["--accounts", &accounts.to_string()])
            .args(["--delta-ms", &delta_ms.to_string()])
            .arg("--dir")
            .arg(&net)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        if !o.status.success() {
            return Err(format!(
                "testnet --hosts: {}",
                String::from_utf8_lossy(&o.stderr)
            ));
        }
        let genesis = Genesis::load(&net.join("genesis.toml")).map_err(|e| e.to_string())?;
        let info: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(net.join("testnet.json")).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        let keys = (0..n)
            .map(|i| {
                info["nodes"][i]["public_key"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        let mut urls = Vec::new();
        for i in 0..n {
            urls.push(format!("http://{}", lab.forward(i, RPC_PORT)?));
        }
        let mut h = Hosts {
            lab,
            dir,
            net,
            hosts,
            urls,
            genesis,
            keys,
            procs: (0..n).map(|_| None).collect(),
            skew_ms: vec![0; n],
            fsync_delay_ms: vec![0; n],
            fsync_shim: None,
            mounted: Vec::new(),
            delta_ms,
        };
        if let Some(d) = disk_node {
            let data = h.data_dir(d);
            let o = Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=512m", "tmpfs"])
                .arg(&data)
                .output()
                .map_err(|e| e.to_string())?;
            if !o.status.success() {
                return Err(format!(
                    "mount tmpfs: {}",
                    String::from_utf8_lossy(&o.stderr)
                ));
            }
            h.mounted.push(data);
        }
        for i in 0..n {
            h.start_node(i)?;
        }
        Ok(h)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.procs.len()
    }

    /// Always false.
    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    /// Node `i`'s data directory.
    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.net.join(&self.hosts[i]).join("data")
    }

    /// Node `i`'s log file.
    pub fn log_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("node-{i}.log"))
    }

    /// The last `lines` lines of node `i`'s log.
    pub fn log_tail(&self, i: usize, lines: usize) -> String {
        let text = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
        let v: Vec<&str> = text.lines().collect();
        v[v.len().saturating_sub(lines)..].join("\n")
    }

    /// Starts node `i` in its namespace (under libfaketime if it has a skew).
    pub fn start_node(&mut self, i: usize) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(i))
            .map_err(|e| e.to_string())?;
        let mut c = self.lab.command(i, binary("ledger-node"));
        c.arg("run")
            .arg("--config")
            .arg(self.net.join(&self.hosts[i]).join("config/node.toml"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        if self.skew_ms[i] != 0 {
            c.env("LD_PRELOAD", LIBFAKETIME)
                .env(
                    "FAKETIME",
                    format!("{:+.3}s", self.skew_ms[i] as f64 / 1000.0),
                )
                .env("DONT_FAKE_MONOTONIC", "1");
        }
        if let (true, Some(shim)) = (self.fsync_delay_ms[i] > 0, &self.fsync_shim) {
            c.env("LD_PRELOAD", shim)
                .env("LEDGER_SLOW_FSYNC_MS", self.fsync_delay_ms[i].to_string());
        }
        // `ip netns exec` execs the node: the child's pid is the node's.
        self.procs[i] = Some(c.spawn().map_err(|e| e.to_string())?);
        Ok(())
    }

    /// SIGKILL node `i` and reap it.
    pub fn kill_node(&mut self, i: usize) {
        if let Some(mut c) = self.procs[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends `sig` to node `i`.
    pub fn signal(&self, i: usize, sig: nix::sys::signal::Signal) {
        if let Some(c) = &self.procs[i] {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.id() as i32), sig);
        }
    }

    /// Waits up to `within` for node `i` to exit by itself; its exit status if it did.
    pub fn wait_exit(&mut self, i: usize, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(c) = &mut self.procs[i] {
                if let Ok(Some(st)) = c.try_wait() {
                    self.procs[i] = None;
                    return Some(st);
                }
            } else {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Stops node `i` with SIGTERM (SIGKILL after 20 s); true if it exited cleanly.
    pub fn stop_node(&mut self, i: usize) -> bool {
        self.signal(i, nix::sys::signal::Signal::SIGCONT);
        self.signal(i, nix::sys::signal::Signal::SIGTERM);
        match self.wait_exit(i, Duration::from_secs(20)) {
            Some(st) => st.success(),
            None => {
                self.kill_node(i);
                false
            }
        }
    }

    /// Sets the delay of every fsync of node `i` from its next start (0: none; needs
    /// [`Hosts::fsync_shim`]).
    pub fn set_fsync_delay(&mut self, i: usize, ms: u64) {
        self.fsync_delay_ms[i] = ms;
    }

    /// Sets node `i`'s clock skew for its next start (0: the true time).
    pub fn set_skew(&mut self, i: usize, ms: i64) {
        self.skew_ms[i] = ms;
    }

    /// Fills node `i`'s data filesystem to the last byte; returns the filler's path.
    pub fn fill_disk(&self, i: usize) -> std::io::Result<PathBuf> {
        use std::io::Write;
        let path = self.data_dir(i).join("filler");
        let mut f = std::fs::File::create(&path)?;
        let chunk = vec![0u8; 1 << 20];
        loop {
            if let Err(e) = f.write_all(&chunk) {
                if e.raw_os_error() == Some(libc::ENOSPC) {
                    break;
                }
                return Err(e);
            }
        }
        let small = vec![0u8; 4096];
        while f.write_all(&small).is_ok() {}
        let _ = f.write_all(&[0u8]);
        Ok(path)
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for i in 0..self.procs.len() {
            self.signal(i, nix::sys::signal::Signal::SIGCONT);
            self.kill_node(i);
        }
        for m in &self.mounted {
            let _ = Command::new("umount").arg("-l").arg(m).status();
        }
    }
}

const CALL: Duration = Duration::from_secs(2);

async fn call<T, F: std::future::Future<Output = Result<T, jsonrpsee::core::ClientError>>>(
    f: F,
) -> Option<T> {
    tokio::time::timeout(CALL, f).await.ok()?.ok()
}

/// Final height of every node (0 for one that does not answer within 2 s).
pub async fn heights(clients: &[LedgerClient]) -> Vec<u64> {
    let mut out = Vec::new();
    for c in clients {
        out.push(
            call(c.chain_status())
                .await
                .map(|s| s.final_height)
                .unwrap_or(0),
        );
    }
    out
}

/// Reads one unlabelled metric (`ledger_<name>`) from a Prometheus endpoint at `addr`
/// (`None` if unreachable or absent).
pub fn read_metric(addr: std::net::SocketAddr, name: &str) -> Option<f64> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, CALL).ok()?;
    s.set_read_timeout(Some(CALL)).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    let prefix = format!("ledger_{name} ");
    body.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

/// HTTP clients of every node.
pub async fn clients(urls: &[String]) -> Vec<LedgerClient> {
    let mut v = Vec::new();
    for u in urls {
        v.push(connect(u).await.expect("HTTP client"));
    }
    v
}

/// Waits until every node's final height exceeds `above`; the time it took, or `None`
/// after `limit`.
pub async fn wait_resumed(
    clients: &[LedgerClient],
    above: u64,
    limit: Duration,
) -> Option<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if heights(clients).await.iter().all(|h| *h > above) {
            return Some(t0.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Shared state of the order-submitting clients.
pub struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<Acked>>>,
    latencies: Arc<Mutex<Vec<(usize, Duration)>>>,
    submitted: Arc<AtomicU64>,
    rejected: Arc<AtomicU64>,
    unconfirmed: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Starts `accounts` clients, client `k` signing with `account-k`, each placing one
    /// crossing BTC/USD limit order at a time through node `(k + round) % n` and
    /// polling it (every `poll`) until it is final, for at most `wait`.
    pub fn start(
        urls: &[String],
        chain_id: &str,
        accounts: usize,
        poll: Duration,
        wait: Duration,
    ) -> Load {
        let load = Load {
            stop: Arc::new(AtomicBool::new(false)),
            acked: Arc::new(Mutex::new(Vec::new())),
            latencies: Arc::new(Mutex::new(Vec::new())),
            submitted: Arc::new(AtomicU64::new(0)),
            rejected: Arc::new(AtomicU64::new(0)),
            unconfirmed: Arc::new(AtomicU64::new(0)),
            tasks: Vec::new(),
        };
        let mut load = load;
        for k in 0..accounts {
            let urls = urls.to_vec();
            let chain_id = chain_id.to_string();
            let stop = load.stop.clone();
            let acked = load.acked.clone();
            let lat = load.latencies.clone();
            let (sub, rej, unc) = (
                load.submitted.clone(),
                load.rejected.clone(),
                load.unconfirmed.clone(),
            );
            load.tasks.push(tokio::spawn(async move {
                let cs = clients(&urls).await;
                let n = cs.len();
                let key = Keypair::for_testing(&format!("account-{k}"));
                let mut wallet = Wallet::new(key, chain_id, 0);
                let mut need_sync = true;
                let mut round = k;
                let price = |side: Side| Decimal::new(if side == Side::Buy { 101 } else { 99 }, 0);
                while !stop.load(Ordering::Relaxed) {
                    round += 1;
                    let node = round % n;
                    let c = &cs[node];
                    if need_sync {
                        match call(c.get_account(wallet.address())).await {
                            Some(a) => wallet.set_next_nonce(a.pending_nonce),
                            None => {
                                tokio::time::sleep(Duration::from_millis(200)).await;
                                continue;
                            }
                        }
                        match call(c.get_markets()).await {
                            Some(m) => wallet.set_markets(&m),
                            None => continue,
                        }
                        need_sync = false;
                    }
                    let Some(market) = wallet.market_id("BTC/USD") else {
                        need_sync = true;
                        continue;
                    };
                    let side = if round % 2 == 0 {
                        Side::Buy
                    } else {
                        Side::Sell
                    };
                    let tx = wallet.place_limit(market, side, price(side), Decimal::new(1, 2));
                    let hash = tx.hash();
                    let t0 = Instant::now();
                    if call(c.submit_order(WireTx::from(&tx))).await.is_none() {
                        // Down, paused or refused: sign again from the node's view.
                        need_sync = true;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                    sub.fetch_add(1, Ordering::Relaxed);
                    let mut done = false;
                    while t0.elapsed() < wait && !done {
                        tokio::time::sleep(poll).await;
                        if let Some(v) = call(c.get_tx(hash)).await {
                            match v.status {
                                TxStatus::Final => {
                                    if let (Some(height), Some(block)) =
                                        (v.block_height, v.block_hash)
                                    {
                                        acked.lock().unwrap().push(Acked {
                                            tx: hash,
                                            height,
                                            block,
                                            node,
                                        });
                                        lat.lock().unwrap().push((node, t0.elapsed()));
                                    }
                                    done = true;
                                }
                                TxStatus::Rejected => {
                                    rej.fetch_add(1, Ordering::Relaxed);
                                    need_sync = true;
                                    done = true;
                                }
                                _ => {}
                            }
                        }
                    }
                    if !done {
                        unc.fetch_add(1, Ordering::Relaxed);
                        need_sync = true;
                    }
                }
            }));
        }
        load
    }

    /// Orders acknowledged as final so far.
    pub fn acked(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    /// Stops the clients and returns what they were told, and submit-to-final
    /// latencies by the node submitted to.
    pub async fn finish(self) -> (Vec<Acked>, LoadCounts, Vec<(usize, Duration)>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(20), t).await;
        }
        let acked = self.acked.lock().unwrap().clone();
        let counts = LoadCounts {
            submitted: self.submitted.load(Ordering::Relaxed),
            acked_final: acked.len() as u64,
            rejected: self.rejected.load(Ordering::Relaxed),
            unconfirmed: self.unconfirmed.load(Ordering::Relaxed),
        };
        let lat = self.latencies.lock().unwrap().clone();
        (acked, counts, lat)
    }
}

/// Reads node `i`'s final chain and per-asset totals over its RPC.
pub async fn read_node(
    c: &LedgerClient,
    node: usize,
    genesis: &Genesis,
) -> Result<NodeHistory, String> {
    let mut accounts: Vec<_> = genesis.balances.iter().map(|b| b.account).collect();
    accounts.push(genesis.fee_account);
    accounts.sort();
    accounts.dedup();
    // Totals are summed over several calls: read again if a block landed meanwhile.
    let mut totals = BTreeMap::new();
    for _ in 0..5 {
        let before = c
            .chain_status()
            .await
            .map_err(|e| e.to_string())?
            .final_height;
        totals.clear();
        for a in &accounts {
            let v = c.get_account(*a).await.map_err(|e| e.to_string())?;
            for b in v.balances {
                *totals.entry(b.asset).or_insert(Decimal::ZERO) += b.total;
            }
        }
        let after = c
            .chain_status()
            .await
            .map_err(|e| e.to_string())?
            .final_height;
        if before == after {
            break;
        }
    }
    let top = c
        .chain_status()
        .await
        .map_err(|e| e.to_string())?
        .final_height;
    let mut blocks = Vec::with_capacity(top as usize);
    for h in 1..=top {
        let b = c
            .get_block(BlockSelector::Height(h), None)
            .await
            .map_err(|e| format!("node-{node} block {h}: {e}"))?;
        blocks.push(BlockRecord {
            height: b.height,
            hash: b.hash,
            parent: b.parent,
            state_root: b.state_root,
            txs: b.tx_hashes.unwrap_or_default(),
        });
    }
    Ok(NodeHistory {
        node,
        honest: true,
        blocks,
        totals,
    })
}

/// Per-asset totals of a genesis.
pub fn genesis_totals(g: &Genesis) -> BTreeMap<String, Decimal> {
    let mut t = BTreeMap::new();
    for b in &g.balances {
        *t.entry(b.asset.clone()).or_insert(Decimal::ZERO) += b.amount;
    }
    t
}

/// Options of a run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Seed of the schedule and the link emulator.
    pub seed: u64,
    /// `None`: every fault kind once; `Some(d)`: a soak of about `d` of faults.
    pub soak: Option<Duration>,
    /// Shape of every link while no fault is applied.
    pub base: LinkShape,
    /// A WAN profile instead of `base`.
    pub regions: Option<RegionProfile>,
    /// Streamlet Δ.
    pub delta_ms: u64,
    /// The stated bound on resumption after a heal or restart.
    pub resume_bound: Duration,
    /// Order-submitting clients (one account each).
    pub clients: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            seed: 1,
            soak: None,
            base: LinkShape::ms(5, 2).with_loss(0.005),
            regions: None,
            delta_ms: 200,
            resume_bound: Duration::from_secs(15),
            clients: 6,
        }
    }
}

const NODES: usize = 4;
const DISK_NODE: usize = 3;

/// Plays a seeded schedule of faults on 4 validators in namespaces under load, then
/// reads every node's history and checks it. Errors only if the testbed cannot be
/// built or read; what went wrong in the ledger is in [`RunReport::violations`].
pub async fn run(opts: &RunOptions) -> Result<RunReport, String> {
    let t_start = Instant::now();
    let skew_ok = skew_unavailable().is_none();
    let shim = tempfile::tempdir().map_err(|e| e.to_string())?;
    let fsync_shim = match build_slow_fsync_shim(shim.path()) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("slow fsync left out: {e}");
            None
        }
    };
    let schedule = Schedule::seeded(
        opts.seed,
        NODES,
        DISK_NODE,
        skew_ok,
        fsync_shim.is_some(),
        opts.soak,
    );
    let mut hosts = Hosts::start(NODES, opts.seed, opts.delta_ms, 32, Some(DISK_NODE))?;
    hosts.fsync_shim = fsync_shim;
    let links = hosts.lab.links().expect("emulated lab");
    match &opts.regions {
        Some(p) => links.apply_regions(p, 0.0),
        None => links.set_all(opts.base),
    }
    let cs = clients(&hosts.urls).await;
    if wait_resumed(&cs, 2, Duration::from_secs(60))
        .await
        .is_none()
    {
        return Err(format!(
            "no finality across the hosts within 60 s: heights {:?}\n{}",
            heights(&cs).await,
            hosts.log_tail(0, 20)
        ));
    }
    let load = Load::start(
        &hosts.urls,
        &hosts.genesis.chain_id,
        opts.clients,
        Duration::from_millis(100),
        Duration::from_secs(15),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut steps = Vec::new();
    for step in &schedule.steps {
        let r = play(&mut hosts, &cs, step, opts).await;
        eprintln!(
            "[faults] {} held {:.1} s: resumed after {:?} {} (acked so far {})",
            r.fault,
            r.hold.as_secs_f64(),
            r.resumed_after,
            r.note,
            load.acked()
        );
        steps.push(r);
        // A moment of calm between faults, so each heal is measured on its own.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (acked, counts, _) = load.finish().await;
    // Let everything in flight finalize everywhere, then read the histories.
    let top = heights(&cs).await.into_iter().max().unwrap_or(0);
    let _ = wait_resumed(&cs, top + 2, Duration::from_secs(30)).await;
    let mut nodes = Vec::new();
    for (i, c) in cs.iter().enumerate() {
        nodes.push(read_node(c, i, &hosts.genesis).await?);
    }
    let history = History {
        nodes,
        acked,
        genesis_totals: genesis_totals(&hosts.genesis),
        resumes: steps
            .iter()
            .map(|s| Resume {
                fault: s.fault.to_string(),
                after: s.resumed_after,
            })
            .collect(),
        resume_bound: opts.resume_bound,
    };
    let violations = history::check(&history);
    let link_stats = hosts.lab.links().map(|l| l.stats()).unwrap_or_default();
    // The stores, after a clean stop: `ledger-node replay` re-executes every block.
    let mut replays = Vec::new();
    for i in 0..hosts.len() {
        hosts.stop_node(i);
        let o = Command::new(binary("ledger-node"))
            .arg("replay")
            .arg("--data-dir")
            .arg(hosts.data_dir(i))
            .output()
            .map_err(|e| e.to_string())?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let last = text.lines().last().unwrap_or("").to_string();
        replays.push((i, o.status.success(), last));
    }
    Ok(RunReport {
        schedule,
        steps,
        load: counts,
        history,
        violations,
        replays,
        links: link_stats,
        wall: t_start.elapsed(),
    })
}

async fn leader(cs: &[LedgerClient], keys: &[String]) -> usize {
    for c in cs {
        if let Some(b) = call(c.get_block(BlockSelector::Final, None)).await {
            if let ledger_rpc::ConsensusView::Streamlet { proposer, .. } = b.consensus {
                let hex = proposer.to_hex();
                if let Some(i) = keys.iter().position(|k| *k == hex) {
                    return i;
                }
            }
        }
    }
    0
}

async fn play(
    hosts: &mut Hosts,
    cs: &[LedgerClient],
    step: &Step,
    opts: &RunOptions,
) -> StepReport {
    use nix::sys::signal::Signal;
    let mut note = String::new();
    let fault = step.fault.clone();
    let n = hosts.len();
    let restore_links = |hosts: &Hosts| {
        let l = hosts.lab.links().expect("emulated lab");
        l.heal();
        match &opts.regions {
            Some(p) => l.apply_regions(p, 0.0),
            None => l.set_all(opts.base),
        }
    };
    match &step.fault {
        Fault::Kill(i) => {
            hosts.kill_node(*i);
            tokio::time::sleep(step.hold).await;
            if let Err(e) = hosts.start_node(*i) {
                note = format!("restart failed: {e}");
            }
        }
        Fault::Pause(i) => {
            hosts.signal(*i, Signal::SIGSTOP);
            tokio::time::sleep(step.hold).await;
            hosts.signal(*i, Signal::SIGCONT);
        }
        Fault::SplitTwoTwo => {
            hosts
                .lab
                .links()
                .expect("lab")
                .partition(&[&[0, 1], &[2, 3]]);
            tokio::time::sleep(step.hold).await;
            restore_links(hosts);
        }
        Fault::SplitOne(_) | Fault::IsolateLeader => {
            let i = match step.fault {
                Fault::SplitOne(i) => i,
                _ => {
                    let l = leader(cs, &hosts.keys).await;
                    note = format!("leader node-{l}");
                    l
                }
            };
            let rest: Vec<usize> = (0..n).filter(|j| *j != i).collect();
            hosts.lab.links().expect("lab").partition(&[&rest, &[i]]);
            tokio::time::sleep(step.hold).await;
            restore_links(hosts);
        }
        Fault::Flap(i) => {
            let t0 = Instant::now();
            let mut flaps = 0;
            while t0.elapsed() < step.hold {
                let l = hosts.lab.links().expect("lab");
                for j in (0..n).filter(|j| j != i) {
                    l.set_cut(*i, j, flaps % 2 == 0);
                }
                flaps += 1;
                tokio::time::sleep(Duration::from_millis(600)).await;
            }
            restore_links(hosts);
            note = format!("{flaps} flaps");
        }
        Fault::Lossy(i) => {
            let l = hosts.lab.links().expect("lab");
            for j in (0..n).filter(|j| j != i) {
                let base = match &opts.regions {
                    Some(p) => LinkShape::ms(p.delay_ms(*i, j), p.jitter_ms),
                    None => opts.base,
                };
                l.set(*i, j, base.with_loss(0.2));
                l.set(j, *i, base.with_loss(0.2));
            }
            tokio::time::sleep(step.hold).await;
            restore_links(hosts);
        }
        Fault::DiskFull(i) => match hosts.fill_disk(*i) {
            Err(e) => note = format!("could not fill the disk: {e}"),
            Ok(filler) => {
                let exited = hosts.wait_exit(*i, step.hold + Duration::from_secs(20));
                let log = hosts.log_tail(*i, 40);
                let line = log
                    .lines()
                    .find(|l| l.contains("ENOSPC"))
                    .map(str::to_string);
                // The store's path as the node names it (`<host>/config/../data` or
                // resolved): the host's folder and `data`.
                let folder = format!("/{}/", hosts.hosts[*i]);
                note = match (&exited, &line) {
                    (Some(st), Some(l)) if !st.success() => {
                        let named = if l.contains(&folder) && l.contains("data") {
                            "names ENOSPC and the path"
                        } else {
                            "names ENOSPC but not the path"
                        };
                        let at = l.find("no space").unwrap_or(0);
                        let quote: String = l[at..].chars().take(150).collect();
                        format!("exited ({st}), {named}: `{quote}`")
                    }
                    (Some(st), None) => format!("exited ({st}) without naming ENOSPC"),
                    (Some(st), Some(_)) => format!("exited ({st}) though the disk is full"),
                    (None, _) => {
                        hosts.kill_node(*i);
                        "did not exit on a full disk".into()
                    }
                };
                let _ = std::fs::remove_file(filler);
                if let Err(e) = hosts.start_node(*i) {
                    note += &format!("; restart failed: {e}");
                }
            }
        },
        Fault::ClockSkew(i, ms) => {
            hosts.stop_node(*i);
            hosts.set_skew(*i, *ms);
            let _ = hosts.start_node(*i);
            tokio::time::sleep(step.hold).await;
            let h = heights(cs).await;
            note = format!("heights while skewed {h:?}");
            hosts.stop_node(*i);
            hosts.set_skew(*i, 0);
            let _ = hosts.start_node(*i);
        }
        Fault::CorruptStore(i, kind) => {
            hosts.kill_node(*i);
            let dir = hosts.data_dir(*i);
            let seed = opts.seed ^ (step.hold.as_millis() as u64).rotate_left(17);
            note = match damage_store(&dir, *kind, seed) {
                Err(e) => format!("could not damage the store: {e}"),
                Ok(done) => {
                    let _ = hosts.start_node(*i);
                    match hosts.wait_exit(*i, step.hold + Duration::from_secs(6)) {
                        None => format!("{done}; opened it (repaired, lost blocks re-fetched)"),
                        Some(st) => {
                            let log = hosts.log_tail(*i, 20);
                            let line = log
                                .lines()
                                .rev()
                                .find(|l| l.to_lowercase().contains("error"))
                                .unwrap_or("")
                                .to_string();
                            let clear = [
                                "corrupt",
                                "MANIFEST",
                                "CURRENT",
                                "incomplete",
                                "lost",
                                "Restore the directory",
                            ]
                            .iter()
                            .any(|w| line.contains(w))
                                && !line.contains("is empty");
                            let quote: String = line.chars().take(220).collect();
                            // The operator's remedy the error names: move the directory
                            // away and let the node re-sync from its peers.
                            clear_dir(&dir);
                            let restarted = hosts.start_node(*i);
                            format!(
                                "{done}; refused ({st}) {}: `{quote}`; cleared, re-syncing{}",
                                if clear {
                                    "with a clear error"
                                } else {
                                    "WITHOUT A CLEAR ERROR"
                                },
                                restarted
                                    .err()
                                    .map(|e| format!(" (restart failed: {e})"))
                                    .unwrap_or_default()
                            )
                        }
                    }
                }
            };
        }
        Fault::SlowFsync(i, ms) => {
            hosts.stop_node(*i);
            hosts.set_fsync_delay(*i, *ms);
            let _ = hosts.start_node(*i);
            tokio::time::sleep(step.hold).await;
            let h = heights(cs).await;
            let active = hosts.log_tail(*i, 400).contains("slow-fsync shim");
            note = format!(
                "heights while slow {h:?}{}",
                if active {
                    ""
                } else {
                    "; the shim did not report"
                }
            );
            hosts.stop_node(*i);
            hosts.set_fsync_delay(*i, 0);
            let _ = hosts.start_node(*i);
        }
    }
    let height_at_heal = heights(cs).await.into_iter().max().unwrap_or(0);
    let resumed_after = wait_resumed(cs, height_at_heal, opts.resume_bound * 2).await;
    StepReport {
        fault,
        hold: step.hold,
        height_at_heal,
        resumed_after,
        note,
    }
}

/// Removes everything inside `dir` (which may be a mount point).
fn clear_dir(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
}

/// Damages the RocksDB store in `dir` (the node stopped) as `kind` says, offsets drawn
/// from `seed`; what was done.
pub fn damage_store(dir: &Path, kind: Corruption, seed: u64) -> Result<String, String> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let files = |ext: &str| -> Vec<(PathBuf, u64)> {
        let mut v: Vec<(PathBuf, u64)> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let p = e.path();
                let name = p.file_name()?.to_str()?.to_string();
                let len = e.metadata().ok()?.len();
                (name.ends_with(ext) || (ext == "MANIFEST" && name.starts_with("MANIFEST-")))
                    .then_some((p, len))
            })
            .collect();
        v.sort();
        v
    };
    let io = |e: std::io::Error| e.to_string();
    match kind {
        Corruption::ManifestCut => {
            let current = std::fs::read_to_string(dir.join("CURRENT")).map_err(io)?;
            let path = dir.join(current.trim());
            let len = std::fs::metadata(&path).map_err(io)?.len();
            let cut = rng.gen_range(0..len.max(1));
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_len(cut))
                .map_err(io)?;
            Ok(format!("{} cut at {cut} of {len} bytes", current.trim()))
        }
        Corruption::WalByteFlipped => {
            let (path, len) = files(".log")
                .into_iter()
                .filter(|(_, len)| *len > 0)
                .max_by_key(|(p, _)| p.clone())
                .ok_or("no non-empty write-ahead log")?;
            let at = rng.gen_range(0..len);
            let mut f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(io)?;
            let mut b = [0u8];
            f.seek(SeekFrom::Start(at)).map_err(io)?;
            f.read_exact(&mut b).map_err(io)?;
            b[0] ^= 0x5a;
            f.seek(SeekFrom::Start(at)).map_err(io)?;
            f.write_all(&b).map_err(io)?;
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            Ok(format!("{name}: byte {at} of {len} flipped"))
        }
        Corruption::CurrentEmptied => {
            std::fs::write(dir.join("CURRENT"), b"").map_err(io)?;
            Ok("CURRENT emptied".into())
        }
        Corruption::CurrentDeleted => {
            std::fs::remove_file(dir.join("CURRENT")).map_err(io)?;
            Ok("CURRENT deleted".into())
        }
        Corruption::SstTruncated => {
            let Some((path, len)) = files(".sst").into_iter().max_by_key(|(_, len)| *len) else {
                let done = damage_store(dir, Corruption::WalByteFlipped, seed)?;
                return Ok(format!("no SST file yet, so {done}"));
            };
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_len(len / 2))
                .map_err(io)?;
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            Ok(format!("{name} truncated from {len} to {} bytes", len / 2))
        }
    }
}

/// C source of the slow-fsync shim: `fsync` and `fdatasync` sleep
/// `LEDGER_SLOW_FSYNC_MS` before calling the real ones (RocksDB is linked statically
/// but calls libc's, so `LD_PRELOAD` reaches them). It says so once on stderr.
const SLOW_FSYNC_C: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static void slow(void) {
    static int said = 0;
    const char *s = getenv("LEDGER_SLOW_FSYNC_MS");
    long ms = s ? atol(s) : 0;
    if (ms <= 0) return;
    if (!said) { said = 1; fprintf(stderr, "slow-fsync shim: every fsync delayed by %ld ms\n", ms); }
    usleep((useconds_t)(ms * 1000));
}
int fsync(int fd) {
    static int (*real)(int) = 0;
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    slow();
    return real(fd);
}
int fdatasync(int fd) {
    static int (*real)(int) = 0;
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    slow();
    return real(fd);
}
"#;

/// Builds the slow-fsync shim in `dir` with the machine's C compiler (`cc`, else
/// `clang`); its path, or why not.
pub fn build_slow_fsync_shim(dir: &Path) -> Result<PathBuf, String> {
    let src = dir.join("slow_fsync.c");
    let lib = dir.join("slow_fsync.so");
    std::fs::write(&src, SLOW_FSYNC_C).map_err(|e| e.to_string())?;
    for cc in ["cc", "clang"] {
        let ok = Command::new(cc)
            .args(["-shared", "-fPIC", "-O2", "-o"])
            .arg(&lib)
            .arg(&src)
            .arg("-ldl")
            .stdin(Stdio::null())
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            return Ok(lib);
        }
    }
    Err("no C compiler (cc or clang) to build the slow-fsync shim".into())
}

/// Submit-to-final latency under a region profile: (node, region, p50, p99, samples).
pub type LatencyRow = (usize, &'static str, Duration, Duration, usize);

/// Runs 4 validators under `profile` (Δ = `delta_ms`) with `clients` clients for
/// `secs`, polling each order every 10 ms; returns per-node latency rows and the
/// p50/p99 over all orders.
pub async fn wan_bench(
    profile: &RegionProfile,
    delta_ms: u64,
    clients_n: usize,
    secs: u64,
    seed: u64,
) -> Result<(Vec<LatencyRow>, Duration, Duration, usize), String> {
    let hosts = Hosts::start(NODES, seed, delta_ms, clients_n.max(4), None)?;
    hosts.lab.links().expect("lab").apply_regions(profile, 0.0);
    let cs = clients(&hosts.urls).await;
    if wait_resumed(&cs, 2, Duration::from_secs(60))
        .await
        .is_none()
    {
        return Err(format!(
            "no finality under the profile: {:?}",
            heights(&cs).await
        ));
    }
    let load = Load::start(
        &hosts.urls,
        &hosts.genesis.chain_id,
        clients_n,
        Duration::from_millis(10),
        Duration::from_secs(30),
    );
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let (_, _, lat) = load.finish().await;
    let pct = |v: &mut Vec<Duration>, p: f64| -> Duration {
        if v.is_empty() {
            return Duration::ZERO;
        }
        v.sort();
        v[((v.len() as f64 - 1.0) * p).round() as usize]
    };
    let mut rows = Vec::new();
    for i in 0..NODES {
        let mut v: Vec<Duration> = lat
            .iter()
            .filter(|(n, _)| *n == i)
            .map(|(_, d)| *d)
            .collect();
        let k = v.len();
        rows.push((
            i,
            profile.regions[profile.region_of(i)],
            pct(&mut v, 0.5),
            pct(&mut v, 0.99),
            k,
        ));
    }
    let mut all: Vec<Duration> = lat.iter().map(|(_, d)| *d).collect();
    let p50 = pct(&mut all, 0.5);
    let p99 = pct(&mut all, 0.99);
    Ok((rows, p50, p99, all.len()))
}
