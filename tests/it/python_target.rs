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
    // Without the check's own frames or importlib's in front of the program's.
    for frame in ["File \"<string>\"", "importlib", "import_module"] {
        assert!(!requests.contains(frame), "{frame} in {requests}");
    }
    assert!(requests.contains("File \"dataset.py\", line 1, in <module>"));
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

/// A hostile Python program, the same escapes the Rust attack suite tries (`sandbox_attacks`):
/// a local listener, keys in the environment and in another process's, a file outside its
/// folder read and one written. It runs as the smoke run's `train` and reports what it got.
const ATTACK: &str = r#"import json, os, socket, sys


def attack():
    found = {}
    try:
        socket.create_connection(("127.0.0.1", PORT), timeout=2)
        found["tcp"] = "connected"
    except Exception as error:
        found["tcp"] = type(error).__name__
    found["env_keys"] = sorted(k for k in os.environ if any(m in k.upper() for m in ("KEY", "TOKEN", "SECRET")))
    try:
        found["proc1"] = open("/proc/1/environ", "rb").read().decode(errors="replace")
    except Exception as error:
        found["proc1"] = type(error).__name__
    try:
        found["secret_file"] = open(SECRET_FILE).read()
    except Exception as error:
        found["secret_file"] = type(error).__name__
    try:
        open(OUTSIDE, "w").write("planted")
        found["write_outside"] = "written"
    except Exception as error:
        found["write_outside"] = type(error).__name__
    print("ATTACK " + json.dumps(found))
    sys.exit(1)


if __name__ == "__main__":
    attack()
"#;

#[test]
fn a_hostile_python_program_is_contained_like_a_rust_one() {
    if !python_tests() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let harness_root = tempfile::tempdir().unwrap();
    let secret_file = harness_root.path().join("secret.txt");
    std::fs::write(&secret_file, "fixture-SECRET-FILE-2c9d").unwrap();
    let outside = harness_root.path().join("planted.txt");
    let main = ATTACK
        .replace("PORT", &port.to_string())
        .replace(
            "SECRET_FILE",
            &format!("{:?}", secret_file.to_string_lossy()),
        )
        .replace("OUTSIDE", &format!("{:?}", outside.to_string_lossy()));
    let reply =
        format!("Fixture reply (an attack written by the test).\n\n```python main.py\n{main}```\n");
    let server = OpenAiServer::start_conversation(vec![Scripted::reply(reply)]);
    let registry = format!(
        "llms:\n  - id: fixture-python-attack\n    provider: openai\n    model: fixture-model\n    base_url: {}\n",
        server.base_url()
    );
    let harness =
        harness_on_the_real_cache(Some(&registry)).env("OPENAI_API_KEY", "fixture-KEY-LEAK-7e1f");
    harness
        .run(&[
            "generate",
            "--llm",
            "fixture-python-attack",
            "--target",
            "python-torch-unet",
            "--max-iterations",
            "1",
        ])
        .expect_code(3);
    let run = harness.only_run();
    let text = std::fs::read_to_string(run.join("transcript.yaml")).unwrap();
    let transcript = read_transcript(&run.join("transcript.yaml")).unwrap();
    let stdout: String = transcript
        .events
        .iter()
        .filter_map(|event| match event {
            harness::transcript::Event::Run(run) => run.stdout.clone(),
            _ => None,
        })
        .collect();
    let line = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("ATTACK "))
        .unwrap_or_else(|| panic!("the attack did not report: {text}"));
    let found: serde_json::Value = serde_json::from_str(line).unwrap();
    eprintln!("the attack got: {found}");
    assert_ne!(found["tcp"], "connected", "{found}");
    assert_eq!(found["env_keys"], serde_json::json!([]), "{found}");
    assert!(!found["proc1"].to_string().contains("LEAK"), "{found}");
    assert_ne!(found["secret_file"], "fixture-SECRET-FILE-2c9d", "{found}");
    assert_ne!(found["write_outside"], "written", "{found}");
    assert!(!outside.exists());
    assert!(!text.contains("fixture-KEY-LEAK-7e1f"));
    drop(listener);
}
