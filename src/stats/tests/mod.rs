//! Tests of the stats module against reference values computed independently.
//!
//! Every constant below comes from `reference.py` beside this file, run with Python 3.11.7,
//! numpy 2.4.6, scipy 1.17.1 and statsmodels 0.15.0; each test names the call that made it.

mod bootstrap;
mod distributions;
mod kruskal_wallis;
mod mann_whitney;
mod summary;
mod u_distribution;
mod wilson;

/// Asserts `actual` is within `relative` of `expected` (relative to `|expected|`, or absolute
/// when `expected` is 0).
#[track_caller]
fn assert_close(actual: f64, expected: f64, relative: f64) {
    let scale = if expected == 0.0 { 1.0 } else { expected.abs() };
    assert!(
        (actual - expected).abs() <= relative * scale,
        "{actual} is not within {relative} (relative) of {expected}"
    );
}

/// A reproducible sample of `n` values from a small linear congruential generator, for property
/// tests that need many samples without a reference.
fn pseudo_sample(seed: u64, n: usize) -> Vec<f64> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}
