//! Tests of the Anthropic client against a local server that speaks the Messages API's format.

use std::net::TcpListener;
use std::time::Duration;

use harness::llm::retry::{fault_of, Fault};
use harness::llm::{
    AnthropicModel, ChatMessage, ChatModel, ChatRequest, FinishReason, LlmError, Reply, Role,
    SamplingParams, TransportKind, Usage,
};
use serde_json::{json, Value};

use crate::support::everything_shown;
use crate::support::http_server::{Answer, HttpServer, RecordedRequest};

/// A key distinctive enough that finding it anywhere is certainly a leak.
const KEY: &str = "fixture-anthropic-LEAKCHECK-4d1e8b";

fn client(server: &HttpServer) -> AnthropicModel {
    AnthropicModel::new(
        &server.url("/v1"),
        Some(KEY.to_owned()),
        Duration::from_secs(30),
    )
    .expect("client for the test server")
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "claude-test".to_owned(),
        messages: vec![ChatMessage::user("Write hello world in Rust.")],
        params: SamplingParams::default(),
    }
}

/// A message as Anthropic answers it, with these content blocks, stop reason and usage
/// `(input, cache read, cache write, output)`.
fn message(content: Value, stop_reason: &str, usage: (u64, u64, u64, u64)) -> Value {
    let (input, read, written, output) = usage;
    json!({
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-test-20250514",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": {
            "input_tokens": input,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_5m_input_tokens": written, "ephemeral_1h_input_tokens": 0},
            "output_tokens": output,
            "service_tier": "standard"
        }
    })
}

/// A plain text reply that ended on its own.
fn text_reply(text: &str) -> Answer {
    let content = json!([{"type": "text", "text": text}]);
    Answer::json(200, &message(content, "end_turn", (12, 0, 0, 7)))
}

/// An error answer with Anthropic's error object.
fn error(status: u16, kind: &str, message: &str) -> Answer {
    Answer::json(
        status,
        &json!({
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"
        }),
    )
}

/// Runs one request against a server scripted with one answer, and returns what came back.
fn complete_once(answer: Answer) -> (Result<Reply, LlmError>, Vec<RecordedRequest>) {
    let server = HttpServer::start(vec![answer]);
    let result = client(&server).complete(1, &request());
    (result, server.requests())
}

#[test]
fn reply_carries_text_stop_reason_usage_with_cache_tokens_and_model() {
    let content = json!([
        {"type": "thinking", "thinking": "They want a main function.", "signature": "EqQBCgIYAhIM"},
        {"type": "text", "text": "```rust\nfn main() {\n"},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
        {"type": "text", "text": "    println!(\"hi\");\n}\n```"}
    ]);
    let answer = Answer::json(200, &message(content, "end_turn", (20, 1000, 300, 50)));
    let (result, requests) = complete_once(answer);
    assert_eq!(
        result.expect("a reply"),
        Reply {
            text: "```rust\nfn main() {\n    println!(\"hi\");\n}\n```".to_owned(),
            finish_reason: FinishReason::Stop,
            usage: Some(Usage {
                input_tokens: 1320,
                output_tokens: 50,
                cache_read_tokens: Some(1000),
                cache_write_tokens: Some(300),
                reasoning_tokens: None,
            }),
            model: Some("claude-test-20250514".to_owned()),
            ..Reply::default()
        }
    );
    assert_eq!(requests.len(), 1);
}

#[test]
fn request_has_system_on_top_a_cache_marker_on_the_first_user_turn_and_the_key_in_a_header() {
    let server = HttpServer::start(vec![text_reply("ok")]);
    let request = ChatRequest {
        model: "claude-sonnet-test".to_owned(),
        messages: vec![
            ChatMessage {
                role: Role::System,
                content: "You write Rust.".to_owned(),
            },
            ChatMessage::user("Write a parser."),
            ChatMessage::assistant("fn parse() {}"),
            ChatMessage::user("It does not build:\nerror[E0425]"),
            ChatMessage::assistant("fn parse() -> u8 { 0 }"),
            ChatMessage::user("Now it does."),
        ],
        params: SamplingParams {
            temperature: Some(0.5),
            top_p: Some(0.25),
            max_tokens: Some(2048),
            seed: Some(42),
            reasoning_effort: Some("low".to_owned()),
        },
    };

    client(&server).complete(1, &request).expect("a reply");

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("authorization"), None);
    assert!(!sent.path.contains(KEY), "{}", sent.path);
    assert!(!sent.raw_body.contains(KEY), "{}", sent.raw_body);
    // Anthropic has no seed, and an effort is not turned into extended thinking.
    assert_eq!(
        *sent.json(),
        json!({
            "model": "claude-sonnet-test",
            "max_tokens": 2048,
            "system": "You write Rust.",
            "messages": [
                {"role": "user", "content": [{
                    "type": "text",
                    "text": "Write a parser.",
                    "cache_control": {"type": "ephemeral"}
                }]},
                {"role": "assistant", "content": "fn parse() {}"},
                {"role": "user", "content": "It does not build:\nerror[E0425]"},
                {"role": "assistant", "content": "fn parse() -> u8 { 0 }"},
                {"role": "user", "content": "Now it does."}
            ],
            "temperature": 0.5,
            "top_p": 0.25
        })
    );
}

#[test]
fn unset_params_are_not_sent_and_max_tokens_has_a_default() {
    let (result, requests) = complete_once(text_reply("ok"));
    result.expect("a reply");
    let body = requests[0].json();
    let mut keys: Vec<_> = body
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["max_tokens", "messages", "model"]);
    assert_eq!(body["max_tokens"], AnthropicModel::DEFAULT_MAX_TOKENS);
}

#[test]
fn without_a_key_no_key_header_is_sent() {
    let server = HttpServer::start(vec![text_reply("ok")]);
    let mut model =
        AnthropicModel::new(&server.url("/v1/"), None, Duration::from_secs(30)).expect("a client");
    model.complete(1, &request()).expect("a reply");
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/messages", "a trailing slash is ignored");
    assert_eq!(sent.header("x-api-key"), None);
}

#[test]
fn a_reply_cut_by_the_token_limit_is_length() {
    let content = json!([{"type": "text", "text": "fn main() {\n    let x ="}]);
    let (result, _) = complete_once(Answer::json(
        200,
        &message(content, "max_tokens", (12, 0, 0, 8192)),
    ));
    let reply = result.expect("a reply");
    assert_eq!(reply.finish_reason, FinishReason::Length);
    assert_eq!(reply.text, "fn main() {\n    let x =");
    assert_eq!(reply.refusal, None);
}

#[test]
fn a_refusal_is_content_filtered_with_the_refusal_set() {
    let (result, _) = complete_once(Answer::json(
        200,
        &message(json!([]), "refusal", (12, 0, 0, 0)),
    ));
    let reply = result.expect("a refusal is a reply, not an error");
    assert_eq!(reply.finish_reason, FinishReason::ContentFilter);
    assert_eq!(reply.text, "");
    let refusal = reply.refusal.expect("the refusal is set");
    assert!(refusal.contains("refusal"), "{refusal}");
}

#[test]
fn other_stop_reasons_stay_verbatim() {
    let content = json!([{"type": "text", "text": "Let me look that up."}]);
    let (result, _) = complete_once(Answer::json(
        200,
        &message(content, "pause_turn", (12, 0, 0, 9)),
    ));
    assert_eq!(
        result.expect("a reply").finish_reason,
        FinishReason::Other("pause_turn".to_owned())
    );
}

#[test]
fn error_statuses_carry_the_message_type_and_fault_after_one_request_each() {
    // (status, error type, message, expected fault), with Anthropic's own bodies.
    let cases = [
        (400, "invalid_request_error", "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"user\" roles in a row", Fault::Fatal),
        (401, "authentication_error", "invalid x-api-key", Fault::Fatal),
        (403, "permission_error", "Your API key does not have permission to use the specified resource.", Fault::Fatal),
        (404, "not_found_error", "model: claude-nope", Fault::Fatal),
        (413, "request_too_large", "Request exceeds the maximum allowed number of bytes.", Fault::Fatal),
        (429, "rate_limit_error", "This request would exceed the rate limit for your organization of 50 input tokens per minute.", Fault::Transient),
        (500, "api_error", "Internal server error", Fault::Transient),
        (503, "api_error", "Service unavailable", Fault::Transient),
        (529, "overloaded_error", "Overloaded", Fault::Transient),
    ];
    let server = HttpServer::start(
        cases
            .iter()
            .map(|(status, kind, message, _)| error(*status, kind, message))
            .collect(),
    );
    let mut model = client(&server);
    for (status, kind, text, fault) in cases {
        let error = model.complete(1, &request()).unwrap_err();
        let LlmError::Api {
            status: got,
            message,
            retry_after,
            ..
        } = &error
        else {
            panic!("expected LlmError::Api for {status}, got {error:?}");
        };
        assert_eq!(*got, Some(status));
        assert_eq!(*message, format!("HTTP {status}: {text} (type {kind})"));
        assert_eq!(*retry_after, None, "{status} sent no Retry-After");
        assert_eq!(fault_of(&error), fault, "{status}");
    }
    assert_eq!(server.requests().len(), cases.len(), "the client retried");
}

#[test]
fn a_429_carries_its_retry_after_seconds() {
    let answer = error(429, "rate_limit_error", "Rate limited").header("retry-after", "17");
    let (result, requests) = complete_once(answer);
    let error = result.unwrap_err();
    assert!(
        matches!(error, LlmError::Api { status: Some(429), retry_after: Some(wait), .. } if wait == Duration::from_secs(17)),
        "{error:?}"
    );
    assert_eq!(fault_of(&error), Fault::Transient);
    assert_eq!(requests.len(), 1, "the client retried");
}

#[test]
fn a_529_overloaded_is_transient_and_says_overloaded() {
    let (result, _) = complete_once(error(529, "overloaded_error", "Overloaded"));
    let error = result.unwrap_err();
    assert_eq!(error.status(), Some(529));
    assert!(
        error
            .to_string()
            .contains("HTTP 529: Overloaded (type overloaded_error)"),
        "{error}"
    );
    assert_eq!(fault_of(&error), Fault::Transient);
}

#[test]
fn a_gateway_error_page_is_an_api_error_with_its_text() {
    let page = "<html><body>502 Bad Gateway</body></html>";
    let (result, _) = complete_once(Answer::raw(502, "text/html", page));
    let error = result.unwrap_err();
    assert_eq!(error.status(), Some(502));
    assert!(
        error.to_string().contains(&format!("HTTP 502: {page}")),
        "{error}"
    );
    assert_eq!(fault_of(&error), Fault::Transient);
}

#[test]
fn a_malformed_200_is_a_bad_answer() {
    let (result, requests) = complete_once(Answer::raw(
        200,
        "application/json",
        "{\"id\": \"msg_01\", \"content\": [",
    ));
    let error = result.unwrap_err();
    assert!(matches!(error, LlmError::BadAnswer { .. }), "{error:?}");
    assert_eq!(fault_of(&error), Fault::Transient);
    assert_eq!(requests.len(), 1);
}

#[test]
fn a_200_that_is_not_a_message_or_has_no_text_is_a_bad_answer() {
    let server = HttpServer::start(vec![
        Answer::json(200, &json!({"hello": "world"})),
        Answer::json(200, &message(json!([]), "end_turn", (12, 0, 0, 0))),
    ]);
    let mut model = client(&server);
    for expected in ["not a message", "no text content"] {
        match model.complete(1, &request()) {
            Err(LlmError::BadAnswer { detail, .. }) => {
                assert!(detail.contains(expected), "{detail}")
            }
            other => panic!("expected BadAnswer, got {other:?}"),
        }
    }
}

#[test]
fn an_error_object_in_a_200_is_a_transient_api_error() {
    let body =
        json!({"type": "error", "error": {"type": "api_error", "message": "upstream failed"}});
    let (result, _) = complete_once(Answer::json(200, &body));
    let error = result.unwrap_err();
    assert!(
        matches!(&error, LlmError::Api { status: None, message, .. } if message.contains("upstream failed (type api_error)")),
        "{error:?}"
    );
    assert_eq!(fault_of(&error), Fault::Transient);
}

#[test]
fn a_connection_closed_mid_body_is_a_dropped_transport_error() {
    let body = message(
        json!([{"type": "text", "text": "fn main() {}"}]),
        "end_turn",
        (12, 0, 0, 7),
    );
    let (result, requests) = complete_once(Answer::cut_short(200, &body));
    let error = result.unwrap_err();
    // Broken while reading the body, not before the answer began.
    let shown = everything_shown(&error);
    assert!(shown.contains("response body"), "{shown}");
    assert!(
        matches!(
            error,
            LlmError::Transport {
                kind: TransportKind::Dropped,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(fault_of(&error), Fault::Transient);
    assert_eq!(requests.len(), 1);
}

#[test]
fn a_connection_closed_before_the_answer_is_a_dropped_transport_error() {
    let (result, requests) = complete_once(Answer::HangUp);
    assert!(
        matches!(
            result,
            Err(LlmError::Transport {
                kind: TransportKind::Dropped,
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(requests.len(), 1);
}

#[test]
fn a_closed_port_is_a_connect_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let base_url = format!("http://127.0.0.1:{port}/v1");
    let mut model = AnthropicModel::new(&base_url, Some(KEY.to_owned()), Duration::from_secs(30))
        .expect("a client");
    let error = model.complete(1, &request()).unwrap_err();
    assert!(
        matches!(&error, LlmError::Transport { base_url: url, kind: TransportKind::Connect, .. } if *url == base_url),
        "{error:?}"
    );
    assert_eq!(fault_of(&error), Fault::Transient);
    assert!(!everything_shown(&error).contains(KEY));
}

#[test]
fn a_server_slower_than_the_timeout_is_a_timeout() {
    let server = HttpServer::start(vec![Answer::Stall]);
    let mut model = AnthropicModel::new(
        &server.url("/v1"),
        Some(KEY.to_owned()),
        Duration::from_millis(200),
    )
    .expect("a client");
    let error = model.complete(1, &request()).unwrap_err();
    let LlmError::Transport {
        kind: TransportKind::Timeout,
        source,
        ..
    } = &error
    else {
        panic!("expected a Transport timeout, got {error:?}");
    };
    assert!(
        source.to_string().contains("no complete answer within"),
        "{source}"
    );
    assert_eq!(fault_of(&error), Fault::Transient);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn the_key_never_shows_in_errors_or_debug_output() {
    // A provider or proxy that echoes the key back must not get it into our messages.
    let server = HttpServer::start(vec![
        error(
            401,
            "authentication_error",
            &format!("invalid x-api-key {KEY}"),
        ),
        Answer::raw(500, "text/plain", &format!("proxy saw x-api-key: {KEY}")),
        Answer::raw(200, "application/json", &format!("not json {KEY}")),
        error(429, "rate_limit_error", &format!("slow down, {KEY}")).header("retry-after", "3"),
    ]);
    let mut model = client(&server);
    assert!(!format!("{model:?}").contains(KEY), "{model:?}");
    for iteration in 1..=4 {
        let error = model.complete(iteration, &request()).unwrap_err();
        let shown = everything_shown(&error);
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
    // The key was sent, so the checks above saw the real thing scrubbed.
    assert!(server
        .requests()
        .iter()
        .all(|sent| sent.header("x-api-key") == Some(KEY)));
}

#[test]
fn a_key_that_cannot_be_a_header_is_refused_without_showing_it() {
    let error = AnthropicModel::new(
        "http://127.0.0.1:9/v1",
        Some(format!("{KEY}\n{KEY}")),
        Duration::from_secs(1),
    )
    .unwrap_err();
    let shown = everything_shown(&error);
    assert!(!shown.contains(KEY), "{shown}");
    assert!(matches!(error, LlmError::Setup { .. }), "{error:?}");
    assert_eq!(fault_of(&error), Fault::Fatal);
}
