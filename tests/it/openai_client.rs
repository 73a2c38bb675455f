//! Tests of the OpenAI client against a local server that speaks OpenAI's wire format.

use std::net::TcpListener;
use std::time::Duration;

use harness::llm::{
    ChatMessage, ChatModel, ChatRequest, FinishReason, LlmError, OpenAiModel, Reply, Role,
    SamplingParams, Usage,
};
use serde_json::json;

use crate::support::everything_shown;
use crate::support::openai_server::{OpenAiServer, RecordedRequest, Scripted};

/// A key distinctive enough that finding it anywhere is certainly a leak.
const KEY: &str = "fixture-LEAKCHECK-7f3a9c";

fn client(server: &OpenAiServer) -> OpenAiModel {
    OpenAiModel::new(
        &server.base_url(),
        Some(KEY.to_owned()),
        Duration::from_secs(30),
    )
    .expect("client for the test server")
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "gpt-test".to_owned(),
        messages: vec![ChatMessage::user("Write hello world in Rust.")],
        params: SamplingParams::default(),
    }
}

/// Runs one request against a server scripted with one answer, and returns what came back.
fn complete_once(answer: Scripted) -> (Result<Reply, LlmError>, Vec<RecordedRequest>) {
    let server = OpenAiServer::start(vec![answer]);
    let result = client(&server).complete(1, &request());
    (result, server.requests())
}

fn api_message(result: Result<Reply, LlmError>) -> String {
    match result {
        Err(LlmError::Api { message, .. }) => message,
        other => panic!("expected LlmError::Api, got {other:?}"),
    }
}

#[test]
fn request_carries_messages_model_and_params() {
    let server = OpenAiServer::start(vec![Scripted::reply("ok")]);
    let request = ChatRequest {
        model: "gpt-5-mini".to_owned(),
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
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
    assert_eq!(sent.header("content-type"), Some("application/json"));
    let body = sent.json();
    assert_eq!(body["model"], "gpt-5-mini");
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "You write Rust."},
            {"role": "user", "content": "Write a parser."},
            {"role": "assistant", "content": "fn parse() {}"},
            {"role": "user", "content": "It does not build:\nerror[E0425]"}
        ])
    );
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["top_p"], 0.25);
    assert_eq!(body["max_completion_tokens"], 2048);
    assert_eq!(body["seed"], 42);
    assert_eq!(body["reasoning_effort"], "low");
    assert!(body.get("max_tokens").is_none(), "{body}");
    assert!(body.get("stream").is_none_or(|stream| stream == false));
}

#[test]
fn unset_params_are_not_sent() {
    let (result, requests) = complete_once(Scripted::reply("ok"));
    result.expect("a reply");
    let body = requests[0]
        .json()
        .as_object()
        .expect("a JSON object")
        .clone();
    let mut keys: Vec<_> = body.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["messages", "model"]);
}

#[test]
fn without_a_key_no_credential_is_sent() {
    let server = OpenAiServer::start(vec![Scripted::reply("ok")]);
    let mut model = OpenAiModel::new(&server.base_url(), None, Duration::from_secs(30)).unwrap();
    model.complete(1, &request()).expect("a reply");

    let requests = server.requests();
    // async-openai always writes the header; without a key it must carry no credential.
    let authorization = requests[0].header("authorization");
    assert!(
        authorization.is_none_or(|value| value == "Bearer"),
        "{authorization:?}"
    );
}

#[test]
fn a_trailing_slash_on_the_base_url_is_ignored() {
    let server = OpenAiServer::start(vec![Scripted::reply("ok")]);
    let base_url = format!("{}/", server.base_url());
    let mut model = OpenAiModel::new(&base_url, None, Duration::from_secs(30)).unwrap();
    model.complete(1, &request()).expect("a reply");
    assert_eq!(server.requests()[0].path, "/v1/chat/completions");
}

#[test]
fn reply_carries_text_finish_reason_usage_and_model() {
    let answer = Scripted::reply("fn main() {}")
        .usage(120, 34)
        .model("gpt-test-2025-01-01");
    let (result, _) = complete_once(answer);
    assert_eq!(
        result.expect("a reply"),
        Reply {
            text: "fn main() {}".to_owned(),
            finish_reason: FinishReason::Stop,
            usage: Some(Usage {
                input_tokens: 120,
                output_tokens: 34,
                ..Default::default()
            }),
            model: Some("gpt-test-2025-01-01".to_owned()),
            ..Reply::default()
        }
    );
}

#[test]
fn finish_reasons_map_and_others_stay_verbatim() {
    let server = OpenAiServer::start(vec![
        Scripted::reply("trunc").finish_reason("length"),
        Scripted::reply("").finish_reason("content_filter"),
        Scripted::reply("").finish_reason("tool_calls"),
        Scripted::reply("partial").finish_reason("abort"),
    ]);
    let mut model = client(&server);
    let mut finish = || {
        model
            .complete(1, &request())
            .expect("a reply")
            .finish_reason
    };
    assert_eq!(finish(), FinishReason::Length);
    assert_eq!(finish(), FinishReason::ContentFilter);
    assert_eq!(finish(), FinishReason::Other("tool_calls".to_owned()));
    assert_eq!(finish(), FinishReason::Other("abort".to_owned()));
    assert_eq!(server.requests().len(), 4);
}

#[test]
fn a_refusal_goes_to_its_own_field() {
    let (result, _) = complete_once(Scripted::refusal("I can't help with that."));
    let reply = result.expect("a reply");
    assert_eq!(reply.text, "");
    assert_eq!(reply.refusal.as_deref(), Some("I can't help with that."));
}

#[test]
fn a_reply_without_usage_has_none() {
    let (result, _) = complete_once(Scripted::reply("ok").without_usage());
    assert_eq!(result.expect("a reply").usage, None);
}

#[test]
fn a_401_is_an_api_error_with_the_providers_message() {
    let (result, requests) = complete_once(Scripted::invalid_api_key());
    let message = api_message(result);
    assert!(message.contains("HTTP 401"), "{message}");
    assert!(message.contains("Incorrect API key provided"), "{message}");
    assert!(message.contains("invalid_api_key"), "{message}");
    assert_eq!(requests.len(), 1);
}

/// async-openai's default client retries 429s: with `Retry-After: 0` it would resend at once
/// and the server would see four requests.
#[test]
fn a_429_is_an_api_error_after_exactly_one_request() {
    let (result, requests) = complete_once(Scripted::rate_limited(0));
    let message = api_message(result);
    assert!(message.contains("HTTP 429"), "{message}");
    assert!(message.contains("Rate limit reached"), "{message}");
    assert!(message.contains("rate_limit_exceeded"), "{message}");
    assert_eq!(requests.len(), 1, "the client retried: {requests:#?}");
}

#[test]
fn a_500_is_an_api_error_after_exactly_one_request() {
    let (result, requests) = complete_once(Scripted::server_error());
    let message = api_message(result);
    assert!(message.contains("HTTP 500"), "{message}");
    assert!(message.contains("The server had an error"), "{message}");
    assert!(!message.contains("{\"error\""), "raw JSON in {message}");
    assert_eq!(requests.len(), 1, "the client retried: {requests:#?}");
}

#[test]
fn a_gateway_error_page_is_an_api_error_with_its_text() {
    let page = "<html><body>502 Bad Gateway</body></html>";
    let (result, requests) = complete_once(Scripted::raw(502, "text/html", page));
    let message = api_message(result);
    assert!(message.contains("HTTP 502"), "{message}");
    assert!(message.contains(page), "{message}");
    assert_eq!(requests.len(), 1);
}

#[test]
fn an_error_in_another_servers_shape_is_an_api_error() {
    let body = json!({"detail": "Model 'nope' not found"});
    let (result, _) = complete_once(Scripted::json(404, &body));
    let message = api_message(result);
    assert!(message.contains("Model 'nope' not found"), "{message}");
}

/// llama.cpp's server answers a prompt longer than its context with a 400 whose numeric `code`
/// async-openai cannot read; the status must survive, or the request is retried as if the
/// server had trouble (a real 0.5B run was retried six times this way before the fix).
#[test]
fn a_context_overflow_with_a_numeric_code_keeps_its_status_and_is_fatal() {
    let body = json!({"error": {"code": 400, "message": "request (32845 tokens) exceeds the available context size (32768 tokens), try increasing it", "type": "exceed_context_size_error", "n_prompt_tokens": 32845, "n_ctx": 32768}});
    let (result, requests) = complete_once(Scripted::json(400, &body));
    let error = result.expect_err("a 400 is an error");
    assert_eq!(error.status(), Some(400), "{error:?}");
    assert_eq!(
        harness::llm::retry::fault_of(&error),
        harness::llm::retry::Fault::Fatal
    );
    let advice = harness::llm::retry::advice(&error, None).expect("advice for a 400");
    assert!(advice.contains("context is too long"), "{advice}");
    assert!(api_message(Err(error)).contains("exceeds the available context size"));
    assert_eq!(requests.len(), 1);
}

#[test]
fn an_error_object_in_a_200_is_an_api_error() {
    let body = json!({"error": {"message": "upstream provider failed", "code": 502}});
    let (result, _) = complete_once(Scripted::json(200, &body));
    let message = api_message(result);
    assert!(message.contains("upstream provider failed"), "{message}");
}

#[test]
fn a_malformed_200_is_a_bad_answer() {
    let (result, requests) = complete_once(Scripted::malformed());
    assert!(
        matches!(result, Err(LlmError::BadAnswer { .. })),
        "{result:?}"
    );
    assert_eq!(requests.len(), 1);
}

#[test]
fn a_200_without_choices_is_a_bad_answer() {
    let body = json!({"id": "chatcmpl-1", "object": "chat.completion", "choices": []});
    let (result, _) = complete_once(Scripted::json(200, &body));
    match result {
        Err(LlmError::BadAnswer { detail, .. }) => assert!(detail.contains("no choices")),
        other => panic!("expected BadAnswer, got {other:?}"),
    }
}

#[test]
fn a_choice_without_content_is_a_bad_answer() {
    let body = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": null}, "finish_reason": "stop"}]});
    let (result, _) = complete_once(Scripted::json(200, &body));
    assert!(
        matches!(result, Err(LlmError::BadAnswer { .. })),
        "{result:?}"
    );
}

#[test]
fn a_closed_port_is_a_transport_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let base_url = format!("http://127.0.0.1:{port}/v1");
    let mut model = OpenAiModel::new(&base_url, Some(KEY.to_owned()), Duration::from_secs(30))
        .expect("a client");
    let error = model.complete(1, &request()).unwrap_err();
    assert!(
        matches!(&error, LlmError::Transport { base_url: url, .. } if *url == base_url),
        "{error:?}"
    );
    assert!(!everything_shown(&error).contains(KEY));
}

#[test]
fn a_dropped_connection_is_a_transport_error_after_one_request() {
    let (result, requests) = complete_once(Scripted::hang_up());
    assert!(
        matches!(result, Err(LlmError::Transport { .. })),
        "{result:?}"
    );
    assert_eq!(requests.len(), 1);
}

#[test]
fn a_server_that_never_answers_times_out_as_a_transport_error() {
    let server = OpenAiServer::start(vec![Scripted::stall()]);
    let mut model =
        OpenAiModel::new(&server.base_url(), None, Duration::from_millis(200)).expect("a client");
    let error = model.complete(1, &request()).unwrap_err();
    let LlmError::Transport { source, .. } = &error else {
        panic!("expected Transport, got {error:?}");
    };
    assert!(
        source.to_string().contains("no complete answer within"),
        "{source}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_request_beyond_the_script_fails_loudly() {
    let server = OpenAiServer::start(vec![Scripted::reply("the only one")]);
    let mut model = client(&server);
    model.complete(1, &request()).expect("the scripted reply");
    let message = api_message(model.complete(2, &request()));
    assert!(message.contains("script is exhausted"), "{message}");
    assert_eq!(server.unused(), 0);
}

#[test]
fn the_key_never_shows_in_errors_or_debug_output() {
    // A provider or proxy that echoes the key back must not get it into our messages.
    let echo = format!("Incorrect API key provided: {KEY}.");
    let server = OpenAiServer::start(vec![
        Scripted::error(401, &echo, "invalid_request_error", Some("invalid_api_key")),
        Scripted::raw(
            500,
            "text/plain",
            &format!("proxy saw Authorization: Bearer {KEY}"),
        ),
        Scripted::raw(200, "application/json", &format!("not json {KEY}")),
    ]);
    let mut model = client(&server);
    assert!(!format!("{model:?}").contains(KEY), "{model:?}");
    for iteration in 1..=3 {
        let error = model.complete(iteration, &request()).unwrap_err();
        let shown = everything_shown(&error);
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
    // The key was sent, so the checks above saw the real thing scrubbed.
    assert!(server.requests().iter().all(|sent| sent
        .header("authorization")
        .is_some_and(|value| value.contains(KEY))));
}

#[test]
fn a_key_that_cannot_be_a_header_is_refused_without_showing_it() {
    // Surrounding whitespace is trimmed; whitespace inside or non-ASCII cannot be sent.
    let newline = format!("{KEY}\n{KEY}");
    let accent = format!("{KEY}é");
    for bad in [newline.as_str(), accent.as_str()] {
        let error = OpenAiModel::new(
            "http://127.0.0.1:9/v1",
            Some(bad.to_owned()),
            Duration::from_secs(1),
        )
        .unwrap_err();
        let shown = everything_shown(&error);
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains("API key"), "{shown}");
    }
}

#[test]
fn a_base_url_without_a_scheme_is_refused() {
    let error = OpenAiModel::new("127.0.0.1:8080/v1", None, Duration::from_secs(1)).unwrap_err();
    assert!(everything_shown(&error).contains("http://"));
}
