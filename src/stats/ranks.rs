//! Midranks of pooled observations and the tie term the rank tests correct their variance by.

/// Ranks from 1, tied values sharing the mean of the ranks they span.
pub(crate) struct Ranks {
    /// The rank of `values[i]` at index `i`.
    pub(crate) ranks: Vec<f64>,
    /// `Σ (t³ - t)` over the groups of `t` tied values: zero without ties.
    pub(crate) tie_term: f64,
    /// How many distinct values there are: 1 when every value is tied.
    pub(crate) distinct: usize,
}

/// The midranks of `values`, which must all be finite (NaN has no rank).
pub(crate) fn midranks(values: &[f64]) -> Ranks {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut tie_term = 0.0;
    let mut distinct = 0;
    let mut start = 0;
    while start < order.len() {
        // `==`, not the total order: -0.0 and 0.0 are a tie (they sort next to each other).
        let end = start
            + order[start..]
                .iter()
                .take_while(|&&i| values[i] == values[order[start]])
                .count();
        // Ranks start + 1 ..= end, whose mean is (start + 1 + end) / 2.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        let t = (end - start) as f64;
        tie_term += t * t * t - t;
        distinct += 1;
        start = end;
    }
    Ranks {
        ranks,
        tie_term,
        distinct,
    }
}
