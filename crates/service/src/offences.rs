//! Misbehaving peers and validators: what an honest node does about them.
//!
//! Every offence is refused where it arrives (consensus rejects the message or the
//! synced block and nothing changes; gossipsub lowers the sender's score on `Reject`,
//! P4); here it is also counted (`ledger_peer_offences_total{reason=KIND}`), logged
//! with the peer id as one `warn` line (`peer offence`, repeated at most every
//! [`LOG_EVERY`] per peer and kind with the count of what was not logged), and
//! penalised with a ban of [`BAN_DURATION`]:
//!
//! - at once for a validator's signed equivocation (two proposals or two votes in one
//!   epoch: the evidence is the proof), with the peer derived from the validator's key
//!   (a node's libp2p identity is its key file);
//! - after [`STRIKES`] offences within [`STRIKE_WINDOW`] for invalid messages
//!   (undecodable bytes, bad signatures, invalid blocks) and forged sync responses,
//!   which only the peer that sent them can be blamed for (nothing is relayed before
//!   it is validated);
//! - the same for replays of long-final messages (see [`OffenceKind::Replay`]);
//! - never for withheld votes: a validator that stopped voting looks exactly like one
//!   that crashed or is partitioned away, so it is reported (metric and log) only.

use crate::metrics::{Metrics, ReasonLabel};
use ledger_consensus::streamlet::{Evidence, StreamletError};
use ledger_consensus::ConsensusError;
use ledger_driver::Offence;
use ledger_network::{peer_id_of_key, NetworkHandle, PeerId};
use ledger_types::PublicKey;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a misbehaving peer stays banned.
pub const BAN_DURATION: Duration = Duration::from_secs(600);
/// Offences of a peer (other than equivocation) that earn a ban...
pub const STRIKES: u32 = 3;
/// ...within this window.
pub const STRIKE_WINDOW: Duration = Duration::from_secs(60);
/// A `peer offence` line is logged at most this often per peer and kind.
pub const LOG_EVERY: Duration = Duration::from_secs(10);
/// A consensus message of an epoch this node saw final this long ago or longer is a
/// replay: gossip forwards a message at most a few seconds after it was first sent
/// (its message cache holds 5 heartbeats of 1 s) and drops copies of what it has seen
/// for `network.duplicate_cache_secs`, so an honest peer never delivers one that old.
pub const REPLAY_AFTER: Duration = Duration::from_secs(15);
/// A validator none of whose votes arrived in this many epochs up to the final epoch
/// is reported as withholding votes.
pub const WITHHOLD_EPOCHS: u64 = 20;

/// What a peer or validator did wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OffenceKind {
    /// Two signed proposals from one leader in one epoch.
    Equivocation,
    /// Two signed votes from one validator in one epoch.
    DoubleVote,
    /// Bytes that are not a consensus message (or exceed the size bound).
    MalformedMessage,
    /// A proposal or vote whose signature does not verify.
    BadSignature,
    /// A proposal whose block is invalid: its transactions (too many, too large, a bad
    /// transaction signature or chain), its transaction root, height or epoch.
    InvalidBlock,
    /// Any other consensus message that proves its sender misbehaved (not a validator,
    /// wrong leader, the genesis epoch, a flood of proposals or votes).
    InvalidMessage,
    /// A block-sync response with a block consensus refuses (a forged certificate) or
    /// an item that does not decode.
    ForgedSync,
    /// A validator whose votes stopped arriving.
    WithheldVotes,
    /// A consensus message of an epoch that became final long ago (see
    /// [`REPLAY_AFTER`]): no honest peer delivers one, so it is a replay.
    Replay,
}

impl OffenceKind {
    /// Stable name (log field and metric label).
    pub fn name(self) -> &'static str {
        match self {
            OffenceKind::Equivocation => "equivocation",
            OffenceKind::DoubleVote => "double-vote",
            OffenceKind::MalformedMessage => "malformed-message",
            OffenceKind::BadSignature => "bad-signature",
            OffenceKind::InvalidBlock => "invalid-block",
            OffenceKind::InvalidMessage => "invalid-message",
            OffenceKind::ForgedSync => "forged-sync",
            OffenceKind::WithheldVotes => "withheld-votes",
            OffenceKind::Replay => "replay",
        }
    }

    /// The kind of a refused gossip message.
    pub fn of_gossip(offence: &Offence) -> OffenceKind {
        match offence {
            Offence::Undecodable { .. } => OffenceKind::MalformedMessage,
            Offence::MalformedSyncItem(_) => OffenceKind::ForgedSync,
            Offence::Refused(ConsensusError::Streamlet(e)) => match e {
                StreamletError::BadSignature => OffenceKind::BadSignature,
                StreamletError::InvalidPayload(_)
                | StreamletError::TxRootMismatch
                | StreamletError::BadHeight { .. }
                | StreamletError::EpochNotAfterParent { .. }
                | StreamletError::NotStreamletHeader => OffenceKind::InvalidBlock,
                StreamletError::TooManyProposals { .. } => OffenceKind::Equivocation,
                StreamletError::TooManyVotes { .. } => OffenceKind::DoubleVote,
                _ => OffenceKind::InvalidMessage,
            },
            Offence::Refused(_) => OffenceKind::InvalidMessage,
        }
    }

    fn penalty(self) -> Penalty {
        match self {
            OffenceKind::Equivocation | OffenceKind::DoubleVote => Penalty::BanNow,
            OffenceKind::WithheldVotes => Penalty::Report,
            _ => Penalty::Strike,
        }
    }
}

impl fmt::Display for OffenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Penalty {
    BanNow,
    Strike,
    Report,
}

/// Where bans go: the network (a trait so the bookkeeping is testable without one).
pub trait BanList {
    /// Bans `peer` for `duration`.
    fn ban(&mut self, peer: PeerId, duration: Duration);
}

impl BanList for NetworkHandle {
    fn ban(&mut self, peer: PeerId, duration: Duration) {
        NetworkHandle::ban(self, peer, duration);
    }
}

#[derive(Debug)]
struct LogState {
    at: Instant,
    suppressed: u64,
}

/// The honest node's record of offences (see the module docs).
pub struct Offences<B: BanList> {
    bans: B,
    metrics: Arc<Metrics>,
    /// Genesis validators with their peer ids.
    validators: Vec<(PublicKey, Option<PeerId>)>,
    /// This node's validator key, if any (it does not report itself).
    me: Option<PublicKey>,
    strikes: HashMap<PeerId, (u32, Instant)>,
    banned_until: HashMap<PeerId, Instant>,
    logged: HashMap<(PeerId, OffenceKind), LogState>,
    /// Per validator: the latest epoch of a vote from it that arrived (or the first
    /// final epoch this node saw), and whether its silence was reported.
    last_vote: Vec<(u64, bool)>,
    baseline: bool,
    /// When this node saw blocks of increasing epochs become final, oldest first
    /// (entries older than twice [`REPLAY_AFTER`] are dropped, but never the last).
    finality: std::collections::VecDeque<(u64, Instant)>,
}

impl<B: BanList> Offences<B> {
    /// A record for a node with `validators` (genesis order) whose own key is `me`.
    pub fn new(
        bans: B,
        metrics: Arc<Metrics>,
        validators: &[PublicKey],
        me: Option<PublicKey>,
    ) -> Self {
        Offences {
            bans,
            metrics,
            validators: validators
                .iter()
                .map(|k| (*k, peer_id_of_key(&k.0)))
                .collect(),
            me,
            strikes: HashMap::new(),
            banned_until: HashMap::new(),
            logged: HashMap::new(),
            last_vote: vec![(0, false); validators.len()],
            baseline: false,
            finality: std::collections::VecDeque::new(),
        }
    }

    /// A peer sent a gossip message that consensus refused as an offence.
    pub fn gossip(&mut self, peer: PeerId, offence: &Offence) {
        self.report(peer, OffenceKind::of_gossip(offence), None, offence);
    }

    /// A peer answered a block-sync request with an invalid block or item.
    pub fn sync(&mut self, peer: PeerId, offence: &Offence) {
        self.report(peer, OffenceKind::ForgedSync, None, offence);
    }

    /// Consensus found a validator equivocating.
    pub fn evidence(&mut self, evidence: &Evidence) {
        let (kind, epoch) = match evidence {
            Evidence::DoubleProposal { first, .. } => (
                OffenceKind::Equivocation,
                ledger_consensus::streamlet::streamlet_fields(&first.header).map_or(0, |f| f.0),
            ),
            Evidence::DoubleVote { first, .. } => (OffenceKind::DoubleVote, first.epoch),
        };
        let offender = evidence.offender();
        let Some(peer) = peer_id_of_key(&offender.0) else {
            return;
        };
        let reason = format!(
            "validator signed two different {} in epoch {epoch}",
            match kind {
                OffenceKind::Equivocation => "proposals",
                _ => "votes",
            }
        );
        self.report(peer, kind, Some(offender), &reason);
    }

    /// A verified vote from `voter` for `epoch` arrived.
    pub fn vote_seen(&mut self, voter: &PublicKey, epoch: u64) {
        if let Some(i) = self.validators.iter().position(|(k, _)| k == voter) {
            let slot = &mut self.last_vote[i];
            slot.0 = slot.0.max(epoch);
            slot.1 = false;
        }
    }

    /// A peer sent a consensus message of `epoch` that consensus ignored (stale,
    /// duplicate or not checkable now): a replay if its epoch was final long ago.
    pub fn ignored(&mut self, peer: PeerId, epoch: u64) {
        self.ignored_at(peer, epoch, Instant::now());
    }

    fn ignored_at(&mut self, peer: PeerId, epoch: u64, now: Instant) {
        // When a block of this epoch or later was first seen final here (for an epoch
        // older than the history, the oldest entry: later than the truth, so lenient).
        let Some(&(_, at)) = self.finality.iter().find(|(e, _)| *e >= epoch) else {
            return;
        };
        let age = now.saturating_duration_since(at);
        if age >= REPLAY_AFTER {
            let reason = format!(
                "a message of epoch {epoch}, final here {} s ago",
                age.as_secs()
            );
            self.report(peer, OffenceKind::Replay, None, &reason);
        }
    }

    /// A block of `epoch` became final: reports validators whose votes stopped arriving.
    pub fn final_epoch(&mut self, epoch: u64) {
        self.final_epoch_at(epoch, Instant::now());
    }

    fn final_epoch_at(&mut self, epoch: u64, now: Instant) {
        if self.finality.back().is_none_or(|(e, _)| *e < epoch) {
            self.finality.push_back((epoch, now));
        }
        while self.finality.len() > 1
            && self
                .finality
                .front()
                .is_some_and(|(_, at)| now.saturating_duration_since(*at) > 2 * REPLAY_AFTER)
        {
            self.finality.pop_front();
        }
        if !self.baseline {
            // Votes before this node started are unknown: count from here.
            self.baseline = true;
            for slot in &mut self.last_vote {
                slot.0 = slot.0.max(epoch);
            }
            return;
        }
        for i in 0..self.validators.len() {
            let (key, peer) = self.validators[i];
            let (last, reported) = self.last_vote[i];
            if Some(key) == self.me || reported || last.saturating_add(WITHHOLD_EPOCHS) >= epoch {
                continue;
            }
            self.last_vote[i].1 = true;
            if let Some(peer) = peer {
                let reason = format!(
                    "no vote arrived from this validator in epochs {}..={epoch}",
                    last + 1
                );
                self.report(peer, OffenceKind::WithheldVotes, Some(key), &reason);
            }
        }
    }

    /// True while `peer` is banned by this node.
    pub fn is_banned(&self, peer: &PeerId) -> bool {
        self.banned_until
            .get(peer)
            .is_some_and(|until| *until > Instant::now())
    }

    fn report(
        &mut self,
        peer: PeerId,
        kind: OffenceKind,
        validator: Option<PublicKey>,
        reason: &dyn fmt::Display,
    ) {
        self.metrics
            .peer_offences
            .get_or_create(&ReasonLabel {
                reason: kind.name().into(),
            })
            .inc();
        let now = Instant::now();
        let log = match self.logged.get_mut(&(peer, kind)) {
            Some(state) if now.duration_since(state.at) < LOG_EVERY => {
                state.suppressed += 1;
                None
            }
            Some(state) => {
                let repeats = std::mem::take(&mut state.suppressed);
                state.at = now;
                Some(repeats)
            }
            None => {
                self.logged.insert(
                    (peer, kind),
                    LogState {
                        at: now,
                        suppressed: 0,
                    },
                );
                Some(0)
            }
        };
        if let Some(repeats) = log {
            match validator {
                Some(v) => {
                    tracing::warn!(%peer, offence = %kind, validator = %v, repeats, %reason, "peer offence")
                }
                None => tracing::warn!(%peer, offence = %kind, repeats, %reason, "peer offence"),
            }
        }
        let ban = match kind.penalty() {
            Penalty::Report => false,
            Penalty::BanNow => true,
            Penalty::Strike => {
                let entry = self.strikes.entry(peer).or_insert((0, now));
                if now.duration_since(entry.1) > STRIKE_WINDOW {
                    *entry = (0, now);
                }
                entry.0 += 1;
                entry.0 >= STRIKES
            }
        };
        if ban && !self.is_banned(&peer) {
            self.strikes.remove(&peer);
            self.banned_until.insert(peer, now + BAN_DURATION);
            self.metrics.peer_bans.inc();
            tracing::warn!(%peer, offence = %kind, secs = BAN_DURATION.as_secs(), "banning peer");
            self.bans.ban(peer, BAN_DURATION);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_consensus::streamlet::Vote;
    use ledger_types::{Hash, Keypair, Signature};

    #[derive(Default)]
    struct Bans(Vec<PeerId>);

    impl BanList for &mut Bans {
        fn ban(&mut self, peer: PeerId, _: Duration) {
            self.0.push(peer);
        }
    }

    fn offences<'a>(
        bans: &'a mut Bans,
        keys: &[PublicKey],
    ) -> (Offences<&'a mut Bans>, Arc<Metrics>) {
        let metrics = Arc::new(Metrics::new());
        (
            Offences::new(bans, metrics.clone(), keys, Some(keys[0])),
            metrics,
        )
    }

    fn count(m: &Metrics, kind: OffenceKind) -> u64 {
        m.peer_offences
            .get_or_create(&ReasonLabel {
                reason: kind.name().into(),
            })
            .get()
    }

    #[test]
    fn a_double_vote_bans_the_validator_peer_at_once() {
        let keys: Vec<PublicKey> = (0..4)
            .map(|i| Keypair::for_testing(&format!("v{i}")).public())
            .collect();
        let mut bans = Bans::default();
        let (mut o, m) = offences(&mut bans, &keys);
        let vote = |block: u8| Vote {
            epoch: 7,
            block: Hash([block; 32]),
            voter: keys[2],
            signature: Signature([0; 64]),
        };
        o.evidence(&Evidence::DoubleVote {
            first: vote(1),
            second: vote(2),
        });
        let peer = peer_id_of_key(&keys[2].0).unwrap();
        assert!(o.is_banned(&peer));
        assert_eq!(count(&m, OffenceKind::DoubleVote), 1);
        assert_eq!(m.peer_bans.get(), 1);
        drop(o);
        assert_eq!(bans.0, vec![peer]);
    }

    #[test]
    fn invalid_messages_ban_after_three_strikes() {
        let keys: Vec<PublicKey> = (0..4)
            .map(|i| Keypair::for_testing(&format!("v{i}")).public())
            .collect();
        let mut bans = Bans::default();
        let (mut o, m) = offences(&mut bans, &keys);
        let peer = peer_id_of_key(&keys[1].0).unwrap();
        let bad = Offence::Refused(StreamletError::BadSignature.into());
        o.gossip(peer, &bad);
        o.gossip(peer, &bad);
        assert!(!o.is_banned(&peer));
        o.gossip(peer, &Offence::Undecodable { bytes: 3 });
        assert!(o.is_banned(&peer));
        assert_eq!(count(&m, OffenceKind::BadSignature), 2);
        assert_eq!(count(&m, OffenceKind::MalformedMessage), 1);
        assert_eq!(m.peer_bans.get(), 1);
        drop(o);
        assert_eq!(bans.0, vec![peer]);
    }

    #[test]
    fn long_final_messages_are_replays_and_recent_ones_are_not() {
        let keys: Vec<PublicKey> = (0..4)
            .map(|i| Keypair::for_testing(&format!("v{i}")).public())
            .collect();
        let mut bans = Bans::default();
        let (mut o, m) = offences(&mut bans, &keys);
        let peer = peer_id_of_key(&keys[1].0).unwrap();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        // Epochs 1..=100 become final over 100 s, one a second.
        for e in 1..=100 {
            o.final_epoch_at(e, at(e));
        }
        // Final 10 s ago: an honest late relay, not a replay; not final yet: ignored.
        o.ignored_at(peer, 90, at(100));
        o.ignored_at(peer, 120, at(100));
        assert_eq!(count(&m, OffenceKind::Replay), 0);
        // Final 20 s ago, or older than the kept history: replays.
        o.ignored_at(peer, 80, at(100));
        o.ignored_at(peer, 3, at(100));
        assert!(!o.is_banned(&peer));
        o.ignored_at(peer, 1, at(100));
        assert_eq!(count(&m, OffenceKind::Replay), STRIKES as u64);
        assert!(o.is_banned(&peer));
        drop(o);
        assert_eq!(bans.0, vec![peer]);
    }

    #[test]
    fn a_silent_validator_is_reported_once_and_not_banned() {
        let keys: Vec<PublicKey> = (0..4)
            .map(|i| Keypair::for_testing(&format!("v{i}")).public())
            .collect();
        let mut bans = Bans::default();
        let (mut o, m) = offences(&mut bans, &keys);
        o.final_epoch(5);
        for e in 6..=40 {
            for k in &keys[..3] {
                o.vote_seen(k, e);
            }
            o.final_epoch(e);
        }
        // Validator 3 never voted after epoch 5: reported once (epoch 26), not banned.
        assert_eq!(count(&m, OffenceKind::WithheldVotes), 1);
        assert_eq!(m.peer_bans.get(), 0);
        // Voting again clears it; silence again is reported again.
        o.vote_seen(&keys[3], 41);
        for e in 41..=70 {
            for k in &keys[1..3] {
                o.vote_seen(k, e);
            }
            o.final_epoch(e);
        }
        assert_eq!(count(&m, OffenceKind::WithheldVotes), 2);
        drop(o);
        assert!(bans.0.is_empty());
    }
}
