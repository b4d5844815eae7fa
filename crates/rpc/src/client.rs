//! Connecting to a node: [`connect`] returns a [`LedgerClient`] over HTTP or WebSocket
//! depending on the URL, on which every [`crate::LedgerApiClient`] method works
//! (subscriptions need WebSocket).

use jsonrpsee::core::client::{
    BatchResponse, ClientT, Error as ClientError, Subscription, SubscriptionClientT,
};
use jsonrpsee::core::params::BatchRequestBuilder;
use jsonrpsee::core::traits::ToRpcParams;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use serde::de::DeserializeOwned;
use std::fmt;
use std::time::Duration;

/// Largest response a client accepts by default (a full block with its transactions fits).
pub const DEFAULT_MAX_RESPONSE_BYTES: u32 = 64 * 1024 * 1024;
/// Default request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A client over HTTP or WebSocket. Implements jsonrpsee's `ClientT` and
/// `SubscriptionClientT`, so the generated [`crate::LedgerApiClient`] methods are
/// available on it; subscribing over HTTP fails with `ClientError::HttpNotImplemented`.
pub enum LedgerClient {
    /// HTTP (one request per call; no subscriptions).
    Http(HttpClient),
    /// WebSocket (one connection; subscriptions).
    Ws(WsClient),
}

impl fmt::Debug for LedgerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedgerClient::Http(_) => f.write_str("LedgerClient::Http"),
            LedgerClient::Ws(_) => f.write_str("LedgerClient::Ws"),
        }
    }
}

/// Options for [`connect_with`].
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Largest accepted response, in bytes.
    pub max_response_bytes: u32,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// Connects to a node: `http://HOST:PORT` gives an HTTP client, `ws://HOST:PORT` a
/// WebSocket client (which opens the connection now). Must run inside a tokio runtime.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use ledger_rpc::LedgerApiClient;
/// let client = ledger_rpc::connect("ws://127.0.0.1:8545").await?;
/// let status = client.chain_status().await?;
/// println!("{} at final height {}", status.chain_id, status.final_height);
/// # Ok(()) }
/// ```
pub async fn connect(url: &str) -> Result<LedgerClient, ClientError> {
    connect_with(url, &ConnectOptions::default()).await
}

/// [`connect`] with options.
pub async fn connect_with(url: &str, opts: &ConnectOptions) -> Result<LedgerClient, ClientError> {
    let scheme = url.split("://").next().unwrap_or("").to_ascii_lowercase();
    match scheme.as_str() {
        "http" | "https" => Ok(LedgerClient::Http(
            HttpClientBuilder::default()
                .request_timeout(opts.request_timeout)
                .max_response_size(opts.max_response_bytes)
                .build(url)?,
        )),
        "ws" | "wss" => Ok(LedgerClient::Ws(
            WsClientBuilder::default()
                .request_timeout(opts.request_timeout)
                .max_response_size(opts.max_response_bytes)
                .build(url)
                .await?,
        )),
        _ => Err(ClientError::Custom(format!(
            "unsupported RPC URL {url:?}: use http://HOST:PORT or ws://HOST:PORT"
        ))),
    }
}

impl LedgerClient {
    /// True for a WebSocket client (subscriptions work).
    pub fn is_ws(&self) -> bool {
        matches!(self, LedgerClient::Ws(_))
    }
}

impl ClientT for LedgerClient {
    async fn notification<Params>(&self, method: &str, params: Params) -> Result<(), ClientError>
    where
        Params: ToRpcParams + Send,
    {
        match self {
            LedgerClient::Http(c) => c.notification(method, params).await,
            LedgerClient::Ws(c) => c.notification(method, params).await,
        }
    }

    async fn request<R, Params>(&self, method: &str, params: Params) -> Result<R, ClientError>
    where
        R: DeserializeOwned,
        Params: ToRpcParams + Send,
    {
        match self {
            LedgerClient::Http(c) => c.request(method, params).await,
            LedgerClient::Ws(c) => c.request(method, params).await,
        }
    }

    async fn batch_request<'a, R>(
        &self,
        batch: BatchRequestBuilder<'a>,
    ) -> Result<BatchResponse<'a, R>, ClientError>
    where
        R: DeserializeOwned + fmt::Debug + 'a,
    {
        match self {
            LedgerClient::Http(c) => c.batch_request(batch).await,
            LedgerClient::Ws(c) => c.batch_request(batch).await,
        }
    }
}

impl SubscriptionClientT for LedgerClient {
    async fn subscribe<'a, Notif, Params>(
        &self,
        subscribe_method: &'a str,
        params: Params,
        unsubscribe_method: &'a str,
    ) -> Result<Subscription<Notif>, ClientError>
    where
        Params: ToRpcParams + Send,
        Notif: DeserializeOwned,
    {
        match self {
            LedgerClient::Http(_) => Err(ClientError::HttpNotImplemented),
            LedgerClient::Ws(c) => {
                c.subscribe(subscribe_method, params, unsubscribe_method)
                    .await
            }
        }
    }

    async fn subscribe_to_method<Notif>(
        &self,
        method: &str,
    ) -> Result<Subscription<Notif>, ClientError>
    where
        Notif: DeserializeOwned,
    {
        match self {
            LedgerClient::Http(_) => Err(ClientError::HttpNotImplemented),
            LedgerClient::Ws(c) => c.subscribe_to_method(method).await,
        }
    }
}
