//! LLM clients: the `ChatModel` trait and one implementation per provider wire format.
//!
//! Architecture invariant: this is the only module that talks to the network.

mod openai;
mod reference;
mod replay;
mod types;

pub use openai::OpenAiModel;
pub use reference::{reference_reply, ReferenceModel, REFERENCE_FILES};
pub use replay::{BrokenHistory, ReplayDrift, ReplayModel};
pub use types::{ChatMessage, ChatRequest, FinishReason, Reply, Role, SamplingParams, Usage};

/// Why a model call failed. A failed call is an infrastructure problem, never charged to the LLM.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The provider answered with an HTTP error or an error object.
    #[error("the API at {base_url} answered with an error: {message}")]
    Api { base_url: String, message: String },
    /// The provider could not be reached or the connection broke.
    #[error("could not reach the API at {base_url}")]
    Transport {
        base_url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The answer was not in the expected shape (no choices, no content).
    #[error("the API at {base_url} sent an answer without a usable reply: {detail}")]
    BadAnswer { base_url: String, detail: String },
    /// Replay only: the request differs from the recorded one.
    #[error(transparent)]
    Drift(#[from] Box<ReplayDrift>),
    /// Replay only: the transcript has no reply recorded for this request.
    #[error("the transcript has no recorded reply for iteration {iteration}; replay never calls the network")]
    MissingRecording { iteration: u32 },
}

/// Anything that answers chat requests: a provider's API, or a transcript in replay.
pub trait ChatModel {
    /// Sends one request and waits for the whole reply. `iteration` is 1-based.
    fn complete(&mut self, iteration: u32, request: &ChatRequest) -> Result<Reply, LlmError>;
}
