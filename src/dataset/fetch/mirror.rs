//! Pointing downloads at a mirror: the scheme and host of every URL replaced by the mirror's
//! base URL, the path and query kept. A mirror therefore serves each file at the path the
//! original host serves it at (`/records/3762320/files/training.zip`,
//! `/ndownloader/files/3381290`, `/api/access/datafile/...`).

use super::error::FetchError;

/// The variable that sets a mirror (the `--base-url` flag wins over it).
pub const MIRROR_ENV: &str = "HARNESS_DATASET_MIRROR";

/// Where requests go: the original hosts, or one mirror.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mirror {
    base: Option<String>,
}

impl Mirror {
    /// No mirror for `None` or an empty value; otherwise an `http(s)://` base URL.
    pub fn new(base: Option<&str>) -> Result<Self, FetchError> {
        let Some(base) = base.map(str::trim).filter(|b| !b.is_empty()) else {
            return Ok(Mirror { base: None });
        };
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(FetchError::BadMirror {
                url: base.to_string(),
            });
        }
        Ok(Mirror {
            base: Some(base.trim_end_matches('/').to_string()),
        })
    }

    /// `url` as this mirror serves it.
    pub fn rewrite(&self, url: &str) -> String {
        let Some(base) = &self.base else {
            return url.to_string();
        };
        let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
        let path = url[after_scheme..]
            .find('/')
            .map(|i| &url[after_scheme + i..])
            .unwrap_or("/");
        format!("{base}{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_path_and_query_and_replaces_the_host() {
        let mirror = Mirror::new(Some("http://127.0.0.1:8000/")).unwrap();
        assert_eq!(
            mirror.rewrite("https://zenodo.org/records/3762320/files/test.zip?download=1"),
            "http://127.0.0.1:8000/records/3762320/files/test.zip?download=1"
        );
        assert_eq!(
            mirror.rewrite("https://figshare.com"),
            "http://127.0.0.1:8000/"
        );
        let none = Mirror::new(Some("  ")).unwrap();
        assert_eq!(none.rewrite("https://a.org/x"), "https://a.org/x");
        assert!(Mirror::new(Some("ftp://mirror")).is_err());
    }
}
