//! Provenance for transcript headers: the harness's commit, the toolchain, the time.

use std::path::Path;

use crate::exec::{run_process, ProcessSpec};
use crate::target::{ProcessLimits, TargetLimits};
use crate::transcript::{HarnessInfo, PhaseLimits, RunLimits, ToolchainInfo};

/// The harness version and, when it was built in its git checkout, the commit and whether
/// tracked files differed from it then (untracked files, such as new runs, do not count).
pub fn harness_info() -> HarnessInfo {
    // Recorded by build.rs when the binary was built: the commit it was built from, not
    // whatever the source folder holds when it runs.
    HarnessInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("HARNESS_GIT_COMMIT").map(str::to_string),
        git_dirty: option_env!("HARNESS_GIT_DIRTY") == Some("true"),
    }
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

/// The limits a target's builds and smoke runs run under, as the header records them.
pub fn limits_record(limits: &TargetLimits) -> RunLimits {
    RunLimits {
        build: phase_record(&limits.build),
        smoke_run: phase_record(&limits.smoke_run),
    }
}

/// One phase's limits as a transcript records them.
pub fn phase_record(limits: &ProcessLimits) -> PhaseLimits {
    let sandbox = limits.sandbox.as_ref();
    PhaseLimits {
        time_s: limits.time.as_secs(),
        output_head_bytes: limits.output.head as u64,
        output_tail_bytes: limits.output.tail as u64,
        cpu_s: sandbox.and_then(|s| s.cpu_seconds),
        address_space_bytes: sandbox.and_then(|s| s.address_space),
        memory_bytes: sandbox.and_then(|s| s.memory),
        disk_bytes: sandbox.map(|s| s.disk),
        file_size_bytes: sandbox.and_then(|s| s.file_size),
        tmpfs_bytes: sandbox.map(|s| s.tmpfs),
        processes: sandbox.and_then(|s| s.processes),
        open_files: sandbox.and_then(|s| s.open_files),
    }
}
