//! The exact U distribution against brute-force enumeration of every ordering.

use crate::stats::u_distribution::{u_counts, upper_tail};

/// Counts by listing every placement of `m` x's among `m + n` sorted positions: an x at a
/// position with `j` y's below it contributes `j` to U.
fn brute_force(m: usize, n: usize) -> Vec<u128> {
    let mut counts = vec![0u128; m * n + 1];
    for mask in 0u32..(1 << (m + n)) {
        if mask.count_ones() as usize != m {
            continue;
        }
        let (mut ys_below, mut u) = (0, 0);
        for position in 0..m + n {
            if mask & (1 << position) != 0 {
                u += ys_below;
            } else {
                ys_below += 1;
            }
        }
        counts[u] += 1;
    }
    counts
}

#[test]
fn u_counts_match_brute_force_enumeration() {
    for m in 0..=7 {
        for n in 0..=7 {
            assert_eq!(u_counts(m, n), brute_force(m, n), "m = {m}, n = {n}");
        }
    }
}

#[test]
fn u_counts_at_the_largest_exact_size_are_exact() {
    let counts = u_counts(50, 50);
    assert_eq!(counts.len(), 2501);
    // math.comb(100, 50)
    assert_eq!(
        counts.iter().sum::<u128>(),
        100_891_344_545_564_193_334_812_497_256
    );
    // The null distribution is symmetric about m n / 2.
    assert!(counts.iter().eq(counts.iter().rev()));
    assert_eq!((counts[0], counts[1], counts[2]), (1, 1, 2));
}

#[test]
fn upper_tail_is_one_at_zero_and_smallest_at_the_top() {
    assert_eq!(upper_tail(3, 4, 0), 1.0);
    // Only the one ordering with every x above every y reaches U = 12: 1 / C(7, 3).
    assert_eq!(upper_tail(3, 4, 12), 1.0 / 35.0);
}
