//! Targets: what the LLM is asked to write, and how the harness builds, runs and checks it.
//!
//! The fix loop knows nothing about U-Nets or even about Rust: a target supplies its prompt
//! templates, the files it expects, the files the harness owns in the crate, a build and a smoke
//! run. A Python target slots in by implementing the same trait (its "build" a byte-compile, its
//! program an interpreter command).

mod cargo;
mod rust_tiny;
pub mod unet_checks;

use std::path::PathBuf;
use std::time::Duration;

pub use rust_tiny::RustTiny;

use crate::diagnostics::ExitInfo;
use crate::prompt::Templates;
use crate::sandbox::Isolation;
use crate::taxonomy::ErrorRecord;
use crate::workspace::Workspace;

/// A program the build produced, copied out of the build folder right after the build.
#[derive(Debug, Clone)]
pub struct BuiltProgram {
    pub path: PathBuf,
    pub sha256: String,
}

/// The result of a build. Errors in the infrastructure tier mean the harness could not judge
/// the crate (the toolchain is missing, say); the loop then stops without charging the LLM.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    pub errors: Vec<ErrorRecord>,
    pub warnings: usize,
    /// Present exactly when the build succeeded.
    pub program: Option<BuiltProgram>,
    pub duration: Duration,
}

/// The result of a smoke run, output checks included.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub exit: ExitInfo,
    pub errors: Vec<ErrorRecord>,
    pub duration: Duration,
}

/// One kind of program the harness can ask for.
pub trait Target: Send + Sync {
    /// The stable id, also the folder of its templates under `prompts/`.
    fn id(&self) -> &'static str;
    fn templates(&self) -> &Templates;
    /// The files the prompt asks for, relative to the crate root.
    fn expected_files(&self) -> &[&'static str];
    /// Files the harness writes into the crate after the reply's, which the reply cannot change.
    fn owned_files(&self) -> Vec<(String, String)>;
    /// Builds the crate as it is on disk, through the target's `Isolation`. `iteration` names
    /// the copy of the program it keeps.
    fn build(&self, workspace: &Workspace, iteration: u32) -> BuildOutcome;
    /// Runs the built program on the smoke input, through the target's `Isolation`, and
    /// checks what it wrote (without following links the program may have planted).
    fn smoke_run(&self, workspace: &Workspace, program: &BuiltProgram) -> RunOutcome;
}

/// Every target this harness has, each running generated code through `isolation`.
pub fn all(isolation: &Isolation) -> Vec<Box<dyn Target>> {
    vec![Box::new(RustTiny::new(isolation.clone()))]
}

/// The target with this id, or the list of known ids.
pub fn by_id(id: &str, isolation: &Isolation) -> Result<Box<dyn Target>, String> {
    let mut known = Vec::new();
    for target in all(isolation) {
        if target.id() == id {
            return Ok(target);
        }
        known.push(target.id());
    }
    Err(format!(
        "unknown target `{id}`; known targets: {}",
        known.join(", ")
    ))
}

/// The target `generate` uses when none is given.
pub const DEFAULT_TARGET: &str = "rust-tiny";
