//! `harness data`: draw the synthetic dataset, import published ones, check a dataset folder.
//! Progress goes to stderr (only on a terminal); the summary goes to stdout.

use std::path::Path;
use std::time::Instant;

use crate::cli::{
    DataCheckArgs, DataCommand, DataSynthArgs, GlobalArgs, ImportArgs, ImportCommand,
};
use crate::dataset::{self, CHASE_DB1};
use crate::progress::SetupProgress;

use super::summary::print_summary;
use super::EXIT_OK;

pub fn data(global: &GlobalArgs, command: &DataCommand) -> anyhow::Result<u8> {
    match command {
        DataCommand::Synth(args) => synth(args),
        DataCommand::Import(ImportCommand::ChaseDb1(args)) => import_chase(args),
        DataCommand::Check(args) => check(args),
        DataCommand::Fetch(args) => super::fetch::fetch(global, args),
    }
}

fn synth(args: &DataSynthArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let step = SetupProgress::terminal_only().count("drawing", u64::from(args.n));
    let pairs = dataset::generate_with_progress(
        args.kind,
        args.n as usize,
        args.size,
        args.seed,
        &args.out,
        &mut |done| step.set_position(done as u64),
    )?;
    drop(step);
    eprintln!(
        "wrote {} pairs to {} in {:.1} s",
        pairs.len(),
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    println!("dataset: {}", args.kind.dataset_name());
    println!(
        "generator: version {}, seed {}",
        dataset::GENERATOR_VERSION,
        args.seed
    );
    print_summary(&pairs)?;
    Ok(EXIT_OK)
}

fn import_chase(args: &ImportArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let step = SetupProgress::terminal_only().count("importing", 0);
    let bar = step.handle();
    let pairs =
        dataset::import_chase_db1_with_progress(&args.source, &args.out, &mut |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })?;
    drop(step);
    eprintln!(
        "wrote {} pairs to {} in {:.1} s",
        pairs.len(),
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    println!("dataset: {CHASE_DB1}");
    print_summary(&pairs)?;
    Ok(EXIT_OK)
}

fn check(args: &DataCheckArgs) -> anyhow::Result<u8> {
    let pairs = dataset::scan(&args.dir)?;
    println!("dataset: {}", display_name(&args.dir));
    print_summary(&pairs)?;
    Ok(EXIT_OK)
}

/// The folder's name, for a dataset that names itself nowhere else.
fn display_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}
