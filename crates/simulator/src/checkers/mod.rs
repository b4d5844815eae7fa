//! Checkers, written against observations only (blocks finalized, tips adopted, blocks
//! mined), never against the protocol code: they rebuild what they need from block
//! hashes, parents and heights, so a bug in the protocol cannot hide itself.

pub mod chain_quality;
pub mod common_prefix;
pub mod liveness;
pub mod safety;

pub use chain_quality::{chain_quality, ChainQuality};
pub use common_prefix::{CommonPrefixChecker, CommonPrefixViolation};
pub use liveness::{check_liveness, streamlet_liveness_window, LivenessViolation};
pub use safety::{check_safety, FinalizedRecord, SafetyViolation};
