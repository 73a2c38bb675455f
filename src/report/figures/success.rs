//! The repair-decay curves: P(success by iteration k) per LLM, as the statistics report has them.

use super::chart::{Chart, Line};
use super::plan::{run_ids, Plan, SIZE};
use crate::csv_text::Csv;
use crate::report::render::row_label;
use crate::report::StatsReport;
use crate::transcript::Transcript;

/// Figure 3: one line per LLM with ended runs, k = 1 up to the largest cap of its runs.
pub(crate) fn success_by_round(report: &StatsReport, transcripts: &[Transcript]) -> Plan {
    let mut csv = Csv::new(&["llm", "k", "p_success", "ended", "succeeded"]);
    let mut lines = Vec::new();
    let mut cap = 1u32;
    for (index, row) in report.rows.iter().filter(|r| r.ended > 0).enumerate() {
        cap = cap.max(row.cap);
        for (k, p) in row.success_by.iter().enumerate() {
            csv.row(&[
                row.llm.clone(),
                (k + 1).to_string(),
                p.to_string(),
                row.ended.to_string(),
                row.succeeded.to_string(),
            ]);
        }
        lines.push(Line {
            name: row_label(&row.llm, row.fixture, row.reference),
            colour: index,
            points: row
                .success_by
                .iter()
                .enumerate()
                .map(|(k, p)| ((k + 1) as f64, *p))
                .collect(),
        });
    }
    let left_out: u32 = report.rows.iter().map(|r| r.left_out).sum();
    let mut caption = "P(success by iteration k) over each LLM's ended runs (succeeded or gave up), as in the statistics report.".to_string();
    if left_out > 0 {
        caption.push_str(&format!(
            " {left_out} aborted or interrupted run(s) are left out."
        ));
    }
    Plan {
        id: "success-by-round".into(),
        title: "P(success by iteration k)".into(),
        caption,
        csv: csv.finish(),
        chart: Chart::Lines {
            x_label: "iteration k".into(),
            y_label: "P(success by k)".into(),
            x_range: Some((0.5, f64::from(cap.max(2)) + 0.5)),
            y_range: Some((0.0, 1.0)),
            lines,
        },
        sources: run_ids(transcripts),
        size: SIZE,
    }
}
