//! Which variable names mark a secret: the one check shared by the execution layer (what a child
//! may inherit from the harness) and the sandbox (what a target may set for generated code).

/// Fragments of variable names that mark a secret, matched anywhere in the name, in any case.
const SECRET_MARKERS: &[&str] = &[
    "KEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "AUTH",
    "COOKIE",
];

/// Whether a variable's name says it carries a secret (an API key, a token, a password).
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_MARKERS.iter().any(|marker| upper.contains(marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_a_marker_in_any_case_look_secret() {
        for name in [
            "OPENAI_API_KEY",
            "hf_token",
            "HF_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "PIP_PASSWORD",
            "DB_PASSWD",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "GITHUB_AUTH",
            "Session_Cookie",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for marker in SECRET_MARKERS {
            assert!(looks_secret(&format!("X_{}_Y", marker.to_lowercase())));
        }
    }

    #[test]
    fn the_variables_the_harness_sets_do_not_look_secret() {
        for name in [
            "PATH",
            "HOME",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_TERM_COLOR",
            "CARGO_TERM_PROGRESS_WHEN",
            "RUST_BACKTRACE",
            "RUSTUP_HOME",
            "RUSTUP_TOOLCHAIN",
            "TMPDIR",
            "LANG",
            "LC_ALL",
            "TZ",
            "PIP_CERT",
            "PIP_INDEX_URL",
            "PIP_DISABLE_PIP_VERSION_CHECK",
        ] {
            assert!(!looks_secret(name), "{name}");
        }
    }
}
