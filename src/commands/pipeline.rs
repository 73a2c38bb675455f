//! `harness pipeline`: the main job on the embedded default, with no keys and no downloads
//! beyond the package registries (libtorch and the allowed crates are provisioned on first use).
//!
//! 1. Replays the committed runs strictly (the fixture runs in `tests/fixtures/runs` and every
//!    run in the runs folder).
//! 2. Generates a run of the hand-written reference U-Net on the `rust-tch-unet` target and
//!    trains it briefly on the synthetic glottis set; the harness computes Dice on its held-out
//!    split. These runs go to `<generated>/pipeline/harness-runs`: the reference is not an LLM,
//!    and its runs are never committed among the LLMs' runs.
//! 3. Prints the error-count table and the Dice table.
//! 4. Writes the HTML report of the same runs to `<generated>/pipeline/report/` and prints
//!    where its front page is.

use std::path::{Path, PathBuf};

use crate::cli::{GenerateArgs, GlobalArgs, PipelineArgs, ReplayArgs, ReportErrorsArgs, TrainArgs};
use crate::report::Format;
use crate::runs::find_transcripts;

use super::{generate, replay, report_dice, report_errors, train, EXIT_OK};

/// The committed fixture runs, relative to the repository root.
const FIXTURE_RUNS: &str = "tests/fixtures/runs";

pub fn pipeline(global: &GlobalArgs, args: &PipelineArgs) -> anyhow::Result<u8> {
    let mut runs = args.runs.clone();
    if runs.is_empty() {
        runs.extend(
            [PathBuf::from(FIXTURE_RUNS), global.runs_dir.clone()]
                .into_iter()
                .filter(|p| find_transcripts(std::slice::from_ref(p)).is_ok()),
        );
    }
    let mut worst = EXIT_OK;
    eprintln!("== 1. replaying {} folder(s) of recorded runs", runs.len());
    if !runs.is_empty() {
        worst = worst.max(replay(
            global,
            &ReplayArgs {
                runs: runs.clone(),
                no_exec: false,
            },
        )?);
    }

    let own = GlobalArgs {
        runs_dir: global.generated_dir.join("pipeline").join("harness-runs"),
        generated_dir: global.generated_dir.join("pipeline").join("generated"),
        registry: global.registry.clone(),
        cache_dir: global.cache_dir.clone(),
        no_sandbox: global.no_sandbox,
        build_timeout: global.build_timeout,
    };
    eprintln!("== 2. the reference U-Net: generate, then train briefly on synthetic glottis");
    let before = existing_runs(&own.runs_dir);
    worst = worst.max(generate(
        &own,
        &GenerateArgs {
            llm: vec!["reference".to_string()],
            all: false,
            cohort: None,
            resume: None,
            target: "rust-tch-unet".to_string(),
            max_iterations: 1,
            repeat: 1,
            repeats: 1,
            shard: None,
            jobs: 1,
            per_provider: 1,
            model: None,
            base_url: None,
            weights_sha256: None,
            request_timeout: 60,
            retry: Default::default(),
            budget: Default::default(),
        },
    )?);
    let new_run = existing_runs(&own.runs_dir)
        .into_iter()
        .find(|run| !before.contains(run));
    if let Some(run) = new_run {
        worst = worst.max(train(
            &own,
            &TrainArgs {
                run,
                dataset: "synthetic-glottis".to_string(),
                epochs: Some(args.epochs),
                split_seed: 0,
                // One brief training shows the machinery; `harness train` defaults to three.
                seeds: 1,
                synthetic_count: args.synthetic_count,
                synthetic_size: args.synthetic_size,
                train_hours: 2.0,
            },
        )?);
    }

    eprintln!("== 3. the tables");
    runs.push(own.runs_dir.clone());
    let table_args = ReportErrorsArgs {
        runs: runs.clone(),
        format: Format::Markdown,
        out: None,
    };
    println!("\n## Errors, from the recorded runs\n");
    worst = worst.max(report_errors(global, &table_args)?);
    println!("\n## Dice on the held-out split, computed by the harness\n");
    worst = worst.max(report_dice(global, &table_args)?);

    eprintln!("== 4. the HTML report");
    let transcripts = super::report::read_runs(global, &runs)?;
    let report_dir = global.generated_dir.join("pipeline").join("report");
    let index = super::report::write_html_report(
        &transcripts,
        &report_dir,
        super::report::Figures::Draw(super::report::splits_dir(global)),
    )?;
    println!(
        "\nThe HTML report (open it in a browser): {}",
        index.display()
    );
    Ok(worst)
}

fn existing_runs(dir: &Path) -> Vec<PathBuf> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    runs.sort();
    runs
}
