//! What OpenAI's two clients (chat completions and Responses) share about failing: reading the
//! error bodies OpenAI and the compatible servers send, refusing a setup that cannot work, and
//! keeping the API key out of every message.

use serde_json::Value;

use super::{LlmError, TransportKind};

/// How much of an unexpected body goes into an error message.
const BODY_SNIPPET_CHARS: usize = 500;

/// The base URL without surrounding whitespace or a trailing slash, and the key without
/// surrounding whitespace (`None` when empty), or why they cannot be used.
pub(super) fn checked_setup(
    base_url: &str,
    api_key: Option<String>,
) -> Result<(String, Option<String>), LlmError> {
    let base_url = base_url.trim().trim_end_matches('/').to_owned();
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(invalid_setup(
            &base_url,
            "the base URL must start with http:// or https://".to_owned(),
        ));
    }
    // Keys are read from files and environment variables, where stray whitespace is common;
    // an empty key means there is none.
    let api_key = api_key
        .map(|key| key.trim().to_owned())
        .filter(|key| !key.is_empty());
    if let Some(key) = &api_key {
        // A key that cannot go into a header would fail later, inside the HTTP stack (async-openai
        // even panics on one); refuse it here instead, without repeating it.
        if !key.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(invalid_setup(
                &base_url,
                "the API key contains characters that cannot be sent in an HTTP header".to_owned(),
            ));
        }
    }
    Ok((base_url, api_key))
}

pub(super) fn invalid_setup(base_url: &str, problem: String) -> LlmError {
    LlmError::Setup {
        base_url: base_url.to_owned(),
        problem,
    }
}

/// Servers and proxies sometimes echo the request back in an error; the key must not follow.
pub(super) fn redact(api_key: Option<&str>, text: String) -> String {
    match api_key {
        Some(key) if text.contains(key) => text.replace(key, "[redacted]"),
        _ => text,
    }
}

/// How a request that got no whole answer failed.
pub(super) fn transport_kind(error: &reqwest::Error) -> TransportKind {
    if error.is_timeout() {
        TransportKind::Timeout
    } else if error.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Dropped
    }
}

/// The transport error for a call that did not finish within `timeout`.
pub(super) fn timed_out(base_url: &str, timeout: std::time::Duration) -> LlmError {
    LlmError::Transport {
        base_url: base_url.to_owned(),
        kind: TransportKind::Timeout,
        source: Box::new(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no complete answer within {timeout:?}"),
        )),
    }
}

/// An error message with its labels: the message, then its type and code where given.
pub(super) fn describe(message: &str, kind: Option<&str>, code: Option<&Value>) -> String {
    let mut labels = Vec::new();
    if let Some(kind) = kind.filter(|kind| !kind.is_empty()) {
        labels.push(format!("type {kind}"));
    }
    match code {
        Some(Value::String(code)) if !code.is_empty() => labels.push(format!("code {code}")),
        Some(Value::Number(code)) => labels.push(format!("code {code}")),
        _ => {}
    }
    if labels.is_empty() {
        message.to_owned()
    } else {
        format!("{message} ({})", labels.join(", "))
    }
}

/// The provider's message from an error body: OpenAI's object where it is one, else the body.
pub(super) fn describe_error_body(body: &str) -> String {
    if body.trim().is_empty() {
        return "the body is empty".to_owned();
    }
    serde_json::from_str(body)
        .ok()
        .and_then(|value| error_message(&value))
        .unwrap_or_else(|| snippet(body))
}

/// The message of an error body in any of the shapes compatible servers use: OpenAI's
/// `{"error": {"message", "type", "code"}}` (with a numeric code at OpenRouter),
/// `{"error": "..."}`, vLLM's older `{"object": "error", "message"}` and FastAPI's
/// `{"detail": ...}`. `None` when the body is none of these.
pub(super) fn error_message(body: &Value) -> Option<String> {
    match body.get("error") {
        Some(Value::Object(error)) => {
            let message = match error.get("message") {
                Some(Value::String(message)) => message.clone(),
                _ => snippet(&Value::Object(error.clone()).to_string()),
            };
            let kind = error.get("type").and_then(Value::as_str);
            Some(describe(&message, kind, error.get("code")))
        }
        Some(Value::String(message)) => Some(message.clone()),
        _ if body.get("object").and_then(Value::as_str) == Some("error") => {
            let message = body.get("message").and_then(Value::as_str)?;
            Some(describe(
                message,
                body.get("type").and_then(Value::as_str),
                body.get("code"),
            ))
        }
        _ => match body.get("detail")? {
            Value::String(detail) => Some(detail.clone()),
            detail => Some(snippet(&detail.to_string())),
        },
    }
}

/// The start of a body, cut at a character boundary.
pub(super) fn snippet(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(BODY_SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}...", &body[..cut]),
        None => body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_found_in_every_known_shape() {
        let openai = serde_json::json!({"error": {"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key"}});
        assert_eq!(
            error_message(&openai).as_deref(),
            Some("bad key (type invalid_request_error, code invalid_api_key)")
        );
        let openrouter = serde_json::json!({"error": {"message": "no credits", "code": 402}});
        assert_eq!(
            error_message(&openrouter).as_deref(),
            Some("no credits (code 402)")
        );
        let plain = serde_json::json!({"error": "model 'x' not found"});
        assert_eq!(
            error_message(&plain).as_deref(),
            Some("model 'x' not found")
        );
        let vllm = serde_json::json!({"object": "error", "message": "no such model", "type": "NotFoundError", "code": 404});
        assert_eq!(
            error_message(&vllm).as_deref(),
            Some("no such model (type NotFoundError, code 404)")
        );
        let fastapi = serde_json::json!({"detail": "Not Found"});
        assert_eq!(error_message(&fastapi).as_deref(), Some("Not Found"));
        assert_eq!(error_message(&serde_json::json!({"choices": []})), None);
    }

    #[test]
    fn snippets_cut_long_bodies_at_a_character_boundary() {
        let long = "é".repeat(BODY_SNIPPET_CHARS + 10);
        let cut = snippet(&long);
        assert_eq!(cut.chars().count(), BODY_SNIPPET_CHARS + 3);
        assert!(cut.ends_with("..."));
        assert_eq!(snippet("  short  "), "short");
    }

    #[test]
    fn setup_trims_the_url_and_key_and_refuses_what_cannot_work() {
        let (url, key) = checked_setup(" http://h/v1/ ", Some(" k \n".to_owned())).unwrap();
        assert_eq!((url.as_str(), key.as_deref()), ("http://h/v1", Some("k")));
        let (_, key) = checked_setup("https://h", Some("  ".to_owned())).unwrap();
        assert_eq!(key, None);
        assert!(checked_setup("h/v1", None).is_err());
        assert!(checked_setup("http://h", Some("a b".to_owned())).is_err());
    }

    #[test]
    fn redaction_replaces_every_copy_of_the_key() {
        assert_eq!(
            redact(Some("fixture-key-1"), "a fixture-key-1 b fixture-key-1".to_owned()),
            "a [redacted] b [redacted]"
        );
        assert_eq!(redact(None, "fixture-key-1".to_owned()), "fixture-key-1");
    }
}
