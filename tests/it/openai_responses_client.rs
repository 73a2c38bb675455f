//! Tests of the Responses API client against a local server answering in that API's wire format.

use std::error::Error as _;
use std::time::Duration;

use harness::llm::retry::{fault_of, Fault};
use harness::llm::{
    ChatMessage, ChatModel, ChatRequest, FinishReason, LlmError, OpenAiResponsesModel, Reply, Role,
    SamplingParams, TransportKind, Usage,
};
use serde_json::{json, Value};

use crate::support::openai_server::{OpenAiServer, RecordedRequest, Scripted};

/// A key distinctive enough that finding it anywhere is certainly a leak.
const KEY: &str = "fixture-LEAKCHECK-r35p0n5e";

fn client(server: &OpenAiServer) -> OpenAiResponsesModel {
    OpenAiResponsesModel::new(
        &server.base_url(),
        Some(KEY.to_owned()),
        Duration::from_secs(30),
    )
    .expect("client for the test server")
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "o3-2025-04-16".to_owned(),
        messages: vec![ChatMessage::user("Write hello world in Rust.")],
        params: SamplingParams::default(),
    }
}

/// A response object as OpenAI sends it for a non-streamed `POST /v1/responses` from a reasoning
/// model: a reasoning item, then the message.
fn response(status: &str, incomplete_reason: Option<&str>, content: Value) -> Value {
    json!({
        "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
        "object": "response",
        "created_at": 1_741_476_542,
        "status": status,
        "background": false,
        "error": null,
        "incomplete_details": incomplete_reason.map(|reason| json!({ "reason": reason })),
        "instructions": null,
        "max_output_tokens": 2048,
        "model": "o3-2025-04-16",
        "output": [
            {
                "id": "rs_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b",
                "type": "reasoning",
                "summary": []
            },
            {
                "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b",
                "type": "message",
                "status": status,
                "role": "assistant",
                "content": content
            }
        ],
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "reasoning": { "effort": "medium", "summary": null },
        "service_tier": "default",
        "store": false,
        "temperature": 1.0,
        "text": { "format": { "type": "text" } },
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": 1200,
            "input_tokens_details": { "cached_tokens": 1024 },
            "output_tokens": 900,
            "output_tokens_details": { "reasoning_tokens": 640 },
            "total_tokens": 2100
        },
        "user": null,
        "metadata": {}
    })
}

fn output_text(text: &str) -> Value {
    json!({ "type": "output_text", "text": text, "annotations": [], "logprobs": [] })
}

/// Runs one request against a server scripted with one answer, and returns what came back.
fn complete_once(answer: Scripted) -> (Result<Reply, LlmError>, Vec<RecordedRequest>) {
    let server = OpenAiServer::start(vec![answer]);
    let result = client(&server).complete(1, &request());
    (result, server.requests())
}

/// Everything a user could ever see of an error: Display and Debug of it and its sources.
fn everything_shown(error: &LlmError) -> String {
    let mut shown = format!("{error}\n{error:?}\n");
    let mut source = error.source();
    while let Some(cause) = source {
        shown.push_str(&format!("{cause}\n{cause:?}\n"));
        source = cause.source();
    }
    shown
}

/// The error's status and message, and that exactly one request was sent.
fn api_error(answer: Scripted) -> (LlmError, Option<u16>, String) {
    let (result, requests) = complete_once(answer);
    assert_eq!(requests.len(), 1, "the client retried: {requests:#?}");
    let error = result.expect_err("an error");
    match &error {
        LlmError::Api {
            status, message, ..
        } => {
            let (status, message) = (*status, message.clone());
            (error, status, message)
        }
        other => panic!("expected LlmError::Api, got {other:?}"),
    }
}

#[test]
fn responses_request_carries_instructions_turns_and_params() {
    let answer = response("completed", None, json!([output_text("ok")]));
    let server = OpenAiServer::start(vec![Scripted::json(200, &answer)]);
    let request = ChatRequest {
        model: "o4-mini-2025-04-16".to_owned(),
        messages: vec![
            ChatMessage {
                role: Role::System,
                content: "You write Rust.".to_owned(),
            },
            ChatMessage::user("Write a parser."),
            ChatMessage::assistant("fn parse() {}"),
            ChatMessage::user("It does not build:\nerror[E0425]"),
        ],
        params: SamplingParams {
            temperature: Some(0.5),
            top_p: Some(0.25),
            max_tokens: Some(65536),
            seed: Some(42),
            reasoning_effort: Some("high".to_owned()),
        },
    };

    client(&server).complete(1, &request).expect("a reply");

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/responses");
    assert_eq!(
        sent.header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(
        *sent.json(),
        json!({
            "model": "o4-mini-2025-04-16",
            "instructions": "You write Rust.",
            "input": [
                {"role": "user", "content": "Write a parser."},
                {"role": "assistant", "content": "fn parse() {}"},
                {"role": "user", "content": "It does not build:\nerror[E0425]"}
            ],
            "max_output_tokens": 65536,
            "temperature": 0.5,
            "top_p": 0.25,
            "reasoning": {"effort": "high"},
            "store": false
        }),
        "the body differs (there must be no seed: the Responses API has none)"
    );
}

#[test]
fn responses_unset_params_are_not_sent_and_no_key_sends_no_credential() {
    let answer = response("completed", None, json!([output_text("ok")]));
    let server = OpenAiServer::start(vec![Scripted::json(200, &answer)]);
    let mut model = OpenAiResponsesModel::new(
        &format!("{}/", server.base_url()),
        None,
        Duration::from_secs(30),
    )
    .expect("a client");
    model.complete(1, &request()).expect("a reply");

    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/responses");
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(
        *sent.json(),
        json!({
            "model": "o3-2025-04-16",
            "input": [{"role": "user", "content": "Write hello world in Rust."}],
            "store": false
        })
    );
}

#[test]
fn responses_completed_reply_carries_text_usage_and_model() {
    let content = json!([output_text("fn main() "), output_text("{}")]);
    let (result, _) = complete_once(Scripted::json(200, &response("completed", None, content)));
    assert_eq!(
        result.expect("a reply"),
        Reply {
            text: "fn main() {}".to_owned(),
            finish_reason: FinishReason::Stop,
            usage: Some(Usage {
                input_tokens: 1200,
                output_tokens: 900,
                cache_read_tokens: Some(1024),
                cache_write_tokens: None,
                reasoning_tokens: Some(640),
            }),
            model: Some("o3-2025-04-16".to_owned()),
            ..Reply::default()
        }
    );
}

#[test]
fn responses_zero_cached_and_reasoning_tokens_are_recorded_as_none() {
    let mut answer = response("completed", None, json!([output_text("ok")]));
    answer["usage"]["input_tokens_details"]["cached_tokens"] = json!(0);
    answer["usage"]["output_tokens_details"]["reasoning_tokens"] = json!(0);
    let (result, _) = complete_once(Scripted::json(200, &answer));
    let usage = result.expect("a reply").usage.expect("usage");
    assert_eq!(
        (usage.cache_read_tokens, usage.reasoning_tokens),
        (None, None)
    );
}

#[test]
fn responses_incomplete_at_max_output_tokens_is_length() {
    let answer = response(
        "incomplete",
        Some("max_output_tokens"),
        json!([output_text("fn main() {")]),
    );
    let (result, _) = complete_once(Scripted::json(200, &answer));
    let reply = result.expect("a reply");
    assert_eq!(reply.finish_reason, FinishReason::Length);
    assert_eq!(reply.text, "fn main() {");
}

#[test]
fn responses_cut_off_while_reasoning_is_an_empty_truncated_reply() {
    let mut answer = response("incomplete", Some("max_output_tokens"), json!([]));
    answer["output"].as_array_mut().unwrap().truncate(1);
    let (result, _) = complete_once(Scripted::json(200, &answer));
    let reply = result.expect("a reply");
    assert_eq!(reply.finish_reason, FinishReason::Length);
    assert_eq!(reply.text, "");
    assert_eq!(
        reply.usage.and_then(|usage| usage.reasoning_tokens),
        Some(640)
    );
}

#[test]
fn responses_incomplete_by_content_filter_is_content_filter() {
    let answer = response("incomplete", Some("content_filter"), json!([]));
    let (result, _) = complete_once(Scripted::json(200, &answer));
    assert_eq!(
        result.expect("a reply").finish_reason,
        FinishReason::ContentFilter
    );
}

#[test]
fn responses_refusal_part_goes_to_its_own_field() {
    let content = json!([{ "type": "refusal", "refusal": "I can't help with that." }]);
    let (result, _) = complete_once(Scripted::json(200, &response("completed", None, content)));
    let reply = result.expect("a reply");
    assert_eq!(reply.text, "");
    assert_eq!(reply.refusal.as_deref(), Some("I can't help with that."));
    assert_eq!(reply.finish_reason, FinishReason::Stop);
}

#[test]
fn responses_401_invalid_key_is_fatal() {
    let (error, status, message) = api_error(Scripted::invalid_api_key());
    assert_eq!(status, Some(401));
    assert!(message.contains("HTTP 401"), "{message}");
    assert!(message.contains("Incorrect API key provided"), "{message}");
    assert!(message.contains("invalid_api_key"), "{message}");
    assert_eq!(fault_of(&error), Fault::Fatal);
}

#[test]
fn responses_404_unknown_model_is_fatal() {
    let (error, status, message) = api_error(Scripted::error(
        404,
        "The model `o3-nope` does not exist or you do not have access to it.",
        "invalid_request_error",
        Some("model_not_found"),
    ));
    assert_eq!(status, Some(404));
    assert!(
        message.contains("The model `o3-nope` does not exist"),
        "{message}"
    );
    assert!(message.contains("code model_not_found"), "{message}");
    assert_eq!(fault_of(&error), Fault::Fatal);
}

#[test]
fn responses_429_carries_retry_after_and_is_transient() {
    let (error, status, message) = api_error(Scripted::rate_limited(1));
    assert_eq!(status, Some(429));
    assert!(message.contains("Rate limit reached"), "{message}");
    assert!(message.contains("rate_limit_exceeded"), "{message}");
    let LlmError::Api { retry_after, .. } = &error else {
        unreachable!()
    };
    assert_eq!(*retry_after, Some(Duration::from_secs(1)));
    assert_eq!(fault_of(&error), Fault::Transient);
}

#[test]
fn responses_500_and_503_are_transient() {
    let overloaded = Scripted::error(
        503,
        "The engine is currently overloaded, please try again later.",
        "server_error",
        None,
    );
    for (answer, code, text) in [
        (Scripted::server_error(), 500, "The server had an error"),
        (overloaded, 503, "The engine is currently overloaded"),
    ] {
        let (error, status, message) = api_error(answer);
        assert_eq!(status, Some(code));
        assert!(message.contains(&format!("HTTP {code}")), "{message}");
        assert!(message.contains(text), "{message}");
        assert!(!message.contains("{\"error\""), "raw JSON in {message}");
        assert_eq!(fault_of(&error), Fault::Transient);
    }
}

#[test]
fn responses_error_object_in_a_200_is_an_api_error_without_status() {
    let mut answer = response("failed", None, json!([]));
    answer["output"] = json!([]);
    answer["error"] = json!({"code": "server_error", "message": "The model failed to respond."});
    let (error, status, message) = api_error(Scripted::json(200, &answer));
    assert_eq!(status, None);
    assert!(
        message.contains("The model failed to respond."),
        "{message}"
    );
    assert_eq!(fault_of(&error), Fault::Transient);
}

#[test]
fn responses_malformed_200_is_a_bad_answer() {
    let (result, requests) = complete_once(Scripted::raw(
        200,
        "application/json",
        "{\"id\": \"resp_broken\", \"output\": [",
    ));
    assert!(
        matches!(result, Err(LlmError::BadAnswer { .. })),
        "{result:?}"
    );
    assert_eq!(requests.len(), 1);
}

#[test]
fn responses_completed_without_a_message_is_a_bad_answer() {
    let mut answer = response("completed", None, json!([]));
    answer["output"].as_array_mut().unwrap().truncate(1);
    let (result, _) = complete_once(Scripted::json(200, &answer));
    match result {
        Err(LlmError::BadAnswer { detail, .. }) => {
            assert!(detail.contains("no message"), "{detail}");
            assert!(detail.contains("reasoning"), "{detail}");
        }
        other => panic!("expected BadAnswer, got {other:?}"),
    }
}

#[test]
fn responses_hang_up_mid_request_is_a_transport_error() {
    let (result, requests) = complete_once(Scripted::hang_up());
    assert!(
        matches!(result, Err(LlmError::Transport { .. })),
        "{result:?}"
    );
    assert_eq!(requests.len(), 1);
}

#[test]
fn responses_server_that_never_answers_times_out() {
    let server = OpenAiServer::start(vec![Scripted::stall()]);
    let mut model = OpenAiResponsesModel::new(&server.base_url(), None, Duration::from_millis(200))
        .expect("a client");
    let error = model.complete(1, &request()).unwrap_err();
    assert!(
        matches!(
            &error,
            LlmError::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn responses_key_never_shows_in_errors_or_debug_output() {
    // A provider or proxy that echoes the key back must not get it into our messages.
    let echo = format!("Incorrect API key provided: {KEY}.");
    let mut failed = response("failed", None, json!([]));
    failed["error"] = json!({"code": "server_error", "message": format!("bad {KEY}")});
    let server = OpenAiServer::start(vec![
        Scripted::error(401, &echo, "invalid_request_error", Some("invalid_api_key")),
        Scripted::raw(
            500,
            "text/plain",
            &format!("proxy saw Authorization: Bearer {KEY}"),
        ),
        Scripted::raw(200, "application/json", &format!("not json {KEY}")),
        Scripted::json(200, &failed),
    ]);
    let mut model = client(&server);
    assert!(!format!("{model:?}").contains(KEY), "{model:?}");
    for iteration in 1..=4 {
        let error = model.complete(iteration, &request()).unwrap_err();
        let shown = everything_shown(&error);
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
    // The transport errors carry reqwest's error, whose Debug names the request: no key there.
    let hang_up = OpenAiServer::start(vec![Scripted::hang_up()]);
    let error = client(&hang_up).complete(1, &request()).unwrap_err();
    assert!(!everything_shown(&error).contains(KEY));
    // The key was sent, so the checks above saw the real thing scrubbed.
    assert!(server.requests().iter().all(|sent| sent
        .header("authorization")
        .is_some_and(|value| value.contains(KEY))));
}

#[test]
fn responses_key_that_cannot_be_a_header_is_refused_without_showing_it() {
    let bad = format!("{KEY}\n{KEY}");
    let error =
        OpenAiResponsesModel::new("http://127.0.0.1:9/v1", Some(bad), Duration::from_secs(1))
            .unwrap_err();
    let shown = everything_shown(&error);
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("API key"), "{shown}");
}
