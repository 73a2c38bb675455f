//! Percentile bootstrap confidence intervals for the mean and the median of one sample.

use serde::Serialize;

use super::error::{check_sample, StatsError};
use super::quantile::quantile_sorted;
use super::resample::IndexStream;
use super::summary::mean;

/// The seed [`BootstrapConfig::default`] uses. Any fixed seed gives reproducible intervals; this
/// one is recorded so that a table's footnote can name it.
pub const DEFAULT_SEED: u64 = 20_240_917;

/// How many resamples, at which confidence level, from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BootstrapConfig {
    /// Resamples drawn, each as large as the sample (10,000 by default).
    pub resamples: usize,
    /// Two-sided confidence level, strictly between 0 and 1 (0.95 by default).
    pub level: f64,
    /// Seed of the index stream (ChaCha8; see [`DEFAULT_SEED`]).
    pub seed: u64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        BootstrapConfig {
            resamples: 10_000,
            level: 0.95,
            seed: DEFAULT_SEED,
        }
    }
}

/// The statistic a bootstrap interval is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Statistic {
    Mean,
    /// The type-7 median (the mean of the two middle values for an even count).
    Median,
}

/// A percentile bootstrap interval, with everything needed to reproduce it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BootstrapInterval {
    pub statistic: Statistic,
    /// The statistic of the sample itself.
    pub estimate: f64,
    pub lower: f64,
    pub upper: f64,
    pub config: BootstrapConfig,
}

impl BootstrapInterval {
    /// One line for a table footnote, e.g. "95% CI of the median: percentile bootstrap,
    /// 10000 resamples, seed 20240917 (ChaCha8)".
    pub fn footnote(&self) -> String {
        Self::footnote_for(self.statistic, &self.config)
    }

    /// The footnote of any interval of `statistic` made with `config`.
    pub fn footnote_for(statistic: Statistic, config: &BootstrapConfig) -> String {
        let statistic = match statistic {
            Statistic::Mean => "mean",
            Statistic::Median => "median",
        };
        format!(
            "{}% CI of the {statistic}: percentile bootstrap, {} resamples, seed {} (ChaCha8)",
            percent(config.level),
            config.resamples,
            config.seed
        )
    }
}

/// `level` as a percentage without binary noise: 0.9 gives "90", not "90.00000000000001".
fn percent(level: f64) -> f64 {
    (level * 100.0 * 1e6).round() / 1e6
}

/// Percentile bootstrap interval for the median of `sample`.
///
/// See [`bootstrap_mean`]; the resamples are the same for the same seed and sample.
pub fn bootstrap_median(
    sample: &[f64],
    config: &BootstrapConfig,
) -> Result<BootstrapInterval, StatsError> {
    bootstrap(sample, config, Statistic::Median)
}

/// Percentile bootstrap interval for the mean of `sample`.
///
/// Resample `b` (from 0) takes the next `n` indices of the seed's stream (see
/// [`BootstrapConfig::seed`]), with replacement. The bounds are the `(1 - level) / 2` and
/// `(1 + level) / 2` quantiles of the resampled statistics, interpolated linearly (type 7).
/// Only sums, divisions and sorting are involved, so the interval is bit-identical on every
/// platform. `Err` for an empty sample, a NaN or infinite value, no resamples, or a level
/// outside (0, 1).
pub fn bootstrap_mean(
    sample: &[f64],
    config: &BootstrapConfig,
) -> Result<BootstrapInterval, StatsError> {
    bootstrap(sample, config, Statistic::Mean)
}

fn bootstrap(
    sample: &[f64],
    config: &BootstrapConfig,
    statistic: Statistic,
) -> Result<BootstrapInterval, StatsError> {
    check_sample(sample)?;
    if config.resamples == 0 {
        return Err(StatsError::NoResamples);
    }
    // Written so that NaN fails too.
    if !(config.level > 0.0 && config.level < 1.0) {
        return Err(StatsError::InvalidLevel {
            level: config.level,
        });
    }
    let mut stream = IndexStream::new(config.seed);
    let mut resample = vec![0.0; sample.len()];
    let mut statistics: Vec<f64> = (0..config.resamples)
        .map(|_| {
            for slot in resample.iter_mut() {
                *slot = sample[stream.next_index(sample.len())];
            }
            evaluate(statistic, &mut resample)
        })
        .collect();
    statistics.sort_by(f64::total_cmp);
    let tail = (1.0 - config.level) / 2.0;
    Ok(BootstrapInterval {
        statistic,
        estimate: evaluate(statistic, &mut sample.to_vec()),
        lower: quantile_sorted(&statistics, tail),
        upper: quantile_sorted(&statistics, 1.0 - tail),
        config: *config,
    })
}

/// The statistic of `values`, which it may reorder.
fn evaluate(statistic: Statistic, values: &mut [f64]) -> f64 {
    match statistic {
        Statistic::Mean => mean(values),
        Statistic::Median => {
            values.sort_unstable_by(f64::total_cmp);
            quantile_sorted(values, 0.5)
        }
    }
}
