//! Helpers shared by the integration tests.

pub mod harness;
pub mod openai_server;

/// A file of the scripted fixture conversations under `tests/fixtures/conversations/`.
pub fn conversation(name: &str, file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/conversations")
        .join(name)
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
