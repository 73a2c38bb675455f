//! Ctrl-C during `harness generate`: the real binary, interrupted while a local server holds its
//! first request open, must exit 130, say how to resume, leave a readable transcript, and go on
//! from there with `--resume`.

use std::process::Child;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use harness::llm::FinishReason;
use harness::transcript::{read_transcript, EndStatus, Event};
use serde_json::Value;

use crate::e2e::{registry, FIXTURE, KEY};
use crate::support::conversation;
use crate::support::harness::{Finished, Harness};
use crate::support::openai_server::{OpenAiServer, RecordedRequest, Scripted};

/// How long the harness may take to send its first request (it checks its input, probes the
/// server and writes the header first). Only a broken run ever waits this long.
const FIRST_REQUEST_WITHIN: Duration = Duration::from_secs(120);

/// The first request `child` sends, as the server announces it, and the child, still running;
/// panics with the child's output if it ends (or dawdles) before sending one.
fn first_request(
    arrivals: &Receiver<RecordedRequest>,
    mut child: Child,
) -> (RecordedRequest, Child) {
    let started = Instant::now();
    loop {
        // Waits on the server's announcement; the short timeout only lets a child that died
        // before asking be noticed at once.
        match arrivals.recv_timeout(Duration::from_millis(100)) {
            Ok(request) => return (request, child),
            Err(RecvTimeoutError::Disconnected) => panic!("the server stopped"),
            Err(RecvTimeoutError::Timeout) => {}
        }
        let ended = child.try_wait().expect("the child's status");
        if ended.is_some() || started.elapsed() > FIRST_REQUEST_WITHIN {
            let _ = child.kill();
            let out = Finished::from(child.wait_with_output().expect("the child's output"));
            panic!(
                "harness sent no request (exit {})\nstdout:\n{}\nstderr:\n{}",
                out.code, out.stdout, out.stderr
            );
        }
    }
}

#[test]
fn ctrl_c_while_waiting_for_the_model_exits_130_says_how_to_resume_and_resume_goes_on() {
    // The first request is held open; the resumed run's request gets a reply cut at the token
    // limit, which ends a one-iteration run without a build.
    let server = OpenAiServer::start(vec![
        Scripted::stall(),
        Scripted::reply(conversation(FIXTURE, "reply-1.md")).finish_reason("length"),
    ]);
    let arrivals = server.arrivals();
    let harness = Harness::new()
        .registry(&registry(&server.base_url()))
        .env("FIXTURE_API_KEY", KEY);
    let child = harness.spawn(&["generate", "--llm", FIXTURE, "--max-iterations", "1"]);
    let (asked, child) = first_request(&arrivals, child);

    // The request event is on disk before the request goes out.
    let run = harness.only_run();
    let path = run.join("transcript.yaml");
    let before = read_transcript(&path).expect("a readable transcript while the run waits");
    assert!(matches!(before.events.last(), Some(Event::Request(r)) if r.iteration == 1));

    let pid = i32::try_from(child.id()).expect("a pid");
    // SAFETY: kill(2) with a pid this test spawned and has not reaped yet.
    let sent = unsafe { libc::kill(pid, libc::SIGINT) };
    assert_eq!(sent, 0, "SIGINT could not be sent");
    let out = Finished::from(child.wait_with_output().expect("the child's output"));
    let out = out.expect_code(130);
    assert!(
        out.stderr
            .contains("interrupted: every recorded step is on disk"),
        "{}",
        out.stderr
    );
    let resume_line = format!("harness generate --resume {}", run.display());
    assert!(out.stderr.contains(&resume_line), "{}", out.stderr);
    assert!(!out.stderr.contains(KEY) && !out.stdout.contains(KEY));

    // What the interruption left: a whole transcript without an end, counted as incomplete.
    let interrupted = read_transcript(&path).expect("a readable transcript after Ctrl-C");
    assert_eq!(interrupted.partial_tail_line, None);
    assert!(interrupted.end().is_none());
    assert_eq!(
        interrupted.events, before.events,
        "nothing was written after"
    );
    let table: Value = serde_json::from_str(
        &harness
            .run(&["report", "errors", "--format", "json"])
            .expect_code(0)
            .stdout,
    )
    .expect("the table is JSON");
    assert_eq!(
        (&table["rows"][0]["runs"], &table["rows"][0]["incomplete"]),
        (&1.into(), &1.into()),
        "{table}"
    );

    // The command it printed goes on: the request is sent again, the reply recorded, the run
    // ends (it gave up: one iteration, and that reply was cut).
    let resumed = harness
        .run(&["generate", "--resume", run.to_str().expect("a UTF-8 path")])
        .expect_code(3);
    assert!(
        resumed.stdout.contains("gave up after 1 iteration(s)"),
        "{}",
        resumed.stdout
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1].json()["messages"],
        asked.json()["messages"],
        "the same request, again"
    );
    let transcript = read_transcript(&path).expect("a readable transcript after resuming");
    let resume = transcript
        .events
        .iter()
        .find_map(|e| match e {
            Event::Resume(resume) => Some(resume),
            _ => None,
        })
        .expect("a resume event");
    assert_eq!((resume.iteration, resume.reused_reply), (1, false));
    let replies: Vec<_> = transcript
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Reply(reply) => Some(reply),
            _ => None,
        })
        .collect();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].finish_reason, FinishReason::Length);
    let end = transcript.end().expect("an end event");
    assert_eq!((end.status, end.iterations), (EndStatus::GaveUp, 1));
}
