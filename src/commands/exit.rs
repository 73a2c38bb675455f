//! The exit codes the commands map to, and which errors are the user's to fix.
//!
//! Exit codes (documented in the README):
//! 0 success; 1 the harness itself failed; 2 bad input or usage (unknown LLM, missing key,
//! malformed transcript, a bad dataset, a wrong `LIBTORCH`; for `doctor`, a missing toolchain
//! piece); 3 a run gave up (the LLM's program never worked within the cap); 4 replay drifted
//! from the recording; 5 a run was aborted by something not charged to the LLM (the API gave up,
//! the sandbox or the toolchain failed), which `generate --resume` takes up again; 130
//! interrupted (Ctrl-C), with the command to resume each run.

use std::process::ExitCode;

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

/// The exit code for an error: 2 when the user's input was at fault, 1 otherwise.
pub fn exit_code_for(error: &anyhow::Error) -> ExitCode {
    let user = error.chain().any(|cause| {
        cause.is::<UserError>()
            || cause.is::<crate::config::ConfigError>()
            || cause.is::<crate::transcript::ReadError>()
            || cause.is::<crate::session::BrokenHistory>()
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
