//! The first hour of a new user, on real processes: `ledger-node dev`, the testnet's
//! supervisor (a port taken, a node that dies at start-up, a node killed while the
//! network runs and restarted, `ledger-cli bench` going on without it), safe reruns
//! (`--base-port` on resume, `--join`/`--leave`, `keys test` twice), the node's own
//! environment variables, host names in addresses, shell completions, and the README's
//! quick start run as written, extracted from README.md itself.
//!
//! Every test picks free ports below the range Linux uses for outgoing connections,
//! works in its own temporary directory and stops what it starts.

use ledger_e2e::binary;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------
// Helpers

/// A base port with `count` consecutive free ports, below 32768 (outside the range of
/// outgoing ports, so no client connection can take one meanwhile).
fn free_base(count: u16) -> u16 {
    let seed = std::process::id() as u64 * 7919
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0);
    let span = 32_000 - 20_000 - count as u64;
    for k in 0..500u64 {
        let base = 20_000 + ((seed + k * 1_009) % span) as u16;
        if (0..count).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no {count} free ports below 32000");
}

/// A process, in a process group of its own, whose stdout and stderr lines are
/// collected. Signals go to the whole group, as a terminal's Ctrl-C does (so a shell
/// wrapper does not keep them from the real program); dropped, the group gets SIGTERM,
/// then SIGKILL.
struct Proc {
    child: Option<Child>,
    out: Arc<Mutex<Vec<String>>>,
    err: Arc<Mutex<Vec<String>>>,
    what: String,
}

impl Proc {
    fn spawn(mut cmd: Command, what: &str) -> Proc {
        use std::os::unix::process::CommandExt;
        let mut child = cmd
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(Vec::new()));
        for (stream, sink) in [
            (
                Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
                out.clone(),
            ),
            (Box::new(child.stderr.take().unwrap()), err.clone()),
        ] {
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
        }
        Proc {
            child: Some(child),
            out,
            err,
            what: what.to_string(),
        }
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    fn stdout(&self) -> String {
        self.out.lock().unwrap().join("\n")
    }

    fn stderr(&self) -> String {
        self.err.lock().unwrap().join("\n")
    }

    fn all(&self) -> String {
        format!(
            "--- stdout of {}\n{}\n--- stderr\n{}",
            self.what,
            self.stdout(),
            self.stderr()
        )
    }

    /// Waits until stdout or stderr holds `needle`; panics with both after `timeout`.
    fn wait_for(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.stdout().contains(needle) || self.stderr().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{needle:?} not seen within {timeout:?}\n{}", self.all());
    }

    /// Waits for the exit, at most `timeout`.
    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = child.try_wait() {
                // Let the reader threads drain.
                std::thread::sleep(Duration::from_millis(100));
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Sends `sig` to the process group.
    fn signal(&self, sig: nix::sys::signal::Signal) {
        if self.pid() > 0 {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(-self.pid()), sig);
        }
    }

    /// SIGINT (Ctrl-C), and the exit status within 30 s.
    fn interrupt(&mut self) -> ExitStatus {
        self.signal(nix::sys::signal::Signal::SIGINT);
        match self.wait_exit(Duration::from_secs(30)) {
            Some(s) => {
                self.child = None;
                s
            }
            // Drop kills what is left.
            None => panic!("did not stop within 30 s after SIGINT\n{}", self.all()),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let group = nix::unistd::Pid::from_raw(-(c.id() as i32));
            let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            // Whatever is left of the group (the nodes of a supervisor that hung).
            std::thread::sleep(Duration::from_millis(200));
            let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn node_cmd() -> Command {
    let mut c = Command::new(binary("ledger-node"));
    c.env_remove("RUST_LOG");
    c
}

fn cli_cmd(keys: &Path) -> Command {
    let mut c = Command::new(binary("ledger-cli"));
    c.arg("--keys-dir").arg(keys);
    c.env_remove("LEDGER_RPC");
    c
}

fn output(mut cmd: Command) -> (ExitStatus, String, String) {
    let o = cmd.output().expect("run a command");
    (
        o.status,
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

/// One JSON-RPC call with no parameters over HTTP; the `result`.
fn rpc(url: &str, method: &str) -> Option<Value> {
    let hostport = url.strip_prefix("http://")?;
    let addr: std::net::SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(hostport)
        .ok()?
        .next()?;
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":[]}}"#);
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let rest = text.split_once("\r\n\r\n")?.1;
    let v: Value = serde_json::from_str(&rest[rest.find('{')?..=rest.rfind('}')?]).ok()?;
    v.get("result").cloned()
}

/// `GET path` over HTTP: (status code, body).
fn http_get(hostport: &str, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(hostport).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, text.split_once("\r\n\r\n")?.1.to_string()))
}

fn final_height(url: &str) -> u64 {
    rpc(url, "chain_status")
        .and_then(|v| {
            let h = v.get("final_height")?.clone();
            h.as_u64().or_else(|| h.as_str()?.parse().ok())
        })
        .unwrap_or(0)
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read JSON")).expect("JSON")
}

/// `ledger-node testnet --no-start` in `dir`.
fn write_testnet(dir: &Path, base: u16, extra: &[&str]) -> Value {
    let (status, out, err) = output({
        let mut c = node_cmd();
        c.arg("testnet")
            .arg("--dir")
            .arg(dir)
            .arg("--base-port")
            .arg(base.to_string())
            .args(["--accounts", "32", "--no-start"])
            .args(extra);
        c
    });
    assert!(status.success(), "testnet --no-start failed\n{out}\n{err}");
    read_json(&dir.join("testnet.json"))
}

/// A running `ledger-node testnet` on `dir`, once its summary is out.
fn start_testnet(dir: &Path, extra: &[&str]) -> Proc {
    let mut c = node_cmd();
    c.arg("testnet").arg("--dir").arg(dir).args(extra);
    let p = Proc::spawn(c, "ledger-node testnet");
    p.wait_for("press Ctrl-C", Duration::from_secs(60));
    p
}

/// The pid of the `ledger-node run --config CONFIG` process.
fn node_pid(config: &str) -> Option<i32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).to_string())
            .collect();
        if args.iter().any(|a| a == "run") && args.iter().any(|a| a == config) {
            return Some(pid);
        }
    }
    None
}

// ---------------------------------------------------------------------------------
// Start-up failures are reported at once

#[test]
fn a_taken_port_stops_the_testnet_within_5_s_naming_the_node_and_the_port() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base(30);
    // Another program holds node-1's JSON-RPC port.
    let _holder = std::net::TcpListener::bind(("127.0.0.1", base + 11)).unwrap();
    let start = Instant::now();
    let mut c = node_cmd();
    c.arg("testnet")
        .arg("--dir")
        .arg(dir.path())
        .args(["--validators", "3", "--accounts", "8", "--base-port"])
        .arg(base.to_string());
    let mut p = Proc::spawn(c, "ledger-node testnet");
    let status = p
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("still running after 5 s\n{}", p.all()));
    let took = start.elapsed();
    assert!(!status.success(), "{}", p.all());
    let err = p.stderr();
    assert!(
        err.contains("node-1") && err.contains(&(base + 11).to_string()),
        "the error must name node-1 and port {}:\n{}",
        base + 11,
        p.all()
    );
    assert!(
        !p.stdout().contains("press Ctrl-C"),
        "no summary: {}",
        p.all()
    );
    eprintln!("port taken: exit {status} after {took:?}: {err}");
}

#[test]
fn a_node_that_exits_during_start_up_is_reported_at_once_with_its_last_lines() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base(30);
    let info = write_testnet(dir.path(), base, &["--validators", "3"]);
    // node-2's config gets a key the node does not know: it exits at once.
    let cfg = info["nodes"][2]["config"].as_str().unwrap().to_string();
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text = text.replace("[rpc]\n", "[rpc]\nlisten_typo = 1\n");
    std::fs::write(&cfg, text).unwrap();
    let start = Instant::now();
    let mut c = node_cmd();
    c.arg("testnet").arg("--dir").arg(dir.path());
    let mut p = Proc::spawn(c, "ledger-node testnet");
    let status = p
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("still running after 5 s\n{}", p.all()));
    assert!(!status.success());
    let err = p.stderr();
    assert!(
        err.contains("node-2") && err.contains("during start-up"),
        "{}",
        p.all()
    );
    assert!(
        err.contains("last lines of node-2") && err.contains("listen_typo"),
        "its last log lines, with the cause: {}",
        p.all()
    );
    assert!(
        !p.stdout().contains("press Ctrl-C"),
        "no summary: {}",
        p.all()
    );
    // The other nodes were stopped.
    for n in 0..2 {
        let c = info["nodes"][n]["config"].as_str().unwrap();
        assert!(node_pid(c).is_none(), "node-{n} still runs");
    }
    eprintln!("node-2 died at start-up: reported in {:?}", start.elapsed());
}

// ---------------------------------------------------------------------------------
// ledger-node dev

#[test]
fn dev_chain_finalizes_an_order_placed_through_ledger_cli() {
    let keys = tempfile::tempdir().unwrap();
    let base = free_base(3);
    let mut c = node_cmd();
    c.args(["dev", "--accounts", "16", "--base-port"])
        .arg(base.to_string());
    let mut dev = Proc::spawn(c, "ledger-node dev");
    dev.wait_for("press Ctrl-C", Duration::from_secs(60));
    let out = dev.stdout();
    // The same summary as a testnet: the node, the accounts, hints.
    let url = format!("http://127.0.0.1:{}", base + 1);
    assert!(out.contains("ledger dev chain"), "{out}");
    assert!(out.contains(&format!("rpc {url}")), "{out}");
    assert!(out.contains("account-0") && out.contains("try:"), "{out}");
    let dir_line = out
        .lines()
        .find(|l| l.starts_with("ledger dev chain"))
        .unwrap()
        .to_string();
    let dir = PathBuf::from(dir_line.rsplit(" in ").next().unwrap().trim());
    assert!(dir.join("testnet.json").exists(), "{dir_line}");

    let (s, o, e) = output({
        let mut c = cli_cmd(keys.path());
        c.args(["--rpc", &url, "keys", "test", "account-0"]);
        c
    });
    assert!(s.success(), "{o}{e}");
    let (s, o, e) = output({
        let mut c = cli_cmd(keys.path());
        c.args([
            "--rpc",
            &url,
            "--json",
            "order",
            "place",
            "--key",
            "account-0",
            "--market",
            "BTC/USD",
            "--side",
            "buy",
            "--price",
            "100",
            "--qty",
            "0.5",
            "--wait",
        ]);
        c
    });
    assert!(s.success(), "{o}{e}");
    let v: Value = serde_json::from_str(&o).unwrap();
    assert_eq!(v["status"], "final", "{o}");
    let h = final_height(&url);
    assert!(h >= 1, "final height {h}");
    // A validator of its own: ready, not "no peers".
    let (code, body) = http_get(&format!("127.0.0.1:{}", base + 1), "/health/ready").unwrap();
    assert_eq!(code, 200, "{body}");

    assert!(dev.interrupt().success());
    assert!(
        !dir.exists(),
        "the temporary chain {} is removed",
        dir.display()
    );
    eprintln!("dev chain: order final at height {h}");
}

// ---------------------------------------------------------------------------------
// A node alone, its environment, host names

#[test]
fn a_lonely_full_node_says_so_accepts_localhost_and_ignores_client_variables() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (s, o, e) = output({
        let mut c = node_cmd();
        c.arg("init")
            .arg("--data-dir")
            .arg(&home)
            .env("LEDGER_KEY_PASSWORD", "first hour");
        c
    });
    assert!(s.success(), "{o}{e}");
    assert!(
        o.contains("ledger-node dev"),
        "init points to the one-node chain: {o}"
    );
    let base = free_base(3);
    let cfg = home.join("config/node.toml");
    let mut c = node_cmd();
    c.arg("--config")
        .arg(&cfg)
        .arg("--rpc-listen")
        .arg(format!("localhost:{}", base + 1))
        .arg("--p2p-listen")
        .arg(format!("localhost:{base}"))
        .arg("--metrics-listen")
        .arg(format!("localhost:{}", base + 2))
        // Variables meant for ledger-cli, or of the old names: none stops the node.
        .env("LEDGER_RPC_URL", "http://elsewhere:1")
        .env("LEDGER_RPC", "http://elsewhere:1")
        .env("LEDGER_RPC_LISTEN", "not an address")
        .env("LEDGER_NODE_MEMPOOL_MAX_TXS", "1000")
        .env("LEDGER_KEY_PASSWORD", "first hour");
    let node = Proc::spawn(c, "ledger-node --config");
    let url = format!("http://127.0.0.1:{}", base + 1);
    wait_until(
        "the node to serve on localhost",
        Duration::from_secs(30),
        || rpc(&url, "chain_status").is_some(),
    );
    node.wait_for("not a validator and no peers", Duration::from_secs(10));
    node.wait_for("LEDGER_RPC_LISTEN is ignored", Duration::from_secs(1));
    let (code, body) = http_get(&format!("127.0.0.1:{}", base + 1), "/health/ready").unwrap();
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("not a validator and no peers"), "{body}");
    assert!(body.contains("ledger-node dev"), "{body}");
    drop(node);

    // Inside its own namespace, an unknown key is still an error that names it.
    let (s, o, e) = output({
        let mut c = node_cmd();
        c.arg("--config")
            .arg(&cfg)
            .arg("--print-config")
            .env("LEDGER_NODE_RPC_LISTN", "x");
        c
    });
    assert!(!s.success(), "{o}");
    assert!(e.contains("LEDGER_NODE_RPC_LISTN"), "{e}");
    // Each cause once.
    let (s, _, e) = output({
        let mut c = node_cmd();
        c.args(["--config", "/nonexistent/node.toml"]);
        c
    });
    assert!(!s.success());
    assert_eq!(e.matches("os error 2").count(), 1, "{e}");
}

// ---------------------------------------------------------------------------------
// Reruns

#[test]
fn keys_test_twice_exits_0_and_never_overwrites_another_key() {
    let keys = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let (s, o, e) = output({
            let mut c = cli_cmd(keys.path());
            c.args(["keys", "test", "account-0"]);
            c
        });
        assert!(s.success(), "{o}{e}");
    }
    let file = keys.path().join("account-0.key");
    let before = std::fs::read(&file).unwrap();
    let (s, _, e) = output({
        let mut c = cli_cmd(keys.path());
        c.args(["keys", "test", "account-1", "--name", "account-0"]);
        c
    });
    assert_eq!(s.code(), Some(1), "{e}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[test]
fn a_resumed_testnet_moves_to_a_new_base_port_and_full_nodes_join_and_leave() {
    let dir = tempfile::tempdir().unwrap();
    let old = free_base(40);
    write_testnet(dir.path(), old, &["--validators", "2", "--delta-ms", "100"]);
    // A joined full node, written only; --leave removes it again. A validator cannot leave.
    let (s, o, e) = output({
        let mut c = node_cmd();
        c.arg("testnet")
            .arg("--dir")
            .arg(dir.path())
            .args(["--join", "--no-start"]);
        c
    });
    assert!(s.success(), "{o}{e}");
    let info = read_json(&dir.path().join("testnet.json"));
    assert_eq!(info["nodes"][2]["joined"], true);
    let (s, _, e) = output({
        let mut c = node_cmd();
        c.arg("testnet")
            .arg("--dir")
            .arg(dir.path())
            .args(["--leave", "node-0"]);
        c
    });
    assert!(!s.success() && e.contains("validator"), "{e}");
    let (s, o, e) = output({
        let mut c = node_cmd();
        c.arg("testnet")
            .arg("--dir")
            .arg(dir.path())
            .args(["--leave", "node-2"]);
        c
    });
    assert!(s.success(), "{o}{e}");
    assert!(!dir.path().join("node-2").exists());
    assert_eq!(
        read_json(&dir.path().join("testnet.json"))["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Resume on other ports: honoured, in the configs, testnet.json and the summary.
    let new = loop {
        let b = free_base(40);
        if b.abs_diff(old) >= 40 {
            break b;
        }
    };
    let mut net = start_testnet(dir.path(), &["--base-port", &new.to_string()]);
    let out = net.stdout();
    let url0 = format!("http://127.0.0.1:{}", new + 1);
    let url1 = format!("http://127.0.0.1:{}", new + 11);
    assert!(
        out.contains(&format!("ports moved: base {old} -> {new}")),
        "{out}"
    );
    assert!(out.contains(&format!("rpc {url0}")), "{out}");
    let info = read_json(&dir.path().join("testnet.json"));
    assert_eq!(info["nodes"][1]["rpc_url"], url1.as_str());
    assert_eq!(info["base_port"], new);
    let cfg1 = std::fs::read_to_string(info["nodes"][1]["config"].as_str().unwrap()).unwrap();
    assert!(
        cfg1.contains(&format!("/tcp/{}/p2p/", new)),
        "bootnodes moved:\n{cfg1}"
    );
    wait_until(
        "both validators to finalize on the new ports",
        Duration::from_secs(60),
        || final_height(&url0) >= 3 && final_height(&url1) >= 3,
    );
    assert!(rpc(&format!("http://127.0.0.1:{}", old + 1), "chain_status").is_none());
    assert!(net.interrupt().success());
}

// ---------------------------------------------------------------------------------
// A testnet that survives its children

#[test]
fn a_killed_node_is_reported_the_others_and_bench_go_on_and_restart_brings_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let base = free_base(40);
    let info = write_testnet(
        dir.path(),
        base,
        &["--validators", "4", "--delta-ms", "100"],
    );
    let mut net = start_testnet(dir.path(), &[]);
    let url = |i: usize| info["nodes"][i]["rpc_url"].as_str().unwrap().to_string();
    wait_until("first final blocks", Duration::from_secs(60), || {
        final_height(&url(1)) >= 2
    });

    // Load on every endpoint; node-0 (the bench's first endpoint, whose blocks it
    // follows) is killed in the middle of it.
    let mut bench = Proc::spawn(
        {
            let mut c = cli_cmd(keys.path());
            c.arg("--json")
                .arg("bench")
                .arg("--testnet")
                .arg(dir.path().join("testnet.json"))
                .args([
                    "--duration",
                    "10",
                    "--rate",
                    "150",
                    "--accounts",
                    "32",
                    "--verify-seconds",
                    "0",
                    "--drain",
                    "10",
                    "--concurrency",
                    "2",
                ]);
            c
        },
        "ledger-cli bench",
    );
    // Its set-up (32 accounts, 1,600 pre-signed orders, no verification benchmark)
    // takes a second or two: kill node-0 a few seconds into the 10 s window.
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        bench.child.as_mut().unwrap().try_wait().unwrap().is_none(),
        "bench ended early\n{}",
        bench.all()
    );
    let cfg0 = info["nodes"][0]["config"].as_str().unwrap().to_string();
    let pid = node_pid(&cfg0).expect("node-0's process");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let killed_at = final_height(&url(1));
    net.wait_for("node-0 killed by SIGKILL", Duration::from_secs(5));
    net.wait_for("the other nodes keep running", Duration::from_secs(1));
    net.wait_for("restart node-0", Duration::from_secs(1));
    // The other three keep finalizing.
    wait_until(
        "three validators to keep finalizing",
        Duration::from_secs(30),
        || final_height(&url(1)) >= killed_at + 5,
    );

    let status = bench
        .wait_exit(Duration::from_secs(90))
        .unwrap_or_else(|| panic!("bench did not end\n{}", bench.all()));
    assert!(status.success(), "bench gave up:\n{}", bench.all());
    let last = bench
        .stdout()
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    let summary: Value = serde_json::from_str(&last).unwrap_or_else(|e| panic!("{e}: {last}"));
    assert!(
        summary["endpoints_down"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u == url(0).as_str()),
        "{summary}"
    );
    assert!(summary["finalized"].as_u64().unwrap() > 0, "{summary}");
    assert!(net.stdout().contains("press Ctrl-C"));

    // The restart brings it back, and it catches up.
    let (s, o, e) = output({
        let mut c = node_cmd();
        c.arg("testnet")
            .arg("--dir")
            .arg(dir.path())
            .args(["restart", "node-0"]);
        c
    });
    assert!(s.success(), "{o}{e}\n{}", net.all());
    assert!(o.contains("node-0 is serving again"), "{o}");
    net.wait_for("node-0 is back", Duration::from_secs(5));
    let target = final_height(&url(1));
    wait_until("node-0 to catch up", Duration::from_secs(60), || {
        final_height(&url(0)) >= target
    });
    eprintln!(
        "node-0 killed at height {killed_at}, the others went on; bench: {} final, {} abandoned, endpoints down {}; node-0 back at {}",
        summary["finalized"], summary["abandoned"], summary["endpoints_down"], final_height(&url(0))
    );
    assert!(net.interrupt().success());
}

// ---------------------------------------------------------------------------------
// The README's quick start, as written

/// The ```sh blocks of the section titled `title` of README.md.
fn readme_blocks(readme: &str, title: &str) -> Vec<String> {
    let start = readme
        .find(&format!("\n## {title}"))
        .unwrap_or_else(|| panic!("README.md has no section \"## {title}\""));
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    let section = &rest[..end];
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in section.lines() {
        match (&mut cur, line.trim_start().starts_with("```")) {
            (None, true) if line.contains("sh") => cur = Some(String::new()),
            (Some(b), true) => {
                blocks.push(std::mem::take(b));
                cur = None;
            }
            (Some(b), false) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

/// The commands of a block: one per line, comments and blank lines left out.
fn commands(block: &str) -> Vec<String> {
    block
        .lines()
        .map(|l| {
            // A comment starts at a '#' outside quotes preceded by a space.
            let mut out = String::new();
            let mut quote = None;
            let mut prev = ' ';
            for ch in l.chars() {
                match (quote, ch) {
                    (None, '\'' | '"') => quote = Some(ch),
                    (Some(q), c) if c == q => quote = None,
                    (None, '#') if prev.is_whitespace() => break,
                    _ => {}
                }
                out.push(ch);
                prev = ch;
            }
            out.trim().to_string()
        })
        .filter(|l| !l.is_empty())
        // A line ending in a backslash continues on the next one, as in a shell.
        .fold(Vec::<String>::new(), |mut acc, l| {
            match acc.last_mut() {
                Some(prev) if prev.ends_with('\\') => {
                    prev.pop();
                    prev.push(' ');
                    prev.push_str(&l);
                }
                _ => acc.push(l),
            }
            acc
        })
}

/// A stand-in for `cargo` on PATH: the README's cargo commands run the binaries this
/// test build made (cargo cannot run inside `cargo test`, which holds the target
/// directory), and anything else fails the test.
fn cargo_shim(dir: &Path, repo: &Path, base: u16) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        r#"#!/bin/sh
# Test stand-in for cargo (see tests/tests/first_hour.rs).
node='{node}'; cli='{cli}'; repo='{repo}'; here='{bin}'
case "$*" in
  "run --release --bin ledger-node -- "*)
    shift 5
    case "$1" in testnet|dev) exec "$node" "$@" --base-port {base};; esac
    exec "$node" "$@";;
  "run -q --release --bin ledger-cli -- "*|"run --release -q --bin ledger-cli -- "*)
    shift 6; exec "$cli" "$@";;
  "install --path bin/ledger-cli"|"install --locked --path bin/ledger-cli")
    test -f "$repo/bin/ledger-cli/Cargo.toml" || {{ echo "no bin/ledger-cli in $repo" >&2; exit 96; }}
    ln -sf "$cli" "$here/ledger-cli"; echo "  Installed ledger-cli (test stand-in)" >&2; exit 0;;
  *) echo "README test: unsupported cargo invocation: cargo $*" >&2; exit 97;;
esac
"#,
        node = binary("ledger-node").display(),
        cli = binary("ledger-cli").display(),
        repo = repo.display(),
        bin = bin.display(),
    );
    let path = bin.join("cargo");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn the_readme_quick_start_works_as_written_and_so_do_the_testnets_hints() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    // Step 1 of the README's first block: the testnet.
    let first = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap();
    let testnet_line = commands(first)
        .into_iter()
        .find(|l| l.contains("ledger-node -- testnet"))
        .expect("the README's first block starts a testnet");
    let blocks = readme_blocks(&readme, "Quick start");
    assert!(!blocks.is_empty(), "the quick start has sh blocks");
    let mut lines: Vec<String> = blocks.iter().flat_map(|b| commands(b)).collect();
    // The quick start offers the dev chain as the smallest start; it runs until Ctrl-C
    // like the testnet (`dev_chain_finalizes_an_order_placed_through_ledger_cli` runs
    // it), so here the client commands run against the README's testnet.
    let dev = lines
        .iter()
        .position(|l| l.contains("ledger-node -- dev"))
        .expect("the quick start offers `ledger-node dev`");
    lines.remove(dev);
    assert!(
        lines.iter().any(|l| l.contains("order place")),
        "the quick start places an order: {lines:?}"
    );

    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let base = free_base(40);
    let shim = cargo_shim(work.path(), repo, base);
    let path = format!(
        "{}:{}",
        shim.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // The README's terminal: a fresh HOME (keys in ~/.ledger/keys), cargo as above, and
    // LEDGER_RPC pointing at node-0 on this test's free ports (the README relies on
    // the default, which is node-0 at the default base port).
    let sh = |line: &str| {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(line)
            .current_dir(work.path())
            .env("PATH", &path)
            .env("HOME", &home)
            .env("LEDGER_RPC", format!("http://127.0.0.1:{}", base + 1))
            .env_remove("LEDGER_KEYS_DIR")
            .env_remove("RUST_LOG");
        c
    };
    let mut net = Proc::spawn(sh(&testnet_line), "the README's testnet");
    net.wait_for("press Ctrl-C", Duration::from_secs(90));
    assert!(work.path().join("testnet/testnet.json").exists());

    for line in &lines {
        if line.split_whitespace().any(|w| w == "watch") {
            // Runs until Ctrl-C: it must print final blocks meanwhile.
            let mut p = Proc::spawn(sh(line), line);
            p.wait_for("block ", Duration::from_secs(20));
            p.signal(nix::sys::signal::Signal::SIGINT);
            let _ = p.wait_exit(Duration::from_secs(5));
            eprintln!("ok (until Ctrl-C): {line}");
            continue;
        }
        let (s, o, e) = output(sh(line));
        assert!(
            s.success(),
            "README line failed: {line}\n{o}\n{e}\n{}",
            net.all()
        );
        if line.contains("--wait") {
            assert!(o.contains("final"), "{line}: {o}");
        }
        eprintln!("ok: {line}");
    }

    // The hints the testnet printed work as printed (from any directory).
    let out = net.stdout();
    let hints: Vec<String> = out
        .lines()
        .skip_while(|l| !l.starts_with("try:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim().to_string())
        .collect();
    assert!(hints.len() >= 3, "{out}");
    for hint in &hints {
        let mut c = sh(hint);
        c.env_remove("LEDGER_RPC").current_dir(&home);
        let (s, o, e) = output(c);
        assert!(s.success(), "printed hint failed: {hint}\n{o}\n{e}");
        eprintln!("ok (hint): {hint}");
    }
    // Ctrl-C: the shell around it dies of the signal; the testnet stops cleanly.
    net.interrupt();
    assert!(
        net.stdout()
            .contains("stopped; run the same command again to resume"),
        "{}",
        net.all()
    );
}

// ---------------------------------------------------------------------------------
// Completions

#[test]
fn the_binaries_print_shell_completions() {
    for (bin, words) in [
        ("ledger-node", vec!["testnet", "dev", "base-port"]),
        ("ledger-cli", vec!["order", "bench", "keys-dir"]),
        ("ledger-sim", vec!["report", "sweep"]),
    ] {
        for shell in ["bash", "zsh", "fish"] {
            let (s, o, e) = output({
                let mut c = Command::new(binary(bin));
                c.args(["completions", shell]);
                c
            });
            assert!(s.success(), "{bin} completions {shell}: {e}");
            for w in &words {
                assert!(o.contains(w), "{bin} {shell} completion lacks {w}");
            }
        }
    }
}
