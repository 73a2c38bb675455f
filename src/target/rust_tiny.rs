//! `rust-tiny`: a small plain-Rust program (integer statistics), for testing the loop itself.
//!
//! It builds in well under a second with no dependencies, yet has the same shape as the real
//! targets: several files, a command line, an input with traps (blank lines, comments,
//! whitespace, negative numbers) and an output file whose content the harness checks against
//! values it computes itself.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::diagnostics::limits::{SmokeLimits, SmokeNeeds};
use crate::diagnostics::{classify_run, hide_paths, limits, normalise};
use crate::error_chain::error_chain;
use crate::exec::{OutputCap, ProcessSpec};
use crate::prompt::Templates;
use crate::sandbox::{Isolation, Phase};
use crate::taxonomy::{Category, ErrorRecord};
use crate::workspace::Workspace;

use super::cargo::{discard_build_cache, CargoBuild, BUILD_OUTPUT, TARGET_DIR};
use super::{
    BuildOutcome, BuiltProgram, ProcessLimits, ProgramOutput, RunOutcome, Target, TargetLimits,
};

/// The smoke input: every trap the prompt mentions.
const SMOKE_INPUT: &str =
    "# numbers for the smoke run\n12\n-7\n\n  40  \n5\n   # an indented comment\n100\n";
/// Where the smoke input and output go, inside the target folder (so paths in messages are
/// relative to the crate and the same on every machine).
const SMOKE_DIR: &str = "harness-smoke";
/// A build's time limit: it takes about a second.
const BUILD_TIMEOUT: Duration = Duration::from_secs(120);
/// The smoke run's time limit.
const SMOKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of `summary.txt` the harness reads.
const SUMMARY_LIMIT: u64 = 64 << 10;
/// The most disk the task's outputs can need (one short `summary.txt`): a program that writes
/// many times more is charged for it (methodology L2).
const OUTPUTS_NEED: u64 = 1 << 20;
/// What the smoke run needs at most (methodology L3): summing a few numbers takes
/// milliseconds and a few MiB; 1 s and 64 MiB are generous bounds.
const SMOKE_NEEDS: SmokeNeeds = SmokeNeeds {
    seconds: 1,
    memory: 64 << 20,
};

const OWNED_CARGO_CONFIG: &str = "\
# Written by the harness; replies cannot change it.
[net]
offline = true
";

/// The `rust-tiny` target.
#[derive(Debug)]
pub struct RustTiny {
    templates: Templates,
    isolation: Isolation,
    build_timeout: Duration,
}

impl RustTiny {
    /// The target, building and running generated code through `isolation`.
    pub fn new(isolation: Isolation) -> Self {
        RustTiny {
            isolation,
            build_timeout: BUILD_TIMEOUT,
            templates: Templates {
                initial: include_str!("../../prompts/rust-tiny/prompt.md"),
                feedback_reply: include_str!("../../prompts/rust-tiny/feedback-reply.md"),
                feedback_compile: include_str!("../../prompts/rust-tiny/feedback-compile.md"),
                feedback_runtime: include_str!("../../prompts/rust-tiny/feedback-runtime.md"),
            },
        }
    }
}

impl RustTiny {
    /// The same target with another time limit for builds.
    pub fn with_build_timeout(mut self, timeout: Duration) -> Self {
        self.build_timeout = timeout;
        self
    }
}

impl Target for RustTiny {
    fn id(&self) -> &'static str {
        "rust-tiny"
    }

    fn templates(&self) -> &Templates {
        &self.templates
    }

    fn expected_files(&self) -> &[&'static str] {
        &["Cargo.toml", "src/main.rs", "src/stats.rs"]
    }

    fn owned_files(&self) -> Vec<(String, String)> {
        vec![(
            ".cargo/config.toml".to_string(),
            OWNED_CARGO_CONFIG.to_string(),
        )]
    }

    fn build(&self, workspace: &Workspace, iteration: u32) -> BuildOutcome {
        CargoBuild {
            preferred_bin: "stats",
            timeout: self.build_timeout,
            isolation: &self.isolation,
            shared_target: None,
        }
        .run(workspace, iteration)
    }

    fn isolation(&self) -> &Isolation {
        &self.isolation
    }

    fn limits(&self) -> Option<TargetLimits> {
        Some(TargetLimits {
            build: ProcessLimits::of(
                self.build_timeout,
                BUILD_OUTPUT,
                &self.isolation,
                Phase::Build,
            ),
            smoke_run: ProcessLimits::of(
                SMOKE_TIMEOUT,
                OutputCap::DEFAULT,
                &self.isolation,
                Phase::Run,
            ),
        })
    }

    fn smoke_run(&self, workspace: &Workspace, program: &BuiltProgram) -> RunOutcome {
        let started = std::time::Instant::now();
        let root = workspace.root();
        let failure = |category, message: String| RunOutcome {
            exit: Default::default(),
            errors: vec![ErrorRecord::new(category, message)],
            duration: started.elapsed(),
            output: None,
        };
        let smoke = match prepare_smoke(workspace) {
            Ok(smoke) => smoke,
            Err(error) => {
                return failure(
                    Category::InfraHarness,
                    format!("could not prepare the smoke input: {error}"),
                )
            }
        };
        let out_dir = Path::new(TARGET_DIR).join(SMOKE_DIR).join("out");
        let spec = ProcessSpec::new(program.path.as_os_str(), root)
            .arg("--input")
            .arg(smoke.join("numbers.txt"))
            .arg("--out-dir")
            .arg(root.join(&out_dir))
            .env("RUST_BACKTRACE", "0")
            .timeout(SMOKE_TIMEOUT)
            .output_cap(OutputCap::DEFAULT);
        let confined = match self.isolation.run(&spec, Phase::Run) {
            Ok(confined) => confined,
            Err(error) => {
                let category = match self.isolation {
                    Isolation::Sandboxed(_) => Category::InfraSandbox,
                    Isolation::Unconfined => Category::InfraHarness,
                };
                return failure(category, error_chain(&error));
            }
        };
        let output = confined.output;
        let stderr = normalise(&output.stderr, &[(root, "")]);
        let mut errors: Vec<ErrorRecord> = Vec::new();
        if let Some(grown) = confined.disk_exceeded {
            // What it wrote is junk, and big: the crate's build folder goes (next build cold).
            discard_build_cache(root);
            let limit = self
                .isolation
                .sandbox()
                .map_or(grown, |sandbox| sandbox.limits_for(Phase::Run).disk);
            let mut error = limits::program_out_of_disk(grown, limit, OUTPUTS_NEED);
            // Its stderr ends with the sandbox's note on the limit.
            error.rendered = Some(stderr.clone());
            errors.push(error);
        } else {
            let bound = SmokeLimits::under(&self.isolation, SMOKE_TIMEOUT, Phase::Run);
            errors.extend(
                classify_run(&output.exit, &stderr)
                    .map(|error| limits::smoke_limit_breach(error, bound, SMOKE_NEEDS)),
            );
        }
        if errors.is_empty() {
            errors.extend(check_summary(workspace, &out_dir, SMOKE_INPUT));
        }
        RunOutcome {
            exit: output.exit,
            errors,
            duration: started.elapsed(),
            // The program's words as they were, without this machine's folders.
            output: Some(ProgramOutput {
                stdout: hide_paths(&output.stdout, &[(root, "")]),
                stderr: hide_paths(&output.stderr, &[(root, "")]),
            }),
        }
    }
}

/// A fresh smoke folder with the input; whatever a program left there (links included) goes.
fn prepare_smoke(workspace: &Workspace) -> Result<PathBuf, crate::workspace::WorkspaceError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| crate::workspace::WorkspaceError::Io { path, source }
    };
    let target = workspace.path_inside(TARGET_DIR)?;
    std::fs::create_dir_all(&target).map_err(io(&target))?;
    let smoke = target.join(SMOKE_DIR);
    match std::fs::symlink_metadata(&smoke) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&smoke).map_err(io(&smoke))?,
        Ok(_) => std::fs::remove_file(&smoke).map_err(io(&smoke))?,
        Err(_) => {}
    }
    std::fs::create_dir(&smoke).map_err(io(&smoke))?;
    let input = smoke.join("numbers.txt");
    std::fs::write(&input, SMOKE_INPUT).map_err(io(&input))?;
    Ok(smoke)
}

/// The four values the program must write, computed by the harness.
fn expected_summary(input: &str) -> [(&'static str, String); 4] {
    let numbers: Vec<i64> = input
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.parse().ok())
        .collect();
    let show = |v: Option<&i64>| v.map_or("none".to_string(), i64::to_string);
    [
        ("count", numbers.len().to_string()),
        ("sum", numbers.iter().sum::<i64>().to_string()),
        ("min", show(numbers.iter().min())),
        ("max", show(numbers.iter().max())),
    ]
}

/// Checks `summary.txt` (in `out_dir`, relative to the crate) against the harness's own values.
fn check_summary(workspace: &Workspace, out_dir: &Path, input: &str) -> Option<ErrorRecord> {
    let failure = |category, message: String| {
        let mut error = ErrorRecord::new(category, message);
        error.file = Some("summary.txt".to_string());
        error.rendered = Some(error.message.clone());
        Some(error)
    };
    // The program may have planted a link (or a FIFO) there: never follow it, never block.
    let bytes = match workspace.read_inside(out_dir.join("summary.txt"), SUMMARY_LIMIT) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return failure(
            Category::MissingOutput,
            "the program exited successfully but did not write summary.txt in the output folder"
                .to_string(),
        ),
        Err(_) => {
            return failure(
                Category::InvalidOutput,
                "the output summary.txt is not a regular file".to_string(),
            )
        }
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return failure(
            Category::InvalidOutput,
            "summary.txt is not valid UTF-8 text".to_string(),
        );
    };
    for (key, want) in expected_summary(input) {
        let found = text
            .lines()
            .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
            .map(str::trim);
        match found {
            Some(got) if got == want => {}
            Some(got) => {
                return failure(
                    Category::InvalidOutput,
                    format!("summary.txt says {key}={got}, but the input gives {key}={want}"),
                )
            }
            None => {
                return failure(
                    Category::InvalidOutput,
                    format!("summary.txt has no `{key}=` line"),
                )
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smoke run's disk limit is far beyond what the task writes, so a breach of it is the
    /// program's `out-of-disk` (methodology L2).
    #[test]
    fn a_smoke_run_disk_breach_is_charged_to_the_program() {
        let limit = crate::sandbox::Limits::for_phase(Phase::Run).disk;
        assert!(limit >= OUTPUTS_NEED * limits::CLEAR_MARGIN);
        let error = limits::program_out_of_disk(limit + 1, limit, OUTPUTS_NEED);
        assert_eq!(error.category, Category::OutOfDisk);
    }

    /// Methodology L3: the smoke run's 10 s and 4 GiB are ten times what summing numbers needs,
    /// so a timeout or a memory kill there is the program's.
    #[test]
    fn a_smoke_timeout_or_memory_kill_is_charged_to_the_program() {
        let run = crate::sandbox::Limits::for_phase(Phase::Run);
        let bound = SmokeLimits::of(SMOKE_TIMEOUT, Some(&run));
        for category in [Category::Timeout, Category::OutOfMemory] {
            let error = ErrorRecord::new(category, "stopped");
            let charged = limits::smoke_limit_breach(error, bound, SMOKE_NEEDS);
            assert_eq!(charged.category, category);
        }
    }

    #[test]
    fn expected_values_skip_the_traps() {
        let summary = expected_summary(SMOKE_INPUT);
        assert_eq!(summary[0].1, "5");
        assert_eq!(summary[1].1, "150");
        assert_eq!(summary[2].1, "-7");
        assert_eq!(summary[3].1, "100");
        assert_eq!(expected_summary("# none\n")[2].1, "none");
    }

    #[test]
    fn summary_check_catches_missing_wrong_linked_and_good_files() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::reset(dir.path()).unwrap();
        let out = Path::new("out");
        std::fs::create_dir(workspace.root().join(out)).unwrap();
        let check = || check_summary(&workspace, out, SMOKE_INPUT);
        let missing = check().unwrap();
        assert_eq!(missing.category, Category::MissingOutput);

        let summary = workspace.root().join("out/summary.txt");
        std::fs::write(&summary, "count=5\nsum=149\nmin=-7\nmax=100\n").unwrap();
        let wrong = check().unwrap();
        assert_eq!(wrong.category, Category::InvalidOutput);
        assert!(wrong.message.contains("sum=149"), "{}", wrong.message);

        std::fs::write(&summary, "count=5\nsum=150\nmin=-7\nmax=100\n").unwrap();
        assert_eq!(check(), None);

        // A correct summary outside the crate, reached through a planted link, is refused.
        let outside = tempfile::tempdir().unwrap();
        std::fs::rename(&summary, outside.path().join("summary.txt")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("summary.txt"), &summary).unwrap();
        assert_eq!(check().unwrap().category, Category::InvalidOutput);
    }
}
