//! ledger-network
