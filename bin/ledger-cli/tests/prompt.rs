//! Hidden prompts on a real terminal: `keys import` reads the seed and `keys new` the
//! password through a pseudo-terminal with echo **on** (as a user's terminal is), and
//! neither is ever echoed back. A control run shows the harness does see echoed input.

use ledger_types::Keypair;
use rexpect::process::WaitStatus;
use rexpect::session::PtySession;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const TIMEOUT_MS: u64 = 30_000;

/// Runs `program args` on a new pseudo-terminal whose echo is switched back on before
/// the program starts (rexpect turns it off), with `LEDGER_KEYS_DIR = keys`.
fn on_terminal(keys: &Path, program: &str, args: &[&str]) -> PtySession {
    let mut script = String::from("stty echo; exec \"$0\"");
    for i in 1..=args.len() {
        script.push_str(&format!(" \"${i}\""));
    }
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(script)
        .arg(program)
        .args(args)
        .env_remove("LEDGER_KEY_PASSWORD")
        .env_remove("LEDGER_KEY_PASSWORD_FILE")
        .env_remove("LEDGER_RPC")
        .env("LEDGER_KEYS_DIR", keys);
    rexpect::session::spawn_command(c, Some(TIMEOUT_MS)).expect("spawn on a pty")
}

/// True while the terminal echoes input.
fn echo_on(p: &PtySession) -> bool {
    let f = p.process().get_file_handle().expect("pty handle");
    let t = nix::sys::termios::tcgetattr(&f).expect("tcgetattr");
    t.local_flags.contains(nix::sys::termios::LocalFlags::ECHO)
}

/// Waits until the program has switched echo off (it must, before its hidden read).
fn wait_echo_off(p: &PtySession) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while echo_on(p) {
        assert!(
            Instant::now() < deadline,
            "the terminal still echoes at a secret prompt"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn exit_code(p: &PtySession) -> i32 {
    match p.process().wait().expect("wait") {
        WaitStatus::Exited(_, code) => code,
        other => panic!("not exited: {other:?}"),
    }
}

#[test]
fn the_harness_sees_echoed_input() {
    // Control: a plain `read` echoes what is typed, so the checks below can fail.
    let dir = tempfile::tempdir().unwrap();
    let mut p = on_terminal(
        dir.path(),
        "sh",
        &["-c", "printf 'type: '; read x; echo got"],
    );
    p.exp_string("type: ").unwrap();
    assert!(echo_on(&p));
    p.send_line("visible-text-123").unwrap();
    let rest = p.exp_eof().unwrap();
    assert!(rest.contains("visible-text-123"), "{rest:?}");
}

#[test]
fn keys_import_reads_the_seed_and_password_without_echo() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let k = Keypair::for_testing("pty-import");
    let seed = hex::encode(k.seed());
    let password = "pty-password-42";
    let cli = env!("CARGO_BIN_EXE_ledger-cli");
    let mut p = on_terminal(&keys, cli, &["--json", "keys", "import", "alice"]);
    let mut seen = p.exp_string("seed (64 hex digits, not shown): ").unwrap();
    wait_echo_off(&p);
    p.send_line(&seed).unwrap();
    seen += &p.exp_string("password to encrypt key \"alice\": ").unwrap();
    wait_echo_off(&p);
    p.send_line(password).unwrap();
    seen += &p.exp_string("repeat the password: ").unwrap();
    wait_echo_off(&p);
    p.send_line(password).unwrap();
    seen += &p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 0, "{seen}");
    assert!(!seen.contains(&seed), "the seed was echoed: {seen:?}");
    assert!(
        !seen.contains(password),
        "the password was echoed: {seen:?}"
    );
    assert!(seen.contains(&k.public().to_hex()), "{seen:?}");

    // The file is a v3 key store; the wrong password at the prompt exits 4.
    let text = std::fs::read_to_string(keys.join("alice.key")).unwrap();
    assert!(text.contains("\"version\": 3") && !text.contains(&seed));
    let mut p = on_terminal(&keys, cli, &["keys", "show", "alice"]);
    let mut seen = p.exp_string("password of key \"alice\": ").unwrap();
    wait_echo_off(&p);
    p.send_line("not-the-password").unwrap();
    seen += &p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 4, "{seen}");
    assert!(seen.contains("wrong password"), "{seen:?}");
    assert!(!seen.contains("not-the-password"), "{seen:?}");
}
