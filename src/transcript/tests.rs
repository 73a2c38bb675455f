//! Tests of the transcript format: round trips, crash leftovers, damaged and future files.

use std::collections::BTreeMap;
use std::path::Path;

use super::reader::parse_transcript;
use super::*;
use crate::config::Registry;
use crate::llm::{ChatMessage, FinishReason, Usage};
use crate::taxonomy::{Category, ErrorRecord};

fn header() -> Event {
    Event::Header(Box::new(Header {
        format_version: FORMAT_VERSION,
        run_id: "fixture-r1-20261128T000000Z".into(),
        harness: HarnessInfo {
            version: "0.1.0".into(),
            git_commit: Some("abc".into()),
            git_dirty: true,
        },
        toolchain: ToolchainInfo {
            rustc: "rustc 1.95.0".into(),
            cargo: "cargo 1.95.0".into(),
        },
        target: TargetInfo {
            id: "rust-tiny".into(),
            templates: BTreeMap::from([("prompt.md".into(), "00".into())]),
        },
        llm: Registry::embedded().unwrap().get("gpt-4o").unwrap().clone(),
        repeat: 1,
        max_iterations: 20,
        started_at: "2026-11-28T00:00:00Z".into(),
        replay_of: None,
        sandbox: Some("bubblewrap 0.8.0".into()),
        server: None,
        machine: Some(MachineInfo {
            cpu: Some("AMD EPYC 7763 64-Core Processor".into()),
            cores: Some(2),
            memory_bytes: Some(24 << 30),
            gpus: vec!["NVIDIA H200".into()],
            gpu_driver: Some("550.54.15".into()),
            libtorch: Some("2.11.0".into()),
        }),
        limits: Some(RunLimits {
            build: PhaseLimits {
                time_s: 120,
                output_head_bytes: 1 << 20,
                output_tail_bytes: 4 << 20,
                cpu_s: Some(1800),
                address_space_bytes: Some(16 << 30),
                memory_bytes: None,
                disk_bytes: Some(4 << 30),
                file_size_bytes: Some(2 << 30),
                tmpfs_bytes: Some(1 << 30),
                processes: Some(1024),
                open_files: Some(4096),
            },
            smoke_run: PhaseLimits {
                time_s: 10,
                output_head_bytes: 64 << 10,
                output_tail_bytes: 256 << 10,
                cpu_s: None,
                address_space_bytes: None,
                memory_bytes: None,
                disk_bytes: None,
                file_size_bytes: None,
                tmpfs_bytes: None,
                processes: None,
                open_files: None,
            },
        }),
        imported: None,
    }))
}

fn events() -> Vec<Event> {
    let code = "fn main() {\n    println!(\"---\");\n}\n...\n---\n";
    let mut error = ErrorRecord::new(Category::UnresolvedName, "cannot find value `x`");
    error.code = Some("E0425".into());
    error.rendered = Some("error[E0425]: cannot find value `x`\n --> src/main.rs:2:5\n".into());
    vec![
        header(),
        Event::Request(RequestEvent {
            iteration: 1,
            model: "gpt-4o".into(),
            params: Default::default(),
            history_len: 0,
            new_messages: vec![ChatMessage::user("write it\n\n  indented\ttab ")],
        }),
        Event::Reply(ReplyEvent {
            iteration: 1,
            text: format!("```rust src/main.rs\n{code}```\n"),
            finish_reason: FinishReason::Other("tool_calls".into()),
            usage: Some(Usage {
                input_tokens: 10,
                output_tokens: 20,
                ..Default::default()
            }),
            latency_ms: 5,
            model: None,
            refusal: None,
            system_fingerprint: None,
            cost_usd: None,
            attempts: 1,
            identical_to: None,
        }),
        Event::Files(FilesEvent {
            iteration: 1,
            written: vec![FileEntry {
                path: "src/main.rs".into(),
                sha256: crate::hashing::sha256_hex(code.as_bytes()),
                content: Some(code.into()),
                span: None,
            }],
            kept: vec![],
            notes: vec![],
            inferred: vec![],
        }),
        Event::Run(RunEvent {
            iteration: 1,
            exit_code: Some(101),
            signal: None,
            timed_out: false,
            errors: vec![],
            duration_ms: 3,
            stdout: Some("epoch 1\n---\n...\n".into()),
            stderr: Some(format!(
                "starting{}thread 'main' panicked at src/main.rs:2:5:\n",
                crate::exec::cut_marker(1234)
            )),
        }),
        Event::Outcome(OutcomeEvent {
            iteration: 1,
            success: false,
            errors: vec![error],
        }),
        Event::End(EndEvent {
            status: EndStatus::GaveUp,
            iterations: 1,
            reason: None,
            finished_at: "2026-11-28T00:00:01Z".into(),
            wall_ms: 1000,
        }),
    ]
}

fn encode_all(events: &[Event]) -> String {
    events
        .iter()
        .map(|e| writer::encode(e).unwrap())
        .collect::<String>()
}

#[test]
fn every_event_round_trips_exactly_even_with_yaml_markers_in_strings() {
    let text = encode_all(&events());
    let transcript = parse_transcript(&text, Path::new("t.yaml")).unwrap();
    assert_eq!(
        Event::Header(Box::new(transcript.header.clone())),
        events()[0]
    );
    assert_eq!(transcript.events, events()[1..]);
    assert_eq!(transcript.partial_tail_line, None);
    assert_eq!(
        transcript.files_at(1).unwrap()["src/main.rs"],
        "fn main() {\n    println!(\"---\");\n}\n...\n---\n"
    );
}

/// The committed fixture run was recorded in format version 1; versions 1 and 2 differ only in
/// optional fields, so with its version line set to 2 it is a version 2 file too. Both read,
/// with what version 3 added absent.
#[test]
fn version_1_and_2_files_read_with_the_version_3_fields_absent() {
    let v1 = include_str!("../../tests/fixtures/runs/fixture-scripted-stats/transcript.yaml");
    let v2 = v1.replacen("format_version: 1\n", "format_version: 2\n", 1);
    assert_ne!(v1, v2);
    for (version, text) in [(1, v1), (2, v2.as_str())] {
        let transcript = parse_transcript(text, Path::new("old.yaml")).unwrap();
        assert_eq!(transcript.header.format_version, version);
        assert_old(&transcript);
        assert_eq!(transcript.end().unwrap().status, EndStatus::Succeeded);
    }
    assert_eq!(FORMAT_VERSION, 6);
}

/// The study's committed runs (format version 2, where present) read the same way.
#[test]
fn the_committed_runs_still_read() {
    let runs = Path::new(env!("CARGO_MANIFEST_DIR")).join("harness-runs");
    let transcripts = std::fs::read_dir(runs)
        .into_iter()
        .flatten()
        .flatten()
        .map(|run| run.path().join(TRANSCRIPT_FILE))
        .filter(|path| path.is_file());
    for path in transcripts {
        let transcript = read_transcript(&path).unwrap();
        if transcript.header.format_version < 3 {
            assert_old(&transcript);
        }
    }
}

/// No field that version 3 added is there.
fn assert_old(transcript: &Transcript) {
    let runs: Vec<&RunEvent> = transcript
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Run(run) => Some(run),
            _ => None,
        })
        .collect();
    for run in runs {
        assert_eq!((&run.stdout, &run.stderr), (&None, &None));
    }
    assert_eq!(
        (&transcript.header.machine, &transcript.header.limits),
        (&None, &None)
    );
}

#[test]
fn writer_appends_whole_documents_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run/transcript.yaml");
    let mut writer = TranscriptWriter::create(&path).unwrap();
    for event in events() {
        writer.append(&event).unwrap();
    }
    let transcript = read_transcript(&path).unwrap();
    assert_eq!(transcript.events.len(), events().len() - 1);
    assert!(TranscriptWriter::create(&path).is_err());
}

#[test]
fn a_cut_last_event_is_reported_and_ignored() {
    let text = encode_all(&events());
    // Cut inside the last document, at every byte of it: never mistaken for a complete event.
    let last_start = text.rfind("---\n").unwrap();
    for cut in last_start + 1..text.len() - 1 {
        let transcript = parse_transcript(&text[..cut], Path::new("t.yaml")).unwrap();
        assert_eq!(transcript.events.len(), events().len() - 2, "cut at {cut}");
        let line = text[..last_start].lines().count() + 1;
        assert_eq!(transcript.partial_tail_line, Some(line), "cut at {cut}");
        assert!(transcript.end().is_none());
    }
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let text = encode_all(&events()).replacen("iteration: 1\nmodel", "iteration: [1\nmodel", 1);
    let err = parse_transcript(&text, Path::new("runs/x/transcript.yaml")).unwrap_err();
    let message = err.to_string();
    let expected_line = text.lines().position(|l| l == "iteration: [1").unwrap() + 1;
    assert!(message.starts_with("runs/x/transcript.yaml:"), "{message}");
    let line: usize = message.split(':').nth(1).unwrap().parse().unwrap();
    assert!(
        (expected_line..=expected_line + 1).contains(&line),
        "line {line}, expected about {expected_line}: {message}"
    );
}

#[test]
fn garbage_between_events_names_the_line() {
    let mut text = encode_all(&events()[..2]);
    text.push_str("oops\n");
    let err = parse_transcript(&text, Path::new("t.yaml")).unwrap_err();
    let lines = text.lines().count();
    assert!(
        err.to_string().starts_with(&format!("t.yaml:{lines}:")),
        "{err}"
    );
}

#[test]
fn a_newer_format_is_refused_with_advice() {
    let text = encode_all(&events()).replacen(
        &format!("format_version: {FORMAT_VERSION}"),
        "format_version: 99",
        1,
    );
    let err = parse_transcript(&text, Path::new("t.yaml")).unwrap_err();
    assert!(
        matches!(err, ReadError::NewerVersion { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("newer harness"), "{err}");
}

#[test]
fn a_file_without_header_is_not_a_transcript() {
    let text = encode_all(&events()[1..]);
    let err = parse_transcript(&text, Path::new("t.yaml")).unwrap_err();
    assert!(matches!(err, ReadError::NoHeader { .. }), "{err}");
    let err = parse_transcript("", Path::new("t.yaml")).unwrap_err();
    assert!(matches!(err, ReadError::NoHeader { .. }), "{err}");
}

#[test]
fn tampered_file_content_is_detected_when_rebuilding_files() {
    let mut text = encode_all(&events());
    // The last occurrence is the file content in the files event (the first is in the reply).
    let at = text.rfind("println!(\"---\")").unwrap();
    text.replace_range(at..at + 15, "println!(\"+++\")");
    let transcript = parse_transcript(&text, Path::new("t.yaml")).unwrap();
    let err = transcript.files_at(1).unwrap_err();
    assert!(err.to_string().contains("does not match its hash"), "{err}");
}

#[test]
fn multi_line_text_is_stored_as_readable_blocks() {
    let text = encode_all(&events());
    assert!(text.contains("text: |"), "{text}");
}

/// Format 5 (issue 11): a file the reply holds verbatim is stored as a span of the reply, not a
/// second copy; the crate rebuilds the same, and a span that no longer matches is caught.
#[test]
fn a_file_found_in_its_reply_is_stored_once_as_a_span() {
    let mut events = events();
    let reply = events
        .iter()
        .find_map(|e| match e {
            Event::Reply(r) => Some(r.text.clone()),
            _ => None,
        })
        .unwrap();
    let code = "fn main() {\n    println!(\"---\");\n}\n...\n---\n";
    let entry = FileEntry::written("src/main.rs".into(), code, &reply);
    let start = "```rust src/main.rs\n".len();
    assert_eq!(entry.span, Some([start, start + code.len()]));
    assert_eq!(entry.content, None);
    for event in &mut events {
        if let Event::Files(files) = event {
            files.written = vec![entry.clone()];
        }
    }
    let with_span = encode_all(&events);
    let transcript = parse_transcript(&with_span, Path::new("t.yaml")).unwrap();
    assert_eq!(transcript.events, events[1..], "round trips");
    assert_eq!(transcript.files_at(1).unwrap()["src/main.rs"], code);
    let full = encode_all(&self::events());
    assert!(
        with_span.len() + code.len() <= full.len(),
        "{} bytes against {}",
        with_span.len(),
        full.len()
    );

    // Not in the reply verbatim (or empty): stored in full, as before.
    let other = FileEntry::written("Cargo.toml".into(), "[package]\n", &reply);
    assert_eq!(
        (other.span, other.content.as_deref()),
        (None, Some("[package]\n"))
    );
    let empty = FileEntry::written("src/lib.rs".into(), "", &reply);
    assert_eq!((empty.span, empty.content.as_deref()), (None, Some("")));

    // A span that points elsewhere in the reply fails the hash check; one past its end is
    // missing content.
    for (span, says) in [
        ([0, code.len()], "does not match its hash"),
        ([start, reply.len() + 1], "has no content"),
    ] {
        let mut broken = events.clone();
        for event in &mut broken {
            if let Event::Files(files) = event {
                files.written[0].span = Some(span);
            }
        }
        let transcript = parse_transcript(&encode_all(&broken), Path::new("t.yaml")).unwrap();
        let err = transcript.files_at(1).unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
    }
}
