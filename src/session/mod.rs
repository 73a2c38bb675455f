//! The fix loop, shared by `generate` and `replay`: prompt, reply, files, build, run, feedback.

mod budget;
mod fix_loop;
mod machine;
mod model_call;
mod phase;
pub mod provenance;
mod replay_model;
mod reply_files;
mod resume;
mod verdict;

pub use budget::{Budget, InvocationBudget, Limits, Spent, BUDGET_REASON_PREFIX};
pub use fix_loop::{run_session, SessionConfig, SessionError, SessionSummary};
pub use machine::machine_info;
pub use phase::Phase;
pub use provenance::{harness_info, limits_record, now_rfc3339, phase_record, toolchain_info};
pub use replay_model::{BrokenHistory, ReplayModel};
pub use resume::resume_session;
