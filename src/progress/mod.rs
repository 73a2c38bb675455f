//! Progress on stderr, in one place: on a terminal, indicatif's spinners and bars; elsewhere (a
//! CI log, `nohup`, a pipe), plain lines, repeated at least every 10 seconds while a step
//! lasts, so that long work never goes silent.
//!
//! `runs.rs` is the display of fix-loop runs (`generate`, `replay`, `train`), `steps.rs` that of
//! provisioning and downloads (`setup`, `data fetch`, `data synth`), `lines.rs` what both share,
//! and `human.rs` the sizes and durations they print.

mod human;
mod lines;
mod runs;
mod steps;

pub use human::{human_bytes, human_duration};
pub use runs::{Progress, ProgressGroup, HEARTBEAT};
pub use steps::{SetupProgress, Step, StepHandle, PLAIN_INTERVAL};
