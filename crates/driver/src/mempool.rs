//! The mempool: signed transactions waiting for a block.
//!
//! Admission checks, in order: size, chain id, duplicate, signature (once, on
//! admission; [`Mempool::admit_batch`] verifies a burst with ed25519 batch verification),
//! nonce against the account's final nonce (not used, not too far ahead, not already
//! pending), a balance pre-check (a limit order's lock, a transfer's amount) against the
//! final state, and the pool's limits. The engine has the last word when the block is
//! final; the pre-checks keep obviously doomed transactions out of blocks.
//!
//! Per account, transactions are kept by nonce. A proposer takes, account by account in
//! order of first arrival, the run of consecutive nonces that follows what the chain it
//! extends already contains. Entries leave when their block is final (or when the
//! account's final nonce passes them); transactions of blocks abandoned by a Nakamoto
//! reorg come back through [`Mempool::readmit`].

use crate::verified::VerifiedSignatures;
use ledger_engine::{fee, Engine};
use ledger_types::{
    Address, OrderKind, Payload, PlaceOrder, Side, SignatureError, SignedTx, TxHash,
};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Why a transaction was refused by the mempool.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    /// The encoded transaction is larger than the genesis allows.
    #[error("transaction of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// The transaction names another chain.
    #[error("transaction is for chain {got:?}, this node serves {expected:?}")]
    WrongChainId {
        /// This chain.
        expected: String,
        /// The transaction's.
        got: String,
    },
    /// The signature does not verify.
    #[error("bad signature: {0}")]
    BadSignature(SignatureError),
    /// Already in the pool.
    #[error("transaction already pending")]
    Duplicate,
    /// The nonce is already used on chain.
    #[error("nonce {got} already used; next nonce is {expected}")]
    NonceTooLow {
        /// Next nonce on chain.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The nonce is too far ahead of the account's next nonce.
    #[error("nonce {got} is more than {max_gap} ahead of the next nonce {expected}")]
    NonceTooHigh {
        /// Next nonce on chain.
        expected: u64,
        /// The transaction's.
        got: u64,
        /// The allowed gap.
        max_gap: u64,
    },
    /// Another pending transaction of the account has this nonce.
    #[error("another pending transaction already uses nonce {0}")]
    NonceTaken(u64),
    /// The account cannot pay for it (checked against the final state).
    #[error(
        "insufficient balance: need {needed}, have {available} (smallest units of asset {asset})"
    )]
    InsufficientBalance {
        /// Asset id.
        asset: u32,
        /// Needed.
        needed: u128,
        /// Free.
        available: u128,
    },
    /// The pool (or this account's share of it) is full.
    #[error("mempool full ({0})")]
    Full(&'static str),
    /// The next block is above the transaction's `valid_until_height`.
    #[error("transaction expired: valid until height {valid_until_height}, the next block is {next_height}")]
    Expired {
        /// The transaction's last valid height.
        valid_until_height: u64,
        /// The height of the next block.
        next_height: u64,
    },
}

impl AdmitError {
    /// A stable snake_case name of the reason.
    pub fn code_name(&self) -> &'static str {
        match self {
            AdmitError::TooLarge { .. } => "tx_too_large",
            AdmitError::WrongChainId { .. } => "wrong_chain_id",
            AdmitError::BadSignature(_) => "bad_signature",
            AdmitError::Duplicate => "duplicate",
            AdmitError::NonceTooLow { .. } => "nonce_too_low",
            AdmitError::NonceTooHigh { .. } => "nonce_too_high",
            AdmitError::NonceTaken(_) => "nonce_taken",
            AdmitError::InsufficientBalance { .. } => "insufficient_balance",
            AdmitError::Full(_) => "mempool_full",
            AdmitError::Expired { .. } => "tx_expired",
        }
    }
}

/// The pool's limits (the node's `[mempool]` config section).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MempoolLimits {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most bytes held (encoded transactions).
    pub max_bytes: usize,
    /// Most transactions held per account.
    pub max_per_account: usize,
    /// How far ahead of an account's next nonce a transaction may be.
    pub max_nonce_gap: u64,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        MempoolLimits {
            max_txs: 200_000,
            max_bytes: 128 * 1024 * 1024,
            max_per_account: 4_096,
            max_nonce_gap: 1_024,
        }
    }
}

#[derive(Clone, Debug)]
struct Entry {
    tx: SignedTx,
    bytes: usize,
}

#[derive(Clone, Debug, Default)]
struct AccountQueue {
    /// Nonce -> transaction hash.
    by_nonce: BTreeMap<u64, TxHash>,
    /// Arrival sequence of the account's oldest pending transaction (fair ordering).
    first_seen: u64,
    /// The account's next nonce in the executed state, as last seen (on admission, and
    /// when a final block touching the account is executed). Block selection counts
    /// from here, so a proposer never needs the engine.
    next_nonce: u64,
}

/// The pending-transaction pool.
#[derive(Debug)]
pub struct Mempool {
    limits: MempoolLimits,
    chain_id: String,
    max_tx_bytes: usize,
    entries: HashMap<TxHash, Entry>,
    accounts: BTreeMap<Address, AccountQueue>,
    bytes: usize,
    seq: u64,
    /// Pending transactions with a `valid_until_height`, by that height.
    expiry: std::collections::BTreeSet<(u64, TxHash)>,
    /// Signatures verified here that the pool no longer (or never) held: transactions
    /// that left it, and those a block brought first.
    verified: VerifiedSignatures,
}

impl Mempool {
    /// An empty pool for `chain_id`, refusing transactions over `max_tx_bytes`.
    pub fn new(limits: MempoolLimits, chain_id: String, max_tx_bytes: usize) -> Mempool {
        Mempool {
            limits,
            chain_id,
            max_tx_bytes,
            entries: HashMap::new(),
            accounts: BTreeMap::new(),
            bytes: 0,
            seq: 0,
            expiry: std::collections::BTreeSet::new(),
            verified: VerifiedSignatures::new(crate::verified::DEFAULT_CAPACITY),
        }
    }

    /// The configured limits.
    pub fn limits(&self) -> &MempoolLimits {
        &self.limits
    }

    /// Number of pending transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Encoded bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// True if the transaction is pending here.
    pub fn contains(&self, hash: &TxHash) -> bool {
        self.entries.contains_key(hash)
    }

    /// A pending transaction.
    pub fn get(&self, hash: &TxHash) -> Option<&SignedTx> {
        self.entries.get(hash).map(|e| &e.tx)
    }

    /// True if `tx`'s signature, exactly, was already verified by this node: the pool
    /// holds it with that signature, or it passed a check since (a block's, a gossiped
    /// batch's) or before it left the pool. Such a signature is not checked again.
    pub fn knows_signature(&self, tx: &SignedTx) -> bool {
        self.entries
            .get(&tx.hash())
            .is_some_and(|e| e.tx.signature == tx.signature)
            || self.verified.contains(tx)
    }

    /// Remembers signatures the caller verified that the pool may not hold (those of a
    /// validated block).
    pub fn remember_verified<'a>(&mut self, txs: impl IntoIterator<Item = &'a SignedTx>) {
        for tx in txs {
            self.verified.insert(tx);
        }
    }

    /// Pending transactions of one account, by nonce.
    pub fn pending_of(&self, account: &Address) -> Vec<SignedTx> {
        self.accounts
            .get(account)
            .map(|q| {
                q.by_nonce
                    .values()
                    .filter_map(|h| self.entries.get(h).map(|e| e.tx.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Checks that need no state: size and chain id.
    pub fn check_stateless(&self, tx: &SignedTx, encoded_len: usize) -> Result<(), AdmitError> {
        if encoded_len > self.max_tx_bytes {
            return Err(AdmitError::TooLarge {
                size: encoded_len,
                max: self.max_tx_bytes,
            });
        }
        if tx.tx.chain_id != self.chain_id {
            return Err(AdmitError::WrongChainId {
                expected: self.chain_id.clone(),
                got: tx.tx.chain_id.clone(),
            });
        }
        Ok(())
    }

    /// Verifies and admits one transaction.
    pub fn admit(
        &mut self,
        tx: SignedTx,
        encoded_len: usize,
        engine: &Engine,
    ) -> Result<TxHash, AdmitError> {
        self.check_stateless(&tx, encoded_len)?;
        if self.entries.contains_key(&tx.hash()) {
            return Err(AdmitError::Duplicate);
        }
        if !self.verified.contains(&tx) {
            tx.verify().map_err(AdmitError::BadSignature)?;
        }
        self.insert_verified(tx, encoded_len, engine)
    }

    /// Checks the signatures of a burst of transactions with one batch verification
    /// (no lock needed: call it before taking the mempool lock).
    pub fn verify_signatures(txs: &[(SignedTx, usize)]) -> Vec<Result<(), AdmitError>> {
        SignedTx::verify_many(txs.iter().map(|(t, _)| t))
            .into_iter()
            .map(|r| r.map_err(AdmitError::BadSignature))
            .collect()
    }

    /// Admits a transaction whose signature the caller already verified (with
    /// [`Mempool::verify_signatures`]). A refused one's signature is remembered (see
    /// [`Mempool::knows_signature`]), so that another copy is not checked again.
    pub fn admit_verified(
        &mut self,
        tx: SignedTx,
        encoded_len: usize,
        engine: &Engine,
    ) -> Result<TxHash, AdmitError> {
        let (hash, signature) = (tx.hash(), tx.signature);
        let admitted = self
            .check_stateless(&tx, encoded_len)
            .and_then(|()| self.insert_verified(tx, encoded_len, engine));
        if admitted.is_err() {
            self.verified.insert_parts(hash, signature);
        }
        admitted
    }

    /// Verifies a burst of transactions with one batch verification, then admits each.
    /// Returns one result per input, in order.
    pub fn admit_batch(
        &mut self,
        txs: Vec<(SignedTx, usize)>,
        engine: &Engine,
    ) -> Vec<Result<TxHash, AdmitError>> {
        let mut results: Vec<Option<Result<TxHash, AdmitError>>> = vec![None; txs.len()];
        let mut to_verify = Vec::new();
        for (i, (tx, len)) in txs.iter().enumerate() {
            if let Err(e) = self.check_stateless(tx, *len) {
                results[i] = Some(Err(e));
            } else if self.entries.contains_key(&tx.hash()) {
                results[i] = Some(Err(AdmitError::Duplicate));
            } else if !self.verified.contains(tx) {
                to_verify.push(i);
            }
        }
        let verdicts = SignedTx::verify_many(to_verify.iter().map(|&i| &txs[i].0));
        for (&i, v) in to_verify.iter().zip(verdicts) {
            if let Err(e) = v {
                results[i] = Some(Err(AdmitError::BadSignature(e)));
            }
        }
        for (i, (tx, len)) in txs.into_iter().enumerate() {
            if results[i].is_none() {
                results[i] = Some(self.insert_verified(tx, len, engine));
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or(Err(AdmitError::Duplicate)))
            .collect()
    }

    /// Puts back transactions of abandoned blocks (their signatures were checked when
    /// they were first admitted or when their block was validated). Refusals (used
    /// nonces, full pool) are dropped silently: the chain has moved past them.
    pub fn readmit(&mut self, txs: Vec<SignedTx>, engine: &Engine) -> usize {
        let mut n = 0;
        for tx in txs {
            let len = ledger_types::codec::encode(&tx).len();
            if self.check_stateless(&tx, len).is_ok()
                && !self.entries.contains_key(&tx.hash())
                && self.insert_verified(tx, len, engine).is_ok()
            {
                n += 1;
            }
        }
        n
    }

    fn insert_verified(
        &mut self,
        tx: SignedTx,
        bytes: usize,
        engine: &Engine,
    ) -> Result<TxHash, AdmitError> {
        let hash = tx.hash();
        if self.entries.contains_key(&hash) {
            return Err(AdmitError::Duplicate);
        }
        if expired(&tx, engine) {
            return Err(AdmitError::Expired {
                valid_until_height: tx.tx.valid_until_height.unwrap_or_default(),
                next_height: engine.height() + 1,
            });
        }
        let sender = tx.sender();
        let expected = engine.next_nonce(&sender);
        let nonce = tx.tx.nonce;
        if nonce < expected {
            return Err(AdmitError::NonceTooLow {
                expected,
                got: nonce,
            });
        }
        if nonce > expected.saturating_add(self.limits.max_nonce_gap) {
            return Err(AdmitError::NonceTooHigh {
                expected,
                got: nonce,
                max_gap: self.limits.max_nonce_gap,
            });
        }
        if let Some(q) = self.accounts.get(&sender) {
            if q.by_nonce.contains_key(&nonce) {
                return Err(AdmitError::NonceTaken(nonce));
            }
            if q.by_nonce.len() >= self.limits.max_per_account {
                return Err(AdmitError::Full("per-account limit"));
            }
        }
        balance_precheck(&tx, engine)?;
        if self.entries.len() >= self.limits.max_txs {
            return Err(AdmitError::Full("transaction limit"));
        }
        if self.bytes + bytes > self.limits.max_bytes {
            return Err(AdmitError::Full("byte limit"));
        }
        self.seq += 1;
        let seq = self.seq;
        let q = self.accounts.entry(sender).or_insert_with(|| AccountQueue {
            by_nonce: BTreeMap::new(),
            first_seen: seq,
            next_nonce: expected,
        });
        q.next_nonce = q.next_nonce.max(expected);
        q.by_nonce.insert(nonce, hash);
        if let Some(v) = tx.tx.valid_until_height {
            self.expiry.insert((v, hash));
        }
        self.entries.insert(hash, Entry { tx, bytes });
        self.bytes += bytes;
        Ok(hash)
    }

    /// Chooses transactions for a new block. `ancestors` are the transactions of the
    /// blocks between the last executed block and the block being extended, oldest
    /// first (they are skipped, and their nonces counted). Accounts are visited in
    /// order of first arrival; from each, the run of consecutive nonces after what the
    /// chain already holds is taken, until `max_txs` or `max_bytes` is reached; a
    /// transaction whose `valid_until_height` is below `height` (the height of the block
    /// being built) ends its account's run. Needs no engine: each account's executed
    /// nonce is remembered by the pool.
    pub fn select(
        &self,
        height: u64,
        ancestors: &[&SignedTx],
        max_txs: usize,
        max_bytes: usize,
    ) -> Vec<SignedTx> {
        let mut in_chain: HashSet<TxHash> = HashSet::with_capacity(ancestors.len());
        let mut next_nonce: BTreeMap<Address, u64> = BTreeMap::new();
        for tx in ancestors {
            in_chain.insert(tx.hash());
            let sender = tx.sender();
            let Some(q) = self.accounts.get(&sender) else {
                continue; // nothing pending for this account
            };
            let n = next_nonce.entry(sender).or_insert(q.next_nonce);
            if tx.tx.nonce == *n {
                *n += 1;
            }
        }
        let mut order: Vec<(u64, &Address)> = self
            .accounts
            .iter()
            .map(|(a, q)| (q.first_seen, a))
            .collect();
        order.sort_unstable();
        let mut out = Vec::new();
        let mut bytes = 0usize;
        'accounts: for (_, account) in order {
            let q = &self.accounts[account];
            let mut want = next_nonce.get(account).copied().unwrap_or(q.next_nonce);
            for (&nonce, hash) in q.by_nonce.range(want..) {
                if nonce != want {
                    break; // a gap: later nonces must wait
                }
                let Some(e) = self.entries.get(hash) else {
                    break;
                };
                if in_chain.contains(hash) {
                    want += 1;
                    continue;
                }
                if e.tx.tx.valid_until_height.is_some_and(|v| v < height) {
                    break; // the engine would refuse it; later nonces must wait
                }
                if out.len() >= max_txs {
                    break 'accounts;
                }
                if bytes + e.bytes > max_bytes {
                    break 'accounts;
                }
                bytes += e.bytes;
                out.push(e.tx.clone());
                want += 1;
            }
        }
        out
    }

    /// Drops transactions that a final block included, and every transaction whose nonce
    /// the account's final nonce has passed.
    pub fn remove_final(&mut self, txs: &[SignedTx], engine: &Engine) {
        let mut touched: Vec<Address> = Vec::new();
        for tx in txs {
            self.remove(&tx.hash());
            touched.push(tx.sender());
        }
        // Transactions that can no longer execute leave too (their nonces stay unused).
        while let Some(&(until, h)) = self.expiry.first() {
            if until > engine.height() {
                break;
            }
            self.expiry.pop_first();
            self.remove(&h);
        }
        touched.sort_unstable();
        touched.dedup();
        for account in touched {
            let next = engine.next_nonce(&account);
            if let Some(q) = self.accounts.get_mut(&account) {
                q.next_nonce = q.next_nonce.max(next);
            }
            let stale: Vec<TxHash> = self
                .accounts
                .get(&account)
                .map(|q| q.by_nonce.range(..next).map(|(_, h)| *h).collect())
                .unwrap_or_default();
            for h in stale {
                self.remove(&h);
            }
        }
    }

    fn remove(&mut self, hash: &TxHash) {
        let Some(e) = self.entries.remove(hash) else {
            return;
        };
        // Its signature was verified on the way in: a late copy needs no second check.
        self.verified.insert_parts(*hash, e.tx.signature);
        self.bytes -= e.bytes;
        if let Some(v) = e.tx.tx.valid_until_height {
            self.expiry.remove(&(v, *hash));
        }
        let sender = e.tx.sender();
        if let Some(q) = self.accounts.get_mut(&sender) {
            q.by_nonce.remove(&e.tx.tx.nonce);
            if q.by_nonce.is_empty() {
                self.accounts.remove(&sender);
            }
        }
    }
}

/// True if the next block (the one after the engine's height) is above the
/// transaction's `valid_until_height`.
fn expired(tx: &SignedTx, engine: &Engine) -> bool {
    tx.tx
        .valid_until_height
        .is_some_and(|v| v < engine.height() + 1)
}

/// A limit order must be able to lock what it needs, a transfer to pay its amount, a
/// market order to pay something; checked against the final free balance.
fn balance_precheck(tx: &SignedTx, engine: &Engine) -> Result<(), AdmitError> {
    let sender = tx.sender();
    let need = |asset: ledger_types::AssetId, needed: u128| {
        let available = engine.balance(&sender, asset).free;
        if needed > available {
            Err(AdmitError::InsufficientBalance {
                asset: asset.0,
                needed,
                available,
            })
        } else {
            Ok(())
        }
    };
    match &tx.tx.payload {
        Payload::PlaceOrder(PlaceOrder {
            market,
            side,
            kind,
            price,
            quantity,
            ..
        }) => {
            // Malformed orders (unknown market, bad tick) are left to the engine, which
            // rejects them with a precise reason in the receipt.
            let Some(cfg) = engine.market(*market) else {
                return Ok(());
            };
            let Some(lots) = cfg.quantity_to_lots(*quantity) else {
                return Ok(());
            };
            match (kind, side) {
                (OrderKind::Limit, Side::Buy) => {
                    let Some(n) = price
                        .and_then(|p| cfg.price_to_ticks(p))
                        .and_then(|t| cfg.notional(t, lots))
                    else {
                        return Ok(());
                    };
                    need(cfg.quote, n.saturating_add(fee(n, cfg.max_fee_bps())))
                }
                (OrderKind::Limit, Side::Sell) => {
                    need(cfg.base, cfg.base_units(lots).unwrap_or(u128::MAX))
                }
                (OrderKind::Market, Side::Buy) => need(cfg.quote, 1),
                (OrderKind::Market, Side::Sell) => need(cfg.base, cfg.base_units_per_lot),
            }
        }
        Payload::Transfer(t) => {
            let decimals = engine.asset_decimals(t.asset);
            match decimals.and_then(|d| ledger_types::decimal::to_units(t.amount, d)) {
                Some(units) => need(t.asset, units),
                None => Ok(()),
            }
        }
        Payload::SwapLock(l) => {
            let decimals = engine.asset_decimals(l.asset);
            match decimals.and_then(|d| ledger_types::decimal::to_units(l.amount, d)) {
                Some(units) => need(l.asset, units),
                None => Ok(()),
            }
        }
        // Cancels need no funds; batches, amendments and schedule-cancels are checked
        // action by action by the engine; bundles lock per leg as they execute; claims
        // and refunds pay out.
        Payload::CancelOrder(_)
        | Payload::CancelAll(_)
        | Payload::Batch(_)
        | Payload::AmendOrder(_)
        | Payload::ScheduleCancel(_)
        | Payload::Bundle(_)
        | Payload::SwapClaim(_)
        | Payload::SwapRefund(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_types::{
        codec, CancelAll, Decimal, Genesis, Keypair, MarketId, SelfTradePrevention, TimeInForce, Tx,
    };

    struct T {
        engine: Engine,
        pool: Mempool,
        keys: Vec<Keypair>,
    }

    fn setup(limits: MempoolLimits) -> T {
        let keys: Vec<Keypair> = (0..3)
            .map(|i| Keypair::for_testing(&format!("m{i}")))
            .collect();
        let pubs: Vec<_> = keys.iter().map(|k| k.public()).collect();
        let g = Genesis::for_testing(&pubs, &[Keypair::for_testing("v").public()]);
        T {
            engine: Engine::from_genesis(&g).unwrap(),
            pool: Mempool::new(limits, g.chain_id.clone(), 1024),
            keys,
        }
    }

    fn cancel_all(k: &Keypair, nonce: u64) -> SignedTx {
        Tx {
            chain_id: "ledger-test".into(),
            sender: k.public(),
            nonce,
            payload: Payload::CancelAll(CancelAll { market: None }),
            valid_until_height: None,
        }
        .sign(k)
    }

    fn buy(k: &Keypair, nonce: u64, price: i64, qty: i64) -> SignedTx {
        Tx {
            chain_id: "ledger-test".into(),
            sender: k.public(),
            nonce,
            payload: Payload::PlaceOrder(PlaceOrder {
                market: MarketId(0),
                side: Side::Buy,
                kind: OrderKind::Limit,
                price: Some(Decimal::from(price)),
                quantity: Decimal::from(qty),
                time_in_force: TimeInForce::Gtc,
                client_order_id: None,
                self_trade: SelfTradePrevention::ExpireMaker,
                good_till_height: None,
            }),
            valid_until_height: None,
        }
        .sign(k)
    }

    fn admit(t: &mut T, tx: SignedTx) -> Result<TxHash, AdmitError> {
        let len = codec::encode(&tx).len();
        t.pool.admit(tx, len, &t.engine)
    }

    #[test]
    fn admission_rules() {
        let mut t = setup(MempoolLimits::default());
        let k = t.keys[0].clone();
        let tx = cancel_all(&k, 0);
        admit(&mut t, tx.clone()).unwrap();
        assert_eq!(admit(&mut t, tx), Err(AdmitError::Duplicate));
        // Same nonce, different transaction.
        let other = buy(&k, 0, 100, 1);
        assert_eq!(admit(&mut t, other), Err(AdmitError::NonceTaken(0)));
        // Bad signature.
        let mut forged = cancel_all(&k, 1);
        forged.signature.0[0] ^= 1;
        assert!(matches!(
            admit(&mut t, forged),
            Err(AdmitError::BadSignature(_))
        ));
        // Wrong chain.
        let mut tx = Tx {
            chain_id: "x".into(),
            ..cancel_all(&k, 1).tx
        };
        tx.nonce = 1;
        assert!(matches!(
            admit(&mut t, tx.sign(&k)),
            Err(AdmitError::WrongChainId { .. })
        ));
        // Too far ahead.
        assert!(matches!(
            admit(&mut t, cancel_all(&k, 5_000)),
            Err(AdmitError::NonceTooHigh { .. })
        ));
        // Cannot afford: 10,000,000 USD funds 1 BTC at 20,000,000 USD? No.
        assert!(matches!(
            admit(&mut t, buy(&k, 1, 20_000_000, 1)),
            Err(AdmitError::InsufficientBalance { .. })
        ));
        assert_eq!(t.pool.len(), 1);
    }

    #[test]
    fn nonce_too_low_against_the_final_state() {
        let mut t = setup(MempoolLimits::default());
        let k = t.keys[0].clone();
        let tx = cancel_all(&k, 0);
        t.engine.apply_signed(&tx).unwrap();
        assert_eq!(
            admit(&mut t, tx),
            Err(AdmitError::NonceTooLow {
                expected: 1,
                got: 0
            })
        );
    }

    #[test]
    fn limits_are_enforced() {
        let mut t = setup(MempoolLimits {
            max_txs: 2,
            max_per_account: 1,
            ..MempoolLimits::default()
        });
        let (a, b, c) = (t.keys[0].clone(), t.keys[1].clone(), t.keys[2].clone());
        admit(&mut t, cancel_all(&a, 0)).unwrap();
        assert_eq!(
            admit(&mut t, cancel_all(&a, 1)),
            Err(AdmitError::Full("per-account limit"))
        );
        admit(&mut t, cancel_all(&b, 0)).unwrap();
        assert_eq!(
            admit(&mut t, cancel_all(&c, 0)),
            Err(AdmitError::Full("transaction limit"))
        );
    }

    #[test]
    fn batch_admission_names_each_bad_signature() {
        let mut t = setup(MempoolLimits::default());
        let mut txs: Vec<(SignedTx, usize)> = (0..5)
            .map(|n| {
                let tx = cancel_all(&t.keys[0], n);
                let len = codec::encode(&tx).len();
                (tx, len)
            })
            .collect();
        txs[2].0.signature.0[3] ^= 1;
        let r = t.pool.admit_batch(txs, &t.engine);
        assert_eq!(r.iter().filter(|r| r.is_ok()).count(), 4);
        assert!(matches!(r[2], Err(AdmitError::BadSignature(_))));
    }

    #[test]
    fn a_signature_is_known_after_it_leaves_the_pool_and_a_forged_copy_is_not() {
        let mut t = setup(MempoolLimits::default());
        let k = t.keys[0].clone();
        let tx = cancel_all(&k, 0);
        assert!(!t.pool.knows_signature(&tx));
        admit(&mut t, tx.clone()).unwrap();
        assert!(t.pool.knows_signature(&tx));
        // Final: it leaves the pool, its signature stays known (a late gossip copy is
        // not checked again; admission then refuses it by its nonce).
        t.engine.apply_signed(&tx).unwrap();
        t.pool.remove_final(std::slice::from_ref(&tx), &t.engine);
        assert!(t.pool.is_empty());
        assert!(t.pool.knows_signature(&tx));
        assert!(matches!(
            admit(&mut t, tx.clone()),
            Err(AdmitError::NonceTooLow { .. })
        ));
        // The same transaction with another signature is checked, and refused.
        let mut forged = tx.clone();
        forged.signature.0[5] ^= 1;
        assert!(!t.pool.knows_signature(&forged));
        assert!(matches!(
            admit(&mut t, forged),
            Err(AdmitError::BadSignature(_))
        ));
        // Signatures verified elsewhere (a block's) are remembered on request.
        let from_block = cancel_all(&k, 1);
        t.pool.remember_verified([&from_block]);
        assert!(t.pool.knows_signature(&from_block));
        // A verified but refused gossip copy is remembered too.
        let refused = cancel_all(&t.keys[1], 9_999);
        let len = codec::encode(&refused).len();
        assert!(t
            .pool
            .admit_verified(refused.clone(), len, &t.engine)
            .is_err());
        assert!(t.pool.knows_signature(&refused));
    }

    #[test]
    fn selection_follows_nonces_skips_ancestors_and_stops_at_gaps() {
        let mut t = setup(MempoolLimits::default());
        let (a, b) = (t.keys[0].clone(), t.keys[1].clone());
        let a0 = cancel_all(&a, 0);
        for tx in [
            a0.clone(),
            cancel_all(&a, 1),
            cancel_all(&a, 3),
            cancel_all(&b, 0),
        ] {
            admit(&mut t, tx).unwrap();
        }
        let picked = t.pool.select(1, &[], 100, 1 << 20);
        let nonces: Vec<(Address, u64)> = picked.iter().map(|t| (t.sender(), t.tx.nonce)).collect();
        // a arrived first; a's nonce 3 waits for 2.
        assert_eq!(
            nonces,
            vec![(a.public(), 0), (a.public(), 1), (b.public(), 0)]
        );
        // With a0 already in a pending ancestor, a's run starts at 1.
        let picked = t.pool.select(1, &[&a0], 100, 1 << 20);
        assert_eq!(picked[0].tx.nonce, 1);
        assert_eq!(picked.len(), 2);
        // Limits.
        assert_eq!(t.pool.select(1, &[], 2, 1 << 20).len(), 2);
        // Final blocks remove entries and everything their nonces passed.
        let fin = vec![a0.clone(), cancel_all(&a, 1)];
        for tx in &fin {
            t.engine.apply_signed(tx).unwrap();
        }
        t.pool.remove_final(&fin, &t.engine);
        assert_eq!(t.pool.len(), 2);
        assert_eq!(t.pool.pending_of(&a.public()).len(), 1);
        // Abandoned transactions come back, used ones do not.
        assert_eq!(t.pool.readmit(vec![a0, cancel_all(&a, 2)], &t.engine), 1);
    }
}
