//! Process tests that need no node: help, argument errors and exit codes, the key store
//! in a temporary directory, JSON shapes, and an unreachable node (exit code 3).

use assert_cmd::Command;
use ledger_types::Keypair;
use serde_json::Value;
use std::path::Path;

fn cli(keys: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ledger-cli"));
    c.env_remove("LEDGER_RPC")
        .env_remove("LEDGER_KEY")
        .env_remove("LEDGER_KEY_PASSWORD_FILE")
        .env("LEDGER_KEY_PASSWORD", "test password")
        .env("LEDGER_KEYS_DIR", keys);
    c
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn json(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", stdout(o)))
}

/// A port on 127.0.0.1 with nothing listening.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn help_explains_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let o = cli(dir.path()).arg("--help").output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    for cmd in [
        "keys",
        "balance",
        "transfer",
        "order",
        "book",
        "trades",
        "block",
        "tx",
        "status",
        "markets",
        "peers",
        "watch",
        "bench",
        "Exit codes",
        "LEDGER_RPC",
    ] {
        assert!(text.contains(cmd), "--help lacks {cmd}: {text}");
    }
    for (args, wanted) in [
        (
            vec!["order", "place", "--help"],
            vec!["--tif", "--stp", "--client-id", "--wait", "ALO"],
        ),
        (
            vec!["order", "cancel", "--help"],
            vec!["--order-id", "--client-id", "--all"],
        ),
        (
            vec!["keys", "--help"],
            vec!["new", "list", "show", "import", "test"],
        ),
        (
            vec!["bench", "--help"],
            vec![
                "--duration",
                "--rate",
                "--accounts",
                "--batch",
                "--concurrency",
                "--presign",
            ],
        ),
        (vec!["watch", "--help"], vec!["--market", "Ctrl-C"]),
    ] {
        let o = cli(dir.path()).args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        let text = stdout(&o);
        for w in wanted {
            assert!(text.contains(w), "{args:?} help lacks {w}: {text}");
        }
    }
    let o = cli(dir.path()).arg("--version").output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("ledger-cli "));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec![],
        vec!["frobnicate"],
        vec![
            "order", "place", "--market", "BTC/USD", "--side", "buy", "--qty", "1",
        ],
        vec![
            "order", "place", "--key", "a", "--market", "M", "--side", "up", "--qty", "1",
        ],
        vec![
            "order", "place", "--key", "a", "--market", "M", "--side", "buy", "--qty", "lots",
        ],
        vec![
            "order", "place", "--key", "a", "--market", "M", "--side", "buy", "--qty", "-1",
        ],
        vec![
            "order", "place", "--key", "a", "--market", "M", "--side", "buy", "--qty", "1",
            "--tif", "GTX",
        ],
        vec![
            "order", "place", "--key", "a", "--market", "M", "--side", "buy", "--qty", "1",
            "--stp", "NONE",
        ],
        vec!["order", "cancel", "--key", "a"],
        vec!["order", "cancel", "--key", "a", "--all", "--order-id", "00"],
        vec![
            "order",
            "cancel",
            "--key",
            "a",
            "--order-id",
            "00",
            "--market",
            "BTC/USD",
        ],
        vec![
            "transfer", "--key", "a", "--to", "b", "--asset", "USD", "--amount", "0",
        ],
        vec!["balance", "x", "--key", "y"],
        vec!["bench", "--cancel-percent", "90"],
        // Found after parsing, before any network access.
        vec!["balance"],
        vec!["balance", "--key", "nosuchkey"],
        vec!["balance", "not-an-address-or-key"],
        vec!["tx", "xyz"],
        vec!["block", "pending"],
        vec!["keys", "new", "bad/name"],
        vec!["keys", "import", "k", "--seed", "1234"],
        vec!["--timeout", "0", "status"],
        vec!["--rpc", "ftp://host:1", "status"],
        vec!["bench", "--duration", "0"],
        vec![
            "order", "place", "--key", "nosuch", "--market", "BTC/USD", "--side", "buy", "--qty",
            "1",
        ],
    ];
    for args in cases {
        let o = cli(dir.path()).args(&args).output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: stdout {} stderr {}",
            stdout(&o),
            stderr(&o)
        );
        assert!(!stderr(&o).is_empty(), "{args:?}: no message");
    }
    // With --json a usage error found after parsing is also a JSON document on stdout.
    let o = cli(dir.path())
        .args(["--json", "balance", "--key", "nosuchkey"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let v = json(&o);
    assert_eq!(v["error"]["kind"], "usage");
    assert_eq!(v["error"]["exit_code"], 2);
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("keys new nosuchkey"));
}

#[test]
fn key_store_in_a_temp_dir() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");

    // Empty store.
    let o = cli(&keys).args(["keys", "list"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("no keys"));
    let o = cli(&keys)
        .args(["--json", "keys", "list"])
        .output()
        .unwrap();
    assert_eq!(json(&o), serde_json::json!([]));

    // keys new: a random key, mode 0600.
    let o = cli(&keys)
        .args(["--json", "keys", "new", "alice"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let alice = json(&o);
    assert_eq!(alice["name"], "alice");
    assert_eq!(alice["address"].as_str().unwrap().len(), 64);
    let path = keys.join("alice.key");
    assert_eq!(alice["path"], path.display().to_string());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read(&path).unwrap();
    // Never overwritten: exit 1, file unchanged.
    let o = cli(&keys).args(["keys", "new", "alice"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"));
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // keys test: the deterministic testnet key.
    let o = cli(&keys)
        .args(["--json", "keys", "test", "account-0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let want = Keypair::for_testing("account-0").public().to_hex();
    assert_eq!(json(&o)["address"], want.as_str());
    let o = cli(&keys)
        .args(["keys", "test", "account-3", "--name", "bot"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains(&Keypair::for_testing("account-3").public().to_hex()));

    // keys import: from --seed and from standard input.
    let k = Keypair::for_testing("imported");
    let seed = hex::encode(k.seed());
    let o = cli(&keys)
        .args(["--json", "keys", "import", "imp", "--seed", &seed])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["address"], k.public().to_hex().as_str());
    let k2 = Keypair::for_testing("stdin");
    let o = cli(&keys)
        .args(["--json", "keys", "import", "piped"])
        .write_stdin(format!("0x{}\n", hex::encode(k2.seed())))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["address"], k2.public().to_hex().as_str());

    // keys show, with and without the secret.
    let o = cli(&keys)
        .args(["--json", "keys", "show", "imp"])
        .output()
        .unwrap();
    let v = json(&o);
    assert_eq!(v["address"], k.public().to_hex().as_str());
    assert!(v.get("seed").is_none());
    let o = cli(&keys)
        .args(["--json", "keys", "show", "imp", "--secret"])
        .output()
        .unwrap();
    assert_eq!(json(&o)["seed"], seed.as_str());
    let o = cli(&keys).args(["keys", "show", "alice"]).output().unwrap();
    assert!(stdout(&o).contains(alice["address"].as_str().unwrap()));
    assert!(!stdout(&o).contains("seed"));
    // A key file given by path works too.
    let o = cli(&keys)
        .args(["--json", "keys", "show", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(json(&o)["address"], alice["address"]);

    // keys list: every key, in natural order.
    let o = cli(&keys)
        .args(["--json", "keys", "list"])
        .output()
        .unwrap();
    let names: Vec<String> = json(&o)
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["account-0", "alice", "bot", "imp", "piped"]);
    let o = cli(&keys).args(["keys", "list"]).output().unwrap();
    let table = stdout(&o);
    assert!(table.contains("NAME") && table.contains("ADDRESS") && table.contains("piped"));

    // A malformed key file is an error naming the file.
    std::fs::write(keys.join("broken.key"), "not hex\n").unwrap();
    let o = cli(&keys)
        .args(["keys", "show", "broken"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("broken.key"));
}

#[test]
fn unreachable_node_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    cli(dir.path())
        .args(["keys", "test", "account-0"])
        .assert()
        .success();
    let url = format!("http://127.0.0.1:{}", closed_port());
    for args in [
        vec!["status"],
        vec!["book", "BTC/USD"],
        vec!["balance", "--key", "account-0"],
        vec![
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
            "1",
        ],
        vec!["watch"],
        vec!["bench", "--duration", "1"],
    ] {
        let o = cli(dir.path())
            .arg("--rpc")
            .arg(&url)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("cannot reach the node") && err.contains("127.0.0.1"),
            "{args:?}: {err}"
        );
    }
    // bench --testnet: endpoints from the file (missing file: usage error).
    let o = cli(dir.path())
        .args(["bench", "--testnet", "/nonexistent/testnet.json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let tn = dir.path().join("testnet.json");
    std::fs::write(
        &tn,
        format!(r#"{{"nodes":[{{"rpc_url":"{url}"}}],"accounts":[]}}"#),
    )
    .unwrap();
    let o = cli(dir.path())
        .args(["bench", "--duration", "1", "--accounts", "1", "--testnet"])
        .arg(&tn)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains(&url));

    // The environment variable works like --rpc; --json gives a JSON error document.
    let o = cli(dir.path())
        .env("LEDGER_RPC", &url)
        .args(["--json", "status"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let v = json(&o);
    assert_eq!(v["error"]["kind"], "unreachable");
    assert_eq!(v["error"]["url"], url.as_str());
}
