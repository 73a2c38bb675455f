//! The client for Google's Gemini API (`POST {base_url}/models/{model}:generateContent`).
//!
//! One non-streamed request per call and no retries: a failed call comes back as an error after
//! exactly one request, and retrying is the caller's decision (`llm::retry`).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{snippet, JsonClient};
use super::{ChatModel, ChatRequest, FinishReason, LlmError, Reply, Role, Usage};

/// A `ChatModel` that calls the Gemini API's `generateContent`.
///
/// What it sends: system messages as `systemInstruction` (one part each), the other turns as
/// `contents` with the roles `user` and `model`, and in `generationConfig` the request's
/// `temperature`, `topP`, `maxOutputTokens` and `seed` where it sets them.
///
/// `reasoning_effort` becomes `thinkingConfig.thinkingBudget` in tokens: `low` 1024, `medium`
/// 8192, `high` 24576 (the most Gemini 2.5 Flash takes; Pro takes up to 32768), `none` 0
/// (thinking off, where the model allows it), or a number as given (`-1` lets the model
/// decide). Any other effort is refused before a request is made (`LlmError::Setup`). Gemini 3
/// models prefer `thinkingLevel` but still honour a budget.
///
/// Gemini caches long prompts implicitly (no marker needed); what it read from its cache is
/// reported as `cache_read_tokens`.
///
/// The API key goes in the `x-goog-api-key` header, never in the URL (where Google's examples
/// put it, and where it would reach logs and error messages), and never appears in `Debug`
/// output, errors or logs.
pub struct GeminiModel {
    http: JsonClient,
}

impl GeminiModel {
    /// Where Google's Gemini API lives.
    pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";

    /// A client for the API at `base_url` ([`Self::DEFAULT_BASE_URL`], or a compatible proxy).
    /// `request_timeout` bounds each whole call, from connecting to the last byte of the answer.
    pub fn new(
        base_url: &str,
        api_key: Option<String>,
        request_timeout: Duration,
    ) -> Result<Self, LlmError> {
        Ok(GeminiModel {
            http: JsonClient::new(base_url, api_key, "x-goog-api-key", request_timeout)?,
        })
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.http.base_url()
    }

    fn to_reply(&self, body: &[u8]) -> Result<Reply, LlmError> {
        let value = self.http.json_body(body)?;
        // Google sends errors only with an error status, but a proxy may wrap one in a 200.
        if value.get("error").is_some_and(Value::is_object) {
            return Err(self.http.error_in_success(&describe_error(&value["error"])));
        }
        let answer: WireResponse = serde_json::from_value(value).map_err(|error| {
            self.http.bad_answer(format!(
                "the body is not a generateContent answer ({error}): {}",
                snippet(&String::from_utf8_lossy(body))
            ))
        })?;
        let (text, finish_reason, refusal) = match answer.candidates.into_iter().next() {
            Some(candidate) => {
                let (text, finish_reason) = self.candidate_text(candidate)?;
                (text, finish_reason, None)
            }
            None => {
                // A blocked prompt gets no candidates: that is the provider's content filter
                // answering, not a failed call.
                let feedback = answer.prompt_feedback.unwrap_or_default();
                let Some(reason) = feedback.block_reason else {
                    return Err(self
                        .http
                        .bad_answer("the answer has no candidates".to_owned()));
                };
                let refusal = match feedback.message {
                    Some(message) => format!("the prompt was blocked ({reason}): {message}"),
                    None => format!("the prompt was blocked ({reason})"),
                };
                (String::new(), FinishReason::ContentFilter, Some(refusal))
            }
        };
        Ok(Reply {
            text,
            finish_reason,
            usage: answer.usage_metadata.map(WireUsage::into_usage),
            // `modelVersion` names the model that answered, and is the closest Gemini comes
            // to a backend fingerprint.
            model: answer.model_version.clone(),
            refusal,
            system_fingerprint: answer.model_version,
            cost_usd: None,
        })
    }

    /// The candidate's reply text (thought summaries left out) and why it ended.
    fn candidate_text(&self, candidate: WireCandidate) -> Result<(String, FinishReason), LlmError> {
        let finish_reason = finish_reason(candidate.finish_reason.as_deref());
        let mut texts = candidate
            .content
            .iter()
            .flat_map(|content| &content.parts)
            .filter(|part| !part.thought)
            .filter_map(|part| part.text.as_deref())
            .peekable();
        if texts.peek().is_none() && finish_reason == FinishReason::Stop {
            // Gemini now and then finishes with nothing in it; another attempt usually answers.
            // A cut or filtered candidate without text is the model's answer.
            return Err(self
                .http
                .bad_answer("the first candidate has no text".to_owned()));
        }
        Ok((texts.collect(), finish_reason))
    }
}

impl ChatModel for GeminiModel {
    fn complete(&mut self, iteration: u32, request: &ChatRequest) -> Result<Reply, LlmError> {
        let body = wire_request(request).map_err(|problem| self.http.setup_error(&problem))?;
        let body = serde_json::to_vec(&body).map_err(|error| {
            self.http
                .setup_error(&format!("the request is not JSON: {error}"))
        })?;
        let url = format!(
            "{}/models/{}:generateContent",
            self.http.base_url(),
            model_segment(&request.model)
        );
        let answer = self.http.post(&url, iteration, &[], body)?;
        if !answer.is_success() {
            let (detail, delay) = describe_error_body(&answer.body);
            let retry_after = answer.retry_after.or(delay);
            return Err(self.http.status_error(answer.status, &detail, retry_after));
        }
        self.to_reply(&answer.body)
    }
}

impl std::fmt::Debug for GeminiModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeminiModel")
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

/// The thinking budget for a `reasoning_effort`, as `GeminiModel`'s documentation lists them;
/// `None` for an effort that has none.
fn thinking_budget(effort: &str) -> Option<i64> {
    match effort.trim().to_ascii_lowercase().as_str() {
        "none" => Some(0),
        "low" => Some(1024),
        "medium" => Some(8192),
        "high" => Some(24_576),
        other => other.parse().ok(),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WireRequest<'a> {
    contents: Vec<WireContent<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_instruction: Option<WireSystem<'a>>,
    #[serde(skip_serializing_if = "GenerationConfig::is_empty")]
    generation_config: GenerationConfig,
}

#[derive(Debug, Serialize)]
struct WireContent<'a> {
    role: &'static str,
    parts: [WirePart<'a>; 1],
}

#[derive(Debug, Serialize)]
struct WireSystem<'a> {
    parts: Vec<WirePart<'a>>,
}

#[derive(Debug, Serialize)]
struct WirePart<'a> {
    text: &'a str,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_config: Option<ThinkingConfig>,
}

impl GenerationConfig {
    fn is_empty(&self) -> bool {
        self.temperature.is_none()
            && self.top_p.is_none()
            && self.max_output_tokens.is_none()
            && self.seed.is_none()
            && self.thinking_config.is_none()
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ThinkingConfig {
    thinking_budget: i64,
}

/// The request body, or why it cannot be sent (an effort with no thinking budget).
fn wire_request(request: &ChatRequest) -> Result<WireRequest<'_>, String> {
    let params = &request.params;
    let thinking_config = match params.reasoning_effort.as_deref() {
        None => None,
        Some(effort) => Some(ThinkingConfig {
            thinking_budget: thinking_budget(effort).ok_or_else(|| {
                format!(
                    "reasoning_effort `{effort}` has no Gemini thinking budget: use low, medium, \
                     high, none or a number of tokens"
                )
            })?,
        }),
    };
    let system: Vec<WirePart<'_>> = request
        .messages
        .iter()
        .filter(|message| message.role == Role::System)
        .map(|message| WirePart {
            text: &message.content,
        })
        .collect();
    let contents = request
        .messages
        .iter()
        .filter_map(|message| {
            let role = match message.role {
                Role::System => return None,
                Role::User => "user",
                Role::Assistant => "model",
            };
            Some(WireContent {
                role,
                parts: [WirePart {
                    text: &message.content,
                }],
            })
        })
        .collect();
    Ok(WireRequest {
        contents,
        system_instruction: (!system.is_empty()).then_some(WireSystem { parts: system }),
        generation_config: GenerationConfig {
            temperature: params.temperature,
            top_p: params.top_p,
            max_output_tokens: params.max_tokens,
            seed: params.seed,
            thinking_config,
        },
    })
}

/// The model name as one URL path segment: a leading `models/` (as the API lists them) is
/// dropped, and anything outside the characters model names use is percent-encoded, so a
/// name can never reach another path or smuggle in a query.
fn model_segment(model: &str) -> String {
    let model = model.trim();
    let model = model.strip_prefix("models/").unwrap_or(model);
    let mut segment = String::with_capacity(model.len());
    for byte in model.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            segment.push(char::from(byte));
        } else {
            segment.push_str(&format!("%{byte:02X}"));
        }
    }
    segment
}

/// The answer, read leniently: every field may be missing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireResponse {
    #[serde(default)]
    candidates: Vec<WireCandidate>,
    #[serde(default)]
    prompt_feedback: Option<WirePromptFeedback>,
    #[serde(default)]
    usage_metadata: Option<WireUsage>,
    #[serde(default)]
    model_version: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCandidate {
    /// Missing when a safety filter stopped the candidate before any text.
    #[serde(default)]
    content: Option<WireCandidateContent>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireCandidateContent {
    #[serde(default)]
    parts: Vec<WirePartOut>,
}

#[derive(Debug, Deserialize)]
struct WirePartOut {
    #[serde(default)]
    text: Option<String>,
    /// A thought summary (only sent when asked for with `includeThoughts`), not the reply.
    #[serde(default)]
    thought: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePromptFeedback {
    #[serde(default)]
    block_reason: Option<String>,
    #[serde(default, rename = "blockReasonMessage")]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireUsage {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
    #[serde(default)]
    cached_content_token_count: u64,
}

impl WireUsage {
    /// Gemini's prompt count already includes the cached tokens; its candidates count leaves
    /// out the thinking tokens, which are billed as output.
    fn into_usage(self) -> Usage {
        Usage {
            input_tokens: self.prompt_token_count,
            output_tokens: self.candidates_token_count + self.thoughts_token_count,
            cache_read_tokens: Some(self.cached_content_token_count).filter(|&tokens| tokens > 0),
            cache_write_tokens: None,
            reasoning_tokens: Some(self.thoughts_token_count).filter(|&tokens| tokens > 0),
        }
    }
}

/// Gemini's `finishReason`. Every reason a filter gives is `ContentFilter`: safety, recitation,
/// the blocklist, prohibited content, personal data, unsafe images.
fn finish_reason(reason: Option<&str>) -> FinishReason {
    match reason {
        Some("STOP") => FinishReason::Stop,
        Some("MAX_TOKENS") => FinishReason::Length,
        Some(
            "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY",
        ) => FinishReason::ContentFilter,
        other => FinishReason::Other(other.unwrap_or_default().to_owned()),
    }
}

/// An error answer's body as one line, and the wait its `RetryInfo` asks for: Google's error
/// object where it is one (`{"error": {"code", "message", "status", "details"}}`, sometimes
/// inside a one-element array), else the start of the body.
fn describe_error_body(body: &[u8]) -> (String, Option<Duration>) {
    let value = serde_json::from_slice::<Value>(body).ok();
    let value = match value {
        Some(Value::Array(mut items)) if items.len() == 1 => items.pop(),
        other => other,
    };
    match value.as_ref().and_then(|value| value.get("error")) {
        Some(error) if error.is_object() => (describe_error(error), retry_delay(error)),
        _ => (snippet(&String::from_utf8_lossy(body)), None),
    }
}

/// `API key not valid. (status INVALID_ARGUMENT, reason API_KEY_INVALID)`.
fn describe_error(error: &Value) -> String {
    let message = match error.get("message").and_then(Value::as_str) {
        Some(message) => message.to_owned(),
        None => snippet(&error.to_string()),
    };
    let mut labels = Vec::new();
    if let Some(status) = error.get("status").and_then(Value::as_str) {
        labels.push(format!("status {status}"));
    }
    // `ErrorInfo.reason` tells a bad key (`API_KEY_INVALID`) from other invalid arguments.
    let reason = details(error)
        .find(|detail| type_is(detail, "google.rpc.ErrorInfo"))
        .and_then(|detail| detail.get("reason"))
        .and_then(Value::as_str);
    if let Some(reason) = reason {
        labels.push(format!("reason {reason}"));
    }
    if labels.is_empty() {
        message
    } else {
        format!("{message} ({})", labels.join(", "))
    }
}

/// The wait a 429's `RetryInfo` detail asks for (`"retryDelay": "37s"`): Google puts it in the
/// body rather than in a `Retry-After` header.
fn retry_delay(error: &Value) -> Option<Duration> {
    let delay = details(error)
        .find(|detail| type_is(detail, "google.rpc.RetryInfo"))?
        .get("retryDelay")?
        .as_str()?;
    let seconds: f64 = delay.trim().strip_suffix('s')?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

fn details(error: &Value) -> impl Iterator<Item = &Value> {
    error
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn type_is(detail: &Value, name: &str) -> bool {
    detail
        .get("@type")
        .and_then(Value::as_str)
        .is_some_and(|kind| kind.ends_with(name))
}

#[cfg(test)]
mod tests {
    use super::super::{ChatMessage, SamplingParams};
    use super::*;
    use serde_json::json;

    #[test]
    fn finish_reasons_map_and_unknown_ones_stay_verbatim() {
        assert_eq!(finish_reason(Some("STOP")), FinishReason::Stop);
        assert_eq!(finish_reason(Some("MAX_TOKENS")), FinishReason::Length);
        for filtered in [
            "SAFETY",
            "RECITATION",
            "BLOCKLIST",
            "PROHIBITED_CONTENT",
            "SPII",
        ] {
            assert_eq!(
                finish_reason(Some(filtered)),
                FinishReason::ContentFilter,
                "{filtered}"
            );
        }
        assert_eq!(
            finish_reason(Some("MALFORMED_FUNCTION_CALL")),
            FinishReason::Other("MALFORMED_FUNCTION_CALL".into())
        );
        assert_eq!(finish_reason(None), FinishReason::Other(String::new()));
    }

    #[test]
    fn efforts_map_to_thinking_budgets() {
        assert_eq!(thinking_budget("low"), Some(1024));
        assert_eq!(thinking_budget("Medium"), Some(8192));
        assert_eq!(thinking_budget("high"), Some(24_576));
        assert_eq!(thinking_budget("none"), Some(0));
        assert_eq!(thinking_budget("-1"), Some(-1));
        assert_eq!(thinking_budget("2048"), Some(2048));
        assert_eq!(thinking_budget("extreme"), None);
    }

    #[test]
    fn an_effort_without_a_budget_is_refused() {
        let request = ChatRequest {
            model: "gemini-test".into(),
            messages: vec![ChatMessage::user("hi")],
            params: SamplingParams {
                reasoning_effort: Some("extreme".into()),
                ..Default::default()
            },
        };
        let problem = wire_request(&request).unwrap_err();
        assert!(problem.contains("`extreme`"), "{problem}");
    }

    #[test]
    fn a_request_without_params_has_no_generation_config() {
        let request = ChatRequest {
            model: "gemini-test".into(),
            messages: vec![ChatMessage::user("hi")],
            params: SamplingParams::default(),
        };
        let body = serde_json::to_value(wire_request(&request).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
        );
    }

    #[test]
    fn model_names_stay_one_path_segment() {
        assert_eq!(model_segment("gemini-2.5-pro"), "gemini-2.5-pro");
        assert_eq!(model_segment("models/gemini-2.5-flash"), "gemini-2.5-flash");
        assert_eq!(model_segment("a/../b?key=x"), "a%2F..%2Fb%3Fkey%3Dx");
    }

    #[test]
    fn error_bodies_give_message_status_reason_and_delay() {
        let body = json!({"error": {
            "code": 429, "message": "Quota exceeded.", "status": "RESOURCE_EXHAUSTED",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37.5s"}
            ]
        }});
        let (detail, delay) = describe_error_body(body.to_string().as_bytes());
        assert_eq!(detail, "Quota exceeded. (status RESOURCE_EXHAUSTED)");
        assert_eq!(delay, Some(Duration::from_millis(37_500)));

        let key = json!([{"error": {
            "code": 400, "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]
        }}]);
        let (detail, delay) = describe_error_body(key.to_string().as_bytes());
        assert_eq!(
            detail,
            "API key not valid. Please pass a valid API key. (status INVALID_ARGUMENT, reason API_KEY_INVALID)"
        );
        assert_eq!(delay, None);
        assert_eq!(
            describe_error_body(b"Bad Gateway"),
            ("Bad Gateway".to_owned(), None)
        );
    }

    #[test]
    fn usage_counts_thoughts_as_output() {
        let usage: WireUsage = serde_json::from_value(json!({
            "promptTokenCount": 1200, "candidatesTokenCount": 30, "thoughtsTokenCount": 500,
            "cachedContentTokenCount": 1024, "totalTokenCount": 1730
        }))
        .unwrap();
        assert_eq!(
            usage.into_usage(),
            Usage {
                input_tokens: 1200,
                output_tokens: 530,
                cache_read_tokens: Some(1024),
                cache_write_tokens: None,
                reasoning_tokens: Some(500),
            }
        );
    }
}
