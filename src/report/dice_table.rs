//! The Dice table: per LLM (and target, prompt and model: `row_key.rs`) and dataset, how full
//! training went and the Dice the harness measured on the held-out split. Derived from
//! `training` events only.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::transcript::{Event, Transcript};

use crate::eval::DICE_TOLERANCE;
use crate::stats::{bootstrap_median, BootstrapConfig, BootstrapInterval, Statistic};

use super::row_key::{row_name, variants, RowKey, RowVariant};

/// One row per (LLM, target, prompt, model; dataset).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DiceRow {
    pub llm: String,
    /// What sets this row apart from the LLM's other rows, where it has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<RowVariant>,
    pub fixture: bool,
    pub reference: bool,
    pub dataset: String,
    /// Trainings recorded.
    pub trainings: u32,
    /// Trainings that produced scored predictions.
    pub scored: u32,
    /// Mean over scored trainings of their mean per-image Dice.
    pub mean_dice: Option<f64>,
    /// The standard error of `mean_dice` over scored trainings (two or more).
    pub mean_dice_sem: Option<f64>,
    /// Median over scored trainings of their median per-image Dice.
    pub median_dice: Option<f64>,
    /// 95% percentile-bootstrap interval of `median_dice` over scored trainings (two or more;
    /// `stats::BootstrapConfig::default`, so the same recordings give the same bounds).
    pub median_dice_ci: Option<[f64; 2]>,
    /// The best and worst training's mean Dice.
    pub best: Option<f64>,
    pub worst: Option<f64>,
    /// Trainings whose program reported a Dice more than 0.05 away from the harness's.
    pub disagreements: u32,
    /// Trainings that failed (phase `train`), by the class of their first error: the fix loop's
    /// taxonomy. A failed training counts under `trainings`, never in a mean.
    pub failed_by_category: BTreeMap<crate::taxonomy::Category, u32>,
    /// Mean Dice of the best global threshold on the same split.
    pub threshold_baseline: Option<f64>,
    /// Total training time in seconds.
    pub train_seconds: f64,
}

/// An LLM with runs that have no training: none succeeded, or some that did were not trained.
/// Listed under the table so that no run drops out of it unsaid.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Untrained {
    pub llm: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<RowVariant>,
    pub fixture: bool,
    pub reference: bool,
    pub runs: u32,
    pub succeeded: u32,
    /// Succeeded runs without any training event.
    pub not_trained: u32,
}

/// The whole table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DiceTable {
    pub rows: Vec<DiceRow>,
    pub untrained: Vec<Untrained>,
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// Builds the table from the transcripts' training events, rows ordered by LLM then dataset.
pub fn aggregate_dice(transcripts: &[Transcript]) -> DiceTable {
    struct Acc {
        row: DiceRow,
        means: Vec<f64>,
        medians: Vec<f64>,
        baselines: Vec<f64>,
    }
    let mut rows: BTreeMap<(RowKey, String), Acc> = BTreeMap::new();
    let mut untrained: BTreeMap<RowKey, Untrained> = BTreeMap::new();
    for transcript in transcripts {
        let spec = &transcript.header.llm;
        let row_key = RowKey::of(&transcript.header);
        let entry = untrained
            .entry(row_key.clone())
            .or_insert_with(|| Untrained {
                llm: spec.id.clone(),
                fixture: spec.is_fixture(),
                reference: spec.is_reference(),
                ..Default::default()
            });
        entry.runs += 1;
        let succeeded = transcript
            .end()
            .is_some_and(|end| end.status == crate::transcript::EndStatus::Succeeded);
        let trained = transcript
            .events
            .iter()
            .any(|event| matches!(event, Event::Training(_)));
        entry.succeeded += u32::from(succeeded);
        entry.not_trained += u32::from(succeeded && !trained);
        for event in &transcript.events {
            let Event::Training(training) = event else {
                continue;
            };
            let key = (row_key.clone(), training.dataset.name.clone());
            let acc = rows.entry(key).or_insert_with(|| Acc {
                row: DiceRow {
                    llm: spec.id.clone(),
                    fixture: spec.is_fixture(),
                    reference: spec.is_reference(),
                    dataset: training.dataset.name.clone(),
                    ..Default::default()
                },
                means: Vec::new(),
                medians: Vec::new(),
                baselines: Vec::new(),
            });
            acc.row.trainings += 1;
            if let Some(first) = training.errors.first() {
                *acc.row
                    .failed_by_category
                    .entry(first.category)
                    .or_default() += 1;
            }
            acc.row.train_seconds += training.train_ms as f64 / 1000.0;
            if let Some(dice) = &training.dice {
                acc.row.scored += 1;
                acc.means.push(dice.mean);
                acc.medians.push(dice.median);
            }
            if training.dice_disagrees {
                acc.row.disagreements += 1;
            }
            if let Some(baseline) = training.threshold_baseline {
                acc.baselines.push(baseline);
            }
        }
    }
    // Labels tell apart an LLM's keys among all its runs, trained or not.
    let variants = variants(untrained.keys());
    let variant = |key: &RowKey| variants.get(key).cloned().flatten();
    DiceTable {
        rows: rows
            .into_iter()
            .map(|((key, _), mut acc)| {
                acc.row.variant = variant(&key);
                let n = acc.means.len() as f64;
                acc.row.mean_dice = (n > 0.0).then(|| acc.means.iter().sum::<f64>() / n);
                acc.row.best = acc.means.iter().copied().reduce(f64::max);
                acc.row.worst = acc.means.iter().copied().reduce(f64::min);
                acc.row.mean_dice_sem = spread(&acc.means).and_then(|s| s.sem);
                acc.row.median_dice_ci = (acc.medians.len() > 1)
                    .then(|| bootstrap_median(&acc.medians, &BootstrapConfig::default()).ok())
                    .flatten()
                    .map(|ci| [ci.lower, ci.upper]);
                acc.row.median_dice = median(&mut acc.medians);
                let b = acc.baselines.len() as f64;
                acc.row.threshold_baseline =
                    (b > 0.0).then(|| acc.baselines.iter().sum::<f64>() / b);
                acc.row
            })
            .collect(),
        untrained: untrained
            .into_iter()
            .filter(|(_, u)| u.succeeded == 0 || u.not_trained > 0)
            .map(|(key, mut u)| {
                u.variant = variant(&key);
                u
            })
            .collect(),
    }
}

/// A row's failed trainings by class: `timeout 1, out-of-memory 1`.
pub(crate) fn failures_text(row: &DiceRow) -> String {
    row.failed_by_category
        .iter()
        .map(|(category, n)| format!("{category} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sample's summary; `None` for an empty one (or one with a NaN, which Dice never is).
fn spread(values: &[f64]) -> Option<crate::stats::Summary> {
    crate::stats::summary(values).ok()
}

pub(crate) fn show(value: Option<f64>) -> String {
    value.map_or("n/a".to_string(), |v| format!("{v:.3}"))
}

/// A row's mean Dice with its standard error where there is one, as the tables show it.
pub(crate) fn mean_text(row: &DiceRow) -> String {
    match (row.mean_dice, row.mean_dice_sem) {
        (Some(mean), Some(sem)) => format!("{mean:.3} ± {sem:.3}"),
        (mean, _) => show(mean),
    }
}

/// A row's 95% interval of the median Dice, as the tables show it.
pub(crate) fn median_ci_text(row: &DiceRow) -> String {
    row.median_dice_ci
        .map_or("n/a".to_string(), |[lo, hi]| format!("{lo:.3}–{hi:.3}"))
}

/// The footnote on the SEM and intervals, where a row has them.
pub(crate) fn spread_footnote(table: &DiceTable) -> Option<String> {
    table.rows.iter().any(|r| r.mean_dice_sem.is_some()).then(|| {
        let ci = BootstrapInterval::footnote_for(Statistic::Median, &BootstrapConfig::default());
        format!("SEM and intervals are over scored trainings (runs and seeds; n/a for fewer than two): {ci}.")
    })
}

/// The Dice table as Markdown.
pub fn render_dice_markdown(table: &DiceTable) -> String {
    let mut out = String::from(
        "| LLM | dataset | trainings | scored | mean Dice ± SEM | median Dice | median 95% CI | best | worst | own Dice disagrees | threshold baseline | training (s) |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in &table.rows {
        let name = row_name(&row.llm, row.variant.as_ref());
        let label = super::render::row_label(&name, row.fixture, row.reference);
        let mean = mean_text(row);
        let ci = median_ci_text(row);
        out.push_str(&format!(
            "| {label} | {} | {} | {} | {mean} | {} | {ci} | {} | {} | {} | {} | {:.1} |\n",
            row.dataset,
            row.trainings,
            row.scored,
            show(row.median_dice),
            show(row.best),
            show(row.worst),
            row.disagreements,
            show(row.threshold_baseline),
            row.train_seconds
        ));
    }
    if let Some(footnote) = spread_footnote(table) {
        out.push_str(&format!("\n{footnote}\n"));
    }
    if table.rows.iter().any(|r| r.disagreements > 0) {
        out.push_str(&format!(
            "\n\"Own Dice disagrees\" counts trainings whose program reported a test Dice more than {DICE_TOLERANCE} away from the harness's. The two are not on the same images: the harness scores the held-out split the program never saw; the program scores its own test split of the training pool. A difference is a reason to read its Dice formula, not proof of a wrong one.\n"
        ));
    }
    let failed: Vec<&DiceRow> = table
        .rows
        .iter()
        .filter(|r| !r.failed_by_category.is_empty())
        .collect();
    if !failed.is_empty() {
        out.push_str(
            "\nTrainings that failed (phase `train`), by the class of their first error:\n\n",
        );
    }
    for row in failed {
        let name = row_name(&row.llm, row.variant.as_ref());
        let label = super::render::row_label(&name, row.fixture, row.reference);
        out.push_str(&format!(
            "- {label} on {}: {} of {} training(s) failed: {}\n",
            row.dataset,
            row.failed_by_category.values().sum::<u32>(),
            row.trainings,
            failures_text(row)
        ));
    }
    if !table.untrained.is_empty() {
        out.push_str("\nRuns with no training, so not in the table:\n\n");
    }
    for u in &table.untrained {
        let name = row_name(&u.llm, u.variant.as_ref());
        let label = super::render::row_label(&name, u.fixture, u.reference);
        if u.succeeded == 0 {
            out.push_str(&format!(
                "- {label}: {} run(s), none succeeded, so there was nothing to train.\n",
                u.runs
            ));
        } else {
            out.push_str(&format!(
                "- {label}: {} run(s), {} succeeded, {} of them not trained yet (`harness train RUN --dataset NAME`).\n",
                u.runs, u.succeeded, u.not_trained
            ));
        }
    }
    out.push_str(&super::render::footnotes(
        table.rows.iter().any(|r| r.fixture) || table.untrained.iter().any(|u| u.fixture),
        table.rows.iter().any(|r| r.reference) || table.untrained.iter().any(|u| u.reference),
    ));
    out
}

/// The Dice table as CSV, one row per (LLM, dataset).
pub fn render_dice_csv(table: &DiceTable) -> String {
    let mut csv = crate::csv_text::Csv::new([
        "llm",
        "fixture",
        "reference",
        "dataset",
        "trainings",
        "scored",
        "mean_dice",
        "mean_dice_sem",
        "median_dice",
        "median_dice_ci_low",
        "median_dice_ci_high",
        "best",
        "worst",
        "disagreements",
        "threshold_baseline",
        "train_seconds",
    ]);
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.6}"));
    for row in &table.rows {
        csv.row([
            row_name(&row.llm, row.variant.as_ref()),
            row.fixture.to_string(),
            row.reference.to_string(),
            row.dataset.clone(),
            row.trainings.to_string(),
            row.scored.to_string(),
            opt(row.mean_dice),
            opt(row.mean_dice_sem),
            opt(row.median_dice),
            opt(row.median_dice_ci.map(|ci| ci[0])),
            opt(row.median_dice_ci.map(|ci| ci[1])),
            opt(row.best),
            opt(row.worst),
            row.disagreements.to_string(),
            opt(row.threshold_baseline),
            format!("{:.3}", row.train_seconds),
        ]);
    }
    csv.finish()
}

/// The Dice table as pretty JSON.
pub fn render_dice_json(table: &DiceTable) -> String {
    let mut text = serde_json::to_string_pretty(table).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
}
