//! Runs one child process with a cleared environment, a wall-clock limit and capped output.
//!
//! The child starts in a process group of its own; on timeout the whole group is killed, so a
//! build script's or a program's children die with it. Each output stream is drained on its own
//! thread, so a noisy child can never block on a full pipe; a stream longer than its cap keeps
//! its beginning and its end, the bytes between read and dropped and the cut marked
//! (`capture.rs`). A timeout is a *result* (`ProcessOutput::exit.timed_out`), not an error: `Err` means
//! the process could not be started at all.

use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::capture::{Capture, OutputCap};
use super::exit::ExitInfo;
use super::secrets::looks_secret;

/// Host variables a child may inherit. Everything else, API keys first of all, is withheld.
pub const ENV_ALLOW_LIST: &[&str] = &[
    "PATH",
    "HOME",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "LANG",
    "LC_ALL",
    "TZ",
];

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Called with each complete line a child writes, as it arrives (for progress displays). It
/// runs on the stream's draining thread, so it must be quick.
#[derive(Clone)]
pub struct LineObserver(Arc<ObserveFn>);

type ObserveFn = dyn Fn(Stream, &str) + Send + Sync;

impl LineObserver {
    pub fn new(observe: impl Fn(Stream, &str) + Send + Sync + 'static) -> Self {
        LineObserver(Arc::new(observe))
    }
}

impl fmt::Debug for LineObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LineObserver")
    }
}

/// How long to wait for the output pipes to close after the child itself has ended. A
/// grandchild that escaped the process group may hold them open; its output is then cut here.
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// What to run.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub cwd: PathBuf,
    /// Variables set on top of the allow-listed host ones.
    pub env: Vec<(String, String)>,
    /// Further host variables a trusted tool needs (pip's index and certificate settings, a
    /// proxy), passed on when set. Names that look like secrets are never passed.
    pub inherit: Vec<String>,
    /// `Duration::MAX` means no limit (see [`ProcessSpec::no_timeout`]).
    pub timeout: Duration,
    /// What is kept of each stream: its first and its last bytes; the rest is drained and
    /// dropped, and the text says where and how much.
    pub output_cap: OutputCap,
    pub observer: Option<LineObserver>,
}

impl ProcessSpec {
    pub fn new(program: impl Into<OsString>, cwd: impl Into<PathBuf>) -> Self {
        ProcessSpec {
            program: program.into(),
            args: Vec::new(),
            cwd: cwd.into(),
            env: Vec::new(),
            inherit: Vec::new(),
            timeout: Duration::from_secs(60),
            output_cap: OutputCap::DEFAULT,
            observer: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Passes these host variables on where they are set, except any that look like secrets.
    pub fn inherit<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.inherit
            .extend(names.into_iter().map(|n| n.as_ref().to_string()));
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Waits as long as the child runs. Only for trusted work that must never be cut short
    /// (a build killed inside a build script can leave the build cache dirty).
    pub fn no_timeout(mut self) -> Self {
        self.timeout = Duration::MAX;
        self
    }

    /// Shows each output line to `observer` as it arrives.
    pub fn observe(mut self, observer: LineObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Keeps this much of each stream: an `OutputCap`, or a number of bytes in all (a fifth
    /// from the start, the rest from the end).
    pub fn output_cap(mut self, cap: impl Into<OutputCap>) -> Self {
        self.output_cap = cap.into();
        self
    }
}

/// What a finished (or killed) child left.
#[derive(Debug, Clone)]
pub struct ProcessOutput {
    pub stdout: String,
    pub stderr: String,
    pub exit: ExitInfo,
    pub duration: Duration,
}

impl ProcessOutput {
    pub fn success(&self) -> bool {
        self.exit.code == Some(0) && !self.exit.timed_out
    }
}

/// The process could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("could not start `{program}` in {cwd}")]
    Spawn {
        program: String,
        cwd: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not wait for `{program}`")]
    Wait {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

fn drain(
    mut stream: impl Read + Send + 'static,
    cap: OutputCap,
    observer: Option<(LineObserver, Stream)>,
    done: mpsc::Sender<()>,
) -> Arc<Mutex<Capture>> {
    let captured = Arc::new(Mutex::new(Capture::new(cap)));
    let sink = Arc::clone(&captured);
    thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        let mut line = Vec::new();
        loop {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Some((observer, which)) = &observer {
                        for &byte in &buffer[..n] {
                            if byte == b'\n' || byte == b'\r' {
                                if !line.is_empty() {
                                    (observer.0)(*which, &String::from_utf8_lossy(&line));
                                    line.clear();
                                }
                            } else {
                                line.push(byte);
                            }
                        }
                    }
                    let mut captured = sink.lock().unwrap_or_else(|p| p.into_inner());
                    captured.push(&buffer[..n]);
                }
            }
        }
        if let Some((observer, which)) = &observer {
            if !line.is_empty() {
                (observer.0)(*which, &String::from_utf8_lossy(&line));
            }
        }
        let _ = done.send(());
    });
    captured
}

fn take(captured: &Arc<Mutex<Capture>>) -> (String, bool) {
    let mut captured = captured.lock().unwrap_or_else(|p| p.into_inner());
    (captured.text(), captured.cut())
}

/// Runs the process to completion or to its timeout.
pub fn run_process(spec: &ProcessSpec) -> Result<ProcessOutput, ExecError> {
    let program = spec.program.to_string_lossy().into_owned();
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .current_dir(&spec.cwd)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for key in ENV_ALLOW_LIST {
        if let Some(value) = std::env::var_os(key) {
            command.env(key, value);
        }
    }
    for key in spec.inherit.iter().filter(|key| !looks_secret(key)) {
        if let Some(value) = std::env::var_os(key) {
            command.env(key, value);
        }
    }
    for (key, value) in &spec.env {
        command.env(key, value);
    }

    let started = Instant::now();
    let mut child = command.spawn().map_err(|source| ExecError::Spawn {
        program: program.clone(),
        cwd: spec.cwd.clone(),
        source,
    })?;
    let pid = child.id() as libc::pid_t;
    let observer = |which| spec.observer.clone().map(|o| (o, which));
    let (done_tx, done_rx) = mpsc::channel();
    let stdout = child.stdout.take().map(|s| {
        drain(
            s,
            spec.output_cap,
            observer(Stream::Stdout),
            done_tx.clone(),
        )
    });
    let stderr = child.stderr.take().map(|s| {
        drain(
            s,
            spec.output_cap,
            observer(Stream::Stderr),
            done_tx.clone(),
        )
    });
    drop(done_tx);

    let (exit_tx, exit_rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = exit_tx.send(child.wait());
    });
    let mut timed_out = false;
    let waited = if spec.timeout == Duration::MAX {
        exit_rx
            .recv()
            .map_err(|_| mpsc::RecvTimeoutError::Disconnected)
    } else {
        exit_rx.recv_timeout(spec.timeout)
    };
    let status = match waited {
        Ok(status) => status,
        Err(_) => {
            timed_out = true;
            kill_group(pid);
            exit_rx
                .recv()
                .unwrap_or_else(|_| Err(std::io::Error::other("the waiting thread ended early")))
        }
    }
    .map_err(|source| ExecError::Wait {
        program: program.clone(),
        source,
    })?;
    // Children left in the group (a program's workers, a build script's helpers) go too.
    kill_group(pid);
    let duration = started.elapsed();

    let deadline = Instant::now() + PIPE_GRACE;
    let streams = usize::from(stdout.is_some()) + usize::from(stderr.is_some());
    for _ in 0..streams {
        let left = deadline.saturating_duration_since(Instant::now());
        if done_rx.recv_timeout(left).is_err() {
            break;
        }
    }
    let (stdout, out_truncated) = stdout.as_ref().map(take).unwrap_or_default();
    let (stderr, err_truncated) = stderr.as_ref().map(take).unwrap_or_default();

    Ok(ProcessOutput {
        stdout,
        stderr,
        exit: ExitInfo {
            code: status.code(),
            signal: status.signal(),
            timed_out,
            output_truncated: out_truncated || err_truncated,
        },
        duration,
    })
}

fn kill_group(pid: libc::pid_t) {
    // SAFETY: kill(2) with a negative pid signals the process group we created for the child;
    // it has no memory-safety preconditions. An ESRCH (group already gone) is fine.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> ProcessSpec {
        ProcessSpec::new("/bin/sh", std::env::temp_dir())
            .arg("-c")
            .arg(script)
    }

    #[test]
    fn captures_output_and_exit_code() {
        let out = run_process(&sh("echo out; echo err >&2; exit 3")).unwrap();
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
        assert_eq!(out.exit.code, Some(3));
        assert!(!out.exit.timed_out);
        assert!(!out.success());
    }

    #[test]
    fn environment_is_cleared_to_the_allow_list() {
        // A variable the harness itself has (cargo sets it for tests) must not reach the child.
        assert!(std::env::var_os("CARGO_PKG_NAME").is_some());
        let out = run_process(&sh("env").env("EXTRA", "1")).unwrap();
        let names: Vec<&str> = out
            .stdout
            .lines()
            .filter_map(|l| l.split('=').next())
            .collect();
        assert!(names.contains(&"EXTRA"));
        assert!(!names.contains(&"CARGO_PKG_NAME"), "{names:?}");
        for name in names {
            assert!(
                name == "EXTRA"
                    || name == "PWD"
                    || name == "SHLVL"
                    || name == "_"
                    || ENV_ALLOW_LIST.contains(&name),
                "unexpected variable {name}"
            );
        }
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        // Both children block forever; the background one would keep the pipes open if it survived.
        let spec = sh("tail -f /dev/null & tail -f /dev/null").timeout(Duration::from_millis(200));
        let started = Instant::now();
        let out = run_process(&spec).unwrap();
        assert!(out.exit.timed_out);
        assert_eq!(out.exit.signal, Some(libc::SIGKILL));
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn output_is_capped_but_fully_drained() {
        let spec = sh("head -c 1000000 /dev/zero | tr '\\0' x; echo done >&2").output_cap(1000);
        let out = run_process(&spec).unwrap();
        let marker = crate::exec::cut_marker(1_000_000 - 1000);
        assert_eq!(
            out.stdout,
            format!("{}{marker}{}", "x".repeat(200), "x".repeat(800))
        );
        assert!(out.exit.output_truncated);
        assert_eq!(out.stderr, "done\n");
        assert_eq!(out.exit.code, Some(0));
    }

    #[test]
    fn a_long_output_keeps_its_beginning_and_its_end() {
        // 2 MB of progress lines between the first line and a panic: both ends survive.
        let script = "echo starting; yes progress | head -n 250000; echo \"thread 'main' panicked at src/main.rs:3:5:\" >&2";
        let out = run_process(&sh(script).output_cap(OutputCap::ends(64, 256))).unwrap();
        assert!(
            out.stdout.starts_with("starting\nprogress\n"),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout.ends_with("progress\nprogress\n"),
            "{}",
            out.stdout
        );
        let left_out = "starting\n".len() + 250_000 * "progress\n".len() - 64 - 256;
        assert!(
            out.stdout
                .contains(&crate::exec::cut_marker(left_out as u64)),
            "{}",
            out.stdout
        );
        assert!(out.exit.output_truncated);
        assert_eq!(out.stderr, "thread 'main' panicked at src/main.rs:3:5:\n");
        assert_eq!(ProcessSpec::new("x", "/").output_cap, OutputCap::DEFAULT);
    }

    #[test]
    fn inherited_variables_pass_but_secret_looking_ones_never_do() {
        // Cargo sets both for a test run; the second is refused for the `AUTH` in its name.
        assert!(std::env::var_os("CARGO_PKG_AUTHORS").is_some());
        let spec = sh("env").inherit(["CARGO_PKG_NAME", "CARGO_PKG_AUTHORS"]);
        let out = run_process(&spec).unwrap();
        assert!(out.stdout.lines().any(|l| l == "CARGO_PKG_NAME=harness"));
        assert!(!out.stdout.contains("CARGO_PKG_AUTHORS"), "{}", out.stdout);
    }

    #[test]
    fn observer_sees_each_line_of_both_streams() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let observer = LineObserver::new(move |stream, line| {
            sink.lock().unwrap().push((stream, line.to_string()));
        });
        let spec = sh("echo one; echo two >&2; printf 'three'").observe(observer);
        let out = run_process(&spec).unwrap();
        assert!(out.success());
        let mut seen = lines.lock().unwrap().clone();
        seen.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(
            seen,
            [
                (Stream::Stdout, "one".to_string()),
                (Stream::Stdout, "three".to_string()),
                (Stream::Stderr, "two".to_string()),
            ]
        );
    }

    #[test]
    fn no_timeout_waits_for_the_child() {
        let out = run_process(&sh("exit 0").no_timeout()).unwrap();
        assert!(out.success());
        assert!(!out.exit.timed_out);
    }

    #[test]
    fn missing_program_is_an_error() {
        let err = run_process(&ProcessSpec::new("/nonexistent/program", "/")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/program"));
    }
}
