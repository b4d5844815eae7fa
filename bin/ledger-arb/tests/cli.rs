//! The `ledger-arb` binary's command line. (Also makes `cargo test --workspace` build the
//! binary that the two-network end-to-end test in `tests/` runs.)

use std::process::Command;

#[test]
fn help_lists_the_run_and_report_commands() {
    let out = Command::new(env!("CARGO_BIN_EXE_ledger-arb"))
        .arg("--help")
        .output()
        .expect("ledger-arb runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("report"), "{text}");
}

#[test]
fn an_unknown_command_is_refused_with_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_ledger-arb"))
        .arg("no-such-command")
        .output()
        .expect("ledger-arb runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage"));
}
