//! Chat exports (text copied out of a chat window) read into recorded runs: the window's layout
//! recognised by its markers, the text split into turns, the turns into rounds, each pasted
//! error classified, and the result written in the transcript format, marked as imported, so
//! that every report treats it like a run and counts it by the same rules.
//!
//! Nothing is written unless every file given reads: an empty, binary or unrecognised export is
//! refused with a message naming it and what to do.

mod code;
mod layout;
mod record;
mod rounds;
mod turns;

use std::path::{Path, PathBuf};

pub use layout::{detect, Detection, Layout, Undetected};
pub use record::target_id;
pub use rounds::{rounds, Chat, Feedback, Round, Stage};
pub use turns::{split_turns, Speaker, Turn};

use crate::config::LlmSpec;
use crate::hashing::sha256_hex;
use crate::transcript::{ImportInfo, ImportedError};

/// The languages a study chat asked for.
pub const LANGUAGES: [&str; 2] = ["pytorch", "tensorflow"];

/// Why an export could not be imported. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("could not read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is empty: there is no chat to import")]
    Empty { path: PathBuf },
    #[error(
        "{path} is not text (it holds a NUL byte or is not UTF-8): export the chat as plain text"
    )]
    Binary { path: PathBuf },
    #[error("{path}: no chat window's layout was recognised; name it with --layout ({choices})")]
    UnknownLayout { path: PathBuf, choices: String },
    #[error("{path}: the layout is unclear ({candidates}); name it with --layout ({choices})")]
    AmbiguousLayout {
        path: PathBuf,
        candidates: String,
        choices: String,
    },
    #[error("{path}: no reply was found with the {layout} layout; check --layout ({choices})")]
    NoReply {
        path: PathBuf,
        layout: Layout,
        choices: String,
    },
    #[error("{path}: the language is unclear (no message names PyTorch or TensorFlow alone); give --language pytorch or tensorflow")]
    UnknownLanguage { path: PathBuf },
    #[error(
        "{path} was already imported as {run}: its content is the same, so nothing was written"
    )]
    AlreadyImported { path: PathBuf, run: PathBuf },
    #[error("could not write the run {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// What to import and how.
pub struct ImportOptions<'a> {
    pub llm: &'a LlmSpec,
    /// `None`: recognise it.
    pub layout: Option<Layout>,
    /// `None`: from the first message.
    pub language: Option<String>,
}

/// One export, read and analysed, ready to be written.
pub struct Analysed {
    pub path: PathBuf,
    pub text: String,
    pub sha256: String,
    pub detection: Detection,
    pub layout_given: bool,
    pub language: String,
    pub turns: Vec<Turn>,
    pub chat: Chat,
}

impl Analysed {
    /// The run id: the LLM, the language and the export's hash, so importing the same export
    /// twice is noticed.
    pub fn run_id(&self, llm: &str) -> String {
        format!("{llm}-chat-{}-{}", self.language, &self.sha256[..12])
    }

    /// Pasted errors before the code first ran, and how many of them were distinct.
    pub fn error_counts(&self) -> (usize, usize) {
        let errors: Vec<&Feedback> = self
            .chat
            .before_first_run()
            .filter_map(|round| round.feedback.as_ref())
            .filter(|feedback| feedback.error.is_some())
            .collect();
        let distinct = errors.iter().filter(|f| f.repeat_of.is_none()).count();
        (errors.len(), distinct)
    }

    /// The turns the importer was not sure of.
    pub fn unsure(&self) -> Vec<String> {
        let mut unsure: Vec<String> = self
            .turns
            .iter()
            .filter_map(|turn| {
                turn.unsure
                    .as_ref()
                    .map(|why| format!("lines {}-{}: {why}", turn.first_line, turn.last_line))
            })
            .collect();
        unsure.dedup();
        unsure
    }
}

/// Reads and analyses one export; writes nothing.
pub fn analyse(path: &Path, options: &ImportOptions) -> Result<Analysed, ImportError> {
    let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::Empty {
            path: path.to_path_buf(),
        });
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) if !text.contains('\0') => text,
        _ => {
            return Err(ImportError::Binary {
                path: path.to_path_buf(),
            })
        }
    };
    let sha256 = sha256_hex(text.as_bytes());
    let (detection, layout_given) = match options.layout {
        Some(layout) => (
            Detection {
                layout,
                evidence: vec!["given (--layout)".to_owned()],
            },
            true,
        ),
        None => match detect(&text) {
            Ok(detection) => (detection, false),
            Err(Undetected::None) => {
                return Err(ImportError::UnknownLayout {
                    path: path.to_path_buf(),
                    choices: Layout::names(),
                })
            }
            Err(Undetected::Ambiguous(candidates)) => {
                return Err(ImportError::AmbiguousLayout {
                    path: path.to_path_buf(),
                    candidates: candidates
                        .iter()
                        .map(|c| format!("{} ({})", c.layout, c.evidence.join("; ")))
                        .collect::<Vec<_>>()
                        .join(" or "),
                    choices: Layout::names(),
                })
            }
        },
    };
    let turns = split_turns(&text, detection.layout);
    let chat = rounds(&turns);
    if chat.rounds.is_empty() {
        return Err(ImportError::NoReply {
            path: path.to_path_buf(),
            layout: detection.layout,
            choices: Layout::names(),
        });
    }
    let language = match &options.language {
        Some(language) => language.clone(),
        None => language_of(&chat).ok_or_else(|| ImportError::UnknownLanguage {
            path: path.to_path_buf(),
        })?,
    };
    Ok(Analysed {
        path: path.to_path_buf(),
        text,
        sha256,
        detection,
        layout_given,
        language,
        turns,
        chat,
    })
}

/// The framework the user asks for: the first request that names one of them alone (a prompt
/// sent in parts names it in a later part).
fn language_of(chat: &Chat) -> Option<String> {
    chat.rounds.iter().find_map(|round| {
        let lower = round.request.to_lowercase();
        match (lower.contains("pytorch"), lower.contains("tensorflow")) {
            (true, false) => Some("pytorch".to_owned()),
            (false, true) => Some("tensorflow".to_owned()),
            _ => None,
        }
    })
}

/// Writes an analysed export as a run under `runs_dir`, and its final files as `crate/`; the
/// run folder appears whole or not at all. Returns its folder.
pub fn write(analysed: &Analysed, llm: &LlmSpec, runs_dir: &Path) -> Result<PathBuf, ImportError> {
    let run_id = analysed.run_id(&llm.id);
    let dir = runs_dir.join(&run_id);
    if dir.exists() {
        return Err(ImportError::AlreadyImported {
            path: analysed.path.clone(),
            run: dir,
        });
    }
    let write_error = |source: Box<dyn std::error::Error + Send + Sync>| ImportError::Write {
        path: dir.clone(),
        source,
    };
    let staging = runs_dir.join(format!(".{run_id}.importing"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| write_error(Box::new(e)))?;
    }
    let chat = &analysed.chat;
    let import = ImportInfo {
        source_file: analysed.path.file_name().map_or_else(
            || "-".to_owned(),
            |name| name.to_string_lossy().into_owned(),
        ),
        source_sha256: analysed.sha256.clone(),
        layout: analysed.detection.layout.name().to_owned(),
        layout_evidence: analysed.detection.evidence.clone(),
        language: analysed.language.clone(),
        first_clean_run: chat.first_clean_run,
        errors: chat
            .rounds
            .iter()
            .filter_map(|round| {
                let feedback = round.feedback.as_ref()?;
                feedback.error.as_ref()?;
                Some(ImportedError {
                    iteration: round.iteration,
                    lines: [feedback.lines.0, feedback.lines.1],
                    stage: feedback.stage?.name().to_owned(),
                    repeat_of: feedback.repeat_of,
                })
            })
            .collect(),
        unsure: analysed.unsure(),
        trailing_user_text: chat
            .unanswered
            .then(|| chat.rounds.last().and_then(|r| r.feedback.as_ref()))
            .flatten()
            .map(|feedback| feedback.text.clone()),
    };
    record::write_run(
        &staging.join("transcript.yaml"),
        chat,
        record::Provenance {
            run_id: run_id.clone(),
            llm: llm.clone(),
            import,
        },
    )
    .map_err(|e| write_error(Box::new(e)))?;
    let transcript = crate::transcript::read_transcript(&staging.join("transcript.yaml"))
        .map_err(|e| write_error(Box::new(e)))?;
    let files = crate::runs::final_files(&transcript).map_err(|e| write_error(Box::new(e)))?;
    crate::runs::write_crate(&staging.join("crate"), &files)
        .map_err(|e| write_error(Box::new(e)))?;
    std::fs::rename(&staging, &dir).map_err(|e| write_error(Box::new(e)))?;
    Ok(dir)
}
