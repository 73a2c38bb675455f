//! The client for Anthropic's Messages API (`POST {base_url}/messages`), Claude's native format.
//!
//! One non-streamed request per call and no retries: a failed call comes back as an error after
//! exactly one request, and retrying is the caller's decision (`llm::retry`).

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{snippet, JsonClient};
use super::{ChatModel, ChatRequest, FinishReason, LlmError, Reply, Role, Usage};

/// The API version this client speaks (sent as `anthropic-version`).
const API_VERSION: &str = "2023-06-01";

/// A `ChatModel` that calls Anthropic's Messages API.
///
/// What it sends: system messages joined into the top-level `system` field, the other turns as
/// `messages`, `max_tokens` (the request's, else [`AnthropicModel::DEFAULT_MAX_TOKENS`]), and
/// `temperature` and `top_p` where the request sets them (the API judges combinations: newer
/// models refuse both at once). Anthropic has no `seed`, so a seed is not sent. `reasoning_effort` is not sent
/// either: extended thinking needs its own token budget below `max_tokens` and forbids a custom
/// temperature, so mapping an effort onto it would silently change the other parameters; the
/// client logs a warning once instead.
///
/// The first user message, the long task prompt, is marked as a prompt-cache breakpoint
/// (`cache_control: ephemeral`), so the system prompt and it are read from Anthropic's cache
/// by every later iteration of a session.
///
/// The API key goes in `x-api-key` and never appears in `Debug` output, errors or logs.
pub struct AnthropicModel {
    http: JsonClient,
    warned_effort: bool,
}

impl AnthropicModel {
    /// Where Anthropic's API lives.
    pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com/v1";

    /// `max_tokens` when the request sets none: Anthropic requires one. Every current Claude
    /// model accepts 8192 output tokens (the oldest Claude 3 models stopped at 4096); an entry
    /// that wants longer replies sets `max_tokens` in its params.
    pub const DEFAULT_MAX_TOKENS: u32 = 8192;

    /// A client for the API at `base_url` ([`Self::DEFAULT_BASE_URL`], or a compatible proxy).
    /// `request_timeout` bounds each whole call, from connecting to the last byte of the answer.
    pub fn new(
        base_url: &str,
        api_key: Option<String>,
        request_timeout: Duration,
    ) -> Result<Self, LlmError> {
        Ok(AnthropicModel {
            http: JsonClient::new(base_url, api_key, "x-api-key", request_timeout)?,
            warned_effort: false,
        })
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.http.base_url()
    }

    fn to_reply(&self, body: &[u8]) -> Result<Reply, LlmError> {
        let value = self.http.json_body(body)?;
        // Anthropic itself sends errors only with an error status, but proxies in front of it
        // may wrap an upstream failure in a 200.
        if value.get("type").and_then(Value::as_str) == Some("error") {
            return Err(self.http.error_in_success(&describe_error(&value)));
        }
        let message: WireMessage = serde_json::from_value(value).map_err(|error| {
            self.http.bad_answer(format!(
                "the body is not a message ({error}): {}",
                snippet(&String::from_utf8_lossy(body))
            ))
        })?;
        let finish_reason = finish_reason(message.stop_reason.as_deref());
        let refused = message.stop_reason.as_deref() == Some("refusal");
        let mut texts = message
            .content
            .iter()
            .filter(|block| block.kind == "text")
            .filter_map(|block| block.text.as_deref())
            .peekable();
        if texts.peek().is_none() && finish_reason == FinishReason::Stop {
            // A finished reply with nothing in it is a hiccup worth another attempt, as an
            // OpenAI reply without content is; a cut or refused one is the model's answer.
            return Err(self
                .http
                .bad_answer("the message has no text content".to_owned()));
        }
        let text: String = texts.collect();
        Ok(Reply {
            text,
            finish_reason,
            usage: message.usage.map(WireUsage::into_usage),
            model: message.model,
            refusal: refused.then(|| {
                "Anthropic's safety classifiers stopped the reply (stop_reason refusal)".to_owned()
            }),
            system_fingerprint: None,
            cost_usd: None,
        })
    }
}

impl ChatModel for AnthropicModel {
    fn complete(&mut self, iteration: u32, request: &ChatRequest) -> Result<Reply, LlmError> {
        if let Some(effort) = &request.params.reasoning_effort {
            if !self.warned_effort {
                self.warned_effort = true;
                tracing::warn!(
                    effort = %effort,
                    "reasoning_effort is not sent to Anthropic's Messages API (see AnthropicModel)"
                );
            }
        }
        let body = serde_json::to_vec(&wire_request(request)).map_err(|error| {
            self.http
                .setup_error(&format!("the request is not JSON: {error}"))
        })?;
        let headers = [(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(API_VERSION),
        )];
        let url = format!("{}/messages", self.http.base_url());
        let answer = self.http.post(&url, iteration, &headers, body)?;
        if !answer.is_success() {
            let detail = describe_error_body(&answer.body);
            return Err(self
                .http
                .status_error(answer.status, &detail, answer.retry_after));
        }
        self.to_reply(&answer.body)
    }
}

impl std::fmt::Debug for AnthropicModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnthropicModel")
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<String>,
    messages: Vec<WireTurn<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
}

#[derive(Debug, Serialize)]
struct WireTurn<'a> {
    role: &'static str,
    content: WireContent<'a>,
}

/// A turn's content: plain text, or (for the cache breakpoint) one text block.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum WireContent<'a> {
    Text(&'a str),
    Blocks([WireBlock<'a>; 1]),
}

#[derive(Debug, Serialize)]
struct WireBlock<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
    cache_control: CacheControl,
}

#[derive(Debug, Serialize)]
struct CacheControl {
    #[serde(rename = "type")]
    kind: &'static str,
}

fn wire_request(request: &ChatRequest) -> WireRequest<'_> {
    let system: Vec<&str> = request
        .messages
        .iter()
        .filter(|message| message.role == Role::System)
        .map(|message| message.content.as_str())
        .collect();
    let mut cached = false;
    let messages = request
        .messages
        .iter()
        .filter_map(|message| {
            let role = match message.role {
                Role::System => return None,
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            let content = if message.role == Role::User && !cached {
                cached = true;
                WireContent::Blocks([WireBlock {
                    kind: "text",
                    text: &message.content,
                    cache_control: CacheControl { kind: "ephemeral" },
                }])
            } else {
                WireContent::Text(&message.content)
            };
            Some(WireTurn { role, content })
        })
        .collect();
    WireRequest {
        model: &request.model,
        max_tokens: request
            .params
            .max_tokens
            .unwrap_or(AnthropicModel::DEFAULT_MAX_TOKENS),
        system: (!system.is_empty()).then(|| system.join("\n\n")),
        messages,
        temperature: request.params.temperature,
        top_p: request.params.top_p,
    }
}

/// The answer, read leniently: only `content` is required.
#[derive(Debug, Deserialize)]
struct WireMessage {
    #[serde(default)]
    model: Option<String>,
    content: Vec<WireBlockOut>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// A content block of any type: `text`, `thinking`, `redacted_thinking`, `tool_use`...
#[derive(Debug, Deserialize)]
struct WireBlockOut {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Anthropic's `input_tokens` counts only the tokens after the last cache breakpoint; the
    /// prompt's size is that plus what was read from and written to the cache.
    fn into_usage(self) -> Usage {
        let read = self.cache_read_input_tokens.unwrap_or(0);
        let written = self.cache_creation_input_tokens.unwrap_or(0);
        Usage {
            input_tokens: self.input_tokens + read + written,
            output_tokens: self.output_tokens,
            cache_read_tokens: Some(read).filter(|&tokens| tokens > 0),
            cache_write_tokens: Some(written).filter(|&tokens| tokens > 0),
            // Thinking tokens are billed as output but not reported apart.
            reasoning_tokens: None,
        }
    }
}

/// Anthropic's `stop_reason`. `model_context_window_exceeded` is a cut reply like
/// `max_tokens`: the context window ran out before the token limit did.
fn finish_reason(reason: Option<&str>) -> FinishReason {
    match reason {
        Some("end_turn" | "stop_sequence") => FinishReason::Stop,
        Some("max_tokens" | "model_context_window_exceeded") => FinishReason::Length,
        Some("refusal") => FinishReason::ContentFilter,
        other => FinishReason::Other(other.unwrap_or_default().to_owned()),
    }
}

/// An error answer's body as one line: Anthropic's error object where it is one
/// (`{"type": "error", "error": {"type", "message"}}`), else the start of the body.
fn describe_error_body(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(|value| value.get("error").is_some_and(Value::is_object))
        .map_or_else(
            || snippet(&String::from_utf8_lossy(body)),
            |value| describe_error(&value),
        )
}

/// `Overloaded (type overloaded_error)`.
fn describe_error(body: &Value) -> String {
    let error = &body["error"];
    let message = match error.get("message").and_then(Value::as_str) {
        Some(message) => message.to_owned(),
        None => snippet(&error.to_string()),
    };
    match error.get("type").and_then(Value::as_str) {
        Some(kind) if !kind.is_empty() => format!("{message} (type {kind})"),
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ChatMessage, SamplingParams};
    use super::*;
    use serde_json::json;

    #[test]
    fn stop_reasons_map_and_unknown_ones_stay_verbatim() {
        assert_eq!(finish_reason(Some("end_turn")), FinishReason::Stop);
        assert_eq!(finish_reason(Some("stop_sequence")), FinishReason::Stop);
        assert_eq!(finish_reason(Some("max_tokens")), FinishReason::Length);
        assert_eq!(
            finish_reason(Some("model_context_window_exceeded")),
            FinishReason::Length
        );
        assert_eq!(finish_reason(Some("refusal")), FinishReason::ContentFilter);
        assert_eq!(
            finish_reason(Some("pause_turn")),
            FinishReason::Other("pause_turn".into())
        );
        assert_eq!(finish_reason(None), FinishReason::Other(String::new()));
    }

    #[test]
    fn only_the_first_user_message_is_a_cache_breakpoint() {
        let request = ChatRequest {
            model: "claude-test".into(),
            messages: vec![
                ChatMessage::user("task"),
                ChatMessage::assistant("code"),
                ChatMessage::user("errors"),
            ],
            params: SamplingParams {
                seed: Some(7),
                reasoning_effort: Some("high".into()),
                ..Default::default()
            },
        };
        let body = serde_json::to_value(wire_request(&request)).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "claude-test",
                "max_tokens": AnthropicModel::DEFAULT_MAX_TOKENS,
                "messages": [
                    {"role": "user", "content": [
                        {"type": "text", "text": "task", "cache_control": {"type": "ephemeral"}}
                    ]},
                    {"role": "assistant", "content": "code"},
                    {"role": "user", "content": "errors"}
                ]
            })
        );
    }

    #[test]
    fn usage_counts_cached_tokens_in_the_input() {
        let usage: WireUsage = serde_json::from_value(json!({
            "input_tokens": 10, "output_tokens": 5,
            "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 0
        }))
        .unwrap();
        assert_eq!(
            usage.into_usage(),
            Usage {
                input_tokens: 1010,
                output_tokens: 5,
                cache_read_tokens: Some(1000),
                ..Default::default()
            }
        );
    }

    #[test]
    fn error_bodies_become_one_line() {
        let body =
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(
            describe_error_body(body),
            "Overloaded (type overloaded_error)"
        );
        assert_eq!(describe_error_body(b"<html>502</html>"), "<html>502</html>");
        assert_eq!(describe_error_body(b""), "the body is empty");
    }
}
