//! SHA-256 of short messages straight on the hash core.
//!
//! The leaves and batch order ids are a few blocks each, built in a stack buffer. The
//! `Digest` API copies the whole message into its block buffer block by block; here the
//! message's full blocks go from the caller's buffer to the compression function, and
//! only the tail is copied to be padded. The output is SHA-256 of the same bytes (unit
//! tests compare against `Digest` for every length).

use sha2::digest::block_buffer::{BlockBuffer, Eager};
use sha2::digest::core_api::{UpdateCore, VariableOutputCore};
use sha2::digest::generic_array::GenericArray;
use sha2::digest::typenum::U64;
use sha2::Sha256VarCore;

/// SHA-256 of `bytes`.
#[inline]
pub(crate) fn digest(bytes: &[u8]) -> [u8; 32] {
    let mut core = Sha256VarCore::new(32).expect("32 is a valid SHA-256 output size");
    let mut blocks = bytes.chunks_exact(64);
    for block in &mut blocks {
        core.update_blocks(std::slice::from_ref(GenericArray::from_slice(block)));
    }
    let mut tail = BlockBuffer::<U64, Eager>::new(blocks.remainder());
    let mut out = GenericArray::default();
    core.finalize_variable_core(&mut tail, &mut out);
    out.into()
}

/// [`ledger_types::batch_order_id`], computed here in one compression.
#[inline]
pub(crate) fn batch_order_id(tx_hash: &ledger_types::TxHash, index: u32) -> ledger_types::OrderId {
    let mut buf = [0u8; 52];
    buf[..16].copy_from_slice(ledger_types::tx::BATCH_ORDER_DOMAIN);
    buf[16..48].copy_from_slice(&tx_hash.0);
    buf[48..52].copy_from_slice(&index.to_le_bytes());
    ledger_types::Hash(digest(&buf[..52]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn equals_sha256_for_every_length_up_to_300() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in 0..=300 {
            let want: [u8; 32] = Sha256::digest(&data[..n]).into();
            assert_eq!(digest(&data[..n]), want, "length {n}");
        }
    }

    #[test]
    fn batch_order_id_equals_the_types_crate() {
        for t in 0..20u8 {
            let tx = ledger_types::Hash([t.wrapping_mul(37); 32]);
            for i in [0, 1, 2, 15, 255, u32::MAX] {
                assert_eq!(batch_order_id(&tx, i), ledger_types::batch_order_id(&tx, i));
            }
        }
    }
}
