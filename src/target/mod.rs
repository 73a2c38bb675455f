//! Targets: what the LLM is asked to write, and how the harness builds, runs and checks it.
//!
//! The fix loop knows nothing about U-Nets or even about Rust: a target supplies its prompt
//! templates, the files it expects and how a reply gives them, the files every build needs,
//! the files the harness owns in the crate, a build and a smoke run. Another kind of target (a
//! Python one: its "build" a byte-compile, its program an interpreter command) would implement
//! the same trait; none exists yet.

mod cargo;
mod program_step;
mod python_torch_unet;
mod required;
mod rust_tch_unet;
mod rust_tiny;
pub mod unet_checks;
pub mod unet_outputs;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use cargo::{CargoBuild, SharedTarget};
pub use python_torch_unet::{PythonTorchUnet, PYTHON_TARGET};
pub use rust_tch_unet::RustTchUnet;
pub use rust_tiny::RustTiny;

use crate::error_chain::error_chain;
use crate::exec::{ExitInfo, OutputCap};
use crate::extract::{extract_files, ExtractError, Extraction};
use crate::prompt::Templates;
use crate::sandbox::{Isolation, Phase};
use crate::taxonomy::ErrorRecord;
use crate::workspace::{Workspace, WorkspaceError};

/// A program the build produced, copied out of the build folder right after the build.
#[derive(Debug, Clone)]
pub struct BuiltProgram {
    pub path: PathBuf,
    pub sha256: String,
}

/// The result of a build. Errors in the infrastructure tier mean the harness could not judge
/// the crate (the toolchain is missing, say); the loop then stops without charging the LLM.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    pub errors: Vec<ErrorRecord>,
    pub warnings: usize,
    /// Present exactly when the build succeeded.
    pub program: Option<BuiltProgram>,
    pub duration: Duration,
}

/// The result of a smoke run, output checks included.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub exit: ExitInfo,
    pub errors: Vec<ErrorRecord>,
    pub duration: Duration,
    /// What the program printed; `None` when it never started (the harness or the sandbox
    /// failed first).
    pub output: Option<ProgramOutput>,
}

/// What a program printed, as the harness captured it: the whole of each stream, or both ends
/// of a long one with the cut marked (`exec::OutputCap`). Not normalised, only the crate's and
/// the cache's folders hidden (`diagnostics::hide_paths`): the program's own words, for the
/// record, never for feedback.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgramOutput {
    pub stdout: String,
    pub stderr: String,
}

/// What one kind of process of a target may use, for the transcript header.
#[derive(Debug, Clone)]
pub struct ProcessLimits {
    /// Wall-clock time of one process (the longest step's, where there are several).
    pub time: Duration,
    /// What is kept of each output stream.
    pub output: OutputCap,
    /// The sandbox's limits for its phase; `None` unconfined.
    pub sandbox: Option<crate::sandbox::Limits>,
}

impl ProcessLimits {
    /// The limits of a process of `phase` with wall-clock limit `time` under `isolation`.
    pub fn of(time: Duration, output: OutputCap, isolation: &Isolation, phase: Phase) -> Self {
        ProcessLimits {
            time,
            output,
            sandbox: isolation
                .sandbox()
                .map(|sandbox| sandbox.effective_limits(phase)),
        }
    }
}

/// The limits of a target's builds and smoke runs.
#[derive(Debug, Clone)]
pub struct TargetLimits {
    pub build: ProcessLimits,
    pub smoke_run: ProcessLimits,
}

/// One kind of program the harness can ask for.
pub trait Target: Send + Sync {
    /// The stable id, also the folder of its templates under `prompts/`.
    fn id(&self) -> &'static str;
    fn templates(&self) -> &Templates;
    /// The files the prompt asks for, relative to the crate root.
    fn expected_files(&self) -> &[&'static str];
    /// The files no build can do without: a reply (with the files kept from earlier ones) that
    /// lacks one is a `missing-files` error of the reply, never a compile error.
    fn required_files(&self) -> &[&'static str] {
        &["Cargo.toml", "src/main.rs"]
    }
    /// The files a reply's text gives: by default its fenced code blocks, each tied to one of
    /// `expected_files` (or another path it names).
    fn extract(&self, reply: &str) -> Result<Extraction, ExtractError> {
        extract_files(reply, self.expected_files())
    }
    /// The `missing-files` error when `files` (the reply's with those kept from earlier ones)
    /// lacks one of `required_files`.
    fn missing_files(&self, files: &BTreeMap<String, String>) -> Option<ErrorRecord> {
        required::missing_files(self.required_files(), self.expected_files(), files)
    }
    /// Files the harness writes into the crate after the reply's, which the reply cannot change.
    fn owned_files(&self) -> Vec<(String, String)>;
    /// What the harness writes over the reply's files before a build: the owned files, and any
    /// file it derives from the reply's (a manifest pinned to the warm build, say). The
    /// transcript keeps the reply's own files.
    fn build_files(&self, _reply_files: &BTreeMap<String, String>) -> Vec<(String, String)> {
        self.owned_files()
    }
    /// Called once as a run (or a resumed run, or a replay) starts in `workspace`: forget
    /// whatever earlier runs' code left in build state outside the crate folder, so that no
    /// run's result depends on another's.
    fn start_run(&self, _workspace: &Workspace) -> Result<(), WorkspaceError> {
        Ok(())
    }
    /// Builds the crate as it is on disk, through the target's `Isolation`. `iteration` names
    /// the copy of the program it keeps.
    fn build(&self, workspace: &Workspace, iteration: u32) -> BuildOutcome;
    /// Runs the built program on the smoke input, through the target's `Isolation`, and
    /// checks what it wrote (without following links the program may have planted).
    fn smoke_run(&self, workspace: &Workspace, program: &BuiltProgram) -> RunOutcome;
    /// How generated code runs for this target (the sandbox, or unconfined).
    fn isolation(&self) -> &Isolation;
    /// What the transcript header records about the isolation.
    fn isolation_description(&self) -> String {
        self.isolation().describe()
    }
    /// The warning printed on every run when generated code runs unconfined.
    fn unconfined_warning(&self) -> Option<&'static str> {
        self.isolation()
            .sandbox()
            .is_none()
            .then_some(crate::sandbox::NO_SANDBOX_WARNING)
    }
    /// Full training and prediction, for targets whose programs train a model.
    fn trainer(&self) -> Option<&dyn Trainer> {
        None
    }
    /// The limits its builds and smoke runs run under, for the transcript header.
    fn limits(&self) -> Option<TargetLimits> {
        None
    }
    /// The libtorch version its programs build against, where they use libtorch.
    fn libtorch_version(&self) -> Option<String> {
        None
    }
}

/// One step of full training or prediction.
#[derive(Debug, Clone)]
pub struct TrainStep {
    pub exit: ExitInfo,
    /// Empty when the step exited cleanly.
    pub errors: Vec<ErrorRecord>,
    pub duration: Duration,
    /// The end of its standard error, normalised, for the user.
    pub stderr_tail: String,
    /// What it printed, as captured (empty when it never started).
    pub output: ProgramOutput,
}

/// The training contract of a target: `train` on a data folder, `predict` on images.
pub trait Trainer {
    /// Trains on `data_dir` (our layout), writing into `out_dir`; `epochs` overrides the
    /// program's own choice.
    fn train(
        &self,
        workspace: &Workspace,
        program: &BuiltProgram,
        data_dir: &std::path::Path,
        out_dir: &std::path::Path,
        epochs: Option<u32>,
        timeout: Duration,
    ) -> TrainStep;
    /// Predicts a mask for every image of `images_dir` into `pred_dir`, with what `train` wrote.
    fn predict(
        &self,
        workspace: &Workspace,
        program: &BuiltProgram,
        out_dir: &std::path::Path,
        images_dir: &std::path::Path,
        pred_dir: &std::path::Path,
        timeout: Duration,
    ) -> TrainStep;
    /// Checks the files `train` must write; reads the program's own test Dice.
    fn check_outputs(
        &self,
        out_dir: &std::path::Path,
        epochs: Option<u32>,
    ) -> unet_outputs::TrainingOutputs;
    /// Checks one mask per image, same name and size.
    fn check_predictions(
        &self,
        images_dir: &std::path::Path,
        pred_dir: &std::path::Path,
    ) -> Vec<ErrorRecord>;
}

/// The ids of every target this harness has.
pub const TARGET_IDS: &[&str] = &["rust-tiny", "rust-tch-unet", "python-torch-unet"];

/// Why a target could not be had.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("unknown target `{id}`; known targets: {known}")]
    Unknown { id: String, known: String },
    #[error("the toolchain for target `{id}` is not ready")]
    Toolchain {
        id: String,
        #[source]
        source: crate::toolchain::ToolchainError,
    },
    #[error("the Python environment of target `{id}` is not ready: {reason}; make it with `harness setup --python` (2.34 GB, once)")]
    PythonEnv { id: String, reason: String },
    #[error("target `{id}` cannot build in the sandbox here")]
    Sandbox {
        id: String,
        #[source]
        source: crate::sandbox::SandboxError,
    },
}

/// The target with this id, running generated code through `isolation`. `rust-tch-unet`
/// needs the toolchain: it is provisioned on first use (with progress on stderr) in the cache
/// folder (`cache_flag`, else `HARNESS_CACHE`, else the user's cache folder). Its sandboxed
/// builds see the shared warm target folder copy-on-write, which needs root and a recent
/// kernel: that is checked here, once, so that a machine without it fails before any run
/// starts, with advice. `build_timeout` replaces the target's own time limit for builds.
pub fn by_id(
    id: &str,
    cache_flag: Option<&std::path::Path>,
    isolation: &Isolation,
    build_timeout: Option<Duration>,
) -> Result<Box<dyn Target>, TargetError> {
    match id {
        "rust-tiny" => {
            let mut target = RustTiny::new(isolation.clone());
            if let Some(timeout) = build_timeout {
                target = target.with_build_timeout(timeout);
            }
            Ok(Box::new(target))
        }
        "rust-tch-unet" => {
            let toolchain = (|| {
                let cache = crate::toolchain::cache_dir_from_env(cache_flag)?;
                crate::toolchain::ensure(&cache, &crate::progress::SetupProgress::stderr())
            })()
            .map_err(|source| TargetError::Toolchain {
                id: id.to_string(),
                source,
            })?;
            if let Some(sandbox) = isolation.sandbox() {
                sandbox
                    .check_copy_on_write(&toolchain.target_dir, toolchain.layers_dir())
                    .map_err(|source| TargetError::Sandbox {
                        id: id.to_string(),
                        source,
                    })?;
            }
            let mut target = RustTchUnet::new(toolchain, isolation.clone());
            if let Some(timeout) = build_timeout {
                target = target.with_build_timeout(timeout);
            }
            Ok(Box::new(target))
        }
        "python-torch-unet" => {
            let not_ready = |reason: String| TargetError::PythonEnv {
                id: id.to_string(),
                reason,
            };
            let cache = crate::toolchain::cache_dir_from_env(cache_flag)
                .map_err(|e| not_ready(error_chain(&e)))?;
            let lock = crate::toolchain::embedded_lock().map_err(|e| not_ready(error_chain(&e)))?;
            match crate::toolchain::env_state(&cache, &lock) {
                crate::toolchain::EnvState::Complete(env) => Ok(Box::new(PythonTorchUnet::new(
                    &env,
                    cache,
                    isolation.clone(),
                ))),
                crate::toolchain::EnvState::Missing(dir) => {
                    Err(not_ready(format!("it is not made yet ({})", dir.display())))
                }
                crate::toolchain::EnvState::Incomplete(dir) => Err(not_ready(format!(
                    "{} is incomplete (an interrupted setup)",
                    dir.display()
                ))),
            }
        }
        _ => Err(TargetError::Unknown {
            id: id.to_string(),
            known: TARGET_IDS.join(", "),
        }),
    }
}

/// The target `generate` uses when none is given.
pub const DEFAULT_TARGET: &str = "rust-tch-unet";
