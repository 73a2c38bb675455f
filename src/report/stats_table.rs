//! The statistics over repeats: per LLM, the success rate with its Wilson interval, rounds to
//! success and errors per run with median, IQR and bootstrap interval; a rank test between LLMs;
//! and the repair-decay table. Derived from transcripts only; the rules are in
//! `docs/methodology.md`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::errors_table::charged_rounds;
use super::row_key::{row_name, variants, RowKey};
use crate::stats::{
    bootstrap_median, kruskal_wallis, mann_whitney_u, summary, wilson, BootstrapConfig,
    BootstrapInterval, Method, ProportionInterval, StatsError, Summary,
};
use crate::taxonomy::Category;
use crate::transcript::{EndStatus, OutcomeEvent, Transcript};

/// A sample's description: its summary and the bootstrap interval of its median.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Described {
    pub summary: Summary,
    pub median_ci: BootstrapInterval,
}

/// One row per LLM.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsRow {
    pub llm: String,
    pub fixture: bool,
    pub reference: bool,
    /// Runs that ended by the LLM's doing (succeeded or gave up); aborted and incomplete runs
    /// are left out and counted apart.
    pub ended: u32,
    pub left_out: u32,
    pub succeeded: u32,
    /// The success rate over `ended`, Wilson 95%.
    pub success: Option<ProportionInterval>,
    /// Iterations to success, over the runs that succeeded.
    pub iterations_to_success: Option<Described>,
    /// Rounds charged to the LLM per ended run (the error table's unit).
    pub rounds_per_run: Option<Described>,
    /// The largest cap among the ended runs.
    pub cap: u32,
    /// P(success by iteration k) for k = 1..=cap, over `ended`.
    pub success_by: Vec<f64>,
}

/// How one error class fared in the round after it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecayRow {
    pub llm: String,
    pub category: Category,
    /// Rounds whose most relevant error had this class and that a next round followed.
    pub rounds: u32,
    /// Of those, rounds after which the next round had no error of this class.
    pub fixed: u32,
}

/// A rank test of rounds per run between the real LLMs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub llms: Vec<String>,
    pub method: Method,
    /// U (two LLMs) or H (more).
    pub statistic: f64,
    pub p: f64,
    /// Rank-biserial r (two LLMs) or ε² (more).
    pub effect: f64,
}

/// Everything `harness report stats` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsReport {
    pub rows: Vec<StatsRow>,
    pub decay: Vec<DecayRow>,
    pub comparison: Option<Comparison>,
    /// Why there is no comparison, where there is none.
    pub no_comparison: Option<String>,
    pub bootstrap: BootstrapConfig,
}

fn described(sample: &[f64], config: &BootstrapConfig) -> Option<Described> {
    Some(Described {
        summary: summary(sample).ok()?,
        median_ci: bootstrap_median(sample, config).ok()?,
    })
}

/// The first charged error's class of an outcome, if any.
fn primary(outcome: &OutcomeEvent) -> Option<Category> {
    outcome
        .errors
        .iter()
        .map(|e| e.category)
        .find(|c| c.charged_to_llm())
}

/// Builds the report, rows ordered by LLM id.
pub fn aggregate_stats(transcripts: &[Transcript], bootstrap: BootstrapConfig) -> StatsReport {
    struct Acc<'a> {
        ended: Vec<&'a Transcript>,
        left_out: u32,
        fixture: bool,
        reference: bool,
    }
    // Rows keyed as in the error table: runs of another target, prompt or model never mix.
    let mut by_key: BTreeMap<RowKey, Acc> = BTreeMap::new();
    for transcript in transcripts {
        let spec = &transcript.header.llm;
        let acc = by_key
            .entry(RowKey::of(&transcript.header))
            .or_insert_with(|| Acc {
                ended: Vec::new(),
                left_out: 0,
                fixture: spec.is_fixture(),
                reference: spec.is_reference(),
            });
        match transcript.end().map(|e| e.status) {
            Some(EndStatus::Succeeded | EndStatus::GaveUp) => acc.ended.push(transcript),
            _ => acc.left_out += 1,
        }
    }
    let variants = variants(by_key.keys());
    let by_llm: BTreeMap<String, Acc> = by_key
        .into_iter()
        .map(|(key, acc)| {
            let variant = variants.get(&key).cloned().flatten();
            (row_name(&key.llm, variant.as_ref()), acc)
        })
        .collect();
    let mut rows = Vec::new();
    let mut decay = Vec::new();
    for (llm, acc) in &by_llm {
        let success_at: Vec<Option<u32>> = acc
            .ended
            .iter()
            .map(|t| {
                let end = t.end().expect("ended runs have an end");
                (end.status == EndStatus::Succeeded).then_some(end.iterations)
            })
            .collect();
        let succeeded = success_at.iter().flatten().count() as u32;
        let ended = acc.ended.len() as u32;
        let cap = acc
            .ended
            .iter()
            .map(|t| t.header.max_iterations)
            .max()
            .unwrap_or(0);
        let success_by = (1..=cap)
            .map(|k| {
                let by_k = success_at.iter().flatten().filter(|&&i| i <= k).count();
                by_k as f64 / f64::from(ended.max(1))
            })
            .collect();
        let to_success: Vec<f64> = success_at.iter().flatten().map(|&i| f64::from(i)).collect();
        let rounds: Vec<f64> = acc
            .ended
            .iter()
            .map(|t| f64::from(charged_rounds(t)))
            .collect();
        rows.push(StatsRow {
            llm: llm.to_string(),
            fixture: acc.fixture,
            reference: acc.reference,
            ended,
            left_out: acc.left_out,
            succeeded,
            success: wilson(u64::from(succeeded), u64::from(ended)).ok(),
            iterations_to_success: described(&to_success, &bootstrap),
            rounds_per_run: described(&rounds, &bootstrap),
            cap,
            success_by,
        });
        decay.extend(repair_decay(llm, &acc.ended));
    }
    let groups: Vec<(String, Vec<f64>)> = by_llm
        .iter()
        .filter(|(_, acc)| !acc.fixture && !acc.reference)
        .map(|(llm, acc)| {
            let rounds = acc.ended.iter().map(|t| f64::from(charged_rounds(t)));
            (llm.clone(), rounds.collect())
        })
        .collect();
    let (comparison, no_comparison) = compare(&groups);
    StatsReport {
        rows,
        decay,
        comparison,
        no_comparison,
        bootstrap,
    }
}

/// Per error class: of the rounds it headed that another round followed, how many the next
/// round rid of that class.
fn repair_decay(llm: &str, runs: &[&Transcript]) -> Vec<DecayRow> {
    let mut counts: BTreeMap<Category, (u32, u32)> = BTreeMap::new();
    for run in runs {
        let outcomes: Vec<&OutcomeEvent> = run.outcomes().collect();
        for pair in outcomes.windows(2) {
            let Some(category) = primary(pair[0]) else {
                continue;
            };
            let entry = counts.entry(category).or_default();
            entry.0 += 1;
            if !pair[1].errors.iter().any(|e| e.category == category) {
                entry.1 += 1;
            }
        }
    }
    counts
        .into_iter()
        .map(|(category, (rounds, fixed))| DecayRow {
            llm: llm.to_string(),
            category,
            rounds,
            fixed,
        })
        .collect()
}

/// Mann-Whitney for two LLMs, Kruskal-Wallis for more; each needs two runs or more.
fn compare(groups: &[(String, Vec<f64>)]) -> (Option<Comparison>, Option<String>) {
    let usable: Vec<&(String, Vec<f64>)> = groups.iter().filter(|(_, v)| v.len() >= 2).collect();
    if usable.len() < 2 {
        return (
            None,
            Some("no rank test: fewer than two real LLMs with two or more ended runs".into()),
        );
    }
    let llms = usable.iter().map(|(llm, _)| llm.clone()).collect();
    let result = if usable.len() == 2 {
        mann_whitney_u(&usable[0].1, &usable[1].1).map(|t| Comparison {
            llms,
            method: t.method,
            statistic: t.u,
            p: t.p,
            effect: t.rank_biserial,
        })
    } else {
        let samples: Vec<&[f64]> = usable.iter().map(|(_, v)| v.as_slice()).collect();
        kruskal_wallis(&samples).map(|t| Comparison {
            llms,
            method: t.method,
            statistic: t.h,
            p: t.p,
            effect: t.epsilon_squared,
        })
    };
    match result {
        Ok(comparison) => (Some(comparison), None),
        Err(StatsError::AllTied) => (
            None,
            Some("no rank test: every run of every LLM had the same number of rounds".into()),
        ),
        Err(error) => (None, Some(format!("no rank test: {error}"))),
    }
}

pub(crate) fn interval(d: &Option<Described>) -> [String; 2] {
    match d {
        None => ["n/a".into(), "n/a".into()],
        Some(d) => [
            format!(
                "{:.1} [{:.1}, {:.1}]",
                d.summary.median, d.summary.q1, d.summary.q3
            ),
            format!("{:.1} – {:.1}", d.median_ci.lower, d.median_ci.upper),
        ],
    }
}

pub(crate) fn percent(value: f64) -> String {
    format!("{:.0}%", value * 100.0)
}

/// A row's success rate with its interval, as the tables show it.
pub(crate) fn success_text(row: &StatsRow) -> String {
    row.success.as_ref().map_or("n/a".to_string(), |w| {
        format!(
            "{} ({} – {})",
            percent(w.estimate),
            percent(w.lower),
            percent(w.upper)
        )
    })
}

/// P(success by iteration `k + 1`): past a run's cap, its verdict stands.
pub(crate) fn success_by(row: &StatsRow, k: usize) -> f64 {
    row.success_by
        .get(k)
        .or(row.success_by.last())
        .copied()
        .unwrap_or(0.0)
}

/// The share of a class's rounds that the next round fixed.
pub(crate) fn share_fixed(row: &DecayRow) -> String {
    percent(f64::from(row.fixed) / f64::from(row.rounds.max(1)))
}

/// The rank test's sentence, or why there is none.
pub(crate) fn comparison_text(report: &StatsReport) -> Option<String> {
    match (&report.comparison, &report.no_comparison) {
        (Some(c), _) => {
            let (name, effect) = if c.method == Method::KruskalWallis {
                ("H", "ε²")
            } else {
                ("U", "r")
            };
            Some(format!(
                "LLM rounds per run compared between {}: {name} = {:.2}, p = {:.4}, {effect} = {:.2} ({}).",
                c.llms.join(", "),
                c.statistic,
                c.p,
                c.effect,
                c.method.description()
            ))
        }
        (None, Some(why)) => Some(format!("{}.", capitalise(why))),
        (None, None) => None,
    }
}

/// The report as Markdown: the repeats table, the rank test, P(success by round k), and the
/// repair-decay table, each with the rule behind it in a footnote.
pub fn render_stats_markdown(report: &StatsReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    out.push_str("| LLM | ended runs | left out | succeeded | success rate (95% CI) | iterations to success: median [IQR] | its median's 95% CI | LLM rounds per run: median [IQR] | its median's 95% CI |\n|---|---:|---:|---:|---|---|---|---|---|\n");
    for row in &report.rows {
        let label = super::render::row_label(&row.llm, row.fixture, row.reference);
        let success = success_text(row);
        let [to_success, to_success_ci] = interval(&row.iterations_to_success);
        let [rounds, rounds_ci] = interval(&row.rounds_per_run);
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} | {success} | {to_success} | {to_success_ci} | {rounds} | {rounds_ci} |",
            row.ended, row.left_out, row.succeeded
        );
    }
    out.push_str("\nEnded runs: succeeded or gave up; aborted and interrupted runs are left out (not the LLM's doing). ");
    let _ = writeln!(
        out,
        "Success rate: {}. Medians and quartiles by linear interpolation between order statistics (R type 7, numpy's default). CI of a median: {}, {} resamples, seed {}.",
        Method::Wilson.description(),
        Method::PercentileBootstrap.description(),
        report.bootstrap.resamples,
        report.bootstrap.seed
    );
    if let Some(text) = comparison_text(report) {
        let _ = writeln!(out, "\n{text}");
    }
    let cap = report.rows.iter().map(|r| r.cap).max().unwrap_or(0);
    if cap > 0 {
        out.push_str("\nP(success by iteration k), over ended runs:\n\n| LLM |");
        for k in 1..=cap {
            let _ = write!(out, " {k} |");
        }
        out.push_str("\n|---|");
        for _ in 1..=cap {
            out.push_str("---:|");
        }
        out.push('\n');
        for row in report.rows.iter().filter(|r| r.ended > 0) {
            let label = super::render::row_label(&row.llm, row.fixture, row.reference);
            let _ = write!(out, "| {label} |");
            for k in 0..cap as usize {
                let _ = write!(out, " {} |", percent(success_by(row, k)));
            }
            out.push('\n');
        }
    }
    if !report.decay.is_empty() {
        out.push_str("\nRepair decay: rounds headed by an error class that another round followed, and how many the next round rid of every error of that class.\n\n| LLM | error class | rounds | fixed next round | share fixed |\n|---|---|---:|---:|---:|\n");
        for row in &report.decay {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                row.llm,
                row.category,
                row.rounds,
                row.fixed,
                share_fixed(row)
            );
        }
    }
    out.push_str(&super::render::footnotes(
        report.rows.iter().any(|r| r.fixture),
        report.rows.iter().any(|r| r.reference),
    ));
    out
}

pub(crate) fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The report as pretty JSON (every number with its interval and method).
pub fn render_stats_json(report: &StatsReport) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
}
