//! `harness train`: full training of a finished run's program, Dice by the harness.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{GlobalArgs, TrainArgs};
use crate::dataset::SynthKind;
use crate::progress::Progress;
use crate::runs::resolve_run;
use crate::sandbox::{Isolation, Phase};
use crate::train::{train_run, TrainOptions};
use crate::transcript::{read_transcript, TrainingEvent, Transcript};

use super::{target_for, warn_if_unconfined, UserError, EXIT_OK, EXIT_RUN_FAILED};

use super::fetch::DATASETS_DIR;
/// The cache's folder of laid-out held-out splits.
pub(crate) const SPLITS_DIR: &str = "splits";

pub fn train(global: &GlobalArgs, args: &TrainArgs) -> anyhow::Result<u8> {
    let path = resolve_run(&global.runs_dir, &args.run).map_err(UserError)?;
    let transcript = read_transcript(&path)?;
    let cache = crate::toolchain::cache_dir_from_env(global.cache_dir.as_deref())?;
    let (name, dir) = dataset(&cache, args)?;
    let train_timeout = Duration::from_secs_f64(args.train_hours.max(0.0) * 3600.0);
    let isolation = training_isolation(super::isolation(global)?, train_timeout, cores())?;
    let target = target_for(&transcript.header.target.id, global, &isolation)?;
    warn_if_unconfined(target.as_ref());
    let seeds = args.seeds as u64;
    let mut scored = Vec::new();
    let mut all_ok = true;
    for (index, split_seed) in (args.split_seed..args.split_seed + seeds).enumerate() {
        let options = TrainOptions {
            dataset_name: name.clone(),
            dataset_dir: dir.clone(),
            splits_dir: cache.join(SPLITS_DIR),
            work_dir: global
                .generated_dir
                .join(".train")
                .join(&transcript.header.run_id),
            epochs: args.epochs,
            split_seed,
            train_timeout,
            predict_timeout: Duration::from_secs(3600),
        };
        // A line per step, repeated every 10 s while it lasts (hours, for a training).
        let progress = Progress::new(
            &format!(
                "{} (training {} of {seeds}, split seed {split_seed})",
                transcript.header.run_id,
                index + 1
            ),
            0,
        );
        let event = train_run(&transcript, target.as_ref(), &options, &|phase| {
            progress.step(phase)
        })?;
        progress.finish();
        print_training(&transcript, &event, &path);
        all_ok &= event.errors.is_empty() && event.dice.is_some();
        scored.extend(event.dice.as_ref().map(|dice| dice.mean));
    }
    if seeds > 1 {
        print_over_seeds(&scored, seeds);
    }
    Ok(if all_ok { EXIT_OK } else { EXIT_RUN_FAILED })
}

/// The machine's cores, as many as training threads can use at once.
fn cores() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// The sandbox with a CPU-time cap for training no lower than `wall` on every core (methodology
/// R4): CPU time adds up over a process's threads, so `--train-hours` on `cores` cores may use
/// that many times the hours. Refused, saying what to do, where the harness's own limit is lower.
pub(crate) fn training_isolation(
    isolation: Isolation,
    wall: Duration,
    cores: u64,
) -> Result<Isolation, UserError> {
    let needed = wall.as_secs().saturating_mul(cores);
    let raised = isolation.with_sandbox(|sandbox| {
        let mut limits = *sandbox.limits_for(Phase::Train);
        if limits.cpu_seconds.is_some_and(|cpu| cpu < needed) {
            limits.cpu_seconds = Some(needed);
        }
        sandbox.limits(Phase::Train, limits)
    });
    let granted = raised
        .sandbox()
        .and_then(|s| s.effective_limits(Phase::Train).cpu_seconds);
    match granted {
        Some(cpu) if cpu < needed => Err(UserError(format!(
            "training may take {} h on {cores} core(s), up to {needed} CPU seconds, but the harness itself may use only {cpu} (its own `ulimit -t`): raise that limit or lower --train-hours",
            wall.as_secs_f64() / 3600.0
        ))),
        _ => Ok(raised),
    }
}

/// One line over every training of this invocation (methodology S6, S7).
fn print_over_seeds(scored: &[f64], seeds: u64) {
    match crate::stats::summary(scored) {
        Ok(summary) => println!(
            "over {seeds} split seeds: mean Dice {:.3}{} ({} of {seeds} scored; each split's own mean, `harness report dice` has the rest)",
            summary.mean,
            summary
                .sem
                .map_or(String::new(), |sem| format!(" ± {sem:.3} (SEM)")),
            summary.n
        ),
        Err(_) => println!("over {seeds} split seeds: none was scored"),
    }
}

/// What one training came to, for the person who asked for it.
fn print_training(transcript: &Transcript, event: &TrainingEvent, path: &Path) {
    println!(
        "run {}: {} trained on {} ({} training pairs, {} held out, split seed {}, split {})",
        transcript.header.run_id,
        transcript.header.llm.id,
        event.dataset.name,
        event.dataset.train_pairs,
        event.dataset.test_pairs,
        event.dataset.split_seed,
        &event.dataset.split_hash[..12]
    );
    println!("  training: {:.1} s", event.train_ms as f64 / 1000.0);
    if let Some(dice) = &event.dice {
        println!(
            "  Dice on the held-out images (computed by the harness): mean {:.3}, median {:.3}, std {:.3}, min {:.3}, max {:.3} over {}",
            dice.mean, dice.median, dice.std, dice.min, dice.max, dice.count
        );
    }
    if !event.missing_predictions.is_empty() {
        println!(
            "  no prediction for {} held-out image(s), counted as Dice 0",
            event.missing_predictions.len()
        );
    }
    if let Some(reported) = event.reported_test_dice {
        println!(
            "  the program's own test Dice: {reported:.3}{}",
            if event.dice_disagrees {
                " (differs from the harness's by more than 0.05; it scores its own test split of the training pool, not the held-out images, so look at its Dice formula before concluding)"
            } else {
                ""
            }
        );
    }
    if let Some(baseline) = event.threshold_baseline {
        println!("  best global threshold on the same split: Dice {baseline:.3}");
    }
    for error in &event.errors {
        println!("  error ({}): {}", error.category, error.message);
    }
    println!(
        "  outputs: {}",
        path.parent()
            .unwrap_or(Path::new("."))
            .join(&event.artefacts)
            .display()
    );
}

/// The dataset's name and folder: drawn or looked up in the cache, or a folder given.
fn dataset(cache: &Path, args: &TrainArgs) -> anyhow::Result<(String, PathBuf)> {
    let named = cache.join(DATASETS_DIR);
    match args.dataset.as_str() {
        "synthetic-glottis" => {
            let kind = SynthKind::Glottis;
            let dir = named.join(format!(
                "{}-n{}-s{}",
                kind.dataset_name(),
                args.synthetic_count,
                args.synthetic_size
            ));
            if !dir.is_dir() {
                eprintln!(
                    "drawing {} synthetic glottis images of {}x{} into {}",
                    args.synthetic_count,
                    args.synthetic_size,
                    args.synthetic_size,
                    dir.display()
                );
                crate::dataset::generate(kind, args.synthetic_count, args.synthetic_size, 0, &dir)?;
            }
            Ok((kind.dataset_name().to_string(), dir))
        }
        "chase-db1" => {
            let dir = named.join("chase-db1");
            if !dir.is_dir() {
                return Err(UserError(format!(
                    "CHASE_DB1 is not there yet: run `harness data fetch chase-db1`, or `harness data import chase-db1 <CHASEDB1.zip or its folder> --out {}`",
                    dir.display()
                ))
                .into());
            }
            Ok(("chase-db1".to_string(), dir))
        }
        other if crate::dataset::find_dataset(other).is_some() => {
            let dir = named.join(other);
            if !dir.is_dir() {
                return Err(UserError(format!(
                    "{other} is not fetched yet: run `harness data fetch {other}`"
                ))
                .into());
            }
            Ok((other.to_string(), dir))
        }
        other => {
            let dir = PathBuf::from(other);
            if !dir.is_dir() {
                return Err(UserError(format!(
                    "unknown dataset `{other}`: give synthetic-glottis, a dataset `harness data fetch` knows ({}), or a folder with images/ and masks/", crate::dataset::dataset_names()
                ))
                .into());
            }
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "dataset".to_string());
            Ok((name, dir))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Methodology R4: twelve hours on two cores may use 86,400 CPU seconds, so the training's
    /// cap (4 hours by default) is raised to that; a cap already higher is kept; unconfined
    /// training has none to raise.
    #[test]
    fn the_training_cpu_cap_covers_the_asked_hours_on_every_core() {
        let hours = |h: u64| Duration::from_secs(h * 3600);
        let unconfined = training_isolation(Isolation::Unconfined, hours(12), 2).unwrap();
        assert!(unconfined.sandbox().is_none());
        let isolation = match Isolation::choose(false) {
            Ok(isolation) => isolation,
            Err(error) => {
                crate::test_skip::skip(
                    crate::test_skip::Needs::Bubblewrap,
                    format!("no working sandbox here, so no cap to raise: {error}"),
                );
                return;
            }
        };
        let cap = |isolation: &Isolation| {
            isolation
                .sandbox()
                .and_then(|s| s.limits_for(Phase::Train).cpu_seconds)
        };
        assert_eq!(cap(&isolation), Some(4 * 3600), "the default");
        let raised = training_isolation(isolation.clone(), hours(12), 2).unwrap();
        assert_eq!(cap(&raised), Some(12 * 3600 * 2));
        let kept = training_isolation(isolation, hours(1), 2).unwrap();
        assert_eq!(cap(&kept), Some(4 * 3600));
    }
}
