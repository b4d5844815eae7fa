//! ledger-storage
