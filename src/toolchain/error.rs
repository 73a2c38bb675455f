//! Why provisioning or checking the toolchain failed.

use std::path::PathBuf;

use crate::exec::ExecError;

/// A toolchain failure. Most are the machine's (no network, no Python, a full disk); the
/// `LIBTORCH` ones are the user's and say what to change.
#[derive(Debug, thiserror::Error)]
pub enum ToolchainError {
    #[error("find a cache folder: none of --cache-dir, HARNESS_CACHE, XDG_CACHE_HOME or HOME is set; pass --cache-dir")]
    NoCacheDir,
    #[error("use the cache folder {path}: the path is not valid UTF-8, and cargo's configuration needs it as text; pass another --cache-dir")]
    NonUtf8Path { path: PathBuf },
    #[error("{action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("run `{program}`")]
    Exec {
        program: String,
        #[source]
        source: ExecError,
    },
    #[error("run `{command}`: it exited with {status}; its last output:\n{output}")]
    CommandFailed {
        command: String,
        status: String,
        output: String,
    },
    #[error("find Python with pip (tried {tried}); install Python 3 with pip (Debian: apt-get install python3-pip)")]
    NoPython { tried: String },
    #[error("verify {file}: it is not the pinned file: expected SHA-256 {expected} ({expected_size} bytes), found {actual} ({actual_size} bytes); the download is corrupt or was replaced, so it was refused (run `harness setup` again)")]
    HashMismatch {
        file: PathBuf,
        expected: String,
        expected_size: u64,
        actual: String,
        actual_size: u64,
    },
    #[error("find {file} after the download: pip left no such file (did the index serve another build of the package?)")]
    MissingDownload { file: PathBuf },
    #[error("read the wheel {path}")]
    Wheel {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("extract {member} from the wheel {wheel}: no such member")]
    MissingMember { wheel: String, member: String },
    #[error("use LIBTORCH={path}: {reason}; unset LIBTORCH to use the harness's own libtorch")]
    BadLibtorch { path: PathBuf, reason: String },
    #[error("use LIBTORCH={path}: it is libtorch {found}, but tch {tch} needs exactly libtorch {needed}; unset LIBTORCH to use the harness's own copy, or point it at a {needed} build (a CUDA one is fine)")]
    WrongLibtorchVersion {
        path: PathBuf,
        found: String,
        needed: &'static str,
        tch: &'static str,
    },
    #[error("find Python {needed} for the Python environment (its wheels are built for CPython {needed}): found {found}; install Python {needed} with its venv module (Debian 12: apt-get install python{needed}-venv; elsewhere: pyenv install {needed}) and put python{needed} on PATH")]
    WrongPython { needed: String, found: String },
    #[error("read the Python environment's lock (python-env.lock), line {line}: {reason}; regenerate it with scripts/python-env-lock.sh")]
    BadPythonLock { line: usize, reason: String },
    #[error("verify the Python wheels: pip downloaded {file}, which the lock does not name")]
    UnexpectedDownload { file: String },
    #[error("pass the smoke check: {reason}")]
    Smoke { reason: String },
}

impl ToolchainError {
    /// Whether the user's own setting is at fault (exit code 2), not the machine or the harness.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            ToolchainError::NoCacheDir
                | ToolchainError::NonUtf8Path { .. }
                | ToolchainError::BadLibtorch { .. }
                | ToolchainError::WrongLibtorchVersion { .. }
        )
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| ToolchainError::Io {
            action,
            path,
            source,
        }
    }
}
