//! The runs folder: naming new runs and finding recorded ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::transcript::{ReadError, Transcript, TRANSCRIPT_FILE};
use crate::workspace::{Workspace, WorkspaceError};

/// The folder inside a run folder that holds the LLM's files as the run left them.
pub const FINAL_CRATE_DIR: &str = "crate";

/// Writes `files` as a crate into `dir`, replacing what was there (a `target` folder is kept).
pub fn write_crate(dir: &Path, files: &BTreeMap<String, String>) -> Result<(), WorkspaceError> {
    Workspace::reset(dir)?.write(files, &[])
}

/// The LLM's files at the end of `transcript`'s run, rebuilt from its events.
pub fn final_files(transcript: &Transcript) -> Result<BTreeMap<String, String>, ReadError> {
    transcript.files_at(transcript.last_iteration())
}

/// Where `final_crate` differs from the files on disk under `dir`: paths missing, extra or
/// changed, empty when they agree. Build products (`target`) are not compared.
pub fn crate_differences(dir: &Path, expected: &BTreeMap<String, String>) -> Vec<String> {
    let mut on_disk = BTreeMap::new();
    collect_files(dir, dir, &mut on_disk);
    let mut differences = Vec::new();
    for (path, content) in expected {
        match on_disk.remove(path) {
            None => differences.push(format!("{path}: missing")),
            Some(bytes) if bytes != content.as_bytes() => {
                differences.push(format!("{path}: differs"))
            }
            Some(_) => {}
        }
    }
    differences.extend(
        on_disk
            .into_keys()
            .map(|path| format!("{path}: not in the run")),
    );
    differences
}

fn collect_files(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if dir == root && entry.file_name() == "target" {
            continue;
        }
        if path.is_dir() {
            collect_files(root, &path, out);
        } else if let (Ok(relative), Ok(bytes)) = (path.strip_prefix(root), std::fs::read(&path)) {
            out.insert(relative.to_string_lossy().replace('\\', "/"), bytes);
        }
    }
}

/// A new run id, `<llm>-r<repeat>-<UTC time>`, made unique within `runs_dir`.
pub fn new_run_id(runs_dir: &Path, llm: &str, repeat: u32, now_rfc3339: &str) -> String {
    let stamp: String = now_rfc3339
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let base = format!("{}-r{repeat}-{stamp}", sanitise(llm));
    let mut id = base.clone();
    let mut n = 2;
    while runs_dir.join(&id).exists() {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

/// An LLM id as a folder name: anything but letters, digits, `.`, `_` and `-` becomes `_`.
pub fn sanitise(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The crate folder of a run, inside the generated folder: one per target, LLM and repeat,
/// `<target>/<llm>-r<N>`, so no run wipes another's crate.
pub fn workspace_name(target: &str, llm: &str, repeat: u32) -> PathBuf {
    Path::new(&sanitise(target)).join(format!("{}-r{repeat}", sanitise(llm)))
}

/// The transcript of one run given as a transcript file, a run folder, or a run id in
/// `runs_dir`.
pub fn resolve_run(runs_dir: &Path, run: &Path) -> Result<PathBuf, String> {
    [
        run.to_path_buf(),
        run.join(TRANSCRIPT_FILE),
        runs_dir.join(run).join(TRANSCRIPT_FILE),
    ]
    .into_iter()
    .find(|candidate| candidate.is_file())
    .ok_or_else(|| {
        format!(
            "no run `{}`: give a run folder, a transcript, or a run id in {}",
            run.display(),
            runs_dir.display()
        )
    })
}

/// Every transcript under the given paths: a transcript file, a run folder, or a folder of run
/// folders (searched two levels deep), sorted by path. A path that holds none is an error.
pub fn find_transcripts(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    for path in paths {
        let before = found.len();
        if path.is_file() {
            found.push(path.clone());
        } else if path.join(TRANSCRIPT_FILE).is_file() {
            found.push(path.join(TRANSCRIPT_FILE));
        } else if path.is_dir() {
            collect(path, 2, &mut found);
        } else {
            return Err(format!("{}: no such file or folder", path.display()));
        }
        if found.len() == before {
            return Err(format!(
                "{}: no {TRANSCRIPT_FILE} found there (give a run folder, a transcript, or a folder of runs)",
                path.display()
            ));
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn collect(dir: &Path, depth: u32, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.join(TRANSCRIPT_FILE).is_file() {
            found.push(path.join(TRANSCRIPT_FILE));
        } else if depth > 1 {
            collect(&path, depth - 1, found);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_readable_and_unique() {
        let dir = tempfile::tempdir().unwrap();
        let id = new_run_id(dir.path(), "gpt-4o", 1, "2026-11-28T07:35:05Z");
        assert_eq!(id, "gpt-4o-r1-20261128T073505Z");
        std::fs::create_dir(dir.path().join(&id)).unwrap();
        let second = new_run_id(dir.path(), "gpt-4o", 1, "2026-11-28T07:35:05Z");
        assert_eq!(second, "gpt-4o-r1-20261128T073505Z-2");
        assert_eq!(sanitise("meta/llama 3"), "meta_llama_3");
        assert_eq!(
            workspace_name("rust-tch-unet", "o3", 1),
            Path::new("rust-tch-unet/o3-r1")
        );
        assert_eq!(
            workspace_name("rust-tiny", "meta/llama", 4),
            Path::new("rust-tiny/meta_llama-r4")
        );
    }

    #[test]
    fn finds_transcripts_in_run_folders_and_reports_empty_paths() {
        let dir = tempfile::tempdir().unwrap();
        for run in ["a/run1", "a/run2", "b"] {
            std::fs::create_dir_all(dir.path().join(run)).unwrap();
        }
        std::fs::write(dir.path().join("a/run1").join(TRANSCRIPT_FILE), "").unwrap();
        std::fs::write(dir.path().join("a/run2").join(TRANSCRIPT_FILE), "").unwrap();
        let found = find_transcripts(&[dir.path().join("a")]).unwrap();
        assert_eq!(found.len(), 2);
        let found = find_transcripts(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(found.len(), 2);
        let err = find_transcripts(&[dir.path().join("b")]).unwrap_err();
        assert!(err.contains("no transcript.yaml"), "{err}");
        let err = find_transcripts(&[dir.path().join("nope")]).unwrap_err();
        assert!(err.contains("no such file"), "{err}");
    }
}
