//! Runs the nodes of a testnet (or a dev chain) as child processes and watches them.
//!
//! - **Start-up.** Every node's ports are checked before anything starts; a port held by
//!   another process is an error naming the node and the port. Every node's log lines
//!   are shown (prefixed `[node-I]`) until all of them serve JSON-RPC; a node that exits
//!   before that stops the start-up at once: its exit status, the port it could not
//!   bind if that is why, and its last log lines, then the others are stopped and the
//!   command exits with status 1. The summary is printed once every node serves, last.
//! - **Running.** Only warnings and errors of the nodes are shown (`--logs`: every
//!   line); every line goes to `DIR/node-I/node.log`. A node that exits is reported with
//!   its status and last lines, and the others keep running. It is restarted after a
//!   back-off with `--restart on-failure`, or on request: `ledger-node testnet restart
//!   NAME` talks to the supervisor over the Unix socket `DIR/supervisor.sock`.
//! - **Stop.** Ctrl-C or SIGTERM stops every node with SIGTERM (each finishes its block
//!   and flushes its store), waits, and exits 0.

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use std::collections::VecDeque;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// What the supervisor does when a node exits while the network runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RestartPolicy {
    /// Report it and leave it down (`ledger-node testnet restart NAME` restarts it).
    Never,
    /// Report it and start it again after a back-off (1 s, doubling up to 30 s; the
    /// back-off resets once the node has served for a minute).
    OnFailure,
}

/// One node to run.
#[derive(Clone, Debug)]
pub struct Supervised {
    /// `node-I`.
    pub name: String,
    /// Its config file (`ledger-node run --config FILE`).
    pub config: PathBuf,
    /// Its JSON-RPC URL (`http://HOST:PORT`).
    pub rpc_url: String,
    /// The ports it binds: (what, host, port).
    pub ports: Vec<(&'static str, String, u16)>,
    /// A validator (counts towards the quorum).
    pub validator: bool,
    /// Where its log lines are appended.
    pub log_file: PathBuf,
}

/// Options of [`supervise`].
#[derive(Clone, Debug)]
pub struct Options {
    /// The testnet directory (holds the control socket).
    pub dir: PathBuf,
    /// Restart policy.
    pub restart: RestartPolicy,
    /// Show every log line, not only warnings and errors, once the network is up.
    pub follow_logs: bool,
    /// Serve `ledger-node testnet restart NAME` on `DIR/supervisor.sock`.
    pub control: bool,
    /// Validators in the genesis.
    pub validators: usize,
    /// Validators needed to finalize (Streamlet: ⌈2n/3⌉).
    pub quorum: usize,
    /// What the messages call the network: "testnet" or "dev chain".
    pub label: &'static str,
    /// The last line, once everything stopped.
    pub farewell: String,
}

/// The prefix of the supervisor's own lines ("testnet" or "dev chain").
static LABEL: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

fn tag() -> &'static str {
    LABEL.get().copied().unwrap_or("testnet")
}

/// How long every node has to serve JSON-RPC at start-up.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);
/// Log lines kept per node for failure reports.
const TAIL_LINES: usize = 15;
/// Progress line interval once the network is up (when only warnings are shown).
const STATUS_EVERY: Duration = Duration::from_secs(60);

/// The control socket of the supervisor running from `dir`.
pub fn socket_path(dir: &Path) -> PathBuf {
    dir.join("supervisor.sock")
}

/// True if a supervisor answers on `dir`'s control socket.
pub fn running(dir: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(socket_path(dir)).is_ok()
}

/// True if something accepts TCP connections at the host and port of `url`.
pub fn answers(url: &str) -> bool {
    use std::net::ToSocketAddrs;
    let hostport = url
        .split("://")
        .nth(1)
        .unwrap_or(url)
        .split('/')
        .next()
        .unwrap_or("");
    hostport.to_socket_addrs().is_ok_and(|mut addrs| {
        addrs.any(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok())
    })
}

/// One JSON-RPC call with no parameters over plain HTTP/1.1; the `result`, or `None`
/// if the node does not answer within 2 s.
pub async fn rpc_call(url: &str, method: &str) -> Option<serde_json::Value> {
    let hostport = url.strip_prefix("http://")?.split('/').next()?.to_string();
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect(&hostport).await.ok()?;
        let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":[]}}"#);
        let req = format!(
            "POST / HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.ok()?;
        let text = String::from_utf8_lossy(&buf);
        let (head, rest) = text.split_once("\r\n\r\n")?;
        if !head.starts_with("HTTP/1.1 200") {
            return None;
        }
        let json = &rest[rest.find('{')?..=rest.rfind('}')?];
        let v: serde_json::Value = serde_json::from_str(json).ok()?;
        v.get("result").cloned()
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .ok()
        .flatten()
}

/// The final height `chain_status` reports.
async fn final_height(url: &str) -> Option<u64> {
    let v = rpc_call(url, "chain_status").await?;
    let h = v.get("final_height")?;
    h.as_u64().or_else(|| h.as_str()?.parse().ok())
}

/// A port of `ports` that another process holds (binding it fails with "address in
/// use"), as "port P (WHAT) on HOST".
fn taken_port(ports: &[(&'static str, String, u16)]) -> Option<String> {
    ports.iter().find_map(|(what, host, port)| {
        if *port == 0 {
            return None;
        }
        match std::net::TcpListener::bind((host.as_str(), *port)) {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                Some(format!("port {port} ({what}) on {host}"))
            }
            _ => None,
        }
    })
}

/// Log lines of one node: the last few kept for reports, all appended to its file.
struct NodeLog {
    tail: Mutex<VecDeque<String>>,
    file: Mutex<Option<std::fs::File>>,
}

impl NodeLog {
    fn open(path: &Path) -> NodeLog {
        // Keep the previous run's log next to the new one.
        if path.exists() {
            let _ = std::fs::rename(path, path.with_extension("log.1"));
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok();
        NodeLog {
            tail: Mutex::new(VecDeque::new()),
            file: Mutex::new(file),
        }
    }

    fn push(&self, line: &str) {
        if let Ok(mut f) = self.file.lock() {
            if let Some(f) = f.as_mut() {
                let _ = writeln!(f, "{line}");
            }
        }
        if let Ok(mut t) = self.tail.lock() {
            if t.len() == TAIL_LINES {
                t.pop_front();
            }
            t.push_back(line.to_string());
        }
    }

    fn tail(&self) -> Vec<String> {
        self.tail
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// True for log lines worth showing when only warnings and errors are: WARN and ERROR
/// lines of the text or JSON format, and anything that is not a log line (a panic, the
/// node's final `error: ...`).
fn important(line: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with('{') {
        return t.contains("\"level\":\"WARN\"") || t.contains("\"level\":\"ERROR\"");
    }
    let mut words = t.split_whitespace();
    match (words.next(), words.next()) {
        (Some(ts), Some(level))
            if ts.as_bytes().first().is_some_and(u8::is_ascii_digit) && ts.contains('T') =>
        {
            matches!(level, "WARN" | "ERROR")
        }
        _ => !t.is_empty(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Started, not serving RPC yet.
    Starting,
    /// Serving.
    Up,
    /// Exited; maybe restarting at some time.
    Down,
}

struct Proc {
    spec: Supervised,
    child: Option<Child>,
    state: State,
    log: Arc<NodeLog>,
    started: Instant,
    up_since: Option<Instant>,
    restart_at: Option<Instant>,
    backoff: Duration,
    /// Started again after an exit (reported when it serves).
    restarted: bool,
}

fn describe(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = status.signal() {
        let name = nix::sys::signal::Signal::try_from(sig)
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|_| format!("signal {sig}"));
        format!("killed by {name}")
    } else {
        match status.code() {
            Some(0) => "exited with status 0".into(),
            Some(c) => format!("exited with status {c}"),
            None => status.to_string(),
        }
    }
}

fn spawn(
    exe: &Path,
    spec: &Supervised,
    log: &Arc<NodeLog>,
    show_all: &Arc<AtomicBool>,
) -> Result<Child> {
    let mut child = Command::new(exe)
        .arg("run")
        .arg("--config")
        .arg(&spec.config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", spec.name))?;
    let streams: [(Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>, bool); 2] = [
        (
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            false,
        ),
        (
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            true,
        ),
    ];
    for (stream, is_err) in streams {
        let Some(stream) = stream else { continue };
        let name = spec.name.clone();
        let log = log.clone();
        let show_all = show_all.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                log.push(&line);
                if show_all.load(Ordering::Relaxed) || important(&line) {
                    if is_err {
                        eprintln!("[{name}] {line}");
                    } else {
                        println!("[{name}] {line}");
                    }
                }
            }
        });
    }
    Ok(child)
}

fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    if let Some(pid) = child.id() {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig);
    }
}

/// SIGTERM, then SIGKILL after `grace`.
async fn stop_child(name: &str, child: &mut Child, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    signal(child, nix::sys::signal::Signal::SIGTERM);
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        eprintln!(
            "[{}] {name} did not stop within {} s; killing it",
            tag(),
            grace.as_secs()
        );
        let _ = child.kill().await;
    }
}

fn print_tail(name: &str, log: &NodeLog) {
    let tail = log.tail();
    if tail.is_empty() {
        eprintln!("[{}] {name} printed nothing", tag());
        return;
    }
    eprintln!("[{}] last lines of {name}:", tag());
    for l in tail {
        eprintln!("  | {l}");
    }
}

/// Runs `nodes` until Ctrl-C or SIGTERM; `on_ready` prints the summary once every node
/// serves. Returns exit status 1 if start-up fails.
pub async fn supervise(
    nodes: Vec<Supervised>,
    opts: Options,
    on_ready: impl FnOnce(),
) -> Result<ExitCode> {
    let _ = LABEL.set(opts.label);
    let exe = std::env::current_exe().context("cannot find the ledger-node executable")?;
    // Ports first: nothing starts if one is taken.
    for n in &nodes {
        if let Some(p) = taken_port(&n.ports) {
            bail!(
                "{}: {p} is already in use by another process (another testnet or dev chain?): \
                 stop it, or move this one with --base-port",
                n.name
            );
        }
    }
    // Ctrl-C or SIGTERM: `stop` turns true. (On Ctrl-C the nodes, in the same process
    // group, get SIGINT too and stop by themselves: their exits are not failures.)
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let (stop_tx, mut stop) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        let _ = stop_tx.send(true);
    });
    let control = if opts.control {
        Some(Control::bind(&opts.dir)?)
    } else {
        None
    };
    let show_all = Arc::new(AtomicBool::new(true));
    let mut procs = Vec::new();
    for spec in nodes {
        let log = Arc::new(NodeLog::open(&spec.log_file));
        let child = spawn(&exe, &spec, &log, &show_all)?;
        procs.push(Proc {
            spec,
            child: Some(child),
            state: State::Starting,
            log,
            started: Instant::now(),
            up_since: None,
            restart_at: None,
            backoff: Duration::from_secs(1),
            restarted: false,
        });
    }

    // ---- start-up: every node serves, or the first one to exit stops everything.
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    let failure = loop {
        if *stop.borrow() {
            shutdown(&mut procs, Duration::from_secs(20)).await;
            return Ok(ExitCode::SUCCESS);
        }
        let mut failed = None;
        for p in procs.iter_mut() {
            if let Some(Ok(Some(status))) = p.child.as_mut().map(|c| c.try_wait()) {
                failed = Some((p.spec.name.clone(), status));
                break;
            }
            if p.state == State::Starting
                && rpc_call(&p.spec.rpc_url, "chain_status").await.is_some()
            {
                p.state = State::Up;
                p.up_since = Some(Instant::now());
            }
        }
        if let Some(f) = failed {
            break Some(f);
        }
        if procs.iter().all(|p| p.state == State::Up) {
            break None;
        }
        if Instant::now() > deadline {
            let slow: Vec<&str> = procs
                .iter()
                .filter(|p| p.state != State::Up)
                .map(|p| p.spec.name.as_str())
                .collect();
            eprintln!(
                "[{}] {} did not serve JSON-RPC within {} s; stopping",
                opts.label,
                slow.join(", "),
                STARTUP_TIMEOUT.as_secs()
            );
            shutdown(&mut procs, Duration::from_secs(5)).await;
            drop(control);
            return Ok(ExitCode::FAILURE);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = stop.changed() => {}
        }
    };
    if let Some((name, status)) = failure {
        // Let the reader tasks catch the node's last lines (and a Ctrl-C arrive).
        tokio::time::sleep(Duration::from_millis(150)).await;
        if *stop.borrow() {
            shutdown(&mut procs, Duration::from_secs(20)).await;
            return Ok(ExitCode::SUCCESS);
        }
        let p = procs.iter().find(|p| p.spec.name == name);
        let why = p
            .and_then(|p| taken_port(&p.spec.ports))
            .map(|port| format!(": {port} is in use by another process"))
            .unwrap_or_default();
        eprintln!(
            "[{}] {name} {} during start-up{why}; stopping the {}",
            opts.label,
            describe(&status),
            opts.label
        );
        if let Some(p) = p {
            print_tail(&name, &p.log);
        }
        shutdown(&mut procs, Duration::from_secs(3)).await;
        drop(control);
        return Ok(ExitCode::FAILURE);
    }

    // ---- every node serves: the summary, last.
    show_all.store(opts.follow_logs, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(50)).await;
    on_ready();
    if control.is_some() && opts.label == "testnet" {
        println!(
            "press Ctrl-C to stop all nodes; `ledger-node testnet --dir {} restart NAME` restarts one",
            opts.dir.display()
        );
    } else {
        println!("press Ctrl-C to stop");
    }
    let _ = std::io::stdout().flush();

    // ---- running
    let mut last_status = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            _ = stop.changed() => break,
            req = async {
                match &control {
                    Some(c) => c.accept().await,
                    None => std::future::pending().await,
                }
            } => {
                if let Some((line, mut reply)) = req {
                    let answer = handle_request(&line, &mut procs, &exe, &show_all).await;
                    let _ = reply.write_all(format!("{answer}\n").as_bytes()).await;
                }
            }
            _ = tick.tick() => {
                check(&mut procs, &opts, &exe, &show_all, &stop).await;
                if !opts.follow_logs && last_status.elapsed() >= STATUS_EVERY {
                    last_status = Instant::now();
                    print_status(&procs).await;
                }
            }
        }
    }
    shutdown(&mut procs, Duration::from_secs(20)).await;
    drop(control);
    println!("{}", opts.farewell);
    Ok(ExitCode::SUCCESS)
}

/// One pass over the nodes: exits, restarts due, nodes that came back.
async fn check(
    procs: &mut [Proc],
    opts: &Options,
    exe: &Path,
    show_all: &Arc<AtomicBool>,
    stop: &tokio::sync::watch::Receiver<bool>,
) {
    let mut changed = false;
    let label = opts.label;
    let many = procs.len() > 1;
    for p in procs.iter_mut() {
        if let Some(Ok(Some(status))) = p.child.as_mut().map(|c| c.try_wait()) {
            p.child = None;
            let was = p.state;
            p.state = State::Down;
            changed = true;
            // Give the reader tasks a moment to catch the last lines, and a Ctrl-C
            // (which the nodes get too) to arrive: then this exit is no failure.
            tokio::time::sleep(Duration::from_millis(100)).await;
            if *stop.borrow() {
                return;
            }
            let ran = p.started.elapsed().as_secs_f64();
            eprintln!(
                "[{label}] {} {} after {ran:.1} s{}; {}",
                p.spec.name,
                describe(&status),
                if was == State::Starting {
                    " (it had not served yet)"
                } else {
                    ""
                },
                if many {
                    "the other nodes keep running"
                } else {
                    "press Ctrl-C to stop"
                }
            );
            print_tail(&p.spec.name, &p.log);
            if p.up_since
                .is_some_and(|t| t.elapsed() > Duration::from_secs(60))
            {
                p.backoff = Duration::from_secs(1);
            }
            p.up_since = None;
            match opts.restart {
                RestartPolicy::OnFailure => {
                    eprintln!(
                        "[{label}] restarting {} in {} s (--restart on-failure)",
                        p.spec.name,
                        p.backoff.as_secs()
                    );
                    p.restart_at = Some(Instant::now() + p.backoff);
                    p.backoff = (p.backoff * 2).min(Duration::from_secs(30));
                }
                RestartPolicy::Never if opts.control => eprintln!(
                    "[{label}] restart it with: ledger-node testnet --dir {} restart {}",
                    opts.dir.display(),
                    p.spec.name
                ),
                RestartPolicy::Never => {}
            }
        }
        if p.state == State::Down && p.restart_at.is_some_and(|t| Instant::now() >= t) {
            p.restart_at = None;
            start_again(p, exe, show_all);
        }
        if p.state == State::Starting && rpc_call(&p.spec.rpc_url, "chain_status").await.is_some() {
            p.state = State::Up;
            p.up_since = Some(Instant::now());
            changed = true;
            if p.restarted {
                eprintln!(
                    "[{label}] {} is back: serving at {}",
                    p.spec.name, p.spec.rpc_url
                );
            }
        }
    }
    if changed && opts.validators > 0 {
        let up = procs
            .iter()
            .filter(|p| p.spec.validator && p.state != State::Down)
            .count();
        let down = procs
            .iter()
            .filter(|p| p.spec.validator && p.state == State::Down)
            .count();
        if down > 0 {
            let verdict = if up >= opts.quorum {
                "the others can still finalize"
            } else {
                "fewer than the quorum: no block can be final until enough are back"
            };
            eprintln!(
                "[{label}] validators: {up} of {} running, {} needed; {verdict}",
                opts.validators, opts.quorum
            );
        }
    }
}

fn start_again(p: &mut Proc, exe: &Path, show_all: &Arc<AtomicBool>) {
    match spawn(exe, &p.spec, &p.log, show_all) {
        Ok(child) => {
            eprintln!("[{}] starting {} again", tag(), p.spec.name);
            p.child = Some(child);
            p.state = State::Starting;
            p.started = Instant::now();
            p.restarted = true;
        }
        Err(e) => eprintln!("[{}] cannot start {}: {e:#}", tag(), p.spec.name),
    }
}

async fn handle_request(
    line: &str,
    procs: &mut [Proc],
    exe: &Path,
    show_all: &Arc<AtomicBool>,
) -> String {
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
        (Some("restart"), Some(name)) => {
            let Some(p) = procs.iter_mut().find(|p| p.spec.name == name) else {
                return format!(
                    "error: no node {name:?} in this testnet (its nodes: {})",
                    procs
                        .iter()
                        .map(|p| p.spec.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            };
            if let Some(mut c) = p.child.take() {
                eprintln!("[{}] restarting {name} (requested)", tag());
                stop_child(name, &mut c, Duration::from_secs(20)).await;
            }
            p.restart_at = None;
            start_again(p, exe, show_all);
            if p.state == State::Starting {
                format!("ok: {name} starting")
            } else {
                format!("error: {name} could not be started (see the testnet's terminal)")
            }
        }
        _ => format!("error: unknown request {line:?} (known: restart NAME)"),
    }
}

async fn print_status(procs: &[Proc]) {
    let up = procs.iter().filter(|p| p.state == State::Up).count();
    let mut height = None;
    for p in procs.iter().filter(|p| p.state == State::Up) {
        if let Some(h) = final_height(&p.spec.rpc_url).await {
            height = Some(height.map_or(h, |m: u64| m.max(h)));
        }
    }
    let down: Vec<&str> = procs
        .iter()
        .filter(|p| p.state == State::Down)
        .map(|p| p.spec.name.as_str())
        .collect();
    eprintln!(
        "[{}] {up}/{} nodes serving, final height {}{}",
        tag(),
        procs.len(),
        height.map_or("?".to_string(), |h| h.to_string()),
        if down.is_empty() {
            String::new()
        } else {
            format!("; down: {}", down.join(", "))
        }
    );
}

/// Stops every running node (SIGTERM to all, then waits up to `grace` each).
async fn shutdown(procs: &mut [Proc], grace: Duration) {
    for p in procs.iter() {
        if let Some(c) = &p.child {
            signal(c, nix::sys::signal::Signal::SIGTERM);
        }
    }
    for p in procs.iter_mut() {
        if let Some(mut c) = p.child.take() {
            stop_child(&p.spec.name, &mut c, grace).await;
        }
    }
}

/// The supervisor's end of `DIR/supervisor.sock`: one request line, one answer line.
struct Control {
    listener: tokio::net::UnixListener,
    path: PathBuf,
}

impl Control {
    fn bind(dir: &Path) -> Result<Control> {
        let path = socket_path(dir);
        if path.exists() {
            if running(dir) {
                bail!(
                    "a testnet is already running from {} (its supervisor answers on {})",
                    dir.display(),
                    path.display()
                );
            }
            // Left by a supervisor that was killed.
            let _ = std::fs::remove_file(&path);
        }
        let listener = tokio::net::UnixListener::bind(&path)
            .with_context(|| format!("cannot create the control socket {}", path.display()))?;
        Ok(Control { listener, path })
    }

    async fn accept(&self) -> Option<(String, tokio::net::UnixStream)> {
        let (mut stream, _) = self.listener.accept().await.ok()?;
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        let read = async {
            while buf.len() < 1024 {
                match stream.read(&mut byte).await {
                    Ok(1) if byte[0] != b'\n' => buf.push(byte[0]),
                    _ => break,
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(2), read)
            .await
            .ok()?;
        Some((String::from_utf8_lossy(&buf).to_string(), stream))
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `ledger-node testnet restart NAME`: asks the supervisor running from `dir` to
/// restart a node, then waits until the node serves JSON-RPC again.
pub fn request_restart(
    dir: &Path,
    name: &str,
    info: &Option<crate::testnet::TestnetInfo>,
) -> Result<ExitCode> {
    use std::io::{BufRead, Write};
    let Some(info) = info else {
        bail!("no testnet in {} (no testnet.json)", dir.display());
    };
    let Some(node) = info.nodes.iter().find(|n| n.name == name) else {
        bail!(
            "no node {name:?} in {} (its nodes: {})",
            dir.join("testnet.json").display(),
            info.nodes
                .iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let path = socket_path(dir);
    let mut stream = std::os::unix::net::UnixStream::connect(&path).with_context(|| {
        format!(
            "no testnet is running from {} (nothing answers on {}): start it with `ledger-node testnet --dir {}`",
            dir.display(),
            path.display(),
            dir.display()
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    writeln!(stream, "restart {name}")?;
    let mut answer = String::new();
    std::io::BufReader::new(&stream)
        .read_line(&mut answer)
        .context("the supervisor did not answer")?;
    let answer = answer.trim();
    if let Some(e) = answer.strip_prefix("error: ") {
        bail!("{e}");
    }
    eprintln!("{name}: restarting");
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    while Instant::now() < deadline {
        if rt
            .block_on(rpc_call(&node.rpc_url, "chain_status"))
            .is_some()
        {
            println!("{name} is serving again at {}", node.rpc_url);
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!(
        "{name} was restarted but does not serve at {} after {} s: see the testnet's terminal or {}",
        node.rpc_url,
        STARTUP_TIMEOUT.as_secs(),
        dir.join(name).join("node.log").display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_errors_and_non_log_lines_are_important() {
        assert!(!important(
            "2026-05-01T10:00:00.123456Z  INFO final height=3 blocks=1"
        ));
        assert!(important(
            "2026-05-01T10:00:00.123456Z  WARN not a validator and no peers"
        ));
        assert!(important("2026-05-01T10:00:00.123456Z ERROR store: boom"));
        assert!(important(
            "error: network: cannot listen on /ip4/127.0.0.1/tcp/1"
        ));
        assert!(important("thread 'main' panicked at src/x.rs:1:1"));
        assert!(!important(
            r#"{"timestamp":"x","level":"INFO","fields":{}}"#
        ));
        assert!(important(r#"{"timestamp":"x","level":"WARN","fields":{}}"#));
    }

    #[test]
    fn a_held_port_is_named() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let taken = taken_port(&[("JSON-RPC", "127.0.0.1".into(), port)]).unwrap();
        assert!(
            taken.contains(&port.to_string()) && taken.contains("JSON-RPC"),
            "{taken}"
        );
        drop(l);
        assert!(taken_port(&[("JSON-RPC", "127.0.0.1".into(), port)]).is_none());
    }
}
