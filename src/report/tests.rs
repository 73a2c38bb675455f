//! Snapshot tests of the error-count table, built from the committed fixture recording.

use std::path::Path;

use crate::llm::{FinishReason, Usage};
use crate::taxonomy::{Category, ErrorRecord};
use crate::transcript::{EndEvent, EndStatus, Event, OutcomeEvent, ReplyEvent, Transcript};

use super::*;

fn fixture() -> Transcript {
    let text = include_str!("../../tests/fixtures/runs/fixture-scripted-stats/transcript.yaml");
    let mut transcript =
        crate::transcript::parse_transcript(text, Path::new("fixture.yaml")).unwrap();
    set_wall(&mut transcript, 2_500);
    transcript
}

fn set_wall(transcript: &mut Transcript, wall_ms: u64) {
    for event in &mut transcript.events {
        if let Event::End(end) = event {
            end.wall_ms = wall_ms;
        }
    }
}

/// A one-iteration success by a made-up non-fixture LLM, and one that gave up.
fn others() -> Vec<Transcript> {
    let mut first_try = fixture();
    first_try.header.llm.id = "example-llm".into();
    first_try.events = vec![
        Event::Reply(ReplyEvent {
            iteration: 1,
            text: String::new(),
            finish_reason: FinishReason::Stop,
            usage: Some(Usage {
                input_tokens: 1_000_000,
                output_tokens: 10,
                ..Default::default()
            }),
            latency_ms: 1,
            model: None,
            refusal: None,
            system_fingerprint: None,
            cost_usd: None,
            attempts: 1,
            identical_to: None,
        }),
        Event::Outcome(OutcomeEvent {
            iteration: 1,
            success: true,
            errors: vec![],
        }),
        Event::End(EndEvent {
            status: EndStatus::Succeeded,
            iterations: 1,
            reason: None,
            finished_at: String::new(),
            wall_ms: 1_000,
        }),
    ];
    let mut gave_up = fixture();
    gave_up.events.retain(|e| match e {
        Event::Outcome(o) => !o.success,
        _ => true,
    });
    for event in &mut gave_up.events {
        if let Event::End(end) = event {
            end.status = EndStatus::GaveUp;
            end.iterations = 2;
        }
    }
    vec![first_try, gave_up]
}

fn table() -> ErrorTable {
    let mut all = vec![fixture()];
    all.extend(others());
    aggregate(&all)
}

#[test]
fn aggregates_runs_rounds_and_categories() {
    let table = table();
    assert_eq!(table.rows.len(), 2);
    let example = &table.rows[0];
    assert_eq!(example.llm, "example-llm");
    assert!(!example.fixture);
    assert_eq!(
        (example.runs, example.succeeded, example.succeeded_first_try),
        (1, 1, 1)
    );
    assert_eq!(example.rounds_total, 0);
    let fixture = &table.rows[1];
    assert!(fixture.fixture);
    assert_eq!(
        (fixture.runs, fixture.succeeded, fixture.gave_up),
        (2, 1, 1)
    );
    // The run that succeeded fed two failing rounds back; the one that gave up at iteration 2
    // fed back one: its last round is its "gave up", not one more error.
    assert_eq!(fixture.rounds_total, 3);
    assert_eq!(fixture.rounds_max, 2);
    assert!((fixture.rounds_mean.unwrap() - 1.5).abs() < 1e-12);
    // Iteration 1 had two diagnostics (E0425, E0308) in one round, in each of the two runs;
    // iteration 2 one, counted in the run that succeeded only.
    assert_eq!(fixture.diagnostics_total, 5);
}

#[test]
fn counts_inferred_files_identical_replies_and_reported_cost() {
    use crate::transcript::FilesEvent;
    let mut run = others().remove(0);
    let reply = |iteration, cost_usd, usage, identical_to| {
        Event::Reply(ReplyEvent {
            iteration,
            text: "same".into(),
            finish_reason: FinishReason::Stop,
            usage,
            latency_ms: 1,
            model: None,
            refusal: None,
            system_fingerprint: None,
            cost_usd,
            attempts: 1,
            identical_to,
        })
    };
    let files = |iteration, inferred: &[&str]| {
        Event::Files(FilesEvent {
            iteration,
            written: vec![],
            kept: vec![],
            notes: vec![],
            inferred: inferred.iter().map(|p| p.to_string()).collect(),
        })
    };
    let usage = Usage {
        input_tokens: 100,
        output_tokens: 50,
        ..Default::default()
    };
    let end = run.events.pop().unwrap();
    run.events = vec![
        reply(1, Some(0.25), Some(usage), None),
        files(1, &["Cargo.toml"]),
        reply(2, None, None, Some(1)),
        files(2, &[]),
        reply(3, None, Some(usage), Some(1)),
        files(3, &["src/main.rs", "Cargo.toml"]),
        end,
    ];
    // No price in the entry: only the reported cost is known.
    run.header.llm.price = None;
    let row = aggregate(&[run.clone()]).rows.remove(0);
    assert_eq!((row.inferred_rounds, row.identical_replies), (2, 2));
    assert_eq!((row.input_tokens, row.output_tokens), (200, 100));
    assert_eq!((row.cost_usd, row.unpriced_replies), (Some(0.25), 2));
    let markdown = render_markdown(&aggregate(&[run.clone()]));
    assert!(
        markdown.contains("| 2 | 2 | 200 | 100 | 0.2500 (+2 unpriced) |"),
        "{markdown}"
    );
    // With a price, the replies with usage are priced; the one without usage stays unknown.
    run.header.llm.price = Some(crate::config::Price {
        input_per_mtok: 1_000.0,
        output_per_mtok: 2_000.0,
        as_of: None,
    });
    let row = aggregate(&[run]).rows.remove(0);
    assert_eq!(row.unpriced_replies, 1);
    assert!((row.cost_usd.unwrap() - (0.25 + 0.1 + 0.1)).abs() < 1e-12);
}

#[test]
fn markdown_table() {
    insta::assert_snapshot!(render_markdown(&table()));
}

#[test]
fn csv_table() {
    insta::assert_snapshot!(render_csv(&table()));
}

#[test]
fn json_table() {
    insta::assert_snapshot!(render_json(&table()));
}

pub(super) fn training(dataset: &str, mean: Option<f64>, reported: Option<f64>) -> Event {
    use crate::transcript::{DatasetRecord, DiceSummary, TrainingEvent};
    Event::Training(Box::new(TrainingEvent {
        dataset: DatasetRecord {
            name: dataset.into(),
            fingerprint: "f".into(),
            split_seed: 0,
            split_hash: "h".into(),
            train_pairs: 45,
            test_pairs: 5,
        },
        epochs: Some(2),
        gpu: false,
        started_at: String::new(),
        train_ms: 1500,
        predict_ms: Some(100),
        errors: vec![],
        dice: mean.map(|m| DiceSummary {
            count: 5,
            mean: m,
            median: m + 0.01,
            std: 0.1,
            min: 0.0,
            max: 1.0,
            q1: 0.2,
            q3: 0.8,
        }),
        missing_predictions: vec![],
        per_image: vec![],
        reported_test_dice: reported,
        dice_disagrees: matches!((mean, reported), (Some(m), Some(r)) if (m - r).abs() > 0.05),
        threshold_baseline: Some(0.31),
        artefacts: "artefacts/x".into(),
        sandbox: None,
        limits: None,
    }))
}

#[test]
fn dice_table_from_training_events() {
    let mut a = fixture();
    a.events
        .push(training("synthetic-glottis", Some(0.8), Some(0.81)));
    a.events
        .push(training("synthetic-glottis", Some(0.6), Some(0.9)));
    let mut failed = training("chase-db1", None, None);
    if let Event::Training(t) = &mut failed {
        t.errors = vec![ErrorRecord::new(Category::Timeout, "did not finish")];
    }
    a.events.push(failed);
    let table = aggregate_dice(&[a]);
    assert_eq!(table.rows.len(), 2);
    let glottis = &table.rows[1];
    assert_eq!(
        (glottis.trainings, glottis.scored, glottis.disagreements),
        (2, 2, 1)
    );
    assert!((glottis.mean_dice.unwrap() - 0.7).abs() < 1e-12);
    // Means 0.8 and 0.6: sd 0.1414, SEM 0.1 (scipy.stats.sem([0.8, 0.6]) = 0.1).
    assert!((glottis.mean_dice_sem.unwrap() - 0.1).abs() < 1e-12);
    // Medians 0.81 and 0.61: a resample's median is one of 0.61, 0.71, 0.81, each end with
    // probability 1/4, so the 2.5% and 97.5% quantiles are the two ends.
    let [lo, hi] = glottis
        .median_dice_ci
        .expect("two trainings give an interval");
    assert!(
        (lo - 0.61).abs() < 1e-12 && (hi - 0.81).abs() < 1e-12,
        "{lo} {hi}"
    );
    assert_eq!(table.rows[0].mean_dice, None);
    assert_eq!(table.rows[0].mean_dice_sem, None);
    assert_eq!(table.rows[0].median_dice_ci, None);
    // A failed training is counted, by its class, and in no mean (phase `train`).
    assert_eq!(
        table.rows[0].failed_by_category,
        [(Category::Timeout, 1)].into_iter().collect()
    );
    assert!(glottis.failed_by_category.is_empty());
    assert!(
        table.untrained.is_empty(),
        "the one run succeeded and was trained"
    );
    insta::assert_snapshot!(render_dice_markdown(&table));
}

#[test]
fn runs_without_training_are_listed_under_the_dice_table() {
    let mut others = others();
    let (succeeded, gave_up) = (others.remove(0), others.remove(0));
    let table = aggregate_dice(&[succeeded.clone(), gave_up.clone(), gave_up]);
    assert!(table.rows.is_empty());
    let text = render_dice_markdown(&table);
    assert!(
        text.contains("- example-llm: 1 run(s), 1 succeeded, 1 of them not trained yet"),
        "{text}"
    );
    assert!(
        text.contains(
            "- fixture-scripted-stats †: 2 run(s), none succeeded, so there was nothing to train."
        ),
        "{text}"
    );
    assert!(text.contains("† a scripted test fixture"), "{text}");
}

/// Methodology T1: runs that differ in target, prompt templates or model never share a row;
/// an LLM with several such rows has each labelled by what sets it apart.
#[test]
fn runs_that_differ_in_target_prompt_or_model_never_share_a_row() {
    let base = fixture();
    let mut other_target = fixture();
    other_target.header.target.id = "rust-tch-unet".into();
    let mut other_model = fixture();
    other_model.header.llm.model = "override-model".into();
    let mut other_prompt = fixture();
    other_prompt
        .header
        .target
        .templates
        .insert("feedback-runtime.md".into(), "0".repeat(64));
    let all = [
        base.clone(),
        base.clone(),
        other_target,
        other_model,
        other_prompt,
    ];
    let table = aggregate(&all);
    assert_eq!(table.rows.len(), 4, "{:#?}", table.rows);
    let runs: Vec<u32> = table.rows.iter().map(|r| r.runs).collect();
    assert_eq!(runs.iter().sum::<u32>(), 5);
    assert!(runs.contains(&2), "the two identical runs share a row");
    let markdown = render_markdown(&table);
    let prompt = super::prompt_id(&base.header.target.templates);
    for label in [
        format!(
            "| fixture-scripted-stats [rust-tiny] (model fixture-model) (prompt {prompt}) † | 2 |"
        ),
        "| fixture-scripted-stats [rust-tch-unet] (model fixture-model)".to_string(),
        "| fixture-scripted-stats [rust-tiny] (model override-model)".to_string(),
    ] {
        assert!(markdown.contains(&label), "{label}\n{markdown}");
    }
    let json = render_json(&table);
    assert!(json.contains("\"target\": \"rust-tch-unet\""), "{json}");

    // Two keys that differ in the model alone are labelled by the model alone, in every table.
    let mut a = fixture();
    a.events
        .push(training("synthetic-glottis", Some(0.8), None));
    let mut b = a.clone();
    b.header.llm.model = "override-model".into();
    let table = aggregate(&[a.clone(), b.clone()]);
    let names: Vec<String> = table
        .rows
        .iter()
        .map(|r| super::row_key::row_name(&r.llm, r.variant.as_ref()))
        .collect();
    assert_eq!(
        names,
        [
            "fixture-scripted-stats (model fixture-model)",
            "fixture-scripted-stats (model override-model)"
        ]
    );
    let dice = aggregate_dice(&[a, b]);
    assert_eq!(dice.rows.len(), 2);
    let text = render_dice_markdown(&dice);
    assert!(
        text.contains(
            "| fixture-scripted-stats (model override-model) † | synthetic-glottis | 1 |"
        ),
        "{text}"
    );
    let csv = render_dice_csv(&dice);
    assert!(
        csv.contains("\nfixture-scripted-stats (model fixture-model),true,"),
        "{csv}"
    );
}

/// An LLM whose runs all share one key is shown exactly as before: its id alone, no variant.
#[test]
fn one_key_per_llm_keeps_the_plain_labels() {
    let table = table();
    assert!(table.rows.iter().all(|r| r.variant.is_none()));
    assert!(!render_json(&table).contains("variant"));
}

/// Issue 11: an LLM whose runs all aborted or were interrupted has no rounds mean (not 0.00),
/// and each such run is listed under the table with why it stopped.
#[test]
fn runs_that_did_not_finish_have_no_mean_and_say_why() {
    let mut aborted = fixture();
    aborted.header.llm.id = "example-llm".into();
    aborted.header.run_id = "example-llm-r1".into();
    for event in &mut aborted.events {
        if let Event::End(end) = event {
            end.status = EndStatus::Aborted;
            end.iterations = 1;
            end.reason = Some("infra-api: the API could not be reached".into());
        }
    }
    let mut interrupted = aborted.clone();
    interrupted.header.run_id = "example-llm-r2".into();
    interrupted.events.retain(|e| !matches!(e, Event::End(_)));
    let table = aggregate(&[interrupted, aborted, fixture()]);
    let row = table
        .rows
        .iter()
        .find(|r| r.llm == "example-llm")
        .expect("a row");
    assert_eq!((row.aborted, row.incomplete, row.rounds_mean), (1, 1, None));
    let ids: Vec<_> = table.unfinished.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, ["example-llm-r1", "example-llm-r2"]);
    let text = render_markdown(&table);
    assert!(text.contains("| n/a (none ended) |"), "{text}");
    assert!(
        text.contains(
            "- example-llm: `example-llm-r1` after 1 iteration(s), aborted: infra-api: the API could not be reached"
        ),
        "{text}"
    );
    assert!(
        text.contains("- example-llm: `example-llm-r2` after 3 iteration(s), interrupted"),
        "{text}"
    );
    assert!(render_csv(&table).lines().nth(1).is_some());
}

/// Names from LLM registries and dataset folders reach the CSVs as they are: one holding a
/// comma, a quote and a line break reads back whole (the dataset column was written unquoted
/// before the `csv` crate wrote these files).
#[test]
fn csv_fields_with_commas_quotes_and_line_breaks_read_back_whole() {
    let llm = "odd, \"quoted\"\nmodel";
    let dataset = "my, \"data\"\nset";
    let mut run = fixture();
    run.header.llm.id = llm.into();
    run.events.push(training(dataset, Some(0.5), None));
    let read = |text: &str| -> Vec<Vec<String>> {
        csv::Reader::from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect()
    };
    let dice = read(&render_dice_csv(&aggregate_dice(std::slice::from_ref(
        &run,
    ))));
    assert_eq!(dice.len(), 1);
    assert_eq!((dice[0][0].as_str(), dice[0][3].as_str()), (llm, dataset));
    let errors = read(&render_csv(&aggregate(&[run])));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0][0], llm);
}
