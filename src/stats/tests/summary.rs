//! `summary` and `quantile` against numpy and scipy.

use super::assert_close;
use crate::stats::{quantile, summary, StatsError};

const ODD: [f64; 9] = [0.81, 0.77, 0.92, 0.64, 0.88, 0.71, 0.95, 0.59, 0.83];
const EVEN_TIES: [f64; 8] = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];

#[test]
fn summary_of_an_odd_sample_matches_numpy_and_scipy() {
    let s = summary(&ODD).unwrap();
    assert_eq!(s.n, 9);
    // np.mean(ODD), np.std(ODD, ddof=1), scipy.stats.sem(ODD)
    assert_close(s.mean, 0.7888888888888889, 1e-15);
    assert_close(s.sd.unwrap(), 0.12343464307523684, 1e-14);
    assert_close(s.sem.unwrap(), 0.04114488102507895, 1e-14);
    // np.percentile(ODD, [0, 25, 50, 75, 100]) (method="linear", the default)
    assert_eq!(
        [s.min, s.q1, s.median, s.q3, s.max],
        [0.59, 0.71, 0.81, 0.88, 0.95]
    );
    assert_close(s.iqr(), 0.88 - 0.71, 1e-15);
}

#[test]
fn summary_with_ties_and_an_even_count_interpolates_like_numpy() {
    let s = summary(&EVEN_TIES).unwrap();
    // np.mean, np.std(ddof=1), scipy.stats.sem of EVEN_TIES
    assert_close(s.mean, 3.875, 1e-15);
    assert_close(s.sd.unwrap(), 2.748376143938713, 1e-14);
    assert_close(s.sem.unwrap(), 0.9716977043151993, 1e-14);
    // np.percentile(EVEN_TIES, [0, 25, 50, 75, 100])
    assert_eq!(
        [s.min, s.q1, s.median, s.q3, s.max],
        [1.0, 1.75, 3.5, 5.25, 9.0]
    );
}

#[test]
fn quantile_between_order_statistics_matches_numpy_percentile() {
    // np.percentile(ODD, [2.5, 97.5, 10, 90]) and np.percentile(EVEN_TIES, [...])
    for (sample, expected) in [
        (&ODD[..], [0.6, 0.944, 0.63, 0.926]),
        (
            &EVEN_TIES[..],
            [1.0, 8.475000000000001, 1.0, 6.8999999999999995],
        ),
        (&[1.0, 2.0][..], [1.025, 1.975, 1.1, 1.9]),
    ] {
        for (p, want) in [0.025, 0.975, 0.10, 0.90].into_iter().zip(expected) {
            assert_close(quantile(sample, p).unwrap(), want, 1e-14);
        }
    }
}

#[test]
fn summary_of_two_values() {
    let s = summary(&[2.0, 1.0]).unwrap();
    // np.std([1, 2], ddof=1) is 0.7071067811865476, 1/sqrt(2); scipy.stats.sem([1, 2]) and
    // np.percentile([1, 2], [25, 50, 75]).
    assert_close(s.sd.unwrap(), std::f64::consts::FRAC_1_SQRT_2, 1e-15);
    assert_close(s.sem.unwrap(), 0.5, 1e-15);
    assert_eq!([s.q1, s.median, s.q3], [1.25, 1.5, 1.75]);
}

#[test]
fn summary_of_one_value_has_no_spread() {
    // scipy.stats.sem([0.5]) is nan: a single value says nothing about the spread.
    let s = summary(&[0.5]).unwrap();
    assert_eq!((s.n, s.mean, s.sd, s.sem), (1, 0.5, None, None));
    assert_eq!([s.min, s.q1, s.median, s.q3, s.max], [0.5; 5]);
    assert_eq!(s.iqr(), 0.0);
}

#[test]
fn empty_and_non_finite_samples_are_refused() {
    assert_eq!(summary(&[]), Err(StatsError::Empty));
    assert_eq!(summary(&[1.0, f64::NAN]), Err(StatsError::NotFinite));
    assert_eq!(summary(&[f64::INFINITY]), Err(StatsError::NotFinite));
    assert_eq!(quantile(&[], 0.5), Err(StatsError::Empty));
}

#[test]
fn quartiles_are_ordered_and_within_the_range() {
    for seed in 0..200 {
        let sample = super::pseudo_sample(seed, 1 + seed as usize % 17);
        let s = summary(&sample).unwrap();
        assert!(s.min <= s.q1 && s.q1 <= s.median && s.median <= s.q3 && s.q3 <= s.max);
        assert!(s.min <= s.mean && s.mean <= s.max);
    }
}
