//! The bootstrap: reproducible from its seed, and sane (no scipy equality is expected: scipy's
//! resamples come from another generator).

use super::pseudo_sample;
use crate::stats::resample::IndexStream;
use crate::stats::{
    bootstrap_mean, bootstrap_median, summary, BootstrapConfig, Statistic, StatsError, DEFAULT_SEED,
};

const ODD: [f64; 9] = [0.81, 0.77, 0.92, 0.64, 0.88, 0.71, 0.95, 0.59, 0.83];

fn config(resamples: usize, seed: u64) -> BootstrapConfig {
    BootstrapConfig {
        resamples,
        level: 0.95,
        seed,
    }
}

#[test]
fn the_default_is_ten_thousand_resamples_at_95_percent() {
    let default = BootstrapConfig::default();
    assert_eq!(
        (default.resamples, default.level, default.seed),
        (10_000, 0.95, DEFAULT_SEED)
    );
}

#[test]
fn the_same_seed_gives_the_same_interval_and_another_seed_another() {
    let first = bootstrap_median(&ODD, &BootstrapConfig::default()).unwrap();
    let again = bootstrap_median(&ODD, &BootstrapConfig::default()).unwrap();
    assert_eq!(first, again);
    let other = bootstrap_mean(&ODD, &config(10_000, DEFAULT_SEED + 1)).unwrap();
    let mean = bootstrap_mean(&ODD, &BootstrapConfig::default()).unwrap();
    assert_ne!((other.lower, other.upper), (mean.lower, mean.upper));
}

/// Pins the intervals for the default configuration: these bits must be the same on every
/// platform and only change with the ChaCha8 stream or the resampling order (which would be a
/// change of the documented method). The values were produced by this code, not by scipy.
#[test]
fn default_intervals_are_pinned() {
    let median = bootstrap_median(&ODD, &BootstrapConfig::default()).unwrap();
    let mean = bootstrap_mean(&ODD, &BootstrapConfig::default()).unwrap();
    assert_eq!(
        (median.estimate, median.lower, median.upper),
        (0.81, PINNED_MEDIAN.0, PINNED_MEDIAN.1)
    );
    assert_eq!((mean.lower, mean.upper), PINNED_MEAN);
}

const PINNED_MEDIAN: (f64, f64) = (0.64, 0.92);
const PINNED_MEAN: (f64, f64) = (0.7122222222222222, 0.8622222222222222);

#[test]
fn the_index_stream_is_pinned() {
    let mut stream = IndexStream::new(DEFAULT_SEED);
    let indices: Vec<usize> = (0..12).map(|_| stream.next_index(10)).collect();
    assert_eq!(indices, PINNED_INDICES);
}

const PINNED_INDICES: [usize; 12] = [1, 7, 3, 1, 5, 6, 9, 0, 7, 5, 9, 6];

#[test]
fn the_index_stream_is_uniform() {
    let mut stream = IndexStream::new(1);
    let mut counts = [0u32; 7];
    for _ in 0..70_000 {
        counts[stream.next_index(7)] += 1;
    }
    // Each count is binomial(70000, 1/7): mean 10000, sd about 93; 6 sd is far beyond chance.
    for count in counts {
        assert!(count.abs_diff(10_000) < 560, "{counts:?}");
    }
    assert!((0..100).all(|_| stream.next_index(1) == 0));
}

#[test]
fn the_median_interval_contains_the_sample_median() {
    for seed in 0..100 {
        let sample = pseudo_sample(seed, 3 + seed as usize % 20);
        let interval = bootstrap_median(&sample, &config(1_000, seed)).unwrap();
        let median = summary(&sample).unwrap().median;
        assert_eq!(interval.estimate, median);
        assert!(
            interval.lower <= median && median <= interval.upper,
            "{interval:?}"
        );
    }
}

#[test]
fn the_mean_interval_contains_the_sample_mean() {
    for seed in 0..100 {
        let sample = pseudo_sample(seed, 3 + seed as usize % 20);
        let interval = bootstrap_mean(&sample, &config(1_000, seed)).unwrap();
        let mean = summary(&sample).unwrap().mean;
        assert_eq!(interval.estimate, mean);
        assert!(
            interval.lower <= mean && mean <= interval.upper,
            "{interval:?}"
        );
    }
}

#[test]
fn intervals_narrow_as_the_sample_grows() {
    let width = |n: usize, statistic: Statistic| {
        let sample = pseudo_sample(42, n);
        let interval = match statistic {
            Statistic::Mean => bootstrap_mean(&sample, &config(1_000, 7)),
            Statistic::Median => bootstrap_median(&sample, &config(1_000, 7)),
        }
        .unwrap();
        interval.upper - interval.lower
    };
    for statistic in [Statistic::Mean, Statistic::Median] {
        let (small, medium, large) = (
            width(10, statistic),
            width(40, statistic),
            width(160, statistic),
        );
        assert!(
            small > medium && medium > large,
            "{statistic:?}: {small} {medium} {large}"
        );
    }
}

#[test]
fn the_mean_interval_is_close_to_the_normal_one_for_a_large_sample() {
    // For 400 values the percentile interval of the mean should be near mean ± 1.96 SEM.
    let sample = pseudo_sample(3, 400);
    let s = summary(&sample).unwrap();
    let interval = bootstrap_mean(&sample, &config(2_000, DEFAULT_SEED)).unwrap();
    let normal_width = 2.0 * 1.959963984540054 * s.sem.unwrap();
    let ratio = (interval.upper - interval.lower) / normal_width;
    assert!((0.9..1.1).contains(&ratio), "ratio {ratio}");
}

#[test]
fn a_higher_level_gives_a_wider_interval() {
    let narrow = BootstrapConfig {
        level: 0.5,
        ..BootstrapConfig::default()
    };
    let wide = bootstrap_mean(&ODD, &BootstrapConfig::default()).unwrap();
    let narrow = bootstrap_mean(&ODD, &narrow).unwrap();
    assert!(wide.lower < narrow.lower && narrow.upper < wide.upper);
}

#[test]
fn a_single_value_has_a_zero_width_interval() {
    let interval = bootstrap_median(&[0.7], &BootstrapConfig::default()).unwrap();
    assert_eq!(
        (interval.estimate, interval.lower, interval.upper),
        (0.7, 0.7, 0.7)
    );
}

#[test]
fn bad_samples_and_configurations_are_refused() {
    let default = BootstrapConfig::default();
    assert_eq!(bootstrap_mean(&[], &default), Err(StatsError::Empty));
    assert_eq!(
        bootstrap_median(&[f64::NAN], &default),
        Err(StatsError::NotFinite)
    );
    assert_eq!(
        bootstrap_mean(&ODD, &config(0, 1)),
        Err(StatsError::NoResamples)
    );
    for level in [0.0, 1.0, f64::NAN, -0.5] {
        let config = BootstrapConfig { level, ..default };
        assert!(matches!(
            bootstrap_mean(&ODD, &config),
            Err(StatsError::InvalidLevel { .. })
        ));
    }
}

#[test]
fn the_footnote_names_level_resamples_and_seed() {
    let interval = bootstrap_median(
        &ODD,
        &BootstrapConfig {
            level: 0.9,
            ..BootstrapConfig::default()
        },
    )
    .unwrap();
    assert_eq!(
        interval.footnote(),
        "90% CI of the median: percentile bootstrap, 10000 resamples, seed 20240917 (ChaCha8)"
    );
}
