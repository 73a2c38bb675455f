//! The summary of a dataset on stdout, after `data synth`, `data import`, `data check` and
//! `data fetch`.

use crate::dataset::{self, Pair};

/// Pairs, sizes, foreground, empty masks and the fingerprint, one line each.
pub(crate) fn print_summary(pairs: &[Pair]) -> anyhow::Result<()> {
    let summary = dataset::summarise(pairs)?;
    println!("pairs: {}", summary.count);
    let (min, max) = (summary.min_size, summary.max_size);
    if min == max {
        println!("size: {}x{}", min.0, min.1);
    } else {
        println!("sizes: {}x{} to {}x{}", min.0, min.1, max.0, max.1);
    }
    println!("mean foreground: {:.2}%", 100.0 * summary.mean_foreground);
    println!(
        "empty masks: {} ({:.1}%)",
        summary.empty_masks,
        100.0 * summary.empty_masks as f64 / summary.count.max(1) as f64
    );
    println!("fingerprint: {}", summary.fingerprint);
    Ok(())
}
