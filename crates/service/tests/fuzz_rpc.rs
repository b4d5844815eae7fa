//! Fuzzing of every JSON-RPC method's parameter parsing (proptest, stable Rust): the
//! node's real methods (`LedgerApiServer` and `AtomicApiServer` over a RocksDB store
//! with a few final blocks) called in-process through jsonrpsee's `raw_json_request`,
//! no sockets. Inputs: valid parameters of each method (positional and named) edited by
//! structural JSON mutations, arbitrary JSON parameters, and mutated request text.
//!
//! Invariants: never panics; every request gets a JSON-RPC 2.0 response with a result
//! or an error; bad input is never answered with -32603 (internal error, "a bug, never
//! the answer to bad input" in CONVENTIONS.md); unknown methods are -32601.
//!
//! Also here: state-sync attestations (`StateAttestation`, decoded as a joining node
//! decodes a peer's answer) and the snapshot block's certificate check.
//!
//! Soak: `LEDGER_FUZZ_SECS=60 cargo test --release -p ledger-service --test fuzz_rpc
//! -- --nocapture --test-threads 1` (see docs/reliability.md, "Fuzzing").

#[path = "../../types/tests/fuzz/mod.rs"]
mod fuzz;
#[path = "../../types/tests/fuzz/json.rs"]
mod fuzz_json;
#[path = "../../types/tests/fuzz/gen.rs"]
mod gen;

use jsonrpsee::RpcModule;
use ledger_rpc::{Catalog, LedgerApiServer, WireTx};
use ledger_service::metrics::Metrics;
use ledger_service::rpc_server::RpcImpl;
use ledger_service::shared::Shared;
use ledger_service::state_sync::{attestation_message, check_certificate, StateAttestation};
use ledger_service::Mempool;
use ledger_storage::{ChainStore, Executor, StoreOptions};
use ledger_types::{codec, Block, ConsensusHeader, Genesis, Hash, Keypair, Payload, SignedTx, Tx};
use parking_lot::{Mutex, RwLock};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Node {
    module: RpcModule<RpcImpl>,
    runtime: tokio::runtime::Runtime,
    genesis: Genesis,
    blocks: Vec<Block>,
    _commands: tokio::sync::mpsc::Receiver<ledger_service::shared::Command>,
    _dir: tempfile::TempDir,
}

/// A node's shared state over a real RocksDB store with 3 final blocks of orders and
/// transfers, and the RPC module the server mounts.
fn node() -> Node {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = gen::keys();
    let validators: Vec<Keypair> = (0..4)
        .map(|i| Keypair::for_testing(&format!("fuzz-validator-{i}")))
        .collect();
    let accounts: Vec<_> = keys.iter().map(|k| k.public()).collect();
    let vkeys: Vec<_> = validators.iter().map(|k| k.public()).collect();
    let mut genesis = Genesis::for_testing(&accounts, &vkeys);
    genesis.chain_id = "fuzz".into();
    let store = ChainStore::open(dir.path(), StoreOptions::unsynced()).expect("store");
    let mut exec = Executor::open(store.clone(), Some(&genesis)).expect("executor");
    let mut blocks = Vec::new();
    let mut parent = genesis.block().hash();
    for h in 1..=3u64 {
        let txs: Vec<SignedTx> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let side = if (i as u64 + h).is_multiple_of(2) {
                    "buy"
                } else {
                    "sell"
                };
                let payload: Payload = serde_json::from_value(json!({
                    "type": "place_order", "market": 0, "side": side, "kind": "limit",
                    "price": "100", "quantity": "0.5", "time_in_force": "GTC"
                }))
                .expect("order payload");
                Tx::new("fuzz", k.public(), h - 1, payload).sign(k)
            })
            .collect();
        let proposer = &validators[(h % 4) as usize];
        let b = Block::new(
            parent,
            h,
            ConsensusHeader::Streamlet {
                epoch: h,
                proposer: proposer.public(),
                time_ms: h * 1000,
            },
            txs,
        );
        parent = b.hash();
        // A real notarization certificate (a quorum's votes), as a node stores it.
        let chain = genesis.hash();
        let cert = ledger_consensus::streamlet::Certificate {
            epoch: h,
            block: b.hash(),
            votes: (0..3u32)
                .map(|i| ledger_consensus::streamlet::CertVote {
                    validator: i,
                    signature: ledger_consensus::streamlet::Vote::sign(
                        &chain,
                        h,
                        b.hash(),
                        &validators[i as usize],
                    )
                    .signature,
                })
                .collect(),
        };
        exec.finalize(b.clone(), &codec::encode(&cert))
            .expect("finalize");
        blocks.push(b);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The signature batcher's task lives on this runtime.
    let entered = runtime.enter();
    let (commands, commands_rx) = tokio::sync::mpsc::channel(1 << 16);
    let (final_blocks, _) = tokio::sync::broadcast::channel(16);
    let shared = Arc::new(Shared {
        catalog: Catalog::from_genesis(&genesis),
        genesis: genesis.clone(),
        store,
        executor: RwLock::new(exec),
        mempool: Arc::new(Mutex::new(Mempool::new(
            Default::default(),
            genesis.chain_id.clone(),
            genesis.limits.max_tx_bytes as usize,
        ))),
        progress: RwLock::new(Default::default()),
        peers: RwLock::new(Vec::new()),
        included: RwLock::new(Default::default()),
        final_blocks,
        commands,
        metrics: Arc::new(Metrics::new()),
        peer_id: "fuzz".into(),
        listen_addrs: Vec::new(),
        validator: None,
        started: Instant::now(),
        signatures: ledger_service::sig_batcher::SignatureBatcher::start(1),
    });
    drop(entered);
    let mut module = LedgerApiServer::into_rpc(RpcImpl::new(shared.clone()));
    module
        .merge(ledger_rpc::AtomicApiServer::into_rpc(RpcImpl::new(shared)))
        .expect("merge");
    Node {
        module,
        runtime,
        genesis,
        blocks,
        _commands: commands_rx,
        _dir: dir,
    }
}

/// Every method the node serves, with valid parameters (positional).
fn valid_params(node: &Node) -> Vec<(&'static str, Value)> {
    let keys = gen::keys();
    let addr = keys[0].public().to_hex();
    let b = &node.blocks[1];
    let tx = &b.txs[0];
    let hash = tx.hash().to_hex();
    let wire = |t: &SignedTx| serde_json::to_value(WireTx::from(t)).unwrap_or_default();
    let next = |payload: Value| {
        let p: Payload = serde_json::from_value(payload).expect("payload");
        Tx::new("fuzz", keys[1].public(), 3, p).sign(&keys[1])
    };
    let order = next(
        json!({"type": "place_order", "market": 0, "side": "buy", "kind": "limit",
        "price": "99", "quantity": "0.25", "time_in_force": "GTC", "client_order_id": "ab"}),
    );
    let cancel = next(json!({"type": "cancel_order", "order": {"order_id": hash}}));
    let bundle = next(json!({"type": "bundle", "legs": [
        {"market": 0, "side": "buy", "price": "101", "quantity": "0.1", "time_in_force": "IOC"},
        {"market": 0, "side": "sell", "price": "99", "quantity": "0.1", "time_in_force": "FOK"}],
        "min_net": [{"asset": 0, "min": "-1"}]}));
    let lock = next(
        json!({"type": "swap_lock", "counterparty": keys[2].public().to_hex(),
        "asset": 0, "amount": "0.5", "hashlock": hash, "timeout_height": "99"}),
    );
    vec![
        ("submit_order", json!([wire(&order)])),
        ("cancel_order", json!([wire(&cancel)])),
        ("submit_tx", json!([wire(&lock), "final", 20])),
        ("submit_tx", json!([wire(&order)])),
        ("submit_bundle", json!([wire(&bundle)])),
        ("get_tx", json!([hash])),
        ("get_txs", json!([[hash, b.txs[1].hash().to_hex()]])),
        ("get_account_fills", json!([addr, 10, null])),
        ("get_account_transfers", json!([addr, 5, "2"])),
        ("get_account_txs", json!([addr, 30, null])),
        ("get_candles", json!(["BTC/USD", "1m", 10, null])),
        ("get_market_stats", json!([0])),
        ("rpc.discover", json!([])),
        ("get_block", json!([2, true])),
        ("get_block", json!([b.hash().to_hex(), false])),
        ("get_block", json!(["latest"])),
        ("get_account", json!([addr])),
        ("get_orders", json!([addr, "BTC/USD", "open", 10, null])),
        ("get_order", json!([hash])),
        ("get_order_book", json!(["BTC/USD", 5])),
        ("get_trades", json!([0, 20, null])),
        ("get_markets", json!([])),
        ("chain_status", json!([])),
        ("get_validators", json!([])),
        ("get_peers", json!([])),
        ("get_block_certificate", json!(["final"])),
        ("get_swap", json!([hash])),
        ("get_swaps", json!([addr, 10, null])),
        ("subscribe_blocks", json!([true])),
        ("subscribe_trades", json!(["BTC/USD"])),
        ("subscribe_book", json!([0, 3])),
        ("subscribe_orders", json!([addr])),
        ("subscribe_tx", json!([hash])),
        ("subscribe_swaps", json!([null])),
        ("unsubscribe_blocks", json!(["0"])),
        ("get_account", json!({"account": addr})),
        ("get_block", json!({"block": "final", "include_txs": true})),
        ("get_orders", json!({"account": addr, "limit": 3})),
    ]
}

/// Calls `method` with `params` in-process and checks the answer.
fn call(node: &Node, request: &str, method: &str) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let answer = node.runtime.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(3),
            node.module.raw_json_request(request, 16),
        )
        .await
    });
    let Ok(answer) = answer else {
        // Only a transaction submitted with `wait` may take this long (the node in
        // this test finalizes nothing); anything else is a hang.
        prop_assert!(method == "submit_tx", "{method} hung: {request}");
        return Ok(());
    };
    let Ok((response, _subscription)) = answer else {
        // Not a JSON-RPC request at all: jsonrpsee's parser refused the text.
        return Ok(());
    };
    let v: Value = serde_json::from_str(response.get())
        .map_err(|e| TestCaseError::fail(format!("response is not JSON: {e}")))?;
    prop_assert_eq!(&v["jsonrpc"], "2.0");
    let has_result = v.get("result").is_some();
    let error = v.get("error");
    prop_assert!(
        has_result ^ error.is_some(),
        "neither result nor error: {v}"
    );
    if let Some(e) = error {
        let code = e["code"].as_i64().unwrap_or(0);
        prop_assert!(code != -32603, "internal error for {request}: {v}");
        prop_assert!(
            (-32700..=-32600).contains(&code) || (-32099..=-32000).contains(&code),
            "code {code} outside the JSON-RPC ranges: {v}"
        );
        prop_assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    prop_assert!(started.elapsed() < Duration::from_secs(4));
    Ok(())
}

fn request(method: &str, params: &Value, id: u64) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

#[test]
fn fuzz_rpc_params() {
    let node = node();
    let table = valid_params(&node);
    let n = table.len();
    let seeds: Vec<(String, Value)> = table
        .iter()
        .map(|(m, p)| (m.to_string(), p.clone()))
        .collect();
    // Every valid call answers without an internal error first.
    for (m, p) in &seeds {
        call(&node, &request(m, p, 1), m).expect("valid params");
    }
    let strategy = prop_oneof![
        // Valid parameters, structurally mutated.
        6 => (0..n, proptest::collection::vec(fuzz_json::json_mutation(), 1..=3)).prop_map({
            let seeds = seeds.clone();
            move |(i, ops)| {
                let (m, mut p) = seeds[i].clone();
                for op in &ops {
                    fuzz_json::apply_json(&mut p, op);
                }
                (m, request(&seeds[i].0, &p, 7))
            }
        }),
        // Arbitrary parameters for a real method.
        2 => (0..n, fuzz_json::json_value()).prop_map({
            let seeds = seeds.clone();
            move |(i, p)| (seeds[i].0.clone(), request(&seeds[i].0, &p, 8))
        }),
        // The request text itself mutated byte-wise (parse errors, odd ids, methods).
        2 => (0..n, proptest::collection::vec(fuzz::mutation(), 1..=3)).prop_map({
            let seeds = seeds.clone();
            move |(i, ops)| {
                let mut bytes = request(&seeds[i].0, &seeds[i].1, 9).into_bytes();
                let donor = request(&seeds[(i + 1) % seeds.len()].0, &seeds[(i + 1) % seeds.len()].1, 10);
                for op in &ops {
                    fuzz::apply(&mut bytes, donor.as_bytes(), op);
                }
                (seeds[i].0.clone(), String::from_utf8_lossy(&bytes).into_owned())
            }
        }),
    ];
    fuzz::run("rpc_params", 20000, strategy, |(method, text)| {
        call(&node, &text, &method)
    });
}

#[test]
fn unknown_methods_answer_method_not_found() {
    let node = node();
    let (response, _) = node
        .runtime
        .block_on(
            node.module
                .raw_json_request(&request("get_everything", &json!([]), 1), 1),
        )
        .expect("a request");
    let v: Value = serde_json::from_str(response.get()).expect("json");
    assert_eq!(v["error"]["code"], -32601, "{v}");
}

/// Found by `fuzz_rpc_params` (seed 1796177895966191514): the genesis block has no
/// stored certificate, and asking for it answered -32603.
#[test]
fn the_genesis_certificate_is_an_answer_not_an_internal_error() {
    let node = node();
    let (response, _) = node
        .runtime
        .block_on(node.module.raw_json_request(
            &request("get_block_certificate", &json!(["0", null, null]), 7),
            1,
        ))
        .expect("a request");
    let v: Value = serde_json::from_str(response.get()).expect("json");
    assert!(v["error"].is_null(), "{v}");
    assert_eq!(v["result"]["height"], "0", "{v}");
    assert_eq!(v["result"]["signers"], json!([]), "{v}");
}

// -------------------------------------------------------------- state-sync attestations

#[test]
fn fuzz_state_attestation() {
    let node = node();
    let genesis = node.genesis.clone();
    let validators: Vec<Keypair> = (0..4)
        .map(|i| Keypair::for_testing(&format!("fuzz-validator-{i}")))
        .collect();
    let g = genesis.clone();
    let valid = (
        0usize..4,
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
    )
        .prop_map(move |(v, height, b, r)| {
            let key = &validators[v];
            let (block_hash, state_root) = (Hash(b), Hash(r));
            let signature = key.sign(&attestation_message(
                &g.hash(),
                height,
                &block_hash,
                &state_root,
            ));
            codec::encode(&StateAttestation {
                height,
                block_hash,
                state_root,
                validator: key.public(),
                signature,
            })
        });
    fuzz::run(
        "state_attestation",
        5000,
        fuzz::inputs(valid, 300),
        |case| {
            if let Ok(a) = codec::decode::<StateAttestation>(&case.input) {
                prop_assert_eq!(codec::encode(&a), case.input.clone());
                if a.verify(&genesis) {
                    prop_assert!(
                        case.is_unmodified(),
                        "a mutated attestation verifies: {a:?}"
                    );
                }
            }
            Ok(())
        },
    );
}

/// The snapshot block's certificate as a joining node checks it: arbitrary and mutated
/// bytes are refused with an error, never a panic (the valid-certificate properties are
/// in ledger-driver's fuzz_consensus).
#[test]
fn fuzz_snapshot_certificate_check() {
    let node = node();
    let block = node.blocks[2].clone();
    let cert = ledger_consensus::streamlet::Certificate {
        epoch: 3,
        block: block.hash(),
        votes: Vec::new(),
    };
    let valid = Just(codec::encode(&cert));
    fuzz::run(
        "snapshot_certificate",
        5000,
        fuzz::inputs(valid, 300),
        |case| {
            prop_assert!(check_certificate(&node.genesis, &block, &case.input).is_err());
            Ok(())
        },
    );
}
