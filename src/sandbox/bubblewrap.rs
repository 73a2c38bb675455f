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

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::exec::ProcessSpec;

use super::detect::{Toolchain, Tools};
use super::overlay::{CopyOnWrite, Layer};
use super::policy::{Limits, Phase};
use super::{tree, SandboxError};

/// The sandbox's home folder (a size-capped tmpfs); cargo's home is a fresh folder inside it.
pub(crate) const HOME_DIR: &str = "/sandbox/home";
/// The first line the sandbox writes on stderr when the program is about to start.
pub(crate) const READY_MARKER: &str = "harness-sandbox: ready\n";
/// What the sandbox writes instead when the program cannot be found inside.
pub(crate) const NOT_FOUND_MARKER: &str = "harness-sandbox: cannot run ";
/// The last trusted step: check that the program is there, say so, become the program.
const STUB: &str = r#"case $1 in */*) [ -f "$1" ] && [ -x "$1" ] ;; *) command -v "$1" >/dev/null 2>&1 ;; esac || { printf 'harness-sandbox: cannot run %s\n' "$1" >&2; exit 127; }; printf 'harness-sandbox: ready\n' >&2; exec "$@""#;
/// Where the sandbox's uids start: far above any real user's, one per sandboxed process.
const UID_BASE: u32 = 1_600_000_000;
/// A no-op argument that marks this sandbox's processes, so the disk watch can find them.
pub(crate) const TOKEN_PREFIX: &str = "HARNESS_SANDBOX_";
/// Host variables handed on to sandboxed code (none of them can hold a secret).
const PASSED_ON: &[&str] = &["LANG", "LC_ALL", "TZ", "RUSTUP_TOOLCHAIN"];

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

    /// The whole bubblewrap command line, after the program `bwrap` itself. `overlay` is the
    /// mount point of a copy-on-write layer and the path it is shown at.
    #[allow(clippy::too_many_arguments)]
    fn arguments(
        &self,
        spec: &ProcessSpec,
        phase: Phase,
        limits: &Limits,
        writable: &[PathBuf],
        overlay: Option<(PathBuf, PathBuf)>,
        uid: Option<u32>,
        token: &str,
    ) -> Result<Vec<OsString>, SandboxError> {
        let mut line = Line::default();
        for flag in [
            "--die-with-parent",
            "--new-session",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
        ] {
            line.push(flag);
        }
        if !self.privileged {
            line.push("--unshare-user");
        }
        line.push("--hostname").push("sandbox");
        // Root inside with any capability could remount `/` read-write. `setpriv` alone keeps
        // what it needs to switch to the unprivileged uid, and the switch clears it.
        line.push("--cap-drop").push("ALL");
        if uid.is_some() {
            for cap in ["CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"] {
                line.push("--cap-add").push(cap);
            }
        }
        line.push("--clearenv");
        for (key, value) in self.environment(spec)? {
            line.push("--setenv").push(key).push(value);
        }
        line.push("--unsetenv")
            .push(format!("{TOKEN_PREFIX}{token}"));

        line.tmpfs("/tmp", limits.tmpfs);
        line.system_dirs();
        line.etc();
        for dir in &self.toolchain.dirs {
            line.bind("--ro-bind", dir);
        }
        for dir in &self.read_only {
            line.bind("--ro-bind", dir);
        }
        line.push("--proc").push("/proc");
        line.push("--dev").push("/dev");
        line.made.push(PathBuf::from("/dev"));
        line.tmpfs("/dev/shm", limits.tmpfs);
        if phase != Phase::Build {
            for device in &self.gpu_devices {
                line.bind("--dev-bind", device);
            }
        }
        line.tmpfs(HOME_DIR, limits.tmpfs);
        for dir in writable {
            line.bind("--bind", dir);
        }
        // Last, so that nothing bound earlier covers it. Outside the overlay's own namespace
        // the mount point is an empty folder: never the shared folder itself.
        if let Some((merged, base)) = &overlay {
            line.bind_to("--bind", merged, base);
        }
        line.push("--chdir").push(&spec.cwd);
        line.push("--");

        line.push(&self.tools.prlimit);
        if let Some(bytes) = limits.address_space {
            line.push(format!("--as={bytes}"));
        }
        if let Some(seconds) = limits.cpu_seconds {
            line.push(format!("--cpu={seconds}:{}", seconds + 5));
        }
        // For the harness's own uid the limit would count all its processes, not the sandbox's.
        if let (Some(count), Some(_)) = (limits.processes, uid) {
            line.push(format!("--nproc={count}"));
        }
        if let Some(bytes) = limits.file_size {
            line.push(format!("--fsize={bytes}"));
        }
        if let Some(count) = limits.open_files {
            line.push(format!("--nofile={count}"));
        }
        line.push("--core=0").push("--");
        if let Some(uid) = uid {
            let setpriv = self.tools.setpriv.as_ref().ok_or(SandboxError::Missing {
                tool: "setpriv",
                advice: "install util-linux".to_string(),
            })?;
            line.push(setpriv)
                .push(format!("--reuid={uid}"))
                .push(format!("--regid={uid}"))
                .push("--clear-groups")
                .push("--inh-caps=-all")
                .push("--bounding-set=-all")
                .push("--");
        }
        line.push(&self.tools.sh)
            .push("-c")
            .push(STUB)
            .push("harness-sandbox")
            .push(&spec.program);
        for arg in &spec.args {
            line.push(arg);
        }
        Ok(line.args)
    }

    /// The program's whole environment: the sandbox's own variables, the harmless host ones,
    /// then the spec's.
    fn environment(&self, spec: &ProcessSpec) -> Result<Vec<(String, OsString)>, SandboxError> {
        let mut env: Vec<(String, OsString)> = vec![
            ("PATH".into(), self.toolchain.path_variable()),
            ("HOME".into(), HOME_DIR.into()),
            ("CARGO_HOME".into(), format!("{HOME_DIR}/.cargo").into()),
            ("TMPDIR".into(), "/tmp".into()),
        ];
        if let Some(rustup_home) = &self.toolchain.rustup_home {
            env.push(("RUSTUP_HOME".into(), rustup_home.into()));
        }
        env.extend(self.passed_env.iter().cloned());
        for (key, value) in &spec.env {
            if looks_secret(key) {
                return Err(SandboxError::SecretVariable { name: key.clone() });
            }
            env.retain(|(k, _)| k != key);
            env.push((key.clone(), value.into()));
        }
        Ok(env)
    }

    /// Checks with a trial run that `base` can be shown copy-on-write on this machine (see
    /// `copy_on_write`); the error says what is missing and what to do.
    pub fn check_copy_on_write(
        &self,
        base: impl Into<PathBuf>,
        layers: impl Into<PathBuf>,
    ) -> Result<(), SandboxError> {
        self.clone().copy_on_write(base, layers).probe()
    }

    /// One trial run of `true`, in a folder of its own.
    fn probe(&self) -> Result<(), SandboxError> {
        static PROBES: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "harness-sandbox-probe-{}-{}",
            std::process::id(),
            PROBES.fetch_add(1, Ordering::Relaxed)
        ));
        let prepare = |source| SandboxError::Prepare {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(prepare)?;
        let dir = dir.canonicalize().map_err(prepare)?;
        let spec = ProcessSpec::new("true", &dir).timeout(std::time::Duration::from_secs(30));
        let result = self.run(&spec, Phase::Run);
        let _ = std::fs::remove_dir_all(&dir);
        let confined = result.map_err(|error| {
            let mut detail = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                detail.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            SandboxError::Broken { detail }
        })?;
        if !confined.output.success() {
            return Err(SandboxError::Broken {
                detail: format!(
                    "a trial run of `true` failed ({:?}): {}",
                    confined.output.exit,
                    confined.output.stderr.trim()
                ),
            });
        }
        Ok(())
    }
}

/// `limits`, each lowered to the harness's own hard limit where that is lower: without
/// capabilities, `prlimit` inside the sandbox may lower a limit but never raise one.
fn within_own_limits(limits: &Limits) -> Limits {
    let hard = |resource, wanted: Option<u64>| -> Option<u64> {
        let mut current = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes one rlimit through a valid pointer.
        if unsafe { libc::getrlimit(resource, &mut current) } != 0
            || current.rlim_max == libc::RLIM_INFINITY
        {
            return wanted;
        }
        Some(wanted.map_or(current.rlim_max, |w| w.min(current.rlim_max)))
    };
    Limits {
        address_space: hard(libc::RLIMIT_AS, limits.address_space),
        cpu_seconds: hard(libc::RLIMIT_CPU, limits.cpu_seconds.map(|s| s + 5)).map(|s| {
            // The soft limit leaves 5 s to the hard one (SIGXCPU first, then SIGKILL).
            s.saturating_sub(5).max(1)
        }),
        processes: hard(libc::RLIMIT_NPROC, limits.processes),
        file_size: hard(libc::RLIMIT_FSIZE, limits.file_size),
        open_files: hard(libc::RLIMIT_NOFILE, limits.open_files),
        ..*limits
    }
}

/// Names like `OPENAI_API_KEY`, `CARGO_REGISTRY_TOKEN`: never handed to sandboxed code.
fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    ["KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL"]
        .iter()
        .any(|word| name.contains(word))
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

/// `/dev/nvidia*` and `/dev/nvidia-caps/*`, where present.
fn nvidia_devices() -> Vec<PathBuf> {
    let mut devices = Vec::new();
    let list = |dir: &Path, devices: &mut Vec<PathBuf>| {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name();
                if name.to_string_lossy().starts_with("nvidia") && !path.is_dir() {
                    devices.push(path);
                }
            }
        }
    };
    list(Path::new("/dev"), &mut devices);
    list(Path::new("/dev/nvidia-caps"), &mut devices);
    devices.sort();
    devices
}

/// A bubblewrap command line under construction, which knows which folders exist inside.
#[derive(Default)]
struct Line {
    args: Vec<OsString>,
    /// Host folders bound inside: everything below them exists already.
    bound: Vec<PathBuf>,
    /// Folders made inside (tmpfs mount points, parents made with mode 0755).
    made: Vec<PathBuf>,
}

impl Line {
    fn push(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Makes the parents of `dest` that will not exist inside, with mode 0755.
    fn parents(&mut self, dest: &Path) {
        let mut parents: Vec<&Path> = dest.ancestors().skip(1).collect();
        parents.reverse();
        for parent in parents {
            if parent == Path::new("/")
                || self.made.iter().any(|m| m == parent)
                || self.bound.iter().any(|b| parent.starts_with(b))
            {
                continue;
            }
            self.push("--perms").push("0755").push("--dir").push(parent);
            self.made.push(parent.to_path_buf());
        }
    }

    fn bind(&mut self, how: &str, path: &Path) {
        self.bind_to(how, path, path);
    }

    fn bind_to(&mut self, how: &str, source: &Path, dest: &Path) {
        self.parents(dest);
        self.push(how).push(source).push(dest);
        self.bound.push(dest.to_path_buf());
    }

    /// A tmpfs anyone inside may write (sticky, like `/tmp`), of `size` bytes.
    fn tmpfs(&mut self, dest: &str, size: u64) {
        let dest = Path::new(dest);
        self.parents(dest);
        self.push("--perms")
            .push("01777")
            .push("--size")
            .push(size.to_string())
            .push("--tmpfs")
            .push(dest);
        self.made.push(dest.to_path_buf());
    }

    /// `/usr` read-only, and `/bin`, `/sbin`, `/lib*` as the host has them (links or folders).
    fn system_dirs(&mut self) {
        self.bind("--ro-bind", Path::new("/usr"));
        for dir in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
            let path = Path::new(dir);
            match std::fs::symlink_metadata(path) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    if let Ok(target) = std::fs::read_link(path) {
                        self.push("--symlink").push(target).push(path);
                    }
                }
                Ok(meta) if meta.is_dir() => self.bind("--ro-bind", path),
                _ => {}
            }
        }
    }

    /// The pieces of `/etc` that the dynamic loader, `cc` and the linker read. Not `passwd`,
    /// not `hosts`, not `resolv.conf`: nothing the build needs, nothing about the machine.
    fn etc(&mut self) {
        self.push("--perms").push("0755").push("--dir").push("/etc");
        self.made.push(PathBuf::from("/etc"));
        for piece in [
            "/etc/ld.so.cache",
            "/etc/ld.so.conf",
            "/etc/ld.so.conf.d",
            "/etc/alternatives",
        ] {
            self.push("--ro-bind-try").push(piece).push(piece);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox(privileged: bool) -> Sandbox {
        let tools = Tools {
            bwrap: "/usr/bin/bwrap".into(),
            version: "bubblewrap 0.8.0".into(),
            prlimit: "/usr/bin/prlimit".into(),
            setpriv: Some("/usr/bin/setpriv".into()),
            sh: "/bin/sh".into(),
        };
        let toolchain = Toolchain {
            dirs: vec!["/opt/rustup".into(), "/opt/cargo/bin".into()],
            path: vec!["/opt/cargo/bin".into()],
            rustup_home: Some("/opt/rustup".into()),
        };
        Sandbox::with_tools(tools, toolchain, privileged)
    }

    fn words(args: &[OsString]) -> Vec<String> {
        args.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    fn line(sandbox: &Sandbox, spec: &ProcessSpec, phase: Phase) -> Vec<String> {
        let writable = [spec.cwd.clone()];
        let uid = sandbox.privileged.then_some(1_600_000_123);
        let limits = sandbox.limits_for(phase);
        words(
            &sandbox
                .arguments(spec, phase, limits, &writable, None, uid, "t")
                .unwrap(),
        )
    }

    fn position(args: &[String], window: &[&str]) -> usize {
        args.windows(window.len())
            .position(|w| w == window)
            .unwrap_or_else(|| panic!("{window:?} not in {args:?}"))
    }

    fn spec() -> ProcessSpec {
        ProcessSpec::new("cargo", "/srv/bench/generated/some-llm")
            .arg("build")
            .env("CARGO_TARGET_DIR", "/srv/bench/generated/some-llm/target")
    }

    #[test]
    fn everything_is_unshared_and_every_capability_dropped() {
        let args = line(&sandbox(true), &spec(), Phase::Build);
        for flag in [
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
        ] {
            position(&args, &[flag]);
        }
        position(&args, &["--cap-drop", "ALL"]);
        let inside = position(&args, &["--"]);
        // The program runs as the fresh uid, with no capability left and no way back.
        let setpriv = position(&args, &["/usr/bin/setpriv", "--reuid=1600000123"]);
        assert!(setpriv > inside);
        position(
            &args,
            &["--clear-groups", "--inh-caps=-all", "--bounding-set=-all"],
        );
        let program = position(&args, &["harness-sandbox", "cargo", "build"]);
        assert!(program > setpriv);
        assert_eq!(
            program + 3,
            args.len(),
            "nothing after the program's own arguments"
        );
    }

    #[test]
    fn without_root_there_is_a_user_namespace_and_no_uid_switch() {
        let args = line(&sandbox(false), &spec(), Phase::Build);
        position(&args, &["--unshare-user"]);
        assert!(!args
            .iter()
            .any(|a| a.contains("setpriv") || a == "--cap-add"));
        assert!(!args.iter().any(|a| a.starts_with("--nproc")));
    }

    #[test]
    fn the_environment_is_only_what_is_set_explicitly() {
        let args = line(&sandbox(true), &spec(), Phase::Build);
        let clear = position(&args, &["--clearenv"]);
        let set: Vec<&str> = args
            .windows(2)
            .enumerate()
            .filter(|(_, w)| w[0] == "--setenv")
            .map(|(i, w)| {
                assert!(i > clear, "every --setenv comes after --clearenv");
                w[1].as_str()
            })
            .collect();
        for key in &set {
            assert!(
                [
                    "PATH",
                    "HOME",
                    "CARGO_HOME",
                    "TMPDIR",
                    "RUSTUP_HOME",
                    "CARGO_TARGET_DIR"
                ]
                .contains(key)
                    || PASSED_ON.contains(key),
                "unexpected variable {key}"
            );
        }
        position(&args, &["--setenv", "CARGO_HOME", "/sandbox/home/.cargo"]);
        position(&args, &["--setenv", "RUSTUP_HOME", "/opt/rustup"]);
        let path = position(&args, &["--setenv", "PATH"]);
        assert_eq!(
            args[path + 2],
            "/opt/cargo/bin:/usr/local/bin:/usr/bin:/bin"
        );
    }

    #[test]
    fn a_variable_named_like_a_secret_is_refused() {
        let spec = spec().env("OPENAI_API_KEY", "fixture-not-a-secret-x");
        let limits = Limits::for_phase(Phase::Run);
        let error = sandbox(true)
            .arguments(
                &spec,
                Phase::Run,
                &limits,
                std::slice::from_ref(&spec.cwd),
                None,
                None,
                "t",
            )
            .unwrap_err();
        assert!(error.to_string().contains("OPENAI_API_KEY"), "{error}");
        assert!(!error.to_string().contains("fixture-not-a-secret-x"));
    }

    #[test]
    fn mounts_come_in_a_working_order_with_size_caps() {
        let args = line(&sandbox(true), &spec(), Phase::Run);
        let tmp = position(&args, &["--tmpfs", "/tmp"]);
        let crate_bind = position(
            &args,
            &[
                "--bind",
                "/srv/bench/generated/some-llm",
                "/srv/bench/generated/some-llm",
            ],
        );
        assert!(tmp < crate_bind, "the /tmp tmpfs must come before binds");
        for dest in ["/tmp", "/dev/shm", HOME_DIR] {
            let at = position(&args, &["--tmpfs", dest]);
            assert_eq!(args[at - 2], "--size", "{dest} has a size cap");
            assert_eq!(args[at - 1], (256u64 << 20).to_string());
        }
        // The crate's parents are made traversable for the unprivileged uid, before the bind.
        let parent = position(&args, &["--perms", "0755", "--dir", "/srv/bench/generated"]);
        assert!(parent < crate_bind);
        position(&args, &["--ro-bind", "/opt/rustup", "/opt/rustup"]);
        position(&args, &["--ro-bind", "/usr", "/usr"]);
        position(&args, &["--chdir", "/srv/bench/generated/some-llm"]);
        // Only the crate folder is bound read-write.
        let writable = args.iter().filter(|a| *a == "--bind").count();
        assert_eq!(writable, 1, "{args:?}");
        // Cargo's home holds tokens: only its `bin` is shown.
        assert!(!args
            .windows(2)
            .any(|w| w[0].ends_with("bind") && w[1] == "/opt/cargo"));
    }

    #[test]
    fn limits_follow_the_phase() {
        let build = line(&sandbox(true), &spec(), Phase::Build);
        let run = line(&sandbox(true), &spec(), Phase::Run);
        position(&build, &[&format!("--fsize={}", 2u64 << 30)]);
        position(&run, &[&format!("--fsize={}", 256u64 << 20)]);
        position(&run, &["--nproc=128"]);
        position(&run, &["--cpu=120:125"]);
        position(&run, &["--core=0"]);
        let custom = sandbox(true).limits(
            Phase::Run,
            Limits {
                address_space: None,
                ..Limits::for_phase(Phase::Run)
            },
        );
        assert!(!line(&custom, &spec(), Phase::Run)
            .iter()
            .any(|a| a.starts_with("--as=")));
    }

    #[test]
    fn gpu_devices_are_passed_to_programs_when_asked_for() {
        let devices = vec![
            PathBuf::from("/dev/nvidia0"),
            PathBuf::from("/dev/nvidiactl"),
            PathBuf::from("/dev/nvidia-caps/nvidia-cap1"),
        ];
        let plain = line(&sandbox(true), &spec(), Phase::Train);
        assert!(!plain.iter().any(|a| a.contains("nvidia")));
        let gpu = sandbox(true).gpu_devices(devices);
        let train = line(&gpu, &spec(), Phase::Train);
        position(&train, &["--dev-bind", "/dev/nvidia0", "/dev/nvidia0"]);
        position(&train, &["--dev-bind", "/dev/nvidiactl", "/dev/nvidiactl"]);
        let caps = position(&train, &["--perms", "0755", "--dir", "/dev/nvidia-caps"]);
        assert!(caps > position(&train, &["--dev", "/dev"]));
        let build = line(&gpu, &spec(), Phase::Build);
        assert!(
            !build.iter().any(|a| a.contains("nvidia")),
            "builds need no GPU"
        );
    }

    #[test]
    fn read_only_and_scratch_folders_are_bound_as_asked() {
        let sandbox = sandbox(true)
            .read_only("/data/libtorch")
            .scratch("/srv/bench/scratch");
        let spec = spec();
        let writable = [spec.cwd.clone(), PathBuf::from("/srv/bench/scratch")];
        let limits = Limits::for_phase(Phase::Run);
        let args = words(
            &sandbox
                .arguments(&spec, Phase::Run, &limits, &writable, None, None, "t")
                .unwrap(),
        );
        position(&args, &["--ro-bind", "/data/libtorch", "/data/libtorch"]);
        position(
            &args,
            &["--bind", "/srv/bench/scratch", "/srv/bench/scratch"],
        );
    }

    #[test]
    fn the_stub_prints_the_markers_the_supervisor_looks_for() {
        assert!(STUB.contains(&format!("printf '{}'", READY_MARKER.replace('\n', "\\n"))));
        assert!(STUB.contains(&format!("printf '{}%s", NOT_FOUND_MARKER)));
        // The marker is printed only right before the program replaces the shell.
        assert!(STUB.ends_with(r#"exec "$@""#));
    }

    #[test]
    fn limits_never_exceed_the_harnesss_own() {
        let mut own = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes one rlimit through a valid pointer.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut own) }, 0);
        let wanted = Limits {
            open_files: Some(u64::MAX - 1),
            ..Limits::for_phase(Phase::Run)
        };
        let got = within_own_limits(&wanted);
        if own.rlim_max == libc::RLIM_INFINITY {
            assert_eq!(got.open_files, wanted.open_files);
        } else {
            assert_eq!(got.open_files, Some(own.rlim_max));
        }
        assert_eq!(got.disk, wanted.disk);
    }

    #[test]
    fn a_copy_on_write_folder_is_bound_from_its_overlay_last() {
        let spec = spec();
        let writable = [spec.cwd.clone()];
        let limits = Limits::for_phase(Phase::Build);
        let overlay = (
            PathBuf::from("/srv/cache/layers/1_2_3/merged"),
            PathBuf::from("/srv/cache/target"),
        );
        let args = words(
            &sandbox(true)
                .arguments(
                    &spec,
                    Phase::Build,
                    &limits,
                    &writable,
                    Some(overlay),
                    Some(1_600_000_123),
                    "t",
                )
                .unwrap(),
        );
        let bind = position(
            &args,
            &[
                "--bind",
                "/srv/cache/layers/1_2_3/merged",
                "/srv/cache/target",
            ],
        );
        let crate_bind = position(&args, &["--bind", "/srv/bench/generated/some-llm"]);
        assert!(bind > crate_bind, "nothing bound later may cover it");
        assert!(bind < position(&args, &["--chdir"]));
        position(&args, &["--perms", "0755", "--dir", "/srv/cache"]);
        // The shared folder itself is never a source, and the layers are never shown.
        for (i, arg) in args.iter().enumerate() {
            if arg.ends_with("bind") {
                assert_ne!(args[i + 1], "/srv/cache/target", "{args:?}");
                assert_ne!(args[i + 1], "/srv/cache/layers", "{args:?}");
            }
        }
    }

    #[test]
    fn without_root_a_copy_on_write_folder_is_refused_with_advice() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for sub in ["crate", "target"] {
            std::fs::create_dir(root.join(sub)).unwrap();
        }
        let unprivileged = sandbox(false).copy_on_write(root.join("target"), root.join("layers"));
        let spec = ProcessSpec::new("cargo", root.join("crate"));
        let error = unprivileged
            .prepare(spec.clone(), Phase::Build)
            .err()
            .unwrap();
        assert!(matches!(error, SandboxError::CopyOnWrite { .. }), "{error}");
        let text = error.to_string();
        assert!(
            text.contains("root") && text.contains("--no-sandbox"),
            "{text}"
        );
        assert!(!root.join("layers").exists(), "no layer was made");
        // Nor can such a sandbox be wrapped into a plain command line.
        let error = sandbox(true)
            .copy_on_write(root.join("target"), root.join("layers"))
            .wrap(spec, Phase::Build)
            .unwrap_err();
        assert!(error.to_string().contains("Sandbox::run"), "{error}");
    }

    #[test]
    fn wrap_refuses_a_relative_crate_folder() {
        let spec = ProcessSpec::new("cargo", "relative/crate");
        let error = sandbox(false).wrap(spec, Phase::Build).unwrap_err();
        assert!(error.to_string().contains("absolute"), "{error}");
    }
}
