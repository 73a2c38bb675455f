//! `harness data fetch`: the licence first (on stderr), an explicit yes for non-commercial
//! ones, then the download with progress on a terminal, and the dataset's summary on stdout.

use std::io::{BufRead, IsTerminal, Write};

use crate::cli::{DataFetchArgs, GlobalArgs};
use crate::dataset::{self, licence_notice, FetchEvent, FetchOptions, Mirror};

use crate::progress::{SetupProgress, Step};

use super::summary::print_summary;
use super::{UserError, EXIT_OK};

/// Inside the cache: converted datasets (where `harness train` looks) and the downloads.
pub(crate) const DATASETS_DIR: &str = "datasets";
const DOWNLOADS_DIR: &str = "downloads";

pub fn fetch(global: &GlobalArgs, args: &DataFetchArgs) -> anyhow::Result<u8> {
    let Some(name) = &args.name else {
        list();
        return Ok(EXIT_OK);
    };
    let dataset =
        dataset::find_dataset(name).ok_or_else(|| dataset::FetchError::UnknownDataset {
            name: name.clone(),
            known: dataset::dataset_names(),
        })?;
    let mirror = Mirror::new(args.base_url.as_deref())?;
    let cache = crate::toolchain::cache_dir_from_env(global.cache_dir.as_deref())?;
    let options = FetchOptions {
        out_dir: args
            .out
            .clone()
            .unwrap_or_else(|| cache.join(DATASETS_DIR).join(dataset.name)),
        downloads_dir: cache.join(DOWNLOADS_DIR).join(dataset.name),
        mirror,
        accept_licence: args.accept_licence,
    };

    // The licence before anything else happens.
    eprint!("{}", licence_notice(dataset));
    let accepted = args.accept_licence
        || !dataset.licence.non_commercial
        || ask_to_accept(dataset.licence.name)?;

    // A bar on a terminal; elsewhere a line per step, repeated every 10 s with how far it is.
    let mut shown = FetchProgress::new(SetupProgress::stderr().with_prefix("data fetch"));
    let fetched = dataset::fetch(
        dataset,
        &FetchOptions {
            accept_licence: accepted,
            ..options.clone()
        },
        &mut |event| shown.report(event),
    )?;
    drop(shown);
    if fetched.already_there {
        eprintln!(
            "{} is already fetched in {}",
            dataset.name,
            options.out_dir.display()
        );
    } else {
        eprintln!(
            "wrote {} pairs to {} ({} file(s) downloaded, {} reused from {})",
            fetched.pairs.len(),
            options.out_dir.display(),
            fetched.downloaded,
            fetched.reused,
            options.downloads_dir.display()
        );
    }
    println!("dataset: {}", dataset.name);
    println!("licence: {}", dataset.licence.name);
    print_summary(&fetched.pairs)?;
    Ok(EXIT_OK)
}

/// Asks on the terminal; refuses (with the flag to use) where there is none.
fn ask_to_accept(licence: &str) -> anyhow::Result<bool> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Ok(false);
    }
    eprint!("Accept {licence} (non-commercial use only)? Type yes to go on: ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim().eq_ignore_ascii_case("yes") {
        Ok(true)
    } else {
        Err(UserError(format!("{licence} not accepted; nothing was downloaded")).into())
    }
}

/// A fetch's progress: a line per file, and the step under way (a download's bytes, the
/// conversion's images) as a bar or as plain lines that never go silent.
struct FetchProgress {
    progress: SetupProgress,
    step: Option<Step>,
}

impl FetchProgress {
    fn new(progress: SetupProgress) -> Self {
        FetchProgress {
            progress,
            step: None,
        }
    }

    fn report(&mut self, event: FetchEvent) {
        match event {
            FetchEvent::Listing { url } => {
                self.progress
                    .println(&format!("listing the files of {url}"));
            }
            FetchEvent::Reused { file } => {
                self.progress
                    .println(&format!("{file}: already downloaded and verified"));
            }
            FetchEvent::Downloading { file, url } => {
                // The step before ends (its last line says how long it took) first.
                self.step = None;
                self.progress
                    .println(&format!("downloading {file} from {url}"));
                self.step = Some(self.progress.bytes(&format!("downloading {file}"), 0));
            }
            FetchEvent::Bytes { done, total } => {
                if let Some(step) = &self.step {
                    let handle = step.handle();
                    if let Some(total) = total {
                        handle.set_length(total);
                    }
                    handle.set_position(done);
                }
            }
            FetchEvent::Converting { done, total } => {
                if done <= 1 || self.step.is_none() {
                    self.step = None;
                    self.step = Some(self.progress.count("converting", total as u64));
                }
                if let Some(step) = &self.step {
                    step.set_position(done as u64);
                }
            }
        }
    }
}

fn list() {
    for dataset in dataset::DATASETS {
        println!(
            "{:<14} {:<16} {}",
            dataset.name, dataset.licence.name, dataset.title
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    /// Without a terminal a download is never silent: its start, how far it is (the plain line
    /// the 10-second ticker writes, here asked for at once) and its end are lines.
    #[test]
    fn a_download_without_a_terminal_is_reported_in_plain_lines() {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        // An interval no test reaches: the progress line comes from `report_now`.
        let lines = SetupProgress::lines(buffer.clone(), Duration::from_secs(3600))
            .with_prefix("data fetch");
        let mut shown = FetchProgress::new(lines);
        shown.report(FetchEvent::Listing {
            url: "http://127.0.0.1/list".into(),
        });
        shown.report(FetchEvent::Downloading {
            file: "a.zip".into(),
            url: "http://127.0.0.1/a.zip".into(),
        });
        shown.report(FetchEvent::Bytes {
            done: 1_000_000,
            total: Some(4_000_000),
        });
        shown.step.as_ref().expect("a download step").report_now();
        drop(shown);
        let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(
            lines[0],
            "data fetch: listing the files of http://127.0.0.1/list"
        );
        assert_eq!(
            lines[1],
            "data fetch: downloading a.zip from http://127.0.0.1/a.zip"
        );
        assert_eq!(lines[2], "data fetch: downloading a.zip ...");
        assert!(
            lines[3].starts_with("data fetch: downloading a.zip: 1.00 MB of 4.00 MB (25%), "),
            "{text}"
        );
        assert!(
            lines[4].starts_with("data fetch: downloading a.zip: done in "),
            "{text}"
        );
    }
}
