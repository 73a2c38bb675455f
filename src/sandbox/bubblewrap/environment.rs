//! The sandboxed program's environment: the sandbox's own variables, a few harmless host ones,
//! then the spec's, none of which may be named like a secret (`exec::looks_secret`, the same
//! check that keeps secrets from being inherited).

use std::ffi::OsString;

use crate::exec::{looks_secret, ProcessSpec};
use crate::sandbox::SandboxError;

use super::{Sandbox, HOME_DIR};

/// Host variables handed on to sandboxed code (none of them can hold a secret).
pub(super) const PASSED_ON: &[&str] = &["LANG", "LC_ALL", "TZ", "RUSTUP_TOOLCHAIN"];

impl Sandbox {
    /// The program's whole environment: the sandbox's own variables, the harmless host ones,
    /// then the spec's. Refuses a spec that sets a variable named like a secret.
    pub(super) fn environment(
        &self,
        spec: &ProcessSpec,
    ) -> Result<Vec<(String, OsString)>, SandboxError> {
        refuse_secrets(spec)?;
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
            env.retain(|(k, _)| k != key);
            env.push((key.clone(), value.into()));
        }
        Ok(env)
    }
}

/// Refuses a spec that would hand generated code a variable named like a secret
/// (`OPENAI_API_KEY`, `HF_TOKEN`, `AWS_SECRET_ACCESS_KEY`): the error names the variable,
/// never its value. Whatever the isolation, a target's variables pass this check.
pub(crate) fn refuse_secrets(spec: &ProcessSpec) -> Result<(), SandboxError> {
    match spec.env.iter().find(|(key, _)| looks_secret(key)) {
        Some((key, _)) => Err(SandboxError::SecretVariable { name: key.clone() }),
        None => Ok(()),
    }
}
