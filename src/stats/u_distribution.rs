//! The exact null distribution of the Mann-Whitney U statistic without ties.

/// `counts[u]`: how many of the `C(m + n, m)` orderings of `m` x's and `n` y's (all distinct)
/// give the x's the statistic `U = u`, for `u` in `0..=m n`.
///
/// These are the coefficients of the Gaussian binomial `[m + n choose m]_q`, built as the product
/// over `i = 1..=m` of `(1 - q^(n+i)) / (1 - q^i)`: after step `i` the polynomial is
/// `[n + i choose i]_q`, whose coefficients are integers, so every step is exact. The largest
/// coefficient is below `C(m + n, m)`, which fits in `u128` for `m + n <= 100` (`C(100, 50)` is
/// about 1.01e29) with room for the intermediate differences.
pub(crate) fn u_counts(m: usize, n: usize) -> Vec<u128> {
    let mut poly: Vec<i128> = vec![1];
    for i in 1..=m {
        // Multiply by (1 - q^(n+i)).
        let shift = n + i;
        let mut product = vec![0i128; poly.len() + shift];
        for (j, &c) in poly.iter().enumerate() {
            product[j] += c;
            product[j + shift] -= c;
        }
        // Divide by (1 - q^i): r[j] = p[j] + r[j - i]. The division is exact, so the quotient
        // has degree i n and the coefficients past it are zero.
        let degree = i * n;
        let mut quotient = vec![0i128; degree + 1];
        for j in 0..=degree {
            quotient[j] = product[j] + if j >= i { quotient[j - i] } else { 0 };
        }
        poly = quotient;
    }
    poly.into_iter()
        .map(|c| u128::try_from(c).expect("Gaussian binomial coefficients are non-negative"))
        .collect()
}

/// `P(U >= u)` under the null hypothesis for samples of sizes `m` and `n` without ties.
pub(crate) fn upper_tail(m: usize, n: usize, u: usize) -> f64 {
    let counts = u_counts(m, n);
    let total: u128 = counts.iter().sum();
    let tail: u128 = counts.iter().skip(u).sum();
    tail as f64 / total as f64
}
