//! The `ledger-node` command line: help, version, init, keygen, config errors and
//! precedence.

use std::process::{Command, Output};

fn node(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ledger-node"))
        .args(args)
        .env_remove("LEDGER_CONFIG")
        .output()
        .expect("run ledger-node")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn help_and_version() {
    let o = node(&["--help"]);
    assert!(o.status.success());
    for cmd in ["run", "init", "keygen", "testnet", "replay"] {
        assert!(text(&o).contains(cmd), "help lacks {cmd}");
    }
    let o = node(&["--version"]);
    assert!(text(&o).contains(env!("CARGO_PKG_VERSION")));
    let o = node(&["testnet", "--help"]);
    assert!(text(&o).contains("--validators") && text(&o).contains("--base-port"));
}

#[test]
fn init_writes_a_runnable_home_and_keygen_a_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let o = node(&["init", "--plaintext", "--data-dir", home.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read_to_string(home.join("keys/node.key"))
        .unwrap()
        .starts_with("# UNENCRYPTED TEST KEY"));
    for f in [
        "config/node.toml",
        "config/genesis.toml",
        "keys/node.key",
        "data",
    ] {
        assert!(home.join(f).exists(), "{f} missing");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.join("keys/node.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The written config resolves (relative paths against the config's directory).
    let cfg = home.join("config/node.toml");
    let o = node(&["--config", cfg.to_str().unwrap(), "--print-config"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("node.key"));
    // A second init refuses to overwrite.
    let o = node(&["init", "--plaintext", "--data-dir", home.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("already exists"));

    let key = dir.path().join("k.key");
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "a password\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let o = node(&[
        "keygen",
        "--out",
        key.to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("peer id:    12D3Koo"));
    assert!(text(&o).contains("encrypted"));
    let o = node(&["keygen", "--out", key.to_str().unwrap(), "--plaintext"]);
    assert!(!o.status.success(), "keygen must not overwrite a key");
    // Without a password on a non-terminal: a clear error, nothing written.
    let other = dir.path().join("other.key");
    let o = Command::new(env!("CARGO_BIN_EXE_ledger-node"))
        .args(["keygen", "--out", other.to_str().unwrap()])
        .env_remove("LEDGER_KEY_PASSWORD")
        .env_remove("LEDGER_KEY_PASSWORD_FILE")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        !o.status.success() && text(&o).contains("--password-file"),
        "{}",
        text(&o)
    );
    assert!(!other.exists());
}

#[test]
fn config_errors_name_the_key_or_path_and_precedence_holds() {
    let dir = tempfile::tempdir().unwrap();
    let o = node(&["--config", "/nonexistent/node.toml"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("/nonexistent/node.toml"), "{}", text(&o));

    let cfg = dir.path().join("node.toml");
    std::fs::write(
        &cfg,
        "[rpc]\nlisten = \"127.0.0.1:9000\"\nmax_batch_len = 3\n[network]\nmdns = false\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_ledger-node"))
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "--print-config",
            "--rpc-listen",
            "127.0.0.1:9200",
        ])
        .env("LEDGER_RPC_MAX_BATCH_LEN", "9")
        .env("LEDGER_RPC_LISTEN", "127.0.0.1:9100")
        .env("LEDGER_NETWORK_MDNS", "true")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", text(&o));
    // flag > environment > file > default
    assert!(out.contains("listen = \"127.0.0.1:9200\""), "{out}");
    assert!(out.contains("max_batch_len = 9"), "{out}");
    assert!(out.contains("mdns = true"), "{out}");

    std::fs::write(&cfg, "[rpc]\nlistn = \"127.0.0.1:9000\"\n").unwrap();
    let o = node(&["--config", cfg.to_str().unwrap(), "--print-config"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("listn"), "{}", text(&o));

    std::fs::write(&cfg, "[rpc]\nlisten = \"localhost\"\n").unwrap();
    let o = node(&["--config", cfg.to_str().unwrap(), "--print-config"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("rpc.listen"), "{}", text(&o));
}

#[test]
fn testnet_no_start_writes_configs_and_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let o = node(&[
        "testnet",
        "--dir",
        dir.path().to_str().unwrap(),
        "--validators",
        "3",
        "--accounts",
        "5",
        "--base-port",
        "41000",
        "--no-start",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("testnet.json")).unwrap())
            .unwrap();
    assert_eq!(info["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(info["accounts"].as_array().unwrap().len(), 5);
    assert_eq!(info["nodes"][1]["rpc_url"], "http://127.0.0.1:41011");
    assert!(info["nodes"][0]["p2p"]
        .as_str()
        .unwrap()
        .starts_with("/ip4/127.0.0.1/tcp/41000/p2p/12D3Koo"));
    assert!(text(&o).contains("account-0"));
}
