//! The command line (clap derive). Parsing only; `commands` does the work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Run generated code (build scripts, proc macros, programs) without the bubblewrap
    /// sandbox, with your own rights. Warned about on every run and recorded in the transcript.
    #[arg(long, global = true)]
    pub no_sandbox: bool,
}

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
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The registry id of the LLM (see `harness llms`).
    #[arg(long, required_unless_present = "resume")]
    pub llm: Option<String>,
    /// Finish an interrupted run (a run folder, its transcript, or a run id), reusing every
    /// reply it recorded; the LLM, target and cap come from its transcript.
    #[arg(long, conflicts_with_all = ["llm", "target", "max_iterations", "repeat", "model", "base_url"])]
    pub resume: Option<PathBuf>,
    /// The target program (see ARCHITECTURE.md).
    #[arg(long, default_value = crate::target::DEFAULT_TARGET)]
    pub target: String,
    /// Give up after this many iterations.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_iterations: u32,
    /// Which repeat this is, for run-to-run variability (the crate goes to `<llm>-rN`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Send this model name instead of the registry's.
    #[arg(long)]
    pub model: Option<String>,
    /// Talk to this OpenAI-compatible base URL instead of the registry's.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Seconds to wait for one model reply.
    #[arg(long, default_value_t = 900)]
    pub request_timeout: u64,
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
