//! How a process ended, as the execution layer saw it.

/// How a program ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExitInfo {
    /// The exit code, when the program exited by itself.
    pub code: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
    /// Whether the harness stopped it for running past its time limit.
    pub timed_out: bool,
    /// Whether the harness left out the middle of its output (the size cap).
    pub output_truncated: bool,
}

impl ExitInfo {
    /// Whether the run succeeded: exit code 0, no signal, no timeout.
    pub fn succeeded(&self) -> bool {
        self.code == Some(0) && self.signal.is_none() && !self.timed_out
    }
}
