//! `harness report errors`, `dice`, `stats` and `figures`: tables and figures from recorded runs.

use std::path::PathBuf;

use crate::cli::{GlobalArgs, ReportErrorsArgs, ReportFiguresArgs};
use crate::report::figures::{write_figures, FigureError, FigureOptions, INDEX_MARKDOWN};
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

/// `harness report figures`: PNG and SVG figures with their CSVs, and an index.
pub fn report_figures(global: &GlobalArgs, args: &ReportFiguresArgs) -> anyhow::Result<u8> {
    let transcripts = read_runs(global, &args.runs)?;
    // The overlays find the held-out images in the cache; without one they are skipped.
    let splits_dir = crate::toolchain::cache_dir_from_env(global.cache_dir.as_deref())
        .ok()
        .map(|cache| cache.join(super::train::SPLITS_DIR));
    let options = FigureOptions {
        splits_dir,
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

fn read_all(global: &GlobalArgs, args: &ReportErrorsArgs) -> anyhow::Result<Vec<Transcript>> {
    read_runs(global, &args.runs)
}

fn read_runs(global: &GlobalArgs, runs: &[PathBuf]) -> anyhow::Result<Vec<Transcript>> {
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
