//! Bad input and hostile conditions: each gives a clear message naming the file and what to
//! do, a documented exit code, and loses nothing already written.

use std::os::unix::process::CommandExt;
use std::process::Command;

use harness::transcript::read_transcript;

use crate::e2e::{committed_run, registry, scripted_conversation, FIXTURE, KEY};
use crate::support::harness::Harness;
use crate::support::openai_server::OpenAiServer;

#[test]
fn a_transcript_from_a_newer_harness_is_refused_with_advice() {
    let harness = Harness::new();
    let run = harness.runs_dir().join("future");
    std::fs::create_dir_all(&run).unwrap();
    let text = std::fs::read_to_string(committed_run().join("transcript.yaml")).unwrap();
    let text = text.replacen("format_version: 1\n", "format_version: 7\n", 1);
    std::fs::write(run.join("transcript.yaml"), &text).unwrap();
    for args in [
        &["replay"][..],
        &["report", "errors"],
        &["replay", "--no-exec"],
    ] {
        let out = harness.run(args).expect_code(2);
        assert!(
            out.stderr.contains("future/transcript.yaml"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("format version 7"), "{}", out.stderr);
        assert!(out.stderr.contains("use a newer harness"), "{}", out.stderr);
    }
    assert_eq!(
        std::fs::read_to_string(run.join("transcript.yaml")).unwrap(),
        text
    );
}

#[test]
fn a_runs_folder_that_cannot_be_created_stops_before_the_model_is_asked() {
    let server = OpenAiServer::start(scripted_conversation());
    let harness = Harness::new()
        .registry(&registry(&server.base_url()))
        .env("FIXTURE_API_KEY", KEY);
    // A file where the runs folder should be.
    std::fs::write(harness.runs_dir(), "not a folder").unwrap();
    let out = harness.run(&["generate", "--llm", FIXTURE]).expect_code(1);
    assert!(
        out.stderr.contains("could not create the transcript"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("harness-runs"), "{}", out.stderr);
    assert!(server.requests().is_empty());
    assert!(!harness.generated_dir().exists());
}

#[test]
fn a_full_disk_mid_run_keeps_what_was_written_and_the_run_can_be_resumed() {
    let server = OpenAiServer::start_conversation(scripted_conversation());
    let harness = Harness::new()
        .registry(&registry(&server.base_url()))
        .env("FIXTURE_API_KEY", KEY);
    // The file-size limit stands in for a full disk: writes past 12 KiB fail (EFBIG; SIGXFSZ
    // ignored so the write returns an error instead of killing the process). It hits the
    // transcript during iteration 1 or 2; the build, which writes big files, runs under it too
    // and fails, which is recorded as that iteration's outcome or ends the run, both fine.
    let mut command = Command::new(env!("CARGO_BIN_EXE_harness"));
    command
        .args(["generate", "--llm", FIXTURE, "--target", "rust-tiny"])
        .current_dir(harness.root())
        .env("HARNESS_RUNS_DIR", harness.runs_dir())
        .env("HARNESS_GENERATED_DIR", harness.generated_dir())
        .env("HARNESS_REGISTRY", harness.root().join("llms.yaml"))
        .env("FIXTURE_API_KEY", KEY);
    // SAFETY: only async-signal-safe calls (signal, setrlimit) between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 12 * 1024,
                rlim_max: 12 * 1024,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("could not append to the transcript"),
        "{stderr}"
    );
    assert!(
        stderr.contains("events before this one are intact"),
        "{stderr}"
    );

    let run = harness.only_run();
    let interrupted = read_transcript(&run.join("transcript.yaml")).unwrap();
    assert!(interrupted.end().is_none());
    assert!(!interrupted.events.is_empty(), "what fitted was kept");

    let resumed = harness
        .run(&["generate", "--resume", run.to_str().unwrap()])
        .expect_code(0);
    assert!(
        resumed.stdout.contains("succeeded after 3 iteration(s)"),
        "{}",
        resumed.stdout
    );
}

#[test]
fn a_report_to_an_unwritable_place_fails_clearly_and_leaves_nothing_behind() {
    let harness = Harness::new();
    let run = harness.runs_dir().join("r");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::copy(
        committed_run().join("transcript.yaml"),
        run.join("transcript.yaml"),
    )
    .unwrap();
    std::fs::write(harness.root().join("blocker"), "a file, not a folder").unwrap();
    let out = harness
        .run(&["report", "errors", "--out", "blocker/table.md"])
        .expect_code(1);
    assert!(
        out.stderr.contains("could not write blocker/table.md"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(harness.root().join("blocker")).unwrap(),
        "a file, not a folder"
    );

    harness
        .run(&["report", "errors", "--out", "tables/table.md"])
        .expect_code(0);
    let written = std::fs::read_to_string(harness.root().join("tables/table.md")).unwrap();
    assert!(written.contains(FIXTURE));
    let leftovers: Vec<_> = std::fs::read_dir(harness.root().join("tables"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
}
