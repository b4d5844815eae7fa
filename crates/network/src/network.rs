//! [`Network::start`], the [`NetworkHandle`] the driver holds, the [`NetworkEvent`]s it
//! receives, and the task that owns the libp2p swarm.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use libp2p::core::transport::ListenerId;
use libp2p::gossipsub::{self, MessageAcceptance, TopicHash};
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundFailure, OutboundRequestId, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::SwarmEvent;
use libp2p::{identify, kad, mdns, noise, ping, tcp, yamux, Multiaddr, PeerId, Swarm};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, trace, warn};

use crate::behaviour::{self, NodeBehaviour, NodeBehaviourEvent};
use crate::config::{split_peer_addr, NetworkConfig};
use crate::error::{NetworkError, PublishError, SyncError};
use crate::protocol::{MessageId, SyncRequest, SyncResponse, Topic};

/// How long [`Network::start`] waits for the listeners to report their addresses.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(5);

/// The driver's verdict on a gossip message (see [`NetworkHandle::report_validation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationOutcome {
    /// Valid: deliver it and forward it to our mesh peers.
    Accept,
    /// Invalid: drop it and penalise the peer that sent it (gossipsub score, P4).
    Reject,
    /// Not forwarded, nobody penalised (already known, stale, not checkable yet).
    Ignore,
}

impl From<ValidationOutcome> for MessageAcceptance {
    fn from(o: ValidationOutcome) -> Self {
        match o {
            ValidationOutcome::Accept => MessageAcceptance::Accept,
            ValidationOutcome::Reject => MessageAcceptance::Reject,
            ValidationOutcome::Ignore => MessageAcceptance::Ignore,
        }
    }
}

/// A gossip message waiting for the driver's validation. It is not forwarded to anyone
/// until [`NetworkHandle::report_validation`] says `Accept`. Report within a few seconds
/// (gossipsub keeps unvalidated messages for 5 heartbeats of 1 s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GossipMessage {
    /// The topic it arrived on.
    pub topic: Topic,
    /// Its id (SHA-256 of `data`); pass it back to `report_validation`.
    pub message_id: MessageId,
    /// The peer that forwarded it to us; pass it back to `report_validation`. This peer
    /// is penalised on `Reject`.
    pub propagation_source: PeerId,
    /// The peer that first published (and signed) it.
    pub source: Option<PeerId>,
    /// The opaque payload (a canonical `ledger-types` encoding).
    pub data: Vec<u8>,
}

/// A connected peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// Its peer id.
    pub peer_id: PeerId,
    /// The remote address of the first connection.
    pub address: Multiaddr,
    /// Whether the first connection was opened by the peer.
    pub inbound: bool,
    /// Its identify agent version, once identify has run.
    pub agent_version: Option<String>,
}

/// What the network tells the driver.
#[derive(Debug)]
pub enum NetworkEvent {
    /// A gossip message to validate (and then use).
    Message(GossipMessage),
    /// The first connection to a peer was established.
    PeerConnected(PeerInfo),
    /// The last connection to a peer closed.
    PeerDisconnected {
        /// The peer.
        peer_id: PeerId,
    },
    /// A peer asks for final blocks. Answer through `responder` (dropping it closes the
    /// stream, which the requester sees as an error).
    SyncRequest {
        /// The requesting peer.
        peer_id: PeerId,
        /// The range, already cut to at most `max_blocks_per_request` heights and never
        /// empty.
        request: SyncRequest,
        /// Sends the answer.
        responder: SyncResponder,
    },
    /// We listen on a new address (`/ip4/.../tcp/PORT/p2p/PEER_ID`).
    NewListenAddr {
        /// The full address, ending in our `/p2p/` id.
        address: Multiaddr,
    },
}

/// Answers one inbound [`SyncRequest`].
#[derive(Debug)]
pub struct SyncResponder {
    channel: ResponseChannel<SyncResponse>,
    commands: mpsc::UnboundedSender<Command>,
    max_items: u64,
    max_bytes: usize,
}

impl SyncResponder {
    /// Most items the response may carry (the request's height count).
    pub fn max_items(&self) -> u64 {
        self.max_items
    }

    /// Largest encoded response (see [`SyncResponse::encoded_len`]); the driver can stop
    /// loading blocks once it is reached.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Sends the response. Trailing items beyond [`Self::max_items`] or
    /// [`Self::max_bytes`] are dropped (the requester asks again from the next height).
    /// Returns how many items were dropped.
    pub fn respond(self, mut response: SyncResponse) -> Result<usize, NetworkError> {
        let had_items = !response.items.is_empty();
        let dropped = response.trim(self.max_items, self.max_bytes);
        if had_items && response.items.is_empty() {
            warn!(
                max_bytes = self.max_bytes,
                "sync response: the first item alone exceeds the response bound; sending none"
            );
        }
        self.commands
            .send(Command::Respond {
                channel: self.channel,
                response,
            })
            .map_err(|_| NetworkError::Stopped)?;
        Ok(dropped)
    }
}

/// Entry point: builds the swarm and spawns it on the current tokio runtime.
#[derive(Debug)]
pub struct Network;

impl Network {
    /// Validates `config`, builds the libp2p swarm (TCP + noise + yamux, identify, ping,
    /// Kademlia, gossipsub, block sync, mDNS if enabled, connection limits), subscribes to
    /// the chain's topics, binds every listen address, dials the bootnodes and spawns the
    /// swarm task. Returns once every listener has reported its address, so
    /// [`NetworkHandle::listen_addrs`] already holds the real ports.
    ///
    /// The task runs until [`NetworkHandle::shutdown`] or until every handle (and
    /// pending [`SyncResponder`]) is dropped. Must be called inside a tokio runtime.
    pub async fn start(
        config: NetworkConfig,
    ) -> Result<(NetworkHandle, mpsc::Receiver<NetworkEvent>), NetworkError> {
        config.validate()?;
        let key = match &config.identity_seed {
            Some(seed) => Keypair::ed25519_from_bytes(seed.0)
                .map_err(|e| NetworkError::Identity(e.to_string()))?,
            None => {
                warn!("no identity seed configured: using a random libp2p identity");
                Keypair::generate_ed25519()
            }
        };
        let local_peer_id = key.public().to_peer_id();
        let identity = key.clone();
        let behaviour = behaviour::build(&config, &key)?;

        let idle = Duration::from_secs(config.idle_connection_timeout_secs);
        // libp2p's own metrics (`libp2p_*`: swarm, identify, Kademlia, ping, gossipsub,
        // bandwidth), served by the node next to its own.
        let mut registry = prometheus_client::registry::Registry::default();
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| NetworkError::Setup(format!("tcp transport: {e}")))?
            .with_bandwidth_metrics(&mut registry)
            .with_behaviour(|_| behaviour)
            .map_err(|e| NetworkError::Setup(format!("behaviour: {e}")))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
            .with_connection_timeout(Duration::from_secs(config.handshake_timeout_secs))
            .build();

        let mut topics = HashMap::new();
        for topic in Topic::ALL {
            let ident = topic.ident(&config.chain_id);
            swarm
                .behaviour_mut()
                .gossipsub
                .subscribe(&ident)
                .map_err(|e| NetworkError::Setup(format!("subscribe {ident}: {e}")))?;
            topics.insert(ident.hash(), topic);
        }

        let mut bootnodes = Vec::new();
        for addr in &config.bootnodes {
            let (peer, transport) = split_peer_addr(addr)?;
            if peer != local_peer_id {
                swarm
                    .behaviour_mut()
                    .kad
                    .add_address(&peer, transport.clone());
                bootnodes.push((peer, transport));
            }
        }

        let mut listeners = HashMap::new();
        for addr in &config.listen_addrs {
            ensure_port_free(addr)?;
            let id = swarm
                .listen_on(addr.clone())
                .map_err(|e| NetworkError::Listen {
                    addr: addr.clone(),
                    reason: error_chain(&e),
                })?;
            listeners.insert(id, addr.clone());
        }

        let metrics = libp2p::metrics::Metrics::new(&mut registry);
        let refusals = crate::refusals::Refusals::new(&mut registry);
        let (snapshot_tx, snapshot_rx) = mpsc::channel(crate::snapshot::INBOUND_QUEUE);
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::channel(config.event_buffer);
        let shared = Arc::new(Shared {
            local_peer_id,
            max_message_bytes: config.max_message_bytes,
            max_blocks_per_request: config.max_blocks_per_request,
            listen_addrs: RwLock::new(Vec::new()),
            peers: RwLock::new(BTreeMap::new()),
            registry: Arc::new(registry),
            identity: identity.clone(),
            snapshot_requests: std::sync::Mutex::new(Some(snapshot_rx)),
        });
        let mut task = Task {
            swarm,
            shared: shared.clone(),
            commands: cmd_rx,
            weak_commands: cmd_tx.downgrade(),
            topics,
            events_tx,
            pending_events: VecDeque::new(),
            events_closed: false,
            pending_requests: HashMap::new(),
            bootnodes,
            max_peers: config.max_peers as usize,
            max_message_bytes: config.max_message_bytes,
            max_blocks_per_request: config.max_blocks_per_request,
            max_response_bytes: config.max_response_bytes,
            event_buffer: config.event_buffer,
            metrics,
            refusals,
            snapshot_tx,
            pending_snapshot: HashMap::new(),
            bans: HashMap::new(),
        };
        task.wait_listening(listeners).await?;
        info!(peer_id = %local_peer_id, "libp2p node started");

        let interval = Duration::from_secs(config.discovery_interval_secs);
        tokio::spawn(task.run(interval));
        Ok((
            NetworkHandle {
                commands: cmd_tx,
                shared,
            },
            events_rx,
        ))
    }
}

/// State readable without a round trip to the swarm task.
#[derive(Debug)]
struct Shared {
    local_peer_id: PeerId,
    max_message_bytes: usize,
    max_blocks_per_request: u64,
    listen_addrs: RwLock<Vec<Multiaddr>>,
    peers: RwLock<BTreeMap<PeerId, PeerInfo>>,
    registry: Arc<prometheus_client::registry::Registry>,
    identity: Keypair,
    snapshot_requests:
        std::sync::Mutex<Option<mpsc::Receiver<crate::snapshot::InboundSnapshotRequest>>>,
}

impl Shared {
    fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.listen_addrs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn with_peers<R>(&self, f: impl FnOnce(&mut BTreeMap<PeerId, PeerInfo>) -> R) -> R {
        f(&mut self.peers.write().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The driver's handle on the network (cheap to clone).
#[derive(Debug, Clone)]
pub struct NetworkHandle {
    commands: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
}

impl NetworkHandle {
    /// Our peer id (derived from the identity seed).
    pub fn local_peer_id(&self) -> PeerId {
        self.shared.local_peer_id
    }

    /// Our listen addresses, each ending in `/p2p/<our peer id>`, with the actual ports.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.shared.listen_addrs()
    }

    /// The connected peers, ordered by peer id.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.shared.with_peers(|p| p.values().cloned().collect())
    }

    /// libp2p's metrics (`libp2p_*`) as a Prometheus registry, for the node's
    /// `/metrics` endpoint.
    pub fn metrics_registry(&self) -> Arc<prometheus_client::registry::Registry> {
        self.shared.registry.clone()
    }

    /// Inbound state-sync snapshot requests (see [`crate::snapshot`]). The first call
    /// takes the receiver; later calls return `None`. While nobody takes it, requests
    /// queue up to a small bound and further ones are refused (the stream is closed).
    pub fn take_snapshot_requests(
        &self,
    ) -> Option<mpsc::Receiver<crate::snapshot::InboundSnapshotRequest>> {
        self.shared
            .snapshot_requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Number of connected peers.
    pub fn peer_count(&self) -> usize {
        self.shared.with_peers(|p| p.len())
    }

    /// The gossip payload bound (`max_message_bytes`); keep blocks below it.
    pub fn max_message_bytes(&self) -> usize {
        self.shared.max_message_bytes
    }

    /// Publishes `data` on `topic`. Returns the message id. Publishing the same bytes
    /// twice (or bytes already received) gives [`PublishError::Duplicate`]; with no
    /// subscribed peer it is [`PublishError::NoPeers`].
    pub async fn publish(&self, topic: Topic, data: Vec<u8>) -> Result<MessageId, PublishError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Publish { topic, data, reply })
            .map_err(|_| PublishError::Stopped)?;
        rx.await.map_err(|_| PublishError::Stopped)?
    }

    /// Publishes `data` on `topic` without waiting for the swarm's answer (the
    /// consensus driver's path: it never awaits the network). Errors (no peers,
    /// duplicate) are dropped, as the driver would drop them.
    pub fn publish_nowait(&self, topic: Topic, data: Vec<u8>) {
        let (reply, _) = oneshot::channel();
        let _ = self.commands.send(Command::Publish { topic, data, reply });
    }

    /// Reports the driver's verdict on a received message (from
    /// [`NetworkEvent::Message`]): `Accept` forwards it, `Reject` drops it and penalises
    /// `propagation_source`, `Ignore` drops it. Call exactly once per message.
    pub fn report_validation(
        &self,
        message_id: MessageId,
        propagation_source: PeerId,
        outcome: ValidationOutcome,
    ) -> Result<(), NetworkError> {
        self.commands
            .send(Command::Validate {
                message_id,
                propagation_source,
                outcome,
            })
            .map_err(|_| NetworkError::Stopped)
    }

    /// Asks `peer` for its final blocks `from_height..=to_height` (the range is cut to
    /// `max_blocks_per_request` heights). Dials the peer if it is known but not connected.
    /// Fails with a timeout, when the peer goes away, or when the response is oversized,
    /// malformed or carries more items than asked for.
    pub async fn request_blocks(
        &self,
        peer: PeerId,
        from_height: u64,
        to_height: u64,
    ) -> Result<SyncResponse, SyncError> {
        if from_height > to_height {
            return Err(SyncError::InvalidRange {
                from: from_height,
                to: to_height,
            });
        }
        let request = clamp(
            SyncRequest {
                from_height,
                to_height,
            },
            self.shared.max_blocks_per_request,
        );
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Request {
                peer,
                request,
                reply,
            })
            .map_err(|_| SyncError::Stopped)?;
        rx.await.map_err(|_| SyncError::Stopped)?
    }

    /// The gossipsub score of a connected peer (`None` if unknown). Rejected messages
    /// lower it; below -80 everything the peer sends is ignored.
    pub async fn peer_score(&self, peer: PeerId) -> Result<Option<f64>, NetworkError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::PeerScore { peer, reply })
            .map_err(|_| NetworkError::Stopped)?;
        rx.await.map_err(|_| NetworkError::Stopped)
    }

    /// Asks `peer` for a snapshot manifest, chunk or attestation (see
    /// [`crate::snapshot`]). Fails with a timeout, when the peer goes away or does not
    /// speak the protocol, or when the response is oversized or malformed.
    pub async fn request_snapshot(
        &self,
        peer: PeerId,
        request: crate::snapshot::SnapshotRequest,
    ) -> Result<crate::snapshot::SnapshotResponse, SyncError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::SnapshotRequest {
                peer,
                request,
                reply,
            })
            .map_err(|_| SyncError::Stopped)?;
        rx.await.map_err(|_| SyncError::Stopped)?
    }

    /// Signs `message` with the node's identity key (the ed25519 key of its key file,
    /// so a validator's signature verifies under its genesis public key).
    pub fn sign_with_identity(&self, message: &[u8]) -> Option<Vec<u8>> {
        self.shared.identity.sign(message).ok()
    }

    /// Dials an address (with or without `/p2p/<peer id>`); connection limits apply.
    /// Returns once the dial has started, not when it succeeds.
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), NetworkError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Dial { addr, reply })
            .map_err(|_| NetworkError::Stopped)?;
        rx.await.map_err(|_| NetworkError::Stopped)?
    }

    /// Bans `peer` for `duration`: its connections are closed, and connections from or
    /// to it are refused until the ban expires (a later ban of the same peer extends
    /// it). For peers that proved they misbehave (equivocation, invalid messages,
    /// forged sync responses).
    pub fn ban(&self, peer: PeerId, duration: Duration) {
        let _ = self.commands.send(Command::Ban { peer, duration });
    }

    /// Stops the swarm task, closing every connection and listener. Returns when it has
    /// stopped; later calls on any handle fail with `Stopped`.
    pub async fn shutdown(&self) {
        let (ack, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown { ack }).is_ok() {
            let _ = rx.await;
        }
    }
}

fn clamp(mut request: SyncRequest, max_blocks: u64) -> SyncRequest {
    let last = request
        .from_height
        .saturating_add(max_blocks.saturating_sub(1));
    request.to_height = request.to_height.min(last);
    request
}

/// Requests from handles and responders to the swarm task.
#[derive(Debug)]
pub(crate) enum Command {
    SnapshotRequest {
        peer: PeerId,
        request: crate::snapshot::SnapshotRequest,
        reply: oneshot::Sender<Result<crate::snapshot::SnapshotResponse, SyncError>>,
    },
    SnapshotRespond {
        channel: ResponseChannel<crate::snapshot::SnapshotResponse>,
        response: crate::snapshot::SnapshotResponse,
    },
    Publish {
        topic: Topic,
        data: Vec<u8>,
        reply: oneshot::Sender<Result<MessageId, PublishError>>,
    },
    Validate {
        message_id: MessageId,
        propagation_source: PeerId,
        outcome: ValidationOutcome,
    },
    Request {
        peer: PeerId,
        request: SyncRequest,
        reply: oneshot::Sender<Result<SyncResponse, SyncError>>,
    },
    Respond {
        channel: ResponseChannel<SyncResponse>,
        response: SyncResponse,
    },
    PeerScore {
        peer: PeerId,
        reply: oneshot::Sender<Option<f64>>,
    },
    Dial {
        addr: Multiaddr,
        reply: oneshot::Sender<Result<(), NetworkError>>,
    },
    Ban {
        peer: PeerId,
        duration: Duration,
    },
    Shutdown {
        ack: oneshot::Sender<()>,
    },
}

struct PendingRequest {
    reply: oneshot::Sender<Result<SyncResponse, SyncError>>,
    max_items: u64,
}

/// Owns the swarm; everything else talks to it through [`Command`]s.
struct Task {
    swarm: Swarm<NodeBehaviour>,
    shared: Arc<Shared>,
    commands: mpsc::UnboundedReceiver<Command>,
    /// For responders; weak so that dropping every handle stops the task.
    weak_commands: mpsc::WeakUnboundedSender<Command>,
    topics: HashMap<TopicHash, Topic>,
    events_tx: mpsc::Sender<NetworkEvent>,
    /// Events not yet taken by the driver (the channel was full).
    pending_events: VecDeque<NetworkEvent>,
    /// The driver dropped its receiver.
    events_closed: bool,
    pending_requests: HashMap<OutboundRequestId, PendingRequest>,
    bootnodes: Vec<(PeerId, Multiaddr)>,
    max_peers: usize,
    max_message_bytes: usize,
    max_blocks_per_request: u64,
    max_response_bytes: usize,
    event_buffer: usize,
    metrics: libp2p::metrics::Metrics,
    /// Refused inbound connections: counted and logged (rate-limited).
    refusals: crate::refusals::Refusals,
    snapshot_tx: mpsc::Sender<crate::snapshot::InboundSnapshotRequest>,
    pending_snapshot: HashMap<OutboundRequestId, crate::snapshot::PendingSnapshotRequest>,
    /// Banned peers and when their bans expire.
    bans: HashMap<PeerId, tokio::time::Instant>,
}

impl Task {
    /// Drives the swarm until every listener has reported an address.
    async fn wait_listening(
        &mut self,
        mut listeners: HashMap<ListenerId, Multiaddr>,
    ) -> Result<(), NetworkError> {
        let deadline = tokio::time::Instant::now() + LISTEN_TIMEOUT;
        let mut reported = HashSet::new();
        while reported.len() < listeners.len() {
            let event = tokio::time::timeout_at(deadline, self.swarm.select_next_some())
                .await
                .map_err(|_| NetworkError::Listen {
                    addr: listeners
                        .iter()
                        .find(|(id, _)| !reported.contains(*id))
                        .map(|(_, a)| a.clone())
                        .unwrap_or_else(Multiaddr::empty),
                    reason: "no listen address reported in time".into(),
                })?;
            match &event {
                SwarmEvent::NewListenAddr { listener_id, .. } => {
                    reported.insert(*listener_id);
                }
                SwarmEvent::ListenerClosed {
                    listener_id,
                    reason,
                    ..
                } => {
                    if let Some(addr) = listeners.remove(listener_id) {
                        let reason = match reason {
                            Ok(()) => "listener closed".to_string(),
                            Err(e) => e.to_string(),
                        };
                        return Err(NetworkError::Listen { addr, reason });
                    }
                }
                SwarmEvent::ListenerError { listener_id, error } => {
                    if let Some(addr) = listeners.remove(listener_id) {
                        return Err(NetworkError::Listen {
                            addr,
                            reason: error.to_string(),
                        });
                    }
                }
                _ => {}
            }
            self.on_swarm_event(event);
        }
        Ok(())
    }

    async fn run(mut self, discovery_interval: Duration) {
        let mut tick = tokio::time::interval(discovery_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ack = None;
        // A second sender so that a reserved permit does not borrow `self`.
        let events_tx = self.events_tx.clone();
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown { ack: a }) => {
                        ack = Some(a);
                        break;
                    }
                    Some(command) => self.on_command(command),
                    None => {
                        debug!("every network handle dropped: stopping");
                        break;
                    }
                },
                permit = events_tx.reserve(), if !self.pending_events.is_empty() => {
                    match permit {
                        Ok(permit) => {
                            if let Some(event) = self.pending_events.pop_front() {
                                permit.send(event);
                            }
                        }
                        Err(_) => self.close_events(),
                    }
                }
                _ = tick.tick() => self.maintain(),
            }
        }
        let Task {
            swarm,
            shared,
            pending_requests,
            ..
        } = self;
        drop(swarm);
        drop(pending_requests);
        shared.with_peers(|p| p.clear());
        shared
            .listen_addrs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        info!("libp2p node stopped");
        if let Some(ack) = ack {
            let _ = ack.send(());
        }
    }

    /// The driver dropped its event receiver: discard what is queued.
    fn close_events(&mut self) {
        if !self.events_closed {
            debug!("network event receiver dropped; discarding events");
        }
        self.events_closed = true;
        let queued: Vec<_> = self.pending_events.drain(..).collect();
        for event in queued {
            if let NetworkEvent::Message(m) = event {
                self.validate(
                    m.message_id,
                    m.propagation_source,
                    MessageAcceptance::Ignore,
                );
            }
        }
    }

    fn emit(&mut self, event: NetworkEvent) {
        if self.events_closed {
            return;
        }
        if self.pending_events.is_empty() {
            match self.events_tx.try_send(event) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.close_events();
                    return;
                }
                Err(mpsc::error::TrySendError::Full(event)) => {
                    self.pending_events.push_back(event);
                    return;
                }
            }
        }
        self.pending_events.push_back(event);
    }

    fn events_full(&self) -> bool {
        self.events_closed
            || self.pending_events.len() >= self.event_buffer
            || (self.pending_events.is_empty() && self.events_tx.capacity() == 0)
    }

    fn validate(&mut self, id: MessageId, source: PeerId, acceptance: MessageAcceptance) {
        let found = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(&id.to_gossipsub(), &source, acceptance);
        if !found {
            debug!(message_id = %id, "validation result for a message no longer cached");
        }
    }

    fn is_connected(&self, peer: &PeerId) -> bool {
        self.swarm.is_connected(peer)
    }

    /// Dials a discovered peer if we have room and are not connected or dialling.
    fn maybe_dial(&mut self, peer: PeerId, addresses: Vec<Multiaddr>) {
        if peer == self.shared.local_peer_id
            || self.is_connected(&peer)
            || self.swarm.connected_peers().count() >= self.max_peers
        {
            return;
        }
        // A new local port, not libp2p's default of the listen port: a dial socket
        // bound to 0.0.0.0:<listen port> fails with "address in use" for as long as any
        // other socket on this host holds that port on another address (a client bound
        // to 127.0.0.6:<port> is enough), and libp2p does not fall back, so the node
        // would never reach its bootnodes. Port reuse only serves NAT hole punching,
        // which this node does not do.
        let opts = DialOpts::peer_id(peer)
            .condition(PeerCondition::DisconnectedAndNotDialing)
            .addresses(addresses)
            .allocate_new_port()
            .build();
        if let Err(e) = self.swarm.dial(opts) {
            trace!(%peer, "dial not started: {e}");
        }
    }

    /// Periodic: re-dial disconnected bootnodes, refresh Kademlia.
    fn maintain(&mut self) {
        let now = tokio::time::Instant::now();
        let expired: Vec<PeerId> = self
            .bans
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(p, _)| *p)
            .collect();
        for peer in expired {
            self.bans.remove(&peer);
            self.swarm.behaviour_mut().banned.unblock_peer(peer);
            info!(%peer, "peer ban expired");
        }
        for (peer, addr) in self.bootnodes.clone() {
            if self.bans.contains_key(&peer) {
                continue;
            }
            self.maybe_dial(peer, vec![addr]);
        }
        if self.swarm.connected_peers().next().is_some() {
            if let Err(e) = self.swarm.behaviour_mut().kad.bootstrap() {
                trace!("kademlia bootstrap: {e}");
            }
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { topic, data, reply } => {
                let _ = reply.send(self.publish(topic, data));
            }
            Command::Validate {
                message_id,
                propagation_source,
                outcome,
            } => self.validate(message_id, propagation_source, outcome.into()),
            Command::Request {
                peer,
                request,
                reply,
            } => {
                if peer == self.shared.local_peer_id {
                    let _ = reply.send(Err(SyncError::PeerUnreachable));
                    return;
                }
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                self.pending_requests.insert(
                    id,
                    PendingRequest {
                        reply,
                        max_items: request.count(),
                    },
                );
            }
            Command::Respond { channel, response } => {
                if self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, response)
                    .is_err()
                {
                    debug!("sync response not sent: the request timed out or the peer left");
                }
            }
            Command::Ban { peer, duration } => {
                if peer == self.shared.local_peer_id {
                    return;
                }
                let until = tokio::time::Instant::now() + duration;
                let entry = self.bans.entry(peer).or_insert(until);
                *entry = (*entry).max(until);
                if self.swarm.behaviour_mut().banned.block_peer(peer) {
                    warn!(%peer, secs = duration.as_secs(), "peer banned");
                }
            }
            Command::PeerScore { peer, reply } => {
                let _ = reply.send(self.swarm.behaviour().gossipsub.peer_score(&peer));
            }
            Command::Dial { addr, reply } => {
                let result =
                    self.swarm
                        .dial(dial_opts(addr.clone()))
                        .map_err(|e| NetworkError::Dial {
                            addr,
                            reason: error_chain(&e),
                        });
                let _ = reply.send(result);
            }
            Command::SnapshotRequest {
                peer,
                request,
                reply,
            } => {
                if peer == self.shared.local_peer_id {
                    let _ = reply.send(Err(SyncError::PeerUnreachable));
                    return;
                }
                let id = self
                    .swarm
                    .behaviour_mut()
                    .snapshot
                    .send_request(&peer, request);
                self.pending_snapshot
                    .insert(id, crate::snapshot::PendingSnapshotRequest { reply });
            }
            Command::SnapshotRespond { channel, response } => {
                if self
                    .swarm
                    .behaviour_mut()
                    .snapshot
                    .send_response(channel, response)
                    .is_err()
                {
                    debug!("snapshot response not sent: the request timed out or the peer left");
                }
            }
            Command::Shutdown { .. } => {}
        }
    }

    fn on_snapshot(
        &mut self,
        event: request_response::Event<
            crate::snapshot::SnapshotRequest,
            crate::snapshot::SnapshotResponse,
        >,
    ) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    let inbound = crate::snapshot::InboundSnapshotRequest {
                        peer,
                        request,
                        channel,
                        commands: self.weak_commands.clone(),
                    };
                    if self.snapshot_tx.try_send(inbound).is_err() {
                        debug!(%peer, ?request, "snapshot request refused: nobody serves snapshots, or the queue is full");
                    }
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(p) = self.pending_snapshot.remove(&request_id) {
                        let _ = p.reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                debug!(%peer, "snapshot request failed: {error}");
                if let Some(p) = self.pending_snapshot.remove(&request_id) {
                    let _ = p.reply.send(Err(map_outbound_failure(error)));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                debug!(%peer, "inbound snapshot request failed: {error}")
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn publish(&mut self, topic: Topic, data: Vec<u8>) -> Result<MessageId, PublishError> {
        if data.len() > self.max_message_bytes {
            return Err(PublishError::TooLarge {
                len: data.len(),
                max: self.max_message_bytes,
            });
        }
        let hash = self
            .topics
            .iter()
            .find(|(_, t)| **t == topic)
            .map(|(h, _)| h.clone())
            .ok_or_else(|| PublishError::Other(format!("not subscribed to {topic}")))?;
        let id = MessageId::of(&data);
        match self.swarm.behaviour_mut().gossipsub.publish(hash, data) {
            Ok(_) => Ok(id),
            Err(gossipsub::PublishError::Duplicate) => Err(PublishError::Duplicate),
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => Err(PublishError::NoPeers),
            Err(gossipsub::PublishError::MessageTooLarge) => Err(PublishError::TooLarge {
                len: 0,
                max: self.max_message_bytes,
            }),
            Err(gossipsub::PublishError::AllQueuesFull(n)) => Err(PublishError::QueuesFull(n)),
            Err(e @ gossipsub::PublishError::SigningError(_))
            | Err(e @ gossipsub::PublishError::TransformFailed(_)) => {
                Err(PublishError::Other(e.to_string()))
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<NodeBehaviourEvent>) {
        use libp2p::metrics::Recorder;
        self.metrics.record(&event);
        match event {
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } if num_established.get() == 1 => {
                let info = PeerInfo {
                    peer_id,
                    address: endpoint.get_remote_address().clone(),
                    inbound: endpoint.is_listener(),
                    agent_version: None,
                };
                info!(peer = %peer_id, address = %info.address, inbound = info.inbound, "peer connected");
                self.shared.with_peers(|p| p.insert(peer_id, info.clone()));
                self.emit(NetworkEvent::PeerConnected(info));
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                cause,
                ..
            } => {
                info!(peer = %peer_id, cause = ?cause, "peer disconnected");
                self.shared.with_peers(|p| p.remove(&peer_id));
                self.emit(NetworkEvent::PeerDisconnected { peer_id });
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                let full = address
                    .with_p2p(self.shared.local_peer_id)
                    .unwrap_or_else(|a| a);
                info!("libp2p listening on {full}");
                {
                    let mut addrs = self
                        .shared
                        .listen_addrs
                        .write()
                        .unwrap_or_else(|e| e.into_inner());
                    if !addrs.contains(&full) {
                        addrs.push(full.clone());
                    }
                }
                self.emit(NetworkEvent::NewListenAddr { address: full });
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                let full = address
                    .with_p2p(self.shared.local_peer_id)
                    .unwrap_or_else(|a| a);
                info!("libp2p no longer listening on {full}");
                self.shared
                    .listen_addrs
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .retain(|a| a != &full);
            }
            SwarmEvent::ListenerClosed {
                addresses, reason, ..
            } => warn!(?addresses, ?reason, "listener closed"),
            SwarmEvent::ListenerError { error, .. } => warn!("listener error: {error}"),
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                peer_id,
                ..
            } => {
                debug!(
                    ?peer_id,
                    %send_back_addr,
                    "incoming connection failed: {}",
                    error_chain(&error)
                );
                self.refusals.record(&send_back_addr, &error);
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                debug!(
                    ?peer_id,
                    "outgoing connection failed: {}",
                    error_chain(&error)
                )
            }
            _ => {}
        }
    }

    fn on_behaviour_event(&mut self, event: NodeBehaviourEvent) {
        use libp2p::metrics::Recorder;
        match &event {
            NodeBehaviourEvent::Gossipsub(e) => self.metrics.record(e),
            NodeBehaviourEvent::Identify(e) => self.metrics.record(e),
            NodeBehaviourEvent::Kad(e) => self.metrics.record(e),
            NodeBehaviourEvent::Ping(e) => self.metrics.record(e),
            _ => {}
        }
        match event {
            NodeBehaviourEvent::Limits(never) | NodeBehaviourEvent::PeerLimit(never) => {
                match never {}
            }
            NodeBehaviourEvent::Gossipsub(event) => self.on_gossip(event),
            NodeBehaviourEvent::Sync(event) => self.on_sync(event),
            NodeBehaviourEvent::Snapshot(event) => self.on_snapshot(event),
            NodeBehaviourEvent::Identify(event) => self.on_identify(event),
            NodeBehaviourEvent::Kad(event) => self.on_kad(event),
            NodeBehaviourEvent::Mdns(event) => self.on_mdns(event),
            NodeBehaviourEvent::Ping(ping::Event { peer, result, .. }) => match result {
                Ok(rtt) => trace!(%peer, ?rtt, "ping"),
                Err(e) => debug!(%peer, "ping failed: {e}"),
            },
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => {
                let (Some(topic), Some(id)) = (
                    self.topics.get(&message.topic).copied(),
                    MessageId::from_gossipsub(&message_id),
                ) else {
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            MessageAcceptance::Ignore,
                        );
                    return;
                };
                if message.data.len() > self.max_message_bytes {
                    debug!(peer = %propagation_source, len = message.data.len(), "oversized gossip message rejected");
                    self.validate(id, propagation_source, MessageAcceptance::Reject);
                    return;
                }
                if self.events_full() {
                    warn!(message_id = %id, "event buffer full: gossip message dropped");
                    self.validate(id, propagation_source, MessageAcceptance::Ignore);
                    return;
                }
                trace!(%topic, message_id = %id, peer = %propagation_source, "gossip message");
                self.emit(NetworkEvent::Message(GossipMessage {
                    topic,
                    message_id: id,
                    propagation_source,
                    source: message.source,
                    data: message.data,
                }));
            }
            gossipsub::Event::Subscribed { peer_id, topic } => {
                debug!(peer = %peer_id, %topic, "peer subscribed")
            }
            gossipsub::Event::Unsubscribed { peer_id, topic } => {
                debug!(peer = %peer_id, %topic, "peer unsubscribed")
            }
            gossipsub::Event::GossipsubNotSupported { peer_id } => {
                debug!(peer = %peer_id, "peer does not support gossipsub")
            }
            gossipsub::Event::SlowPeer {
                peer_id,
                failed_messages,
            } => debug!(peer = %peer_id, ?failed_messages, "slow gossipsub peer"),
        }
    }

    fn on_sync(&mut self, event: request_response::Event<SyncRequest, SyncResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    if request.from_height > request.to_height {
                        debug!(%peer, ?request, "sync request with an empty range dropped");
                        return;
                    }
                    let request = clamp(request, self.max_blocks_per_request);
                    let Some(commands) = self.weak_commands.upgrade() else {
                        return;
                    };
                    debug!(%peer, ?request, "inbound sync request");
                    self.emit(NetworkEvent::SyncRequest {
                        peer_id: peer,
                        request,
                        responder: SyncResponder {
                            channel,
                            commands,
                            max_items: request.count(),
                            max_bytes: self.max_response_bytes,
                        },
                    });
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    let Some(pending) = self.pending_requests.remove(&request_id) else {
                        return;
                    };
                    let result = if response.items.len() as u64 > pending.max_items {
                        debug!(%peer, got = response.items.len(), "sync response with too many items");
                        Err(SyncError::TooManyItems {
                            got: response.items.len(),
                            max: pending.max_items,
                        })
                    } else {
                        Ok(response)
                    };
                    let _ = pending.reply.send(result);
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                debug!(%peer, "sync request failed: {error}");
                if let Some(pending) = self.pending_requests.remove(&request_id) {
                    let _ = pending.reply.send(Err(map_outbound_failure(error)));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                debug!(%peer, "inbound sync request failed: {error}")
            }
            request_response::Event::ResponseSent { peer, .. } => {
                trace!(%peer, "sync response sent")
            }
        }
    }

    fn on_identify(&mut self, event: identify::Event) {
        if let identify::Event::Received { peer_id, info, .. } = event {
            debug!(peer = %peer_id, agent = %info.agent_version, "identified peer");
            self.shared.with_peers(|p| {
                if let Some(entry) = p.get_mut(&peer_id) {
                    entry.agent_version = Some(info.agent_version.clone());
                }
            });
            if info.protocols.contains(&kad::PROTOCOL_NAME) {
                for addr in info.listen_addrs {
                    if is_dialable(&addr) {
                        self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                    }
                }
            }
        }
    }

    fn on_kad(&mut self, event: kad::Event) {
        match event {
            kad::Event::RoutingUpdated {
                peer, addresses, ..
            } => {
                trace!(%peer, "kademlia routing updated");
                self.maybe_dial(peer, addresses.into_vec());
            }
            other => trace!(?other, "kademlia event"),
        }
    }

    fn on_mdns(&mut self, event: mdns::Event) {
        if let mdns::Event::Discovered(found) = event {
            for (peer, addr) in found {
                debug!(%peer, %addr, "mdns discovered peer");
                self.swarm
                    .behaviour_mut()
                    .kad
                    .add_address(&peer, addr.clone());
                self.maybe_dial(peer, vec![addr]);
            }
        }
    }
}

/// libp2p-tcp listens with `SO_REUSEPORT`, so a second node configured with the port of
/// a running one would bind it too and the kernel would split incoming connections
/// between them. A plain bind (no `SO_REUSEPORT`) of a fixed port fails if anyone holds
/// it: try one first and refuse to start instead.
fn ensure_port_free(addr: &Multiaddr) -> Result<(), NetworkError> {
    let mut it = addr.iter();
    let ip: std::net::IpAddr = match it.next() {
        Some(Protocol::Ip4(ip)) => ip.into(),
        Some(Protocol::Ip6(ip)) => ip.into(),
        _ => return Ok(()),
    };
    let port = match it.next() {
        Some(Protocol::Tcp(port)) if port != 0 => port,
        _ => return Ok(()),
    };
    std::net::TcpListener::bind((ip, port))
        .map(drop)
        .map_err(|e| NetworkError::Listen {
            addr: addr.clone(),
            reason: e.to_string(),
        })
}

/// Dial options for an explicit address, as `Swarm::dial(addr)` builds them, but from
/// a new local port (why: see `maybe_dial`).
fn dial_opts(addr: Multiaddr) -> DialOpts {
    DialOpts::unknown_peer_id()
        .address(addr)
        .allocate_new_port()
        .build()
}

/// Addresses worth storing for a peer: a concrete IP and a TCP port.
fn is_dialable(addr: &Multiaddr) -> bool {
    let mut it = addr.iter();
    match it.next() {
        Some(Protocol::Ip4(ip)) if !ip.is_unspecified() => {}
        Some(Protocol::Ip6(ip)) if !ip.is_unspecified() => {}
        _ => return false,
    }
    matches!(it.next(), Some(Protocol::Tcp(p)) if p != 0)
}

/// An error and its sources, `: `-separated (libp2p's top-level messages are terse).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn map_outbound_failure(error: OutboundFailure) -> SyncError {
    match error {
        OutboundFailure::DialFailure => SyncError::PeerUnreachable,
        OutboundFailure::Timeout => SyncError::Timeout,
        OutboundFailure::ConnectionClosed => SyncError::ConnectionClosed,
        OutboundFailure::UnsupportedProtocols => SyncError::UnsupportedProtocol,
        OutboundFailure::Io(e) => SyncError::Malformed(e.to_string()),
    }
}
