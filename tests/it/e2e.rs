//! End to end: the real `harness` binary against a local OpenAI-compatible server that answers
//! from a scripted fixture conversation (never an LLM's output).

use std::path::{Path, PathBuf};

use harness::taxonomy::Category;
use harness::transcript::{read_transcript, EndStatus, Event, Transcript};
use serde_json::Value;

use crate::support::conversation;
use crate::support::harness::Harness;
use crate::support::openai_server::{OpenAiServer, Scripted};

pub const FIXTURE: &str = "fixture-scripted-stats";
pub const KEY: &str = "fixture-secret-that-must-not-leak";

/// The committed recording of the scripted conversation, used by the replay tests and by the
/// README's first command. `HARNESS_UPDATE_FIXTURES=1 cargo test` rewrites it.
pub fn committed_run() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runs/fixture-scripted-stats")
}

pub fn registry(base_url: &str) -> String {
    format!(
        "llms:\n  - id: {FIXTURE}\n    provider: openai\n    model: fixture-model\n    base_url: {base_url}\n    api_key_env: FIXTURE_API_KEY\n    params: {{ max_tokens: 4096, temperature: 0.0 }}\n    price: {{ input_per_mtok: 1.0, output_per_mtok: 2.0 }}\n"
    )
}

pub fn scripted_conversation() -> Vec<Scripted> {
    (1..=3)
        .map(|n| {
            Scripted::reply(conversation(FIXTURE, &format!("reply-{n}.md")))
                .usage(1000 * n, 400 + n)
                .model("fixture-model")
        })
        .collect()
}

fn categories(transcript: &Transcript, iteration: u32) -> Vec<Category> {
    transcript
        .outcomes()
        .find(|o| o.iteration == iteration)
        .map(|o| o.errors.iter().map(|e| e.category).collect())
        .unwrap_or_default()
}

/// Events with what legitimately differs between two runs of the same conversation blanked:
/// timings, the server's port, the provenance, the hash of a binary built in another folder.
fn comparable(transcript: &Transcript) -> Vec<Event> {
    // Written files as their bytes, whether stored in full or as a span of the reply before
    // them (format 5), so recordings of either format compare.
    let mut reply = String::new();
    transcript
        .events
        .iter()
        .cloned()
        .map(|mut event| {
            match &mut event {
                Event::Files(files) => {
                    for entry in &mut files.written {
                        entry.content = entry.content_in(Some(&reply)).map(str::to_string);
                        entry.span = None;
                    }
                }
                Event::Reply(e) => {
                    reply = e.text.clone();
                    e.latency_ms = 0;
                }
                Event::ModelError(e) => e.latency_ms = 0,
                Event::Build(e) => {
                    e.duration_ms = 0;
                    e.binary_sha256 = e.binary_sha256.as_ref().map(|_| "built".to_string());
                }
                Event::Run(e) => {
                    // The program's own output is not normalised (thread ids, say): checked
                    // apart, in the test itself.
                    e.duration_ms = 0;
                    e.stdout = None;
                    e.stderr = None;
                }
                Event::End(e) => {
                    e.wall_ms = 0;
                    e.finished_at = String::new();
                }
                _ => {}
            }
            event
        })
        .collect()
}

#[test]
fn generate_loops_until_it_works_records_everything_and_counts_it() {
    let server = OpenAiServer::start(scripted_conversation());
    let harness = Harness::new()
        .registry(&registry(&server.base_url()))
        .env("FIXTURE_API_KEY", KEY)
        .env("OPENAI_API_KEY", "decoy-openai-secret");

    let out = harness
        .run(&["generate", "--llm", FIXTURE, "--target", "rust-tiny"])
        .expect_code(0);
    assert!(
        out.stdout.contains("succeeded after 3 iteration(s)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("iteration 1: unresolved-name"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.is_empty() || !out.stderr.contains(KEY),
        "{}",
        out.stderr
    );

    // The transcript: three iterations, the right categories, nothing secret in it.
    let run = harness.only_run();
    let text = std::fs::read_to_string(run.join("transcript.yaml")).unwrap();
    assert!(!text.contains(KEY) && !text.contains("decoy-openai-secret"));
    let transcript = read_transcript(&run.join("transcript.yaml")).unwrap();
    assert_eq!(transcript.header.llm.id, FIXTURE);
    assert_eq!(transcript.header.target.id, "rust-tiny");
    assert_eq!(transcript.header.target.templates.len(), 4);
    assert!(transcript.header.toolchain.rustc.starts_with("rustc "));
    let sandbox = transcript.header.sandbox.as_deref().unwrap();
    match crate::support::sandbox() {
        Some(_) => assert!(sandbox.starts_with("bubblewrap "), "{sandbox}"),
        None => assert_eq!(sandbox, "none (--no-sandbox)"),
    }
    // The header records the machine and the limits generated code ran under (format 3).
    let machine = transcript.header.machine.as_ref().expect("the machine");
    assert!(machine.cores.is_some_and(|n| n > 0), "{machine:?}");
    assert!(machine.memory_bytes.is_some_and(|n| n > 0), "{machine:?}");
    assert_eq!(machine.libtorch, None, "rust-tiny uses no libtorch");
    let limits = transcript.header.limits.as_ref().expect("the limits");
    assert_eq!((limits.build.time_s, limits.smoke_run.time_s), (120, 10));
    assert_eq!(
        (
            limits.smoke_run.output_head_bytes,
            limits.smoke_run.output_tail_bytes
        ),
        (64 << 10, 256 << 10)
    );
    match crate::support::sandbox() {
        Some(_) => {
            assert_eq!(limits.smoke_run.disk_bytes, Some(1 << 30));
            assert_eq!(limits.build.disk_bytes, Some(4 << 30));
            assert!(limits.smoke_run.address_space_bytes.is_some());
        }
        None => assert_eq!(limits.smoke_run.disk_bytes, None),
    }
    let end = transcript.end().unwrap();
    assert_eq!((end.status, end.iterations), (EndStatus::Succeeded, 3));
    let first = categories(&transcript, 1);
    assert!(first.contains(&Category::UnresolvedName), "{first:?}");
    assert!(first.contains(&Category::TypeMismatch), "{first:?}");
    assert_eq!(first[0], Category::UnresolvedName, "most relevant first");
    assert_eq!(categories(&transcript, 2), [Category::PanicOther]);
    assert_eq!(categories(&transcript, 3), []);
    // Each smoke run records what the program printed: iteration 2's panic, as it was.
    let runs: Vec<_> = transcript
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Run(run) => Some(run),
            _ => None,
        })
        .collect();
    assert_eq!(runs.len(), 2);
    let stderr = runs[0].stderr.as_deref().unwrap();
    assert!(
        stderr.contains("panicked at src/stats.rs") && stderr.contains("ParseIntError"),
        "{stderr}"
    );
    assert_eq!(runs[0].stdout.as_deref(), Some(""));
    assert_eq!(
        (runs[1].stdout.as_deref(), runs[1].stderr.as_deref()),
        (Some(""), Some(""))
    );
    // Nothing of this machine's folders in the recording, the program's own output included.
    let recorded = std::fs::read_to_string(&transcript.path).unwrap();
    let scratch = harness.root().canonicalize().unwrap();
    assert!(
        !recorded.contains(scratch.to_str().unwrap()),
        "the transcript names {}",
        scratch.display()
    );
    let codes: Vec<_> = transcript
        .outcomes()
        .flat_map(|o| o.errors.iter().filter_map(|e| e.code.clone()))
        .collect();
    assert!(codes.contains(&"E0425".to_string()) && codes.contains(&"E0308".to_string()));

    // What went over the wire: three requests, feedback with the compiler's and the panic's
    // words, no machine paths, the fixture's key and nobody else's.
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert_eq!(request.json()["model"], "fixture-model");
    }
    let last_message = |i: usize| -> String {
        let messages = requests[i].json()["messages"].as_array().unwrap().clone();
        assert_eq!(messages.len(), 2 * i + 1);
        messages.last().unwrap()["content"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let feedback_1 = last_message(1);
    assert!(
        feedback_1.contains("error[E0425]") && feedback_1.contains("error[E0308]"),
        "{feedback_1}"
    );
    assert!(feedback_1.contains("src/stats.rs"), "{feedback_1}");
    let feedback_2 = last_message(2);
    assert!(
        feedback_2.contains("panicked at src/stats.rs"),
        "{feedback_2}"
    );
    assert!(feedback_2.contains("ParseIntError"), "{feedback_2}");
    let root = harness.root().canonicalize().unwrap();
    for feedback in [&feedback_1, &feedback_2] {
        assert!(!feedback.contains(root.to_str().unwrap()), "{feedback}");
    }

    // The crate as the last iteration left it: reply 3's stats.rs, reply 1's other files kept,
    // and the harness's own configuration.
    let krate = harness
        .generated_dir()
        .join("rust-tiny")
        .join(format!("{FIXTURE}-r1"));
    let stats = std::fs::read_to_string(krate.join("src/stats.rs")).unwrap();
    assert!(stats.contains("line.is_empty() || line.starts_with('#')"));
    let main = std::fs::read_to_string(krate.join("src/main.rs")).unwrap();
    assert!(main.contains("usage: stats --input FILE --out-dir DIR"));
    assert!(krate.join("Cargo.toml").is_file());
    let config = std::fs::read_to_string(krate.join(".cargo/config.toml")).unwrap();
    assert!(config.contains("offline = true"));
    assert_eq!(transcript.files_at(3).unwrap()["src/stats.rs"], stats);

    // The table, from the transcript alone.
    let json = harness
        .run(&["report", "errors", "--format", "json"])
        .expect_code(0)
        .stdout;
    let table: Value = serde_json::from_str(&json).unwrap();
    let row = &table["rows"][0];
    assert_eq!(row["llm"], FIXTURE);
    assert_eq!(row["fixture"], true);
    assert_eq!(row["runs"], 1);
    assert_eq!(row["succeeded"], 1);
    assert_eq!(row["succeeded_first_try"], 0);
    assert_eq!(row["rounds_total"], 2);
    assert_eq!(row["rounds_by_category"]["unresolved-name"], 1);
    assert_eq!(row["rounds_by_category"]["panic-other"], 1);
    assert_eq!(row["input_tokens"], 6000);
    assert_eq!(row["output_tokens"], 1206);
    let cost = row["cost_usd"].as_f64().unwrap();
    assert!(
        (cost - (6000.0 + 2.0 * 1206.0) / 1e6).abs() < 1e-9,
        "{cost}"
    );
    let markdown = harness.run(&["report", "errors"]).expect_code(0).stdout;
    assert!(
        markdown.contains(&format!("| {FIXTURE} † | 1 | 1 | 0 |")),
        "{markdown}"
    );
    assert!(markdown.contains("scripted test fixture"), "{markdown}");

    // What iteration 3 changed.
    let diff = harness
        .run(&["diff", run.to_str().unwrap(), "--iteration", "3"])
        .expect_code(0);
    assert!(
        diff.stdout
            .contains("+        if line.is_empty() || line.starts_with('#') {"),
        "{}",
        diff.stdout
    );
    assert!(!diff.stdout.contains("src/main.rs"), "{}", diff.stdout);

    // The committed recording is this same conversation; keep it so.
    let committed = committed_run().join("transcript.yaml");
    if std::env::var_os("HARNESS_UPDATE_FIXTURES").is_some() {
        std::fs::create_dir_all(committed_run()).unwrap();
        std::fs::copy(run.join("transcript.yaml"), &committed).unwrap();
    }
    let recorded = read_transcript(&committed).unwrap();
    assert_eq!(
        comparable(&recorded),
        comparable(&transcript),
        "the committed fixture run is stale: rerun with HARNESS_UPDATE_FIXTURES=1"
    );
    // Each reply's code is stored once: every written file is a span of its reply (format 5).
    let written: Vec<_> = transcript
        .files_events()
        .flat_map(|f| f.written.iter())
        .collect();
    assert_eq!(written.len(), 5);
    assert!(
        written
            .iter()
            .all(|f| f.span.is_some() && f.content.is_none()),
        "{written:?}"
    );
    let (now, before) = (
        std::fs::metadata(run.join("transcript.yaml"))
            .unwrap()
            .len(),
        std::fs::metadata(&committed).unwrap().len(),
    );
    eprintln!(
        "transcript of the scripted run: {now} bytes (the committed format 1 copy: {before})"
    );

    // What this run recorded of the machine stays out of what replay compares.
    let replayed = harness.run(&["replay"]).expect_code(0);
    assert!(
        replayed
            .stdout
            .contains("replayed identically: Succeeded after 3 iteration(s)"),
        "{}",
        replayed.stdout
    );
}

/// A build that runs out of time is a harness limit (methodology L1): the run ends aborted with
/// a message that says what happened, nothing is fed back (so never with the runtime template),
/// and the table charges the LLM nothing.
#[test]
fn a_build_that_times_out_is_a_harness_limit_never_fed_back() {
    let sleeper = "\n### `build.rs`\n\n```rust\nfn main() {\n    loop {\n        std::thread::sleep(std::time::Duration::from_secs(60));\n    }\n}\n```\n";
    let reply = format!("{}{sleeper}", conversation(FIXTURE, "reply-1.md"));
    let mut script = vec![Scripted::reply(reply).usage(1000, 400)];
    script.extend(scripted_conversation());
    let server = OpenAiServer::start(script);
    let harness = Harness::new()
        .registry(&registry(&server.base_url()))
        .env("FIXTURE_API_KEY", KEY)
        .env("HARNESS_BUILD_TIMEOUT", "1");
    let out = harness
        .run(&["generate", "--llm", FIXTURE, "--target", "rust-tiny"])
        .expect_code(5);
    assert!(
        out.stdout.contains("aborted at iteration 1"),
        "{}",
        out.stdout
    );
    assert_eq!(server.requests().len(), 1, "nothing was fed back");

    let transcript = read_transcript(&harness.only_run().join("transcript.yaml")).unwrap();
    let build = transcript
        .events
        .iter()
        .find_map(|event| match event {
            Event::Build(build) => Some(build),
            _ => None,
        })
        .expect("a build event");
    assert!(!build.success);
    assert_eq!(build.errors.len(), 1);
    let error = &build.errors[0];
    assert_eq!(error.category, Category::InfraLimit);
    assert!(!error.category.charged_to_llm());
    assert!(
        error.message.contains("the build did not finish within")
            && error.message.contains("(1 s)")
            && error.message.contains("not charged to the LLM"),
        "{}",
        error.message
    );
    assert_eq!(categories(&transcript, 1), [Category::InfraLimit]);
    let end = transcript.end().unwrap();
    assert_eq!(end.status, EndStatus::Aborted);
    let limits = transcript.header.limits.as_ref().expect("the limits");
    assert_eq!(
        limits.build.time_s, 1,
        "the header states the build's limit"
    );
    let reason = end.reason.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with("infra-limit: the build did not finish"),
        "{reason}"
    );

    let json = harness
        .run(&["report", "errors", "--format", "json"])
        .expect_code(0)
        .stdout;
    let table: Value = serde_json::from_str(&json).unwrap();
    let row = &table["rows"][0];
    assert_eq!(
        (row["aborted"].as_u64(), row["rounds_total"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(row["diagnostics_total"], 0);
}

/// A copy of the committed recording in a fresh harness folder.
fn harness_with_recording() -> (Harness, PathBuf) {
    let harness = Harness::new();
    let run = harness.runs_dir().join("fixture-run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::copy(
        committed_run().join("transcript.yaml"),
        run.join("transcript.yaml"),
    )
    .unwrap();
    (harness, run)
}

#[test]
fn replay_of_the_recording_reproduces_it_exactly() {
    let (harness, _) = harness_with_recording();
    let out = harness.run(&["replay"]).expect_code(0);
    assert!(
        out.stdout
            .contains("replayed identically: Succeeded after 3 iteration(s)"),
        "{}",
        out.stdout
    );
    let recount = harness.run(&["replay", "--no-exec"]).expect_code(0);
    assert!(
        recount
            .stdout
            .contains("2 round(s) and 3 diagnostic(s) charged to the LLM"),
        "{}",
        recount.stdout
    );
}

#[test]
fn replay_of_an_altered_reply_drifts_at_that_iteration() {
    let (harness, run) = harness_with_recording();
    let path = run.join("transcript.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    // Reply 3 no longer skips blank lines, so it panics where the recording worked.
    let altered = text.replacen(
        "if line.is_empty() || line.starts_with('#') {",
        "if line.starts_with('#') {",
        1,
    );
    assert_ne!(altered, text);
    std::fs::write(&path, altered).unwrap();
    let out = harness.run(&["replay"]).expect_code(4);
    assert!(
        out.stdout.contains("replay drifted at iteration 3"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("the outcome"), "{}", out.stdout);
    assert!(
        out.stdout.contains("+success: false")
            || out.stdout.contains("+  success: false")
            || out.stdout.contains("panic-other"),
        "{}",
        out.stdout
    );
}

#[test]
fn replay_detects_a_changed_request() {
    let (harness, run) = harness_with_recording();
    let path = run.join("transcript.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    // The recorded prompt differs from the one this harness sends.
    let altered = text.replacen(
        "Write a complete, ready-to-run Rust",
        "Write a complete Rust",
        1,
    );
    assert_ne!(altered, text);
    std::fs::write(&path, altered).unwrap();
    let out = harness.run(&["replay"]).expect_code(4);
    assert!(
        out.stdout
            .contains("replay drifted at iteration 1: message 1 (user)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("+Write a complete, ready-to-run Rust"),
        "{}",
        out.stdout
    );
}

#[test]
fn truncated_or_malformed_transcripts_name_the_file_and_line() {
    let (harness, run) = harness_with_recording();
    let path = run.join("transcript.yaml");
    let text = std::fs::read_to_string(&path).unwrap();

    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let out = harness.run(&["replay"]).expect_code(2);
    assert!(out.stderr.contains("transcript.yaml:"), "{}", out.stderr);
    assert!(out.stderr.contains("interrupted"), "{}", out.stderr);

    let lines: Vec<&str> = text.lines().collect();
    let broken_at = lines
        .iter()
        .position(|l| l.starts_with("iteration:"))
        .unwrap();
    let mut broken = lines.clone();
    broken[broken_at] = "iteration: [1";
    std::fs::write(&path, broken.join("\n") + "\n").unwrap();
    let out = harness.run(&["replay"]).expect_code(2);
    assert!(out.stderr.contains("transcript.yaml:"), "{}", out.stderr);
    assert!(out.stderr.contains("malformed"), "{}", out.stderr);
    let report = harness.run(&["report", "errors"]).expect_code(2);
    assert!(report.stderr.contains("malformed"), "{}", report.stderr);
}

#[test]
fn bad_input_fails_before_any_work_with_advice() {
    let server = OpenAiServer::start(vec![]);
    let harness = Harness::new().registry(&registry(&server.base_url()));

    let out = harness.run(&["generate", "--llm", FIXTURE]).expect_code(2);
    assert!(
        out.stderr
            .contains("set the environment variable FIXTURE_API_KEY"),
        "{}",
        out.stderr
    );
    let out = harness.run(&["generate", "--llm", "gpt-17"]).expect_code(2);
    assert!(
        out.stderr.contains("unknown LLM `gpt-17`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("gpt-4o") && out.stderr.contains(FIXTURE),
        "{}",
        out.stderr
    );
    assert!(server.requests().is_empty());
    assert!(!harness.runs_dir().exists(), "nothing may be recorded");
    assert!(
        !harness.generated_dir().exists(),
        "nothing may be generated"
    );
}

#[test]
fn an_api_failure_is_retried_then_aborts_without_charging_the_llm_and_resumes() {
    // Reply 1, then the server fails twice (both attempts of iteration 2), then it is back.
    let mut script = scripted_conversation();
    let rest = script.split_off(1);
    script.push(Scripted::server_error());
    script.push(Scripted::server_error());
    script.extend(rest);
    let server = OpenAiServer::start(script);
    let harness = Harness::new()
        .registry(&registry(&server.base_url()))
        .env("FIXTURE_API_KEY", KEY);
    let retry = [
        "--max-attempts",
        "2",
        "--retry-base-ms",
        "1",
        "--retry-cap-ms",
        "2",
    ];
    let mut args = vec!["generate", "--llm", FIXTURE];
    args.extend(retry);
    let out = harness.run(&args).expect_code(5);
    assert!(
        out.stdout.contains("aborted at iteration 2") && out.stdout.contains("--resume"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("attempt 1 failed (not charged to the LLM); trying again in"),
        "a wait is announced even without a terminal: {}",
        out.stderr
    );
    let run = harness.only_run();
    let transcript = read_transcript(&run.join("transcript.yaml")).unwrap();
    let attempts: Vec<_> = transcript
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Attempt(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(attempts.len(), 1, "the first failure was retried once");
    assert_eq!((attempts[0].attempt, attempts[0].status), (1, Some(500)));
    assert!(attempts[0].wait_ms.is_some());
    let error = transcript
        .events
        .iter()
        .find_map(|e| match e {
            Event::ModelError(m) => Some(m),
            _ => None,
        })
        .expect("a model error");
    assert_eq!((error.attempts, error.status), (2, Some(500)));
    assert_eq!(transcript.end().unwrap().status, EndStatus::Aborted);
    let json = harness
        .run(&["report", "errors", "--format", "json"])
        .expect_code(0)
        .stdout;
    let table: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(table["rows"][0]["aborted"], 1);
    assert_eq!(
        table["rows"][0]["rounds_total"], 1,
        "only iteration 1's compile errors count"
    );

    // The server is back: the aborted run goes on from iteration 2 to the end.
    let mut resume = vec!["generate", "--resume", run.to_str().unwrap()];
    resume.extend(retry);
    let out = harness.run(&resume).expect_code(0);
    assert!(
        out.stdout.contains("succeeded after 3 iteration(s)"),
        "{}",
        out.stdout
    );
    let transcript = read_transcript(&run.join("transcript.yaml")).unwrap();
    assert_eq!(transcript.end().unwrap().status, EndStatus::Succeeded);
    assert_eq!(transcript.outcomes().count(), 3);
    assert_eq!(server.requests().len(), 5);
    // The resumed part states its machine and limits too: it may run elsewhere.
    let resumed = transcript
        .events
        .iter()
        .find_map(|e| match e {
            Event::Resume(r) => Some(r),
            _ => None,
        })
        .expect("a resume event");
    assert!(resumed.machine.is_some() && resumed.limits.is_some());
    // And the harness that went on, fixed when it was built: a 40-digit commit in a checkout.
    let harness_info = resumed.harness.as_ref().expect("the resuming harness");
    assert_eq!(harness_info, &transcript.header.harness);
    assert!(
        harness_info
            .git_commit
            .as_ref()
            .is_some_and(|c| c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit())),
        "{harness_info:?}"
    );
}

#[test]
fn model_and_base_url_overrides_reach_the_wire() {
    let server = OpenAiServer::start(scripted_conversation());
    // The registry's own URL points nowhere; the flags must win.
    let harness = Harness::new()
        .registry(&registry("http://127.0.0.1:9/v1"))
        .env("FIXTURE_API_KEY", KEY);
    let out = harness
        .run(&[
            "generate",
            "--llm",
            FIXTURE,
            "--base-url",
            &server.base_url(),
            "--model",
            "fixture-other-model",
            "--max-iterations",
            "1",
        ])
        .expect_code(3);
    assert!(
        out.stdout.contains("gave up after 1 iteration(s)"),
        "{}",
        out.stdout
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].json()["model"], "fixture-other-model");
    let transcript = read_transcript(&harness.only_run().join("transcript.yaml")).unwrap();
    assert_eq!(transcript.header.llm.model, "fixture-other-model");
    assert_eq!(
        transcript.header.llm.base_url.as_deref(),
        Some(server.base_url().as_str())
    );
}

#[test]
fn llms_lists_the_registry_and_which_keys_are_set() {
    let harness = Harness::new()
        .registry(&registry("http://127.0.0.1:9/v1"))
        .env("FIXTURE_API_KEY", KEY)
        .env("OPENAI_API_KEY", "");
    let out = harness.run(&["llms"]).expect_code(0);
    let line = |id: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(&format!("| {id} |")))
            .unwrap_or_else(|| panic!("no line for {id}:\n{}", out.stdout))
            .to_string()
    };
    assert!(line(FIXTURE).contains("| FIXTURE_API_KEY | set |"));
    assert!(line("gpt-4o").contains("| OPENAI_API_KEY | missing |"));
    assert!(line("claude-sonnet-4").contains("ANTHROPIC_API_KEY"));
    assert!(line("local").contains("| optional |"));
    // What is sent against what the model could write (methodology C6).
    assert!(line("gpt-4").contains("| none (the server's) | 8192 / 8192 |"));
    assert!(line("claude-sonnet-4").ends_with("| 32000 | 200000 / 64000 |"));
    assert!(line(FIXTURE).ends_with("| 4096 | unknown |"));
    assert!(!out.stdout.contains(KEY));
}

#[test]
fn a_native_provider_without_its_key_is_refused_before_any_work() {
    let harness = Harness::new();
    let out = harness
        .run_with_env(
            &["generate", "--llm", "gpt-4o,claude-sonnet-4"],
            &[
                ("OPENAI_API_KEY", "fixture-openai-secret"),
                ("ANTHROPIC_API_KEY", ""),
            ],
        )
        .expect_code(2);
    assert!(out.stderr.contains("ANTHROPIC_API_KEY"), "{}", out.stderr);
    assert!(!harness.runs_dir().exists());
}

#[test]
fn no_sandbox_warns_on_every_run_and_is_recorded() {
    let server = OpenAiServer::start_conversation(scripted_conversation());
    let harness = Harness::new()
        .registry(&registry(&server.base_url()))
        .env("FIXTURE_API_KEY", KEY);
    let out = harness
        .run(&["generate", "--llm", FIXTURE, "--no-sandbox"])
        .expect_code(0);
    assert!(
        out.stderr.contains("warning: --no-sandbox"),
        "{}",
        out.stderr
    );
    let run = harness.only_run();
    let transcript = read_transcript(&run.join("transcript.yaml")).unwrap();
    assert_eq!(
        transcript.header.sandbox.as_deref(),
        Some("none (--no-sandbox)")
    );
    let replayed = harness
        .run(&["replay", run.to_str().unwrap(), "--no-sandbox"])
        .expect_code(0);
    assert!(
        replayed.stderr.contains("warning: --no-sandbox"),
        "{}",
        replayed.stderr
    );
}

#[test]
fn without_bubblewrap_generated_code_is_refused_with_install_advice() {
    // Without bubblewrap here the harness would add --no-sandbox itself.
    if crate::support::sandbox_or_skip().is_none() {
        return;
    }
    let (harness, run) = harness_with_recording();
    let empty = harness.root().join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let path = empty.to_str().unwrap();
    let out = harness.run_with_env(&["replay", run.to_str().unwrap()], &[("PATH", path)]);
    let out = out.expect_code(2);
    assert!(
        out.stderr.contains("`bwrap` was not found"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("apt-get install bubblewrap"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--no-sandbox"), "{}", out.stderr);
    assert!(!harness.generated_dir().exists(), "nothing ran");
    // Recounting runs nothing, and needs no sandbox.
    harness
        .run_with_env(
            &["replay", run.to_str().unwrap(), "--no-exec"],
            &[("PATH", path)],
        )
        .expect_code(0);
}
