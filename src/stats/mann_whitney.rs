//! The two-sided Mann-Whitney U test (Wilcoxon rank-sum) of two independent samples.

use serde::Serialize;

use super::distributions::normal_two_sided_p;
use super::error::{check_sample, StatsError};
use super::method::Method;
use super::ranks::midranks;
use super::u_distribution::upper_tail;

/// The largest `n1 + n2` [`mann_whitney_u`] computes an exact p-value for (when there are no
/// ties). The exact distribution's counts are exact integers up to this size.
pub const EXACT_MAX_TOTAL: usize = 100;

/// The outcome of a two-sided Mann-Whitney U test of `x` against `y`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MannWhitney {
    /// `U` of the first sample: `R1 - n1 (n1 + 1) / 2`, `R1` the sum of its midranks in the
    /// pooled sample; equivalently the pairs with `x > y`, plus half the pairs with `x = y`.
    /// This is the statistic `scipy.stats.mannwhitneyu(x, y)` returns.
    pub u: f64,
    pub n1: usize,
    pub n2: usize,
    /// `U` standardised with the tie-corrected variance and a continuity correction of 0.5
    /// towards the mean: `sign(U - μ) max(|U - μ| - 0.5, 0) / σ`, `μ = n1 n2 / 2`,
    /// `σ² = n1 n2 / 12 ((N + 1) - Σ(t³ - t) / (N (N - 1)))`. Positive when `x` tends to be larger.
    /// Given whichever method the p-value comes from.
    pub z: f64,
    /// Two-sided p-value, from the method in `method`.
    pub p: f64,
    /// Rank-biserial correlation `r = 1 - 2 U / (n1 n2)`, in `[-1, 1]`: equal to
    /// `P(Y > X) - P(X > Y)` over all pairs. Positive when the *second* sample `y` tends to be
    /// larger, negative when `x` does, 0 for no tendency.
    pub rank_biserial: f64,
    /// [`Method::MannWhitneyExact`] or [`Method::MannWhitneyNormal`].
    pub method: Method,
}

/// Two-sided Mann-Whitney U test, exact where it can be, the normal approximation otherwise.
///
/// Without ties in the pooled sample and with `n1 + n2 <= EXACT_MAX_TOTAL`, the p-value is exact:
/// `min(1, 2 P(U >= max(U1, U2)))` under the null distribution of U, enumerated (as
/// `scipy.stats.mannwhitneyu(x, y, method="exact")`). With ties, or larger samples, it is the
/// normal approximation of [`mann_whitney_u_asymptotic`]. `Err` for an empty sample, a NaN or
/// infinite value, or every value equal.
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> Result<MannWhitney, StatsError> {
    let test = Pooled::new(x, y)?;
    if test.tie_term == 0.0 && x.len() + y.len() <= EXACT_MAX_TOTAL {
        let n1n2 = x.len() * y.len();
        // Without ties U is a whole number.
        let u1 = test.u as usize;
        let larger = u1.max(n1n2 - u1);
        let p = (2.0 * upper_tail(x.len(), y.len(), larger)).min(1.0);
        Ok(test.result(p, Method::MannWhitneyExact))
    } else {
        Ok(test.normal())
    }
}

/// Two-sided Mann-Whitney U test by the normal approximation, whatever the sample sizes.
///
/// `p = 2 (1 - Φ(|z|))` with the tie-corrected, continuity-corrected `z` of [`MannWhitney::z`]
/// (as `scipy.stats.mannwhitneyu(x, y, method="asymptotic", use_continuity=True)`).
pub fn mann_whitney_u_asymptotic(x: &[f64], y: &[f64]) -> Result<MannWhitney, StatsError> {
    Ok(Pooled::new(x, y)?.normal())
}

/// U and its normal approximation, before a p-value is chosen.
struct Pooled {
    u: f64,
    n1: usize,
    n2: usize,
    z: f64,
    tie_term: f64,
}

impl Pooled {
    fn new(x: &[f64], y: &[f64]) -> Result<Self, StatsError> {
        check_sample(x)?;
        check_sample(y)?;
        let pooled: Vec<f64> = x.iter().chain(y).copied().collect();
        let ranks = midranks(&pooled);
        let (n1, n2) = (x.len() as f64, y.len() as f64);
        let n = n1 + n2;
        if ranks.distinct == 1 {
            return Err(StatsError::AllTied);
        }
        let rank_sum: f64 = ranks.ranks[..x.len()].iter().sum();
        let u = rank_sum - n1 * (n1 + 1.0) / 2.0;
        let mean = n1 * n2 / 2.0;
        let variance = n1 * n2 / 12.0 * ((n + 1.0) - ranks.tie_term / (n * (n - 1.0)));
        let distance = ((u - mean).abs() - 0.5).max(0.0);
        Ok(Pooled {
            u,
            n1: x.len(),
            n2: y.len(),
            z: (u - mean).signum() * distance / variance.sqrt(),
            tie_term: ranks.tie_term,
        })
    }

    fn normal(&self) -> MannWhitney {
        self.result(normal_two_sided_p(self.z), Method::MannWhitneyNormal)
    }

    fn result(&self, p: f64, method: Method) -> MannWhitney {
        let pairs = (self.n1 * self.n2) as f64;
        MannWhitney {
            u: self.u,
            n1: self.n1,
            n2: self.n2,
            z: self.z,
            p,
            // (n1 n2 - 2 U) / (n1 n2) is 1 - 2 U / (n1 n2); its numerator is exact (U is a
            // multiple of 0.5), so swapping the samples negates r to the bit.
            rank_biserial: (pairs - 2.0 * self.u) / pairs,
            method,
        }
    }
}
