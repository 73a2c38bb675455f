//! Which model-call failures are worth another attempt, and how long to wait before it.
//!
//! One place decides: [`fault_of`] sorts an [`LlmError`] into transient (retried) or fatal (the
//! run stops, with a message naming what to fix), and [`complete_with_retries`] drives the
//! attempts with capped exponential backoff and full jitter, honouring `Retry-After`. Each failed
//! attempt is handed to the caller before the wait, so the transcript records it even when the
//! process dies during the wait. No failure here is ever charged to the LLM.

use std::time::{Duration, Instant, SystemTime};

use super::{ChatModel, ChatRequest, LlmError, Reply};

/// HTTP statuses retried: timeouts, rate limits, server errors and overload (Anthropic's 529).
/// Every other status is fatal: the request itself, the key or the model name is wrong.
pub const RETRIED_STATUSES: [u16; 7] = [408, 429, 500, 502, 503, 504, 529];

/// Whether another attempt may succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The server, the network or the load: the same request may work later.
    Transient,
    /// The same request will fail again: the key, the model name, the request or the setup.
    Fatal,
}

/// Sorts a failed call. Replay's own errors (drift, a missing recording) are fatal.
pub fn fault_of(error: &LlmError) -> Fault {
    match error {
        LlmError::Api {
            status: Some(status),
            ..
        } if !RETRIED_STATUSES.contains(status) => Fault::Fatal,
        // A retried status, or an error object in a 200 answer (OpenRouter reports upstream
        // failures that way): the server had trouble, the request may be fine.
        LlmError::Api { .. } => Fault::Transient,
        LlmError::Transport { .. } | LlmError::BadAnswer { .. } => Fault::Transient,
        LlmError::Setup { .. } | LlmError::Drift(_) | LlmError::MissingRecording { .. } => {
            Fault::Fatal
        }
    }
}

/// What to tell the user to fix after a fatal failure, where the status says it.
pub fn advice(error: &LlmError, key_var: Option<&str>) -> Option<String> {
    let key = key_var.map_or_else(|| "the API key".to_owned(), |var| format!("`{var}`"));
    // Gemini answers a key that is not valid with 400 `INVALID_ARGUMENT`, reason
    // `API_KEY_INVALID` (its client puts the reason in the message), not with 401.
    let key_invalid =
        matches!(error, LlmError::Api { message, .. } if message.contains("API_KEY_INVALID"));
    let advice = match error.status()? {
        401 => format!("the key was refused: check {key}"),
        400 if key_invalid => format!("the key was refused: check {key}"),
        403 => format!("the key may not use this model: check {key} and the account's access"),
        404 => "the model or the endpoint does not exist: check the entry's `model` (or --model) and `base_url` (or --base-url)".to_owned(),
        400 | 413 | 422 => "the server refused the request as sent: if it says the context is too long, lower the iteration cap (--max-iterations) or use a model with a longer context; otherwise check the entry's params".to_owned(),
        402 => "the account has no credit left".to_owned(),
        _ => return None,
    };
    Some(advice)
}

/// How many times to try and how long to wait in between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    /// The backoff's first ceiling; it doubles with each attempt.
    pub base: Duration,
    /// The backoff's largest ceiling.
    pub cap: Duration,
    /// No wait is ever longer, whatever `Retry-After` asks (a test sets it to milliseconds).
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base: Duration::from_secs(2),
            cap: Duration::from_secs(60),
            max_wait: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The wait after the `attempt`-th failure (1-based): full jitter in `[0, min(cap, base *
    /// 2^(attempt-1))]`, raised to what the server asked, never above `max_wait`. `unit` is a
    /// uniform draw in `[0, 1)`.
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        let doubling = 2u32.saturating_pow(attempt.saturating_sub(1).min(30));
        let ceiling = self.base.saturating_mul(doubling).min(self.cap);
        let jittered = ceiling.mul_f64(unit.clamp(0.0, 1.0));
        jittered
            .max(retry_after.unwrap_or_default())
            .min(self.max_wait)
    }
}

/// One failed attempt, as the transcript records it.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedAttempt {
    /// 1-based.
    pub attempt: u32,
    pub status: Option<u16>,
    pub message: String,
    pub fault: Fault,
    /// What the server asked for, if it did.
    pub retry_after: Option<Duration>,
    /// The wait before the next attempt; `None` when there is none (fatal, or the last).
    pub wait: Option<Duration>,
    pub latency: Duration,
}

/// A reply and how many attempts it took.
#[derive(Debug)]
pub struct Answered {
    pub reply: Reply,
    pub attempts: u32,
}

/// Why the call failed in the end: the last error and how many attempts were made.
#[derive(Debug)]
pub struct GaveUp {
    pub error: LlmError,
    pub attempts: u32,
    pub fault: Fault,
}

/// Calls `model` until it answers, a fatal failure, or the policy's last attempt. Each failed
/// attempt goes to `on_failure` before the wait (an `Err` from it stops at once: the
/// transcript could not be written); `sleep` waits (a test passes one that records).
pub fn complete_with_retries<E>(
    model: &mut dyn ChatModel,
    iteration: u32,
    request: &ChatRequest,
    policy: &RetryPolicy,
    sleep: &dyn Fn(Duration),
    on_failure: &mut dyn FnMut(&FailedAttempt) -> Result<(), E>,
) -> Result<Result<Answered, GaveUp>, E> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let started = Instant::now();
        let error = match model.complete(iteration, request) {
            Ok(reply) => {
                return Ok(Ok(Answered {
                    reply,
                    attempts: attempt,
                }))
            }
            Err(error) => error,
        };
        let fault = fault_of(&error);
        let retry_after = match &error {
            LlmError::Api { retry_after, .. } => *retry_after,
            _ => None,
        };
        let last = fault == Fault::Fatal || attempt >= policy.max_attempts.max(1);
        let wait = (!last).then(|| policy.wait(attempt, retry_after, fastrand::f64()));
        on_failure(&FailedAttempt {
            attempt,
            status: error.status(),
            message: crate::error_chain::error_chain(&error),
            fault,
            retry_after,
            wait,
            latency: started.elapsed(),
        })?;
        match wait {
            Some(wait) => sleep(wait),
            None => {
                return Ok(Err(GaveUp {
                    error,
                    attempts: attempt,
                    fault,
                }))
            }
        }
    }
}

/// A `Retry-After` value: whole seconds, or an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`)
/// measured from `now`. A date in the past means no wait; anything unreadable is ignored.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    // Some servers send fractions ("1.5"), which RFC 9110 does not allow but clients honour.
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{ChatMessage, SamplingParams, TransportKind};
    use std::cell::RefCell;

    fn api(status: u16) -> LlmError {
        LlmError::api("http://127.0.0.1:1", Some(status), "scripted")
    }

    #[test]
    fn the_status_sweep_retries_exactly_the_transient_codes() {
        let retried: Vec<u16> = (100..600)
            .filter(|&status| fault_of(&api(status)) == Fault::Transient)
            .collect();
        assert_eq!(retried, RETRIED_STATUSES.to_vec());
        for fatal in [400, 401, 403, 404, 413, 422] {
            assert_eq!(fault_of(&api(fatal)), Fault::Fatal, "{fatal}");
        }
    }

    #[test]
    fn transport_and_malformed_answers_are_transient_setup_is_fatal() {
        let transport = LlmError::Transport {
            base_url: "x".into(),
            kind: TransportKind::Dropped,
            source: "reset".into(),
        };
        assert_eq!(fault_of(&transport), Fault::Transient);
        let bad = LlmError::BadAnswer {
            base_url: "x".into(),
            detail: "not JSON".into(),
        };
        assert_eq!(fault_of(&bad), Fault::Transient);
        let error_in_200 = LlmError::api("x", None, "upstream failed");
        assert_eq!(fault_of(&error_in_200), Fault::Transient);
        let setup = LlmError::Setup {
            base_url: "x".into(),
            problem: "bad URL".into(),
        };
        assert_eq!(fault_of(&setup), Fault::Fatal);
        assert_eq!(
            fault_of(&LlmError::MissingRecording { iteration: 1 }),
            Fault::Fatal
        );
    }

    #[test]
    fn backoff_doubles_to_its_cap_with_full_jitter_and_honours_retry_after() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(500),
            max_wait: Duration::from_secs(2),
        };
        let top = |attempt| policy.wait(attempt, None, 1.0);
        assert_eq!(top(1), Duration::from_millis(100));
        assert_eq!(top(2), Duration::from_millis(200));
        assert_eq!(top(3), Duration::from_millis(400));
        assert_eq!(top(4), Duration::from_millis(500));
        assert_eq!(top(40), Duration::from_millis(500));
        assert_eq!(policy.wait(3, None, 0.0), Duration::ZERO);
        assert_eq!(policy.wait(3, None, 0.5), Duration::from_millis(200));
        // The server's wait wins when longer, but never beyond max_wait.
        let asked = Some(Duration::from_secs(1));
        assert_eq!(policy.wait(1, asked, 0.3), Duration::from_secs(1));
        let too_long = Some(Duration::from_secs(3600));
        assert_eq!(policy.wait(1, too_long, 0.3), Duration::from_secs(2));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(parse_retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    /// Answers from a script of results, one per call.
    struct Scripted(Vec<Result<Reply, LlmError>>);

    impl ChatModel for Scripted {
        fn complete(&mut self, _: u32, _: &ChatRequest) -> Result<Reply, LlmError> {
            self.0.remove(0)
        }
    }

    fn reply() -> Reply {
        Reply {
            text: "ok".into(),
            ..Reply::default()
        }
    }

    fn request() -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages: vec![ChatMessage::user("hi")],
            params: SamplingParams::default(),
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(4),
            cap: Duration::from_millis(8),
            max_wait: Duration::from_millis(50),
        }
    }

    #[test]
    fn transient_failures_are_retried_and_each_is_reported_before_its_wait() {
        let mut model = Scripted(vec![
            Err(LlmError::Api {
                base_url: "x".into(),
                status: Some(429),
                message: "slow down".into(),
                retry_after: Some(Duration::from_millis(30)),
            }),
            Err(api(503)),
            Ok(reply()),
        ]);
        let waits = RefCell::new(Vec::new());
        let mut seen = Vec::new();
        let result = complete_with_retries::<()>(
            &mut model,
            1,
            &request(),
            &policy(),
            &|wait| waits.borrow_mut().push(wait),
            &mut |failed| {
                seen.push(failed.clone());
                Ok(())
            },
        )
        .unwrap()
        .unwrap();
        assert_eq!(result.attempts, 3);
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].status, Some(429));
        assert_eq!(seen[0].retry_after, Some(Duration::from_millis(30)));
        assert_eq!(seen[0].wait, Some(Duration::from_millis(30)));
        assert_eq!(seen[1].status, Some(503));
        assert!(seen[1].wait.unwrap() <= Duration::from_millis(8));
        let waits = waits.into_inner();
        assert_eq!(waits, vec![seen[0].wait.unwrap(), seen[1].wait.unwrap()]);
    }

    #[test]
    fn a_fatal_failure_stops_at_once_and_the_last_transient_one_gives_up() {
        let mut model = Scripted(vec![Err(api(401)), Ok(reply())]);
        let mut seen = Vec::new();
        let gave_up = complete_with_retries::<()>(
            &mut model,
            1,
            &request(),
            &policy(),
            &|_| panic!("a fatal failure is not waited on"),
            &mut |failed| {
                seen.push(failed.clone());
                Ok(())
            },
        )
        .unwrap()
        .unwrap_err();
        assert_eq!((gave_up.attempts, gave_up.fault), (1, Fault::Fatal));
        assert_eq!(seen[0].wait, None);

        let mut model = Scripted((0..3).map(|_| Err(api(500))).collect());
        let gave_up =
            complete_with_retries::<()>(&mut model, 1, &request(), &policy(), &|_| {}, &mut |_| {
                Ok(())
            })
            .unwrap()
            .unwrap_err();
        assert_eq!((gave_up.attempts, gave_up.fault), (3, Fault::Transient));
    }

    #[test]
    fn advice_names_the_key_variable_and_the_model_flags() {
        assert!(advice(&api(401), Some("OPENAI_API_KEY"))
            .unwrap()
            .contains("`OPENAI_API_KEY`"));
        assert!(advice(&api(404), None).unwrap().contains("--model"));
        assert_eq!(advice(&api(500), None), None);
        let gemini_bad_key = LlmError::api(
            "x",
            Some(400),
            "HTTP 400: API key not valid. (status INVALID_ARGUMENT, reason API_KEY_INVALID)",
        );
        assert!(advice(&gemini_bad_key, Some("GEMINI_API_KEY"))
            .unwrap()
            .contains("`GEMINI_API_KEY`"));
        assert!(advice(&api(400), Some("GEMINI_API_KEY"))
            .unwrap()
            .contains("--max-iterations"));
    }
}
