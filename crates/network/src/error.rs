//! Errors of the network layer.

use libp2p::Multiaddr;

/// Starting the network or talking to its task failed.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// A config field is invalid; `field` names it.
    #[error("invalid network config `{field}`: {reason}")]
    Config {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The identity seed is not a valid ed25519 secret key.
    #[error("invalid identity seed: {0}")]
    Identity(String),
    /// Building the transport or a protocol behaviour failed.
    #[error("network setup failed: {0}")]
    Setup(String),
    /// Listening on an address failed (address in use, not local, ...).
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The configured listen address.
        addr: Multiaddr,
        /// Why it failed.
        reason: String,
    },
    /// Dialling an address failed immediately.
    #[error("cannot dial {addr}: {reason}")]
    Dial {
        /// The address.
        addr: Multiaddr,
        /// Why it failed.
        reason: String,
    },
    /// The network task has stopped (after `shutdown`, or because every handle was
    /// dropped).
    #[error("the network task has stopped")]
    Stopped,
}

/// Publishing a gossip message failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// The same payload was already published or received recently (same message id).
    /// Usually harmless: peers already have it.
    #[error("duplicate message: already seen")]
    Duplicate,
    /// The payload exceeds `max_message_bytes`.
    #[error("message of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Payload length.
        len: usize,
        /// The configured bound.
        max: usize,
    },
    /// No connected peer is subscribed to the topic (or all are below the publish score
    /// threshold). A lone node sees this for every publish.
    #[error("no peers subscribed to the topic")]
    NoPeers,
    /// The send queues of every selected peer are full.
    #[error("the send queues of all {0} selected peers are full")]
    QueuesFull(usize),
    /// Another gossipsub failure (signing).
    #[error("gossipsub publish failed: {0}")]
    Other(String),
    /// The network task has stopped.
    #[error("the network task has stopped")]
    Stopped,
}

/// A block sync request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// `from_height > to_height`.
    #[error("invalid height range {from}..={to}")]
    InvalidRange {
        /// First height asked for.
        from: u64,
        /// Last height asked for.
        to: u64,
    },
    /// No response within the configured request timeout.
    #[error("sync request timed out")]
    Timeout,
    /// The peer is not connected and could not be dialled.
    #[error("peer unreachable")]
    PeerUnreachable,
    /// The connection closed before the response arrived (the peer went away).
    #[error("connection closed before the response arrived")]
    ConnectionClosed,
    /// The peer does not speak the sync protocol of this chain.
    #[error("peer does not support the sync protocol")]
    UnsupportedProtocol,
    /// The response is oversized or does not decode, or the peer closed the stream
    /// without answering.
    #[error("malformed sync response: {0}")]
    Malformed(String),
    /// The response carries more items than were asked for.
    #[error("response carries {got} items, at most {max} were asked for")]
    TooManyItems {
        /// Items received.
        got: usize,
        /// Items asked for.
        max: u64,
    },
    /// The network task has stopped.
    #[error("the network task has stopped")]
    Stopped,
}
