//! Error counts: per LLM stacked by error class (the error table's rounds), and per round of
//! the fix loop. Both count the rounds the error table counts (`charged_round_list`), filed
//! under the same class.

use std::collections::BTreeMap;

use super::chart::{Chart, Series};
use super::groups::groups;
use super::plan::{run_ids, size_for_labels, Plan, SIZE};
use crate::csv_text::Csv;
use crate::report::errors_table::charged_round_list;
use crate::report::render::row_label;
use crate::report::row_key::row_name;
use crate::report::ErrorTable;
use crate::taxonomy::Category;
use crate::transcript::Transcript;

/// A class's colour: its place among the classes of the table, so that both figures agree and
/// no two classes of one table share a colour (up to the palette's size).
fn colour_of(table: &ErrorTable, category: Category) -> usize {
    table
        .categories_present()
        .iter()
        .position(|c| *c == category)
        .unwrap_or(0)
}

/// Figure 1: rounds charged to each LLM, stacked by the class they are filed under.
pub(crate) fn errors_per_llm(table: &ErrorTable, transcripts: &[Transcript]) -> Plan {
    // The CSV has every class with rounds or diagnostics; the bars, the classes with rounds.
    let categories = table.categories_present();
    let labels: Vec<String> = table
        .rows
        .iter()
        .map(|r| {
            row_label(
                &row_name(&r.llm, r.variant.as_ref()),
                r.fixture,
                r.reference,
            )
        })
        .collect();
    let mut csv = Csv::new(&["llm", "category", "rounds", "diagnostics"]);
    for row in &table.rows {
        for category in &categories {
            csv.row(&[
                row_name(&row.llm, row.variant.as_ref()),
                category.to_string(),
                row.rounds_by_category
                    .get(category)
                    .copied()
                    .unwrap_or(0)
                    .to_string(),
                row.diagnostics_by_category
                    .get(category)
                    .copied()
                    .unwrap_or(0)
                    .to_string(),
            ]);
        }
    }
    let series = categories
        .iter()
        .filter(|c| {
            table
                .rows
                .iter()
                .any(|r| r.rounds_by_category.contains_key(c))
        })
        .map(|category| Series {
            name: category.to_string(),
            colour: colour_of(table, *category),
            values: table
                .rows
                .iter()
                .map(|r| f64::from(r.rounds_by_category.get(category).copied().unwrap_or(0)))
                .collect(),
        })
        .collect();
    Plan {
        id: "errors-per-llm".into(),
        title: "Rounds charged to each LLM, by error class".into(),
        caption: "Feedback rounds charged to the LLM (the error table's `rounds` columns: a failing round fed back, filed under its most relevant error's class; the last round of a run that gave up is not counted). The CSV also has the individual diagnostics.".into(),
        csv: csv.finish(),
        size: size_for_labels(&labels),
        chart: Chart::StackedBars {
            x_labels: labels,
            x_label: "LLM".into(),
            y_label: "rounds".into(),
            series,
        },
        sources: run_ids(transcripts),
    }
}

/// Figure 2: per LLM, the rounds charged at each iteration of the fix loop, stacked by class.
pub(crate) fn errors_per_round(table: &ErrorTable, transcripts: &[Transcript]) -> Plan {
    let groups = groups(transcripts);
    let mut csv = Csv::new(&["llm", "iteration", "category", "rounds"]);
    let mut panels = Vec::new();
    for group in &groups {
        let cap = group
            .runs
            .iter()
            .map(|t| t.header.max_iterations)
            .max()
            .unwrap_or(0);
        let mut counts: BTreeMap<Category, Vec<u32>> = BTreeMap::new();
        for run in &group.runs {
            for round in charged_round_list(run) {
                let slots = counts
                    .entry(round.category)
                    .or_insert_with(|| vec![0; cap as usize]);
                let index = round.iteration.max(1) as usize - 1;
                if index >= slots.len() {
                    slots.resize(index + 1, 0);
                }
                slots[index] += 1;
            }
        }
        let width = counts
            .values()
            .map(Vec::len)
            .max()
            .unwrap_or(0)
            .max(cap as usize);
        for (category, slots) in &mut counts {
            slots.resize(width, 0);
            for (index, rounds) in slots.iter().enumerate() {
                csv.row(&[
                    group.name.clone(),
                    (index + 1).to_string(),
                    category.to_string(),
                    rounds.to_string(),
                ]);
            }
        }
        panels.push((
            group.label.clone(),
            Chart::StackedBars {
                x_labels: (1..=width).map(|i| i.to_string()).collect(),
                x_label: "iteration".into(),
                y_label: "rounds".into(),
                series: counts
                    .iter()
                    .map(|(category, slots)| Series {
                        name: category.to_string(),
                        colour: colour_of(table, *category),
                        values: slots.iter().map(|&n| f64::from(n)).collect(),
                    })
                    .collect(),
            },
        ));
    }
    let columns = if panels.len() > 1 { 2 } else { 1 };
    let rows = panels.len().div_ceil(columns).max(1) as u32;
    Plan {
        id: "errors-per-round".into(),
        title: "Rounds charged at each iteration, by error class".into(),
        caption: "Per LLM, summed over its runs: the rounds charged at each iteration of the fix loop, filed as in the error table (the per-iteration counts add up to its `rounds` columns).".into(),
        csv: csv.finish(),
        chart: Chart::Grid { columns, panels },
        sources: run_ids(transcripts),
        size: (SIZE.0, 120 + 340 * rows),
    }
}
