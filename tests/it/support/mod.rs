//! Helpers shared by the integration tests.

pub mod file_server;
pub mod harness;
pub mod http_server;
pub mod openai_server;
pub mod skip;
pub mod webdriver;

use std::sync::OnceLock;

use ::harness::sandbox::{Isolation, Sandbox};

/// The sandbox, when this machine has one that works (CI installs bubblewrap); `None` with a
/// note on stderr, once, when it does not.
pub fn sandbox() -> Option<Sandbox> {
    detected().as_ref().ok().cloned()
}

/// The sandbox, for a test that cannot run without one: `None` where there is none, the test
/// skipped (see `skip`; under CI a failure), and the test should return.
pub fn sandbox_or_skip() -> Option<Sandbox> {
    match detected() {
        Ok(sandbox) => Some(sandbox.clone()),
        Err(why) => {
            skip::skip(skip::Needs::Bubblewrap, why);
            None
        }
    }
}

/// The sandbox found once per test run, or why there is none.
fn detected() -> &'static Result<Sandbox, String> {
    static FOUND: OnceLock<Result<Sandbox, String>> = OnceLock::new();
    FOUND.get_or_init(|| {
        Sandbox::detect().map_err(|error| {
            eprintln!("note: no working sandbox here ({error}); tests run generated code unconfined and the sandbox's own tests are skipped");
            format!("no working sandbox here: {error}")
        })
    })
}

/// How the tests run generated code: in the sandbox where there is one.
pub fn isolation() -> Isolation {
    match sandbox() {
        Some(sandbox) => Isolation::Sandboxed(Box::new(sandbox)),
        None => Isolation::Unconfined,
    }
}

/// A file of the scripted fixture conversations under `tests/fixtures/conversations/`.
pub fn conversation(name: &str, file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/conversations")
        .join(name)
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The value of a `key: value` line on stdout.
pub fn field<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("no `{key}:` line in\n{stdout}"))
}

/// Everything a user could ever see of an error: Display and Debug of it and its sources.
pub fn everything_shown(error: &(dyn std::error::Error + 'static)) -> String {
    let mut shown = format!("{error}\n{error:?}\n");
    let mut source = error.source();
    while let Some(cause) = source {
        shown.push_str(&format!("{cause}\n{cause:?}\n"));
        source = cause.source();
    }
    shown
}
