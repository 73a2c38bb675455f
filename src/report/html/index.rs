//! The report's front page: the tables, the figures, and every run with a link to its page.

use std::fmt::Write;

use crate::transcript::{EndStatus, Transcript};

use super::super::dice_table::DiceTable;
use super::super::errors_table::{charged_rounds, ErrorTable};
use super::super::render::{footnotes, row_label};
use super::super::stats_table::StatsReport;
use super::super::study_table::StudyTable;
use super::escape::escape;
use super::figures::{figures_section, FigureEntry};
use super::provenance::Provenance;
use super::rules::rule_links;
use super::tables::{dice_table, errors_table, stats_tables};

/// Everything the front page shows, already aggregated.
pub(crate) struct IndexInput<'a> {
    pub errors: &'a ErrorTable,
    pub dice: &'a DiceTable,
    pub stats: &'a StatsReport,
    pub study: &'a StudyTable,
    pub figures: &'a [FigureEntry],
}

fn status(transcript: &Transcript) -> String {
    match transcript.end() {
        Some(end) => {
            let status = match end.status {
                EndStatus::Succeeded => "succeeded",
                EndStatus::GaveUp => "gave up",
                EndStatus::Aborted => "aborted",
            };
            match &end.reason {
                Some(reason) if end.status == EndStatus::Aborted => {
                    format!("{status}: {reason}")
                }
                _ => status.to_string(),
            }
        }
        None => "not finished (interrupted)".to_string(),
    }
}

/// The list of runs.
fn runs_table(provenance: &Provenance) -> String {
    let mut out = format!(
        "<table id=\"runs-table\">\n<tr><th>run</th><th>row {}</th><th>target</th><th>repeat</th><th>ended {}</th><th>iterations</th><th>rounds charged to the LLM {}</th><th>started</th></tr>\n",
        rule_links("", &["T1"]),
        rule_links("", &["K2", "K3"]),
        rule_links("", &["K1", "K2"])
    );
    for run in &provenance.runs {
        let t = run.transcript;
        let _ = writeln!(
            out,
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&run.page),
            escape(t.run_id()),
            escape(&row_label(&run.row, t.header.llm.is_fixture(), t.header.llm.is_reference())),
            escape(&t.header.target.id),
            t.header.repeat,
            escape(&status(t)),
            t.end().map_or(t.last_iteration(), |e| e.iterations),
            charged_rounds(t),
            escape(&t.header.started_at)
        );
    }
    out.push_str("</table>\n");
    out
}

/// The study's table rebuilt from imported chats (I1-I6), each row linking its runs.
fn study_section(table: &StudyTable, provenance: &Provenance) -> String {
    let mut out = format!(
        "<section id=\"chats\"><h2>Imported chats: errors before the code first ran</h2>\n<p>Beside the study's published count, with the rule behind each difference {}.</p>\n<table id=\"study-table\">\n<tr><th>LLM</th><th>language</th><th>runs</th><th>rounds {}</th><th>pasted before the code ran {}</th><th>distinct {}</th><th>after it ran {}</th><th>by class</th><th>by exception type</th><th>study</th><th>difference</th></tr>\n",
        rule_links("", &["I5", "I6"]),
        rule_links("", &["I1"]),
        rule_links("", &["I2", "I4"]),
        rule_links("", &["I3"]),
        rule_links("", &["I4"]),
    );
    let join = |map: Vec<String>| {
        if map.is_empty() {
            "-".to_owned()
        } else {
            map.join(", ")
        }
    };
    for row in &table.rows {
        let runs: Vec<usize> = provenance
            .runs
            .iter()
            .enumerate()
            .filter(|(_, r)| row.runs.iter().any(|id| id == r.transcript.run_id()))
            .map(|(index, _)| index)
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{} {}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&row.llm),
            provenance.links("", &runs),
            escape(&row.language),
            row.runs.len(),
            row.rounds,
            row.pasted,
            row.distinct,
            row.after_first_run,
            escape(&join(row.by_category.iter().map(|(c, n)| format!("{c} {n}")).collect())),
            escape(&join(row.by_exception.iter().map(|(e, n)| format!("{e} {n}")).collect())),
            row.published.map_or_else(|| "none published".to_owned(), |n| n.to_string()),
            row.difference.map_or_else(|| "-".to_owned(), |d| if d > 0 { format!("+{d}") } else { d.to_string() }),
        );
    }
    out.push_str("</table>\n<ul>\n");
    for row in table.rows.iter().filter(|row| !row.reasons.is_empty()) {
        let _ = writeln!(
            out,
            "<li>{} ({}): {}</li>",
            escape(&row.llm),
            escape(&row.language),
            escape(&row.reasons.join("; "))
        );
    }
    out.push_str("</ul>\n</section>\n");
    out
}

/// The front page.
pub(crate) fn index_page(input: &IndexInput, provenance: &Provenance) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<h1>Results</h1>\n<p>From {} recorded run(s). Each column names the methodology rule its numbers follow; each row links the runs it comes from (their pages name their transcripts).</p>",
        provenance.runs.len()
    );
    let chats = if input.study.rows.is_empty() {
        ""
    } else {
        " · <a href=\"#chats\">Imported chats</a>"
    };
    let _ = writeln!(
        body,
        "<p><a href=\"#errors\">Errors</a>{chats} · <a href=\"#dice\">Dice</a> · <a href=\"#stats\">Statistics over repeats</a> · <a href=\"#figures\">Figures</a> · <a href=\"#runs\">Runs</a></p>"
    );
    body.push_str("<section id=\"errors\"><h2>Errors</h2>\n");
    body.push_str(&errors_table(input.errors, provenance));
    body.push_str("</section>\n");
    if !input.study.rows.is_empty() {
        body.push_str(&study_section(input.study, provenance));
    }
    body.push_str(
        "<section id=\"dice\"><h2>Dice on the held-out split, computed by the harness</h2>\n",
    );
    body.push_str(&dice_table(input.dice, provenance));
    body.push_str("</section>\n<section id=\"stats\"><h2>Statistics over repeats</h2>\n");
    body.push_str(&stats_tables(input.stats, provenance));
    body.push_str("</section>\n<section id=\"figures\"><h2>Figures</h2>\n");
    body.push_str(&figures_section(input.figures));
    body.push_str("</section>\n<section id=\"runs\"><h2>Runs</h2>\n");
    body.push_str(&runs_table(provenance));
    body.push_str("</section>\n");
    let notes = footnotes(
        provenance
            .runs
            .iter()
            .any(|r| r.transcript.header.llm.is_fixture()),
        provenance
            .runs
            .iter()
            .any(|r| r.transcript.header.llm.is_reference()),
    );
    for line in notes.lines().filter(|l| !l.is_empty()) {
        let _ = writeln!(body, "<p class=\"meta\">{}</p>", escape(line));
    }
    super::layout::page("harness report", "", "", &body)
}
