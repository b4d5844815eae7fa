//! Table-driven tests of each Streamlet rule: inputs in, expected outputs or errors out.

use super::*;
use crate::machine::{ConsensusMessage, Effect, Input, Protocol, Tip};

/// A local clock far ahead of every test block's time (time rules are tested apart).
const NOW: u64 = 1 << 40;
use crate::crypto::{SimSignatures, SimSigner};
use ledger_types::genesis::StreamletParams;
use ledger_types::{codec, CancelAll, Payload, Tx};

fn key(i: usize) -> PublicKey {
    PublicKey(Hash::tagged("test/validator", &[&(i as u64).to_le_bytes()]).0)
}

fn config(n: usize) -> StreamletConfig {
    let keys: Vec<PublicKey> = (0..n).map(key).collect();
    let mut g = Genesis::for_testing(&[], &keys);
    g.consensus = ConsensusParams::Streamlet(StreamletParams { delta_ms: 100 });
    let mut cfg = StreamletConfig::from_genesis(&g).unwrap();
    cfg.pacing = Pacing::Clock;
    cfg
}

fn node(cfg: &StreamletConfig, i: usize) -> Streamlet<SimSignatures> {
    Streamlet::new(
        cfg.clone(),
        SimSignatures,
        Some(Box::new(SimSigner { key: key(i) })),
    )
}

fn observer(cfg: &StreamletConfig) -> Streamlet<SimSignatures> {
    Streamlet::new(cfg.clone(), SimSignatures, None)
}

fn leader(cfg: &StreamletConfig, epoch: u64) -> usize {
    cfg.validators.leader_index(epoch) as usize
}

fn block_on(cfg: &StreamletConfig, parent: &Block, epoch: u64, txs: Vec<SignedTx>) -> Block {
    let proposer = key(leader(cfg, epoch));
    Block::new(
        parent.hash(),
        parent.height() + 1,
        ConsensusHeader::Streamlet {
            epoch,
            proposer,
            time_ms: 0,
        },
        txs,
    )
}

fn propose(cfg: &StreamletConfig, block: Block) -> Message {
    let (epoch, proposer) = streamlet_fields(&block.header).unwrap();
    let _ = epoch;
    Message::Proposal(Proposal::sign(
        &cfg.chain,
        block,
        &SimSigner { key: proposer },
    ))
}

fn vote(cfg: &StreamletConfig, i: usize, epoch: u64, block: Hash) -> Message {
    Message::Vote(Vote::sign(
        &cfg.chain,
        epoch,
        block,
        &SimSigner { key: key(i) },
    ))
}

fn at_epoch(n: &mut Streamlet<SimSignatures>, epoch: u64) -> Vec<Effect> {
    let mut out = Vec::new();
    n.on_epoch_timer(epoch, NOW, &mut out);
    out
}

fn tx(nonce: u64) -> SignedTx {
    SignedTx::new(
        Tx {
            chain_id: "ledger-test".into(),
            sender: key(99),
            nonce,
            payload: Payload::CancelAll(CancelAll { market: None }),
            valid_until_height: None,
        },
        Signature([0; 64]),
    )
}

/// Makes `block` notarized at `n` by feeding a quorum of votes.
fn notarize(cfg: &StreamletConfig, n: &mut Streamlet<SimSignatures>, block: &Block) -> Vec<Effect> {
    let epoch = streamlet_fields(&block.header).unwrap().0;
    let mut out = Vec::new();
    for i in 0..cfg.validators.quorum() {
        n.on_message(&vote(cfg, i, epoch, block.hash()), NOW, &mut out)
            .unwrap();
    }
    out
}

fn finalized(out: &[Effect]) -> Vec<u64> {
    out.iter()
        .filter_map(|o| match o {
            Effect::Finalized { block, .. } => Some(streamlet_fields(&block.header).unwrap().0),
            _ => None,
        })
        .collect()
}

fn own_votes(out: &[Effect]) -> Vec<Hash> {
    out.iter()
        .filter_map(|o| match o {
            Effect::Broadcast(ConsensusMessage::Streamlet(Message::Vote(v))) => Some(v.block),
            _ => None,
        })
        .collect()
}

#[test]
fn quorum_is_at_least_two_thirds() {
    for (n, q) in [
        (1, 1),
        (2, 2),
        (3, 2),
        (4, 3),
        (5, 4),
        (6, 4),
        (7, 5),
        (10, 7),
        (100, 67),
    ] {
        assert_eq!(two_thirds_quorum(n), q, "n = {n}");
        assert!(3 * q >= 2 * n && 3 * (q - 1) < 2 * n, "n = {n}");
    }
}

#[test]
fn leader_is_hash_of_epoch_mod_n() {
    for (epoch, n) in [(1u64, 4usize), (2, 4), (17, 7), (1000, 10), (u64::MAX, 3)] {
        let h = Hash::tagged(LEADER_DOMAIN, &[&epoch.to_le_bytes()]);
        assert_eq!(leader_index(epoch, n) as u64, h.prefix_u64() % n as u64);
    }
    // Every validator leads some epoch.
    let mut seen = [false; 7];
    for e in 1..200 {
        seen[leader_index(e, 7) as usize] = true;
    }
    assert!(seen.iter().all(|s| *s));
}

#[test]
fn validator_set_rejects_bad_input() {
    assert_eq!(ValidatorSet::new(vec![]), Err(ConfigError::NoValidators));
    assert_eq!(
        ValidatorSet::new(vec![key(1), key(1)]),
        Err(ConfigError::DuplicateValidator(key(1)))
    );
    let mut g = Genesis::for_testing(&[], &[key(0)]);
    g.consensus = ConsensusParams::Nakamoto(ledger_types::genesis::NakamotoParams {
        target_block_ms: 1000,
        retarget_interval: 10,
        finality_depth: 6,
        initial_difficulty: 1,
        max_retarget_factor: 4,
    });
    assert!(matches!(
        StreamletConfig::from_genesis(&g),
        Err(ConfigError::WrongProtocol(_))
    ));
}

#[test]
fn epochs_are_two_delta_long() {
    let cfg = config(4);
    for (now, epoch) in [(0, 0), (199, 0), (200, 1), (399, 1), (400, 2), (10_000, 50)] {
        assert_eq!(cfg.epoch_at(now), epoch, "now = {now}");
    }
    assert_eq!(cfg.epoch_start_ms(3), 600);
    let mut n = node(&cfg, 0);
    let out = n.handle(Input::Start { now_ms: 250 }).effects;
    assert!(out.contains(&Effect::SetTimer { at_ms: 400, id: 2 }));
    assert_eq!(n.current_epoch(), 1);
}

#[test]
fn bad_messages_are_rejected_with_typed_errors_and_change_nothing() {
    let cfg = config(4);
    let g = cfg.genesis.clone();
    let e = 1;
    let good = block_on(&cfg, &g, e, vec![]);
    let wrong_leader = (leader(&cfg, e) + 1) % 4;
    let mut bad_sig = match propose(&cfg, good.clone()) {
        Message::Proposal(p) => p,
        _ => unreachable!(),
    };
    bad_sig.signature.0[0] ^= 1;
    let mut bad_root = good.clone();
    bad_root.txs.push(tx(1));
    let bad_height = Block::new(g.hash(), 5, good.header.consensus.clone(), vec![]);
    let nakamoto = Block::new(
        g.hash(),
        1,
        ConsensusHeader::Nakamoto {
            time_ms: 0,
            target: Hash::ZERO,
            nonce: 0,
            miner: key(0),
        },
        vec![],
    );
    let stranger = PublicKey([7; 32]);
    let mut forged_vote = match vote(&cfg, 1, e, good.hash()) {
        Message::Vote(v) => v,
        _ => unreachable!(),
    };
    forged_vote.voter = key(2);
    let cases: Vec<(&str, Message, StreamletError)> = vec![
        (
            "proposal by a validator that does not lead the epoch",
            Message::Proposal(Proposal::sign(
                &cfg.chain,
                Block::new(
                    g.hash(),
                    1,
                    ConsensusHeader::Streamlet {
                        epoch: e,
                        proposer: key(wrong_leader),
                        time_ms: 0,
                    },
                    vec![],
                ),
                &SimSigner {
                    key: key(wrong_leader),
                },
            )),
            StreamletError::WrongLeader {
                epoch: e,
                expected: key(leader(&cfg, e)),
                got: key(wrong_leader),
            },
        ),
        (
            "proposal by a non-validator",
            Message::Proposal(Proposal::sign(
                &cfg.chain,
                Block::new(
                    g.hash(),
                    1,
                    ConsensusHeader::Streamlet {
                        epoch: e,
                        proposer: stranger,
                        time_ms: 0,
                    },
                    vec![],
                ),
                &SimSigner { key: stranger },
            )),
            StreamletError::NotAValidator(stranger),
        ),
        (
            "proposal with a bad signature",
            Message::Proposal(bad_sig),
            StreamletError::BadSignature,
        ),
        (
            "proposal whose tx root does not match",
            Message::Proposal(Proposal {
                block: bad_root,
                signature: Signature([0; 64]),
            }),
            StreamletError::BadSignature,
        ),
        (
            "proposal with a height that skips",
            propose(&cfg, bad_height),
            StreamletError::BadHeight {
                height: 5,
                parent_height: 0,
            },
        ),
        (
            "proposal in epoch 0",
            propose(&cfg, block_on(&cfg, &g, 0, vec![])),
            StreamletError::GenesisEpoch,
        ),
        (
            "proposal far in the future",
            propose(&cfg, block_on(&cfg, &g, 1_000, vec![])),
            StreamletError::EpochTooFarAhead {
                epoch: 1_000,
                current: 0,
            },
        ),
        (
            "proposal with a proof-of-work header",
            Message::Proposal(Proposal {
                block: nakamoto,
                signature: Signature([0; 64]),
            }),
            StreamletError::NotStreamletHeader,
        ),
        (
            "vote by a non-validator",
            Message::Vote(Vote::sign(
                &cfg.chain,
                e,
                good.hash(),
                &SimSigner { key: stranger },
            )),
            StreamletError::NotAValidator(stranger),
        ),
        (
            "vote with another validator's signature",
            Message::Vote(forged_vote),
            StreamletError::BadSignature,
        ),
        (
            "vote in epoch 0",
            vote(&cfg, 1, 0, good.hash()),
            StreamletError::GenesisEpoch,
        ),
        (
            "vote far in the future",
            vote(&cfg, 1, u64::MAX, good.hash()),
            StreamletError::EpochTooFarAhead {
                epoch: u64::MAX,
                current: 0,
            },
        ),
    ];
    for (name, msg, want) in cases {
        let mut n = node(&cfg, 0);
        let mut out = Vec::new();
        assert_eq!(n.on_message(&msg, NOW, &mut out), Err(want), "{name}");
        assert!(out.is_empty(), "{name}: rejected input produced outputs");
        assert_eq!(n.best_notarized(), Tip::new(g.hash(), 0), "{name}");
        // The same node still accepts a valid message afterwards.
        assert_eq!(
            n.on_message(&propose(&cfg, good.clone()), NOW, &mut out),
            Ok(Delivery::New),
            "{name}"
        );
    }
    // A correctly signed proposal whose tx root does not match its transactions.
    let mut root_mismatch = good.clone();
    root_mismatch.txs.push(tx(1));
    let msg = propose(&cfg, root_mismatch);
    assert_eq!(
        node(&cfg, 0).on_message(&msg, NOW, &mut Vec::new()),
        Err(StreamletError::TxRootMismatch)
    );
}

#[test]
fn garbage_bytes_do_not_decode_and_wire_len_is_exact() {
    let cfg = config(4);
    let b = block_on(&cfg, &cfg.genesis, 1, vec![tx(3)]);
    for m in [propose(&cfg, b.clone()), vote(&cfg, 0, 1, b.hash())] {
        let bytes = codec::encode(&m);
        assert_eq!(m.wire_len(), bytes.len());
        assert_eq!(codec::decode::<Message>(&bytes).unwrap(), m);
        assert!(codec::decode::<Message>(&bytes[..bytes.len() - 1]).is_err());
    }
    for garbage in [&[][..], &[9, 9, 9, 9][..], &[1, 0, 0, 0, 0xff][..]] {
        assert!(codec::decode::<Message>(garbage).is_err());
    }
}

struct PayloadRejecter;
impl PayloadValidator for PayloadRejecter {
    fn validate(&self, block: &Block) -> Result<(), String> {
        if block.txs.is_empty() {
            Ok(())
        } else {
            Err("no transactions allowed".into())
        }
    }
}

#[test]
fn payload_validator_can_refuse_a_block() {
    let cfg = config(4);
    let mut n = node(&cfg, 0).with_payload_validator(Box::new(PayloadRejecter));
    let b = block_on(&cfg, &cfg.genesis, 1, vec![tx(1)]);
    assert_eq!(
        n.on_message(&propose(&cfg, b), NOW, &mut Vec::new()),
        Err(StreamletError::InvalidPayload(
            "no transactions allowed".into()
        ))
    );
}

/// The vote rule: "Every player votes for the first proposal they see from the epoch's
/// leader, as long as the proposed block extends from (one of) the longest notarized
/// chain(s) that the voter has seen."
#[test]
fn vote_rule_table() {
    let cfg = config(4);
    let g = cfg.genesis.clone();
    // A notarized chain g <- b1 (epoch 1); a sibling s1 of b1 that is not notarized.
    let b1 = block_on(&cfg, &g, 1, vec![]);
    struct Case {
        name: &'static str,
        epoch_now: u64,
        proposal_epoch: u64,
        parent_is_b1: bool,
        observer: bool,
        votes: bool,
    }
    let cases = [
        Case {
            name: "extends the longest notarized chain",
            epoch_now: 2,
            proposal_epoch: 2,
            parent_is_b1: true,
            observer: false,
            votes: true,
        },
        Case {
            name: "extends a shorter notarized chain",
            epoch_now: 2,
            proposal_epoch: 2,
            parent_is_b1: false,
            observer: false,
            votes: false,
        },
        Case {
            name: "proposal of a past epoch",
            epoch_now: 3,
            proposal_epoch: 2,
            parent_is_b1: true,
            observer: false,
            votes: false,
        },
        Case {
            name: "observer never votes",
            epoch_now: 2,
            proposal_epoch: 2,
            parent_is_b1: true,
            observer: true,
            votes: false,
        },
    ];
    for c in cases {
        let mut n = if c.observer {
            observer(&cfg)
        } else {
            node(&cfg, 0)
        };
        at_epoch(&mut n, 1);
        n.on_message(&propose(&cfg, b1.clone()), NOW, &mut Vec::new())
            .unwrap();
        notarize(&cfg, &mut n, &b1);
        at_epoch(&mut n, c.epoch_now);
        let parent = if c.parent_is_b1 { &b1 } else { &g };
        let p = block_on(&cfg, parent, c.proposal_epoch, vec![]);
        let mut out = Vec::new();
        assert_eq!(
            n.on_message(&propose(&cfg, p.clone()), NOW, &mut out),
            Ok(Delivery::New),
            "{}",
            c.name
        );
        let voted = own_votes(&out);
        assert_eq!(!voted.is_empty(), c.votes, "{}: {out:?}", c.name);
        if c.votes {
            assert_eq!(voted, vec![p.hash()]);
            // Persist comes first, then the broadcast.
            assert!(
                matches!(out[0], Effect::Persist(SafetyRecord { epoch: 2, .. })),
                "{}",
                c.name
            );
        }
    }
}

#[test]
fn only_the_first_proposal_of_an_epoch_gets_a_vote_and_equivocation_is_evidence() {
    let cfg = config(4);
    let g = cfg.genesis.clone();
    let mut n = node(&cfg, 0);
    at_epoch(&mut n, 1);
    let a = block_on(&cfg, &g, 1, vec![tx(1)]);
    let b = block_on(&cfg, &g, 1, vec![tx(2)]);
    let mut out = Vec::new();
    n.on_message(&propose(&cfg, a.clone()), NOW, &mut out)
        .unwrap();
    assert_eq!(own_votes(&out), vec![a.hash()]);
    let mut out = Vec::new();
    assert_eq!(
        n.on_message(&propose(&cfg, b.clone()), NOW, &mut out),
        Ok(Delivery::New)
    );
    assert!(own_votes(&out).is_empty(), "at most once per epoch");
    assert!(matches!(
        out[..],
        [Effect::Evidence(Evidence::DoubleProposal { .. })]
    ));
    assert_eq!(n.evidence().len(), 1);
    // Delivering the same proposal again is a duplicate.
    assert_eq!(
        n.on_message(&propose(&cfg, b), NOW, &mut Vec::new()),
        Ok(Delivery::Duplicate)
    );
}

#[test]
fn early_proposal_is_voted_when_its_epoch_starts() {
    let cfg = config(4);
    let mut n = node(&cfg, 0);
    at_epoch(&mut n, 1);
    let p = block_on(&cfg, &cfg.genesis, 2, vec![]);
    let mut out = Vec::new();
    n.on_message(&propose(&cfg, p.clone()), NOW, &mut out)
        .unwrap();
    assert!(own_votes(&out).is_empty());
    let out = at_epoch(&mut n, 2);
    assert_eq!(own_votes(&out), vec![p.hash()]);
}

#[test]
fn double_votes_are_evidence_and_counted_once() {
    let cfg = config(4);
    let mut n = node(&cfg, 0);
    at_epoch(&mut n, 1);
    let a = block_on(&cfg, &cfg.genesis, 1, vec![tx(1)]);
    let mut out = Vec::new();
    assert_eq!(
        n.on_message(&vote(&cfg, 2, 1, a.hash()), NOW, &mut out),
        Ok(Delivery::New)
    );
    assert_eq!(
        n.on_message(&vote(&cfg, 2, 1, a.hash()), NOW, &mut out),
        Ok(Delivery::Duplicate)
    );
    assert_eq!(
        n.on_message(&vote(&cfg, 2, 1, Hash([1; 32])), NOW, &mut out),
        Ok(Delivery::New)
    );
    assert!(matches!(
        out[..],
        [Effect::Evidence(Evidence::DoubleVote { .. })]
    ));
    for i in 0..3 {
        let _ = n.on_message(&vote(&cfg, 2, 1, Hash([i + 2; 32])), NOW, &mut out);
    }
    assert!(matches!(
        n.on_message(&vote(&cfg, 2, 1, Hash([9; 32])), NOW, &mut out),
        Err(StreamletError::TooManyVotes { .. })
    ));
}

/// "When a block gains votes from at least 2n/3 distinct players, it becomes notarized."
#[test]
fn notarization_needs_a_quorum_of_distinct_voters() {
    let cfg = config(7); // quorum 5
    let b = block_on(&cfg, &cfg.genesis, 1, vec![]);
    for (voters, notarized) in [
        (vec![0, 1, 2, 3], false),
        (vec![0, 1, 2, 3, 3, 3], false),
        (vec![0, 1, 2, 3, 4], true),
        (vec![6, 5, 4, 3, 2, 1], true),
    ] {
        let mut n = observer(&cfg);
        n.on_message(&propose(&cfg, b.clone()), NOW, &mut Vec::new())
            .unwrap();
        let mut out = Vec::new();
        for v in &voters {
            let _ = n.on_message(&vote(&cfg, *v, 1, b.hash()), NOW, &mut out);
        }
        assert_eq!(n.is_notarized(&b.hash()), notarized, "{voters:?}");
        let notes = out
            .iter()
            .filter(|o| matches!(o, Effect::Notarized { .. }))
            .count();
        assert_eq!(notes, usize::from(notarized), "{voters:?}");
        if notarized {
            let cert = n.certificate(&b.hash()).unwrap();
            assert_eq!(
                cfg.validators
                    .verify_certificate(&cert, &cfg.chain, &SimSignatures),
                Ok(())
            );
        }
    }
    // Votes arriving before the block count once it arrives.
    let mut n = observer(&cfg);
    for v in 0..5 {
        n.on_message(&vote(&cfg, v, 1, b.hash()), NOW, &mut Vec::new())
            .unwrap();
    }
    assert!(!n.is_notarized(&b.hash()));
    n.on_message(&propose(&cfg, b.clone()), NOW, &mut Vec::new())
        .unwrap();
    assert!(n.is_notarized(&b.hash()));
}

/// "If in any notarized chain, there are three adjacent blocks with consecutive epoch
/// numbers, the prefix of the chain up to the second of the three blocks is considered
/// final."
#[test]
fn finality_rule_table() {
    let cfg = config(4);
    let cases: [(&[u64], &[u64]); 6] = [
        (&[1, 2, 3], &[1, 2]), // genesis(0),1,2 -> final up to 1; 1,2,3 -> up to 2
        (&[2, 3, 4], &[2, 3]),
        (&[1, 3, 4], &[]),
        (&[1, 3, 4, 5], &[1, 3, 4]),
        (&[2, 4, 6, 8], &[]),
        (&[5, 6, 8, 9, 10], &[5, 6, 8, 9]),
    ];
    for (epochs, want) in cases {
        let mut n = observer(&cfg);
        let mut parent = cfg.genesis.clone();
        let mut out = Vec::new();
        for e in epochs {
            at_epoch(&mut n, *e);
            let b = block_on(&cfg, &parent, *e, vec![]);
            n.on_message(&propose(&cfg, b.clone()), NOW, &mut out)
                .unwrap();
            out.extend(notarize(&cfg, &mut n, &b));
            parent = b;
        }
        assert_eq!(finalized(&out), want.to_vec(), "chain epochs {epochs:?}");
    }
}

#[test]
fn finalization_is_in_order_and_exactly_once_even_when_notarized_out_of_order() {
    let cfg = config(4);
    let mut n = observer(&cfg);
    at_epoch(&mut n, 3);
    let b1 = block_on(&cfg, &cfg.genesis, 1, vec![]);
    let b2 = block_on(&cfg, &b1, 2, vec![]);
    let b3 = block_on(&cfg, &b2, 3, vec![]);
    let mut out = Vec::new();
    // Child before parent: b3 and b2 wait as orphans for b1.
    for b in [&b3, &b2, &b1] {
        n.on_message(&propose(&cfg, (*b).clone()), NOW, &mut out)
            .unwrap();
    }
    assert!(out.iter().any(|o| matches!(o, Effect::RequestBlock { .. })));
    for b in [&b3, &b1, &b2] {
        out.extend(notarize(&cfg, &mut n, b));
    }
    assert_eq!(finalized(&out), vec![1, 2]);
    assert_eq!(n.final_tip(), Tip::new(b2.hash(), 2));
    // Old messages are now stale.
    assert_eq!(
        n.on_message(&vote(&cfg, 3, 2, b2.hash()), NOW, &mut Vec::new()),
        Ok(Delivery::Stale)
    );
}

#[test]
fn leader_builds_on_the_longest_notarized_chain_and_persists_before_sending() {
    let cfg = config(4);
    let e = 1;
    let l = leader(&cfg, e);
    let mut n = node(&cfg, l);
    let out = at_epoch(&mut n, e);
    assert!(out.contains(&Effect::BuildBlock {
        epoch: e,
        parent: cfg.genesis.hash(),
        height: 1
    }));
    assert_eq!(
        n.on_block_built(e + 1, 0, vec![], &mut Vec::new()),
        Err(StreamletError::StaleBuild {
            epoch: e + 1,
            current: e
        })
    );
    let mut out = Vec::new();
    n.on_block_built(e, 0, vec![tx(1)], &mut out).unwrap();
    assert!(matches!(
        out[0],
        Effect::Persist(SafetyRecord {
            epoch: 1,
            max_vote_height: 1,
            ..
        })
    ));
    assert!(
        matches!(&out[1], Effect::Broadcast(ConsensusMessage::Streamlet(Message::Proposal(p))) if p.block.txs.len() == 1)
    );
    assert!(matches!(
        out[2],
        Effect::Broadcast(ConsensusMessage::Streamlet(Message::Vote(_)))
    ));
    // A second answer for the same epoch is refused (no double proposal).
    assert!(n.on_block_built(e, 0, vec![], &mut Vec::new()).is_err());
    // Non-leaders are never asked.
    let other = node(&cfg, (l + 1) % 4);
    let mut other = other;
    assert!(!at_epoch(&mut other, e)
        .iter()
        .any(|o| matches!(o, Effect::BuildBlock { .. })));
}

#[test]
fn certificates_verify_against_the_validator_set() {
    let cfg = config(4);
    let b = block_on(&cfg, &cfg.genesis, 1, vec![]);
    let sig = |i: usize| match vote(&cfg, i, 1, b.hash()) {
        Message::Vote(v) => v.signature,
        _ => unreachable!(),
    };
    let cv = |i: usize| CertVote {
        validator: i as u32,
        signature: sig(i),
    };
    let cert = |votes: Vec<CertVote>| Certificate {
        epoch: 1,
        block: b.hash(),
        votes,
    };
    let cases: Vec<(Certificate, Result<(), CertificateError>)> = vec![
        (cert(vec![cv(0), cv(1), cv(2)]), Ok(())),
        (
            cert(vec![cv(0), cv(1)]),
            Err(CertificateError::TooFewVotes { got: 2, quorum: 3 }),
        ),
        (
            cert(vec![cv(0), cv(1), cv(1)]),
            Err(CertificateError::UnsortedOrDuplicate),
        ),
        (
            cert(vec![cv(2), cv(1), cv(0)]),
            Err(CertificateError::UnsortedOrDuplicate),
        ),
        (
            cert(vec![
                cv(0),
                cv(1),
                CertVote {
                    validator: 9,
                    signature: sig(1),
                },
            ]),
            Err(CertificateError::UnknownValidator(9)),
        ),
        (
            cert(vec![
                cv(0),
                cv(1),
                CertVote {
                    validator: 3,
                    signature: sig(2),
                },
            ]),
            Err(CertificateError::BadSignature(3)),
        ),
        (
            Certificate {
                epoch: 2,
                ..cert(vec![cv(0), cv(1), cv(2)])
            },
            Err(CertificateError::BadSignature(0)),
        ),
    ];
    for (i, (c, want)) in cases.into_iter().enumerate() {
        assert_eq!(
            cfg.validators
                .verify_certificate(&c, &cfg.chain, &SimSignatures),
            want,
            "case {i}"
        );
    }
}

/// Runs `nodes` in lock step: every broadcast reaches every other node at once.
fn lockstep(
    cfg: &StreamletConfig,
    nodes: &mut [Streamlet<SimSignatures>],
    epochs: std::ops::RangeInclusive<u64>,
) -> Vec<Vec<Effect>> {
    let mut log = vec![Vec::new(); nodes.len()];
    for e in epochs {
        let mut pending: Vec<(usize, Effect)> = Vec::new();
        for (i, n) in nodes.iter_mut().enumerate() {
            pending.extend(at_epoch(n, e).into_iter().map(|o| (i, o)));
        }
        while let Some((from, o)) = pending.pop() {
            match &o {
                Effect::BuildBlock { epoch, .. } => {
                    let mut out = Vec::new();
                    nodes[from]
                        .on_block_built(*epoch, 0, vec![], &mut out)
                        .unwrap();
                    pending.extend(out.into_iter().map(|x| (from, x)));
                }
                Effect::Broadcast(ConsensusMessage::Streamlet(m)) => {
                    for (to, n) in nodes.iter_mut().enumerate() {
                        if to != from {
                            let mut out = Vec::new();
                            n.on_message(m, NOW, &mut out).unwrap();
                            pending.extend(out.into_iter().map(|x| (to, x)));
                        }
                    }
                }
                _ => {}
            }
            log[from].push(o);
        }
    }
    let _ = cfg;
    log
}

#[test]
fn four_honest_validators_finalize_in_lock_step() {
    let cfg = config(4);
    let mut nodes: Vec<_> = (0..4).map(|i| node(&cfg, i)).collect();
    let log = lockstep(&cfg, &mut nodes, 1..=6);
    for (i, l) in log.iter().enumerate() {
        assert_eq!(finalized(l), vec![1, 2, 3, 4, 5], "node {i}");
    }
}

#[test]
fn lagging_node_catches_up_from_certified_blocks() {
    let cfg = config(4);
    let mut nodes: Vec<_> = (0..4).map(|i| node(&cfg, i)).collect();
    let log = lockstep(&cfg, &mut nodes, 1..=5);
    // Serve the final chain (as a store keeps it: blocks with certificates) and the
    // notarized chain above it.
    let mut chain: Vec<(Block, Certificate)> = log[0]
        .iter()
        .filter_map(|o| match o {
            Effect::Finalized {
                block,
                certificate: Some(certificate),
            } => Some((block.clone(), certificate.clone())),
            _ => None,
        })
        .collect();
    chain.extend(nodes[0].notarized_chain());
    let mut late = observer(&cfg);
    let mut out = Vec::new();
    assert!(chain.len() >= 2);
    for (b, c) in chain.iter().rev() {
        // Reverse order: orphans are kept until their parents arrive.
        assert_eq!(
            late.on_certified_block(b.clone(), c.clone(), &mut out),
            Ok(Delivery::New)
        );
    }
    // A tampered certificate is refused.
    let (b, mut c) = chain[0].clone();
    c.votes.truncate(1);
    assert!(matches!(
        observer(&cfg).on_certified_block(b, c, &mut Vec::new()),
        Err(StreamletError::Certificate(
            CertificateError::TooFewVotes { .. }
        ))
    ));
    assert_eq!(late.best_notarized().height, 5);
    assert_eq!(finalized(&out), vec![1, 2, 3, 4]);
}

#[test]
fn restart_never_double_votes_or_double_proposes() {
    let cfg = config(4);
    let e = 1;
    let l = leader(&cfg, e);
    let mut n = node(&cfg, l);
    at_epoch(&mut n, e);
    let mut out = Vec::new();
    n.on_block_built(e, 0, vec![], &mut out).unwrap();
    let Effect::Persist(record) = out[0] else {
        panic!("persist first")
    };
    // Crash; restart in the same epoch from the persisted record only.
    let state = RestoreState {
        final_block: cfg.genesis.clone(),
        notarized: vec![],
        safety: record,
    };
    let (mut r, _) = Streamlet::restore(
        cfg.clone(),
        SimSignatures,
        Some(Box::new(SimSigner { key: key(l) })),
        state,
    )
    .unwrap();
    let out = r
        .handle(Input::Start {
            now_ms: cfg.epoch_start_ms(e) + 10,
        })
        .effects;
    assert!(
        !out.iter().any(|o| matches!(o, Effect::BuildBlock { .. })),
        "no second proposal"
    );
    // Another proposal for the epoch arriving now gets no vote.
    let other = block_on(&cfg, &cfg.genesis, e, vec![tx(5)]);
    let mut out = Vec::new();
    r.on_message(&propose(&cfg, other), NOW, &mut out).unwrap();
    assert!(own_votes(&out).is_empty());
    // Restart with notarized blocks that already satisfy the finality rule.
    let mut nodes: Vec<_> = (0..4).map(|i| node(&cfg, i)).collect();
    let log = lockstep(&cfg, &mut nodes, 1..=3);
    let notarized: Vec<(Block, Certificate)> = log[1]
        .iter()
        .filter_map(|o| match o {
            Effect::Notarized { block, certificate } => Some((block.clone(), certificate.clone())),
            _ => None,
        })
        .collect();
    let (r, out) = Streamlet::restore(
        cfg.clone(),
        SimSignatures,
        None,
        RestoreState {
            final_block: cfg.genesis.clone(),
            notarized,
            safety: SafetyRecord::default(),
        },
    )
    .unwrap();
    assert_eq!(finalized(&out), vec![1, 2]);
    assert_eq!(r.final_tip().height, 2);
}

#[test]
fn real_ed25519_signatures_end_to_end() {
    let keys: Vec<Keypair> = (0..4)
        .map(|i| Keypair::for_testing(&format!("v{i}")))
        .collect();
    let mut g = Genesis::for_testing(&[], &keys.iter().map(|k| k.public()).collect::<Vec<_>>());
    g.consensus = ConsensusParams::Streamlet(StreamletParams { delta_ms: 100 });
    let cfg = StreamletConfig::from_genesis(&g).unwrap();
    let mut nodes: Vec<Streamlet> = keys
        .iter()
        .map(|k| Streamlet::with_keypair(cfg.clone(), Some(k.clone())))
        .collect();
    let mut finals = 0;
    for e in 1..=4u64 {
        let mut pending = Vec::new();
        for (i, n) in nodes.iter_mut().enumerate() {
            pending.extend(
                n.handle(Input::Timer { id: e, now_ms: 0 })
                    .effects
                    .into_iter()
                    .map(|o| (i, o)),
            );
        }
        while let Some((from, o)) = pending.pop() {
            match o {
                Effect::BuildBlock { epoch, .. } => {
                    let out = nodes[from]
                        .handle(Input::BlockBuilt {
                            epoch,
                            time_ms: 0,
                            txs: vec![],
                        })
                        .effects;
                    pending.extend(out.into_iter().map(|x| (from, x)));
                }
                Effect::Broadcast(m) => {
                    for (to, node) in nodes.iter_mut().enumerate() {
                        if to != from {
                            let step = node.handle(Input::Message {
                                message: m.clone(),
                                now_ms: NOW,
                            });
                            assert_eq!(step.verdict, Ok(Delivery::New));
                            let out = step.effects;
                            pending.extend(out.into_iter().map(|x| (to, x)));
                        }
                    }
                }
                Effect::Finalized { .. } => finals += 1,
                _ => {}
            }
        }
    }
    assert_eq!(finals, 4 * 3, "each node finalizes epochs 1..=3");
    // A simulated signature does not pass the ed25519 verifier.
    let fake = Vote::sign(
        &cfg.chain,
        5,
        Hash::ZERO,
        &SimSigner {
            key: keys[0].public(),
        },
    );
    let step = nodes[1].handle(Input::Message {
        message: ConsensusMessage::Streamlet(Message::Vote(fake)),
        now_ms: NOW,
    });
    assert_eq!(
        step.verdict,
        Err(StreamletError::BadSignature.into()),
        "refused"
    );
    assert!(step.effects.is_empty());
}

#[test]
fn insecure_quorum_is_test_only_and_clamped() {
    let set = ValidatorSet::new((0..4).map(key).collect()).unwrap();
    assert_eq!(set.quorum(), 3);
    assert_eq!(set.clone().with_insecure_quorum_for_testing(2).quorum(), 2);
    assert_eq!(set.clone().with_insecure_quorum_for_testing(0).quorum(), 1);
    assert_eq!(set.with_insecure_quorum_for_testing(99).quorum(), 4);
}

#[test]
fn proposal_time_must_not_run_ahead_of_the_clock_or_behind_the_parent() {
    let cfg = config(4);
    let e = 1;
    let at = |time_ms: u64| {
        Block::new(
            cfg.genesis.hash(),
            1,
            ConsensusHeader::Streamlet {
                epoch: e,
                proposer: key(leader(&cfg, e)),
                time_ms,
            },
            vec![],
        )
    };
    let now = 10_000;
    // Too far ahead of the local clock: refused, not an offence (our clock may lag).
    let mut n = node(&cfg, 0);
    at_epoch(&mut n, e);
    let step = n.handle(Input::Message {
        message: ConsensusMessage::Streamlet(propose(&cfg, at(now + cfg.max_future_ms + 1))),
        now_ms: now,
    });
    let err = step.verdict.unwrap_err();
    assert!(matches!(
        err,
        ConsensusError::Streamlet(StreamletError::TimeTooFarAhead { .. })
    ));
    assert!(!err.is_offence());
    assert!(step.effects.is_empty());
    // Within the bound: accepted.
    let step = n.handle(Input::Message {
        message: ConsensusMessage::Streamlet(propose(&cfg, at(now + cfg.max_future_ms))),
        now_ms: now,
    });
    assert_eq!(step.verdict, Ok(Delivery::New));
    // A child whose time is before its parent's is an offence.
    let parent = at(now);
    let child = Block::new(
        parent.hash(),
        2,
        ConsensusHeader::Streamlet {
            epoch: 2,
            proposer: key(leader(&cfg, 2)),
            time_ms: now - 1,
        },
        vec![],
    );
    let mut n = node(&cfg, 0);
    at_epoch(&mut n, 1);
    assert_eq!(
        n.handle(Input::Message {
            message: ConsensusMessage::Streamlet(propose(&cfg, parent)),
            now_ms: now,
        })
        .verdict,
        Ok(Delivery::New)
    );
    at_epoch(&mut n, 2);
    let err = n
        .handle(Input::Message {
            message: ConsensusMessage::Streamlet(propose(&cfg, child)),
            now_ms: now,
        })
        .verdict
        .unwrap_err();
    assert!(matches!(
        err,
        ConsensusError::Streamlet(StreamletError::TimeBeforeParent { .. })
    ));
    assert!(err.is_offence());
}

#[test]
fn inputs_of_the_other_protocol_are_refused_and_change_nothing() {
    let cfg = config(4);
    let mut n = node(&cfg, 0);
    for input in [
        Input::Mined {
            block: cfg.genesis.clone(),
            now_ms: NOW,
        },
        Input::Message {
            message: ConsensusMessage::Block(cfg.genesis.clone()),
            now_ms: NOW,
        },
        Input::Synced {
            block: cfg.genesis.clone(),
            certificate: None,
            now_ms: NOW,
        },
    ] {
        let step = n.handle(input);
        assert!(matches!(
            step.verdict,
            Err(ConsensusError::NotForThisProtocol { .. })
        ));
        assert!(step.effects.is_empty());
    }
    assert_eq!(n.head(), Tip::new(cfg.genesis.hash(), 0));
}

// ----- Responsive pacing (deviation 8) -----

const MIN_EPOCH_MS: u64 = 20;

fn responsive_config(n: usize) -> StreamletConfig {
    let mut cfg = config(n);
    cfg.pacing = Pacing::Responsive {
        min_epoch_ms: MIN_EPOCH_MS,
    };
    cfg
}

fn timers(out: &[Effect]) -> Vec<(u64, u64)> {
    out.iter()
        .filter_map(|o| match o {
            Effect::SetTimer { at_ms, id } => Some((*at_ms, *id)),
            _ => None,
        })
        .collect()
}

#[test]
fn responsive_epoch_ends_when_its_block_is_notarized_but_not_before_the_minimum() {
    let cfg = responsive_config(4);
    let mut n = node(&cfg, 0);
    let start = cfg.epoch_start_ms(5) + 7;
    let out = n.handle(Input::Start { now_ms: start }).effects;
    assert_eq!(n.current_epoch(), 5);
    // Nothing notarized: the epoch ends 2Δ after it began (not at the clock boundary).
    assert_eq!(timers(&out), vec![(start + cfg.epoch_ms(), 6)]);
    let b = block_on(&cfg, &cfg.genesis, 5, vec![]);
    let mut out = Vec::new();
    n.on_message(&propose(&cfg, b.clone()), start + 2, &mut out)
        .unwrap();
    let out = notarize(&cfg, &mut n, &b);
    assert_eq!(timers(&out), vec![(start + MIN_EPOCH_MS, 6)]);
    let out = n
        .handle(Input::Timer {
            id: 6,
            now_ms: start + MIN_EPOCH_MS,
        })
        .effects;
    assert_eq!(n.current_epoch(), 6);
    assert_eq!(
        timers(&out),
        vec![(start + MIN_EPOCH_MS + cfg.epoch_ms(), 7)]
    );
    // The stale 2Δ timer of epoch 5 changes nothing.
    let out = n
        .handle(Input::Timer {
            id: 6,
            now_ms: start + cfg.epoch_ms(),
        })
        .effects;
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(n.current_epoch(), 6);
}

#[test]
fn the_paper_pacing_keeps_clock_epochs() {
    let cfg = config(4);
    let mut n = node(&cfg, 0);
    let start = cfg.epoch_start_ms(5) + 7;
    let out = n.handle(Input::Start { now_ms: start }).effects;
    assert_eq!(timers(&out), vec![(cfg.epoch_start_ms(6), 6)]);
    let b = block_on(&cfg, &cfg.genesis, 5, vec![]);
    let mut out = Vec::new();
    n.on_message(&propose(&cfg, b.clone()), start + 2, &mut out)
        .unwrap();
    let out = notarize(&cfg, &mut n, &b);
    assert!(timers(&out).is_empty(), "{out:?}");
}

#[test]
fn a_node_far_behind_joins_the_epoch_of_f_plus_one_validators() {
    let cfg = responsive_config(4); // f = 1: two validators are enough
    let mut n = node(&cfg, 3);
    n.handle(Input::Start {
        now_ms: cfg.epoch_start_ms(1),
    });
    let far = 1 + cfg.max_epoch_lead + 40;
    let some = Hash::tagged("test", &[b"x"]);
    // One validator alone (it may be faulty) moves nothing.
    let step = n.handle(Input::Message {
        message: ConsensusMessage::Streamlet(vote(&cfg, 0, far, some)),
        now_ms: NOW,
    });
    assert_eq!(step.verdict, Ok(Delivery::Stale));
    assert_eq!(n.current_epoch(), 1);
    // A forged far vote is refused and moves nothing.
    let mut forged = match vote(&cfg, 1, far + 5, some) {
        Message::Vote(v) => v,
        _ => unreachable!(),
    };
    forged.signature = Signature([7; 64]);
    let step = n.handle(Input::Message {
        message: ConsensusMessage::Streamlet(Message::Vote(forged)),
        now_ms: NOW,
    });
    assert!(step.verdict.is_err());
    assert_eq!(n.current_epoch(), 1);
    // A second one: at least one correct validator is at `far - 1` or later.
    n.handle(Input::Message {
        message: ConsensusMessage::Streamlet(vote(&cfg, 1, far - 1, some)),
        now_ms: NOW,
    });
    assert_eq!(n.current_epoch(), far - 1);
    // The paper's pacing refuses such votes.
    let mut paper = node(&config(4), 3);
    let step = paper.handle(Input::Message {
        message: ConsensusMessage::Streamlet(vote(&cfg, 0, far, some)),
        now_ms: NOW,
    });
    assert!(matches!(
        step.verdict,
        Err(ConsensusError::Streamlet(
            StreamletError::EpochTooFarAhead { .. }
        ))
    ));
}

#[test]
fn a_node_ahead_votes_late_but_in_increasing_epoch_order() {
    let cfg = responsive_config(4);
    let me = (0..4)
        .find(|i| leader(&cfg, 7) != *i && leader(&cfg, 6) != *i && leader(&cfg, 9) != *i)
        .unwrap();
    let mut n = node(&cfg, me);
    // Its clock runs ahead: it is in epoch 9 while the others are in 6 and 7.
    n.handle(Input::Start {
        now_ms: cfg.epoch_start_ms(9),
    });
    let b6 = block_on(&cfg, &cfg.genesis, 6, vec![]);
    let mut out = Vec::new();
    n.on_message(&propose(&cfg, b6.clone()), NOW, &mut out)
        .unwrap();
    assert_eq!(own_votes(&out), vec![b6.hash()], "late vote for epoch 6");
    notarize(&cfg, &mut n, &b6);
    let b7 = block_on(&cfg, &b6, 7, vec![]);
    let mut out = Vec::new();
    n.on_message(&propose(&cfg, b7.clone()), NOW, &mut out)
        .unwrap();
    assert_eq!(own_votes(&out), vec![b7.hash()], "late vote for epoch 7");
    // A proposal of epoch 5 arriving now is never voted for: 5 < 7.
    let b5 = block_on(&cfg, &cfg.genesis, 5, vec![]);
    let mut out = Vec::new();
    n.on_message(&propose(&cfg, b5), NOW, &mut out).unwrap();
    assert!(own_votes(&out).is_empty());
    assert_eq!(n.safety_record().epoch, 7);
}
