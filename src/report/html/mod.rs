//! The static HTML report: `index.html` (the tables, the figures, the runs), a page per run
//! under `runs/`, and `methodology.html` (the rules the tables link to). Pure: the pages are
//! built in memory from transcripts and figure entries; the command writes them.
//!
//! Everything that came from an LLM or a program goes through `escape`; the pages carry no
//! script and forbid scripts, so nothing in a reply can run.

mod charge;
mod escape;
mod figures;
mod index;
mod layout;
mod provenance;
mod rules;
mod run_page;
mod tables;

#[cfg(test)]
mod tests;

pub use figures::FigureEntry;

use crate::stats::BootstrapConfig;
use crate::transcript::Transcript;

use super::{aggregate, aggregate_dice, aggregate_stats, aggregate_study};

/// Every methodology rule a page links to (a test checks that each is defined).
#[cfg(test)]
const LINKED_RULES: &[&str] = &[
    "C1", "C2", "C5", "C6", "K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "L1", "L2", "L3", "S1",
    "S2", "S3", "S4", "S5", "T1", "I1", "I2", "I3", "I4", "I5", "I6",
];

/// One file of the report, relative to its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlFile {
    pub path: String,
    pub text: String,
}

/// Builds every page of the report from the transcripts and the figures (paths relative to
/// the report's folder; the caller puts the images there).
pub fn render_html_report(transcripts: &[Transcript], figures: &[FigureEntry]) -> Vec<HtmlFile> {
    let errors = aggregate(transcripts);
    let dice = aggregate_dice(transcripts);
    let stats = aggregate_stats(transcripts, BootstrapConfig::default());
    let study = aggregate_study(transcripts);
    let provenance = provenance::Provenance::of(transcripts);
    let mut files = Vec::with_capacity(provenance.runs.len() + 2);
    files.push(HtmlFile {
        path: "index.html".to_string(),
        text: index::index_page(
            &index::IndexInput {
                errors: &errors,
                dice: &dice,
                stats: &stats,
                study: &study,
                figures,
            },
            &provenance,
        ),
    });
    files.push(HtmlFile {
        path: "methodology.html".to_string(),
        text: layout::page("Methodology", "", "", &rules::methodology_body()),
    });
    for (index, run) in provenance.runs.iter().enumerate() {
        files.push(HtmlFile {
            path: run.page.clone(),
            text: run_page::run_page(&provenance, index),
        });
    }
    files
}
