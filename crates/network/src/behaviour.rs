//! The composed libp2p behaviour: connection limits, a distinct-peer limit, identify,
//! ping, Kademlia, gossipsub (manual validation, peer scoring), block sync and mDNS.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::task::{Context, Poll};
use std::time::Duration;

use libp2p::core::{transport::PortUse, Endpoint};
use libp2p::gossipsub::{self, PeerScoreParams, PeerScoreThresholds, TopicScoreParams};
use libp2p::identity::Keypair;
use libp2p::swarm::{
    behaviour::toggle::Toggle, dummy, ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm,
    NetworkBehaviour, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{connection_limits, identify, kad, mdns, ping, request_response};
use libp2p::{Multiaddr, PeerId, StreamProtocol};

use crate::config::{NetworkConfig, GOSSIP_FRAME_OVERHEAD};
use crate::error::NetworkError;
use crate::protocol::{sync_protocol_name, MessageId, SyncCodec, Topic};

/// The node's behaviour tree. The two limit behaviours come first so that a denied
/// connection is refused before any protocol handler is created for it.
#[derive(NetworkBehaviour)]
pub(crate) struct NodeBehaviour {
    pub limits: connection_limits::Behaviour,
    pub peer_limit: PeerLimit,
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
    pub kad: kad::Behaviour<kad::store::MemoryStore>,
    pub gossipsub: gossipsub::Behaviour,
    pub sync: request_response::Behaviour<SyncCodec>,
    pub snapshot: request_response::Behaviour<crate::snapshot::SnapshotCodec>,
    pub mdns: Toggle<mdns::tokio::Behaviour>,
}

/// Builds the behaviour for `config` and the local key.
pub(crate) fn build(config: &NetworkConfig, key: &Keypair) -> Result<NodeBehaviour, NetworkError> {
    let local_peer_id = key.public().to_peer_id();
    let setup = |what: &str, e: &dyn std::fmt::Display| NetworkError::Setup(format!("{what}: {e}"));

    let per_peer = config.max_connections_per_peer;
    let limits = connection_limits::Behaviour::new(
        connection_limits::ConnectionLimits::default()
            .with_max_established_per_peer(Some(per_peer))
            .with_max_established(Some(config.max_peers.saturating_mul(per_peer)))
            .with_max_pending_incoming(Some(config.max_pending_incoming)),
    );

    let identify = identify::Behaviour::new(
        identify::Config::new(format!("/ledger/{}/1.0.0", config.chain_id), key.public())
            .with_agent_version(format!("ledger-node/{}", env!("CARGO_PKG_VERSION"))),
    );

    let ping = ping::Behaviour::new(ping::Config::new());

    let mut kad_config = kad::Config::new(kad::PROTOCOL_NAME);
    // Kademlia is used for peer discovery only: records and provider announcements that
    // peers push to us are not stored (they would only cost memory).
    kad_config.set_record_filtering(kad::StoreInserts::FilterBoth);
    let mut kad = kad::Behaviour::with_config(
        local_peer_id,
        kad::store::MemoryStore::new(local_peer_id),
        kad_config,
    );
    // Serve Kademlia queries even without a confirmed external address (loopback and
    // private networks), so that peers can discover each other through us.
    kad.set_mode(Some(kad::Mode::Server));

    let gossipsub = build_gossipsub(config, key).map_err(|e| setup("gossipsub", &e))?;

    let sync_protocol = StreamProtocol::try_from_owned(sync_protocol_name(&config.chain_id))
        .map_err(|e| setup("sync protocol name", &e))?;
    let sync = request_response::Behaviour::with_codec(
        SyncCodec {
            max_response_bytes: config.max_response_bytes,
        },
        [(sync_protocol, request_response::ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(config.request_timeout())
            .with_max_concurrent_streams(64),
    );

    let snapshot_protocol =
        StreamProtocol::try_from_owned(crate::snapshot::snapshot_protocol_name(&config.chain_id))
            .map_err(|e| setup("snapshot protocol name", &e))?;
    let snapshot = request_response::Behaviour::with_codec(
        crate::snapshot::SnapshotCodec {
            max_response_bytes: config.max_response_bytes,
        },
        [(snapshot_protocol, request_response::ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(config.request_timeout())
            .with_max_concurrent_streams(16),
    );

    let mdns = if config.enable_mdns {
        Some(
            mdns::tokio::Behaviour::new(mdns::Config::default(), local_peer_id)
                .map_err(|e| setup("mdns", &e))?,
        )
    } else {
        None
    };

    Ok(NodeBehaviour {
        limits,
        peer_limit: PeerLimit::new(config.max_peers as usize),
        identify,
        ping,
        kad,
        gossipsub,
        sync,
        snapshot,
        mdns: Toggle::from(mdns),
    })
}

/// Smallest gossipsub frame bound (see `build_gossipsub`).
const MIN_GOSSIP_FRAME: usize = 256 * 1024;

/// Score weight of one invalid (rejected) message, squared per topic: one rejection puts
/// a peer below the gossip threshold (-10), three below the graylist threshold (-80),
/// after which everything it sends is ignored until the penalty decays.
const INVALID_MESSAGE_WEIGHT: f64 = -20.0;

fn build_gossipsub(config: &NetworkConfig, key: &Keypair) -> Result<gossipsub::Behaviour, String> {
    let gossip_config = gossipsub::ConfigBuilder::default()
        // The frame bound; payloads are held to `max_message_bytes` by our own checks on
        // publish and receipt. The floor leaves room for IHAVE/IWANT control frames
        // (up to 5000 message ids) however small the payload bound is.
        .max_transmit_size((config.max_message_bytes + GOSSIP_FRAME_OVERHEAD).max(MIN_GOSSIP_FRAME))
        // Every message is signed by its author and checked before anything else.
        .validation_mode(gossipsub::ValidationMode::Strict)
        // Nothing is forwarded until the driver reports `Accept`.
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| MessageId::of(&m.data).to_gossipsub())
        .duplicate_cache_time(Duration::from_secs(120))
        .build()
        .map_err(|e| e.to_string())?;
    let mut gossipsub = gossipsub::Behaviour::new(
        gossipsub::MessageAuthenticity::Signed(key.clone()),
        gossip_config,
    )
    .map_err(str::to_string)?;

    let mut params = PeerScoreParams {
        // Local test networks put every peer on one address.
        ip_colocation_factor_whitelist: [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]
        .into_iter()
        .collect(),
        ..PeerScoreParams::default()
    };
    for topic in Topic::ALL {
        params
            .topics
            .insert(topic.ident(&config.chain_id).hash(), topic_score_params());
    }
    gossipsub.with_peer_score(params, PeerScoreThresholds::default())?;
    Ok(gossipsub)
}

/// Scoring of one topic: a small reward for time in the mesh and first deliveries, a
/// heavy, slowly decaying penalty for invalid messages. Mesh delivery-rate penalties (P3)
/// are off: our topics are quiet between blocks and silence is not misbehaviour.
fn topic_score_params() -> TopicScoreParams {
    TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 300.0,
        first_message_deliveries_weight: 0.5,
        first_message_deliveries_decay: 0.9,
        first_message_deliveries_cap: 20.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: INVALID_MESSAGE_WEIGHT,
        invalid_message_deliveries_decay: 0.99,
        ..TopicScoreParams::default()
    }
}

/// Refuses a connection from or to a new peer once `max` distinct peers are connected.
/// (`connection_limits` counts connections, not peers.)
pub(crate) struct PeerLimit {
    max: usize,
    connected: HashMap<PeerId, HashSet<ConnectionId>>,
}

/// The error inside [`ConnectionDenied`] when the peer limit is reached.
#[derive(Debug, thiserror::Error)]
#[error("peer limit of {0} reached")]
pub(crate) struct PeerLimitReached(pub usize);

impl PeerLimit {
    fn new(max: usize) -> Self {
        PeerLimit {
            max,
            connected: HashMap::new(),
        }
    }

    fn check(&self, peer: &PeerId) -> Result<(), ConnectionDenied> {
        if self.connected.contains_key(peer) || self.connected.len() < self.max {
            Ok(())
        } else {
            Err(ConnectionDenied::new(PeerLimitReached(self.max)))
        }
    }
}

impl NetworkBehaviour for PeerLimit {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(&peer)?;
        Ok(dummy::ConnectionHandler)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: Option<PeerId>,
        _: &[Multiaddr],
        _: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        if let Some(peer) = peer {
            self.check(&peer)?;
        }
        Ok(Vec::new())
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(&peer)?;
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(e) => {
                self.connected
                    .entry(e.peer_id)
                    .or_default()
                    .insert(e.connection_id);
            }
            FromSwarm::ConnectionClosed(ConnectionClosed {
                peer_id,
                connection_id,
                ..
            }) => {
                if let Some(set) = self.connected.get_mut(&peer_id) {
                    set.remove(&connection_id);
                    if set.is_empty() {
                        self.connected.remove(&peer_id);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}
