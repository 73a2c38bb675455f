//! `harness`: benchmarks LLMs as programmers on one realistic task, mechanically and replayably.
//!
//! See `ARCHITECTURE.md` for the map. The binary (`src/main.rs`) only parses, sets up logging,
//! dispatches to `commands` and maps errors to exit codes.

pub mod atomic_file;
pub mod chat_import;
pub mod cli;
pub mod commands;
pub mod config;
pub mod csv_text;
pub mod dataset;
pub mod diagnostics;
pub mod error_chain;
pub mod eval;
pub mod exec;
pub mod extract;
pub mod hashing;
pub mod interrupt;
pub mod llm;
pub mod progress;
pub mod prompt;
pub mod report;
pub mod runs;
pub mod sandbox;
pub mod session;
pub mod stats;
pub mod target;
pub mod taxonomy;
pub mod textdiff;
pub mod toolchain;
pub mod train;
pub mod transcript;
pub mod workspace;

/// How a unit test that cannot run here says so: the integration tests' helper, one file for
/// both (`SKIPPED:` on stderr, the skip log, a failure under CI where CI must run it).
#[cfg(test)]
#[allow(dead_code)]
#[path = "../tests/it/support/skip.rs"]
mod test_skip;
