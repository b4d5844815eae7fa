//! tracing to stderr: `RUST_LOG` filters (else the config's filter), text or JSON.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Kademlia warns "Failed to trigger bootstrap: No known peers" whenever a node starts
/// without peers (every dev chain, every first node of a network); the node says what
/// matters about being alone itself. Added to the config's filter unless that filter
/// names `libp2p_kad` (and not applied when `RUST_LOG` is set).
const QUIET_KAD: &str = "libp2p_kad::behaviour=error";

/// Installs the global subscriber. `json` selects one JSON object per line.
pub fn init(default_filter: &str, json: bool) {
    let configured = if default_filter.contains("libp2p_kad") {
        default_filter.to_string()
    } else {
        format!("{default_filter},{QUIET_KAD}")
    };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&configured))
        .or_else(|_| EnvFilter::try_new(default_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // A second init (tests) is harmless.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.with_target(false).try_init()
    };
}
