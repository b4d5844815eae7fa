//! Bad input over JSON-RPC: every case answers with its documented error code and
//! reason, changes nothing, and the node keeps serving.

mod common;

use common::*;
use ledger_rpc::{ApiError, LedgerApiClient, MarketRef, Wallet, WireTx};
use ledger_types::{Decimal, Keypair, Side, Tx};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A raw HTTP POST; returns the status code and the body.
async fn post(addr: SocketAddr, body: &[u8]) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (
        status,
        text.split("\r\n\r\n").nth(1).unwrap_or("").to_string(),
    )
}

fn error_code(body: &str) -> i64 {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    v["error"]["code"].as_i64().unwrap_or(0)
}

fn api_error<T: std::fmt::Debug>(
    r: Result<T, ledger_rpc::jsonrpsee::core::client::Error>,
) -> ApiError {
    let e = r.expect_err("the call should fail");
    ApiError::from_client_error(&e).unwrap_or_else(|| panic!("not an API error: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_documented_errors_and_changes_nothing() {
    let key = Keypair::for_testing("rpc-validator");
    let mut net = Net::new(&genesis(std::slice::from_ref(&key), streamlet(50)));
    let mut c = net.config(0, &key, Vec::new(), true);
    c.rpc.max_request_bytes = 64 * 1024;
    c.rpc.max_batch_len = 4;
    net.start(c).await;
    let addr = net.rpc_addr(0);
    let client = net.client(0).await;
    wait_until("a final block", Duration::from_secs(20), || async {
        final_height(&client).await >= 1
    })
    .await;

    // Health.
    assert_eq!(get(addr, "/health").await.0, 200);
    // `/` redirects to the explorer, which is served under /explorer/.
    assert_eq!(get(addr, "/").await.0, 302);
    assert_eq!(get(addr, "/explorer/").await.0, 200);

    // Invalid JSON, not a request, unknown method, wrong params.
    let (_, body) = post(addr, b"{\"jsonrpc\":\"2.0\",").await;
    assert_eq!(error_code(&body), -32700, "{body}");
    let (_, body) = post(addr, b"[1]").await;
    assert!(body.contains("-32600"), "{body}");
    let (_, body) = post(
        addr,
        br#"{"jsonrpc":"2.0","id":1,"method":"no_such_method","params":[]}"#,
    )
    .await;
    assert_eq!(error_code(&body), -32601, "{body}");
    let (_, body) = post(
        addr,
        br#"{"jsonrpc":"2.0","id":1,"method":"get_block","params":[{"bogus":true}]}"#,
    )
    .await;
    assert_eq!(error_code(&body), -32602, "{body}");
    let (_, body) = post(
        addr,
        br#"{"jsonrpc":"2.0","id":1,"method":"get_account","params":["not-hex"]}"#,
    )
    .await;
    assert_eq!(error_code(&body), -32602, "{body}");
    // Oversized request and batch.
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"chain_status","params":["{}"]}}"#,
        "x".repeat(100 * 1024)
    );
    let (status, body) = post(addr, big.as_bytes()).await;
    assert!(
        status == 413 || error_code(&body) == -32007,
        "{status} {body}"
    );
    let call = json!({"jsonrpc":"2.0","id":1,"method":"chain_status","params":[]});
    let batch = serde_json::to_vec(&vec![call; 5]).unwrap();
    let (_, body) = post(addr, &batch).await;
    assert!(body.contains("-32010"), "{body}");

    // Transactions: bad signature, wrong chain id, insufficient balance, replayed nonce.
    let mut wallet = Wallet::from_node(&client, account(0)).await.unwrap();
    let m = wallet.market_id("BTC/USD").unwrap();
    let mut forged = wallet.place_limit(m, Side::Buy, Decimal::from(100), Decimal::ONE);
    forged.signature.0[7] ^= 1;
    let e = api_error(client.submit_order(WireTx::from(&forged)).await);
    assert_eq!((e.code, e.reason()), (-32003, Some("bad_signature")));

    let other = Tx {
        chain_id: "other-chain".into(),
        ..forged.tx.clone()
    }
    .sign(&account(0));
    let e = api_error(client.submit_order(WireTx::from(&other)).await);
    assert_eq!((e.code, e.reason()), (-32003, Some("wrong_chain_id")));

    wallet.set_next_nonce(0);
    let too_big = wallet.place_limit(m, Side::Buy, Decimal::from(1_000_000), Decimal::from(1_000));
    let e = api_error(client.submit_order(WireTx::from(&too_big)).await);
    assert_eq!((e.code, e.reason()), (-32003, Some("insufficient_balance")));

    wallet.set_next_nonce(0);
    let ok = wallet.place_limit(m, Side::Buy, Decimal::from(100), Decimal::ONE);
    let placed = client.submit_order(WireTx::from(&ok)).await.unwrap();
    let e = api_error(client.submit_order(WireTx::from(&ok)).await);
    assert_eq!((e.code, e.reason()), (-32003, Some("duplicate")));
    wait_until("the order to be final", Duration::from_secs(20), || async {
        all_final(&client, &[placed.tx_hash]).await
    })
    .await;
    let e = api_error(client.submit_order(WireTx::from(&ok)).await);
    assert_eq!((e.code, e.reason()), (-32003, Some("nonce_too_low")));

    // Nothing else changed: one resting order, the rest of the balance untouched.
    let book = client
        .get_order_book(MarketRef::Symbol("BTC/USD".into()), None)
        .await
        .unwrap();
    assert_eq!(book.bids.len(), 1);
    let acct = client.get_account(account(0).public()).await.unwrap();
    assert_eq!(acct.next_nonce, 1);
    // And the node keeps serving.
    assert!(client.chain_status().await.is_ok());
    assert_eq!(get(addr, "/health").await.0, 200);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_without_indexes_trades_and_says_what_it_cannot_answer() {
    let key = Keypair::for_testing("rpc-unindexed-validator");
    let mut net = Net::new(&genesis(std::slice::from_ref(&key), streamlet(50)));
    let mut c = net.config(0, &key, Vec::new(), true);
    c.storage.indexes = false;
    net.start(c).await;
    let client = net.client(0).await;
    wait_until("a final block", Duration::from_secs(20), || async {
        final_height(&client).await >= 1
    })
    .await;

    let mut wallet = Wallet::from_node(&client, account(0)).await.unwrap();
    let m = wallet.market_id("BTC/USD").unwrap();
    let order = wallet.place_limit(m, Side::Buy, Decimal::from(100), Decimal::ONE);
    // Waiting for finality reads the transaction index: refused before admission, so the
    // same transaction is still new afterwards.
    let e = api_error(
        client
            .submit_tx(WireTx::from(&order), Some(ledger_rpc::WaitFor::Final), None)
            .await,
    );
    assert_eq!((e.code, e.reason()), (-32002, Some("not_indexed")), "{e:?}");
    let placed = client.submit_order(WireTx::from(&order)).await.unwrap();

    // The order executes: it rests on the book and the nonce is used.
    wait_until("the order on the book", Duration::from_secs(20), || async {
        client
            .get_order_book(MarketRef::Symbol("BTC/USD".into()), None)
            .await
            .is_ok_and(|b| b.bids.len() == 1)
    })
    .await;
    let acct = client.get_account(account(0).public()).await.unwrap();
    assert_eq!(acct.next_nonce, 1);

    // What only the indexes answer says so, with the documented code and reason.
    let e = api_error(client.get_tx(placed.tx_hash).await);
    assert_eq!((e.code, e.reason()), (-32002, Some("not_indexed")), "{e:?}");
    assert!(e.message.contains("indexes = false"), "{}", e.message);
    let e = api_error(
        client
            .get_trades(MarketRef::Symbol("BTC/USD".into()), None, None)
            .await,
    );
    assert_eq!((e.code, e.reason()), (-32002, Some("not_indexed")), "{e:?}");
    // And the node keeps serving the rest.
    assert!(client.chain_status().await.is_ok());
    net.shutdown().await;
}
