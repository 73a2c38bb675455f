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
    /// Events appended by this writer, for fault injection.
    appended: u32,
    kill_at: Option<KillPoint>,
}

/// Fault injection for the crash-safety tests: `HARNESS_FAULT_KILL_AT=N` kills the process with
/// SIGKILL right after the N-th event this writer appends; `N.5` kills it halfway through
/// writing the N-th event, leaving a partial document behind. Unset in normal use.
pub const FAULT_KILL_AT: &str = "HARNESS_FAULT_KILL_AT";

#[derive(Debug, Clone, Copy)]
struct KillPoint {
    event: u32,
    halfway: bool,
}

fn kill_point() -> Option<KillPoint> {
    let text = std::env::var(FAULT_KILL_AT).ok()?;
    let (event, halfway) = match text.strip_suffix(".5") {
        Some(whole) => (whole, true),
        None => (text.as_str(), false),
    };
    Some(KillPoint {
        event: event.parse().ok()?,
        halfway,
    })
}

fn kill_self() -> ! {
    // SAFETY: raise(3) has no memory-safety preconditions; SIGKILL cannot be caught.
    unsafe {
        libc::raise(libc::SIGKILL);
    }
    unreachable!("SIGKILL ends the process")
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
            appended: 0,
            kill_at: kill_point(),
        })
    }

    /// Reopens an interrupted transcript to append to it. `complete_len` is the length of its
    /// complete events; anything after it (a half-written event) is moved to `<path>.partial`
    /// first, so nothing recorded is lost and the file parses again.
    pub fn reopen(path: &Path, complete_len: u64) -> Result<Self, WriteError> {
        let append = |source| WriteError::Append {
            path: path.to_path_buf(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(append)?;
        let len = file.metadata().map_err(append)?.len();
        if len > complete_len {
            use std::io::{Read, Seek, SeekFrom};
            let mut tail = Vec::new();
            file.seek(SeekFrom::Start(complete_len)).map_err(append)?;
            file.read_to_end(&mut tail).map_err(append)?;
            let mut side_name = path.as_os_str().to_owned();
            side_name.push(".partial");
            let mut side = OpenOptions::new()
                .create(true)
                .append(true)
                .open(PathBuf::from(side_name))
                .map_err(append)?;
            side.write_all(&tail).map_err(append)?;
            side.sync_all().map_err(append)?;
            file.set_len(complete_len).map_err(append)?;
            file.sync_all().map_err(append)?;
        }
        Ok(TranscriptWriter {
            path: path.to_path_buf(),
            file,
            appended: 0,
            kill_at: kill_point(),
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
        self.appended += 1;
        let kill = self.kill_at.filter(|k| k.event == self.appended);
        let bytes = document.as_bytes();
        if let Some(KillPoint { halfway: true, .. }) = kill {
            self.file
                .write_all(&bytes[..bytes.len() / 2])
                .map_err(append)?;
            self.file.sync_data().map_err(append)?;
            kill_self();
        }
        self.file.write_all(bytes).map_err(append)?;
        self.file.flush().map_err(append)?;
        self.file.sync_data().map_err(append)?;
        if kill.is_some() {
            kill_self();
        }
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
