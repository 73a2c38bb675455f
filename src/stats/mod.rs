//! Statistics for the study's tables: descriptive summaries, confidence intervals and rank tests.
//!
//! Pure and deterministic: data in, numbers out, no I/O, and the bootstrap seeded. Every result
//! is documented with the method that made it, so a table can say in a footnote
//! which test and conventions it used. Reference values in the tests come from numpy, scipy and
//! statsmodels (`tests/reference.py`).

mod bootstrap;
mod error;
mod quantile;
mod resample;
mod summary;
mod wilson;

#[cfg(test)]
mod tests;

pub use bootstrap::{
    bootstrap_mean, bootstrap_median, BootstrapConfig, BootstrapInterval, Statistic, DEFAULT_SEED,
};
pub use error::StatsError;
pub use quantile::quantile;
pub use summary::{summary, Summary};
pub use wilson::{wilson, wilson_with_z, ProportionInterval, Z_95};
