//! Tests of the Gemini client against a local server that speaks `generateContent`'s format.

use std::time::Duration;

use harness::llm::retry::{fault_of, Fault};
use harness::llm::{
    ChatMessage, ChatModel, ChatRequest, FinishReason, GeminiModel, LlmError, Reply, Role,
    SamplingParams, TransportKind, Usage,
};
use serde_json::{json, Value};

use crate::support::everything_shown;
use crate::support::http_server::{Answer, HttpServer, RecordedRequest};

/// A key distinctive enough that finding it anywhere is certainly a leak.
const KEY: &str = "fixture-gemini-LEAKCHECK-93be01";

fn client(server: &HttpServer) -> GeminiModel {
    GeminiModel::new(
        &server.url("/v1beta"),
        Some(KEY.to_owned()),
        Duration::from_secs(30),
    )
    .expect("client for the test server")
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "gemini-test".to_owned(),
        messages: vec![ChatMessage::user("Write hello world in Rust.")],
        params: SamplingParams::default(),
    }
}

/// An answer as Gemini sends it: one candidate with these parts and finish reason, and usage
/// `(prompt, cached, candidates, thoughts)`.
fn answer(parts: Value, finish_reason: &str, usage: (u64, u64, u64, u64)) -> Value {
    let (prompt, cached, candidates, thoughts) = usage;
    json!({
        "candidates": [{
            "content": {"parts": parts, "role": "model"},
            "finishReason": finish_reason,
            "index": 0
        }],
        "usageMetadata": {
            "promptTokenCount": prompt,
            "candidatesTokenCount": candidates,
            "totalTokenCount": prompt + candidates + thoughts,
            "cachedContentTokenCount": cached,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
            "thoughtsTokenCount": thoughts
        },
        "modelVersion": "gemini-test-001",
        "responseId": "mF9raKr3Ao-ZkdUP5ZXqkQ4"
    })
}

/// A plain text reply that ended on its own.
fn text_reply(text: &str) -> Answer {
    Answer::json(200, &answer(json!([{"text": text}]), "STOP", (12, 0, 7, 0)))
}

/// An error answer with Google's error object.
fn error(status: u16, state: &str, message: &str, details: Value) -> Answer {
    Answer::json(
        status,
        &json!({"error": {"code": status, "message": message, "status": state, "details": details}}),
    )
}

/// Runs one request against a server scripted with one answer, and returns what came back.
fn complete_once(answer: Answer) -> (Result<Reply, LlmError>, Vec<RecordedRequest>) {
    let server = HttpServer::start(vec![answer]);
    let result = client(&server).complete(1, &request());
    (result, server.requests())
}

#[test]
fn reply_carries_text_finish_reason_usage_with_thoughts_and_cache_and_model() {
    let parts = json!([
        {"text": "**Planning** I need a main function.", "thought": true},
        {"text": "```rust\nfn main() {\n"},
        {"text": "    println!(\"hi\");\n}\n```"}
    ]);
    let (result, requests) = complete_once(Answer::json(
        200,
        &answer(parts, "STOP", (1200, 1024, 30, 500)),
    ));
    assert_eq!(
        result.expect("a reply"),
        Reply {
            text: "```rust\nfn main() {\n    println!(\"hi\");\n}\n```".to_owned(),
            finish_reason: FinishReason::Stop,
            usage: Some(Usage {
                input_tokens: 1200,
                output_tokens: 530,
                cache_read_tokens: Some(1024),
                cache_write_tokens: None,
                reasoning_tokens: Some(500),
            }),
            model: Some("gemini-test-001".to_owned()),
            system_fingerprint: Some("gemini-test-001".to_owned()),
            ..Reply::default()
        }
    );
    assert_eq!(requests.len(), 1);
}

#[test]
fn request_has_contents_system_instruction_generation_config_and_the_key_in_a_header() {
    let server = HttpServer::start(vec![text_reply("ok")]);
    let request = ChatRequest {
        model: "gemini-2.5-test".to_owned(),
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
    assert_eq!(sent.path, "/v1beta/models/gemini-2.5-test:generateContent");
    assert_eq!(sent.header("x-goog-api-key"), Some(KEY));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("authorization"), None);
    // Google's examples put the key in `?key=`; here it never reaches the URL.
    assert!(
        !sent.path.contains(KEY) && !sent.path.contains('?'),
        "{}",
        sent.path
    );
    assert!(!sent.raw_body.contains(KEY), "{}", sent.raw_body);
    assert_eq!(
        *sent.json(),
        json!({
            "contents": [
                {"role": "user", "parts": [{"text": "Write a parser."}]},
                {"role": "model", "parts": [{"text": "fn parse() {}"}]},
                {"role": "user", "parts": [{"text": "It does not build:\nerror[E0425]"}]}
            ],
            "systemInstruction": {"parts": [{"text": "You write Rust."}]},
            "generationConfig": {
                "temperature": 0.5,
                "topP": 0.25,
                "maxOutputTokens": 2048,
                "seed": 42,
                "thinkingConfig": {"thinkingBudget": 1024}
            }
        })
    );
}

#[test]
fn unset_params_are_not_sent() {
    let (result, requests) = complete_once(text_reply("ok"));
    result.expect("a reply");
    assert_eq!(
        *requests[0].json(),
        json!({"contents": [{"role": "user", "parts": [{"text": "Write hello world in Rust."}]}]})
    );
}

#[test]
fn without_a_key_no_key_header_is_sent() {
    let server = HttpServer::start(vec![text_reply("ok")]);
    let mut model =
        GeminiModel::new(&server.url("/v1beta/"), None, Duration::from_secs(30)).expect("a client");
    model.complete(1, &request()).expect("a reply");
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1beta/models/gemini-test:generateContent");
    assert_eq!(sent.header("x-goog-api-key"), None);
}

#[test]
fn an_effort_without_a_thinking_budget_is_refused_before_any_request() {
    let server = HttpServer::start(vec![text_reply("never sent")]);
    let mut request = request();
    request.params.reasoning_effort = Some("extreme".to_owned());
    let error = client(&server).complete(1, &request).unwrap_err();
    assert!(matches!(error, LlmError::Setup { .. }), "{error:?}");
    assert_eq!(fault_of(&error), Fault::Fatal);
    assert!(server.requests().is_empty());
}

#[test]
fn a_reply_cut_by_the_token_limit_is_length() {
    let server = HttpServer::start(vec![
        Answer::json(
            200,
            &answer(
                json!([{"text": "fn main() {\n    let x ="}]),
                "MAX_TOKENS",
                (12, 0, 2048, 0),
            ),
        ),
        // Thinking used up the whole budget: no text at all, still a (truncated) reply.
        Answer::json(200, &answer(json!([]), "MAX_TOKENS", (12, 0, 0, 2048))),
    ]);
    let mut model = client(&server);
    let cut = model.complete(1, &request()).expect("a reply");
    assert_eq!(cut.finish_reason, FinishReason::Length);
    assert_eq!(cut.text, "fn main() {\n    let x =");
    let empty = model.complete(1, &request()).expect("a reply");
    assert_eq!(empty.finish_reason, FinishReason::Length);
    assert_eq!(empty.text, "");
    assert_eq!(empty.usage.unwrap().reasoning_tokens, Some(2048));
}

#[test]
fn a_candidate_stopped_by_a_filter_is_content_filtered() {
    for reason in ["SAFETY", "RECITATION", "PROHIBITED_CONTENT"] {
        // A filtered candidate often has no content at all.
        let body = json!({
            "candidates": [{"finishReason": reason, "index": 0}],
            "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12},
            "modelVersion": "gemini-test-001"
        });
        let (result, _) = complete_once(Answer::json(200, &body));
        let reply = result.expect("a filtered candidate is a reply, not an error");
        assert_eq!(reply.finish_reason, FinishReason::ContentFilter, "{reason}");
        assert_eq!(reply.text, "");
    }
}

#[test]
fn a_blocked_prompt_is_a_refusal_not_an_error() {
    let body = json!({
        "promptFeedback": {
            "blockReason": "PROHIBITED_CONTENT",
            "safetyRatings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}]
        },
        "usageMetadata": {"promptTokenCount": 40, "totalTokenCount": 40},
        "modelVersion": "gemini-test-001"
    });
    let (result, _) = complete_once(Answer::json(200, &body));
    let reply = result.expect("a blocked prompt is a reply");
    assert_eq!(reply.finish_reason, FinishReason::ContentFilter);
    assert_eq!(reply.text, "");
    let refusal = reply.refusal.expect("the refusal is set");
    assert!(refusal.contains("PROHIBITED_CONTENT"), "{refusal}");
    assert_eq!(reply.usage.map(|usage| usage.input_tokens), Some(40));
}

#[test]
fn other_finish_reasons_stay_verbatim() {
    let (result, _) = complete_once(Answer::json(
        200,
        &answer(json!([{"text": "partial"}]), "OTHER", (12, 0, 3, 0)),
    ));
    assert_eq!(
        result.expect("a reply").finish_reason,
        FinishReason::Other("OTHER".to_owned())
    );
}

#[test]
fn error_statuses_carry_the_message_status_and_fault_after_one_request_each() {
    let key_invalid = json!([{
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "API_KEY_INVALID",
        "domain": "googleapis.com",
        "metadata": {"service": "generativelanguage.googleapis.com"}
    }]);
    // (status, Google status, message, details, expected message suffix, expected fault).
    let cases = [
        (400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", key_invalid, "(status INVALID_ARGUMENT, reason API_KEY_INVALID)", Fault::Fatal),
        (400, "FAILED_PRECONDITION", "User location is not supported for the API use.", json!([]), "(status FAILED_PRECONDITION)", Fault::Fatal),
        (403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", json!([]), "(status PERMISSION_DENIED)", Fault::Fatal),
        (404, "NOT_FOUND", "models/gemini-nope is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.", json!([]), "(status NOT_FOUND)", Fault::Fatal),
        (429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details.", json!([]), "(status RESOURCE_EXHAUSTED)", Fault::Transient),
        (500, "INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting", json!([]), "(status INTERNAL)", Fault::Transient),
        (503, "UNAVAILABLE", "The model is overloaded. Please try again later.", json!([]), "(status UNAVAILABLE)", Fault::Transient),
        (504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete.", json!([]), "(status DEADLINE_EXCEEDED)", Fault::Transient),
    ];
    let server = HttpServer::start(
        cases
            .iter()
            .map(|(status, state, message, details, _, _)| {
                error(*status, state, message, details.clone())
            })
            .collect(),
    );
    let mut model = client(&server);
    for (status, _, text, _, suffix, fault) in &cases {
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
        assert_eq!(*got, Some(*status));
        assert_eq!(*message, format!("HTTP {status}: {text} {suffix}"));
        assert_eq!(*retry_after, None, "{status} asked for no wait");
        assert_eq!(fault_of(&error), *fault, "{status}");
    }
    assert_eq!(server.requests().len(), cases.len(), "the client retried");
}

#[test]
fn a_429_carries_the_wait_from_retry_after_or_from_retry_info() {
    let retry_info = json!([
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
            "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
        }]},
        {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}
    ]);
    let quota = "You exceeded your current quota, please check your plan and billing details.";
    let server = HttpServer::start(vec![
        error(429, "RESOURCE_EXHAUSTED", quota, json!([])).header("Retry-After", "12"),
        error(429, "RESOURCE_EXHAUSTED", quota, retry_info.clone()),
        // The header wins over the body where both are given.
        error(429, "RESOURCE_EXHAUSTED", quota, retry_info).header("Retry-After", "5"),
    ]);
    let mut model = client(&server);
    for expected in [12, 37, 5] {
        let error = model.complete(1, &request()).unwrap_err();
        assert!(
            matches!(error, LlmError::Api { status: Some(429), retry_after: Some(wait), .. } if wait == Duration::from_secs(expected)),
            "{error:?}"
        );
        assert_eq!(fault_of(&error), Fault::Transient);
    }
    assert_eq!(server.requests().len(), 3, "the client retried");
}

#[test]
fn a_gateway_error_page_is_an_api_error_with_its_text() {
    let page = "<html><title>Error 502 (Server Error)!!1</title></html>";
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
        "{\"candidates\": [{\"content\": ",
    ));
    let error = result.unwrap_err();
    assert!(matches!(error, LlmError::BadAnswer { .. }), "{error:?}");
    assert_eq!(fault_of(&error), Fault::Transient);
    assert_eq!(requests.len(), 1);
}

#[test]
fn a_200_without_candidates_or_text_is_a_bad_answer() {
    let server = HttpServer::start(vec![
        Answer::json(200, &json!({"modelVersion": "gemini-test-001"})),
        Answer::json(200, &answer(json!([]), "STOP", (12, 0, 0, 0))),
    ]);
    let mut model = client(&server);
    for expected in ["no candidates", "no text"] {
        match model.complete(1, &request()) {
            Err(LlmError::BadAnswer { detail, .. }) => {
                assert!(detail.contains(expected), "{detail}")
            }
            other => panic!("expected BadAnswer, got {other:?}"),
        }
    }
}

#[test]
fn a_connection_closed_mid_body_is_a_dropped_transport_error() {
    let body = answer(json!([{"text": "fn main() {}"}]), "STOP", (12, 0, 7, 0));
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
fn a_server_slower_than_the_timeout_is_a_timeout() {
    let server = HttpServer::start(vec![Answer::Stall]);
    let mut model = GeminiModel::new(
        &server.url("/v1beta"),
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
            400,
            "INVALID_ARGUMENT",
            &format!("API key not valid: {KEY}"),
            json!([]),
        ),
        Answer::raw(
            500,
            "text/plain",
            &format!("proxy saw x-goog-api-key: {KEY}"),
        ),
        Answer::raw(200, "application/json", &format!("not json {KEY}")),
        Answer::cut_short(200, &json!({"echo": KEY, "padding": "x".repeat(64)})),
    ]);
    let mut model = client(&server);
    assert!(!format!("{model:?}").contains(KEY), "{model:?}");
    for iteration in 1..=4 {
        let error = model.complete(iteration, &request()).unwrap_err();
        let shown = everything_shown(&error);
        assert!(!shown.contains(KEY), "{shown}");
        // The first three echo it back into what we show; the cut answer never gets that far.
        assert_eq!(shown.contains("[redacted]"), iteration <= 3, "{shown}");
    }
    assert!(server
        .requests()
        .iter()
        .all(|sent| sent.header("x-goog-api-key") == Some(KEY) && !sent.path.contains(KEY)));
}
