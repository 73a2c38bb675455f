//! The reference distributions the rank tests take their p-values from (statrs).

use statrs::distribution::{ChiSquared, ContinuousCDF};

/// `P(|Z| >= |z|)` for a standard normal `Z`.
///
/// Computed as `P(χ²(1) >= z²)`, the same probability: statrs' regularized incomplete gamma
/// function agrees with scipy to about 1e-15, while its `erfc` is off by up to about 1e-10.
pub(crate) fn normal_two_sided_p(z: f64) -> f64 {
    chi_square_sf(z * z, 1).min(1.0)
}

/// `P(X >= x)` for `X` chi-square with `df` degrees of freedom (`df >= 1`); 1 for `x <= 0`.
pub(crate) fn chi_square_sf(x: f64, df: usize) -> f64 {
    ChiSquared::new(df as f64)
        .expect("one or more degrees of freedom make a valid chi-square distribution")
        .sf(x)
}
