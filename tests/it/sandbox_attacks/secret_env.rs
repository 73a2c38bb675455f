//! A target's own variables named like secrets (`HF_TOKEN`, `AWS_SECRET_ACCESS_KEY`) never reach
//! the sandboxed program: the real sandbox refuses the spec, naming the variable and never its
//! value, and nothing runs. A harmless variable set the same way does reach it.

use harness::exec::ProcessSpec;
use harness::sandbox::{Phase, SandboxError};

use crate::support::everything_shown;

use super::sandbox;

const VALUE: &str = "fixture-target-secret-6d2a9c41";

#[test]
fn a_target_variable_named_like_a_secret_never_reaches_the_sandboxed_program() {
    let Some(sandbox) = sandbox() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let krate = dir.path().canonicalize().unwrap();
    let seen = krate.join("seen.txt");
    let spec = |key: &str| {
        ProcessSpec::new("/bin/sh", &krate)
            .arg("-c")
            .arg("env > seen.txt")
            .env(key, VALUE)
    };
    for key in ["HF_TOKEN", "AWS_SECRET_ACCESS_KEY", "GITHUB_AUTH"] {
        let error = sandbox.run(&spec(key), Phase::Run).err().unwrap();
        assert!(
            matches!(&error, SandboxError::SecretVariable { name } if name == key),
            "{key}: {error}"
        );
        assert!(error.to_string().contains(key), "{error}");
        assert!(!everything_shown(&error).contains(VALUE), "{error:?}");
        assert!(!seen.exists(), "{key}: the program never ran");
    }

    let ran = sandbox.run(&spec("RUST_BACKTRACE"), Phase::Run).unwrap();
    assert!(ran.output.success(), "{:?}", ran.output);
    let env = std::fs::read_to_string(&seen).unwrap();
    assert!(env.contains(&format!("RUST_BACKTRACE={VALUE}")), "{env}");
}
