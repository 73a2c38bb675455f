//! `rust-tch-unet`: the study's task in Rust: a U-Net for binary segmentation with `tch`.
//!
//! The crate builds offline against the vendored allow-list and the provisioned libtorch (the
//! owned `.cargo/config.toml` comes from `toolchain`), in the shared warm target folder. The
//! smoke run trains one epoch on the smoke set (every trap of the study's data), checks every
//! file the contract asks for, then predicts the smoke images and checks one mask per image.
//!
//! Everything generated runs in the sandbox. A build sees the vendored sources, the warm crate
//! and libtorch read-only, and the shared target folder copy-on-write (`CargoBuild`), so a
//! build script can alter nothing another crate links against. A program sees libtorch
//! read-only, the GPU's device nodes where there are any, its input folders read-only and its
//! output folder writable; the held-out masks never.

use std::path::Path;
use std::time::Duration;

use std::collections::BTreeMap;

use crate::diagnostics::limits::SmokeNeeds;
use crate::diagnostics::{classify_run, CACHE_PLACEHOLDER};
use crate::exec::{OutputCap, ProcessSpec};
use crate::prompt::Templates;
use crate::sandbox::{Isolation, Phase};
use crate::taxonomy::ErrorRecord;
use crate::toolchain::{Toolchain, CARGO_CONFIG_PATH};
use crate::workspace::{Workspace, WorkspaceError};

use super::cargo::{CargoBuild, SharedTarget, BUILD_OUTPUT};
use super::program_step::{predict_step, smoke_run, train_step, Runner, SmokeBudget};
use super::unet_outputs::{
    check_predictions, check_training_outputs, TrainingOutputs, WEIGHTS_FILE,
};
use super::{
    BuildOutcome, BuiltProgram, ProcessLimits, RunOutcome, Target, TargetLimits, TrainStep, Trainer,
};

/// The package (and binary) name the prompt asks for.
pub const BINARY: &str = "unet_segmentation";
/// A crate that enables new features of a dependency compiles it once; a new torch-sys
/// configuration takes minutes.
const BUILD_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const SMOKE_TRAIN_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const SMOKE_PREDICT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// What the reference U-Net's smoke steps need at most on two cores (methodology L3), rounded
/// up from `/usr/bin/time -v` on `reference/unet-tch`: training one epoch on the smoke set took
/// 35 CPU seconds (about 25 s of wall time unloaded, 116 s at a load average of 5) and 3.3 GiB
/// at its peak; predicting took 12.5 CPU seconds (19 s of wall time) and 1.7 GiB.
const SMOKE_TRAIN_NEEDS: SmokeNeeds = SmokeNeeds {
    seconds: 60,
    memory: 4 << 30,
};
const SMOKE_PREDICT_NEEDS: SmokeNeeds = SmokeNeeds {
    seconds: 30,
    memory: 2 << 30,
};

/// The `rust-tch-unet` target.
#[derive(Debug)]
pub struct RustTchUnet {
    templates: Templates,
    /// Absent only for `templates_only`.
    toolchain: Option<Toolchain>,
    /// How builds run: the toolchain's folders shown read-only.
    build_isolation: Isolation,
    /// How programs run: libtorch shown read-only, the GPU passed through where there is one.
    isolation: Isolation,
    build_timeout: Duration,
}

impl RustTchUnet {
    /// The target, building against `toolchain` and running generated code through
    /// `isolation` (the sandbox, or `--no-sandbox`).
    pub fn new(toolchain: Toolchain, isolation: Isolation) -> Self {
        Self::with(Some(toolchain), isolation)
    }

    /// The harness's cache folder, hidden in every message of the program.
    fn hidden(&self) -> Vec<(&Path, &str)> {
        self.toolchain
            .as_ref()
            .map(|t| (t.cache_dir.as_path(), CACHE_PLACEHOLDER))
            .into_iter()
            .collect()
    }

    fn with(toolchain: Option<Toolchain>, isolation: Isolation) -> Self {
        let (build_isolation, isolation) = match &toolchain {
            Some(toolchain) => (
                isolation.with_sandbox(|sandbox| {
                    sandbox
                        .read_only(&toolchain.vendor_dir)
                        .read_only(toolchain.warm_dir())
                        .read_only(&toolchain.libtorch.dir)
                }),
                isolation
                    .with_sandbox(|sandbox| sandbox.read_only(&toolchain.libtorch.dir).gpu(true)),
            ),
            None => (isolation.clone(), isolation),
        };
        RustTchUnet {
            templates: Templates {
                initial: include_str!("../../prompts/rust-tch-unet/prompt.md"),
                feedback_reply: include_str!("../../prompts/rust-tch-unet/feedback-reply.md"),
                feedback_compile: include_str!("../../prompts/rust-tch-unet/feedback-compile.md"),
                feedback_runtime: include_str!("../../prompts/rust-tch-unet/feedback-runtime.md"),
            },
            toolchain,
            build_isolation,
            isolation,
            build_timeout: BUILD_TIMEOUT,
        }
    }

    /// How its program runs: the built binary, through the programs' isolation, its panics read.
    fn runner<'a>(
        &'a self,
        workspace: &'a Workspace,
        program: &BuiltProgram,
        timeout: Duration,
        hidden: &'a [(&'a Path, &'a str)],
    ) -> Runner<'a> {
        Runner {
            command: program_spec(program, workspace.root(), timeout),
            isolation: &self.isolation,
            root: workspace.root(),
            hidden,
            classify: classify_run,
        }
    }

    /// The same target with another time limit for builds.
    pub fn with_build_timeout(mut self, timeout: Duration) -> Self {
        self.build_timeout = timeout;
        self
    }

    /// The templates alone, for reading hashes without a toolchain.
    pub fn templates_only() -> Templates {
        Self::with(None, Isolation::Unconfined).templates
    }
}

fn program_spec(program: &BuiltProgram, root: &Path, timeout: Duration) -> ProcessSpec {
    ProcessSpec::new(program.path.as_os_str(), root)
        .env("RUST_BACKTRACE", "0")
        .timeout(timeout)
        .output_cap(OutputCap::DEFAULT)
}

impl Trainer for RustTchUnet {
    fn train(
        &self,
        workspace: &Workspace,
        program: &BuiltProgram,
        data_dir: &Path,
        out_dir: &Path,
        epochs: Option<u32>,
        timeout: Duration,
    ) -> TrainStep {
        let hidden = self.hidden();
        train_step(
            self.runner(workspace, program, timeout, &hidden),
            data_dir,
            out_dir,
            epochs,
        )
    }

    fn predict(
        &self,
        workspace: &Workspace,
        program: &BuiltProgram,
        out_dir: &Path,
        images_dir: &Path,
        pred_dir: &Path,
        timeout: Duration,
    ) -> TrainStep {
        let hidden = self.hidden();
        predict_step(
            self.runner(workspace, program, timeout, &hidden),
            &out_dir.join(WEIGHTS_FILE),
            images_dir,
            pred_dir,
        )
    }

    fn check_outputs(&self, out_dir: &Path, epochs: Option<u32>) -> TrainingOutputs {
        check_training_outputs(out_dir, epochs.map(|e| e as usize))
    }

    fn check_predictions(&self, images_dir: &Path, pred_dir: &Path) -> Vec<ErrorRecord> {
        check_predictions(images_dir, pred_dir)
    }
}

impl Target for RustTchUnet {
    fn id(&self) -> &'static str {
        "rust-tch-unet"
    }

    fn templates(&self) -> &Templates {
        &self.templates
    }

    fn expected_files(&self) -> &[&'static str] {
        &[
            "Cargo.toml",
            "src/main.rs",
            "src/dataset.rs",
            "src/model.rs",
            "src/train.rs",
        ]
    }

    fn owned_files(&self) -> Vec<(String, String)> {
        self.toolchain
            .iter()
            .map(|t| (CARGO_CONFIG_PATH.to_string(), t.cargo_config()))
            .collect()
    }

    /// The reply's manifest gets the warm build as one more (code-less) dependency, so cargo
    /// resolves every allowed crate with the warm build's features and reuses its units: only
    /// the new crate compiles.
    fn build_files(&self, reply_files: &BTreeMap<String, String>) -> Vec<(String, String)> {
        let mut files = self.owned_files();
        if let (Some(toolchain), Some(manifest)) = (&self.toolchain, reply_files.get("Cargo.toml"))
        {
            files.push(("Cargo.toml".to_string(), toolchain.pin_manifest(manifest)));
        }
        files
    }

    /// The crate's layer over the warm build holds what earlier runs' builds wrote there
    /// (their units, whatever their build scripts changed): a run starts without it.
    fn start_run(&self, workspace: &Workspace) -> Result<(), WorkspaceError> {
        let Some(toolchain) = &self.toolchain else {
            return Ok(());
        };
        let layers = toolchain.layers_dir();
        crate::sandbox::discard_layer(&layers, workspace.root()).map_err(|source| {
            WorkspaceError::Io {
                path: layers,
                source,
            }
        })
    }

    fn build(&self, workspace: &Workspace, iteration: u32) -> BuildOutcome {
        let layers = self.toolchain.as_ref().map(Toolchain::layers_dir);
        CargoBuild {
            isolation: &self.build_isolation,
            shared_target: self
                .toolchain
                .as_ref()
                .zip(layers.as_deref())
                .map(|(t, layers)| SharedTarget {
                    dir: &t.target_dir,
                    layers,
                    cache: &t.cache_dir,
                }),
            preferred_bin: BINARY,
            timeout: self.build_timeout,
        }
        .run(workspace, iteration)
    }

    fn smoke_run(&self, workspace: &Workspace, program: &BuiltProgram) -> RunOutcome {
        smoke_run(
            self,
            &self.isolation,
            workspace,
            program,
            SmokeBudget {
                train_timeout: SMOKE_TRAIN_TIMEOUT,
                predict_timeout: SMOKE_PREDICT_TIMEOUT,
                train_needs: SMOKE_TRAIN_NEEDS,
                predict_needs: SMOKE_PREDICT_NEEDS,
            },
        )
    }

    fn isolation(&self) -> &Isolation {
        &self.isolation
    }

    fn limits(&self) -> Option<TargetLimits> {
        Some(TargetLimits {
            build: ProcessLimits::of(
                self.build_timeout,
                BUILD_OUTPUT,
                &self.build_isolation,
                Phase::Build,
            ),
            smoke_run: ProcessLimits::of(
                SMOKE_TRAIN_TIMEOUT.max(SMOKE_PREDICT_TIMEOUT),
                OutputCap::DEFAULT,
                &self.isolation,
                Phase::Train,
            ),
        })
    }

    fn libtorch_version(&self) -> Option<String> {
        self.toolchain.as_ref().map(|t| t.libtorch.version.clone())
    }

    fn trainer(&self) -> Option<&dyn Trainer> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::super::program_step::OUTPUTS_NEED;
    use super::*;
    use crate::diagnostics::limits::{self, SmokeLimits};
    use crate::taxonomy::Category;

    /// The smoke run and training's disk limit is far beyond what the task writes, so a breach
    /// of it is the program's `out-of-disk` (methodology L2).
    #[test]
    fn a_training_disk_breach_is_charged_to_the_program() {
        let limit = crate::sandbox::Limits::for_phase(Phase::Train).disk;
        assert!(limit >= OUTPUTS_NEED * limits::CLEAR_MARGIN);
        let error = limits::program_out_of_disk(limit + 1, limit, OUTPUTS_NEED);
        assert_eq!(error.category, Category::OutOfDisk);
    }

    /// Methodology L3 with this target's limits: a smoke step that runs out of time is the
    /// program's (15 and 5 minutes are ten times what the reference needs); one killed at the
    /// training memory limit is the program's only where that limit is ten times the 4 GiB the
    /// reference needs, which a 24 GiB machine's three quarters is not.
    #[test]
    fn smoke_timeouts_are_the_programs_and_memory_kills_depend_on_the_machine() {
        let train = crate::sandbox::Limits::for_phase(Phase::Train);
        let bound = SmokeLimits::of(SMOKE_TRAIN_TIMEOUT, Some(&train));
        let timeout = ErrorRecord::new(Category::Timeout, "did not finish");
        let charged = limits::smoke_limit_breach(timeout.clone(), bound, SMOKE_TRAIN_NEEDS);
        assert_eq!(charged.category, Category::Timeout);
        let predict = SmokeLimits::of(SMOKE_PREDICT_TIMEOUT, Some(&train));
        let charged = limits::smoke_limit_breach(timeout, predict, SMOKE_PREDICT_NEEDS);
        assert_eq!(charged.category, Category::Timeout);

        let oom = ErrorRecord::new(Category::OutOfMemory, "killed");
        let machine = |gib: u64| SmokeLimits {
            seconds: 900,
            memory: Some((gib << 30) / 4 * 3),
        };
        let small = limits::smoke_limit_breach(oom.clone(), machine(24), SMOKE_TRAIN_NEEDS);
        assert_eq!(small.category, Category::InfraLimit);
        let big = limits::smoke_limit_breach(oom, machine(64), SMOKE_TRAIN_NEEDS);
        assert_eq!(big.category, Category::OutOfMemory);
    }

    /// The crates and versions the prompt offers are exactly the vendored allow-list.
    #[test]
    fn the_prompt_offers_exactly_the_vendored_crates() {
        let prompt = RustTchUnet::templates_only().initial;
        let mut offered: Vec<(String, String)> = Vec::new();
        for line in prompt.lines() {
            let Some(rest) = line.strip_prefix("- `") else {
                continue;
            };
            let Some((name, versions)) = rest.split_once("` ") else {
                continue;
            };
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                continue;
            }
            let versions = versions.split(" (").next().unwrap_or("");
            for version in versions
                .split([',', ' '])
                .filter(|v| !v.is_empty() && v.chars().next().is_some_and(|c| c.is_ascii_digit()))
            {
                offered.push((name.to_string(), version.to_string()));
            }
        }
        let mut vendored: Vec<(String, String)> = crate::toolchain::ALLOWED_CRATES
            .iter()
            .map(|c| (c.name.to_string(), c.version.to_string()))
            .collect();
        offered.sort();
        vendored.sort();
        assert_eq!(offered, vendored);
    }

    #[test]
    fn the_contract_names_the_files_the_prompt_asks_for() {
        let prompt = RustTchUnet::templates_only().initial;
        for name in [
            BINARY,
            WEIGHTS_FILE,
            super::super::unet_outputs::TRAIN_LOSSES,
            super::super::unet_outputs::VAL_LOSSES,
            super::super::unet_outputs::VALIDATION_DICE,
            super::super::unet_outputs::TEST_DICE,
            super::super::unet_outputs::LOSS_PLOT,
            super::super::unet_outputs::PREDICTIONS_FIGURE,
            "--data-dir",
            "--out-dir",
            "--epochs",
            "--weights",
            "--images-dir",
        ] {
            assert!(prompt.contains(name), "the prompt never mentions {name}");
        }
    }
}
