//! Spending limits through the binary: a run stops before the request past its budget, aborted
//! (not charged to the LLM), replays to the same point, and `--resume` with more budget goes on.

use harness::transcript::{read_transcript, EndStatus, Event};
use serde_json::Value;

use crate::e2e::{registry, scripted_conversation, FIXTURE, KEY};
use crate::support::harness::Harness;
use crate::support::openai_server::OpenAiServer;

fn requests_recorded(run: &std::path::Path) -> usize {
    let transcript = read_transcript(&run.join("transcript.yaml")).unwrap();
    transcript
        .events
        .iter()
        .filter(|e| matches!(e, Event::Request(_)))
        .count()
}

#[test]
fn a_token_budget_stops_the_run_before_the_next_request_and_resume_goes_on() {
    // The scripted replies report 1401, 2402 and 3403 tokens (input plus output).
    let server = OpenAiServer::start(scripted_conversation());
    let harness = Harness::new()
        .registry(&registry(&server.base_url()))
        .env("FIXTURE_API_KEY", KEY);
    let out = harness
        .run(&["generate", "--llm", FIXTURE, "--max-run-tokens", "2000"])
        .expect_code(5);
    assert!(
        out.stdout.contains("aborted at iteration 3") && out.stdout.contains("--resume"),
        "{}",
        out.stdout
    );
    assert_eq!(server.requests().len(), 2, "no request past the budget");
    let run = harness.only_run();
    assert_eq!(requests_recorded(&run), 2);
    let transcript = read_transcript(&run.join("transcript.yaml")).unwrap();
    let end = transcript.end().unwrap();
    assert_eq!((end.status, end.iterations), (EndStatus::Aborted, 3));
    assert_eq!(
        end.reason.as_deref(),
        Some("budget: this run used 3803 tokens of `--max-run-tokens 2000`")
    );
    let json = harness
        .run(&["report", "errors", "--format", "json"])
        .expect_code(0)
        .stdout;
    let table: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        table["rows"][0]["aborted"], 1,
        "a harness limit, not the LLM's"
    );
    assert_eq!(table["rows"][0]["gave_up"], 0);
    assert_eq!(table["rows"][0]["input_tokens"], 3000);

    // Strict replay stops where the recording stopped.
    let out = harness
        .run(&["replay", run.to_str().unwrap()])
        .expect_code(0);
    assert!(!out.stdout.contains("drift"), "{}", out.stdout);

    // More budget: the run goes on from iteration 3, counting what it already spent.
    let out = harness
        .run(&[
            "generate",
            "--resume",
            run.to_str().unwrap(),
            "--max-run-tokens",
            "3000",
        ])
        .expect_code(5);
    assert!(
        out.stdout.contains("aborted at iteration 3"),
        "{}",
        out.stdout
    );
    assert_eq!(
        server.requests().len(),
        2,
        "the 3803 tokens spent before count: 3000 is reached"
    );
    harness
        .run(&[
            "generate",
            "--resume",
            run.to_str().unwrap(),
            "--max-run-tokens",
            "10000",
        ])
        .expect_code(0);
    assert_eq!(server.requests().len(), 3);
    let transcript = read_transcript(&run.join("transcript.yaml")).unwrap();
    assert_eq!(transcript.end().unwrap().status, EndStatus::Succeeded);
}

#[test]
fn a_cost_budget_counts_the_registry_price_across_the_invocation() {
    // Price 1 and 2 USD per million tokens: the replies cost 0.001802, then 0.002804 USD.
    let server = OpenAiServer::start(scripted_conversation());
    let harness = Harness::new()
        .registry(&registry(&server.base_url()))
        .env("FIXTURE_API_KEY", KEY);
    harness
        .run(&["generate", "--llm", FIXTURE, "--max-cost", "0.004"])
        .expect_code(5);
    let transcript = read_transcript(&harness.only_run().join("transcript.yaml")).unwrap();
    assert_eq!(
        transcript.end().unwrap().reason.as_deref(),
        Some("budget: this invocation spent 0.0046 USD of `--max-cost 0.004`")
    );
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_cost_budget_for_an_unpriced_entry_is_refused_before_any_work() {
    let server = OpenAiServer::start(scripted_conversation());
    let unpriced = registry(&server.base_url())
        .lines()
        .filter(|line| !line.contains("price:"))
        .collect::<Vec<_>>()
        .join("\n");
    let harness = Harness::new()
        .registry(&unpriced)
        .env("FIXTURE_API_KEY", KEY);
    let out = harness
        .run(&["generate", "--llm", FIXTURE, "--max-run-cost", "1"])
        .expect_code(2);
    assert!(
        out.stderr.contains("has no price in the registry")
            && out.stderr.contains("--max-run-tokens"),
        "{}",
        out.stderr
    );
    assert_eq!(server.requests().len(), 0);
    assert!(!harness.runs_dir().exists() || harness.runs_dir().read_dir().unwrap().count() == 0);
}
