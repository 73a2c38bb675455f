//! The Kruskal-Wallis H test: do k independent samples come from the same distribution?

use serde::Serialize;

use super::distributions::chi_square_sf;
use super::error::{check_sample, StatsError};
use super::method::Method;
use super::ranks::midranks;

/// The outcome of a Kruskal-Wallis H test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KruskalWallis {
    /// The tie-corrected statistic (what `scipy.stats.kruskal` returns):
    /// `H = (12 / (N (N + 1)) Σ R_i² / n_i - 3 (N + 1)) / (1 - Σ(t³ - t) / (N³ - N))`, with `R_i`
    /// the midrank sum of group `i` in the pooled sample.
    pub h: f64,
    /// Degrees of freedom, `k - 1`.
    pub df: usize,
    /// `P(χ²(k - 1) >= H)`, the usual large-sample approximation.
    pub p: f64,
    /// Observations in all groups together.
    pub n: usize,
    /// Groups, `k`.
    pub groups: usize,
    /// The effect size this module reports: `ε² = H / (N - 1)` (Kelley 1935, as given for
    /// Kruskal-Wallis by Tomczak and Tomczak 2014), in `[0, 1]`.
    pub epsilon_squared: f64,
    /// `η²_H = (H - k + 1) / (N - k)` (Cohen 2008), for readers who want it; may be negative for
    /// small H, `None` when every group has a single observation (`N = k`).
    pub eta_squared: Option<f64>,
    /// [`Method::KruskalWallis`].
    pub method: Method,
}

/// Kruskal-Wallis H test of `groups` with tie correction, p from the chi-square distribution.
///
/// `Err` for fewer than two groups, an empty group, a NaN or infinite value, or every value
/// equal (H is 0/0 then).
pub fn kruskal_wallis<S: AsRef<[f64]>>(groups: &[S]) -> Result<KruskalWallis, StatsError> {
    if groups.len() < 2 {
        return Err(StatsError::TooFewGroups {
            groups: groups.len(),
        });
    }
    for group in groups {
        check_sample(group.as_ref())?;
    }
    let pooled: Vec<f64> = groups.iter().flat_map(|g| g.as_ref()).copied().collect();
    let ranks = midranks(&pooled);
    if ranks.distinct == 1 {
        return Err(StatsError::AllTied);
    }
    let n = pooled.len() as f64;
    let mut start = 0;
    let mut between = 0.0;
    for group in groups {
        let size = group.as_ref().len();
        let rank_sum: f64 = ranks.ranks[start..start + size].iter().sum();
        between += rank_sum * rank_sum / size as f64;
        start += size;
    }
    let uncorrected = 12.0 / (n * (n + 1.0)) * between - 3.0 * (n + 1.0);
    let h = uncorrected / (1.0 - ranks.tie_term / (n * n * n - n));
    let k = groups.len();
    Ok(KruskalWallis {
        h,
        df: k - 1,
        p: chi_square_sf(h, k - 1),
        n: pooled.len(),
        groups: k,
        epsilon_squared: h / (n - 1.0),
        eta_squared: (pooled.len() > k).then(|| (h - k as f64 + 1.0) / (n - k as f64)),
        method: Method::KruskalWallis,
    })
}
