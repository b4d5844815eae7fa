//! The wallet and explorer commands: keys, balance, transfer, orders, book, trades,
//! block, tx, status, markets, peers, validators.

use crate::error::{CliError, CliResult, RpcResultExt};
use crate::keys::{parse_seed, KeyInfo};
use crate::output::{align_right, dec, details, opt, print_json, short, table};
use crate::{
    AccountArg, BatchArgs, CancelArgs, Ctx, KeysCmd, OrderType, PlaceArgs, SideArg, Stp, Tif,
    TransferArgs,
};
use ledger_rpc::{
    AccountView, ActionStatus, BlockSelector, EventView, LedgerApiClient, MarketRef, MarketView,
    Order, OrderStatusFilter, OrderSubmitted, TxStatus, TxView, WaitFor, Wallet,
};
use ledger_types::{
    Address, AssetId, BatchAction, CancelOrder, ClientOrderId, Decimal, Hash, Keypair, MarketId,
    OrderKind, OrderRef, Payload, SelfTradePrevention, Side, SignedTx, TimeInForce,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::str::FromStr;
use std::time::Duration;

// =======================================================================================
// keys
// =======================================================================================

/// `keys ...` (no node needed).
pub fn keys(ctx: &Ctx, cmd: KeysCmd) -> CliResult<()> {
    let store = ctx.keys()?;
    match cmd {
        KeysCmd::New { name, plaintext } => {
            let info = store.add(&name, &Keypair::generate(), !plaintext)?;
            show_key(ctx, &info, None, "created a new key");
        }
        KeysCmd::List => {
            let keys = store.list()?;
            if ctx.json {
                print_json(&keys);
            } else if keys.is_empty() {
                println!(
                    "no keys in {} (create one with `ledger-cli keys new NAME`)",
                    store.dir().display()
                );
            } else {
                let mut t = table(["NAME", "ADDRESS", "FILE"]);
                for k in &keys {
                    t.add_row(vec![
                        k.name.clone(),
                        k.address.to_hex(),
                        k.path.display().to_string(),
                    ]);
                }
                println!("{t}");
            }
        }
        KeysCmd::Show { name, secret } => {
            let (info, key) = store.load(&name)?;
            let seed = secret.then(|| hex::encode(key.seed()));
            show_key(ctx, &info, seed, "");
        }
        KeysCmd::Import {
            name,
            seed,
            plaintext,
        } => {
            crate::keys::check_name(&name)?;
            let seed = match seed {
                Some(s) => zeroize::Zeroizing::new(s),
                None => {
                    let stdin = std::io::stdin();
                    let mut s = zeroize::Zeroizing::new(String::new());
                    let read = if stdin.is_terminal() {
                        // A hidden prompt: the seed is never echoed to the terminal.
                        rpassword::prompt_password("seed (64 hex digits, not shown): ")
                            .map(|typed| *s = typed)
                    } else {
                        stdin.lock().read_to_string(&mut s).map(drop)
                    };
                    read.map_err(|e| {
                        CliError::failed(format!("cannot read the seed from standard input: {e}"))
                    })?;
                    s
                }
            };
            let key = parse_seed(&seed)?;
            let info = store.add(&name, &key, !plaintext)?;
            show_key(ctx, &info, None, "imported the key");
        }
        KeysCmd::Test { label, name } => {
            let name = name.unwrap_or_else(|| label.clone());
            let info = store.add(&name, &Keypair::for_testing(&label), false)?;
            show_key(
                ctx,
                &info,
                None,
                &format!("stored the deterministic test key {label:?} (for testnets only: anyone can derive it)"),
            );
        }
    }
    Ok(())
}

fn show_key(ctx: &Ctx, info: &KeyInfo, seed: Option<String>, headline: &str) {
    if ctx.json {
        let mut v = serde_json::to_value(info).unwrap_or_default();
        if let Some(seed) = seed {
            v["seed"] = serde_json::json!(seed);
        }
        print_json(&v);
        return;
    }
    if !headline.is_empty() {
        println!("{headline}");
    }
    let mut rows = vec![
        ("name", info.name.clone()),
        ("address", info.address.to_hex()),
        ("file", info.path.display().to_string()),
    ];
    if let Some(seed) = seed {
        rows.push(("seed", seed));
    }
    println!("{}", details(&rows));
}

// =======================================================================================
// helpers
// =======================================================================================

/// The address of `ACCOUNT` (an address or a key name) or `--key NAME`.
pub(crate) fn resolve_account(ctx: &Ctx, a: &AccountArg) -> CliResult<Address> {
    match (&a.account, &a.key) {
        (_, Some(key)) => Ok(ctx.keys()?.load(key)?.0.address),
        (Some(acct), None) => address_or_key(ctx, acct),
        (None, None) => Err(CliError::usage(
            "give an account address or a key name (ACCOUNT), or --key NAME",
        )),
    }
}

/// An address (64 hex digits) or the address of a stored key.
pub(crate) fn address_or_key(ctx: &Ctx, s: &str) -> CliResult<Address> {
    let store = ctx.keys()?;
    if store.has(s) {
        return Ok(store.load(s)?.0.address);
    }
    Address::from_str(s).map_err(|_| {
        CliError::usage(format!(
            "{s:?} is neither an address (64 hex digits) nor a key in {}",
            store.dir().display()
        ))
    })
}

/// Finds a market by symbol (any case, `-` or `/`) or id.
pub(crate) fn find_market<'a>(markets: &'a [MarketView], name: &str) -> CliResult<&'a MarketView> {
    let r = MarketRef::from_str(name).map_err(CliError::usage)?;
    let found = match &r {
        MarketRef::Id(id) => markets.iter().find(|m| m.id == id.0),
        MarketRef::Symbol(s) => {
            let want = s.replace('-', "/").to_ascii_uppercase();
            markets
                .iter()
                .find(|m| m.symbol.to_ascii_uppercase() == want)
        }
    };
    found.ok_or_else(|| {
        let known: Vec<&str> = markets.iter().map(|m| m.symbol.as_str()).collect();
        CliError::failed(format!(
            "the node has no market {name:?}; markets: {}",
            known.join(", ")
        ))
    })
}

fn market_ref(name: &str) -> CliResult<MarketRef> {
    MarketRef::from_str(name).map_err(CliError::usage)
}

fn parse_client_id(s: &str) -> CliResult<ClientOrderId> {
    ClientOrderId::from_str(s).map_err(|_| {
        CliError::usage(format!(
            "--client-id {s:?}: a client order id is up to 32 hex digits (128 bits)"
        ))
    })
}

pub(crate) fn parse_hash(what: &str, s: &str) -> CliResult<Hash> {
    Hash::from_str(s.trim())
        .map_err(|_| CliError::usage(format!("{what} {s:?}: expected 64 hex digits")))
}

/// Checks price and quantity against the market's tick, lot and minimum sizes, so a
/// mistake is caught before signing rather than as an engine rejection in a block.
pub(crate) fn check_order_sizes(
    m: &MarketView,
    price: Option<Decimal>,
    qty: Decimal,
) -> CliResult<()> {
    if let Some(p) = price {
        if !m.tick_size.is_zero() && !(p % m.tick_size).is_zero() {
            return Err(CliError::usage(format!(
                "price {p} is not a multiple of the tick size {} of {}",
                dec(m.tick_size),
                m.symbol
            )));
        }
    }
    if !m.lot_size.is_zero() && !(qty % m.lot_size).is_zero() {
        return Err(CliError::usage(format!(
            "quantity {qty} is not a multiple of the lot size {} of {}",
            dec(m.lot_size),
            m.symbol
        )));
    }
    if qty < m.min_size {
        return Err(CliError::usage(format!(
            "quantity {qty} is below the minimum size {} of {}",
            dec(m.min_size),
            m.symbol
        )));
    }
    Ok(())
}

/// Symbols of markets and assets, for rendering payloads.
pub(crate) struct Names {
    markets: BTreeMap<u32, String>,
    assets: BTreeMap<u32, String>,
}

impl Names {
    pub(crate) fn new(markets: &[MarketView]) -> Names {
        let mut assets = BTreeMap::new();
        for m in markets {
            assets.insert(m.base_asset_id, m.base.clone());
            assets.insert(m.quote_asset_id, m.quote.clone());
        }
        Names {
            markets: markets.iter().map(|m| (m.id, m.symbol.clone())).collect(),
            assets,
        }
    }

    pub(crate) fn market(&self, id: MarketId) -> String {
        self.markets
            .get(&id.0)
            .cloned()
            .unwrap_or_else(|| format!("market #{}", id.0))
    }

    pub(crate) fn asset(&self, id: AssetId) -> String {
        self.assets
            .get(&id.0)
            .cloned()
            .unwrap_or_else(|| format!("asset #{}", id.0))
    }
}

pub(crate) fn side_str(s: Side) -> &'static str {
    match s {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

fn kind_str(k: OrderKind) -> &'static str {
    match k {
        OrderKind::Limit => "limit",
        OrderKind::Market => "market",
    }
}

fn tif_str(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Gtc => "GTC",
        TimeInForce::Ioc => "IOC",
        TimeInForce::Fok => "FOK",
        TimeInForce::PostOnly => "ALO",
    }
}

/// A serializable enum as its JSON string (`"ioc_remainder"`).
fn enum_str<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".into(),
    }
}

/// One line describing a payload.
fn payload_summary(p: &Payload, names: &Names) -> String {
    match p {
        Payload::PlaceOrder(o) => {
            let mut s = format!(
                "place_order: {} {} {}",
                side_str(o.side),
                dec(o.quantity),
                names.market(o.market)
            );
            match o.price {
                Some(price) => s.push_str(&format!(" @ {}", dec(price))),
                None => s.push_str(" @ market"),
            }
            s.push_str(&format!(
                ", {} {}",
                kind_str(o.kind),
                tif_str(o.time_in_force)
            ));
            if let Some(c) = o.client_order_id {
                s.push_str(&format!(", client id {c}"));
            }
            if o.self_trade != SelfTradePrevention::default() {
                s.push_str(&format!(", stp {}", enum_str(&o.self_trade)));
            }
            s
        }
        Payload::CancelOrder(c) => match c.order {
            OrderRef::OrderId(id) => format!("cancel_order: order {id}"),
            OrderRef::ClientOrderId(c) => format!("cancel_order: client id {c}"),
        },
        Payload::CancelAll(c) => match c.market {
            Some(m) => format!("cancel_all: every open order on {}", names.market(m)),
            None => "cancel_all: every open order".into(),
        },
        Payload::Transfer(t) => format!(
            "transfer: {} {} to {}",
            dec(t.amount),
            names.asset(t.asset),
            t.to
        ),
        Payload::Batch(b) => {
            let (mut places, mut cancels, mut amends) = (0, 0, 0);
            for a in &b.actions {
                match a {
                    BatchAction::PlaceOrder(_) => places += 1,
                    BatchAction::CancelOrder(_) => cancels += 1,
                    BatchAction::AmendOrder(_) => amends += 1,
                }
            }
            format!(
                "batch: {} actions ({places} place, {cancels} cancel, {amends} amend)",
                b.actions.len()
            )
        }
        Payload::AmendOrder(a) => {
            let which = match a.order {
                OrderRef::OrderId(id) => format!("order {id}"),
                OrderRef::ClientOrderId(c) => format!("client id {c}"),
            };
            let mut s = format!("amend_order: {which}");
            if let Some(p) = a.price {
                s.push_str(&format!(", price {}", dec(p)));
            }
            if let Some(q) = a.quantity {
                s.push_str(&format!(", quantity {}", dec(q)));
            }
            s
        }
        Payload::ScheduleCancel(sc) => match sc.at_height {
            Some(h) => format!("schedule_cancel: cancel every open order at height {h}"),
            None => "schedule_cancel: cleared".into(),
        },
        Payload::Bundle(b) => crate::atomic::bundle_summary(b, names),
        Payload::SwapLock(l) => format!(
            "swap_lock: {} {} for {} under {}, timeout height {}",
            dec(l.amount),
            names.asset(l.asset),
            l.counterparty,
            l.hashlock,
            l.timeout_height
        ),
        Payload::SwapClaim(c) => format!(
            "swap_claim: swap {} with preimage {}",
            c.swap_id, c.preimage
        ),
        Payload::SwapRefund(r) => format!("swap_refund: swap {}", r.swap_id),
    }
}

/// The type, order and details of an engine event.
fn event_row(e: &EventView) -> [String; 3] {
    match e {
        EventView::OrderAmended {
            order_id,
            side,
            price,
            quantity,
            remaining,
            priority_kept,
            ..
        } => [
            "amended".into(),
            short(order_id),
            format!(
                "{} {} ({} open) @ {}, {}",
                side_str(*side),
                dec(*quantity),
                dec(*remaining),
                dec(*price),
                if *priority_kept {
                    "priority kept"
                } else {
                    "priority lost"
                }
            ),
        ],
        EventView::CancelScheduled { at_height, .. } => [
            "schedule".into(),
            String::new(),
            match at_height {
                Some(h) => format!("every open order cancelled at height {h}"),
                None => "dead man's switch cleared".into(),
            },
        ],
        EventView::OrderAccepted {
            order_id,
            side,
            kind,
            time_in_force,
            price,
            quantity,
            market,
            ..
        } => [
            "accepted".into(),
            short(order_id),
            format!(
                "{} {} {market} @ {} {} {}",
                side_str(*side),
                dec(*quantity),
                price.map(dec).unwrap_or_else(|| "market".into()),
                kind_str(*kind),
                tif_str(*time_in_force)
            ),
        ],
        EventView::Fill(t) => [
            "fill".into(),
            short(&t.taker_order_id),
            format!(
                "trade {}: {} {} @ {} ({} taker), maker {} fee {} / taker fee {} {}",
                t.trade_id,
                dec(t.quantity),
                t.market,
                dec(t.price),
                side_str(t.taker_side),
                short(&t.maker_order_id),
                dec(t.maker_fee),
                dec(t.taker_fee),
                t.fee_asset
            ),
        ],
        EventView::OrderRested {
            order_id,
            side,
            price,
            remaining,
            ..
        } => [
            "rested".into(),
            short(order_id),
            format!(
                "{} {} resting @ {}",
                side_str(*side),
                dec(*remaining),
                dec(*price)
            ),
        ],
        EventView::OrderCancelled {
            order_id,
            remaining,
            reason,
            ..
        } => [
            "cancelled".into(),
            short(order_id),
            format!("{} left open ({})", dec(*remaining), enum_str(reason)),
        ],
        EventView::OrderExpired {
            order_id,
            remaining,
            reason,
            ..
        } => [
            "expired".into(),
            short(order_id),
            format!("{} dropped ({})", dec(*remaining), enum_str(reason)),
        ],
        EventView::Transferred {
            from,
            to,
            asset,
            amount,
            ..
        } => [
            "transferred".into(),
            "-".into(),
            format!(
                "{} {asset} from {} to {}",
                dec(*amount),
                short(from),
                short(to)
            ),
        ],
        EventView::BundleExecuted { legs, net, .. } => [
            "bundle".into(),
            "-".into(),
            format!(
                "{legs} legs, net {}",
                net.iter()
                    .map(|(a, n)| format!("{} {a}", n.0.normalize()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ],
        EventView::SwapLocked { swap, .. } => [
            "swap_locked".into(),
            short(&swap.swap_id),
            format!(
                "{} {} for {} until height {}",
                dec(swap.amount),
                swap.asset,
                short(&swap.counterparty),
                swap.timeout_height
            ),
        ],
        EventView::SwapClaimed {
            swap_id,
            amount,
            asset,
            preimage,
            ..
        } => [
            "swap_claimed".into(),
            short(swap_id),
            format!("{} {asset}, preimage {preimage}", dec(*amount)),
        ],
        EventView::SwapRefunded {
            swap_id,
            amount,
            asset,
            ..
        } => [
            "swap_refunded".into(),
            short(swap_id),
            format!("{} {asset} back to its owner", dec(*amount)),
        ],
    }
}

fn status_str(s: TxStatus) -> &'static str {
    match s {
        TxStatus::Pending => "pending",
        TxStatus::Included => "included",
        TxStatus::Final => "final",
        TxStatus::Rejected => "rejected",
    }
}

/// Prints a transaction for people.
pub(crate) fn print_tx(v: &TxView, names: &Names) {
    let mut rows = vec![
        ("hash", v.hash.to_hex()),
        ("status", status_str(v.status).to_string()),
    ];
    if let Some(h) = v.block_height {
        let mut b = h.to_string();
        if let Some(hash) = v.block_hash {
            b.push_str(&format!(" ({hash})"));
        }
        if let Some(p) = v.position {
            b.push_str(&format!(", position {p}"));
        }
        rows.push(("block", b));
    }
    rows.push(("sender", v.tx.sender.to_hex()));
    rows.push(("nonce", v.tx.nonce.to_string()));
    rows.push(("payload", payload_summary(&v.tx.payload, names)));
    if let Some(e) = &v.error {
        rows.push(("error", e.to_string()));
        if let Some(d) = &e.data {
            for (k, val) in &d.details {
                rows.push(("", format!("{k}: {val}")));
            }
        }
    }
    println!("{}", details(&rows));
    if !v.events.is_empty() {
        let mut t = table(["EVENT", "ORDER", "DETAILS"]);
        for e in &v.events {
            t.add_row(event_row(e).to_vec());
        }
        println!("{t}");
    }
}

/// Polls `get_tx` until the transaction is final or rejected.
pub(crate) async fn wait_final(
    client: &ledger_rpc::LedgerClient,
    url: &str,
    hash: Hash,
    timeout: f64,
) -> CliResult<TxView> {
    let deadline = std::time::Instant::now() + Duration::from_secs_f64(timeout.max(0.0));
    let mut last: String;
    loop {
        match client.get_tx(hash).await {
            Ok(v) if matches!(v.status, TxStatus::Final | TxStatus::Rejected) => return Ok(v),
            Ok(v) => last = status_str(v.status).into(),
            Err(e) => {
                let err = CliError::from_client(url, &e);
                // Not found yet (another node's index may lag): keep waiting.
                let not_found = matches!(&err, CliError::Rpc { error, .. } if error.code == ledger_rpc::codes::NOT_FOUND);
                if !not_found {
                    return Err(err);
                }
                last = "not found".into();
            }
        }
        if std::time::Instant::now() >= deadline {
            return Err(CliError::failed(format!(
                "transaction {hash} is not final after {timeout} s (last seen: {last}); follow it with `ledger-cli tx {hash}`"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `--wait`: submits with `submit_tx` and `wait: "final"`, one call that returns once
/// the node has executed the transaction, with its receipt (no polling).
async fn submit_and_wait(ctx: &Ctx, stx: SignedTx, timeout: f64) -> CliResult<TxView> {
    let url = ctx.url();
    let hash = stx.hash();
    let ms = (timeout.max(0.001) * 1000.0)
        .round()
        .min(ledger_rpc::types::MAX_WAIT_TIMEOUT_MS as f64) as u64;
    let opts = ledger_rpc::ConnectOptions {
        request_timeout: Duration::from_millis(ms + 10_000),
        ..ledger_rpc::ConnectOptions::default()
    };
    let client = ledger_rpc::connect_with(url, &opts).await.at(url)?;
    match client
        .submit_tx(stx.into(), Some(WaitFor::Final), Some(ms))
        .await
    {
        Ok(s) => {
            s.tx.map(|v| *v)
                .ok_or_else(|| CliError::failed("the node answered without the transaction"))
        }
        Err(e) => {
            let err = CliError::from_client(url, &e);
            match &err {
                CliError::Rpc { error, .. } if error.reason() == Some("wait_timeout") => {
                    Err(CliError::failed(format!(
                        "transaction {hash} is not final after {timeout} s (now {}); follow it with `ledger-cli tx {hash}`",
                        error.detail("status").unwrap_or("unknown")
                    )))
                }
                _ => Err(err),
            }
        }
    }
}

/// After a write: print the submission, or the final transaction when the command
/// waited for it. A transaction the engine rejected ends the command with exit code 1.
pub(crate) fn finish_write<S: Serialize>(
    ctx: &Ctx,
    submitted: &S,
    hash: Hash,
    lines: Vec<(&str, String)>,
    waited: Option<TxView>,
    names: &Names,
) -> CliResult<()> {
    let Some(view) = waited else {
        if ctx.json {
            print_json(submitted);
        } else {
            let mut rows = lines;
            rows.push((
                "status",
                format!("pending (wait with --wait, or follow it with `ledger-cli tx {hash}`)"),
            ));
            println!("{}", details(&rows));
        }
        return Ok(());
    };
    if ctx.json {
        print_json(&view);
    } else {
        print_tx(&view, names);
    }
    match (&view.status, &view.error) {
        (TxStatus::Rejected, Some(error)) => Err(CliError::Rpc {
            url: ctx.url().to_string(),
            error: Box::new(error.clone()),
        }),
        (TxStatus::Rejected, None) => Err(CliError::failed("the transaction was rejected")),
        _ => Ok(()),
    }
}

// =======================================================================================
// wallet
// =======================================================================================

/// `balance`.
pub async fn balance(ctx: &Ctx, a: AccountArg) -> CliResult<()> {
    let address = resolve_account(ctx, &a)?;
    let client = ctx.client().await?;
    let acct: AccountView = client.get_account(address).await.at(ctx.url())?;
    if ctx.json {
        print_json(&acct);
        return Ok(());
    }
    println!(
        "{}",
        details(&[
            ("account", acct.address.to_hex()),
            (
                "nonce",
                format!(
                    "{} (final), {} (next to sign, counting pending)",
                    acct.next_nonce, acct.pending_nonce
                )
            ),
        ])
    );
    let mut t = table(["ASSET", "FREE", "LOCKED", "TOTAL"]);
    for b in &acct.balances {
        t.add_row(vec![
            b.asset.clone(),
            dec(b.free),
            dec(b.locked),
            dec(b.total),
        ]);
    }
    align_right(&mut t, &[1, 2, 3]);
    println!("{t}");
    Ok(())
}

/// `transfer`.
pub async fn transfer(ctx: &Ctx, t: TransferArgs) -> CliResult<()> {
    let (_, key) = ctx.keys()?.load(&t.key)?;
    let to = address_or_key(ctx, &t.to)?;
    if to == key.public() {
        return Err(CliError::usage("--to is the sender itself"));
    }
    let client = ctx.client().await?;
    let url = ctx.url();
    let mut wallet = Wallet::from_node(&client, key).await.at(url)?;
    let sender = client.get_account(wallet.address()).await.at(url)?;
    let asset = sender
        .balances
        .iter()
        .find(|b| b.asset.eq_ignore_ascii_case(&t.asset) || b.asset_id.to_string() == t.asset)
        .ok_or_else(|| {
            let known: Vec<&str> = sender.balances.iter().map(|b| b.asset.as_str()).collect();
            CliError::failed(format!(
                "the node has no asset {:?}; assets: {}",
                t.asset,
                known.join(", ")
            ))
        })?;
    let stx = wallet.transfer(to, AssetId(asset.asset_id), t.amount);
    let hash = stx.hash();
    let (submitted, waited) = if t.wait {
        let view = submit_and_wait(ctx, stx, t.wait_timeout).await?;
        (serde_json::json!({"tx_hash": hash}), Some(view))
    } else {
        let s = client.submit_tx(stx.into(), None, None).await.at(url)?;
        (serde_json::to_value(&s).unwrap_or_default(), None)
    };
    let names = Names::new(&client.get_markets().await.at(url)?);
    finish_write(
        ctx,
        &submitted,
        hash,
        vec![
            (
                "transfer",
                format!("{} {} to {to}", dec(t.amount), asset.asset),
            ),
            ("tx hash", hash.to_hex()),
        ],
        waited,
        &names,
    )
}

/// `order place`.
pub async fn order_place(ctx: &Ctx, p: PlaceArgs) -> CliResult<()> {
    let (_, key) = ctx.keys()?.load(&p.key)?;
    let client_id = p.client_id.as_deref().map(parse_client_id).transpose()?;
    let side = match p.side {
        SideArg::Buy => Side::Buy,
        SideArg::Sell => Side::Sell,
    };
    let tif = match (p.kind, p.tif) {
        (OrderType::Limit, None) => TimeInForce::Gtc,
        (OrderType::Market, None) => TimeInForce::Ioc,
        (OrderType::Market, Some(Tif::Gtc | Tif::Alo)) => {
            return Err(CliError::usage(
                "a market order is IOC or FOK (it never rests on the book)",
            ))
        }
        (_, Some(Tif::Gtc)) => TimeInForce::Gtc,
        (_, Some(Tif::Ioc)) => TimeInForce::Ioc,
        (_, Some(Tif::Fok)) => TimeInForce::Fok,
        (_, Some(Tif::Alo)) => TimeInForce::PostOnly,
    };
    if p.kind == OrderType::Limit && p.price.is_none() {
        return Err(CliError::usage("a limit order needs --price"));
    }
    let stp = match p.stp {
        Stp::Taker => SelfTradePrevention::ExpireTaker,
        Stp::Maker => SelfTradePrevention::ExpireMaker,
        Stp::Both => SelfTradePrevention::ExpireBoth,
    };

    let client = ctx.client().await?;
    let url = ctx.url();
    let markets = client.get_markets().await.at(url)?;
    let market = find_market(&markets, &p.market)?.clone();
    check_order_sizes(&market, p.price, p.qty)?;
    let mut wallet = Wallet::from_node(&client, key).await.at(url)?;

    let mut order = match (p.kind, p.price) {
        (OrderType::Limit, Some(price)) => Order::limit(MarketId(market.id), side, price, p.qty),
        (_, price) => {
            let o = Order::market(MarketId(market.id), side, p.qty);
            match price {
                Some(bound) => o.price(bound),
                None => o,
            }
        }
    };
    order = order.time_in_force(tif).self_trade(stp);
    if let Some(c) = client_id {
        order = order.client_order_id(c.0);
    }
    let stx = wallet.place(order);
    let hash = stx.hash();
    let (submitted, waited) = if p.wait {
        let view = submit_and_wait(ctx, stx, p.wait_timeout).await?;
        let submitted = OrderSubmitted {
            tx_hash: hash,
            order_id: hash,
            client_order_id: client_id,
        };
        (submitted, Some(view))
    } else {
        (client.submit_order(stx.into()).await.at(url)?, None)
    };
    let mut lines = vec![
        (
            "order",
            format!(
                "{} {} {} @ {}, {} {}",
                side_str(side),
                dec(p.qty),
                market.symbol,
                p.price.map(dec).unwrap_or_else(|| "market".into()),
                kind_str(match p.kind {
                    OrderType::Limit => OrderKind::Limit,
                    OrderType::Market => OrderKind::Market,
                }),
                tif_str(tif)
            ),
        ),
        ("order id", submitted.order_id.to_hex()),
    ];
    if let Some(c) = submitted.client_order_id {
        lines.push(("client id", c.to_string()));
    }
    finish_write(ctx, &submitted, hash, lines, waited, &Names::new(&markets))
}

/// `order cancel`.
pub async fn order_cancel(ctx: &Ctx, c: CancelArgs) -> CliResult<()> {
    let (_, key) = ctx.keys()?.load(&c.key)?;
    let order_id = c
        .order_id
        .as_deref()
        .map(|s| parse_hash("--order-id", s))
        .transpose()?;
    let client_id = c.client_id.as_deref().map(parse_client_id).transpose()?;
    let client = ctx.client().await?;
    let url = ctx.url();
    let markets = client.get_markets().await.at(url)?;
    let market = c
        .market
        .as_deref()
        .map(|m| find_market(&markets, m).map(|m| MarketId(m.id)))
        .transpose()?;
    let mut wallet = Wallet::from_node(&client, key).await.at(url)?;
    let (stx, what) = match (order_id, client_id) {
        (Some(id), _) => (wallet.cancel(id), format!("order {id}")),
        (None, Some(cid)) => (
            wallet.cancel_by_client_id(cid.0),
            format!("order with client id {cid}"),
        ),
        (None, None) => (
            wallet.cancel_all(market),
            match c.market {
                Some(m) => format!("every open order on {m}"),
                None => "every open order".into(),
            },
        ),
    };
    let hash = stx.hash();
    let (submitted, waited) = if c.wait {
        let view = submit_and_wait(ctx, stx, c.wait_timeout).await?;
        (serde_json::json!({"tx_hash": hash}), Some(view))
    } else {
        let s = client.cancel_order(stx.into()).await.at(url)?;
        (serde_json::to_value(&s).unwrap_or_default(), None)
    };
    finish_write(
        ctx,
        &submitted,
        hash,
        vec![("cancel", what), ("tx hash", hash.to_hex())],
        waited,
        &Names::new(&markets),
    )
}

/// `order batch`.
pub async fn order_batch(ctx: &Ctx, b: BatchArgs) -> CliResult<()> {
    let (_, key) = ctx.keys()?.load(&b.key)?;
    let mut actions = Vec::new();
    for c in &b.cancels {
        actions.push(BatchAction::CancelOrder(CancelOrder {
            order: OrderRef::OrderId(parse_hash("--cancel", c)?),
        }));
    }
    for c in &b.cancel_client_ids {
        actions.push(BatchAction::CancelOrder(CancelOrder {
            order: OrderRef::ClientOrderId(parse_client_id(c)?),
        }));
    }
    let client = ctx.client().await?;
    let url = ctx.url();
    let markets = client.get_markets().await.at(url)?;
    let market = find_market(&markets, &b.market)?.clone();
    let mut lines = Vec::new();
    for spec in &b.places {
        let parts: Vec<&str> = spec.split(':').collect();
        let bad = || {
            CliError::usage(format!(
                "--place {spec:?}: expected SIDE:PRICE:QTY or SIDE:PRICE:QTY:CLIENT_ID"
            ))
        };
        if !(3..=4).contains(&parts.len()) {
            return Err(bad());
        }
        let side = match parts[0].to_ascii_lowercase().as_str() {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            _ => return Err(bad()),
        };
        let price = crate::parse_positive_decimal(parts[1]).map_err(|_| bad())?;
        let qty = crate::parse_positive_decimal(parts[2]).map_err(|_| bad())?;
        check_order_sizes(&market, Some(price), qty)?;
        let mut order = Order::limit(MarketId(market.id), side, price, qty);
        if let Some(c) = parts.get(3) {
            order = order.client_order_id(parse_client_id(c)?.0);
        }
        lines.push(format!(
            "{} {} {} @ {}",
            side_str(side),
            dec(qty),
            market.symbol,
            dec(price)
        ));
        actions.push(BatchAction::PlaceOrder(order.build()));
    }
    if actions.is_empty() {
        return Err(CliError::usage(
            "a batch needs at least one --place, --cancel or --cancel-client-id",
        ));
    }
    if actions.len() > ledger_types::MAX_BATCH_ACTIONS {
        return Err(CliError::usage(format!(
            "a batch holds at most {} actions, got {}",
            ledger_types::MAX_BATCH_ACTIONS,
            actions.len()
        )));
    }
    let mut wallet = Wallet::from_node(&client, key).await.at(url)?;
    let n = actions.len();
    let stx = wallet.sign_until(
        Payload::Batch(ledger_types::Batch { actions }),
        b.valid_until,
    );
    let hash = stx.hash();
    let (submitted, waited) = if b.wait {
        let view = submit_and_wait(ctx, stx, b.wait_timeout).await?;
        (serde_json::json!({"tx_hash": hash}), Some(view))
    } else {
        let s = client.submit_tx(stx.into(), None, None).await.at(url)?;
        (serde_json::to_value(&s).unwrap_or_default(), None)
    };
    let mut rows = vec![
        ("batch", format!("{n} actions")),
        ("tx hash", hash.to_hex()),
    ];
    for (i, l) in lines.iter().enumerate() {
        rows.push((
            if i == 0 { "orders" } else { "" },
            format!(
                "{l}, order id {}",
                ledger_types::batch_order_id(&hash, (n - lines.len() + i) as u32)
            ),
        ));
    }
    if let Some(v) = waited.as_ref().and_then(|v| v.actions.as_ref()) {
        let ok = v.iter().filter(|a| a.status == ActionStatus::Ok).count();
        rows.push(("actions", format!("{ok} of {} ok", v.len())));
        for a in v.iter().filter(|a| a.status == ActionStatus::Rejected) {
            let why = a.error.as_ref().map(|e| e.to_string()).unwrap_or_default();
            rows.push(("", format!("action {} rejected: {why}", a.index)));
        }
    }
    finish_write(ctx, &submitted, hash, rows, waited, &Names::new(&markets))
}

/// `order list`.
pub async fn order_list(
    ctx: &Ctx,
    a: AccountArg,
    open: bool,
    market: Option<String>,
    limit: u32,
    cursor: Option<String>,
) -> CliResult<()> {
    let address = resolve_account(ctx, &a)?;
    let market = market.as_deref().map(market_ref).transpose()?;
    let client = ctx.client().await?;
    let status = if open {
        OrderStatusFilter::Open
    } else {
        OrderStatusFilter::All
    };
    let page = client
        .get_orders(address, market, Some(status), Some(limit), cursor)
        .await
        .at(ctx.url())?;
    if ctx.json {
        print_json(&page);
        return Ok(());
    }
    if page.items.is_empty() {
        println!("no {}orders for {address}", if open { "open " } else { "" });
        return Ok(());
    }
    let with_cid = page.items.iter().any(|o| o.client_order_id.is_some());
    let mut header = vec![
        "ORDER ID", "MARKET", "SIDE", "TYPE", "PRICE", "QTY", "FILLED", "STATUS",
    ];
    if with_cid {
        header.push("CLIENT ID");
    }
    let mut t = table(header);
    for o in &page.items {
        let mut row = vec![
            o.order_id.to_hex(),
            o.market.clone(),
            side_str(o.side).into(),
            format!(
                "{}{}",
                kind_str(o.kind),
                o.time_in_force
                    .map(|t| format!(" {}", tif_str(t)))
                    .unwrap_or_default()
            ),
            o.price.map(dec).unwrap_or_else(|| "market".into()),
            dec(o.quantity),
            dec(o.filled),
            enum_str(&o.status),
        ];
        if with_cid {
            row.push(opt(o.client_order_id));
        }
        t.add_row(row);
    }
    align_right(&mut t, &[4, 5, 6]);
    println!("{t}");
    if let Some(c) = page.next_cursor {
        println!("more: --cursor {c}");
    }
    Ok(())
}

// =======================================================================================
// explorer
// =======================================================================================

/// `book`.
pub async fn book(ctx: &Ctx, market: &str, depth: u32) -> CliResult<()> {
    let m = market_ref(market)?;
    let client = ctx.client().await?;
    let b = client.get_order_book(m, Some(depth)).await.at(ctx.url())?;
    if ctx.json {
        print_json(&b);
        return Ok(());
    }
    println!("{} order book at final block {}", b.market, b.block_height);
    if b.bids.is_empty() && b.asks.is_empty() {
        println!("(empty)");
        return Ok(());
    }
    let mut t = table([
        "BID ORDERS",
        "BID QTY",
        "BID",
        "ASK",
        "ASK QTY",
        "ASK ORDERS",
    ]);
    for i in 0..b.bids.len().max(b.asks.len()) {
        let bid = b.bids.get(i);
        let ask = b.asks.get(i);
        t.add_row(vec![
            opt(bid.map(|l| l.orders)),
            opt(bid.map(|l| dec(l.quantity))),
            opt(bid.map(|l| dec(l.price))),
            opt(ask.map(|l| dec(l.price))),
            opt(ask.map(|l| dec(l.quantity))),
            opt(ask.map(|l| l.orders)),
        ]);
    }
    align_right(&mut t, &[0, 1, 2]);
    println!("{t}");
    if let (Some(bid), Some(ask)) = (b.bids.first(), b.asks.first()) {
        println!(
            "spread {}, mid {}",
            dec(ask.price - bid.price),
            dec((ask.price + bid.price) / Decimal::TWO)
        );
    }
    Ok(())
}

/// `trades`.
pub async fn trades(ctx: &Ctx, market: &str, limit: u32, cursor: Option<String>) -> CliResult<()> {
    let m = market_ref(market)?;
    let client = ctx.client().await?;
    let page = client
        .get_trades(m, Some(limit), cursor)
        .await
        .at(ctx.url())?;
    if ctx.json {
        print_json(&page);
        return Ok(());
    }
    if page.items.is_empty() {
        println!("no trades on {market}");
        return Ok(());
    }
    let mut t = table([
        "TRADE",
        "BLOCK",
        "MARKET",
        "TAKER",
        "PRICE",
        "QTY",
        "NOTIONAL",
        "MAKER ORDER",
        "TAKER ORDER",
    ]);
    for tr in &page.items {
        t.add_row(vec![
            tr.trade_id.to_string(),
            tr.block_height.to_string(),
            tr.market.clone(),
            side_str(tr.taker_side).into(),
            dec(tr.price),
            dec(tr.quantity),
            dec(tr.quote_quantity),
            short(&tr.maker_order_id),
            short(&tr.taker_order_id),
        ]);
    }
    align_right(&mut t, &[0, 1, 4, 5, 6]);
    println!("{t}");
    if let Some(c) = page.next_cursor {
        println!("more: --cursor {c}");
    }
    Ok(())
}

/// `block`.
pub async fn block(ctx: &Ctx, sel: &str, txs: bool) -> CliResult<()> {
    let selector = BlockSelector::from_str(sel).map_err(CliError::usage)?;
    let client = ctx.client().await?;
    let url = ctx.url();
    let b = client.get_block(selector, Some(txs)).await.at(url)?;
    if ctx.json {
        print_json(&b);
        return Ok(());
    }
    let mut rows = vec![
        ("height", b.height.to_string()),
        ("hash", b.hash.to_hex()),
        ("parent", b.parent.to_hex()),
        ("final", b.is_final.to_string()),
        ("state root", opt(b.state_root)),
        ("tx root", b.tx_root.to_hex()),
    ];
    match &b.consensus {
        ledger_rpc::ConsensusView::Streamlet {
            epoch, proposer, ..
        } => {
            rows.push(("consensus", format!("streamlet, epoch {epoch}")));
            rows.push(("proposer", proposer.to_hex()));
        }
        ledger_rpc::ConsensusView::Nakamoto {
            time_ms,
            target,
            nonce,
            miner,
        } => {
            rows.push((
                "consensus",
                format!("nakamoto, time {time_ms} ms, nonce {nonce}"),
            ));
            rows.push(("target", target.to_hex()));
            rows.push(("miner", miner.to_hex()));
        }
    }
    rows.push(("transactions", b.tx_count.to_string()));
    println!("{}", details(&rows));
    if let Some(list) = &b.txs {
        if !list.is_empty() {
            let names = Names::new(&client.get_markets().await.at(url)?);
            let mut t = table(["#", "HASH", "SENDER", "NONCE", "PAYLOAD"]);
            for (i, tx) in list.iter().enumerate() {
                t.add_row(vec![
                    i.to_string(),
                    opt(tx.hash),
                    short(&tx.sender),
                    tx.nonce.to_string(),
                    payload_summary(&tx.payload, &names),
                ]);
            }
            println!("{t}");
        }
    } else if let Some(hashes) = &b.tx_hashes {
        const SHOWN: usize = 20;
        for h in hashes.iter().take(SHOWN) {
            println!("  {h}");
        }
        if hashes.len() > SHOWN {
            println!(
                "  … and {} more (all of them with --txs or --json)",
                hashes.len() - SHOWN
            );
        }
    }
    Ok(())
}

/// `tx`.
pub async fn tx(ctx: &Ctx, hash: &str) -> CliResult<()> {
    let hash = parse_hash("transaction hash", hash)?;
    let client = ctx.client().await?;
    let url = ctx.url();
    let v = client.get_tx(hash).await.at(url)?;
    if ctx.json {
        print_json(&v);
        return Ok(());
    }
    let names = Names::new(&client.get_markets().await.at(url)?);
    print_tx(&v, &names);
    Ok(())
}

/// `status`.
pub async fn status(ctx: &Ctx) -> CliResult<()> {
    let client = ctx.client().await?;
    let s = client.chain_status().await.at(ctx.url())?;
    if ctx.json {
        print_json(&s);
        return Ok(());
    }
    let rows = vec![
        ("node", ctx.url().to_string()),
        ("chain id", s.chain_id.clone()),
        ("genesis", s.genesis_hash.to_hex()),
        ("consensus", s.consensus.clone()),
        ("version", s.node_version.clone()),
        (
            "latest block",
            format!("{} ({})", s.latest_height, s.latest_hash),
        ),
        (
            "final block",
            format!("{} ({})", s.final_height, s.final_hash),
        ),
        ("state root", s.state_root.to_hex()),
        ("peers", s.peers.to_string()),
        ("syncing", s.syncing.to_string()),
        ("mempool", format!("{} transactions", s.mempool_size)),
        (
            "validator",
            s.validator
                .map(|v| v.to_hex())
                .unwrap_or_else(|| "no (full node)".into()),
        ),
    ];
    println!("{}", details(&rows));
    Ok(())
}

/// `markets`.
pub async fn markets(ctx: &Ctx) -> CliResult<()> {
    let client = ctx.client().await?;
    let ms = client.get_markets().await.at(ctx.url())?;
    if ctx.json {
        print_json(&ms);
        return Ok(());
    }
    let mut t = table([
        "ID",
        "MARKET",
        "TICK",
        "LOT",
        "MIN SIZE",
        "MAKER FEE (bps)",
        "TAKER FEE (bps)",
    ]);
    for m in &ms {
        t.add_row(vec![
            m.id.to_string(),
            m.symbol.clone(),
            dec(m.tick_size),
            dec(m.lot_size),
            dec(m.min_size),
            m.maker_fee_bps.to_string(),
            m.taker_fee_bps.to_string(),
        ]);
    }
    align_right(&mut t, &[0, 2, 3, 4, 5, 6]);
    println!("{t}");
    Ok(())
}

/// `peers`.
pub async fn peers(ctx: &Ctx) -> CliResult<()> {
    let client = ctx.client().await?;
    let ps = client.get_peers().await.at(ctx.url())?;
    if ctx.json {
        print_json(&ps);
        return Ok(());
    }
    if ps.is_empty() {
        println!("no peers connected");
        return Ok(());
    }
    let mut t = table(["PEER ID", "DIRECTION", "ADDRESSES", "AGENT"]);
    for p in &ps {
        t.add_row(vec![
            p.peer_id.clone(),
            enum_str(&p.direction),
            p.addresses.join("\n"),
            p.agent_version.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    println!("{t}");
    Ok(())
}

/// `validators`.
pub async fn validators(ctx: &Ctx) -> CliResult<()> {
    let client = ctx.client().await?;
    let vs = client.get_validators().await.at(ctx.url())?;
    if ctx.json {
        print_json(&vs);
        return Ok(());
    }
    let mut t = table(["INDEX", "NAME", "PUBLIC KEY"]);
    for v in &vs {
        t.add_row(vec![
            v.index.to_string(),
            v.name.clone(),
            v.public_key.to_hex(),
        ]);
    }
    println!("{t}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn market() -> MarketView {
        MarketView {
            id: 0,
            symbol: "BTC/USD".into(),
            base: "BTC".into(),
            quote: "USD".into(),
            base_asset_id: 0,
            quote_asset_id: 1,
            base_decimals: 8,
            quote_decimals: 6,
            tick_size: Decimal::new(1, 2),
            lot_size: Decimal::new(1, 4),
            min_size: Decimal::new(1, 3),
            maker_fee_bps: 2,
            taker_fee_bps: 5,
        }
    }

    #[test]
    fn sizes_are_checked() {
        let m = market();
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert!(check_order_sizes(&m, Some(d("100.5")), d("0.25")).is_ok());
        assert!(check_order_sizes(&m, None, d("0.001")).is_ok());
        let e = check_order_sizes(&m, Some(d("100.555")), d("0.25")).unwrap_err();
        assert!(e.to_string().contains("tick size 0.01"), "{e}");
        let e = check_order_sizes(&m, Some(d("100")), d("0.00015")).unwrap_err();
        assert!(e.to_string().contains("lot size 0.0001"), "{e}");
        let e = check_order_sizes(&m, Some(d("100")), d("0.0005")).unwrap_err();
        assert!(e.to_string().contains("minimum size 0.001"), "{e}");
    }

    #[test]
    fn markets_are_found_by_symbol_or_id() {
        let ms = vec![market()];
        assert_eq!(find_market(&ms, "btc-usd").unwrap().id, 0);
        assert_eq!(find_market(&ms, "0").unwrap().id, 0);
        assert!(find_market(&ms, "DOGE/USD")
            .unwrap_err()
            .to_string()
            .contains("BTC/USD"));
    }
}
