//! `harness data fetch`: the licence first (on stderr), an explicit yes for non-commercial
//! ones, then the download with progress on a terminal, and the dataset's summary on stdout.

use std::io::{BufRead, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{DataFetchArgs, GlobalArgs};
use crate::dataset::{self, licence_notice, FetchEvent, FetchOptions, Mirror};

use super::data::{print_summary, progress_bar};
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

    let bar = progress_bar(0, "");
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let fetched = dataset::fetch(
        dataset,
        &FetchOptions {
            accept_licence: accepted,
            ..options.clone()
        },
        &mut |event| report(&bar, event),
    )?;
    bar.finish_and_clear();
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

/// One line per file on stderr, and the bar where stderr is a terminal.
fn report(bar: &ProgressBar, event: FetchEvent) {
    match event {
        FetchEvent::Listing { url } => line(bar, format!("listing the files of {url}")),
        FetchEvent::Reused { file } => {
            line(bar, format!("{file}: already downloaded and verified"))
        }
        FetchEvent::Downloading { file, url } => {
            line(bar, format!("downloading {file} from {url}"));
            bar.set_message(file);
            bar.set_position(0);
        }
        FetchEvent::Bytes { done, total } => {
            if let Some(total) = total {
                bar.set_length(total);
            }
            bar.set_position(done);
        }
        FetchEvent::Converting { done, total } => {
            if done <= 1 {
                bar.set_style(
                    ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} {elapsed}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.set_message("converting");
            }
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    }
}

/// A line on stderr, above the bar where there is one.
fn line(bar: &ProgressBar, text: String) {
    if bar.is_hidden() {
        eprintln!("{text}");
    } else {
        bar.println(text);
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
