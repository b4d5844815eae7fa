//! ledger-engine
