//! Builds a generated Rust crate with cargo and keeps an exact copy of the program it built.
//!
//! Cargo decides freshness from modification times. The workspace rewrites every file before a
//! build, so cargo must compile the binary again; should it report the binary as fresh anyway
//! (timestamps within one clock tick), the files are touched once more and the build repeated,
//! and if it still reuses the old binary the outcome is a harness failure, never a silent run
//! of a program built from other files.
//!
//! The build runs through the target's `Isolation` (the sandbox, as `Phase::Build`): build
//! scripts and proc macros are generated code too. Afterwards the crate folder is hostile: the
//! program is read from it and its copy written without following any link.
//!
//! A shared warm target folder (the tch target's) is shown to a sandboxed build copy-on-write:
//! the build reuses every warm unit, writes only into its crate's own layer (kept for the
//! crate's next build, as its crate folder is), and the program is read back from that layer.
//! Nothing a build does reaches the shared folder or another crate's build. Unconfined
//! (`--no-sandbox`), the build writes straight into the shared folder, as a trusted build would.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::atomic_file::write_executable_atomically;
use crate::diagnostics::limits;
use crate::diagnostics::{parse_cargo_build_hiding, Artifact, CACHE_PLACEHOLDER};
use crate::error_chain::error_chain;
use crate::exec::{OutputCap, ProcessSpec};
use crate::hashing::sha256_hex;
use crate::sandbox::{Isolation, Layer, Phase, SandboxError};
use crate::taxonomy::{Category, ErrorRecord};
use crate::workspace::Workspace;

use super::{BuildOutcome, BuiltProgram};

/// Where build products go, inside the crate folder.
pub(crate) const TARGET_DIR: &str = "target";
/// What is kept of cargo's output: its JSON messages can be many.
pub(crate) const BUILD_OUTPUT: OutputCap = OutputCap::total(8 << 20);
/// Where the copies of each iteration's program go, inside the target folder.
const PROGRAMS_DIR: &str = "harness-programs";

/// A cargo build of a workspace's crate, and the copy of the program it keeps.
pub struct CargoBuild<'a> {
    /// The binary target to run when the crate has several.
    pub preferred_bin: &'a str,
    pub timeout: Duration,
    pub isolation: &'a Isolation,
    /// A shared warm target folder (the tch target's); `None` builds into the crate's own.
    pub shared_target: Option<SharedTarget<'a>>,
}

/// A target folder many crates build into, warmed by a trusted build. Sandboxed builds see it
/// copy-on-write, with their layers in `layers` (a folder of the harness's, outside it).
#[derive(Debug, Clone, Copy)]
pub struct SharedTarget<'a> {
    pub dir: &'a Path,
    pub layers: &'a Path,
    /// The harness's cache folder the shared build lives in: shown as `CACHE_PLACEHOLDER` in
    /// every message, so feedback is the same on every machine.
    pub cache: &'a Path,
}

impl CargoBuild<'_> {
    /// Builds the crate as it is on disk; `iteration` names the copy of the program.
    pub fn run(&self, workspace: &Workspace, iteration: u32) -> BuildOutcome {
        let started = std::time::Instant::now();
        let mut outcome = self.once(workspace, iteration);
        if matches!(&outcome, Attempt::Stale) {
            // One clock tick too close to the previous build: make every source newer, retry.
            if let Err(error) = touch_sources(workspace.root(), Duration::from_secs(1)) {
                return infra(
                    Category::InfraHarness,
                    format!("could not touch the crate's files: {error}"),
                    started,
                );
            }
            outcome = self.once(workspace, iteration);
        }
        match outcome {
            Attempt::Done(mut build) => {
                build.duration = started.elapsed();
                build
            }
            Attempt::Stale => infra(
                Category::InfraHarness,
                "cargo reused a binary built from earlier files; the build cache is inconsistent"
                    .to_string(),
                started,
            ),
        }
    }

    fn once(&self, workspace: &Workspace, iteration: u32) -> Attempt {
        let started = std::time::Instant::now();
        let root = workspace.root();
        let copy_on_write;
        let isolation = match (self.isolation, self.shared_target) {
            (Isolation::Sandboxed(sandbox), Some(shared)) => {
                copy_on_write = Isolation::Sandboxed(Box::new(
                    sandbox
                        .as_ref()
                        .clone()
                        .copy_on_write(shared.dir, shared.layers),
                ));
                &copy_on_write
            }
            (isolation, _) => isolation,
        };
        let spec = ProcessSpec::new("cargo", root)
            .arg("build")
            .arg("--offline")
            .arg("--message-format=json")
            .arg("--color=never")
            .env(
                "CARGO_TARGET_DIR",
                self.shared_target
                    .map_or_else(|| root.join(TARGET_DIR), |shared| shared.dir.to_path_buf())
                    .to_string_lossy(),
            )
            .env("CARGO_TERM_COLOR", "never")
            .timeout(self.timeout)
            .output_cap(BUILD_OUTPUT);
        let mut hidden: Vec<(&Path, &str)> = vec![(root, "")];
        if let Some(shared) = &self.shared_target {
            hidden.push((shared.cache, CACHE_PLACEHOLDER));
        }
        let (output, disk_exceeded, layer) = match isolation.run(&spec, Phase::Build) {
            Ok(confined) => (confined.output, confined.disk_exceeded, confined.layer),
            Err(error) => return Attempt::Done(not_started(isolation, &error, started)),
        };
        if let Some(grown) = disk_exceeded {
            // Whatever the build wrote is suspect and big: the next build starts cold.
            discard_build_cache(root);
            if let Some(layer) = layer {
                layer.discard();
            }
            // A harness limit (methodology L1); the end of cargo's output shows what was being
            // built, and the sandbox's note on the limit.
            let limit = isolation
                .sandbox()
                .map_or(grown, |sandbox| sandbox.limits_for(Phase::Build).disk);
            let mut error = limits::build_out_of_disk(grown, limit);
            error.rendered = Some(crate::diagnostics::normalise(
                &tail(&output.stderr, 60),
                &hidden,
            ));
            return Attempt::Done(BuildOutcome {
                errors: vec![error],
                warnings: 0,
                program: None,
                duration: started.elapsed(),
            });
        }
        if output.exit.timed_out {
            // A harness limit (methodology L1), never the program's runtime timeout.
            return Attempt::Done(BuildOutcome {
                errors: vec![limits::build_timed_out(self.timeout)],
                warnings: 0,
                program: None,
                duration: started.elapsed(),
            });
        }
        let report = parse_cargo_build_hiding(&output.stdout, &output.stderr, &hidden);
        let mut errors = report.errors;
        if !report.success || !output.success() {
            if errors.is_empty() {
                let mut error = ErrorRecord::new(Category::OtherCompile, "cargo build failed");
                error.rendered = Some(crate::diagnostics::normalise(
                    &tail(&output.stderr, 60),
                    &hidden,
                ));
                errors.push(error);
            }
            return Attempt::Done(BuildOutcome {
                errors,
                warnings: report.warnings,
                program: None,
                duration: started.elapsed(),
            });
        }
        let Some(artifact) = pick_binary(&report.artifacts, self.preferred_bin) else {
            let mut error = ErrorRecord::new(
                Category::OtherCompile,
                "the package built, but it has no binary target to run",
            );
            error.rendered = Some(error.message.clone());
            return Attempt::Done(BuildOutcome {
                errors: vec![error],
                warnings: report.warnings,
                program: None,
                duration: started.elapsed(),
            });
        };
        if artifact.fresh {
            return Attempt::Stale;
        }
        let Some(executable) = &artifact.executable else {
            return Attempt::Stale;
        };
        let shared = self.shared_target.map(|shared| shared.dir);
        match keep_copy(executable, workspace, iteration, shared, layer.as_ref()) {
            Ok(program) => Attempt::Done(BuildOutcome {
                errors: Vec::new(),
                warnings: report.warnings,
                program: Some(program),
                duration: started.elapsed(),
            }),
            Err(error) => Attempt::Done(infra(
                Category::InfraHarness,
                format!("could not keep a copy of the built program: {error}"),
                started,
            )),
        }
    }
}

enum Attempt {
    Done(BuildOutcome),
    /// Cargo reported the binary fresh although every file was just rewritten.
    Stale,
}

/// The build never started: the sandbox failed, or cargo is missing. Not the LLM's fault.
fn not_started(
    isolation: &Isolation,
    error: &SandboxError,
    started: std::time::Instant,
) -> BuildOutcome {
    let toolchain = matches!(error, SandboxError::ProgramMissing { .. })
        || matches!(
            (isolation, error),
            (Isolation::Unconfined, SandboxError::Exec(_))
        );
    if toolchain {
        return infra(
            Category::InfraToolchain,
            format!(
                "{} (is the Rust toolchain installed and on PATH?)",
                error_chain(error)
            ),
            started,
        );
    }
    infra(Category::InfraSandbox, error_chain(error), started)
}

/// Removes the crate's build folder (the program copies included), links removed as links.
pub(crate) fn discard_build_cache(root: &Path) {
    let target = root.join(TARGET_DIR);
    match std::fs::symlink_metadata(&target) {
        Ok(meta) if meta.is_dir() => {
            let _ = std::fs::remove_dir_all(&target);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(&target);
        }
        Err(_) => {}
    }
}

fn infra(category: Category, message: String, started: std::time::Instant) -> BuildOutcome {
    BuildOutcome {
        errors: vec![ErrorRecord::new(category, message)],
        warnings: 0,
        program: None,
        duration: started.elapsed(),
    }
}

fn pick_binary<'a>(artifacts: &'a [Artifact], preferred: &str) -> Option<&'a Artifact> {
    let bins: Vec<&Artifact> = artifacts
        .iter()
        .filter(|a| a.kinds.iter().any(|k| k == "bin") && a.executable.is_some())
        .collect();
    bins.iter()
        .find(|a| a.target_name == preferred)
        .or_else(|| bins.first())
        .copied()
}

/// Copies the program out of the build folder (another crate with the same package name would
/// overwrite it in a shared one) and hashes the copy: the copy is what runs. The build was
/// untrusted: the program is read without following links, from the crate folder or from the
/// build's own copy-on-write layer over the shared folder, never from anywhere else.
fn keep_copy(
    executable: &Path,
    workspace: &Workspace,
    iteration: u32,
    shared_target: Option<&Path>,
    layer: Option<&Layer>,
) -> std::io::Result<BuiltProgram> {
    let root = workspace.root();
    let in_shared = shared_target.is_some_and(|dir| executable.starts_with(dir));
    let bytes = match (in_shared, layer) {
        (true, Some(layer)) => layer.read(executable, u64::MAX)?.ok_or_else(|| {
            std::io::Error::other(format!(
                "cargo reported the program at {}, but it is not in the crate's own layer",
                executable.display()
            ))
        })?,
        // Unconfined (`--no-sandbox`): the build wrote straight into the shared folder.
        (true, None) => std::fs::read(executable)?,
        (false, _) => {
            let relative = executable.strip_prefix(root).map_err(|_| {
                std::io::Error::other(format!(
                    "cargo reported the program at {}, outside the crate folder",
                    executable.display()
                ))
            })?;
            workspace
                .read_inside(relative, u64::MAX)
                .map_err(std::io::Error::other)?
                .ok_or_else(|| std::io::Error::other("the program cargo reported is not there"))?
        }
    };
    let dir = workspace
        .path_inside(Path::new(TARGET_DIR).join(PROGRAMS_DIR))
        .map_err(std::io::Error::other)?;
    std::fs::create_dir_all(&dir)?;
    let name = executable
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "program".to_string());
    let path: PathBuf = dir.join(format!("iteration-{iteration}-{name}"));
    // Mode 0755 whatever the umask: the sandbox's unprivileged uid must be able to run it.
    write_executable_atomically(&path, &bytes)?;
    Ok(BuiltProgram {
        path,
        sha256: sha256_hex(&bytes),
    })
}

/// Sets every file outside the target folder to a modification time `ahead` in the future.
fn touch_sources(root: &Path, ahead: Duration) -> std::io::Result<()> {
    let when = SystemTime::now() + ahead;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() && entry.file_name() != TARGET_DIR {
                stack.push(entry.path());
            } else if kind.is_file() {
                std::fs::File::options()
                    .write(true)
                    .open(entry.path())?
                    .set_modified(when)?;
            }
        }
    }
    Ok(())
}

/// The last `lines` lines of `text`.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
