//! The commands behind the CLI, and the exit codes they map to.
//!
//! Exit codes (documented in the README):
//! 0 success; 1 the harness itself failed; 2 bad input or usage (unknown LLM, missing key,
//! malformed transcript, a bad dataset, a wrong `LIBTORCH`; for `doctor`, a missing toolchain
//! piece); 3 a run gave up (the LLM's program never worked within the cap); 4 replay drifted
//! from the recording; 5 a run was aborted by something not charged to the LLM (the API gave up,
//! the sandbox or the toolchain failed), which `generate --resume` takes up again; 130
//! interrupted (Ctrl-C), with the command to resume each run.

mod checkout;
mod data;
mod diff;
mod doctor;
mod fetch;
mod generate;
mod import_chat;
mod llms;
mod pipeline;
mod replay;
mod report;
mod setup;
mod train;

pub use checkout::checkout;
pub use data::data;
pub use diff::diff;
pub use doctor::doctor;
pub use generate::generate;
pub use import_chat::import_chat;
pub use llms::llms;
pub use pipeline::pipeline;
pub use replay::replay;
pub use report::{report_dice, report_errors, report_figures, report_html, report_stats};
pub use setup::setup;
pub use train::train;

use std::process::ExitCode;

use crate::cli::{Cli, Command, GlobalArgs, ReportCommand};
use crate::sandbox::Isolation;

pub const EXIT_OK: u8 = 0;
pub const EXIT_HARNESS: u8 = 1;
pub const EXIT_INPUT: u8 = 2;
pub const EXIT_RUN_FAILED: u8 = 3;
pub const EXIT_DRIFT: u8 = 4;
pub const EXIT_ABORTED: u8 = 5;

/// A mistake in what the user gave us: printed with its chain, exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

/// The target with this id; an unknown id is the user's mistake, a toolchain failure may be.
pub(crate) fn target_for(
    id: &str,
    global: &crate::cli::GlobalArgs,
    isolation: &Isolation,
) -> anyhow::Result<Box<dyn crate::target::Target>> {
    let build_timeout = global.build_timeout.map(std::time::Duration::from_secs);
    crate::target::by_id(id, global.cache_dir.as_deref(), isolation, build_timeout).map_err(
        |error| match error {
            crate::target::TargetError::Unknown { .. }
            | crate::target::TargetError::Sandbox { .. } => {
                UserError(crate::error_chain::error_chain(&error)).into()
            }
            other => anyhow::Error::from(other),
        },
    )
}

/// Runs a parsed command line.
pub fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Generate(args) => generate(&cli.global, &args),
        Command::Replay(args) => replay(&cli.global, &args),
        Command::Report(ReportCommand::Errors(args)) => report_errors(&cli.global, &args),
        Command::Report(ReportCommand::Dice(args)) => report_dice(&cli.global, &args),
        Command::Report(ReportCommand::Stats(args)) => report_stats(&cli.global, &args),
        Command::Report(ReportCommand::Figures(args)) => report_figures(&cli.global, &args),
        Command::Report(ReportCommand::Html(args)) => report_html(&cli.global, &args),
        Command::Llms => llms(&cli.global),
        Command::Diff(args) => diff(&cli.global, &args),
        Command::Checkout(args) => checkout(&cli.global, &args),
        Command::ImportChat(args) => import_chat(&cli.global, &args),
        Command::Data(command) => data(&cli.global, &command),
        Command::Train(args) => train(&cli.global, &args),
        Command::Pipeline(args) => pipeline(&cli.global, &args),
        Command::Setup(args) => setup(&cli.global, &args),
        Command::Doctor(args) => doctor(&cli.global, &args),
    }
}

/// The exit code for an error: 2 when the user's input was at fault, 1 otherwise.
pub fn exit_code_for(error: &anyhow::Error) -> ExitCode {
    let user = error.chain().any(|cause| {
        cause.is::<UserError>()
            || cause.is::<crate::config::ConfigError>()
            || cause.is::<crate::transcript::ReadError>()
            || cause.is::<crate::llm::BrokenHistory>()
            || matches!(
                cause.downcast_ref::<crate::session::SessionError>(),
                Some(crate::session::SessionError::Broken(_))
            )
            || cause
                .downcast_ref::<crate::dataset::DatasetError>()
                .is_some_and(crate::dataset::DatasetError::is_user_error)
            || cause
                .downcast_ref::<crate::dataset::FetchError>()
                .is_some_and(crate::dataset::FetchError::is_user_error)
            || matches!(
                cause.downcast_ref::<crate::train::TrainError>(),
                Some(crate::train::TrainError::NotSucceeded { .. })
            )
            || cause
                .downcast_ref::<crate::toolchain::ToolchainError>()
                .is_some_and(crate::toolchain::ToolchainError::is_user_error)
    });
    ExitCode::from(if user { EXIT_INPUT } else { EXIT_HARNESS })
}

/// How the commands that run generated code confine it: the sandbox, found and checked, or
/// none with `--no-sandbox`. A missing sandbox is the user's to fix (exit code 2): the message
/// says how to install it.
pub(crate) fn isolation(global: &GlobalArgs) -> anyhow::Result<Isolation> {
    Isolation::choose(global.no_sandbox)
        .map_err(|error| UserError(crate::error_chain::error_chain(&error)).into())
}

/// The warning printed on every run whose generated code goes unconfined.
pub(crate) fn warn_if_unconfined(target: &dyn crate::target::Target) {
    if let Some(warning) = target.unconfined_warning() {
        eprintln!("{warning}");
    }
}
