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
//! Each one is recorded in the notes, and the file is marked `guessed`, since it is a guess (a
//! table counts such rounds as format failures the harness repaired):
//!
//! - a `toml`, untagged or even `rust`-tagged block with a `[package]` table and no Rust items
//!   becomes `Cargo.toml`, when `Cargo.toml` is expected and no block names it;
//! - the one unnamed `rust` (or untagged) block with a `fn main` becomes `src/main.rs`, when it is
//!   expected and no block names it;
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
    /// The block named no file; its path was inferred by a fallback (see the notes).
    pub guessed: bool,
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

    // A Cargo manifest is unmistakable even without a label, and even in a fence mislabelled
    // `rust` (small models do that).
    for (block, target) in blocks.iter().zip(targets.iter_mut()) {
        let is_manifest = (block.lang == "toml" || is_generic(&block.lang) || is_rust(&block.lang))
            && looks_like_manifest(&block.body);
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

    // A lone unnamed program with `fn main` is the crate's `src/main.rs`.
    let unnamed_mains: Vec<usize> = blocks
        .iter()
        .zip(&targets)
        .filter(|(block, target)| {
            target.is_none()
                && (is_rust(&block.lang) || is_generic(&block.lang))
                && has_main(&block.body)
        })
        .map(|(block, _)| block.number - 1)
        .collect();
    if let [index] = unnamed_mains.as_slice() {
        if expected.contains(&"src/main.rs") && !named.contains("src/main.rs") {
            targets[*index] = Some(Target::Guessed {
                path: "src/main.rs".to_owned(),
                note: format!(
                    "{} names no file; it has `fn main`, so it was taken as src/main.rs",
                    blocks[*index].describe()
                ),
            });
        }
    }
    let named: HashSet<String> = named
        .into_iter()
        .chain(targets.iter().filter_map(|t| match t {
            Some(Target::Guessed { path, .. }) => Some(path.clone()),
            _ => None,
        }))
        .collect();

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

/// A `[package]` table and nothing that looks like Rust items: a manifest, whatever the fence says.
fn looks_like_manifest(body: &[&str]) -> bool {
    body.iter().any(|line| line.trim() == "[package]")
        && !body.iter().any(|line| {
            let line = line.trim_start();
            ["fn ", "use ", "mod ", "pub ", "struct ", "impl "]
                .iter()
                .any(|item| line.starts_with(item))
        })
}

/// A `fn main` at the start of a line (a program, not a library file).
fn has_main(body: &[&str]) -> bool {
    body.iter().any(|line| {
        let line = line.trim_start();
        line.starts_with("fn main(") || line.starts_with("async fn main(")
    })
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
                files[*index].guessed = matches!(target, Some(Target::Guessed { .. }));
                *previous = block.number;
            }
            None => {
                seen.insert(path.clone(), (files.len(), block.number));
                files.push(ExtractedFile {
                    path: path.clone(),
                    content,
                    guessed: matches!(target, Some(Target::Guessed { .. })),
                });
            }
        }
    }
    Extraction { files, notes }
}

#[cfg(test)]
mod tests;
