//! Refused inbound connections: counted in `ledger_p2p_refused_total{reason}` and logged
//! at most once per [`LOG_EVERY`] per reason (with how many were not logged since), so
//! a flood is visible without flooding the log.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::swarm::ListenError;
use libp2p::{connection_limits, Multiaddr};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tracing::warn;

use crate::behaviour::{IpLimitKind, IpLimitReached, PeerLimitReached};

/// Shortest interval between two log lines of one reason.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// The reason label of a refused inbound connection.
pub(crate) fn reason(error: &ListenError) -> &'static str {
    match error {
        ListenError::Denied { cause } => {
            if let Some(r) = cause.downcast_ref::<IpLimitReached>() {
                match r.kind {
                    IpLimitKind::Pending => "pending_per_ip",
                    IpLimitKind::Established => "incoming_per_ip",
                }
            } else if cause.downcast_ref::<PeerLimitReached>().is_some() {
                "peer_limit"
            } else if let Some(e) = cause.downcast_ref::<connection_limits::Exceeded>() {
                if e.to_string().contains("pending incoming") {
                    "pending_limit"
                } else {
                    "connection_limit"
                }
            } else {
                "denied"
            }
        }
        ListenError::Aborted => "aborted",
        other => {
            let text = crate::network::error_chain(other).to_ascii_lowercase();
            if text.contains("timeout") || text.contains("timed out") {
                "handshake_timeout"
            } else {
                "handshake_failed"
            }
        }
    }
}

/// Counts and logs refusals.
pub(crate) struct Refusals {
    counter: Family<Vec<(String, String)>, Counter>,
    last_log: HashMap<&'static str, (Instant, u64)>,
}

impl Refusals {
    /// Registers `ledger_p2p_refused_total` in `registry`.
    pub(crate) fn new(registry: &mut prometheus_client::registry::Registry) -> Refusals {
        let counter = Family::<Vec<(String, String)>, Counter>::default();
        registry.register(
            "ledger_p2p_refused",
            "Inbound libp2p connections refused or failed before they were established, by reason",
            counter.clone(),
        );
        Refusals {
            counter,
            last_log: HashMap::new(),
        }
    }

    /// Records one refused or failed inbound connection from `from`.
    pub(crate) fn record(&mut self, from: &Multiaddr, error: &ListenError) {
        let reason = reason(error);
        self.counter
            .get_or_create(&vec![("reason".to_string(), reason.to_string())])
            .inc();
        let now = Instant::now();
        let entry = self.last_log.entry(reason).or_insert((now - LOG_EVERY, 0));
        if now.duration_since(entry.0) >= LOG_EVERY {
            let suppressed = entry.1;
            *entry = (now, 0);
            warn!(
                reason,
                %from,
                suppressed,
                "inbound libp2p connection refused: {}",
                crate::network::error_chain(error)
            );
        } else {
            entry.1 += 1;
        }
    }
}
