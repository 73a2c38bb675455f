//! The downloads folder's manifest: what was downloaded from where, its size and digests, and
//! what it was checked against. Later runs verify files against it before reusing them, so a
//! file whose checksum nobody published is still known by the SHA-256 it had on first download.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::FetchError;
use crate::atomic_file::write_atomically;

/// The manifest's file name inside a dataset's downloads folder.
pub const MANIFEST_FILE: &str = "manifest.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub(crate) dataset: String,
    pub(crate) files: BTreeMap<String, Entry>,
}

/// One downloaded file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) url: String,
    pub(crate) size: u64,
    pub(crate) sha256: String,
    pub(crate) md5: String,
    /// What the file was verified against when it was downloaded.
    pub(crate) verified: String,
}

impl Manifest {
    /// The manifest in `dir`, or an empty one for `dataset` when there is none yet (or it is
    /// unreadable: every file is then verified afresh).
    pub(crate) fn load(dir: &Path, dataset: &str) -> Self {
        std::fs::read(dir.join(MANIFEST_FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Manifest>(&bytes).ok())
            .filter(|manifest| manifest.dataset == dataset)
            .unwrap_or_else(|| Manifest {
                dataset: dataset.to_string(),
                files: BTreeMap::new(),
            })
    }

    /// Writes the manifest atomically.
    pub(crate) fn save(&self, dir: &Path) -> Result<(), FetchError> {
        let path = dir.join(MANIFEST_FILE);
        let write_error = |source| FetchError::Write {
            path: path.clone(),
            source,
        };
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| write_error(std::io::Error::other(e)))?;
        write_atomically(&path, (json + "\n").as_bytes()).map_err(write_error)
    }
}
