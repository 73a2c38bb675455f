//! Runs the real `harness` binary in a scratch folder of its own, with a fluent builder.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// What one `harness` invocation left.
#[derive(Debug)]
pub struct Finished {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Finished {
    fn from(output: Output) -> Self {
        Finished {
            // A process killed by a signal has no code.
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Finished {
    /// Panics with the whole output unless the exit code is `code`.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "expected exit code {code}, got {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// A scratch folder with `harness-runs/` and `generated/`, and the environment to run in.
pub struct Harness {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Harness {
    pub fn new() -> Self {
        Harness {
            dir: tempfile::tempdir().expect("a temporary folder"),
            env: Vec::new(),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn runs_dir(&self) -> PathBuf {
        self.root().join("harness-runs")
    }

    pub fn generated_dir(&self) -> PathBuf {
        self.root().join("generated")
    }

    /// Writes a registry file that the runs will use.
    pub fn registry(self, yaml: &str) -> Self {
        let path = self.root().join("llms.yaml");
        std::fs::write(&path, yaml).expect("write the registry");
        self.env("HARNESS_REGISTRY", &path.to_string_lossy())
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Runs `harness ARGS` in the scratch folder and waits for it.
    pub fn run(&self, args: &[&str]) -> Finished {
        self.run_with_env(args, &[])
    }

    /// Like `run`, with extra variables for this invocation only.
    pub fn run_with_env(&self, args: &[&str], extra: &[(&str, &str)]) -> Finished {
        let output = self
            .command(args, extra)
            .output()
            .expect("the harness binary runs");
        Finished::from(output)
    }

    /// Starts `harness ARGS` without waiting for it, its output piped: for a test that signals
    /// the process while it runs, then collects it with `Child::wait_with_output`.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args, &[])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the harness binary starts")
    }

    /// The command for `harness ARGS` in the scratch folder, with its environment.
    fn command(&self, args: &[&str], extra: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_harness"));
        command.args(args);
        // The scripted conversations are plain-Rust crates; the default target (the tch U-Net)
        // is for the tests that say so.
        if args.first() == Some(&"generate")
            && !args.iter().any(|a| *a == "--target" || *a == "--resume")
        {
            command.args(["--target", "rust-tiny"]);
        }
        // Without bubblewrap here, generated code runs unconfined rather than not at all.
        if super::sandbox().is_none() && !args.contains(&"--no-sandbox") {
            command.arg("--no-sandbox");
        }
        command
            .current_dir(self.root())
            .env("HARNESS_RUNS_DIR", self.runs_dir())
            .env("HARNESS_GENERATED_DIR", self.generated_dir())
            .env_remove("HARNESS_REGISTRY");
        for (key, value) in &self.env {
            command.env(key, value);
        }
        for (key, value) in extra {
            command.env(key, value);
        }
        command
    }

    /// The one run folder under `harness-runs/`.
    pub fn only_run(&self) -> PathBuf {
        let mut runs: Vec<PathBuf> = std::fs::read_dir(self.runs_dir())
            .expect("the runs folder exists")
            .map(|e| e.expect("a folder entry").path())
            .collect();
        assert_eq!(runs.len(), 1, "expected one run, found {runs:?}");
        runs.remove(0)
    }
}
