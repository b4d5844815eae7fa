//! Core types shared by every ledger-node crate: hashes, keys and signatures, the one
//! canonical binary encoding, transactions, blocks and the genesis document.

pub mod atomic;
pub mod block;
pub mod codec;
pub mod crypto;
pub mod decimal;
pub mod genesis;
pub mod hash;
pub mod keyfile;
pub mod tx;

pub use atomic::{
    Bundle, BundleLeg, BundleShapeError, NetBound, Preimage, SwapClaim, SwapLock, SwapRefund,
};
pub use block::{Block, BlockHeader, ConsensusHeader};
pub use crypto::{Address, Keypair, PublicKey, Signature, SignatureError};
pub use genesis::{ConsensusParams, Genesis, GenesisError, MarketSpec};
pub use hash::Hash;
pub use rust_decimal::Decimal;
pub use tx::{
    batch_order_id, AmendOrder, AssetId, Batch, BatchAction, CancelAll, CancelOrder, ClientOrderId,
    MarketId, OrderId, OrderKind, OrderRef, Payload, PlaceOrder, ScheduleCancel,
    SelfTradePrevention, Side, SignedTx, TimeInForce, Transfer, Tx, TxHash, MAX_BATCH_ACTIONS,
};
