//! `harness report errors`: the error-count table from recorded runs.

use crate::cli::{GlobalArgs, ReportErrorsArgs};
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
    let paths = if args.runs.is_empty() {
        vec![global.runs_dir.clone()]
    } else {
        args.runs.clone()
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
