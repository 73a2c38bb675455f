//! A local HTTP server that speaks OpenAI's chat-completions wire format and answers from a script.
//!
//! Tests start it with the responses it should give, in order, point a client (or the `harness`
//! binary, as a child process) at [`OpenAiServer::base_url`], and afterwards read back every
//! request it received. It serves from its own thread, so a test may block on a child process
//! while the server answers.
//!
//! It speaks just enough HTTP/1.1: one request per connection, answered with `Connection: close`,
//! bodies by `Content-Length` or chunked. Every request, whatever its method and path, gets the
//! next scripted response; once the script runs out it answers 500 with an OpenAI error saying so,
//! so a test that makes more requests than it planned fails loudly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

/// How long the server waits for a connected client to send its request. Only a broken client
/// ever hits this; it keeps such a client from wedging the server thread and its shutdown.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Requests larger than this are refused rather than read into memory.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The `created` timestamp of every scripted reply, fixed so that output is reproducible.
const CREATED: u64 = 1_700_000_000;

/// One scripted answer: what the server does with the next request it receives.
#[derive(Debug, Clone)]
pub enum Scripted {
    /// A 200 chat completion in the shape OpenAI returns.
    Reply(ScriptedReply),
    /// Any HTTP response, written as given: error objects, malformed bodies, odd statuses.
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Read the request, then close the connection without answering.
    HangUp,
    /// Read the request and never answer; the connection stays open until the server is dropped.
    Stall,
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
        Scripted::Http {
            status,
            headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            body: body.to_owned(),
        }
    }

    /// Adds a header to an HTTP response.
    pub fn header(mut self, name: &str, value: &str) -> Scripted {
        match &mut self {
            Scripted::Http { headers, .. } => headers.push((name.to_owned(), value.to_owned())),
            other => panic!("header() applies to HTTP responses, not to {other:?}"),
        }
        self
    }

    /// Read the request, then close the connection without answering.
    pub fn hang_up() -> Scripted {
        Scripted::HangUp
    }

    /// Read the request and never answer, until the server is dropped.
    pub fn stall() -> Scripted {
        Scripted::Stall
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

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// The request target, e.g. `/v1/chat/completions`.
    pub path: String,
    /// Header names in lowercase, values trimmed, in the order received.
    pub headers: Vec<(String, String)>,
    pub raw_body: String,
    /// The body parsed as JSON, where it was JSON.
    pub body: Option<Value>,
}

impl RecordedRequest {
    /// The value of the first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The JSON body; panics with the raw body when it was not JSON.
    pub fn json(&self) -> &Value {
        match &self.body {
            Some(body) => body,
            None => panic!("the request body is not JSON: {:?}", self.raw_body),
        }
    }
}

/// State shared between the server thread and the test.
struct Shared {
    script: Mutex<std::collections::VecDeque<Scripted>>,
    /// Conversation mode: the answer is chosen by how many assistant turns the request holds,
    /// as a stateless model would, so a client that asks again gets the same answer.
    by_turn: Option<Vec<Scripted>>,
    requests: Mutex<Vec<RecordedRequest>>,
    stopping: AtomicBool,
}

/// A running server; it stops and joins its thread when dropped.
pub struct OpenAiServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl OpenAiServer {
    /// Binds 127.0.0.1 on a free port and serves `script` from a new thread.
    pub fn start(script: Vec<Scripted>) -> OpenAiServer {
        Self::launch(script, None)
    }

    /// Serves a conversation: a request with N assistant messages gets `turns[N]`, however
    /// often it is asked.
    pub fn start_conversation(turns: Vec<Scripted>) -> OpenAiServer {
        Self::launch(Vec::new(), Some(turns))
    }

    fn launch(script: Vec<Scripted>, by_turn: Option<Vec<Scripted>>) -> OpenAiServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("local address of the listener");
        let shared = Arc::new(Shared {
            script: Mutex::new(script.into()),
            by_turn,
            requests: Mutex::new(Vec::new()),
            stopping: AtomicBool::new(false),
        });
        let thread = std::thread::Builder::new()
            .name(format!("openai-server-{}", addr.port()))
            .spawn({
                let shared = Arc::clone(&shared);
                move || serve(&listener, &shared)
            })
            .expect("spawn the server thread");
        OpenAiServer {
            addr,
            shared,
            thread: Some(thread),
        }
    }

    /// The base URL a client is given, e.g. `http://127.0.0.1:40123/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// How many scripted responses have not been used yet.
    pub fn unused(&self) -> usize {
        lock(&self.shared.script).len()
    }
}

impl Drop for OpenAiServer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // `accept` blocks; a connection of our own wakes it so the loop can see the flag. If the
        // connection fails the thread has already ended, which is just as good.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() && !std::thread::panicking() {
                panic!("the OpenAI test server thread panicked");
            }
        }
    }
}

impl std::fmt::Debug for OpenAiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// A poisoned lock only means another test thread panicked; the data is still worth reading.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn serve(listener: &TcpListener, shared: &Shared) {
    // Stalled connections are held open here until the server stops.
    let mut stalled = Vec::new();
    let mut served = 0;
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(mut stream) = stream else { continue };
        let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
        // A client that connects and breaks off before a whole request is not a request: it is
        // not recorded and does not use up a scripted response.
        let Ok(request) = read_request(&mut stream) else {
            continue;
        };
        let turn = request
            .body
            .as_ref()
            .and_then(|b| b["messages"].as_array().cloned())
            .map_or(0, |m| m.iter().filter(|m| m["role"] == "assistant").count());
        lock(&shared.requests).push(request);
        served += 1;
        let next = match &shared.by_turn {
            Some(turns) => turns.get(turn).cloned(),
            None => lock(&shared.script).pop_front(),
        };
        match next.unwrap_or_else(|| exhausted(served)) {
            Scripted::Reply(reply) => {
                let body = reply.to_json(served).to_string();
                let headers = [("Content-Type".to_owned(), "application/json".to_owned())];
                let _ = write_response(&mut stream, 200, &headers, &body);
            }
            Scripted::Http {
                status,
                headers,
                body,
            } => {
                let _ = write_response(&mut stream, status, &headers, &body);
            }
            Scripted::HangUp => {}
            Scripted::Stall => stalled.push(stream),
        }
    }
}

fn exhausted(served: usize) -> Scripted {
    let message = format!(
        "the OpenAI test server's script is exhausted: request {served} has no scripted response"
    );
    Scripted::error(500, &message, "server_error", Some("script_exhausted"))
}

fn read_request(stream: &mut TcpStream) -> std::io::Result<RecordedRequest> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let request_line = read_line(&mut reader)?;
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        return Err(invalid(format!("bad request line {request_line:?}")));
    };
    let (method, path) = (method.to_owned(), path.to_owned());

    let mut headers = Vec::new();
    loop {
        let line = read_line(&mut reader)?;
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(invalid(format!("bad header line {line:?}")));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };

    if header("expect").is_some_and(|value| value.eq_ignore_ascii_case("100-continue")) {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let chunked = header("transfer-encoding")
        .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        read_chunked(&mut reader)?
    } else {
        let length = match header("content-length") {
            Some(value) => value
                .parse::<usize>()
                .map_err(|_| invalid(format!("bad Content-Length {value:?}")))?,
            None => 0,
        };
        read_exact(&mut reader, length)?
    };

    let raw_body = String::from_utf8_lossy(&body).into_owned();
    let body = serde_json::from_slice(&body).ok();
    Ok(RecordedRequest {
        method,
        path,
        headers,
        raw_body,
        body,
    })
}

/// One line without its line ending; an early end of stream is an error.
fn read_line(reader: &mut impl BufRead) -> std::io::Result<String> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn read_exact(reader: &mut impl Read, length: usize) -> std::io::Result<Vec<u8>> {
    if length > MAX_BODY_BYTES {
        return Err(invalid(format!("a body of {length} bytes is too large")));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(body)
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let size_line = read_line(reader)?;
        let size = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| invalid(format!("bad chunk size {size_line:?}")))?;
        if size == 0 {
            // Trailers, if any, end with an empty line.
            while !read_line(reader)?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY_BYTES {
            return Err(invalid("a chunked body is too large".to_owned()));
        }
        body.extend(read_exact(reader, size)?);
        read_line(reader)?;
    }
}

fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &str,
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}
