//! The whole bubblewrap command line: namespaces, capabilities, environment, mounts, then
//! `prlimit`, `setpriv` and the stub that becomes the program.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::exec::ProcessSpec;
use crate::sandbox::policy::{Limits, Phase};
use crate::sandbox::SandboxError;

use super::line::Line;
use super::{Sandbox, HOME_DIR, TOKEN_PREFIX};

/// The last trusted step: check that the program is there, say so, become the program.
pub(super) const STUB: &str = r#"case $1 in */*) [ -f "$1" ] && [ -x "$1" ] ;; *) command -v "$1" >/dev/null 2>&1 ;; esac || { printf 'harness-sandbox: cannot run %s\n' "$1" >&2; exit 127; }; printf 'harness-sandbox: ready\n' >&2; exec "$@""#;

impl Sandbox {
    /// The whole bubblewrap command line, after the program `bwrap` itself. `overlay` is the
    /// mount point of a copy-on-write layer and the path it is shown at.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn arguments(
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
}
