//! Crash safety: the harness is killed with SIGKILL at many points of a scripted run; every
//! time the transcript still parses, and `generate --resume` finishes the run with the same
//! outcome as an uninterrupted one, without asking the model again for recorded replies.

use harness::transcript::{read_transcript, EndStatus, Event, OutcomeEvent};

use crate::e2e::{committed_run, registry, scripted_conversation, FIXTURE, KEY};
use crate::support::harness::Harness;
use crate::support::openai_server::OpenAiServer;

/// The uninterrupted run writes 19 events: the header, 5 for iteration 1 (no run step, it does
/// not compile), 6 each for iterations 2 and 3, and the end. `N` kills right after event N;
/// `N.5` kills halfway through writing it.
fn check_kill_point(point: &str) {
    let server = OpenAiServer::start_conversation(scripted_conversation());
    let harness = Harness::new()
        .registry(&registry(&server.base_url()))
        .env("FIXTURE_API_KEY", KEY);

    let crashed = harness.run_with_env(
        &["generate", "--llm", FIXTURE],
        &[("HARNESS_FAULT_KILL_AT", point)],
    );
    assert_eq!(
        crashed.code, -1,
        "{point}: the harness was not killed: {crashed:?}"
    );
    let run = harness.only_run();
    let path = run.join("transcript.yaml");
    let interrupted = read_transcript(&path)
        .unwrap_or_else(|e| panic!("{point}: the transcript must parse after a kill: {e}"));
    assert!(interrupted.end().is_none(), "{point}");
    let halfway = point.ends_with(".5");
    assert_eq!(interrupted.partial_tail_line.is_some(), halfway, "{point}");

    let resumed = harness
        .run(&["generate", "--resume", run.to_str().unwrap()])
        .expect_code(0);
    assert!(
        resumed.stdout.contains("succeeded after 3 iteration(s)"),
        "{point}: {}",
        resumed.stdout
    );

    let transcript = read_transcript(&path).unwrap();
    assert_eq!(
        transcript.partial_tail_line, None,
        "{point}: the file is whole again"
    );
    assert_eq!(
        transcript.end().map(|e| e.status),
        Some(EndStatus::Succeeded),
        "{point}"
    );
    let resumes = transcript
        .events
        .iter()
        .filter(|e| matches!(e, Event::Resume(_)))
        .count();
    assert_eq!(resumes, 1, "{point}");
    let reference = read_transcript(&committed_run().join("transcript.yaml")).unwrap();
    let outcomes = |t: &harness::transcript::Transcript| -> Vec<OutcomeEvent> {
        t.outcomes().cloned().collect()
    };
    assert_eq!(
        outcomes(&transcript),
        outcomes(&reference),
        "{point}: same outcome as uninterrupted"
    );

    // A half-written event is kept aside, never silently dropped.
    let side = run.join("transcript.yaml.partial");
    let cut_reply = if halfway {
        let bytes = std::fs::read_to_string(&side)
            .unwrap_or_else(|e| panic!("{point}: the cut event's bytes are kept: {e}"));
        assert!(bytes.starts_with("---\nevent: "), "{point}: {bytes:?}");
        bytes.starts_with("---\nevent: reply")
    } else {
        assert!(!side.exists(), "{point}");
        false
    };
    // Only a reply that was being written when the kill came is asked for again.
    let requests = server.requests().len();
    assert_eq!(
        requests,
        3 + usize::from(cut_reply),
        "{point}: model requests"
    );
}

// Three tests so that the kill points run in parallel.
#[test]
fn killed_after_events_1_to_6_the_run_resumes_to_the_same_outcome() {
    for n in 1..=6 {
        check_kill_point(&n.to_string());
    }
}

#[test]
fn killed_after_events_7_to_12_the_run_resumes_to_the_same_outcome() {
    for n in 7..=12 {
        check_kill_point(&n.to_string());
    }
}

#[test]
fn killed_after_events_13_to_18_the_run_resumes_to_the_same_outcome() {
    for n in 13..=18 {
        check_kill_point(&n.to_string());
    }
}

#[test]
fn killed_halfway_through_an_event_the_run_resumes_to_the_same_outcome() {
    for point in ["2.5", "3.5", "4.5", "5.5", "9.5", "15.5", "19.5"] {
        check_kill_point(point);
    }
}

#[test]
fn a_finished_run_is_not_resumed() {
    let harness = Harness::new();
    let run = harness.runs_dir().join("done");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::copy(
        committed_run().join("transcript.yaml"),
        run.join("transcript.yaml"),
    )
    .unwrap();
    let out = harness
        .run(&["generate", "--resume", run.to_str().unwrap()])
        .expect_code(2);
    assert!(out.stderr.contains("nothing to resume"), "{}", out.stderr);
}
