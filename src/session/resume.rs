//! Resuming an interrupted run: rebuild the loop's state from its transcript and go on.
//!
//! Nothing recorded is asked for again: a recorded reply is used as it is, and only the steps
//! after it (files, build, run) are done again, since they are cheap and deterministic. A
//! request whose reply was never recorded is sent again. A `resume` event marks the point; see
//! `transcript::ResumeEvent` for how readers treat the interrupted iteration's leftovers.
//!
//! A run that ended `aborted` (the API gave up, the sandbox or the toolchain failed: nothing the
//! LLM is charged for) is resumable the same way: the failed iteration is done again, with its
//! reply reused when one was recorded. Succeeded and given-up runs, and replays, are finished.

use crate::llm::{ChatMessage, ChatModel, Reply};
use crate::taxonomy::Tier;
use crate::transcript::{
    EndEvent, EndStatus, Event, ReadError, ResumeEvent, Transcript, TranscriptWriter,
};

use super::budget::Spent;
use super::fix_loop::{drive, LoopState, SessionConfig, SessionError, SessionSummary};
use super::phase::Phase;
use super::provenance::{limits_record, now_rfc3339};

/// Continues `transcript`'s run to its end, appending to the same file.
pub fn resume_session(
    config: &SessionConfig,
    transcript: &Transcript,
    model: &mut dyn ChatModel,
    progress: &dyn Fn(u32, Phase),
) -> Result<SessionSummary, SessionError> {
    if let Some(end) = transcript.end() {
        if end.status != EndStatus::Aborted || transcript.header.replay_of.is_some() {
            return Err(SessionError::AlreadyFinished {
                path: transcript.path.clone(),
                status: end.status,
            });
        }
    }
    let target = config.target;
    // The first request's new messages hold the prompt; the history is rebuilt from the events.
    let mut history: Vec<ChatMessage> = Vec::new();
    let mut sent = 0usize;
    let mut last_request: Option<(u32, usize)> = None;
    let mut replies: Vec<(u32, Reply)> = Vec::new();
    let mut earlier_ms = 0u64;
    let mut spent = Spent::default();
    for event in &transcript.events {
        match event {
            Event::Request(request) => {
                if request.history_len != history.len() {
                    return Err(SessionError::Broken(ReadError::Inconsistent {
                        path: transcript.path.clone(),
                        message: format!(
                            "the request of iteration {} follows {} messages, not {}",
                            request.iteration,
                            request.history_len,
                            history.len()
                        ),
                    }));
                }
                history.extend(request.new_messages.iter().cloned());
                sent = history.len();
                last_request = Some((request.iteration, request.history_len));
            }
            Event::Reply(reply) => {
                earlier_ms += reply.latency_ms;
                history.push(ChatMessage::assistant(reply.text.clone()));
                sent = history.len();
                let recorded = reply.to_reply();
                spent.add(Spent::of_reply(&recorded, config.llm.price.as_ref()));
                replies.push((reply.iteration, recorded));
            }
            Event::ModelError(error) => earlier_ms += error.latency_ms,
            Event::Build(build) => earlier_ms += build.duration_ms,
            Event::Run(run) => earlier_ms += run.duration_ms,
            _ => {}
        }
    }
    // An iteration that failed on infrastructure is done again, so its outcome is not kept.
    let mut outcomes: Vec<_> = transcript.outcomes().cloned().collect();
    let infra_failed = outcomes
        .last()
        .filter(|outcome| {
            outcome
                .errors
                .iter()
                .any(|e| e.category.tier() == Tier::Infra)
        })
        .map(|outcome| outcome.iteration);
    if infra_failed.is_some() {
        outcomes.pop();
    }
    let complete_len = transcript
        .partial_tail_offset
        .map(|offset| offset as u64)
        .unwrap_or_else(|| {
            std::fs::metadata(&transcript.path)
                .map(|m| m.len())
                .unwrap_or(0)
        });
    let mut writer = TranscriptWriter::reopen(&transcript.path, complete_len)?;
    let mark = |writer: &mut TranscriptWriter, iteration, reused_reply| {
        writer.append(&Event::Resume(ResumeEvent {
            iteration,
            reused_reply,
            partial_tail_line: transcript.partial_tail_line,
            resumed_at: now_rfc3339(),
            sandbox: config.sandbox.clone(),
            machine: config.machine.clone().map(Box::new),
            limits: config
                .target
                .limits()
                .as_ref()
                .map(|limits| Box::new(limits_record(limits))),
            harness: Some(config.harness.clone()),
        }))
    };
    let finish = |writer: &mut TranscriptWriter, status, iterations, reason: Option<String>| {
        writer.append(&Event::End(EndEvent {
            status,
            iterations,
            reason: reason.clone(),
            finished_at: now_rfc3339(),
            wall_ms: earlier_ms,
        }))?;
        Ok(SessionSummary {
            run_id: config.run_id.clone(),
            llm_id: config.llm.id.clone(),
            status,
            iterations,
            outcomes: outcomes.clone(),
            transcript: config.transcript_path.clone(),
            workspace: config.workspace_dir.clone(),
            reason,
        })
    };

    let state = |first_iteration, pending_reply, history, sent, files| LoopState {
        history,
        sent,
        files,
        outcomes: outcomes.clone(),
        first_iteration,
        pending_reply,
        earlier_ms,
        spent,
    };
    let Some((k, history_len)) = last_request else {
        // Nothing but the header: start from the beginning.
        mark(&mut writer, 1, false)?;
        let history = vec![ChatMessage::user(target.templates().initial)];
        let state = state(1, None, history, 0, Default::default());
        return drive(config, model, progress, writer, state);
    };
    if let Some(outcome) = outcomes.iter().find(|o| o.iteration == k) {
        // Iteration k was complete; only its aftermath was lost. The mark names the next
        // iteration, so nothing of iteration k is dropped by readers.
        if outcome.success || k >= config.max_iterations {
            mark(&mut writer, k + 1, false)?;
        }
        if outcome.success {
            return finish(&mut writer, EndStatus::Succeeded, k, None);
        }
        if k >= config.max_iterations {
            return finish(&mut writer, EndStatus::GaveUp, k, None);
        }
        history.push(ChatMessage::user(
            target.templates().feedback(&outcome.errors),
        ));
        let files = transcript.files_at(k).map_err(SessionError::Broken)?;
        mark(&mut writer, k + 1, false)?;
        return drive(
            config,
            model,
            progress,
            writer,
            state(k + 1, None, history, sent, files),
        );
    }
    let files = transcript.files_at(k - 1).map_err(SessionError::Broken)?;
    match replies.into_iter().find(|(i, _)| *i == k) {
        Some((_, reply)) => {
            mark(&mut writer, k, true)?;
            drive(
                config,
                model,
                progress,
                writer,
                state(k, Some(reply), history, sent, files),
            )
        }
        None => {
            // The request went out (or was about to); its reply was never recorded. Send it
            // again: the history keeps its new messages, which the loop records once more.
            mark(&mut writer, k, false)?;
            drive(
                config,
                model,
                progress,
                writer,
                state(k, None, history, history_len, files),
            )
        }
    }
}
