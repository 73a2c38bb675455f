//! Provenance for transcript headers: the harness's commit, the toolchain, the time.

use std::path::Path;

use crate::exec::{run_process, ProcessSpec};
use crate::transcript::{HarnessInfo, ToolchainInfo};

/// The harness version and, when it runs from its git checkout, the commit and whether tracked
/// files differ from it (untracked files, such as new runs, do not make it dirty).
pub fn harness_info() -> HarnessInfo {
    let (git_commit, git_dirty) = git_state(Path::new(env!("CARGO_MANIFEST_DIR")))
        .map_or((None, false), |(c, d)| (Some(c), d));
    HarnessInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit,
        git_dirty,
    }
}

fn git_state(dir: &Path) -> Option<(String, bool)> {
    let repo = git2::Repository::discover(dir).ok()?;
    let commit = repo.head().ok()?.peel_to_commit().ok()?.id().to_string();
    let mut options = git2::StatusOptions::new();
    options.include_untracked(false).include_ignored(false);
    let dirty = repo
        .statuses(Some(&mut options))
        .map(|s| !s.is_empty())
        .unwrap_or(true);
    Some((commit, dirty))
}

/// `rustc --version` and `cargo --version`, or "unknown" where they cannot be run.
pub fn toolchain_info(cwd: &Path) -> ToolchainInfo {
    let version = |program: &str| {
        run_process(
            &ProcessSpec::new(program, cwd)
                .arg("--version")
                .timeout(std::time::Duration::from_secs(30)),
        )
        .ok()
        .filter(|o| o.success())
        .map(|o| o.stdout.trim().to_string())
        .unwrap_or_else(|| "unknown".to_string())
    };
    ToolchainInfo {
        rustc: version("rustc"),
        cargo: version("cargo"),
    }
}

/// The current time, RFC 3339 in UTC, to the second.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
