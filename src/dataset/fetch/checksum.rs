//! File checksums: SHA-256 (the harness's identity for a file) and MD5 (what repositories
//! publish), computed in one pass.

use std::path::Path;

use super::error::FetchError;
use crate::hashing::file_digests;

/// A checksum a file is expected to have, and where that expectation comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expected {
    pub(crate) algorithm: Algorithm,
    /// Lowercase hex.
    pub(crate) value: String,
    /// Where the value comes from, for the manifest (`published by figshare`, ...).
    pub(crate) origin: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Sha256,
    Md5,
}

impl Algorithm {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Md5 => "MD5",
        }
    }
}

/// Both digests of a file, in lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Digests {
    pub(crate) sha256: String,
    pub(crate) md5: String,
    pub(crate) size: u64,
}

impl Digests {
    pub(crate) fn get(&self, algorithm: Algorithm) -> &str {
        match algorithm {
            Algorithm::Sha256 => &self.sha256,
            Algorithm::Md5 => &self.md5,
        }
    }
}

/// Reads `path` once and computes both digests.
pub(crate) fn digest_file(path: &Path) -> Result<Digests, FetchError> {
    let digests = file_digests(path, true).map_err(|source| FetchError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Digests {
        sha256: digests.sha256,
        md5: digests.md5.unwrap_or_default(),
        size: digests.size,
    })
}
