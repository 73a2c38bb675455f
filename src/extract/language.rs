//! A block's language, from its info string or a path's extension, in one canonical name each.

use super::paths::{file_name, Candidate};

/// Info-string languages whose comments start with `#`.
pub(super) const HASH_COMMENT_LANGS: &[&str] = &[
    "toml",
    "python",
    "python3",
    "py",
    "yaml",
    "yml",
    "bash",
    "sh",
    "shell",
    "zsh",
    "dockerfile",
    "makefile",
    "make",
    "ini",
    "cfg",
    "conf",
    "r",
    "ruby",
    "rb",
    "perl",
    "cmake",
    "gitignore",
];

/// Info-string languages that mark commands to type rather than a file.
const SHELL_LANGS: &[&str] = &[
    "bash",
    "sh",
    "shell",
    "zsh",
    "fish",
    "console",
    "terminal",
    "shell-session",
    "shellsession",
    "powershell",
    "ps",
    "ps1",
    "cmd",
    "bat",
];

/// The block's language from its info string, in canonical form; from the extension when the
/// info string starts with a path.
pub(super) fn language(info: &str) -> String {
    let first = info.split_whitespace().next().unwrap_or("");
    let first = first.trim_start_matches(['{', '.']);
    let word = first.split([',', ':', '{', '}', '=']).next().unwrap_or("");
    if word.contains(['.', '/', '\\']) {
        return language_of_path(word);
    }
    canonical_language(&word.to_ascii_lowercase()).to_owned()
}

/// The language a file's extension implies, in canonical form.
fn language_of_path(path: &str) -> String {
    let name = file_name(path);
    let ext = name.rsplit_once('.').map_or("", |(_, ext)| ext);
    canonical_language(&ext.to_ascii_lowercase()).to_owned()
}

/// One name per language, so that a `rs` block and a `.rs` file agree.
fn canonical_language(lang: &str) -> &str {
    match lang {
        "rs" => "rust",
        "py" | "python3" => "python",
        "yml" => "yaml",
        "md" => "markdown",
        "sh" | "shell" | "zsh" => "bash",
        other => other,
    }
}

/// Whether a block's language fits the file a label above it names.
pub(super) fn fits_language(lang: &str, candidate: &Candidate) -> bool {
    let path = match candidate {
        Candidate::Path(path) => path,
        Candidate::Refused { written, .. } => written,
    };
    !lang.is_empty() && language_of_path(path) == lang
}

pub(super) fn is_rust(lang: &str) -> bool {
    lang == "rust"
}

pub(super) fn is_shell(lang: &str) -> bool {
    SHELL_LANGS.contains(&lang)
}

/// A block without a language, or one tagged as plain text.
pub(super) fn is_generic(lang: &str) -> bool {
    matches!(lang, "" | "text" | "txt" | "plain" | "plaintext")
}
