//! The Wilson score interval for a proportion: k successes out of n trials.

use serde::Serialize;

use super::error::StatsError;

/// The two-sided 95% critical value of the standard normal, `scipy.stats.norm.ppf(0.975)`.
pub const Z_95: f64 = 1.959963984540054;

/// A proportion with its Wilson score interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProportionInterval {
    pub k: u64,
    pub n: u64,
    /// `k / n`.
    pub estimate: f64,
    pub lower: f64,
    pub upper: f64,
    /// The normal critical value the interval was computed with ([`Z_95`] for 95%).
    pub z: f64,
}

/// The 95% Wilson score interval for `k` successes out of `n` ([`wilson_with_z`] with [`Z_95`]).
pub fn wilson(k: u64, n: u64) -> Result<ProportionInterval, StatsError> {
    wilson_with_z(k, n, Z_95)
}

/// The Wilson score interval for `k` successes out of `n` at critical value `z`.
///
/// With `p = k / n`: centre `(p + z²/2n) / (1 + z²/n)`, half-width
/// `z sqrt(p(1 - p)/n + z²/4n²) / (1 + z²/n)` (Wilson 1927; the same formula as statsmodels'
/// `proportion_confint(method="wilson")`). Both bounds lie in `[0, 1]`; for `k = 0` the lower
/// bound is exactly 0 and for `k = n` the upper bound exactly 1. `n = 0` is `Err(Empty)`: no
/// trials say nothing about the proportion. `k > n` and a `z` that is not positive and finite
/// are `Err` too.
pub fn wilson_with_z(k: u64, n: u64, z: f64) -> Result<ProportionInterval, StatsError> {
    if n == 0 {
        return Err(StatsError::Empty);
    }
    if k > n {
        return Err(StatsError::CountExceedsTotal { k, n });
    }
    if !(z.is_finite() && z > 0.0) {
        return Err(StatsError::InvalidCriticalValue { z });
    }
    let trials = n as f64;
    let p = k as f64 / trials;
    let z2 = z * z;
    let denominator = 1.0 + z2 / trials;
    let centre = (p + z2 / (2.0 * trials)) / denominator;
    let half = z * (p * (1.0 - p) / trials + z2 / (4.0 * trials * trials)).sqrt() / denominator;
    // At k = 0 and k = n the bound is 0 or 1 exactly; rounding would leave a few ulps either side.
    let lower = if k == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let upper = if k == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    Ok(ProportionInterval {
        k,
        n,
        estimate: p,
        lower,
        upper,
        z,
    })
}
