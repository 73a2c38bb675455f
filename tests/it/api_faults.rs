//! The fault sweep: the real `harness generate` against local servers that speak Anthropic's
//! Messages API, Gemini's `generateContent` and OpenAI's Responses API, each failing one way
//! (error statuses in the provider's own body shape, broken bodies, a cut connection, a stall, a
//! reply cut by the token limit, a streamed answer): whether it is retried, what the transcript
//! records, what the error table charges to the LLM, and what the user is told to fix.

use std::panic::AssertUnwindSafe;
use std::path::Path;

use harness::llm::retry::Fault;
use harness::llm::FinishReason;
use harness::taxonomy::Category;
use harness::transcript::{read_transcript, EndStatus, Event, ModelErrorEvent, Transcript};
use serde_json::{json, Value};

use crate::support::harness::{Finished, Harness};
use crate::support::http_server::{Answer, HttpServer};

/// Not key-shaped, and distinctive: finding it in any output is a leak.
const KEY: &str = "fixture-faults-key-LEAKCHECK";

/// Two attempts per call with waits of a few milliseconds, whatever `Retry-After` asks.
const RETRY: [&str; 8] = [
    "--max-attempts",
    "2",
    "--retry-base-ms",
    "1",
    "--retry-cap-ms",
    "2",
    "--retry-max-wait-ms",
    "5",
];

/// The wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Anthropic,
    Gemini,
    Responses,
}

impl Wire {
    fn llm(self) -> &'static str {
        match self {
            Wire::Anthropic => "fixture-faults-anthropic",
            Wire::Gemini => "fixture-faults-gemini",
            Wire::Responses => "fixture-faults-responses",
        }
    }

    fn key_var(self) -> &'static str {
        match self {
            Wire::Anthropic => "FIXTURE_ANTHROPIC_KEY",
            Wire::Gemini => "FIXTURE_GEMINI_KEY",
            Wire::Responses => "FIXTURE_OPENAI_KEY",
        }
    }

    /// The registry entry for this provider, pointed at `server`.
    fn registry(self, server: &HttpServer) -> String {
        let (provider, base_url) = match self {
            Wire::Anthropic => ("provider: anthropic", server.url("/v1")),
            Wire::Gemini => ("provider: gemini", server.url("/v1beta")),
            Wire::Responses => ("provider: openai\n    api: responses", server.url("/v1")),
        };
        format!(
            "llms:\n  - id: {}\n    {provider}\n    model: fixture-model\n    base_url: {base_url}\n    api_key_env: {}\n    params: {{ max_tokens: 1024 }}\n    price: {{ input_per_mtok: 1.0, output_per_mtok: 2.0 }}\n",
            self.llm(),
            self.key_var()
        )
    }

    /// Where the client posts its request.
    fn post_path(self) -> &'static str {
        match self {
            Wire::Anthropic => "/v1/messages",
            Wire::Gemini => "/v1beta/models/fixture-model:generateContent",
            Wire::Responses => "/v1/responses",
        }
    }

    /// An error answer in the provider's own shape. `kind` is Anthropic's error type, Gemini's
    /// status or OpenAI's error code.
    fn error(self, status: u16, kind: &str, message: &str) -> Answer {
        let body = match self {
            Wire::Anthropic => json!({
                "type": "error",
                "error": {"type": kind, "message": message},
                "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"
            }),
            Wire::Gemini => json!({
                "error": {"code": status, "message": message, "status": kind}
            }),
            Wire::Responses => json!({
                "error": {"message": message, "type": "invalid_request_error", "param": null, "code": kind}
            }),
        };
        Answer::json(status, &body)
    }

    /// A 200 reply holding `text`; `cut` says it stopped at the output token limit.
    fn reply(self, text: &str, cut: bool) -> Value {
        match self {
            Wire::Anthropic => json!({
                "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
                "type": "message",
                "role": "assistant",
                "model": "fixture-model",
                "content": [{"type": "text", "text": text}],
                "stop_reason": if cut { "max_tokens" } else { "end_turn" },
                "stop_sequence": null,
                "usage": {"input_tokens": 120, "output_tokens": 1024}
            }),
            Wire::Gemini => json!({
                "candidates": [{
                    "content": {"parts": [{"text": text}], "role": "model"},
                    "finishReason": if cut { "MAX_TOKENS" } else { "STOP" },
                    "index": 0
                }],
                "usageMetadata": {"promptTokenCount": 120, "candidatesTokenCount": 1024, "totalTokenCount": 1144},
                "modelVersion": "fixture-model-001"
            }),
            Wire::Responses => json!({
                "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
                "object": "response",
                "status": if cut { "incomplete" } else { "completed" },
                "error": null,
                "incomplete_details": if cut { json!({"reason": "max_output_tokens"}) } else { Value::Null },
                "model": "fixture-model",
                "output": [{
                    "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b",
                    "type": "message",
                    "status": if cut { "incomplete" } else { "completed" },
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}]
                }],
                "usage": {"input_tokens": 120, "output_tokens": 1024, "total_tokens": 1144}
            }),
        }
    }

    /// The same reply as the provider streams it (`text/event-stream`), which the harness never
    /// asks for.
    fn event_stream(self) -> String {
        let events = match self {
            Wire::Anthropic => [
                r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"fixture-model","content":[],"stop_reason":null,"usage":{"input_tokens":120,"output_tokens":1}}}"#,
                r#"event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
                r#"event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"fn main() {}"}}"#,
                r#"event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5}}"#,
                r#"event: message_stop
data: {"type":"message_stop"}"#,
            ]
            .join("\n\n"),
            Wire::Gemini => format!(
                "data: {}\r\n\r\n",
                self.reply("fn main() {}", false)
            ),
            Wire::Responses => [
                r#"event: response.created
data: {"type":"response.created","response":{"id":"resp_1","object":"response","status":"in_progress","output":[]}}"#,
                r#"event: response.output_text.delta
data: {"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"fn main() {}"}"#,
                r#"event: response.completed
data: {"type":"response.completed","response":{"id":"resp_1","object":"response","status":"completed"}}"#,
            ]
            .join("\n\n"),
        };
        events + "\n\n"
    }
}

/// One way for the provider to fail (or, for `TokenLimit`, to answer badly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    BadKey,
    /// Gemini's answer to a key that is not valid: 400 `INVALID_ARGUMENT`, `API_KEY_INVALID`.
    BadKeyGemini400,
    ModelNotFound,
    RateLimitedRetryAfter,
    RateLimited,
    Internal,
    Unavailable,
    /// Anthropic's 529 `overloaded_error`.
    Overloaded,
    Malformed,
    CutMidBody,
    SlowerThanTimeout,
    TokenLimit,
    EventStream,
}

impl Case {
    /// What the server answers, to every request.
    fn answer(self, wire: Wire) -> Answer {
        match (self, wire) {
            (Case::BadKey, Wire::Anthropic) => wire.error(401, "authentication_error", "invalid x-api-key"),
            (Case::BadKey, Wire::Gemini) => wire.error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
            ),
            (Case::BadKey, Wire::Responses) => wire.error(
                401,
                "invalid_api_key",
                "Incorrect API key provided: fixture-***************HECK. You can find your API key at https://platform.openai.com/account/api-keys.",
            ),
            (Case::BadKeyGemini400, _) => Answer::json(
                400,
                &json!({"error": {
                    "code": 400,
                    "message": "API key not valid. Please pass a valid API key.",
                    "status": "INVALID_ARGUMENT",
                    "details": [{
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"}
                    }]
                }}),
            ),
            (Case::ModelNotFound, Wire::Anthropic) => wire.error(404, "not_found_error", "model: fixture-model"),
            (Case::ModelNotFound, Wire::Gemini) => wire.error(
                404,
                "NOT_FOUND",
                "models/fixture-model is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.",
            ),
            (Case::ModelNotFound, Wire::Responses) => wire.error(
                404,
                "model_not_found",
                "The model `fixture-model` does not exist or you do not have access to it.",
            ),
            // Google asks for its wait in the body (`RetryInfo`), the others in a header.
            (Case::RateLimitedRetryAfter, Wire::Gemini) => Answer::json(
                429,
                &json!({"error": {
                    "code": 429,
                    "message": "You exceeded your current quota, please check your plan and billing details.",
                    "status": "RESOURCE_EXHAUSTED",
                    "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]
                }}),
            ),
            (Case::RateLimitedRetryAfter | Case::RateLimited, _) => {
                let answer = match wire {
                    Wire::Anthropic => wire.error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
                    Wire::Gemini => wire.error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details."),
                    Wire::Responses => wire.error(429, "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."),
                };
                if self == Case::RateLimitedRetryAfter {
                    answer.header("Retry-After", "7")
                } else {
                    answer
                }
            }
            (Case::Internal, Wire::Anthropic) => wire.error(500, "api_error", "Internal server error"),
            (Case::Internal, Wire::Gemini) => wire.error(500, "INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"),
            (Case::Internal, Wire::Responses) => wire.error(500, "server_error", "The server had an error while processing your request. Sorry about that!"),
            (Case::Unavailable, Wire::Anthropic) => wire.error(503, "api_error", "Service unavailable"),
            (Case::Unavailable, Wire::Gemini) => wire.error(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
            (Case::Unavailable, Wire::Responses) => wire.error(503, "server_error", "The engine is currently overloaded, please try again later."),
            (Case::Overloaded, _) => wire.error(529, "overloaded_error", "Overloaded"),
            (Case::Malformed, _) => {
                let whole = wire.reply("fn main() {}", false).to_string();
                Answer::raw(200, "application/json", &whole[..whole.len() / 2])
            }
            (Case::CutMidBody, _) => Answer::cut_short(200, &wire.reply("fn main() {}", false)),
            (Case::SlowerThanTimeout, _) => Answer::Stall,
            (Case::TokenLimit, _) => {
                Answer::json(200, &wire.reply("```rust\nfn main() {\n    let x =", true))
            }
            (Case::EventStream, _) => Answer::raw(200, "text/event-stream", &wire.event_stream()),
        }
    }

    fn expected(self, wire: Wire) -> Expected {
        let transient = |status: Option<u16>, says: Vec<String>| Expected::Aborted {
            status,
            fault: Fault::Transient,
            attempts: 2,
            says,
        };
        let says = |texts: &[&str]| texts.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
        let key = format!("`{}`", wire.key_var());
        match self {
            Case::BadKey => Expected::Aborted {
                status: Some(401),
                fault: Fault::Fatal,
                attempts: 1,
                says: vec!["HTTP 401".to_owned(), key],
            },
            Case::BadKeyGemini400 => Expected::Aborted {
                status: Some(400),
                fault: Fault::Fatal,
                attempts: 1,
                says: vec!["API_KEY_INVALID".to_owned(), key],
            },
            Case::ModelNotFound => Expected::Aborted {
                status: Some(404),
                fault: Fault::Fatal,
                attempts: 1,
                says: says(&["HTTP 404", "--model", "--base-url"]),
            },
            Case::RateLimitedRetryAfter | Case::RateLimited => {
                transient(Some(429), says(&["HTTP 429", "gave up after 2 attempt(s)"]))
            }
            Case::Internal => transient(Some(500), says(&["HTTP 500"])),
            Case::Unavailable => transient(Some(503), says(&["HTTP 503"])),
            Case::Overloaded => transient(Some(529), says(&["HTTP 529", "overloaded_error"])),
            Case::Malformed | Case::EventStream => {
                transient(None, says(&["without a usable reply"]))
            }
            Case::CutMidBody => transient(None, says(&["broke before the answer was complete"])),
            Case::SlowerThanTimeout => transient(
                None,
                says(&[
                    "did not send a complete answer in time",
                    "--request-timeout",
                ]),
            ),
            Case::TokenLimit => Expected::Truncated,
        }
    }
}

/// How a case must end.
#[derive(Debug)]
enum Expected {
    /// A `model-error` with this status, fault and attempt count; the run aborted (exit 5),
    /// nothing charged to the LLM. `says`: what its message (and the user) must be told.
    Aborted {
        status: Option<u16>,
        fault: Fault,
        attempts: u32,
        says: Vec<String>,
    },
    /// A reply cut at the token limit: the LLM's own failure, `truncated`, charged (exit 3
    /// with one iteration allowed).
    Truncated,
}

/// The cases each provider is swept with.
fn cases(wire: Wire) -> Vec<Case> {
    let mut cases = vec![
        Case::BadKey,
        Case::ModelNotFound,
        Case::RateLimitedRetryAfter,
        Case::RateLimited,
        Case::Internal,
        Case::Unavailable,
        Case::Malformed,
        Case::CutMidBody,
        Case::SlowerThanTimeout,
        Case::TokenLimit,
        Case::EventStream,
    ];
    match wire {
        Wire::Anthropic => cases.push(Case::Overloaded),
        Wire::Gemini => cases.push(Case::BadKeyGemini400),
        Wire::Responses => {}
    }
    cases
}

/// One `harness generate` against a server that answers every request with `case`'s answer,
/// then `harness report errors --format json` on its runs folder.
struct Swept {
    out: Finished,
    transcript: Transcript,
    transcript_text: String,
    requests: usize,
    row: Value,
}

fn sweep_one(wire: Wire, case: Case) -> Swept {
    let answer = case.answer(wire);
    let server = HttpServer::start_with(move |_| Some(answer.clone()));
    let harness = Harness::new()
        .registry(&wire.registry(&server))
        .env(wire.key_var(), KEY);
    let mut args = vec!["generate", "--llm", wire.llm(), "--max-iterations", "1"];
    args.extend(RETRY);
    if case == Case::SlowerThanTimeout {
        args.extend(["--request-timeout", "1"]);
    }
    let out = harness.run(&args);
    let requests = server.requests();
    for request in &requests {
        assert_eq!(request.path, wire.post_path(), "{wire:?} {case:?}");
    }
    let run = harness.only_run();
    let path = run.join("transcript.yaml");
    let transcript_text = std::fs::read_to_string(&path).expect("the transcript");
    let transcript = read_transcript(&path).expect("a readable transcript");
    let runs_dir = harness.runs_dir();
    let report = harness
        .run(&["report", "errors", "--format", "json", path_str(&runs_dir)])
        .expect_code(0);
    let table: Value = serde_json::from_str(&report.stdout).expect("the table is JSON");
    let rows = table["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{table}");
    Swept {
        out,
        transcript,
        transcript_text,
        requests: requests.len(),
        row: rows[0].clone(),
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

fn attempts(transcript: &Transcript) -> Vec<&harness::transcript::AttemptEvent> {
    transcript
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Attempt(attempt) => Some(attempt),
            _ => None,
        })
        .collect()
}

fn model_error(transcript: &Transcript) -> Option<&ModelErrorEvent> {
    transcript.events.iter().find_map(|event| match event {
        Event::ModelError(error) => Some(error),
        _ => None,
    })
}

/// Runs every case for `wire` and checks each; a failure names every case that failed, with
/// its output and transcript.
fn sweep(wire: Wire) {
    let mut failures = Vec::new();
    for case in cases(wire) {
        let swept = sweep_one(wire, case);
        let context = format!(
            "{wire:?} {case:?}\nexit {}\nstdout:\n{}\nstderr:\n{}\ntranscript:\n{}",
            swept.out.code, swept.out.stdout, swept.out.stderr, swept.transcript_text
        );
        if let Err(problem) =
            std::panic::catch_unwind(AssertUnwindSafe(|| check(wire, case, &swept)))
        {
            let problem = problem
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| problem.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!("{problem}\n{context}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n========\n\n")
    );
}

fn check(wire: Wire, case: Case, swept: &Swept) {
    let Swept {
        out,
        transcript,
        transcript_text,
        requests,
        row,
    } = swept;
    for shown in [&out.stdout, &out.stderr, transcript_text] {
        assert!(!shown.contains(KEY), "the key leaked");
    }
    let attempts = attempts(transcript);
    match case.expected(wire) {
        Expected::Aborted {
            status,
            fault,
            attempts: tries,
            says,
        } => {
            assert_eq!(out.code, 5, "exit code");
            // Each try reached the server; each retried one is an `attempt` event.
            assert_eq!(*requests, tries as usize, "requests the server saw");
            assert_eq!(attempts.len(), tries as usize - 1, "attempt events");
            for (n, attempt) in attempts.iter().enumerate() {
                assert_eq!(attempt.attempt, n as u32 + 1);
                assert_eq!((attempt.status, attempt.fault), (status, fault));
                assert!(attempt.wait_ms.is_some_and(|wait| wait <= 5), "{attempt:?}");
                let asked = (case == Case::RateLimitedRetryAfter).then_some(7000);
                assert_eq!(attempt.retry_after_ms, asked, "Retry-After");
            }
            let error = model_error(transcript).expect("a model-error event");
            assert_eq!(
                (error.iteration, error.status, error.fault, error.attempts),
                (1, status, Some(fault), tries),
                "the model-error event"
            );
            for text in &says {
                assert!(
                    error.message.contains(text.as_str()),
                    "the model-error message lacks {text:?}: {}",
                    error.message
                );
                // Whoever watches stderr only (stdout piped into a file) must see it too.
                assert!(out.stderr.contains(text.as_str()), "stderr lacks {text:?}");
            }
            if fault == Fault::Transient {
                assert!(
                    out.stderr
                        .contains("attempt 1 failed (not charged to the LLM); trying again in"),
                    "the retry is announced on stderr"
                );
            }
            assert!(!transcript
                .events
                .iter()
                .any(|e| matches!(e, Event::Reply(_))));
            assert_eq!(
                transcript.outcomes().count(),
                0,
                "nothing was built or judged"
            );
            let end = transcript.end().expect("an end event");
            assert_eq!((end.status, end.iterations), (EndStatus::Aborted, 1));
            assert!(
                out.stdout.contains("aborted at iteration 1") && out.stdout.contains("--resume"),
                "stdout says how to go on"
            );
            // The table: aborted, nothing charged, no tokens.
            assert_eq!(row["llm"], wire.llm());
            assert_eq!(
                (&row["runs"], &row["aborted"], &row["gave_up"]),
                (&json!(1), &json!(1), &json!(0)),
                "{row}"
            );
            assert_eq!(
                (&row["rounds_total"], &row["diagnostics_total"]),
                (&json!(0), &json!(0)),
                "{row}"
            );
            assert_eq!(row["rounds_by_category"], json!({}), "{row}");
            assert_eq!(
                (&row["input_tokens"], &row["output_tokens"]),
                (&json!(0), &json!(0)),
                "{row}"
            );
        }
        Expected::Truncated => {
            assert_eq!(out.code, 3, "exit code");
            assert_eq!(*requests, 1, "a reply is not retried");
            assert!(attempts.is_empty(), "no attempt events");
            assert!(model_error(transcript).is_none(), "no model-error event");
            let reply = transcript
                .events
                .iter()
                .find_map(|e| match e {
                    Event::Reply(reply) => Some(reply),
                    _ => None,
                })
                .expect("a reply event");
            assert_eq!(reply.finish_reason, FinishReason::Length);
            assert_eq!(reply.text, "```rust\nfn main() {\n    let x =");
            let outcome = transcript.outcomes().next().expect("an outcome");
            let categories: Vec<Category> = outcome.errors.iter().map(|e| e.category).collect();
            assert_eq!(categories, [Category::Truncated]);
            assert_eq!(transcript.end().map(|e| e.status), Some(EndStatus::GaveUp));
            assert!(
                out.stdout.contains("iteration 1: truncated"),
                "stdout names the category"
            );
            // The table: the LLM's run, with its tokens. With a cap of 1 the truncated round
            // is the run's "gave up", counted once as such, not as an error as well
            // (docs/methodology.md, K2).
            assert_eq!(
                (&row["runs"], &row["aborted"], &row["gave_up"]),
                (&json!(1), &json!(0), &json!(1)),
                "{row}"
            );
            assert_eq!(row["rounds_total"], 0, "{row}");
            assert_eq!(row["rounds_by_category"], json!({}), "{row}");
            assert_eq!(row["output_tokens"], 1024, "{row}");
        }
    }
}

#[test]
fn anthropic_faults_are_retried_recorded_and_never_charged_to_the_llm() {
    sweep(Wire::Anthropic);
}

#[test]
fn gemini_faults_are_retried_recorded_and_never_charged_to_the_llm() {
    sweep(Wire::Gemini);
}

#[test]
fn openai_responses_faults_are_retried_recorded_and_never_charged_to_the_llm() {
    sweep(Wire::Responses);
}
