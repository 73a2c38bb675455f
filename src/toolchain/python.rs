//! Python and pip, used only to download the pinned wheels.

use std::path::Path;
use std::time::Duration;

use crate::exec::{run_process, ProcessOutput, ProcessSpec};

use super::command::run_checked;
use super::error::ToolchainError;
use super::wheels::{PinnedWheel, PYTHON_ABI, PYTHON_VERSION};

/// Host variables pip may see besides the general allow-list: the user's index, certificate,
/// proxy and configuration settings, and pyenv's version choice. Anything whose name looks
/// like a secret is dropped by the execution layer whatever this list says.
pub const PIP_ENV: &[&str] = &[
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_NO_INDEX",
    "PIP_CERT",
    "PIP_CLIENT_CERT",
    "PIP_TRUSTED_HOST",
    "PIP_DEFAULT_TIMEOUT",
    "PIP_RETRIES",
    "PIP_PROXY",
    "PIP_CONFIG_FILE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "PYENV_ROOT",
    "PYENV_VERSION",
    "VIRTUAL_ENV",
    "XDG_CONFIG_HOME",
];

/// The interpreters tried, in order.
const CANDIDATES: &[&str] = &["python3", "python"];

/// A Python that has pip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Python {
    pub program: String,
    /// `pip --version`'s line, which also names the Python version.
    pub pip_version: String,
}

/// Finds the first interpreter that can run `-m pip`.
pub fn find_python() -> Result<Python, ToolchainError> {
    for program in CANDIDATES {
        let spec = pip_spec(program, std::env::temp_dir())
            .arg("--version")
            .timeout(Duration::from_secs(60));
        if let Ok(output) = run_process(&spec) {
            if output.success() {
                return Ok(Python {
                    program: program.to_string(),
                    pip_version: output.stdout.trim().to_string(),
                });
            }
        }
    }
    Err(ToolchainError::NoPython {
        tried: CANDIDATES
            .iter()
            .map(|p| format!("`{p} -m pip`"))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

fn pip_spec(program: &str, cwd: impl AsRef<Path>) -> ProcessSpec {
    ProcessSpec::new(program, cwd.as_ref())
        .arg("-m")
        .arg("pip")
        .inherit(PIP_ENV)
}

impl Python {
    /// Downloads one pinned wheel into `dest` with `pip download --no-deps`, for the pinned
    /// platform and Python whatever this machine is. `tmp` receives pip's temporary files
    /// (the caller watches its size for progress). The file is not verified here.
    pub fn download(
        &self,
        wheel: &PinnedWheel,
        dest: &Path,
        tmp: &Path,
    ) -> Result<ProcessOutput, ToolchainError> {
        let tmp_text = tmp.to_string_lossy().into_owned();
        let spec = pip_spec(&self.program, dest)
            .arg("download")
            .arg("--no-deps")
            .arg("--only-binary=:all:")
            .arg("--platform")
            .arg(wheel.platform)
            .arg("--python-version")
            .arg(PYTHON_VERSION)
            .arg("--implementation")
            .arg("cp")
            .arg("--abi")
            .arg(PYTHON_ABI)
            .arg("--no-cache-dir")
            .arg("--progress-bar")
            .arg("off")
            .arg("--dest")
            .arg(dest)
            .arg(wheel.requirement)
            .env("TMPDIR", &tmp_text)
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            // Large downloads on slow links: a generous bound, never an endless hang.
            .timeout(Duration::from_secs(3600))
            .output_cap(256 << 10);
        run_checked(
            &spec,
            &format!("{} -m pip download {}", self.program, wheel.requirement),
        )
    }
}
