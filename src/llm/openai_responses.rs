//! The client for OpenAI's Responses API, the API OpenAI serves its reasoning models best through.
//!
//! It sends one non-streamed `POST {base_url}/responses` per call, with `store: false` so that
//! OpenAI keeps nothing between calls: each request carries the whole conversation, as with chat
//! completions. It never retries; retrying is the caller's decision (`llm::retry`).
//!
//! It talks plain reqwest rather than async-openai: async-openai reaches `/responses` only through
//! its `responses` feature, which compiles its whole typed Responses API for one call whose
//! request and answer this file reads with its own small types anyway. Plain reqwest also sends
//! each request exactly once and hands over the status and `Retry-After` directly.

use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::openai_errors::{
    checked_setup, describe_error_body, error_message, invalid_setup, redact, snippet, timed_out,
    transport_kind,
};
use super::retry::parse_retry_after;
use super::{ChatModel, ChatRequest, FinishReason, LlmError, Reply, Role, Usage};

/// A `ChatModel` that calls OpenAI's Responses API (`/responses`).
///
/// Synchronous to its callers like [`super::OpenAiModel`]: it owns a current-thread tokio runtime
/// and blocks on each call, so it must not be called from inside another async runtime. The API
/// key never appears in its `Debug` output, its errors or its logs.
///
/// The Responses API has no `seed`: a request's `params.seed` is not sent.
pub struct OpenAiResponsesModel {
    base_url: String,
    /// Sent as a bearer token, and kept to scrub it from any text a server sends back.
    api_key: Option<String>,
    request_timeout: Duration,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

/// What came back from the server: the status, its `Retry-After` and the whole body.
struct Answer {
    status: reqwest::StatusCode,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

impl OpenAiResponsesModel {
    /// A client for the API at `base_url` (e.g. `https://api.openai.com/v1`). `api_key: None`
    /// sends no `Authorization` header, for local servers that need none. `request_timeout`
    /// bounds each whole call, from connecting to the last byte of the answer.
    pub fn new(
        base_url: &str,
        api_key: Option<String>,
        request_timeout: Duration,
    ) -> Result<Self, LlmError> {
        let (base_url, api_key) = checked_setup(base_url, api_key)?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("harness/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| invalid_setup(&base_url, format!("no HTTP client: {source}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| invalid_setup(&base_url, format!("no async runtime: {source}")))?;
        Ok(OpenAiResponsesModel {
            base_url,
            api_key,
            request_timeout,
            client,
            runtime,
        })
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    async fn send(&self, body: Vec<u8>) -> Result<Answer, LlmError> {
        let mut request = self
            .client
            .post(format!("{}/responses", self.base_url))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(key) = &self.api_key {
            // reqwest marks this header sensitive, which keeps it out of its own Debug output.
            request = request.bearer_auth(key);
        }
        let transport = |source: reqwest::Error| LlmError::Transport {
            base_url: self.base_url.clone(),
            kind: transport_kind(&source),
            source: Box::new(source),
        };
        // The timeout wraps the whole call, reading the body included, as in `OpenAiModel`.
        let call = async {
            let response = request.send().await.map_err(transport)?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| parse_retry_after(value, SystemTime::now()));
            let body = response.bytes().await.map_err(transport)?.to_vec();
            Ok(Answer {
                status,
                retry_after,
                body,
            })
        };
        match tokio::time::timeout(self.request_timeout, call).await {
            Ok(result) => result,
            Err(_elapsed) => Err(timed_out(&self.base_url, self.request_timeout)),
        }
    }

    fn to_reply(&self, answer: Answer) -> Result<Reply, LlmError> {
        let body = String::from_utf8_lossy(&answer.body);
        if !answer.status.is_success() {
            let status = answer.status;
            let reason = status.canonical_reason().unwrap_or("");
            return Err(LlmError::Api {
                base_url: self.base_url.clone(),
                status: Some(status.as_u16()),
                message: self.redact(format!(
                    "HTTP {} {reason}: {}",
                    status.as_u16(),
                    describe_error_body(&body)
                )),
                retry_after: answer.retry_after,
            });
        }
        let response: WireResponse = match serde_json::from_str(&body) {
            Ok(response) => response,
            // An error in another shape (a proxy's, FastAPI's `detail`) or no JSON at all.
            Err(error) => {
                return Err(
                    match serde_json::from_str(&body)
                        .ok()
                        .and_then(|v| error_message(&v))
                    {
                        Some(message) => self.api_error(message),
                        None => self.bad_answer(format!(
                            "the body is neither a response nor an error object ({error}): {}",
                            snippet(&body)
                        )),
                    },
                );
            }
        };
        // A response that failed carries its error object with a 200.
        if let Some(error) = response.error.filter(|error| !error.is_null()) {
            let message = error_message(&serde_json::json!({ "error": error }))
                .unwrap_or_else(|| snippet(&error.to_string()));
            return Err(self.api_error(format!("the answer carried an error: {message}")));
        }
        let incomplete = response.status.as_deref() == Some("incomplete");
        let finish_reason = match response.status.as_deref() {
            Some("completed") => FinishReason::Stop,
            Some("incomplete") => {
                let reason = response
                    .incomplete_details
                    .and_then(|details| details.reason);
                match reason.as_deref() {
                    Some("max_output_tokens") => FinishReason::Length,
                    Some("content_filter") => FinishReason::ContentFilter,
                    _ => FinishReason::Other(reason.unwrap_or_else(|| "incomplete".to_owned())),
                }
            }
            Some("failed") => {
                return Err(self.api_error("the response failed without saying why".to_owned()))
            }
            other => FinishReason::Other(other.unwrap_or_default().to_owned()),
        };

        let messages: Vec<&WireOutputItem> = response
            .output
            .iter()
            .filter(|item| item.kind == "message")
            .collect();
        // A reasoning model cut off at `max_output_tokens` while still reasoning has written no
        // message at all: that is a reply, empty and truncated, not a broken answer.
        if messages.is_empty() && !incomplete {
            let kinds: Vec<&str> = response
                .output
                .iter()
                .map(|item| item.kind.as_str())
                .collect();
            return Err(self.bad_answer(format!(
                "the answer has no message among its output items ({})",
                if kinds.is_empty() {
                    "none".to_owned()
                } else {
                    kinds.join(", ")
                }
            )));
        }
        // The parts of one message are one text; separate messages are kept apart by a blank
        // line, so that a code fence closing one never runs into the next.
        let text = messages
            .iter()
            .map(|message| parts_text(&message.content, "output_text", "text"))
            .collect::<Vec<_>>()
            .join("\n\n");
        let refusal = messages
            .iter()
            .map(|message| parts_text(&message.content, "refusal", "refusal"))
            .filter(|refusal| !refusal.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");

        Ok(Reply {
            text,
            finish_reason,
            usage: response.usage.map(|usage| Usage {
                input_tokens: usage.input_tokens.unwrap_or(0),
                output_tokens: usage.output_tokens.unwrap_or(0),
                cache_read_tokens: usage
                    .input_tokens_details
                    .and_then(|details| details.cached_tokens)
                    .filter(|&tokens| tokens > 0),
                cache_write_tokens: None,
                reasoning_tokens: usage
                    .output_tokens_details
                    .and_then(|details| details.reasoning_tokens)
                    .filter(|&tokens| tokens > 0),
            }),
            model: response.model,
            refusal: (!refusal.is_empty()).then_some(refusal),
            system_fingerprint: None,
            cost_usd: None,
        })
    }

    /// An error object in a 200 answer: there is no HTTP status to give.
    fn api_error(&self, message: String) -> LlmError {
        LlmError::api(&self.base_url, None, self.redact(message))
    }

    fn bad_answer(&self, detail: String) -> LlmError {
        LlmError::BadAnswer {
            base_url: self.base_url.clone(),
            detail: self.redact(detail),
        }
    }

    fn redact(&self, text: String) -> String {
        redact(self.api_key.as_deref(), text)
    }
}

impl ChatModel for OpenAiResponsesModel {
    fn complete(&mut self, iteration: u32, request: &ChatRequest) -> Result<Reply, LlmError> {
        let body = serde_json::to_vec(&wire_request(request)).map_err(|error| {
            invalid_setup(
                &self.base_url,
                format!("the request cannot be written: {error}"),
            )
        })?;
        tracing::debug!(
            base_url = %self.base_url,
            model = %request.model,
            iteration,
            messages = request.messages.len(),
            request_bytes = body.len(),
            "sending responses request"
        );
        let started = Instant::now();
        let result = self
            .runtime
            .block_on(self.send(body))
            .and_then(|answer| self.to_reply(answer));
        tracing::debug!(
            base_url = %self.base_url,
            iteration,
            latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            ok = result.is_ok(),
            "responses request finished"
        );
        result
    }
}

impl std::fmt::Debug for OpenAiResponsesModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiResponsesModel")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

/// The request body of `POST /responses`.
///
/// There is no `seed`: the Responses API has none, so sampling cannot be pinned and
/// `params.seed` is dropped. `reasoning.effort` goes verbatim, for the provider to judge.
#[derive(Debug, Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    /// The system messages, joined.
    #[serde(skip_serializing_if = "Option::is_none")]
    instructions: Option<String>,
    input: Vec<WireInputMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<WireReasoning<'a>>,
    /// Nothing is kept at OpenAI between calls: every request carries the whole conversation.
    store: bool,
}

/// One turn of the conversation, in the API's short message form.
#[derive(Debug, Serialize)]
struct WireInputMessage<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Debug, Serialize)]
struct WireReasoning<'a> {
    effort: &'a str,
}

fn wire_request(request: &ChatRequest) -> WireRequest<'_> {
    let params = &request.params;
    let system: Vec<&str> = request
        .messages
        .iter()
        .filter(|message| message.role == Role::System)
        .map(|message| message.content.as_str())
        .collect();
    let input = request
        .messages
        .iter()
        .filter_map(|message| {
            let role = match message.role {
                Role::System => return None,
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            Some(WireInputMessage {
                role,
                content: &message.content,
            })
        })
        .collect();
    WireRequest {
        model: &request.model,
        instructions: (!system.is_empty()).then(|| system.join("\n\n")),
        input,
        max_output_tokens: params.max_tokens,
        temperature: params.temperature,
        top_p: params.top_p,
        reasoning: params
            .reasoning_effort
            .as_deref()
            .map(|effort| WireReasoning { effort }),
        store: false,
    }
}

/// The answer, read leniently: only what a reply needs, every field optional.
#[derive(Debug, Deserialize)]
struct WireResponse {
    #[serde(default)]
    model: Option<String>,
    /// `completed`, `incomplete` or `failed` for a non-streamed, non-background call.
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    incomplete_details: Option<WireIncompleteDetails>,
    #[serde(default)]
    output: Vec<WireOutputItem>,
    #[serde(default)]
    usage: Option<WireUsage>,
    /// Always present, `null` unless the response failed.
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct WireIncompleteDetails {
    #[serde(default)]
    reason: Option<String>,
}

/// An output item: a `message`, or `reasoning`, a tool call and the like, which are skipped.
#[derive(Debug, Deserialize)]
struct WireOutputItem {
    #[serde(rename = "type", default)]
    kind: String,
    /// A message's parts (`output_text`, `refusal`); absent on other items.
    #[serde(default)]
    content: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    input_tokens_details: Option<WireTokenDetails>,
    #[serde(default)]
    output_tokens_details: Option<WireTokenDetails>,
}

#[derive(Debug, Deserialize)]
struct WireTokenDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

/// The `field` of every part of type `kind`, joined.
fn parts_text(parts: &[Value], kind: &str, field: &str) -> String {
    parts
        .iter()
        .filter(|part| part.get("type").and_then(Value::as_str) == Some(kind))
        .filter_map(|part| part.get(field).and_then(Value::as_str))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{ChatMessage, SamplingParams};
    use super::*;

    #[test]
    fn system_messages_become_instructions_and_seed_is_not_sent() {
        let request = ChatRequest {
            model: "o3".into(),
            messages: vec![
                ChatMessage {
                    role: Role::System,
                    content: "one".into(),
                },
                ChatMessage::user("hi"),
                ChatMessage {
                    role: Role::System,
                    content: "two".into(),
                },
            ],
            params: SamplingParams {
                seed: Some(7),
                reasoning_effort: Some("extreme".into()),
                ..Default::default()
            },
        };
        let body = serde_json::to_value(wire_request(&request)).unwrap();
        assert_eq!(body["instructions"], "one\n\ntwo");
        assert_eq!(
            body["input"],
            serde_json::json!([{"role": "user", "content": "hi"}])
        );
        assert_eq!(body["reasoning"]["effort"], "extreme");
        assert_eq!(body["store"], false);
        assert!(body.get("seed").is_none(), "{body}");
        assert!(body.get("max_output_tokens").is_none(), "{body}");
    }

    #[test]
    fn only_parts_of_the_asked_type_are_joined() {
        let parts = serde_json::json!([
            {"type": "output_text", "text": "fn main() ", "annotations": []},
            {"type": "refusal", "refusal": "no"},
            {"type": "output_text", "text": "{}"}
        ]);
        let parts = parts.as_array().unwrap();
        assert_eq!(parts_text(parts, "output_text", "text"), "fn main() {}");
        assert_eq!(parts_text(parts, "refusal", "refusal"), "no");
    }
}
