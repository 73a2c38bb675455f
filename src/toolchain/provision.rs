//! Provisioning: bring every piece into place (libtorch, the vendored crates, the warm build),
//! doing only what is missing, and say what was done, how long it took and what it takes on
//! disk.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::cache::CacheLayout;
use super::config::Toolchain;
use super::disk::disk_usage;
use super::error::ToolchainError;
use super::install::{state, Installed};
use super::libtorch::{self, Libtorch, LibtorchOrigin, LIBTORCH_ENV};
use super::python::find_python;
use super::vendor;
use super::warm::rustc_identity;
use crate::progress::SetupProgress;

/// What happened to one step of a setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// The step ran; the text says what it did.
    Done(String),
    /// Everything was in place already.
    InPlace(String),
}

/// One step of a setup, timed.
#[derive(Debug, Clone)]
pub struct StepReport {
    pub name: &'static str,
    pub outcome: StepOutcome,
    pub duration: Duration,
}

/// What a setup did, step by step.
#[derive(Debug, Clone, Default)]
pub struct SetupReport {
    pub steps: Vec<StepReport>,
}

impl SetupReport {
    pub(super) fn push(&mut self, name: &'static str, outcome: StepOutcome, duration: Duration) {
        self.steps.push(StepReport {
            name,
            outcome,
            duration,
        });
    }

    /// Whether anything had to be done.
    pub fn did_anything(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s.outcome, StepOutcome::Done(_)))
    }
}

/// One piece of the cache and the disk it takes.
#[derive(Debug, Clone)]
pub struct PieceUsage {
    pub name: &'static str,
    pub path: PathBuf,
    pub bytes: u64,
}

impl Toolchain {
    /// Disk use of each piece in the cache (a user's libtorch is not counted: it is theirs).
    pub fn disk_usage(&self) -> Vec<PieceUsage> {
        let mut pieces = Vec::new();
        if self.libtorch.origin == LibtorchOrigin::Harness {
            pieces.push(("libtorch", self.libtorch.dir.clone()));
        }
        pieces.push(("vendored crates", self.vendor_dir.clone()));
        pieces.push(("warm target folder", self.target_dir.clone()));
        pieces
            .into_iter()
            .map(|(name, path)| PieceUsage {
                name,
                bytes: disk_usage(&path),
                path,
            })
            .collect()
    }
}

/// The user's libtorch folder, when the `LIBTORCH` variable names one.
pub fn libtorch_from_env() -> Option<PathBuf> {
    std::env::var_os(LIBTORCH_ENV)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// Makes sure the toolchain is in place in `cache`, provisioning whatever is missing (with
/// progress), and returns it. Honours the user's `LIBTORCH`. Cheap when everything is there:
/// it checks markers and asks `rustc` for its version. This is what the tch target calls on
/// first use.
pub fn ensure(cache: &Path, progress: &SetupProgress) -> Result<Toolchain, ToolchainError> {
    let user = libtorch_from_env();
    provision(cache, user.as_deref(), progress).map(|(toolchain, _)| toolchain)
}

/// Provisions what is missing in `cache`: libtorch (unless `user_libtorch` names the user's,
/// which is checked instead), the vendored crates, the warm build. Holds the cache's lock
/// while it works, so two harnesses never provision at once.
pub fn provision(
    cache: &Path,
    user_libtorch: Option<&Path>,
    progress: &SetupProgress,
) -> Result<(Toolchain, SetupReport), ToolchainError> {
    let layout = CacheLayout::new(cache);
    let mut report = SetupReport::default();
    let _lock = layout.lock()?;
    layout.remove_stale_staging()?;

    let started = Instant::now();
    let libtorch = match user_libtorch {
        Some(path) => {
            let absolute =
                std::path::absolute(path).map_err(ToolchainError::io("make absolute", path))?;
            let libtorch = libtorch::user_libtorch(&absolute)?;
            report.push(
                "libtorch",
                StepOutcome::InPlace(format!("using {}", libtorch.describe())),
                started.elapsed(),
            );
            libtorch
        }
        None => provision_libtorch(&layout, progress, &mut report)?,
    };
    let toolchain = Toolchain::new(&layout, libtorch);

    let started = Instant::now();
    let marker = vendor::marker_text();
    if state(&toolchain.vendor_dir, &marker) == Installed::Complete {
        report.push(
            "vendor",
            StepOutcome::InPlace(format!(
                "crates vendored in {}",
                toolchain.vendor_dir.display()
            )),
            started.elapsed(),
        );
    } else {
        let count = vendor::vendor(
            &layout.staging_dir("vendor"),
            &toolchain.vendor_dir,
            progress,
        )?;
        report.push(
            "vendor",
            StepOutcome::Done(format!(
                "vendored {count} crates into {}",
                toolchain.vendor_dir.display()
            )),
            started.elapsed(),
        );
    }

    let started = Instant::now();
    let rustc = rustc_identity()?;
    if toolchain.warm_state(&rustc) == Installed::Complete {
        report.push(
            "pre-warm",
            StepOutcome::InPlace(format!("warm build in {}", toolchain.target_dir.display())),
            started.elapsed(),
        );
    } else {
        let compiled = toolchain.prewarm(&rustc, progress)?;
        report.push(
            "pre-warm",
            StepOutcome::Done(format!(
                "built the allowed crates ({compiled} compiled) into {}",
                toolchain.target_dir.display()
            )),
            started.elapsed(),
        );
    }
    Ok((toolchain, report))
}

fn provision_libtorch(
    layout: &CacheLayout,
    progress: &SetupProgress,
    report: &mut SetupReport,
) -> Result<Libtorch, ToolchainError> {
    let started = Instant::now();
    let dest = layout.libtorch_dir();
    if let Some(libtorch) = libtorch::installed(&dest) {
        report.push(
            "libtorch",
            StepOutcome::InPlace(libtorch.describe()),
            started.elapsed(),
        );
        return Ok(libtorch);
    }
    let python = find_python()?;
    let (libtorch, install) =
        libtorch::install(&python, &layout.staging_dir("libtorch"), &dest, progress)?;
    report.push(
        "download",
        StepOutcome::Done(format!(
            "downloaded {} of pinned wheels with `{} -m pip`",
            crate::progress::human_bytes(install.downloaded_bytes),
            python.program
        )),
        install.download,
    );
    report.push(
        "verify",
        StepOutcome::Done("checked each wheel's SHA-256 and size".to_string()),
        install.verify,
    );
    report.push(
        "extract",
        StepOutcome::Done(format!("unpacked {}", libtorch.describe())),
        install.extract,
    );
    Ok(libtorch)
}
