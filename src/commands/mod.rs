//! The commands behind the CLI, one file per subcommand, and `dispatch`, which runs the one
//! the command line names. Their exit codes: `exit.rs`.

mod checkout;
mod data;
mod diff;
mod doctor;
mod exit;
mod fetch;
mod generate;
mod import_chat;
mod llms;
mod pipeline;
mod replay;
mod report;
mod setup;
mod summary;
mod targets;
mod train;

pub use checkout::checkout;
pub use data::data;
pub use diff::diff;
pub use doctor::doctor;
pub use exit::{
    exit_code_for, UserError, EXIT_ABORTED, EXIT_DRIFT, EXIT_HARNESS, EXIT_INPUT, EXIT_OK,
    EXIT_RUN_FAILED,
};
pub use generate::generate;
pub use import_chat::import_chat;
pub use llms::llms;
pub use pipeline::pipeline;
pub use replay::replay;
pub use report::{report_dice, report_errors, report_figures, report_html, report_stats};
pub use setup::setup;
pub use train::train;

pub(crate) use targets::{isolation, target_for, warn_if_unconfined};

use crate::cli::{Cli, Command, ReportCommand};

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
