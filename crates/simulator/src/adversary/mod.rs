//! Adversaries, one behaviour per module. Each wraps an honest node (so it knows the
//! protocol state an insider would) and deviates in one way.

pub mod crash;
pub mod double_voter;
pub mod equivocating_leader;
pub mod selfish_miner;
pub mod vote_withholder;

pub use crash::Crash;
pub use double_voter::DoubleVoter;
pub use equivocating_leader::EquivocatingLeader;
pub use selfish_miner::SelfishMiner;
pub use vote_withholder::VoteWithholder;
