//! `mann_whitney_u` against `scipy.stats.mannwhitneyu`, with z and r counted pair by pair.

use super::assert_close;
use crate::stats::{mann_whitney_u, mann_whitney_u_asymptotic, Method, StatsError};

/// One reference case: the samples, then from `reference.py`:
/// `scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method=...,
/// use_continuity=True)` for U and both p-values (`exact` is `None` where there are ties), and z
/// and r computed by numpy from pairwise comparisons and tie counts.
struct Case {
    x: &'static [f64],
    y: &'static [f64],
    u: f64,
    exact: Option<f64>,
    asymptotic: f64,
    z: f64,
    r: f64,
}

const NO_TIES: Case = Case {
    x: &[0.81, 0.77, 0.92, 0.64, 0.88],
    y: &[0.59, 0.71, 0.62, 0.55, 0.69, 0.74, 0.60],
    u: 32.0,
    exact: Some(0.01767676767676768),
    asymptotic: 0.022990394092464894,
    z: 2.2735942402352203,
    r: -0.8285714285714286,
};

const SEPARATED: Case = Case {
    x: &[1.0, 2.0, 3.0],
    y: &[4.0, 5.0, 6.0, 7.0],
    u: 0.0,
    exact: Some(0.05714285714285714),
    asymptotic: 0.05182992721790968,
    z: -1.9445436482630056,
    r: 1.0,
};

const SINGLETONS: Case = Case {
    x: &[1.0],
    y: &[2.0],
    u: 0.0,
    exact: Some(1.0),
    asymptotic: 1.0,
    z: 0.0,
    r: 1.0,
};

const TEN_EACH: Case = Case {
    x: &[0.62, 0.71, 0.55, 0.80, 0.67, 0.74, 0.59, 0.77, 0.69, 0.73],
    y: &[0.66, 0.85, 0.79, 0.90, 0.72, 0.88, 0.83, 0.64, 0.93, 0.81],
    u: 19.0,
    exact: Some(0.01854337612851545),
    asymptotic: 0.0211339281291611,
    z: -2.305583285356286,
    r: 0.62,
};

/// Ties within and between the groups, unequal sizes (7 and 10).
const TIES: Case = Case {
    x: &[1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 7.0],
    y: &[2.0, 3.0, 3.0, 4.0, 6.0, 8.0, 8.0, 9.0, 10.0, 10.0],
    u: 16.0,
    exact: None,
    asymptotic: 0.06910871071586719,
    z: -1.8177084162274582,
    r: 0.5428571428571428,
};

/// Two groups of 20 distinct values (`reference.py` prints how they were drawn).
const TWENTY: Case = Case {
    x: &[
        4.0, 0.0, 28.0, 20.0, 30.0, 10.0, 12.0, 32.0, 19.0, 9.0, 14.0, 22.0, 27.0, 38.0, 3.0, 24.0,
        39.0, 26.0, 13.0, 17.0,
    ],
    y: &[
        18.5, 36.5, 35.0, 37.0, 8.0, 7.0, 1.0, 33.5, 15.5, 29.0, 6.5, 16.0, 23.0, 25.0, 5.0, 2.0,
        31.0, 34.0, 21.5, 11.0,
    ],
    u: 197.0,
    exact: Some(0.9466954688892107),
    asymptotic: 0.9460839766250224,
    z: -0.06762522260005742,
    r: 0.015,
};

const CASES: [Case; 6] = [NO_TIES, SEPARATED, SINGLETONS, TEN_EACH, TIES, TWENTY];

#[test]
fn mann_whitney_matches_scipy_exact_without_ties_and_asymptotic_with() {
    for case in &CASES {
        let test = mann_whitney_u(case.x, case.y).unwrap();
        assert_eq!((test.n1, test.n2), (case.x.len(), case.y.len()));
        assert_close(test.u, case.u, 1e-15);
        assert_close(test.z, case.z, 1e-13);
        assert_close(test.rank_biserial, case.r, 1e-14);
        match case.exact {
            Some(exact) => {
                assert_eq!(test.method, Method::MannWhitneyExact, "{:?}", case.x);
                assert_close(test.p, exact, 1e-13);
            }
            None => {
                assert_eq!(test.method, Method::MannWhitneyNormal, "{:?}", case.x);
                assert_close(test.p, case.asymptotic, 1e-13);
            }
        }
    }
}

#[test]
fn mann_whitney_asymptotic_matches_scipy_with_continuity_correction() {
    for case in &CASES {
        let test = mann_whitney_u_asymptotic(case.x, case.y).unwrap();
        assert_eq!(test.method, Method::MannWhitneyNormal);
        assert_close(test.u, case.u, 1e-15);
        assert_close(test.p, case.asymptotic, 1e-13);
    }
}

#[test]
fn swapping_the_samples_mirrors_u_z_and_r_and_keeps_p() {
    for case in &CASES {
        let forward = mann_whitney_u(case.x, case.y).unwrap();
        let back = mann_whitney_u(case.y, case.x).unwrap();
        assert_eq!(back.u, (case.x.len() * case.y.len()) as f64 - forward.u);
        assert_eq!(back.z, -forward.z);
        assert_eq!(back.rank_biserial, -forward.rank_biserial);
        assert_close(back.p, forward.p, 1e-15);
    }
}

#[test]
fn larger_samples_without_ties_use_the_normal_approximation() {
    let x: Vec<f64> = (0..60).map(|i| (2 * i) as f64).collect();
    let y: Vec<f64> = (0..41).map(|i| (2 * i + 1) as f64).collect();
    assert_eq!(
        mann_whitney_u(&x, &y).unwrap().method,
        Method::MannWhitneyNormal
    );
    assert_eq!(
        mann_whitney_u(&x, &y[..40]).unwrap().method,
        Method::MannWhitneyExact
    );
}

#[test]
fn p_values_and_effect_sizes_stay_in_range() {
    for seed in 0..100 {
        let x = super::pseudo_sample(seed, 1 + seed as usize % 9);
        // Rounded to tenths so that some samples tie and some do not.
        let y: Vec<f64> = super::pseudo_sample(seed + 1000, 1 + seed as usize % 7)
            .iter()
            .map(|v| (v * 10.0).round() / 10.0)
            .collect();
        let test = mann_whitney_u(&x, &y).unwrap();
        assert!(test.p > 0.0 && test.p <= 1.0, "{test:?}");
        assert!((-1.0..=1.0).contains(&test.rank_biserial), "{test:?}");
    }
}

#[test]
fn mann_whitney_refuses_empty_non_finite_and_constant_data() {
    assert_eq!(mann_whitney_u(&[], &[1.0]), Err(StatsError::Empty));
    assert_eq!(mann_whitney_u(&[1.0], &[]), Err(StatsError::Empty));
    assert_eq!(
        mann_whitney_u(&[1.0, f64::NAN], &[2.0]),
        Err(StatsError::NotFinite)
    );
    assert_eq!(
        mann_whitney_u(&[0.5, 0.5], &[0.5, 0.5, 0.5]),
        Err(StatsError::AllTied)
    );
}
