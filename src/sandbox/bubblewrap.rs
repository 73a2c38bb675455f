//! `Sandbox`: the policy, and the bubblewrap command line that carries it out.
//!
//! The order of bubblewrap's arguments matters: `--clearenv` before the `--setenv`s; the `/tmp`
//! tmpfs before any bind below it (bwrap fails with "Can't chdir" otherwise); a parent folder
//! that bwrap would create for a mount point gets mode 0755 first (bwrap's default, 0700, would
//! hide the crate from the unprivileged uid). Nothing secret may go on this command line: the
//! sandboxed program can read it in `/proc/1/cmdline`.
//!
//! A copy-on-write folder (the tch target's shared build cache) is one more bind: the overlay
//! that `overlay.rs` mounts for the process, bound at the shared folder's path. Bubblewrap
//! 0.10 could make it itself (`--overlay-src`, `--tmp-overlay`); 0.8, Debian 12's, cannot.
//!
//! The pieces live beside this file: the command line (`arguments.rs`), the environment it sets
//! (`environment.rs`), the mounts in a working order (`line.rs`), the limits lowered to the
//! harness's own (`limits.rs`) and the trial run that checks a sandbox works (`probe.rs`).

mod arguments;
mod environment;
mod limits;
mod line;
mod probe;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::exec::ProcessSpec;

use super::detect::{nvidia_devices, Toolchain, Tools};
use super::overlay::{CopyOnWrite, Layer};
use super::policy::{Limits, Phase};
use super::{tree, SandboxError};
pub(crate) use environment::refuse_secrets;
use environment::PASSED_ON;
use limits::within_own_limits;

/// The sandbox's home folder (a size-capped tmpfs); cargo's home is a fresh folder inside it.
pub(crate) const HOME_DIR: &str = "/sandbox/home";
/// The first line the sandbox writes on stderr when the program is about to start.
pub(crate) const READY_MARKER: &str = "harness-sandbox: ready\n";
/// What the sandbox writes instead when the program cannot be found inside.
pub(crate) const NOT_FOUND_MARKER: &str = "harness-sandbox: cannot run ";
/// Where the sandbox's uids start: far above any real user's, one per sandboxed process.
const UID_BASE: u32 = 1_600_000_000;
/// A no-op argument that marks this sandbox's processes, so the disk watch can find them.
pub(crate) const TOKEN_PREFIX: &str = "HARNESS_SANDBOX_";

/// A sandbox policy: what is shown, what may be written, the limits of each phase.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub(crate) tools: Tools,
    pub(crate) toolchain: Toolchain,
    read_only: Vec<PathBuf>,
    scratch: Vec<PathBuf>,
    copy_on_write: Option<CopyOnWrite>,
    gpu_devices: Vec<PathBuf>,
    limits: [Limits; 3],
    /// The harness is root: the program runs as a fresh unprivileged uid (via `setpriv`).
    privileged: bool,
    passed_env: Vec<(String, OsString)>,
}

/// A wrapped spec and what `run` needs to supervise it.
pub(crate) struct Prepared {
    pub spec: ProcessSpec,
    pub token: String,
    pub writable: Vec<PathBuf>,
    /// The uid the program runs as, when the harness is root.
    pub uid: Option<u32>,
    /// The copy-on-write layer the process writes into, when the sandbox has one.
    pub layer: Option<Layer>,
}

impl Sandbox {
    /// Finds bubblewrap, `prlimit`, `setpriv` and the Rust toolchain, and checks with a trial
    /// run that the sandbox works on this machine. Fails, saying how to install what is
    /// missing, when it does not.
    pub fn detect() -> Result<Sandbox, SandboxError> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let privileged = unsafe { libc::geteuid() } == 0;
        let sandbox = Sandbox::with_tools(Tools::find(privileged)?, Toolchain::find(), privileged);
        sandbox.probe()?;
        Ok(sandbox)
    }

    pub(crate) fn with_tools(tools: Tools, toolchain: Toolchain, privileged: bool) -> Sandbox {
        Sandbox {
            tools,
            toolchain,
            read_only: Vec::new(),
            scratch: Vec::new(),
            copy_on_write: None,
            gpu_devices: Vec::new(),
            limits: [Phase::Build, Phase::Run, Phase::Train].map(Limits::for_phase),
            privileged,
            passed_env: PASSED_ON
                .iter()
                .filter_map(|key| Some((key.to_string(), std::env::var_os(key)?)))
                .collect(),
        }
    }

    /// What runs the sandbox, for transcripts: `bubblewrap 0.8.0`.
    pub fn description(&self) -> String {
        self.tools.version.clone()
    }

    /// Whether the process limit binds: only when the harness is root, so that the program
    /// runs as a fresh unprivileged uid. Otherwise the limit would count every process of the
    /// harness's user, and is not set; a fork bomb then ends only with the wall-time limit.
    pub fn binds_process_limit(&self) -> bool {
        self.privileged
    }

    /// Shows `dir` read-only at the same path (libtorch, vendored sources, training data).
    pub fn read_only(mut self, dir: impl Into<PathBuf>) -> Self {
        self.read_only.push(dir.into());
        self
    }

    /// Binds `dir` read-write at the same path, besides the crate folder (a per-run scratch
    /// folder, a training run's output folder). Its growth counts against the disk limit.
    pub fn scratch(mut self, dir: impl Into<PathBuf>) -> Self {
        self.scratch.push(dir.into());
        self
    }

    /// Shows `base` at its own path, writable, but copy-on-write: a process writes into the
    /// layer of its crate folder (the spec's working directory) under `layers`, a harness
    /// folder the sandbox never sees; `run` hands it back in `Confined::layer`. `base` itself
    /// is never written. Needs root (see `overlay.rs`); the layer's growth counts against the
    /// disk limit. For the shared warm build cache of the tch target.
    pub fn copy_on_write(mut self, base: impl Into<PathBuf>, layers: impl Into<PathBuf>) -> Self {
        self.copy_on_write = Some(CopyOnWrite {
            base: base.into(),
            layers: layers.into(),
        });
        self
    }

    /// Passes the GPU device nodes (`/dev/nvidia*`) through to programs (not to builds).
    pub fn gpu(self, on: bool) -> Self {
        let devices = if on { nvidia_devices() } else { Vec::new() };
        self.gpu_devices(devices)
    }

    /// Passes exactly these device nodes through to programs (not to builds).
    pub fn gpu_devices(mut self, devices: Vec<PathBuf>) -> Self {
        self.gpu_devices = devices;
        self
    }

    /// Replaces the limits of one phase.
    pub fn limits(mut self, phase: Phase, limits: Limits) -> Self {
        self.limits[phase.index()] = limits;
        self
    }

    pub fn limits_for(&self, phase: Phase) -> &Limits {
        &self.limits[phase.index()]
    }

    /// The limits a process of `phase` really gets: the phase's, lowered to the harness's own
    /// hard limits where those are lower (for the transcript header).
    pub fn effective_limits(&self, phase: Phase) -> Limits {
        within_own_limits(self.limits_for(phase))
    }

    /// Turns `spec` into a spec that runs it inside the sandbox, with `phase`'s limits. The
    /// spec's working directory is the crate folder: it, and the scratch folder, are the only
    /// host folders it can write. When the harness is root, both are handed over to the fresh
    /// uid the program runs as (links themselves, never their targets). A sandbox with a
    /// copy-on-write folder cannot be wrapped this way: its overlay exists only within `run`.
    pub fn wrap(&self, spec: ProcessSpec, phase: Phase) -> Result<ProcessSpec, SandboxError> {
        if self.copy_on_write.is_some() {
            return Err(SandboxError::Path {
                path: spec.cwd,
                reason: "a sandbox with a copy-on-write folder runs only through `Sandbox::run`",
            });
        }
        Ok(self.prepare(spec, phase)?.spec)
    }

    pub(crate) fn prepare(
        &self,
        spec: ProcessSpec,
        phase: Phase,
    ) -> Result<Prepared, SandboxError> {
        // Before any folder is handed over or any layer opened.
        refuse_secrets(&spec)?;
        let bad = |path: &Path, reason| SandboxError::Path {
            path: path.to_path_buf(),
            reason,
        };
        let crate_dir = spec.cwd.clone();
        if !crate_dir.is_absolute() {
            return Err(bad(&crate_dir, "the crate folder must be an absolute path"));
        }
        let mut writable = vec![crate_dir.clone()];
        writable.extend(self.scratch.iter().cloned());
        for dir in &writable {
            if !dir.is_absolute() || !std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
                return Err(bad(
                    dir,
                    "a writable folder must be an existing absolute folder, not a link",
                ));
            }
        }
        for dir in &self.read_only {
            if !dir.is_absolute() || !dir.exists() {
                return Err(bad(
                    dir,
                    "a read-only folder must exist and be an absolute path",
                ));
            }
        }
        let uid = self.privileged.then(next_uid);
        if let Some(uid) = uid {
            for dir in &writable {
                tree::hand_over(dir, uid).map_err(|source| SandboxError::Prepare {
                    path: dir.clone(),
                    source,
                })?;
            }
        }
        let token = next_token();
        let layer = match (&self.copy_on_write, uid) {
            (None, _) => None,
            (Some(cow), Some(uid)) => Some(Layer::open(cow, &crate_dir, uid)?),
            (Some(cow), None) => {
                return Err(SandboxError::CopyOnWrite {
                    base: cow.base.clone(),
                    step: "mount an overlay without root",
                    source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
                })
            }
        };
        let mut wrapped = ProcessSpec::new(self.tools.bwrap.as_os_str(), &crate_dir)
            .timeout(spec.timeout)
            .output_cap(spec.output_cap);
        let limits = within_own_limits(self.limits_for(phase));
        let overlay = layer.as_ref().map(|l| (l.merged(), l.base().to_path_buf()));
        wrapped.args = self.arguments(&spec, phase, &limits, &writable, overlay, uid, &token)?;
        Ok(Prepared {
            spec: wrapped,
            token,
            writable,
            uid,
            layer,
        })
    }
}

/// A fresh uid for each sandboxed process: one sandbox's processes never count against
/// another's process limit, and cannot signal each other.
fn next_uid() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let count = NEXT.fetch_add(1, Ordering::Relaxed) & 0xfff;
    UID_BASE + ((std::process::id() & 0xfff) << 12) + count
}

fn next_token() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
