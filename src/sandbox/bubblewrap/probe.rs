//! The trial run that checks a sandbox works on this machine, before any generated code runs.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::exec::ProcessSpec;
use crate::sandbox::policy::Phase;
use crate::sandbox::SandboxError;

use super::Sandbox;

impl Sandbox {
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
    pub(super) fn probe(&self) -> Result<(), SandboxError> {
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
