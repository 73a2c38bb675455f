//! Sample quantiles by linear interpolation between order statistics (Hyndman and Fan's
//! definition 7: R's default `type = 7`, numpy's default `method = "linear"`).

use super::error::{check_sample, StatsError};

/// The `p` quantile of `sample` (`0 <= p <= 1`), interpolated linearly between order statistics.
///
/// With the sample sorted as `x[0] <= ... <= x[n-1]`, `h = (n - 1) p` and `j = floor(h)`, the
/// quantile is `x[j] + (h - j) (x[j+1] - x[j])` (R `type = 7`, numpy `method = "linear"`).
/// `p` outside `[0, 1]` (or NaN) is clamped into it.
pub fn quantile(sample: &[f64], p: f64) -> Result<f64, StatsError> {
    check_sample(sample)?;
    let mut sorted = sample.to_vec();
    sorted.sort_by(f64::total_cmp);
    Ok(quantile_sorted(&sorted, p))
}

/// [`quantile`] of an already sorted, non-empty, finite slice.
pub(crate) fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    debug_assert!(!sorted.is_empty());
    let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
    let h = (sorted.len() - 1) as f64 * p;
    let j = h.floor() as usize;
    let t = h - j as f64;
    match sorted.get(j + 1) {
        Some(&above) if t > 0.0 => lerp(sorted[j], above, t),
        _ => sorted[j],
    }
}

/// `a + t (b - a)`, computed from the nearer end as numpy does, so that the result never leaves
/// `[a, b]` and matches numpy's rounding.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t < 0.5 {
        a + diff * t
    } else {
        b - diff * (1.0 - t)
    }
}
