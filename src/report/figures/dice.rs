//! Dice box plots per LLM and dataset: the harness's per-image Dice of every training, pooled,
//! with the Dice table's threshold baseline drawn across each box.

use std::collections::BTreeMap;

use super::chart::{BoxItem, Chart};
use super::groups::groups;
use super::plan::{num, run_ids, size_for_labels, Plan, Skip};
use crate::csv_text::Csv;
use crate::report::row_key::row_name;
use crate::report::DiceTable;
use crate::stats::summary;
use crate::transcript::{Event, Transcript};

const ID: &str = "dice-boxes";
const TITLE: &str = "Dice per held-out image, per LLM and dataset";

/// Figure 4, or why there is none (no training recorded per-image Dice).
pub(crate) fn dice_boxes(table: &DiceTable, transcripts: &[Transcript]) -> Result<Plan, Skip> {
    let mut csv = Csv::new(&[
        "llm",
        "dataset",
        "trainings",
        "images",
        "min",
        "q1",
        "median",
        "q3",
        "max",
        "mean_dice",
        "threshold_baseline",
    ]);
    let mut boxes = Vec::new();
    let mut sources = Vec::new();
    let mut without_per_image = 0u32;
    for group in groups(transcripts) {
        // Per dataset: (trainings, the pooled per-image Dice, the runs).
        let mut by_dataset: BTreeMap<&str, (u32, Vec<f64>, Vec<&Transcript>)> = BTreeMap::new();
        for run in &group.runs {
            for event in &run.events {
                let Event::Training(training) = event else {
                    continue;
                };
                if training.per_image.is_empty() {
                    without_per_image += 1;
                    continue;
                }
                let entry = by_dataset.entry(&training.dataset.name).or_default();
                entry.0 += 1;
                entry.1.extend(training.per_image.iter().map(|i| i.dice));
                entry.2.push(run);
            }
        }
        for (dataset, (trainings, values, runs)) in by_dataset {
            let Ok(five) = summary(&values) else {
                continue;
            };
            let row = table.rows.iter().find(|r| {
                r.dataset == dataset && row_name(&r.llm, r.variant.as_ref()) == group.name
            });
            let baseline = row.and_then(|r| r.threshold_baseline);
            csv.row(&[
                group.name.clone(),
                dataset.to_string(),
                trainings.to_string(),
                five.n.to_string(),
                five.min.to_string(),
                five.q1.to_string(),
                five.median.to_string(),
                five.q3.to_string(),
                five.max.to_string(),
                num(row.and_then(|r| r.mean_dice)),
                num(baseline),
            ]);
            boxes.push(BoxItem {
                label: format!("{} / {dataset}", group.label),
                min: five.min,
                q1: five.q1,
                median: five.median,
                q3: five.q3,
                max: five.max,
                baseline,
            });
            sources.extend(runs);
        }
    }
    let untrained: Vec<String> = table
        .untrained
        .iter()
        .map(|u| row_name(&u.llm, u.variant.as_ref()))
        .collect();
    let mut absent = String::new();
    if !untrained.is_empty() {
        absent.push_str(&format!(
            " Runs with no training are absent ({}).",
            untrained.join(", ")
        ));
    }
    if without_per_image > 0 {
        absent.push_str(&format!(
            " {without_per_image} training(s) recorded before per-image Dice were kept are absent."
        ));
    }
    if boxes.is_empty() {
        return Err(Skip {
            id: ID.into(),
            title: TITLE.into(),
            reason: format!("no training recorded per-image Dice.{absent}"),
            sources: run_ids(transcripts),
        });
    }
    let labels: Vec<String> = boxes.iter().map(|b| b.label.clone()).collect();
    Ok(Plan {
        id: ID.into(),
        title: TITLE.into(),
        size: size_for_labels(&labels),
        caption: format!(
            "The harness's Dice of every held-out image, pooled over an LLM's trainings on a dataset: box from the first to the third quartile (R type 7), the median across it, whiskers to the minimum and maximum. The dashed line is the Dice table's threshold baseline (the best single global threshold).{absent}"
        ),
        csv: csv.finish(),
        chart: Chart::Boxes {
            y_label: "Dice".into(),
            boxes,
        },
        sources: run_ids(sources),
    })
}
