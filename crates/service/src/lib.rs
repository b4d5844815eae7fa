//! ledger-service
