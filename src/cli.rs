//! The command line (clap derive). Parsing only; `commands` does the work.

use crate::llm::retry::RetryPolicy;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::dataset::SynthKind;
use crate::report::Format;

/// Benchmarks LLMs as programmers: generate, build, feed back, record, replay, count.
#[derive(Debug, Parser)]
#[command(name = "harness", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command shares.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Where recorded runs live.
    #[arg(
        long,
        global = true,
        env = "HARNESS_RUNS_DIR",
        default_value = "harness-runs"
    )]
    pub runs_dir: PathBuf,
    /// Where generated crates live.
    #[arg(
        long,
        global = true,
        env = "HARNESS_GENERATED_DIR",
        default_value = "generated"
    )]
    pub generated_dir: PathBuf,
    /// A registry file whose entries add to (and replace) the embedded ones.
    #[arg(long, global = true, env = "HARNESS_REGISTRY")]
    pub registry: Option<PathBuf>,
    /// Where libtorch, the vendored crates and the warm build live (default:
    /// `$XDG_CACHE_HOME/harness`, else `~/.cache/harness`).
    #[arg(long, global = true, env = "HARNESS_CACHE")]
    pub cache_dir: Option<PathBuf>,
    /// Run generated code (build scripts, proc macros, programs) without the bubblewrap
    /// sandbox, with your own rights. Warned about on every run and recorded in the transcript.
    #[arg(long, global = true)]
    pub no_sandbox: bool,
    /// The time limit of each build of generated code, in seconds (default: the target's own,
    /// 120 s for rust-tiny, 1800 s for rust-tch-unet). A build that reaches it ends the run as
    /// a harness limit, never charged to the LLM; the transcript header records the limit.
    #[arg(
        long,
        global = true,
        env = "HARNESS_BUILD_TIMEOUT",
        value_name = "SECONDS"
    )]
    pub build_timeout: Option<u64>,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ask an LLM for the program and loop until it builds and runs (records a run).
    Generate(GenerateArgs),
    /// Re-drive recorded runs from their transcripts: no keys, no network.
    Replay(ReplayArgs),
    /// Tables derived from recorded runs.
    #[command(subcommand)]
    Report(ReportCommand),
    /// The LLM registry: ids, providers, models, and which key each needs.
    Llms,
    /// What one iteration of a run changed in the crate.
    Diff(DiffArgs),
    /// Read chat exports (text copied out of a chat window) into recorded runs, marked as
    /// imported, with each pasted error classified.
    ImportChat(ImportChatArgs),
    /// Write a run's crate as it stood after an iteration (default: the last, into the run's
    /// `crate/` folder), rebuilt from the transcript.
    Checkout(CheckoutArgs),
    /// Datasets: draw the synthetic one, import published ones, check a folder.
    #[command(subcommand)]
    Data(DataCommand),
    /// Train a finished run's program on a dataset; the harness computes Dice itself.
    Train(TrainArgs),
    /// The main job with no keys: replay the committed runs, generate and briefly train the
    /// reference U-Net on the synthetic glottis set, print the error and Dice tables.
    Pipeline(PipelineArgs),
    /// Provision libtorch, the vendored crates and the warm build, and with `--python` the
    /// Python environment (idempotent).
    Setup(SetupArgs),
    /// Check every piece of the toolchain and say how to fix what is missing.
    Doctor(DoctorArgs),
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// A run folder, its transcript, or a run id in the runs folder.
    #[arg(long)]
    pub run: PathBuf,
    /// `synthetic-glottis` (drawn on first use), `chase-db1` (imported with `harness data
    /// import`), or a folder in the study's layout (`images/N.png`, `masks/N_seg.png`).
    #[arg(long)]
    pub dataset: String,
    /// Epochs, overriding the program's own choice.
    #[arg(long)]
    pub epochs: Option<u32>,
    /// The seed of the (first) held-out split (the same for every run, so runs compare).
    #[arg(long, default_value_t = 0)]
    pub split_seed: u64,
    /// Trainings of the program, each on its own held-out split (split seeds `--split-seed`,
    /// then one more each time), so that Dice comes with a run-to-run uncertainty
    /// (methodology S7). The default prompt gives the program no seed of its own.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub seeds: u32,
    /// Images in the synthetic set, when it is drawn.
    #[arg(long, default_value_t = 500)]
    pub synthetic_count: usize,
    /// Side of the synthetic images in pixels, when it is drawn.
    #[arg(long, default_value_t = 256)]
    pub synthetic_size: u32,
    /// Hours training may take before it is stopped (a recorded timeout).
    #[arg(long, default_value_t = 12.0)]
    pub train_hours: f64,
}

#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// Recorded runs to replay (default: the committed fixture runs and the runs folder).
    pub runs: Vec<PathBuf>,
    /// Epochs of the reference's brief training.
    #[arg(long, default_value_t = 3)]
    pub epochs: u32,
    /// Images in the synthetic set the reference trains on.
    #[arg(long, default_value_t = 120)]
    pub synthetic_count: usize,
    /// Side of those images in pixels.
    #[arg(long, default_value_t = 128)]
    pub synthetic_size: u32,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Skip the final smoke build (a new tch crate built warm and run), and the Python
    /// environment's smoke check when it was in place already.
    #[arg(long)]
    pub no_smoke: bool,
    /// Also make the Python environment of the python-torch-unet target: a virtual
    /// environment from Python 3.11 and pinned wheels (torch 2.11.0, torchvision, numpy,
    /// pandas, ...), downloaded once (2.3 GB, 4 GB on disk).
    #[arg(long)]
    pub python: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Skip the smoke build (a new tch crate built warm and run, about a second).
    #[arg(long)]
    pub no_smoke: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Registry ids of the LLMs, comma-separated (see `harness llms`).
    #[arg(long, value_delimiter = ',', required_unless_present_any = ["resume", "all", "cohort"])]
    pub llm: Vec<String>,
    /// Every LLM of the study's cohorts in the registry (not fixtures, the reference or `local`).
    #[arg(long, conflicts_with_all = ["llm", "cohort"])]
    pub all: bool,
    /// Every LLM of this cohort in the registry (`2024`, `2025`).
    #[arg(long, conflicts_with = "llm")]
    pub cohort: Option<String>,
    /// Finish an interrupted or aborted run (a run folder, its transcript, or a run id), reusing
    /// every reply it recorded; the LLM, target and cap come from its transcript.
    #[arg(long, conflicts_with_all = ["llm", "all", "cohort", "target", "max_iterations", "repeat", "repeats", "model", "base_url", "shard"])]
    pub resume: Option<PathBuf>,
    /// The target program (see ARCHITECTURE.md).
    #[arg(long, default_value = crate::target::DEFAULT_TARGET)]
    pub target: String,
    /// Give up after this many iterations.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_iterations: u32,
    /// The first repeat's number (crates go to `generated/<target>/<llm>-rN`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// How many repeats of each LLM, numbered from `--repeat` on (the study's run-to-run test
    /// used 10). A registry seed is offset by the repeat number, so repeats sample differently.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeats: u32,
    /// Only this share of the runs, `I/N` (1-based): run folders of all N shards merge by copying.
    #[arg(long, value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
    /// Runs at once, in all.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: u32,
    /// Requests in flight to one provider at once (halved on HTTP 429, grown back on success).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub per_provider: u32,
    /// Send this model name instead of the registry's (one LLM only).
    #[arg(long)]
    pub model: Option<String>,
    /// Talk to this base URL instead of the registry's (one LLM only).
    #[arg(long)]
    pub base_url: Option<String>,
    /// The SHA-256 of the weights a local server loaded, recorded with the run.
    #[arg(long)]
    pub weights_sha256: Option<String>,
    /// Seconds to wait for one model reply.
    #[arg(long, default_value_t = 900)]
    pub request_timeout: u64,
    #[command(flatten)]
    pub retry: RetryArgs,
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// Spending limits, checked before each request; a run that reaches one ends aborted (a harness
/// limit, not charged to the LLM) and `--resume` with a larger limit goes on.
#[derive(Debug, Clone, Default, Args)]
pub struct BudgetArgs {
    /// US dollars for this whole invocation, all LLMs and repeats together.
    #[arg(long, value_parser = parse_usd)]
    pub max_cost: Option<f64>,
    /// US dollars per run.
    #[arg(long, value_parser = parse_usd)]
    pub max_run_cost: Option<f64>,
    /// Tokens (input plus output, as reported) for this whole invocation.
    #[arg(long)]
    pub max_tokens: Option<u64>,
    /// Tokens (input plus output, as reported) per run.
    #[arg(long)]
    pub max_run_tokens: Option<u64>,
}

fn parse_usd(text: &str) -> Result<f64, String> {
    match text.trim().trim_start_matches('$').parse::<f64>() {
        Ok(usd) if usd.is_finite() && usd >= 0.0 => Ok(usd),
        _ => Err(format!(
            "`{text}` is not an amount of US dollars (say 2.50)"
        )),
    }
}

/// `I/N` with 1 <= I <= N.
fn parse_shard(text: &str) -> Result<(u32, u32), String> {
    let (i, n) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not I/N (say 2/8)"))?;
    let parse = |part: &str| {
        part.trim()
            .parse::<u32>()
            .map_err(|_| format!("`{text}` is not I/N (say 2/8)"))
    };
    let (i, n) = (parse(i)?, parse(n)?);
    if n == 0 || i == 0 || i > n {
        return Err(format!("shard `{text}`: I must be between 1 and N"));
    }
    Ok((i, n))
}

/// How failed model calls are retried (transient failures only; see `llm::retry`).
#[derive(Debug, Clone, Args)]
pub struct RetryArgs {
    /// Attempts per model call in all, the first included.
    #[arg(long, default_value_t = RetryPolicy::default().max_attempts, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,
    /// The backoff's first ceiling in milliseconds; it doubles per attempt (full jitter).
    #[arg(long, default_value_t = RetryPolicy::default().base.as_millis() as u64)]
    pub retry_base_ms: u64,
    /// The backoff's largest ceiling in milliseconds.
    #[arg(long, default_value_t = RetryPolicy::default().cap.as_millis() as u64)]
    pub retry_cap_ms: u64,
    /// No wait is longer than this many milliseconds, whatever a server's Retry-After asks.
    #[arg(long, default_value_t = RetryPolicy::default().max_wait.as_millis() as u64)]
    pub retry_max_wait_ms: u64,
}

impl Default for RetryArgs {
    fn default() -> Self {
        let policy = RetryPolicy::default();
        let millis = |d: std::time::Duration| d.as_millis() as u64;
        RetryArgs {
            max_attempts: policy.max_attempts,
            retry_base_ms: millis(policy.base),
            retry_cap_ms: millis(policy.cap),
            retry_max_wait_ms: millis(policy.max_wait),
        }
    }
}

impl RetryArgs {
    pub fn policy(&self) -> RetryPolicy {
        use std::time::Duration;
        RetryPolicy {
            max_attempts: self.max_attempts,
            base: Duration::from_millis(self.retry_base_ms),
            cap: Duration::from_millis(self.retry_cap_ms),
            max_wait: Duration::from_millis(self.retry_max_wait_ms),
        }
    }
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Run folders, transcripts, or folders of runs (default: the runs folder).
    pub runs: Vec<PathBuf>,
    /// Only recount from the recorded outcomes; build and run nothing.
    #[arg(long)]
    pub no_exec: bool,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The error-count table: per LLM, runs, successes, feedback rounds, errors by category.
    Errors(ReportErrorsArgs),
    /// The Dice table: per LLM and dataset, the Dice the harness measured after training.
    Dice(ReportErrorsArgs),
    /// Statistics over repeats: success rates with Wilson intervals, medians with bootstrap
    /// intervals, a rank test between LLMs, P(success by round k) and the repair-decay table
    /// (rules: docs/methodology.md). CSV is not offered; use Markdown or JSON.
    Stats(ReportErrorsArgs),
    /// Figures as PNG and SVG, each with the CSV it was drawn from, and an index (figures.csv,
    /// index.md): errors per LLM and per round, P(success by round k), Dice box plots, loss
    /// curves, prediction overlays and run-to-run plots; what cannot be drawn is listed with why.
    Figures(ReportFiguresArgs),
    /// One static HTML report: `DIR/index.html` with the tables, the figures and every run, a
    /// page per run under `DIR/runs/` (every round: request, reply, diff, diagnostics, whom it
    /// was charged to) and the methodology the numbers follow. No server needed to view it.
    Html(ReportHtmlArgs),
}

#[derive(Debug, Args)]
pub struct ReportFiguresArgs {
    /// Run folders, transcripts, or folders of runs (default: the runs folder).
    pub runs: Vec<PathBuf>,
    /// The folder to write the figures into (created if needed).
    #[arg(long)]
    pub out: PathBuf,
    /// Held-out images shown per training in the prediction overlays.
    #[arg(long, default_value_t = 3)]
    pub overlay_images: usize,
}

#[derive(Debug, Args)]
pub struct ReportHtmlArgs {
    /// Run folders, transcripts, or folders of runs (default: the runs folder).
    pub runs: Vec<PathBuf>,
    /// The folder to write the report into (created; its pages are replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// A folder of figures already drawn (each `NAME.png` or `NAME.svg` with its `NAME.csv`
    /// beside it), copied into `DIR/figures/` and shown in the report.
    #[arg(long)]
    pub figures: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportErrorsArgs {
    /// Run folders, transcripts, or folders of runs (default: the runs folder).
    pub runs: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    pub format: Format,
    /// Write the table to this file (atomically) instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// A run folder, a transcript, or a run id in the runs folder.
    pub run: PathBuf,
    /// The iteration whose changes to show.
    #[arg(long)]
    pub iteration: u32,
}

#[derive(Debug, Args)]
pub struct ImportChatArgs {
    /// The exports: plain text copied out of the chat window, one chat each.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The registry id of the LLM the chats are with (`harness llms`).
    #[arg(long)]
    pub llm: String,
    /// The chat window: chatgpt, bing-copilot, github-copilot, poe, generic, or auto
    /// (recognised by its marker lines).
    #[arg(long, default_value = "auto")]
    pub layout: String,
    /// The framework the chat asked for: pytorch (or python) or tensorflow; by default read
    /// from the first message.
    #[arg(long)]
    pub language: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckoutArgs {
    /// A run folder, a transcript, or a run id in the runs folder.
    pub run: PathBuf,
    /// The iteration after which to take the files (default: the last).
    #[arg(long, requires = "out")]
    pub iteration: Option<u32>,
    /// Where to write the crate (default: `crate/` in the run folder; required with
    /// `--iteration`). Files there are replaced; a `target` folder is kept.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Draw a synthetic dataset: seeded, the same bytes on every machine.
    Synth(DataSynthArgs),
    /// Convert a published dataset to images/N.png and masks/N_seg.png.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Check a dataset folder's layout and files, and summarise it.
    Check(DataCheckArgs),
    /// Download one of the study's public datasets, verify it and convert it (without a
    /// name: list them). Its licence is shown first.
    Fetch(DataFetchArgs),
}

#[derive(Debug, Args)]
pub struct DataFetchArgs {
    /// The dataset: bagls, brain-tumour, ham10000, uterine-myoma or chase-db1 (omit to list).
    pub name: Option<String>,
    /// The folder to create (default: `datasets/<name>` in the cache, where `harness train
    /// --dataset <name>` finds it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Download from this mirror instead of the publishers: it must serve each file at the
    /// original URL's path (and query).
    #[arg(long, env = "HARNESS_DATASET_MIRROR")]
    pub base_url: Option<String>,
    /// Accept a licence that forbids commercial use without being asked (needed where no
    /// terminal can ask).
    #[arg(long, alias = "accept-license")]
    pub accept_licence: bool,
}

#[derive(Debug, Args)]
pub struct DataSynthArgs {
    /// Which synthetic dataset.
    #[arg(long, value_enum, default_value_t = SynthKind::Glottis)]
    pub kind: SynthKind,
    /// How many image/mask pairs.
    #[arg(long, default_value_t = crate::dataset::SYNTH_DEFAULT_COUNT, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub n: u32,
    /// Width and height in pixels.
    #[arg(long, default_value_t = crate::dataset::SYNTH_DEFAULT_SIZE, value_parser = clap::value_parser!(u32).range(16..=4096))]
    pub size: u32,
    /// The seed: the same seed gives the same files.
    #[arg(long, default_value_t = crate::dataset::SYNTH_DEFAULT_SEED)]
    pub seed: u64,
    /// The folder to create (it must be empty or absent).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// CHASE_DB1 retinal vessels: the CHASEDB1.zip archive or its unpacked folder.
    #[command(name = "chase-db1")]
    ChaseDb1(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The archive, or the folder it unpacks to.
    pub source: PathBuf,
    /// The folder to create (it must be empty or absent).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct DataCheckArgs {
    /// The dataset folder (holding images/ and masks/).
    pub dir: PathBuf,
}
