//! `fetch`: one dataset from its publisher (or a mirror) to a verified folder in our layout.
//!
//! The licence is the caller's to show first; a non-commercial licence must have been accepted.
//! A dataset already converted is left as it is; downloads already verified are not repeated.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::catalog::Dataset;
use super::convert::{convert, Input};
use super::download::{obtain, verified_copy, Outcome};
use super::error::FetchError;
use super::http::Http;
use super::licence::Licence;
use super::manifest::Manifest;
use super::mirror::Mirror;
use super::resolve::{file_names, listing_url, resolve};
use crate::dataset::layout::{write_json, Staging};
use crate::dataset::{scan, Pair, PROVENANCE_FILE};

/// Where to put things and how to get them.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The dataset folder to create (`images/`, `masks/`, `dataset.json`).
    pub out_dir: PathBuf,
    /// Where the downloaded archives and their manifest are kept.
    pub downloads_dir: PathBuf,
    pub mirror: Mirror,
    /// Whether the user accepted a non-commercial licence.
    pub accept_licence: bool,
}

/// What a fetch is doing, for progress on a terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchEvent {
    /// Asking the repository for its file list.
    Listing {
        url: String,
    },
    /// A file already downloaded and verified is used again.
    Reused {
        file: String,
    },
    Downloading {
        file: String,
        url: String,
    },
    Bytes {
        done: u64,
        total: Option<u64>,
    },
    Converting {
        done: usize,
        total: usize,
    },
}

/// The fetched dataset.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub pairs: Vec<Pair>,
    pub downloaded: usize,
    pub reused: usize,
    /// The dataset folder was already complete: nothing was downloaded or converted.
    pub already_there: bool,
}

/// `dataset.json` of a fetched dataset.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Provenance {
    name: String,
    title: String,
    fetched: bool,
    licence: LicenceRecord,
    citation: String,
    page: String,
    sources: Vec<SourceRecord>,
    conversion: String,
    details: serde_json::Value,
    count: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LicenceRecord {
    name: String,
    url: String,
    non_commercial: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SourceRecord {
    file: String,
    url: String,
    size: u64,
    sha256: String,
    verified: String,
}

pub fn fetch(
    dataset: &Dataset,
    options: &FetchOptions,
    events: &mut dyn FnMut(FetchEvent),
) -> Result<Fetched, FetchError> {
    if dataset.licence.non_commercial && !options.accept_licence {
        return Err(FetchError::LicenceNotAccepted {
            name: dataset.name.to_string(),
            licence: dataset.licence.name.to_string(),
        });
    }
    if already_fetched(dataset, &options.out_dir) {
        return Ok(Fetched {
            pairs: scan(&options.out_dir)?,
            downloaded: 0,
            reused: 0,
            already_there: true,
        });
    }

    let dir = &options.downloads_dir;
    std::fs::create_dir_all(dir).map_err(|source| FetchError::Write {
        path: dir.clone(),
        source,
    })?;
    let mut manifest = Manifest::load(dir, dataset.name);
    let names = file_names(dataset);
    let (mut downloaded, mut reused) = (0, 0);
    let mut all_there = true;
    for name in &names {
        all_there &= verified_copy(dir, name, &manifest)?;
    }
    if all_there {
        // Nothing to ask the network for.
        for name in &names {
            events(FetchEvent::Reused { file: name.clone() });
        }
        reused = names.len();
    } else {
        let http = Http::new()?;
        if let Some(url) = listing_url(dataset, &options.mirror) {
            events(FetchEvent::Listing { url });
        }
        for file in resolve(dataset, &options.mirror, &http)? {
            events(FetchEvent::Downloading {
                file: file.name.clone(),
                url: file.url.clone(),
            });
            let outcome = obtain(&http, &file, dir, &mut manifest, &mut |done, total| {
                events(FetchEvent::Bytes { done, total })
            })?;
            match outcome {
                Outcome::Reused => reused += 1,
                Outcome::Downloaded => downloaded += 1,
            }
        }
    }

    let inputs: Vec<Input> = names
        .iter()
        .map(|name| Input {
            name: name.clone(),
            path: dir.join(name),
        })
        .collect();
    let staging = Staging::new(&options.out_dir)?;
    let converted = convert(
        dataset.conversion,
        &inputs,
        staging.dir(),
        &mut |done, total| events(FetchEvent::Converting { done, total }),
    )?;
    let provenance = Provenance {
        name: dataset.name.to_string(),
        title: dataset.title.to_string(),
        fetched: true,
        licence: licence_record(dataset.licence),
        citation: dataset.citation.to_string(),
        page: dataset.page.to_string(),
        sources: names
            .iter()
            .filter_map(|name| {
                let entry = manifest.files.get(name)?;
                Some(SourceRecord {
                    file: name.clone(),
                    url: entry.url.clone(),
                    size: entry.size,
                    sha256: entry.sha256.clone(),
                    verified: entry.verified.clone(),
                })
            })
            .collect(),
        conversion: dataset.conversion_notes.to_string(),
        details: converted.details,
        count: converted.pairs.len(),
    };
    write_json(&staging.dir().join(PROVENANCE_FILE), &provenance)?;
    let pairs = staging.finish(converted.pairs)?;
    Ok(Fetched {
        pairs,
        downloaded,
        reused,
        already_there: false,
    })
}

fn licence_record(licence: Licence) -> LicenceRecord {
    LicenceRecord {
        name: licence.name.to_string(),
        url: licence.url.to_string(),
        non_commercial: licence.non_commercial,
    }
}

/// Whether `out_dir` holds this dataset, fetched and converted whole (its `dataset.json` is
/// written last, inside the staging folder, so its presence means the folder is complete).
fn already_fetched(dataset: &Dataset, out_dir: &Path) -> bool {
    std::fs::read(out_dir.join(PROVENANCE_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Provenance>(&bytes).ok())
        .is_some_and(|p| p.fetched && p.name == dataset.name)
}
