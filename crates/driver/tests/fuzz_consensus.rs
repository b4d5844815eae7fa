//! Fuzzing of the decoders a node runs on what peers send it (proptest, stable Rust):
//! Streamlet proposals and votes and Nakamoto blocks as gossip delivers them
//! (`ConsensusMessage::decode`), notarization certificates, gossiped transaction
//! batches through mempool admission, and block sync items and batches.
//!
//! Two kinds of input per decoder: arbitrary bytes and mutations of valid encodings
//! (`ledger-types/tests/fuzz/mod.rs`). Invariants: never panics; what decodes
//! re-encodes to the same bytes; a mutated signed object never verifies unless it is
//! one of the valid ones it was made from (a certificate may lose votes and stay
//! valid, but never gains a vote, a block or an epoch nobody signed).
//!
//! Soak: `LEDGER_FUZZ_SECS=60 cargo test --release -p ledger-driver --test fuzz_consensus
//! -- --nocapture --test-threads 1` (see docs/reliability.md, "Fuzzing").

#[path = "../../types/tests/fuzz/mod.rs"]
mod fuzz;
#[path = "../../types/tests/fuzz/gen.rs"]
mod gen;

use fuzz::{inputs, run};
use ledger_consensus::streamlet::{
    signing_bytes, CertVote, Certificate, Message, Proposal, StreamletConfig, Vote, PROPOSAL_TAG,
};
use ledger_consensus::{Channel, ConsensusMessage, Ed25519Verifier, Verifier};
use ledger_driver::{admit_gossip_batch, Mempool, MempoolLimits, SyncBatch, SyncItem, Verdict};
use ledger_engine::Engine;
use ledger_types::{codec, Block, ConsensusHeader, Genesis, Hash, Keypair, SignedTx};
use parking_lot::Mutex;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestCaseError;
use std::sync::OnceLock;

/// Largest gossip message the fuzzed decoders accept (the node's default is larger).
const MAX_MESSAGE: usize = 1 << 20;

struct Chain {
    genesis: Genesis,
    validators: Vec<Keypair>,
    config: StreamletConfig,
}

/// A Streamlet chain of 4 validators whose accounts are the generators' keys.
fn chain() -> &'static Chain {
    static CHAIN: OnceLock<Chain> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let validators: Vec<Keypair> = (0..4)
            .map(|i| Keypair::for_testing(&format!("fuzz-validator-{i}")))
            .collect();
        let accounts: Vec<_> = gen::keys().iter().map(|k| k.public()).collect();
        let vkeys: Vec<_> = validators.iter().map(|k| k.public()).collect();
        let mut genesis = Genesis::for_testing(&accounts, &vkeys);
        genesis.chain_id = "fuzz".into();
        let config = StreamletConfig::from_genesis(&genesis).expect("streamlet config");
        Chain {
            genesis,
            validators,
            config,
        }
    })
}

fn streamlet_block() -> impl Strategy<Value = Block> + Clone {
    (gen::block(), 0usize..4, any::<u64>(), any::<u64>()).prop_map(|(b, v, epoch, time_ms)| {
        let proposer = chain().validators[v].public();
        Block::new(
            b.header.parent,
            b.header.height,
            ConsensusHeader::Streamlet {
                epoch,
                proposer,
                time_ms,
            },
            b.txs,
        )
    })
}

fn proposal() -> impl Strategy<Value = Message> + Clone {
    (streamlet_block(), 0usize..4).prop_map(|(block, _)| {
        let proposer = match block.header.consensus {
            ConsensusHeader::Streamlet { proposer, .. } => proposer,
            ConsensusHeader::Nakamoto { .. } => unreachable!("streamlet header"),
        };
        let key = chain()
            .validators
            .iter()
            .find(|k| k.public() == proposer)
            .expect("a validator");
        Message::Proposal(Proposal::sign(&chain().config.chain, block, key))
    })
}

fn vote() -> impl Strategy<Value = Message> + Clone {
    (0usize..4, any::<u64>(), any::<[u8; 32]>()).prop_map(|(v, epoch, block)| {
        Message::Vote(Vote::sign(
            &chain().config.chain,
            epoch,
            Hash(block),
            &chain().validators[v],
        ))
    })
}

/// True if a decoded Streamlet message carries only signatures that keys made: a vote
/// or proposal signature that verifies, over a block whose transactions match its root
/// and all verify.
fn fully_signed(m: &Message) -> bool {
    let chain = &chain().config.chain;
    match m {
        Message::Vote(v) => v.verify(chain, &Ed25519Verifier),
        Message::Proposal(p) => {
            let Some(epoch) = p.epoch() else { return false };
            let ConsensusHeader::Streamlet { proposer, .. } = p.block.header.consensus else {
                return false;
            };
            Ed25519Verifier.verify(
                &proposer,
                &signing_bytes(PROPOSAL_TAG, chain, epoch, &p.block.hash()),
                &p.signature,
            ) && p.block.tx_root_matches()
                && p.block.txs.iter().all(|t| t.verify().is_ok())
        }
    }
}

#[test]
fn fuzz_streamlet_message() {
    let valid = prop_oneof![proposal(), vote()].prop_map(|m| codec::encode(&m));
    run("streamlet_message", 2000, inputs(valid, 600), |case| {
        match ConsensusMessage::decode(Channel::Consensus, &case.input, MAX_MESSAGE) {
            Some(ConsensusMessage::Streamlet(m)) => {
                prop_assert_eq!(codec::encode(&m), case.input.clone());
                if fully_signed(&m) {
                    prop_assert!(case.is_unmodified(), "a mutated message verifies: {m:?}");
                }
            }
            Some(other) => return Err(TestCaseError::fail(format!("wrong channel: {other:?}"))),
            None => {}
        }
        Ok(())
    });
}

#[test]
fn fuzz_nakamoto_block() {
    let valid = gen::block().prop_map(|b| codec::encode(&b));
    run("nakamoto_block", 1500, inputs(valid, 600), |case| {
        match ConsensusMessage::decode(Channel::Blocks, &case.input, MAX_MESSAGE) {
            Some(ConsensusMessage::Block(b)) => {
                prop_assert_eq!(codec::encode(&b), case.input.clone());
                // Every transaction that verifies is one a key signed.
                let mut signed = std::collections::BTreeSet::new();
                for enc in [&case.original, &case.donor] {
                    if let Ok(src) = codec::decode::<Block>(enc) {
                        signed.extend(src.txs.iter().map(codec::encode));
                    }
                }
                for t in &b.txs {
                    if t.verify().is_ok() {
                        prop_assert!(signed.contains(&codec::encode(t)));
                    }
                }
            }
            Some(other) => return Err(TestCaseError::fail(format!("wrong channel: {other:?}"))),
            None => {}
        }
        // A bound below the input's length is always refused.
        if !case.input.is_empty() {
            prop_assert!(ConsensusMessage::decode(
                Channel::Blocks,
                &case.input,
                case.input.len() - 1
            )
            .is_none());
        }
        Ok(())
    });
}

/// A valid certificate: a quorum (3) or all 4 validators' votes for a block.
fn certificate() -> impl Strategy<Value = Certificate> + Clone {
    (any::<u64>(), any::<[u8; 32]>(), any::<bool>(), 0usize..4).prop_map(
        |(epoch, block, all, skip)| {
            let c = chain();
            let votes = (0..4u32)
                .filter(|i| all || *i as usize != skip)
                .map(|i| CertVote {
                    validator: i,
                    signature: Vote::sign(
                        &c.config.chain,
                        epoch,
                        Hash(block),
                        &c.validators[i as usize],
                    )
                    .signature,
                })
                .collect();
            Certificate {
                epoch,
                block: Hash(block),
                votes,
            }
        },
    )
}

#[test]
fn fuzz_certificate() {
    let valid = certificate().prop_map(|c| codec::encode(&c));
    run("certificate", 1500, inputs(valid, 400), |case| {
        let Ok(cert) = codec::decode::<Certificate>(&case.input) else {
            return Ok(());
        };
        prop_assert_eq!(codec::encode(&cert), case.input.clone());
        let c = chain();
        if c.config
            .validators
            .verify_certificate(&cert, &c.config.chain, &Ed25519Verifier)
            .is_ok()
        {
            // Valid only as a subset of the votes of a certificate a quorum signed.
            let sources: Vec<Certificate> = [&case.original, &case.donor]
                .iter()
                .filter_map(|b| codec::decode::<Certificate>(b).ok())
                .collect();
            prop_assert!(
                sources.iter().any(|s| s.epoch == cert.epoch
                    && s.block == cert.block
                    && cert.votes.iter().all(|v| s.votes.contains(v))),
                "a forged certificate verifies: {cert:?}"
            );
        }
        Ok(())
    });
}

fn sync_item() -> impl Strategy<Value = SyncItem> + Clone {
    (streamlet_block(), proptest::option::of(certificate()))
        .prop_map(|(b, c)| SyncItem::new(b, c.as_ref()))
}

#[test]
fn fuzz_sync_item_and_batch() {
    let valid = sync_item().prop_map(|i| codec::encode(&i));
    run(
        "sync_item",
        1500,
        (
            inputs(valid, 600),
            proptest::collection::vec(sync_item(), 0..3),
        ),
        |(case, others)| {
            if let Ok(item) = codec::decode::<SyncItem>(&case.input) {
                prop_assert_eq!(codec::encode(&item), case.input.clone());
                let _ = item.decode_certificate();
            }
            // In a batch: items that do not decode end it, the ones before it stay.
            let mut items: Vec<Vec<u8>> = others.iter().map(codec::encode).collect();
            let good = items.len();
            items.push(case.input.clone());
            items.extend(others.iter().map(codec::encode));
            let batch = SyncBatch::decode(7, 1, &items, MAX_MESSAGE);
            prop_assert!(batch.items.len() >= good);
            prop_assert_eq!(&batch.items[..good], &others[..]);
            for (item, bytes) in batch.items.iter().zip(&items) {
                prop_assert_eq!(&codec::encode(item), bytes);
            }
            Ok(())
        },
    );
}

/// Gossiped transaction batches through the admission every node runs before relaying:
/// a malformed or forged batch is rejected and admits nothing; what is admitted is a
/// transaction a key signed.
#[test]
fn fuzz_gossip_batch_admission() {
    let c = chain();
    let engine = Engine::from_genesis(&c.genesis).expect("engine");
    // Signed transactions valid on this chain, so that some mutations are admitted.
    let valid_tx = (0usize..4, gen::payload(), 0u64..3).prop_map(|(k, payload, nonce)| {
        let key = &gen::keys()[k];
        ledger_types::Tx::new("fuzz", key.public(), nonce, payload).sign(key)
    });
    let valid = proptest::collection::vec(valid_tx, 1..=4).prop_map(|v| codec::encode(&v));
    run("gossip_batch_admission", 1500, inputs(valid, 600), |case| {
        let pool = Mutex::new(Mempool::new(
            MempoolLimits::default(),
            c.genesis.chain_id.clone(),
            c.genesis.limits.max_tx_bytes as usize,
        ));
        let result = admit_gossip_batch(&pool, &engine, &case.input);
        let decoded = codec::decode::<Vec<SignedTx>>(&case.input);
        if decoded.is_err() {
            prop_assert_eq!(result.verdict, Verdict::Reject);
        }
        if !result.admitted.is_empty() {
            let mut signed = std::collections::BTreeSet::new();
            for enc in [&case.original, &case.donor] {
                if let Ok(src) = codec::decode::<Vec<SignedTx>>(enc) {
                    signed.extend(src.iter().map(codec::encode));
                }
            }
            let txs = decoded.map_err(|e| TestCaseError::fail(e.to_string()))?;
            for h in &result.admitted {
                let t = txs
                    .iter()
                    .find(|t| t.hash() == *h)
                    .expect("admitted from the batch");
                prop_assert!(signed.contains(&codec::encode(t)), "forged tx admitted");
            }
            prop_assert_eq!(pool.lock().len(), result.admitted.len());
        } else {
            prop_assert_eq!(pool.lock().len(), 0);
        }
        Ok(())
    });
}

/// The generators make valid, verifying encodings, so the properties above test what
/// they claim to.
#[test]
fn generators_make_valid_encodings() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..20 {
        let m = prop_oneof![proposal(), vote()]
            .new_tree(&mut runner)
            .expect("value")
            .current();
        let bytes = codec::encode(&m);
        let back = ConsensusMessage::decode(Channel::Consensus, &bytes, MAX_MESSAGE);
        assert!(matches!(back, Some(ConsensusMessage::Streamlet(ref d)) if *d == m));
        assert!(fully_signed(&m));
        let cert = certificate()
            .new_tree(&mut runner)
            .expect("value")
            .current();
        let c = chain();
        c.config
            .validators
            .verify_certificate(&cert, &c.config.chain, &Ed25519Verifier)
            .expect("generated certificates verify");
    }
}
