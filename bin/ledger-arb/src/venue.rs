//! A venue: one network reached through one node. The bot keeps a WebSocket client for
//! requests, one WebSocket subscription per watched book (each on its own connection,
//! reconnected if it drops), a subscription to final blocks to measure the chain's pace,
//! and the bot's wallet on it.

use anyhow::{anyhow, Context, Result};
use ledger_rpc::swap_protocol::{measure_pace, ChainPace};
use ledger_rpc::{
    connect, LedgerApiClient, LedgerClient, MarketRef, MarketView, OrderBookView, Wallet,
};
use ledger_types::{AssetId, Keypair, MarketId};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The WebSocket URL of an endpoint.
pub fn ws_url(u: &str) -> String {
    let u = u.trim().trim_end_matches('/');
    if let Some(rest) = u.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = u.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if u.contains("://") {
        u.to_string()
    } else {
        format!("ws://{u}")
    }
}

/// Final heights over time, for the chain's pace.
#[derive(Debug, Default)]
pub struct PaceMeter {
    samples: VecDeque<(Instant, u64)>,
}

impl PaceMeter {
    /// Records a final height.
    pub fn record(&mut self, height: u64) {
        self.samples.push_back((Instant::now(), height));
        while self.samples.len() > 30 {
            self.samples.pop_front();
        }
    }

    /// Milliseconds per final block over the recent window, once it spans at least two
    /// blocks and two seconds.
    pub fn measured(&self) -> Option<ChainPace> {
        match (self.samples.front(), self.samples.back()) {
            (Some((t0, h0)), Some((t1, h1)))
                if *h1 > *h0 + 1 && t1.duration_since(*t0) >= Duration::from_secs(2) =>
            {
                Some(ChainPace::new(
                    t1.duration_since(*t0).as_millis() as f64 / (h1 - h0) as f64,
                ))
            }
            _ => None,
        }
    }
}

/// A message from a feed to the bot.
#[derive(Debug)]
pub enum Feed {
    /// A new snapshot of a watched book.
    Book {
        /// Venue index.
        venue: usize,
        /// The snapshot.
        view: OrderBookView,
    },
}

/// One network as the bot sees it.
pub struct Venue {
    /// Its name (`a`, `b`, ...).
    pub name: String,
    /// Its endpoint (WebSocket).
    pub url: String,
    /// Chain id.
    pub chain_id: String,
    /// Client for requests and submissions.
    pub client: Arc<LedgerClient>,
    /// The bot's wallet; hold the lock across signing and submitting so that nonces
    /// reach the node in order.
    pub wallet: Arc<tokio::sync::Mutex<Wallet>>,
    /// Watched markets.
    pub markets: Vec<MarketView>,
    /// Asset ids by symbol.
    pub assets: BTreeMap<String, AssetId>,
    /// Asset decimals by symbol.
    pub decimals: BTreeMap<String, u32>,
    /// The chain's pace.
    pub pace: Arc<Mutex<PaceMeter>>,
}

impl Venue {
    /// Connects to `url`, sets up the wallet of `key` and picks the watched markets
    /// (`wanted` symbols, or every market when empty).
    pub async fn connect(name: &str, url: &str, key: Keypair, wanted: &[String]) -> Result<Venue> {
        let url = ws_url(url);
        let client = connect(&url)
            .await
            .with_context(|| format!("venue {name}: cannot connect to {url}"))?;
        let status = client.chain_status().await?;
        let all = client.get_markets().await?;
        let markets: Vec<MarketView> = if wanted.is_empty() {
            all.clone()
        } else {
            all.iter()
                .filter(|m| wanted.iter().any(|w| w.eq_ignore_ascii_case(&m.symbol)))
                .cloned()
                .collect()
        };
        if markets.is_empty() {
            return Err(anyhow!(
                "venue {name}: none of the markets {wanted:?} exists"
            ));
        }
        let mut assets = BTreeMap::new();
        let mut decimals = BTreeMap::new();
        for m in &all {
            assets.insert(m.base.clone(), AssetId(m.base_asset_id));
            assets.insert(m.quote.clone(), AssetId(m.quote_asset_id));
            decimals.insert(m.base.clone(), m.base_decimals);
            decimals.insert(m.quote.clone(), m.quote_decimals);
        }
        let wallet = Wallet::from_node(&client, key).await?;
        let pace = Arc::new(Mutex::new(PaceMeter::default()));
        pace.lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(status.final_height);
        Ok(Venue {
            name: name.to_string(),
            url,
            chain_id: status.chain_id,
            client: Arc::new(client),
            wallet: Arc::new(tokio::sync::Mutex::new(wallet)),
            markets,
            assets,
            decimals,
            pace,
        })
    }

    /// The chain's pace: from the block feed once it has enough samples, else measured
    /// now over about two seconds (a swap's timeouts depend on it).
    pub async fn pace(&self) -> ChainPace {
        let known = self
            .pace
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .measured();
        match known {
            Some(p) => p,
            None => measure_pace(self.client.as_ref(), Duration::from_secs(2))
                .await
                .unwrap_or(ChainPace::new(1_000.0)),
        }
    }

    /// Starts the book feeds (into `tx`) and the block feed (into the pace meter).
    pub fn spawn_feeds(&self, index: usize, tx: mpsc::Sender<Feed>) {
        for m in &self.markets {
            let (url, id, tx) = (self.url.clone(), m.id, tx.clone());
            tokio::spawn(async move {
                loop {
                    if let Err(e) = book_feed(&url, index, id, &tx).await {
                        tracing::warn!(%url, market = id, "book feed: {e}; reconnecting");
                    }
                    if tx.is_closed() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        }
        let (url, pace) = (self.url.clone(), self.pace.clone());
        tokio::spawn(async move {
            loop {
                if let Err(e) = block_feed(&url, &pace).await {
                    tracing::warn!(%url, "block feed: {e}; reconnecting");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

async fn book_feed(url: &str, venue: usize, market: u32, tx: &mpsc::Sender<Feed>) -> Result<()> {
    let c = connect(url).await?;
    let mut sub = c
        .subscribe_book(MarketRef::Id(MarketId(market)), Some(20))
        .await?;
    while let Some(item) = sub.next().await {
        let view = item?;
        if tx.send(Feed::Book { venue, view }).await.is_err() {
            return Ok(());
        }
    }
    Err(anyhow!("subscription ended"))
}

async fn block_feed(url: &str, pace: &Mutex<PaceMeter>) -> Result<()> {
    let c = connect(url).await?;
    let mut sub = c.subscribe_blocks(Some(false)).await?;
    while let Some(item) = sub.next().await {
        let b = item?;
        pace.lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(b.height);
    }
    Err(anyhow!("subscription ended"))
}
