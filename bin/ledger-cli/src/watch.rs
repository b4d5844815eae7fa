//! `watch`: follows final blocks and trades (and optionally an account's order updates)
//! over WebSocket until Ctrl-C. With `--json`, prints one JSON object per line:
//! `{"type":"block","block":{...}}`, `{"type":"trade","trade":{...}}`,
//! `{"type":"order","update":{...}}`.

use crate::error::{CliError, CliResult, RpcResultExt};
use crate::output::{dec, print_json_line, short};
use crate::Ctx;
use futures::stream::{self, BoxStream, StreamExt};
use ledger_rpc::{BlockView, LedgerApiClient, MarketRef, OrderEvent, OrderUpdate, TradeView};
use ledger_types::Side;
use serde_json::json;
use std::str::FromStr;

enum Item {
    Block(BlockView),
    Trade(TradeView),
    Order(OrderUpdate),
}

/// Runs `watch`.
pub async fn run(ctx: &Ctx, market: Option<String>, account: Option<String>) -> CliResult<()> {
    let account = match account {
        Some(a) => Some(resolve(ctx, &a)?),
        None => None,
    };
    let (url, client) = ctx.ws_client().await?;
    let markets: Vec<MarketRef> = match &market {
        Some(m) => vec![MarketRef::from_str(m).map_err(CliError::usage)?],
        None => client
            .get_markets()
            .await
            .at(&url)?
            .into_iter()
            .map(|m| MarketRef::Symbol(m.symbol))
            .collect(),
    };

    let mut streams: Vec<BoxStream<'static, Result<Item, String>>> = Vec::new();
    let blocks = client.subscribe_blocks(Some(false)).await.at(&url)?;
    streams.push(
        blocks
            .map(|r| r.map(Item::Block).map_err(|e| e.to_string()))
            .boxed(),
    );
    for m in markets {
        let trades = client.subscribe_trades(m).await.at(&url)?;
        streams.push(
            trades
                .map(|r| r.map(Item::Trade).map_err(|e| e.to_string()))
                .boxed(),
        );
    }
    if let Some(a) = account {
        let orders = client.subscribe_orders(a).await.at(&url)?;
        streams.push(
            orders
                .map(|r| r.map(Item::Order).map_err(|e| e.to_string()))
                .boxed(),
        );
    }
    let mut all = stream::select_all(streams);
    if !ctx.json {
        eprintln!(
            "watching final blocks and trades at {url}{} (Ctrl-C to stop)",
            market
                .as_deref()
                .map(|m| format!(" on {m}"))
                .unwrap_or_default()
        );
    }
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => return Ok(()),
            item = all.next() => match item {
                Some(Ok(item)) => show(ctx, &item),
                Some(Err(e)) => {
                    return Err(CliError::Unreachable { url, detail: format!("bad notification: {e}") })
                }
                None => {
                    return Err(CliError::Unreachable {
                        url,
                        detail: "the node closed the subscription".into(),
                    })
                }
            }
        }
    }
}

fn resolve(ctx: &Ctx, s: &str) -> CliResult<ledger_types::Address> {
    let store = ctx.keys()?;
    if store.has(s) {
        return Ok(store.load(s)?.0.address);
    }
    ledger_types::Address::from_str(s).map_err(|_| {
        CliError::usage(format!(
            "--account {s:?} is neither an address nor a key name"
        ))
    })
}

fn show(ctx: &Ctx, item: &Item) {
    if ctx.json {
        let v = match item {
            Item::Block(b) => json!({"type": "block", "block": b}),
            Item::Trade(t) => json!({"type": "trade", "trade": t}),
            Item::Order(u) => json!({"type": "order", "update": u}),
        };
        print_json_line(&v);
        return;
    }
    match item {
        Item::Block(b) => println!(
            "block {:>8}  {}  {:>5} txs  root {}",
            b.height,
            short(&b.hash),
            b.tx_count,
            b.state_root
                .map(|r| short(&r))
                .unwrap_or_else(|| "-".into())
        ),
        Item::Trade(t) => println!(
            "trade {:>8}  {} {} {} @ {} (block {}, maker {} / taker {})",
            t.trade_id,
            t.market,
            match t.taker_side {
                Side::Buy => "buy ",
                Side::Sell => "sell",
            },
            dec(t.quantity),
            dec(t.price),
            t.block_height,
            short(&t.maker_order_id),
            short(&t.taker_order_id)
        ),
        Item::Order(u) => {
            let what = match &u.event {
                OrderEvent::Accepted { quantity, .. } => format!("accepted {}", dec(*quantity)),
                OrderEvent::Fill {
                    price,
                    quantity,
                    liquidity,
                    remaining,
                    ..
                } => format!(
                    "fill {} @ {} as {}, {} left",
                    dec(*quantity),
                    dec(*price),
                    match liquidity {
                        ledger_rpc::Liquidity::Maker => "maker",
                        ledger_rpc::Liquidity::Taker => "taker",
                    },
                    dec(*remaining)
                ),
                OrderEvent::Rested {
                    price, remaining, ..
                } => {
                    format!("resting {} @ {}", dec(*remaining), dec(*price))
                }
                OrderEvent::Cancelled { remaining, .. } => {
                    format!("cancelled, {} was open", dec(*remaining))
                }
                OrderEvent::Expired { remaining, .. } => {
                    format!("expired, {} dropped", dec(*remaining))
                }
                OrderEvent::Amended {
                    price, remaining, ..
                } => format!("amended to {} @ {}", dec(*remaining), dec(*price)),
            };
            println!(
                "order {}  {}  {what} (block {})",
                short(&u.order_id),
                u.market,
                u.block_height
            )
        }
    }
}
