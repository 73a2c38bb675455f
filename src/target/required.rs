//! The `missing-files` error: the files a reply (with those kept from earlier replies) gives
//! lack one that every build needs. The reply's error, never a compile error.

use std::collections::BTreeMap;

use crate::taxonomy::{Category, ErrorRecord};

/// The error when `files` lacks one of `required`; `expected` is every file the prompt asks
/// for, named in the feedback.
pub(crate) fn missing_files(
    required: &[&str],
    expected: &[&str],
    files: &BTreeMap<String, String>,
) -> Option<ErrorRecord> {
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|path| !files.contains_key(*path))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let quoted = |paths: &[&str]| {
        paths
            .iter()
            .map(|path| format!("`{path}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let message = format!(
        "the reply does not give {}, without which the crate cannot be built",
        quoted(&missing)
    );
    let mut error = ErrorRecord::new(Category::MissingFiles, message.clone());
    error.rendered = Some(format!(
        "{message}. The crate's files are {}; give each in full in its own fenced code block whose info string names its path.",
        quoted(expected)
    ));
    Some(error)
}
