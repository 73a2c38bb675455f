//! Reading the files of a downloaded zip archive by name.

use std::collections::BTreeMap;
use std::io::Read;

use super::Input;
use crate::dataset::fetch::error::FetchError;

/// An opened zip archive.
pub(super) struct Archive {
    /// The downloaded file's name, for messages.
    pub(super) name: String,
    path: std::path::PathBuf,
    zip: zip::ZipArchive<std::io::BufReader<std::fs::File>>,
}

impl Archive {
    pub(super) fn open(input: &Input) -> Result<Self, FetchError> {
        let file = std::fs::File::open(&input.path).map_err(|source| FetchError::Read {
            path: input.path.clone(),
            source,
        })?;
        let zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|source| {
            FetchError::Zip {
                path: input.path.clone(),
                source,
            }
        })?;
        Ok(Archive {
            name: input.name.clone(),
            path: input.path.clone(),
            zip,
        })
    }

    /// The archive's files (folders, macOS `__MACOSX` shadows and hidden files left out), by
    /// full entry name, sorted.
    pub(super) fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .zip
            .file_names()
            .filter(|name| !name.ends_with('/'))
            .filter(|name| !name.split('/').any(|part| part == "__MACOSX"))
            .filter(|name| !base_name(name).starts_with('.'))
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }

    pub(super) fn read(&mut self, entry: &str) -> Result<Vec<u8>, FetchError> {
        let zip_error = |source| FetchError::Zip {
            path: self.path.clone(),
            source,
        };
        let mut file = self.zip.by_name(entry).map_err(zip_error)?;
        let mut bytes = Vec::with_capacity(usize::try_from(file.size()).unwrap_or(0).min(1 << 30));
        file.read_to_end(&mut bytes)
            .map_err(|source| FetchError::Read {
                path: self.path.join(entry),
                source,
            })?;
        Ok(bytes)
    }
}

/// The last component of an entry name.
pub(super) fn base_name(entry: &str) -> &str {
    entry.rsplit('/').next().unwrap_or(entry)
}

/// The folder part of an entry name (empty at the top).
pub(super) fn folder(entry: &str) -> &str {
    entry.rsplit_once('/').map(|(dir, _)| dir).unwrap_or("")
}

/// Entries whose base name ends with `suffix` (ASCII case ignored), keyed by the base name
/// without it.
pub(super) fn by_suffix(files: &[String], suffix: &str) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for entry in files {
        let name = base_name(entry);
        if name.len() > suffix.len() {
            let (stem, end) = name.split_at(name.len() - suffix.len());
            if end.eq_ignore_ascii_case(suffix) {
                found
                    .entry(stem.to_string())
                    .or_insert_with(|| entry.clone());
            }
        }
    }
    found
}
