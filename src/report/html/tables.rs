//! The error, Dice and statistics tables as HTML, from the very aggregates and formatters the
//! Markdown tables use; each column names the rule it follows and each row the runs it comes
//! from.

use std::fmt::Write;

use super::super::dice_table::{
    failures_text, mean_text, median_ci_text, show, spread_footnote, DiceTable,
};
use super::super::errors_table::ErrorTable;
use super::super::render::{category_cell, cost, label, rounds_mean, row_label, why_unfinished};
use super::super::row_key::row_name;
use super::super::stats_table::{
    comparison_text, interval, percent, share_fixed, success_by, success_text, StatsReport,
};
use super::escape::escape;
use super::provenance::Provenance;
use super::rules::rule_links;

/// A header cell with the rules its numbers follow.
fn th(name: &str, rules: &[&str]) -> String {
    format!("<th>{} {}</th>", escape(name), rule_links("", rules))
}

fn num(value: impl std::fmt::Display) -> String {
    format!("<td class=\"n\">{}</td>", escape(&value.to_string()))
}

fn text(value: &str) -> String {
    format!("<td>{}</td>", escape(value))
}

const RUNS_HEADER: &str = "<th>from the transcripts of</th>";

/// The error table and the table of errors by category.
pub(crate) fn errors_table(table: &ErrorTable, provenance: &Provenance) -> String {
    let mut out = String::from("<div class=\"wide\"><table id=\"errors-table\">\n<tr>");
    out.push_str(&th("LLM", &["T1"]));
    for (name, rules) in [
        ("runs", &["T1"][..]),
        ("succeeded", &["K1"]),
        ("first try", &["K1"]),
        ("gave up", &["K2"]),
        ("aborted", &["K3", "C2", "C6", "L1", "L3"]),
        ("incomplete", &["K3"]),
        ("rounds mean", &["K1", "K2"]),
        ("rounds max", &["K1", "K2"]),
        ("rounds", &["K1", "K2"]),
        ("diagnostics", &["K1", "C1"]),
        ("inferred files", &["C5"]),
        ("identical replies", &["K4"]),
        ("input tokens", &["K5"]),
        ("output tokens", &["K5"]),
        ("cost (USD)", &["K5"]),
        ("wall (s)", &["T1"]),
    ] {
        out.push_str(&th(name, rules));
    }
    out.push_str(RUNS_HEADER);
    out.push_str("</tr>\n");
    for row in &table.rows {
        let name = row_name(&row.llm, row.variant.as_ref());
        out.push_str("<tr>");
        out.push_str(&text(&label(row)));
        for value in [
            row.runs,
            row.succeeded,
            row.succeeded_first_try,
            row.gave_up,
            row.aborted,
            row.incomplete,
        ] {
            out.push_str(&num(value));
        }
        out.push_str(&num(rounds_mean(row)));
        for value in [
            row.rounds_max,
            row.rounds_total,
            row.diagnostics_total,
            row.inferred_rounds,
            row.identical_replies,
        ] {
            out.push_str(&num(value));
        }
        out.push_str(&num(row.input_tokens));
        out.push_str(&num(row.output_tokens));
        out.push_str(&num(cost(row)));
        out.push_str(&num(format!("{:.1}", row.wall_seconds)));
        let _ = writeln!(
            out,
            "<td>{}</td></tr>",
            provenance.links("", provenance.row_runs(&name))
        );
    }
    out.push_str("</table></div>\n");
    let categories = table.categories_present();
    if !categories.is_empty() {
        out.push_str(&format!(
            "<p>Errors by category: rounds (individual diagnostics); only the LLM's errors are counted {}.</p>\n<div class=\"wide\"><table id=\"categories-table\">\n<tr>{}",
            rule_links("", &["C1", "K1", "K2"]),
            th("LLM", &["T1"])
        ));
        for category in &categories {
            let _ = write!(out, "<th>{}</th>", escape(category.name()));
        }
        out.push_str(RUNS_HEADER);
        out.push_str("</tr>\n");
        for row in &table.rows {
            let name = row_name(&row.llm, row.variant.as_ref());
            out.push_str("<tr>");
            out.push_str(&text(&label(row)));
            for category in &categories {
                out.push_str(&num(category_cell(row, *category)));
            }
            let _ = writeln!(
                out,
                "<td>{}</td></tr>",
                provenance.links("", provenance.row_runs(&name))
            );
        }
        out.push_str("</table></div>\n");
    }
    if !table.unfinished.is_empty() {
        out.push_str("<p>Runs that did not finish, so in no rounds mean:</p>\n<ul>\n");
        for run in &table.unfinished {
            let page = provenance
                .runs
                .iter()
                .find(|r| r.transcript.header.run_id == run.run_id)
                .map(|r| r.page.clone());
            let id = match page {
                Some(page) => format!("<a href=\"{}\">{}</a>", escape(&page), escape(&run.run_id)),
                None => escape(&run.run_id),
            };
            let why = why_unfinished(run);
            let _ = writeln!(
                out,
                "<li>{}: {id} after {} iteration(s), {}</li>",
                escape(&row_label(
                    &row_name(&run.llm, run.variant.as_ref()),
                    run.fixture,
                    run.reference
                )),
                run.iterations,
                escape(&why)
            );
        }
        out.push_str("</ul>\n");
    }
    out
}

/// The Dice table and the runs with no training under it.
pub(crate) fn dice_table(table: &DiceTable, provenance: &Provenance) -> String {
    let mut out = String::new();
    if table.rows.is_empty() {
        out.push_str("<p>No run has been trained yet.</p>\n");
    } else {
        out.push_str("<div class=\"wide\"><table id=\"dice-table\">\n<tr>");
        out.push_str(&th("LLM", &["T1"]));
        for (name, rules) in [
            ("dataset", &["K8"][..]),
            ("trainings", &["K6"]),
            ("scored", &["K6", "K7"]),
            ("mean Dice ± SEM", &["K6", "K7", "S6"]),
            ("median Dice", &["K6", "K7"]),
            ("median 95% CI", &["K6", "S6"]),
            ("best", &["K6", "K7"]),
            ("worst", &["K6", "K7"]),
            ("own Dice disagrees", &["K6"]),
            ("threshold baseline", &["K6", "K8"]),
            ("training (s)", &["K6"]),
        ] {
            out.push_str(&th(name, rules));
        }
        out.push_str(RUNS_HEADER);
        out.push_str("</tr>\n");
        for row in &table.rows {
            let name = row_name(&row.llm, row.variant.as_ref());
            out.push_str("<tr>");
            out.push_str(&text(&row_label(&name, row.fixture, row.reference)));
            out.push_str(&text(&row.dataset));
            out.push_str(&num(row.trainings));
            out.push_str(&num(row.scored));
            out.push_str(&num(mean_text(row)));
            out.push_str(&num(show(row.median_dice)));
            out.push_str(&num(median_ci_text(row)));
            for value in [row.best, row.worst] {
                out.push_str(&num(show(value)));
            }
            out.push_str(&num(row.disagreements));
            out.push_str(&num(show(row.threshold_baseline)));
            out.push_str(&num(format!("{:.1}", row.train_seconds)));
            let _ = writeln!(
                out,
                "<td>{}</td></tr>",
                provenance.links("", provenance.dice_runs(&name, &row.dataset))
            );
        }
        out.push_str("</table></div>\n");
        let failed: Vec<_> = table
            .rows
            .iter()
            .filter(|r| !r.failed_by_category.is_empty())
            .collect();
        if !failed.is_empty() {
            out.push_str("<p>Trainings that failed (phase <code>train</code>), by the class of their first error:</p>\n<ul>\n");
            for row in failed {
                let name = row_name(&row.llm, row.variant.as_ref());
                let _ = writeln!(
                    out,
                    "<li>{} on {}: {} of {} training(s) failed: {}</li>",
                    escape(&row_label(&name, row.fixture, row.reference)),
                    escape(&row.dataset),
                    row.failed_by_category.values().sum::<u32>(),
                    row.trainings,
                    escape(&failures_text(row))
                );
            }
            out.push_str("</ul>\n");
        }
        if let Some(footnote) = spread_footnote(table) {
            let _ = writeln!(
                out,
                "<p>{} {}</p>",
                escape(&footnote),
                rule_links("", &["S6"])
            );
        }
    }
    if !table.untrained.is_empty() {
        out.push_str(&format!(
            "<p>Runs with no training, so not in the table {}:</p>\n<ul>\n",
            rule_links("", &["K6"])
        ));
        for u in &table.untrained {
            let name = row_name(&u.llm, u.variant.as_ref());
            let label = row_label(&name, u.fixture, u.reference);
            let what = if u.succeeded == 0 {
                format!(
                    "{} run(s), none succeeded, so there was nothing to train",
                    u.runs
                )
            } else {
                format!(
                    "{} run(s), {} succeeded, {} of them not trained yet (harness train RUN --dataset NAME)",
                    u.runs, u.succeeded, u.not_trained
                )
            };
            let _ = writeln!(
                out,
                "<li>{}: {}. {}</li>",
                escape(&label),
                escape(&what),
                provenance.links("", provenance.row_runs(&name))
            );
        }
        out.push_str("</ul>\n");
    }
    out
}

/// The statistics over repeats: the repeats table, the rank test, P(success by iteration k)
/// and the repair-decay table.
pub(crate) fn stats_tables(report: &StatsReport, provenance: &Provenance) -> String {
    let mut out = String::from("<div class=\"wide\"><table id=\"stats-table\">\n<tr>");
    out.push_str(&th("LLM", &["T1"]));
    for (name, rules) in [
        ("ended runs", &["K3"][..]),
        ("left out", &["K3"]),
        ("succeeded", &["S1"]),
        ("success rate (95% CI)", &["S1"]),
        ("iterations to success: median [IQR]", &["S2"]),
        ("its median's 95% CI", &["S2"]),
        ("LLM rounds per run: median [IQR]", &["S2", "K1", "K2"]),
        ("its median's 95% CI", &["S2"]),
    ] {
        out.push_str(&th(name, rules));
    }
    out.push_str(RUNS_HEADER);
    out.push_str("</tr>\n");
    for row in &report.rows {
        let [to_success, to_success_ci] = interval(&row.iterations_to_success);
        let [rounds, rounds_ci] = interval(&row.rounds_per_run);
        out.push_str("<tr>");
        out.push_str(&text(&row_label(&row.llm, row.fixture, row.reference)));
        out.push_str(&num(row.ended));
        out.push_str(&num(row.left_out));
        out.push_str(&num(row.succeeded));
        for value in [
            success_text(row),
            to_success,
            to_success_ci,
            rounds,
            rounds_ci,
        ] {
            out.push_str(&num(value));
        }
        let _ = writeln!(
            out,
            "<td>{}</td></tr>",
            provenance.links("", provenance.row_runs(&row.llm))
        );
    }
    out.push_str("</table></div>\n");
    let _ = writeln!(
        out,
        "<p>Ended runs: succeeded or gave up; aborted and interrupted runs are left out {}. Medians and quartiles by linear interpolation (R type 7); intervals of a median by percentile bootstrap, {} resamples, seed {} {}.</p>",
        rule_links("", &["K3"]),
        report.bootstrap.resamples,
        report.bootstrap.seed,
        rule_links("", &["S2"])
    );
    if let Some(sentence) = comparison_text(report) {
        let _ = writeln!(
            out,
            "<p>{} {}</p>",
            escape(&sentence),
            rule_links("", &["S3"])
        );
    }
    let cap = report.rows.iter().map(|r| r.cap).max().unwrap_or(0);
    if cap > 0 {
        let _ = write!(
            out,
            "<h3>P(success by iteration k), over ended runs {}</h3>\n<div class=\"wide\"><table id=\"success-by-table\">\n<tr><th>LLM</th>",
            rule_links("", &["S4"])
        );
        for k in 1..=cap {
            let _ = write!(out, "<th>{k}</th>");
        }
        out.push_str(RUNS_HEADER);
        out.push_str("</tr>\n");
        for row in report.rows.iter().filter(|r| r.ended > 0) {
            out.push_str("<tr>");
            out.push_str(&text(&row_label(&row.llm, row.fixture, row.reference)));
            for k in 0..cap as usize {
                out.push_str(&num(percent(success_by(row, k))));
            }
            let _ = writeln!(
                out,
                "<td>{}</td></tr>",
                provenance.links("", provenance.row_runs(&row.llm))
            );
        }
        out.push_str("</table></div>\n");
    }
    if !report.decay.is_empty() {
        let _ = write!(
            out,
            "<h3>Repair decay {}</h3>\n<p>Rounds headed by an error class that another round followed, and how many the next round rid of every error of that class.</p>\n<div class=\"wide\"><table id=\"decay-table\">\n<tr><th>LLM</th><th>error class</th><th>rounds</th><th>fixed next round</th><th>share fixed</th>{RUNS_HEADER}</tr>\n",
            rule_links("", &["S5"])
        );
        for row in &report.decay {
            out.push_str("<tr>");
            out.push_str(&text(&row.llm));
            out.push_str(&text(row.category.name()));
            out.push_str(&num(row.rounds));
            out.push_str(&num(row.fixed));
            out.push_str(&num(share_fixed(row)));
            let _ = writeln!(
                out,
                "<td>{}</td></tr>",
                provenance.links("", provenance.row_runs(&row.llm))
            );
        }
        out.push_str("</table></div>\n");
    }
    out
}
