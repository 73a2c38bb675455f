//! `write_figures`: plans every figure from the transcripts, draws each as PNG and SVG beside
//! its CSV, and writes the index. The one place in `report/` that touches files.

use std::path::{Path, PathBuf};

use super::counts::{errors_per_llm, errors_per_round};
use super::dice::dice_boxes;
use super::draw::{check_fonts, png, svg};
use super::error::FigureError;
use super::index::{index_csv, index_markdown};
use super::losses::loss_curves;
use super::overlays::overlays;
use super::plan::{Plan, Skip};
use super::repeats::repeats;
use super::success::success_by_round;
use super::{Figure, FigureOptions, Figures, Skipped};
use crate::report::{aggregate, aggregate_dice, aggregate_stats};
use crate::stats::BootstrapConfig;
use crate::transcript::Transcript;

/// The index files written beside the figures.
pub const INDEX_CSV: &str = "figures.csv";
pub const INDEX_MARKDOWN: &str = "index.md";

/// Every figure's plan, or why it has none, in the order they are listed.
fn plans(transcripts: &[Transcript], options: &FigureOptions) -> Vec<Result<Plan, Skip>> {
    if transcripts.is_empty() {
        return vec![Err(Skip {
            id: "all".into(),
            title: "All figures".into(),
            reason: "no recorded runs were given".into(),
            sources: Vec::new(),
        })];
    }
    let table = aggregate(transcripts);
    let stats = aggregate_stats(transcripts, BootstrapConfig::default());
    let dice = aggregate_dice(transcripts);
    let mut plans = vec![
        Ok(errors_per_llm(&table, transcripts)),
        Ok(errors_per_round(&table, transcripts)),
        Ok(success_by_round(&stats, transcripts)),
        dice_boxes(&dice, transcripts),
    ];
    let trainings = loss_curves(transcripts);
    if trainings.is_empty() {
        plans.push(Err(Skip {
            id: "losses".into(),
            title: "Loss curves".into(),
            reason: "no run was trained (`harness train`), so there are no losses".into(),
            sources: Vec::new(),
        }));
        plans.push(Err(Skip {
            id: "overlays".into(),
            title: "Prediction overlays".into(),
            reason: "no run was trained (`harness train`), so there are no predictions".into(),
            sources: Vec::new(),
        }));
    } else {
        plans.extend(trainings);
        plans.extend(overlays(
            transcripts,
            options.splits_dir.as_deref(),
            options.overlay_images,
        ));
    }
    plans.push(repeats(transcripts));
    plans
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), FigureError> {
    std::fs::write(path, bytes).map_err(|source| FigureError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Draws every figure the transcripts allow into `out` (created if needed): for each,
/// `<id>.png`, `<id>.svg` and `<id>.csv`, then `figures.csv` and `index.md` listing what was
/// drawn, from which runs, and what was skipped and why. Paths in the result are relative to
/// `out`. A font that cannot be found fails before anything is written.
pub fn write_figures(
    transcripts: &[Transcript],
    out: &Path,
    options: &FigureOptions,
) -> Result<Figures, FigureError> {
    check_fonts()?;
    std::fs::create_dir_all(out).map_err(|source| FigureError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    let mut figures = Vec::new();
    let mut skipped = Vec::new();
    for plan in plans(transcripts, options) {
        let plan = match plan {
            Ok(plan) => plan,
            Err(skip) => {
                skipped.push(Skipped {
                    id: skip.id,
                    title: skip.title,
                    reason: skip.reason,
                    sources: skip.sources,
                });
                continue;
            }
        };
        let file = |ext: &str| PathBuf::from(format!("{}.{ext}", plan.id));
        let figure = Figure {
            id: plan.id.clone(),
            title: plan.title.clone(),
            caption: plan.caption.clone(),
            png: file("png"),
            svg: file("svg"),
            csv: file("csv"),
            sources: plan.sources.clone(),
            size: plan.size,
        };
        write(&out.join(&figure.png), &png(&plan)?)?;
        write(&out.join(&figure.svg), svg(&plan)?.as_bytes())?;
        write(&out.join(&figure.csv), plan.csv.as_bytes())?;
        figures.push(figure);
    }
    write(
        &out.join(INDEX_CSV),
        index_csv(&figures, &skipped).as_bytes(),
    )?;
    write(
        &out.join(INDEX_MARKDOWN),
        index_markdown(&figures, &skipped).as_bytes(),
    )?;
    Ok(Figures { figures, skipped })
}
