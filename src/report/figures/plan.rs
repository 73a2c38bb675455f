//! A figure before it is drawn: its id, title, caption, the CSV it is drawn from, the chart and
//! the runs it comes from. Every figure module builds these; `write.rs` draws and writes them.

use std::collections::BTreeSet;

use super::chart::Chart;
use crate::transcript::Transcript;

/// A figure, drawn or not yet.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    /// The file stem: `[a-z0-9-]` only.
    pub id: String,
    pub title: String,
    /// What the figure shows and what it leaves out, in a sentence or two.
    pub caption: String,
    pub csv: String,
    pub chart: Chart,
    /// Run ids of the transcripts it was drawn from, sorted.
    pub sources: Vec<String>,
    /// Pixel size of the PNG (the SVG has the same size in user units).
    pub size: (u32, u32),
}

/// A figure that could not be drawn, with why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Skip {
    pub id: String,
    pub title: String,
    pub reason: String,
    pub sources: Vec<String>,
}

/// The default size of a figure.
pub(crate) const SIZE: (u32, u32) = (1000, 600);

/// The size of a figure with one slot per label along x: wide enough that no two labels touch
/// (about 8 pixels a character at the labels' size), never narrower than the default.
pub(crate) fn size_for_labels(labels: &[String]) -> (u32, u32) {
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
    let needed = 300 + labels.len() as u32 * (longest * 8 + 24);
    (SIZE.0.max(needed), SIZE.1)
}

/// The sorted, distinct run ids of some transcripts.
pub(crate) fn run_ids<'a>(transcripts: impl IntoIterator<Item = &'a Transcript>) -> Vec<String> {
    transcripts
        .into_iter()
        .map(|t| t.header.run_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A number for a CSV: as Rust prints it (shortest exact form), empty when absent.
pub(crate) fn num(value: Option<f64>) -> String {
    value.map_or(String::new(), |v| v.to_string())
}

/// A file stem from free text: lowercase ASCII letters and digits, everything else one `-`.
pub(crate) fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}
