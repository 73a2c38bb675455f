//! From a dataset's source to the files to download: fixed URLs as they are, figshare and
//! Dataverse files looked up by name in the repository's own listing (which also gives the
//! MD5 sums the repository published).

use serde_json::Value;

use super::catalog::{Dataset, Source};
use super::checksum::{Algorithm, Expected};
use super::error::FetchError;
use super::http::Http;
use super::mirror::Mirror;

/// One file to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteFile {
    pub(crate) name: String,
    /// The URL as requested (the mirror already applied).
    pub(crate) url: String,
    pub(crate) expected: Option<Expected>,
}

/// The figshare API's article listing.
fn figshare_listing(article: u64) -> String {
    format!("https://api.figshare.com/v2/articles/{article}")
}

/// Where figshare serves a file by id.
fn figshare_download(id: u64) -> String {
    format!("https://figshare.com/ndownloader/files/{id}")
}

/// The Dataverse API's listing of the latest published version's files.
fn dataverse_listing(doi: &str) -> String {
    format!("https://dataverse.harvard.edu/api/datasets/:persistentId/versions/:latest-published/files?persistentId={doi}")
}

/// Where Dataverse serves a file by id.
fn dataverse_download(id: u64) -> String {
    format!("https://dataverse.harvard.edu/api/access/datafile/{id}")
}

/// The names of the files a dataset needs, without asking anyone.
pub(crate) fn file_names(dataset: &Dataset) -> Vec<String> {
    match dataset.source {
        Source::Files(files) => files.iter().map(|f| f.name.to_string()).collect(),
        Source::Figshare { files, .. } | Source::Dataverse { files, .. } => {
            files.iter().map(|f| f.to_string()).collect()
        }
    }
}

/// The URL of the repository's file listing, for sources that need one.
pub(crate) fn listing_url(dataset: &Dataset, mirror: &Mirror) -> Option<String> {
    match dataset.source {
        Source::Files(_) => None,
        Source::Figshare { article, .. } => Some(mirror.rewrite(&figshare_listing(article))),
        Source::Dataverse { doi, .. } => Some(mirror.rewrite(&dataverse_listing(doi))),
    }
}

/// The files to download, asking the repository where that is needed.
pub(crate) fn resolve(
    dataset: &Dataset,
    mirror: &Mirror,
    http: &Http,
) -> Result<Vec<RemoteFile>, FetchError> {
    match dataset.source {
        Source::Files(files) => Ok(files
            .iter()
            .map(|file| RemoteFile {
                name: file.name.to_string(),
                url: mirror.rewrite(file.url),
                expected: file.sha256.map(|value| Expected {
                    algorithm: Algorithm::Sha256,
                    value: value.to_string(),
                    origin: "recorded in the harness's catalogue".to_string(),
                }),
            })
            .collect()),
        Source::Figshare { article, files } => {
            let url = mirror.rewrite(&figshare_listing(article));
            let listing = http.get_json(&url)?;
            let entries = figshare_entries(&url, &listing)?;
            pick(
                dataset,
                files,
                &url,
                entries,
                |id| mirror.rewrite(&figshare_download(id)),
                "published by figshare",
            )
        }
        Source::Dataverse { doi, files } => {
            let url = mirror.rewrite(&dataverse_listing(doi));
            let listing = http.get_json(&url)?;
            let entries = dataverse_entries(&url, &listing)?;
            pick(
                dataset,
                files,
                &url,
                entries,
                |id| mirror.rewrite(&dataverse_download(id)),
                "published by Dataverse",
            )
        }
    }
}

/// A listed file: name, id, MD5 (if listed).
type Entry = (String, u64, Option<String>);

fn pick(
    dataset: &Dataset,
    wanted: &[&str],
    listing_url: &str,
    entries: Vec<Entry>,
    download: impl Fn(u64) -> String,
    origin: &str,
) -> Result<Vec<RemoteFile>, FetchError> {
    wanted
        .iter()
        .map(|name| {
            let (_, id, md5) = entries
                .iter()
                .find(|(listed, _, _)| listed == name)
                .ok_or_else(|| FetchError::NotListed {
                    name: name.to_string(),
                    url: listing_url.to_string(),
                    page: dataset.page,
                })?;
            Ok(RemoteFile {
                name: name.to_string(),
                url: download(*id),
                expected: md5.as_ref().map(|value| Expected {
                    algorithm: Algorithm::Md5,
                    value: value.to_ascii_lowercase(),
                    origin: origin.to_string(),
                }),
            })
        })
        .collect()
}

fn malformed(url: &str, what: &str) -> FetchError {
    FetchError::Listing {
        url: url.to_string(),
        what: what.to_string(),
    }
}

/// `{"files": [{"id", "name", "computed_md5", "supplied_md5", ...}]}`.
fn figshare_entries(url: &str, listing: &Value) -> Result<Vec<Entry>, FetchError> {
    let files = listing["files"]
        .as_array()
        .ok_or_else(|| malformed(url, "no `files` array"))?;
    files
        .iter()
        .map(|file| {
            let name = file["name"]
                .as_str()
                .ok_or_else(|| malformed(url, "a file without a name"))?;
            let id = file["id"]
                .as_u64()
                .ok_or_else(|| malformed(url, "a file without an id"))?;
            let md5 = [&file["computed_md5"], &file["supplied_md5"]]
                .into_iter()
                .filter_map(|v| v.as_str())
                .find(|v| v.len() == 32)
                .map(str::to_string);
            Ok((name.to_string(), id, md5))
        })
        .collect()
}

/// `{"status": "OK", "data": [{"dataFile": {"id", "filename", "md5", "checksum": {...}}}]}`.
fn dataverse_entries(url: &str, listing: &Value) -> Result<Vec<Entry>, FetchError> {
    let files = listing["data"]
        .as_array()
        .ok_or_else(|| malformed(url, "no `data` array"))?;
    files
        .iter()
        .map(|entry| {
            let file = &entry["dataFile"];
            let name = file["filename"]
                .as_str()
                .ok_or_else(|| malformed(url, "a file without a filename"))?;
            let id = file["id"]
                .as_u64()
                .ok_or_else(|| malformed(url, "a file without an id"))?;
            let md5 = file["md5"]
                .as_str()
                .or_else(|| {
                    (file["checksum"]["type"].as_str() == Some("MD5"))
                        .then(|| file["checksum"]["value"].as_str())
                        .flatten()
                })
                .map(str::to_string);
            Ok((name.to_string(), id, md5))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_figshare_and_dataverse_listings() {
        let figshare = json!({"files": [
            {"id": 3381290, "name": "a.zip", "computed_md5": "0123456789abcdef0123456789abcdef"},
            {"id": 7, "name": "b.zip", "computed_md5": "", "supplied_md5": ""}
        ]});
        let entries = figshare_entries("u", &figshare).unwrap();
        assert_eq!(entries[0].1, 3381290);
        assert_eq!(
            entries[0].2.as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(entries[1].2, None);

        let dataverse = json!({"status": "OK", "data": [
            {"label": "x.zip", "dataFile": {"id": 12, "filename": "x.zip",
              "checksum": {"type": "MD5", "value": "ffffffffffffffffffffffffffffffff"}}}
        ]});
        let entries = dataverse_entries("u", &dataverse).unwrap();
        assert_eq!(entries, [("x.zip".to_string(), 12, Some("f".repeat(32)))]);
        assert!(dataverse_entries("u", &json!({"data": 3})).is_err());
    }

    #[test]
    fn the_url_shapes_are_the_repositories_own() {
        assert_eq!(
            figshare_download(3381290),
            "https://figshare.com/ndownloader/files/3381290"
        );
        assert_eq!(
            dataverse_download(5),
            "https://dataverse.harvard.edu/api/access/datafile/5"
        );
        assert!(dataverse_listing("doi:10.7910/DVN/DBW86T")
            .ends_with("persistentId=doi:10.7910/DVN/DBW86T"));
        assert_eq!(
            figshare_listing(23541312),
            "https://api.figshare.com/v2/articles/23541312"
        );
    }
}
