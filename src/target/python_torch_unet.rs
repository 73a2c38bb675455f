//! `python-torch-unet`: the study's task in its own language, Python and PyTorch, so that one LLM
//! can be compared in Rust and in Python on the same loop, sandbox, recording and Dice.
//!
//! The prompt is the study's, verbatim, with only what an unattended run needs added (the
//! command lines, the weights' name, the packages installed). The "build" is a syntax check of
//! every file and an import of every module; the smoke run is the Rust target's (one epoch on
//! the smoke set, the study's Excel files checked, then a prediction per image). Feedback is the
//! study's: the error as it was printed. Everything runs in the sandbox with the provisioned
//! environment (`harness setup --python`) and its base interpreter read-only, the GPU hidden
//! (the Rust target's libtorch is CPU-only too), no network.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::diagnostics::limits::{smoke_limit_breach, SmokeLimits, SmokeNeeds};
use crate::diagnostics::python::classify_python_run;
use crate::diagnostics::{normalise, CACHE_PLACEHOLDER};
use crate::error_chain::error_chain;
use crate::exec::{OutputCap, ProcessSpec};
use crate::hashing::sha256_hex;
use crate::prompt::Templates;
use crate::sandbox::{Isolation, Phase};
use crate::taxonomy::{Category, ErrorRecord};
use crate::toolchain::PythonEnv;
use crate::workspace::Workspace;

use super::program_step::{predict_step, smoke_run, train_step, Runner, SmokeBudget};
use super::unet_outputs::{
    check_predictions, check_training_outputs_of, TrainingOutputs, PYTHON_OUTPUTS,
};
use super::{
    BuildOutcome, BuiltProgram, ProcessLimits, RunOutcome, Target, TargetLimits, TrainStep, Trainer,
};

/// What messages show instead of the base interpreter's folder (it differs between machines).
const PYTHON_PLACEHOLDER: &str = "$PYTHON";

/// The target's id.
pub const PYTHON_TARGET: &str = "python-torch-unet";
const CHECK_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const SMOKE_TRAIN_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const SMOKE_PREDICT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// What the reference program's smoke steps need on two cores (methodology L3), rounded up
/// from `/usr/bin/time -v` on `reference/unet-torch-program` (load average 3 to 4): training one
/// epoch on the smoke set took 35.5 CPU seconds (28 s of wall time) and 2.4 GiB at its peak;
/// predicting took 11.6 CPU seconds (8 s) and 0.8 GiB. The same bounds as the Rust target's.
/// What the check of the reference program needs (methodology L3 applies to it as to the smoke
/// run: it runs the program's module-level code): `/usr/bin/time -v` gave 4.4 CPU seconds (5.2 s
/// of wall time) and 672 MiB, mostly importing torch.
const CHECK_NEEDS: SmokeNeeds = SmokeNeeds {
    seconds: 10,
    memory: 1 << 30,
};
const SMOKE_TRAIN_NEEDS: SmokeNeeds = SmokeNeeds {
    seconds: 60,
    memory: 4 << 30,
};
const SMOKE_PREDICT_NEEDS: SmokeNeeds = SmokeNeeds {
    seconds: 30,
    memory: 2 << 30,
};

/// The build step: every `.py` file compiled, then every module imported (module-level code
/// runs, `if __name__ == "__main__":` does not). A failure prints its traceback and exits 1,
/// without the check's own frames and importlib's in front of the program's (methodology C7:
/// feedback is what the program said): a syntax error reads as `python main.py` prints it.
const CHECK: &str = r#"import importlib, pathlib, sys, traceback
sys.dont_write_bytecode = True
sys.path.insert(0, ".")


def program_frames(tb):
    while tb is not None and (tb.tb_frame.f_code.co_filename == "<string>" or "importlib" in tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return tb


try:
    names = sorted(p.name for p in pathlib.Path(".").glob("*.py"))
    for name in names:
        compile(pathlib.Path(name).read_text(encoding="utf-8"), name, "exec")
    stems = [n[:-3] for n in names]
    for stem in ["dataset", "model", "train", "main"] + [s for s in stems if s not in ("dataset", "model", "train", "main")]:
        if stem in stems:
            importlib.import_module(stem)
except Exception as error:
    traceback.print_exception(type(error), error, program_frames(error.__traceback__))
    sys.exit(1)
"#;

/// The `python-torch-unet` target.
#[derive(Debug)]
pub struct PythonTorchUnet {
    templates: Templates,
    /// The environment's interpreter (`bin/python`); absent only for `templates_only`.
    python: Option<PathBuf>,
    /// Folders shown by a placeholder in every message of the program: the harness's cache
    /// and the base interpreter's installation.
    hidden: Vec<(PathBuf, &'static str)>,
    isolation: Isolation,
}

impl PythonTorchUnet {
    /// The target, running programs with `env`'s interpreter through `isolation`.
    pub fn new(env: &PythonEnv, cache: PathBuf, isolation: Isolation) -> Self {
        let isolation = isolation.with_sandbox(|sandbox| {
            sandbox
                .read_only(&env.dir)
                .read_only(&env.record.base_prefix)
                .gpu(false)
        });
        PythonTorchUnet {
            templates: Self::templates_only(),
            python: Some(env.python()),
            hidden: vec![
                (cache, CACHE_PLACEHOLDER),
                (PathBuf::from(&env.record.base_prefix), PYTHON_PLACEHOLDER),
            ],
            isolation,
        }
    }

    /// The templates alone, for reading hashes without an environment.
    pub fn templates_only() -> Templates {
        Templates {
            initial: include_str!("../../prompts/python-torch-unet/prompt.md"),
            feedback_reply: include_str!("../../prompts/python-torch-unet/feedback-reply.md"),
            feedback_compile: include_str!("../../prompts/python-torch-unet/feedback-compile.md"),
            feedback_runtime: include_str!("../../prompts/python-torch-unet/feedback-runtime.md"),
        }
    }

    fn python(&self) -> &Path {
        self.python
            .as_deref()
            .unwrap_or_else(|| Path::new("python3"))
    }

    /// The interpreter in the program's folder, with the settings every run gets: no bytecode
    /// written, plots to files, no GPU.
    fn spec(&self, root: &Path, timeout: Duration) -> ProcessSpec {
        ProcessSpec::new(self.python().as_os_str(), root)
            .arg("-B")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .env("MPLBACKEND", "Agg")
            .env("MPLCONFIGDIR", "/tmp/matplotlib")
            .env("CUDA_VISIBLE_DEVICES", "")
            // The sandbox's user has no passwd entry: `getpass.getuser()` (torch's caches ask
            // for it) reads these first.
            .env("USER", "sandbox")
            .env("LOGNAME", "sandbox")
            .env("TORCHINDUCTOR_CACHE_DIR", "/tmp/torchinductor")
            .timeout(timeout)
            .output_cap(OutputCap::DEFAULT)
    }

    /// How its program runs: `python -B main.py` in the program's folder, tracebacks read.
    fn runner<'a>(
        &'a self,
        workspace: &'a Workspace,
        _program: &BuiltProgram,
        timeout: Duration,
        hidden: &'a [(&'a Path, &'a str)],
    ) -> Runner<'a> {
        Runner {
            command: self.spec(workspace.root(), timeout).arg("main.py"),
            isolation: &self.isolation,
            root: workspace.root(),
            hidden,
            classify: classify_python_run,
        }
    }

    fn hidden(&self) -> Vec<(&Path, &str)> {
        self.hidden
            .iter()
            .map(|(dir, placeholder)| (dir.as_path(), *placeholder))
            .collect()
    }
}

/// The program's identity: a SHA-256 over its Python files' names and contents, in name order.
fn program_hash(root: &Path) -> std::io::Result<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)?
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".py"))
        .collect();
    names.sort();
    let mut listing = Vec::new();
    for name in names {
        let bytes = std::fs::read(root.join(&name))?;
        listing.extend_from_slice(format!("{name} {}\n", sha256_hex(&bytes)).as_bytes());
    }
    Ok(sha256_hex(&listing))
}

impl Trainer for PythonTorchUnet {
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
            &out_dir.join(PYTHON_OUTPUTS.weights),
            images_dir,
            pred_dir,
        )
    }

    fn check_outputs(&self, out_dir: &Path, epochs: Option<u32>) -> TrainingOutputs {
        check_training_outputs_of(out_dir, epochs.map(|e| e as usize), &PYTHON_OUTPUTS)
    }

    fn check_predictions(&self, images_dir: &Path, pred_dir: &Path) -> Vec<ErrorRecord> {
        check_predictions(images_dir, pred_dir)
    }
}

impl Target for PythonTorchUnet {
    fn id(&self) -> &'static str {
        PYTHON_TARGET
    }

    fn templates(&self) -> &Templates {
        &self.templates
    }

    fn expected_files(&self) -> &[&'static str] {
        &["dataset.py", "model.py", "train.py", "main.py"]
    }

    fn required_files(&self) -> &[&'static str] {
        &["main.py"]
    }

    fn owned_files(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// The syntax and import check of every module (the study's people saw these errors
    /// first too, when the program started).
    fn build(&self, workspace: &Workspace, _iteration: u32) -> BuildOutcome {
        let started = Instant::now();
        let root = workspace.root();
        let done = |errors: Vec<ErrorRecord>, program: Option<BuiltProgram>| BuildOutcome {
            errors,
            warnings: 0,
            program,
            duration: started.elapsed(),
        };
        let spec = self.spec(root, CHECK_TIMEOUT).arg("-c").arg(CHECK);
        let confined = match self.isolation.run(&spec, Phase::Build) {
            Ok(confined) => confined,
            Err(error) => {
                let category = match self.isolation {
                    Isolation::Sandboxed(_) => Category::InfraSandbox,
                    Isolation::Unconfined => Category::InfraHarness,
                };
                return done(vec![ErrorRecord::new(category, error_chain(&error))], None);
            }
        };
        let output = confined.output;
        let mut hidden = vec![(root, "")];
        hidden.extend(self.hidden());
        let stderr = normalise(&output.stderr, &hidden);
        if let Some(error) = classify_python_run(&output.exit, &stderr) {
            // A time or memory kill is the program's only where the limit is far above what
            // the reference needs (L3); otherwise it is the harness's limit.
            let bound = SmokeLimits::under(&self.isolation, CHECK_TIMEOUT, Phase::Build);
            return done(vec![smoke_limit_breach(error, bound, CHECK_NEEDS)], None);
        }
        match program_hash(root) {
            Ok(sha256) => done(
                Vec::new(),
                Some(BuiltProgram {
                    path: root.join("main.py"),
                    sha256,
                }),
            ),
            Err(error) => done(
                vec![ErrorRecord::new(
                    Category::InfraHarness,
                    format!("could not read the program's files: {error}"),
                )],
                None,
            ),
        }
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
                CHECK_TIMEOUT,
                OutputCap::DEFAULT,
                &self.isolation,
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

    fn trainer(&self) -> Option<&dyn Trainer> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// L3 on the check: with the sandbox's build limits, a timeout is the program's (300 s is
    /// far above the reference's 10), and a memory kill is charged only where the limit is ten
    /// times the reference's 1 GiB.
    #[test]
    fn a_check_killed_at_a_limit_is_charged_only_far_above_the_references_needs() {
        let timeout = ErrorRecord::new(Category::Timeout, "the program did not finish");
        let bound = SmokeLimits {
            seconds: CHECK_TIMEOUT.as_secs(),
            memory: Some(16 << 30),
        };
        assert_eq!(
            smoke_limit_breach(timeout, bound, CHECK_NEEDS).category,
            Category::Timeout
        );
        let oom = ErrorRecord::new(Category::OutOfMemory, "killed");
        let small = SmokeLimits {
            seconds: CHECK_TIMEOUT.as_secs(),
            memory: Some(4 << 30),
        };
        assert_eq!(
            smoke_limit_breach(oom, small, CHECK_NEEDS).category,
            Category::InfraLimit
        );
    }

    #[test]
    fn the_program_hash_covers_every_python_file_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.py"), "print(1)\n").unwrap();
        let one = program_hash(dir.path()).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        assert_eq!(program_hash(dir.path()).unwrap(), one);
        std::fs::write(dir.path().join("model.py"), "x = 1\n").unwrap();
        assert_ne!(program_hash(dir.path()).unwrap(), one);
    }

    #[test]
    fn the_prompt_is_the_studys_with_the_additions_after_it() {
        let prompt = PythonTorchUnet::templates_only().initial;
        let study = "provide a complete ready-to-run Python implementation for a U-Net architecture using PyTorch";
        assert!(prompt.starts_with(study));
        assert!(prompt.contains("python main.py train --data-dir DATA --out-dir OUT"));
        assert!(prompt.contains("model_state_dict.pth"));
        for module in ["dataset", "model", "train", "main"] {
            assert!(prompt.contains(&format!("{module}.py")), "{module}");
        }
    }
}
