//! Reply text to files: finds fenced code blocks and the path each one is for.
//!
//! An LLM asked for a multi-file program answers in Markdown: prose, headings and fenced code
//! blocks. This module finds the blocks and decides which file each one is, without any I/O.
//!
//! # Blocks
//!
//! Fences follow CommonMark: a run of at least three backticks or tildes, indented by at most three
//! spaces; the closing fence uses the same character, is at least as long and has nothing but
//! whitespace after it. A shorter fence inside a longer one is content, so a reply can show a
//! Markdown snippet inside a four-backtick block. Inside a `markdown` block (a README, say) a fence
//! with an info string opens a nested block that its own bare fence closes, because LLMs rarely
//! lengthen the outer fence. A block still open at the end of the reply (the reply was cut off)
//! keeps what it has, with a note. A file's content is exactly the lines between the fences, less
//! the fence's own indentation (a block inside a list item), each ending with `\n`.
//!
//! # Paths
//!
//! Each block's path comes from the first of these that names one:
//!
//! 1. the fence's info string: `rust src/main.rs`, `src/main.rs`, `rust:src/main.rs`,
//!    `rust title="src/main.rs"`, `rust file=src/main.rs`;
//! 2. a label at most two non-blank lines above the fence, after any earlier block: a short line
//!    that is little more than the path (`### src/main.rs`, `**src/main.rs**`, `` `Cargo.toml`: ``,
//!    `File: src/main.rs`, `1. **src/dataset.rs** - loads images`), or a heading or bold line
//!    that names exactly one path in a code span (``### 2. The model (`src/model.rs`)``);
//! 3. a comment on the block's first line that is little more than the path: `// src/main.rs`,
//!    `// File: src/main.rs`, `# Cargo.toml` in a TOML block, `# src/app.py` in a Python block;
//!    a `//!` or `///` doc comment counts only when it is exactly a path. The line stays in the
//!    content, since it is valid code;
//! 4. a short prose line ending with a colon that names exactly one path
//!    (``Now update `src/main.rs` to use it:``), when the block's language is the file's
//!    (`rust` for `.rs`). It ranks below the first-line comment because prose often mentions other
//!    files.
//!
//! A label above a shell block (`bash`, `sh`, `console`) counts only for a shell script: a heading
//! `Cargo.toml` over `cargo add tch` is about the manifest, not the commands.
//!
//! A path candidate has only the characters `[A-Za-z0-9_.-/]` once backticks, quotes, asterisks and
//! a trailing colon are stripped, and its file name has an extension (or is a known extensionless
//! name such as `Makefile`). A bare name without a directory must have a well-known extension, so
//! that `nn.Module` or `e.g.` in prose are not taken for files; any expected path is always
//! accepted. `./` and `.` components are dropped and backslashes become `/`. A bare file name that
//! is the name of exactly one expected file becomes that file (`main.rs` -> `src/main.rs`); a path
//! with an explicit directory is kept as written.
//!
//! Refused, with a note: absolute paths, paths with a `..` component, anything under `.cargo/`,
//! `target/` or `.git/`, and `Cargo.lock`. The harness owns those.
//!
//! # Fallbacks for blocks that name no file
//!
//! Each one is recorded in the notes, since it is a guess:
//!
//! - a `toml` (or untagged) block with a `[package]` table becomes `Cargo.toml`, when `Cargo.toml`
//!   is expected and no block names it;
//! - when exactly one expected `.rs` file is named by no block and exactly one `rust` block names
//!   no file, that block becomes that file.
//!
//! Every other such block is skipped with a note (shell commands, directory trees, snippets).
//!
//! # Duplicates and errors
//!
//! When two blocks name the same path the last one wins, with a note; files keep the order in
//! which their paths first appeared. A reply without any block is [`ExtractError::NoCode`]; one
//! whose blocks yield no file at all is [`ExtractError::UnparseableFiles`].

use std::collections::{HashMap, HashSet};

/// A file the reply provides. `path` is relative, '/'-separated, normalised (no `./`, no `..`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExtractedFile {
    /// Where the file goes, relative to the crate root.
    pub path: String,
    /// The block's lines, each ending with `\n`.
    pub content: String,
}

/// What extraction found: the files, plus human-readable notes on what was skipped or guessed
/// (a block with no path, a duplicate path where the last one won, a path that was refused).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Extraction {
    /// One entry per path, in the order the paths first appear in the reply.
    pub files: Vec<ExtractedFile>,
    /// One sentence per block that was skipped, guessed, refused, replaced or cut off.
    pub notes: Vec<String>,
}

/// Why a reply yields no files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// No fenced code block at all.
    #[error("the reply contains no code block")]
    NoCode,
    /// Code blocks exist but none could be tied to a file path. Carries the notes.
    #[error("no code block in the reply names the file it belongs to")]
    UnparseableFiles {
        /// Why each block was left out.
        notes: Vec<String>,
    },
}

/// Longest line (in characters) that can label the block below it.
const MAX_LABEL_CHARS: usize = 120;
/// Longest prose line (in characters) whose path can label the block below it.
const MAX_PROSE_CHARS: usize = 100;
/// How many lines above a fence may hold its label, blank ones included.
const LOOK_BACK_LINES: usize = 5;
/// How many non-blank lines above a fence may hold its label.
const LOOK_BACK_NON_BLANK: usize = 2;
/// Longest text considered as a path candidate.
const MAX_PATH_CHARS: usize = 200;

/// File names without an extension that are still clearly files.
const EXTENSIONLESS_NAMES: &[&str] = &[
    "Makefile",
    "GNUmakefile",
    "Dockerfile",
    "Containerfile",
    "Justfile",
    "justfile",
    "Procfile",
    "LICENSE",
];

/// Extensions a bare file name (one without a directory) must have to count as a path.
const KNOWN_EXTENSIONS: &[&str] = &[
    "rs", "toml", "py", "pyi", "ipynb", "md", "rst", "txt", "json", "yaml", "yml", "cfg", "ini",
    "conf", "sh", "bash", "ps1", "bat", "lock", "c", "h", "cc", "cpp", "hpp", "cu", "cuh", "js",
    "mjs", "ts", "tsx", "jsx", "html", "css", "go", "java", "kt", "rb", "r", "jl", "csv", "sql",
    "xml", "proto", "wgsl", "glsl", "cmake", "mk", "in", "env",
];

/// Info-string languages whose comments start with `#`.
const HASH_COMMENT_LANGS: &[&str] = &[
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

/// Words that may precede a path on a label line ("File: src/main.rs", "Step 2: src/model.rs").
const LABEL_WORDS: &[&str] = &[
    "file", "filename", "filepath", "path", "step", "create", "update", "updated", "new",
    "modified", "complete", "full", "final",
];

/// `expected` lists the files the target asks for (e.g. ["Cargo.toml", "src/main.rs", "src/model.rs"]).
///
/// It maps bare file names onto directories and decides the fallbacks; a file that is not
/// expected is still extracted. Fails only when the reply has no block, or no block yields a file.
pub fn extract_files(reply: &str, expected: &[&str]) -> Result<Extraction, ExtractError> {
    let lines: Vec<&str> = reply.lines().collect();
    let blocks = find_blocks(&lines);
    if blocks.is_empty() {
        return Err(ExtractError::NoCode);
    }
    let targets = assign_targets(&lines, &blocks, expected);
    let extraction = collect_files(&blocks, &targets, expected);
    if extraction.files.is_empty() {
        return Err(ExtractError::UnparseableFiles {
            notes: extraction.notes,
        });
    }
    Ok(extraction)
}

/// An opening or closing fence line.
struct Fence<'a> {
    ch: u8,
    len: usize,
    indent: usize,
    info: &'a str,
}

/// One fenced code block of the reply.
struct Block<'a> {
    /// 1-based position among the reply's blocks, for notes.
    number: usize,
    /// 0-based index of the opening fence line.
    fence_line: usize,
    /// 0-based index of the first line after the previous block: labels are not searched above it.
    look_back_floor: usize,
    info: &'a str,
    lang: String,
    body: Vec<&'a str>,
    terminated: bool,
}

impl Block<'_> {
    /// How notes refer to this block.
    fn describe(&self) -> String {
        if self.lang.is_empty() {
            format!("block {} (line {})", self.number, self.fence_line + 1)
        } else {
            format!(
                "block {} ({}, line {})",
                self.number,
                self.lang,
                self.fence_line + 1
            )
        }
    }

    fn content(&self) -> String {
        let mut content = String::with_capacity(self.body.iter().map(|l| l.len() + 1).sum());
        for line in &self.body {
            content.push_str(line);
            content.push('\n');
        }
        content
    }
}

fn parse_fence(line: &str) -> Option<Fence<'_>> {
    let indent = line.bytes().take_while(|&b| b == b' ').count();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let ch = *rest.as_bytes().first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let len = rest.bytes().take_while(|&b| b == ch).count();
    if len < 3 {
        return None;
    }
    let info = rest[len..].trim();
    // CommonMark: a backtick fence's info string has no backtick, so "```x```" is inline code.
    if ch == b'`' && info.contains('`') {
        return None;
    }
    Some(Fence {
        ch,
        len,
        indent,
        info,
    })
}

/// Removes up to `indent` leading spaces, as CommonMark does for an indented fence.
fn strip_indent(line: &str, indent: usize) -> &str {
    let spaces = line.bytes().take(indent).take_while(|&b| b == b' ').count();
    &line[spaces..]
}

fn find_blocks<'a>(lines: &[&'a str]) -> Vec<Block<'a>> {
    let mut blocks = Vec::new();
    let mut look_back_floor = 0;
    let mut i = 0;
    while i < lines.len() {
        let Some(open) = parse_fence(lines[i]) else {
            i += 1;
            continue;
        };
        let lang = language(open.info);
        let nests = lang == "markdown";
        let mut depth = 0usize;
        let mut body = Vec::new();
        let mut terminated = false;
        let mut j = i + 1;
        while j < lines.len() {
            let line = lines[j];
            if let Some(fence) = parse_fence(line) {
                if fence.ch == open.ch && fence.len >= open.len {
                    if fence.info.is_empty() {
                        if depth == 0 {
                            terminated = true;
                            break;
                        }
                        depth -= 1;
                    } else if nests {
                        depth += 1;
                    }
                }
            }
            body.push(strip_indent(line, open.indent));
            j += 1;
        }
        blocks.push(Block {
            number: blocks.len() + 1,
            fence_line: i,
            look_back_floor,
            info: open.info,
            lang,
            body,
            terminated,
        });
        i = j + 1;
        look_back_floor = i;
    }
    blocks
}

/// The block's language from its info string, in canonical form; from the extension when the
/// info string starts with a path.
fn language(info: &str) -> String {
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
fn fits_language(lang: &str, candidate: &Candidate) -> bool {
    let path = match candidate {
        Candidate::Path(path) => path,
        Candidate::Refused { written, .. } => written,
    };
    !lang.is_empty() && language_of_path(path) == lang
}

fn is_rust(lang: &str) -> bool {
    lang == "rust"
}

fn is_shell(lang: &str) -> bool {
    SHELL_LANGS.contains(&lang)
}

/// A block without a language, or one tagged as plain text.
fn is_generic(lang: &str) -> bool {
    matches!(lang, "" | "text" | "txt" | "plain" | "plaintext")
}

/// Why a path is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Absolute,
    Climbs,
    HarnessOwned,
}

impl Refusal {
    fn reason(self) -> &'static str {
        match self {
            Refusal::Absolute => "it is an absolute path",
            Refusal::Climbs => "it has a `..` component",
            Refusal::HarnessOwned => "the harness owns that file",
        }
    }
}

/// Something that looks like a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Candidate {
    Path(String),
    Refused { written: String, why: Refusal },
}

/// Strips the Markdown and punctuation that wrap a path in prose.
fn strip_decorations(raw: &str) -> &str {
    raw.trim_start_matches(['`', '"', '\'', '*', '(', '[', '{', '<'])
        .trim_end_matches([
            '`', '"', '\'', '*', ')', ']', '}', '>', ':', '.', ',', ';', '!', '?',
        ])
}

/// Whether `name` (a path's last component) is a plausible file name.
fn plausible_file_name(name: &str, has_dir: bool) -> bool {
    if EXTENSIONLESS_NAMES.contains(&name) {
        return true;
    }
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    if !stem.bytes().any(|b| b.is_ascii_alphanumeric()) || ext.is_empty() {
        return false;
    }
    if has_dir {
        ext.len() <= 10
            && ext.bytes().all(|b| b.is_ascii_alphanumeric())
            && ext.bytes().any(|b| b.is_ascii_alphabetic())
    } else {
        KNOWN_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Decides whether `raw` is a path, and which one: normalised, mapped onto an expected file when
/// it is a bare name, or refused.
fn classify(raw: &str, expected: &[&str]) -> Option<Candidate> {
    let written = strip_decorations(raw);
    if written.is_empty() || written.len() > MAX_PATH_CHARS {
        return None;
    }
    // Most words of prose fail here, before anything is allocated.
    let path_bytes = written.bytes().all(|b| {
        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/' | b'\\' | b':')
    });
    if !path_bytes
        || !(written.contains('.') || EXTENSIONLESS_NAMES.iter().any(|n| written.ends_with(n)))
    {
        return None;
    }
    let slashed = written.replace('\\', "/");
    let bytes = slashed.as_bytes();
    let drive =
        bytes.len() > 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'/';
    let body = if drive { &slashed[2..] } else { &slashed[..] };
    if !body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/'))
    {
        return None;
    }
    let name = file_name(body);
    let mut parts = Vec::new();
    let mut climbs = false;
    for part in body.split('/') {
        match part {
            "" | "." => {}
            ".." => climbs = true,
            part => parts.push(part),
        }
    }
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    let normalised = parts.join("/");
    let is_expected = expected.contains(&normalised.as_str());
    if !is_expected && !plausible_file_name(name, parts.len() > 1 || climbs) {
        return None;
    }
    let refused = |why| {
        Some(Candidate::Refused {
            written: written.to_owned(),
            why,
        })
    };
    if drive || body.starts_with('/') {
        return refused(Refusal::Absolute);
    }
    if climbs {
        return refused(Refusal::Climbs);
    }
    if matches!(parts.first(), Some(&(".cargo" | "target" | ".git"))) || name == "Cargo.lock" {
        return refused(Refusal::HarnessOwned);
    }
    if parts.len() == 1 && !is_expected {
        let mut same_name = expected.iter().filter(|e| file_name(e) == name);
        if let (Some(only), None) = (same_name.next(), same_name.next()) {
            return Some(Candidate::Path((*only).to_owned()));
        }
    }
    Some(Candidate::Path(normalised))
}

/// The path named by a fence's info string.
fn info_path(info: &str, expected: &[&str]) -> Option<Candidate> {
    for token in info.split_whitespace() {
        let token = token.trim_matches(['{', '}']);
        let value = match token.split_once('=') {
            Some((_key, value)) => value,
            None => token,
        };
        // "rust:src/main.rs" and "src/main.rs:" both hide a path between colons.
        for part in value.split(':') {
            if let Some(candidate) = classify(part, expected) {
                return Some(candidate);
            }
        }
    }
    None
}

/// Whether a token is only decoration ("-", "—", "===", "**").
fn is_punctuation(token: &str) -> bool {
    token.chars().all(|c| !c.is_alphanumeric())
}

/// Whether a word may precede a path on a label line: a label word or a list number.
fn is_label_word(token: &str) -> bool {
    if is_punctuation(token) {
        return true;
    }
    let word = strip_decorations(token).trim_end_matches(')');
    if word.is_empty() || word.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    LABEL_WORDS.contains(&word.to_ascii_lowercase().as_str())
}

/// Whether what follows a path on a label line is a description, not more prose.
fn is_description(rest: &[&str]) -> bool {
    match rest.first() {
        None => true,
        Some(first) => {
            is_punctuation(first) || first.starts_with(['(', '-', '–', '—', ':', '|', '='])
        }
    }
}

/// The single path that `tokens` mention, with its index; `None` if none or several.
fn single_path(tokens: &[&str], expected: &[&str]) -> Option<(usize, Candidate)> {
    let mut found: Option<(usize, Candidate)> = None;
    for (index, token) in tokens.iter().enumerate() {
        let Some(candidate) = classify(token, expected) else {
            continue;
        };
        match &found {
            Some((_, seen)) if *seen != candidate => return None,
            Some(_) => {}
            None => found = Some((index, candidate)),
        }
    }
    found
}

/// The path of a text that is little more than a path: label words before it, a description
/// after it.
fn label_form_path(tokens: &[&str], expected: &[&str]) -> Option<Candidate> {
    let (index, candidate) = single_path(tokens, expected)?;
    is_label_form(tokens, index).then_some(candidate)
}

/// Whether the path at `index` has only label words before it and a description after it.
fn is_label_form(tokens: &[&str], index: usize) -> bool {
    tokens[..index].iter().all(|t| is_label_word(t)) && is_description(&tokens[index + 1..])
}

/// How much a line above a block can be trusted to name its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LabelStrength {
    /// A heading, a bold line, or a line that is little more than a path.
    Strong,
    /// A short prose line ending with a colon.
    Weak,
}

/// Removes a list marker: "- ", "* ", "+ ", "1. ", "2) ".
fn strip_list_marker(text: &str) -> &str {
    if let Some(rest) = text
        .strip_prefix("- ")
        .or_else(|| text.strip_prefix("* "))
        .or_else(|| text.strip_prefix("+ "))
    {
        return rest.trim_start();
    }
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        let rest = &text[digits..];
        if let Some(rest) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return rest.trim_start();
        }
    }
    text
}

/// The path a line above a block names, and how strongly.
fn line_label(line: &str, expected: &[&str]) -> Option<(Candidate, LabelStrength)> {
    let text = line.trim();
    if text.is_empty() || text.chars().count() > MAX_LABEL_CHARS {
        return None;
    }
    let text = text.trim_start_matches('>').trim_start();
    let hashes = text.bytes().take_while(|&b| b == b'#').count();
    let heading = (1..=6).contains(&hashes)
        && text[hashes..]
            .chars()
            .next()
            .is_none_or(char::is_whitespace);
    let text = if heading {
        text[hashes..].trim().trim_end_matches('#').trim_end()
    } else {
        text
    };
    let text = strip_list_marker(text);
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let (index, candidate) = single_path(&tokens, expected)?;
    let unframed = text.trim_end_matches(':');
    let bold = (unframed.starts_with("**") && unframed.ends_with("**"))
        || (unframed.starts_with("__") && unframed.ends_with("__"));
    // A code span delimits the path exactly, so a heading may say more around it; a bare word
    // might be the end of a name with spaces ("my file.rs").
    let in_code_span = tokens[index].contains('`');
    if ((heading || bold) && in_code_span) || is_label_form(&tokens, index) {
        return Some((candidate, LabelStrength::Strong));
    }
    let prose_end = text.trim_end_matches(['*', '_']);
    if prose_end.ends_with(':') && text.chars().count() <= MAX_PROSE_CHARS {
        return Some((candidate, LabelStrength::Weak));
    }
    None
}

/// The nearest strong label above a block, else the nearest weak one.
fn look_back(
    lines: &[&str],
    block: &Block<'_>,
    expected: &[&str],
) -> (Option<Candidate>, Option<Candidate>) {
    let mut weak = None;
    let mut non_blank = 0;
    for line in lines[block.look_back_floor..block.fence_line]
        .iter()
        .rev()
        .take(LOOK_BACK_LINES)
    {
        if line.trim().is_empty() {
            continue;
        }
        match line_label(line, expected) {
            // A strong label outranks every weak one, so nothing further up can matter.
            Some((candidate, LabelStrength::Strong)) => return (Some(candidate), weak),
            Some((candidate, LabelStrength::Weak)) if weak.is_none() => weak = Some(candidate),
            _ => {}
        }
        non_blank += 1;
        if non_blank == LOOK_BACK_NON_BLANK {
            break;
        }
    }
    (None, weak)
}

/// The path named by a comment on the block's first non-blank line.
fn comment_path(block: &Block<'_>, expected: &[&str]) -> Option<Candidate> {
    let first = block
        .body
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty())?;
    let hash_comments = HASH_COMMENT_LANGS.contains(&block.lang.as_str());
    let hash_ok = hash_comments || is_generic(&block.lang);
    let slash_ok = !hash_comments;
    if slash_ok {
        if let Some(rest) = first
            .strip_prefix("//!")
            .or_else(|| first.strip_prefix("///"))
        {
            // A doc comment is usually prose about the module; only a bare path counts.
            return classify(rest.trim(), expected);
        }
        if let Some(rest) = first.strip_prefix("//") {
            return comment_label(rest, expected);
        }
        if let Some(rest) = first.strip_prefix("/*") {
            return comment_label(rest.trim_end().trim_end_matches("*/"), expected);
        }
    }
    if let Some(rest) = first.strip_prefix("<!--") {
        return comment_label(rest.trim_end().trim_end_matches("-->"), expected);
    }
    if hash_ok && first.starts_with('#') && !first.starts_with("#!") && !first.starts_with("#[") {
        return comment_label(first.trim_start_matches('#'), expected);
    }
    None
}

fn comment_label(text: &str, expected: &[&str]) -> Option<Candidate> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    label_form_path(&tokens, expected)
}

/// What becomes of one block.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// The block names this file.
    Named(String),
    /// The block names no file; a fallback made it this file. The note says why.
    Guessed { path: String, note: String },
    /// The block names a file that is refused.
    Refused { written: String, why: Refusal },
    /// The block is not used. The note says why.
    Skipped(String),
}

fn explicit_path(lines: &[&str], block: &Block<'_>, expected: &[&str]) -> Option<Candidate> {
    if let Some(candidate) = info_path(block.info, expected) {
        return Some(candidate);
    }
    let shell = is_shell(&block.lang);
    let (strong, weak) = look_back(lines, block, expected);
    // A heading over a command block ("### Cargo.toml", then "run `cargo add tch`") is about the
    // file the commands change, not about the block.
    if let Some(candidate) = strong.filter(|c| !shell || fits_language(&block.lang, c)) {
        return Some(candidate);
    }
    if let Some(candidate) = comment_path(block, expected) {
        return Some(candidate);
    }
    // Prose mentions files for many reasons; it names the block only when the languages agree.
    weak.filter(|c| !shell && fits_language(&block.lang, c))
}

fn assign_targets(lines: &[&str], blocks: &[Block<'_>], expected: &[&str]) -> Vec<Option<Target>> {
    let mut targets: Vec<Option<Target>> = blocks
        .iter()
        .map(|block| {
            explicit_path(lines, block, expected).map(|candidate| match candidate {
                Candidate::Path(path) => Target::Named(path),
                Candidate::Refused { written, why } => Target::Refused { written, why },
            })
        })
        .collect();
    let named: HashSet<String> = targets
        .iter()
        .filter_map(|t| match t {
            Some(Target::Named(path)) => Some(path.clone()),
            _ => None,
        })
        .collect();

    // A Cargo manifest is unmistakable even without a label.
    for (block, target) in blocks.iter().zip(targets.iter_mut()) {
        let is_manifest = (block.lang == "toml" || is_generic(&block.lang))
            && block.body.iter().any(|l| l.trim() == "[package]");
        if target.is_some() || !is_manifest || !expected.contains(&"Cargo.toml") {
            continue;
        }
        *target = Some(if named.contains("Cargo.toml") {
            Target::Skipped(format!(
                "{} names no file and looks like a Cargo.toml, but another block names Cargo.toml; skipped",
                block.describe()
            ))
        } else {
            Target::Guessed {
                path: "Cargo.toml".to_owned(),
                note: format!(
                    "{} names no file; it has a [package] table, so it was taken as Cargo.toml",
                    block.describe()
                ),
            }
        });
    }

    // One Rust block without a name and one Rust file nobody provides: they go together.
    let unnamed_rust: Vec<usize> = blocks
        .iter()
        .zip(&targets)
        .filter(|(block, target)| target.is_none() && is_rust(&block.lang))
        .map(|(block, _)| block.number - 1)
        .collect();
    let unclaimed_rs: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|e| e.ends_with(".rs") && !named.contains(*e))
        .collect();
    if let ([index], [path]) = (unnamed_rust.as_slice(), unclaimed_rs.as_slice()) {
        targets[*index] = Some(Target::Guessed {
            path: (*path).to_owned(),
            note: format!(
                "{} names no file; it was taken as {path}, the only expected Rust file no block names",
                blocks[*index].describe()
            ),
        });
    }

    for (block, target) in blocks.iter().zip(targets.iter_mut()) {
        if target.is_none() {
            let why = if is_shell(&block.lang) {
                "holds shell commands, not a file"
            } else {
                "names no file"
            };
            *target = Some(Target::Skipped(format!(
                "{} {why}; skipped",
                block.describe()
            )));
        }
    }
    targets
}

fn collect_files(
    blocks: &[Block<'_>],
    targets: &[Option<Target>],
    expected: &[&str],
) -> Extraction {
    let mut files: Vec<ExtractedFile> = Vec::new();
    let mut notes = Vec::new();
    // Path -> (index in `files`, number of the block that provided it).
    let mut seen: HashMap<String, (usize, usize)> = HashMap::new();
    for (block, target) in blocks.iter().zip(targets) {
        if !block.terminated {
            notes.push(format!(
                "{} is not closed, so the reply was probably cut off; its lines up to the end were kept",
                block.describe()
            ));
        }
        let path = match target {
            Some(Target::Named(path)) => path,
            Some(Target::Guessed { path, note }) => {
                notes.push(note.clone());
                path
            }
            Some(Target::Refused { written, why }) => {
                notes.push(format!(
                    "{} is for {written}, which was refused: {}",
                    block.describe(),
                    why.reason()
                ));
                continue;
            }
            Some(Target::Skipped(note)) => {
                notes.push(note.clone());
                continue;
            }
            None => continue,
        };
        if !block.terminated && block.body.is_empty() {
            notes.push(format!(
                "{} for {path} is empty and not closed; skipped",
                block.describe()
            ));
            continue;
        }
        if !path.contains('/') && !expected.contains(&path.as_str()) {
            let homonyms = expected.iter().filter(|e| file_name(e) == path).count();
            if homonyms > 1 {
                notes.push(format!(
                    "{} names {path}, which could be any of {homonyms} expected files; it was kept at the top level",
                    block.describe()
                ));
            }
        }
        let content = block.content();
        match seen.get_mut(path) {
            Some((index, previous)) => {
                notes.push(format!(
                    "{path} is given by block {previous} and again by block {}; the last one was kept",
                    block.number
                ));
                files[*index].content = content;
                *previous = block.number;
            }
            None => {
                seen.insert(path.clone(), (files.len(), block.number));
                files.push(ExtractedFile {
                    path: path.clone(),
                    content,
                });
            }
        }
    }
    Extraction { files, notes }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The files of the U-Net crate the prompt asks for.
    const CRATE: &[&str] = &[
        "Cargo.toml",
        "src/main.rs",
        "src/dataset.rs",
        "src/model.rs",
        "src/train.rs",
    ];

    fn extract(reply: &str, expected: &[&str]) -> Extraction {
        match extract_files(reply, expected) {
            Ok(extraction) => extraction,
            Err(e) => panic!("extraction failed: {e:?}"),
        }
    }

    fn paths(extraction: &Extraction) -> Vec<&str> {
        extraction.files.iter().map(|f| f.path.as_str()).collect()
    }

    /// The path the only file of a reply gets, or `None` when the reply yields no file.
    fn path_of(reply: &str, expected: &[&str]) -> Option<String> {
        let extraction = extract_files(reply, expected).ok()?;
        assert_eq!(extraction.files.len(), 1, "{extraction:#?}");
        Some(extraction.files[0].path.clone())
    }

    fn notes_mention(extraction: &Extraction, needle: &str) -> bool {
        extraction.notes.iter().any(|n| n.contains(needle))
    }

    // Whole replies, in the styles the common LLMs use.

    #[test]
    fn headings_with_code_spans_and_a_run_command() {
        let reply = r##"Here is the complete implementation:

### `Cargo.toml`
```toml
[package]
name = "unet"
version = "0.1.0"
edition = "2021"

[dependencies]
tch = "0.17"
```

### `src/main.rs`

```rust
mod dataset;
mod model;

fn main() {
    println!("training");
}
```

### `src/model.rs`
```rust
pub struct UNet;
```

To train the model, run:

```bash
cargo run --release -- train --data-dir data --out-dir out
```

Let me know if you need anything else!
"##;
        insta::assert_yaml_snapshot!(extract(reply, CRATE));
    }

    #[test]
    fn numbered_bold_list_with_indented_blocks() {
        let reply = r##"I'll create a U-Net crate with four source files.

1. **Cargo.toml** - dependencies
   ```toml
   [package]
   name = "unet"
   version = "0.1.0"
   edition = "2021"
   ```

2. **src/dataset.rs** — loads images and masks
   ```rust
   pub struct Dataset {
       pub images: Vec<String>,
   }
   ```

3. **`src/train.rs`**:

   ```rust
   pub fn train() {
       for epoch in 0..10 {
           println!("epoch {epoch}");
       }
   }
   ```

#### 4. `src/main.rs`
```rust
fn main() {}
```

These files together form the crate.
"##;
        insta::assert_yaml_snapshot!(extract(reply, CRATE));
    }

    #[test]
    fn first_line_comments_and_a_reply_cut_off() {
        let reply = r##"```toml
# Cargo.toml
[package]
name = "unet"
version = "0.1.0"
```

```rust
// src/main.rs
mod model;
fn main() {}
```

```rust
// File: model.rs
use tch::nn;

pub fn net(vs: &nn::Path) -> nn::Sequential {
    nn::seq()
"##;
        insta::assert_yaml_snapshot!(extract(reply, CRATE));
    }

    #[test]
    fn bold_file_labels_a_tree_and_a_corrected_file() {
        let reply = r##"## Project Structure

```
unet/
├── Cargo.toml
└── src/
    ├── main.rs
    └── dataset.rs
```

**File: Cargo.toml**
```toml
[package]
name = "unet"
version = "0.1.0"
```

`src/dataset.rs`:
```rust
pub fn load() -> Vec<u8> { vec![] }
```

**File: src/main.rs**
```rust
fn main() { dataset::load(); }
```

Wait, `main` needs the module declaration. Here is the corrected file:

**File: src/main.rs**
```rust
mod dataset;
fn main() { dataset::load(); }
```
"##;
        insta::assert_yaml_snapshot!(extract(reply, CRATE));
    }

    #[test]
    fn unlabelled_manifest_and_single_rust_block() {
        let reply = r##"Sure! First the manifest:

```toml
[package]
name = "unet"
version = "0.1.0"

[dependencies]
tch = "0.17"
```

And the program:

```rust
fn main() {
    println!("hello");
}
```
"##;
        insta::assert_yaml_snapshot!(extract(reply, &["Cargo.toml", "src/main.rs"]));
    }

    #[test]
    fn python_package_with_hash_comments() {
        let reply = r##"Here's the package layout.

```python
# src/unet/model.py
import torch.nn as nn

class UNet(nn.Module):
    def __init__(self):
        super().__init__()
```

```python title="src/unet/__init__.py"
```

The `nn.Module` subclass is used like this:

```python
from unet.model import UNet
```
"##;
        insta::assert_yaml_snapshot!(extract(
            reply,
            &["src/unet/__init__.py", "src/unet/model.py"]
        ));
    }

    // Fences.

    #[test]
    fn tilde_and_long_fences_open_and_close() {
        let reply = "~~~rust src/a.rs\nfn a() {}\n~~~\n\n`````rust src/b.rs\nfn b() {}\n`````\n";
        let extraction = extract(reply, &[]);
        assert_eq!(paths(&extraction), ["src/a.rs", "src/b.rs"]);
        assert_eq!(extraction.files[0].content, "fn a() {}\n");
        assert_eq!(extraction.files[1].content, "fn b() {}\n");
    }

    #[test]
    fn a_closing_fence_needs_the_same_character_and_enough_length() {
        let reply = "````rust src/a.rs\nlet a = 1;\n```\n~~~~\n````   \n";
        let extraction = extract(reply, &[]);
        assert_eq!(extraction.files[0].content, "let a = 1;\n```\n~~~~\n");
        assert!(extraction.notes.is_empty(), "{:?}", extraction.notes);
    }

    #[test]
    fn a_fence_with_text_after_it_does_not_close() {
        let reply = "```rust src/a.rs\nlet a = 1;\n``` not a close\n```\n";
        let extraction = extract(reply, &[]);
        assert_eq!(extraction.files[0].content, "let a = 1;\n``` not a close\n");
    }

    #[test]
    fn fences_indented_up_to_three_spaces_count_and_their_indent_is_removed() {
        let reply = "   ```python app.py\n   def f():\n       return 1\n  ```\n";
        let extraction = extract(reply, &[]);
        assert_eq!(extraction.files[0].content, "def f():\n    return 1\n");
        let four = "    ```rust src/a.rs\n    fn a() {}\n    ```\n";
        assert_eq!(extract_files(four, &[]), Err(ExtractError::NoCode));
    }

    #[test]
    fn a_markdown_example_inside_a_longer_fence_is_content() {
        let reply = "Put this in the README:\n\n````markdown README.md\n# Usage\n\n```bash\ncargo run\n```\n````\n";
        let extraction = extract(reply, &[]);
        assert_eq!(paths(&extraction), ["README.md"]);
        assert_eq!(
            extraction.files[0].content,
            "# Usage\n\n```bash\ncargo run\n```\n"
        );
    }

    #[test]
    fn a_markdown_block_keeps_nested_blocks_of_the_same_fence() {
        let reply = "```markdown README.md\n# Usage\n```bash\ncargo run\n```\nDone.\n```\n\n```rust src/main.rs\nfn main() {}\n```\n";
        let extraction = extract(reply, &[]);
        assert_eq!(paths(&extraction), ["README.md", "src/main.rs"]);
        assert_eq!(
            extraction.files[0].content,
            "# Usage\n```bash\ncargo run\n```\nDone.\n"
        );
    }

    #[test]
    fn triple_backticks_inline_are_not_a_fence() {
        let reply = "```rust``` is how a fence starts.\n";
        assert_eq!(extract_files(reply, CRATE), Err(ExtractError::NoCode));
    }

    #[test]
    fn an_unterminated_block_keeps_its_lines_with_a_note() {
        let reply = "### src/main.rs\n```rust\nfn main() {\n    let x = 1;\n";
        let extraction = extract(reply, CRATE);
        assert_eq!(extraction.files[0].content, "fn main() {\n    let x = 1;\n");
        assert!(
            notes_mention(&extraction, "not closed"),
            "{:?}",
            extraction.notes
        );
    }

    #[test]
    fn an_unterminated_empty_block_is_skipped() {
        let reply = "```rust src/model.rs\npub struct M;\n```\n\n### src/main.rs\n```rust\n";
        let extraction = extract(reply, CRATE);
        assert_eq!(paths(&extraction), ["src/model.rs"]);
        assert!(
            notes_mention(&extraction, "empty and not closed"),
            "{:?}",
            extraction.notes
        );
    }

    #[test]
    fn an_explicitly_empty_file_is_kept() {
        let extraction = extract("```python pkg/__init__.py\n```\n", &[]);
        assert_eq!(extraction.files[0].content, "");
    }

    // Content.

    #[test]
    fn crlf_becomes_lf_and_every_line_ends_with_a_newline() {
        let reply = "```rust src/main.rs\r\nfn main() {\r\n\r\n}\r\n```\r\n";
        let extraction = extract(reply, CRATE);
        assert_eq!(extraction.files[0].content, "fn main() {\n\n}\n");
    }

    #[test]
    fn content_is_kept_byte_for_byte() {
        let body = "\tfn main() {   \n  // trailing spaces stay   \n}";
        let reply = format!("```rust src/main.rs\n{body}\n```\n");
        let extraction = extract(&reply, CRATE);
        assert_eq!(extraction.files[0].content, format!("{body}\n"));
    }

    // Where the path comes from.

    #[test]
    fn info_string_forms_name_the_path() {
        let forms = [
            "rust src/main.rs",
            "src/main.rs",
            "rust:src/main.rs",
            "rust title=\"src/main.rs\"",
            "rust file=src/main.rs",
            "rust path=src/main.rs",
            "rust filename=\"./src/main.rs\"",
            "{.rust file=src/main.rs}",
            "rs // src/main.rs",
            "main.rs",
        ];
        for form in forms {
            let reply = format!("```{form}\nfn main() {{}}\n```\n");
            assert_eq!(
                path_of(&reply, CRATE).as_deref(),
                Some("src/main.rs"),
                "{form}"
            );
        }
        assert_eq!(
            path_of("```toml Cargo.toml\n[package]\n```\n", CRATE).as_deref(),
            Some("Cargo.toml")
        );
    }

    #[test]
    fn label_lines_above_the_block_name_the_path() {
        let labels = [
            "### src/model.rs",
            "## File: `src/model.rs`",
            "#### 3. `src/model.rs`",
            "### 3. The model (`src/model.rs`)",
            "**src/model.rs**",
            "**`src/model.rs`**:",
            "`src/model.rs`:",
            "**File: src/model.rs**",
            "src/model.rs:",
            "File: src/model.rs",
            "Filename: model.rs",
            "- `src/model.rs` (the network)",
            "2) **src/model.rs** — U-Net layers",
            "> **src/model.rs**",
            "Now let's write `src/model.rs`:",
            "Here is model.rs:",
        ];
        for label in labels {
            let reply = format!("Intro.\n\n{label}\n```rust\npub struct UNet;\n```\n");
            assert_eq!(
                path_of(&reply, CRATE).as_deref(),
                Some("src/model.rs"),
                "{label}"
            );
        }
    }

    #[test]
    fn lines_that_are_not_labels_name_nothing() {
        let lines = [
            "This crate uses `src/model.rs` heavily and more prose follows here.",
            "Both `src/model.rs` and `src/train.rs` change:",
            "## Model",
            "**Note:** the model is small.",
            "### Subclassing `nn.Module`",
            "**e.g.**",
            "### The my file.rs helper",
        ];
        for line in lines {
            let reply = format!("{line}\n```rust\nlet x = 1;\n```\n");
            assert_eq!(path_of(&reply, CRATE), None, "{line}");
        }
    }

    #[test]
    fn a_label_may_sit_behind_blank_lines_or_one_line_of_prose() {
        let blank = "### `src/train.rs`\n\n\n```rust\nfn t() {}\n```\n";
        assert_eq!(path_of(blank, CRATE).as_deref(), Some("src/train.rs"));
        let prose = "### `src/train.rs`\nThe training loop with Adam.\n```rust\nfn t() {}\n```\n";
        assert_eq!(path_of(prose, CRATE).as_deref(), Some("src/train.rs"));
    }

    #[test]
    fn a_label_too_far_above_is_ignored() {
        let reply = "### `src/train.rs`\nFirst line of prose.\nSecond line of prose.\n```text\nhello\n```\n";
        assert_eq!(path_of(reply, CRATE), None);
    }

    #[test]
    fn a_long_label_line_is_ignored() {
        let long = format!("**src/train.rs** {}", "word ".repeat(30));
        let reply = format!("{long}\n```text\nhello\n```\n");
        assert_eq!(path_of(&reply, CRATE), None);
    }

    #[test]
    fn a_label_never_reaches_across_an_earlier_block() {
        let reply = "### src/main.rs\n```rust\nfn main() {}\n```\n```text\nhello\n```\n";
        let extraction = extract(reply, &["src/main.rs"]);
        assert_eq!(paths(&extraction), ["src/main.rs"]);
        assert_eq!(extraction.files[0].content, "fn main() {}\n");
    }

    #[test]
    fn first_line_comments_name_the_path_and_stay_in_the_content() {
        let cases = [
            ("rust", "// src/main.rs", "src/main.rs"),
            ("rust", "// File: src/main.rs", "src/main.rs"),
            ("rust", "//! src/main.rs", "src/main.rs"),
            ("rust", "/* main.rs */", "src/main.rs"),
            ("rust", "// ===== src/main.rs =====", "src/main.rs"),
            ("", "// src/main.rs", "src/main.rs"),
            ("toml", "# Cargo.toml", "Cargo.toml"),
            ("python", "# src/app.py", "src/app.py"),
            ("", "# src/app.py", "src/app.py"),
        ];
        for (lang, comment, path) in cases {
            let reply = format!("```{lang}\n\n{comment}\nbody\n```\n");
            let extraction =
                extract_files(&reply, CRATE).unwrap_or_else(|e| panic!("{comment}: {e:?}"));
            assert_eq!(paths(&extraction), [path], "{comment}");
            assert_eq!(extraction.files[0].content, format!("\n{comment}\nbody\n"));
        }
    }

    #[test]
    fn comments_that_are_not_path_comments_name_nothing() {
        let cases = [
            ("rust", "//! Dataset loading for src/dataset.rs"),
            ("rust", "// This is the entry point in main.rs"),
            ("rust", "# src/main.rs"),
            ("rust", "#[derive(Debug)]"),
            ("toml", "// Cargo.toml"),
            ("sql", "-- schema.sql"),
            ("python", "#!/usr/bin/env python3"),
        ];
        for (lang, comment) in cases {
            let reply = format!("```{lang}\n{comment}\nbody\n```\n");
            let result = extract_files(&reply, &["Cargo.toml"]);
            assert!(
                matches!(result, Err(ExtractError::UnparseableFiles { .. })),
                "{comment}: {result:?}"
            );
        }
    }

    #[test]
    fn candidates_must_look_like_paths() {
        let good = ["src/main.rs", "Makefile", "src/x.cu", "data/a-b_c.v2.json"];
        for name in good {
            let reply = format!("```text {name}\nx\n```\n");
            assert_eq!(path_of(&reply, &[]).as_deref(), Some(name), "{name}");
        }
        let bad = [
            "my file.rs",
            "src/main",
            "v0.17",
            "src/",
            "main.rs?x=1",
            "x.notanext",
        ];
        for name in bad {
            let reply = format!("**{name}**\n```text\nx\n```\n");
            assert_eq!(path_of(&reply, &[]), None, "{name}");
        }
    }

    // Priorities between sources.

    #[test]
    fn the_info_string_beats_a_heading() {
        let reply = "### src/model.rs\n```rust src/train.rs\nfn t() {}\n```\n";
        assert_eq!(path_of(reply, CRATE).as_deref(), Some("src/train.rs"));
    }

    #[test]
    fn a_heading_beats_a_first_line_comment() {
        let reply = "### src/model.rs\n```rust\n// src/train.rs\nfn t() {}\n```\n";
        assert_eq!(path_of(reply, CRATE).as_deref(), Some("src/model.rs"));
    }

    #[test]
    fn a_first_line_comment_beats_a_prose_mention() {
        let reply = "It builds on the loader from `dataset.rs`:\n```rust\n// src/train.rs\nfn t() {}\n```\n";
        assert_eq!(path_of(reply, CRATE).as_deref(), Some("src/train.rs"));
    }

    #[test]
    fn a_prose_mention_needs_the_language_of_the_file() {
        let untagged = "Run `main.rs` like this:\n```\ncargo run\n```\n";
        assert_eq!(path_of(untagged, CRATE), None);
        let other = "Here is `src/model.rs`:\n```python\nx = 1\n```\n";
        assert_eq!(path_of(other, CRATE), None);
        let same = "Here is `src/model.rs`:\n```rs\nstruct M;\n```\n";
        assert_eq!(path_of(same, CRATE).as_deref(), Some("src/model.rs"));
    }

    #[test]
    fn a_heading_over_commands_labels_only_a_shell_script() {
        let commands = "### `Cargo.toml`\nAdd the dependency:\n```bash\ncargo add tch\n```\n";
        assert_eq!(path_of(commands, CRATE), None);
        let script = "### `scripts/train.sh`\n```sh\ncargo run -- train\n```\n";
        assert_eq!(path_of(script, CRATE).as_deref(), Some("scripts/train.sh"));
    }

    #[test]
    fn a_prose_mention_does_not_label_shell_commands() {
        let reply = "```rust src/main.rs\nfn main() {}\n```\nThen run `src/main.rs` like this:\n```bash\ncargo run\n```\n";
        let extraction = extract(reply, CRATE);
        assert_eq!(paths(&extraction), ["src/main.rs"]);
        assert!(
            notes_mention(&extraction, "shell commands"),
            "{:?}",
            extraction.notes
        );
    }

    // Expected files.

    #[test]
    fn a_bare_name_maps_to_the_one_expected_file_with_that_name() {
        assert_eq!(
            path_of("```rust dataset.rs\n```\n", CRATE).as_deref(),
            Some("src/dataset.rs")
        );
        assert_eq!(
            path_of("```rust lib.rs\n```\n", CRATE).as_deref(),
            Some("lib.rs")
        );
    }

    #[test]
    fn an_explicit_directory_is_kept() {
        assert_eq!(
            path_of("```rust src/bin/main.rs\n```\n", CRATE).as_deref(),
            Some("src/bin/main.rs")
        );
    }

    #[test]
    fn a_bare_name_shared_by_several_expected_files_stays_bare_with_a_note() {
        let expected = ["src/a/mod.rs", "src/b/mod.rs"];
        let extraction = extract("```rust mod.rs\n```\n", &expected);
        assert_eq!(paths(&extraction), ["mod.rs"]);
        assert!(
            notes_mention(&extraction, "any of 2 expected files"),
            "{:?}",
            extraction.notes
        );
    }

    #[test]
    fn an_expected_dotfile_is_a_path() {
        assert_eq!(
            path_of("```text .gitignore\n/data\n```\n", &[".gitignore"]).as_deref(),
            Some(".gitignore")
        );
        assert_eq!(path_of("**.gitignore**\n```text\n/data\n```\n", &[]), None);
    }

    // Normalising and refusing paths.

    #[test]
    fn paths_are_normalised() {
        let forms = [
            "./src/main.rs",
            "src\\main.rs",
            "src/./main.rs",
            "src//main.rs",
        ];
        for form in forms {
            let reply = format!("```rust {form}\nfn main() {{}}\n```\n");
            assert_eq!(
                path_of(&reply, &[]).as_deref(),
                Some("src/main.rs"),
                "{form}"
            );
        }
    }

    #[test]
    fn harness_owned_and_escaping_paths_are_refused_with_a_note() {
        let refused = [
            ("/etc/passwd.txt", "absolute"),
            ("C:\\crate\\src\\main.rs", "absolute"),
            ("../outside.rs", ".."),
            ("src/../../outside.rs", ".."),
            (".cargo/config.toml", "harness owns"),
            ("target/debug/build.rs", "harness owns"),
            ("Cargo.lock", "harness owns"),
            ("./Cargo.lock", "harness owns"),
        ];
        for (path, reason) in refused {
            let reply =
                format!("```text {path}\nx\n```\n\n```rust src/main.rs\nfn main() {{}}\n```\n");
            let extraction = extract(&reply, CRATE);
            assert_eq!(paths(&extraction), ["src/main.rs"], "{path}");
            assert!(
                notes_mention(&extraction, "refused") && notes_mention(&extraction, reason),
                "{path}: {:?}",
                extraction.notes
            );
        }
    }

    #[test]
    fn a_refused_path_is_not_replaced_by_a_fallback() {
        let reply = "```toml .cargo/config.toml\n[package]\n```\n";
        let result = extract_files(reply, CRATE);
        let Err(ExtractError::UnparseableFiles { notes }) = result else {
            panic!("expected UnparseableFiles, got {result:?}");
        };
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains(".cargo/config.toml"), "{notes:?}");
    }

    // Duplicates.

    #[test]
    fn the_last_duplicate_wins_in_first_appearance_order() {
        let reply = "```rust src/main.rs\nfn old() {}\n```\n```rust src/model.rs\nstruct M;\n```\n```rust ./src/main.rs\nfn new() {}\n```\n";
        let extraction = extract(reply, CRATE);
        assert_eq!(paths(&extraction), ["src/main.rs", "src/model.rs"]);
        assert_eq!(extraction.files[0].content, "fn new() {}\n");
        assert_eq!(
            extraction.notes,
            ["src/main.rs is given by block 1 and again by block 3; the last one was kept"]
        );
    }

    // Fallbacks.

    #[test]
    fn a_manifest_without_a_label_becomes_cargo_toml() {
        let reply = "```toml\n[package]\nname = \"x\"\n```\n";
        let extraction = extract(reply, CRATE);
        assert_eq!(paths(&extraction), ["Cargo.toml"]);
        assert!(
            notes_mention(&extraction, "[package]"),
            "{:?}",
            extraction.notes
        );
    }

    #[test]
    fn a_manifest_without_a_label_is_skipped_when_not_expected_or_already_named() {
        let reply = "```toml\n[package]\nname = \"x\"\n```\n";
        assert!(matches!(
            extract_files(reply, &["src/main.rs", "src/lib.rs"]),
            Err(ExtractError::UnparseableFiles { .. })
        ));
        let named = format!("```toml Cargo.toml\n[package]\nname = \"y\"\n```\n{reply}");
        let extraction = extract(&named, CRATE);
        assert_eq!(extraction.files[0].content, "[package]\nname = \"y\"\n");
        assert!(
            notes_mention(&extraction, "another block names Cargo.toml"),
            "{:?}",
            extraction.notes
        );
    }

    #[test]
    fn a_toml_snippet_without_package_is_not_a_manifest() {
        let reply = "Add this:\n```toml\n[dependencies]\ntch = \"0.17\"\n```\n";
        assert!(matches!(
            extract_files(reply, CRATE),
            Err(ExtractError::UnparseableFiles { .. })
        ));
    }

    #[test]
    fn the_only_unnamed_rust_block_becomes_the_only_unclaimed_rust_file() {
        let reply = "```rust src/model.rs\nstruct M;\n```\n```rust\nfn main() {}\n```\n";
        let extraction = extract(reply, &["Cargo.toml", "src/main.rs", "src/model.rs"]);
        assert_eq!(paths(&extraction), ["src/model.rs", "src/main.rs"]);
        assert!(
            notes_mention(&extraction, "the only expected Rust file"),
            "{:?}",
            extraction.notes
        );
    }

    #[test]
    fn no_rust_fallback_when_it_is_ambiguous() {
        let two_blocks = "```rust\nfn a() {}\n```\n```rust\nfn b() {}\n```\n";
        let result = extract_files(two_blocks, &["src/main.rs"]);
        let Err(ExtractError::UnparseableFiles { notes }) = result else {
            panic!("expected UnparseableFiles, got {result:?}");
        };
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes.iter().all(|n| n.contains("names no file")),
            "{notes:?}"
        );

        let two_files = "```rust\nfn a() {}\n```\n";
        assert!(matches!(
            extract_files(two_files, &["src/main.rs", "src/model.rs"]),
            Err(ExtractError::UnparseableFiles { .. })
        ));
    }

    // Errors.

    #[test]
    fn a_reply_without_blocks_is_no_code() {
        let reply = "I'm sorry, but I can't help with that.";
        assert_eq!(extract_files(reply, CRATE), Err(ExtractError::NoCode));
        assert_eq!(extract_files("", CRATE), Err(ExtractError::NoCode));
    }

    #[test]
    fn blocks_without_files_are_unparseable_with_notes() {
        let reply = "Run:\n```bash\ncargo run\n```\n```\nsome text\n```\n";
        assert_eq!(
            extract_files(reply, CRATE),
            Err(ExtractError::UnparseableFiles {
                notes: vec![
                    "block 1 (bash, line 2) holds shell commands, not a file; skipped".to_owned(),
                    "block 2 (line 5) names no file; skipped".to_owned(),
                ]
            })
        );
    }

    #[test]
    fn a_large_reply_is_extracted_whole() {
        let mut reply = String::new();
        for i in 0..500 {
            reply.push_str(&format!("### `src/m{i}.rs`\n\n```rust\n"));
            for j in 0..10 {
                reply.push_str(&format!(
                    "pub fn f{j}() -> u32 {{ {j} }} // some padding text\n"
                ));
            }
            reply.push_str("```\n\n");
        }
        assert!(reply.len() > 200_000);
        let extraction = extract(&reply, &[]);
        assert_eq!(extraction.files.len(), 500);
        assert_eq!(extraction.files[499].path, "src/m499.rs");
        assert!(extraction.notes.is_empty());
    }
}
