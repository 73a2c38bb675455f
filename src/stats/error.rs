//! Why a statistic cannot be computed from the data given.

/// Data or parameters a statistic is undefined for. Tables show such a cell as missing, with the
/// reason in a footnote.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum StatsError {
    #[error("the sample is empty")]
    Empty,
    #[error("the sample holds a NaN or infinite value")]
    NotFinite,
    #[error("{k} successes out of {n} trials: a count cannot exceed its total")]
    CountExceedsTotal { k: u64, n: u64 },
    #[error("a rank test needs at least two groups, got {groups}")]
    TooFewGroups { groups: usize },
    #[error("every observation is equal, so a rank test has no variance to work with")]
    AllTied,
    #[error("the confidence level {level} is not strictly between 0 and 1")]
    InvalidLevel { level: f64 },
    #[error("the critical value {z} is not a positive finite number")]
    InvalidCriticalValue { z: f64 },
    #[error("a bootstrap needs at least one resample")]
    NoResamples,
}

/// `Err(NotFinite)` if any value is NaN or infinite, `Err(Empty)` if there is none.
pub(crate) fn check_sample(sample: &[f64]) -> Result<(), StatsError> {
    if sample.is_empty() {
        return Err(StatsError::Empty);
    }
    if sample.iter().any(|v| !v.is_finite()) {
        return Err(StatsError::NotFinite);
    }
    Ok(())
}
