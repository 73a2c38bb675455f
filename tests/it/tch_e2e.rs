//! End to end with real libtorch: a scripted fixture conversation (a compile error, then a
//! tensor-shape panic in the smoke run, then the working reference crate) through `generate`,
//! then `train` on a small synthetic set; the harness's Dice is in [0, 1] and above the
//! threshold baseline. Needs the provisioned toolchain: set HARNESS_TOOLCHAIN_TESTS=1 (CI does;
//! the first run downloads libtorch from PyPI and builds the warm cache, minutes).

use harness::llm::REFERENCE_FILES;
use harness::taxonomy::Category;
use harness::transcript::{read_transcript, EndStatus, Event};
use serde_json::Value;

use crate::support::harness::Harness;
use crate::support::openai_server::{OpenAiServer, Scripted};
use crate::support::skip::toolchain_tests;

const FIXTURE: &str = "fixture-reference-with-bugs";
const CONCAT: &str = "Tensor::cat(&[skip, &xs], 1)";

/// The reference crate as a reply, with `model.rs` changed by `edit`. A fixture written by the
/// harness's developers from the reference crate, never an LLM's output.
fn reference_reply_with(edit: impl Fn(&str) -> String) -> String {
    let mut text = String::from("Fixture reply (the reference crate, edited by the test).\n\n");
    for (path, content) in REFERENCE_FILES {
        let content = if *path == "src/model.rs" {
            edit(content)
        } else {
            content.to_string()
        };
        let language = if path.ends_with(".toml") {
            "toml"
        } else {
            "rust"
        };
        text.push_str(&format!("```{language} {path}\n{content}```\n\n"));
    }
    text
}

#[test]
fn a_fixture_conversation_ends_with_the_reference_which_trains_above_the_threshold_baseline() {
    if !toolchain_tests() {
        return;
    }
    let model = REFERENCE_FILES
        .iter()
        .find(|(p, _)| *p == "src/model.rs")
        .map(|(_, c)| *c)
        .unwrap();
    assert!(
        model.contains(CONCAT),
        "the reference's skip connection moved; update this test"
    );
    let server = OpenAiServer::start_conversation(vec![
        // An API that does not exist: a compile error.
        Scripted::reply(reference_reply_with(|m| {
            m.replacen(CONCAT, "Tensor::concat_all(&[skip, &xs], 1)", 1)
        })),
        // The skip connection joined along the wrong axis: a shape error at run time.
        Scripted::reply(reference_reply_with(|m| {
            m.replacen(CONCAT, "Tensor::cat(&[skip, &xs], 2)", 1)
        })),
        Scripted::reply(reference_reply_with(str::to_string)),
    ]);
    let registry = format!(
        "llms:\n  - id: {FIXTURE}\n    provider: openai\n    model: fixture-model\n    base_url: {}\n",
        server.base_url()
    );
    let mut harness = Harness::new().registry(&registry);
    // The real cache (shared with `harness setup`) keeps the warm build between test runs.
    if let Some(cache) = std::env::var_os("HARNESS_CACHE") {
        harness = harness.env("HARNESS_CACHE", &cache.to_string_lossy());
    }
    let out = harness
        .run(&["generate", "--llm", FIXTURE, "--target", "rust-tch-unet"])
        .expect_code(0);
    assert!(
        out.stdout.contains("succeeded after 3 iteration(s)"),
        "{}",
        out.stdout
    );
    let run = harness.only_run();
    let transcript = read_transcript(&run.join("transcript.yaml")).unwrap();
    let categories: Vec<Vec<Category>> = transcript
        .outcomes()
        .map(|o| o.errors.iter().map(|e| e.category).collect())
        .collect();
    assert!(
        categories[0].contains(&Category::ApiMisuse),
        "{categories:?}"
    );
    assert_eq!(
        categories[1].first(),
        Some(&Category::TensorShape),
        "{categories:?}"
    );
    assert!(categories[2].is_empty(), "{categories:?}");

    // Relative folders, as a user's defaults are: the program and the sandbox get absolute ones.
    let relative_run = run.strip_prefix(harness.root()).unwrap();
    let trained = harness
        .run(&[
            "train",
            "--run",
            relative_run.to_str().unwrap(),
            "--runs-dir",
            "harness-runs",
            "--generated-dir",
            "generated",
            "--dataset",
            "synthetic-glottis",
            "--synthetic-count",
            "80",
            "--synthetic-size",
            "96",
            "--epochs",
            "6",
            "--seeds",
            "2",
        ])
        .expect_code(0);
    // Two trainings, each on its own split (methodology S7), and one line over both.
    assert!(
        trained.stdout.contains("split seed 0") && trained.stdout.contains("split seed 1"),
        "{}",
        trained.stdout
    );
    assert!(
        trained.stdout.contains("over 2 split seeds: mean Dice"),
        "{}",
        trained.stdout
    );
    assert!(
        trained.stdout.contains("computed by the harness"),
        "{}",
        trained.stdout
    );
    let transcript = read_transcript(&run.join("transcript.yaml")).unwrap();
    assert_eq!(transcript.end().unwrap().status, EndStatus::Succeeded);
    let trainings: Vec<_> = transcript
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Training(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    let seeds: Vec<u64> = trainings.iter().map(|t| t.dataset.split_seed).collect();
    assert_eq!(seeds, [0, 1], "one training event per split seed");
    assert_ne!(
        trainings[0].dataset.split_hash, trainings[1].dataset.split_hash,
        "each seed holds out other images"
    );
    assert_ne!(trainings[0].artefacts, trainings[1].artefacts);
    let training = trainings[0].clone();
    // How it ran is recorded with it; the CPU-time cap covers the asked 12 hours (R4).
    assert!(training.sandbox.is_some(), "{training:?}");
    let limits = training.limits.clone().expect("the training's limits");
    assert_eq!(limits.time_s, 12 * 3600);
    if training
        .sandbox
        .as_deref()
        .is_some_and(|s| s.starts_with("bubblewrap"))
    {
        assert!(limits.cpu_s >= Some(12 * 3600), "{limits:?}");
    }
    assert!(training.errors.is_empty(), "{:?}", training.errors);
    let dice = training.dice.expect("the harness scored the predictions");
    assert!((0.0..=1.0).contains(&dice.mean), "{dice:?}");
    assert_eq!(dice.count, training.dataset.test_pairs);
    let baseline = training.threshold_baseline.expect("a threshold baseline");
    eprintln!(
        "reference after {:?} epochs on {} training pairs: harness Dice mean {:.3} (median {:.3}) on {} held-out images, program's own {:?}, threshold baseline {baseline:.3}, training {:.0} s",
        training.epochs,
        training.dataset.train_pairs,
        dice.mean,
        dice.median,
        dice.count,
        training.reported_test_dice,
        training.train_ms as f64 / 1000.0
    );
    assert!(
        dice.mean > baseline,
        "U-Net Dice {} not above the threshold baseline {baseline}",
        dice.mean
    );
    assert!(training.reported_test_dice.is_some());

    let table = harness
        .run(&["report", "dice", "--format", "json"])
        .expect_code(0)
        .stdout;
    let table: Value = serde_json::from_str(&table).unwrap();
    assert_eq!(table["rows"][0]["llm"], FIXTURE);
    assert_eq!(table["rows"][0]["scored"], 2);
    assert!(
        table["rows"][0]["mean_dice_sem"].is_number(),
        "two scored trainings give a SEM: {table}"
    );
}
