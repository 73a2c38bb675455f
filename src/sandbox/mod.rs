//! The sandbox: generated code (build scripts, proc macros, programs) runs inside bubblewrap.
//!
//! `Sandbox::wrap` turns a `ProcessSpec` into another one whose command line is
//!
//! ```text
//! bwrap [namespaces, capabilities, environment, mounts] --
//!     prlimit [limits] -- setpriv [fresh unprivileged uid] -- sh -c [ready marker] -- PROGRAM ARGS
//! ```
//!
//! so the execution layer stays the only place that spawns. What the program sees: the
//! system's `/usr` (and `/bin`, `/lib*` links), the few `/etc` files a linker needs, the Rust
//! toolchain and any extra folders read-only; the crate folder (the spec's working directory)
//! and an optional scratch folder read-write; a size-capped `/tmp`, home and `/dev/shm`; a
//! fresh `/proc` for its own pid namespace; a minimal `/dev` (GPU nodes only when asked for). No
//! network (own network namespace), no capabilities, an environment made of `--setenv` entries
//! only, a session of its own, and death with its parent. When the harness is root the program
//! runs as a fresh unprivileged uid, the only way a process limit binds.
//!
//! `Sandbox::run` also watches the crate folder's growth (there is no per-folder disk limit to
//! ask the kernel for) and tells the sandbox's own failures apart from the program's: the last
//! trusted step prints a marker on stderr just before the program starts, so output without the
//! marker came from bubblewrap (an infrastructure failure, `SandboxError`), never the program.
//!
//! A shared folder that builds must write to but never alter (the tch target's warm build
//! cache) is shown copy-on-write: a kernel overlay per process, mounted by the harness in a
//! private mount namespace, whose writes go to a layer of the crate folder's own, which the
//! harness reads back and the crate's next build finds again (`overlay.rs`, `mount.rs`).
//!
//! `Isolation` is what targets hold: the sandbox, or `--no-sandbox`.

mod bubblewrap;
mod cgroup;
mod detect;
mod isolation;
mod mount;
mod overlay;
mod policy;
mod supervise;
mod tree;

use std::path::PathBuf;

pub use bubblewrap::Sandbox;
pub use cgroup::memory_limit_available;
pub use isolation::{Isolation, NO_SANDBOX_WARNING};
pub use overlay::{discard_layer, Layer};
pub use policy::{Limits, Phase};
pub use supervise::Confined;

use crate::exec::ExecError;

/// The sandbox could not be set up or could not start a process. Never the program's fault:
/// callers record it as `infra-sandbox` (or `infra-toolchain` for a missing program).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "`{tool}` was not found on PATH, and generated code runs only inside the sandbox: {advice}"
    )]
    Missing { tool: &'static str, advice: String },
    #[error("the sandbox does not work on this machine: {detail}")]
    Broken { detail: String },
    #[error("could not start the sandbox")]
    Exec(#[source] ExecError),
    #[error("the sandbox refused to start: {detail}")]
    Setup { detail: String },
    #[error("`{program}` cannot be run inside the sandbox (not found, or not executable)")]
    ProgramMissing { program: String },
    #[error("could not prepare {path} for the sandbox")]
    Prepare {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Path { path: PathBuf, reason: &'static str },
    #[error(
        "refusing to give the variable `{name}` to generated code: its name says it holds a secret"
    )]
    SecretVariable { name: String },
    #[error("cannot show the shared build folder {} copy-on-write to sandboxed builds (could not {step}); {COPY_ON_WRITE_NEEDS}", base.display())]
    CopyOnWrite {
        base: PathBuf,
        step: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// What a copy-on-write folder needs, and what to do without it.
pub(crate) const COPY_ON_WRITE_NEEDS: &str = "this needs root and Linux 5.19 or later, for an overlay over an idmapped mount: run the harness as root, or pass --no-sandbox to build unconfined (every build script can then rewrite the shared folder)";
