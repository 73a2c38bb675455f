//! The index of a figures folder: `figures.csv` (one row per figure drawn or skipped) and
//! `index.md` (the same for a person: titles, captions, files, sources, and why any was skipped).

use std::fmt::Write;

use super::{Figure, Skipped};
use crate::csv_text::Csv;

/// `id,status,title,png,svg,csv,sources,note`: `status` is `drawn` or `skipped`, `sources` the
/// run ids separated by spaces, `note` the caption or the reason for the skip.
pub(crate) fn index_csv(figures: &[Figure], skipped: &[Skipped]) -> String {
    let mut csv = Csv::new(&[
        "id", "status", "title", "png", "svg", "csv", "sources", "note",
    ]);
    for f in figures {
        csv.row(&[
            f.id.clone(),
            "drawn".into(),
            f.title.clone(),
            f.png.display().to_string(),
            f.svg.display().to_string(),
            f.csv.display().to_string(),
            f.sources.join(" "),
            f.caption.clone(),
        ]);
    }
    for s in skipped {
        csv.row(&[
            s.id.clone(),
            "skipped".into(),
            s.title.clone(),
            String::new(),
            String::new(),
            String::new(),
            s.sources.join(" "),
            s.reason.clone(),
        ]);
    }
    csv.finish()
}

/// The index as Markdown.
pub(crate) fn index_markdown(figures: &[Figure], skipped: &[Skipped]) -> String {
    let mut out = String::from("# Figures\n\nDrawn from the recorded transcripts alone (`harness report figures`). Each figure has the CSV it was drawn from beside it.\n");
    for f in figures {
        let _ = write!(
            out,
            "\n## {}\n\n![{}]({})\n\n{}\n\nFiles: [PNG]({}), [SVG]({}), [CSV]({}). From: {}.\n",
            f.title,
            f.title,
            f.png.display(),
            f.caption,
            f.png.display(),
            f.svg.display(),
            f.csv.display(),
            f.sources.join(", ")
        );
    }
    if !skipped.is_empty() {
        out.push_str("\n## Skipped\n\n");
        for s in skipped {
            let _ = writeln!(out, "- {} (`{}`): {}", s.title, s.id, s.reason);
        }
    }
    out
}
