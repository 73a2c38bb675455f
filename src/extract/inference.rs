//! What becomes of each block: the file it names, a documented fallback, a refusal, or a skip.

use std::collections::HashSet;

use super::fences::Block;
use super::labels::explicit_path;
use super::language::{is_generic, is_rust, is_shell};
use super::paths::{Candidate, Refusal};

/// What becomes of one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// The block names this file.
    Named(String),
    /// The block names no file; a fallback made it this file. The note says why.
    Guessed { path: String, note: String },
    /// The block names a file that is refused.
    Refused { written: String, why: Refusal },
    /// The block is not used. The note says why.
    Skipped(String),
}

pub(super) fn assign_targets(
    lines: &[&str],
    blocks: &[Block<'_>],
    expected: &[&str],
) -> Vec<Option<Target>> {
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
