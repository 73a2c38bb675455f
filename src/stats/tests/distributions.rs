//! The normal and chi-square tails behind the p-values, against scipy.

use super::assert_close;
use crate::stats::distributions::{chi_square_sf, normal_two_sided_p};

#[test]
fn normal_two_sided_p_matches_scipy() {
    // 2 * scipy.stats.norm.sf(z)
    for (z, p) in [
        (0.0, 1.0),
        (1.0, 0.31731050786291415),
        (1.959963984540054, 0.05),
        (3.0, 0.0026997960632601866),
        (8.0, 1.244192114854348e-15),
    ] {
        assert_close(normal_two_sided_p(z), p, 1e-13);
        assert_close(normal_two_sided_p(-z), p, 1e-13);
    }
}

#[test]
fn chi_square_sf_matches_scipy() {
    // scipy.stats.chi2.sf(x, df)
    for (x, df, p) in [
        (0.5, 1, 0.47950012218695337),
        (5.991464547107979, 2, 0.05000000000000007),
        (40.0, 3, 1.065509033425585e-08),
        (100.0, 4, 9.836624224615988e-21),
    ] {
        assert_close(chi_square_sf(x, df), p, 1e-12);
    }
    assert_eq!(chi_square_sf(0.0, 3), 1.0);
}
