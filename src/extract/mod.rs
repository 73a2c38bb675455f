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
//! with an explicit directory is kept as written. A path that is an expected file in another
//! letter case (`Dataset.py`, from a title-cased heading) becomes that file, with a note, unless
//! another block gives the file under its own name.
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
//!
//! # Where each step lives
//!
//! `fences.rs` finds the blocks; `language.rs` names a block's language; `paths.rs` decides
//! what is a path and what is refused; `labels.rs` finds the path a block names (info string,
//! label, comment, prose); `inference.rs` applies the fallbacks; `collect.rs` resolves
//! duplicates and writes the notes.

mod collect;
mod fences;
mod inference;
mod labels;
mod language;
mod paths;

use collect::collect_files;
use fences::find_blocks;
use inference::assign_targets;

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

#[cfg(test)]
mod tests;
