//! `ledger-node`: runs a full node of a replicated exchange ledger, sets one up, or runs
//! a local multi-node testnet (see the `ledger_node` library).

fn main() -> std::process::ExitCode {
    ledger_node::main()
}
