//! Test-only Byzantine validator modes (the `byzantine` feature; the
//! `ledger-node-byzantine` binary). The node runs its honest consensus machine and this
//! layer corrupts what leaves it: the consensus messages it publishes, the block-sync
//! responses it serves, and extra traffic (spam, replays). Honest nodes must refuse all
//! of it and penalise the sender (see [`crate::offences`] and `docs/reliability.md`).
//!
//! The product build does not compile this module; its config refuses `[byzantine]`.

use crate::config::{ByzantineMode, ByzantineSection};
use ledger_consensus::streamlet::{
    streamlet_fields, CertVote, Certificate, Message, Proposal, StreamletConfig, Vote,
};
use ledger_driver::{Faults, SyncBatch, SyncItem, Topic};
use ledger_network::NetworkHandle;
use ledger_types::{
    codec, Block, ConsensusHeader, Genesis, Hash, Keypair, Payload, PublicKey, Signature, SignedTx,
    Tx,
};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many of its first consensus messages the node keeps for
/// [`ByzantineMode::ReplayOld`].
const REPLAY_KEEP: usize = 256;
/// How often the spam and replay tasks send.
const SPAM_EVERY: Duration = Duration::from_millis(20);
const REPLAY_EVERY: Duration = Duration::from_millis(100);
/// The replay task cycles over this many of the oldest messages kept.
const REPLAY_OLDEST: usize = 16;
/// Only messages at least this old are replayed (gossip drops copies of a message for
/// `network.duplicate_cache_secs`, on the sender too).
const REPLAY_AGE: Duration = Duration::from_secs(3);

/// Consensus messages a node published, with when.
type SentLog = Arc<Mutex<VecDeque<(Instant, Vec<u8>)>>>;

/// The Byzantine layer of one node.
pub struct Byzantine {
    mode: ByzantineMode,
    key: Keypair,
    chain_id: String,
    config: Option<StreamletConfig>,
    max_block_txs: usize,
    /// Consensus messages this node published, with when (shared with the replay task).
    sent: SentLog,
}

impl Byzantine {
    /// The layer for a validator with `key` on `genesis`.
    pub fn new(mode: ByzantineMode, key: Keypair, genesis: &Genesis) -> Byzantine {
        tracing::warn!(
            mode = mode.name(),
            "BYZANTINE MODE: this node misbehaves on purpose (test-only build)"
        );
        Byzantine {
            mode,
            key,
            chain_id: genesis.chain_id.clone(),
            config: StreamletConfig::from_genesis(genesis).ok(),
            max_block_txs: genesis.limits.max_block_txs as usize,
            sent: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    /// The mode.
    pub fn mode(&self) -> ByzantineMode {
        self.mode
    }

    /// What actually goes out when the honest node publishes `data` on `topic`.
    pub fn outgoing(&mut self, topic: Topic, data: Vec<u8>) -> Vec<(Topic, Vec<u8>)> {
        if topic != Topic::Consensus {
            return vec![(topic, data)];
        }
        let Ok(message) = codec::decode::<Message>(&data) else {
            return vec![(topic, data)];
        };
        if self.mode == ByzantineMode::ReplayOld {
            // The first messages are kept (not the latest): at 20 epochs a second the
            // latest few hundred are only seconds old, which gossip may still relay.
            let mut sent = self.sent.lock();
            if sent.len() < REPLAY_KEEP {
                sent.push_back((Instant::now(), data.clone()));
            }
        }
        let Some(chain) = self.config.as_ref().map(|c| c.chain) else {
            return vec![(topic, data)];
        };
        let out = |m: &Message| (Topic::Consensus, codec::encode(m));
        match (self.mode, message) {
            (ByzantineMode::Equivocate, Message::Proposal(p)) => {
                let twin = self.resign(&chain, &p.block, p.block.txs.clone(), 1);
                tracing::warn!(epoch = p.epoch().unwrap_or(0), "byzantine: equivocating");
                vec![(topic, data), out(&Message::Proposal(twin))]
            }
            (ByzantineMode::DoubleVote, Message::Vote(v)) => {
                let other = Hash::digest(&v.block.0);
                let second = Vote::sign(&chain, v.epoch, other, &self.key);
                tracing::warn!(epoch = v.epoch, "byzantine: double vote");
                vec![(topic, data), out(&Message::Vote(second))]
            }
            (ByzantineMode::WithholdVotes, Message::Vote(v)) => {
                tracing::debug!(epoch = v.epoch, "byzantine: withholding vote");
                Vec::new()
            }
            (ByzantineMode::InvalidBlockSignature, Message::Proposal(mut p)) => {
                p.signature.0[0] ^= 0x01;
                tracing::warn!(
                    epoch = p.epoch().unwrap_or(0),
                    "byzantine: proposal with a bad signature"
                );
                vec![out(&Message::Proposal(p))]
            }
            (ByzantineMode::InvalidStateTransition, Message::Proposal(p)) => {
                let mut txs = p.block.txs.clone();
                txs.push(self.theft());
                let bad = self.resign(&chain, &p.block, txs, 0);
                tracing::warn!(
                    epoch = p.epoch().unwrap_or(0),
                    "byzantine: proposal spending another account"
                );
                vec![out(&Message::Proposal(bad))]
            }
            (ByzantineMode::OversizedBlock, Message::Proposal(p)) => {
                let filler = Tx::new(
                    self.chain_id.clone(),
                    self.key.public(),
                    0,
                    Payload::CancelAll(ledger_types::CancelAll { market: None }),
                )
                .sign(&self.key);
                let txs = vec![filler; self.max_block_txs + 1];
                let big = self.resign(&chain, &p.block, txs, 0);
                tracing::warn!(
                    epoch = p.epoch().unwrap_or(0),
                    txs = big.block.txs.len(),
                    "byzantine: oversized proposal"
                );
                vec![out(&Message::Proposal(big))]
            }
            _ => vec![(topic, data)],
        }
    }

    /// A block-sync answer: instead of `honest`, one block of a future epoch this node
    /// leads, "notarized" by a certificate of made-up signatures.
    pub fn forge_sync(&self, honest: SyncBatch, from: u64, epoch: u64) -> SyncBatch {
        if self.mode != ByzantineMode::ForgedSync {
            return honest;
        }
        let Some(config) = &self.config else {
            return honest;
        };
        let me = self.key.public();
        let Some(epoch) = (epoch + 1..epoch + 1000).find(|e| config.validators.leader(*e) == me)
        else {
            return honest;
        };
        let parent = honest
            .items
            .first()
            .map_or(Hash::ZERO, |i| i.block.header.parent);
        let block = Block::new(
            parent,
            from,
            ConsensusHeader::Streamlet {
                epoch,
                proposer: me,
                time_ms: crate::runtime::now_ms(),
            },
            Vec::new(),
        );
        let certificate = Certificate {
            epoch,
            block: block.hash(),
            votes: (0..config.validators.quorum() as u32)
                .map(|validator| CertVote {
                    validator,
                    signature: Signature([7; 64]),
                })
                .collect(),
        };
        tracing::warn!(from, epoch, "byzantine: serving a forged sync response");
        SyncBatch {
            final_height: honest.final_height,
            time_ms: honest.time_ms,
            items: vec![SyncItem::new(block, Some(&certificate))],
        }
    }

    /// `block` with `txs`, its time moved by `shift_ms`, re-signed by this leader.
    fn resign(&self, chain: &Hash, block: &Block, txs: Vec<SignedTx>, shift_ms: u64) -> Proposal {
        let consensus = match block.header.consensus.clone() {
            ConsensusHeader::Streamlet {
                epoch,
                proposer,
                time_ms,
            } => ConsensusHeader::Streamlet {
                epoch,
                proposer,
                time_ms: time_ms + shift_ms,
            },
            other => other,
        };
        debug_assert!(streamlet_fields(&block.header).is_some());
        let block = Block::new(block.header.parent, block.header.height, consensus, txs);
        Proposal::sign(chain, block, &self.key)
    }

    /// A transaction in another validator's name (cancel all its orders), signed with
    /// this node's key: a state change nobody authorised.
    fn theft(&self) -> SignedTx {
        let me = self.key.public();
        let victim: PublicKey = self
            .config
            .as_ref()
            .and_then(|c| c.validators.keys().iter().copied().find(|k| *k != me))
            .unwrap_or(PublicKey([9; 32]));
        let tx = Tx::new(
            self.chain_id.clone(),
            victim,
            0,
            Payload::CancelAll(ledger_types::CancelAll { market: None }),
        );
        let signature = self.key.sign(&tx.signing_bytes());
        SignedTx::new(tx, signature)
    }
}

/// The driver faults of a `[byzantine]` section: [`ByzantineMode::BrokenQuorum`]
/// notarizes with n/2 votes (at least 1); every other mode, and no section, runs the
/// correct consensus machine.
pub fn driver_faults(section: Option<&ByzantineSection>, genesis: &Genesis) -> Faults {
    match section.map(|s| s.mode) {
        Some(ByzantineMode::BrokenQuorum) => {
            let quorum = (genesis.validators.len() / 2).max(1);
            tracing::warn!(
                quorum,
                validators = genesis.validators.len(),
                "BROKEN BUILD: notarizing without a two-thirds quorum (test-only)"
            );
            Faults::none().quorum(quorum)
        }
        _ => Faults::none(),
    }
}

impl Byzantine {
    /// Starts the misbehaviour that does not wait for the honest node: garbage on the
    /// consensus topic ([`ByzantineMode::GossipSpam`]) or this node's old consensus
    /// messages again ([`ByzantineMode::ReplayOld`]).
    pub fn spawn_background(&self, net: NetworkHandle) {
        match self.mode {
            ByzantineMode::GossipSpam => {
                tokio::spawn(async move {
                    let mut n = 0u64;
                    let mut tick = tokio::time::interval(SPAM_EVERY);
                    loop {
                        tick.tick().await;
                        n += 1;
                        // Distinct bytes (distinct message ids) that decode as nothing.
                        let mut junk = b"spam".to_vec();
                        junk.extend_from_slice(&n.to_le_bytes());
                        if net.publish(ledger_network::Topic::Consensus, junk).await
                            == Err(ledger_network::PublishError::Stopped)
                        {
                            return;
                        }
                    }
                });
            }
            ByzantineMode::ReplayOld => {
                let sent = self.sent.clone();
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(REPLAY_EVERY);
                    let mut cursor = 0usize;
                    loop {
                        tick.tick().await;
                        let old: Vec<Vec<u8>> = {
                            let now = Instant::now();
                            sent.lock()
                                .iter()
                                .filter(|(at, _)| now.duration_since(*at) >= REPLAY_AGE)
                                .map(|(_, d)| d.clone())
                                .collect()
                        };
                        if old.is_empty() {
                            continue;
                        }
                        cursor = (cursor + 1) % old.len().min(REPLAY_OLDEST);
                        if net
                            .publish(ledger_network::Topic::Consensus, old[cursor].clone())
                            .await
                            == Err(ledger_network::PublishError::Stopped)
                        {
                            return;
                        }
                    }
                });
            }
            _ => {}
        }
    }
}
