//! What can go wrong fetching a dataset: the network, a checksum, the archive, the conversion.

use std::path::PathBuf;

use super::hdf5::Hdf5Error;
use super::nifti::NiftiError;
use crate::dataset::DatasetError;

/// A dataset that could not be fetched or converted.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("unknown dataset `{name}`; the datasets `harness data fetch` knows: {known}")]
    UnknownDataset { name: String, known: String },
    #[error("{name} is under {licence}, which forbids commercial use; read the licence above and run again with --accept-licence to accept it")]
    LicenceNotAccepted { name: String, licence: String },
    #[error("the mirror URL `{url}` must start with http:// or https://")]
    BadMirror { url: String },
    #[error("could not start the HTTP client")]
    Client(#[source] reqwest::Error),
    #[error("GET {url} failed: the server answered {status}; check the URL (and the mirror, if you use one) or try again later")]
    HttpStatus { url: String, status: u16 },
    #[error("GET {url} failed before the download was complete ({received} bytes received); run the same command again to resume")]
    Transport {
        url: String,
        received: u64,
        #[source]
        source: reqwest::Error,
    },
    #[error("the download of {url} ended after {received} of {expected} bytes; run the same command again to resume")]
    Truncated {
        url: String,
        received: u64,
        expected: u64,
    },
    #[error("{} does not match its checksum: expected {} {}, got {}; the file was set aside as {} (downloaded from {}); run again to download it afresh, and if this repeats the publisher may have replaced the file", .0.file, .0.algorithm, .0.expected, .0.actual, .0.kept.display(), .0.url)]
    ChecksumMismatch(Box<Mismatch>),
    #[error("the file list from {url} is not what was expected: {what}")]
    Listing { url: String, what: String },
    #[error("{name} is not listed by {url}; the record may have changed: check {page}")]
    NotListed {
        name: String,
        url: String,
        page: &'static str,
    },
    #[error("could not read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a readable zip archive; delete it and run again to download it afresh")]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("{archive} does not look like {dataset}: {what}")]
    Layout {
        archive: String,
        dataset: &'static str,
        what: String,
    },
    #[error("{entry} in {archive} cannot be decoded")]
    Image {
        archive: String,
        entry: String,
        #[source]
        source: image::ImageError,
    },
    #[error("{entry} in {archive} is not a MATLAB v7.3 file this reader understands")]
    Matlab {
        archive: String,
        entry: String,
        #[source]
        source: Hdf5Error,
    },
    #[error("{entry} in {archive} is not a NIfTI volume this reader understands")]
    Nifti {
        archive: String,
        entry: String,
        #[source]
        source: NiftiError,
    },
    #[error("{entry} in {archive}: {what}")]
    Content {
        archive: String,
        entry: String,
        what: String,
    },
    #[error(transparent)]
    Dataset(#[from] DatasetError),
}

/// A downloaded file whose checksum is not the expected one.
#[derive(Debug)]
pub struct Mismatch {
    pub file: String,
    pub url: String,
    pub algorithm: &'static str,
    pub expected: String,
    pub actual: String,
    /// Where the bad file was set aside.
    pub kept: PathBuf,
}

impl FetchError {
    /// Whether the user can fix it (a name, a flag, a mirror), as opposed to the network, the
    /// publisher or the disk failing.
    pub fn is_user_error(&self) -> bool {
        match self {
            FetchError::UnknownDataset { .. }
            | FetchError::LicenceNotAccepted { .. }
            | FetchError::BadMirror { .. } => true,
            FetchError::Dataset(error) => error.is_user_error(),
            _ => false,
        }
    }
}
