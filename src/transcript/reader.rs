//! Reads a transcript back, with errors that name the file and the line.

use std::path::{Path, PathBuf};

use super::format::{
    EndEvent, EndStatus, Event, FilesEvent, Header, OutcomeEvent, TrainingEvent, FORMAT_VERSION,
};

/// A transcript as read from disk.
#[derive(Debug, Clone)]
pub struct Transcript {
    pub path: PathBuf,
    pub header: Header,
    /// Every complete event after the header, in order.
    pub events: Vec<Event>,
    /// The line where a partial last event starts (a crash while writing it); it was ignored.
    pub partial_tail_line: Option<usize>,
    /// The byte offset of that line: the length of the file's complete part.
    pub partial_tail_offset: Option<usize>,
}

/// Why a transcript could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("could not read the transcript {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: the transcript is malformed: {message}")]
    Malformed {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: the transcript is inconsistent: {message}")]
    Inconsistent { path: PathBuf, message: String },
    #[error("{path}: the transcript has no header event; it is not a harness transcript")]
    NoHeader { path: PathBuf },
    #[error("{path}: the transcript was written in format version {found}, but this harness reads versions up to {supported}; use a newer harness")]
    NewerVersion {
        path: PathBuf,
        found: u64,
        supported: u32,
    },
}

impl Transcript {
    pub fn llm_id(&self) -> &str {
        &self.header.llm.id
    }

    /// The run id from the header.
    pub fn run_id(&self) -> &str {
        &self.header.run_id
    }

    /// The `end` event, absent when the run was interrupted.
    pub fn end(&self) -> Option<&EndEvent> {
        self.events.iter().find_map(|e| match e {
            Event::End(end) => Some(end),
            _ => None,
        })
    }

    /// Every training of the run's program (`harness train`), in order.
    pub fn trainings(&self) -> impl Iterator<Item = &TrainingEvent> {
        self.events.iter().filter_map(|e| match e {
            Event::Training(t) => Some(t.as_ref()),
            _ => None,
        })
    }

    /// The verdict of every iteration that reached one, in order.
    pub fn outcomes(&self) -> impl Iterator<Item = &OutcomeEvent> {
        self.events.iter().filter_map(|e| match e {
            Event::Outcome(o) => Some(o),
            _ => None,
        })
    }

    /// The files events, in order.
    pub fn files_events(&self) -> impl Iterator<Item = &FilesEvent> {
        self.events.iter().filter_map(|e| match e {
            Event::Files(f) => Some(f),
            _ => None,
        })
    }
}

/// Reads and validates a transcript file.
pub fn read_transcript(path: &Path) -> Result<Transcript, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_transcript(&text, path)
}

/// A document's body and the 1-based line of its first body line.
struct Document {
    body: String,
    first_line: usize,
}

pub(crate) fn parse_transcript(text: &str, path: &Path) -> Result<Transcript, ReadError> {
    let malformed = |line: usize, message: String| ReadError::Malformed {
        path: path.to_path_buf(),
        line,
        message,
    };

    let mut documents = Vec::new();
    let mut current: Option<Document> = None;
    let mut partial_tail_line = None;
    let mut offset = 0usize;
    let mut line_offsets = Vec::new();
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        line_offsets.push(offset);
        offset += line.len();
        let bare = line.trim_end_matches(['\n', '\r']);
        match (&mut current, bare) {
            (None, "---") => {
                current = Some(Document {
                    body: String::new(),
                    first_line: number + 1,
                })
            }
            (None, other) if other.trim().is_empty() => {}
            // A last line without its newline: the start of an event cut short by a crash.
            (None, _) if !line.ends_with('\n') => partial_tail_line = Some(number),
            (None, _) => {
                return Err(malformed(
                    number,
                    "expected `---` to start an event".to_string(),
                ))
            }
            (Some(_), "...") => {
                if let Some(doc) = current.take() {
                    documents.push(doc);
                }
            }
            (Some(_), "---") => {
                return Err(malformed(
                    number,
                    "an event starts before the previous one ended with `...`".to_string(),
                ))
            }
            (Some(doc), _) => doc.body.push_str(line),
        }
    }
    if let Some(doc) = current {
        partial_tail_line = Some(doc.first_line - 1);
    }
    let partial_tail_offset = partial_tail_line.map(|line| line_offsets[line - 1]);

    let mut iter = documents.into_iter();
    let Some(first) = iter.next() else {
        return Err(ReadError::NoHeader {
            path: path.to_path_buf(),
        });
    };
    check_version(&first, path)?;
    let header = match decode(&first, path)? {
        Event::Header(header) => *header,
        _ => {
            return Err(ReadError::NoHeader {
                path: path.to_path_buf(),
            })
        }
    };
    let mut events = Vec::new();
    for doc in iter {
        let event = decode(&doc, path)?;
        if matches!(event, Event::Header(_)) {
            return Err(malformed(
                doc.first_line - 1,
                "a second header event".to_string(),
            ));
        }
        if let Event::Resume(resume) = &event {
            drop_interrupted(&mut events, resume.iteration, resume.reused_reply);
        }
        events.push(event);
    }
    Ok(Transcript {
        path: path.to_path_buf(),
        header,
        events,
        partial_tail_line,
        partial_tail_offset,
    })
}

/// Drops what a resume redoes: the interrupted iteration's steps after its reply, and its request
/// (with its final model error) as well when the reply was never recorded. A run that had ended
/// aborted (the API or the machine failed) loses that end: it goes on from here.
fn drop_interrupted(events: &mut Vec<Event>, iteration: u32, reused_reply: bool) {
    events.retain(|event| match event {
        Event::Files(e) => e.iteration != iteration,
        Event::Build(e) => e.iteration != iteration,
        Event::Run(e) => e.iteration != iteration,
        Event::Outcome(e) => e.iteration != iteration,
        Event::Request(e) => reused_reply || e.iteration != iteration,
        Event::ModelError(e) => e.iteration != iteration,
        Event::End(e) => e.status != EndStatus::Aborted,
        _ => true,
    });
}

fn check_version(doc: &Document, path: &Path) -> Result<(), ReadError> {
    let value: serde_norway::Value =
        serde_norway::from_str(&doc.body).map_err(|e| yaml_error(doc, path, e))?;
    let found = value.get("format_version").and_then(|v| v.as_u64());
    match found {
        Some(found) if found > u64::from(FORMAT_VERSION) => Err(ReadError::NewerVersion {
            path: path.to_path_buf(),
            found,
            supported: FORMAT_VERSION,
        }),
        Some(_) => Ok(()),
        None => Err(ReadError::NoHeader {
            path: path.to_path_buf(),
        }),
    }
}

fn decode(doc: &Document, path: &Path) -> Result<Event, ReadError> {
    serde_norway::from_str(&doc.body).map_err(|e| yaml_error(doc, path, e))
}

fn yaml_error(doc: &Document, path: &Path, error: serde_norway::Error) -> ReadError {
    let line = error
        .location()
        .map(|l| doc.first_line + l.line().saturating_sub(1))
        .unwrap_or(doc.first_line);
    ReadError::Malformed {
        path: path.to_path_buf(),
        line,
        message: error.to_string(),
    }
}
