//! Errors and exit codes.
//!
//! Scripts can test the exit code of every command:
//!
//! | Code | Meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the node refused the request (a JSON-RPC error: the code, message and reason are printed), a transaction was rejected, or a local operation failed (for example a key file already exists) |
//! | 2 | usage error: bad arguments (clap), an unknown key name, a price off the tick size, ... |
//! | 3 | the node is unreachable, or the transport failed (connection refused, timeout, broken WebSocket) |
//! | 4 | wrong password for an encrypted key file |

use jsonrpsee::core::client::Error as ClientError;
use ledger_rpc::ApiError;
use serde_json::json;
use std::fmt;

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: the node refused (JSON-RPC error) or the operation failed.
pub const EXIT_REFUSED: i32 = 1;
/// Exit code: usage error (same as clap's).
pub const EXIT_USAGE: i32 = 2;
/// Exit code: node unreachable or transport error.
pub const EXIT_UNREACHABLE: i32 = 3;
/// Exit code: wrong password for an encrypted key file.
pub const EXIT_WRONG_PASSWORD: i32 = 4;

/// An error that ends a command, with the exit code it maps to.
#[derive(Debug)]
pub enum CliError {
    /// Bad input found after argument parsing (exit 2).
    Usage(String),
    /// The node answered with a JSON-RPC error object (exit 1).
    Rpc {
        /// The endpoint.
        url: String,
        /// The error object.
        error: Box<ApiError>,
    },
    /// The node could not be reached, or the transport failed (exit 3).
    Unreachable {
        /// The endpoint.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// Anything else that failed (exit 1).
    Failed(String),
    /// The password does not open an encrypted key file (exit 4).
    WrongPassword(String),
}

/// Result of a command.
pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    /// A usage error.
    pub fn usage(msg: impl Into<String>) -> CliError {
        CliError::Usage(msg.into())
    }

    /// A failure that is not the node's answer.
    pub fn failed(msg: impl Into<String>) -> CliError {
        CliError::Failed(msg.into())
    }

    /// Classifies a jsonrpsee client error from a call to `url`: an error object means
    /// the node refused; anything else means it could not be reached or the transport
    /// broke.
    pub fn from_client(url: &str, e: &ClientError) -> CliError {
        match ApiError::from_client_error(e) {
            Some(error) => CliError::Rpc {
                url: url.to_string(),
                error: Box::new(error),
            },
            None => CliError::Unreachable {
                url: url.to_string(),
                detail: transport_detail(e),
            },
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Rpc { .. } | CliError::Failed(_) => EXIT_REFUSED,
            CliError::Unreachable { .. } => EXIT_UNREACHABLE,
            CliError::WrongPassword(_) => EXIT_WRONG_PASSWORD,
        }
    }

    /// The error as the JSON document printed on stdout with `--json`.
    pub fn to_json(&self) -> serde_json::Value {
        let kind = match self {
            CliError::Usage(_) => "usage",
            CliError::Rpc { .. } => "rpc",
            CliError::Unreachable { .. } => "unreachable",
            CliError::Failed(_) => "failed",
            CliError::WrongPassword(_) => "wrong_password",
        };
        let mut err = json!({
            "kind": kind,
            "exit_code": self.exit_code(),
            "message": self.to_string(),
        });
        match self {
            CliError::Rpc { url, error } => {
                err["url"] = json!(url);
                err["code"] = json!(error.code);
                err["rpc_message"] = json!(error.message);
                if let Some(data) = &error.data {
                    err["data"] = serde_json::to_value(data).unwrap_or_default();
                }
            }
            CliError::Unreachable { url, .. } => err["url"] = json!(url),
            _ => {}
        }
        json!({ "error": err })
    }
}

/// A short description of a transport-level failure.
fn transport_detail(e: &ClientError) -> String {
    match e {
        ClientError::RequestTimeout => "the request timed out".into(),
        ClientError::RestartNeeded(inner) => format!("the connection closed ({inner})"),
        ClientError::HttpNotImplemented => {
            "subscriptions need a WebSocket URL (ws://HOST:PORT)".into()
        }
        other => {
            // Walk the source chain: "connection refused" is usually a few levels down.
            let mut msg = other.to_string();
            let mut src = std::error::Error::source(other);
            while let Some(s) = src {
                let s_msg = s.to_string();
                if !msg.contains(&s_msg) {
                    msg = format!("{msg}: {s_msg}");
                }
                src = s.source();
            }
            msg
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Failed(m) | CliError::WrongPassword(m) => {
                f.write_str(m)
            }
            CliError::Rpc { url, error } => {
                write!(
                    f,
                    "the node at {url} refused the request: {} (code {})",
                    error.message, error.code
                )?;
                if let Some(data) = &error.data {
                    write!(f, "\n  reason: {}", data.reason)?;
                    if let Some(field) = &data.field {
                        write!(f, "\n  field:  {field}")?;
                    }
                    for (k, v) in &data.details {
                        write!(f, "\n  {k}: {v}")?;
                    }
                }
                Ok(())
            }
            CliError::Unreachable { url, detail } => write!(
                f,
                "cannot reach the node at {url}: {detail}\n  (is `ledger-node` running there? set the endpoint with --rpc URL or LEDGER_RPC)"
            ),
        }
    }
}

impl From<ledger_types::keyfile::KeyFileError> for CliError {
    fn from(e: ledger_types::keyfile::KeyFileError) -> CliError {
        match e {
            ledger_types::keyfile::KeyFileError::WrongPassword { .. } => {
                CliError::WrongPassword(e.to_string())
            }
            other => CliError::Failed(other.to_string()),
        }
    }
}

/// Extension to turn a jsonrpsee result into a [`CliResult`] naming the endpoint.
pub trait RpcResultExt<T> {
    /// Maps the error with [`CliError::from_client`].
    fn at(self, url: &str) -> CliResult<T>;
}

impl<T> RpcResultExt<T> for Result<T, ClientError> {
    fn at(self, url: &str) -> CliResult<T> {
        self.map_err(|e| CliError::from_client(url, &e))
    }
}
