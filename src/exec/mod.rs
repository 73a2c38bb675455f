//! The execution layer: the only place that spawns processes.
//!
//! Architecture invariant: no other module calls `std::process::Command` (or `fork`).

mod capture;
mod exit;
mod process;
mod secrets;
mod userns;

pub use capture::{cut_marker, OutputCap};
pub use exit::ExitInfo;
pub use process::{
    run_process, ExecError, LineObserver, ProcessOutput, ProcessSpec, Stream, ENV_ALLOW_LIST,
};
pub use secrets::looks_secret;
pub use userns::id_map_namespace;
