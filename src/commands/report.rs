//! `harness report errors|dice|stats|html`: the tables, and the HTML report, from recorded runs.

use std::path::{Path, PathBuf};

use crate::cli::{GlobalArgs, ReportErrorsArgs, ReportHtmlArgs};
use anyhow::Context;

use crate::report::html::{render_html_report, FigureEntry};
use crate::report::{
    aggregate, aggregate_dice, aggregate_stats, render_csv, render_dice_csv, render_dice_json,
    render_dice_markdown, render_json, render_markdown, render_stats_json, render_stats_markdown,
    Format,
};
use crate::runs::find_transcripts;
use crate::stats::BootstrapConfig;
use crate::transcript::{read_transcript, Transcript};

use super::{write_atomically, UserError, EXIT_OK};

pub fn report_errors(global: &GlobalArgs, args: &ReportErrorsArgs) -> anyhow::Result<u8> {
    let transcripts = read_all(global, args)?;
    let table = aggregate(&transcripts);
    let text = match args.format {
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
        Some(path) => write_atomically(path, text).map_err(|e| {
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
    let index = write_html_report(&transcripts, &args.out, args.figures.as_deref())?;
    println!("{}", index.display());
    Ok(EXIT_OK)
}

/// Writes the HTML report of `transcripts` into `out` (its figures from `figures`, where
/// given) and returns the path of its front page. Run pages left from an earlier report in the
/// same folder are removed, so that every page there belongs to this one.
pub(crate) fn write_html_report(
    transcripts: &[Transcript],
    out: &Path,
    figures: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    let entries = figures_for_html(out, figures)?;
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
        write_atomically(&path, &file.text)
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
/// HOOK(figures): `report::figures` (drawn from the recordings, a CSV per figure) is being
/// built apart. Once it lands, draw its figures into `out/figures/` here and return their
/// entries; until then the report shows the figures of `--figures DIR`: each `NAME.png` or
/// `NAME.svg` there with its `NAME.csv` beside it.
pub(crate) fn figures_for_html(
    out: &Path,
    from: Option<&Path>,
) -> anyhow::Result<Vec<FigureEntry>> {
    let Some(from) = from else {
        return Ok(Vec::new());
    };
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
