//! Appends events to a transcript, each one on disk before the run goes on.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::format::Event;

/// Why an event could not be recorded. The run must stop: a run that cannot be recorded is lost.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("could not create the transcript {path} (is the folder writable, is the disk full?)")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not append to the transcript {path} (is the disk full?); events before this one are intact")]
    Append {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not encode a transcript event")]
    Encode(#[source] serde_norway::Error),
}

/// An open transcript, appended to one whole event at a time.
#[derive(Debug)]
pub struct TranscriptWriter {
    path: PathBuf,
    file: File,
}

impl TranscriptWriter {
    /// Creates a new transcript; refuses to overwrite an existing one.
    pub fn create(path: &Path) -> Result<Self, WriteError> {
        let create = |source| WriteError::Create {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(create)?;
        }
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)
            .map_err(create)?;
        Ok(TranscriptWriter {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one event as a complete YAML document and waits until it is on disk.
    pub fn append(&mut self, event: &Event) -> Result<(), WriteError> {
        let document = encode(event)?;
        let append = |source| WriteError::Append {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(document.as_bytes()).map_err(append)?;
        self.file.flush().map_err(append)?;
        self.file.sync_data().map_err(append)?;
        Ok(())
    }
}

/// One event as a YAML document: `---`, the body, `...`.
pub(crate) fn encode(event: &Event) -> Result<String, WriteError> {
    let body = serde_norway::to_string(event).map_err(WriteError::Encode)?;
    let body = body.strip_prefix("---\n").unwrap_or(&body);
    let mut document = String::with_capacity(body.len() + 8);
    document.push_str("---\n");
    document.push_str(body);
    if !body.ends_with('\n') {
        document.push('\n');
    }
    document.push_str("...\n");
    Ok(document)
}
