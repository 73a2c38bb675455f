//! The transcript: the on-disk record of one run, its writer and its reader.
//!
//! See `format.rs` for the format itself. Architecture invariant: these types *are* the format;
//! changing them means bumping `FORMAT_VERSION` and keeping older files readable.

mod files;
mod format;
mod reader;
mod writer;

pub use format::{
    AttemptEvent, BuildEvent, DatasetRecord, DiceSummary, EndEvent, EndStatus, Event, FileEntry,
    FilesEvent, HarnessInfo, Header, ImportInfo, ImportedError, MachineInfo, ModelErrorEvent,
    OutcomeEvent, PhaseLimits, ReplyEvent, RequestEvent, ResumeEvent, RunEvent, RunLimits,
    TargetInfo, ToolchainInfo, TrainingEvent, FORMAT_VERSION,
};
#[cfg(test)]
pub(crate) use reader::parse_transcript;
pub use reader::{read_transcript, ReadError, Transcript};
pub use writer::{TranscriptWriter, WriteError};

/// The file name of a transcript inside its run folder.
pub const TRANSCRIPT_FILE: &str = "transcript.yaml";

#[cfg(test)]
mod tests;
