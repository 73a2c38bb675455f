//! What the loop is doing, for the progress display.

/// What the loop is doing, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    WaitingForModel,
    /// A model call failed and is tried again after a wait (so a long wait is never silent).
    Retrying {
        attempt: u32,
        wait_ms: u64,
    },
    Building,
    Running,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::WaitingForModel => "waiting for the model",
            Phase::Retrying { attempt, wait_ms } => {
                return write!(
                    f,
                    "attempt {attempt} failed (not charged to the LLM); trying again in {:.1} s",
                    *wait_ms as f64 / 1000.0
                )
            }
            Phase::Building => "building",
            Phase::Running => "running",
        })
    }
}
