//! The client for OpenAI's chat-completions API and the many servers that copy its wire format.
//!
//! One client serves OpenAI, vLLM, Ollama, the llama.cpp server, OpenRouter, DeepSeek, xAI,
//! Mistral and Together: they differ only in base URL, key and model names. It sends one
//! non-streamed `POST {base_url}/chat/completions` per call and never retries: a failed call comes
//! back as an error after exactly one request, and retrying is the caller's decision.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use async_openai::config::OpenAIConfig;
use async_openai::error::{ApiError, OpenAIError};
use async_openai::middleware::HttpRequestFactory;
use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequest,
};
use async_openai::Client;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::openai_errors::{
    checked_setup, describe, describe_error_body, error_message, invalid_setup, redact, snippet,
    status_in_body, timed_out, transport_kind,
};
use super::retry::parse_retry_after;
use super::{
    ChatMessage, ChatModel, ChatRequest, FinishReason, LlmError, Reply, Role, TransportKind, Usage,
};

/// A `ChatModel` that calls an OpenAI-compatible chat-completions endpoint.
///
/// It is synchronous to its callers: it owns a current-thread tokio runtime and blocks on each
/// call, so it must not be called from inside another async runtime. The API key never appears
/// in its `Debug` output, its errors or its logs.
pub struct OpenAiModel {
    base_url: String,
    /// Kept only to scrub it from any text a server sends back.
    api_key: Option<String>,
    request_timeout: Duration,
    client: Client<OpenAIConfig>,
    runtime: tokio::runtime::Runtime,
    /// The `Retry-After` header of the latest answer, which async-openai's errors leave out.
    retry_after: Arc<Mutex<Option<String>>>,
}

impl OpenAiModel {
    /// A client for the API at `base_url` (e.g. `https://api.openai.com/v1` or
    /// `http://localhost:11434/v1`). `api_key: None` is for local servers that need none.
    /// `request_timeout` bounds each whole call, from connecting to the last byte of the answer.
    pub fn new(
        base_url: &str,
        api_key: Option<String>,
        request_timeout: Duration,
    ) -> Result<Self, LlmError> {
        let (base_url, api_key) = checked_setup(base_url, api_key)?;

        // Every setting is given explicitly: `OpenAIConfig::new()` would otherwise pick up
        // OPENAI_API_KEY, OPENAI_ORG_ID and OPENAI_PROJECT_ID from the environment and send them
        // to whatever base URL this is. Without a key async-openai still sends an
        // `Authorization: Bearer` header, but an empty one; `Config` cannot drop it without
        // naming reqwest's and secrecy's types.
        let config = OpenAIConfig::new()
            .with_api_base(base_url.as_str())
            .with_api_key(api_key.clone().unwrap_or_default())
            .with_org_id("")
            .with_project_id("");
        // The client async-openai builds by default wraps reqwest in its `OpenAIRetryLayer`,
        // which resends 429s, 5xx answers and failed connections up to three times with
        // backoff, sleeping for `Retry-After` seconds. Retrying belongs to the caller
        // (`llm::retry`), so the requests go through a bare reqwest service instead, which sends
        // each exactly once and notes the answer's `Retry-After`.
        let tap = HeaderTap::default();
        let retry_after = tap.retry_after.clone();
        let client = Client::with_config(config).with_http_service(tap);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| invalid_setup(&base_url, format!("no async runtime: {source}")))?;
        Ok(OpenAiModel {
            base_url,
            api_key,
            request_timeout,
            client,
            runtime,
            retry_after,
        })
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    async fn send(&self, body: &WireRequest<'_>) -> Result<WireResponse, LlmError> {
        // The timeout wraps the whole call rather than being set on a reqwest client: building
        // one would need reqwest as a direct dependency, and this also covers reading the body.
        let chat = self.client.chat();
        let call = chat.create_byot::<_, WireResponse>(body);
        match tokio::time::timeout(self.request_timeout, call).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(error)) => Err(self.map_error(error)),
            Err(_elapsed) => Err(timed_out(&self.base_url, self.request_timeout)),
        }
    }

    fn map_error(&self, error: OpenAIError) -> LlmError {
        match error {
            OpenAIError::ApiError(response) => {
                let status = response.status_code;
                // async-openai parses the error object of a 4xx answer, but hands over the body
                // of a 5xx answer unparsed, since OpenAI does not promise JSON there.
                let detail = if status.is_server_error() {
                    describe_error_body(&response.api_error.message)
                } else {
                    describe_api_error(&response.api_error)
                };
                let reason = status.canonical_reason().unwrap_or("");
                let retry_after = self
                    .retry_after
                    .lock()
                    .ok()
                    .and_then(|value| value.clone())
                    .and_then(|value| parse_retry_after(&value, SystemTime::now()));
                LlmError::Api {
                    base_url: self.base_url.clone(),
                    status: Some(status.as_u16()),
                    message: self.redact(format!("HTTP {} {reason}: {detail}", status.as_u16())),
                    retry_after,
                }
            }
            // A body that is not what we expect: either a success that is not a chat
            // completion, or an error in a shape async-openai does not know (OpenRouter's
            // numeric codes, FastAPI's `detail`). The status is lost by then.
            OpenAIError::JSONDeserialize(error, body) => {
                let value: Option<Value> = serde_json::from_str(&body).ok();
                match value.as_ref().and_then(error_message) {
                    // A numeric `code` is the status the server answered with (llama.cpp's
                    // "exceeds the available context size" comes as 400 this way): without
                    // it a request that can never succeed would be retried.
                    Some(message) => {
                        self.api_error(value.as_ref().and_then(status_in_body), message)
                    }
                    None => self.bad_answer(format!(
                        "the body is neither a chat completion nor an error object ({error}): {}",
                        snippet(&body)
                    )),
                }
            }
            OpenAIError::Reqwest(source) => LlmError::Transport {
                base_url: self.base_url.clone(),
                kind: transport_kind(&source),
                source: Box::new(source),
            },
            // Building the request or a middleware layer failed; either way nothing usable
            // came back from the network.
            other => LlmError::Transport {
                base_url: self.base_url.clone(),
                kind: TransportKind::Dropped,
                source: Box::new(other),
            },
        }
    }

    fn to_reply(&self, response: WireResponse) -> Result<Reply, LlmError> {
        // OpenRouter, among others, reports some upstream failures as a 200 with an error object.
        if let Some(error) = &response.error {
            let message = error_message(&serde_json::json!({ "error": error }))
                .unwrap_or_else(|| snippet(&error.to_string()));
            // A numeric code there is the upstream's HTTP status (OpenRouter).
            let status = status_in_body(&serde_json::json!({ "error": error }));
            return Err(self.api_error(status, format!("the answer carried an error: {message}")));
        }
        let Some(choice) = response.choices.into_iter().next() else {
            return Err(self.bad_answer("the answer has no choices".to_owned()));
        };
        let message = choice.message.unwrap_or_default();
        let refusal = message.refusal.filter(|refusal| !refusal.is_empty());
        let text = match message.content.as_ref().and_then(content_text) {
            Some(text) => text,
            None if refusal.is_some() => String::new(),
            None => {
                return Err(self.bad_answer("the first choice has no message content".to_owned()))
            }
        };
        Ok(Reply {
            text,
            finish_reason: finish_reason(choice.finish_reason),
            cost_usd: response.usage.as_ref().and_then(|usage| usage.cost),
            usage: response.usage.map(|usage| Usage {
                input_tokens: usage.prompt_tokens.unwrap_or(0),
                output_tokens: usage.completion_tokens.unwrap_or(0),
                cache_read_tokens: usage
                    .prompt_tokens_details
                    .and_then(|details| details.cached_tokens)
                    .filter(|&tokens| tokens > 0),
                cache_write_tokens: None,
                reasoning_tokens: usage
                    .completion_tokens_details
                    .and_then(|details| details.reasoning_tokens)
                    .filter(|&tokens| tokens > 0),
            }),
            model: response.model,
            refusal,
            system_fingerprint: response.system_fingerprint,
        })
    }

    fn api_error(&self, status: Option<u16>, message: String) -> LlmError {
        LlmError::api(&self.base_url, status, self.redact(message))
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

impl ChatModel for OpenAiModel {
    fn complete(&mut self, iteration: u32, request: &ChatRequest) -> Result<Reply, LlmError> {
        let body = wire_request(request);
        if tracing::enabled!(tracing::Level::DEBUG) {
            let request_bytes = serde_json::to_vec(&body).map_or(0, |bytes| bytes.len());
            tracing::debug!(
                base_url = %self.base_url,
                model = %request.model,
                iteration,
                messages = request.messages.len(),
                request_bytes,
                "sending chat completion request"
            );
        }
        let started = Instant::now();
        let result = self
            .runtime
            .block_on(self.send(&body))
            .and_then(|response| self.to_reply(response));
        tracing::debug!(
            base_url = %self.base_url,
            iteration,
            latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            ok = result.is_ok(),
            "chat completion request finished"
        );
        result
    }
}

impl std::fmt::Debug for OpenAiModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiModel")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

/// The request body: async-openai's typed request, plus `reasoning_effort` verbatim.
///
/// async-openai types `reasoning_effort` as an enum of the values OpenAI knows today; providers
/// accept others, so the string goes as given and the provider judges it, answering an error
/// that reaches the user as `LlmError::Api`.
#[derive(Debug, Serialize)]
struct WireRequest<'a> {
    #[serde(flatten)]
    typed: CreateChatCompletionRequest,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<&'a str>,
}

fn wire_request(request: &ChatRequest) -> WireRequest<'_> {
    let params = &request.params;
    // OpenAI marks `seed` deprecated, but it still honours it, and vLLM, llama.cpp and Ollama
    // use it to make sampling reproducible.
    #[allow(deprecated)]
    let typed = CreateChatCompletionRequest {
        model: request.model.clone(),
        messages: request.messages.iter().map(to_openai_message).collect(),
        temperature: params.temperature,
        top_p: params.top_p,
        // `max_completion_tokens`, not the older `max_tokens`: OpenAI rejects `max_tokens` for
        // its reasoning models (o1, o3, gpt-5...) and accepts `max_completion_tokens` for every
        // model, and it counts reasoning tokens too. Current vLLM, llama.cpp, Ollama and the
        // hosted providers accept it as well.
        max_completion_tokens: params.max_tokens,
        seed: params.seed,
        ..Default::default()
    };
    WireRequest {
        typed,
        reasoning_effort: params.reasoning_effort.as_deref(),
    }
}

fn to_openai_message(message: &ChatMessage) -> ChatCompletionRequestMessage {
    let content = message.content.clone();
    match message.role {
        Role::System => ChatCompletionRequestSystemMessage::from(content).into(),
        Role::User => ChatCompletionRequestUserMessage::from(content).into(),
        Role::Assistant => ChatCompletionRequestAssistantMessage::from(content).into(),
    }
}

/// The answer, read leniently: the compatible servers leave out fields OpenAI always sends
/// (`id`, `created`, `usage`) and send finish reasons OpenAI never does (`abort`,
/// `model_length`, `insufficient_system_resource`), and neither should lose a reply.
#[derive(Debug, Deserialize)]
struct WireResponse {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    system_fingerprint: Option<String>,
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct WireChoice {
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireMessage {
    /// A string from most servers; an array of typed parts from some (Mistral's reasoning
    /// models); null when the model refused or called a tool.
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<WireTokenDetails>,
    #[serde(default)]
    completion_tokens_details: Option<WireTokenDetails>,
    /// OpenRouter's cost of the call, in US dollars (credits).
    #[serde(default)]
    cost: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct WireTokenDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

/// The text of a message's content: a string, or the `text` parts of an array joined.
fn content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(text) => Some(text.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter(|part| part.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|part| part.get("text").and_then(Value::as_str))
                .collect(),
        ),
        _ => None,
    }
}

/// An absent finish reason becomes `Other("")`: the reply is still usable.
fn finish_reason(reason: Option<String>) -> FinishReason {
    match reason.as_deref() {
        Some("stop") => FinishReason::Stop,
        Some("length") => FinishReason::Length,
        Some("content_filter") => FinishReason::ContentFilter,
        _ => FinishReason::Other(reason.unwrap_or_default()),
    }
}

/// OpenAI's error object as one line: the message, then its type and code where given.
fn describe_api_error(error: &ApiError) -> String {
    let code = error
        .code
        .as_deref()
        .map(|code| Value::String(code.to_owned()));
    describe(&error.message, error.r#type.as_deref(), code.as_ref())
}

type TapFuture =
    Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send + 'static>>;

/// The bare reqwest transport, one send per request, noting each answer's `Retry-After`.
#[derive(Clone, Default)]
struct HeaderTap {
    client: reqwest::Client,
    retry_after: Arc<Mutex<Option<String>>>,
}

impl tower::Service<HttpRequestFactory> for HeaderTap {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = TapFuture;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        let client = self.client.clone();
        let slot = self.retry_after.clone();
        Box::pin(async move {
            let request = request.build().await?;
            let response = client
                .execute(request)
                .await
                .map_err(OpenAIError::Reqwest)?;
            let value = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            if let Ok(mut slot) = slot.lock() {
                *slot = value;
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::SamplingParams;
    use super::*;

    #[test]
    fn finish_reasons_map_and_unknown_ones_stay_verbatim() {
        let map = |reason: &str| finish_reason(Some(reason.to_owned()));
        assert_eq!(map("stop"), FinishReason::Stop);
        assert_eq!(map("length"), FinishReason::Length);
        assert_eq!(map("content_filter"), FinishReason::ContentFilter);
        assert_eq!(map("tool_calls"), FinishReason::Other("tool_calls".into()));
        assert_eq!(finish_reason(None), FinishReason::Other(String::new()));
    }

    #[test]
    fn content_may_be_a_string_or_text_parts() {
        assert_eq!(content_text(&Value::from("hi")).as_deref(), Some("hi"));
        let parts = serde_json::json!([
            {"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]},
            {"type": "text", "text": "fn main() {}"}
        ]);
        assert_eq!(content_text(&parts).as_deref(), Some("fn main() {}"));
        assert_eq!(content_text(&Value::Null), None);
    }

    #[test]
    fn the_request_sends_max_completion_tokens_and_effort_verbatim() {
        let request = ChatRequest {
            model: "o3".into(),
            messages: vec![ChatMessage::user("hi")],
            params: SamplingParams {
                max_tokens: Some(100),
                reasoning_effort: Some("extreme".into()),
                ..Default::default()
            },
        };
        let body = serde_json::to_value(wire_request(&request)).unwrap();
        assert_eq!(body["max_completion_tokens"], 100);
        assert_eq!(body["reasoning_effort"], "extreme");
        assert!(body.get("max_tokens").is_none());
        assert!(body.get("temperature").is_none());
    }
}
