//! `rpc.discover`: the API as an [OpenRPC 1.2](https://spec.open-rpc.org) document.
//!
//! The method list ([`METHODS`]) mirrors the [`crate::api::LedgerApi`] trait: a test
//! compares it with the methods the generated server registers and with the headings
//! and parameter lists of `API.md`, so the three cannot drift. The component schemas
//! are generated from the wire types themselves: a value of each type, with every
//! optional field present, is serialized with serde and its JSON shape becomes the
//! schema (field names, JSON types, and which fields are optional), so a field added to
//! a wire type appears in the document without anyone editing it.

use crate::types::*;
use ledger_engine::{CancelReason, ExpireReason};
use ledger_types::{
    AmendOrder, Batch, BatchAction, CancelOrder, ClientOrderId, Decimal, Hash, Keypair, MarketId,
    OrderKind, OrderRef, Payload, PlaceOrder, ScheduleCancel, SelfTradePrevention, Side,
    TimeInForce, Tx,
};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// A parameter of a method: name, schema (a `$ref` name or an inline JSON type) and
/// whether it may be left out.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// Name (also the name for by-name calls).
    pub name: &'static str,
    /// Component schema name, or one of `string`, `integer`, `boolean`, `array`.
    pub schema: &'static str,
    /// True if optional.
    pub optional: bool,
}

/// A method of the API.
#[derive(Clone, Copy, Debug)]
pub struct Method {
    /// Wire name.
    pub name: &'static str,
    /// One line for people.
    pub summary: &'static str,
    /// Parameters, in positional order.
    pub params: &'static [Param],
    /// Result (or, for a subscription, item) schema.
    pub result: &'static str,
    /// For a subscription: the unsubscribe method's name.
    pub unsubscribe: Option<&'static str>,
}

const fn p(name: &'static str, schema: &'static str) -> Param {
    Param {
        name,
        schema,
        optional: false,
    }
}

const fn o(name: &'static str, schema: &'static str) -> Param {
    Param {
        name,
        schema,
        optional: true,
    }
}

const fn m(
    name: &'static str,
    summary: &'static str,
    params: &'static [Param],
    result: &'static str,
) -> Method {
    Method {
        name,
        summary,
        params,
        result,
        unsubscribe: None,
    }
}

const fn sub(
    name: &'static str,
    unsubscribe: &'static str,
    summary: &'static str,
    params: &'static [Param],
    result: &'static str,
) -> Method {
    Method {
        name,
        summary,
        params,
        result,
        unsubscribe: Some(unsubscribe),
    }
}

/// Every method of the API, in the order of `API.md`.
pub const METHODS: &[Method] = &[
    m(
        "submit_order",
        "Submit a signed place_order transaction.",
        &[p("tx", "WireTx")],
        "OrderSubmitted",
    ),
    m(
        "cancel_order",
        "Submit a signed cancel_order or cancel_all transaction.",
        &[p("tx", "WireTx")],
        "TxSubmitted",
    ),
    m(
        "submit_tx",
        "Submit any signed transaction; optionally wait until it is included or final.",
        &[
            p("tx", "WireTx"),
            o("wait", "WaitFor"),
            o("timeout_ms", "integer"),
        ],
        "TxSubmitted",
    ),
    m(
        "get_tx",
        "A transaction with its status and receipt.",
        &[p("hash", "string")],
        "TxView",
    ),
    m(
        "get_txs",
        "Many transactions at once (null for unknown hashes).",
        &[p("hashes", "array")],
        "TxViewOrNullList",
    ),
    m(
        "get_block",
        "A block by height, hash, latest or final.",
        &[p("block", "string"), o("include_txs", "boolean")],
        "BlockView",
    ),
    m(
        "get_account",
        "Balances and nonces of an account.",
        &[p("account", "string")],
        "AccountView",
    ),
    m(
        "get_orders",
        "An account's orders, newest first.",
        &[
            p("account", "string"),
            o("market", "string"),
            o("status", "string"),
            o("limit", "integer"),
            o("cursor", "string"),
        ],
        "OrderViewPage",
    ),
    m(
        "get_order",
        "One order by id.",
        &[p("order_id", "string")],
        "OrderView",
    ),
    m(
        "get_order_book",
        "L2 depth of a market.",
        &[p("market", "string"), o("depth", "integer")],
        "OrderBookView",
    ),
    m(
        "get_trades",
        "A market's trades, newest first.",
        &[
            p("market", "string"),
            o("limit", "integer"),
            o("cursor", "string"),
        ],
        "TradeViewPage",
    ),
    m(
        "get_account_fills",
        "An account's fills on every market, newest first.",
        &[
            p("account", "string"),
            o("limit", "integer"),
            o("cursor", "string"),
        ],
        "TradeViewPage",
    ),
    m(
        "get_account_transfers",
        "An account's transfers, sent and received, newest first.",
        &[
            p("account", "string"),
            o("limit", "integer"),
            o("cursor", "string"),
        ],
        "TransferViewPage",
    ),
    m(
        "get_account_txs",
        "An account's final transactions with receipts, newest first.",
        &[
            p("account", "string"),
            o("limit", "integer"),
            o("cursor", "string"),
        ],
        "TxViewPage",
    ),
    m(
        "get_candles",
        "OHLCV candles of a market, newest first.",
        &[
            p("market", "string"),
            p("interval", "string"),
            o("limit", "integer"),
            o("cursor", "string"),
        ],
        "CandleViewPage",
    ),
    m(
        "get_market_stats",
        "Rolling 24-hour statistics of a market.",
        &[p("market", "string")],
        "MarketStatsView",
    ),
    m(
        "get_markets",
        "Every market with its sizes and fees.",
        &[],
        "MarketViewList",
    ),
    m(
        "chain_status",
        "Chain id, heights, state root, peers.",
        &[],
        "ChainStatus",
    ),
    m(
        "get_validators",
        "The genesis validators with their last proposal and last vote.",
        &[],
        "ValidatorViewList",
    ),
    m(
        "get_peers",
        "The node's connected peers.",
        &[],
        "PeerViewList",
    ),
    m(
        "get_block_certificate",
        "Why a final block is final: Streamlet signers or the PoW finality depth.",
        &[p("block", "string")],
        "CertificateView",
    ),
    m("rpc.discover", "This document.", &[], "OpenRpcDocument"),
    sub(
        "subscribe_blocks",
        "unsubscribe_blocks",
        "Every new final block.",
        &[o("include_txs", "boolean")],
        "BlockView",
    ),
    sub(
        "subscribe_trades",
        "unsubscribe_trades",
        "Every trade of a market.",
        &[p("market", "string")],
        "TradeView",
    ),
    sub(
        "subscribe_book",
        "unsubscribe_book",
        "Snapshots of a market's book.",
        &[p("market", "string"), o("depth", "integer")],
        "OrderBookView",
    ),
    sub(
        "subscribe_orders",
        "unsubscribe_orders",
        "Updates of an account's orders.",
        &[p("account", "string")],
        "OrderUpdate",
    ),
    sub(
        "subscribe_tx",
        "unsubscribe_tx",
        "One transaction's status changes.",
        &[p("hash", "string")],
        "TxView",
    ),
];

/// The methods of [`crate::AtomicApi`] (bundles and hashlock swaps), in the order of
/// `API.md`. The node serves them beside [`METHODS`]; `rpc.discover` lists both.
pub const ATOMIC_METHODS: &[Method] = &[
    m(
        "submit_bundle",
        "Submit a signed bundle transaction (2 to 8 IOC/FOK legs, all or nothing).",
        &[p("tx", "WireTx")],
        "BundleSubmitted",
    ),
    m(
        "get_swap",
        "A hashlock swap by id, with the revealed preimage once claimed.",
        &[p("swap_id", "string")],
        "SwapView",
    ),
    m(
        "get_swaps",
        "The swaps an account owns or may claim, newest lock first.",
        &[
            p("account", "string"),
            o("limit", "integer"),
            o("cursor", "string"),
        ],
        "SwapViewPage",
    ),
    sub(
        "subscribe_swaps",
        "unsubscribe_swaps",
        "Every swap lock, claim and refund (of one account, if given).",
        &[o("account", "string")],
        "SwapUpdate",
    ),
];

/// Every wire name the node's server registers: [`wire_names`] and those of
/// [`ATOMIC_METHODS`].
pub fn all_wire_names() -> Vec<&'static str> {
    let mut out = wire_names();
    for m in ATOMIC_METHODS {
        out.push(m.name);
        if let Some(u) = m.unsubscribe {
            out.push(u);
        }
    }
    out
}

/// Every wire name of [`crate::api::LedgerApi`]: methods, subscriptions and
/// unsubscriptions.
pub fn wire_names() -> Vec<&'static str> {
    let mut out = Vec::new();
    for m in METHODS {
        out.push(m.name);
        if let Some(u) = m.unsubscribe {
            out.push(u);
        }
    }
    out
}

/// The JSON shape of `value` as a JSON Schema: objects list their properties (all of
/// them, since samples carry every optional field) with `required` for those present
/// in `required_sample` too; strings, numbers, booleans and arrays by type.
fn shape(value: &Value, required_sample: Option<&Value>) -> Value {
    match value {
        Value::Null => json!({"type": "null"}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(_) => json!({"type": "integer"}),
        Value::String(_) => json!({"type": "string"}),
        Value::Array(items) => match items.first() {
            Some(first) => json!({"type": "array", "items": shape(first, None)}),
            None => json!({"type": "array"}),
        },
        Value::Object(fields) => {
            let mut props = Map::new();
            let mut required = Vec::new();
            for (k, v) in fields {
                let inner = required_sample.and_then(|r| r.get(k));
                props.insert(k.clone(), shape(v, inner));
                if required_sample.is_none_or(|r| r.get(k).is_some_and(|x| !x.is_null())) {
                    required.push(Value::String(k.clone()));
                }
            }
            json!({"type": "object", "properties": props, "required": required})
        }
    }
}

/// The schema of a wire type from a full sample (every optional field present) and a
/// minimal one (optional fields absent): fields missing or `null` in the minimal
/// sample are optional.
fn schema_of<T: Serialize>(full: &T, minimal: &T) -> Value {
    let full = serde_json::to_value(full).unwrap_or(Value::Null);
    let minimal = serde_json::to_value(minimal).unwrap_or(Value::Null);
    shape(&full, Some(&minimal))
}

fn list_of(item: &str) -> Value {
    json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}})
}

fn page_of(item: &str) -> Value {
    json!({"type": "object",
           "properties": {"items": list_of(item), "next_cursor": {"type": ["string", "null"]}},
           "required": ["items", "next_cursor"]})
}

/// The samples the schemas are generated from.
struct Samples {
    tx_full: WireTx,
    tx_min: WireTx,
    stx_full: ledger_types::SignedTx,
    stx_min: ledger_types::SignedTx,
}

fn samples() -> Samples {
    let k = Keypair::for_testing("alice");
    let order = PlaceOrder {
        market: MarketId(0),
        side: Side::Buy,
        kind: OrderKind::Limit,
        price: Some(Decimal::new(1005, 1)),
        quantity: Decimal::ONE,
        time_in_force: TimeInForce::Gtc,
        client_order_id: Some(ClientOrderId(7)),
        self_trade: SelfTradePrevention::ExpireMaker,
        good_till_height: Some(9),
    };
    let mut tx = Tx::new("ledger-test", k.public(), 0, Payload::PlaceOrder(order));
    tx.valid_until_height = Some(10);
    let stx_full = tx.clone().sign(&k);
    tx.valid_until_height = None;
    let stx_min = tx.sign(&k);
    let mut tx_min = WireTx::from(&stx_min);
    tx_min.hash = None;
    Samples {
        tx_full: WireTx::from(&stx_full),
        tx_min,
        stx_full,
        stx_min,
    }
}

fn hash(s: &str) -> Hash {
    Hash::digest(s.as_bytes())
}

fn trade() -> TradeView {
    let a = Keypair::for_testing("a").public();
    TradeView {
        trade_id: 1,
        market: "BTC/USD".into(),
        market_id: 0,
        price: Decimal::ONE,
        quantity: Decimal::ONE,
        quote_quantity: Decimal::ONE,
        taker_side: Side::Buy,
        maker_order_id: hash("m"),
        maker_client_order_id: Some(ClientOrderId(1)),
        maker: a,
        maker_fee: Decimal::ZERO,
        maker_remaining: Decimal::ZERO,
        taker_order_id: hash("t"),
        taker_client_order_id: Some(ClientOrderId(2)),
        taker: a,
        taker_fee: Decimal::ZERO,
        taker_remaining: Decimal::ZERO,
        fee_asset: "USD".into(),
        block_height: 1,
        time_ms: 1,
        tx_hash: hash("t"),
    }
}

fn tx_view(s: &Samples, full: bool) -> TxView {
    let stx = if full { &s.stx_full } else { &s.stx_min };
    let mut v = TxView::pending(stx);
    if full {
        v.block_height = Some(1);
        v.block_hash = Some(hash("b"));
        v.position = Some(0);
        v.time_ms = Some(1);
        v.events = vec![EventView::Fill(Box::new(trade()))];
        let err = crate::error::RpcError::invalid("x", "y").to_api_error();
        v.error = Some(err.clone());
        v.actions = Some(vec![ActionResultView {
            index: 0,
            status: ActionStatus::Rejected,
            order_id: Some(hash("o")),
            error: Some(err),
        }]);
    }
    v
}

fn component_schemas() -> Map<String, Value> {
    let s = samples();
    let a = Keypair::for_testing("a").public();
    let mut c = Map::new();
    let mut put = |name: &str, v: Value| {
        c.insert(name.to_string(), v);
    };
    put("WireTx", schema_of(&s.tx_full, &s.tx_min));
    put(
        "WaitFor",
        json!({"type": "string", "enum": ["included", "final"]}),
    );
    put(
        "OrderSubmitted",
        schema_of(
            &OrderSubmitted {
                tx_hash: hash("t"),
                order_id: hash("t"),
                client_order_id: Some(ClientOrderId(1)),
            },
            &OrderSubmitted {
                tx_hash: hash("t"),
                order_id: hash("t"),
                client_order_id: None,
            },
        ),
    );
    put(
        "TxSubmitted",
        schema_of(
            &TxSubmitted {
                tx_hash: hash("t"),
                order_id: Some(hash("t")),
                tx: Some(Box::new(tx_view(&s, false))),
            },
            &TxSubmitted {
                tx_hash: hash("t"),
                order_id: None,
                tx: None,
            },
        ),
    );
    put("TxView", schema_of(&tx_view(&s, true), &tx_view(&s, false)));
    put(
        "TxViewOrNullList",
        json!({"type": "array", "items": {"oneOf": [{"$ref": "#/components/schemas/TxView"}, {"type": "null"}]}}),
    );
    let block = ledger_types::Block::new(
        Hash::ZERO,
        1,
        ledger_types::ConsensusHeader::Streamlet {
            epoch: 1,
            proposer: a,
            time_ms: 1,
        },
        vec![],
    );
    put(
        "BlockView",
        schema_of(
            &BlockView::new(&block, true, Some(hash("r")), false),
            &BlockView::new(&block, false, None, true),
        ),
    );
    let account = AccountView {
        address: a,
        next_nonce: 0,
        pending_nonce: 0,
        balances: vec![BalanceView {
            asset: "USD".into(),
            asset_id: 1,
            free: Decimal::ONE,
            locked: Decimal::ZERO,
            total: Decimal::ONE,
        }],
    };
    put("AccountView", schema_of(&account, &account));
    let order = OrderView {
        order_id: hash("o"),
        client_order_id: Some(ClientOrderId(1)),
        account: a,
        market: "BTC/USD".into(),
        market_id: 0,
        side: Side::Buy,
        kind: OrderKind::Limit,
        time_in_force: Some(TimeInForce::Gtc),
        price: Some(Decimal::ONE),
        quantity: Decimal::ONE,
        filled: Decimal::ZERO,
        remaining: Decimal::ONE,
        fees: Decimal::ZERO,
        status: OrderStatus::Cancelled,
        reason: Some(CloseReason::Cancelled(CancelReason::User)),
        placed_height: Some(1),
        updated_height: Some(1),
    };
    let order_min = OrderView {
        client_order_id: None,
        reason: None,
        time_in_force: None,
        price: None,
        placed_height: None,
        updated_height: None,
        ..order.clone()
    };
    put("OrderView", schema_of(&order, &order_min));
    put("OrderViewPage", page_of("OrderView"));
    let level = LevelView {
        price: Decimal::ONE,
        quantity: Decimal::ONE,
        orders: 1,
    };
    let book = OrderBookView {
        market: "BTC/USD".into(),
        market_id: 0,
        block_height: 1,
        bids: vec![level.clone()],
        asks: vec![level],
    };
    put("OrderBookView", schema_of(&book, &book));
    let t = trade();
    let t_min = TradeView {
        maker_client_order_id: None,
        taker_client_order_id: None,
        ..t.clone()
    };
    put("TradeView", schema_of(&t, &t_min));
    put("TradeViewPage", page_of("TradeView"));
    let transfer = TransferView {
        block_height: 1,
        time_ms: 1,
        tx_hash: hash("t"),
        from: a,
        to: a,
        asset: "USD".into(),
        asset_id: 1,
        amount: Decimal::ONE,
    };
    put("TransferView", schema_of(&transfer, &transfer));
    put("TransferViewPage", page_of("TransferView"));
    put("TxViewPage", page_of("TxView"));
    let terms = crate::atomic::SwapTerms {
        swap_id: hash("s"),
        owner: a,
        counterparty: a,
        asset: "BTC".into(),
        asset_id: 0,
        amount: Decimal::ONE,
        hashlock: hash("h"),
        timeout_height: 2,
    };
    let swap = crate::atomic::SwapView {
        terms,
        lock_height: 1,
        status: crate::atomic::SwapState::Claimed,
        preimage: Some(ledger_types::Preimage([1; 32])),
        settled_height: Some(2),
        settle_tx: Some(hash("c")),
    };
    let swap_min = crate::atomic::SwapView {
        status: crate::atomic::SwapState::Open,
        preimage: None,
        settled_height: None,
        settle_tx: None,
        ..swap.clone()
    };
    put("SwapView", schema_of(&swap, &swap_min));
    put("SwapViewPage", page_of("SwapView"));
    let swap_update = crate::atomic::SwapUpdate {
        block_height: 2,
        tx_hash: hash("c"),
        event: crate::atomic::SwapEventKind::Claimed,
        swap,
    };
    put("SwapUpdate", schema_of(&swap_update, &swap_update));
    let bundle = crate::atomic::BundleSubmitted {
        tx_hash: hash("b"),
        leg_order_ids: vec![hash("l0"), hash("l1")],
    };
    put("BundleSubmitted", schema_of(&bundle, &bundle));
    let candle = CandleView {
        market: "BTC/USD".into(),
        market_id: 0,
        interval: "1m".into(),
        start: 0,
        open: Decimal::ONE,
        high: Decimal::ONE,
        low: Decimal::ONE,
        close: Decimal::ONE,
        volume: Decimal::ONE,
        quote_volume: Decimal::ONE,
        trades: 1,
    };
    put("CandleView", schema_of(&candle, &candle));
    put("CandleViewPage", page_of("CandleView"));
    let stats = MarketStatsView {
        market: "BTC/USD".into(),
        market_id: 0,
        from_ms: 0,
        to_ms: 1,
        open: Some(Decimal::ONE),
        high: Some(Decimal::ONE),
        low: Some(Decimal::ONE),
        close: Some(Decimal::ONE),
        change: Some(Decimal::ZERO),
        volume: Decimal::ONE,
        quote_volume: Decimal::ONE,
        trades: 1,
        last_price: Some(Decimal::ONE),
    };
    let stats_min = MarketStatsView {
        open: None,
        high: None,
        low: None,
        close: None,
        change: None,
        last_price: None,
        ..stats.clone()
    };
    put("MarketStatsView", schema_of(&stats, &stats_min));
    let market = MarketView {
        id: 0,
        symbol: "BTC/USD".into(),
        base: "BTC".into(),
        quote: "USD".into(),
        base_asset_id: 0,
        quote_asset_id: 1,
        base_decimals: 8,
        quote_decimals: 6,
        tick_size: Decimal::ONE,
        lot_size: Decimal::ONE,
        min_size: Decimal::ONE,
        maker_fee_bps: 1,
        taker_fee_bps: 2,
    };
    put(
        "MarketViewList",
        json!({"type": "array", "items": schema_of(&market, &market)}),
    );
    let status = ChainStatus {
        chain_id: "c".into(),
        genesis_hash: hash("g"),
        consensus: "streamlet".into(),
        node_version: "0".into(),
        latest_height: 1,
        latest_hash: hash("l"),
        final_height: 1,
        final_hash: hash("f"),
        state_root: hash("r"),
        peers: 1,
        syncing: false,
        mempool_size: 0,
        validator: Some(a),
    };
    let status_min = ChainStatus {
        validator: None,
        ..status.clone()
    };
    put("ChainStatus", schema_of(&status, &status_min));
    let v = ValidatorView {
        index: 0,
        name: "v".into(),
        public_key: a,
        last_proposal: Some(1),
        last_proposal_time_ms: Some(1),
        last_vote: Some(1),
    };
    let v_min = ValidatorView {
        last_proposal: None,
        last_proposal_time_ms: None,
        last_vote: None,
        ..v.clone()
    };
    put(
        "ValidatorViewList",
        json!({"type": "array", "items": schema_of(&v, &v_min)}),
    );
    let signer = SignerView {
        index: 0,
        name: "v".into(),
        public_key: Some(a),
        signature: Keypair::for_testing("a").sign(b"vote"),
    };
    let signer_min = SignerView {
        name: String::new(),
        public_key: None,
        ..signer.clone()
    };
    let streamlet = CertificateView::Streamlet {
        height: 1,
        block: hash("b"),
        epoch: 1,
        quorum: 3,
        validators: 4,
        signers: vec![signer],
    };
    let streamlet_min = CertificateView::Streamlet {
        height: 1,
        block: hash("b"),
        epoch: 1,
        quorum: 3,
        validators: 4,
        signers: vec![signer_min],
    };
    let pow = CertificateView::ProofOfWork {
        height: 1,
        block: hash("b"),
        finality_depth: 6,
    };
    put(
        "CertificateView",
        json!({"oneOf": [schema_of(&streamlet, &streamlet_min), schema_of(&pow, &pow)]}),
    );
    let peer = PeerView {
        peer_id: "p".into(),
        addresses: vec!["/ip4/127.0.0.1/tcp/1".into()],
        direction: PeerDirection::Inbound,
        agent_version: Some("a".into()),
    };
    let peer_min = PeerView {
        agent_version: None,
        ..peer.clone()
    };
    put(
        "PeerViewList",
        json!({"type": "array", "items": schema_of(&peer, &peer_min)}),
    );
    let update = OrderUpdate {
        block_height: 1,
        tx_hash: hash("t"),
        order_id: hash("o"),
        client_order_id: Some(ClientOrderId(1)),
        account: a,
        market: "BTC/USD".into(),
        market_id: 0,
        event: OrderEvent::Cancelled {
            remaining: Decimal::ONE,
            reason: CancelReason::User,
        },
    };
    put("OrderUpdate", schema_of(&update, &update));
    put("OpenRpcDocument", json!({"type": "object"}));
    // The payload variants, for wallet authors.
    let payloads = [
        Payload::CancelOrder(CancelOrder {
            order: OrderRef::ClientOrderId(ClientOrderId(1)),
        }),
        Payload::Batch(Batch {
            actions: vec![BatchAction::CancelOrder(CancelOrder {
                order: OrderRef::OrderId(hash("o")),
            })],
        }),
        Payload::AmendOrder(AmendOrder {
            order: OrderRef::OrderId(hash("o")),
            price: Some(Decimal::ONE),
            quantity: Some(Decimal::ONE),
        }),
        Payload::ScheduleCancel(ScheduleCancel { at_height: Some(5) }),
    ];
    let variants: Vec<Value> = payloads
        .iter()
        .map(|p| shape(&serde_json::to_value(p).unwrap_or(Value::Null), None))
        .collect();
    put("Payload", json!({"oneOf": variants}));
    let _ = ExpireReason::GoodTill;
    c
}

fn schema_ref(name: &str) -> Value {
    match name {
        "string" | "integer" | "boolean" => json!({"type": name}),
        "array" => json!({"type": "array", "items": {"type": "string"}}),
        other => json!({"$ref": format!("#/components/schemas/{other}")}),
    }
}

/// The OpenRPC document served by `rpc.discover`.
pub fn openrpc_document() -> Value {
    let methods: Vec<Value> = METHODS
        .iter()
        .chain(ATOMIC_METHODS)
        .map(|m| {
            let params: Vec<Value> = m
                .params
                .iter()
                .map(|p| json!({"name": p.name, "required": !p.optional, "schema": schema_ref(p.schema)}))
                .collect();
            let mut v = json!({
                "name": m.name,
                "summary": m.summary,
                "params": params,
                "result": {"name": "result", "schema": schema_ref(m.result)},
            });
            if let Some(u) = m.unsubscribe {
                v["x-subscription"] = json!({"unsubscribe": u, "transport": "websocket"});
            }
            v
        })
        .collect();
    json!({
        "openrpc": "1.2.6",
        "info": {
            "title": "ledger-node JSON-RPC API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "See crates/rpc/API.md for conventions, errors and examples."
        },
        "methods": methods,
        "components": {"schemas": component_schemas()}
    })
}
