//! `bundle` (2 to 8 immediate legs, all or nothing) and `swap` (hashlock swaps on one
//! chain, and the two-chain protocol of `ledger_rpc::swap_protocol`: `initiate` and a
//! responding `desk`).

use crate::commands::{
    address_or_key, check_order_sizes, find_market, finish_write, parse_hash, side_str, wait_final,
    Names,
};
use crate::error::{CliError, CliResult, RpcResultExt};
use crate::output::{dec, details, print_json, print_json_line, short, table};
use crate::Ctx;
use clap::{Args, Subcommand};
use ledger_rpc::swap_protocol::{
    asset_id, measure_pace, ChainPace, InitiatorStep, InitiatorSwap, Responder, ResponderPolicy,
    SwapTimeouts,
};
use ledger_rpc::{AtomicApiClient, LedgerApiClient, LedgerClient, SwapView, Wallet};
use ledger_types::{
    AssetId, Bundle, BundleLeg, Decimal, MarketId, NetBound, Preimage, SelfTradePrevention, Side,
    TimeInForce,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Options of `ledger-cli bundle`.
#[derive(Args, Debug)]
pub struct BundleArgs {
    /// Key that signs the bundle.
    #[arg(long, env = "LEDGER_KEY", value_name = "NAME")]
    pub key: String,
    /// A leg, in execution order: MARKET,SIDE,PRICE,QTY[,IOC|FOK] (IOC by default), e.g.
    /// `BTC/USD,buy,100.5,0.1`. Give 2 to 8.
    #[arg(long = "leg", value_name = "LEG", required = true)]
    pub legs: Vec<String>,
    /// A minimum net result: ASSET=AMOUNT (may be negative), e.g. `USD=0.5`. The bundle
    /// does nothing unless the sender ends with at least that much more of the asset.
    #[arg(long = "min-net", value_name = "ASSET=AMOUNT")]
    pub min_net: Vec<String>,
    /// Wait until the bundle is final and show what it did.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub wait_timeout: f64,
}

/// `ledger-cli swap ...`.
#[derive(Subcommand, Debug)]
pub enum SwapCmd {
    /// Lock an amount for a counterparty under a SHA-256 hashlock until a timeout height.
    Lock(LockArgs),
    /// Claim a swap locked for you, revealing its preimage (below the timeout).
    Claim {
        /// Key that signs (the swap's counterparty).
        #[arg(long, env = "LEDGER_KEY", value_name = "NAME")]
        key: String,
        /// The swap id (the hash of its lock transaction).
        #[arg(long = "swap", value_name = "ID")]
        swap: String,
        /// The secret, 64 hex digits.
        #[arg(long, value_name = "HEX")]
        preimage: String,
        /// Wait until the claim is final.
        #[arg(long)]
        wait: bool,
    },
    /// Take back a swap you locked, at or after its timeout height.
    Refund {
        /// Key that signs (the swap's owner).
        #[arg(long, env = "LEDGER_KEY", value_name = "NAME")]
        key: String,
        /// The swap id.
        #[arg(long = "swap", value_name = "ID")]
        swap: String,
        /// Wait until the refund is final.
        #[arg(long)]
        wait: bool,
    },
    /// A swap: terms, status, and the preimage once claimed.
    Show {
        /// The swap id.
        id: String,
    },
    /// The swaps an account owns or may claim, newest first.
    List {
        /// Account address or key name.
        account: String,
        /// How many (at most 100).
        #[arg(long, default_value_t = 30)]
        limit: u32,
    },
    /// Swap between two chains as the initiator: lock on this chain (--rpc) for the
    /// desk, claim the desk's answer on the other chain (--rpc-b), or refund at the
    /// timeout. Resumable: the state (with the secret) is written to --state first.
    Initiate(InitiateArgs),
    /// Run a swap desk (the responder) until Ctrl-C or --duration: answer every lock made
    /// for this key on either chain with a lock on the other, then claim or refund.
    Desk(DeskArgs),
}

/// Options of `swap lock`.
#[derive(Args, Debug)]
pub struct LockArgs {
    /// Key that signs (the owner).
    #[arg(long, env = "LEDGER_KEY", value_name = "NAME")]
    pub key: String,
    /// Counterparty: address or key name.
    #[arg(long, value_name = "ACCOUNT")]
    pub to: String,
    /// Asset symbol or id.
    #[arg(long)]
    pub asset: String,
    /// Amount in whole units.
    #[arg(long, value_parser = crate::parse_positive_decimal)]
    pub amount: Decimal,
    /// The hashlock (64 hex digits) [default: draw a new secret and print it].
    #[arg(long, value_name = "HEX")]
    pub hashlock: Option<String>,
    /// Timeout as a height.
    #[arg(long, value_name = "HEIGHT", conflicts_with = "timeout_blocks")]
    pub timeout_height: Option<u64>,
    /// Timeout as blocks after the current final height.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub timeout_blocks: u64,
    /// Wait until the lock is final.
    #[arg(long)]
    pub wait: bool,
}

/// Options of `swap initiate`.
#[derive(Args, Debug)]
pub struct InitiateArgs {
    /// Key that signs on both chains.
    #[arg(long, env = "LEDGER_KEY", value_name = "NAME")]
    pub key: String,
    /// The other chain's endpoint.
    #[arg(long, value_name = "URL")]
    pub rpc_b: String,
    /// The desk (responder): address or key name.
    #[arg(long, value_name = "ACCOUNT")]
    pub desk: String,
    /// What you give on this chain: ASSET=AMOUNT.
    #[arg(long, value_name = "ASSET=AMOUNT")]
    pub give: String,
    /// What you want on the other chain at least: ASSET=AMOUNT [default: as given].
    #[arg(long, value_name = "ASSET=AMOUNT")]
    pub want: Option<String>,
    /// Time one party needs to act, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub step_ms: u64,
    /// Slack between the two timeouts, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub margin_ms: u64,
    /// State file (holds the secret) [default: ./swap-<hashlock>.json]; an existing one
    /// is resumed.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Give up waiting after this many seconds (the state file stays resumable).
    #[arg(long, default_value_t = 600.0)]
    pub timeout: f64,
}

/// Options of `swap desk`.
#[derive(Args, Debug)]
pub struct DeskArgs {
    /// Key that signs on both chains.
    #[arg(long, env = "LEDGER_KEY", value_name = "NAME")]
    pub key: String,
    /// The other chain's endpoint.
    #[arg(long, value_name = "URL")]
    pub rpc_b: String,
    /// An asset served with the largest amount per swap: ASSET=MAX (repeatable).
    #[arg(long = "serve", value_name = "ASSET=MAX", required = true)]
    pub serve: Vec<String>,
    /// Fee kept from each answer, in basis points.
    #[arg(long, default_value_t = 0)]
    pub fee_bps: u32,
    /// Time one party needs to act, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub step_ms: u64,
    /// Slack between the two timeouts, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub margin_ms: u64,
    /// Stop after this many seconds [default: run until Ctrl-C].
    #[arg(long)]
    pub duration: Option<f64>,
    /// Seconds between passes.
    #[arg(long, default_value_t = 0.5)]
    pub interval: f64,
}

/// Parses `ASSET=AMOUNT` (the amount may be negative when `signed`).
fn asset_amount(s: &str, signed: bool) -> CliResult<(String, Decimal)> {
    let (a, v) = s
        .split_once('=')
        .ok_or_else(|| CliError::usage(format!("{s:?}: expected ASSET=AMOUNT")))?;
    let d = Decimal::from_str(v.trim())
        .map_err(|_| CliError::usage(format!("{s:?}: {v:?} is not a decimal number")))?;
    if !signed && d <= Decimal::ZERO {
        return Err(CliError::usage(format!(
            "{s:?}: the amount must be positive"
        )));
    }
    Ok((a.trim().to_ascii_uppercase(), d))
}

/// Parses `MARKET,SIDE,PRICE,QTY[,IOC|FOK]`.
fn parse_leg(s: &str) -> CliResult<(String, Side, Decimal, Decimal, TimeInForce)> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if !(4..=5).contains(&parts.len()) {
        return Err(CliError::usage(format!(
            "--leg {s:?}: expected MARKET,SIDE,PRICE,QTY[,IOC|FOK]"
        )));
    }
    let side = match parts[1].to_ascii_lowercase().as_str() {
        "buy" => Side::Buy,
        "sell" => Side::Sell,
        other => {
            return Err(CliError::usage(format!(
                "--leg {s:?}: side {other:?} is not buy or sell"
            )))
        }
    };
    let price = crate::parse_positive_decimal(parts[2])
        .map_err(|e| CliError::usage(format!("--leg {s:?}: price: {e}")))?;
    let qty = crate::parse_positive_decimal(parts[3])
        .map_err(|e| CliError::usage(format!("--leg {s:?}: quantity: {e}")))?;
    let tif = match parts.get(4).map(|t| t.to_ascii_uppercase()) {
        None => TimeInForce::Ioc,
        Some(t) if t == "IOC" => TimeInForce::Ioc,
        Some(t) if t == "FOK" => TimeInForce::Fok,
        Some(t) => {
            return Err(CliError::usage(format!(
                "--leg {s:?}: time in force {t:?}: a leg is IOC or FOK"
            )))
        }
    };
    Ok((parts[0].to_string(), side, price, qty, tif))
}

/// An asset's id on the node, by symbol or id.
async fn find_asset(client: &LedgerClient, url: &str, name: &str) -> CliResult<(AssetId, String)> {
    let acct = client
        .get_account(ledger_types::Address::default())
        .await
        .at(url)?;
    acct.balances
        .iter()
        .find(|b| b.asset.eq_ignore_ascii_case(name) || b.asset_id.to_string() == name)
        .map(|b| (AssetId(b.asset_id), b.asset.clone()))
        .ok_or_else(|| {
            let known: Vec<&str> = acct.balances.iter().map(|b| b.asset.as_str()).collect();
            CliError::failed(format!(
                "the node has no asset {name:?}; assets: {}",
                known.join(", ")
            ))
        })
}

/// One line describing a bundle.
pub fn bundle_summary(b: &Bundle, names: &Names) -> String {
    let legs: Vec<String> = b
        .legs
        .iter()
        .map(|l| {
            format!(
                "{} {} {} @ {} {}",
                side_str(l.side),
                dec(l.quantity),
                names.market(l.market),
                dec(l.price),
                if l.time_in_force == TimeInForce::Fok {
                    "FOK"
                } else {
                    "IOC"
                }
            )
        })
        .collect();
    let mut s = format!("bundle: {}", legs.join("; "));
    if !b.min_net.is_empty() {
        let bounds: Vec<String> = b
            .min_net
            .iter()
            .map(|nb| format!("{} >= {}", names.asset(nb.asset), nb.min.normalize()))
            .collect();
        s.push_str(&format!(", net {}", bounds.join(", ")));
    }
    s
}

/// `bundle`.
pub async fn bundle(ctx: &Ctx, a: BundleArgs) -> CliResult<()> {
    let (_, key) = ctx.keys()?.load(&a.key)?;
    if !(2..=8).contains(&a.legs.len()) {
        return Err(CliError::usage(format!(
            "a bundle holds 2 to 8 legs; {} given",
            a.legs.len()
        )));
    }
    let client = ctx.client().await?;
    let url = ctx.url();
    let markets = client.get_markets().await.at(url)?;
    let mut legs = Vec::new();
    for l in &a.legs {
        let (m, side, price, qty, tif) = parse_leg(l)?;
        let market = find_market(&markets, &m)?;
        check_order_sizes(market, Some(price), qty)?;
        legs.push(BundleLeg {
            market: MarketId(market.id),
            side,
            price,
            quantity: qty,
            time_in_force: tif,
            client_order_id: None,
            self_trade: SelfTradePrevention::default(),
        });
    }
    let mut min_net = Vec::new();
    for b in &a.min_net {
        let (asset, min) = asset_amount(b, true)?;
        let (id, _) = find_asset(&client, url, &asset).await?;
        min_net.push(NetBound { asset: id, min });
    }
    let bundle = Bundle { legs, min_net };
    bundle
        .check_shape()
        .map_err(|e| CliError::usage(e.to_string()))?;
    let names = Names::new(&markets);
    let summary = bundle_summary(&bundle, &names);
    let mut wallet = Wallet::from_node(&client, key).await.at(url)?;
    let stx = wallet.bundle(bundle);
    let hash = stx.hash();
    let submitted = client.submit_bundle(stx.into()).await.at(url)?;
    let mut lines = vec![("bundle", summary), ("tx hash", hash.to_hex())];
    for (i, id) in submitted.leg_order_ids.iter().enumerate() {
        lines.push(if i == 0 {
            ("leg orders", id.to_hex())
        } else {
            ("", id.to_hex())
        });
    }
    finish_polled(
        ctx,
        &client,
        &submitted,
        hash,
        lines,
        a.wait.then_some(a.wait_timeout),
        &names,
    )
    .await
}

fn swap_rows(v: &SwapView) -> Vec<(&'static str, String)> {
    let t = &v.terms;
    let mut rows = vec![
        ("swap", t.swap_id.to_hex()),
        ("status", format!("{:?}", v.status).to_ascii_lowercase()),
        ("owner", t.owner.to_hex()),
        ("counterparty", t.counterparty.to_hex()),
        ("amount", format!("{} {}", dec(t.amount), t.asset)),
        ("hashlock", t.hashlock.to_hex()),
        ("timeout height", t.timeout_height.to_string()),
        ("locked at", v.lock_height.to_string()),
    ];
    if let Some(p) = v.preimage {
        rows.push(("preimage", p.to_hex()));
    }
    if let Some(h) = v.settled_height {
        rows.push(("settled at", h.to_string()));
    }
    rows
}

/// `swap ...`.
pub async fn swap(ctx: &Ctx, cmd: SwapCmd) -> CliResult<()> {
    match cmd {
        SwapCmd::Lock(a) => lock(ctx, a).await,
        SwapCmd::Claim {
            key,
            swap,
            preimage,
            wait,
        } => {
            let id = parse_hash("--swap", &swap)?;
            let p = Preimage::from_str(preimage.trim())
                .map_err(|_| CliError::usage("--preimage: expected 64 hex digits"))?;
            settle(ctx, &key, wait, move |w| w.swap_claim(id, p)).await
        }
        SwapCmd::Refund { key, swap, wait } => {
            let id = parse_hash("--swap", &swap)?;
            settle(ctx, &key, wait, move |w| w.swap_refund(id)).await
        }
        SwapCmd::Show { id } => {
            let id = parse_hash("swap id", &id)?;
            let client = ctx.client().await?;
            let v = client.get_swap(id).await.at(ctx.url())?;
            if ctx.json {
                print_json(&v);
            } else {
                println!("{}", details(&swap_rows(&v)));
            }
            Ok(())
        }
        SwapCmd::List { account, limit } => {
            let who = address_or_key(ctx, &account)?;
            let client = ctx.client().await?;
            let page = client
                .get_swaps(who, Some(limit), None)
                .await
                .at(ctx.url())?;
            if ctx.json {
                print_json(&page);
                return Ok(());
            }
            let mut t = table(["SWAP", "STATUS", "ROLE", "AMOUNT", "TIMEOUT", "LOCKED AT"]);
            for v in &page.items {
                t.add_row(vec![
                    short(&v.terms.swap_id),
                    format!("{:?}", v.status).to_ascii_lowercase(),
                    if v.terms.owner == who {
                        "owner"
                    } else {
                        "counterparty"
                    }
                    .into(),
                    format!("{} {}", dec(v.terms.amount), v.terms.asset),
                    v.terms.timeout_height.to_string(),
                    v.lock_height.to_string(),
                ]);
            }
            println!("{t}");
            Ok(())
        }
        SwapCmd::Initiate(a) => initiate(ctx, a).await,
        SwapCmd::Desk(a) => desk(ctx, a).await,
    }
}

async fn lock(ctx: &Ctx, a: LockArgs) -> CliResult<()> {
    let (_, key) = ctx.keys()?.load(&a.key)?;
    let to = address_or_key(ctx, &a.to)?;
    let client = ctx.client().await?;
    let url = ctx.url();
    let (asset, symbol) = find_asset(&client, url, &a.asset).await?;
    let (hashlock, secret) = match &a.hashlock {
        Some(h) => (parse_hash("--hashlock", h)?, None),
        None => {
            let p = Preimage(rand::random());
            (p.hashlock(), Some(p))
        }
    };
    let timeout = match a.timeout_height {
        Some(h) => h,
        None => client.chain_status().await.at(url)?.final_height + a.timeout_blocks,
    };
    let mut wallet = Wallet::from_node(&client, key).await.at(url)?;
    let stx = wallet.swap_lock(to, asset, a.amount, hashlock, timeout);
    let hash = stx.hash();
    let submitted = client.submit_tx(stx.into(), None, None).await.at(url)?;
    let names = Names::new(&client.get_markets().await.at(url)?);
    let mut lines = vec![
        ("swap id", hash.to_hex()),
        ("amount", format!("{} {symbol} for {to}", dec(a.amount))),
        ("hashlock", hashlock.to_hex()),
        ("timeout height", timeout.to_string()),
    ];
    if let Some(p) = secret {
        lines.push(("preimage", format!("{p} (keep it secret until you claim)")));
        if ctx.json && !a.wait {
            print_json(&serde_json::json!({
                "tx_hash": hash, "swap_id": hash, "hashlock": hashlock,
                "preimage": p, "timeout_height": timeout.to_string(),
            }));
            return Ok(());
        }
        eprintln!("preimage: {p}");
    }
    finish_polled(
        ctx,
        &client,
        &submitted,
        hash,
        lines,
        a.wait.then_some(60.0),
        &names,
    )
    .await
}

async fn settle(
    ctx: &Ctx,
    key: &str,
    wait: bool,
    sign: impl FnOnce(&mut Wallet) -> ledger_types::SignedTx,
) -> CliResult<()> {
    let (_, key) = ctx.keys()?.load(key)?;
    let client = ctx.client().await?;
    let url = ctx.url();
    let mut wallet = Wallet::from_node(&client, key).await.at(url)?;
    let stx = sign(&mut wallet);
    let hash = stx.hash();
    let submitted = client.submit_tx(stx.into(), None, None).await.at(url)?;
    let names = Names::new(&client.get_markets().await.at(url)?);
    finish_polled(
        ctx,
        &client,
        &submitted,
        hash,
        vec![("tx hash", hash.to_hex())],
        wait.then_some(60.0),
        &names,
    )
    .await
}

fn write_state(path: &PathBuf, s: &InitiatorSwap) -> CliResult<()> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(s).unwrap_or_default();
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| CliError::failed(format!("cannot write {}: {e}", path.display())))
}

async fn initiate(ctx: &Ctx, a: InitiateArgs) -> CliResult<()> {
    let (_, key) = ctx.keys()?.load(&a.key)?;
    let desk = address_or_key(ctx, &a.desk)?;
    let url_a = ctx.url().to_string();
    let url_b = crate::normalize_url(&a.rpc_b)?;
    let ca = ctx.client().await?;
    let cb = ctx.connect(&url_b).await?;
    let mut wa = Wallet::from_node(&ca, key.clone()).await.at(&url_a)?;
    let mut wb = Wallet::from_node(&cb, key).await.at(&url_b)?;
    let timeouts = SwapTimeouts {
        step_ms: a.step_ms,
        margin_ms: a.margin_ms,
    };
    let (give_sym, give_amt) = asset_amount(&a.give, false)?;
    let (want_sym, want_amt) = match &a.want {
        Some(w) => asset_amount(w, false)?,
        None => (give_sym.clone(), give_amt),
    };
    let existing = a.state.as_ref().filter(|p| p.exists()).cloned();
    let (mut swap, path) = match existing {
        Some(p) => {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| CliError::failed(format!("cannot read {}: {e}", p.display())))?;
            let s: InitiatorSwap = serde_json::from_str(&text).map_err(|e| {
                CliError::failed(format!("{} is not a swap state file: {e}", p.display()))
            })?;
            (s, p)
        }
        None => {
            let (give_id, _) = find_asset(&ca, &url_a, &give_sym).await?;
            let pace_a = measure_pace(&ca, Duration::from_secs(2)).await.at(&url_a)?;
            let h = ca.chain_status().await.at(&url_a)?.latest_height;
            let s = InitiatorSwap::new(
                &mut wa,
                Preimage(rand::random()),
                desk,
                (give_id, &give_sym, give_amt),
                (&want_sym, want_amt),
                timeouts.initiator_timeout(h, pace_a),
            );
            let p = a
                .state
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("swap-{}.json", s.hashlock.to_hex())));
            (s, p)
        }
    };
    // The secret is on disk before anything is sent.
    write_state(&path, &swap)?;
    let pace_b = measure_pace(&cb, Duration::from_secs(2)).await.at(&url_b)?;
    let deadline = Instant::now() + Duration::from_secs_f64(a.timeout.max(1.0));
    let mut last = None;
    loop {
        let step = swap
            .advance(&ca, &cb, &mut wa, &mut wb, &timeouts, pace_b)
            .await
            .map_err(|e| CliError::failed(e.to_string()))?;
        write_state(&path, &swap)?;
        if last.as_ref() != Some(&step) {
            if ctx.json {
                print_json_line(&step);
            } else {
                println!("{}: {step:?}", swap.a_swap_id());
            }
            last = Some(step.clone());
        }
        if step.is_done() {
            return match step {
                InitiatorStep::Swapped { .. } | InitiatorStep::Refunded => Ok(()),
                other => Err(CliError::failed(format!("swap ended: {other:?}"))),
            };
        }
        if Instant::now() >= deadline {
            return Err(CliError::failed(format!(
                "swap not done after {} s (at {step:?}); resume with --state {}",
                a.timeout,
                path.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn desk(ctx: &Ctx, a: DeskArgs) -> CliResult<()> {
    let (_, key) = ctx.keys()?.load(&a.key)?;
    let url_a = ctx.url().to_string();
    let url_b = crate::normalize_url(&a.rpc_b)?;
    let ca = ctx.client().await?;
    let cb = ctx.connect(&url_b).await?;
    let mut wa = Wallet::from_node(&ca, key.clone()).await.at(&url_a)?;
    let mut wb = Wallet::from_node(&cb, key.clone()).await.at(&url_b)?;
    let mut max_amount = BTreeMap::new();
    for s in &a.serve {
        let (asset, max) = asset_amount(s, false)?;
        for (c, u) in [(&ca, &url_a), (&cb, &url_b)] {
            if asset_id(c, &asset).await.at(u)?.is_none() {
                return Err(CliError::failed(format!("{u} has no asset {asset}")));
            }
        }
        max_amount.insert(asset, max);
    }
    let timeouts = SwapTimeouts {
        step_ms: a.step_ms,
        margin_ms: a.margin_ms,
    };
    let policy = ResponderPolicy {
        fee_bps: a.fee_bps,
        max_amount,
    };
    let mut ab = Responder::new(key.public(), timeouts, policy.clone());
    let mut ba = Responder::new(key.public(), timeouts, policy);
    let mut pace_a = measure_pace(&ca, Duration::from_secs(2)).await.at(&url_a)?;
    let mut pace_b = measure_pace(&cb, Duration::from_secs(2)).await.at(&url_b)?;
    if !ctx.json {
        println!(
            "swap desk {} on {url_a} ({:.0} ms/block) and {url_b} ({:.0} ms/block)",
            key.public(),
            pace_a.ms_per_block,
            pace_b.ms_per_block
        );
    }
    let started = Instant::now();
    let mut sample = (Instant::now(), final_heights(&ca, &cb).await);
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    tokio::pin!(stop);
    loop {
        if a.duration
            .is_some_and(|d| started.elapsed().as_secs_f64() >= d)
        {
            return Ok(());
        }
        for (actions, chains) in [
            (
                ab.pass(&ca, &cb, &mut wa, &mut wb, pace_a, pace_b).await,
                "A->B",
            ),
            (
                ba.pass(&cb, &ca, &mut wb, &mut wa, pace_b, pace_a).await,
                "B->A",
            ),
        ] {
            match actions {
                Ok(list) => {
                    for act in list {
                        if ctx.json {
                            print_json_line(
                                &serde_json::json!({"direction": chains, "action": act}),
                            );
                        } else {
                            println!("{chains} {act:?}");
                        }
                    }
                }
                Err(e) => eprintln!("warning: desk pass {chains}: {e}"),
            }
        }
        // Re-measure both chains' pace every 10 s.
        if sample.0.elapsed() >= Duration::from_secs(10) {
            let now = final_heights(&ca, &cb).await;
            let ms = sample.0.elapsed().as_millis() as f64;
            if now.0 > sample.1 .0 {
                pace_a = ChainPace::new(ms / (now.0 - sample.1 .0) as f64);
            }
            if now.1 > sample.1 .1 {
                pace_b = ChainPace::new(ms / (now.1 - sample.1 .1) as f64);
            }
            sample = (Instant::now(), now);
        }
        tokio::select! {
            _ = &mut stop => return Ok(()),
            _ = tokio::time::sleep(Duration::from_secs_f64(a.interval.max(0.05))) => {}
        }
    }
}

async fn final_heights(a: &LedgerClient, b: &LedgerClient) -> (u64, u64) {
    let ha = a.chain_status().await.map(|s| s.final_height).unwrap_or(0);
    let hb = b.chain_status().await.map(|s| s.final_height).unwrap_or(0);
    (ha, hb)
}

/// After a write through `submit_bundle` or `submit_tx` without waiting: with `wait`,
/// polls `get_tx` until the transaction is final, then prints as every write does.
async fn finish_polled<S: serde::Serialize>(
    ctx: &Ctx,
    client: &LedgerClient,
    submitted: &S,
    hash: ledger_types::Hash,
    lines: Vec<(&str, String)>,
    wait: Option<f64>,
    names: &Names,
) -> CliResult<()> {
    let waited = match wait {
        Some(timeout) => Some(wait_final(client, ctx.url(), hash, timeout).await?),
        None => None,
    };
    finish_write(ctx, submitted, hash, lines, waited, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legs_and_bounds_parse() {
        let (m, side, p, q, tif) = parse_leg("BTC/USD,buy,100.5,0.1").unwrap();
        assert_eq!(
            (m.as_str(), side, tif),
            ("BTC/USD", Side::Buy, TimeInForce::Ioc)
        );
        assert_eq!((p, q), (Decimal::new(1005, 1), Decimal::new(1, 1)));
        assert_eq!(
            parse_leg("ETH/BTC, SELL, 0.05, 2, fok").unwrap().4,
            TimeInForce::Fok
        );
        for bad in [
            "BTC/USD,buy,100",
            "BTC/USD,hold,1,1",
            "BTC/USD,buy,-1,1",
            "BTC/USD,buy,1,1,GTC",
        ] {
            assert!(parse_leg(bad).is_err(), "{bad}");
        }
        assert_eq!(
            asset_amount("usd=-0.5", true).unwrap(),
            ("USD".into(), Decimal::new(-5, 1))
        );
        assert!(asset_amount("USD=-0.5", false).is_err());
        assert!(asset_amount("USD", true).is_err());
    }
}
