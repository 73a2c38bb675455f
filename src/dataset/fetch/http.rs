//! The dataset downloader's HTTP client: the only code outside `llm/` that talks to the network.
//!
//! Synchronous to its callers, like the LLM clients: it owns a current-thread tokio runtime and
//! blocks on each request. Downloads stream into a `.part` file and resume it with a `Range`
//! request when it already holds bytes; a server that ignores the range gets the file restarted.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::error::FetchError;

/// How long to wait for a connection, and for each read of a body.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_TIMEOUT: Duration = Duration::from_secs(120);

pub(crate) struct Http {
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Http {
    pub(crate) fn new() -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("harness/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .build()
            .map_err(FetchError::Client)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| FetchError::Write {
                path: "the HTTP client's runtime".into(),
                source,
            })?;
        Ok(Http { client, runtime })
    }

    /// GETs `url` and parses the body as JSON.
    pub(crate) fn get_json(&self, url: &str) -> Result<serde_json::Value, FetchError> {
        self.runtime.block_on(async {
            let transport = |source| FetchError::Transport {
                url: url.to_string(),
                received: 0,
                source,
            };
            let response = self.client.get(url).send().await.map_err(transport)?;
            check_status(url, response.status())?;
            let body = response.bytes().await.map_err(transport)?;
            serde_json::from_slice(&body).map_err(|error| FetchError::Listing {
                url: url.to_string(),
                what: format!("the answer is not JSON ({error})"),
            })
        })
    }

    /// Downloads `url` into `part`, resuming what `part` already holds; calls
    /// `progress(bytes so far, total if known)` as data arrives. Returns the final size.
    pub(crate) fn download(
        &self,
        url: &str,
        part: &Path,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<u64, FetchError> {
        self.runtime
            .block_on(self.download_async(url, part, progress))
    }

    async fn download_async(
        &self,
        url: &str,
        part: &Path,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<u64, FetchError> {
        let write_error = |source| FetchError::Write {
            path: part.to_path_buf(),
            source,
        };
        let mut have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        let mut request = self.client.get(url);
        if have > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={have}-"));
        }
        let transport = |received, source| FetchError::Transport {
            url: url.to_string(),
            received,
            source,
        };
        let mut response = request.send().await.map_err(|e| transport(have, e))?;
        let status = response.status();
        if have > 0 && status == reqwest::StatusCode::RANGE_NOT_SATISFIABLE {
            // The part is as long as the file or longer: start again from nothing.
            std::fs::remove_file(part).map_err(write_error)?;
            return Box::pin(self.download_async(url, part, progress)).await;
        }
        check_status(url, status)?;
        let resumed = status == reqwest::StatusCode::PARTIAL_CONTENT
            && content_range_start(&response) == Some(have);
        if !resumed {
            have = 0;
        }
        let total = response.content_length().map(|length| have + length);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(resumed)
            .truncate(!resumed)
            .open(part)
            .map_err(write_error)?;
        progress(have, total);
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    file.write_all(&chunk).map_err(write_error)?;
                    have += chunk.len() as u64;
                    progress(have, total);
                }
                Ok(None) => break,
                Err(source) => {
                    file.flush().map_err(write_error)?;
                    return Err(match total {
                        Some(expected) if source.is_body() || source.is_decode() => {
                            FetchError::Truncated {
                                url: url.to_string(),
                                received: have,
                                expected,
                            }
                        }
                        _ => transport(have, source),
                    });
                }
            }
        }
        file.sync_all().map_err(write_error)?;
        if let Some(expected) = total {
            if have != expected {
                return Err(FetchError::Truncated {
                    url: url.to_string(),
                    received: have,
                    expected,
                });
            }
        }
        Ok(have)
    }
}

fn check_status(url: &str, status: reqwest::StatusCode) -> Result<(), FetchError> {
    if status.is_success() {
        Ok(())
    } else {
        Err(FetchError::HttpStatus {
            url: url.to_string(),
            status: status.as_u16(),
        })
    }
}

/// The first byte a 206 answer carries, from `Content-Range: bytes START-END/TOTAL`.
fn content_range_start(response: &reqwest::Response) -> Option<u64> {
    let value = response
        .headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    let range = value.strip_prefix("bytes ")?;
    range.split('-').next()?.trim().parse().ok()
}
