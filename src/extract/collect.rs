//! The files of an extraction from the blocks' fates: duplicates resolved, notes written.

use std::collections::HashMap;

use super::fences::Block;
use super::inference::Target;
use super::paths::file_name;
use super::{ExtractedFile, Extraction};

pub(super) fn collect_files(
    blocks: &[Block<'_>],
    targets: &[Option<Target>],
    expected: &[&str],
) -> Extraction {
    let mut files: Vec<ExtractedFile> = Vec::new();
    let mut notes = Vec::new();
    let named: Vec<&str> = targets
        .iter()
        .filter_map(|t| match t {
            Some(Target::Named(path) | Target::Guessed { path, .. }) => Some(path.as_str()),
            _ => None,
        })
        .collect();
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
        let spelled = expected_spelling(path, expected, &named);
        if let Some(spelled) = spelled {
            notes.push(format!(
                "{} names {path}; it was taken as {spelled}, the file the target asks for, which differs from it only in letter case",
                block.describe()
            ));
        }
        let path = &spelled.map_or_else(|| path.clone(), str::to_owned);
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

/// The expected file that `path` names in another letter case (`Dataset.py` for `dataset.py`, as
/// a title-cased heading writes it), when no block gives that file under its own name: the
/// prompt names it, so the reply's code imports it so (methodology C5).
fn expected_spelling<'a>(path: &str, expected: &[&'a str], named: &[&str]) -> Option<&'a str> {
    expected
        .iter()
        .find(|e| **e != path && e.eq_ignore_ascii_case(path) && !named.contains(e))
        .copied()
}
