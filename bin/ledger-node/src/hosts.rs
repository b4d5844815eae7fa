//! `ledger-node testnet --hosts IP1,IP2,... --no-start --dir DIR`: a network across
//! machines. One self-contained folder per host, `DIR/<ip>/`, to copy to that host:
//!
//! ```text
//! DIR/testnet.json            every node (host, p2p address, peer id), funded accounts
//! DIR/genesis.toml            the genesis (also in each folder)
//! DIR/<ip>/config/node.toml   listens on 0.0.0.0:P2P; bootnodes = the other hosts
//! DIR/<ip>/config/genesis.toml
//! DIR/<ip>/keys/node.key      the validator key (encrypted with --password-file)
//! DIR/<ip>/data/
//! ```
//!
//! Every host uses the same ports (`--p2p-port`, RPC 127.0.0.1:8545, metrics
//! 127.0.0.1:9615 as in `ledger-node init`); every host is a validator except the last
//! `--full-nodes`. `deploy/` has the systemd
//! unit and the operator guide.

use crate::testnet::{testnet_genesis, AccountInfo, NodeInfo, TestnetArgs, TestnetInfo};
use anyhow::{bail, Context, Result};
use ledger_service::config::Config;
use ledger_types::keyfile::{write_encrypted_key_file, write_key_file, ScryptCost};
use ledger_types::Keypair;
use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;

/// Parses `--hosts`: comma-separated IPv4 or IPv6 addresses, no duplicates.
pub fn parse_hosts(list: &str) -> Result<Vec<IpAddr>> {
    let mut hosts = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let ip: IpAddr = item
            .parse()
            .with_context(|| format!("--hosts: {item:?} is not an IP address"))?;
        if ip.is_unspecified() || ip.is_multicast() {
            bail!("--hosts: {ip} is not a host address");
        }
        if hosts.contains(&ip) {
            bail!("--hosts: {ip} is listed twice");
        }
        hosts.push(ip);
    }
    if hosts.is_empty() {
        bail!("--hosts: give at least one address");
    }
    Ok(hosts)
}

fn multiaddr(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("/ip4/{v4}/tcp/{port}"),
        IpAddr::V6(v6) => format!("/ip6/{v6}/tcp/{port}"),
    }
}

/// Writes the per-host folders and `testnet.json`, prints where everything is.
pub fn write(args: &TestnetArgs, hosts_arg: &str) -> Result<ExitCode> {
    if !args.no_start {
        bail!("--hosts writes the configs for other machines: add --no-start (start each node on its host, see deploy/README.md)");
    }
    let hosts = parse_hosts(hosts_arg)?;
    // Every host is a validator but the last --full-nodes.
    if args.full_nodes >= hosts.len() {
        bail!(
            "--full-nodes {}: at least one of the {} hosts must be a validator",
            args.full_nodes,
            hosts.len()
        );
    }
    let validators = hosts.len() - args.full_nodes;
    if args.dir.join("testnet.json").exists() {
        bail!(
            "{} already holds a testnet; choose another --dir",
            args.dir.display()
        );
    }
    let password = match &args.password_file {
        Some(f) => Some(ledger_types::keyfile::read_password_file(f)?),
        None => None,
    };
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let keys: Vec<Keypair> = hosts.iter().map(|_| Keypair::generate()).collect();
    let genesis = testnet_genesis(args, &keys[..validators]);
    let genesis_text = format!(
        "# Genesis of a network across hosts, written by `ledger-node testnet --hosts`.\n# config/genesis.toml in the repository documents every field.\n\n{}",
        genesis.to_toml()
    );
    std::fs::write(args.dir.join("genesis.toml"), &genesis_text)?;
    let port = args.p2p_port;
    let mut peers = Vec::new();
    for (ip, k) in hosts.iter().zip(&keys) {
        let peer = ledger_network::IdentitySeed(k.seed()).peer_id()?;
        peers.push((
            format!("{}/p2p/{peer}", multiaddr(*ip, port)),
            peer.to_string(),
        ));
    }
    let mut nodes = Vec::new();
    for (i, (ip, key)) in hosts.iter().zip(&keys).enumerate() {
        let role = if i < validators { "validator" } else { "full" };
        let home = args.dir.join(ip.to_string());
        let config_dir = home.join("config");
        std::fs::create_dir_all(&config_dir)?;
        std::fs::create_dir_all(home.join("data"))?;
        std::fs::write(config_dir.join("genesis.toml"), &genesis_text)?;
        let key_path = home.join("keys/node.key");
        match &password {
            Some(p) => write_encrypted_key_file(&key_path, key, p, ScryptCost::STANDARD)?,
            None => write_key_file(&key_path, key)?,
        }
        let mut c = Config::default();
        c.node.name = format!("node-{i}");
        c.node.data_dir = "../data".into();
        c.node.genesis = "genesis.toml".into();
        c.node.key_file = "../keys/node.key".into();
        c.network.listen = vec![multiaddr(
            if ip.is_ipv4() {
                IpAddr::from([0, 0, 0, 0])
            } else {
                IpAddr::from([0u16; 8])
            },
            port,
        )];
        c.network.bootnodes = peers
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, (a, _))| a.clone())
            .collect();
        c.consensus.participate = role == "validator";
        let config = config_dir.join("node.toml");
        std::fs::write(
            &config,
            format!(
                "# node-{i} on host {ip}, written by `ledger-node testnet --hosts`.\n# Copy this folder to the host (e.g. /var/lib/ledger) and start it with deploy/ledger-node.service.\n# Every key is documented in `ledger-node init`'s config.\n\n{}",
                c.to_toml()
            ),
        )
        .with_context(|| format!("cannot write {}", config.display()))?;
        nodes.push(NodeInfo {
            name: format!("node-{i}"),
            role: role.into(),
            rpc_url: c.rpc.listen.replace("127.0.0.1", "http://127.0.0.1"),
            ws_url: c.rpc.listen.replace("127.0.0.1", "ws://127.0.0.1"),
            metrics_url: format!("http://{}/metrics", c.metrics.listen),
            p2p: peers[i].0.clone(),
            peer_id: peers[i].1.clone(),
            public_key: key.public().to_hex(),
            config,
            host: Some(ip.to_string()),
        });
    }
    let accounts = (0..args.accounts)
        .map(|i| {
            let name = format!("account-{i}");
            let k = Keypair::for_testing(&name);
            AccountInfo {
                name,
                address: k.public().to_hex(),
                secret_seed: hex::encode(k.seed()),
            }
        })
        .collect();
    let info = TestnetInfo {
        chain_id: genesis.chain_id.clone(),
        consensus: args.consensus,
        genesis: args.dir.join("genesis.toml"),
        nodes,
        accounts,
    };
    std::fs::write(
        args.dir.join("testnet.json"),
        serde_json::to_string_pretty(&info)? + "\n",
    )?;
    print_summary(&args.dir, &info, password.is_some());
    Ok(ExitCode::SUCCESS)
}

fn print_summary(dir: &Path, info: &TestnetInfo, encrypted: bool) {
    println!(
        "network {:?} across {} hosts ({:?}) in {}:",
        info.chain_id,
        info.nodes.len(),
        info.consensus,
        dir.display()
    );
    for n in &info.nodes {
        println!(
            "  {:<8} {:<9} {}/  p2p {}",
            n.name,
            n.role,
            dir.join(n.host.as_deref().unwrap_or("?")).display(),
            n.p2p
        );
    }
    if !encrypted {
        println!("keys are UNENCRYPTED test keys; pass --password-file FILE to encrypt them");
    }
    println!("copy each folder to its host and start `ledger-node run --config <folder>/config/node.toml`");
    println!("(deploy/ledger-node.service and deploy/README.md: systemd unit and operator guide)");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_parsed_and_checked() {
        let h = parse_hosts("10.1.0.1, 10.1.0.2,fd00::3").unwrap();
        assert_eq!(h.len(), 3);
        assert_eq!(multiaddr(h[2], 30333), "/ip6/fd00::3/tcp/30333");
        for bad in ["", "10.0.0.1,10.0.0.1", "nope", "0.0.0.0", "224.0.0.1"] {
            assert!(parse_hosts(bad).is_err(), "{bad}");
        }
    }
}
