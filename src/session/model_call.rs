//! One model call: sent with retries, each retried attempt recorded, then the reply or the
//! failure that ended it. Nothing here is charged to the LLM.

use std::time::{Duration, Instant};

use crate::error_chain::error_chain;
use crate::llm::retry::{advice, complete_with_retries, Answered, FailedAttempt, Fault, GaveUp};
use crate::llm::{ChatMessage, ChatModel, ChatRequest, LlmError, Reply, Role};
use crate::transcript::{
    AttemptEvent, Event, ModelErrorEvent, ReplyEvent, TranscriptWriter, WriteError,
};

use super::fix_loop::{SessionConfig, SessionError};
use super::phase::Phase;

/// What asking the model came to.
pub(crate) enum Asked {
    Reply(Reply),
    /// Replay drifted or has no recording: the session stops with this error.
    Stop(SessionError),
    /// The call failed for good (recorded as `model-error`); the run ends aborted, resumable.
    Failed(String),
}

/// Sends `request` with retries, recording each retried attempt, then the reply or the final
/// failure. Nothing here is charged to the LLM.
pub(crate) fn call_model(
    config: &SessionConfig,
    model: &mut dyn ChatModel,
    writer: &mut TranscriptWriter,
    progress: &dyn Fn(u32, Phase),
    iteration: u32,
    request: &ChatRequest,
    history: &[ChatMessage],
) -> Result<Asked, SessionError> {
    let asked = Instant::now();
    let answered = complete_with_retries(
        model,
        iteration,
        request,
        &config.retry,
        &std::thread::sleep,
        &mut |failed: &FailedAttempt| record_attempt(writer, progress, iteration, failed),
    )?;
    match answered {
        Ok(Answered { reply, attempts }) => {
            record_reply(writer, iteration, &reply, attempts, asked, history)?;
            Ok(Asked::Reply(reply))
        }
        Err(gave_up) => record_failure(config, writer, iteration, gave_up, asked),
    }
}

fn millis(duration: Duration) -> u64 {
    duration.as_millis() as u64
}

/// A failed attempt that is tried again, shown and recorded. The final failure is the
/// `model-error` event instead: only retried attempts (those with a wait) are recorded here.
fn record_attempt(
    writer: &mut TranscriptWriter,
    progress: &dyn Fn(u32, Phase),
    iteration: u32,
    failed: &FailedAttempt,
) -> Result<(), WriteError> {
    let Some(wait) = failed.wait else {
        return Ok(());
    };
    progress(
        iteration,
        Phase::Retrying {
            attempt: failed.attempt,
            wait_ms: millis(wait),
        },
    );
    writer.append(&Event::Attempt(AttemptEvent {
        iteration,
        attempt: failed.attempt,
        status: failed.status,
        message: failed.message.clone(),
        fault: failed.fault,
        retry_after_ms: failed.retry_after.map(millis),
        wait_ms: failed.wait.map(millis),
        latency_ms: millis(failed.latency),
    }))
}

/// The reply event, with the earlier iteration (if any) that answered with exactly these bytes.
fn record_reply(
    writer: &mut TranscriptWriter,
    iteration: u32,
    reply: &Reply,
    attempts: u32,
    asked: Instant,
    history: &[ChatMessage],
) -> Result<(), WriteError> {
    let identical_to = history
        .iter()
        .filter(|message| message.role == Role::Assistant)
        .position(|message| message.content == reply.text)
        .map(|index| index as u32 + 1);
    writer.append(&Event::Reply(ReplyEvent {
        iteration,
        text: reply.text.clone(),
        finish_reason: reply.finish_reason.clone(),
        usage: reply.usage,
        latency_ms: millis(asked.elapsed()),
        model: reply.model.clone(),
        refusal: reply.refusal.clone(),
        system_fingerprint: reply.system_fingerprint.clone(),
        cost_usd: reply.cost_usd,
        attempts,
        identical_to,
    }))
}

/// A call that failed for good: replay's drift and missing recording stop the session; any
/// other failure is recorded as `model-error` (with advice, and the attempts where it was
/// transient) and ends the run aborted.
fn record_failure(
    config: &SessionConfig,
    writer: &mut TranscriptWriter,
    iteration: u32,
    gave_up: GaveUp,
    asked: Instant,
) -> Result<Asked, SessionError> {
    let GaveUp {
        error,
        attempts,
        fault,
    } = gave_up;
    let error = match error {
        LlmError::Drift(drift) => return Ok(Asked::Stop(SessionError::Drift(drift))),
        error @ LlmError::MissingRecording { .. } => {
            return Ok(Asked::Stop(SessionError::MissingRecording(error)))
        }
        error => error,
    };
    let mut message = error_chain(&error);
    if let Some(advice) = advice(&error, config.llm.api_key_env.as_deref()) {
        message.push_str(&format!(" ({advice})"));
    }
    if fault == Fault::Transient {
        message.push_str(&format!(" (gave up after {attempts} attempt(s))"));
    }
    writer.append(&Event::ModelError(ModelErrorEvent {
        iteration,
        message: message.clone(),
        latency_ms: millis(asked.elapsed()),
        status: error.status(),
        fault: Some(fault),
        attempts,
    }))?;
    Ok(Asked::Failed(message))
}
