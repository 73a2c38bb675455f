//! `Isolation`: how a target runs generated code, inside the sandbox or (`--no-sandbox`) not.

use crate::exec::{run_process, ProcessSpec};

use super::bubblewrap::refuse_secrets;
use super::policy::Phase;
use super::supervise::Confined;
use super::{Sandbox, SandboxError};

/// How generated code runs. Targets hold one and run every build and program through it.
#[derive(Debug, Clone)]
pub enum Isolation {
    /// Inside the sandbox: the only way unless the user asked otherwise.
    Sandboxed(Box<Sandbox>),
    /// `--no-sandbox`: with the harness's own rights, next to the user's files and keys.
    Unconfined,
}

/// What `--no-sandbox` prints on every run.
pub const NO_SANDBOX_WARNING: &str = "warning: --no-sandbox: generated code (build scripts, proc macros, programs) runs unconfined, with your rights, next to your files and API keys; this run's transcript records it";

impl Isolation {
    /// The sandbox, found and checked; or, with `no_sandbox`, none (the warning is printed by
    /// the caller, once per run). Fails with install advice when the sandbox is missing.
    pub fn choose(no_sandbox: bool) -> Result<Isolation, SandboxError> {
        if no_sandbox {
            return Ok(Isolation::Unconfined);
        }
        Ok(Isolation::Sandboxed(Box::new(Sandbox::detect()?)))
    }

    /// For the transcript header: `bubblewrap 0.8.0`, or `none (--no-sandbox)`.
    pub fn describe(&self) -> String {
        match self {
            Isolation::Sandboxed(sandbox) => sandbox.description(),
            Isolation::Unconfined => "none (--no-sandbox)".to_string(),
        }
    }

    /// The same isolation with its sandbox changed by `change` (more folders shown, say);
    /// unconfined stays unconfined.
    pub fn with_sandbox(&self, change: impl FnOnce(Sandbox) -> Sandbox) -> Isolation {
        match self {
            Isolation::Sandboxed(sandbox) => {
                Isolation::Sandboxed(Box::new(change(sandbox.as_ref().clone())))
            }
            Isolation::Unconfined => Isolation::Unconfined,
        }
    }

    pub fn sandbox(&self) -> Option<&Sandbox> {
        match self {
            Isolation::Sandboxed(sandbox) => Some(sandbox),
            Isolation::Unconfined => None,
        }
    }

    /// Runs `spec` as `phase` and waits for it. Unconfined, `Err` holds the execution
    /// layer's error (the program could not be started). Either way a spec that sets a
    /// variable named like a secret is refused before anything starts.
    pub fn run(&self, spec: &ProcessSpec, phase: Phase) -> Result<Confined, SandboxError> {
        match self {
            Isolation::Sandboxed(sandbox) => sandbox.run(spec, phase),
            Isolation::Unconfined => {
                refuse_secrets(spec)?;
                Ok(Confined {
                    output: run_process(spec).map_err(SandboxError::Exec)?,
                    disk_exceeded: None,
                    memory_exceeded: None,
                    layer: None,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unconfined_too_a_secret_variable_is_refused_and_nothing_runs() {
        let dir = tempfile::tempdir().unwrap();
        let spec = |key: &str| {
            ProcessSpec::new("/bin/sh", dir.path())
                .arg("-c")
                .arg("env > seen.txt")
                .env(key, "fixture-not-a-secret-w")
        };
        let error = Isolation::Unconfined
            .run(&spec("AWS_SECRET_ACCESS_KEY"), Phase::Run)
            .err()
            .unwrap();
        assert!(
            matches!(&error, SandboxError::SecretVariable { name } if name == "AWS_SECRET_ACCESS_KEY"),
            "{error}"
        );
        assert!(!error.to_string().contains("fixture-not-a-secret-w"));
        assert!(!dir.path().join("seen.txt").exists(), "nothing ran");

        let ran = Isolation::Unconfined
            .run(&spec("RUST_BACKTRACE"), Phase::Run)
            .unwrap();
        assert!(ran.output.success(), "{:?}", ran.output);
        let seen = std::fs::read_to_string(dir.path().join("seen.txt")).unwrap();
        assert!(
            seen.contains("RUST_BACKTRACE=fixture-not-a-secret-w"),
            "{seen}"
        );
    }
}
