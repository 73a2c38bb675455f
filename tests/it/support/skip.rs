//! Tests that cannot run here say so, all in the same way: `skip` prints
//! `SKIPPED: <test>: <why> (<how to get it>)` on stderr past the test harness's capture (so it
//! shows in a plain `cargo test`), appends `<needs>\t<test>\t<why>` to the file named by
//! `HARNESS_SKIP_LOG` when that is set (`.ci/run` counts and checks the lines), and fails the
//! test instead where CI must run it (`CI` set, and the prerequisite one CI provides).
//!
//! The library's unit tests use this same file (`src/lib.rs` includes it), so it needs nothing
//! but `std` (and `tempfile` in its own tests).

use std::collections::HashSet;
use std::fmt::Display;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// The variable that names the skip log.
pub const SKIP_LOG: &str = "HARNESS_SKIP_LOG";

/// What a test needs that a machine may lack. The name of each is the word in the skip log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// The provisioned toolchain (libtorch, the warm build): `HARNESS_TOOLCHAIN_TESTS=1`.
    Toolchain,
    /// A working bubblewrap.
    Bubblewrap,
    /// Root: a fresh uid per sandboxed process, so that the process limit binds.
    Root,
    /// A memory cgroup the harness may make (training's memory limit).
    MemoryCgroup,
    /// Chromium and chromedriver.
    Browser,
    /// A real model served on 127.0.0.1 (`HARNESS_LIVE_LLM_URL`).
    LiveModel,
    /// The study's data beside the repository (`../shared`): its chats, CHASE_DB1. CI has none.
    SharedData,
    /// The Python target's environment (`harness setup --python`, 2.3 GB): `HARNESS_PYTHON_TESTS=1`.
    PythonEnv,
}

impl Needs {
    /// The word for it in the skip log (`.ci/run` matches these).
    pub fn name(self) -> &'static str {
        match self {
            Needs::Toolchain => "toolchain",
            Needs::Bubblewrap => "bubblewrap",
            Needs::Root => "root",
            Needs::MemoryCgroup => "memory-cgroup",
            Needs::Browser => "browser",
            Needs::LiveModel => "live-model",
            Needs::SharedData => "shared-data",
            Needs::PythonEnv => "python-env",
        }
    }

    /// How to get it.
    pub fn how(self) -> &'static str {
        match self {
            Needs::Toolchain => "set HARNESS_TOOLCHAIN_TESTS=1; the first run downloads libtorch and builds the warm cache",
            Needs::Bubblewrap => "apt-get install bubblewrap, on a kernel that allows user namespaces or as root",
            Needs::Root => "run the tests as root",
            Needs::MemoryCgroup => "run as root where the memory cgroup controller can be used",
            Needs::Browser => "apt-get install chromium chromium-driver",
            Needs::LiveModel => "start one with `scripts/local-llm.sh serve 0.5b` and set HARNESS_LIVE_LLM_URL to the URL it prints",
            Needs::SharedData => "put the study's data in ../shared beside the repository; CI has none",
            Needs::PythonEnv => "set HARNESS_PYTHON_TESTS=1; the first run makes the environment with `harness setup --python` (2.3 GB)",
        }
    }

    /// Whether CI must have it, where `var` reads the environment: under `CI`, the sandbox, the
    /// browser and root (`.ci/run` installs the first two and runs as root), and the toolchain
    /// where `HARNESS_TOOLCHAIN_TESTS=1` asks for it. A memory cgroup, a live model and the
    /// study's data may be missing in CI: those skips are counted, never failed.
    pub fn required_in_ci(self, var: impl Fn(&str) -> Option<String>) -> bool {
        if var("CI").is_none() {
            return false;
        }
        match self {
            Needs::Bubblewrap | Needs::Browser | Needs::Root => true,
            Needs::Toolchain => var("HARNESS_TOOLCHAIN_TESTS").as_deref() == Some("1"),
            Needs::PythonEnv => var("HARNESS_PYTHON_TESTS").as_deref() == Some("1"),
            Needs::MemoryCgroup | Needs::LiveModel | Needs::SharedData => false,
        }
    }
}

/// Whether the toolchain tests are switched on (`HARNESS_TOOLCHAIN_TESTS=1`); when they are not,
/// the calling test is skipped (see [`skip`]) and should return.
pub fn toolchain_tests() -> bool {
    let on = std::env::var("HARNESS_TOOLCHAIN_TESTS").is_ok_and(|v| v == "1");
    if !on {
        skip(Needs::Toolchain, "HARNESS_TOOLCHAIN_TESTS is not 1");
    }
    on
}

/// Whether the Python target's tests are switched on (`HARNESS_PYTHON_TESTS=1`); when they are
/// not, the calling test is skipped and should return.
pub fn python_tests() -> bool {
    let on = std::env::var("HARNESS_PYTHON_TESTS").is_ok_and(|v| v == "1");
    if !on {
        skip(Needs::PythonEnv, "HARNESS_PYTHON_TESTS is not 1");
    }
    on
}

/// Skips the calling test, which should then return: says so on stderr and records it in the
/// skip log (a second skip in the same test is not counted again); then, where CI must run it,
/// fails it instead.
pub fn skip(needs: Needs, why: impl Display) {
    let test = std::thread::current()
        .name()
        .unwrap_or("an unnamed test")
        .to_string();
    let why = one_line(&why.to_string());
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let first = SEEN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get_or_insert_with(HashSet::new)
        .insert(test.clone());
    if first {
        // Straight to the file descriptor: `eprintln!` would be captured, shown only on failure.
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}",
            skip_line(needs, &test, &why)
        );
        if let Some(log) = std::env::var_os(SKIP_LOG) {
            if let Err(error) = record(Path::new(&log), needs, &test, &why) {
                panic!(
                    "cannot append to the skip log {}: {error}",
                    log.to_string_lossy()
                );
            }
        }
    }
    if needs.required_in_ci(|key| std::env::var(key).ok()) {
        panic!(
            "{test} cannot run here ({why}) and CI must run it: {}",
            needs.how()
        );
    }
}

/// The line a person reads.
pub fn skip_line(needs: Needs, test: &str, why: &str) -> String {
    format!("SKIPPED: {test}: {why} ({})", needs.how())
}

/// Appends `<needs>\t<test>\t<why>` to `log` in one write, so that tests running at once never
/// interleave their lines.
pub fn record(log: &Path, needs: Needs, test: &str, why: &str) -> std::io::Result<()> {
    let line = format!("{}\t{}\t{}\n", needs.name(), one_line(test), one_line(why));
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?
        .write_all(line.as_bytes())
}

fn one_line(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_fails_only_what_it_provides() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.to_string())
            }
        };
        let all = [
            Needs::Toolchain,
            Needs::Bubblewrap,
            Needs::Root,
            Needs::MemoryCgroup,
            Needs::Browser,
            Needs::LiveModel,
            Needs::SharedData,
        ];
        for needs in all {
            assert!(!needs.required_in_ci(env(&[])), "{needs:?} outside CI");
        }
        let ci = env(&[("CI", "true")]);
        let required: Vec<&str> = all
            .iter()
            .filter(|n| n.required_in_ci(ci))
            .map(|n| n.name())
            .collect();
        assert_eq!(required, ["bubblewrap", "root", "browser"]);
        let toolchain = env(&[("CI", "true"), ("HARNESS_TOOLCHAIN_TESTS", "1")]);
        assert!(Needs::Toolchain.required_in_ci(toolchain));
        assert!(!Needs::SharedData.required_in_ci(toolchain));
    }

    #[test]
    fn a_skip_is_one_line_for_a_person_and_one_for_the_log() {
        assert_eq!(
            skip_line(Needs::Browser, "html_report::loads", "no chromium"),
            "SKIPPED: html_report::loads: no chromium (apt-get install chromium chromium-driver)"
        );
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("skips.log");
        record(
            &log,
            Needs::SharedData,
            "data::chase",
            "no copy\tat ../shared\n",
        )
        .unwrap();
        record(&log, Needs::Bubblewrap, "sandbox_attacks::fork", "none").unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            text,
            "shared-data\tdata::chase\tno copy at ../shared \nbubblewrap\tsandbox_attacks::fork\tnone\n"
        );
    }
}
