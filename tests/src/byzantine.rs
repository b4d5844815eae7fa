//! Helpers of the Byzantine-validator tests (`tests/tests/byzantine.rs`): the
//! `ledger-node-byzantine` binary, and what honest nodes log about an offender.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The `ledger-node-byzantine` binary. `cargo test --release --workspace` builds it with
/// everything else (ledger-e2e's dev-dependency turns the `byzantine` feature on in that
/// build); when it is missing (e.g. `cargo test -p ledger-e2e` alone), it is built on
/// first use with `cargo build --release -p ledger-node --features byzantine --bin
/// ledger-node-byzantine` into the target directory of the running test. The modes act
/// only with a `[byzantine]` section, which the honest nodes' configs never have.
pub fn byzantine_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test executable path");
            // target/release/deps/<test> -> target/release -> target
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("profile directory")
                .to_path_buf();
            assert_eq!(
                profile_dir.file_name().and_then(|n| n.to_str()),
                Some("release"),
                "run the tests with --release (the project's one profile)"
            );
            let built = profile_dir.join("ledger-node-byzantine");
            if built.exists() {
                return built;
            }
            let target_dir = profile_dir.parent().expect("target directory");
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("workspace directory");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let out = Command::new(cargo)
                .current_dir(workspace)
                .args([
                    "build",
                    "--release",
                    "-p",
                    "ledger-node",
                    "--features",
                    "byzantine",
                    "--bin",
                    "ledger-node-byzantine",
                    "--target-dir",
                ])
                .arg(target_dir)
                .output()
                .expect("run cargo");
            assert!(
                out.status.success(),
                "building ledger-node-byzantine failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let path = profile_dir.join("ledger-node-byzantine");
            assert!(path.exists(), "{} missing after the build", path.display());
            path
        })
        .clone()
}

/// The libp2p peer id a node printed at start (`libp2p peer id ... peer_id=...`).
pub fn peer_id_in_log(log: &str) -> Option<String> {
    log.lines()
        .filter(|l| l.contains("libp2p peer id"))
        .find_map(|l| {
            let rest = &l[l.find("peer_id=")? + "peer_id=".len()..];
            Some(rest.split_whitespace().next()?.to_string())
        })
}

/// The `peer offence` lines of a log naming `peer` and offence `kind`.
pub fn offence_lines<'a>(log: &'a str, peer: &str, kind: &str) -> Vec<&'a str> {
    let peer = format!("peer={peer}");
    let kind = format!("offence={kind}");
    log.lines()
        .filter(|l| l.contains("peer offence") && l.contains(&peer) && l.contains(&kind))
        .collect()
}

/// True if the log says this node banned `peer`.
pub fn banned_in_log(log: &str, peer: &str) -> bool {
    let peer = format!("peer={peer}");
    log.lines()
        .any(|l| l.contains("banning peer") && l.contains(&peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_found_by_peer_and_kind() {
        let log = "2026-01-01T00:00:00Z  INFO libp2p peer id node=node-3 peer_id=12D3KooWabc\n\
                   2026-01-01T00:00:01Z  WARN peer offence peer=12D3KooWabc offence=double-vote repeats=0 reason=x\n\
                   2026-01-01T00:00:01Z  WARN banning peer peer=12D3KooWabc offence=double-vote secs=600\n";
        assert_eq!(peer_id_in_log(log).as_deref(), Some("12D3KooWabc"));
        assert_eq!(offence_lines(log, "12D3KooWabc", "double-vote").len(), 1);
        assert!(offence_lines(log, "12D3KooWabc", "equivocation").is_empty());
        assert!(offence_lines(log, "12D3KooWxyz", "double-vote").is_empty());
        assert!(banned_in_log(log, "12D3KooWabc"));
        assert!(!banned_in_log(log, "12D3KooWxyz"));
    }
}
