//! Who is charged for a reply cut at the token limit (`docs/methodology.md`, C6): the real
//! binary against a local server that answers `finish_reason: length`, once with a registry
//! entry whose `max_tokens` is below the model's documented output limit (a harness limit: the
//! run stops, nothing is charged) and once where the cap is the model's own (the LLM's
//! `truncated`, and the run goes on). Both replay strictly.

use harness::taxonomy::Category;
use harness::transcript::{read_transcript, EndStatus, Event};
use serde_json::Value;

use crate::e2e::{FIXTURE, KEY};
use crate::support::conversation;
use crate::support::harness::Harness;
use crate::support::openai_server::{OpenAiServer, Scripted};

fn registry(base_url: &str, limits: &str) -> String {
    format!(
        "llms:\n  - id: {FIXTURE}\n    provider: openai\n    model: fixture-model\n    base_url: {base_url}\n    api_key_env: FIXTURE_API_KEY\n    params: {{ max_tokens: 4096, temperature: 0.0 }}\n{limits}"
    )
}

/// Runs two iterations against a server whose first reply is cut; returns the harness, the
/// exit code and the first outcome's categories.
fn run_cut_reply(limits: &str) -> (Harness, i32, Vec<Category>) {
    let server = OpenAiServer::start(vec![
        Scripted::reply(conversation(FIXTURE, "reply-1.md")).finish_reason("length"),
        Scripted::reply(conversation(FIXTURE, "reply-2.md")),
    ]);
    let harness = Harness::new()
        .registry(&registry(&server.base_url(), limits))
        .env("FIXTURE_API_KEY", KEY);
    let out = harness.run(&[
        "generate",
        "--llm",
        FIXTURE,
        "--target",
        "rust-tiny",
        "--max-iterations",
        "2",
    ]);
    let transcript = read_transcript(&harness.only_run().join("transcript.yaml")).unwrap();
    let first = transcript
        .events
        .iter()
        .find_map(|e| match e {
            Event::Outcome(o) if o.iteration == 1 => Some(o.errors.clone()),
            _ => None,
        })
        .expect("an outcome for iteration 1");
    (
        harness,
        out.code,
        first.iter().map(|e| e.category).collect(),
    )
}

fn errors_json(harness: &Harness) -> Value {
    serde_json::from_str(
        &harness
            .run(&["report", "errors", "--format", "json"])
            .expect_code(0)
            .stdout,
    )
    .expect("the table is JSON")
}

#[test]
fn a_cut_below_the_models_own_limit_is_a_harness_limit_and_stops_the_run() {
    let (harness, code, first) =
        run_cut_reply("    limits: { context_tokens: 32768, output_tokens: 32768 }\n");
    assert_eq!(first, vec![Category::InfraLimit]);
    assert_eq!(
        code, 5,
        "aborted: the harness's cap stopped the measurement"
    );
    let transcript = read_transcript(&harness.only_run().join("transcript.yaml")).unwrap();
    let end = transcript.end().expect("an end event");
    assert_eq!(end.status, EndStatus::Aborted);
    let reason = end.reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("cap of 4096") && reason.contains("params.max_tokens"),
        "{reason}"
    );
    assert_eq!(
        transcript.header.llm.limits.map(|l| l.output_tokens),
        Some(32768),
        "the header records the limits the rule used"
    );
    let table = errors_json(&harness);
    let row = &table["rows"][0];
    assert_eq!(row["aborted"], 1, "{table}");
    assert_eq!(
        row["rounds_by_category"]["truncated"].as_u64().unwrap_or(0),
        0,
        "{table}"
    );
    harness.run(&["replay", "--no-exec"]).expect_code(0);
}

#[test]
fn a_cut_at_the_models_own_limit_or_an_unknown_one_is_the_llms_truncated() {
    for limits in [
        "    limits: { context_tokens: 32768, output_tokens: 4096 }\n",
        "",
    ] {
        let (harness, code, first) = run_cut_reply(limits);
        assert_eq!(first, vec![Category::Truncated], "limits: {limits:?}");
        assert_ne!(code, 5, "the run goes on to its second round");
        let table = errors_json(&harness);
        assert_eq!(
            table["rows"][0]["rounds_by_category"]["truncated"], 1,
            "{table}"
        );
    }
}

#[test]
fn a_registry_cap_above_the_models_limit_is_refused_naming_the_entry() {
    let harness = Harness::new().registry(&registry(
        "http://127.0.0.1:9/v1",
        "    limits: { context_tokens: 8192, output_tokens: 2048 }\n",
    ));
    let out = harness.run(&["llms"]).expect_code(2);
    assert!(
        out.stderr.contains(FIXTURE) && out.stderr.contains("lower max_tokens"),
        "{}",
        out.stderr
    );
}
