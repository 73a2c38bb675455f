//! A local HTTP server that serves files by path, as a dataset mirror does: byte ranges for
//! resumed downloads, chosen error statuses, and a download cut short on purpose.
//!
//! One request per connection (`Connection: close`), GET only. Every request is recorded
//! (path and `Range` header), so tests can tell whether anything was downloaded.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the server does for one path.
#[derive(Debug, Clone)]
pub enum Route {
    /// 200 with the bytes, or 206 with the requested range.
    File(Vec<u8>),
    /// 200 with the whole file, whatever `Range` asks for (a server without range support).
    WholeOnly(Vec<u8>),
    /// This status, with a short text body.
    Status(u16),
    /// The first request gets the headers of the whole file but only `sent` bytes before the
    /// connection closes; later requests are served as [`Route::File`].
    CutShortOnce { bytes: Vec<u8>, sent: usize },
}

/// One request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The request target: path and query.
    pub target: String,
    pub range: Option<String>,
}

struct Shared {
    routes: Mutex<HashMap<String, Route>>,
    requests: Mutex<Vec<Request>>,
    stopping: AtomicBool,
}

/// A running server; it stops and joins its thread when dropped.
pub struct FileServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl FileServer {
    /// Binds 127.0.0.1 on a free port and serves `routes` (request target -> route).
    pub fn start(routes: Vec<(String, Route)>) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("the listener's address");
        let shared = Arc::new(Shared {
            routes: Mutex::new(routes.into_iter().collect()),
            requests: Mutex::new(Vec::new()),
            stopping: AtomicBool::new(false),
        });
        let thread = std::thread::spawn({
            let shared = Arc::clone(&shared);
            move || {
                for stream in listener.incoming() {
                    if shared.stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        answer(stream, &shared);
                    }
                }
            }
        });
        FileServer {
            addr,
            shared,
            thread: Some(thread),
        }
    }

    /// The mirror's base URL, e.g. `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.requests).clone()
    }

    /// Replaces (or adds) the route of `target`.
    pub fn set(&self, target: &str, route: Route) {
        lock(&self.shared.routes).insert(target.to_string(), route);
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(clone) => clone,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut range = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.trim().eq_ignore_ascii_case("range") {
                range = Some(value.trim().to_string());
            }
        }
    }
    lock(&shared.requests).push(Request {
        target: target.clone(),
        range: range.clone(),
    });
    let route = {
        let mut routes = lock(&shared.routes);
        let route = routes.get(&target).cloned();
        if let Some(Route::CutShortOnce { bytes, .. }) = &route {
            routes.insert(target.clone(), Route::File(bytes.clone()));
        }
        route
    };
    let mut stream = stream;
    let _ = match route {
        None => respond(&mut stream, 404, "Not Found", &[], b"no such file"),
        Some(Route::WholeOnly(bytes)) => respond(&mut stream, 200, "OK", &[], &bytes),
        Some(Route::Status(status)) => {
            respond(&mut stream, status, "Scripted", &[], b"scripted error")
        }
        Some(Route::CutShortOnce { bytes, sent }) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            );
            stream
                .write_all(head.as_bytes())
                .and_then(|()| stream.write_all(&bytes[..sent]))
        }
        Some(Route::File(bytes)) => match range.as_deref().and_then(parse_range) {
            Some(start) if start < bytes.len() => {
                let header = format!(
                    "Content-Range: bytes {start}-{}/{}",
                    bytes.len() - 1,
                    bytes.len()
                );
                respond(
                    &mut stream,
                    206,
                    "Partial Content",
                    &[header],
                    &bytes[start..],
                )
            }
            Some(_) => respond(&mut stream, 416, "Range Not Satisfiable", &[], b""),
            None => respond(&mut stream, 200, "OK", &[], &bytes),
        },
    };
    let _ = stream.flush();
}

/// `bytes=START-` -> START.
fn parse_range(value: &str) -> Option<usize> {
    value
        .strip_prefix("bytes=")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    reason: &str,
    headers: &[String],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)
}
