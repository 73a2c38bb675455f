//! The `python-torch-unet` target end to end: a scripted fixture conversation (a syntax error,
//! an import error, a tensor-shape error in the smoke run, then the reference program) through
//! `generate`, strict replay, and the reference program alone trained and scored by the
//! harness. Needs the Python environment: `HARNESS_PYTHON_TESTS=1` (the cache is
//! `HARNESS_CACHE` or the default one; `harness setup --python` makes it once, 2.3 GB).

use harness::llm::PYTHON_REFERENCE_FILES;
use harness::taxonomy::Category;
use harness::transcript::read_transcript;

use crate::support::harness::Harness;
use crate::support::openai_server::{OpenAiServer, Scripted};
use crate::support::skip::python_tests;

const FIXTURE: &str = "fixture-python-reference-with-bugs";

/// The reference program as a reply, with `file` changed by `edit`. A fixture written by the
/// harness's developers from the reference program, never an LLM's output.
fn reference_reply_with(file: &str, edit: impl Fn(&str) -> String) -> String {
    let mut text = String::from("Fixture reply (the reference program, edited by the test).\n\n");
    for (path, content) in PYTHON_REFERENCE_FILES {
        let content = if *path == file {
            edit(content)
        } else {
            content.to_string()
        };
        text.push_str(&format!("```python {path}\n{content}```\n\n"));
    }
    text
}

/// A harness on the real cache, where the Python environment (and the rest) lives.
fn harness_on_the_real_cache(registry: Option<&str>) -> Harness {
    let mut harness = Harness::new();
    if let Some(registry) = registry {
        harness = harness.registry(registry);
    }
    let cache = std::env::var("HARNESS_CACHE").unwrap_or_else(|_| {
        format!(
            "{}/.cache/harness",
            std::env::var("HOME").expect("HOME is set")
        )
    });
    harness.env("HARNESS_CACHE", &cache)
}

#[test]
fn a_fixture_conversation_through_the_python_target_is_classified_round_by_round() {
    if !python_tests() {
        return;
    }
    const FORWARD: &str = "    def forward(self, x):\n        skips = [self.inc(x)]";
    const HEAD: &str = "        return self.head(x)";
    let model = PYTHON_REFERENCE_FILES
        .iter()
        .find(|(path, _)| *path == "model.py")
        .map(|(_, content)| *content)
        .unwrap();
    assert!(
        model.contains(FORWARD) && model.contains(HEAD),
        "the reference's model moved; update this test"
    );
    let server = OpenAiServer::start_conversation(vec![
        // A colon missing: the check's compile step fails.
        Scripted::reply(reference_reply_with("model.py", |m| {
            m.replacen(FORWARD, &FORWARD.replacen("(self, x):", "(self, x)", 1), 1)
        })),
        // A package that is not installed: the check's import step fails.
        Scripted::reply(reference_reply_with("dataset.py", |d| {
            format!("import cv2\n{d}")
        })),
        // The output at half the input's size: the loss refuses it in the smoke run.
        Scripted::reply(reference_reply_with("model.py", |m| {
            m.replacen(HEAD, "        return self.head(x)[:, :, ::2, ::2]", 1)
        })),
        Scripted::reply(reference_reply_with("model.py", str::to_string)),
    ]);
    let registry = format!(
        "llms:\n  - id: {FIXTURE}\n    provider: openai\n    model: fixture-model\n    base_url: {}\n",
        server.base_url()
    );
    let harness = harness_on_the_real_cache(Some(&registry));
    let out = harness
        .run(&[
            "generate",
            "--llm",
            FIXTURE,
            "--target",
            "python-torch-unet",
        ])
        .expect_code(0);
    assert!(
        out.stdout.contains("succeeded after 4 iteration(s)"),
        "{}",
        out.stdout
    );
    let run = harness.only_run();
    let transcript = read_transcript(&run.join("transcript.yaml")).unwrap();
    let first: Vec<(Option<Category>, Option<String>)> = transcript
        .outcomes()
        .map(|o| {
            let error = o.errors.first();
            (
                error.map(|e| e.category),
                error.and_then(|e| e.code.clone()),
            )
        })
        .collect();
    assert_eq!(
        first,
        [
            (Some(Category::Syntax), Some("SyntaxError".to_owned())),
            (
                Some(Category::UnresolvedName),
                Some("ModuleNotFoundError".to_owned())
            ),
            (Some(Category::TensorShape), Some("ValueError".to_owned())),
            (None, None),
        ]
    );
    // The feedback is the error as it was printed (the study's), with no path of this machine.
    let requests = std::fs::read_to_string(run.join("transcript.yaml")).unwrap();
    assert!(requests.contains("ModuleNotFoundError: No module named 'cv2'"));
    assert!(!requests.contains(&harness.root().to_string_lossy().to_string()));
    // Strict replay re-executes every round and finds the same outcomes.
    let replay = harness.run(&["replay"]).expect_code(0);
    assert!(
        replay.stdout.contains("replayed identically"),
        "{}",
        replay.stdout
    );
}

#[test]
fn the_python_reference_passes_in_one_round_and_trains() {
    if !python_tests() {
        return;
    }
    let harness = harness_on_the_real_cache(None);
    let out = harness
        .run(&[
            "generate",
            "--llm",
            "reference",
            "--target",
            "python-torch-unet",
        ])
        .expect_code(0);
    assert!(
        out.stdout.contains("succeeded after 1 iteration(s)"),
        "{}",
        out.stdout
    );
    let run = harness.only_run();
    let trained = harness
        .run(&[
            "train",
            "--run",
            &run.to_string_lossy(),
            "--dataset",
            "synthetic-glottis",
            "--synthetic-count",
            "40",
            "--synthetic-size",
            "64",
            "--epochs",
            "1",
            "--seeds",
            "1",
        ])
        .expect_code(0);
    assert!(
        trained
            .stdout
            .contains("Dice on the held-out images (computed by the harness)"),
        "{}",
        trained.stdout
    );
    let table = harness.run(&["report", "dice"]).expect_code(0).stdout;
    assert!(table.contains("reference"), "{table}");
}

#[test]
fn without_its_environment_the_python_target_says_how_to_make_it() {
    let harness = Harness::new();
    let empty = harness.root().join("empty-cache");
    std::fs::create_dir_all(&empty).unwrap();
    let out = harness
        .run_with_env(
            &[
                "generate",
                "--llm",
                "reference",
                "--target",
                "python-torch-unet",
            ],
            &[("HARNESS_CACHE", &empty.to_string_lossy())],
        )
        .expect_code(2);
    assert!(
        out.stderr.contains("harness setup --python"),
        "{}",
        out.stderr
    );
    assert!(
        !harness.runs_dir().exists()
            || std::fs::read_dir(harness.runs_dir())
                .unwrap()
                .next()
                .is_none()
    );
}
