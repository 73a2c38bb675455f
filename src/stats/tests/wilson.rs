//! `wilson` against statsmodels' `proportion_confint(method="wilson")`.

use super::assert_close;
use crate::stats::{wilson, wilson_with_z, StatsError, Z_95};

#[test]
fn z_95_is_the_normal_quantile() {
    // scipy.stats.norm.ppf(0.975)
    assert_eq!(Z_95, 1.959963984540054);
}

#[test]
fn wilson_matches_statsmodels() {
    // statsmodels.stats.proportion.proportion_confint(k, n, alpha=0.05, method="wilson")
    for (k, n, lower, upper) in [
        (3, 10, 0.10779126740630104, 0.6032218525388546),
        (7, 23, 0.1560402445321402, 0.5086575626875921),
        (50, 100, 0.4038315303659956, 0.5961684696340044),
        (1, 1000, 0.00017654637062607765, 0.005642558597957937),
        (1, 1, 0.2065493143772374, 1.0),
        (0, 1, 0.0, 0.7934506856227627),
        (0, 10, 0.0, 0.27753279986288926),
        (10, 10, 0.7224672001371106, 1.0),
    ] {
        let interval = wilson(k, n).unwrap();
        assert_close(interval.lower, lower, 1e-13);
        assert_close(interval.upper, upper, 1e-13);
        assert_eq!(interval.estimate, k as f64 / n as f64);
    }
}

#[test]
fn wilson_is_exactly_zero_or_one_at_the_ends() {
    for n in 1..=200 {
        assert_eq!(wilson(0, n).unwrap().lower, 0.0);
        assert_eq!(wilson(n, n).unwrap().upper, 1.0);
    }
}

#[test]
fn wilson_bounds_lie_in_the_unit_interval_around_the_estimate() {
    for n in 1..=60 {
        for k in 0..=n {
            let i = wilson(k, n).unwrap();
            assert!(0.0 <= i.lower && i.lower <= i.estimate, "{k}/{n}: {i:?}");
            assert!(i.estimate <= i.upper && i.upper <= 1.0, "{k}/{n}: {i:?}");
            // Symmetry: k of n and n - k of n mirror each other.
            let mirror = wilson(n - k, n).unwrap();
            assert_close(i.lower, 1.0 - mirror.upper, 1e-12);
        }
    }
}

#[test]
fn wider_z_gives_a_wider_interval() {
    let narrow = wilson_with_z(3, 10, 1.0).unwrap();
    let wide = wilson(3, 10).unwrap();
    assert!(wide.lower < narrow.lower && narrow.upper < wide.upper);
}

#[test]
fn wilson_refuses_no_trials_and_impossible_counts() {
    assert_eq!(wilson(0, 0), Err(StatsError::Empty));
    assert_eq!(
        wilson(4, 3),
        Err(StatsError::CountExceedsTotal { k: 4, n: 3 })
    );
    assert!(matches!(
        wilson_with_z(1, 2, 0.0),
        Err(StatsError::InvalidCriticalValue { .. })
    ));
    assert!(wilson_with_z(1, 2, f64::NAN).is_err());
}
