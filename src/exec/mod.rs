//! The execution layer: the only place that spawns processes.
//!
//! Architecture invariant: no other module calls `std::process::Command`.

mod process;

pub use process::{run_process, ExecError, ProcessOutput, ProcessSpec, ENV_ALLOW_LIST};
