//! What OpenAI's two clients (chat completions and Responses) share about failing: reading the
//! error bodies OpenAI and the compatible servers send, refusing a setup that cannot work, and
//! keeping the API key out of every message (the last two from `http.rs`, which every client
//! shares).

use serde_json::Value;

pub(super) use super::http::{
    checked_setup, invalid_setup, redact, snippet, timed_out, transport_kind,
};

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

/// The HTTP status an error body states in its numeric `code` (OpenRouter's upstream status,
/// llama.cpp's and vLLM's own status), where async-openai could not read the body and so lost
/// the real one. `None` for a string code or a number that is no error status.
pub(super) fn status_in_body(body: &Value) -> Option<u16> {
    let code = match body.get("error") {
        Some(Value::Object(error)) => error.get("code"),
        _ => body.get("code"),
    };
    code.and_then(Value::as_u64)
        .and_then(|code| u16::try_from(code).ok())
        .filter(|code| (400..600).contains(code))
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
    fn a_numeric_error_status_is_read_from_the_body() {
        // llama.cpp's answer to a prompt longer than its context, as its server sends it.
        let llama = serde_json::json!({"error": {"code": 400, "message": "request (32845 tokens) exceeds the available context size (32768 tokens), try increasing it", "type": "exceed_context_size_error", "n_prompt_tokens": 32845, "n_ctx": 32768}});
        assert_eq!(status_in_body(&llama), Some(400));
        let vllm = serde_json::json!({"object": "error", "message": "no such model", "code": 404});
        assert_eq!(status_in_body(&vllm), Some(404));
        let openai =
            serde_json::json!({"error": {"message": "bad key", "code": "invalid_api_key"}});
        assert_eq!(status_in_body(&openai), None);
        let not_a_status = serde_json::json!({"error": {"message": "odd", "code": 7}});
        assert_eq!(status_in_body(&not_a_status), None);
    }
}
