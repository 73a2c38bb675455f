//! Training and validation loss curves per training, from the program's `train_losses.csv` and
//! `val_losses.csv` in the training's artefacts (read with the contract's own parser).

use std::path::Path;

use super::chart::{Chart, Line};
use super::files::{artefacts_dir, read_plain, run_dir};
use super::plan::{slug, Plan, Skip, SIZE};
use crate::csv_text::Csv;
use crate::target::unet_checks::parse_losses;
use crate::target::unet_outputs::{TRAIN_LOSSES, VAL_LOSSES};
use crate::train::OUT_DIR;
use crate::transcript::{TrainingEvent, Transcript};

/// One loss series, read and parsed, or why not.
fn series(run: &Path, artefacts: &Path, file: &str) -> Result<Vec<(f64, f64)>, String> {
    let bytes = read_plain(run, &artefacts.join(OUT_DIR).join(file))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{file} is not UTF-8 text"))?;
    let (epochs, losses) = parse_losses(file, &text).map_err(|e| e.message)?;
    Ok(epochs.into_iter().zip(losses).collect())
}

/// Figure 5: one figure per training event, or a skip saying why.
pub(crate) fn loss_curves(transcripts: &[Transcript]) -> Vec<Result<Plan, Skip>> {
    let mut out = Vec::new();
    for run in transcripts {
        for (index, training) in run.trainings().enumerate() {
            out.push(one(run, training, index + 1));
        }
    }
    out
}

fn one(run: &Transcript, training: &TrainingEvent, index: usize) -> Result<Plan, Skip> {
    let run_id = &run.header.run_id;
    let dataset = &training.dataset.name;
    let id = format!("losses-{}-{}-{index}", slug(run_id), slug(dataset));
    let title = format!("Loss per epoch: {run_id}, {dataset} (training {index})");
    let skip = |reason: String| Skip {
        id: id.clone(),
        title: title.clone(),
        reason,
        sources: vec![run_id.clone()],
    };
    let artefacts = artefacts_dir(training).map_err(skip)?;
    let folder = run_dir(run);
    let train = series(&folder, &artefacts, TRAIN_LOSSES)
        .map_err(|why| skip(format!("no training losses: {why}")))?;
    let validation = series(&folder, &artefacts, VAL_LOSSES);
    let mut csv = Csv::new(&["split", "epoch", "loss"]);
    for (split, points) in [
        ("train", Some(&train)),
        ("validation", validation.as_ref().ok()),
    ] {
        for (epoch, loss) in points.into_iter().flatten() {
            csv.row(&[split.to_string(), epoch.to_string(), loss.to_string()]);
        }
    }
    let mut caption = format!(
        "The loss of each epoch as the program wrote it ({TRAIN_LOSSES}, {VAL_LOSSES}) in the artefacts `{}` of run {run_id}.",
        training.artefacts
    );
    let mut lines = vec![Line {
        name: "train".into(),
        colour: 0,
        points: train,
    }];
    match validation {
        Ok(points) => lines.push(Line {
            name: "validation".into(),
            colour: 1,
            points,
        }),
        Err(why) => caption.push_str(&format!(" No validation curve: {why}.")),
    }
    Ok(Plan {
        id,
        title,
        caption,
        csv: csv.finish(),
        chart: Chart::Lines {
            x_label: "epoch".into(),
            y_label: "loss".into(),
            x_range: None,
            y_range: None,
            lines,
        },
        sources: vec![run_id.clone()],
        size: SIZE,
    })
}
