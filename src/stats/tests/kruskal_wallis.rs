//! `kruskal_wallis` against `scipy.stats.kruskal`.

use super::assert_close;
use crate::stats::{kruskal_wallis, mann_whitney_u_asymptotic, Method, StatsError};

/// One reference case: the groups, then `scipy.stats.kruskal(*groups)` for H and p, and
/// `eps2 = H / (N - 1)` and `eta2 = (H - k + 1) / (N - k)` from that H (all from `reference.py`).
struct Case {
    groups: &'static [&'static [f64]],
    h: f64,
    p: f64,
    epsilon_squared: f64,
    eta_squared: Option<f64>,
}

const CASES: [Case; 4] = [
    // Three groups of 5, 4 and 7 with ties (3.0 and 2.5 twice each).
    Case {
        groups: &[
            &[2.9, 3.0, 2.5, 2.6, 3.2],
            &[3.8, 2.7, 4.0, 2.4],
            &[2.8, 3.4, 3.7, 2.2, 2.0, 3.0, 2.5],
        ],
        h: 0.8113147914032821,
        p: 0.6665384872617319,
        epsilon_squared: 0.054087652760218805,
        eta_squared: Some(-0.09143732373820909),
    },
    // Four groups without ties, of 3, 4, 5 and 2.
    Case {
        groups: &[
            &[0.61, 0.72, 0.58],
            &[0.81, 0.77, 0.92, 0.64],
            &[0.33, 0.47, 0.52, 0.40, 0.44],
            &[0.70, 0.68],
        ],
        h: 10.414285714285711,
        p: 0.015353763291231837,
        epsilon_squared: 0.8010989010989008,
        eta_squared: Some(0.7414285714285711),
    },
    // Every group a single observation: eta-squared is 0 / 0.
    Case {
        groups: &[&[1.0], &[2.0], &[3.0]],
        h: 2.0,
        p: 0.36787944117144245,
        epsilon_squared: 1.0,
        eta_squared: None,
    },
    // Two groups.
    Case {
        groups: &[&[0.62, 0.71, 0.55, 0.80], &[0.66, 0.85, 0.79, 0.90, 0.72]],
        h: 2.1599999999999966,
        p: 0.14164469029513294,
        epsilon_squared: 0.2699999999999996,
        eta_squared: Some(0.16571428571428523),
    },
];

#[test]
fn kruskal_wallis_matches_scipy() {
    for case in &CASES {
        let test = kruskal_wallis(case.groups).unwrap();
        assert_close(test.h, case.h, 1e-13);
        assert_close(test.p, case.p, 1e-12);
        assert_close(test.epsilon_squared, case.epsilon_squared, 1e-13);
        match (test.eta_squared, case.eta_squared) {
            (Some(actual), Some(expected)) => assert_close(actual, expected, 1e-12),
            (actual, expected) => assert_eq!(actual, expected),
        }
        assert_eq!(test.df, case.groups.len() - 1);
        assert_eq!(test.groups, case.groups.len());
        assert_eq!(test.n, case.groups.iter().map(|g| g.len()).sum::<usize>());
        assert_eq!(test.method, Method::KruskalWallis);
    }
}

#[test]
fn group_order_does_not_matter() {
    let groups = vec![
        vec![2.9, 3.0, 2.5],
        vec![3.8, 2.7, 4.0, 2.4],
        vec![2.8, 3.0, 2.2],
    ];
    let reversed: Vec<Vec<f64>> = groups.iter().rev().cloned().collect();
    let (a, b) = (
        kruskal_wallis(&groups).unwrap(),
        kruskal_wallis(&reversed).unwrap(),
    );
    assert_close(a.h, b.h, 1e-14);
    assert_close(a.p, b.p, 1e-14);
}

#[test]
fn two_groups_agree_with_the_uncorrected_mann_whitney_z() {
    // For two groups H is the square of Mann-Whitney's z without continuity correction; undo the
    // 0.5 correction (|U - μ| here is 6, well clear of it) to compare.
    let (x, y) = ([1.0, 2.0, 2.0, 5.0], [3.0, 4.0, 6.0, 6.0, 7.0]);
    let h = kruskal_wallis(&[&x[..], &y[..]]).unwrap().h;
    let mw = mann_whitney_u_asymptotic(&x, &y).unwrap();
    let distance = (mw.u - 10.0).abs();
    let z = mw.z.abs() * distance / (distance - 0.5);
    assert_close(h, z * z, 1e-12);
}

#[test]
fn kruskal_wallis_refuses_degenerate_input() {
    assert_eq!(
        kruskal_wallis(&[vec![1.0, 2.0]]),
        Err(StatsError::TooFewGroups { groups: 1 })
    );
    assert_eq!(
        kruskal_wallis::<Vec<f64>>(&[]),
        Err(StatsError::TooFewGroups { groups: 0 })
    );
    assert_eq!(kruskal_wallis(&[vec![1.0], vec![]]), Err(StatsError::Empty));
    assert_eq!(
        kruskal_wallis(&[vec![1.0], vec![f64::NAN]]),
        Err(StatsError::NotFinite)
    );
    assert_eq!(
        kruskal_wallis(&[vec![1.0, 1.0], vec![1.0]]),
        Err(StatsError::AllTied)
    );
}
