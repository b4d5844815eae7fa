//! JSON-RPC batches served concurrently.
//!
//! jsonrpsee answers the calls of a batch one after another: each `submit_*` call of a
//! bot's batch of 32 waited for its own signature check before the next call started, so
//! the signature batcher ([`crate::sig_batcher`]) saw one call per batch request in
//! flight, verified in batches of a few signatures instead of dozens, and a batch
//! request took 32 round trips to a verifier thread. [`ConcurrentBatches`] runs the
//! calls of a batch together (JSON-RPC 2.0: "the Server MAY process a batch rpc call as a
//! set of concurrent tasks, processing them in any order") and answers in the order of
//! the request, so a batch's signatures are checked together.
//!
//! Calls of one batch may take effect in any order. Transactions of one account with
//! consecutive nonces in one batch are all admitted whatever the order (the mempool
//! holds a later nonce until the gap before it fills), so wallets need not care. A read
//! in the same batch as a write may not see it (`[submit_order, get_orders]`): send
//! the read after the answer. When a batch's answer is over `max_response_bytes`, every
//! call still runs to its end and the batch is answered with jsonrpsee's error
//! (jsonrpsee would not start the calls after the one that crossed the limit).

use futures::stream::{FuturesUnordered, StreamExt};
use jsonrpsee::core::middleware::{Batch, BatchEntry, Notification, RpcServiceT};
use jsonrpsee::server::{BatchResponseBuilder, MethodResponse};
use jsonrpsee::types::Request;
use std::future::Future;

/// Wraps jsonrpsee's RPC service so that the calls of a batch run concurrently
/// (install with `RpcServiceBuilder::new().layer_fn(..)`).
#[derive(Clone, Debug)]
pub struct ConcurrentBatches<S> {
    service: S,
    max_response_bytes: usize,
}

impl<S> ConcurrentBatches<S> {
    /// Wraps `service`; a batch's whole answer is held to `max_response_bytes`, as
    /// jsonrpsee holds it.
    pub fn new(service: S, max_response_bytes: u32) -> Self {
        ConcurrentBatches {
            service,
            max_response_bytes: max_response_bytes as usize,
        }
    }
}

impl<S> RpcServiceT for ConcurrentBatches<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Send
        + Sync
        + Clone
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.service.call(request)
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let service = self.service.clone();
        let limit = self.max_response_bytes;
        async move {
            let mut running: FuturesUnordered<_> = batch
                .into_iter()
                .enumerate()
                .map(|(i, entry)| {
                    let service = service.clone();
                    async move {
                        let answer = match entry {
                            Ok(BatchEntry::Call(request)) => Some(service.call(request).await),
                            Ok(BatchEntry::Notification(n)) => {
                                service.notification(n).await;
                                None
                            }
                            Err(e) => {
                                let (error, id) = e.into_parts();
                                Some(MethodResponse::error(id, error))
                            }
                        };
                        (i, answer)
                    }
                })
                .collect();
            let mut answers: Vec<Option<MethodResponse>> = std::iter::repeat_with(|| None)
                .take(running.len())
                .collect();
            let mut notified = false;
            // The answer's length as `BatchResponseBuilder` counts it ("[", and each
            // answer with its "," or "]"). Once the answers so far exceed the limit, the
            // batch's answer is jsonrpsee's error (appending what finished fails with
            // it). The calls still running are finished, not dropped half-way (a
            // submission could otherwise be admitted but never gossiped), and their
            // answers are thrown away as they come.
            let mut length = 1;
            while let Some((i, answer)) = running.next().await {
                match answer {
                    Some(answer) => {
                        length += answer.as_ref().len() + 1;
                        answers[i] = Some(answer);
                        if length > limit {
                            while running.next().await.is_some() {}
                            break;
                        }
                    }
                    None => notified = true,
                }
            }
            let mut response = BatchResponseBuilder::new_with_limit(limit);
            for answer in answers.into_iter().flatten() {
                if let Err(too_big) = response.append(answer) {
                    return too_big;
                }
            }
            // Only notifications: nothing to answer. An empty batch is an invalid
            // request (`finish` says so), as in jsonrpsee.
            if response.is_empty() && notified {
                MethodResponse::notification()
            } else {
                MethodResponse::from_batch(response.finish())
            }
        }
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.service.notification(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonrpsee::server::middleware::rpc::RpcServiceBuilder;
    use jsonrpsee::server::{Server, ServerHandle};
    use jsonrpsee::RpcModule;
    use serde_json::{json, Value};
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::Barrier;

    struct Context {
        barrier: Barrier,
        finished: Arc<AtomicU64>,
    }

    /// A server with `echo` (returns its parameter) and `meet` (returns its parameter
    /// once three `meet` calls are in progress at the same time, or an error after 5 s);
    /// with [`ConcurrentBatches`] or, for comparison, jsonrpsee's own batches.
    async fn server(max_response_bytes: u32, concurrent: bool) -> (SocketAddr, ServerHandle) {
        server_counting(max_response_bytes, concurrent, Arc::default()).await
    }

    /// [`server`], counting in `finished` the `meet` calls that ran to their end.
    async fn server_counting(
        max_response_bytes: u32,
        concurrent: bool,
        finished: Arc<AtomicU64>,
    ) -> (SocketAddr, ServerHandle) {
        let mut module = RpcModule::new(Context {
            barrier: Barrier::new(3),
            finished,
        });
        module
            .register_method("echo", |params, _, _| params.one::<Value>())
            .unwrap();
        module
            .register_async_method("meet", |params, cx, _| async move {
                let v: Value = params.one()?;
                let met = tokio::time::timeout(Duration::from_secs(5), cx.barrier.wait()).await;
                cx.finished.fetch_add(1, Ordering::SeqCst);
                met.map_err(|_| {
                    jsonrpsee::types::ErrorObjectOwned::owned(-1, "met nobody", None::<()>)
                })?;
                Ok::<_, jsonrpsee::types::ErrorObjectOwned>(v)
            })
            .unwrap();
        let config = jsonrpsee::server::ServerConfig::builder()
            .max_response_body_size(max_response_bytes)
            .build();
        let server = Server::builder().set_config(config).set_rpc_middleware(
            RpcServiceBuilder::new().option_layer(concurrent.then(|| {
                tower::layer::layer_fn(move |s| ConcurrentBatches::new(s, max_response_bytes))
            })),
        );
        let server = server.build("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        (addr, server.start(module))
    }

    /// POSTs `body` and returns the response body ("" when there is none).
    async fn post(addr: SocketAddr, body: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let (head, body) = out.split_once("\r\n\r\n").expect("an HTTP response");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        body.to_string()
    }

    fn call(id: Value, method: &str, param: Value) -> Value {
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": [param]})
    }

    #[tokio::test]
    async fn the_calls_of_a_batch_run_together_and_answer_in_order() {
        let (addr, handle) = server(1 << 20, true).await;
        // Each `meet` returns only when all three run at once: one after the other,
        // the first would wait 5 s and fail.
        let batch = json!([
            call(json!(1), "meet", json!("a")),
            call(json!(2), "meet", json!("b")),
            call(json!(3), "meet", json!("c")),
        ]);
        let answer: Value = serde_json::from_str(&post(addr, &batch.to_string()).await).unwrap();
        assert_eq!(
            answer,
            json!([
                {"jsonrpc": "2.0", "id": 1, "result": "a"},
                {"jsonrpc": "2.0", "id": 2, "result": "b"},
                {"jsonrpc": "2.0", "id": 3, "result": "c"},
            ])
        );
        handle.stop().unwrap();
    }

    /// Every batch but one of concurrent calls gets the answer jsonrpsee itself gives.
    #[tokio::test]
    async fn batches_are_answered_as_jsonrpsee_answers_them() {
        let (ours, ours_handle) = server(1 << 20, true).await;
        let (plain, plain_handle) = server(1 << 20, false).await;
        let mixed = json!([
            call(json!(1), "echo", json!(7)),
            {"foo": 1},
            {"jsonrpc": "2.0", "method": "echo", "params": [8]},
            call(json!("x"), "nope", json!(0)),
            call(json!(5), "echo", json!({"k": [1, 2]})),
        ])
        .to_string();
        let only_notifications = json!([{"jsonrpc": "2.0", "method": "echo", "params": [1]}]);
        for body in [
            mixed.clone(),
            only_notifications.to_string(),
            "[]".to_string(),
            "[1, 2]".to_string(),
            "[{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"echo\", \"params\": [".to_string(),
        ] {
            assert_eq!(post(ours, &body).await, post(plain, &body).await, "{body}");
        }
        // What that answer is, for the mixed batch: in order, notifications left out.
        let answer: Value = serde_json::from_str(&post(ours, &mixed).await).unwrap();
        let answer = answer.as_array().expect("an array");
        assert_eq!(answer.len(), 4, "{answer:?}");
        assert_eq!(answer[0], json!({"jsonrpc": "2.0", "id": 1, "result": 7}));
        assert_eq!(answer[1]["id"], Value::Null);
        assert_eq!(answer[1]["error"]["code"], -32600, "invalid request");
        assert_eq!(answer[2]["id"], "x");
        assert_eq!(answer[2]["error"]["code"], -32601, "method not found");
        assert_eq!(answer[3]["result"], json!({"k": [1, 2]}));
        ours_handle.stop().unwrap();
        plain_handle.stop().unwrap();
    }

    #[tokio::test]
    async fn a_batch_answer_over_the_limit_is_one_error_as_in_jsonrpsee() {
        let (ours, ours_handle) = server(200, true).await;
        let (plain, plain_handle) = server(200, false).await;
        let long = "x".repeat(80);
        let batch = json!([
            call(json!(1), "echo", json!(long)),
            call(json!(2), "echo", json!(long)),
            call(json!(3), "echo", json!(long)),
        ])
        .to_string();
        let answer = post(ours, &batch).await;
        assert_eq!(answer, post(plain, &batch).await);
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["id"], Value::Null, "{answer}");
        assert_eq!(answer["error"]["code"], -32011, "{answer}");
        // Calls still running when the answer is already too big run to their end
        // (these two `meet`s wait 5 s for a third, then fail): none is dropped half-way.
        let finished = Arc::new(AtomicU64::new(0));
        let (counting, counting_handle) = server_counting(200, true, finished.clone()).await;
        let batch = json!([
            call(json!(1), "echo", json!(long)),
            call(json!(2), "echo", json!(long)),
            call(json!(3), "meet", json!("a")),
            call(json!(4), "meet", json!("b")),
        ])
        .to_string();
        let answer = post(counting, &batch).await;
        assert_eq!(finished.load(Ordering::SeqCst), 2, "{answer}");
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["error"]["code"], -32011, "{answer}");
        counting_handle.stop().unwrap();
        ours_handle.stop().unwrap();
        plain_handle.stop().unwrap();
    }
}
