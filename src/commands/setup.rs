//! `harness setup`: provision the toolchain (idempotent), then prove it with the smoke build,
//! and say what was done, how long each step took and what each piece takes on disk. With
//! `--python`, the Python environment too, proved by its own smoke check.

use std::time::Instant;

use crate::cli::{GlobalArgs, SetupArgs};
use crate::progress::{human_bytes, human_duration, SetupProgress};
use crate::toolchain::{
    cache_dir_from_env, disk_usage, libtorch_from_env, provision, provision_python_env,
    SetupReport, StepOutcome,
};

use super::EXIT_OK;

pub fn setup(global: &GlobalArgs, args: &SetupArgs) -> anyhow::Result<u8> {
    let cache = cache_dir_from_env(global.cache_dir.as_deref())?;
    let progress = SetupProgress::stderr();
    let started = Instant::now();
    let user = libtorch_from_env();
    let (toolchain, report) = provision(&cache, user.as_deref(), &progress)?;

    println!("cache: {}", cache.display());
    print_steps(&report);
    if !args.no_smoke {
        let smoke_step = progress.spinner("smoke build: a new tch crate, built warm and run");
        let smoke = toolchain.smoke_check()?;
        drop(smoke_step);
        let reuse = if smoke.rebuilt.is_empty() {
            "no dependency rebuilt".to_string()
        } else {
            format!(
                "WARNING: {} dependencies rebuilt ({}); the warm build was not reused",
                smoke.rebuilt.len(),
                smoke.rebuilt.join(", ")
            )
        };
        println!(
            "  {:<10} {:<9} {:>10}  built in {}, ran in {} without LD_LIBRARY_PATH ({reuse}): {}",
            "smoke",
            "done",
            human_duration(smoke.build + smoke.run),
            human_duration(smoke.build),
            human_duration(smoke.run),
            smoke.output
        );
    }
    let mut pieces: Vec<(&str, std::path::PathBuf, u64)> = toolchain
        .disk_usage()
        .into_iter()
        .map(|piece| (piece.name, piece.path, piece.bytes))
        .collect();
    let mut did_anything = report.did_anything();
    if args.python {
        let (env, report) = provision_python_env(&cache, &progress, !args.no_smoke)?;
        print_steps(&report);
        // The smoke check of an environment already in place changes nothing.
        did_anything |= report
            .steps
            .iter()
            .any(|s| s.name != "py-smoke" && matches!(s.outcome, StepOutcome::Done(_)));
        let bytes = disk_usage(&env.dir);
        pieces.push(("python environment", env.dir, bytes));
    }
    println!("disk:");
    let mut total = 0;
    for (name, path, bytes) in pieces {
        total += bytes;
        println!(
            "  {:<20} {:>9}  {}",
            name,
            human_bytes(bytes),
            path.display()
        );
    }
    println!("  {:<20} {:>9}", "total", human_bytes(total));
    println!(
        "{} in {}",
        if did_anything {
            "set up"
        } else {
            "everything was in place"
        },
        human_duration(started.elapsed())
    );
    Ok(EXIT_OK)
}

fn print_steps(report: &SetupReport) {
    for step in &report.steps {
        let (verb, text) = match &step.outcome {
            StepOutcome::Done(text) => ("done", text),
            StepOutcome::InPlace(text) => ("in place", text),
        };
        println!(
            "  {:<10} {:<9} {:>10}  {text}",
            step.name,
            verb,
            human_duration(step.duration)
        );
    }
}
