//! The sandboxed program's environment: the sandbox's own variables, a few harmless host ones,
//! then the spec's, none of which may be named like a secret.

use std::ffi::OsString;

use crate::exec::ProcessSpec;
use crate::sandbox::SandboxError;

use super::{Sandbox, HOME_DIR};

/// Host variables handed on to sandboxed code (none of them can hold a secret).
pub(super) const PASSED_ON: &[&str] = &["LANG", "LC_ALL", "TZ", "RUSTUP_TOOLCHAIN"];

impl Sandbox {
    /// The program's whole environment: the sandbox's own variables, the harmless host ones,
    /// then the spec's.
    pub(super) fn environment(
        &self,
        spec: &ProcessSpec,
    ) -> Result<Vec<(String, OsString)>, SandboxError> {
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
}

/// Names like `OPENAI_API_KEY`, `CARGO_REGISTRY_TOKEN`: never handed to sandboxed code.
fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    ["KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL"]
        .iter()
        .any(|word| name.contains(word))
}
