//! `rust-tiny`: a small plain-Rust program (integer statistics), for testing the loop itself.
//!
//! It builds in well under a second with no dependencies, yet has the same shape as the real
//! targets: several files, a command line, an input with traps (blank lines, comments,
//! whitespace, negative numbers) and an output file whose content the harness checks against
//! values it computes itself.

use std::path::Path;
use std::time::Duration;

use crate::diagnostics::{classify_run, normalise};
use crate::exec::{run_process, ProcessSpec};
use crate::prompt::Templates;
use crate::taxonomy::{Category, ErrorRecord};
use crate::workspace::Workspace;

use super::cargo::{CargoBuild, TARGET_DIR};
use super::{BuildOutcome, BuiltProgram, RunOutcome, Target};

/// The smoke input: every trap the prompt mentions.
const SMOKE_INPUT: &str =
    "# numbers for the smoke run\n12\n-7\n\n  40  \n5\n   # an indented comment\n100\n";
/// Where the smoke input and output go, inside the target folder (so paths in messages are
/// relative to the crate and the same on every machine).
const SMOKE_DIR: &str = "harness-smoke";

const OWNED_CARGO_CONFIG: &str = "\
# Written by the harness; replies cannot change it.
[net]
offline = true
";

/// The `rust-tiny` target.
#[derive(Debug)]
pub struct RustTiny {
    templates: Templates,
}

impl RustTiny {
    pub fn new() -> Self {
        RustTiny {
            templates: Templates {
                initial: include_str!("../../prompts/rust-tiny/prompt.md"),
                feedback_reply: include_str!("../../prompts/rust-tiny/feedback-reply.md"),
                feedback_compile: include_str!("../../prompts/rust-tiny/feedback-compile.md"),
                feedback_runtime: include_str!("../../prompts/rust-tiny/feedback-runtime.md"),
            },
        }
    }
}

impl Default for RustTiny {
    fn default() -> Self {
        Self::new()
    }
}

impl Target for RustTiny {
    fn id(&self) -> &'static str {
        "rust-tiny"
    }

    fn templates(&self) -> &Templates {
        &self.templates
    }

    fn expected_files(&self) -> &[&'static str] {
        &["Cargo.toml", "src/main.rs", "src/stats.rs"]
    }

    fn owned_files(&self) -> Vec<(String, String)> {
        vec![(
            ".cargo/config.toml".to_string(),
            OWNED_CARGO_CONFIG.to_string(),
        )]
    }

    fn build(&self, workspace: &Workspace, iteration: u32) -> BuildOutcome {
        CargoBuild {
            preferred_bin: "stats",
            timeout: Duration::from_secs(120),
        }
        .run(workspace, iteration)
    }

    fn smoke_run(&self, workspace: &Workspace, program: &BuiltProgram) -> RunOutcome {
        let started = std::time::Instant::now();
        let root = workspace.root();
        let smoke = root.join(TARGET_DIR).join(SMOKE_DIR);
        let harness_failure = |message: String| RunOutcome {
            exit: Default::default(),
            errors: vec![ErrorRecord::new(Category::InfraHarness, message)],
            duration: started.elapsed(),
        };
        if let Err(error) = prepare_smoke(&smoke) {
            return harness_failure(format!("could not prepare the smoke input: {error}"));
        }
        let input = smoke.join("numbers.txt");
        let out_dir = smoke.join("out");
        let spec = ProcessSpec::new(program.path.as_os_str(), root)
            .arg("--input")
            .arg(&input)
            .arg("--out-dir")
            .arg(&out_dir)
            .env("RUST_BACKTRACE", "0")
            .timeout(Duration::from_secs(10))
            .output_cap(256 << 10);
        let output = match run_process(&spec) {
            Ok(output) => output,
            Err(error) => return harness_failure(error.to_string()),
        };
        let stderr = normalise(&output.stderr, &[(root, "")]);
        let mut errors: Vec<ErrorRecord> =
            classify_run(&output.exit, &stderr).into_iter().collect();
        if errors.is_empty() {
            errors.extend(check_summary(&out_dir, SMOKE_INPUT));
        }
        RunOutcome {
            exit: output.exit,
            errors,
            duration: started.elapsed(),
        }
    }
}

fn prepare_smoke(smoke: &Path) -> std::io::Result<()> {
    if smoke.exists() {
        std::fs::remove_dir_all(smoke)?;
    }
    std::fs::create_dir_all(smoke)?;
    std::fs::write(smoke.join("numbers.txt"), SMOKE_INPUT)
}

/// The four values the program must write, computed by the harness.
fn expected_summary(input: &str) -> [(&'static str, String); 4] {
    let numbers: Vec<i64> = input
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.parse().ok())
        .collect();
    let show = |v: Option<&i64>| v.map_or("none".to_string(), i64::to_string);
    [
        ("count", numbers.len().to_string()),
        ("sum", numbers.iter().sum::<i64>().to_string()),
        ("min", show(numbers.iter().min())),
        ("max", show(numbers.iter().max())),
    ]
}

/// Checks `summary.txt` against the harness's own values.
fn check_summary(out_dir: &Path, input: &str) -> Option<ErrorRecord> {
    let path = out_dir.join("summary.txt");
    let failure = |category, message: String| {
        let mut error = ErrorRecord::new(category, message);
        error.file = Some("summary.txt".to_string());
        error.rendered = Some(error.message.clone());
        Some(error)
    };
    // symlink_metadata: the program may have planted a link; never follow it.
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => {
            return failure(
                Category::InvalidOutput,
                "the output summary.txt is not a regular file".to_string(),
            )
        }
        Err(_) => return failure(
            Category::MissingOutput,
            "the program exited successfully but did not write summary.txt in the output folder"
                .to_string(),
        ),
    }
    let Ok(text) = std::fs::read_to_string(&path) else {
        return failure(
            Category::InvalidOutput,
            "summary.txt is not valid UTF-8 text".to_string(),
        );
    };
    for (key, want) in expected_summary(input) {
        let found = text
            .lines()
            .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
            .map(str::trim);
        match found {
            Some(got) if got == want => {}
            Some(got) => {
                return failure(
                    Category::InvalidOutput,
                    format!("summary.txt says {key}={got}, but the input gives {key}={want}"),
                )
            }
            None => {
                return failure(
                    Category::InvalidOutput,
                    format!("summary.txt has no `{key}=` line"),
                )
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_values_skip_the_traps() {
        let summary = expected_summary(SMOKE_INPUT);
        assert_eq!(summary[0].1, "5");
        assert_eq!(summary[1].1, "150");
        assert_eq!(summary[2].1, "-7");
        assert_eq!(summary[3].1, "100");
        assert_eq!(expected_summary("# none\n")[2].1, "none");
    }

    #[test]
    fn summary_check_catches_missing_wrong_and_good_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = check_summary(dir.path(), SMOKE_INPUT).unwrap();
        assert_eq!(missing.category, Category::MissingOutput);

        std::fs::write(
            dir.path().join("summary.txt"),
            "count=5\nsum=149\nmin=-7\nmax=100\n",
        )
        .unwrap();
        let wrong = check_summary(dir.path(), SMOKE_INPUT).unwrap();
        assert_eq!(wrong.category, Category::InvalidOutput);
        assert!(wrong.message.contains("sum=149"), "{}", wrong.message);

        std::fs::write(
            dir.path().join("summary.txt"),
            "count=5\nsum=150\nmin=-7\nmax=100\n",
        )
        .unwrap();
        assert_eq!(check_summary(dir.path(), SMOKE_INPUT), None);
    }
}
