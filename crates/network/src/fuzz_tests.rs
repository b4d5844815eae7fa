//! Fuzzing of the network's framed request-response codecs (block sync and state-sync
//! snapshots) on stable Rust with proptest: the exact `libp2p::request_response::Codec`
//! implementations a peer's bytes reach, fed arbitrary streams and mutations of valid
//! frames (length prefix edits included). Invariants: never panics; a frame longer than
//! its bound is refused before its body is allocated; what is read re-encodes to the
//! frame it was read from.
//!
//! Soak: `LEDGER_FUZZ_SECS=60 cargo test --release -p ledger-network --lib fuzz_tests
//! -- --nocapture --test-threads 1` (see docs/reliability.md, "Fuzzing").

#[path = "../../types/tests/fuzz/mod.rs"]
mod fuzz;

use crate::config::MAX_SYNC_REQUEST_BYTES;
use crate::protocol::{SyncCodec, SyncRequest, SyncResponse};
use crate::snapshot::{
    SnapshotCodec, SnapshotRequest, SnapshotResponse, MAX_SNAPSHOT_REQUEST_BYTES,
};
use futures::executor::block_on;
use libp2p::request_response::Codec;
use libp2p::StreamProtocol;
use proptest::prelude::*;

/// Response bound of the fuzzed codecs (small, so the length edits cross it often).
const MAX_RESPONSE: usize = 4096;

fn frame(body: Vec<u8>) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// The frame a successful read consumed: the 4-byte length and the body.
fn consumed(input: &[u8]) -> &[u8] {
    let len = u32::from_be_bytes([input[0], input[1], input[2], input[3]]) as usize;
    &input[..4 + len]
}

fn sync_request() -> impl Strategy<Value = Vec<u8>> + Clone {
    (any::<u64>(), any::<u64>()).prop_map(|(from_height, to_height)| {
        frame(ledger_types::codec::encode(&SyncRequest {
            from_height,
            to_height,
        }))
    })
}

fn sync_response() -> impl Strategy<Value = Vec<u8>> + Clone {
    (
        any::<u64>(),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..8),
    )
        .prop_map(|(final_height, items)| {
            frame(ledger_types::codec::encode(&SyncResponse {
                final_height,
                time_ms: 0,
                items,
            }))
        })
}

fn snapshot_request() -> impl Strategy<Value = Vec<u8>> + Clone {
    prop_oneof![
        Just(SnapshotRequest::Manifest),
        (any::<u64>(), any::<u32>())
            .prop_map(|(height, index)| SnapshotRequest::Chunk { height, index }),
        any::<u64>().prop_map(|height| SnapshotRequest::Attestation { height }),
    ]
    .prop_map(|r| frame(ledger_types::codec::encode(&r)))
}

fn snapshot_response() -> impl Strategy<Value = Vec<u8>> + Clone {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..1000).prop_map(SnapshotResponse::Data),
        ".{0,40}".prop_map(SnapshotResponse::Unavailable),
    ]
    .prop_map(|r| frame(ledger_types::codec::encode(&r)))
}

#[test]
fn fuzz_sync_codec() {
    let proto = StreamProtocol::new("/ledger/fuzz/sync/1");
    let valid = prop_oneof![sync_request(), sync_response()];
    fuzz::run("sync_codec", 6000, fuzz::inputs(valid, 300), |case| {
        let mut c = SyncCodec {
            max_response_bytes: MAX_RESPONSE,
        };
        if let Ok(req) = block_on(c.read_request(&proto, &mut case.input.as_slice())) {
            let mut out = Vec::new();
            block_on(c.write_request(&proto, &mut out, req))
                .map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(out.as_slice(), consumed(&case.input));
            prop_assert!(out.len() <= 4 + MAX_SYNC_REQUEST_BYTES);
        }
        if let Ok(res) = block_on(c.read_response(&proto, &mut case.input.as_slice())) {
            let mut out = Vec::new();
            block_on(c.write_response(&proto, &mut out, res.clone()))
                .map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(out.as_slice(), consumed(&case.input));
            prop_assert!(out.len() <= 4 + MAX_RESPONSE);
            prop_assert_eq!(res.encoded_len() + 4, out.len());
        }
        Ok(())
    });
}

#[test]
fn fuzz_snapshot_codec() {
    let proto = StreamProtocol::new("/ledger/fuzz/snapshot/1");
    let valid = prop_oneof![snapshot_request(), snapshot_response()];
    fuzz::run("snapshot_codec", 6000, fuzz::inputs(valid, 300), |case| {
        let mut c = SnapshotCodec {
            max_response_bytes: MAX_RESPONSE,
        };
        if let Ok(req) = block_on(c.read_request(&proto, &mut case.input.as_slice())) {
            let mut out = Vec::new();
            block_on(c.write_request(&proto, &mut out, req))
                .map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(out.as_slice(), consumed(&case.input));
            prop_assert!(out.len() <= 4 + MAX_SNAPSHOT_REQUEST_BYTES);
        }
        if let Ok(res) = block_on(c.read_response(&proto, &mut case.input.as_slice())) {
            let mut out = Vec::new();
            block_on(c.write_response(&proto, &mut out, res))
                .map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(out.as_slice(), consumed(&case.input));
        }
        Ok(())
    });
}

/// Regression guard: a frame header claiming 4 GiB is refused before anything is
/// allocated, on every reader (the mutation engine's `SetU32` edit, fixed here).
#[test]
fn huge_frame_headers_are_refused() {
    let proto = StreamProtocol::new("/ledger/fuzz/sync/1");
    for len in [u32::MAX, MAX_RESPONSE as u32 + 1, 1 << 31] {
        let mut input = len.to_be_bytes().to_vec();
        input.extend_from_slice(&[0; 16]);
        let mut s = SyncCodec {
            max_response_bytes: MAX_RESPONSE,
        };
        let mut n = SnapshotCodec {
            max_response_bytes: MAX_RESPONSE,
        };
        assert!(block_on(s.read_request(&proto, &mut input.as_slice())).is_err());
        assert!(block_on(s.read_response(&proto, &mut input.as_slice())).is_err());
        assert!(block_on(n.read_request(&proto, &mut input.as_slice())).is_err());
        assert!(block_on(n.read_response(&proto, &mut input.as_slice())).is_err());
    }
}
