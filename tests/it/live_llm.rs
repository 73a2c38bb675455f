//! A real model, live: Qwen2.5-Coder 0.5B served on 127.0.0.1 by llama.cpp (`scripts/local-llm.sh
//! serve 0.5b`, which `.ci/run` starts), driven through `harness generate` on the tiny target and
//! then replayed strictly. It asserts the mechanics (a complete recording that replays), never
//! what the model achieves. It skips, saying so, where `HARNESS_LIVE_LLM_URL` is not set.

use std::time::Instant;

use harness::transcript::{read_transcript, Event};

use crate::support::harness::Harness;
use crate::support::skip::{skip, Needs};

#[test]
fn a_real_model_run_is_recorded_completely_and_replays_strictly() {
    let Ok(url) = std::env::var("HARNESS_LIVE_LLM_URL") else {
        skip(Needs::LiveModel, "HARNESS_LIVE_LLM_URL is not set");
        return;
    };
    live_run(&url, Harness::new(), &["--max-iterations", "2"]);
}

/// The same on the Python target, where its environment is made (`HARNESS_PYTHON_TESTS=1`).
#[test]
fn a_real_model_run_on_the_python_target_is_recorded_completely_and_replays_strictly() {
    let Ok(url) = std::env::var("HARNESS_LIVE_LLM_URL") else {
        skip(Needs::LiveModel, "HARNESS_LIVE_LLM_URL is not set");
        return;
    };
    if !crate::support::skip::python_tests() {
        return;
    }
    let cache = std::env::var("HARNESS_CACHE").unwrap_or_else(|_| {
        format!(
            "{}/.cache/harness",
            std::env::var("HOME").expect("HOME is set")
        )
    });
    live_run(
        &url,
        Harness::new().env("HARNESS_CACHE", &cache),
        &["--target", "python-torch-unet", "--max-iterations", "1"],
    );
}

/// One live run with `extra` arguments, its recording checked, then replayed strictly.
fn live_run(url: &str, harness: Harness, extra: &[&str]) {
    // The registry's entry for this model, with a shorter reply limit so the test stays short.
    let registry = format!(
        "llms:\n  - id: qwen2.5-coder-0.5b-live\n    provider: openai\n    model: qwen2.5-coder-0.5b-instruct\n    base_url: {url}\n    cohort: local\n    params: {{ temperature: 0.7, top_p: 0.8, max_tokens: 1024, seed: 1 }}\n"
    );
    let harness = harness.registry(&registry);
    let started = Instant::now();
    let mut args = vec!["generate", "--llm", "qwen2.5-coder-0.5b-live"];
    args.extend_from_slice(extra);
    let out = harness.run(&args);
    eprintln!("live run: {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        out.code == 0 || out.code == 3,
        "the run must end succeeded (0) or given up (3), never aborted: {}\n{}\n{}",
        out.code,
        out.stdout,
        out.stderr
    );
    let run = harness.only_run();
    let transcript = read_transcript(&run.join("transcript.yaml")).unwrap();
    let server = transcript
        .header
        .server
        .as_ref()
        .expect("the server was probed");
    assert!(!server.models.is_empty(), "{server:?}");
    assert!(server.context_tokens.is_some(), "{server:?}");
    let end = transcript.end().expect("an end event");
    for iteration in 1..=end.iterations {
        let request = transcript.events.iter().find_map(|e| match e {
            Event::Request(r) if r.iteration == iteration => Some(r),
            _ => None,
        });
        let request = request.unwrap_or_else(|| panic!("no request for iteration {iteration}"));
        assert_eq!(request.params.temperature, Some(0.7));
        assert_eq!(request.params.seed, Some(1));
        let reply = transcript.events.iter().find_map(|e| match e {
            Event::Reply(r) if r.iteration == iteration => Some(r),
            _ => None,
        });
        let reply = reply.unwrap_or_else(|| panic!("no reply for iteration {iteration}"));
        assert!(
            reply.usage.is_some_and(|u| u.output_tokens > 0),
            "{reply:?}"
        );
        assert!(reply.model.is_some());
        assert!(
            transcript.outcomes().any(|o| o.iteration == iteration),
            "no outcome for iteration {iteration}"
        );
    }
    let started = Instant::now();
    harness
        .run(&["replay", run.to_str().unwrap()])
        .expect_code(0);
    eprintln!(
        "its strict replay: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
