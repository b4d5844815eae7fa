//! Swapping between two chains with hashlocks, for any Rust client.
//!
//! An **initiator** on chain A and a **responder** on chain B (the same key pair on both
//! chains gives the same address) exchange amounts without trusting each other:
//!
//! 1. The initiator draws a secret preimage `s` and locks its amount on A for the
//!    responder under `H = SHA-256(s)`, with timeout `T_A` ([`InitiatorSwap`]).
//! 2. The responder sees the lock (final on A), checks the terms, and locks its amount on
//!    B for the initiator under the same `H` with an **earlier** timeout `T_B`
//!    ([`Responder`]).
//! 3. The initiator claims on B with `s` (below `T_B`), which publishes `s`.
//! 4. The responder reads `s` from B (`get_swap`, `subscribe_swaps`) and claims on A
//!    (below `T_A`).
//!
//! If anyone stops, each lock is refunded to its owner at its timeout. Safety rests on
//! the **staggered timeouts** ([`SwapTimeouts`]): `T_B` falls at least one step plus a
//! margin (in wall-clock time, converted to each chain's blocks with its measured
//! [`ChainPace`]) before `T_A`, so the responder always has time to claim on A after `s`
//! appears on B; and the initiator only claims on B while enough blocks remain before
//! `T_B` that its claim lands in time (a late claim would reveal `s` and fail).
//!
//! Both sides work from chain state on every step, so a party that crashes and restarts
//! resumes where it stopped: the initiator only has to keep its [`InitiatorSwap`] (the
//! preimage above all) on disk before the lock is submitted; the responder keeps
//! nothing.

use crate::api::LedgerApiClient;
use crate::atomic::{AtomicApiClient, SwapState, SwapView};
use crate::error::ApiError;
use crate::types::{TxStatus, WireTx};
use crate::wallet::Wallet;
use jsonrpsee::core::client::{Error as ClientError, SubscriptionClientT};
use ledger_types::{Address, AssetId, Decimal, Hash, Preimage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How fast a chain finalizes blocks: milliseconds per final block.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChainPace {
    /// Average milliseconds between final blocks.
    pub ms_per_block: f64,
}

impl ChainPace {
    /// A pace, clamped to at least 1 ms per block.
    pub fn new(ms_per_block: f64) -> ChainPace {
        ChainPace {
            ms_per_block: if ms_per_block.is_finite() {
                ms_per_block.max(1.0)
            } else {
                1_000.0
            },
        }
    }

    /// Blocks that take at least `ms` (at least 1).
    pub fn blocks_for(&self, ms: u64) -> u64 {
        ((ms as f64 / self.ms_per_block).ceil() as u64).max(1)
    }

    /// Whole blocks that fit in `ms` (may be 0).
    pub fn blocks_within(&self, ms: f64) -> u64 {
        (ms.max(0.0) / self.ms_per_block).floor() as u64
    }

    /// Milliseconds `blocks` take.
    pub fn ms_for(&self, blocks: u64) -> f64 {
        blocks as f64 * self.ms_per_block
    }
}

/// Measures a chain's pace from its final height over about `over` (at least two final
/// blocks are waited for, up to four times `over`).
pub async fn measure_pace<C>(client: &C, over: Duration) -> Result<ChainPace, ClientError>
where
    C: SubscriptionClientT + Sync,
{
    let start = Instant::now();
    let h0 = LedgerApiClient::chain_status(client).await?.final_height;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let h = LedgerApiClient::chain_status(client).await?.final_height;
        let elapsed = start.elapsed();
        if (elapsed >= over && h >= h0 + 2) || elapsed >= over * 4 {
            let blocks = h.saturating_sub(h0).max(1);
            return Ok(ChainPace::new(elapsed.as_millis() as f64 / blocks as f64));
        }
    }
}

/// Why the responder will not answer a lock.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TimeoutError {
    /// The initiator's lock expires too soon for a safe answer.
    #[error("the initiator's lock leaves {left_ms:.0} ms; a safe answer needs {needed_ms} ms")]
    TooLate {
        /// Time left before the initiator's timeout.
        left_ms: f64,
        /// Time a safe answer needs.
        needed_ms: u64,
    },
}

/// The time budget of a swap: `step_ms` for each party's action (see a final lock, send
/// a transaction, have it final) and `margin_ms` of slack between the two timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapTimeouts {
    /// Time one party needs to act, in milliseconds.
    pub step_ms: u64,
    /// Slack between the responder's timeout and the initiator's, in milliseconds.
    pub margin_ms: u64,
}

impl Default for SwapTimeouts {
    fn default() -> Self {
        SwapTimeouts {
            step_ms: 10_000,
            margin_ms: 10_000,
        }
    }
}

impl SwapTimeouts {
    /// The initiator's timeout height on A, locking at A's height `a_height`: three steps
    /// (the responder locks, the initiator claims, the responder claims) and the margin.
    pub fn initiator_timeout(&self, a_height: u64, a: ChainPace) -> u64 {
        a_height + a.blocks_for(3 * self.step_ms + self.margin_ms)
    }

    /// The responder's timeout height on B for an initiator lock expiring at `a_timeout`
    /// (A is at `a_height`, B at `b_height`): it falls one step plus the margin before
    /// the initiator's (in time), and leaves the initiator at least one step to claim.
    pub fn responder_timeout(
        &self,
        a_timeout: u64,
        a_height: u64,
        a: ChainPace,
        b_height: u64,
        b: ChainPace,
    ) -> Result<u64, TimeoutError> {
        let left_ms = a.ms_for(a_timeout.saturating_sub(a_height));
        let needed_ms = 2 * self.step_ms + self.margin_ms;
        if left_ms < needed_ms as f64 {
            return Err(TimeoutError::TooLate { left_ms, needed_ms });
        }
        let b_blocks = b.blocks_within(left_ms - (self.step_ms + self.margin_ms) as f64);
        if b.ms_for(b_blocks) < self.step_ms as f64 {
            return Err(TimeoutError::TooLate { left_ms, needed_ms });
        }
        Ok(b_height + b_blocks)
    }

    /// Blocks that must remain before a timeout for a claim sent now to land in time:
    /// half a step, and at least 3.
    pub fn claim_guard_blocks(&self, pace: ChainPace) -> u64 {
        pace.blocks_for(self.step_ms / 2).max(3)
    }

    /// True if a claim sent when the chain is at `latest_height` lands before `timeout`.
    pub fn may_claim(&self, timeout: u64, latest_height: u64, pace: ChainPace) -> bool {
        latest_height + self.claim_guard_blocks(pace) < timeout
    }
}

/// An error of a protocol step.
#[derive(Debug, thiserror::Error)]
pub enum SwapProtocolError {
    /// A call to a node failed (transport or a refusal that the step cannot handle).
    #[error("{0}")]
    Rpc(#[from] ClientError),
    /// An asset symbol is not known on a chain.
    #[error("asset {0} is not known on chain {1}")]
    UnknownAsset(String, String),
}

/// An asset's id on a chain, from its symbol.
pub async fn asset_id<C>(client: &C, symbol: &str) -> Result<Option<AssetId>, ClientError>
where
    C: SubscriptionClientT + Sync,
{
    let acct = LedgerApiClient::get_account(client, Address::default()).await?;
    Ok(acct
        .balances
        .iter()
        .find(|b| b.asset.eq_ignore_ascii_case(symbol))
        .map(|b| AssetId(b.asset_id)))
}

/// Up to `max` of an account's swaps (as owner or counterparty), newest lock first.
pub async fn recent_swaps<C>(
    client: &C,
    account: Address,
    max: usize,
) -> Result<Vec<SwapView>, ClientError>
where
    C: SubscriptionClientT + Sync,
{
    let mut out = Vec::new();
    let mut cursor = None;
    while out.len() < max {
        let page = AtomicApiClient::get_swaps(client, account, Some(100), cursor).await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    out.truncate(max);
    Ok(out)
}

/// Where a transaction is, as the node sees it (`None`: unknown).
async fn tx_status<C>(client: &C, hash: Hash) -> Result<Option<TxStatus>, ClientError>
where
    C: SubscriptionClientT + Sync,
{
    match LedgerApiClient::get_tx(client, hash).await {
        Ok(v) => Ok(Some(v.status)),
        Err(e) if is_reason(&e, "tx_not_found") => Ok(None),
        Err(e) => Err(e),
    }
}

async fn swap_of<C>(client: &C, id: Hash) -> Result<Option<SwapView>, ClientError>
where
    C: SubscriptionClientT + Sync,
{
    match AtomicApiClient::get_swap(client, id).await {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_reason(&e, "swap_not_found") => Ok(None),
        Err(e) => Err(e),
    }
}

fn is_reason(e: &ClientError, reason: &str) -> bool {
    ApiError::from_client_error(e).is_some_and(|a| a.reason() == Some(reason))
}

/// Submits a signed transaction; a node that already has it (or already executed its
/// nonce) is not an error: the caller reads the outcome from the chain.
async fn submit<C>(client: &C, tx: &WireTx) -> Result<(), ClientError>
where
    C: SubscriptionClientT + Sync,
{
    match LedgerApiClient::submit_tx(client, tx.clone(), None, None).await {
        Ok(_) => Ok(()),
        Err(e) if is_reason(&e, "duplicate") || is_reason(&e, "nonce_too_low") => Ok(()),
        Err(e) => Err(e),
    }
}

/// Where an initiated swap stands after [`InitiatorSwap::advance`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum InitiatorStep {
    /// The lock on A is not final yet.
    LockPending,
    /// The lock on A is final; waiting for the responder's lock on B.
    AwaitingCounterLock,
    /// The claim on B is sent; waiting for it to be final.
    ClaimPending,
    /// Done: the initiator claimed the responder's lock on B.
    Swapped {
        /// The responder's swap on B.
        b_swap_id: Hash,
    },
    /// The refund on A is sent; waiting for it to be final.
    RefundPending,
    /// Done: the lock on A was refunded (no counter lock in time).
    Refunded,
    /// Done: the lock never happened (`reason` says why); nothing is at stake.
    Aborted {
        /// Why.
        reason: String,
    },
}

impl InitiatorStep {
    /// True once nothing more will happen.
    pub fn is_done(&self) -> bool {
        matches!(
            self,
            InitiatorStep::Swapped { .. } | InitiatorStep::Refunded | InitiatorStep::Aborted { .. }
        )
    }
}

/// The initiator's side of one swap: everything it must keep on disk (the preimage
/// first) to finish or refund after a crash. Persist it after [`InitiatorSwap::new`] and
/// before the first [`InitiatorSwap::advance`] (which submits the lock), and after each
/// step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InitiatorSwap {
    /// The secret.
    pub preimage: Preimage,
    /// `SHA-256(preimage)`.
    pub hashlock: Hash,
    /// The responder (same address on both chains).
    pub counterparty: Address,
    /// What the initiator gives on A: asset symbol.
    pub give_asset: String,
    /// ... and amount.
    #[serde(with = "rust_decimal::serde::str")]
    pub give_amount: Decimal,
    /// What it wants on B: asset symbol.
    pub want_asset: String,
    /// ... and least amount.
    #[serde(with = "rust_decimal::serde::str")]
    pub want_amount: Decimal,
    /// Timeout height of the lock on A.
    pub a_timeout: u64,
    /// The signed lock on A (its hash is the swap id on A).
    pub lock_tx: WireTx,
    /// The claim on B, once sent.
    #[serde(default)]
    pub claim_tx: Option<WireTx>,
    /// The refund on A, once sent.
    #[serde(default)]
    pub refund_tx: Option<WireTx>,
    /// The last step reached.
    pub step: InitiatorStep,
}

impl InitiatorSwap {
    /// Plans a swap: draws nothing itself (pass a fresh random `preimage`), signs the lock
    /// on A with `wallet_a` (advancing its nonce) and submits nothing.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        wallet_a: &mut Wallet,
        preimage: Preimage,
        counterparty: Address,
        give: (AssetId, &str, Decimal),
        want: (&str, Decimal),
        a_timeout: u64,
    ) -> InitiatorSwap {
        let hashlock = preimage.hashlock();
        let lock = wallet_a.swap_lock(counterparty, give.0, give.2, hashlock, a_timeout);
        InitiatorSwap {
            preimage,
            hashlock,
            counterparty,
            give_asset: give.1.to_string(),
            give_amount: give.2,
            want_asset: want.0.to_string(),
            want_amount: want.1,
            a_timeout,
            lock_tx: lock.into(),
            claim_tx: None,
            refund_tx: None,
            step: InitiatorStep::LockPending,
        }
    }

    /// The swap id on A (the lock transaction's hash).
    pub fn a_swap_id(&self) -> Hash {
        self.lock_tx.hash.unwrap_or_default()
    }

    /// One step: reads both chains and sends at most one transaction (the lock, a claim
    /// on B, or a refund on A). Safe to call again after a crash.
    pub async fn advance<C>(
        &mut self,
        a: &C,
        b: &C,
        wallet_a: &mut Wallet,
        wallet_b: &mut Wallet,
        timeouts: &SwapTimeouts,
        b_pace: ChainPace,
    ) -> Result<InitiatorStep, SwapProtocolError>
    where
        C: SubscriptionClientT + Sync,
    {
        let step = self
            .advance_inner(a, b, wallet_a, wallet_b, timeouts, b_pace)
            .await?;
        self.step = step.clone();
        Ok(step)
    }

    async fn advance_inner<C>(
        &mut self,
        a: &C,
        b: &C,
        wallet_a: &mut Wallet,
        wallet_b: &mut Wallet,
        timeouts: &SwapTimeouts,
        b_pace: ChainPace,
    ) -> Result<InitiatorStep, SwapProtocolError>
    where
        C: SubscriptionClientT + Sync,
    {
        if self.step.is_done() {
            return Ok(self.step.clone());
        }
        let me = wallet_a.address();
        // 1. The lock on A.
        let a_swap = match swap_of(a, self.a_swap_id()).await? {
            Some(s) => s,
            None => {
                return match tx_status(a, self.a_swap_id()).await? {
                    Some(TxStatus::Rejected) => {
                        let reason = LedgerApiClient::get_tx(a, self.a_swap_id())
                            .await?
                            .error
                            .map(|e| e.message)
                            .unwrap_or_else(|| "rejected".into());
                        Ok(InitiatorStep::Aborted { reason })
                    }
                    Some(_) => Ok(InitiatorStep::LockPending),
                    None => {
                        submit(a, &self.lock_tx).await?;
                        // A lock whose nonce another transaction took never executes.
                        let next = LedgerApiClient::get_account(a, me).await?.next_nonce;
                        if tx_status(a, self.a_swap_id()).await?.is_none()
                            && next > self.lock_tx.nonce
                        {
                            return Ok(InitiatorStep::Aborted {
                                reason: "the lock transaction was lost and its nonce reused".into(),
                            });
                        }
                        Ok(InitiatorStep::LockPending)
                    }
                };
            }
        };
        if a_swap.status == SwapState::Refunded {
            return Ok(InitiatorStep::Refunded);
        }
        // 2. The responder's lock on B, found by hashlock.
        let counter = recent_swaps(b, me, 300).await?.into_iter().find(|s| {
            s.terms.hashlock == self.hashlock
                && s.terms.counterparty == me
                && s.terms.owner == self.counterparty
                && s.terms.asset.eq_ignore_ascii_case(&self.want_asset)
                && s.terms.amount >= self.want_amount
        });
        let b_latest = LedgerApiClient::chain_status(b).await?.latest_height;
        if let Some(c) = &counter {
            match c.status {
                SwapState::Claimed => {
                    return Ok(InitiatorStep::Swapped {
                        b_swap_id: c.terms.swap_id,
                    })
                }
                SwapState::Open => {
                    if let Some(claim) = &self.claim_tx {
                        match tx_status(b, claim.hash.unwrap_or_default()).await? {
                            Some(TxStatus::Rejected) => {} // e.g. expired: refund on A
                            Some(_) => return Ok(InitiatorStep::ClaimPending),
                            None if timeouts.may_claim(
                                c.terms.timeout_height,
                                b_latest,
                                b_pace,
                            ) =>
                            {
                                submit(b, claim).await?;
                                return Ok(InitiatorStep::ClaimPending);
                            }
                            None => {}
                        }
                    } else if timeouts.may_claim(c.terms.timeout_height, b_latest, b_pace) {
                        wallet_b.resync(b).await?;
                        let claim: WireTx =
                            wallet_b.swap_claim(c.terms.swap_id, self.preimage).into();
                        self.claim_tx = Some(claim.clone());
                        submit(b, &claim).await?;
                        return Ok(InitiatorStep::ClaimPending);
                    }
                }
                SwapState::Refunded => {}
            }
        }
        // 3. No (usable) counter lock: refund on A from its timeout on.
        if a_swap.status == SwapState::Claimed {
            // The responder claimed on A: it saw the preimage, so a claim on B was sent.
            return Ok(InitiatorStep::ClaimPending);
        }
        let a_final = LedgerApiClient::chain_status(a).await?.final_height;
        if a_final + 1 >= self.a_timeout {
            if let Some(r) = &self.refund_tx {
                if tx_status(a, r.hash.unwrap_or_default()).await? != Some(TxStatus::Rejected) {
                    submit(a, r).await?;
                    return Ok(InitiatorStep::RefundPending);
                }
            }
            wallet_a.resync(a).await?;
            let refund: WireTx = wallet_a.swap_refund(self.a_swap_id()).into();
            self.refund_tx = Some(refund.clone());
            submit(a, &refund).await?;
            return Ok(InitiatorStep::RefundPending);
        }
        Ok(InitiatorStep::AwaitingCounterLock)
    }
}

/// What a responder did in one pass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ResponderAction {
    /// Locked on the other chain in answer to a lock.
    Locked {
        /// The initiator's swap.
        incoming: Hash,
        /// The answering lock's transaction (its swap id).
        lock_tx: Hash,
        /// Its timeout height.
        timeout_height: u64,
    },
    /// Refused to answer a lock (policy or time).
    Declined {
        /// The initiator's swap.
        incoming: Hash,
        /// Why.
        reason: String,
    },
    /// Claimed the initiator's lock with the preimage it revealed.
    Claimed {
        /// The initiator's swap.
        incoming: Hash,
    },
    /// Took back an answering lock after its timeout.
    Refunded {
        /// The responder's swap.
        swap_id: Hash,
    },
}

/// What a responder accepts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponderPolicy {
    /// Fee kept from each answer, in basis points of the amount.
    pub fee_bps: u32,
    /// Largest amount answered per asset symbol (assets not listed are declined).
    pub max_amount: BTreeMap<String, Decimal>,
}

/// The responder's side (a "swap desk"): answers every lock made for it on one chain with
/// a lock of the same asset and amount (less its fee) on the other chain, and claims
/// and refunds as the protocol says. It keeps no state that matters across restarts.
#[derive(Debug)]
pub struct Responder {
    /// The responder's address (the same on both chains).
    pub me: Address,
    /// The time budget.
    pub timeouts: SwapTimeouts,
    /// What it accepts.
    pub policy: ResponderPolicy,
    sent: BTreeMap<(Hash, &'static str), Instant>,
    declined: BTreeMap<Hash, String>,
}

impl Responder {
    /// A responder for `me`.
    pub fn new(me: Address, timeouts: SwapTimeouts, policy: ResponderPolicy) -> Responder {
        Responder {
            me,
            timeouts,
            policy,
            sent: BTreeMap::new(),
            declined: BTreeMap::new(),
        }
    }

    fn recently_sent(&mut self, key: (Hash, &'static str)) -> bool {
        self.sent
            .retain(|_, t| t.elapsed() < Duration::from_secs(30));
        self.sent.contains_key(&key)
    }

    /// One pass over the locks made for this responder on `from`, answered on `to`.
    #[allow(clippy::too_many_arguments)]
    pub async fn pass<C>(
        &mut self,
        from: &C,
        to: &C,
        wallet_from: &mut Wallet,
        wallet_to: &mut Wallet,
        from_pace: ChainPace,
        to_pace: ChainPace,
    ) -> Result<Vec<ResponderAction>, SwapProtocolError>
    where
        C: SubscriptionClientT + Sync,
    {
        let mut actions = Vec::new();
        let from_status = LedgerApiClient::chain_status(from).await?;
        let to_status = LedgerApiClient::chain_status(to).await?;
        let incoming: Vec<SwapView> = recent_swaps(from, self.me, 300)
            .await?
            .into_iter()
            .filter(|s| s.terms.counterparty == self.me && s.status == SwapState::Open)
            .collect();
        let mine: Vec<SwapView> = recent_swaps(to, self.me, 300)
            .await?
            .into_iter()
            .filter(|s| s.terms.owner == self.me)
            .collect();
        for inc in &incoming {
            let id = inc.terms.swap_id;
            let answer = mine.iter().find(|m| {
                m.terms.hashlock == inc.terms.hashlock && m.terms.counterparty == inc.terms.owner
            });
            match answer {
                None => {
                    if self.declined.contains_key(&id) || self.recently_sent((id, "lock")) {
                        continue;
                    }
                    let limit = self
                        .policy
                        .max_amount
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(&inc.terms.asset))
                        .map(|(_, v)| *v);
                    let reason = match limit {
                        None => Some(format!("asset {} is not served", inc.terms.asset)),
                        Some(max) if inc.terms.amount > max => {
                            Some(format!("amount {} above the limit {max}", inc.terms.amount))
                        }
                        _ => None,
                    };
                    let timeout = self.timeouts.responder_timeout(
                        inc.terms.timeout_height,
                        from_status.latest_height,
                        from_pace,
                        to_status.latest_height,
                        to_pace,
                    );
                    let (reason, timeout) = match (reason, timeout) {
                        (Some(r), _) => (Some(r), 0),
                        (None, Err(e)) => (Some(e.to_string()), 0),
                        (None, Ok(t)) => (None, t),
                    };
                    if let Some(reason) = reason {
                        self.declined.insert(id, reason.clone());
                        actions.push(ResponderAction::Declined {
                            incoming: id,
                            reason,
                        });
                        continue;
                    }
                    let asset = asset_id(to, &inc.terms.asset).await?.ok_or_else(|| {
                        SwapProtocolError::UnknownAsset(
                            inc.terms.asset.clone(),
                            to_status.chain_id.clone(),
                        )
                    })?;
                    let fee = inc.terms.amount * Decimal::from(self.policy.fee_bps)
                        / Decimal::from(10_000);
                    let amount = (inc.terms.amount - fee).round_dp_with_strategy(
                        inc.terms.amount.scale(),
                        rust_decimal::RoundingStrategy::ToZero,
                    );
                    wallet_to.resync(to).await?;
                    let lock = wallet_to.swap_lock(
                        inc.terms.owner,
                        asset,
                        amount,
                        inc.terms.hashlock,
                        timeout,
                    );
                    let lock_tx = lock.hash();
                    submit(to, &lock.into()).await?;
                    self.sent.insert((id, "lock"), Instant::now());
                    actions.push(ResponderAction::Locked {
                        incoming: id,
                        lock_tx,
                        timeout_height: timeout,
                    });
                }
                Some(m) => {
                    if let (SwapState::Claimed, Some(preimage)) = (m.status, m.preimage) {
                        if from_status.latest_height + 1 < inc.terms.timeout_height
                            && !self.recently_sent((id, "claim"))
                        {
                            wallet_from.resync(from).await?;
                            let claim = wallet_from.swap_claim(id, preimage);
                            submit(from, &claim.into()).await?;
                            self.sent.insert((id, "claim"), Instant::now());
                            actions.push(ResponderAction::Claimed { incoming: id });
                        }
                    }
                }
            }
        }
        // Refund every answering lock past its timeout (claimed or not answered).
        for m in &mine {
            let sid = m.terms.swap_id;
            if m.status == SwapState::Open
                && to_status.final_height + 1 >= m.terms.timeout_height
                && !self.recently_sent((sid, "refund"))
            {
                wallet_to.resync(to).await?;
                let refund = wallet_to.swap_refund(sid);
                submit(to, &refund.into()).await?;
                self.sent.insert((sid, "refund"), Instant::now());
                actions.push(ResponderAction::Refunded { swap_id: sid });
            }
        }
        Ok(actions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staggered_timeouts_leave_the_responder_time_to_claim() {
        let t = SwapTimeouts {
            step_ms: 4_000,
            margin_ms: 4_000,
        };
        let a = ChainPace::new(500.0); // A: 2 blocks/s
        let b = ChainPace::new(1_000.0); // B: 1 block/s
        let ta = t.initiator_timeout(100, a);
        assert_eq!(ta, 100 + 32); // 16 s
                                  // Answered at once: B's lock ends step + margin (8 s) before A's.
        let tb = t.responder_timeout(ta, 100, a, 50, b).unwrap();
        assert_eq!(tb, 50 + 8);
        let a_end_ms = a.ms_for(ta - 100);
        let b_end_ms = b.ms_for(tb - 50);
        assert!(a_end_ms - b_end_ms >= (t.step_ms + t.margin_ms) as f64);
        assert!(b_end_ms >= t.step_ms as f64);
        // Answered late: less time on B; too late: refused.
        let tb_late = t.responder_timeout(ta, 108, a, 50, b).unwrap();
        assert_eq!(tb_late, 50 + 4);
        assert!(matches!(
            t.responder_timeout(ta, 110, a, 50, b),
            Err(TimeoutError::TooLate { .. })
        ));
        // The initiator claims only with enough blocks left.
        assert!(t.may_claim(58, 50, b));
        assert!(!t.may_claim(58, 55, b));
    }

    #[test]
    fn pace_conversions() {
        let p = ChainPace::new(250.0);
        assert_eq!(p.blocks_for(1_000), 4);
        assert_eq!(p.blocks_for(1), 1);
        assert_eq!(p.blocks_within(999.0), 3);
        assert_eq!(ChainPace::new(f64::NAN).ms_per_block, 1_000.0);
        assert_eq!(ChainPace::new(0.0).ms_per_block, 1.0);
    }
}
