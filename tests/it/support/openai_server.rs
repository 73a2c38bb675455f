//! A local HTTP server that speaks OpenAI's chat-completions wire format and answers from a script.
//!
//! Tests start it with the responses it should give, in order, point a client (or the `harness`
//! binary, as a child process) at [`OpenAiServer::base_url`], and afterwards read back every
//! request it received. The HTTP plumbing is [`HttpServer`]'s; this adds OpenAI's reply and
//! error bodies, and a conversation mode that answers by the number of assistant turns.

use serde_json::{json, Value};

pub use super::http_server::RecordedRequest;
use super::http_server::{Answer, HttpServer};

/// The `created` timestamp of every scripted reply, fixed so that output is reproducible.
const CREATED: u64 = 1_700_000_000;

/// One scripted answer: what the server does with the next request it receives.
#[derive(Debug, Clone)]
pub enum Scripted {
    /// A 200 chat completion in the shape OpenAI returns.
    Reply(ScriptedReply),
    /// Anything else, written as given: error objects, malformed bodies, broken connections.
    Answer(Answer),
}

/// The parts of a scripted chat completion that tests vary.
#[derive(Debug, Clone)]
pub struct ScriptedReply {
    /// `None` sends `"content": null`, as OpenAI does for a refusal.
    pub content: Option<String>,
    pub refusal: Option<String>,
    pub finish_reason: String,
    /// `(prompt_tokens, completion_tokens)`; `None` leaves `usage` out.
    pub usage: Option<(u64, u64)>,
    pub model: String,
}

impl Scripted {
    /// A reply with this text that stopped on its own, with usage 11 in / 7 out, from `gpt-test`.
    pub fn reply(text: impl Into<String>) -> Scripted {
        Scripted::Reply(ScriptedReply {
            content: Some(text.into()),
            refusal: None,
            finish_reason: "stop".to_owned(),
            usage: Some((11, 7)),
            model: "gpt-test".to_owned(),
        })
    }

    /// A refusal as OpenAI sends it: `content` null, the text in `refusal`.
    pub fn refusal(text: impl Into<String>) -> Scripted {
        let mut scripted = Scripted::reply("");
        let reply = scripted.reply_mut("refusal");
        reply.content = None;
        reply.refusal = Some(text.into());
        scripted
    }

    /// Sets a reply's `finish_reason`, verbatim (`stop`, `length`, `content_filter`, `tool_calls`, ...).
    pub fn finish_reason(mut self, reason: impl Into<String>) -> Scripted {
        self.reply_mut("finish_reason").finish_reason = reason.into();
        self
    }

    /// Sets a reply's token counts.
    pub fn usage(mut self, prompt_tokens: u64, completion_tokens: u64) -> Scripted {
        self.reply_mut("usage").usage = Some((prompt_tokens, completion_tokens));
        self
    }

    /// Leaves `usage` out of a reply, as some local servers do.
    pub fn without_usage(mut self) -> Scripted {
        self.reply_mut("without_usage").usage = None;
        self
    }

    /// Sets the model name a reply says answered.
    pub fn model(mut self, model: impl Into<String>) -> Scripted {
        self.reply_mut("model").model = model.into();
        self
    }

    /// An HTTP error carrying OpenAI's error object. `kind` is the object's `type`.
    pub fn error(status: u16, message: &str, kind: &str, code: Option<&str>) -> Scripted {
        let body = json!({
            "error": { "message": message, "type": kind, "param": null, "code": code }
        });
        Scripted::json(status, &body)
    }

    /// 401 as OpenAI answers a wrong key.
    pub fn invalid_api_key() -> Scripted {
        Scripted::error(
            401,
            "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            Some("invalid_api_key"),
        )
    }

    /// 429 as OpenAI answers a rate limit, with a `Retry-After` header in seconds.
    pub fn rate_limited(retry_after_secs: u64) -> Scripted {
        Scripted::error(
            429,
            "Rate limit reached for requests. Please try again later.",
            "requests",
            Some("rate_limit_exceeded"),
        )
        .header("Retry-After", &retry_after_secs.to_string())
    }

    /// 500 as OpenAI answers an internal failure.
    pub fn server_error() -> Scripted {
        Scripted::error(
            500,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        )
    }

    /// Any status with a JSON body, e.g. a 200 whose shape is wrong.
    pub fn json(status: u16, body: &Value) -> Scripted {
        Scripted::raw(status, "application/json", &body.to_string())
    }

    /// A 200 that claims to be JSON but is not.
    pub fn malformed() -> Scripted {
        Scripted::raw(
            200,
            "application/json",
            "{\"id\": \"chatcmpl-broken\", \"choices\": [",
        )
    }

    /// Any status, content type and body, written as given.
    pub fn raw(status: u16, content_type: &str, body: &str) -> Scripted {
        Scripted::Answer(Answer::raw(status, content_type, body))
    }

    /// Adds a header to an HTTP response.
    pub fn header(self, name: &str, value: &str) -> Scripted {
        match self {
            Scripted::Answer(answer) => Scripted::Answer(answer.header(name, value)),
            other => panic!("header() applies to HTTP responses, not to {other:?}"),
        }
    }

    /// Read the request, then close the connection without answering.
    pub fn hang_up() -> Scripted {
        Scripted::Answer(Answer::HangUp)
    }

    /// Read the request and never answer, until the server is dropped.
    pub fn stall() -> Scripted {
        Scripted::Answer(Answer::Stall)
    }

    /// What the server sends; `id` numbers the completion.
    fn into_answer(self, id: usize) -> Answer {
        match self {
            Scripted::Reply(reply) => Answer::json(200, &reply.to_json(id)),
            Scripted::Answer(answer) => answer,
        }
    }

    fn reply_mut(&mut self, setter: &str) -> &mut ScriptedReply {
        match self {
            Scripted::Reply(reply) => reply,
            other => panic!("{setter}() applies to scripted replies, not to {other:?}"),
        }
    }
}

impl ScriptedReply {
    /// The body OpenAI sends for a non-streamed `POST /v1/chat/completions`.
    fn to_json(&self, id: usize) -> Value {
        let mut body = json!({
            "id": format!("chatcmpl-test-{id}"),
            "object": "chat.completion",
            "created": CREATED,
            "model": self.model,
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": self.content,
                    "refusal": self.refusal,
                    "annotations": []
                },
                "logprobs": null,
                "finish_reason": self.finish_reason
            }],
            "service_tier": "default",
            "system_fingerprint": null
        });
        if let Some((prompt, completion)) = self.usage {
            body["usage"] = json!({
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": { "cached_tokens": 0, "audio_tokens": 0 },
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0
                }
            });
        }
        body
    }
}

/// A running server; it stops when dropped.
pub struct OpenAiServer(HttpServer);

impl OpenAiServer {
    /// Binds 127.0.0.1 on a free port and serves `script` from a new thread.
    pub fn start(script: Vec<Scripted>) -> OpenAiServer {
        let answers = script
            .into_iter()
            .enumerate()
            .map(|(index, scripted)| scripted.into_answer(index + 1))
            .collect();
        OpenAiServer(HttpServer::start(answers))
    }

    /// Serves a conversation: a request with N assistant messages gets `turns[N]`, however
    /// often it is asked.
    pub fn start_conversation(turns: Vec<Scripted>) -> OpenAiServer {
        let answers: Vec<Answer> = turns
            .into_iter()
            .enumerate()
            .map(|(index, scripted)| scripted.into_answer(index + 1))
            .collect();
        OpenAiServer(HttpServer::start_with(move |request| {
            let turn = request
                .body
                .as_ref()
                .and_then(|b| b["messages"].as_array().cloned())
                .map_or(0, |m| m.iter().filter(|m| m["role"] == "assistant").count());
            answers.get(turn).cloned()
        }))
    }

    /// The base URL a client is given, e.g. `http://127.0.0.1:40123/v1`.
    pub fn base_url(&self) -> String {
        self.0.url("/v1")
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.0.requests()
    }

    /// How many scripted responses have not been used yet.
    pub fn unused(&self) -> usize {
        self.0.unused()
    }

    /// See [`HttpServer::serve_props`]: llama.cpp's `GET /props`, its context size included.
    pub fn serve_props(&self, props: &Value) {
        self.0.serve_props(props);
    }

    /// See [`HttpServer::arrivals`]: each request as it arrives, before it is answered.
    pub fn arrivals(&self) -> std::sync::mpsc::Receiver<RecordedRequest> {
        self.0.arrivals()
    }
}

impl std::fmt::Debug for OpenAiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("OpenAiServer").field(&self.0).finish()
    }
}
