//! The environment's smoke check (`smoke.py`: every package imported, one training step of a
//! tiny conv net, an .xlsx and a PNG written) and the record it prints, which the environment
//! keeps as `harness-smoke.txt` and `harness doctor` reads.

use std::path::Path;
use std::time::Duration;

use crate::exec::{run_process, ProcessSpec};

use super::super::command::run_checked;
use super::super::error::ToolchainError;
use super::lock::PythonLock;

/// The check's program, run with `python -I -B -c`.
pub const SMOKE_SCRIPT: &str = include_str!("smoke.py");

/// The record's file name inside the environment.
pub const RECORD_FILE: &str = "harness-smoke.txt";

/// What the smoke check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmokeRecord {
    /// The interpreter's full version, `3.11.7`.
    pub python: String,
    /// `sys.base_prefix`: the Python installation the environment's interpreter and standard
    /// library come from (a sandbox must show it, read-only).
    pub base_prefix: String,
    /// Each imported package's distribution name and version, in the script's order.
    pub packages: Vec<(String, String)>,
    /// `torch.__version__` (with its build suffix, `2.11.0+cu130`).
    pub torch_build: String,
    /// The training step's loss.
    pub loss: String,
    /// The whole record, as printed.
    pub text: String,
}

impl SmokeRecord {
    /// Reads the script's output; every line it must print has to be there.
    pub fn parse(text: &str) -> Result<SmokeRecord, String> {
        let mut python = None;
        let mut base_prefix = None;
        let mut packages = Vec::new();
        let mut torch_build = None;
        let mut loss = None;
        let mut files = 0;
        for line in text.lines() {
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            let value = value.trim();
            match key {
                "python" => python = Some(value.to_string()),
                "base-prefix" => base_prefix = Some(value.to_string()),
                "package" => {
                    let (name, version) = value
                        .split_once(' ')
                        .ok_or_else(|| format!("a package line without a version: `{line}`"))?;
                    packages.push((name.to_string(), version.trim().to_string()));
                }
                "torch-build" => {
                    torch_build = Some(value.split_whitespace().next().unwrap_or("").to_string())
                }
                "train-step" => loss = value.strip_prefix("loss ").map(str::to_string),
                "xlsx" | "png" => files += 1,
                _ => {}
            }
        }
        let missing = |what: &str| format!("the smoke check printed no {what} line");
        if files != 2 {
            return Err(missing("xlsx and png"));
        }
        Ok(SmokeRecord {
            python: python.ok_or_else(|| missing("python"))?,
            base_prefix: base_prefix.ok_or_else(|| missing("base-prefix"))?,
            torch_build: torch_build.ok_or_else(|| missing("torch-build"))?,
            loss: loss.ok_or_else(|| missing("train-step"))?,
            packages: if packages.is_empty() {
                return Err(missing("package"));
            } else {
                packages
            },
            text: text.to_string(),
        })
    }

    /// The version of a package, as imported.
    pub fn version(&self, name: &str) -> Option<&str> {
        self.packages
            .iter()
            .find(|(n, _)| super::lock::normalise(n) == super::lock::normalise(name))
            .map(|(_, v)| v.as_str())
    }

    /// Each imported package must be the locked version: the environment is the lock's.
    pub fn check_against(&self, lock: &PythonLock) -> Result<(), String> {
        for (name, version) in &self.packages {
            match lock.wheel(name) {
                Some(wheel) if &wheel.version == version => {}
                Some(wheel) => {
                    return Err(format!(
                        "{name} {version} was imported, but the lock pins {}",
                        wheel.version
                    ))
                }
                None => return Err(format!("{name} {version} was imported, but is not locked")),
            }
        }
        Ok(())
    }

    /// `torch 2.11.0+cu130, torchvision 0.26.0+cu130, numpy 2.4.6, ...`: one line for people.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!("Python {}", self.python)];
        for (name, version) in &self.packages {
            let version = if name == "torch" {
                &self.torch_build
            } else {
                version
            };
            parts.push(format!("{name} {version}"));
        }
        parts.join(", ")
    }
}

/// Runs the smoke check with `python` in the scratch folder `scratch` (its output files go
/// there; matplotlib's cache too). Nothing is written into the environment: `-B` keeps Python
/// from writing bytecode, `-I` from reading `PYTHON*` variables and the user's site folder.
pub fn run_smoke(
    python: &Path,
    scratch: &Path,
    lock: &PythonLock,
) -> Result<SmokeRecord, ToolchainError> {
    std::fs::create_dir_all(scratch).map_err(ToolchainError::io("create", scratch))?;
    let scratch_text = scratch.to_string_lossy().into_owned();
    let spec = ProcessSpec::new(python.as_os_str(), scratch)
        .arg("-I")
        .arg("-B")
        .arg("-c")
        .arg(SMOKE_SCRIPT)
        .arg(scratch)
        .env("MPLCONFIGDIR", &scratch_text)
        .env("TMPDIR", &scratch_text)
        .env("OMP_NUM_THREADS", "1")
        // A cold import of torch from a slow disk takes tens of seconds.
        .timeout(Duration::from_secs(600));
    let output = run_checked(&spec, "the Python environment's smoke check")?;
    let record = SmokeRecord::parse(&output.stdout)
        .and_then(|record| record.check_against(lock).map(|()| record))
        .map_err(|reason| ToolchainError::Smoke {
            reason: format!("{reason}; it printed:\n{}", output.stdout.trim_end()),
        })?;
    Ok(record)
}

/// The interpreter's version, asked quickly (no package imported): `3.11.7`.
pub fn interpreter_version(python: &Path) -> Result<String, String> {
    let spec = ProcessSpec::new(python.as_os_str(), std::env::temp_dir())
        .arg("-I")
        .arg("-B")
        .arg("-c")
        .arg("import sys; print('%d.%d.%d' % sys.version_info[:3])")
        .timeout(Duration::from_secs(60));
    match run_process(&spec) {
        Ok(output) if output.success() => Ok(output.stdout.trim().to_string()),
        Ok(output) => Err(format!(
            "{} fails to start: {}",
            python.display(),
            output.stderr.lines().last().unwrap_or("no output")
        )),
        Err(error) => Err(format!("{} does not run: {error}", python.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRINTED: &str = "python 3.11.7\n\
        base-prefix /opt/python/3.11.7\n\
        package torch 2.11.0\n\
        package tqdm 4.70.1\n\
        torch-build 2.11.0+cu130 cuda 13.0\n\
        train-step loss 0.7149\n\
        xlsx 4817\n\
        png 9000\n";

    fn lock(torch: &str) -> PythonLock {
        let text = format!(
            "# python: 3.11\n\
             # torch-{torch}-cp311-cp311-manylinux_2_28_x86_64.whl (5 bytes)\n\
             torch=={torch} --hash=sha256:{h}\n\
             # tqdm-4.70.1-py3-none-any.whl (5 bytes)\n\
             tqdm==4.70.1 --hash=sha256:{h}\n",
            h = "a".repeat(64)
        );
        PythonLock::parse(&text).unwrap()
    }

    #[test]
    fn the_record_is_read_back() {
        let record = SmokeRecord::parse(PRINTED).unwrap();
        assert_eq!(record.python, "3.11.7");
        assert_eq!(record.base_prefix, "/opt/python/3.11.7");
        assert_eq!(record.torch_build, "2.11.0+cu130");
        assert_eq!(record.loss, "0.7149");
        assert_eq!(record.version("TQDM"), Some("4.70.1"));
        assert_eq!(
            record.summary(),
            "Python 3.11.7, torch 2.11.0+cu130, tqdm 4.70.1"
        );
        assert_eq!(record.text, PRINTED);
    }

    #[test]
    fn a_record_without_a_required_line_is_refused() {
        for line in [
            "python ",
            "base-prefix ",
            "torch-build ",
            "train-step ",
            "xlsx ",
        ] {
            let cut: String = PRINTED
                .lines()
                .filter(|l| !l.starts_with(line))
                .map(|l| format!("{l}\n"))
                .collect();
            let err = SmokeRecord::parse(&cut).unwrap_err();
            assert!(err.contains("printed no"), "{line}: {err}");
        }
        let no_packages: String = PRINTED
            .lines()
            .filter(|l| !l.starts_with("package"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(SmokeRecord::parse(&no_packages).is_err());
    }

    #[test]
    fn imported_versions_must_be_the_locked_ones() {
        let record = SmokeRecord::parse(PRINTED).unwrap();
        assert_eq!(record.check_against(&lock("2.11.0")), Ok(()));
        let err = record.check_against(&lock("2.10.0")).unwrap_err();
        assert!(
            err.contains("torch 2.11.0 was imported, but the lock pins 2.10.0"),
            "{err}"
        );
        let extra = PRINTED.replace("package tqdm", "package rich 1.0\npackage tqdm");
        let err = SmokeRecord::parse(&extra)
            .unwrap()
            .check_against(&lock("2.11.0"))
            .unwrap_err();
        assert!(
            err.contains("rich 1.0 was imported, but is not locked"),
            "{err}"
        );
    }

    #[test]
    fn the_script_imports_every_package_the_target_allows() {
        for module in [
            "\"torch\"",
            "\"torchvision\"",
            "\"numpy\"",
            "\"pandas\"",
            "\"matplotlib\"",
            "\"sklearn\"",
            "\"tqdm\"",
            "\"PIL\"",
            "\"torchinfo\"",
            "\"openpyxl\"",
        ] {
            assert!(SMOKE_SCRIPT.contains(module), "{module}");
        }
    }
}
