//! The Python environment in the cache (`<cache>/python-env-<lock hash>/`): found when
//! complete, otherwise made in a staging folder (venv, locked wheels, smoke check, read-only)
//! and renamed into place with its marker, so a half-made one is never used.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::super::cache::CacheLayout;
use super::super::error::ToolchainError;
use super::super::install::{install_dir, state, Installed};
use super::super::provision::{SetupReport, StepOutcome};
use super::super::read_only::{make_read_only, remove_tree};
use super::install::{create_venv, download, env_python, install, relocate, verify, watching_size};
use super::interpreter::find_interpreter;
use super::lock::{PythonLock, LOCK_FILE, LOCK_TEXT};
use super::smoke::{run_smoke, SmokeRecord, RECORD_FILE};
use crate::progress::human_bytes;
use crate::progress::SetupProgress;

/// A complete environment.
#[derive(Debug, Clone)]
pub struct PythonEnv {
    pub dir: PathBuf,
    /// What its smoke check found when it was made.
    pub record: SmokeRecord,
}

impl PythonEnv {
    /// Its interpreter, `bin/python`.
    pub fn python(&self) -> PathBuf {
        env_python(&self.dir)
    }
}

/// The embedded lock, parsed.
pub fn embedded_lock() -> Result<PythonLock, ToolchainError> {
    PythonLock::parse(LOCK_TEXT).map_err(|error| ToolchainError::BadPythonLock {
        line: error.line,
        reason: error.reason,
    })
}

/// Where the environment of `lock` lives in the cache.
pub fn env_dir(cache: &Path, lock: &PythonLock) -> PathBuf {
    cache.join(lock.dir_name())
}

/// The marker of a complete environment: the lock it was made from.
pub fn marker_text(lock: &PythonLock) -> String {
    format!("python-env {LOCK_FILE} sha256:{}\n", lock.sha256)
}

/// How the environment of the embedded lock stands in the cache.
#[derive(Debug, Clone)]
pub enum EnvState {
    Complete(PythonEnv),
    Missing(PathBuf),
    /// A folder without its marker, or whose record cannot be read.
    Incomplete(PathBuf),
}

/// The environment of `lock` in `cache`, as it stands.
pub fn env_state(cache: &Path, lock: &PythonLock) -> EnvState {
    let dir = env_dir(cache, lock);
    match state(&dir, &marker_text(lock)) {
        Installed::Missing => EnvState::Missing(dir),
        Installed::Incomplete => EnvState::Incomplete(dir),
        Installed::Complete => match std::fs::read_to_string(dir.join(RECORD_FILE))
            .ok()
            .and_then(|text| SmokeRecord::parse(&text).ok())
        {
            Some(record) => EnvState::Complete(PythonEnv { dir, record }),
            None => EnvState::Incomplete(dir),
        },
    }
}

/// Environments of other locks in the cache (left by an older harness): folder and size.
pub fn other_envs(cache: &Path, lock: &PythonLock) -> Vec<PathBuf> {
    let own = lock.dir_name();
    let Ok(entries) = std::fs::read_dir(cache) else {
        return Vec::new();
    };
    let mut others: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with("python-env-") && name != own
        })
        .map(|entry| entry.path())
        .collect();
    others.sort();
    others
}

/// Makes sure the environment is in `cache`, making it when it is not, and runs its smoke
/// check again when it was there already and `smoke` is set. Holds the cache's lock.
pub fn provision_python_env(
    cache: &Path,
    progress: &SetupProgress,
    smoke: bool,
) -> Result<(PythonEnv, SetupReport), ToolchainError> {
    let lock = embedded_lock()?;
    let layout = CacheLayout::new(cache);
    let mut report = SetupReport::default();
    let _guard = layout.lock()?;
    layout.remove_stale_staging()?;

    let started = Instant::now();
    if let EnvState::Complete(env) = env_state(cache, &lock) {
        report.push(
            "python-env",
            StepOutcome::InPlace(format!(
                "Python {}, torch {}, {} wheels, at {}",
                env.record.python,
                env.record.torch_build,
                lock.wheels.len(),
                env.dir.display()
            )),
            started.elapsed(),
        );
        if smoke {
            let started = Instant::now();
            let scratch = layout.staging_dir("python-smoke");
            let step = progress.spinner("smoke check of the Python environment");
            let result = run_smoke(&env.python(), &scratch, &lock);
            drop(step);
            let _ = remove_tree(&scratch);
            report.push("py-smoke", smoke_outcome(&result?), started.elapsed());
        }
        return Ok((env, report));
    }

    let interpreter = find_interpreter(lock.python)?;
    report.push(
        "python",
        StepOutcome::Done(format!(
            "Python {} ({}, found as {})",
            interpreter.version,
            interpreter.executable.display(),
            interpreter.program
        )),
        started.elapsed(),
    );
    let staging = layout.staging_dir("python-env");
    let dest = env_dir(cache, &lock);
    let result = make(&lock, &interpreter, &staging, &dest, progress, &mut report);
    let _ = remove_tree(&staging);
    let record = result?;
    let started = Instant::now();
    // The marker and the record were written after the rest was made read-only.
    make_read_only(&dest, false)?;
    report.push(
        "python-env",
        StepOutcome::Done(format!("read-only, in place at {}", dest.display())),
        started.elapsed(),
    );
    Ok((PythonEnv { dir: dest, record }, report))
}

fn smoke_outcome(record: &SmokeRecord) -> StepOutcome {
    StepOutcome::Done(format!(
        "imported {} packages, trained a tiny conv net one step (loss {}), wrote .xlsx and .png: {}",
        record.packages.len(),
        record.loss,
        record.summary()
    ))
}

/// Fills `staging/env` and renames it to `dest` with its marker.
fn make(
    lock: &PythonLock,
    interpreter: &super::interpreter::Interpreter,
    staging: &Path,
    dest: &Path,
    progress: &SetupProgress,
    report: &mut SetupReport,
) -> Result<SmokeRecord, ToolchainError> {
    let wheels = staging.join("wheels");
    let tmp = staging.join("pip-tmp");
    for dir in [&wheels, &tmp] {
        std::fs::create_dir_all(dir).map_err(ToolchainError::io("create", dir))?;
    }
    let lock_file = staging.join(LOCK_FILE);
    std::fs::write(&lock_file, LOCK_TEXT).map_err(ToolchainError::io("write", &lock_file))?;
    let count = lock.wheels.len();

    install_dir(&staging.join("env"), dest, &marker_text(lock), |env| {
        let started = Instant::now();
        let step = progress.spinner(&format!(
            "creating a virtual environment with Python {}",
            interpreter.version
        ));
        create_venv(interpreter, env)?;
        drop(step);
        report.push(
            "py-venv",
            StepOutcome::Done(format!(
                "python -m venv with Python {}",
                interpreter.version
            )),
            started.elapsed(),
        );

        let started = Instant::now();
        let step = progress.bytes(
            &format!("downloading {count} pinned Python wheels"),
            lock.total_bytes(),
        );
        let handle = step.handle();
        watching_size(
            &[wheels.clone(), tmp.clone()],
            Duration::from_millis(500),
            move |bytes| handle.set_position(bytes),
            || download(env, &lock_file, &wheels, &tmp),
        )?;
        drop(step);
        report.push(
            "py-fetch",
            StepOutcome::Done(format!(
                "downloaded {} ({count} wheels) with `pip download --require-hashes --no-deps`",
                human_bytes(lock.total_bytes())
            )),
            started.elapsed(),
        );

        let started = Instant::now();
        let step = progress.spinner("verifying the Python wheels' SHA-256");
        verify(lock, &wheels)?;
        drop(step);
        report.push(
            "py-verify",
            StepOutcome::Done("checked each wheel's file name, size and SHA-256".to_string()),
            started.elapsed(),
        );

        let started = Instant::now();
        let message = format!("installing {count} Python wheels");
        let step = progress.spinner(&message);
        let handle = step.handle();
        watching_size(
            &[env.to_path_buf()],
            Duration::from_secs(2),
            move |bytes| handle.set_message(format!("{message} ({} written)", human_bytes(bytes))),
            || install(env, &lock_file, &wheels, &tmp),
        )?;
        drop(step);
        // The wheels are in the environment now; their 2 GB need not wait for the smoke check.
        remove_tree(&wheels)?;
        relocate(env, dest)?;
        let kept = env.join(LOCK_FILE);
        std::fs::write(&kept, LOCK_TEXT).map_err(ToolchainError::io("write", &kept))?;
        make_read_only(env, true)?;
        report.push(
            "py-install",
            StepOutcome::Done(format!(
                "`pip install --require-hashes --no-deps` of the {count} wheels, from those files only; made read-only"
            )),
            started.elapsed(),
        );

        let started = Instant::now();
        let step = progress.spinner("smoke check of the Python environment");
        let record = run_smoke(&env_python(env), &staging.join("smoke"), lock)?;
        drop(step);
        let path = env.join(RECORD_FILE);
        std::fs::write(&path, &record.text).map_err(ToolchainError::io("write", &path))?;
        report.push("py-smoke", smoke_outcome(&record), started.elapsed());
        Ok(record)
    })
}

/// Makes a folder that looks like a complete environment of the embedded lock, with this
/// record and no interpreter (for tests of what reads it).
#[cfg(test)]
pub(crate) fn fake_complete_env(cache: &Path, record: &str) -> PathBuf {
    let lock = embedded_lock().unwrap();
    let dir = env_dir(cache, &lock);
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::write(dir.join(RECORD_FILE), record).unwrap();
    super::super::install::write_marker(&dir, &marker_text(&lock)).unwrap();
    dir
}

/// A record as the smoke check prints it.
#[cfg(test)]
pub(crate) const FAKE_RECORD: &str = "python 3.11.7\nbase-prefix /opt/python\n\
    package torch 2.11.0\ntorch-build 2.11.0+cu130 cuda 13.0\ntrain-step loss 0.7\n\
    xlsx 1\npng 1\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_and_marker_are_the_locks() {
        let lock = embedded_lock().unwrap();
        let dir = env_dir(Path::new("/c"), &lock);
        assert_eq!(dir, Path::new("/c").join(lock.dir_name()));
        assert!(marker_text(&lock).contains(&lock.sha256));
    }

    #[test]
    fn states_follow_the_marker_and_the_record() {
        let cache = tempfile::tempdir().unwrap();
        let lock = embedded_lock().unwrap();
        let dir = env_dir(cache.path(), &lock);
        assert!(matches!(
            env_state(cache.path(), &lock),
            EnvState::Missing(_)
        ));

        std::fs::create_dir_all(dir.join("bin")).unwrap();
        assert!(matches!(
            env_state(cache.path(), &lock),
            EnvState::Incomplete(_)
        ));

        super::super::super::install::write_marker(&dir, &marker_text(&lock)).unwrap();
        // Marked, but without a readable record: not trusted.
        assert!(matches!(
            env_state(cache.path(), &lock),
            EnvState::Incomplete(_)
        ));

        assert_eq!(fake_complete_env(cache.path(), FAKE_RECORD), dir);
        match env_state(cache.path(), &lock) {
            EnvState::Complete(env) => {
                assert_eq!(env.record.python, "3.11.7");
                assert_eq!(env.python(), dir.join("bin/python"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn environments_of_other_locks_are_listed() {
        let cache = tempfile::tempdir().unwrap();
        let lock = embedded_lock().unwrap();
        std::fs::create_dir_all(env_dir(cache.path(), &lock)).unwrap();
        std::fs::create_dir_all(cache.path().join("python-env-000000000000")).unwrap();
        std::fs::create_dir_all(cache.path().join("libtorch-2.11.0")).unwrap();
        assert_eq!(
            other_envs(cache.path(), &lock),
            [cache.path().join("python-env-000000000000")]
        );
    }
}
