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

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Output, Stdio};

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
}

impl NetnsLab {
    /// `None` if this process may create network namespaces, else the reason it may not
    /// (not root, no `ip`, namespaces not permitted in this container).
    pub fn unavailable() -> Option<String> {
        if !nix::unistd::geteuid().is_root() {
            return Some("network namespaces need root".into());
        }
        let probe = format!("l17probe{}", std::process::id());
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
        assert!((1..=200).contains(&nodes));
        // Short: interface names are at most 15 characters.
        let prefix = format!("l{}", std::process::id() % 100_000);
        let mut lab = NetnsLab {
            prefix,
            nodes,
            created: Vec::new(),
            children: Vec::new(),
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
            ip_ok(&["-n", &hub, "link", "set", &link, "master", "br0"])?;
            ip_ok(&["-n", &hub, "link", "set", &link, "up"])?;
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
        // Deleting a namespace removes its interfaces (and so both ends of each pair).
        for ns in self.created.iter().rev() {
            let _ = ip_ok(&["netns", "del", ns]);
        }
    }
}
