//! Tests of the statistics report on a synthetic set of repeats whose figures are worked out
//! by hand below (the statistics themselves are checked against scipy in `stats`).

use std::path::Path;

use crate::taxonomy::{Category, ErrorRecord};
use crate::transcript::{EndEvent, EndStatus, Event, OutcomeEvent, Transcript};

use super::stats_table::{aggregate_stats, render_stats_markdown};
use crate::stats::{BootstrapConfig, Method};

/// A run of `llm` with cap 4 whose outcomes carry these classes (empty: success), ending so.
pub(super) fn run(llm: &str, rounds: &[&[Category]], status: EndStatus) -> Transcript {
    let text = include_str!("../../tests/fixtures/runs/fixture-scripted-stats/transcript.yaml");
    let mut transcript =
        crate::transcript::parse_transcript(text, Path::new("synthetic.yaml")).unwrap();
    transcript.header.llm.id = llm.into();
    transcript.header.max_iterations = 4;
    transcript.events = rounds
        .iter()
        .enumerate()
        .map(|(i, classes)| {
            Event::Outcome(OutcomeEvent {
                iteration: i as u32 + 1,
                success: classes.is_empty(),
                errors: classes
                    .iter()
                    .map(|c| ErrorRecord::new(*c, "synthetic"))
                    .collect(),
            })
        })
        .collect();
    transcript.events.push(Event::End(EndEvent {
        status,
        iterations: rounds.len() as u32,
        reason: None,
        finished_at: String::new(),
        wall_ms: 0,
    }));
    transcript
}

pub(super) fn repeats() -> Vec<Transcript> {
    use Category::{Dependency as Dep, Syntax, TensorShape as Shape, TypeMismatch as Type};
    use EndStatus::{Aborted, GaveUp, Succeeded};
    vec![
        run("alpha", &[&[]], Succeeded),
        run("alpha", &[&[Type], &[]], Succeeded),
        run("alpha", &[&[Type], &[Type], &[Shape], &[]], Succeeded),
        run("alpha", &[&[Dep], &[Dep], &[Dep], &[Dep]], GaveUp),
        run("alpha", &[&[Type]], Aborted),
        run("beta", &[&[Syntax], &[]], Succeeded),
        run("beta", &[&[Syntax], &[Syntax], &[]], Succeeded),
        run(
            "beta",
            &[&[Syntax], &[Syntax], &[Syntax], &[Syntax]],
            GaveUp,
        ),
    ]
}

#[test]
fn success_rates_medians_and_success_by_round_follow_the_rules() {
    let report = aggregate_stats(&repeats(), BootstrapConfig::default());
    let alpha = &report.rows[0];
    assert_eq!(alpha.llm, "alpha");
    // The aborted run is not the LLM's doing: left out, and said so.
    assert_eq!((alpha.ended, alpha.left_out, alpha.succeeded), (4, 1, 3));
    // Wilson 95% for 3 of 4: statsmodels proportion_confint(3, 4, method="wilson") gives
    // (0.30064, 0.95441).
    let success = alpha.success.as_ref().unwrap();
    assert!((success.lower - 0.30064).abs() < 1e-4, "{success:?}");
    assert!((success.upper - 0.95441).abs() < 1e-4, "{success:?}");
    // Iterations to success 1, 2, 4; LLM rounds per ended run 0, 1, 3, 3 (the last round of
    // the run that gave up is its "gave up", not an error; type-7 quartiles 0.75 and 3).
    let to_success = &alpha.iterations_to_success.as_ref().unwrap().summary;
    assert_eq!((to_success.n, to_success.median), (3, 2.0));
    let rounds = &alpha.rounds_per_run.as_ref().unwrap().summary;
    assert_eq!((rounds.median, rounds.q1, rounds.q3), (2.0, 0.75, 3.0));
    let ci = &alpha.rounds_per_run.as_ref().unwrap().median_ci;
    assert!(ci.lower <= 2.0 && 2.0 <= ci.upper && ci.lower >= 0.0 && ci.upper <= 3.0);
    assert_eq!(alpha.success_by, vec![0.25, 0.5, 0.5, 0.75]);
    assert_eq!(
        report.rows[1].success_by,
        vec![0.0, 1.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0]
    );
}

#[test]
fn repair_decay_counts_what_the_next_round_fixed() {
    let report = aggregate_stats(&repeats(), BootstrapConfig::default());
    let decay: Vec<(&str, Category, u32, u32)> = report
        .decay
        .iter()
        .map(|d| (d.llm.as_str(), d.category, d.rounds, d.fixed))
        .collect();
    // alpha: type-mismatch headed 3 rounds with a next one (fixed after run 2's and run 3's
    // second round, not after run 3's first); the shape error was fixed; the dependency error
    // never was. The aborted run and last rounds have no next round.
    assert_eq!(
        decay,
        vec![
            ("alpha", Category::TypeMismatch, 3, 2),
            ("alpha", Category::Dependency, 3, 0),
            ("alpha", Category::TensorShape, 1, 1),
            ("beta", Category::Syntax, 6, 2),
        ]
    );
}

#[test]
fn two_llms_are_compared_with_mann_whitney_and_the_footnote_says_so() {
    let report = aggregate_stats(&repeats(), BootstrapConfig::default());
    let comparison = report.comparison.as_ref().unwrap();
    // alpha 0, 1, 3, 3 against beta 1, 2, 3 rounds: U1 = 5.5 by counting pairs (ties 1/2), so
    // r = 1 - 2*5.5/12 = 1/12. Ties: the normal approximation, whose continuity correction
    // takes |U1 - 6| = 0.5 to z = 0: scipy.stats.mannwhitneyu([0,1,3,3], [1,2,3],
    // method="asymptotic", use_continuity=True) gives p = 1.0.
    assert_eq!(comparison.method, Method::MannWhitneyNormal);
    assert_eq!(comparison.statistic, 5.5);
    assert!((comparison.effect - 1.0 / 12.0).abs() < 1e-12);
    assert!((comparison.p - 1.0).abs() < 1e-12, "{}", comparison.p);
    let text = render_stats_markdown(&report);
    assert!(text.contains("U = 5.50, p = 1.0000, r = 0.08"), "{text}");
    assert!(
        text.contains("normal approximation with tie correction"),
        "{text}"
    );
    assert!(
        text.contains("| alpha | 4 | 1 | 3 | 75% (30% – 95%) |"),
        "{text}"
    );
    assert!(text.contains("| alpha | 25% | 50% | 50% | 75% |"), "{text}");
    assert!(text.contains("| beta | syntax | 6 | 2 | 33% |"), "{text}");
}

#[test]
fn three_llms_use_kruskal_wallis_and_fixtures_are_never_compared() {
    let mut runs = repeats();
    runs.push(run(
        "gamma",
        &[&[Category::Syntax], &[]],
        EndStatus::Succeeded,
    ));
    runs.push(run("gamma", &[&[]], EndStatus::Succeeded));
    let mut fixture = run("fixture-x", &[&[]], EndStatus::Succeeded);
    fixture.header.llm.id = "fixture-x".into();
    runs.push(fixture.clone());
    runs.push(fixture);
    let report = aggregate_stats(&runs, BootstrapConfig::default());
    let comparison = report.comparison.as_ref().unwrap();
    assert_eq!(comparison.method, Method::KruskalWallis);
    assert_eq!(comparison.llms, vec!["alpha", "beta", "gamma"]);
    // One LLM alone: no test, and the report says why.
    let alone = aggregate_stats(&repeats()[..5], BootstrapConfig::default());
    assert!(alone.comparison.is_none());
    assert!(render_stats_markdown(&alone).contains("No rank test: fewer than two real LLMs"));
}

#[test]
fn runs_of_another_target_are_another_row() {
    let mut runs = repeats()[..4].to_vec();
    let mut other = run("alpha", &[&[]], EndStatus::Succeeded);
    other.header.target.id = "rust-tch-unet".into();
    runs.push(other);
    let report = aggregate_stats(&runs, BootstrapConfig::default());
    let labels: Vec<&str> = report.rows.iter().map(|r| r.llm.as_str()).collect();
    assert_eq!(labels.len(), 2, "{labels:?}");
    assert!(labels.contains(&"alpha [rust-tch-unet]"), "{labels:?}");
    let tiny = report
        .rows
        .iter()
        .find(|r| r.llm == "alpha [rust-tch-unet]")
        .unwrap();
    assert_eq!((tiny.ended, tiny.succeeded), (1, 1));
}
