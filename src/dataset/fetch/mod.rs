//! `harness data fetch`: the study's public datasets, downloaded from their publishers (or a
//! mirror), verified, and converted to `images/N.png` with `masks/N_seg.png`.
//!
//! `catalog.rs` holds the facts (where, which licence, how to cite, checksums);
//! `resolve.rs` turns them into URLs, `http.rs` (the only network code here) and `download.rs`
//! fetch and verify files, `manifest.rs` remembers them, `convert/` converts per dataset, with
//! `hdf5.rs` (MATLAB v7.3) and `nifti.rs` for the formats that need it.

mod catalog;
mod checksum;
mod convert;
mod download;
mod error;
mod hdf5;
mod http;
mod licence;
mod manifest;
mod mirror;
mod nifti;
mod resolve;
mod run;

pub use catalog::{find as find_dataset, names as dataset_names, Dataset, DATASETS};
pub use error::FetchError;
pub use licence::{licence_notice, Licence};
pub use manifest::MANIFEST_FILE;
pub use mirror::{Mirror, MIRROR_ENV};
pub use run::{fetch, FetchEvent, FetchOptions, Fetched};
