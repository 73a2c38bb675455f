//! Finding what the sandbox is made of: bubblewrap and util-linux's `prlimit` and `setpriv`
//! on the host, and the Rust toolchain the sandbox must show read-only.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::exec::{run_process, ProcessSpec};

use super::SandboxError;

/// How to install bubblewrap, for the message that refuses to run without it.
pub(crate) const INSTALL_ADVICE: &str = "install bubblewrap (Debian and Ubuntu: `apt-get install bubblewrap`; Fedora: `dnf install bubblewrap`; Arch: `pacman -S bubblewrap`), or pass --no-sandbox to run generated code unconfined (recorded in the transcript)";

/// The host programs that make up the sandbox, by absolute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tools {
    pub bwrap: PathBuf,
    /// `bubblewrap 0.8.0`.
    pub version: String,
    pub prlimit: PathBuf,
    /// Needed only when the harness is root: it switches to an unprivileged uid.
    pub setpriv: Option<PathBuf>,
    pub sh: PathBuf,
}

/// Where the Rust toolchain lives, shown read-only inside the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Toolchain {
    /// Folders bound read-only (rustup's home, cargo's `bin`, wherever cargo and rustc are).
    pub dirs: Vec<PathBuf>,
    /// Folders put first on the sandbox's `PATH`.
    pub path: Vec<PathBuf>,
    /// rustup's home, given to its proxies as `RUSTUP_HOME`.
    pub rustup_home: Option<PathBuf>,
}

/// Folders every sandbox shows anyway (the system's own), so no toolchain bind is needed there.
pub(crate) fn is_system_path(path: &Path) -> bool {
    [
        "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
    ]
    .iter()
    .any(|dir| path.starts_with(dir))
}

/// The first executable file called `name` on the harness's `PATH`.
pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl Tools {
    /// Finds the tools; `needs_setpriv` when the harness runs as root.
    pub(crate) fn find(needs_setpriv: bool) -> Result<Tools, SandboxError> {
        let missing = |tool: &'static str, advice: &'static str| SandboxError::Missing {
            tool,
            advice: advice.to_string(),
        };
        let bwrap = find_on_path("bwrap").ok_or_else(|| missing("bwrap", INSTALL_ADVICE))?;
        let util_linux = "install util-linux (it provides `prlimit` and `setpriv`)";
        let prlimit = find_on_path("prlimit").ok_or_else(|| missing("prlimit", util_linux))?;
        let setpriv = if needs_setpriv {
            Some(find_on_path("setpriv").ok_or_else(|| missing("setpriv", util_linux))?)
        } else {
            None
        };
        let sh = ["/bin/sh", "/usr/bin/sh"]
            .iter()
            .map(PathBuf::from)
            .find(|p| is_executable(p))
            .ok_or_else(|| missing("sh", "a POSIX shell at /bin/sh"))?;
        let version = bwrap_version(&bwrap)?;
        Ok(Tools {
            bwrap,
            version,
            prlimit,
            setpriv,
            sh,
        })
    }
}

/// `bwrap --version`, which says `bubblewrap 0.8.0`.
fn bwrap_version(bwrap: &Path) -> Result<String, SandboxError> {
    let spec = ProcessSpec::new(bwrap.as_os_str(), std::env::temp_dir())
        .arg("--version")
        .timeout(Duration::from_secs(10));
    let output = run_process(&spec).map_err(SandboxError::Exec)?;
    let line = output.stdout.lines().next().unwrap_or_default().trim();
    if !output.success() || !line.starts_with("bubblewrap ") {
        return Err(SandboxError::Broken {
            detail: format!(
                "`{} --version` answered {:?}",
                bwrap.display(),
                output.stdout.trim()
            ),
        });
    }
    Ok(line.to_string())
}

impl Toolchain {
    /// rustup's home and cargo's `bin` (from `RUSTUP_HOME`, `CARGO_HOME`, or their defaults
    /// under `HOME`), and the folders of the `cargo` and `rustc` the harness would run. Never
    /// the rest of cargo's home: `credentials.toml` and a `config.toml` may hold tokens.
    pub(crate) fn find() -> Toolchain {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let from_env = |var: &str, default: &str| -> Option<PathBuf> {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(default)))
                .filter(|p| p.is_absolute())
        };
        let mut toolchain = Toolchain {
            rustup_home: from_env("RUSTUP_HOME", ".rustup").filter(|p| p.is_dir()),
            ..Toolchain::default()
        };
        if let Some(rustup_home) = toolchain.rustup_home.clone() {
            toolchain.dirs.push(rustup_home);
        }
        let cargo_bin = from_env("CARGO_HOME", ".cargo")
            .map(|p| p.join("bin"))
            .filter(|p| p.is_dir());
        for dir in cargo_bin.into_iter().chain(
            ["cargo", "rustc"]
                .iter()
                .filter_map(|tool| find_on_path(tool))
                .filter_map(|p| p.parent().map(Path::to_path_buf)),
        ) {
            if !is_system_path(&dir) && !toolchain.dirs.contains(&dir) {
                toolchain.dirs.push(dir.clone());
                toolchain.path.push(dir);
            }
        }
        toolchain
    }

    /// The sandbox's `PATH`: the toolchain first, then the system's folders.
    pub(crate) fn path_variable(&self) -> OsString {
        let mut dirs = self.path.clone();
        dirs.extend(["/usr/local/bin", "/usr/bin", "/bin"].map(PathBuf::from));
        std::env::join_paths(dirs).unwrap_or_default()
    }
}

/// `/dev/nvidia*` and `/dev/nvidia-caps/*`, where present.
pub(crate) fn nvidia_devices() -> Vec<PathBuf> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_paths_are_recognised_by_component() {
        assert!(is_system_path(Path::new("/usr/local/bin")));
        assert!(is_system_path(Path::new("/lib64")));
        assert!(!is_system_path(Path::new("/usrlocal")));
        assert!(!is_system_path(Path::new("/home/someone/.cargo/bin")));
    }

    #[test]
    fn the_toolchain_is_found_without_cargos_secrets() {
        let toolchain = Toolchain::find();
        for dir in &toolchain.dirs {
            assert!(dir.is_absolute(), "{}", dir.display());
            assert!(
                !dir.ends_with(".cargo"),
                "cargo's whole home is never shown"
            );
        }
        let path = toolchain.path_variable();
        assert!(path
            .to_string_lossy()
            .ends_with("/usr/local/bin:/usr/bin:/bin"));
    }
}
