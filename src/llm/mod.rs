//! LLM clients: the `ChatModel` trait and one implementation per provider wire format.
//!
//! Architecture invariant: this is the only module that talks to the network.

mod anthropic;
mod drift;
pub mod gate;
mod gemini;
mod http;
mod openai;
mod openai_errors;
mod openai_responses;
pub mod probe;
mod reference;
pub mod retry;
mod types;

pub use anthropic::AnthropicModel;
pub use drift::ReplayDrift;
pub use gemini::GeminiModel;
pub use openai::OpenAiModel;
pub use openai_responses::OpenAiResponsesModel;
pub use reference::{
    python_reference_reply, reference_reply, ReferenceModel, PYTHON_REFERENCE_FILES,
    REFERENCE_FILES,
};
pub use types::{ChatMessage, ChatRequest, FinishReason, Reply, Role, SamplingParams, Usage};

/// Why a model call failed. A failed call is an infrastructure problem, never charged to the LLM.
///
/// Whether a failure is worth another attempt is decided in one place, [`retry::fault_of`].
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The provider answered with an HTTP error or an error object.
    #[error("the API at {base_url} answered with an error: {message}")]
    Api {
        base_url: String,
        /// The HTTP status, where the error came with one (an error object in a 200 has none).
        status: Option<u16>,
        message: String,
        /// What the server asked us to wait (`Retry-After`, in seconds or as an HTTP date).
        retry_after: Option<std::time::Duration>,
    },
    /// The provider could not be reached, was too slow, or the connection broke.
    #[error("{}", transport_message(base_url, *kind))]
    Transport {
        base_url: String,
        kind: TransportKind,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The answer was not in the expected shape (malformed JSON, no choices, no content).
    #[error("the API at {base_url} sent an answer without a usable reply: {detail}")]
    BadAnswer { base_url: String, detail: String },
    /// The client cannot be used as configured (a bad base URL, a key that cannot be sent).
    #[error("the API client for {base_url} cannot be set up: {problem}")]
    Setup { base_url: String, problem: String },
    /// Replay only: the request differs from the recorded one.
    #[error(transparent)]
    Drift(#[from] Box<ReplayDrift>),
    /// Replay only: the transcript has no reply recorded for this request.
    #[error("the transcript has no recorded reply for iteration {iteration}; replay never calls the network")]
    MissingRecording { iteration: u32 },
}

/// How a connection failed: the messages differ, and a user fixes each differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Nothing answered (refused, unknown host, TLS failure).
    Connect,
    /// The server was reached but the whole answer did not arrive within the request timeout.
    Timeout,
    /// The connection broke before the answer was complete.
    Dropped,
}

fn transport_message(base_url: &str, kind: TransportKind) -> String {
    match kind {
        TransportKind::Connect => format!("could not reach the API at {base_url}"),
        TransportKind::Timeout => format!(
            "the API at {base_url} did not send a complete answer in time (raise --request-timeout for a slow server)"
        ),
        TransportKind::Dropped => {
            format!("the connection to the API at {base_url} broke before the answer was complete")
        }
    }
}

impl LlmError {
    /// An error answer with its HTTP status (and `Retry-After`, where the server sent one).
    pub fn api(base_url: &str, status: Option<u16>, message: impl Into<String>) -> Self {
        LlmError::Api {
            base_url: base_url.to_owned(),
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The HTTP status this error came with, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            LlmError::Api { status, .. } => *status,
            _ => None,
        }
    }
}

/// Anything that answers chat requests: a provider's API, or a transcript in replay.
pub trait ChatModel {
    /// Sends one request and waits for the whole reply. `iteration` is 1-based.
    fn complete(&mut self, iteration: u32, request: &ChatRequest) -> Result<Reply, LlmError>;
}
