//! Plain HTTP routes on the RPC port, in front of jsonrpsee:
//! `GET /health` (the process is up), `GET /health/ready` (synced and finalizing;
//! 503 with the reason otherwise), and the chain explorer (`GET`/`HEAD` on `/`, which
//! redirects, `/explorer/...` and `/favicon.ico`; see [`crate::explorer`]).
//! CORS headers for the configured origins.

use crate::shared::Shared;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use jsonrpsee::core::BoxError;
use jsonrpsee::server::{HttpBody, HttpResponse};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::{Layer, Service};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

/// The CORS layer for `cors_origins` (`["*"]`: any), or none when the list is empty.
pub fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let base = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([http::header::CONTENT_TYPE]);
    if origins.iter().any(|o| o == "*") {
        return Some(base.allow_origin(Any));
    }
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(base.allow_origin(AllowOrigin::list(list)))
}

/// Serves the node's own GET routes and passes everything else to jsonrpsee.
#[derive(Clone)]
pub struct NodeHttpLayer {
    shared: Arc<Shared>,
}

impl NodeHttpLayer {
    /// A layer over the shared node state.
    pub fn new(shared: Arc<Shared>) -> Self {
        NodeHttpLayer { shared }
    }
}

impl<S> Layer<S> for NodeHttpLayer {
    type Service = NodeHttp<S>;
    fn layer(&self, inner: S) -> NodeHttp<S> {
        NodeHttp {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`NodeHttpLayer`] builds.
#[derive(Clone)]
pub struct NodeHttp<S> {
    inner: S,
    shared: Arc<Shared>,
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> HttpResponse {
    let mut r = Response::new(HttpBody::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    r
}

/// How long the final height may stand still before `/health/ready` says so: ten
/// Streamlet epochs, or the Nakamoto finality depth times the block interval, times 3.
fn stall_after(shared: &Shared) -> Duration {
    match &shared.genesis.consensus {
        ledger_types::ConsensusParams::Streamlet(p) => {
            Duration::from_millis((20 * p.delta_ms).max(5_000))
        }
        ledger_types::ConsensusParams::Nakamoto(p) => {
            Duration::from_millis((3 * p.target_block_ms * (p.finality_depth + 1)).max(10_000))
        }
    }
}

impl<S, B> Service<Request<B>> for NodeHttp<S>
where
    S: Service<Request<B>, Response = HttpResponse>,
    S::Error: Into<BoxError> + 'static,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if !is_websocket(&req) {
            if let Some(r) = crate::explorer::respond(req.method(), req.uri().path(), req.headers())
            {
                return Box::pin(async move { Ok(r) });
            }
        }
        if req.method() == Method::GET && !is_websocket(&req) {
            let resp = match req.uri().path() {
                "/health" => Some(respond(StatusCode::OK, "text/plain", "ok\n".into())),
                "/health/ready" => Some(
                    match crate::isolation::alone(&self.shared)
                        .map_or_else(|| self.shared.readiness(stall_after(&self.shared)), Err)
                    {
                        Ok(()) => respond(StatusCode::OK, "text/plain", "ready\n".into()),
                        Err(reason) => respond(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "text/plain",
                            format!("not ready: {reason}\n"),
                        ),
                    },
                ),
                _ => None,
            };
            if let Some(r) = resp {
                return Box::pin(async move { Ok(r) });
            }
        }
        let fut = self.inner.call(req);
        Box::pin(async move { fut.await.map_err(Into::into) })
    }
}

fn is_websocket<B>(req: &Request<B>) -> bool {
    req.headers()
        .get(http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}
