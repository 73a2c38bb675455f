//! The error-count table: per LLM (and target, prompt and model: `row_key.rs`), how its runs
//! went and which errors it made.
//!
//! Errors are counted two ways, as in `ARCHITECTURE.md`: *rounds* (the study's unit: one
//! failing iteration fed back is one error, filed under its most relevant error's category)
//! and *diagnostics* (every individual classified error in those rounds). Infrastructure errors
//! are never counted against an LLM.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::spent_usd;
use crate::taxonomy::Category;
use crate::transcript::{EndStatus, Event, OutcomeEvent, Transcript};

use super::row_key::{variants, RowKey, RowVariant};

/// One row per LLM, target, prompt and model (methodology T1).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LlmRow {
    pub llm: String,
    /// What sets this row apart from the LLM's other rows, where it has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<RowVariant>,
    /// A scripted test fixture, not a real LLM.
    pub fixture: bool,
    /// The harness's hand-written reference crate, not an LLM.
    pub reference: bool,
    pub runs: u32,
    pub succeeded: u32,
    pub succeeded_first_try: u32,
    pub gave_up: u32,
    /// Stopped by an infrastructure failure (API outage, missing toolchain).
    pub aborted: u32,
    /// No `end` event: the run was interrupted.
    pub incomplete: u32,
    /// Feedback rounds per run, over runs that ended (succeeded or gave up); `None` when none
    /// did (every run aborted or was interrupted: see `ErrorTable::unfinished`).
    pub rounds_mean: Option<f64>,
    pub rounds_max: u32,
    pub rounds_total: u32,
    pub diagnostics_total: u32,
    /// Rounds by the category of their most relevant error.
    pub rounds_by_category: BTreeMap<Category, u32>,
    /// Individual diagnostics by category.
    pub diagnostics_by_category: BTreeMap<Category, u32>,
    /// Rounds whose reply named no path for a file the harness then inferred (a format
    /// failure the harness repaired; the round itself may still have worked).
    pub inferred_rounds: u32,
    /// Replies with exactly the bytes of an earlier reply of the same run.
    pub identical_replies: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// US dollars (`config::spent_usd`: the provider's reported cost, else the registry's list
    /// price); `None` when no reply's cost is known.
    pub cost_usd: Option<f64>,
    /// Replies whose cost is not known (no reported cost and no price, or no usage).
    pub unpriced_replies: u32,
    pub wall_seconds: f64,
}

/// A run that neither succeeded nor gave up, so its rounds are in no mean: listed under the
/// table with why.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UnfinishedRun {
    pub llm: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<RowVariant>,
    pub fixture: bool,
    pub reference: bool,
    pub run_id: String,
    /// `aborted` (an infrastructure failure or a harness limit) or `incomplete` (no end event).
    pub status: String,
    /// The iterations it reached.
    pub iterations: u32,
    /// Why it stopped, as its end event says; `None` for an interrupted run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The whole table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ErrorTable {
    pub rows: Vec<LlmRow>,
    /// Runs that aborted or were interrupted, in row order then by run id.
    pub unfinished: Vec<UnfinishedRun>,
}

impl ErrorTable {
    /// The categories that occur anywhere in the table, in taxonomy order.
    pub fn categories_present(&self) -> Vec<Category> {
        Category::ALL
            .into_iter()
            .filter(|c| {
                self.rows.iter().any(|r| {
                    r.diagnostics_by_category.contains_key(c)
                        || r.rounds_by_category.contains_key(c)
                })
            })
            .collect()
    }
}

/// Builds the table from transcripts: one row per LLM, target, prompt and model, ordered by LLM
/// id; runs that differ in any of them never share a row.
pub fn aggregate(transcripts: &[Transcript]) -> ErrorTable {
    let mut rows: BTreeMap<RowKey, (LlmRow, Vec<u32>)> = BTreeMap::new();
    let mut unfinished: Vec<(RowKey, UnfinishedRun)> = Vec::new();
    for transcript in transcripts {
        let spec = &transcript.header.llm;
        if let Some(run) = unfinished_run(transcript) {
            unfinished.push((RowKey::of(&transcript.header), run));
        }
        let (row, rounds) = rows
            .entry(RowKey::of(&transcript.header))
            .or_insert_with(|| {
                (
                    LlmRow {
                        llm: spec.id.clone(),
                        fixture: spec.is_fixture(),
                        reference: spec.is_reference(),
                        ..Default::default()
                    },
                    Vec::new(),
                )
            });
        add_run(row, rounds, transcript);
    }
    let variants = variants(rows.keys());
    unfinished.sort_by(|a, b| (&a.0, &a.1.run_id).cmp(&(&b.0, &b.1.run_id)));
    ErrorTable {
        unfinished: unfinished
            .into_iter()
            .map(|(key, mut run)| {
                run.variant = variants.get(&key).cloned().flatten();
                run
            })
            .collect(),
        rows: rows
            .into_iter()
            .map(|(key, (mut row, rounds))| {
                row.variant = variants.get(&key).cloned().flatten();
                row.rounds_max = rounds.iter().copied().max().unwrap_or(0);
                row.rounds_mean = (!rounds.is_empty())
                    .then(|| rounds.iter().sum::<u32>() as f64 / rounds.len() as f64);
                row
            })
            .collect(),
    }
}

/// The run, if it aborted or was interrupted.
fn unfinished_run(transcript: &Transcript) -> Option<UnfinishedRun> {
    let spec = &transcript.header.llm;
    let (status, iterations, reason) = match transcript.end() {
        Some(end) if end.status == EndStatus::Aborted => {
            ("aborted", end.iterations, end.reason.clone())
        }
        Some(_) => return None,
        None => {
            let reached = transcript
                .events
                .iter()
                .filter_map(|e| match e {
                    Event::Outcome(o) => Some(o.iteration),
                    _ => None,
                })
                .max()
                .unwrap_or(0);
            ("incomplete", reached, None)
        }
    };
    Some(UnfinishedRun {
        llm: spec.id.clone(),
        variant: None,
        fixture: spec.is_fixture(),
        reference: spec.is_reference(),
        run_id: transcript.header.run_id.clone(),
        status: status.to_string(),
        iterations,
        reason,
    })
}

/// The outcomes that can count against the LLM: every round whose errors were fed back to it.
/// The last round of a run that gave up at the cap was never fed back: it is counted once, as
/// the run's "gave up", not as one more error (docs/methodology.md).
///
/// An imported chat goes on after the round its code first ran (rule I4): its later rounds are
/// recorded after that round's end and are not counted either.
pub fn counted_outcomes(transcript: &Transcript) -> Vec<&OutcomeEvent> {
    let last_of_gave_up = transcript
        .end()
        .filter(|end| end.status == EndStatus::GaveUp)
        .map(|end| end.iterations);
    let ended_at = transcript.end().map_or(u32::MAX, |end| end.iterations);
    transcript
        .outcomes()
        .filter(|outcome| Some(outcome.iteration) != last_of_gave_up)
        .filter(|outcome| outcome.iteration <= ended_at)
        .collect()
}

/// Rounds charged to the LLM in one run: counted outcomes with an error it is charged for.
pub fn charged_rounds(transcript: &Transcript) -> u32 {
    counted_outcomes(transcript)
        .iter()
        .filter(|o| o.errors.iter().any(|e| e.category.charged_to_llm()))
        .count() as u32
}

/// One counted round charged to the LLM: its iteration, the class it is filed under (its first
/// charged error's) and the classes of all its charged diagnostics. The error table and the
/// figures count from this one list.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargedRound {
    pub iteration: u32,
    pub category: Category,
    pub diagnostics: Vec<Category>,
}

/// The rounds of one run that count against the LLM, in order (rules K1 and K2).
pub fn charged_round_list(transcript: &Transcript) -> Vec<ChargedRound> {
    counted_outcomes(transcript)
        .into_iter()
        .filter_map(|outcome| {
            let diagnostics: Vec<Category> = outcome
                .errors
                .iter()
                .map(|e| e.category)
                .filter(|c| c.charged_to_llm())
                .collect();
            Some(ChargedRound {
                iteration: outcome.iteration,
                category: *diagnostics.first()?,
                diagnostics,
            })
        })
        .collect()
}

fn add_run(row: &mut LlmRow, rounds_per_run: &mut Vec<u32>, transcript: &Transcript) {
    row.runs += 1;
    let mut rounds = 0u32;
    for round in charged_round_list(transcript) {
        rounds += 1;
        *row.rounds_by_category.entry(round.category).or_default() += 1;
        for category in round.diagnostics {
            row.diagnostics_total += 1;
            *row.diagnostics_by_category.entry(category).or_default() += 1;
        }
    }
    row.rounds_total += rounds;
    let price = transcript.header.llm.price.as_ref();
    for event in &transcript.events {
        match event {
            Event::Reply(reply) => {
                if let Some(usage) = reply.usage {
                    row.input_tokens += usage.input_tokens;
                    row.output_tokens += usage.output_tokens;
                }
                match spent_usd(reply.cost_usd, reply.usage.as_ref(), price) {
                    Some(cost) => *row.cost_usd.get_or_insert(0.0) += cost,
                    None => row.unpriced_replies += 1,
                }
                if reply.identical_to.is_some() {
                    row.identical_replies += 1;
                }
            }
            Event::Files(files) if !files.inferred.is_empty() => row.inferred_rounds += 1,
            _ => {}
        }
    }
    match transcript.end() {
        Some(end) => {
            row.wall_seconds += end.wall_ms as f64 / 1000.0;
            match end.status {
                EndStatus::Succeeded => {
                    row.succeeded += 1;
                    if end.iterations == 1 {
                        row.succeeded_first_try += 1;
                    }
                    rounds_per_run.push(rounds);
                }
                EndStatus::GaveUp => {
                    row.gave_up += 1;
                    rounds_per_run.push(rounds);
                }
                EndStatus::Aborted => row.aborted += 1,
            }
        }
        None => row.incomplete += 1,
    }
}
