//! A small unsigned 256-bit integer for proof-of-work targets and chain work.
//!
//! Only what Nakamoto needs: comparison, addition, multiplication and division by a
//! `u64` (through a 320-bit intermediate so `target * timespan / expected` cannot
//! overflow), and one 256-by-256-bit division for the work of a target. Targets travel
//! in headers as a [`Hash`] holding the number in big-endian order, so comparing a
//! header hash with a target is comparing two such numbers.

use ledger_types::Hash;
use std::cmp::Ordering;
use std::fmt;

/// An unsigned 256-bit integer. Limbs are little endian: `0[0]` is the least
/// significant 64 bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct U256(pub [u64; 4]);

impl U256 {
    /// Zero.
    pub const ZERO: U256 = U256([0; 4]);
    /// One.
    pub const ONE: U256 = U256([1, 0, 0, 0]);
    /// 2^256 - 1.
    pub const MAX: U256 = U256([u64::MAX; 4]);

    /// The value of a `u64`.
    pub const fn from_u64(v: u64) -> U256 {
        U256([v, 0, 0, 0])
    }

    /// Reads a big-endian 32-byte number.
    pub fn from_be_bytes(b: &[u8; 32]) -> U256 {
        let mut limbs = [0u64; 4];
        for (i, limb) in limbs.iter_mut().enumerate() {
            let start = 32 - 8 * (i + 1);
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[start..start + 8]);
            *limb = u64::from_be_bytes(w);
        }
        U256(limbs)
    }

    /// Writes the number as 32 big-endian bytes.
    pub fn to_be_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, limb) in self.0.iter().enumerate() {
            let start = 32 - 8 * (i + 1);
            out[start..start + 8].copy_from_slice(&limb.to_be_bytes());
        }
        out
    }

    /// The number a hash (or a header target) denotes, big endian.
    pub fn from_hash(h: &Hash) -> U256 {
        U256::from_be_bytes(&h.0)
    }

    /// The number as a big-endian [`Hash`] (the header encoding of a target).
    pub fn to_hash(&self) -> Hash {
        Hash(self.to_be_bytes())
    }

    /// True if zero.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 4]
    }

    /// The low 64 bits.
    pub fn low_u64(&self) -> u64 {
        self.0[0]
    }

    /// `self + rhs`, or `None` on overflow.
    pub fn checked_add(&self, rhs: &U256) -> Option<U256> {
        let mut out = [0u64; 4];
        let mut carry = false;
        for (i, o) in out.iter_mut().enumerate() {
            let (s1, c1) = self.0[i].overflowing_add(rhs.0[i]);
            let (s2, c2) = s1.overflowing_add(u64::from(carry));
            *o = s2;
            carry = c1 || c2;
        }
        (!carry).then_some(U256(out))
    }

    /// `self + rhs`, saturating at [`U256::MAX`].
    pub fn saturating_add(&self, rhs: &U256) -> U256 {
        self.checked_add(rhs).unwrap_or(U256::MAX)
    }

    /// `self - rhs` (wrapping modulo 2^256).
    fn wrapping_sub(&self, rhs: &U256) -> U256 {
        let mut out = [0u64; 4];
        let mut borrow = false;
        for (i, o) in out.iter_mut().enumerate() {
            let (d1, b1) = self.0[i].overflowing_sub(rhs.0[i]);
            let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
            *o = d2;
            borrow = b1 || b2;
        }
        U256(out)
    }

    /// `self - rhs`, or `None` if `rhs > self`.
    pub fn checked_sub(&self, rhs: &U256) -> Option<U256> {
        (*self >= *rhs).then(|| self.wrapping_sub(rhs))
    }

    /// `self / d` and the remainder, for a non-zero `u64` divisor (`None` if `d == 0`).
    pub fn div_rem_u64(&self, d: u64) -> Option<(U256, u64)> {
        if d == 0 {
            return None;
        }
        let mut out = [0u64; 4];
        let mut rem: u128 = 0;
        for i in (0..4).rev() {
            let cur = (rem << 64) | u128::from(self.0[i]);
            out[i] = (cur / u128::from(d)) as u64;
            rem = cur % u128::from(d);
        }
        Some((U256(out), rem as u64))
    }

    /// `self * mul / div`, computed exactly through a 320-bit product and saturating at
    /// [`U256::MAX`]; `None` if `div == 0`.
    pub fn mul_div_u64(&self, mul: u64, div: u64) -> Option<U256> {
        if div == 0 {
            return None;
        }
        let mut prod = [0u64; 5];
        let mut carry: u128 = 0;
        for (p, limb) in prod.iter_mut().zip(self.0.iter()) {
            let cur = u128::from(*limb) * u128::from(mul) + carry;
            *p = cur as u64;
            carry = cur >> 64;
        }
        prod[4] = carry as u64;
        let mut q = [0u64; 5];
        let mut rem: u128 = 0;
        for i in (0..5).rev() {
            let cur = (rem << 64) | u128::from(prod[i]);
            q[i] = (cur / u128::from(div)) as u64;
            rem = cur % u128::from(div);
        }
        if q[4] != 0 {
            return Some(U256::MAX);
        }
        Some(U256([q[0], q[1], q[2], q[3]]))
    }

    fn bit(&self, i: usize) -> bool {
        (self.0[i / 64] >> (i % 64)) & 1 == 1
    }

    /// Shifts left by one bit; returns the shifted value and the bit shifted out.
    fn shl1(&self) -> (U256, bool) {
        let mut out = [0u64; 4];
        let mut carry = 0u64;
        for (i, o) in out.iter_mut().enumerate() {
            *o = (self.0[i] << 1) | carry;
            carry = self.0[i] >> 63;
        }
        (U256(out), carry == 1)
    }

    /// `self / d` (bitwise long division), or `None` if `d` is zero.
    pub fn checked_div(&self, d: &U256) -> Option<U256> {
        if d.is_zero() {
            return None;
        }
        let mut q = [0u64; 4];
        let mut rem = U256::ZERO;
        for i in (0..256).rev() {
            let (shifted, overflow) = rem.shl1();
            rem = shifted;
            if self.bit(i) {
                rem.0[0] |= 1;
            }
            // If a bit fell off the top, rem >= 2^256 > d.
            if overflow || rem >= *d {
                rem = rem.wrapping_sub(d);
                q[i / 64] |= 1 << (i % 64);
            }
        }
        Some(U256(q))
    }

    /// The expected number of hashes to find a header hash `<= self`:
    /// `floor(2^256 / (self + 1))` (as Bitcoin's `GetBlockProof`).
    pub fn work(&self) -> U256 {
        if *self == U256::MAX {
            return U256::ONE;
        }
        // 2^256 / (t+1) = (2^256 - 1 - t) / (t+1) + 1, with no 257-bit intermediate.
        let t1 = U256([self.0[0], self.0[1], self.0[2], self.0[3]])
            .checked_add(&U256::ONE)
            .unwrap_or(U256::MAX);
        let num = U256::MAX.wrapping_sub(self);
        num.checked_div(&t1)
            .unwrap_or(U256::ZERO)
            .saturating_add(&U256::ONE)
    }
}

impl Ord for U256 {
    fn cmp(&self, other: &Self) -> Ordering {
        for i in (0..4).rev() {
            match self.0[i].cmp(&other.0[i]) {
                Ordering::Equal => continue,
                o => return o,
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for U256 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "U256(0x{})", hex_string(&self.to_be_bytes()))
    }
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(v: u128) -> U256 {
        U256([v as u64, (v >> 64) as u64, 0, 0])
    }
    fn to_u128(x: U256) -> u128 {
        assert_eq!(x.0[2], 0);
        assert_eq!(x.0[3], 0);
        u128::from(x.0[0]) | (u128::from(x.0[1]) << 64)
    }

    #[test]
    fn byte_round_trip_is_big_endian() {
        let mut b = [0u8; 32];
        b[31] = 1;
        assert_eq!(U256::from_be_bytes(&b), U256::ONE);
        b[0] = 0x80;
        let x = U256::from_be_bytes(&b);
        assert_eq!(x.0[3], 0x8000_0000_0000_0000);
        assert_eq!(x.to_be_bytes(), b);
        // Byte-wise order of hashes equals numeric order.
        let small = Hash([0x00; 32]);
        let mut big = [0u8; 32];
        big[0] = 1;
        assert!(small < Hash(big));
        assert!(U256::from_hash(&small) < U256::from_hash(&Hash(big)));
    }

    #[test]
    fn arithmetic_matches_u128_on_small_values() {
        let cases: [(u128, u128); 6] = [
            (0, 1),
            (1, 1),
            (12345, 678),
            (u64::MAX as u128, 3),
            ((1u128 << 100) + 17, (1u128 << 40) + 5),
            (u128::MAX / 3, 7),
        ];
        for (a, b) in cases {
            assert_eq!(to_u128(u(a).checked_div(&u(b)).unwrap()), a / b, "{a}/{b}");
            assert_eq!(
                u(a).checked_add(&u(b)).map(to_u128),
                a.checked_add(b),
                "{a}+{b}"
            );
            if a >= b {
                assert_eq!(to_u128(u(a).checked_sub(&u(b)).unwrap()), a - b);
            }
            let (q, r) = u(a).div_rem_u64(b as u64 | 1).unwrap();
            assert_eq!(to_u128(q), a / (b as u64 | 1) as u128);
            assert_eq!(r as u128, a % (b as u64 | 1) as u128);
            assert_eq!(
                to_u128(u(a >> 64).mul_div_u64(1000, b as u64 | 1).unwrap()),
                (a >> 64) * 1000 / (b as u64 | 1) as u128
            );
        }
        assert!(U256::ONE.checked_div(&U256::ZERO).is_none());
        assert!(U256::ONE.div_rem_u64(0).is_none());
        assert!(U256::ONE.mul_div_u64(1, 0).is_none());
        assert_eq!(U256::ONE.checked_sub(&u(2)), None);
    }

    #[test]
    fn overflow_saturates_or_is_reported() {
        assert_eq!(U256::MAX.checked_add(&U256::ONE), None);
        assert_eq!(U256::MAX.saturating_add(&U256::ONE), U256::MAX);
        assert_eq!(U256::MAX.mul_div_u64(4, 1), Some(U256::MAX));
        // The 320-bit intermediate keeps MAX * 4 / 4 exact.
        assert_eq!(U256::MAX.mul_div_u64(4, 4), Some(U256::MAX));
        let half = U256([u64::MAX, u64::MAX, u64::MAX, u64::MAX >> 1]);
        assert_eq!(
            half.mul_div_u64(2, 1),
            Some(U256([u64::MAX - 1, u64::MAX, u64::MAX, u64::MAX]))
        );
        assert_eq!(U256::MAX.checked_div(&U256::MAX), Some(U256::ONE));
        assert_eq!(U256::MAX.checked_div(&half), Some(u(2)));
    }

    #[test]
    fn work_is_two_to_the_256_over_target_plus_one() {
        assert_eq!(U256::MAX.work(), U256::ONE);
        // target = 2^255 - 1  => work = 2.
        let t = U256([u64::MAX, u64::MAX, u64::MAX, u64::MAX >> 1]);
        assert_eq!(t.work(), u(2));
        // target = 2^240 - 1 => work = 2^16.
        let t = U256([u64::MAX, u64::MAX, u64::MAX, (1 << 48) - 1]);
        assert_eq!(t.work(), u(1 << 16));
        // target = 0 => work = 2^256, saturates at MAX.
        assert_eq!(U256::ZERO.work(), U256::MAX);
        // Smaller targets mean more work.
        assert!(u(1000).work() > u(1001).work());
    }
}
