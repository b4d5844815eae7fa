//! Error codes and error objects.
//!
//! Every error is a JSON-RPC error object `{code, message, data}`. The standard codes
//! (-32700 parse, -32600 request, -32601 method, -32602 params, -32603 internal) and the
//! transport limits (-32006..-32011) are produced by jsonrpsee itself. Application errors
//! use the stable codes in [`codes`]; their `data` is an [`ErrorData`] object:
//! `{"reason": "<snake_case reason>", "field": "<parameter at fault>", ...details}` where
//! every detail value is a string. The full table is in the crate docs.

use jsonrpsee::core::client::Error as ClientError;
use jsonrpsee::types::{ErrorObject, ErrorObjectOwned};
use ledger_engine::Rejection;
use ledger_types::{Decimal, Hash};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The stable error codes.
pub mod codes {
    /// Invalid JSON (jsonrpsee).
    pub const PARSE_ERROR: i32 = jsonrpsee::types::error::PARSE_ERROR_CODE;
    /// Not a valid request object (jsonrpsee).
    pub const INVALID_REQUEST: i32 = jsonrpsee::types::error::INVALID_REQUEST_CODE;
    /// No such method (jsonrpsee).
    pub const METHOD_NOT_FOUND: i32 = jsonrpsee::types::error::METHOD_NOT_FOUND_CODE;
    /// Parameters missing or of the wrong JSON type (jsonrpsee).
    pub const INVALID_PARAMS: i32 = jsonrpsee::types::error::INVALID_PARAMS_CODE;
    /// A bug in the node; never the answer to bad input.
    pub const INTERNAL_ERROR: i32 = jsonrpsee::types::error::INTERNAL_ERROR_CODE;

    /// Well-formed but invalid input (a value that parses but makes no sense).
    pub const INVALID_INPUT: i32 = -32000;
    /// The block, transaction, order or market does not exist (here).
    pub const NOT_FOUND: i32 = -32001;
    /// The node cannot answer now (still syncing, not ready); retry later.
    pub const UNAVAILABLE: i32 = -32002;
    /// The transaction was refused by the mempool or the engine; `data.reason` says why.
    pub const REJECTED: i32 = -32003;
    /// A limit was exceeded (page size, book depth, mempool capacity, transaction size).
    pub const LIMIT_EXCEEDED: i32 = -32005;

    /// Too many subscriptions on one connection (jsonrpsee).
    pub const TOO_MANY_SUBSCRIPTIONS: i32 = jsonrpsee::types::error::TOO_MANY_SUBSCRIPTIONS_CODE;
    /// Request larger than the configured limit (jsonrpsee).
    pub const OVERSIZED_REQUEST: i32 = jsonrpsee::types::error::OVERSIZED_REQUEST_CODE;
    /// Response larger than the configured limit (jsonrpsee).
    pub const OVERSIZED_RESPONSE: i32 = jsonrpsee::types::error::OVERSIZED_RESPONSE_CODE;
    /// Too many connections or requests in flight (jsonrpsee).
    pub const SERVER_IS_BUSY: i32 = jsonrpsee::types::error::SERVER_IS_BUSY_CODE;
    /// Batch longer than the configured limit (jsonrpsee).
    pub const BATCH_TOO_LARGE: i32 = jsonrpsee::types::error::TOO_BIG_BATCH_REQUEST_CODE;
    /// Batch response larger than the configured limit (jsonrpsee).
    pub const BATCH_RESPONSE_TOO_LARGE: i32 = jsonrpsee::types::error::TOO_BIG_BATCH_RESPONSE_CODE;
}

/// The `data` member of an application error: the reason, the parameter at fault, and
/// reason-specific details (all strings).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct ErrorData {
    /// Stable snake_case reason, for example `insufficient_balance`.
    pub reason: String,
    /// The parameter or transaction field at fault (`nonce`, `payload.price`, `limit`,
    /// ...); absent when no input is at fault (for example `syncing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Reason-specific details, for example `expected` and `got` for a nonce.
    #[serde(flatten)]
    pub details: BTreeMap<String, String>,
}

/// An error object as a value: what a client receives, and what `get_tx` shows for a
/// rejected transaction.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ApiError {
    /// The code (see [`codes`]).
    pub code: i32,
    /// A message for people.
    pub message: String,
    /// Structured details (application errors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<ErrorData>,
}

impl ApiError {
    /// The error object of a failed call, if the server answered with one (`None` for
    /// transport errors, timeouts and the like).
    pub fn from_client_error(e: &ClientError) -> Option<ApiError> {
        match e {
            ClientError::Call(obj) => Some(ApiError::from(obj)),
            _ => None,
        }
    }

    /// `data.reason`, if any.
    pub fn reason(&self) -> Option<&str> {
        self.data.as_ref().map(|d| d.reason.as_str())
    }

    /// `data.field`, if any.
    pub fn field(&self) -> Option<&str> {
        self.data.as_ref().and_then(|d| d.field.as_deref())
    }

    /// A detail of `data`, if present.
    pub fn detail(&self, key: &str) -> Option<&str> {
        self.data
            .as_ref()
            .and_then(|d| d.details.get(key))
            .map(String::as_str)
    }
}

impl From<&ErrorObject<'_>> for ApiError {
    fn from(obj: &ErrorObject<'_>) -> ApiError {
        ApiError {
            code: obj.code(),
            message: obj.message().to_string(),
            data: obj
                .data()
                .and_then(|raw| serde_json::from_str::<ErrorData>(raw.get()).ok()),
        }
    }
}

impl From<ApiError> for ErrorObjectOwned {
    fn from(e: ApiError) -> ErrorObjectOwned {
        ErrorObject::owned(e.code, e.message, e.data)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {}", self.message, self.code)?;
        if let Some(r) = self.reason() {
            write!(f, ", reason {r}")?;
        }
        if let Some(field) = self.field() {
            write!(f, ", field {field}")?;
        }
        f.write_str(")")
    }
}

/// Why the mempool refused a transaction. The node's mempool maps its outcomes to these;
/// each has a stable reason, code and field (see the crate docs).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum MempoolError {
    /// The transaction is already in the mempool or already in a block.
    #[error("transaction already known")]
    Duplicate,
    /// The signature does not verify for the sender.
    #[error("signature does not verify for the sender")]
    BadSignature,
    /// Signed for another chain.
    #[error("transaction is for chain {got:?}, this chain is {expected:?}")]
    WrongChainId {
        /// This chain.
        expected: String,
        /// The transaction's.
        got: String,
    },
    /// The nonce was already used (or is already taken by a pending transaction).
    #[error("nonce {got} is too low; next nonce is {expected}")]
    NonceTooLow {
        /// The account's next nonce.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The nonce is too far ahead of the account's next nonce.
    #[error(
        "nonce {got} is too far ahead; next nonce is {expected}, at most {max_gap} ahead accepted"
    )]
    NonceTooHigh {
        /// The account's next nonce (counting pending transactions).
        expected: u64,
        /// The transaction's.
        got: u64,
        /// How far ahead of `expected` a nonce may be.
        max_gap: u64,
    },
    /// The sender cannot pay for the order or transfer.
    #[error(
        "insufficient {asset} balance: need {}, have {}",
        .needed.normalize(),
        .available.normalize()
    )]
    InsufficientBalance {
        /// Asset symbol.
        asset: String,
        /// Needed.
        needed: Decimal,
        /// Free.
        available: Decimal,
    },
    /// The mempool holds as many transactions as it may.
    #[error("mempool is full ({capacity} transactions); retry later")]
    Full {
        /// Capacity.
        capacity: u64,
    },
    /// The sender has as many pending transactions as one account may.
    #[error("too many pending transactions from this account (limit {limit}); retry later")]
    AccountLimit {
        /// Per-account limit.
        limit: u64,
    },
    /// The encoded transaction is larger than the chain allows.
    #[error("transaction is {size} bytes, the limit is {max}")]
    TooLarge {
        /// Encoded size.
        size: u64,
        /// Limit.
        max: u64,
    },
    /// The next block is above the transaction's `valid_until_height`.
    #[error("transaction expired: valid until height {valid_until_height}, the next block is {next_height}")]
    TxExpired {
        /// The transaction's last valid height.
        valid_until_height: u64,
        /// The height of the next block.
        next_height: u64,
    },
}

impl MempoolError {
    /// The stable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            MempoolError::Duplicate => "duplicate",
            MempoolError::BadSignature => "bad_signature",
            MempoolError::WrongChainId { .. } => "wrong_chain_id",
            MempoolError::NonceTooLow { .. } => "nonce_too_low",
            MempoolError::NonceTooHigh { .. } => "nonce_too_high",
            MempoolError::InsufficientBalance { .. } => "insufficient_balance",
            MempoolError::Full { .. } => "mempool_full",
            MempoolError::AccountLimit { .. } => "account_limit",
            MempoolError::TooLarge { .. } => "tx_too_large",
            MempoolError::TxExpired { .. } => "tx_expired",
        }
    }

    /// The code: [`codes::LIMIT_EXCEEDED`] for capacity and size limits, else
    /// [`codes::REJECTED`].
    pub fn code(&self) -> i32 {
        match self {
            MempoolError::Full { .. }
            | MempoolError::AccountLimit { .. }
            | MempoolError::TooLarge { .. } => codes::LIMIT_EXCEEDED,
            _ => codes::REJECTED,
        }
    }

    /// The transaction field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            MempoolError::Duplicate => "hash",
            MempoolError::BadSignature => "signature",
            MempoolError::WrongChainId { .. } => "chain_id",
            MempoolError::NonceTooLow { .. } | MempoolError::NonceTooHigh { .. } => "nonce",
            MempoolError::InsufficientBalance { .. } => "payload",
            MempoolError::Full { .. } | MempoolError::TooLarge { .. } => "tx",
            MempoolError::AccountLimit { .. } => "sender",
            MempoolError::TxExpired { .. } => "valid_until_height",
        }
    }

    fn details(&self) -> BTreeMap<String, String> {
        let mut d = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            d.insert(k.to_string(), v);
        };
        match self {
            MempoolError::Duplicate | MempoolError::BadSignature => {}
            MempoolError::WrongChainId { expected, got } => {
                put("expected", expected.clone());
                put("got", got.clone());
            }
            MempoolError::NonceTooLow { expected, got } => {
                put("expected", expected.to_string());
                put("got", got.to_string());
            }
            MempoolError::NonceTooHigh {
                expected,
                got,
                max_gap,
            } => {
                put("expected", expected.to_string());
                put("got", got.to_string());
                put("max_gap", max_gap.to_string());
            }
            MempoolError::InsufficientBalance {
                asset,
                needed,
                available,
            } => {
                put("asset", asset.clone());
                put("needed", needed.normalize().to_string());
                put("available", available.normalize().to_string());
            }
            MempoolError::Full { capacity } => put("limit", capacity.to_string()),
            MempoolError::AccountLimit { limit } => put("limit", limit.to_string()),
            MempoolError::TooLarge { size, max } => {
                put("size", size.to_string());
                put("limit", max.to_string());
            }
            MempoolError::TxExpired {
                valid_until_height,
                next_height,
            } => {
                put("valid_until_height", valid_until_height.to_string());
                put("height", next_height.to_string());
            }
        }
        d
    }
}

/// A resource `get_*` looks up.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Resource {
    /// A transaction.
    Tx,
    /// A block.
    Block,
    /// An order.
    Order,
    /// A market.
    Market,
    /// A hashlock swap.
    Swap,
}

impl Resource {
    /// Lowercase name.
    pub fn name(&self) -> &'static str {
        match self {
            Resource::Tx => "transaction",
            Resource::Block => "block",
            Resource::Order => "order",
            Resource::Market => "market",
            Resource::Swap => "swap",
        }
    }

    /// The reason of its not-found error.
    pub fn not_found_reason(&self) -> &'static str {
        match self {
            Resource::Tx => "tx_not_found",
            Resource::Block => "block_not_found",
            Resource::Order => "order_not_found",
            Resource::Market => "market_not_found",
            Resource::Swap => "swap_not_found",
        }
    }
}

/// An application error, ready to become a JSON-RPC error object with
/// `ErrorObjectOwned::from` (or `?` in a method returning `RpcResult`).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum RpcError {
    /// A parameter parses but is not acceptable (code -32000).
    #[error("invalid {field}: {message}")]
    InvalidInput {
        /// Stable reason (`invalid_input` unless more specific).
        reason: &'static str,
        /// The parameter at fault.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A write method got a transaction of the wrong kind (code -32000).
    #[error("{method} expects a {expected} transaction, got {got}")]
    WrongPayload {
        /// The method.
        method: &'static str,
        /// Payload types it accepts.
        expected: &'static str,
        /// The payload type it got.
        got: &'static str,
    },
    /// The supplied `hash` is not the hash of the transaction (code -32000).
    #[error("hash {claimed} does not match the transaction's canonical hash {computed}")]
    HashMismatch {
        /// The hash in the request.
        claimed: Hash,
        /// The hash of the canonical encoding.
        computed: Hash,
    },
    /// No such block, transaction, order or market (code -32001).
    #[error("{} {id} not found", resource.name())]
    NotFound {
        /// What was looked up.
        resource: Resource,
        /// The parameter that named it.
        field: &'static str,
        /// What it was named by.
        id: String,
    },
    /// The node cannot answer now (code -32002).
    #[error("{message}")]
    Unavailable {
        /// Stable reason, for example `syncing`.
        reason: &'static str,
        /// For people.
        message: String,
    },
    /// A request limit was exceeded (code -32005).
    #[error("{field} {got} exceeds the limit of {max}")]
    LimitExceeded {
        /// The parameter.
        field: &'static str,
        /// The requested value.
        got: u64,
        /// The largest accepted value.
        max: u64,
    },
    /// The mempool refused the transaction (code -32003, or -32005 for capacity limits).
    #[error(transparent)]
    Mempool(#[from] MempoolError),
    /// The engine refused the transaction (code -32003). Build it with
    /// [`crate::Catalog::rejection`] to have amounts in decimals and asset symbols.
    #[error("{message}")]
    Rejected {
        /// The engine's reason.
        rejection: Box<Rejection>,
        /// For people.
        message: String,
        /// The transaction field at fault.
        field: &'static str,
        /// Reason-specific details.
        details: BTreeMap<String, String>,
    },
    /// A bug (code -32603). The message should not leak internals.
    #[error("internal error: {0}")]
    Internal(String),
    /// `submit_tx` with `wait` gave up before the transaction reached the status
    /// (code -32002, reason `wait_timeout`). The transaction was admitted and may still
    /// land: follow it with `get_tx` or `subscribe_tx`.
    #[error("transaction {tx_hash} not {wanted} after {timeout_ms} ms (now {status}); it may still land")]
    WaitTimeout {
        /// The transaction.
        tx_hash: Hash,
        /// The status waited for.
        wanted: &'static str,
        /// Its status when the wait ended.
        status: &'static str,
        /// The timeout.
        timeout_ms: u64,
    },
}

impl RpcError {
    /// An invalid parameter with reason `invalid_input`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> RpcError {
        RpcError::InvalidInput {
            reason: "invalid_input",
            field: field.into(),
            message: message.into(),
        }
    }

    /// A missing resource.
    pub fn not_found(resource: Resource, field: &'static str, id: impl ToString) -> RpcError {
        RpcError::NotFound {
            resource,
            field,
            id: id.to_string(),
        }
    }

    /// The node is still catching up with its peers.
    pub fn syncing() -> RpcError {
        RpcError::Unavailable {
            reason: "syncing",
            message: "the node is syncing; retry later".into(),
        }
    }

    /// The code.
    pub fn code(&self) -> i32 {
        match self {
            RpcError::InvalidInput { .. }
            | RpcError::WrongPayload { .. }
            | RpcError::HashMismatch { .. } => codes::INVALID_INPUT,
            RpcError::NotFound { .. } => codes::NOT_FOUND,
            RpcError::Unavailable { .. } | RpcError::WaitTimeout { .. } => codes::UNAVAILABLE,
            RpcError::LimitExceeded { .. } => codes::LIMIT_EXCEEDED,
            RpcError::Mempool(m) => m.code(),
            RpcError::Rejected { .. } => codes::REJECTED,
            RpcError::Internal(_) => codes::INTERNAL_ERROR,
        }
    }

    /// The `data` object (`None` for internal errors).
    pub fn data(&self) -> Option<ErrorData> {
        let (reason, field, details): (&str, Option<String>, BTreeMap<String, String>) = match self
        {
            RpcError::InvalidInput { reason, field, .. } => {
                (reason, Some(field.clone()), BTreeMap::new())
            }
            RpcError::WrongPayload { expected, got, .. } => (
                "wrong_payload_type",
                Some("payload.type".into()),
                [
                    ("expected".to_string(), expected.to_string()),
                    ("got".to_string(), got.to_string()),
                ]
                .into(),
            ),
            RpcError::HashMismatch { claimed, computed } => (
                "hash_mismatch",
                Some("hash".into()),
                [
                    ("expected".to_string(), computed.to_hex()),
                    ("got".to_string(), claimed.to_hex()),
                ]
                .into(),
            ),
            RpcError::NotFound {
                resource, field, ..
            } => (
                resource.not_found_reason(),
                Some(field.to_string()),
                BTreeMap::new(),
            ),
            RpcError::Unavailable { reason, .. } => (reason, None, BTreeMap::new()),
            RpcError::LimitExceeded { field, got, max } => (
                "limit_exceeded",
                Some(field.to_string()),
                [
                    ("max".to_string(), max.to_string()),
                    ("got".to_string(), got.to_string()),
                ]
                .into(),
            ),
            RpcError::Mempool(m) => (m.reason(), Some(m.field().to_string()), m.details()),
            RpcError::Rejected {
                rejection,
                field,
                details,
                ..
            } => (
                rejection.code_name(),
                Some(field.to_string()),
                details.clone(),
            ),
            RpcError::WaitTimeout {
                tx_hash,
                status,
                timeout_ms,
                ..
            } => (
                "wait_timeout",
                Some("timeout_ms".into()),
                [
                    ("tx_hash".to_string(), tx_hash.to_hex()),
                    ("status".to_string(), status.to_string()),
                    ("timeout_ms".to_string(), timeout_ms.to_string()),
                ]
                .into(),
            ),
            RpcError::Internal(_) => return None,
        };
        Some(ErrorData {
            reason: reason.to_string(),
            field,
            details,
        })
    }

    /// The error as a value (what a client will see).
    pub fn to_api_error(&self) -> ApiError {
        ApiError {
            code: self.code(),
            message: self.to_string(),
            data: self.data(),
        }
    }
}

impl From<Rejection> for RpcError {
    /// A rejection rendered without the chain's asset and market tables (amounts in
    /// smallest units). Prefer [`crate::Catalog::rejection`].
    fn from(r: Rejection) -> RpcError {
        crate::catalog::render_rejection(&r, None, None)
    }
}

impl From<RpcError> for ErrorObjectOwned {
    fn from(e: RpcError) -> ErrorObjectOwned {
        e.to_api_error().into()
    }
}

impl From<MempoolError> for ErrorObjectOwned {
    fn from(e: MempoolError) -> ErrorObjectOwned {
        RpcError::Mempool(e).into()
    }
}

/// The page size for a `limit` parameter: 30 if absent, an error if 0 or above 100.
pub fn page_limit(limit: Option<u32>) -> Result<usize, RpcError> {
    bounded(
        "limit",
        limit,
        crate::types::DEFAULT_PAGE_LIMIT,
        crate::types::MAX_PAGE_LIMIT,
    )
}

/// The number of levels for a `depth` parameter: 20 if absent, an error if 0 or above
/// 500.
pub fn book_depth(depth: Option<u32>) -> Result<usize, RpcError> {
    bounded(
        "depth",
        depth,
        crate::types::DEFAULT_BOOK_DEPTH,
        crate::types::MAX_BOOK_DEPTH,
    )
}

fn bounded(field: &'static str, v: Option<u32>, default: u32, max: u32) -> Result<usize, RpcError> {
    match v {
        None => Ok(default as usize),
        Some(0) => Err(RpcError::invalid(field, "must be at least 1")),
        Some(n) if n > max => Err(RpcError::LimitExceeded {
            field,
            got: n as u64,
            max: max as u64,
        }),
        Some(n) => Ok(n as usize),
    }
}

/// Parses the `cursor` of `get_trades`: the trade id to continue below (exclusive).
pub fn trade_cursor(cursor: Option<&str>) -> Result<Option<u64>, RpcError> {
    cursor
        .map(|c| {
            crate::num::parse_u64(c)
                .map_err(|_| RpcError::invalid("cursor", "expected a trade id (decimal string)"))
        })
        .transpose()
}

/// Parses a `cursor` that is a transaction hash (`get_account_txs`,
/// `get_account_transfers`): the page continues strictly before that transaction.
pub fn tx_cursor(cursor: Option<&str>) -> Result<Option<Hash>, RpcError> {
    cursor
        .map(|c| {
            c.parse::<Hash>().map_err(|_| {
                RpcError::invalid("cursor", "expected a transaction hash (64 hex digits)")
            })
        })
        .transpose()
}

/// The `timeout_ms` of a waiting `submit_tx`: 30,000 if absent, an error if 0 or above
/// 120,000.
pub fn wait_timeout(timeout_ms: Option<u64>) -> Result<u64, RpcError> {
    match timeout_ms {
        None => Ok(crate::types::DEFAULT_WAIT_TIMEOUT_MS),
        Some(0) => Err(RpcError::invalid("timeout_ms", "must be at least 1")),
        Some(t) if t > crate::types::MAX_WAIT_TIMEOUT_MS => Err(RpcError::LimitExceeded {
            field: "timeout_ms",
            got: t,
            max: crate::types::MAX_WAIT_TIMEOUT_MS,
        }),
        Some(t) => Ok(t),
    }
}

/// Parses the `cursor` of `get_orders`: the order id to continue after (exclusive).
pub fn order_cursor(cursor: Option<&str>) -> Result<Option<Hash>, RpcError> {
    cursor
        .map(|c| {
            c.parse::<Hash>()
                .map_err(|_| RpcError::invalid("cursor", "expected an order id (64 hex digits)"))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_types::{AssetId, MarketId};
    use serde_json::json;

    fn obj(e: impl Into<ErrorObjectOwned>) -> serde_json::Value {
        serde_json::to_value(e.into()).unwrap()
    }

    #[test]
    fn mempool_errors_have_stable_codes_reasons_and_fields() {
        let cases: Vec<(MempoolError, i32, &str, &str)> = vec![
            (MempoolError::Duplicate, -32003, "duplicate", "hash"),
            (
                MempoolError::BadSignature,
                -32003,
                "bad_signature",
                "signature",
            ),
            (
                MempoolError::WrongChainId {
                    expected: "a".into(),
                    got: "b".into(),
                },
                -32003,
                "wrong_chain_id",
                "chain_id",
            ),
            (
                MempoolError::NonceTooLow {
                    expected: 5,
                    got: 3,
                },
                -32003,
                "nonce_too_low",
                "nonce",
            ),
            (
                MempoolError::NonceTooHigh {
                    expected: 5,
                    got: 3000,
                    max_gap: 1000,
                },
                -32003,
                "nonce_too_high",
                "nonce",
            ),
            (
                MempoolError::InsufficientBalance {
                    asset: "USD".into(),
                    needed: Decimal::new(1005, 1),
                    available: Decimal::from(3),
                },
                -32003,
                "insufficient_balance",
                "payload",
            ),
            (
                MempoolError::Full { capacity: 100 },
                -32005,
                "mempool_full",
                "tx",
            ),
            (
                MempoolError::AccountLimit { limit: 64 },
                -32005,
                "account_limit",
                "sender",
            ),
            (
                MempoolError::TooLarge {
                    size: 2000,
                    max: 1024,
                },
                -32005,
                "tx_too_large",
                "tx",
            ),
        ];
        for (e, code, reason, field) in cases {
            let v = obj(e.clone());
            assert_eq!(v["code"], json!(code), "{e}");
            assert_eq!(v["message"], json!(e.to_string()));
            assert_eq!(v["data"]["reason"], json!(reason));
            assert_eq!(v["data"]["field"], json!(field));
        }
        let v = obj(MempoolError::NonceTooLow {
            expected: 5,
            got: 3,
        });
        assert_eq!(
            v,
            json!({"code": -32003, "message": "nonce 3 is too low; next nonce is 5",
                   "data": {"reason": "nonce_too_low", "field": "nonce", "expected": "5", "got": "3"}})
        );
        let v = obj(MempoolError::InsufficientBalance {
            asset: "USD".into(),
            needed: Decimal::new(10050, 2),
            available: Decimal::from(3),
        });
        assert_eq!(v["data"]["needed"], json!("100.5"));
        assert_eq!(v["data"]["available"], json!("3"));
        assert_eq!(
            v["message"],
            json!("insufficient USD balance: need 100.5, have 3")
        );
    }

    #[test]
    fn request_errors() {
        assert_eq!(page_limit(None).unwrap(), 30);
        assert_eq!(page_limit(Some(100)).unwrap(), 100);
        let v = obj(page_limit(Some(101)).unwrap_err());
        assert_eq!(
            v,
            json!({"code": -32005, "message": "limit 101 exceeds the limit of 100",
                   "data": {"reason": "limit_exceeded", "field": "limit", "max": "100", "got": "101"}})
        );
        let v = obj(page_limit(Some(0)).unwrap_err());
        assert_eq!(v["code"], json!(-32000));
        assert_eq!(v["data"]["field"], json!("limit"));
        assert_eq!(book_depth(None).unwrap(), 20);
        assert_eq!(
            obj(book_depth(Some(501)).unwrap_err())["code"],
            json!(-32005)
        );

        assert_eq!(trade_cursor(Some("42")).unwrap(), Some(42));
        assert_eq!(trade_cursor(None).unwrap(), None);
        let v = obj(trade_cursor(Some("x")).unwrap_err());
        assert_eq!(
            v["data"],
            json!({"reason": "invalid_input", "field": "cursor"})
        );
        assert!(order_cursor(Some("abc")).is_err());

        let v = obj(RpcError::not_found(Resource::Tx, "hash", Hash::ZERO));
        assert_eq!(v["code"], json!(-32001));
        assert_eq!(
            v["data"],
            json!({"reason": "tx_not_found", "field": "hash"})
        );
        let v = obj(RpcError::syncing());
        assert_eq!(
            v,
            json!({"code": -32002, "message": "the node is syncing; retry later", "data": {"reason": "syncing"}})
        );
        let v = obj(RpcError::WrongPayload {
            method: "submit_order",
            expected: "place_order",
            got: "transfer",
        });
        assert_eq!(v["code"], json!(-32000));
        assert_eq!(
            v["data"],
            json!({"reason": "wrong_payload_type", "field": "payload.type", "expected": "place_order", "got": "transfer"})
        );
        let v = obj(RpcError::Internal("db".into()));
        assert_eq!(v["code"], json!(-32603));
        assert!(v.get("data").is_none());
    }

    #[test]
    fn engine_rejections_without_catalog() {
        let v = obj(RpcError::from(Rejection::NonceTooHigh {
            expected: 1,
            got: 9,
        }));
        assert_eq!(v["code"], json!(-32003));
        assert_eq!(
            v["data"],
            json!({"reason": "nonce_too_high", "field": "nonce", "expected": "1", "got": "9"})
        );
        let v = obj(RpcError::from(Rejection::InsufficientBalance {
            asset: AssetId(1),
            needed: 150,
            available: 20,
        }));
        assert_eq!(v["data"]["reason"], json!("insufficient_balance"));
        assert_eq!(v["data"]["asset_id"], json!("1"));
        assert_eq!(v["data"]["needed_units"], json!("150"));
        let v = obj(RpcError::from(Rejection::UnknownMarket(MarketId(9))));
        assert_eq!(
            v["data"],
            json!({"reason": "unknown_market", "field": "payload.market", "market_id": "9"})
        );
    }

    #[test]
    fn api_error_round_trips_through_error_objects() {
        let e = RpcError::from(MempoolError::BadSignature).to_api_error();
        let o: ErrorObjectOwned = e.clone().into();
        assert_eq!(ApiError::from(&o), e);
        assert_eq!(e.reason(), Some("bad_signature"));
        assert_eq!(e.field(), Some("signature"));
        assert_eq!(
            e.to_string(),
            "signature does not verify for the sender (code -32003, reason bad_signature, field signature)"
        );
        let client_err = ClientError::Call(o);
        assert_eq!(ApiError::from_client_error(&client_err), Some(e));
    }
}
