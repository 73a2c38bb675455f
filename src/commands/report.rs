//! `harness report errors`: the error-count table from recorded runs.

use crate::cli::{GlobalArgs, ReportErrorsArgs};
use crate::report::{aggregate, render_csv, render_json, render_markdown, Format};
use crate::runs::find_transcripts;
use crate::transcript::read_transcript;

use super::{write_atomically, UserError, EXIT_OK};

pub fn report_errors(global: &GlobalArgs, args: &ReportErrorsArgs) -> anyhow::Result<u8> {
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
    let table = aggregate(&transcripts);
    let text = match args.format {
        Format::Markdown => render_markdown(&table),
        Format::Csv => render_csv(&table),
        Format::Json => render_json(&table),
    };
    match &args.out {
        Some(path) => write_atomically(path, &text).map_err(|e| {
            anyhow::anyhow!(e).context(format!("could not write {}", path.display()))
        })?,
        None => print!("{text}"),
    }
    Ok(EXIT_OK)
}
