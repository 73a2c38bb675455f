//! Statistics for the study's tables: descriptive summaries, confidence intervals and rank tests.
//!
//! Pure and deterministic: data in, numbers out, no I/O, and the bootstrap seeded. Every result
//! carries (or is documented with) the [`Method`] that made it, so a table can say in a footnote
//! which test and conventions it used. Reference values in the tests come from numpy, scipy and
//! statsmodels (`tests/reference.py`).

mod bootstrap;
mod distributions;
mod error;
mod kruskal_wallis;
mod mann_whitney;
mod method;
mod quantile;
mod ranks;
mod resample;
mod summary;
mod u_distribution;
mod wilson;

#[cfg(test)]
mod tests;

pub use bootstrap::{
    bootstrap_mean, bootstrap_median, BootstrapConfig, BootstrapInterval, Statistic, DEFAULT_SEED,
};
pub use error::StatsError;
pub use kruskal_wallis::{kruskal_wallis, KruskalWallis};
pub use mann_whitney::{mann_whitney_u, mann_whitney_u_asymptotic, MannWhitney, EXACT_MAX_TOTAL};
pub use method::Method;
pub use quantile::quantile;
pub use summary::{summary, Summary};
pub use wilson::{wilson, wilson_with_z, ProportionInterval, Z_95};
