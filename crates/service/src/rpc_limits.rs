//! Limits on the RPC port below jsonrpsee, at the TCP level: the node accepts
//! connections itself and hands each one to jsonrpsee's tower service.
//!
//! - **Connections** (`rpc.max_connections`, `rpc.max_connections_per_ip`): every open
//!   TCP connection counts, idle HTTP keep-alive sockets and WebSockets alike (jsonrpsee's
//!   own `max_connections` counts requests in progress, not sockets). A connection beyond
//!   a limit is answered `503` with JSON-RPC error -32005 and closed.
//! - **Idle timeout** (`rpc.idle_timeout_secs`): a connection that neither reads nor
//!   writes a byte for that long is closed (an idle keep-alive socket, a client that
//!   stopped reading its WebSocket). WebSockets are pinged at a third of it.
//! - **Accept errors** (out of file descriptors): the loop backs off for
//!   [`ACCEPT_BACKOFF`] instead of spinning.
//!
//! Every refusal increments `ledger_rpc_refused_total{reason}` and is logged at most once
//! per [`LOG_EVERY`] per reason, with the count of those not logged since.

use crate::metrics::Metrics;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::fmt::Display;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Shortest interval between two log lines of one refusal reason.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Pause after a failed `accept` (for example `EMFILE`: no file descriptor left).
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// A `warn!` per reason at most once per [`LOG_EVERY`], counting the ones skipped.
#[derive(Default)]
pub struct RateLimitedLog {
    last: Mutex<HashMap<&'static str, (Instant, u64)>>,
}

impl RateLimitedLog {
    /// Logs `detail` under `reason` unless that reason was logged less than
    /// [`LOG_EVERY`] ago.
    pub fn warn(&self, reason: &'static str, detail: impl Display) {
        let now = Instant::now();
        let mut last = self.last.lock();
        let entry = last
            .entry(reason)
            .or_insert((now.checked_sub(LOG_EVERY).unwrap_or(now), 0));
        if now.duration_since(entry.0) >= LOG_EVERY || entry.0 == now {
            let suppressed = entry.1;
            *entry = (now, 0);
            drop(last);
            tracing::warn!(reason, suppressed, "rpc: {detail}");
        } else {
            entry.1 += 1;
        }
    }
}

/// A refusal: counted in `ledger_rpc_refused_total{reason}` and logged (rate-limited).
pub fn refusal(
    metrics: &Metrics,
    log: &RateLimitedLog,
    reason: &'static str,
    detail: impl Display,
) {
    metrics.rpc_refusal(reason);
    log.warn(reason, detail);
}

/// Open connections, in all and per source address.
pub struct ConnectionLimits {
    max_total: usize,
    max_per_ip: u32,
    idle: Duration,
    table: Mutex<(usize, HashMap<IpAddr, u32>)>,
    metrics: Arc<Metrics>,
    log: RateLimitedLog,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `rpc.max_connections` connections are open.
    Total(usize),
    /// `rpc.max_connections_per_ip` connections are open from this address.
    PerIp(u32),
}

impl ConnectionLimits {
    /// Limits from the `[rpc]` section.
    pub fn new(rpc: &crate::config::RpcSection, metrics: Arc<Metrics>) -> Arc<ConnectionLimits> {
        Arc::new(ConnectionLimits {
            max_total: rpc.max_connections as usize,
            max_per_ip: rpc.max_connections_per_ip,
            idle: Duration::from_secs(rpc.idle_timeout_secs),
            table: Mutex::new((0, HashMap::new())),
            metrics,
            log: RateLimitedLog::default(),
        })
    }

    /// Counts a new connection from `ip`, or says which limit refuses it.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionSlot, Refused> {
        let mut t = self.table.lock();
        if t.0 >= self.max_total {
            return Err(Refused::Total(self.max_total));
        }
        let n = t.1.entry(ip).or_default();
        if *n >= self.max_per_ip {
            return Err(Refused::PerIp(self.max_per_ip));
        }
        *n += 1;
        t.0 += 1;
        self.metrics.rpc_connections.set(t.0 as i64);
        Ok(ConnectionSlot {
            limits: self.clone(),
            ip,
        })
    }

    /// Open connections now.
    pub fn open(&self) -> usize {
        self.table.lock().0
    }
}

/// One counted connection; dropping it frees the slot.
pub struct ConnectionSlot {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut t = self.limits.table.lock();
        t.0 = t.0.saturating_sub(1);
        if let Some(n) = t.1.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                t.1.remove(&self.ip);
            }
        }
        self.limits.metrics.rpc_connections.set(t.0 as i64);
    }
}

/// When a connection last moved a byte, and whether it was closed for idling.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    killed: AtomicBool,
    closed: AtomicBool,
    wakers: Mutex<[Option<Waker>; 2]>,
}

impl Activity {
    fn touch(&self) {
        self.last_ms
            .store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let now = self.start.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_ms.load(Ordering::Relaxed)))
    }

    fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        let wakers = std::mem::take(&mut *self.wakers.lock());
        for w in wakers.into_iter().flatten() {
            w.wake();
        }
    }

    fn register(&self, slot: usize, cx: &Context<'_>) {
        let mut w = self.wakers.lock();
        match &w[slot] {
            Some(old) if old.will_wake(cx.waker()) => {}
            _ => w[slot] = Some(cx.waker().clone()),
        }
    }
}

/// A TCP stream that records its activity, holds its connection slot, and fails every
/// read and write once the idle watchdog has closed it.
pub struct TrackedStream {
    inner: TcpStream,
    activity: Arc<Activity>,
    _slot: ConnectionSlot,
}

fn idle_error() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "rpc connection idle timeout")
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.activity.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(idle_error()));
        }
        self.activity.register(0, cx);
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.activity.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(idle_error()));
        }
        self.activity.register(1, cx);
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.activity.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(idle_error()));
        }
        self.activity.register(1, cx);
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Drop for TrackedStream {
    fn drop(&mut self) {
        self.activity.closed.store(true, Ordering::SeqCst);
    }
}

impl TrackedStream {
    /// Wraps an accepted socket and spawns its idle watchdog.
    fn new(inner: TcpStream, slot: ConnectionSlot, limits: &Arc<ConnectionLimits>) -> Self {
        let activity = Arc::new(Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            killed: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            wakers: Mutex::new([None, None]),
        });
        let watched = activity.clone();
        let limits = limits.clone();
        let peer = inner.peer_addr().ok();
        tokio::spawn(async move {
            let idle = limits.idle;
            loop {
                let waited = watched.idle_for();
                if waited < idle {
                    // Re-checked at least every 5 s so a closed connection's watchdog ends.
                    tokio::time::sleep((idle - waited).min(Duration::from_secs(5))).await;
                    if watched.closed.load(Ordering::SeqCst) {
                        return;
                    }
                    continue;
                }
                if watched.closed.load(Ordering::SeqCst) {
                    return;
                }
                refusal(
                    &limits.metrics,
                    &limits.log,
                    "idle_timeout",
                    format_args!(
                        "closing connection from {} after {} s without a byte read or written",
                        peer.map(|p| p.to_string()).unwrap_or_default(),
                        idle.as_secs()
                    ),
                );
                watched.kill();
                return;
            }
        });
        TrackedStream {
            inner,
            activity,
            _slot: slot,
        }
    }
}

/// The body of the `503` sent to a refused connection.
fn refusal_response(reason: &str, limit: u64) -> String {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {
            "code": -32005,
            "message": "connection limit reached, retry later",
            "data": { "reason": reason, "limit": limit },
        },
    })
    .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Answers a refused socket with the `503` (without waiting on it) and closes it.
fn refuse_socket(sock: TcpStream, reason: &str, limit: u64) {
    let _ = sock.try_write(refusal_response(reason, limit).as_bytes());
    // Read what the client already sent, so that closing does not reset the
    // connection before it reads the answer.
    let mut scratch = [0u8; 4096];
    while matches!(sock.try_read(&mut scratch), Ok(n) if n > 0) {}
    if let Ok(std) = sock.into_std() {
        let _ = std.shutdown(std::net::Shutdown::Write);
    }
}

/// Accepts connections on `listener` until `stop` fires, counts each against the limits
/// and hands it to `serve_one` (which serves it to the end).
pub async fn accept_loop<F, Fut>(
    listener: tokio::net::TcpListener,
    limits: Arc<ConnectionLimits>,
    stop: jsonrpsee::server::StopHandle,
    serve_one: F,
) where
    F: Fn(TrackedStream) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.clone().shutdown() => return,
        };
        let (sock, remote) = match accepted {
            Ok(a) => a,
            Err(e) => {
                refusal(
                    &limits.metrics,
                    &limits.log,
                    "accept_error",
                    format_args!("accept failed ({e}); pausing {ACCEPT_BACKOFF:?}"),
                );
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let slot = match limits.admit(remote.ip()) {
            Ok(slot) => slot,
            Err(r) => {
                let (reason, limit, what) = match r {
                    Refused::Total(n) => ("max_connections", n as u64, "rpc.max_connections"),
                    Refused::PerIp(n) => (
                        "max_connections_per_ip",
                        n as u64,
                        "rpc.max_connections_per_ip",
                    ),
                };
                refusal(
                    &limits.metrics,
                    &limits.log,
                    reason,
                    format_args!("refused connection from {remote}: {what} = {limit} reached"),
                );
                refuse_socket(sock, reason, limit);
                continue;
            }
        };
        let _ = sock.set_nodelay(true);
        let stream = TrackedStream::new(sock, slot, &limits);
        tokio::spawn(serve_one(stream));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_and_total_limits_count_and_release() {
        let rpc = crate::config::RpcSection {
            max_connections: 3,
            max_connections_per_ip: 2,
            ..Default::default()
        };
        let limits = ConnectionLimits::new(&rpc, Arc::new(Metrics::new()));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let s1 = limits.admit(a).unwrap();
        let _s2 = limits.admit(a).unwrap();
        assert_eq!(limits.admit(a).err(), Some(Refused::PerIp(2)));
        let _s3 = limits.admit(b).unwrap();
        assert_eq!(limits.admit(b).err(), Some(Refused::Total(3)));
        drop(s1);
        assert_eq!(limits.open(), 2);
        let _s4 = limits.admit(a).unwrap();
    }

    #[test]
    fn the_refusal_is_a_json_rpc_limit_error() {
        let r = refusal_response("max_connections_per_ip", 32);
        let (head, body) = r.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503"));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], -32005);
        assert_eq!(v["error"]["data"]["limit"], 32);
        assert!(head.contains(&format!("content-length: {}", body.len())));
    }
}
