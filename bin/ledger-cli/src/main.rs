//! `ledger-cli`: the command-line client of a ledger node.
//!
//! Keys (stored as key files under `--keys-dir`), a wallet (balances, transfers, orders),
//! explorer queries (books, trades, blocks, transactions, chain status, peers), a live
//! `watch` of final blocks and trades, and `bench`, the load generator that measures what
//! a network sustains. Everything talks to a node over the JSON-RPC API of `ledger-rpc`
//! (the generated `LedgerApiClient`).
//!
//! Output: tables for people by default; `--json` prints one JSON document on stdout
//! (`watch` prints one JSON object per line; `bench` prints its summary as one JSON
//! object on the last line). Errors go to stderr (and, with `--json`, as
//! `{"error": {...}}` on stdout). Exit codes: see [`error`].

mod atomic;
mod bench;
mod commands;
mod error;
mod keys;
mod noise;
mod output;
mod stages;
mod watch;

use clap::{Args, Parser, Subcommand, ValueEnum};
use error::{CliError, CliResult, RpcResultExt};
use ledger_rpc::{connect_with, ConnectOptions, LedgerClient};
use ledger_types::Decimal;
use std::path::PathBuf;
use std::time::Duration;

const AFTER_HELP: &str = "\
Examples:
  ledger-cli keys test account-0                 # the testnet's funded key account-0
  ledger-cli balance --key account-0
  ledger-cli order place --key account-0 --market BTC/USD --side buy --price 100.5 --qty 0.25 --wait
  ledger-cli book BTC/USD
  ledger-cli watch --market BTC/USD
  ledger-cli bench --duration 60 --testnet testnet/testnet.json
  ledger-cli completions bash > ~/.local/share/bash-completion/completions/ledger-cli

The default endpoint, http://127.0.0.1:29101, is the JSON-RPC port of `ledger-node dev`,
of node-0 of `ledger-node testnet` and of a node with the default config.

Exit codes:
  0  success
  1  the node refused the request (its JSON-RPC code, message and reason are printed),
     a transaction was rejected, or a local operation failed
  2  usage error (bad arguments, unknown key name, price off the tick size, ...)
  3  the node is unreachable or the transport failed (connection refused, timeout)
  4  wrong password for an encrypted key file

Key files are encrypted (Web3 Secret Storage v3: scrypt, AES-128-CTR). The password is read
from --password-file, LEDGER_KEY_PASSWORD or LEDGER_KEY_PASSWORD_FILE, or at a hidden prompt.";

/// Command-line client of a ledger-node network: keys, wallet, explorer and benchmark.
#[derive(Parser, Debug)]
#[command(name = "ledger-cli", version, after_help = AFTER_HELP, max_term_width = 100)]
struct Cli {
    /// Node JSON-RPC endpoint(s), http://HOST:PORT or ws://HOST:PORT. Commands that
    /// subscribe (watch, bench) switch to ws:// on the same port by themselves. `bench`
    /// spreads its load over a comma-separated list; other commands use the first.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "LEDGER_RPC",
        value_delimiter = ',',
        // The node's default RPC port (ledger_service::config::DEFAULT_RPC_PORT): node-0
        // of `ledger-node testnet` and `ledger-node dev`.
        default_value = "http://127.0.0.1:29101",
        value_name = "URL"
    )]
    rpc: Vec<String>,

    /// Machine-readable output: one JSON document on stdout.
    #[arg(long, global = true, help_heading = "Global options")]
    json: bool,

    /// Directory of key files (NAME.key) [default: ~/.ledger/keys].
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "LEDGER_KEYS_DIR",
        value_name = "DIR"
    )]
    keys_dir: Option<PathBuf>,

    /// Password of encrypted key files, in the first line of FILE (default: a hidden
    /// prompt on the terminal, or LEDGER_KEY_PASSWORD / LEDGER_KEY_PASSWORD_FILE).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "FILE"
    )]
    password_file: Option<PathBuf>,

    /// Timeout of one request, in seconds.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        default_value_t = 30.0,
        value_name = "SECONDS"
    )]
    timeout: f64,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create, import, list and show keys (ed25519 key files, mode 0600).
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Balances (free, locked, total per asset) and nonces of an account.
    Balance(AccountArg),
    /// Send an amount of an asset to another account.
    Transfer(TransferArgs),
    /// Place, cancel and list orders.
    #[command(subcommand)]
    Order(OrderCmd),
    /// The order book of a market (L2 depth, best prices first).
    Book {
        /// Market symbol (BTC/USD, BTC-USD) or id.
        market: String,
        /// Price levels per side (at most 500).
        #[arg(long, default_value_t = 10)]
        depth: u32,
    },
    /// Recent trades of a market, newest first.
    Trades {
        /// Market symbol (BTC/USD, BTC-USD) or id.
        market: String,
        /// How many trades (at most 100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Show trades older than this trade id (the `next_cursor` of a previous page).
        #[arg(long)]
        cursor: Option<String>,
    },
    /// A block: `latest` (default), `final`, a height or a hash.
    Block {
        /// `latest`, `final` (`finalized`), a height, or a block hash.
        #[arg(default_value = "latest")]
        block: String,
        /// List the block's transactions in full.
        #[arg(long)]
        txs: bool,
    },
    /// A transaction: status (pending, included, final, rejected), block, engine events.
    Tx {
        /// Transaction hash (also the order id of an order).
        hash: String,
    },
    /// Chain status: chain id, consensus, latest and final heights, peers, mempool.
    Status,
    /// Markets with tick size, lot size, minimum size and fees.
    Markets,
    /// The node's connected peers.
    Peers,
    /// The validators (Streamlet) or known miners (Nakamoto) of the chain.
    Validators,
    /// Follow final blocks and trades live over WebSocket until Ctrl-C.
    Watch {
        /// Only trades of this market (default: every market).
        #[arg(long)]
        market: Option<String>,
        /// Also print every order update of this account (address or key name).
        #[arg(long)]
        account: Option<String>,
    },
    /// Load generator: submit pre-signed orders from the testnet accounts, follow final
    /// blocks, and report final orders per second, latency and the signature ceiling.
    Bench(bench::BenchArgs),
    /// Print a shell completion script: `ledger-cli completions bash >
    /// ~/.local/share/bash-completion/completions/ledger-cli` (zsh: into a directory of
    /// your `$fpath` as `_ledger-cli`; fish: `~/.config/fish/completions/ledger-cli.fish`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Sign and submit a bundle: 2 to 8 IOC/FOK legs across markets, all or nothing.
    Bundle(atomic::BundleArgs),
    /// Hashlock swaps: lock, claim, refund, show, list; and swaps between two chains
    /// (initiate, desk).
    #[command(subcommand)]
    Swap(atomic::SwapCmd),
    /// Noise traders: quote and trade around a random-walking price on every market of
    /// one network, so that independent networks drift apart.
    Noise(noise::NoiseArgs),
}

#[derive(Subcommand, Debug)]
enum KeysCmd {
    /// Generate a new random key and store it as NAME, encrypted with a password.
    New {
        /// Key name (letters, digits, '_', '-', '.').
        name: String,
        /// Store it unencrypted, labelled as a test key (for test networks only).
        #[arg(long)]
        plaintext: bool,
    },
    /// List stored keys with their addresses.
    List,
    /// Show a key's address and file (and, with --secret, its seed).
    Show {
        /// Key name, or a path to a key file.
        name: String,
        /// Also print the secret seed (hex). Anyone with it controls the account.
        #[arg(long)]
        secret: bool,
    },
    /// Import a key from its 32-byte seed in hex (from a key file or testnet.json).
    Import {
        /// Key name to store it under.
        name: String,
        /// The seed, 64 hex digits. Read from standard input when left out (keeps it
        /// out of the shell history and the process list; not echoed on a terminal).
        #[arg(long, value_name = "HEX")]
        seed: Option<String>,
        /// Store it unencrypted, labelled as a test key (for test networks only).
        #[arg(long)]
        plaintext: bool,
    },
    /// Store a deterministic test key (`ledger-node testnet` funds account-0 ..
    /// account-1023). Never use test keys for real funds: anyone can derive them.
    Test {
        /// Label of the test key, e.g. account-0; also the key name unless --name is given.
        label: String,
        /// Store it under this name instead.
        #[arg(long)]
        name: Option<String>,
    },
}

/// An account: an address, or a key name.
#[derive(Args, Debug)]
struct AccountArg {
    /// Account address (64 hex digits) or key name.
    #[arg(value_name = "ACCOUNT", conflicts_with = "key")]
    account: Option<String>,
    /// The account of this key.
    #[arg(long, value_name = "NAME")]
    key: Option<String>,
}

#[derive(Args, Debug)]
struct TransferArgs {
    /// Key that signs (the sender).
    #[arg(long, env = "LEDGER_KEY", value_name = "NAME")]
    key: String,
    /// Receiver: address or key name.
    #[arg(long, value_name = "ACCOUNT")]
    to: String,
    /// Asset symbol (USD, BTC, ...) or id.
    #[arg(long)]
    asset: String,
    /// Amount in whole units of the asset, e.g. 1.5.
    #[arg(long, value_parser = parse_positive_decimal)]
    amount: Decimal,
    /// Wait until the transaction is final and show what it did.
    #[arg(long)]
    wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    wait_timeout: f64,
}

#[derive(Subcommand, Debug)]
enum OrderCmd {
    /// Sign and submit an order (limit GTC by default).
    Place(PlaceArgs),
    /// Cancel an order by id or client order id, or all open orders.
    Cancel(CancelArgs),
    /// Sign and submit up to 32 cancels and limit orders as one batch transaction:
    /// cancels first, then orders, each with its own result.
    Batch(BatchArgs),
    /// An account's orders, newest first.
    List {
        #[command(flatten)]
        account: AccountArg,
        /// Only open orders.
        #[arg(long)]
        open: bool,
        /// Only orders of this market.
        #[arg(long)]
        market: Option<String>,
        /// How many orders (at most 100).
        #[arg(long, default_value_t = 30)]
        limit: u32,
        /// Continue after this order id (the `next_cursor` of a previous page).
        #[arg(long)]
        cursor: Option<String>,
    },
}

/// Order type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OrderType {
    /// Executes at the price or better; the rest may rest on the book.
    Limit,
    /// Executes now against the book (IOC or FOK); --price is an optional worst price.
    Market,
}

/// Side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SideArg {
    /// Buy the base asset.
    Buy,
    /// Sell the base asset.
    Sell,
}

/// Time in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Tif {
    /// Good till cancelled.
    #[value(name = "GTC")]
    Gtc,
    /// Immediate or cancel.
    #[value(name = "IOC")]
    Ioc,
    /// Fill or kill.
    #[value(name = "FOK")]
    Fok,
    /// Add liquidity only (post-only): rejected if it would trade on arrival.
    #[value(name = "ALO", alias = "POST_ONLY")]
    Alo,
}

/// Self-trade prevention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Stp {
    /// Expire the incoming order's remainder.
    #[value(name = "EXPIRE_TAKER")]
    Taker,
    /// Expire the resting order and keep matching (the default).
    #[value(name = "EXPIRE_MAKER")]
    Maker,
    /// Expire both.
    #[value(name = "EXPIRE_BOTH")]
    Both,
}

#[derive(Args, Debug)]
struct PlaceArgs {
    /// Key that signs the order.
    #[arg(long, env = "LEDGER_KEY", value_name = "NAME")]
    key: String,
    /// Market symbol (BTC/USD, BTC-USD) or id.
    #[arg(long)]
    market: String,
    /// buy or sell.
    #[arg(long, ignore_case = true)]
    side: SideArg,
    /// Limit price (quote per base); for a market order, an optional worst price.
    #[arg(long, value_parser = parse_positive_decimal)]
    price: Option<Decimal>,
    /// Quantity of the base asset.
    #[arg(long, alias = "quantity", value_parser = parse_positive_decimal)]
    qty: Decimal,
    /// Order type.
    #[arg(long = "type", default_value = "limit", ignore_case = true)]
    kind: OrderType,
    /// Time in force [default: GTC for limit orders, IOC for market orders].
    #[arg(long, ignore_case = true)]
    tif: Option<Tif>,
    /// Client order id: up to 32 hex digits (128 bits), unique among your open orders.
    #[arg(long, value_name = "HEX")]
    client_id: Option<String>,
    /// Self-trade prevention.
    #[arg(long, ignore_case = true, default_value = "EXPIRE_MAKER")]
    stp: Stp,
    /// Wait until the order's transaction is final and show the resulting events.
    #[arg(long)]
    wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    wait_timeout: f64,
}

#[derive(Args, Debug)]
struct BatchArgs {
    /// Key that signs the batch.
    #[arg(long, env = "LEDGER_KEY", value_name = "NAME")]
    key: String,
    /// Market of the orders (symbol or id).
    #[arg(long)]
    market: String,
    /// A GTC limit order: SIDE:PRICE:QTY or SIDE:PRICE:QTY:CLIENT_ID (repeatable), for
    /// example `buy:100.5:0.25:7`.
    #[arg(long = "place", value_name = "SIDE:PRICE:QTY[:CLIENT_ID]")]
    places: Vec<String>,
    /// Cancel an order by client order id (repeatable).
    #[arg(long = "cancel-client-id", value_name = "HEX")]
    cancel_client_ids: Vec<String>,
    /// Cancel an order by order id (repeatable).
    #[arg(long = "cancel", value_name = "ORDER_ID")]
    cancels: Vec<String>,
    /// Make the transaction invalid after this block height.
    #[arg(long, value_name = "HEIGHT")]
    valid_until: Option<u64>,
    /// Wait until the batch is final and show each action's result.
    #[arg(long)]
    wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    wait_timeout: f64,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["order_id", "client_id", "all"])))]
struct CancelArgs {
    /// Key that signs the cancel (the order's owner).
    #[arg(long, env = "LEDGER_KEY", value_name = "NAME")]
    key: String,
    /// The order id (the hash of the transaction that placed it).
    #[arg(long, value_name = "HEX")]
    order_id: Option<String>,
    /// The client order id the order was placed with.
    #[arg(long, value_name = "HEX")]
    client_id: Option<String>,
    /// Cancel every open order (on --market only, if given).
    #[arg(long)]
    all: bool,
    /// With --all: only this market.
    #[arg(long, requires = "all")]
    market: Option<String>,
    /// Wait until the cancel is final and show the resulting events.
    #[arg(long)]
    wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    wait_timeout: f64,
}

/// Parses a decimal greater than zero (`1.5`, not `1e3`, not a float in disguise).
pub(crate) fn parse_positive_decimal(s: &str) -> Result<Decimal, String> {
    let t = s.trim();
    let plain = !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && t.bytes().filter(|&b| b == b'.').count() <= 1;
    let d: Decimal = t
        .parse()
        .ok()
        .filter(|_| plain)
        .ok_or_else(|| format!("{s:?} is not a decimal number (write e.g. 100.5)"))?;
    if d <= Decimal::ZERO {
        return Err(format!("{s} must be greater than zero"));
    }
    Ok(d)
}

/// Global settings every command gets.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Endpoints (normalized URLs).
    pub urls: Vec<String>,
    /// `--json`.
    pub json: bool,
    /// `--keys-dir`.
    pub keys_dir: Option<PathBuf>,
    /// `--password-file`.
    pub password_file: Option<PathBuf>,
    /// Request timeout.
    pub timeout: Duration,
}

impl Ctx {
    /// The first endpoint.
    pub fn url(&self) -> &str {
        &self.urls[0]
    }

    /// A client for the first endpoint (HTTP or WebSocket, as the URL says).
    pub async fn client(&self) -> CliResult<LedgerClient> {
        self.connect(self.url()).await
    }

    /// A client for `url`.
    pub async fn connect(&self, url: &str) -> CliResult<LedgerClient> {
        let opts = ConnectOptions {
            request_timeout: self.timeout,
            ..ConnectOptions::default()
        };
        connect_with(url, &opts).await.at(url)
    }

    /// A WebSocket client for the first endpoint (http:// becomes ws://), and its URL.
    pub async fn ws_client(&self) -> CliResult<(String, LedgerClient)> {
        let url = ws_url(self.url());
        let c = self.connect(&url).await?;
        Ok((url, c))
    }

    /// The key store.
    pub fn keys(&self) -> CliResult<keys::KeyStore> {
        keys::KeyStore::open(self.keys_dir.clone(), self.password_file.clone())
    }
}

/// Normalizes an endpoint: adds `http://` when there is no scheme, drops a trailing `/`.
fn normalize_url(u: &str) -> CliResult<String> {
    let u = u.trim();
    if u.is_empty() {
        return Err(CliError::usage("--rpc: empty URL"));
    }
    let with_scheme = if u.contains("://") {
        u.to_string()
    } else {
        format!("http://{u}")
    };
    let scheme = with_scheme.split("://").next().unwrap_or("");
    if !matches!(scheme, "http" | "https" | "ws" | "wss") {
        return Err(CliError::usage(format!(
            "--rpc {u}: use http://HOST:PORT or ws://HOST:PORT"
        )));
    }
    Ok(with_scheme.trim_end_matches('/').to_string())
}

/// The WebSocket URL of an endpoint (same host and port).
pub fn ws_url(u: &str) -> String {
    if let Some(rest) = u.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = u.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        u.to_string()
    }
}

/// The HTTP URL of an endpoint (same host and port).
pub fn http_url(u: &str) -> String {
    if let Some(rest) = u.strip_prefix("ws://") {
        format!("http://{rest}")
    } else if let Some(rest) = u.strip_prefix("wss://") {
        format!("https://{rest}")
    } else {
        u.to_string()
    }
}

fn main() {
    let cli = Cli::parse();
    let json = cli.json;
    let code = match run(cli) {
        Ok(()) => error::EXIT_OK,
        Err(e) => {
            if json {
                println!("{}", e.to_json());
            }
            eprintln!("error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> CliResult<()> {
    if !(cli.timeout.is_finite() && cli.timeout > 0.0) {
        return Err(CliError::usage(
            "--timeout must be a positive number of seconds",
        ));
    }
    let urls = cli
        .rpc
        .iter()
        .map(|u| normalize_url(u))
        .collect::<CliResult<Vec<_>>>()?;
    if urls.is_empty() {
        return Err(CliError::usage("--rpc: no endpoint given"));
    }
    let ctx = Ctx {
        urls,
        json: cli.json,
        keys_dir: cli.keys_dir,
        password_file: cli.password_file,
        timeout: Duration::from_secs_f64(cli.timeout),
    };
    // Key commands need no node and no runtime.
    if let Command::Keys(k) = cli.command {
        return commands::keys(&ctx, k);
    }
    if let Command::Completions { shell } = cli.command {
        use clap::CommandFactory;
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "ledger-cli",
            &mut std::io::stdout(),
        );
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(dispatch(ctx, cli.command))
}

async fn dispatch(ctx: Ctx, cmd: Command) -> CliResult<()> {
    match cmd {
        Command::Keys(_) | Command::Completions { .. } => {
            unreachable!("handled before the runtime starts")
        }
        Command::Balance(a) => commands::balance(&ctx, a).await,
        Command::Transfer(t) => commands::transfer(&ctx, t).await,
        Command::Order(OrderCmd::Place(p)) => commands::order_place(&ctx, p).await,
        Command::Order(OrderCmd::Cancel(c)) => commands::order_cancel(&ctx, c).await,
        Command::Order(OrderCmd::Batch(b)) => commands::order_batch(&ctx, b).await,
        Command::Order(OrderCmd::List {
            account,
            open,
            market,
            limit,
            cursor,
        }) => commands::order_list(&ctx, account, open, market, limit, cursor).await,
        Command::Book { market, depth } => commands::book(&ctx, &market, depth).await,
        Command::Trades {
            market,
            limit,
            cursor,
        } => commands::trades(&ctx, &market, limit, cursor).await,
        Command::Block { block, txs } => commands::block(&ctx, &block, txs).await,
        Command::Tx { hash } => commands::tx(&ctx, &hash).await,
        Command::Status => commands::status(&ctx).await,
        Command::Markets => commands::markets(&ctx).await,
        Command::Peers => commands::peers(&ctx).await,
        Command::Validators => commands::validators(&ctx).await,
        Command::Watch { market, account } => watch::run(&ctx, market, account).await,
        Command::Bench(args) => bench::run(&ctx, args).await,
        Command::Bundle(args) => atomic::bundle(&ctx, args).await,
        Command::Swap(cmd) => atomic::swap(&ctx, cmd).await,
        Command::Noise(args) => noise::run(&ctx, args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn urls() {
        assert_eq!(
            normalize_url("127.0.0.1:8545").unwrap(),
            "http://127.0.0.1:8545"
        );
        assert_eq!(normalize_url("ws://h:1/").unwrap(), "ws://h:1");
        assert!(normalize_url("ftp://h").is_err());
        assert_eq!(ws_url("http://h:1"), "ws://h:1");
        assert_eq!(ws_url("https://h:1"), "wss://h:1");
        assert_eq!(http_url("ws://h:1"), "http://h:1");
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_positive_decimal("1.5").unwrap(), Decimal::new(15, 1));
        assert!(parse_positive_decimal("0").is_err());
        assert!(parse_positive_decimal("-1").is_err());
        assert!(parse_positive_decimal("1e3").is_err());
        assert!(parse_positive_decimal("abc").is_err());
    }
}
