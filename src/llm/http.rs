//! The HTTP plumbing the native provider clients share (Anthropic, Gemini): one JSON POST per
//! call under a whole-call timeout, failures mapped to [`LlmError`] with the HTTP status and
//! `Retry-After`, and the API key kept out of every message.
//!
//! It never retries: one `post` is exactly one request, and retrying is the caller's decision
//! (`llm::retry`).

use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};

use super::retry::parse_retry_after;
use super::{LlmError, TransportKind};

/// How much of an unexpected body goes into an error message.
const BODY_SNIPPET_CHARS: usize = 500;

/// What the server answered: any status, with the body read whole.
#[derive(Debug)]
pub(super) struct Answer {
    pub status: u16,
    /// The `Retry-After` header, where there was a readable one.
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

impl Answer {
    pub(super) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A JSON-over-HTTPS client for one base URL and one key.
///
/// Synchronous to its callers: it owns a current-thread tokio runtime and blocks on each call, so
/// it must not be called from inside another async runtime.
pub(super) struct JsonClient {
    base_url: String,
    /// Kept as text only to scrub it from anything a server sends back.
    api_key: Option<String>,
    /// The header that carries the key, ready to send (marked sensitive, so reqwest's own
    /// `Debug` output hides it too).
    key_header: Option<(HeaderName, HeaderValue)>,
    request_timeout: Duration,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl JsonClient {
    /// A client for `base_url`, sending `api_key` (if any) in the header `key_header`.
    /// `request_timeout` bounds each whole call, from connecting to the last byte of the answer.
    pub(super) fn new(
        base_url: &str,
        api_key: Option<String>,
        key_header: &'static str,
        request_timeout: Duration,
    ) -> Result<Self, LlmError> {
        let (base_url, api_key) = checked_setup(base_url, api_key)?;
        let key_header = match &api_key {
            None => None,
            Some(key) => {
                // `checked_setup` refused keys that no header can carry, without repeating them.
                let Ok(mut value) = HeaderValue::from_str(key) else {
                    return Err(setup_error(
                        &base_url,
                        "the API key contains characters that cannot be sent in an HTTP header",
                    ));
                };
                value.set_sensitive(true);
                Some((HeaderName::from_static(key_header), value))
            }
        };
        let client = reqwest::Client::builder()
            .user_agent(concat!("harness/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| setup_error(&base_url, &format!("no HTTP client: {source}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| setup_error(&base_url, &format!("no async runtime: {source}")))?;
        Ok(JsonClient {
            base_url,
            api_key,
            key_header,
            request_timeout,
            client,
            runtime,
        })
    }

    /// The base URL, without a trailing slash.
    pub(super) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// POSTs `body` (JSON) to `url` with the key header and `headers`, once, and reads the whole
    /// answer, whatever its status. Only a failure to get a complete answer is an `Err`.
    pub(super) fn post(
        &self,
        url: &str,
        iteration: u32,
        headers: &[(HeaderName, HeaderValue)],
        body: Vec<u8>,
    ) -> Result<Answer, LlmError> {
        tracing::debug!(
            base_url = %self.base_url,
            url,
            iteration,
            request_bytes = body.len(),
            "sending model request"
        );
        let started = Instant::now();
        let result = self.runtime.block_on(self.post_async(url, headers, body));
        tracing::debug!(
            base_url = %self.base_url,
            iteration,
            latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            status = result.as_ref().ok().map(|answer| answer.status),
            "model request finished"
        );
        result
    }

    async fn post_async(
        &self,
        url: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Vec<u8>,
    ) -> Result<Answer, LlmError> {
        let mut request = self
            .client
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some((name, value)) = &self.key_header {
            request = request.header(name, value);
        }
        for (name, value) in headers {
            request = request.header(name, value);
        }
        // The timeout wraps sending and reading the whole body: a server that answers the
        // status line at once and then trickles the body is as stuck as one that never answers.
        let call = async {
            let response = request.body(body).send().await?;
            let status = response.status().as_u16();
            let retry_after = retry_after(response.headers());
            let body = response.bytes().await?.to_vec();
            Ok::<_, reqwest::Error>(Answer {
                status,
                retry_after,
                body,
            })
        };
        match tokio::time::timeout(self.request_timeout, call).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(source)) => Err(LlmError::Transport {
                base_url: self.base_url.clone(),
                kind: transport_kind(&source),
                // reqwest's message names the URL, which holds no key (keys go in headers).
                source: Box::new(source),
            }),
            Err(_elapsed) => Err(LlmError::Transport {
                base_url: self.base_url.clone(),
                kind: TransportKind::Timeout,
                source: Box::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no complete answer within {:?}", self.request_timeout),
                )),
            }),
        }
    }

    /// An HTTP error answer: `HTTP 529: <detail>`, the key scrubbed from it.
    pub(super) fn status_error(
        &self,
        status: u16,
        detail: &str,
        retry_after: Option<Duration>,
    ) -> LlmError {
        LlmError::Api {
            base_url: self.base_url.clone(),
            status: Some(status),
            message: self.redact(format!("HTTP {status}: {detail}")),
            retry_after,
        }
    }

    /// An error object inside a success answer (a proxy reporting an upstream failure).
    pub(super) fn error_in_success(&self, detail: &str) -> LlmError {
        LlmError::api(
            &self.base_url,
            None,
            self.redact(format!("the answer carried an error: {detail}")),
        )
    }

    /// A 2xx body as JSON; one that is not is a bad answer quoting its beginning.
    pub(super) fn json_body(&self, body: &[u8]) -> Result<serde_json::Value, LlmError> {
        serde_json::from_slice(body).map_err(|error| {
            self.bad_answer(format!(
                "the body is not JSON ({error}): {}",
                snippet(&String::from_utf8_lossy(body))
            ))
        })
    }

    pub(super) fn bad_answer(&self, detail: String) -> LlmError {
        LlmError::BadAnswer {
            base_url: self.base_url.clone(),
            detail: self.redact(detail),
        }
    }

    pub(super) fn setup_error(&self, problem: &str) -> LlmError {
        setup_error(&self.base_url, &self.redact(problem.to_owned()))
    }

    /// Servers and proxies sometimes echo the request back in an error; the key must not follow.
    fn redact(&self, text: String) -> String {
        redact(self.api_key.as_deref(), text)
    }
}

impl std::fmt::Debug for JsonClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonClient")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

/// How a reqwest failure happened. Only the whole-call timeout normally fires, since the client
/// sets none of its own; a failure while reading the body is a broken connection.
pub(super) fn transport_kind(error: &reqwest::Error) -> TransportKind {
    if error.is_timeout() {
        TransportKind::Timeout
    } else if error.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Dropped
    }
}

/// The wait a `Retry-After` header asks for; an absent or unreadable one asks for none.
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, SystemTime::now())
}

/// The start of a body, cut at a character boundary; an empty body says so.
pub(super) fn snippet(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return "the body is empty".to_owned();
    }
    match body.char_indices().nth(BODY_SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}...", &body[..cut]),
        None => body.to_owned(),
    }
}

fn setup_error(base_url: &str, problem: &str) -> LlmError {
    invalid_setup(base_url, problem.to_owned())
}

/// The base URL without surrounding whitespace or a trailing slash, and the key without
/// surrounding whitespace (`None` when empty), or why they cannot be used.
pub(super) fn checked_setup(
    base_url: &str,
    api_key: Option<String>,
) -> Result<(String, Option<String>), LlmError> {
    let base_url = base_url.trim().trim_end_matches('/').to_owned();
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(invalid_setup(
            &base_url,
            "the base URL must start with http:// or https://".to_owned(),
        ));
    }
    // Keys are read from files and environment variables, where stray whitespace is common;
    // an empty key means there is none.
    let api_key = api_key
        .map(|key| key.trim().to_owned())
        .filter(|key| !key.is_empty());
    if let Some(key) = &api_key {
        // A key that cannot go into a header would fail later, inside the HTTP stack (async-openai
        // even panics on one); refuse it here instead, without repeating it.
        if !key.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(invalid_setup(
                &base_url,
                "the API key contains characters that cannot be sent in an HTTP header".to_owned(),
            ));
        }
    }
    Ok((base_url, api_key))
}

pub(super) fn invalid_setup(base_url: &str, problem: String) -> LlmError {
    LlmError::Setup {
        base_url: base_url.to_owned(),
        problem,
    }
}

/// Servers and proxies sometimes echo the request back in an error; the key must not follow.
pub(super) fn redact(api_key: Option<&str>, text: String) -> String {
    match api_key {
        Some(key) if text.contains(key) => text.replace(key, "[redacted]"),
        _ => text,
    }
}

/// The transport error for a call that did not finish within `timeout`.
pub(super) fn timed_out(base_url: &str, timeout: std::time::Duration) -> LlmError {
    LlmError::Transport {
        base_url: base_url.to_owned(),
        kind: TransportKind::Timeout,
        source: Box::new(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no complete answer within {timeout:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_cut_long_bodies_at_a_character_boundary() {
        let long = "é".repeat(BODY_SNIPPET_CHARS + 10);
        let cut = snippet(&long);
        assert_eq!(cut.chars().count(), BODY_SNIPPET_CHARS + 3);
        assert!(cut.ends_with("..."));
        assert_eq!(snippet("  short  "), "short");
        assert_eq!(snippet(" \n"), "the body is empty");
    }

    #[test]
    fn retry_after_reads_seconds_and_ignores_garbage() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn the_key_is_redacted_from_messages_and_debug_output() {
        let key = "fixture-REDACTME-123";
        let client = JsonClient::new(
            "http://127.0.0.1:9/v1/",
            Some(format!(" {key}\n")),
            "x-api-key",
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9/v1");
        let error = client.status_error(401, &format!("bad key {key}"), None);
        assert!(!error.to_string().contains(key), "{error}");
        assert!(error.to_string().contains("HTTP 401: bad key [redacted]"));
        assert!(!format!("{client:?}").contains(key));
    }

    #[test]
    fn keys_and_base_urls_that_cannot_work_are_refused() {
        let bad_key = JsonClient::new(
            "https://example.invalid",
            Some("sk-a b".to_owned()),
            "x-api-key",
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(!bad_key.to_string().contains("sk-a"), "{bad_key}");
        let no_scheme = JsonClient::new(
            "example.invalid/v1",
            None,
            "x-api-key",
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(no_scheme.to_string().contains("http://"), "{no_scheme}");
        // A blank key is no key.
        let blank = JsonClient::new(
            "https://example.invalid",
            Some("  ".to_owned()),
            "x-api-key",
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(blank.key_header.is_none());
    }

    #[test]
    fn setup_trims_the_url_and_key_and_refuses_what_cannot_work() {
        let (url, key) = checked_setup(" http://h/v1/ ", Some(" k \n".to_owned())).unwrap();
        assert_eq!((url.as_str(), key.as_deref()), ("http://h/v1", Some("k")));
        let (_, key) = checked_setup("https://h", Some("  ".to_owned())).unwrap();
        assert_eq!(key, None);
        assert!(checked_setup("h/v1", None).is_err());
        assert!(checked_setup("http://h", Some("a b".to_owned())).is_err());
    }

    #[test]
    fn redaction_replaces_every_copy_of_the_key() {
        assert_eq!(
            redact(
                Some("fixture-key-1"),
                "a fixture-key-1 b fixture-key-1".to_owned()
            ),
            "a [redacted] b [redacted]"
        );
        assert_eq!(redact(None, "fixture-key-1".to_owned()), "fixture-key-1");
    }
}
