//! The execution layer: the only place that spawns processes.
//!
//! Architecture invariant: no other module calls `std::process::Command` (or `fork`).

mod capture;
mod exit;
mod process;
mod userns;

pub use capture::{cut_marker, OutputCap};
pub use exit::ExitInfo;
pub use process::{
    looks_secret, run_process, ExecError, LineObserver, ProcessOutput, ProcessSpec, Stream,
    ENV_ALLOW_LIST,
};
pub use userns::id_map_namespace;
