//! The hand-written reference U-Net (`reference/unet-tch/`), served as if it were a reply.
//!
//! It is labelled `reference` everywhere: the registry entry, the transcript, every table. It
//! is never an LLM's output. Serving it through the same loop means the reference is built,
//! smoke-run, recorded and trained exactly like an LLM's crate: a known-good crate for tests and
//! the baseline row of the tables (as nnU-Net was for the study).

use super::{ChatModel, ChatRequest, LlmError, Reply};

/// The reference crate's files, embedded at build time.
pub const REFERENCE_FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../reference/unet-tch/Cargo.toml"),
    ),
    (
        "src/main.rs",
        include_str!("../../reference/unet-tch/src/main.rs"),
    ),
    (
        "src/dataset.rs",
        include_str!("../../reference/unet-tch/src/dataset.rs"),
    ),
    (
        "src/model.rs",
        include_str!("../../reference/unet-tch/src/model.rs"),
    ),
    (
        "src/train.rs",
        include_str!("../../reference/unet-tch/src/train.rs"),
    ),
];

/// The reference crate as one reply in the format the prompt asks for.
pub fn reference_reply() -> String {
    let mut text = String::from(
        "The hand-written reference crate of the harness (reference/unet-tch), not an LLM's output.\n\n",
    );
    for (path, content) in REFERENCE_FILES {
        let language = if path.ends_with(".toml") {
            "toml"
        } else {
            "rust"
        };
        text.push_str(&format!("```{language} {path}\n{content}"));
        if !content.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("```\n\n");
    }
    text
}

/// Answers the first request with the reference crate. It has nothing to say to feedback: a
/// second request means the reference failed the harness's checks, which is a defect to fix.
#[derive(Debug, Default)]
pub struct ReferenceModel;

impl ChatModel for ReferenceModel {
    fn complete(&mut self, iteration: u32, _request: &ChatRequest) -> Result<Reply, LlmError> {
        if iteration > 1 {
            return Err(LlmError::Setup {
                base_url: "reference".to_string(),
                problem: "the reference crate failed the harness's checks; it cannot answer feedback (fix reference/unet-tch)".to_string(),
            });
        }
        Ok(Reply {
            text: reference_reply(),
            model: Some("reference".to_string()),
            ..Reply::default()
        })
    }
}
