//! ledger-rpc
