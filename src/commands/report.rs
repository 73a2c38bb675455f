//! `harness report errors|dice|stats|figures|html`: the tables, the figures and the HTML report,
//! from recorded runs.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::{GlobalArgs, ReportErrorsArgs, ReportFiguresArgs, ReportHtmlArgs};
use crate::report::figures::{write_figures, FigureError, FigureOptions, INDEX_MARKDOWN};
use crate::report::html::{render_html_report, FigureEntry};
use crate::report::{
    aggregate, aggregate_dice, aggregate_stats, aggregate_study, render_csv, render_dice_csv,
    render_dice_json, render_dice_markdown, render_json, render_markdown, render_stats_json,
    render_stats_markdown, render_study_markdown, Format,
};
use crate::runs::find_transcripts;
use crate::stats::BootstrapConfig;
use crate::transcript::{read_transcript, Transcript};

use super::{UserError, EXIT_OK};
use crate::atomic_file::write_atomically;

pub fn report_errors(global: &GlobalArgs, args: &ReportErrorsArgs) -> anyhow::Result<u8> {
    let transcripts = read_all(global, args)?;
    let table = aggregate(&transcripts);
    let study = aggregate_study(&transcripts);
    let text = match args.format {
        // Imported chats also get the study's own table, after the usual one.
        Format::Markdown if !study.rows.is_empty() => {
            format!(
                "{}
{}",
                render_markdown(&table),
                render_study_markdown(&study)
            )
        }
        Format::Markdown => render_markdown(&table),
        Format::Csv => render_csv(&table),
        Format::Json => render_json(&table),
    };
    emit(args, &text)
}

/// `harness report stats`: intervals over repeats, the rank test and the repair-decay table.
pub fn report_stats(global: &GlobalArgs, args: &ReportErrorsArgs) -> anyhow::Result<u8> {
    let transcripts = read_all(global, args)?;
    let report = aggregate_stats(&transcripts, BootstrapConfig::default());
    let text =
        match args.format {
            Format::Markdown => render_stats_markdown(&report),
            Format::Json => render_stats_json(&report),
            Format::Csv => return Err(UserError(
                "`report stats` has no CSV form (its tables differ in shape); use --format json"
                    .into(),
            )
            .into()),
        };
    emit(args, &text)
}

/// `harness report dice`: the Dice table from the training events.
pub fn report_dice(global: &GlobalArgs, args: &ReportErrorsArgs) -> anyhow::Result<u8> {
    let transcripts = read_all(global, args)?;
    let table = aggregate_dice(&transcripts);
    let text = match args.format {
        Format::Markdown => render_dice_markdown(&table),
        Format::Csv => render_dice_csv(&table),
        Format::Json => render_dice_json(&table),
    };
    emit(args, &text)
}

/// `harness report figures`: PNG and SVG figures with their CSVs, and an index.
pub fn report_figures(global: &GlobalArgs, args: &ReportFiguresArgs) -> anyhow::Result<u8> {
    let transcripts = read_runs(global, &args.runs)?;
    let options = FigureOptions {
        splits_dir: splits_dir(global),
        overlay_images: args.overlay_images,
    };
    let written =
        write_figures(&transcripts, &args.out, &options).map_err(|error| match error {
            FigureError::Font { .. } => UserError(crate::error_chain::error_chain(&error)).into(),
            other => anyhow::Error::from(other),
        })?;
    for figure in &written.figures {
        println!("{}", args.out.join(&figure.png).display());
    }
    for skipped in &written.skipped {
        eprintln!("skipped {}: {}", skipped.id, skipped.reason);
    }
    println!("{}", args.out.join(INDEX_MARKDOWN).display());
    Ok(EXIT_OK)
}

/// Where the overlays find the held-out images: the cache's splits; without a cache they are
/// skipped, saying so.
pub(crate) fn splits_dir(global: &GlobalArgs) -> Option<PathBuf> {
    crate::toolchain::cache_dir_from_env(global.cache_dir.as_deref())
        .ok()
        .map(|cache| cache.join(super::train::SPLITS_DIR))
}

fn read_all(global: &GlobalArgs, args: &ReportErrorsArgs) -> anyhow::Result<Vec<Transcript>> {
    read_runs(global, &args.runs)
}

pub(crate) fn read_runs(global: &GlobalArgs, runs: &[PathBuf]) -> anyhow::Result<Vec<Transcript>> {
    let paths = if runs.is_empty() {
        vec![global.runs_dir.clone()]
    } else {
        runs.to_vec()
    };
    let files = find_transcripts(&paths).map_err(UserError)?;
    let mut transcripts = Vec::new();
    for file in &files {
        let transcript = read_transcript(file)?;
        if let Some(line) = transcript.partial_tail_line {
            eprintln!(
                "note: {}:{line}: an incomplete last event was ignored",
                file.display()
            );
        }
        transcripts.push(transcript);
    }
    Ok(transcripts)
}

fn emit(args: &ReportErrorsArgs, text: &str) -> anyhow::Result<u8> {
    match &args.out {
        Some(path) => write_atomically(path, text.as_bytes()).map_err(|e| {
            anyhow::anyhow!(e).context(format!("could not write {}", path.display()))
        })?,
        None => print!("{text}"),
    }
    Ok(EXIT_OK)
}

/// `harness report html`: the static HTML report, written into `--out`; prints where its front
/// page is.
pub fn report_html(global: &GlobalArgs, args: &ReportHtmlArgs) -> anyhow::Result<u8> {
    let transcripts = read_runs(global, &args.runs)?;
    let figures = match &args.figures {
        Some(folder) => Figures::From(folder),
        None => Figures::Draw(splits_dir(global)),
    };
    let index = write_html_report(&transcripts, &args.out, figures)?;
    println!("{}", index.display());
    Ok(EXIT_OK)
}

/// Where an HTML report's figures come from.
pub(crate) enum Figures<'a> {
    /// Drawn from the transcripts into the report's `figures/` (`report::figures`), the
    /// overlays' held-out images from these splits.
    Draw(Option<PathBuf>),
    /// Copied from a folder drawn before (`--figures DIR`).
    From(&'a Path),
}

/// Writes the HTML report of `transcripts` into `out` with its figures and returns the path of
/// its front page. Run pages left from an earlier report in the
/// same folder are removed, so that every page there belongs to this one.
pub(crate) fn write_html_report(
    transcripts: &[Transcript],
    out: &Path,
    figures: Figures<'_>,
) -> anyhow::Result<PathBuf> {
    let entries = match figures {
        Figures::From(folder) => copied_figures(out, folder)?,
        Figures::Draw(splits_dir) => drawn_figures(transcripts, out, splits_dir)?,
    };
    let files = render_html_report(transcripts, &entries);
    let runs = out.join("runs");
    if let Ok(listing) = std::fs::read_dir(&runs) {
        let keep: Vec<PathBuf> = files.iter().map(|f| out.join(&f.path)).collect();
        for entry in listing.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "html") && !keep.contains(&path) {
                std::fs::remove_file(&path)
                    .with_context(|| format!("could not remove the old page {}", path.display()))?;
            }
        }
    }
    for file in &files {
        let path = out.join(&file.path);
        write_atomically(&path, file.text.as_bytes())
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    eprintln!(
        "report: {} page(s) for {} run(s), {} figure(s), in {}",
        files.len(),
        transcripts.len(),
        entries.len(),
        out.display()
    );
    Ok(out.join("index.html"))
}

/// The figures the HTML report shows, copied into `out/figures/`.
///
/// The figures of `transcripts`, drawn into `out/figures/` with their CSVs and index. A
/// machine without a font gets a report without figures and a line saying why, not no report.
fn drawn_figures(
    transcripts: &[Transcript],
    out: &Path,
    splits_dir: Option<PathBuf>,
) -> anyhow::Result<Vec<FigureEntry>> {
    let options = FigureOptions {
        splits_dir,
        ..FigureOptions::default()
    };
    let written = match write_figures(transcripts, &out.join("figures"), &options) {
        Ok(written) => written,
        Err(error @ FigureError::Font { .. }) => {
            eprintln!(
                "note: the report has no figures: {}",
                crate::error_chain::error_chain(&error)
            );
            return Ok(Vec::new());
        }
        Err(error) => return Err(error.into()),
    };
    for skipped in &written.skipped {
        eprintln!("figure {} not drawn: {}", skipped.id, skipped.reason);
    }
    let relative = |path: &Path| format!("figures/{}", path.to_string_lossy());
    Ok(written
        .figures
        .iter()
        .map(|figure| FigureEntry {
            title: figure.title.clone(),
            image: relative(&figure.png),
            csv: relative(&figure.csv),
        })
        .collect())
}

/// The figures of `--figures DIR`: each `NAME.png` or `NAME.svg` there with its `NAME.csv`
/// beside it, copied into `out/figures/`.
fn copied_figures(out: &Path, from: &Path) -> anyhow::Result<Vec<FigureEntry>> {
    let listing = std::fs::read_dir(from).map_err(|e| {
        UserError(format!(
            "{}: cannot read the figures folder ({e}); give a folder of NAME.png or NAME.svg files, each with NAME.csv beside it",
            from.display()
        ))
    })?;
    let mut images: Vec<PathBuf> = listing
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "png" || e == "svg"))
        .collect();
    images.sort();
    let target = out.join("figures");
    std::fs::create_dir_all(&target)
        .with_context(|| format!("could not create {}", target.display()))?;
    let mut entries = Vec::new();
    for image in images {
        let csv = image.with_extension("csv");
        let (Some(image_name), Some(csv_name)) = (image.file_name(), csv.file_name()) else {
            continue;
        };
        if !csv.is_file() {
            eprintln!(
                "note: {} has no {} beside it; left out of the report",
                image.display(),
                csv_name.to_string_lossy()
            );
            continue;
        }
        for (from, name) in [(&image, image_name), (&csv, csv_name)] {
            std::fs::copy(from, target.join(name))
                .with_context(|| format!("could not copy {}", from.display()))?;
        }
        let stem = image
            .file_stem()
            .map(|s| s.to_string_lossy().replace(['-', '_'], " "))
            .unwrap_or_default();
        entries.push(FigureEntry {
            title: stem,
            image: format!("figures/{}", image_name.to_string_lossy()),
            csv: format!("figures/{}", csv_name.to_string_lossy()),
        });
    }
    Ok(entries)
}
