//! ledger-lab
