//! What each phase may use: the resource limits of builds, smoke runs and training.
//!
//! Builds and programs need different limits: a file-size limit small enough for a program
//! breaks the linker, and an address-space limit breaks CUDA, which reserves far more address
//! space than it uses. Wall time is not here: it stays the `ProcessSpec`'s timeout.

use std::fmt;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// Which kind of untrusted work a process does; each has its own `Limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// `cargo build`: the crate's build scripts, proc macros, rustc and the linker.
    Build,
    /// The built program on the smoke input.
    Run,
    /// The built program training a model (GPU devices passed through when asked for).
    Train,
}

impl Phase {
    pub(crate) fn index(self) -> usize {
        match self {
            Phase::Build => 0,
            Phase::Run => 1,
            Phase::Train => 2,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Build => "build",
            Phase::Run => "run",
            Phase::Train => "train",
        })
    }
}

/// Resource limits for one phase. `None` leaves a limit as the harness has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Address space per process, bytes (`RLIMIT_AS`; binds root too). A multi-process
    /// program can use this much per process, up to `processes` processes.
    pub address_space: Option<u64>,
    /// CPU seconds per process (`RLIMIT_CPU`): SIGXCPU at the limit, SIGKILL 5 s later.
    pub cpu_seconds: Option<u64>,
    /// Processes and threads of the sandbox's user (`RLIMIT_NPROC`). It binds only a real
    /// unprivileged host uid, which the sandbox runs the program as when the harness is root.
    pub processes: Option<u64>,
    /// The largest file a process may write, bytes (`RLIMIT_FSIZE`; per file, not in total).
    pub file_size: Option<u64>,
    /// Open files per process (`RLIMIT_NOFILE`).
    pub open_files: Option<u64>,
    /// How much the writable host folders (the crate folder, the scratch folder) may grow
    /// during one process, bytes. Watched while it runs; the sandbox is killed past it.
    pub disk: u64,
    /// The size of each in-memory folder (`/tmp`, the home folder, `/dev/shm`), bytes.
    pub tmpfs: u64,
    /// Memory of the whole process tree, bytes, through a cgroup made for it (`cgroup.rs`);
    /// where the machine gives the harness none, not enforced, and said so once.
    pub memory: Option<u64>,
}

impl Limits {
    /// The defaults for a phase.
    pub fn for_phase(phase: Phase) -> Limits {
        match phase {
            Phase::Build => Limits {
                address_space: Some(16 * GIB),
                cpu_seconds: Some(1800),
                processes: Some(1024),
                file_size: Some(2 * GIB),
                open_files: Some(4096),
                disk: 4 * GIB,
                tmpfs: GIB,
                memory: None,
            },
            Phase::Run => Limits {
                address_space: Some(4 * GIB),
                cpu_seconds: Some(120),
                processes: Some(128),
                file_size: Some(256 * MIB),
                open_files: Some(1024),
                disk: GIB,
                tmpfs: 256 * MIB,
                memory: None,
            },
            Phase::Train => Limits {
                // CUDA reserves terabytes of address space: memory is held by a cgroup.
                address_space: None,
                cpu_seconds: Some(4 * 3600),
                processes: Some(1024),
                file_size: Some(8 * GIB),
                open_files: Some(4096),
                disk: 16 * GIB,
                tmpfs: 4 * GIB,
                // Three quarters of the machine: the harness and the system keep the rest.
                memory: Some(physical_memory().map_or(16 * GIB, |total| total / 4 * 3)),
            },
        }
    }
}

/// The machine's memory, bytes (`MemTotal` of `/proc/meminfo`).
fn physical_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_held_tighter_than_builds() {
        let build = Limits::for_phase(Phase::Build);
        let run = Limits::for_phase(Phase::Run);
        assert!(
            run.file_size < build.file_size,
            "a small file limit breaks the linker"
        );
        assert!(run.address_space < build.address_space);
        assert!(run.processes < build.processes);
        let train = Limits::for_phase(Phase::Train);
        assert_eq!(train.address_space, None);
        let memory = train.memory.expect("training's memory is held by a cgroup");
        assert!(memory < physical_memory().unwrap());
    }
}
