//! Measures the fix loop's own overhead and the speed of `replay --no-exec`; prints figures.
//!
//! Run with `cargo bench --bench loop_overhead`. The model answers instantly from memory and the
//! target's build and run do nothing, so what is timed is the harness itself: requests and
//! replies recorded (each event flushed to disk), extraction, the crate written, feedback
//! rendered. Targets: under 50 ms per iteration; `replay --no-exec` over 100 recorded iterations
//! under 1 s.

use std::path::Path;
use std::time::{Duration, Instant};

use harness::config::Registry;
use harness::exec::ExitInfo;
use harness::llm::{ChatModel, ChatRequest, FinishReason, LlmError, Reply, Usage};
use harness::prompt::Templates;
use harness::session::{harness_info, run_session, SessionConfig};
use harness::target::{BuildOutcome, BuiltProgram, RunOutcome, Target};
use harness::taxonomy::{Category, ErrorRecord};
use harness::transcript::ToolchainInfo;
use harness::workspace::Workspace;

/// Answers every request at once with a reply of realistic size (about 20 KB, four files).
struct InstantModel {
    reply: String,
}

impl ChatModel for InstantModel {
    fn complete(&mut self, _iteration: u32, _request: &ChatRequest) -> Result<Reply, LlmError> {
        Ok(Reply {
            text: self.reply.clone(),
            finish_reason: FinishReason::Stop,
            usage: Some(Usage {
                input_tokens: 5000,
                output_tokens: 5000,
                ..Default::default()
            }),
            ..Reply::default()
        })
    }
}

/// Builds and runs nothing; fails with two compile errors until the last iteration.
struct NullTarget {
    templates: Templates,
    succeed_at: u32,
}

impl Target for NullTarget {
    fn id(&self) -> &'static str {
        "bench-null"
    }
    fn templates(&self) -> &Templates {
        &self.templates
    }
    fn expected_files(&self) -> &[&'static str] {
        &["Cargo.toml", "src/main.rs", "src/model.rs", "src/train.rs"]
    }
    fn isolation(&self) -> &harness::sandbox::Isolation {
        &harness::sandbox::Isolation::Unconfined
    }
    fn owned_files(&self) -> Vec<(String, String)> {
        vec![(
            ".cargo/config.toml".into(),
            "[net]\noffline = true\n".into(),
        )]
    }
    fn build(&self, _workspace: &Workspace, iteration: u32) -> BuildOutcome {
        let errors = if iteration < self.succeed_at {
            let mut e = ErrorRecord::new(Category::TypeMismatch, "mismatched types");
            e.code = Some("E0308".into());
            e.rendered =
                Some("error[E0308]: mismatched types\n --> src/model.rs:10:5\n".repeat(20));
            vec![e.clone(), e]
        } else {
            Vec::new()
        };
        BuildOutcome {
            program: errors.is_empty().then(|| BuiltProgram {
                path: "/bin/true".into(),
                sha256: "0".repeat(64),
            }),
            errors,
            warnings: 0,
            duration: Duration::ZERO,
        }
    }
    fn smoke_run(&self, _workspace: &Workspace, _program: &BuiltProgram) -> RunOutcome {
        RunOutcome {
            exit: ExitInfo::default(),
            errors: Vec::new(),
            duration: Duration::ZERO,
            output: None,
        }
    }
}

fn reply_text() -> String {
    let body =
        "    let x: Tensor = Tensor::zeros([1, 2, 3], (Kind::Float, Device::Cpu));\n".repeat(70);
    let mut text = String::from("Here is the complete crate.\n\n");
    for file in ["Cargo.toml", "src/main.rs", "src/model.rs", "src/train.rs"] {
        text.push_str(&format!("### `{file}`\n\n```rust\n{body}```\n\n"));
    }
    text
}

fn session(dir: &Path, name: &str, iterations: u32) -> Duration {
    let target = NullTarget {
        templates: Templates {
            initial: "Write the crate.",
            feedback_reply: "{{errors}}{{omitted}}",
            feedback_compile: "It does not compile:\n{{errors}}\n{{omitted}}",
            feedback_runtime: "{{errors}}{{omitted}}",
        },
        succeed_at: iterations,
    };
    let mut llm = Registry::embedded().unwrap().get("local").unwrap().clone();
    llm.id = "fixture-bench".into();
    let config = SessionConfig {
        run_id: name.into(),
        target: &target,
        llm,
        repeat: 1,
        max_iterations: iterations,
        workspace_dir: dir.join("generated").join(name),
        transcript_path: dir.join("runs").join(name).join("transcript.yaml"),
        harness: harness_info(),
        toolchain: ToolchainInfo {
            rustc: "bench".into(),
            cargo: "bench".into(),
        },
        replay_of: None,
        sandbox: None,
        server: None,
        machine: None,
        retry: Default::default(),
        budget: harness::session::Budget::unlimited(),
        expected_outcomes: None,
    };
    let mut model = InstantModel {
        reply: reply_text(),
    };
    let started = Instant::now();
    let summary = run_session(&config, &mut model, &|_, _| {}).unwrap();
    assert_eq!(summary.iterations, iterations);
    started.elapsed()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let iterations = 20;
    let per_iteration: Vec<f64> = (0..5)
        .map(|i| {
            session(dir.path(), &format!("overhead-{i}"), iterations).as_secs_f64() * 1000.0
                / f64::from(iterations)
        })
        .collect();
    println!(
        "fix loop overhead per iteration (model and build excluded, {iterations}-iteration runs, 20 KB replies): median {:.2} ms, min {:.2} ms, max {:.2} ms",
        median(per_iteration.clone()),
        per_iteration.iter().copied().fold(f64::MAX, f64::min),
        per_iteration.iter().copied().fold(0.0, f64::max),
    );

    session(dir.path(), "hundred", 100);
    let transcript = dir.path().join("runs/hundred/transcript.yaml");
    let size = std::fs::metadata(&transcript).unwrap().len();
    let times: Vec<f64> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
                .args(["replay", "--no-exec"])
                .arg(&transcript)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            started.elapsed().as_secs_f64()
        })
        .collect();
    println!(
        "harness replay --no-exec over 100 recorded iterations ({:.1} MB transcript): median {:.3} s, max {:.3} s",
        size as f64 / 1e6,
        median(times.clone()),
        times.iter().copied().fold(0.0, f64::max),
    );
}
