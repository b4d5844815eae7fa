//! ledger-simulator
