//! One file into the downloads folder: reused when it is there and verified, otherwise
//! downloaded into `NAME.part` (resumed where an earlier run stopped), verified, and renamed
//! into place. A file that fails verification is kept aside under a name saying so.

use std::path::{Path, PathBuf};

use super::checksum::{digest_file, Algorithm, Digests, Expected};
use super::error::{FetchError, Mismatch};
use super::http::Http;
use super::manifest::{Entry, Manifest};
use super::resolve::RemoteFile;

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Already there and verified: no request made.
    Reused,
    Downloaded,
}

/// Whether `dir/name` is there and matches its manifest entry (its recorded SHA-256).
pub(crate) fn verified_copy(
    dir: &Path,
    name: &str,
    manifest: &Manifest,
) -> Result<bool, FetchError> {
    let path = dir.join(name);
    let Some(entry) = manifest.files.get(name) else {
        return Ok(false);
    };
    if !path.is_file() {
        return Ok(false);
    }
    Ok(digest_file(&path)?.sha256 == entry.sha256)
}

/// Makes `dir/NAME` hold `file`, verified; records it in `manifest` (and saves the manifest).
pub(crate) fn obtain(
    http: &Http,
    file: &RemoteFile,
    dir: &Path,
    manifest: &mut Manifest,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Outcome, FetchError> {
    let target = dir.join(&file.name);
    if verified_copy(dir, &file.name, manifest)? {
        return Ok(Outcome::Reused);
    }
    if target.exists() {
        // There but unknown or altered: keep it aside rather than trust or destroy it.
        let digests = digest_file(&target)?;
        set_aside(&target, &digests.sha256)?;
    }
    let part = dir.join(format!("{}.part", file.name));
    http.download(&file.url, &part, progress)?;
    let digests = digest_file(&part)?;
    // A file known from an earlier download must still be that file.
    let recorded = manifest.files.get(&file.name).map(|entry| Expected {
        algorithm: Algorithm::Sha256,
        value: entry.sha256.clone(),
        origin: "the manifest of an earlier download".to_string(),
    });
    for expected in file.expected.iter().chain(recorded.iter()) {
        check(&part, file, &digests, expected)?;
    }
    std::fs::rename(&part, &target).map_err(|source| FetchError::Write {
        path: target.clone(),
        source,
    })?;
    let verified = match &file.expected {
        Some(expected) => format!("{} {}", expected.algorithm.name(), expected.origin),
        None => "nothing published; SHA-256 recorded on first download".to_string(),
    };
    manifest.files.insert(
        file.name.clone(),
        Entry {
            url: file.url.clone(),
            size: digests.size,
            sha256: digests.sha256,
            md5: digests.md5,
            verified,
        },
    );
    manifest.save(dir)?;
    Ok(Outcome::Downloaded)
}

fn check(
    part: &Path,
    file: &RemoteFile,
    digests: &Digests,
    expected: &Expected,
) -> Result<(), FetchError> {
    let actual = digests.get(expected.algorithm);
    if actual.eq_ignore_ascii_case(&expected.value) {
        return Ok(());
    }
    let kept = set_aside(part, &digests.sha256)?;
    Err(FetchError::ChecksumMismatch(Box::new(Mismatch {
        file: file.name.clone(),
        url: file.url.clone(),
        algorithm: expected.algorithm.name(),
        expected: format!("{} ({})", expected.value, expected.origin),
        actual: actual.to_string(),
        kept,
    })))
}

/// Renames `path` to `NAME.bad-<first 12 hex of its SHA-256>` beside it.
fn set_aside(path: &Path, sha256: &str) -> Result<PathBuf, FetchError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = name.strip_suffix(".part").unwrap_or(&name);
    let kept = path.with_file_name(format!("{name}.bad-{}", &sha256[..12]));
    std::fs::rename(path, &kept).map_err(|source| FetchError::Write {
        path: kept.clone(),
        source,
    })?;
    Ok(kept)
}
