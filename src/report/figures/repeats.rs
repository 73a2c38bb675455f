//! Run-to-run plots: for each LLM with repeats, the rounds charged in each repeat and the Dice
//! of each repeat's trainings.

use std::collections::BTreeMap;

use super::chart::{Chart, Line};
use super::groups::groups;
use super::plan::{num, run_ids, Plan, Skip, SIZE};
use crate::csv_text::Csv;
use crate::report::charged_rounds;
use crate::transcript::{Event, Transcript};

const ID: &str = "repeats";
const TITLE: &str = "Run to run: rounds and Dice per repeat";

fn status(run: &Transcript) -> &'static str {
    use crate::transcript::EndStatus;
    match run.end().map(|end| end.status) {
        Some(EndStatus::Succeeded) => "succeeded",
        Some(EndStatus::GaveUp) => "gave-up",
        Some(EndStatus::Aborted) => "aborted",
        None => "incomplete",
    }
}

/// Figure 7, or why there is none (no LLM has two runs).
pub(crate) fn repeats(transcripts: &[Transcript]) -> Result<Plan, Skip> {
    let mut csv = Csv::new(&[
        "llm",
        "repeat",
        "run_id",
        "status",
        "iterations",
        "charged_rounds",
        "dataset",
        "mean_dice",
    ]);
    let mut panels = Vec::new();
    let mut sources = Vec::new();
    for group in groups(transcripts) {
        if group.runs.len() < 2 {
            continue;
        }
        let mut runs = group.runs.clone();
        runs.sort_by(|a, b| {
            (a.header.repeat, &a.header.run_id).cmp(&(b.header.repeat, &b.header.run_id))
        });
        let mut rounds = Vec::new();
        let mut dice: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for run in &runs {
            let repeat = f64::from(run.header.repeat);
            let charged = charged_rounds(run);
            rounds.push((repeat, f64::from(charged)));
            let base = [
                group.name.clone(),
                run.header.repeat.to_string(),
                run.header.run_id.clone(),
                status(run).to_string(),
                run.end()
                    .map_or(String::new(), |e| e.iterations.to_string()),
                charged.to_string(),
            ];
            let mut trained = false;
            for event in &run.events {
                let Event::Training(training) = event else {
                    continue;
                };
                trained = true;
                let mean = training.dice.as_ref().map(|d| d.mean);
                if let Some(mean) = mean {
                    dice.entry(training.dataset.name.clone())
                        .or_default()
                        .push((repeat, mean));
                }
                let mut row = base.to_vec();
                row.extend([training.dataset.name.clone(), num(mean)]);
                csv.row(&row);
            }
            if !trained {
                let mut row = base.to_vec();
                row.extend([String::new(), String::new()]);
                csv.row(&row);
            }
            sources.push(*run);
        }
        // Both panels span every repeat, trained or not.
        let first = rounds.first().map_or(1.0, |p| p.0);
        let last = rounds.last().map_or(1.0, |p| p.0);
        let span = Some((first - 0.5, last + 0.5));
        panels.push((
            format!("{}: rounds charged", group.label),
            Chart::Lines {
                x_label: "repeat".into(),
                y_label: "rounds".into(),
                x_range: span,
                y_range: None,
                lines: vec![Line {
                    name: "rounds charged".into(),
                    colour: 0,
                    points: rounds,
                }],
            },
        ));
        if !dice.is_empty() {
            panels.push((
                format!("{}: mean Dice", group.label),
                Chart::Lines {
                    x_label: "repeat".into(),
                    y_label: "mean Dice".into(),
                    x_range: span,
                    y_range: Some((0.0, 1.0)),
                    lines: dice
                        .into_iter()
                        .enumerate()
                        .map(|(index, (dataset, points))| Line {
                            name: dataset,
                            colour: index + 1,
                            points,
                        })
                        .collect(),
                },
            ));
        }
    }
    if panels.is_empty() {
        return Err(Skip {
            id: ID.into(),
            title: TITLE.into(),
            reason: "no LLM has more than one run".into(),
            sources: run_ids(transcripts),
        });
    }
    let rows = panels.len().div_ceil(2) as u32;
    Ok(Plan {
        id: ID.into(),
        title: TITLE.into(),
        caption: "For each LLM with two runs or more: the rounds charged to it in each repeat (the statistics report's unit) and, where runs were trained, the harness's mean Dice of each training by dataset.".into(),
        csv: csv.finish(),
        chart: Chart::Grid {
            columns: if panels.len() > 1 { 2 } else { 1 },
            panels,
        },
        sources: run_ids(sources),
        size: (SIZE.0, 120 + 340 * rows),
    })
}
