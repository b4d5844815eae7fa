//! `ledger-node testnet --networks 2`: two independent local networks side by side, as
//! two exchanges for cross-exchange arbitrage (`ledger-arb`).
//!
//! Layout of `--dir`:
//!
//! ```text
//! networks.json   both networks: name, chain id, consensus, directory, RPC URLs
//! net-a/          a full testnet (testnet.json, genesis.toml, node-I/...), chain id
//!                 `ledger-testnet-a`, consensus --consensus, ports from --base-port
//! net-b/          the same with chain id `ledger-testnet-b`, consensus --consensus-b
//!                 (default: --consensus), ports from --base-port + 500
//! ```
//!
//! Both genesis files hold the same assets, the same funded test accounts (so one key
//! has an account with the same address on both chains) and the markets of a single
//! testnet plus `ETH/BTC`, so that triangular gaps exist within each network too.

use super::{create, load, save, supervised, Kind, TestnetArgs, TestnetInfo, DEFAULT_BASE_PORT};
use crate::supervisor;
use anyhow::{bail, Context, Result};
use ledger_types::genesis::MarketSpec;
use ledger_types::{Decimal, Genesis};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Port offset between the two networks.
pub const NETWORK_PORT_STRIDE: u16 = 500;

/// One network of `networks.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NetworkEntry {
    /// `a` or `b`.
    pub name: String,
    /// Chain id.
    pub chain_id: String,
    /// `streamlet` or `nakamoto`.
    pub consensus: super::Kind,
    /// The network's testnet directory (holds its `testnet.json`).
    pub dir: PathBuf,
    /// Every node's JSON-RPC URL.
    pub rpc_urls: Vec<String>,
}

/// `networks.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NetworksInfo {
    /// The networks, `a` first.
    pub networks: Vec<NetworkEntry>,
}

/// The `ETH/BTC` market added to both networks.
pub fn eth_btc_market() -> MarketSpec {
    MarketSpec {
        base: "ETH".into(),
        quote: "BTC".into(),
        tick_size: Decimal::new(1, 4),
        lot_size: Decimal::new(1, 2),
        min_size: Decimal::new(1, 2),
        maker_fee_bps: 2,
        taker_fee_bps: 5,
    }
}

/// Turns a freshly written single testnet into network `name` of a pair: its own chain id
/// and the extra market. Must run before any node of it starts.
fn adapt(dir: &Path, name: &str, info: &mut TestnetInfo) -> Result<()> {
    let path = dir.join("genesis.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut g = Genesis::from_toml(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
    g.chain_id = format!("ledger-testnet-{name}");
    if !g.markets.iter().any(|m| m.symbol() == "ETH/BTC") {
        g.markets.push(eth_btc_market());
    }
    g.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::write(
        &path,
        format!(
            "# Genesis of network {name} of a local testnet pair, written by `ledger-node testnet --networks 2`.\n# config/genesis.toml in the repository documents every field.\n\n{}",
            g.to_toml()
        ),
    )?;
    info.chain_id = g.chain_id;
    save(dir, info)
}

/// Entry point of `ledger-node testnet --networks 2`.
pub fn main(args: TestnetArgs) -> Result<ExitCode> {
    if args.networks != 2 {
        bail!("--networks must be 1 or 2");
    }
    if args.join {
        bail!("--join works on one network: pass --dir DIR/net-a or DIR/net-b");
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let mut nets = Vec::new();
    for (i, name) in ["a", "b"].into_iter().enumerate() {
        let mut a = args.clone();
        a.networks = 1;
        a.dir = args.dir.join(format!("net-{name}"));
        a.base_port = Some(
            args.base_port
                .unwrap_or(DEFAULT_BASE_PORT)
                .checked_add(NETWORK_PORT_STRIDE * i as u16)
                .context("--base-port leaves no room for the second network")?,
        );
        if name == "b" {
            a.consensus = args.consensus_b.unwrap_or(args.consensus);
        }
        let info = match load(&a.dir)? {
            Some(info) => info,
            None => {
                let mut info = create(&a)?;
                adapt(&a.dir, name, &mut info)?;
                info
            }
        };
        nets.push((name, a, info));
    }
    let summary = NetworksInfo {
        networks: nets
            .iter()
            .map(|(name, a, info)| NetworkEntry {
                name: name.to_string(),
                chain_id: info.chain_id.clone(),
                consensus: info.consensus,
                dir: a.dir.clone(),
                rpc_urls: info.nodes.iter().map(|n| n.rpc_url.clone()).collect(),
            })
            .collect(),
    };
    std::fs::write(
        args.dir.join("networks.json"),
        serde_json::to_string_pretty(&summary)? + "\n",
    )
    .context("cannot write networks.json")?;
    if args.no_start {
        for n in &summary.networks {
            println!(
                "network {} ({}, {:?}): {} in {}",
                n.name,
                n.chain_id,
                n.consensus,
                n.rpc_urls.first().map(String::as_str).unwrap_or("-"),
                n.dir.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // One supervisor over both networks' nodes, named `a/node-0`, `b/node-0`, ...
    let mut nodes = Vec::new();
    for (name, a, info) in &nets {
        for mut n in supervised(&a.dir, &info.nodes) {
            n.name = format!("{name}/{}", n.name);
            nodes.push(n);
        }
    }
    let (a, b) = (&nets[0].2, &nets[1].2);
    let quorum = |info: &TestnetInfo, v: usize| match info.consensus {
        Kind::Streamlet => (2 * v).div_ceil(3),
        Kind::Nakamoto => 1,
    };
    let va = a.nodes.iter().filter(|n| n.role == "validator").count();
    let vb = b.nodes.iter().filter(|n| n.role == "validator").count();
    let opts = supervisor::Options {
        dir: args.dir.clone(),
        restart: args.restart,
        follow_logs: args.logs,
        control: false,
        // The "can the network go on" line counts both networks' validators together:
        // both must keep their own quorum.
        validators: va + vb,
        quorum: quorum(a, va) + quorum(b, vb),
        label: "testnet",
        farewell: "stopped; run the same command again to resume both networks".into(),
    };
    rt.block_on(supervisor::supervise(nodes, opts, || {
        for n in &summary.networks {
            println!(
                "network {} ({}, {:?}): {}",
                n.name,
                n.chain_id,
                n.consensus,
                n.rpc_urls.join(" ")
            );
        }
    }))
}
