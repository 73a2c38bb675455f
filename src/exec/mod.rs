//! The execution layer: the only place that spawns processes.
//!
//! Architecture invariant: no other module calls `std::process::Command`.

mod process;

pub use process::{
    looks_secret, run_process, ExecError, LineObserver, ProcessOutput, ProcessSpec, Stream,
    ENV_ALLOW_LIST,
};
