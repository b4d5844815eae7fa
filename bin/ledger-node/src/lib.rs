//! `ledger-node`: runs a full node of a replicated exchange ledger, sets one up, or runs
//! a local multi-node testnet.
//!
//! The command line lives in this library so that two binaries share it: `ledger-node`
//! (the product) and `ledger-node-byzantine` (built only with the test-only `byzantine`
//! feature: a node that can run the Byzantine validator modes of a `[byzantine]` config
//! section, see `docs/reliability.md`).

mod hosts;
mod logging;
mod password;
mod replay;
mod run;
mod snapshot;
mod supervisor;
mod testnet;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// A full node of a replicated exchange ledger (Streamlet or Nakamoto consensus, a
/// deterministic matching engine, RocksDB, libp2p, JSON-RPC).
///
/// Without a subcommand, `ledger-node --config FILE` runs a node (same as `run`).
#[derive(Parser, Debug)]
#[command(name = "ledger-node", version, about, long_about = None, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a node from a config file (flags and LEDGER_* variables override it).
    Run(RunArgs),
    /// Set up a node home: DIR/config/node.toml (commented defaults), DIR/config/genesis.toml,
    /// DIR/keys/node.key and DIR/data/.
    Init {
        /// The node's home directory.
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        /// Genesis file to copy into the home (default: the example local genesis).
        #[arg(long, value_name = "FILE")]
        genesis: Option<PathBuf>,
        #[command(flatten)]
        key: NewKeyArgs,
    },
    /// Write a new ed25519 node key (readable only by its owner) and print its public key
    /// and libp2p peer id.
    Keygen {
        /// Where to write the key.
        #[arg(long, value_name = "FILE", default_value = "node.key")]
        out: PathBuf,
        #[command(flatten)]
        key: NewKeyArgs,
    },
    /// Run a local network of N validators (and optional full nodes) in one command:
    /// writes keys, a genesis and one config per node under --dir, starts each node as
    /// its own process, prints the RPC URLs and funded test accounts, and stops all
    /// nodes on Ctrl-C. Run it again on the same directory to resume the chain.
    #[command(after_help = testnet::TESTNET_AFTER_HELP)]
    Testnet(testnet::TestnetArgs),
    /// A one-validator chain for development (like `anvil` or `geth --dev`): keys, a
    /// genesis and 1,024 funded test accounts in a temporary directory (or --dir, which
    /// a rerun resumes), a node that finalizes on its own, and the same summary as
    /// `testnet`. Ctrl-C stops it.
    #[command(after_help = testnet::DEV_AFTER_HELP)]
    Dev(testnet::DevArgs),
    /// Export the ledger state at the final height to a snapshot file, or import one
    /// into an empty data directory (the state-sync snapshot, offline).
    #[command(subcommand)]
    Snapshot(SnapshotCmd),
    /// Re-execute every stored block from genesis in a fresh engine and compare the state
    /// root at each height with the stored one.
    Replay {
        /// The node's data directory (the RocksDB directory).
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        /// Check against this genesis file (default: the genesis stored in the data dir).
        #[arg(long, value_name = "FILE")]
        genesis: Option<PathBuf>,
    },
    /// Print a shell completion script: `ledger-node completions bash >
    /// ~/.local/share/bash-completion/completions/ledger-node` (zsh: into a directory of
    /// your `$fpath` as `_ledger-node`; fish: `~/.config/fish/completions/ledger-node.fish`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `ledger-node snapshot`.
#[derive(Subcommand, Debug)]
enum SnapshotCmd {
    /// Write the snapshot of a (stopped) node's ledger at its final height.
    Export {
        /// The node's data directory (the RocksDB directory).
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        /// The snapshot file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Check a snapshot file (chunks, block, certificate, state root) and write it into
    /// an empty data directory; the node then block-syncs from the snapshot height.
    Import {
        /// The new node's data directory (must be empty).
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        /// The network's genesis file.
        #[arg(long, value_name = "FILE")]
        genesis: PathBuf,
        /// The snapshot file.
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
}

/// How `init` and `keygen` protect a new key.
#[derive(Args, Debug, Default, Clone)]
pub struct NewKeyArgs {
    /// Encrypt the key with the password in the first line of FILE (default: a hidden
    /// prompt on the terminal, or LEDGER_KEY_PASSWORD / LEDGER_KEY_PASSWORD_FILE).
    #[arg(long, value_name = "FILE", conflicts_with = "plaintext")]
    pub password_file: Option<PathBuf>,
    /// Write an unencrypted key, labelled as a test key (for test networks only).
    #[arg(long)]
    pub plaintext: bool,
}

/// Options of `ledger-node run` (and of `ledger-node` without a subcommand).
#[derive(Args, Debug, Default, Clone)]
pub struct RunArgs {
    /// Config file (commented TOML; see `ledger-node init`).
    #[arg(long, short, value_name = "FILE", env = "LEDGER_NODE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the resolved configuration and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Override [node].data_dir.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Override [node].genesis.
    #[arg(long, value_name = "FILE")]
    pub genesis: Option<PathBuf>,
    /// Override [node].key_file.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Override [rpc].listen, e.g. 127.0.0.1:29101 or localhost:29101.
    #[arg(long, value_name = "ADDR")]
    pub rpc_listen: Option<String>,
    /// Override [network].listen (repeatable), e.g. /ip4/127.0.0.1/tcp/29100,
    /// /dns4/localhost/tcp/29100 or localhost:29100.
    #[arg(long = "p2p-listen", value_name = "MULTIADDR")]
    pub p2p_listen: Vec<String>,
    /// Override [network].bootnodes (repeatable): /ip4/HOST/tcp/PORT/p2p/PEER_ID.
    #[arg(long = "bootnode", value_name = "MULTIADDR")]
    pub bootnodes: Vec<String>,
    /// Enable mDNS discovery.
    #[arg(long)]
    pub mdns: bool,
    /// Override [metrics].listen.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// Follow the chain without validating or mining.
    #[arg(long)]
    pub no_participate: bool,
    /// Log format: text or json (overrides [log].format).
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Join from a snapshot served by peers if the data directory is empty (sets
    /// [state_sync].enabled).
    #[arg(long)]
    pub state_sync: bool,
    /// Password of an encrypted key file, in the first line of FILE (default: a hidden
    /// prompt on the terminal, or LEDGER_KEY_PASSWORD / LEDGER_KEY_PASSWORD_FILE).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

/// Runs the command line of `ledger-node` (both binaries call this).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => run::run(cli.run),
        Some(Command::Run(args)) => run::run(args),
        Some(Command::Init {
            data_dir,
            genesis,
            key,
        }) => run::init(&data_dir, genesis.as_deref(), &key),
        Some(Command::Keygen { out, key }) => run::keygen(&out, &key),
        Some(Command::Testnet(args)) => testnet::main(args),
        Some(Command::Dev(args)) => testnet::dev(args),
        Some(Command::Completions { shell }) => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "ledger-node",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Snapshot(SnapshotCmd::Export { data_dir, out })) => {
            snapshot::export(&data_dir, &out)
        }
        Some(Command::Snapshot(SnapshotCmd::Import {
            data_dir,
            genesis,
            file,
        })) => snapshot::import(&data_dir, &genesis, &file),
        Some(Command::Replay { data_dir, genesis }) => replay::run(&data_dir, genesis.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(e) if password::is_wrong_password(&e) => {
            eprintln!("error: {}", error_text(&e));
            ExitCode::from(password::EXIT_WRONG_PASSWORD)
        }
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line, each cause once: a cause whose text the line
/// already holds (a library error that prints its source, then the source itself) is
/// left out.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_appears_once() {
        let io = std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "No such file or directory (os error 2)",
        );
        let inner = anyhow::Error::new(ledger_service::config::ConfigError::Io {
            path: "/nope/node.toml".into(),
            source: io,
        });
        let e = inner.context("cannot start");
        let text = error_text(&e);
        assert_eq!(
            text,
            "cannot start: cannot read config file /nope/node.toml: No such file or directory (os error 2)"
        );
        assert_eq!(text.matches("os error 2").count(), 1);
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
