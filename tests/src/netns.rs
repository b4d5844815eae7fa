//! Hosts on one machine: a network namespace per node, each with its own address on a
//! private bridge, for tests that need real, distinct IPs (`testnet --hosts`, and later
//! WAN delay and partitions with `tc netem` on [`NetnsLab::link`]).
//!
//! Layout, all created by [`NetnsLab::create`] and removed on drop:
//!
//! ```text
//!   <p>n0 [eth0 10.77.0.1/24] ──veth── <p>h0 ┐
//!   <p>n1 [eth0 10.77.0.2/24] ──veth── <p>h1 ├─ br0 in namespace <p>hub
//!   ...                                      ┘
//! ```
//!
//! The bridge lives in a namespace of its own, so nothing is added to the machine's own
//! network namespace and no packet can leave the lab: the addresses exist only inside
//! the namespaces (each also has its own loopback, where a node's RPC listens). Needs
//! root and `ip` (iproute2); [`NetnsLab::unavailable`] says why not, so tests can skip.
//! Processes started with [`NetnsLab::spawn`] are killed before the namespaces go.

use crate::wan::LinkEmulator;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The lab's subnet: node `i` is `10.77.0.(i+1)`.
pub const SUBNET: [u8; 3] = [10, 77, 0];

fn ip_cmd(args: &[&str]) -> Result<Output, String> {
    Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `ip`: {e} (install iproute2)"))
}

fn ip_ok(args: &[&str]) -> Result<(), String> {
    let o = ip_cmd(args)?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        ))
    }
}

/// A set of namespaces joined by a bridge.
pub struct NetnsLab {
    prefix: String,
    nodes: usize,
    created: Vec<String>,
    children: Vec<Child>,
    links: Option<LinkEmulator>,
    stop_forwards: Arc<AtomicBool>,
}

/// Runs `f` on a new thread that has entered network namespace `ns`: sockets it creates
/// live in that namespace (and keep working when used from other threads).
pub fn in_namespace<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| format!("setns {path}: {e}"))?;
        Ok(f())
    })
    .join()
    .map_err(|_| "namespace thread panicked".to_string())?
}

fn ethtool_offloads_off(ns: &str, dev: &str) -> Result<(), String> {
    let o = Command::new("ip")
        .args(["netns", "exec", ns, "ethtool", "-K", dev])
        .args([
            "tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx", "off",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ethtool: {e}"))?;
    // ethtool exits non-zero when one feature cannot change though the others did;
    // only a missing tool is fatal.
    if !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("not found") {
        return Err(format!(
            "ethtool: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok(())
}

impl NetnsLab {
    /// `None` if this process may create network namespaces, else the reason it may not
    /// (not root, no `ip`, namespaces not permitted in this container).
    pub fn unavailable() -> Option<String> {
        if !nix::unistd::geteuid().is_root() {
            return Some("network namespaces need root".into());
        }
        static PROBES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let probe = format!(
            "l17probe{}-{}",
            std::process::id(),
            PROBES.fetch_add(1, Ordering::Relaxed)
        );
        match ip_ok(&["netns", "add", &probe]) {
            Ok(()) => {
                let _ = ip_ok(&["netns", "del", &probe]);
                None
            }
            Err(e) => Some(e),
        }
    }

    /// Creates the hub namespace with its bridge and `nodes` node namespaces, each with
    /// `eth0` at [`NetnsLab::ip`] and loopback up.
    pub fn create(nodes: usize) -> Result<NetnsLab, String> {
        Self::build(nodes, None)
    }

    /// `None` if [`Self::create_emulated`] can work here, else why not: namespaces
    /// ([`Self::unavailable`]) and `ethtool` (package ethtool).
    pub fn emulation_unavailable() -> Option<String> {
        if let Some(why) = Self::unavailable() {
            return Some(why);
        }
        match Command::new("ethtool").arg("--version").output() {
            Ok(o) if o.status.success() => None,
            _ => Some("`ethtool` is missing (apt-get install ethtool)".into()),
        }
    }

    /// Like [`Self::create`], but the hub has no bridge: a [`LinkEmulator`] seeded with
    /// `seed` switches the frames, so every pair of nodes can be delayed, made lossy or
    /// cut ([`Self::links`]). Starts with clear links.
    pub fn create_emulated(nodes: usize, seed: u64) -> Result<NetnsLab, String> {
        Self::build(nodes, Some(seed))
    }

    /// The link emulator of a lab made by [`Self::create_emulated`].
    pub fn links(&self) -> Option<&LinkEmulator> {
        self.links.as_ref()
    }

    fn build(nodes: usize, emulate: Option<u64>) -> Result<NetnsLab, String> {
        assert!((1..=200).contains(&nodes));
        // Short: interface names are at most 15 characters.
        // A letter per lab, so tests of one process can each have their own.
        static LABS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let letter = (b'a' + (LABS.fetch_add(1, Ordering::Relaxed) % 26) as u8) as char;
        let prefix = format!("l{}{letter}", std::process::id() % 100_000);
        let mut lab = NetnsLab {
            prefix,
            nodes,
            created: Vec::new(),
            children: Vec::new(),
            links: None,
            stop_forwards: Arc::new(AtomicBool::new(false)),
        };
        let hub = lab.hub();
        ip_ok(&["netns", "add", &hub])?;
        lab.created.push(hub.clone());
        ip_ok(&["-n", &hub, "link", "set", "lo", "up"])?;
        ip_ok(&["-n", &hub, "link", "add", "br0", "type", "bridge"])?;
        ip_ok(&["-n", &hub, "link", "set", "br0", "up"])?;
        for i in 0..nodes {
            let ns = lab.ns(i);
            ip_ok(&["netns", "add", &ns])?;
            lab.created.push(ns.clone());
            let link = lab.link(i);
            // The pair is created inside the node's namespace with its peer in the hub:
            // it never appears in the machine's own namespace.
            ip_ok(&[
                "-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", &link, "netns",
                &hub,
            ])?;
            let addr = format!("{}/24", lab.ip(i));
            ip_ok(&["-n", &ns, "addr", "add", &addr, "dev", "eth0"])?;
            ip_ok(&["-n", &ns, "link", "set", "eth0", "up"])?;
            ip_ok(&["-n", &ns, "link", "set", "lo", "up"])?;
            if emulate.is_none() {
                ip_ok(&["-n", &hub, "link", "set", &link, "master", "br0"])?;
            } else {
                ip_ok(&["-n", &hub, "link", "set", &link, "promisc", "on"])?;
                ethtool_offloads_off(&ns, "eth0")?;
                ethtool_offloads_off(&hub, &link)?;
            }
            ip_ok(&["-n", &hub, "link", "set", &link, "up"])?;
        }
        if let Some(seed) = emulate {
            let ports: Vec<String> = (0..nodes).map(|i| lab.link(i)).collect();
            let links = in_namespace(&hub, move || LinkEmulator::start(&ports, seed))??;
            lab.links = Some(links);
        }
        Ok(lab)
    }

    /// Number of node namespaces.
    pub fn len(&self) -> usize {
        self.nodes
    }

    /// Always false (a lab has at least one node).
    pub fn is_empty(&self) -> bool {
        self.nodes == 0
    }

    /// The namespace holding the bridge.
    pub fn hub(&self) -> String {
        format!("{}hub", self.prefix)
    }

    /// Node `i`'s namespace.
    pub fn ns(&self, i: usize) -> String {
        format!("{}n{i}", self.prefix)
    }

    /// Node `i`'s link on the bridge side (in [`Self::hub`]): where `tc netem` shapes
    /// the traffic to and from node `i`.
    pub fn link(&self, i: usize) -> String {
        format!("{}h{i}", self.prefix)
    }

    /// Node `i`'s address.
    pub fn ip(&self, i: usize) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], i as u8 + 1))
    }

    /// Every node's address.
    pub fn ips(&self) -> Vec<IpAddr> {
        (0..self.nodes).map(|i| self.ip(i)).collect()
    }

    /// A command that runs `program` inside node `i`'s namespace.
    pub fn command(&self, i: usize, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.arg("netns").arg("exec").arg(self.ns(i)).arg(program);
        c
    }

    /// Makes `port` on node `i`'s loopback reachable from the test process: returns a
    /// `127.0.0.1` address in the caller's namespace whose connections are relayed to
    /// `127.0.0.1:port` inside node `i`'s namespace (for its RPC). The relay is not
    /// subject to the link emulator: it stands for a client on the node's own host.
    pub fn forward(&self, i: usize, port: u16) -> Result<SocketAddr, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let path = format!("/run/netns/{}", self.ns(i));
        let stop = self.stop_forwards.clone();
        std::thread::Builder::new()
            .name(format!("forward{i}"))
            .spawn(move || {
                let Ok(file) = std::fs::File::open(&path) else {
                    return;
                };
                if nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).is_err() {
                    return;
                }
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((down, _)) => {
                            let _ = down.set_nonblocking(false);
                            // Connected from this thread: inside the node's namespace.
                            match TcpStream::connect(("127.0.0.1", port)) {
                                Ok(up) => relay(down, up),
                                Err(_) => drop(down),
                            }
                        }
                        Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(addr)
    }

    /// Starts a command (from [`Self::command`]) that the lab kills when dropped.
    /// Returns its index for [`Self::kill`].
    pub fn spawn(&mut self, mut command: Command) -> std::io::Result<usize> {
        self.children.push(command.spawn()?);
        Ok(self.children.len() - 1)
    }

    /// Stops a spawned process with SIGTERM, then SIGKILL after `grace`.
    pub fn kill(&mut self, index: usize, grace: std::time::Duration) {
        if let Some(c) = self.children.get_mut(index) {
            stop(c, grace);
        }
    }
}

/// Copies bytes both ways between two connected sockets until either side closes.
fn relay(a: TcpStream, b: TcpStream) {
    let _ = a.set_nodelay(true);
    let _ = b.set_nodelay(true);
    let (Ok(a2), Ok(b2)) = (a.try_clone(), b.try_clone()) else {
        return;
    };
    let pipe = |mut from: TcpStream, mut to: TcpStream| {
        let _ = std::thread::Builder::new().spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(std::net::Shutdown::Both);
            let _ = from.shutdown(std::net::Shutdown::Both);
        });
    };
    pipe(a, b2);
    pipe(b, a2);
}

fn stop(c: &mut Child, grace: std::time::Duration) {
    if let Ok(Some(_)) = c.try_wait() {
        return;
    }
    let pid = nix::unistd::Pid::from_raw(c.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let deadline = std::time::Instant::now() + grace;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = c.try_wait() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = c.kill();
    let _ = c.wait();
}

impl Drop for NetnsLab {
    fn drop(&mut self) {
        for c in &mut self.children {
            stop(c, std::time::Duration::from_secs(5));
        }
        self.stop_forwards.store(true, Ordering::Relaxed);
        self.links = None;
        // Deleting a namespace removes its interfaces (and so both ends of each pair).
        for ns in self.created.iter().rev() {
            let _ = ip_ok(&["netns", "del", ns]);
        }
    }
}
