//! ledger-consensus
