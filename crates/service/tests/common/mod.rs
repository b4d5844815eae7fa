//! Helpers for in-process multi-node tests: nodes on 127.0.0.1 with OS-chosen ports,
//! each with its own temporary home, stopped and removed at the end.

#![allow(dead_code)]

use ledger_rpc::{connect, LedgerClient};
use ledger_service::config::Config;
use ledger_service::{start, NodeHandle};
use ledger_types::genesis::{NakamotoParams, StreamletParams};
use ledger_types::keyfile::write_key_file;
use ledger_types::{ConsensusParams, Genesis, Keypair};
use std::path::PathBuf;

/// The funded test accounts.
pub fn account(i: usize) -> Keypair {
    Keypair::for_testing(&format!("account-{i}"))
}

/// A genesis with `validators` validator keys and 8 funded accounts.
pub fn genesis(validators: &[Keypair], consensus: ConsensusParams) -> Genesis {
    let accounts: Vec<_> = (0..8).map(|i| account(i).public()).collect();
    let keys: Vec<_> = validators.iter().map(|k| k.public()).collect();
    let mut g = Genesis::for_testing(&accounts, &keys);
    g.chain_id = "ledger-it".into();
    g.genesis_time_ms = now_ms();
    g.consensus = consensus;
    g
}

/// Streamlet with a small Δ.
pub fn streamlet(delta_ms: u64) -> ConsensusParams {
    ConsensusParams::Streamlet(StreamletParams { delta_ms })
}

/// Nakamoto with a low difficulty.
pub fn nakamoto(block_ms: u64, k: u64) -> ConsensusParams {
    ConsensusParams::Nakamoto(NakamotoParams {
        target_block_ms: block_ms,
        retarget_interval: 8,
        finality_depth: k,
        initial_difficulty: 5_000,
        max_retarget_factor: 4,
    })
}

/// Wall clock in milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A test network: homes in a temp dir, nodes started in this process.
pub struct Net {
    pub dir: tempfile::TempDir,
    pub genesis_path: PathBuf,
    pub nodes: Vec<Option<NodeHandle>>,
    pub configs: Vec<Config>,
}

impl Net {
    /// Writes the genesis.
    pub fn new(genesis: &Genesis) -> Net {
        let dir = tempfile::tempdir().unwrap();
        let genesis_path = dir.path().join("genesis.toml");
        std::fs::write(&genesis_path, genesis.to_toml()).unwrap();
        Net {
            dir,
            genesis_path,
            nodes: Vec::new(),
            configs: Vec::new(),
        }
    }

    /// Config of node `i` with key `key`, bootnodes `boot`.
    pub fn config(&self, i: usize, key: &Keypair, boot: Vec<String>, participate: bool) -> Config {
        let home = self.dir.path().join(format!("node-{i}"));
        let key_file = home.join("node.key");
        if !key_file.exists() {
            write_key_file(&key_file, key).unwrap();
        }
        let mut c = Config::default();
        c.node.name = format!("node-{i}");
        c.node.data_dir = home.join("data");
        c.node.genesis = self.genesis_path.clone();
        c.node.key_file = key_file;
        c.network.listen = vec!["/ip4/127.0.0.1/tcp/0".into()];
        c.network.bootnodes = boot;
        c.rpc.listen = "127.0.0.1:0".into();
        c.metrics.enabled = false;
        c.storage.sync_writes = false;
        c.consensus.participate = participate;
        c
    }

    /// Starts a node and keeps it.
    pub async fn start(&mut self, config: Config) -> usize {
        let handle = start(config.clone()).await.expect("node starts");
        self.nodes.push(Some(handle));
        self.configs.push(config);
        self.nodes.len() - 1
    }

    /// Starts `keys.len()` validators, each bootstrapping from the first.
    pub async fn start_validators(&mut self, keys: &[Keypair]) {
        for (i, k) in keys.iter().enumerate() {
            let boot = if i == 0 {
                Vec::new()
            } else {
                vec![self.p2p(0)]
            };
            let c = self.config(i, k, boot, true);
            self.start(c).await;
        }
    }

    /// Node `i`'s libp2p address.
    pub fn p2p(&self, i: usize) -> String {
        self.nodes[i].as_ref().unwrap().listen_addrs[0].clone()
    }

    /// A client of node `i`.
    pub async fn client(&self, i: usize) -> LedgerClient {
        let addr = self.nodes[i].as_ref().unwrap().rpc_addr;
        connect(&format!("http://{addr}")).await.unwrap()
    }

    /// Node `i`'s RPC address.
    pub fn rpc_addr(&self, i: usize) -> std::net::SocketAddr {
        self.nodes[i].as_ref().unwrap().rpc_addr
    }

    /// Stops every node.
    pub async fn shutdown(&mut self) {
        for n in self.nodes.iter_mut() {
            if let Some(n) = n.take() {
                n.shutdown().await.unwrap();
            }
        }
    }
}

#[allow(unused_imports)]
pub use ledger_e2e::{all_final, final_height, roots, wait_until};
