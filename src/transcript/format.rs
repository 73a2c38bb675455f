//! The transcript format, version 6 (versions 1 to 5 read unchanged).
//!
//! Version 3 added the program's own output to `run` events and the machine and the limits
//! generated code ran under to the header. Version 4 added the model's own context and output
//! limits to the header's registry entry (`llm.limits`). Version 5 stores a written file that
//! the reply holds verbatim as a `span` of the reply's text instead of a second copy, and a
//! `training` event records its sandbox and limits. Version 6 added `header.imported`, for a
//! run read from a chat window's export (`harness import-chat`). Every
//! addition is optional, so older files read with them absent.
//!
//! A transcript is `harness-runs/<run-id>/transcript.yaml`: a YAML stream with one document per
//! event. Every document starts with a `---` line and ends with a `...` line (YAML's explicit
//! document end). The writer appends one whole document and flushes it to disk before the run
//! takes its next step, so a document without its `...` line is a partial write from a crash:
//! the reader reports it and never takes it for a complete event.
//!
//! The first event is the `header` (provenance); then, per iteration, `request`, `reply` (or
//! `model-error`), `files`, `build`, `run` (the last two only when reached), `outcome`; the last
//! event is `end`. A `resume` event marks where a crashed run was taken up again; see
//! `ResumeEvent` for how it reads. Durations and latencies are recorded but never compared in replay.
//!
//! Every iteration's files can be rebuilt: `files.written` holds the content of each file the
//! reply provided (from version 5, its byte span in the reply before it); `files.kept` names, by
//! hash, the files carried over from the iteration before. Requests hold only the messages added since the previous request (`history_len` says
//! how many came before), so a run of 20 iterations does not store its history 20 times.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::LlmSpec;
use crate::llm::probe::ServerInfo;
use crate::llm::retry::Fault;
use crate::llm::{ChatMessage, FinishReason, Reply, SamplingParams, Usage};
use crate::taxonomy::ErrorRecord;

/// The format version this harness writes. It reads this version and every older one.
pub const FORMAT_VERSION: u32 = 6;

/// One document of the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    Header(Box<Header>),
    Request(RequestEvent),
    Reply(ReplyEvent),
    Attempt(AttemptEvent),
    ModelError(ModelErrorEvent),
    Files(FilesEvent),
    Build(BuildEvent),
    Run(RunEvent),
    Outcome(OutcomeEvent),
    Resume(ResumeEvent),
    End(EndEvent),
    Training(Box<TrainingEvent>),
}

/// Provenance: what produced this run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format_version: u32,
    pub run_id: String,
    pub harness: HarnessInfo,
    pub toolchain: ToolchainInfo,
    pub target: TargetInfo,
    /// The registry entry as it was used (with `--model`/`--base-url` applied); never a key.
    pub llm: LlmSpec,
    /// 1-based repeat number, for run-to-run variability studies.
    pub repeat: u32,
    pub max_iterations: u32,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// Set when this run is a replay of another; holds that run's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<String>,
    /// How generated code was confined: `bubblewrap 0.8.0`, or `none (--no-sandbox)`. Added
    /// with the sandbox (format version 1 unchanged): transcripts written before it lack the
    /// field, which reads as `None`, "not recorded".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
    /// What a local server said it serves when the run started (format version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerInfo>,
    /// The machine the run ran on (format version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<MachineInfo>,
    /// The limits its builds and smoke runs ran under (format version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<RunLimits>,
    /// Set when the run was imported from a chat window's export rather than recorded through
    /// an API (`harness import-chat`; format version 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<Box<ImportInfo>>,
}

/// Where an imported run came from and what the importer made of it (format version 6). Its
/// rounds hold no tokens, latencies or builds: the chat window reports none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportInfo {
    /// The export's file name (not its folder, which is the importing machine's).
    pub source_file: String,
    pub source_sha256: String,
    /// The window whose layout was read (`chatgpt`, `poe`, ...).
    pub layout: String,
    /// `detected` with the marker lines that gave it away, or `given (--layout)`.
    pub layout_evidence: Vec<String>,
    /// The language the chat asked for: `pytorch` or `tensorflow`.
    pub language: String,
    /// The round whose code ran without an exception, where the chat shows one (rule I4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_clean_run: Option<u32>,
    /// One entry per round whose feedback held an error: where it came and what it repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ImportedError>,
    /// Turns the importer was not sure of (their role or their bounds), with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsure: Vec<String>,
    /// What the user wrote after the last reply, which no request holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trailing_user_text: Option<String>,
}

/// The error a round's feedback held, placed in the run (rules I3 and I5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedError {
    /// The round it answered.
    pub iteration: u32,
    /// 1-based lines of the export that hold the user's turn.
    pub lines: [usize; 2],
    /// `editor`, `before-training`, `during-training` or `after-training`.
    pub stage: String,
    /// The round whose feedback had the same exception type and message first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_of: Option<u32>,
}

/// The machine a run ran on, as `/proc` describes it (format version 3). Provenance only:
/// none of it reaches feedback or anything replay compares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineInfo {
    /// The CPU's `model name` (`/proc/cpuinfo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Logical CPUs (`processor` entries of `/proc/cpuinfo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    /// `MemTotal` of `/proc/meminfo`, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// Each NVIDIA GPU's model (`/proc/driver/nvidia/gpus/*/information`); empty without one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<String>,
    /// The NVIDIA driver's version (`/proc/driver/nvidia/version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_driver: Option<String>,
    /// The libtorch version the target builds against, where it uses libtorch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libtorch: Option<String>,
}

/// The limits generated code ran under (format version 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLimits {
    pub build: PhaseLimits,
    pub smoke_run: PhaseLimits,
}

/// The limits of one phase. The time limit and the output kept are the harness's own; the
/// rest are the sandbox's and absent without it (`--no-sandbox`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseLimits {
    /// Wall-clock seconds of one process; where the phase has several steps (the U-Net's smoke
    /// run trains, then predicts), the longest step's.
    pub time_s: u64,
    /// What is kept of each output stream: its first and its last bytes.
    pub output_head_bytes: u64,
    pub output_tail_bytes: u64,
    /// CPU seconds per process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_s: Option<u64>,
    /// Address space per process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_space_bytes: Option<u64>,
    /// Memory of the whole process tree (a cgroup), where one is asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// How much the writable folders may grow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_bytes: Option<u64>,
    /// The largest file one process may write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size_bytes: Option<u64>,
    /// The size of each in-memory folder (`/tmp`, home, `/dev/shm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs_bytes: Option<u64>,
    /// Processes and threads (binding only when the harness runs as root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_files: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HarnessInfo {
    pub version: String,
    /// The commit of the harness's own repository, where it runs from a checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// Tracked files differed from that commit.
    #[serde(default)]
    pub git_dirty: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolchainInfo {
    pub rustc: String,
    pub cargo: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetInfo {
    pub id: String,
    /// SHA-256 of every prompt template, by file name.
    pub templates: BTreeMap<String, String>,
}

/// What the harness sent to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestEvent {
    pub iteration: u32,
    pub model: String,
    #[serde(default)]
    pub params: SamplingParams,
    /// How many messages precede `new_messages` (they are in earlier request and reply events).
    pub history_len: usize,
    pub new_messages: Vec<ChatMessage>,
}

/// What the model answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyEvent {
    pub iteration: u32,
    pub text: String,
    pub finish_reason: FinishReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    pub latency_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// See `Reply::system_fingerprint` (format version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// The cost the provider reported, in US dollars (format version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// How many attempts the call took; the failed ones are `attempt` events before this one
    /// (format version 2; older transcripts read as 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub attempts: u32,
    /// The earlier iteration whose reply had exactly the same text, if any (format version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identical_to: Option<u32>,
}

fn one() -> u32 {
    1
}

fn is_one(value: &u32) -> bool {
    *value == 1
}

impl ReplyEvent {
    /// The reply as the model gave it, for replay and resume.
    pub fn to_reply(&self) -> Reply {
        Reply {
            text: self.text.clone(),
            finish_reason: self.finish_reason.clone(),
            usage: self.usage,
            model: self.model.clone(),
            refusal: self.refusal.clone(),
            system_fingerprint: self.system_fingerprint.clone(),
            cost_usd: self.cost_usd,
        }
    }
}

/// One failed attempt at a model call, recorded before the wait that follows it (format
/// version 2). Never charged to the LLM: a transient failure is retried, a fatal one (or the
/// last transient one) is followed by a `model-error` and the run ends as aborted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptEvent {
    pub iteration: u32,
    /// 1-based.
    pub attempt: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub message: String,
    pub fault: Fault,
    /// What the server asked to wait (`Retry-After`), in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// The wait before the next attempt; absent when none followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ms: Option<u64>,
    pub latency_ms: u64,
}

/// The model call failed (an infrastructure outcome; the run ends, and `--resume` takes it up
/// again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelErrorEvent {
    pub iteration: u32,
    pub message: String,
    pub latency_ms: u64,
    /// The HTTP status of the last attempt (format version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Whether retrying could help; absent in version 1 files (format version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// Attempts made in all (format version 2).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub attempts: u32,
}

/// A file by path, with its SHA-256 and, where recorded, its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    /// The file's bytes, where they are not a slice of the reply (`span`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Where the file's bytes are in the text of the reply just before this `files` event: a
    /// byte range `[start, end)`, so a reply's code is stored once (format version 5). The
    /// hash is checked on every read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<[usize; 2]>,
}

impl FileEntry {
    /// A written file, stored as a span of `reply` where its bytes are found there verbatim,
    /// else in full.
    pub fn written(path: String, content: &str, reply: &str) -> FileEntry {
        let sha256 = crate::hashing::sha256_hex(content.as_bytes());
        let span = (!content.is_empty())
            .then(|| reply.find(content))
            .flatten()
            .map(|start| [start, start + content.len()]);
        FileEntry {
            path,
            sha256,
            content: span.is_none().then(|| content.to_string()),
            span,
        }
    }

    /// The file's bytes: its own, or its span of `reply` (the text of the reply before its
    /// `files` event); `None` when neither is there or the span is outside the reply.
    pub fn content_in<'a>(&'a self, reply: Option<&'a str>) -> Option<&'a str> {
        match (&self.content, self.span) {
            (Some(content), _) => Some(content),
            (None, Some([start, end])) => reply?.get(start..end),
            (None, None) => None,
        }
    }
}

/// The files of this iteration's crate, as extraction left them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilesEvent {
    pub iteration: u32,
    /// Files the reply provided, with content.
    pub written: Vec<FileEntry>,
    /// Files carried over from earlier iterations, by hash only.
    pub kept: Vec<FileEntry>,
    /// What extraction skipped or guessed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Files of `written` whose block named no path: a fallback inferred it (format version 2).
    /// A table counts these rounds apart, as format failures the harness repaired.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inferred: Vec<String>,
}

/// The build of this iteration's crate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildEvent {
    pub iteration: u32,
    pub success: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorRecord>,
    pub warnings: usize,
    /// SHA-256 of the program that was built and then run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_sha256: Option<String>,
    pub duration_ms: u64,
}

/// The smoke run of this iteration's program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    pub iteration: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    #[serde(default)]
    pub timed_out: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorRecord>,
    pub duration_ms: u64,
    /// What the program printed on standard output, as captured: the whole stream, or its first
    /// and last bytes with a line saying how many were left out between them (format version 3;
    /// absent in older files and where the program never started). Not normalised, so never
    /// compared by replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    /// The same for standard error (the sandbox's own lines removed, the harness's notes on a
    /// breached limit appended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
}

/// The verdict on one iteration: the errors fed back (empty when it worked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeEvent {
    pub iteration: u32,
    pub success: bool,
    /// Most relevant first; the first one names the round's category in the tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorRecord>,
}

/// A crashed run was resumed here (`harness generate --resume`).
///
/// Readers drop the interrupted iteration's events before this one: its files, build, run and
/// outcome (they are done again after it), and its request too when no reply had been recorded
/// (the request is sent again). The physical file keeps them: nothing recorded is ever erased.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResumeEvent {
    /// The iteration that was interrupted and is done again from here.
    pub iteration: u32,
    /// Its reply had been recorded and is used again, without asking the model.
    pub reused_reply: bool,
    /// Where a half-written last event began (its bytes were moved to `<transcript>.partial`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_tail_line: Option<usize>,
    pub resumed_at: String,
    /// How generated code is confined from here on (see `Header::sandbox`); added with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
    /// The machine the rest of the run ran on (format version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<Box<MachineInfo>>,
    /// The limits from here on (format version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Box<RunLimits>>,
    /// The harness that goes on from here: its commit may differ from the header's (format
    /// version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harness: Option<HarnessInfo>,
}

/// Full training of a finished run's crate on a dataset, and its evaluation by the harness
/// (`harness train`). Appended after `end`, once per training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingEvent {
    pub dataset: DatasetRecord,
    /// `--epochs` when given; otherwise the program chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<u32>,
    /// Whether the machine had an NVIDIA GPU the program could use.
    pub gpu: bool,
    pub started_at: String,
    pub train_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predict_ms: Option<u64>,
    /// What went wrong, classified like the fix loop's errors; empty when all went well.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorRecord>,
    /// Dice per test image computed by the harness from the predicted masks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dice: Option<DiceSummary>,
    /// Test images the program wrote no prediction for (counted as Dice 0).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_predictions: Vec<String>,
    /// The harness's Dice of every test image, so that any summary can be recomputed from the
    /// transcript; a flag says why a prediction that exists scored 0 (newer files only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_image: Vec<crate::eval::ImageDice>,
    /// The mean of the program's own `test_dice_scores.csv`, on its own test split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_test_dice: Option<f64>,
    /// Set when the program's own Dice and the harness's differ by more than 0.05.
    #[serde(default)]
    pub dice_disagrees: bool,
    /// Mean Dice of the best single global threshold (chosen on the training pool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_baseline: Option<f64>,
    /// Where the program's outputs and predictions are, relative to the run folder.
    pub artefacts: String,
    /// How the program ran: `bubblewrap 0.8.0`, or `none (--no-sandbox)` (format version 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
    /// The limits its training step ran under (format version 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<PhaseLimits>,
}

/// Which data a training used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetRecord {
    pub name: String,
    /// SHA-256 over the pairs' names and contents.
    pub fingerprint: String,
    pub split_seed: u64,
    /// SHA-256 of the split (which pairs are held out).
    pub split_hash: String,
    pub train_pairs: usize,
    pub test_pairs: usize,
}

/// Dice statistics over the test images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiceSummary {
    pub count: usize,
    pub mean: f64,
    pub median: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    pub q1: f64,
    pub q3: f64,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndStatus {
    /// The program built, ran and produced sane outputs.
    Succeeded,
    /// The iteration cap was reached first.
    GaveUp,
    /// An infrastructure failure stopped the run; nothing is charged to the LLM for it.
    Aborted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndEvent {
    pub status: EndStatus,
    pub iterations: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub finished_at: String,
    /// Time spent in the harness. For a resumed run: the recorded steps' durations before the
    /// crash plus the resumed session's time (the time the run lay interrupted is not counted).
    pub wall_ms: u64,
}
