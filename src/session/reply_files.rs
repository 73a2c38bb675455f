//! A reply turned into files: the `files` event, and the reply's own errors (refused, cut
//! off, no code, no file named, a file every build needs missing).

use std::collections::BTreeMap;

use crate::config::LlmSpec;
use crate::extract::ExtractError;
use crate::hashing::sha256_hex;
use crate::llm::{FinishReason, Reply};
use crate::target::Target;
use crate::taxonomy::{Category, ErrorRecord};
use crate::transcript::{FileEntry, FilesEvent};

/// Applies `reply` to `files` (the crate so far); returns the `files` event of `iteration` and
/// the reply's errors.
pub(crate) fn apply_reply(
    iteration: u32,
    reply: &Reply,
    llm: &LlmSpec,
    target: &dyn Target,
    files: &mut BTreeMap<String, String>,
) -> (FilesEvent, Vec<ErrorRecord>) {
    let (written, notes, errors) = reply_files(reply, llm, target, files);
    let inferred = written
        .iter()
        .filter(|entry| entry.1)
        .map(|entry| entry.0.path.clone())
        .collect();
    let written: Vec<FileEntry> = written.into_iter().map(|entry| entry.0).collect();
    let kept = files
        .iter()
        .filter(|(path, _)| !written.iter().any(|w: &FileEntry| &w.path == *path))
        .map(|(path, content)| FileEntry {
            path: path.clone(),
            sha256: sha256_hex(content.as_bytes()),
            content: None,
            span: None,
        })
        .collect();
    let event = FilesEvent {
        iteration,
        written,
        kept,
        notes,
        inferred,
    };
    (event, errors)
}

/// A reply cut by the output token limit (`docs/methodology.md`, C6): the LLM's own `truncated`
/// where the model's limit cut it, or where its limit is not known; a harness limit where the
/// harness's `max_tokens` was below what the model could have written.
fn truncation(llm: &LlmSpec) -> ErrorRecord {
    let harness_cap = match (llm.params.max_tokens, llm.limits) {
        (Some(cap), Some(limits)) if cap < limits.output_tokens => Some((cap, limits)),
        _ => None,
    };
    let (category, message) = match harness_cap {
        Some((cap, limits)) => (
            Category::InfraLimit,
            format!(
                "the reply was cut at the harness's cap of {cap} output tokens, below the {} the model can write: a harness limit, not charged to the LLM; raise `params.max_tokens` for `{}` in a registry file (--registry) to measure it",
                limits.output_tokens, llm.id
            ),
        ),
        None => (
            Category::Truncated,
            "the reply was cut off at the output token limit before it was complete; its files were not used".to_string(),
        ),
    };
    let mut error = ErrorRecord::new(category, message.clone());
    error.rendered = Some(message);
    error
}

/// Applies the reply's files to `files`; returns what was written (each with whether its path
/// was inferred), extraction notes and the reply-tier errors (truncated, refused, no code,
/// unparseable, missing files).
fn reply_files(
    reply: &Reply,
    llm: &LlmSpec,
    target: &dyn Target,
    files: &mut BTreeMap<String, String>,
) -> (Vec<(FileEntry, bool)>, Vec<String>, Vec<ErrorRecord>) {
    if reply.refusal.is_some() || reply.finish_reason == FinishReason::ContentFilter {
        let message = "the reply was a refusal (or was stopped by the provider's content filter)";
        return (
            Vec::new(),
            Vec::new(),
            vec![reply_error(Category::Refused, message)],
        );
    }
    if reply.finish_reason == FinishReason::Length {
        return (Vec::new(), Vec::new(), vec![truncation(llm)]);
    }
    match target.extract(&reply.text) {
        Ok(extraction) => {
            let written = extraction
                .files
                .into_iter()
                .map(|file| {
                    let entry = FileEntry::written(file.path.clone(), &file.content, &reply.text);
                    files.insert(file.path, file.content);
                    (entry, file.guessed)
                })
                .collect();
            let errors = target.missing_files(files).into_iter().collect();
            (written, extraction.notes, errors)
        }
        Err(error) => {
            let (notes, error) = extraction_error(error);
            (Vec::new(), notes, vec![error])
        }
    }
}

/// A reply error whose message is its whole text.
fn reply_error(category: Category, message: &str) -> ErrorRecord {
    let mut error = ErrorRecord::new(category, message);
    error.rendered = Some(message.to_string());
    error
}

/// Why a reply gave no files, as its notes and its error.
fn extraction_error(error: ExtractError) -> (Vec<String>, ErrorRecord) {
    match error {
        ExtractError::NoCode => (
            Vec::new(),
            reply_error(Category::NoCode, "the reply contains no code block"),
        ),
        ExtractError::UnparseableFiles { notes } => {
            let mut message = "no code block in the reply names the file it belongs to".to_string();
            for note in &notes {
                message.push_str("\n- ");
                message.push_str(note);
            }
            let mut error = ErrorRecord::new(
                Category::UnparseableFiles,
                "no code block in the reply names the file it belongs to",
            );
            error.rendered = Some(message);
            (notes, error)
        }
    }
}
