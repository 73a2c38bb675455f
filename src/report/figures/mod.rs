//! Figures drawn from the recordings alone (`harness report figures`): error counts per LLM and
//! per round, P(success by round k), Dice box plots, loss curves, prediction overlays and
//! run-to-run plots, each as PNG and SVG with the CSV it was drawn from, and an index.
//!
//! Every number comes from the tables' own aggregates (`aggregate`, `aggregate_stats`,
//! `aggregate_dice`, `charged_round_list`); the figure modules build plans (pure), `draw.rs`
//! draws them with plotters, and `write.rs` is the edge that reads a training's artefacts and
//! writes the files.
//!
//! The API below is what the HTML report embeds: `write_figures` and the `Figure` it returns
//! are kept stable.

mod chart;
mod counts;
mod dice;
mod draw;
mod error;
mod files;
mod groups;
mod index;
mod losses;
mod overlays;
mod plan;
mod repeats;
mod success;
mod write;

use std::path::PathBuf;

pub use error::FigureError;
pub use write::{write_figures, INDEX_CSV, INDEX_MARKDOWN};

/// A figure written by `write_figures`. Paths are relative to the output folder.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Figure {
    /// Stable across runs of the command: `errors-per-llm`, `errors-per-round`,
    /// `success-by-round`, `dice-boxes`, `repeats`, and `losses-<run>-<dataset>-<n>` and
    /// `overlays-<run>-<dataset>-<n>` per training (the n-th of that run).
    pub id: String,
    pub title: String,
    /// What the figure shows and what it leaves out.
    pub caption: String,
    pub png: PathBuf,
    pub svg: PathBuf,
    /// The numbers the figure was drawn from.
    pub csv: PathBuf,
    /// Run ids of the transcripts it was drawn from, sorted.
    pub sources: Vec<String>,
    /// Width and height of the PNG in pixels (the SVG's size in user units).
    pub size: (u32, u32),
}

/// A figure that was not drawn, and why (no training, no artefacts, no split in the cache).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub id: String,
    pub title: String,
    pub reason: String,
    pub sources: Vec<String>,
}

/// What `write_figures` wrote, in the order of the index.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Figures {
    pub figures: Vec<Figure>,
    pub skipped: Vec<Skipped>,
}

/// Where `write_figures` finds what the transcripts do not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureOptions {
    /// The cache's folder of laid-out held-out splits (`<cache>/splits`), for the overlays'
    /// images and masks; without it the overlays are skipped.
    pub splits_dir: Option<PathBuf>,
    /// Held-out images shown per training in an overlay figure.
    pub overlay_images: usize,
}

impl Default for FigureOptions {
    fn default() -> Self {
        FigureOptions {
            splits_dir: None,
            overlay_images: 3,
        }
    }
}

#[cfg(test)]
mod tests;
