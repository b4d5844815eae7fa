//! Rebuilding the consensus machine of a (re)started node from its store: the same
//! code for the node and for the simulator's crash-restarts.

use crate::driver::Faults;
use crate::DriverError;
use ledger_consensus::nakamoto::{self, Nakamoto, NakamotoConfig};
use ledger_consensus::streamlet::{Pacing, Streamlet, StreamletConfig};
use ledger_consensus::{Effect, PayloadValidator, Protocol, Signer, Verifier};
use ledger_storage::ConsensusStore;
use ledger_types::{ConsensusParams, Genesis};

/// What a restored node is made of.
pub struct RestoreParams<'a, V> {
    /// The chain's genesis.
    pub genesis: &'a Genesis,
    /// This validator's key (`None`: an observer, or a proof-of-work node).
    pub signer: Option<Box<dyn Signer + Send>>,
    /// How Streamlet signatures are checked (ed25519 in the node).
    pub verifier: V,
    /// The check of block payloads.
    pub payload: Box<dyn PayloadValidator + Send>,
    /// The clock at restore (Nakamoto checks block times against it).
    pub now_ms: u64,
    /// Deliberate faults (tests only).
    pub faults: Faults,
    /// Streamlet: how epochs advance (`None`: the default, responsive).
    pub pacing: Option<Pacing>,
}

/// The machine the genesis chose, rebuilt from the store, with the effects of
/// re-inserting what was stored (carry them out before starting: they re-announce
/// notarized blocks and re-finalize blocks whose execution was lost in a crash).
pub fn restore_protocol<S, V>(
    store: &S,
    params: RestoreParams<'_, V>,
) -> Result<(Box<dyn Protocol + Send>, Vec<Effect>), DriverError>
where
    S: ConsensusStore,
    V: Verifier + Send + 'static,
{
    let RestoreParams {
        genesis,
        signer,
        verifier,
        payload,
        now_ms,
        faults,
        pacing,
    } = params;
    match &genesis.consensus {
        ConsensusParams::Streamlet(_) => {
            let mut cfg = StreamletConfig::from_genesis(genesis)?;
            if let Some(p) = pacing {
                cfg.pacing = p;
            }
            if let Some(q) = faults.quorum_override() {
                cfg.validators = cfg.validators.clone().with_insecure_quorum_for_testing(q);
            }
            let mut state = store.load_streamlet()?;
            if faults.forgets_voted_epoch() {
                state.safety.epoch = 0;
            }
            let (sm, effects) = Streamlet::restore(cfg, verifier, signer, state)
                .map_err(|e| DriverError::Restore(e.into()))?;
            Ok((Box::new(sm.with_payload_validator(payload)), effects))
        }
        ConsensusParams::Nakamoto(p) => {
            let cfg = NakamotoConfig::from_genesis(genesis)?;
            let keep = p.retarget_interval + nakamoto::MEDIAN_TIME_SPAN as u64;
            let state = store.load_nakamoto(keep)?;
            let (sm, effects) = Nakamoto::restore(cfg, state, now_ms)
                .map_err(|e| DriverError::Restore(e.into()))?;
            Ok((Box::new(sm.with_payload_validator(payload)), effects))
        }
    }
}
