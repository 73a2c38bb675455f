//! Measures the dataset code and the threshold baselines; prints figures.
//!
//! Run with `cargo bench --bench datasets`. Draws the synthetic glottis set at its default size
//! (500 pairs of 256x256, seed 0; target: a few seconds), reports its mean foreground, share of
//! empty masks and threshold baseline (the best global threshold chosen on the training pool of
//! the held-out split, scored on its test set); then the same for CHASE_DB1, imported from the
//! shared copy at `../shared/datasets/chase_db1` when this machine has one (skipped otherwise).

use std::path::Path;
use std::time::Instant;

use harness::dataset::{self, Pair, SynthKind};
use harness::eval::threshold_baseline;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scratch = tempfile::tempdir()?;

    let (started, cpu) = (Instant::now(), cpu_seconds());
    let out = scratch.path().join("glottis");
    let pairs = dataset::generate(SynthKind::Glottis, 500, 256, 0, &out)?;
    let drawn = started.elapsed();
    println!("synthetic glottis, 500 pairs of 256x256, seed 0");
    println!(
        "  generate: {:.2} s wall, {:.2} s CPU (all threads; wall depends on free cores)",
        drawn.as_secs_f64(),
        cpu_seconds() - cpu
    );
    report(&pairs)?;
    // The whole set, as the generator's own test measures it.
    let best = threshold_baseline(&pairs, &pairs)?;
    println!(
        "  best global threshold over all 500: {:?} < {}, mean Dice {:.3}",
        best.rule.polarity, best.rule.threshold, best.train_dice
    );

    let chase = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/chase_db1");
    if !chase.is_dir() {
        println!("CHASE_DB1: skipped, no copy at {}", chase.display());
        return Ok(());
    }
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let pairs = dataset::import_chase_db1(&chase, &scratch.path().join("chase"))?;
    println!("CHASE_DB1, {} pairs", pairs.len());
    println!(
        "  import: {:.2} s wall, {:.2} s CPU",
        started.elapsed().as_secs_f64(),
        cpu_seconds() - cpu
    );
    report(&pairs)?;
    Ok(())
}

/// User and system CPU time of this process so far, all threads: a figure that a busy machine
/// does not inflate the way it does wall time.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return f64::NAN;
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Summary, then the threshold baseline on the held-out split (seed 0).
fn report(pairs: &[Pair]) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let summary = dataset::summarise(pairs)?;
    println!(
        "  summarise and fingerprint: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "  mean foreground {:.2}%, empty masks {} ({:.1}%)",
        100.0 * summary.mean_foreground,
        summary.empty_masks,
        100.0 * summary.empty_masks as f64 / summary.count as f64
    );
    let split = dataset::split(pairs, 0);
    let started = Instant::now();
    let baseline = threshold_baseline(&split.train, &split.test)?;
    println!(
        "  threshold baseline ({} train, {} test): {:?} < {}, train Dice {:.3}, test Dice {:.3} ({:.2} s)",
        split.train.len(),
        split.test.len(),
        baseline.rule.polarity,
        baseline.rule.threshold,
        baseline.train_dice,
        baseline.test_dice,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
