//! Encrypted node keys end to end: `keygen` asks for the password at a hidden prompt on
//! a terminal, `run` refuses a wrong password with exit code 4 and a key file that
//! others can read, and starts with the right password from `--password-file`.

use rexpect::process::WaitStatus;
use rexpect::session::PtySession;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn on_terminal(args: &[&str]) -> PtySession {
    // rexpect turns echo off; a user's terminal echoes, so switch it back on first.
    let mut script = String::from("stty echo; exec \"$0\"");
    for i in 1..=args.len() {
        script.push_str(&format!(" \"${i}\""));
    }
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_ledger-node"))
        .args(args)
        .env_remove("LEDGER_KEY_PASSWORD")
        .env_remove("LEDGER_KEY_PASSWORD_FILE")
        .env_remove("LEDGER_CONFIG");
    rexpect::session::spawn_command(c, Some(60_000)).expect("spawn on a pty")
}

fn wait_echo_off(p: &PtySession) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let f = p.process().get_file_handle().unwrap();
        let t = nix_pty::sys::termios::tcgetattr(&f).unwrap();
        if !t
            .local_flags
            .contains(nix_pty::sys::termios::LocalFlags::ECHO)
        {
            return;
        }
        assert!(Instant::now() < deadline, "the password prompt echoes");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn exit_code(p: &PtySession) -> i32 {
    match p.process().wait().unwrap() {
        WaitStatus::Exited(_, c) => c,
        other => panic!("{other:?}"),
    }
}

fn private_file(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn keygen_prompts_without_echo_and_run_checks_password_and_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let node = env!("CARGO_BIN_EXE_ledger-node");
    let o = Command::new(node)
        .args(["init", "--plaintext", "--data-dir", home.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success());
    // Replace the test key with an encrypted one typed at a hidden prompt.
    let key = home.join("keys/node.key");
    std::fs::remove_file(&key).unwrap();
    let password = "pty-node-password";
    let mut p = on_terminal(&["keygen", "--out", key.to_str().unwrap()]);
    let mut seen = p.exp_string("password to encrypt the key: ").unwrap();
    wait_echo_off(&p);
    p.send_line(password).unwrap();
    seen += &p.exp_string("repeat the password: ").unwrap();
    wait_echo_off(&p);
    p.send_line(password).unwrap();
    seen += &p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 0, "{seen}");
    assert!(
        !seen.contains(password),
        "the password was echoed: {seen:?}"
    );
    let text = std::fs::read_to_string(&key).unwrap();
    assert!(text.contains("\"kdf\": \"scrypt\""), "{text}");

    let config = home.join("config/node.toml");
    let run = |pw_file: &Path| {
        Command::new(node)
            .args(["run", "--config", config.to_str().unwrap()])
            .args([
                "--rpc-listen",
                "127.0.0.1:0",
                "--metrics-listen",
                "127.0.0.1:0",
            ])
            .args(["--p2p-listen", "/ip4/127.0.0.1/tcp/0"])
            .arg("--password-file")
            .arg(pw_file)
            .env_remove("LEDGER_KEY_PASSWORD")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // A wrong password: exit code 4, a clear message.
    let wrong = dir.path().join("wrong");
    private_file(&wrong, "not it\n");
    let o = run(&wrong).wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrong password"));
    // The right one: the node starts (and stops on SIGTERM with exit 0).
    let right = dir.path().join("right");
    private_file(&right, &format!("{password}\n"));
    let mut child = run(&right);
    // Wait until it serves (it has unlocked the key and installed its signal handlers).
    let mut log = String::new();
    {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            log.push_str(&line);
            log.push('\n');
            if line.contains("JSON-RPC on") {
                break;
            }
        }
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        for line in lines {
            log.push_str(&line.unwrap());
            log.push('\n');
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}\n{log}");
    assert!(log.contains("libp2p peer id"), "{log}");
    // A key file others can read is refused, as ssh refuses it.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = run(&right).wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("too open") && err.contains("chmod 600"),
        "{err}"
    );
}
