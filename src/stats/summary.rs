//! Descriptive statistics of one sample: n, mean with its standard error, min, quartiles, max.

use serde::Serialize;

use super::error::{check_sample, StatsError};
use super::quantile::quantile_sorted;

/// The usual description of one sample.
///
/// `sd` is the sample standard deviation (divided by `n - 1`), `sem` is `sd / sqrt(n)`; both are
/// `None` for a single observation. Median and quartiles interpolate linearly between order
/// statistics (R `type = 7`, numpy's default; see [`super::quantile`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    pub sd: Option<f64>,
    pub sem: Option<f64>,
    pub min: f64,
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    pub max: f64,
}

impl Summary {
    /// The interquartile range, `q3 - q1`.
    pub fn iqr(&self) -> f64 {
        self.q3 - self.q1
    }
}

/// The arithmetic mean of non-empty `values`, summed in their order.
pub(crate) fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Summarises `sample`: `Err` if it is empty or holds a NaN or infinite value.
pub fn summary(sample: &[f64]) -> Result<Summary, StatsError> {
    check_sample(sample)?;
    let mut sorted = sample.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let mean = mean(sample);
    // Two passes (mean first, then squared deviations): no cancellation for data far from zero.
    let sd = (n > 1).then(|| {
        let squares: f64 = sorted.iter().map(|v| (v - mean) * (v - mean)).sum();
        (squares / (n - 1) as f64).sqrt()
    });
    Ok(Summary {
        n,
        mean,
        sd,
        sem: sd.map(|sd| sd / (n as f64).sqrt()),
        min: sorted[0],
        q1: quantile_sorted(&sorted, 0.25),
        median: quantile_sorted(&sorted, 0.5),
        q3: quantile_sorted(&sorted, 0.75),
        max: sorted[n - 1],
    })
}
