//! Keeps `API.md` honest: every JSON block parses; a block marked
//! `<!-- check: Type -->` decodes as that wire type and encodes back to the same JSON;
//! a block marked `<!-- check: request -->` is a JSON-RPC request for a method of the API;
//! and every method of the API is documented.

use ledger_rpc::{
    AccountView, BlockView, CandleView, CertificateView, ChainStatus, MarketStatsView, MarketView,
    OrderBookView, OrderSubmitted, OrderUpdate, OrderView, Page, PeerView, TradeView, TransferView,
    TxSubmitted, TxView, ValidatorView, WireTx,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

const METHODS: &[&str] = &[
    "submit_order",
    "cancel_order",
    "submit_tx",
    "get_tx",
    "get_txs",
    "get_account_fills",
    "get_account_transfers",
    "get_account_txs",
    "get_candles",
    "get_market_stats",
    "rpc.discover",
    "get_block",
    "get_account",
    "get_orders",
    "get_order",
    "get_order_book",
    "get_trades",
    "get_markets",
    "chain_status",
    "get_validators",
    "get_peers",
    "get_block_certificate",
    "subscribe_blocks",
    "unsubscribe_blocks",
    "subscribe_trades",
    "unsubscribe_trades",
    "subscribe_book",
    "unsubscribe_book",
    "subscribe_orders",
    "unsubscribe_orders",
    "subscribe_tx",
    "unsubscribe_tx",
    "submit_bundle",
    "get_swap",
    "get_swaps",
    "subscribe_swaps",
    "unsubscribe_swaps",
];

fn same<T: DeserializeOwned + Serialize>(json: &Value, what: &str) {
    let parsed: T = serde_json::from_value(json.clone())
        .unwrap_or_else(|e| panic!("API.md {what} block does not decode: {e}\n{json:#}"));
    let back = serde_json::to_value(&parsed).unwrap();
    assert_eq!(&back, json, "API.md {what} block does not round-trip");
}

#[test]
fn api_md_examples_are_exact_wire_shapes() {
    let doc = include_str!("../API.md");
    let mut checked = 0;
    let mut rest = doc;
    let mut marker: Option<String> = None;
    while let Some(start) = rest.find("```json\n") {
        let before = &rest[..start];
        if let Some(m) = before.trim_end().lines().last() {
            marker = m
                .strip_prefix("<!-- check: ")
                .and_then(|m| m.strip_suffix(" -->"))
                .map(str::to_string);
        }
        let body_start = start + "```json\n".len();
        let end = rest[body_start..].find("\n```").expect("closed block") + body_start;
        let body = &rest[body_start..end];
        rest = &rest[end + 4..];
        let json: Value = serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("API.md block is not JSON: {e}\n{body}"));
        let Some(kind) = marker.take() else { continue };
        match kind.as_str() {
            "request" => {
                assert_eq!(json["jsonrpc"], "2.0");
                let m = json["method"].as_str().unwrap();
                assert!(METHODS.contains(&m), "unknown method {m}");
            }
            "WireTx" => same::<WireTx>(&json, &kind),
            "OrderSubmitted" => same::<OrderSubmitted>(&json, &kind),
            "TxSubmitted" => same::<TxSubmitted>(&json, &kind),
            "TxView" => same::<TxView>(&json, &kind),
            "BlockView" => same::<BlockView>(&json, &kind),
            "AccountView" => same::<AccountView>(&json, &kind),
            "OrderView" => same::<OrderView>(&json, &kind),
            "Page<OrderView>" => same::<Page<OrderView>>(&json, &kind),
            "OrderBookView" => same::<OrderBookView>(&json, &kind),
            "Page<TradeView>" => same::<Page<TradeView>>(&json, &kind),
            "Vec<MarketView>" => same::<Vec<MarketView>>(&json, &kind),
            "ChainStatus" => same::<ChainStatus>(&json, &kind),
            "Vec<ValidatorView>" => same::<Vec<ValidatorView>>(&json, &kind),
            "Vec<PeerView>" => same::<Vec<PeerView>>(&json, &kind),
            "OrderUpdate" => same::<OrderUpdate>(&json, &kind),
            "CertificateView" => same::<CertificateView>(&json, &kind),
            "Page<TransferView>" => same::<Page<TransferView>>(&json, &kind),
            "Page<CandleView>" => same::<Page<CandleView>>(&json, &kind),
            "MarketStatsView" => same::<MarketStatsView>(&json, &kind),
            "BundleSubmitted" => same::<ledger_rpc::BundleSubmitted>(&json, &kind),
            "SwapView" => same::<ledger_rpc::SwapView>(&json, &kind),
            "SwapUpdate" => same::<ledger_rpc::SwapUpdate>(&json, &kind),
            other => panic!("unknown check marker {other}"),
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} checked blocks");
    for m in METHODS {
        assert!(
            doc.contains(&format!("`{m}")),
            "API.md does not document {m}"
        );
    }
}

/// The OpenRPC document served by `rpc.discover` and `API.md` describe the same API:
/// the same methods (with their parameter lists in the headings or the subscription
/// table), and every field of each documented result type.
#[test]
fn openrpc_document_agrees_with_api_md() {
    let doc = include_str!("../API.md");
    let open = ledger_rpc::discover::openrpc_document();
    let methods = open["methods"].as_array().unwrap();
    let names: Vec<&str> = methods
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    let mut wire = ledger_rpc::discover::all_wire_names();
    wire.sort_unstable();
    let mut listed: Vec<&str> = METHODS.to_vec();
    listed.sort_unstable();
    assert_eq!(
        wire, listed,
        "rpc.discover and API.md list different methods"
    );
    for m in methods {
        let name = m["name"].as_str().unwrap();
        let params: Vec<String> = m["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let n = p["name"].as_str().unwrap();
                if p["required"].as_bool().unwrap() {
                    n.to_string()
                } else {
                    format!("{n}?")
                }
            })
            .collect();
        if let Some(sub) = m.get("x-subscription") {
            let row = format!(
                "| `{name}` / `{}` | {} |",
                sub["unsubscribe"].as_str().unwrap(),
                params
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            assert!(
                doc.contains(&row),
                "API.md lacks the subscription row {row}"
            );
        } else {
            let heading = format!("### `{name}({})`", params.join(", "));
            assert!(doc.contains(&heading), "API.md lacks the heading {heading}");
        }
    }
    assert!(names.contains(&"rpc.discover"));
    // Every property of a documented result type appears in API.md's examples.
    let schemas = &open["components"]["schemas"];
    for ty in [
        "TxView",
        "BlockView",
        "TradeView",
        "TransferView",
        "CandleView",
        "MarketStatsView",
        "OrderView",
        "AccountView",
        "WireTx",
        "TxSubmitted",
    ] {
        let props = schemas[ty]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("no schema for {ty}"));
        for field in props.keys() {
            assert!(
                doc.contains(&format!("\"{field}\"")),
                "API.md never shows field {field} of {ty}"
            );
        }
    }
}
