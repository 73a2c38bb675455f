//! Reading what a training left in its run folder: the artefacts were written by generated code,
//! so no link is followed and no file is read past a size limit.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::transcript::{TrainingEvent, Transcript};

/// The most bytes read from one artefact file.
const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The run folder of a transcript (the folder its file is in).
pub(crate) fn run_dir(transcript: &Transcript) -> PathBuf {
    transcript
        .path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// A training's artefacts folder relative to its run folder, or why it cannot be used.
pub(crate) fn artefacts_dir(training: &TrainingEvent) -> Result<PathBuf, String> {
    let relative = Path::new(&training.artefacts);
    if relative.as_os_str().is_empty()
        || !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(format!(
            "the training's artefacts folder `{}` is not a plain relative path",
            training.artefacts
        ));
    }
    Ok(relative.to_path_buf())
}

/// `base/relative`, where no component of `relative` is a link, the folders are folders and
/// the last is a regular file. Messages name `relative` only: no machine's folders.
fn plain_file(base: &Path, relative: &Path) -> Result<PathBuf, String> {
    let mut path = base.to_path_buf();
    let mut shown = PathBuf::new();
    let mut parts = relative.components().peekable();
    while let Some(part) = parts.next() {
        path.push(part);
        shown.push(part);
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|_| format!("{} is absent", relative.display()))?;
        let last = parts.peek().is_none();
        if meta.file_type().is_symlink() || (last && !meta.is_file()) || (!last && !meta.is_dir()) {
            return Err(format!("{} is not a plain file or folder", shown.display()));
        }
    }
    Ok(path)
}

/// The bytes of `base/relative`, refusing links and files over the limit.
pub(crate) fn read_plain(base: &Path, relative: &Path) -> Result<Vec<u8>, String> {
    let path = plain_file(base, relative)?;
    let file = std::fs::File::open(&path)
        .map_err(|e| format!("{} cannot be read: {e}", relative.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{} cannot be read: {e}", relative.display()))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!(
            "{} is larger than {MAX_BYTES} bytes",
            relative.display()
        ));
    }
    Ok(bytes)
}
