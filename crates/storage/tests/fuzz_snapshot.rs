//! Fuzzing of the state-sync snapshot decoders (proptest, stable Rust): manifests as a
//! peer serves them, chunks (every part kind) through `assemble` as a joining node
//! runs it, and snapshot files as `ledger-node snapshot import` reads them.
//!
//! Inputs: arbitrary bytes and mutations of a real snapshot (a 30-block chain with
//! resting orders). A hostile peer controls both the manifest and the chunks, but not
//! the attested state root: each mutated chunk comes with a manifest listing its hash,
//! so the mutation reaches the chunk decoder and the state checks behind it.
//! Invariants: never panics; what decodes re-encodes to the same bytes; `assemble`
//! accepts mutated chunks only if they rebuild the very state that was attested, with
//! the same order history.
//!
//! Soak: `LEDGER_FUZZ_SECS=60 cargo test --release -p ledger-storage --test fuzz_snapshot
//! -- --nocapture --test-threads 1` (see docs/reliability.md, "Fuzzing").

#[path = "../../types/tests/fuzz/mod.rs"]
mod fuzz;

use fuzz::{inputs, run};
use ledger_storage::snapshot::{assemble, decode_manifest, Snapshot, SnapshotPart};
use ledger_storage::{testkit, ChainStore, Executor, MemStore};
use ledger_types::{codec, Genesis, Hash};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::sync::OnceLock;

struct Fixture {
    genesis: Genesis,
    snapshot: Snapshot,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let (genesis, keys) = testkit::genesis(12);
        let blocks = testkit::chain(&genesis, &keys, 11, 12, 30);
        let store = ChainStore::new(MemStore::new(), Default::default());
        let mut exec = Executor::open(store, Some(&genesis)).expect("executor");
        for b in blocks {
            let cert = testkit::certificate(b.height());
            exec.finalize(b, &cert).expect("finalize");
        }
        let snapshot = Snapshot::build(&exec).expect("snapshot");
        assert!(snapshot.chunks.len() >= 3, "a header and state chunks");
        Fixture { genesis, snapshot }
    })
}

#[test]
fn fuzz_manifest() {
    let valid = (any::<[u8; 32]>(), 1usize..6, any::<u64>()).prop_map(|(h, n, height)| {
        let mut m = fixture().snapshot.manifest.clone();
        m.height = height;
        m.block_hash = Hash(h);
        m.chunk_hashes.truncate(n);
        codec::encode(&m)
    });
    run("snapshot_manifest", 4000, inputs(valid, 400), |case| {
        if let Ok(m) = decode_manifest(&case.input) {
            prop_assert_eq!(codec::encode(&m), case.input.clone());
        }
        Ok(())
    });
}

/// One chunk of the real snapshot, mutated, with a manifest that lists the new hashes
/// (what a hostile peer can serve); or a chunk replaced with arbitrary bytes.
#[test]
fn fuzz_chunks_through_assemble() {
    let f = fixture();
    let n = f.snapshot.chunks.len();
    let original = assemble(&f.genesis, &f.snapshot.manifest, &f.snapshot.chunks)
        .expect("the real snapshot assembles");
    let state = original.1.export_state();
    let summaries = original.0.summaries.clone();
    run(
        "snapshot_chunks",
        1000,
        (0..n).prop_flat_map(move |i| {
            let chunk = fixture().snapshot.chunks[i].clone();
            (Just(i), inputs(Just(chunk), 400))
        }),
        |(i, case)| {
            let mut chunks = f.snapshot.chunks.clone();
            chunks[i] = case.input.clone();
            if let Ok(part) = codec::decode::<SnapshotPart>(&case.input) {
                prop_assert_eq!(codec::encode(&part), case.input.clone());
            }
            let mut manifest = f.snapshot.manifest.clone();
            manifest.chunk_hashes[i] = Hash::digest(&case.input);
            if let Ok((content, engine)) = assemble(&f.genesis, &manifest, &chunks) {
                prop_assert_eq!(engine.state_root(), f.snapshot.manifest.state_root);
                prop_assert_eq!(engine.export_state(), state.clone());
                // The history fields no state root or attestation covers (fees paid,
                // queue position, GTC versus post-only, heights within their bounds) are the serving peer's
                // word (see docs/reliability.md, "Fuzzing"); every other field must be
                // the attested order's.
                let covered = |v: &[ledger_storage::OrderSummary]| {
                    v.iter()
                        .map(|s| {
                            let mut s = s.clone();
                            s.fees = 0;
                            // GTC or post-only: a resting order does not record which.
                            s.time_in_force = ledger_types::TimeInForce::Gtc;
                            s.position = 0;
                            s.height = 0;
                            s.updated_height = 0;
                            s
                        })
                        .collect::<Vec<_>>()
                };
                prop_assert_eq!(
                    covered(&content.summaries),
                    covered(&summaries),
                    "forged order history accepted"
                );
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_snapshot_file() {
    let file = fixture().snapshot.to_file_bytes();
    run("snapshot_file", 600, inputs(Just(file), 400), |case| {
        match Snapshot::from_file_bytes(&case.input) {
            Ok(s) => {
                prop_assert_eq!(s.to_file_bytes(), case.input.clone());
                let _ = assemble(&fixture().genesis, &s.manifest, &s.chunks);
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
        Ok::<(), TestCaseError>(())
    });
}

/// Regression (found by `fuzz_chunks_through_assemble`, seed 1796112843124104996): a
/// summaries chunk edited by a serving peer was accepted as long as the fields checked
/// against the resting order held. Now an order summary must also say what a resting
/// order can be (a limit order, `GTC` or post-only, updated at or after it was placed,
/// both at or below the snapshot height). The edited `fees` of that first finding
/// remains the peer's word: nothing attested covers it (docs/reliability.md).
#[test]
fn forged_summary_kind_tif_and_heights_are_refused() {
    let f = fixture();
    let i = f
        .snapshot
        .chunks
        .iter()
        .position(|c| {
            matches!(
                codec::decode::<SnapshotPart>(c),
                Ok(SnapshotPart::Summaries(_))
            )
        })
        .expect("a summaries chunk");
    type Edit = fn(&mut ledger_storage::OrderSummary, u64);
    let edits: [(&str, Edit); 4] = [
        ("market kind", |s, _| {
            s.kind = ledger_types::OrderKind::Market
        }),
        ("IOC", |s, _| {
            s.time_in_force = ledger_types::TimeInForce::Ioc
        }),
        ("updated above the snapshot", |s, h| {
            s.updated_height = h + 1
        }),
        ("updated before placed", |s, _| {
            s.height = s.updated_height + 1;
        }),
    ];
    for (what, edit) in edits {
        let Ok(SnapshotPart::Summaries(mut v)) = codec::decode(&f.snapshot.chunks[i]) else {
            unreachable!("checked above")
        };
        edit(&mut v[0], f.snapshot.manifest.height);
        let mut chunks = f.snapshot.chunks.clone();
        chunks[i] = codec::encode(&SnapshotPart::Summaries(v));
        let mut manifest = f.snapshot.manifest.clone();
        manifest.chunk_hashes[i] = Hash::digest(&chunks[i]);
        let err = assemble(&f.genesis, &manifest, &chunks).err();
        assert!(
            err.as_ref()
                .is_some_and(|e| e.to_string().contains("contradicts")),
            "{what}: {err:?}"
        );
    }
}

/// Regression (found by `fuzz_chunks_through_assemble` in the soak, seed
/// 18363181070507518582): the header chunk's engine counters with `height` 11 instead of
/// 12 were accepted (the state root does not cover the height), so the joined engine
/// believed it was one block behind. Now refused.
#[test]
fn header_counters_at_another_height_are_refused() {
    let f = fixture();
    let Ok(SnapshotPart::Header {
        block,
        certificate,
        mut counters,
    }) = codec::decode(&f.snapshot.chunks[0])
    else {
        panic!("the first chunk is the header")
    };
    counters.height -= 1;
    let mut chunks = f.snapshot.chunks.clone();
    chunks[0] = codec::encode(&SnapshotPart::Header {
        block,
        certificate,
        counters,
    });
    let mut manifest = f.snapshot.manifest.clone();
    manifest.chunk_hashes[0] = Hash::digest(&chunks[0]);
    let err = assemble(&f.genesis, &manifest, &chunks).err();
    assert!(
        err.as_ref()
            .is_some_and(|e| e.to_string().contains("engine counters")),
        "{err:?}"
    );
}
