//! Chain quality (Garay, Kiayias, Leonardos): "for any honest party P with chain C, for
//! any ℓ consecutive blocks of C the ratio of honest blocks is at least μ". Reported as
//! the adversary's share of the chain and the worst honest ratio over windows of ℓ.

/// Chain-quality figures of one chain.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChainQuality {
    /// Blocks in the chain (excluding genesis).
    pub blocks: usize,
    /// Blocks mined by the adversary.
    pub adversarial: usize,
    /// `adversarial / blocks`.
    pub adversary_share: f64,
    /// Smallest fraction of honest blocks in any window of `window` consecutive blocks.
    pub min_honest_ratio: f64,
}

/// Computes chain quality from the chain's blocks, oldest first, each marked `true` if
/// the adversary mined it.
pub fn chain_quality(adversarial: &[bool], window: usize) -> ChainQuality {
    let blocks = adversarial.len();
    let bad = adversarial.iter().filter(|b| **b).count();
    let window = window.clamp(1, blocks.max(1));
    let mut min_honest = 1.0f64;
    if blocks > 0 {
        let mut in_window = adversarial[..window].iter().filter(|b| **b).count();
        min_honest = min_honest.min(1.0 - in_window as f64 / window as f64);
        for i in window..blocks {
            in_window += usize::from(adversarial[i]);
            in_window -= usize::from(adversarial[i - window]);
            min_honest = min_honest.min(1.0 - in_window as f64 / window as f64);
        }
    }
    ChainQuality {
        blocks,
        adversarial: bad,
        adversary_share: if blocks == 0 {
            0.0
        } else {
            bad as f64 / blocks as f64
        },
        min_honest_ratio: min_honest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_windows() {
        let c = chain_quality(&[false, true, true, false, false, false], 2);
        assert_eq!(c.blocks, 6);
        assert_eq!(c.adversarial, 2);
        assert!((c.adversary_share - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(c.min_honest_ratio, 0.0);
        let c = chain_quality(&[false, true, false, true], 2);
        assert_eq!(c.min_honest_ratio, 0.5);
        assert_eq!(chain_quality(&[], 3).adversary_share, 0.0);
    }
}
