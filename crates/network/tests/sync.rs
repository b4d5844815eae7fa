//! Block sync over `/ledger/<chain_id>/sync/1`: served items come back; oversized,
//! malformed, over-long and unanswered responses are errors, never panics.

mod common;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use ledger_network::{sync_protocol_name, SyncError, SyncResponse};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId, StreamProtocol};

fn chain(n: u64, item_len: usize) -> Arc<Vec<Vec<u8>>> {
    Arc::new(
        (1..=n)
            .map(|h| {
                let mut item = format!("block-{h}-").into_bytes();
                item.resize(item_len.max(item.len()), b'x');
                item
            })
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_returns_served_items_and_bounds_responses() {
    init_tracing();
    tokio::time::timeout(Duration::from_secs(90), served_items())
        .await
        .expect("test finished in time");
}

async fn served_items() {
    let served = chain(100, 4 * 1024);
    let s = start(config(20, vec![]), accept_all(), served.clone()).await;
    // The requester accepts responses of at most 16 KiB.
    let mut cfg_r = config(21, vec![addr(&s.handle)]);
    cfg_r.max_response_bytes = 16 * 1024;
    cfg_r.max_message_bytes = 8 * 1024;
    cfg_r.max_blocks_per_request = 64;
    let r = start(cfg_r, accept_all(), Arc::new(Vec::new())).await;
    let s_id = s.handle.local_peer_id();
    wait_until("R connected to S", || async { r.handle.peer_count() == 1 }).await;

    let resp = r.handle.request_blocks(s_id, 1, 3).await.expect("sync");
    assert_eq!(resp.final_height, 100);
    assert_eq!(resp.items, served[0..3].to_vec());

    // Past the responder's head: only what it has.
    let resp = r.handle.request_blocks(s_id, 99, 150).await.expect("sync");
    assert_eq!(resp.items, served[98..100].to_vec());
    let resp = r.handle.request_blocks(s_id, 500, 510).await.expect("sync");
    assert!(resp.items.is_empty());
    assert_eq!(resp.final_height, 100);

    // Oversized for the requester (10 x 4 KiB > 16 KiB): an error, and the node goes on.
    let err = r.handle.request_blocks(s_id, 1, 10).await.unwrap_err();
    assert!(
        matches!(err, SyncError::Malformed(ref m) if m.contains("exceeds")),
        "{err:?}"
    );
    let resp = r
        .handle
        .request_blocks(s_id, 4, 5)
        .await
        .expect("still works");
    assert_eq!(resp.items, served[3..5].to_vec());

    // An empty range is refused locally.
    assert_eq!(
        r.handle.request_blocks(s_id, 5, 4).await,
        Err(SyncError::InvalidRange { from: 5, to: 4 })
    );

    // The other direction, where the responder trims its answer to the requester's
    // count bound (64) and to its own byte bound (8 MiB): S asks R, which has nothing.
    let resp = s
        .handle
        .request_blocks(r.handle.local_peer_id(), 1, 1_000_000)
        .await
        .expect("sync");
    assert_eq!(resp.final_height, 0);
    assert!(resp.items.is_empty());

    // A peer that has gone away.
    s.handle.shutdown().await;
    wait_until("R saw S leave", || async { r.handle.peer_count() == 0 }).await;
    let err = r.handle.request_blocks(s_id, 1, 2).await.unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::PeerUnreachable | SyncError::ConnectionClosed
        ),
        "{err:?}"
    );
    r.handle.shutdown().await;
}

/// What the raw test peer answers to every sync request.
#[derive(Clone, Copy)]
enum Reply {
    /// A length prefix with a body that does not decode.
    Garbage,
    /// A valid encoding with more items than were asked for.
    TooMany,
    /// A length prefix larger than the requester's bound.
    HugePrefix,
    /// Nothing: the request is held until the requester times out.
    Silent,
}

/// Raw bytes in both directions, to misbehave on the ledger sync protocol.
#[derive(Clone, Default)]
struct RawCodec;

#[async_trait]
impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        io.take(1024).read_to_end(&mut buf).await?;
        Ok(buf)
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        io.take(1024).read_to_end(&mut buf).await?;
        Ok(buf)
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()> {
        io.write_all(&req).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()> {
        io.write_all(&res).await
    }
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

/// Starts a plain libp2p swarm that speaks the sync protocol with `reply`; returns its
/// peer id and address, and a handle to stop it.
async fn start_raw_peer(reply: Reply) -> (PeerId, Multiaddr, tokio::task::JoinHandle<()>) {
    let protocol = StreamProtocol::try_from_owned(sync_protocol_name(CHAIN)).unwrap();
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| {
            request_response::Behaviour::<RawCodec>::new(
                [(protocol, ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(30)),
            )
        })
        .unwrap()
        .build();
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    let addr = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            break address;
        }
    };
    let peer = *swarm.local_peer_id();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            if let SwarmEvent::Behaviour(request_response::Event::Message {
                message: request_response::Message::Request { channel, .. },
                ..
            }) = swarm.select_next_some().await
            {
                let bytes = match reply {
                    // Final height, then an item count of 2^60.
                    Reply::Garbage => {
                        frame(&[7u64.to_le_bytes(), (1u64 << 60).to_le_bytes()].concat())
                    }
                    Reply::TooMany => frame(&ledger_types::codec::encode(&SyncResponse {
                        final_height: 10,
                        time_ms: 0,
                        items: vec![b"x".to_vec(); 5],
                    })),
                    Reply::HugePrefix => u32::MAX.to_be_bytes().to_vec(),
                    Reply::Silent => {
                        held.push(channel);
                        continue;
                    }
                };
                let _ = swarm.behaviour_mut().send_response(channel, bytes);
            }
        }
    });
    (peer, addr, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_responders_give_errors_not_panics() {
    init_tracing();
    tokio::time::timeout(Duration::from_secs(90), misbehaving())
        .await
        .expect("test finished in time");
}

async fn misbehaving() {
    let mut cfg = config(22, vec![]);
    cfg.request_timeout_secs = 2;
    let r = start(cfg, accept_all(), Arc::new(Vec::new())).await;

    for (reply, expect) in [
        (Reply::Garbage, "malformed"),
        (Reply::TooMany, "too many"),
        (Reply::HugePrefix, "oversized"),
        (Reply::Silent, "timeout"),
    ] {
        let (peer, peer_addr, task) = start_raw_peer(reply).await;
        r.handle.dial(peer_addr).await.expect("dial");
        wait_until("connected to the raw peer", || async {
            r.handle.peers().iter().any(|p| p.peer_id == peer)
        })
        .await;
        let err = r.handle.request_blocks(peer, 1, 3).await.unwrap_err();
        println!("{expect}: {err}");
        match expect {
            "malformed" => assert!(matches!(err, SyncError::Malformed(_)), "{err:?}"),
            "too many" => assert_eq!(err, SyncError::TooManyItems { got: 5, max: 3 }),
            "oversized" => {
                assert!(
                    matches!(err, SyncError::Malformed(ref m) if m.contains("exceeds")),
                    "{err:?}"
                )
            }
            _ => assert_eq!(err, SyncError::Timeout),
        }
        task.abort();
        let _ = task.await;
        wait_until("raw peer gone", || async {
            !r.handle.peers().iter().any(|p| p.peer_id == peer)
        })
        .await;
    }

    // A peer we never heard of.
    let stranger = libp2p::identity::Keypair::generate_ed25519()
        .public()
        .to_peer_id();
    assert_eq!(
        r.handle.request_blocks(stranger, 1, 2).await,
        Err(SyncError::PeerUnreachable)
    );
    r.handle.shutdown().await;
}
