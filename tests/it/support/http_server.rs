//! A tiny local HTTP/1.1 server that answers from a script and records every request: the
//! plumbing under each provider's test server (`openai_server.rs`) and the client tests.
//!
//! Tests start it with the answers it should give, point a client at [`HttpServer::url`], and
//! afterwards read back every request it received. It serves from its own thread, so a test may
//! block on a child process while the server answers.
//!
//! It speaks just enough HTTP/1.1: one request per connection, answered with `Connection: close`,
//! request bodies by `Content-Length` or chunked. Every POST request, whatever its path,
//! gets the next answer; once the script runs out it answers 500 with an error object saying so
//! (in the `{"error": {"message", "type", "code"}}` shape, whose `message` every provider's
//! client reads), so a test that makes more requests than it planned fails loudly.
//!
//! GET requests are discovery, as the harness probes a local server before a run: `/models`
//! lists one model, and llama.cpp's `/props` answers with whatever [`HttpServer::serve_props`]
//! set (404 until then). A test that must act while a request is in flight (send Ctrl-C while
//! the server stalls, say) waits on [`HttpServer::arrivals`] instead of sleeping.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

/// How long the server waits for a connected client to send its request. Only a broken client
/// ever hits this; it keeps such a client from wedging the server thread and its shutdown.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Requests larger than this are refused rather than read into memory.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Any HTTP response, written as given: replies, error objects, malformed bodies.
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// The head of a response announcing the whole body, then half the body, then the
    /// connection closes: a connection broken mid-answer.
    CutShort {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Read the request, then close the connection without answering.
    HangUp,
    /// Read the request and never answer; the connection stays open until the server is dropped.
    Stall,
}

impl Answer {
    /// Any status with a JSON body.
    pub fn json(status: u16, body: &Value) -> Answer {
        Answer::raw(status, "application/json", &body.to_string())
    }

    /// Any status, content type and body, written as given.
    pub fn raw(status: u16, content_type: &str, body: &str) -> Answer {
        Answer::Http {
            status,
            headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            body: body.to_owned(),
        }
    }

    /// A JSON answer whose connection breaks halfway through the body.
    pub fn cut_short(status: u16, body: &Value) -> Answer {
        Answer::CutShort {
            status,
            headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
            body: body.to_string(),
        }
    }

    /// Adds a header to an HTTP response.
    pub fn header(mut self, name: &str, value: &str) -> Answer {
        match &mut self {
            Answer::Http { headers, .. } | Answer::CutShort { headers, .. } => {
                headers.push((name.to_owned(), value.to_owned()));
            }
            other => panic!("header() applies to HTTP responses, not to {other:?}"),
        }
        self
    }
}

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// The request target, e.g. `/v1/chat/completions`, with its query if it had one.
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

/// Chooses the answer to a request; `None` when it has none (the server then says so).
type Responder = Box<dyn FnMut(&RecordedRequest) -> Option<Answer> + Send>;

/// State shared between the server thread and the test.
struct Shared {
    /// The answers not given yet, in order, unless a responder chooses.
    script: Mutex<VecDeque<Answer>>,
    responder: Option<Mutex<Responder>>,
    requests: Mutex<Vec<RecordedRequest>>,
    /// The body `GET /props` answers with, once a test sets one.
    props: Mutex<Option<String>>,
    /// Where each POST request is announced as it arrives, before it is answered.
    arrivals: Mutex<Option<Sender<RecordedRequest>>>,
    stopping: AtomicBool,
}

/// A running server; it stops and joins its thread when dropped.
pub struct HttpServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Binds 127.0.0.1 on a free port and gives `script`'s answers in order, one per request.
    pub fn start(script: Vec<Answer>) -> HttpServer {
        Self::launch(script.into(), None)
    }

    /// Lets `responder` choose each answer from the request (as a stateless model would).
    pub fn start_with(
        responder: impl FnMut(&RecordedRequest) -> Option<Answer> + Send + 'static,
    ) -> HttpServer {
        Self::launch(VecDeque::new(), Some(Mutex::new(Box::new(responder))))
    }

    fn launch(script: VecDeque<Answer>, responder: Option<Mutex<Responder>>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("local address of the listener");
        let shared = Arc::new(Shared {
            script: Mutex::new(script),
            responder,
            requests: Mutex::new(Vec::new()),
            props: Mutex::new(None),
            arrivals: Mutex::new(None),
            stopping: AtomicBool::new(false),
        });
        let thread = std::thread::Builder::new()
            .name(format!("http-server-{}", addr.port()))
            .spawn({
                let shared = Arc::clone(&shared);
                move || serve(&listener, &shared)
            })
            .expect("spawn the server thread");
        HttpServer {
            addr,
            shared,
            thread: Some(thread),
        }
    }

    /// The URL of `path` on this server, e.g. `url("/v1")` is `http://127.0.0.1:40123/v1`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// How many scripted answers have not been used yet.
    pub fn unused(&self) -> usize {
        lock(&self.shared.script).len()
    }

    /// Answers `GET /props` (llama.cpp's server properties, beside `/v1`) with `props` from now
    /// on, as a llama.cpp server does.
    pub fn serve_props(&self, props: &Value) {
        *lock(&self.shared.props) = Some(props.to_string());
    }

    /// Each POST request from now on, sent here as soon as it has been read and before it is
    /// answered: a test waits on it to act while the request is in flight, without sleeping.
    pub fn arrivals(&self) -> Receiver<RecordedRequest> {
        let (sender, receiver) = channel();
        *lock(&self.shared.arrivals) = Some(sender);
        receiver
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // `accept` blocks; a connection of our own wakes it so the loop can see the flag. If the
        // connection fails the thread has already ended, which is just as good.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() && !std::thread::panicking() {
                panic!("the test HTTP server thread panicked");
            }
        }
    }
}

impl std::fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServer")
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
        // not recorded and does not use up a scripted answer.
        let Ok(request) = read_request(&mut stream) else {
            continue;
        };
        // Discovery (`GET /v1/models`, llama.cpp's `/props`), as a harness asks a local server
        // before a run, answers on its own: it is not recorded and uses up no scripted answer.
        if request.method == "GET" {
            let props = (request.path == "/props")
                .then(|| lock(&shared.props).clone())
                .flatten();
            let (status, body) = if request.path.ends_with("/models") {
                (
                    200,
                    r#"{"object":"list","data":[{"id":"fixture-model"}]}"#.to_owned(),
                )
            } else if let Some(props) = props {
                (200, props)
            } else {
                (404, r#"{"error":"not found"}"#.to_owned())
            };
            let headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
            let _ = write_response(&mut stream, status, &headers, body.as_bytes(), body.len());
            continue;
        }
        served += 1;
        if let Some(arrivals) = &*lock(&shared.arrivals) {
            // A test that stopped listening is no reason to stop serving.
            let _ = arrivals.send(request.clone());
        }
        let next = match &shared.responder {
            Some(responder) => (lock(responder))(&request),
            None => lock(&shared.script).pop_front(),
        };
        lock(&shared.requests).push(request);
        match next.unwrap_or_else(|| exhausted(served)) {
            Answer::Http {
                status,
                headers,
                body,
            } => {
                let _ = write_response(&mut stream, status, &headers, body.as_bytes(), body.len());
            }
            Answer::CutShort {
                status,
                headers,
                body,
            } => {
                let half = &body.as_bytes()[..body.len() / 2];
                let _ = write_response(&mut stream, status, &headers, half, body.len());
            }
            Answer::HangUp => {}
            Answer::Stall => stalled.push(stream),
        }
    }
}

fn exhausted(served: usize) -> Answer {
    let message =
        format!("the test server's script is exhausted: request {served} has no scripted response");
    Answer::json(
        500,
        &json!({"error": {"message": message, "type": "server_error", "code": "script_exhausted"}}),
    )
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

/// Writes the head, announcing `announced` body bytes, then `body` (which may be fewer).
fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    announced: usize,
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {announced}\r\nConnection: close\r\n\r\n"
    ));
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
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
        // Anthropic's own status for an overloaded API; no standard phrase exists.
        529 => "Overloaded",
        _ => "Status",
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}
