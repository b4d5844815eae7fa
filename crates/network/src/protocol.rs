//! Wire names and formats: gossip topics, the message id, and the block sync protocol
//! (`/ledger/<chain_id>/sync/1`) with its bounded length-prefixed codec.

use std::fmt;
use std::io;

use async_trait::async_trait;
use bincode::{Decode, Encode};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use serde::{Deserialize, Serialize};

use ledger_types::codec;

/// The three gossip topics. On the wire each is `/ledger/<chain_id>/<name>/1`
/// (see [`Topic::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Signed transactions (`/ledger/<chain_id>/txs/1`).
    Transactions,
    /// Consensus messages: proposals, votes (`/ledger/<chain_id>/consensus/1`).
    Consensus,
    /// Blocks (`/ledger/<chain_id>/blocks/1`).
    Blocks,
}

impl Topic {
    /// Every topic; the node subscribes to all of them.
    pub const ALL: [Topic; 3] = [Topic::Transactions, Topic::Consensus, Topic::Blocks];

    /// The short name inside the topic string.
    pub fn short_name(self) -> &'static str {
        match self {
            Topic::Transactions => "txs",
            Topic::Consensus => "consensus",
            Topic::Blocks => "blocks",
        }
    }

    /// The gossipsub topic string for a chain, e.g. `/ledger/ledger-dev/txs/1`.
    pub fn name(self, chain_id: &str) -> String {
        format!("/ledger/{chain_id}/{}/1", self.short_name())
    }

    /// The gossipsub topic of this kind for a chain.
    pub(crate) fn ident(self, chain_id: &str) -> libp2p::gossipsub::IdentTopic {
        libp2p::gossipsub::IdentTopic::new(self.name(chain_id))
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

/// The sync protocol name for a chain: `/ledger/<chain_id>/sync/1`.
pub fn sync_protocol_name(chain_id: &str) -> String {
    format!("/ledger/{chain_id}/sync/1")
}

/// A gossip message id: SHA-256 of the payload, so the same bytes published by two nodes
/// (or re-sent) are one message and duplicates are dropped. Lowercase hex in `Display`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub [u8; 32]);

impl MessageId {
    /// The id of a payload.
    pub fn of(data: &[u8]) -> MessageId {
        MessageId(ledger_types::Hash::digest(data).0)
    }

    pub(crate) fn to_gossipsub(self) -> libp2p::gossipsub::MessageId {
        libp2p::gossipsub::MessageId::new(&self.0)
    }

    pub(crate) fn from_gossipsub(id: &libp2p::gossipsub::MessageId) -> Option<MessageId> {
        <[u8; 32]>::try_from(id.0.as_slice()).ok().map(MessageId)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({self})")
    }
}

/// Asks a peer for its final blocks `from_height..=to_height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct SyncRequest {
    /// First height wanted.
    pub from_height: u64,
    /// Last height wanted (inclusive).
    pub to_height: u64,
}

impl SyncRequest {
    /// Number of heights in the range (0 if `from_height > to_height`).
    pub fn count(&self) -> u64 {
        if self.from_height > self.to_height {
            0
        } else {
            (self.to_height - self.from_height).saturating_add(1)
        }
    }
}

/// The answer to a [`SyncRequest`]: consecutive final blocks starting at `from_height`,
/// each encoded by the caller (block with its certificate), and the responder's final
/// height. Fewer items than asked (down to none) means the responder has no more, or
/// the response hit its size bound: ask again from the next height.
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode)]
pub struct SyncResponse {
    /// The responder's highest final height.
    pub final_height: u64,
    /// The responder's clock when it answered, milliseconds since the Unix epoch (the
    /// requester estimates its own clock offset from it).
    pub time_ms: u64,
    /// Opaque encoded items, in height order from `from_height`.
    pub items: Vec<Vec<u8>>,
}

impl SyncResponse {
    /// Bytes of the canonical encoding (what goes on the wire after a 4-byte length).
    pub fn encoded_len(&self) -> usize {
        // u64 final height + u64 time + u64 item count + per item u64 length + bytes.
        24 + self.items.iter().map(|i| 8 + i.len()).sum::<usize>()
    }

    /// Drops trailing items so that at most `max_items` remain and the encoding fits in
    /// `max_bytes`. Returns how many items were dropped.
    pub(crate) fn trim(&mut self, max_items: u64, max_bytes: usize) -> usize {
        let before = self.items.len();
        let max_items = usize::try_from(max_items).unwrap_or(usize::MAX);
        self.items.truncate(max_items);
        let mut len = 16usize;
        let mut keep = 0;
        for item in &self.items {
            let next = len.saturating_add(8).saturating_add(item.len());
            if next > max_bytes {
                break;
            }
            len = next;
            keep += 1;
        }
        self.items.truncate(keep);
        before - self.items.len()
    }
}

/// Length-prefixed canonical bincode frames with hard size bounds, for
/// `libp2p::request_response`. A frame larger than the bound, a short read or an
/// undecodable body is an `io::ErrorKind::InvalidData` error, never a panic.
#[derive(Debug, Clone)]
pub(crate) struct SyncCodec {
    /// Bound on an encoded response (requests are bounded by a constant).
    pub max_response_bytes: usize,
}

pub(crate) async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    max: usize,
) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds the limit of {max} bytes"),
        ));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

pub(crate) async fn write_frame<T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    body: &[u8],
    max: usize,
) -> io::Result<()> {
    if body.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "frame of {} bytes exceeds the limit of {max} bytes",
                body.len()
            ),
        ));
    }
    let len = u32::try_from(body.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(body).await?;
    io.flush().await
}

pub(crate) fn decode_body<V: Decode<()>>(body: &[u8], max: usize) -> io::Result<V> {
    codec::decode_bounded(body, max).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[async_trait]
impl libp2p::request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = SyncRequest;
    type Response = SyncResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        let body = read_frame(io, crate::config::MAX_SYNC_REQUEST_BYTES).await?;
        decode_body(&body, crate::config::MAX_SYNC_REQUEST_BYTES)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        let body = read_frame(io, self.max_response_bytes).await?;
        decode_body(&body, self.max_response_bytes)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: SyncRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(
            io,
            &codec::encode(&req),
            crate::config::MAX_SYNC_REQUEST_BYTES,
        )
        .await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: SyncResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &codec::encode(&res), self.max_response_bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use libp2p::request_response::Codec;

    fn proto() -> StreamProtocol {
        StreamProtocol::new("/ledger/test/sync/1")
    }

    #[test]
    fn topic_and_protocol_names() {
        assert_eq!(Topic::Transactions.name("c1"), "/ledger/c1/txs/1");
        assert_eq!(Topic::Consensus.name("c1"), "/ledger/c1/consensus/1");
        assert_eq!(Topic::Blocks.name("c1"), "/ledger/c1/blocks/1");
        assert_eq!(sync_protocol_name("c1"), "/ledger/c1/sync/1");
    }

    #[test]
    fn encoded_len_matches_codec() {
        let r = SyncResponse {
            time_ms: 1,
            final_height: 9,
            items: vec![vec![1; 10], vec![], vec![2; 300]],
        };
        assert_eq!(r.encoded_len(), codec::encode(&r).len());
    }

    #[test]
    fn trim_respects_count_and_bytes() {
        let mut r = SyncResponse {
            time_ms: 1,
            final_height: 9,
            items: vec![vec![0; 100]; 10],
        };
        assert_eq!(r.trim(8, usize::MAX), 2);
        assert_eq!(r.items.len(), 8);
        assert_eq!(r.trim(100, 24 + 3 * 108), 5);
        assert_eq!(r.items.len(), 3);
        assert!(r.encoded_len() <= 24 + 3 * 108);
    }

    #[test]
    fn roundtrip_and_bounds() {
        let mut c = SyncCodec {
            max_response_bytes: 1024,
        };
        let resp = SyncResponse {
            time_ms: 1,
            final_height: 42,
            items: vec![b"a".to_vec(), b"bc".to_vec()],
        };
        let mut buf = Vec::new();
        block_on(c.write_response(&proto(), &mut buf, resp.clone())).unwrap();
        let back = block_on(c.read_response(&proto(), &mut buf.as_slice())).unwrap();
        assert_eq!(back, resp);

        let req = SyncRequest {
            from_height: 1,
            to_height: 5,
        };
        let mut buf = Vec::new();
        block_on(c.write_request(&proto(), &mut buf, req)).unwrap();
        assert_eq!(
            block_on(c.read_request(&proto(), &mut buf.as_slice())).unwrap(),
            req
        );

        // Oversized frame header: refused before allocating.
        let mut big = (u32::MAX).to_be_bytes().to_vec();
        big.extend_from_slice(&[0; 8]);
        let err = block_on(c.read_response(&proto(), &mut big.as_slice())).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);

        // Garbage body: an item count claiming far more than the frame holds.
        let mut body = 7u64.to_le_bytes().to_vec();
        body.extend_from_slice(&u64::MAX.to_le_bytes());
        let mut frame = (body.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        let err = block_on(c.read_response(&proto(), &mut frame.as_slice())).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);

        // Truncated frame.
        let err =
            block_on(c.read_response(&proto(), &mut [0u8, 0, 0, 9, 1].as_slice())).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);

        // Writing more than the bound is refused.
        let huge = SyncResponse {
            time_ms: 1,
            final_height: 1,
            items: vec![vec![0; 2000]],
        };
        let mut buf = Vec::new();
        assert!(block_on(c.write_response(&proto(), &mut buf, huge)).is_err());
    }
}
