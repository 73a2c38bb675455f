//! One step of a U-Net program (train or predict) run and judged, and the smoke run made of
//! the two, shared by the targets whose programs follow the training contract (`Trainer`).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::diagnostics::limits::{SmokeLimits, SmokeNeeds};
use crate::diagnostics::{hide_paths, limits, normalise};
use crate::error_chain::error_chain;
use crate::exec::{ExitInfo, ProcessSpec};
use crate::sandbox::{Isolation, Phase};
use crate::taxonomy::{Category, ErrorRecord};
use crate::workspace::Workspace;

use super::{BuiltProgram, ProgramOutput, RunOutcome, TrainStep, Trainer};

/// How a failed step's exit and normalised stderr become its error (a Rust panic, a Python
/// traceback); `None` when it succeeded.
pub(super) type Classifier = fn(&ExitInfo, &str) -> Option<ErrorRecord>;

/// The smoke run's folder inside the program's folder: relative paths in messages, the same
/// everywhere.
pub(super) const SMOKE_DIR: &str = "harness-smoke";

/// The most disk the task's outputs can need: a small U-Net's weights (a 31-million-parameter
/// one takes 124 MB), a few tables, two figures and one mask per image. A program that writes
/// many times more is charged for it (methodology L2).
pub(super) const OUTPUTS_NEED: u64 = 1 << 30;

/// The folders one step of the program reads and writes, besides the crate folder.
struct StepFolders<'a> {
    read: &'a [&'a Path],
    write: &'a Path,
}

/// Runs one step of the program (train or predict) and classifies a failure. Folders outside
/// the crate are shown to it as `folders` says (the output folder is made first). `hidden`
/// names the folders (besides the program's own) that messages show by a placeholder.
fn step(
    isolation: &Isolation,
    spec: ProcessSpec,
    root: &Path,
    hidden: &[(&Path, &str)],
    folders: StepFolders<'_>,
    classify: Classifier,
) -> TrainStep {
    let started = Instant::now();
    let failed = |category, message: String| TrainStep {
        errors: vec![ErrorRecord::new(category, message)],
        exit: Default::default(),
        duration: started.elapsed(),
        stderr_tail: String::new(),
        output: ProgramOutput::default(),
    };
    if let Err(error) = std::fs::create_dir_all(folders.write) {
        return failed(
            Category::InfraHarness,
            format!("could not make {}: {error}", folders.write.display()),
        );
    }
    let outside = |dir: &Path| !dir.starts_with(root);
    let isolation = isolation.with_sandbox(|mut sandbox| {
        for dir in folders.read.iter().filter(|dir| outside(dir)) {
            sandbox = sandbox.read_only(dir);
        }
        if outside(folders.write) {
            sandbox = sandbox.scratch(folders.write);
        }
        sandbox
    });
    match isolation.run(&spec, Phase::Train) {
        Ok(confined) => {
            let output = confined.output;
            let mut hidden_all: Vec<(&Path, &str)> = vec![(root, "")];
            hidden_all.extend_from_slice(hidden);
            let hidden = hidden_all;
            let stderr = normalise(&output.stderr, &hidden);
            // The end of stderr holds the sandbox's note on the limit.
            let exceeded = |mut error: ErrorRecord| {
                error.rendered = Some(super::cargo::tail(&stderr, 40));
                vec![error]
            };
            let errors = match (confined.disk_exceeded, confined.memory_exceeded) {
                (Some(grown), _) => {
                    let limit = isolation
                        .sandbox()
                        .map_or(grown, |sandbox| sandbox.limits_for(Phase::Train).disk);
                    exceeded(limits::program_out_of_disk(grown, limit, OUTPUTS_NEED))
                }
                (None, Some(limit)) => exceeded(ErrorRecord::new(Category::OutOfMemory, format!(
                    "the program used more than the sandbox's {} MiB of memory and was killed (out of memory)",
                    limit >> 20
                ))),
                (None, None) => classify(&output.exit, &stderr).into_iter().collect(),
            };
            TrainStep {
                errors,
                exit: output.exit,
                duration: started.elapsed(),
                stderr_tail: super::cargo::tail(&stderr, 40),
                // The program's words as they were, without this machine's folders.
                output: ProgramOutput {
                    stdout: hide_paths(&output.stdout, &hidden),
                    stderr: hide_paths(&output.stderr, &hidden),
                },
            }
        }
        Err(error) => failed(
            match isolation {
                Isolation::Sandboxed(_) => Category::InfraSandbox,
                Isolation::Unconfined => Category::InfraHarness,
            },
            error_chain(&error),
        ),
    }
}

/// A smoke step's time and memory kills, charged by methodology L3.
pub(super) fn smoke_breaches(
    errors: Vec<ErrorRecord>,
    isolation: &Isolation,
    wall: Duration,
    needs: SmokeNeeds,
) -> Vec<ErrorRecord> {
    let bound = SmokeLimits::under(isolation, wall, Phase::Train);
    errors
        .into_iter()
        .map(|error| limits::smoke_limit_breach(error, bound, needs))
        .collect()
}

/// The smoke run's two steps' output, one after the other, the second announced by a line.
pub(super) fn joined(train: ProgramOutput, predict: ProgramOutput) -> ProgramOutput {
    const PREDICT: &str = "\n[harness: the predict step's output follows]\n";
    ProgramOutput {
        stdout: format!("{}{PREDICT}{}", train.stdout, predict.stdout),
        stderr: format!("{}{PREDICT}{}", train.stderr, predict.stderr),
    }
}

/// How a target runs its program: the command that starts it (the program and any leading
/// arguments, in the program's folder, with its timeout), the isolation, the folders messages
/// hide, and how a failure is read.
pub(super) struct Runner<'a> {
    pub command: ProcessSpec,
    pub isolation: &'a Isolation,
    pub root: &'a Path,
    pub hidden: &'a [(&'a Path, &'a str)],
    pub classify: Classifier,
}

/// `train --data-dir DATA --out-dir OUT [--epochs N]`, the contract's first step.
pub(super) fn train_step(
    runner: Runner<'_>,
    data_dir: &Path,
    out_dir: &Path,
    epochs: Option<u32>,
) -> TrainStep {
    let mut spec = runner
        .command
        .arg("train")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--out-dir")
        .arg(out_dir);
    if let Some(epochs) = epochs {
        spec = spec.arg("--epochs").arg(epochs.to_string());
    }
    let folders = StepFolders {
        read: &[data_dir],
        write: out_dir,
    };
    step(
        runner.isolation,
        spec,
        runner.root,
        runner.hidden,
        folders,
        runner.classify,
    )
}

/// `predict --weights WEIGHTS --images-dir IMAGES --out-dir PRED`, the contract's second step.
/// The weights' folder stays writable: its files belong to the uid `train` ran as.
pub(super) fn predict_step(
    runner: Runner<'_>,
    weights: &Path,
    images_dir: &Path,
    pred_dir: &Path,
) -> TrainStep {
    let spec = runner
        .command
        .arg("predict")
        .arg("--weights")
        .arg(weights)
        .arg("--images-dir")
        .arg(images_dir)
        .arg("--out-dir")
        .arg(pred_dir);
    let isolation = match weights.parent().filter(|dir| !dir.starts_with(runner.root)) {
        Some(dir) => runner
            .isolation
            .with_sandbox(|sandbox| sandbox.scratch(dir)),
        None => runner.isolation.clone(),
    };
    let folders = StepFolders {
        read: &[images_dir],
        write: pred_dir,
    };
    step(
        &isolation,
        spec,
        runner.root,
        runner.hidden,
        folders,
        runner.classify,
    )
}

/// The smoke run's time limits and what the target's reference needs (methodology L3).
#[derive(Debug, Clone, Copy)]
pub(super) struct SmokeBudget {
    pub train_timeout: Duration,
    pub predict_timeout: Duration,
    pub train_needs: SmokeNeeds,
    pub predict_needs: SmokeNeeds,
}

/// The smoke run: train one epoch on the smoke set (every trap of the study's data), check
/// every file the contract asks for, predict the smoke images, check one mask per image.
pub(super) fn smoke_run(
    trainer: &dyn Trainer,
    isolation: &Isolation,
    workspace: &Workspace,
    program: &BuiltProgram,
    budget: SmokeBudget,
) -> RunOutcome {
    let started = Instant::now();
    let smoke = workspace.root().join(SMOKE_DIR);
    let harness_failure = |message: String| RunOutcome {
        exit: Default::default(),
        errors: vec![ErrorRecord::new(Category::InfraHarness, message)],
        duration: started.elapsed(),
        output: None,
    };
    if smoke.exists() {
        if let Err(error) = std::fs::remove_dir_all(&smoke) {
            return harness_failure(format!("could not clear the smoke folder: {error}"));
        }
    }
    let data = smoke.join("data");
    if let Err(error) = crate::dataset::write_smoke_set(&data) {
        return harness_failure(format!("could not write the smoke set: {error}"));
    }
    let (out, pred) = (smoke.join("out"), smoke.join("pred"));
    let train = trainer.train(
        workspace,
        program,
        &data,
        &out,
        Some(1),
        budget.train_timeout,
    );
    let mut exit = train.exit.clone();
    let mut errors = smoke_breaches(
        train.errors,
        isolation,
        budget.train_timeout,
        budget.train_needs,
    );
    let mut output = train.output;
    if errors.is_empty() {
        errors = trainer.check_outputs(&out, Some(1)).errors;
    }
    if errors.is_empty() {
        let images = data.join(crate::dataset::IMAGES_DIR);
        let predict = trainer.predict(
            workspace,
            program,
            &out,
            &images,
            &pred,
            budget.predict_timeout,
        );
        exit = predict.exit.clone();
        errors = smoke_breaches(
            predict.errors,
            isolation,
            budget.predict_timeout,
            budget.predict_needs,
        );
        output = joined(output, predict.output);
        if errors.is_empty() {
            errors = trainer.check_predictions(&images, &pred);
        }
    }
    RunOutcome {
        exit,
        errors,
        duration: started.elapsed(),
        output: Some(output),
    }
}
