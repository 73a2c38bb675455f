//! A run folder keeps its final crate beside the transcript; replay checks it, `checkout`
//! rebuilds any iteration's crate from the transcript.

use crate::e2e::{registry, scripted_conversation, FIXTURE, KEY};
use crate::support::harness::Harness;
use crate::support::openai_server::OpenAiServer;

#[test]
fn the_final_crate_is_kept_checked_by_replay_and_rebuilt_by_checkout() {
    let server = OpenAiServer::start(scripted_conversation());
    let harness = Harness::new()
        .registry(&registry(&server.base_url()))
        .env("FIXTURE_API_KEY", KEY);
    harness.run(&["generate", "--llm", FIXTURE]).expect_code(0);
    let run = harness.only_run();
    let kept = run.join("crate");
    let main_rs = std::fs::read_to_string(kept.join("src/main.rs")).expect("the final crate");
    let manifest = std::fs::read_to_string(kept.join("Cargo.toml")).expect("its manifest");
    assert!(manifest.contains("[package]"));
    assert!(
        !kept.join("target").exists(),
        "no build products beside the transcript"
    );
    let generated = harness
        .generated_dir()
        .join("rust-tiny")
        .join(format!("{FIXTURE}-r1"));
    assert_eq!(
        std::fs::read_to_string(generated.join("src/main.rs")).unwrap(),
        main_rs,
        "the same files the last iteration built"
    );
    let run_arg = run.to_str().unwrap();
    harness
        .run(&["replay", "--no-exec", run_arg])
        .expect_code(0);

    // A kept crate that no longer matches its transcript is a drift.
    std::fs::write(kept.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(kept.join("extra.rs"), "").unwrap();
    let out = harness
        .run(&["replay", "--no-exec", run_arg])
        .expect_code(4);
    assert!(
        out.stdout.contains("src/main.rs: differs")
            && out.stdout.contains("extra.rs: not in the run"),
        "{}",
        out.stdout
    );

    // `checkout` writes it again from the transcript; any iteration goes elsewhere.
    std::fs::remove_file(kept.join("extra.rs")).unwrap();
    harness.run(&["checkout", run_arg]).expect_code(0);
    assert_eq!(
        std::fs::read_to_string(kept.join("src/main.rs")).unwrap(),
        main_rs
    );
    harness
        .run(&["replay", "--no-exec", run_arg])
        .expect_code(0);
    let first = harness.root().join("first");
    harness
        .run(&[
            "checkout",
            run_arg,
            "--iteration",
            "1",
            "--out",
            first.to_str().unwrap(),
        ])
        .expect_code(0);
    let stats = |dir: &std::path::Path| std::fs::read_to_string(dir.join("src/stats.rs")).unwrap();
    assert_ne!(
        stats(&first),
        stats(&kept),
        "iteration 1's program failed to build; the last one works"
    );
    let out = harness.run(&["checkout", run_arg, "--iteration", "1"]);
    assert_eq!(out.code, 2, "--iteration without --out: {}", out.stderr);
    let out = harness
        .run(&[
            "checkout",
            run_arg,
            "--iteration",
            "9",
            "--out",
            first.to_str().unwrap(),
        ])
        .expect_code(2);
    assert!(out.stderr.contains("iterations 1 to 3"), "{}", out.stderr);
}
