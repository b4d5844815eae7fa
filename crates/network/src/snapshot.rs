//! State sync over request-response `/ledger/<chain_id>/snapshot/1`.
//!
//! A joining node asks peers for the **manifest** of the newest snapshot they offer,
//! for **chunks** of it, and for **attestations**: a validator's signature over its
//! state root at a height. The payloads are opaque bytes here (the node service encodes
//! and checks them); this module carries them with bounded, length-prefixed frames like
//! block sync. Inbound requests reach the service through
//! [`crate::NetworkHandle::take_snapshot_requests`]; a request nobody answers is refused
//! by closing its stream.

use std::io;

use async_trait::async_trait;
use bincode::{Decode, Encode};
use futures::{AsyncRead, AsyncWrite};
use libp2p::request_response::ResponseChannel;
use libp2p::{PeerId, StreamProtocol};
use tokio::sync::{mpsc, oneshot};

use crate::error::{NetworkError, SyncError};

/// Inbound snapshot requests queued for the service before further ones are refused.
pub const INBOUND_QUEUE: usize = 64;
/// Largest encoded snapshot request.
pub const MAX_SNAPSHOT_REQUEST_BYTES: usize = 64;

/// The snapshot protocol name for a chain: `/ledger/<chain_id>/snapshot/1`.
pub fn snapshot_protocol_name(chain_id: &str) -> String {
    format!("/ledger/{chain_id}/snapshot/1")
}

/// What a peer is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum SnapshotRequest {
    /// The manifest of the newest snapshot the peer offers.
    Manifest,
    /// Chunk `index` of the peer's snapshot at `height`.
    Chunk {
        /// Final height of the snapshot.
        height: u64,
        /// Chunk index.
        index: u32,
    },
    /// The peer's signed state root at a final height (validators only).
    Attestation {
        /// The final height.
        height: u64,
    },
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum SnapshotResponse {
    /// The encoded manifest, chunk or attestation.
    Data(Vec<u8>),
    /// The peer cannot serve it (no snapshot at that height, not a validator, ...).
    Unavailable(String),
}

/// A snapshot request from a peer, to answer through [`InboundSnapshotRequest::respond`].
#[derive(Debug)]
pub struct InboundSnapshotRequest {
    /// The requesting peer.
    pub peer: PeerId,
    /// What it asks for.
    pub request: SnapshotRequest,
    pub(crate) channel: ResponseChannel<SnapshotResponse>,
    pub(crate) commands: mpsc::WeakUnboundedSender<crate::network::Command>,
}

impl InboundSnapshotRequest {
    /// Sends the answer (bigger than the response bound: the requester sees an error).
    pub fn respond(self, response: SnapshotResponse) -> Result<(), NetworkError> {
        let commands = self.commands.upgrade().ok_or(NetworkError::Stopped)?;
        commands
            .send(crate::network::Command::SnapshotRespond {
                channel: self.channel,
                response,
            })
            .map_err(|_| NetworkError::Stopped)
    }
}

pub(crate) struct PendingSnapshotRequest {
    pub reply: oneshot::Sender<Result<SnapshotResponse, SyncError>>,
}

/// Length-prefixed canonical bincode frames with hard bounds (as block sync).
#[derive(Debug, Clone)]
pub(crate) struct SnapshotCodec {
    pub max_response_bytes: usize,
}

#[async_trait]
impl libp2p::request_response::Codec for SnapshotCodec {
    type Protocol = StreamProtocol;
    type Request = SnapshotRequest;
    type Response = SnapshotResponse;

    async fn read_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<SnapshotRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        let body = crate::protocol::read_frame(io, MAX_SNAPSHOT_REQUEST_BYTES).await?;
        crate::protocol::decode_body(&body, MAX_SNAPSHOT_REQUEST_BYTES)
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<SnapshotResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        let body = crate::protocol::read_frame(io, self.max_response_bytes).await?;
        crate::protocol::decode_body(&body, self.max_response_bytes)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: SnapshotRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        crate::protocol::write_frame(
            io,
            &ledger_types::codec::encode(&req),
            MAX_SNAPSHOT_REQUEST_BYTES,
        )
        .await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: SnapshotResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        crate::protocol::write_frame(
            io,
            &ledger_types::codec::encode(&res),
            self.max_response_bytes,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use libp2p::request_response::Codec;

    #[test]
    fn frames_round_trip_and_are_bounded() {
        let proto = StreamProtocol::new("/ledger/test/snapshot/1");
        let mut c = SnapshotCodec {
            max_response_bytes: 100,
        };
        for req in [
            SnapshotRequest::Manifest,
            SnapshotRequest::Chunk {
                height: 7,
                index: 3,
            },
            SnapshotRequest::Attestation { height: u64::MAX },
        ] {
            let mut buf = Vec::new();
            block_on(c.write_request(&proto, &mut buf, req)).unwrap();
            assert_eq!(
                block_on(c.read_request(&proto, &mut buf.as_slice())).unwrap(),
                req
            );
        }
        let mut buf = Vec::new();
        let resp = SnapshotResponse::Data(vec![1; 50]);
        block_on(c.write_response(&proto, &mut buf, resp.clone())).unwrap();
        assert_eq!(
            block_on(c.read_response(&proto, &mut buf.as_slice())).unwrap(),
            resp
        );
        let mut buf = Vec::new();
        assert!(
            block_on(c.write_response(&proto, &mut buf, SnapshotResponse::Data(vec![0; 200])))
                .is_err()
        );
        // A garbage body is an error, never a panic.
        let mut frame = 3u32.to_be_bytes().to_vec();
        frame.extend_from_slice(&[9, 9, 9]);
        assert!(block_on(c.read_response(&proto, &mut frame.as_slice())).is_err());
    }
}
