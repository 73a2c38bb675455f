//! One session: a single LLM on a single target, iterating until the program works or the cap.
//!
//! Every step's event is on disk before the next step starts. A failed build, a panic, a
//! timeout or a missing output is an outcome recorded and fed back; `Err` is only for the
//! harness failing (the transcript cannot be written) or for replay drift.
//!
//! An iteration is a row of named steps (`Run::iteration`): ask (`model_call.rs`), extract
//! (`reply_files.rs`), build, smoke run, classify (`verdict.rs`), feed back; `finish` records
//! the end. What differs between targets sits behind `Target` (how a reply gives files, which
//! files every build needs, the build, the smoke run, the feedback templates); what differs
//! between providers sits behind `ChatModel`.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use crate::config::LlmSpec;
use crate::llm::retry::RetryPolicy;
use crate::llm::{ChatMessage, ChatModel, ChatRequest, LlmError, ReplayDrift, Reply};
use crate::target::{BuildOutcome, BuiltProgram, Target};
use crate::taxonomy::{ErrorRecord, Tier};
use crate::transcript::{
    BuildEvent, EndEvent, EndStatus, Event, HarnessInfo, Header, MachineInfo, OutcomeEvent,
    RequestEvent, RunEvent, TargetInfo, ToolchainInfo, TranscriptWriter, WriteError,
    FORMAT_VERSION,
};
use crate::workspace::{Workspace, WorkspaceError};

use super::budget::{Budget, Spent};
use super::model_call::{call_model, Asked};
use super::phase::Phase;
use super::provenance::{limits_record, now_rfc3339};
use super::reply_files::apply_reply;
use super::verdict::{outcome_drift, verdict};

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

/// The loop proper, from `state` on, appending to `writer`: each iteration's steps in turn
/// until one ends the run, or the cap.
pub(crate) fn drive(
    config: &SessionConfig,
    model: &mut dyn ChatModel,
    progress: &dyn Fn(u32, Phase),
    writer: TranscriptWriter,
    state: LoopState,
) -> Result<SessionSummary, SessionError> {
    let first_iteration = state.first_iteration;
    let mut run = Run::start(config, model, progress, writer, state)?;
    for iteration in first_iteration..=config.max_iterations {
        if let ControlFlow::Break(summary) = run.iteration(iteration)? {
            return Ok(summary);
        }
    }
    run.finish(EndStatus::GaveUp, config.max_iterations, None)
}

/// A step's result: go on with the next step, or the run has ended with this summary.
type Step<T = ()> = Result<ControlFlow<SessionSummary, T>, SessionError>;

/// A session under way: what every step reads and writes.
struct Run<'a> {
    config: &'a SessionConfig<'a>,
    target: &'a dyn Target,
    model: &'a mut dyn ChatModel,
    progress: &'a dyn Fn(u32, Phase),
    writer: TranscriptWriter,
    workspace: Workspace,
    state: LoopState,
    started: Instant,
}

impl<'a> Run<'a> {
    /// Every run (and every resumed run and replay) starts from a pristine view of the build:
    /// nothing an earlier run's code wrote can reach this run's result.
    fn start(
        config: &'a SessionConfig<'a>,
        model: &'a mut dyn ChatModel,
        progress: &'a dyn Fn(u32, Phase),
        writer: TranscriptWriter,
        state: LoopState,
    ) -> Result<Self, SessionError> {
        let started = Instant::now();
        let workspace = Workspace::fresh(&config.workspace_dir)?;
        config.target.start_run(&workspace)?;
        Ok(Run {
            config,
            target: config.target,
            model,
            progress,
            writer,
            workspace,
            state,
            started,
        })
    }

    /// One iteration: ask, extract, build, smoke run, classify, feed back.
    fn iteration(&mut self, iteration: u32) -> Step {
        let reply = match self.ask(iteration)? {
            ControlFlow::Continue(reply) => reply,
            ControlFlow::Break(summary) => return Ok(ControlFlow::Break(summary)),
        };
        let mut errors = self.extract(iteration, &reply)?;
        if errors.is_empty() {
            errors = self.build_and_run(iteration)?;
        }
        let outcome = self.classify(iteration, errors)?;
        self.feed_back(iteration, &outcome)
    }

    /// The reply of `iteration`: the one a resumed run recorded already, or the model's answer
    /// to the whole chat so far. A budget reached stops the run before the request (a harness
    /// limit); so does a call that failed for good.
    fn ask(&mut self, iteration: u32) -> Step<Reply> {
        if let Some(reply) = self.state.pending_reply.take() {
            return Ok(ControlFlow::Continue(reply));
        }
        if let Some(reason) = self.config.budget.exhausted(iteration, &self.state.spent) {
            return self.end(EndStatus::Aborted, iteration, Some(reason));
        }
        let request = self.request(iteration)?;
        (self.progress)(iteration, Phase::WaitingForModel);
        let asked = call_model(
            self.config,
            &mut *self.model,
            &mut self.writer,
            self.progress,
            iteration,
            &request,
            &self.state.history,
        )?;
        match asked {
            Asked::Reply(reply) => Ok(ControlFlow::Continue(self.took(reply))),
            Asked::Stop(error) => {
                self.record_end(EndStatus::Aborted, iteration, Some(error.to_string()))?;
                Err(error)
            }
            Asked::Failed(message) => self.end(EndStatus::Aborted, iteration, Some(message)),
        }
    }

    /// The request of `iteration`, recorded with only the messages added since the last one.
    fn request(&mut self, iteration: u32) -> Result<ChatRequest, WriteError> {
        let history = &self.state.history;
        let request = ChatRequest {
            model: self.config.llm.model.clone(),
            messages: history.clone(),
            params: self.config.llm.params.clone(),
        };
        self.writer.append(&Event::Request(RequestEvent {
            iteration,
            model: request.model.clone(),
            params: request.params.clone(),
            history_len: self.state.sent,
            new_messages: history[self.state.sent..].to_vec(),
        }))?;
        Ok(request)
    }

    /// A new reply: charged to the budget and added to the chat.
    fn took(&mut self, reply: Reply) -> Reply {
        let price = self.config.llm.price.as_ref();
        let cost = Spent::of_reply(&reply, price);
        self.config.budget.charge(&mut self.state.spent, cost);
        let history = &mut self.state.history;
        history.push(ChatMessage::assistant(reply.text.clone()));
        // The reply event holds this message; the next request records only what follows it.
        self.state.sent = history.len();
        reply
    }

    /// The reply's files, applied to the crate so far and recorded; the reply's own errors.
    fn extract(&mut self, iteration: u32, reply: &Reply) -> Result<Vec<ErrorRecord>, SessionError> {
        let files = &mut self.state.files;
        let (event, errors) = apply_reply(iteration, reply, &self.config.llm, self.target, files);
        self.writer.append(&Event::Files(event))?;
        Ok(errors)
    }

    /// Builds the crate and, if that produced a program, runs it: the last step's errors.
    fn build_and_run(&mut self, iteration: u32) -> Result<Vec<ErrorRecord>, SessionError> {
        let build = self.build(iteration)?;
        match &build.program {
            Some(program) => self.smoke_run(iteration, program),
            None => Ok(build.errors),
        }
    }

    /// Writes the crate (the reply's files, then the target's) and builds it; recorded.
    fn build(&mut self, iteration: u32) -> Result<BuildOutcome, SessionError> {
        let files = &self.state.files;
        self.workspace
            .write(files, &self.target.build_files(files))?;
        (self.progress)(iteration, Phase::Building);
        let build = self.target.build(&self.workspace, iteration);
        self.writer.append(&Event::Build(BuildEvent {
            iteration,
            success: build.program.is_some(),
            errors: build.errors.clone(),
            warnings: build.warnings,
            binary_sha256: build.program.as_ref().map(|p| p.sha256.clone()),
            duration_ms: build.duration.as_millis() as u64,
        }))?;
        Ok(build)
    }

    /// Runs the program on the smoke input and checks its outputs; recorded.
    fn smoke_run(
        &mut self,
        iteration: u32,
        program: &BuiltProgram,
    ) -> Result<Vec<ErrorRecord>, SessionError> {
        (self.progress)(iteration, Phase::Running);
        let run = self.target.smoke_run(&self.workspace, program);
        self.writer.append(&Event::Run(RunEvent {
            iteration,
            exit_code: run.exit.code,
            signal: run.exit.signal,
            timed_out: run.exit.timed_out,
            errors: run.errors.clone(),
            duration_ms: run.duration.as_millis() as u64,
            stdout: run.output.as_ref().map(|o| o.stdout.clone()),
            stderr: run.output.as_ref().map(|o| o.stderr.clone()),
        }))?;
        Ok(run.errors)
    }

    /// The verdict, recorded; in replay, a verdict other than the recorded one stops the run.
    fn classify(
        &mut self,
        iteration: u32,
        errors: Vec<ErrorRecord>,
    ) -> Result<OutcomeEvent, SessionError> {
        let outcome = verdict(iteration, errors);
        self.writer.append(&Event::Outcome(outcome.clone()))?;
        let expected = self.config.expected_outcomes.as_deref();
        if let Some(drift) = expected.and_then(|expected| outcome_drift(expected, &outcome)) {
            let reason = Some("replay drift".to_string());
            self.record_end(EndStatus::Aborted, iteration, reason)?;
            return Err(SessionError::Drift(Box::new(drift)));
        }
        self.state.outcomes.push(outcome.clone());
        Ok(outcome)
    }

    /// After a verdict: the run ends when the program worked or the infrastructure failed;
    /// otherwise the errors go back to the LLM (unless this was the last iteration).
    fn feed_back(&mut self, iteration: u32, outcome: &OutcomeEvent) -> Step {
        if outcome.success {
            return self.end(EndStatus::Succeeded, iteration, None);
        }
        let errors = &outcome.errors;
        if let Some(infra) = errors.iter().find(|e| e.category.tier() == Tier::Infra) {
            let reason = format!("{}: {}", infra.category, infra.message);
            return self.end(EndStatus::Aborted, iteration, Some(reason));
        }
        if iteration < self.config.max_iterations {
            let feedback = self.target.templates().feedback(errors);
            self.state.history.push(ChatMessage::user(feedback));
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Ends the run: a step's way of stopping the loop.
    fn end<T>(&mut self, status: EndStatus, iterations: u32, reason: Option<String>) -> Step<T> {
        self.finish(status, iterations, reason)
            .map(ControlFlow::Break)
    }

    /// Records the end and returns the matching summary.
    fn finish(
        &mut self,
        status: EndStatus,
        iterations: u32,
        reason: Option<String>,
    ) -> Result<SessionSummary, SessionError> {
        self.record_end(status, iterations, reason.clone())?;
        Ok(SessionSummary {
            run_id: self.config.run_id.clone(),
            llm_id: self.config.llm.id.clone(),
            status,
            iterations,
            outcomes: std::mem::take(&mut self.state.outcomes),
            transcript: self.config.transcript_path.clone(),
            workspace: self.workspace.root().to_path_buf(),
            reason,
        })
    }

    /// The `end` event, with the harness's time for the whole run (earlier sessions' included).
    fn record_end(
        &mut self,
        status: EndStatus,
        iterations: u32,
        reason: Option<String>,
    ) -> Result<(), WriteError> {
        self.writer.append(&Event::End(EndEvent {
            status,
            iterations,
            reason,
            finished_at: now_rfc3339(),
            wall_ms: self.state.earlier_ms + self.started.elapsed().as_millis() as u64,
        }))
    }
}
