//! What the commands that run generated code share: the target by its id, how its code is
//! confined, and the warning when it is not.

use crate::cli::GlobalArgs;
use crate::sandbox::Isolation;

use super::exit::UserError;

/// The target with this id; an unknown id is the user's mistake, a toolchain failure may be.
pub(crate) fn target_for(
    id: &str,
    global: &GlobalArgs,
    isolation: &Isolation,
) -> anyhow::Result<Box<dyn crate::target::Target>> {
    let build_timeout = global.build_timeout.map(std::time::Duration::from_secs);
    crate::target::by_id(id, global.cache_dir.as_deref(), isolation, build_timeout).map_err(
        |error| match error {
            crate::target::TargetError::Unknown { .. }
            | crate::target::TargetError::Sandbox { .. }
            | crate::target::TargetError::PythonEnv { .. } => {
                UserError(crate::error_chain::error_chain(&error)).into()
            }
            other => anyhow::Error::from(other),
        },
    )
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
