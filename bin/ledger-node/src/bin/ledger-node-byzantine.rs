//! `ledger-node-byzantine`: `ledger-node` built with the test-only `byzantine` feature,
//! so that a `[byzantine]` config section makes the validator misbehave on purpose
//! (see `docs/reliability.md`). Never deploy it; the product binary refuses the section.

fn main() -> std::process::ExitCode {
    ledger_node::main()
}
