//! Selfish miner (placeholder, filled in below).
/// Placeholder.
pub struct SelfishMiner;
