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

/// The hand-written PyTorch program of `python-torch-unet` (`reference/unet-torch-program/`).
pub const PYTHON_REFERENCE_FILES: &[(&str, &str)] = &[
    (
        "dataset.py",
        include_str!("../../reference/unet-torch-program/dataset.py"),
    ),
    (
        "model.py",
        include_str!("../../reference/unet-torch-program/model.py"),
    ),
    (
        "train.py",
        include_str!("../../reference/unet-torch-program/train.py"),
    ),
    (
        "main.py",
        include_str!("../../reference/unet-torch-program/main.py"),
    ),
];

/// The reference crate as one reply in the format the prompt asks for.
pub fn reference_reply() -> String {
    reply_of(
        "The hand-written reference crate of the harness (reference/unet-tch), not an LLM's output.\n\n",
        REFERENCE_FILES,
    )
}

/// The Python reference program as one reply in the format its prompt asks for.
pub fn python_reference_reply() -> String {
    reply_of(
        "The hand-written reference program of the harness (reference/unet-torch-program), not an LLM's output.\n\n",
        PYTHON_REFERENCE_FILES,
    )
}

fn reply_of(intro: &str, files: &[(&str, &str)]) -> String {
    let mut text = String::from(intro);
    for (path, content) in files {
        let language = if path.ends_with(".toml") {
            "toml"
        } else if path.ends_with(".py") {
            "python"
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

/// Answers the first request with the reference program of its target (the crate by
/// default). It has nothing to say to feedback: a second request means the reference failed
/// the harness's checks, which is a defect to fix.
#[derive(Debug, Default)]
pub struct ReferenceModel {
    python: bool,
}

impl ReferenceModel {
    /// The reference of target `target` (`python-torch-unet` gets the Python program).
    pub fn for_target(target: &str) -> Self {
        ReferenceModel {
            python: target.starts_with("python-"),
        }
    }
}

impl ChatModel for ReferenceModel {
    fn complete(&mut self, iteration: u32, _request: &ChatRequest) -> Result<Reply, LlmError> {
        if iteration > 1 {
            return Err(LlmError::Setup {
                base_url: "reference".to_string(),
                problem: "the reference program failed the harness's checks; it cannot answer feedback (fix reference/unet-tch or reference/unet-torch-program)".to_string(),
            });
        }
        Ok(Reply {
            text: if self.python {
                python_reference_reply()
            } else {
                reference_reply()
            },
            model: Some("reference".to_string()),
            ..Reply::default()
        })
    }
}
