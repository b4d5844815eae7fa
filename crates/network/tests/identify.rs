//! A plain libp2p swarm (identify, ping and gossipsub, nothing ledger-specific) dials a
//! node: it learns the node's identity and protocols under the standard names, and pings
//! it. (Gossipsub is included because a node stops advertising `/meshsub/*` on a
//! connection whose peer turns out not to speak it.)

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{gossipsub, identify, noise, ping, tcp, yamux, StreamProtocol};

#[derive(NetworkBehaviour)]
struct Plain {
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    gossipsub: gossipsub::Behaviour,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_libp2p_peer_identifies_and_pings_the_node() {
    init_tracing();
    tokio::time::timeout(Duration::from_secs(60), run())
        .await
        .expect("test finished in time");
}

async fn run() {
    let seed = [42u8; 32];
    let node = start(config(42, vec![]), accept_all(), Default::default()).await;

    // The identity comes from the seed; the listen address has the real port and our id.
    let expected = libp2p::identity::Keypair::ed25519_from_bytes(seed)
        .unwrap()
        .public()
        .to_peer_id();
    assert_eq!(node.handle.local_peer_id(), expected);
    let listen = addr(&node.handle);
    let parts: Vec<_> = listen.iter().collect();
    assert_eq!(parts[0], Protocol::Ip4([127, 0, 0, 1].into()));
    assert!(matches!(parts[1], Protocol::Tcp(p) if p != 0), "{listen}");
    assert_eq!(parts[2], Protocol::P2p(expected));
    assert_eq!(parts.len(), 3);
    println!("node listens on {listen}");

    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|key| Plain {
            identify: identify::Behaviour::new(identify::Config::new(
                "/ipfs/id/1.0.0".into(),
                key.public(),
            )),
            ping: ping::Behaviour::new(
                ping::Config::new().with_interval(Duration::from_millis(200)),
            ),
            gossipsub: gossipsub::Behaviour::new(
                gossipsub::MessageAuthenticity::Signed(key.clone()),
                gossipsub::Config::default(),
            )
            .expect("gossipsub"),
        })
        .unwrap()
        .build();
    swarm.dial(listen).unwrap();

    let (mut info, mut pinged) = (None, false);
    while info.is_none() || !pinged {
        match swarm.select_next_some().await {
            SwarmEvent::Behaviour(PlainEvent::Identify(identify::Event::Received {
                peer_id,
                info: i,
                ..
            })) if peer_id == expected => info = Some(i),
            SwarmEvent::Behaviour(PlainEvent::Ping(ping::Event {
                peer,
                result: Ok(rtt),
                ..
            })) if peer == expected => {
                println!("ping rtt {rtt:?}");
                pinged = true;
            }
            _ => {}
        }
    }
    let info = info.unwrap();
    assert_eq!(info.public_key.to_peer_id(), expected);
    assert!(
        info.agent_version.starts_with("ledger-node/"),
        "{}",
        info.agent_version
    );
    assert_eq!(info.protocol_version, format!("/ledger/{CHAIN}/1.0.0"));
    let protocols: Vec<String> = info
        .protocols
        .iter()
        .map(StreamProtocol::to_string)
        .collect();
    println!("node protocols: {protocols:?}");
    for p in [
        "/ipfs/id/1.0.0",
        "/ipfs/ping/1.0.0",
        "/ipfs/kad/1.0.0",
        "/meshsub/1.1.0",
        "/meshsub/1.0.0",
        "/ledger/test-chain/sync/1",
    ] {
        assert!(
            protocols.iter().any(|q| q == p),
            "missing {p} in {protocols:?}"
        );
    }
    // The node sees the plain peer as connected too.
    let plain_id = *swarm.local_peer_id();
    wait_until("node lists the plain peer", || async {
        node.handle
            .peers()
            .iter()
            .any(|p| p.peer_id == plain_id && p.inbound)
    })
    .await;
    node.handle.shutdown().await;
}
