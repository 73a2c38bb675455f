//! Replay drift: the request (or the verdict) the harness builds now differs from the recorded
//! one.

/// The request differs from the recorded one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("replay drifted at iteration {iteration}: {what} differs from the recording\n{diff}")]
pub struct ReplayDrift {
    pub iteration: u32,
    /// Which part differs: "message 3 (user)", "the model name", ...
    pub what: String,
    /// A unified diff, recorded to replayed.
    pub diff: String,
}
