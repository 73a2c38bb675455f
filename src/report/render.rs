//! Renders the error-count table as Markdown, CSV or JSON. Pure: text in memory, no I/O.

use std::fmt::Write;

use super::errors_table::{ErrorTable, LlmRow};
use super::row_key::row_name;
use crate::csv_text::Csv;

/// An output format for tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Markdown,
    Csv,
    Json,
}

pub(crate) fn label(row: &LlmRow) -> String {
    row_label(
        &row_name(&row.llm, row.variant.as_ref()),
        row.fixture,
        row.reference,
    )
}

/// An LLM's name in a table, marked when the row is a fixture (†) or the reference (‡).
pub(crate) fn row_label(llm: &str, fixture: bool, reference: bool) -> String {
    if fixture {
        format!("{llm} †")
    } else if reference {
        format!("{llm} ‡")
    } else {
        llm.to_string()
    }
}

/// The footnotes for the marks `row_label` used.
pub(crate) fn footnotes(fixture: bool, reference: bool) -> String {
    let mut out = String::new();
    if fixture || reference {
        out.push('\n');
    }
    if fixture {
        out.push_str("† a scripted test fixture, not an LLM.\n");
    }
    if reference {
        out.push_str("‡ the harness's hand-written reference U-Net, not an LLM.\n");
    }
    out
}

/// The cost, with how many replies it leaves out where their cost is unknown.
pub(crate) fn cost(row: &LlmRow) -> String {
    match (row.cost_usd, row.unpriced_replies) {
        (None, _) => "n/a".to_string(),
        (Some(cost), 0) => format!("{cost:.4}"),
        (Some(cost), unpriced) => format!("{cost:.4} (+{unpriced} unpriced)"),
    }
}

/// A row's rounds headed by `category` and its diagnostics of it: `rounds (diagnostics)`.
pub(crate) fn category_cell(row: &LlmRow, category: crate::taxonomy::Category) -> String {
    let rounds = row.rounds_by_category.get(&category).copied().unwrap_or(0);
    let diagnostics = row
        .diagnostics_by_category
        .get(&category)
        .copied()
        .unwrap_or(0);
    format!("{rounds} ({diagnostics})")
}

/// Why a run did not finish, as its end event says (or that it has none).
pub(crate) fn why_unfinished(run: &super::UnfinishedRun) -> String {
    match &run.reason {
        Some(reason) => format!("aborted: {reason}"),
        None if run.status == "incomplete" => {
            "interrupted (no end event; `harness generate --resume` goes on)".to_string()
        }
        None => run.status.clone(),
    }
}

/// The rounds mean, or why there is none.
pub(crate) fn rounds_mean(row: &LlmRow) -> String {
    row.rounds_mean
        .map_or("n/a (none ended)".to_string(), |m| format!("{m:.2}"))
}

/// Two Markdown tables: the runs, then the errors by category as `rounds (diagnostics)`.
pub fn render_markdown(table: &ErrorTable) -> String {
    let mut out = String::new();
    out.push_str("| LLM | runs | succeeded | first try | gave up | aborted | incomplete | rounds mean | rounds max | rounds | diagnostics | inferred files | identical replies | input tokens | output tokens | cost (USD) | wall (s) |\n");
    out.push_str(
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in &table.rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} |",
            label(row),
            row.runs,
            row.succeeded,
            row.succeeded_first_try,
            row.gave_up,
            row.aborted,
            row.incomplete,
            rounds_mean(row),
            row.rounds_max,
            row.rounds_total,
            row.diagnostics_total,
            row.inferred_rounds,
            row.identical_replies,
            row.input_tokens,
            row.output_tokens,
            cost(row),
            row.wall_seconds,
        );
    }
    let categories = table.categories_present();
    if !categories.is_empty() {
        out.push_str("\nErrors by category: rounds (individual diagnostics).\n\n| LLM |");
        for category in &categories {
            let _ = write!(out, " {category} |");
        }
        out.push_str("\n|---|");
        for _ in &categories {
            out.push_str("---:|");
        }
        out.push('\n');
        for row in &table.rows {
            let _ = write!(out, "| {} |", label(row));
            for category in &categories {
                let _ = write!(out, " {} |", category_cell(row, *category));
            }
            out.push('\n');
        }
    }
    if !table.unfinished.is_empty() {
        out.push_str("\nRuns that did not finish, so in no rounds mean:\n\n");
    }
    for run in &table.unfinished {
        let name = super::row_key::row_name(&run.llm, run.variant.as_ref());
        let who = row_label(&name, run.fixture, run.reference);
        let why = why_unfinished(run);
        let _ = writeln!(
            out,
            "- {who}: `{}` after {} iteration(s), {why}",
            run.run_id, run.iterations
        );
    }
    out.push_str(&footnotes(
        table.rows.iter().any(|r| r.fixture),
        table.rows.iter().any(|r| r.reference),
    ));
    out
}

/// One CSV row per LLM; a `rounds:<category>` and a `diagnostics:<category>` column for every
/// category of the taxonomy, so files from different runs line up.
pub fn render_csv(table: &ErrorTable) -> String {
    let mut header: Vec<String> = [
        "llm",
        "fixture",
        "reference",
        "runs",
        "succeeded",
        "succeeded_first_try",
        "gave_up",
        "aborted",
        "incomplete",
        "rounds_mean",
        "rounds_max",
        "rounds_total",
        "diagnostics_total",
        "inferred_rounds",
        "identical_replies",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "unpriced_replies",
        "wall_seconds",
    ]
    .map(String::from)
    .to_vec();
    for category in crate::taxonomy::Category::ALL {
        header.push(format!("rounds:{category}"));
        header.push(format!("diagnostics:{category}"));
    }
    let mut csv = Csv::new(&header);
    for row in &table.rows {
        let mut fields = vec![
            row_name(&row.llm, row.variant.as_ref()),
            row.fixture.to_string(),
            row.reference.to_string(),
            row.runs.to_string(),
            row.succeeded.to_string(),
            row.succeeded_first_try.to_string(),
            row.gave_up.to_string(),
            row.aborted.to_string(),
            row.incomplete.to_string(),
            row.rounds_mean.map_or(String::new(), |m| format!("{m:.4}")),
            row.rounds_max.to_string(),
            row.rounds_total.to_string(),
            row.diagnostics_total.to_string(),
            row.inferred_rounds.to_string(),
            row.identical_replies.to_string(),
            row.input_tokens.to_string(),
            row.output_tokens.to_string(),
            row.cost_usd.map_or(String::new(), |c| format!("{c:.6}")),
            row.unpriced_replies.to_string(),
            format!("{:.3}", row.wall_seconds),
        ];
        for category in crate::taxonomy::Category::ALL {
            let count = |counts: &std::collections::BTreeMap<_, u32>| {
                counts.get(&category).copied().unwrap_or(0).to_string()
            };
            fields.push(count(&row.rounds_by_category));
            fields.push(count(&row.diagnostics_by_category));
        }
        csv.row(&fields);
    }
    csv.finish()
}

/// The table as pretty JSON.
pub fn render_json(table: &ErrorTable) -> String {
    let mut text = serde_json::to_string_pretty(table).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
}
