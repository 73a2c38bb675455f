//! One session: a single LLM on a single target, iterating until the program works or the cap.
//!
//! Every step's event is on disk before the next step starts. A failed build, a panic, a
//! timeout or a missing output is an outcome recorded and fed back; `Err` is only for the
//! harness failing (the transcript cannot be written) or for replay drift.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use crate::config::LlmSpec;
use crate::error_chain::error_chain;
use crate::extract::{extract_files, ExtractError};
use crate::hashing::sha256_hex;
use crate::llm::retry::{
    advice, complete_with_retries, Answered, FailedAttempt, Fault, GaveUp, RetryPolicy,
};
use crate::llm::{
    ChatMessage, ChatModel, ChatRequest, FinishReason, LlmError, ReplayDrift, Reply, Role,
};
use crate::prompt::relevance_order;
use crate::target::Target;
use crate::taxonomy::{Category, ErrorRecord, Tier};
use crate::transcript::{
    AttemptEvent, BuildEvent, EndEvent, EndStatus, Event, FileEntry, FilesEvent, HarnessInfo,
    Header, MachineInfo, ModelErrorEvent, OutcomeEvent, ReplyEvent, RequestEvent, RunEvent,
    TargetInfo, ToolchainInfo, TranscriptWriter, WriteError, FORMAT_VERSION,
};
use crate::workspace::{Workspace, WorkspaceError};

use super::budget::{Budget, Spent};
use super::provenance::{limits_record, now_rfc3339};

/// What the loop is doing, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    WaitingForModel,
    /// A model call failed and is tried again after a wait (so a long wait is never silent).
    Retrying {
        attempt: u32,
        wait_ms: u64,
    },
    Building,
    Running,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::WaitingForModel => "waiting for the model",
            Phase::Retrying { attempt, wait_ms } => {
                return write!(
                    f,
                    "attempt {attempt} failed (not charged to the LLM); trying again in {:.1} s",
                    *wait_ms as f64 / 1000.0
                )
            }
            Phase::Building => "building",
            Phase::Running => "running",
        })
    }
}

/// Everything one session needs besides the model.
pub struct SessionConfig<'a> {
    pub run_id: String,
    pub target: &'a dyn Target,
    pub llm: LlmSpec,
    pub repeat: u32,
    pub max_iterations: u32,
    pub workspace_dir: PathBuf,
    pub transcript_path: PathBuf,
    pub harness: HarnessInfo,
    pub toolchain: ToolchainInfo,
    pub replay_of: Option<String>,
    /// How the target confines generated code (`Isolation::describe`), for the header.
    pub sandbox: Option<String>,
    /// What a local server said it serves, for the header.
    pub server: Option<crate::llm::probe::ServerInfo>,
    /// The machine, for the header (`session::machine_info`).
    pub machine: Option<MachineInfo>,
    /// How model calls are retried (replay: one attempt, no waits).
    pub retry: RetryPolicy,
    /// Spending limits, checked before each request (replay: none).
    pub budget: Budget,
    /// Replay only: the recorded verdict of each iteration. The session stops with a drift at
    /// the first iteration whose outcome differs.
    pub expected_outcomes: Option<Vec<OutcomeEvent>>,
}

/// How the session went, for the summary line and for replay's comparison.
#[derive(Debug, Clone)]
pub struct SessionSummary {
    pub run_id: String,
    pub llm_id: String,
    pub status: EndStatus,
    pub iterations: u32,
    /// The errors of each iteration, in order (empty for the one that worked).
    pub outcomes: Vec<OutcomeEvent>,
    pub transcript: PathBuf,
    pub workspace: PathBuf,
    pub reason: Option<String>,
}

/// The harness failed, or replay drifted.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Transcript(#[from] WriteError),
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error(transparent)]
    Drift(Box<ReplayDrift>),
    #[error(transparent)]
    MissingRecording(LlmError),
    #[error(transparent)]
    Broken(crate::transcript::ReadError),
    #[error("{path}: the run already ended ({status:?}); there is nothing to resume")]
    AlreadyFinished { path: PathBuf, status: EndStatus },
}

/// Where a loop starts: the beginning of a run, or the point an interrupted run had reached.
pub(crate) struct LoopState {
    pub history: Vec<ChatMessage>,
    /// How many messages of `history` earlier events already hold.
    pub sent: usize,
    pub files: BTreeMap<String, String>,
    pub outcomes: Vec<OutcomeEvent>,
    pub first_iteration: u32,
    /// A recorded reply for `first_iteration`, used instead of asking the model again.
    pub pending_reply: Option<Reply>,
    /// Harness time already spent before this session (resume).
    pub earlier_ms: u64,
    /// What the recorded replies already cost (resume).
    pub spent: Spent,
}

impl LoopState {
    fn fresh(target: &dyn Target) -> Self {
        LoopState {
            history: vec![ChatMessage::user(target.templates().initial)],
            sent: 0,
            files: BTreeMap::new(),
            outcomes: Vec::new(),
            first_iteration: 1,
            pending_reply: None,
            earlier_ms: 0,
            spent: Spent::default(),
        }
    }
}

/// Runs the loop to its end and records it in a new transcript.
pub fn run_session(
    config: &SessionConfig,
    model: &mut dyn ChatModel,
    progress: &dyn Fn(u32, Phase),
) -> Result<SessionSummary, SessionError> {
    let target = config.target;
    let mut writer = TranscriptWriter::create(&config.transcript_path)?;
    writer.append(&Event::Header(Box::new(Header {
        format_version: FORMAT_VERSION,
        run_id: config.run_id.clone(),
        harness: config.harness.clone(),
        toolchain: config.toolchain.clone(),
        target: TargetInfo {
            id: target.id().to_string(),
            templates: target.templates().hashes(),
        },
        llm: config.llm.clone(),
        repeat: config.repeat,
        max_iterations: config.max_iterations,
        started_at: now_rfc3339(),
        replay_of: config.replay_of.clone(),
        sandbox: config.sandbox.clone(),
        server: config.server.clone(),
        machine: config.machine.clone(),
        limits: target.limits().as_ref().map(limits_record),
        imported: None,
    })))?;
    drive(config, model, progress, writer, LoopState::fresh(target))
}

/// The loop proper, from `state` on, appending to `writer`.
pub(crate) fn drive(
    config: &SessionConfig,
    model: &mut dyn ChatModel,
    progress: &dyn Fn(u32, Phase),
    mut writer: TranscriptWriter,
    state: LoopState,
) -> Result<SessionSummary, SessionError> {
    let started = Instant::now();
    let target = config.target;
    // Every run (and every resumed run and replay) starts from a pristine view of the build:
    // nothing an earlier run's code wrote can reach this run's result.
    let workspace = Workspace::fresh(&config.workspace_dir)?;
    target.start_run(&workspace)?;
    let LoopState {
        mut history,
        mut sent,
        mut files,
        mut outcomes,
        first_iteration,
        mut pending_reply,
        earlier_ms,
        mut spent,
    } = state;

    let end = |writer: &mut TranscriptWriter,
               status: EndStatus,
               iterations: u32,
               reason: Option<String>|
     -> Result<(), WriteError> {
        writer.append(&Event::End(EndEvent {
            status,
            iterations,
            reason,
            finished_at: now_rfc3339(),
            wall_ms: earlier_ms + started.elapsed().as_millis() as u64,
        }))
    };
    let summary = |status, iterations, outcomes, reason| SessionSummary {
        run_id: config.run_id.clone(),
        llm_id: config.llm.id.clone(),
        status,
        iterations,
        outcomes,
        transcript: config.transcript_path.clone(),
        workspace: workspace.root().to_path_buf(),
        reason,
    };
    // Records the end and returns the matching summary.
    let finish = |writer: &mut TranscriptWriter,
                  status: EndStatus,
                  iterations: u32,
                  outcomes: Vec<OutcomeEvent>,
                  reason: Option<String>|
     -> Result<SessionSummary, SessionError> {
        end(writer, status, iterations, reason.clone())?;
        Ok(summary(status, iterations, outcomes, reason))
    };

    for iteration in first_iteration..=config.max_iterations {
        // 1. Ask the model (unless a resumed run recorded its reply already).
        let reply = match pending_reply.take() {
            Some(reply) => reply,
            None => {
                // A budget reached stops the run before the request: a harness limit.
                if let Some(reason) = config.budget.exhausted(iteration, &spent) {
                    return finish(
                        &mut writer,
                        EndStatus::Aborted,
                        iteration,
                        outcomes,
                        Some(reason),
                    );
                }
                let request = ChatRequest {
                    model: config.llm.model.clone(),
                    messages: history.clone(),
                    params: config.llm.params.clone(),
                };
                writer.append(&Event::Request(RequestEvent {
                    iteration,
                    model: request.model.clone(),
                    params: request.params.clone(),
                    history_len: sent,
                    new_messages: history[sent..].to_vec(),
                }))?;
                progress(iteration, Phase::WaitingForModel);
                let asked = ask(
                    config,
                    model,
                    &mut writer,
                    progress,
                    iteration,
                    &request,
                    &history,
                )?;
                let reply = match asked {
                    Asked::Reply(reply) => {
                        let price = config.llm.price.as_ref();
                        config
                            .budget
                            .charge(&mut spent, Spent::of_reply(&reply, price));
                        reply
                    }
                    Asked::Stop(error) => {
                        let reason = error.to_string();
                        end(&mut writer, EndStatus::Aborted, iteration, Some(reason))?;
                        return Err(error);
                    }
                    Asked::Failed(message) => {
                        return finish(
                            &mut writer,
                            EndStatus::Aborted,
                            iteration,
                            outcomes,
                            Some(message),
                        );
                    }
                };
                history.push(ChatMessage::assistant(reply.text.clone()));
                // The reply event holds this message; the next request records only what follows it.
                sent = history.len();
                reply
            }
        };

        // 2. Turn the reply into files.
        let (written, notes, mut errors) = apply_reply(&reply, &config.llm, target, &mut files);
        let inferred = written
            .iter()
            .filter(|entry| entry.1)
            .map(|entry| entry.0.path.clone())
            .collect();
        let written: Vec<FileEntry> = written.into_iter().map(|entry| entry.0).collect();
        let kept = files
            .iter()
            .filter(|(path, _)| !written.iter().any(|w: &FileEntry| &w.path == *path))
            .map(|(path, content)| FileEntry {
                path: path.clone(),
                sha256: sha256_hex(content.as_bytes()),
                content: None,
                span: None,
            })
            .collect();
        writer.append(&Event::Files(FilesEvent {
            iteration,
            written,
            kept,
            notes,
            inferred,
        }))?;

        // 3. Build and run.
        if errors.is_empty() {
            workspace.write(&files, &target.build_files(&files))?;
            progress(iteration, Phase::Building);
            let build = target.build(&workspace, iteration);
            writer.append(&Event::Build(BuildEvent {
                iteration,
                success: build.program.is_some(),
                errors: build.errors.clone(),
                warnings: build.warnings,
                binary_sha256: build.program.as_ref().map(|p| p.sha256.clone()),
                duration_ms: build.duration.as_millis() as u64,
            }))?;
            errors = build.errors;
            if let Some(program) = &build.program {
                progress(iteration, Phase::Running);
                let run = target.smoke_run(&workspace, program);
                writer.append(&Event::Run(RunEvent {
                    iteration,
                    exit_code: run.exit.code,
                    signal: run.exit.signal,
                    timed_out: run.exit.timed_out,
                    errors: run.errors.clone(),
                    duration_ms: run.duration.as_millis() as u64,
                    stdout: run.output.as_ref().map(|o| o.stdout.clone()),
                    stderr: run.output.as_ref().map(|o| o.stderr.clone()),
                }))?;
                errors = run.errors;
            }
        }

        // 4. The verdict.
        relevance_order(&mut errors);
        let infra = errors
            .iter()
            .find(|e| e.category.tier() == Tier::Infra)
            .cloned();
        let outcome = OutcomeEvent {
            iteration,
            success: errors.is_empty(),
            errors: errors.clone(),
        };
        writer.append(&Event::Outcome(outcome.clone()))?;
        if let Some(expected) = &config.expected_outcomes {
            if let Some(drift) = outcome_drift(expected, &outcome) {
                end(
                    &mut writer,
                    EndStatus::Aborted,
                    iteration,
                    Some("replay drift".into()),
                )?;
                return Err(SessionError::Drift(Box::new(drift)));
            }
        }
        outcomes.push(outcome);
        if errors.is_empty() {
            return finish(&mut writer, EndStatus::Succeeded, iteration, outcomes, None);
        }
        if let Some(infra) = infra {
            let reason = format!("{}: {}", infra.category, infra.message);
            return finish(
                &mut writer,
                EndStatus::Aborted,
                iteration,
                outcomes,
                Some(reason),
            );
        }
        if iteration < config.max_iterations {
            history.push(ChatMessage::user(target.templates().feedback(&errors)));
        }
    }
    finish(
        &mut writer,
        EndStatus::GaveUp,
        config.max_iterations,
        outcomes,
        None,
    )
}

/// What asking the model came to.
enum Asked {
    Reply(Reply),
    /// Replay drifted or has no recording: the session stops with this error.
    Stop(SessionError),
    /// The call failed for good (recorded as `model-error`); the run ends aborted, resumable.
    Failed(String),
}

/// Sends `request` with retries, recording each retried attempt, then the reply or the final
/// failure. Nothing here is charged to the LLM.
fn ask(
    config: &SessionConfig,
    model: &mut dyn ChatModel,
    writer: &mut TranscriptWriter,
    progress: &dyn Fn(u32, Phase),
    iteration: u32,
    request: &ChatRequest,
    history: &[ChatMessage],
) -> Result<Asked, SessionError> {
    let asked = Instant::now();
    let millis = |d: std::time::Duration| d.as_millis() as u64;
    let answered = complete_with_retries(
        model,
        iteration,
        request,
        &config.retry,
        &std::thread::sleep,
        &mut |failed: &FailedAttempt| {
            // The final failure is the `model-error` event; only retried attempts come here.
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
        },
    )?;
    let Answered { reply, attempts } = match answered {
        Ok(answered) => answered,
        Err(GaveUp { error, .. }) if matches!(error, LlmError::Drift(_)) => {
            let LlmError::Drift(drift) = error else {
                unreachable!()
            };
            return Ok(Asked::Stop(SessionError::Drift(drift)));
        }
        Err(GaveUp { error, .. }) if matches!(error, LlmError::MissingRecording { .. }) => {
            return Ok(Asked::Stop(SessionError::MissingRecording(error)));
        }
        Err(GaveUp {
            error,
            attempts,
            fault,
        }) => {
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
            return Ok(Asked::Failed(message));
        }
    };
    // Which earlier iteration, if any, answered with exactly these bytes.
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
    }))?;
    Ok(Asked::Reply(reply))
}

/// A reply cut by the output token limit (`docs/methodology.md`, C6): the LLM's own `truncated`
/// where the model's limit cut it, or where its limit is not known; a harness limit where the
/// harness's `max_tokens` was below what the model could have written.
fn truncation(llm: &LlmSpec) -> ErrorRecord {
    let harness_cap = match (llm.params.max_tokens, llm.limits) {
        (Some(cap), Some(limits)) if cap < limits.output_tokens => Some((cap, limits)),
        _ => None,
    };
    let (category, message) = match harness_cap {
        Some((cap, limits)) => (
            Category::InfraLimit,
            format!(
                "the reply was cut at the harness's cap of {cap} output tokens, below the {} the model can write: a harness limit, not charged to the LLM; raise `params.max_tokens` for `{}` in a registry file (--registry) to measure it",
                limits.output_tokens, llm.id
            ),
        ),
        None => (
            Category::Truncated,
            "the reply was cut off at the output token limit before it was complete; its files were not used".to_string(),
        ),
    };
    let mut error = ErrorRecord::new(category, message.clone());
    error.rendered = Some(message);
    error
}

/// Applies the reply's files to `files`; returns what was written (each with whether its path
/// was inferred), extraction notes and the reply-tier errors (truncated, refused, no code,
/// unparseable, missing files).
fn apply_reply(
    reply: &Reply,
    llm: &LlmSpec,
    target: &dyn Target,
    files: &mut BTreeMap<String, String>,
) -> (Vec<(FileEntry, bool)>, Vec<String>, Vec<ErrorRecord>) {
    let reply_error = |category, message: &str| {
        let mut error = ErrorRecord::new(category, message);
        error.rendered = Some(message.to_string());
        error
    };
    if reply.refusal.is_some() || reply.finish_reason == FinishReason::ContentFilter {
        let message = "the reply was a refusal (or was stopped by the provider's content filter)";
        return (
            Vec::new(),
            Vec::new(),
            vec![reply_error(Category::Refused, message)],
        );
    }
    if reply.finish_reason == FinishReason::Length {
        return (Vec::new(), Vec::new(), vec![truncation(llm)]);
    }
    match extract_files(&reply.text, target.expected_files()) {
        Ok(extraction) => {
            let written = extraction
                .files
                .into_iter()
                .map(|file| {
                    let entry = FileEntry::written(file.path.clone(), &file.content, &reply.text);
                    files.insert(file.path, file.content);
                    (entry, file.guessed)
                })
                .collect();
            let errors = missing_files(target, files).into_iter().collect();
            (written, extraction.notes, errors)
        }
        Err(ExtractError::NoCode) => (
            Vec::new(),
            Vec::new(),
            vec![reply_error(
                Category::NoCode,
                "the reply contains no code block",
            )],
        ),
        Err(ExtractError::UnparseableFiles { notes }) => {
            let mut message = "no code block in the reply names the file it belongs to".to_string();
            for note in &notes {
                message.push_str("\n- ");
                message.push_str(note);
            }
            let mut error = ErrorRecord::new(
                Category::UnparseableFiles,
                "no code block in the reply names the file it belongs to",
            );
            error.rendered = Some(message);
            (Vec::new(), notes, vec![error])
        }
    }
}

/// The `missing-files` error when the crate so far lacks a file every build needs.
fn missing_files(target: &dyn Target, files: &BTreeMap<String, String>) -> Option<ErrorRecord> {
    let missing: Vec<&str> = target
        .required_files()
        .iter()
        .copied()
        .filter(|path| !files.contains_key(*path))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let quoted = |paths: &[&str]| {
        paths
            .iter()
            .map(|path| format!("`{path}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let message = format!(
        "the reply does not give {}, without which the crate cannot be built",
        quoted(&missing)
    );
    let mut error = ErrorRecord::new(Category::MissingFiles, message.clone());
    error.rendered = Some(format!(
        "{message}. The crate's files are {}; give each in full in its own fenced code block whose info string names its path.",
        quoted(target.expected_files())
    ));
    Some(error)
}

/// The difference between the recorded verdict of an iteration and the replayed one.
fn outcome_drift(expected: &[OutcomeEvent], now: &OutcomeEvent) -> Option<ReplayDrift> {
    let recorded = expected.iter().find(|o| o.iteration == now.iteration);
    if recorded == Some(now) {
        return None;
    }
    let show = |o: Option<&OutcomeEvent>| {
        o.map_or(
            "(no outcome recorded for this iteration)\n".to_string(),
            |o| serde_norway::to_string(o).unwrap_or_default(),
        )
    };
    Some(ReplayDrift {
        iteration: now.iteration,
        what: "the outcome (build, run and checks)".to_string(),
        diff: crate::textdiff::unified(&show(recorded), "recorded", &show(Some(now)), "replay"),
    })
}
