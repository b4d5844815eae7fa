//! ledger-e2e
