//! The lab's error type.

use thiserror::Error;

/// What can go wrong when configuring or running a lab experiment.
#[derive(Debug, Error)]
pub enum LabError {
    /// A parameter is out of range or inconsistent with another.
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// The parameter (as the command line spells it).
        name: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// An adversary name that the protocol does not know.
    #[error("unknown adversary `{given}` for {protocol}; expected one of: {expected}")]
    UnknownAdversary {
        /// The protocol.
        protocol: &'static str,
        /// What was given.
        given: String,
        /// The accepted names, comma-separated.
        expected: String,
    },
    /// A network model the protocol cannot run on.
    #[error("{protocol} does not run on the {network} network model; expected one of: {expected}")]
    UnsupportedNetwork {
        /// The protocol.
        protocol: &'static str,
        /// What was given.
        network: String,
        /// The accepted models, comma-separated.
        expected: String,
    },
    /// Writing an output file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// JSON serialisation failed.
    #[error("cannot serialise to JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl LabError {
    /// An [`LabError::InvalidParameter`].
    pub fn invalid(name: &'static str, reason: impl Into<String>) -> LabError {
        LabError::InvalidParameter {
            name,
            reason: reason.into(),
        }
    }
}

/// The lab's result type.
pub type Result<T> = std::result::Result<T, LabError>;
