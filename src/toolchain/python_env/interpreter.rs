//! The Python the environment is made from: the first interpreter on `PATH` of the minor
//! version the lock's wheels are built for (`python3.11`, then `python3`, then `python`).

use std::path::PathBuf;
use std::time::Duration;

use crate::exec::{run_process, ProcessSpec};

use super::super::error::ToolchainError;
use super::super::python::PIP_ENV;
use super::lock::PythonVersion;

/// A Python interpreter of the version the lock needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    /// The name it was found by on `PATH`.
    pub program: String,
    /// The full version, `3.11.7`.
    pub version: String,
    /// The interpreter itself (`sys.executable`), not a shim in front of it.
    pub executable: PathBuf,
}

/// What one candidate turned out to be, for the message when none fits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Found(Interpreter),
    Absent(String),
}

/// Asks for the version and the executable; `-I` so no `PYTHON*` variable or user site
/// changes the answer.
const QUERY: &str = "import sys; print('%d.%d.%d' % sys.version_info[:3]); print(sys.executable)";

/// The names tried, in order: the exact minor version first, then the generic names.
pub fn candidates(needed: PythonVersion) -> Vec<String> {
    vec![
        format!("python{needed}"),
        "python3".to_string(),
        "python".to_string(),
    ]
}

/// Runs one candidate's version query.
pub fn probe(program: &str) -> Probe {
    let spec = ProcessSpec::new(program, std::env::temp_dir())
        .arg("-I")
        .arg("-c")
        .arg(QUERY)
        // pyenv's shims choose the interpreter from these.
        .inherit(PIP_ENV)
        .timeout(Duration::from_secs(60));
    match run_process(&spec) {
        Ok(output) if output.success() => {
            let mut lines = output.stdout.lines();
            match (lines.next(), lines.next()) {
                (Some(version), Some(executable)) if !executable.trim().is_empty() => {
                    Probe::Found(Interpreter {
                        program: program.to_string(),
                        version: version.trim().to_string(),
                        executable: PathBuf::from(executable.trim()),
                    })
                }
                _ => Probe::Absent(format!("{program}: an answer without a version")),
            }
        }
        Ok(_) => Probe::Absent(format!("{program}: fails to start")),
        Err(_) => Probe::Absent(format!("{program}: not found")),
    }
}

/// The first candidate of the needed version; otherwise an error naming every candidate and
/// what it was, and what to install.
pub fn find_interpreter(needed: PythonVersion) -> Result<Interpreter, ToolchainError> {
    choose(needed, candidates(needed).iter().map(|p| probe(p)))
}

/// The choice among probed candidates (pure, for tests).
pub fn choose(
    needed: PythonVersion,
    probes: impl IntoIterator<Item = Probe>,
) -> Result<Interpreter, ToolchainError> {
    let mut seen = Vec::new();
    for probe in probes {
        match probe {
            Probe::Found(interpreter) => {
                if check_version(&interpreter.version, needed).is_ok() {
                    return Ok(interpreter);
                }
                seen.push(format!(
                    "{}: Python {} ({})",
                    interpreter.program,
                    interpreter.version,
                    interpreter.executable.display()
                ));
            }
            Probe::Absent(text) => seen.push(text),
        }
    }
    Err(ToolchainError::WrongPython {
        needed: needed.to_string(),
        found: seen.join("; "),
    })
}

/// Whether a full version (`3.11.7`) is of the needed `major.minor`; the error says what was
/// found instead.
pub fn check_version(found: &str, needed: PythonVersion) -> Result<(), String> {
    let mut parts = found.trim().split('.');
    let number = |part: Option<&str>| part.and_then(|p| p.parse::<u32>().ok());
    match (number(parts.next()), number(parts.next())) {
        (Some(major), Some(minor)) if major == needed.major && minor == needed.minor => Ok(()),
        (Some(major), Some(minor)) => Err(format!("Python {major}.{minor}, not {needed}")),
        _ => Err(format!("`{found}` is not a Python version")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PY311: PythonVersion = PythonVersion {
        major: 3,
        minor: 11,
    };

    fn found(program: &str, version: &str) -> Probe {
        Probe::Found(Interpreter {
            program: program.into(),
            version: version.into(),
            executable: PathBuf::from(format!("/usr/bin/{program}")),
        })
    }

    #[test]
    fn the_minor_version_must_match_and_the_patch_level_is_free() {
        assert_eq!(check_version("3.11.7", PY311), Ok(()));
        assert_eq!(check_version("3.11.0rc1", PY311), Ok(()));
        assert_eq!(
            check_version("3.12.3", PY311),
            Err("Python 3.12, not 3.11".into())
        );
        assert_eq!(
            check_version("3.1.4", PY311),
            Err("Python 3.1, not 3.11".into())
        );
        assert_eq!(
            check_version("2.7.18", PY311),
            Err("Python 2.7, not 3.11".into())
        );
        assert!(check_version("", PY311)
            .unwrap_err()
            .contains("not a Python version"));
    }

    #[test]
    fn the_first_candidate_of_the_right_version_wins() {
        let chosen = choose(
            PY311,
            [
                Probe::Absent("python3.11: not found".into()),
                found("python3", "3.12.3"),
                found("python", "3.11.2"),
            ],
        )
        .unwrap();
        assert_eq!(chosen.program, "python");
        assert_eq!(chosen.version, "3.11.2");
    }

    #[test]
    fn without_the_right_version_the_error_names_what_was_found_and_what_to_install() {
        let err = choose(
            PY311,
            [
                Probe::Absent("python3.11: not found".into()),
                found("python3", "3.12.3"),
                Probe::Absent("python: not found".into()),
            ],
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("Python 3.11"), "{text}");
        assert!(
            text.contains("python3: Python 3.12.3 (/usr/bin/python3)"),
            "{text}"
        );
        assert!(text.contains("python3.11: not found"), "{text}");
        assert!(text.contains("python3.11-venv"), "{text}");
    }

    #[test]
    fn candidates_start_with_the_exact_version() {
        assert_eq!(candidates(PY311), ["python3.11", "python3", "python"]);
    }

    #[test]
    fn a_missing_program_is_reported_as_not_found() {
        assert_eq!(
            probe("harness-no-such-python-3"),
            Probe::Absent("harness-no-such-python-3: not found".into())
        );
    }
}
