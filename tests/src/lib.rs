//! ledger-e2e: a harness for end-to-end tests that run real `ledger-node` processes on
//! loopback ports. Each test gets its own temporary directory and port range; every
//! process it starts is killed when the harness is dropped.
//!
//! The binaries are the ones `cargo test` built next to the test executable
//! (`target/<profile>/ledger-node`); `cargo test --release --workspace` builds them.

pub mod byzantine;
pub mod faults;
pub mod history;
pub mod netns;
pub mod wan;

use ledger_rpc::{connect, BlockSelector, LedgerApiClient, LedgerClient, TxStatus};
use ledger_types::{Hash, TxHash};
use serde::Deserialize;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Path of a workspace binary built by `cargo test` (e.g. `ledger-node`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not found: run the tests with `cargo test --release --workspace`, which builds it",
        path.display()
    );
    path
}

/// A base port with `count` consecutive free ports (p, p+1, ...), checked by binding.
pub fn free_port_range(count: u16) -> u16 {
    for _ in 0..200 {
        let probe = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = probe.local_addr().expect("addr").port();
        drop(probe);
        if base < 20_000 || base as u32 + count as u32 > 60_000 {
            continue;
        }
        if (0..count).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no free port range of {count}");
}

/// One node of `testnet.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct NodeInfo {
    /// `node-I`.
    pub name: String,
    /// `validator` or `full`.
    pub role: String,
    /// HTTP RPC URL.
    pub rpc_url: String,
    /// Config path.
    pub config: PathBuf,
}

/// `testnet.json` (the parts tests use).
#[derive(Clone, Debug, Deserialize)]
pub struct TestnetInfo {
    /// Nodes.
    pub nodes: Vec<NodeInfo>,
}

/// A testnet written by `ledger-node testnet --no-start`, whose nodes the test starts
/// and stops itself (so it can kill one with SIGKILL).
pub struct Testnet {
    /// The temporary directory (removed on drop).
    pub dir: tempfile::TempDir,
    /// What `testnet.json` says.
    pub info: TestnetInfo,
    /// Running node processes, by node index.
    pub procs: Vec<Option<Child>>,
}

impl Testnet {
    /// Writes a testnet with `args` (e.g. `["--validators", "4"]`) without starting it.
    pub fn create(args: &[&str]) -> Testnet {
        let dir = tempfile::tempdir().expect("temp dir");
        let base = free_port_range(100);
        let status = Command::new(binary("ledger-node"))
            .arg("testnet")
            .arg("--dir")
            .arg(dir.path())
            .arg("--base-port")
            .arg(base.to_string())
            .arg("--accounts")
            .arg("64")
            .arg("--no-start")
            .args(args)
            .stdout(Stdio::null())
            .status()
            .expect("run ledger-node testnet");
        assert!(status.success(), "ledger-node testnet --no-start failed");
        let info = Self::read_info(dir.path());
        let n = info.nodes.len();
        Testnet {
            dir,
            info,
            procs: (0..n).map(|_| None).collect(),
        }
    }

    fn read_info(dir: &Path) -> TestnetInfo {
        let text = std::fs::read_to_string(dir.join("testnet.json")).expect("testnet.json");
        serde_json::from_str(&text).expect("testnet.json parses")
    }

    /// Adds a non-validator full node (`ledger-node testnet --join --no-start`).
    pub fn add_full_node(&mut self) -> usize {
        let status = Command::new(binary("ledger-node"))
            .arg("testnet")
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--join")
            .arg("--no-start")
            .stdout(Stdio::null())
            .status()
            .expect("run ledger-node testnet --join");
        assert!(status.success());
        self.info = Self::read_info(self.dir.path());
        self.procs.push(None);
        self.info.nodes.len() - 1
    }

    /// Starts node `i` as its own process (`ledger-node run --config ...`), logging to
    /// `node-i.log` in the testnet directory.
    pub fn start(&mut self, i: usize) {
        self.start_with(i, &binary("ledger-node"), &[]);
    }

    /// Starts node `i` with the node binary `program` and extra environment variables.
    pub fn start_with(&mut self, i: usize, program: &Path, env: &[(&str, &str)]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("node-{i}.log")))
            .expect("log file");
        let child = Command::new(program)
            .arg("run")
            .arg("--config")
            .arg(&self.info.nodes[i].config)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start ledger-node");
        self.procs[i] = Some(child);
    }

    /// Starts every node.
    pub fn start_all(&mut self) {
        for i in 0..self.info.nodes.len() {
            if self.procs[i].is_none() {
                self.start(i);
            }
        }
    }

    /// Kills node `i` with SIGKILL (no chance to flush).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.procs[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops node `i` with SIGTERM and waits for it; returns whether it exited cleanly.
    pub fn stop(&mut self, i: usize) -> bool {
        let Some(mut c) = self.procs[i].take() else {
            return true;
        };
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(c.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = c.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        false
    }

    /// Node `i`'s whole log so far.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("node-{i}.log"))).unwrap_or_default()
    }

    /// The last lines of node `i`'s log (for failure messages).
    pub fn log_tail(&self, i: usize) -> String {
        let text = std::fs::read_to_string(self.dir.path().join(format!("node-{i}.log")))
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// A client of node `i`, once its RPC answers (up to 30 s).
    pub async fn client(&self, i: usize) -> LedgerClient {
        let url = &self.info.nodes[i].rpc_url;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(c) = connect(url).await {
                if c.chain_status().await.is_ok() {
                    return c;
                }
            }
            assert!(
                Instant::now() < deadline,
                "node {i} RPC {url} not answering; log:\n{}",
                self.log_tail(i)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        for c in self.procs.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits until `f` is true, or panics with `what` after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// The final height a node reports (0 if it does not answer).
pub async fn final_height(c: &LedgerClient) -> u64 {
    c.chain_status().await.map(|s| s.final_height).unwrap_or(0)
}

/// True if every transaction is in a final block on this node.
pub async fn all_final(c: &LedgerClient, txs: &[TxHash]) -> bool {
    for h in txs {
        match c.get_tx(*h).await {
            Ok(v) if matches!(v.status, TxStatus::Final | TxStatus::Rejected) => {}
            _ => return false,
        }
    }
    true
}

/// Hash and state root of every final block `1..=height`.
pub async fn roots(c: &LedgerClient, height: u64) -> Vec<(Hash, Option<Hash>)> {
    let mut out = Vec::new();
    for h in 1..=height {
        let b = c
            .get_block(BlockSelector::Height(h), None)
            .await
            .expect("final block");
        out.push((b.hash, b.state_root));
    }
    out
}

/// Checks that every client has the same blocks and state roots up to the lowest final
/// height among them; returns that height.
pub async fn assert_same_roots(clients: &[&LedgerClient]) -> u64 {
    let mut h = u64::MAX;
    for c in clients {
        h = h.min(final_height(c).await);
    }
    let reference = roots(clients[0], h).await;
    assert!(
        reference.iter().all(|(_, r)| r.is_some()),
        "missing state roots"
    );
    for (i, c) in clients.iter().enumerate().skip(1) {
        assert_eq!(roots(c, h).await, reference, "node {i} disagrees");
    }
    h
}
