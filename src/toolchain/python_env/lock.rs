//! The Python environment's lock (`python-env.lock`, embedded): every wheel pinned by file
//! name, size and SHA-256 in pip's `--require-hashes` format, parsed and checked here. Pure.
//!
//! The format, as `scripts/python-env-lock.sh` writes it and pip reads it:
//!
//! ```text
//! # python: 3.11
//!
//! # torch-2.11.0-cp311-cp311-manylinux_2_28_x86_64.whl (530604548 bytes)
//! torch==2.11.0 \
//!     --hash=sha256:7aa2f9bb...
//! ```
//!
//! Every requirement is an exact `==` pin with one SHA-256, preceded by a comment naming the
//! one file it stands for and its size; the `python:` comment names the CPython minor version
//! the wheels are built for. Other comments are free text.

use std::fmt;

/// The lock the harness provisions.
pub const LOCK_TEXT: &str = include_str!("python-env.lock");

/// Its file name, in the staging folder (for pip) and in the environment (for provenance).
pub const LOCK_FILE: &str = "python-env.lock";

/// The newest glibc a locked wheel may require: that of the torch wheel, so the environment
/// runs wherever the tch target's libtorch does.
pub const GLIBC_FLOOR_MINOR: u32 = 28;

/// A `major.minor` Python version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PythonVersion {
    pub major: u32,
    pub minor: u32,
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl PythonVersion {
    /// `3.11` (more parts, as in `3.11.7`, are not a `major.minor` pair and are refused).
    pub fn parse(text: &str) -> Option<PythonVersion> {
        let (major, minor) = text.trim().split_once('.')?;
        let number = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        Some(PythonVersion {
            major: number(major)?,
            minor: number(minor)?,
        })
    }
}

/// One pinned wheel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedWheel {
    /// The name as the lock writes it (normalised: lowercase, `-` between words).
    pub name: String,
    pub version: String,
    pub file: String,
    pub size: u64,
    pub sha256: String,
}

/// The whole lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonLock {
    pub python: PythonVersion,
    pub wheels: Vec<LockedWheel>,
    /// SHA-256 of the lock's text: it names the environment's folder and its marker.
    pub sha256: String,
}

/// What is wrong with a lock, and on which line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockError {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl PythonLock {
    /// Parses and checks a lock: exact pins, one SHA-256 each, each wheel's file named after
    /// its package and version and installable on CPython `python:` under Linux x86_64 with
    /// glibc 2.28 (`GLIBC_FLOOR_MINOR`) or newer, no package twice.
    pub fn parse(text: &str) -> Result<PythonLock, LockError> {
        let mut python = None;
        let mut wheels: Vec<LockedWheel> = Vec::new();
        let mut pending: Option<(usize, String, u64)> = None;
        for (line, logical) in logical_lines(text)? {
            let err = |reason: String| LockError { line, reason };
            let trimmed = logical.trim();
            if trimmed.is_empty() {
                continue;
            }
            if let Some(comment) = trimmed.strip_prefix('#') {
                let comment = comment.trim();
                if let Some(version) = comment.strip_prefix("python:") {
                    if python.is_some() {
                        return Err(err("a second `# python:` line".into()));
                    }
                    python = Some(PythonVersion::parse(version).ok_or_else(|| {
                        err(format!(
                            "`{}` is not a Python version such as 3.11",
                            version.trim()
                        ))
                    })?);
                } else if let Some((file, size)) = file_comment(comment) {
                    if let Some((earlier, file, _)) = &pending {
                        return Err(err(format!(
                            "the file {file} (line {earlier}) has no requirement below it"
                        )));
                    }
                    let size =
                        size.ok_or_else(|| err(format!("{file}: the size is not a number")))?;
                    pending = Some((line, file, size));
                }
                continue;
            }
            let (pin, sha256) = requirement(trimmed).map_err(err)?;
            let (name, version) = pin;
            let (_, file, size) = pending.take().ok_or_else(|| {
                err(format!(
                    "{name}=={version} has no `# FILE.whl (N bytes)` line above it"
                ))
            })?;
            let python = python
                .ok_or_else(|| err("no `# python: X.Y` line before the first wheel".into()))?;
            check_file(&file, &name, &version, python).map_err(err)?;
            if size == 0 {
                return Err(err(format!("{file}: a size of 0 bytes")));
            }
            if wheels.iter().any(|w| w.name == normalise(&name)) {
                return Err(err(format!("{name} is pinned twice")));
            }
            wheels.push(LockedWheel {
                name: normalise(&name),
                version,
                file,
                size,
                sha256,
            });
        }
        let last = text.lines().count().max(1);
        if let Some((line, file, _)) = pending {
            return Err(LockError {
                line,
                reason: format!("the file {file} has no requirement below it"),
            });
        }
        let python = python.ok_or(LockError {
            line: last,
            reason: "no `# python: X.Y` line".into(),
        })?;
        if wheels.is_empty() {
            return Err(LockError {
                line: last,
                reason: "no wheels".into(),
            });
        }
        Ok(PythonLock {
            python,
            wheels,
            sha256: crate::hashing::sha256_hex(text.as_bytes()),
        })
    }

    /// The folder the environment of this lock lives in, inside the cache.
    pub fn dir_name(&self) -> String {
        format!("python-env-{}", &self.sha256[..12])
    }

    /// What pip downloads, in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.wheels.iter().map(|w| w.size).sum()
    }

    /// The pin of a package, by any spelling of its name.
    pub fn wheel(&self, name: &str) -> Option<&LockedWheel> {
        let name = normalise(name);
        self.wheels.iter().find(|w| w.name == name)
    }
}

/// A package name as PEP 503 compares them: lowercase, runs of `-`, `_` and `.` as one `-`.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
            continue;
        }
        if separator && !out.is_empty() {
            out.push('-');
        }
        separator = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The lines as pip reads them: a line ending in `\` continues on the next. Each comes with
/// the number of its first physical line.
fn logical_lines(text: &str) -> Result<Vec<(usize, String)>, LockError> {
    let mut lines = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let (start, mut joined) = current.take().unwrap_or((index + 1, String::new()));
        match raw.strip_suffix('\\') {
            Some(head) => {
                joined.push_str(head);
                joined.push(' ');
                current = Some((start, joined));
            }
            None => {
                joined.push_str(raw);
                lines.push((start, joined));
            }
        }
    }
    if let Some((line, _)) = current {
        return Err(LockError {
            line,
            reason: "the last line ends in `\\` with nothing after it".into(),
        });
    }
    Ok(lines)
}

/// `FILE (N bytes)`: the file and its size (`None` when N is not a number).
fn file_comment(comment: &str) -> Option<(String, Option<u64>)> {
    let (file, rest) = comment.split_once(' ')?;
    let size = rest.trim().strip_prefix('(')?.strip_suffix(" bytes)")?;
    Some((file.to_string(), size.parse().ok()))
}

/// `name==version --hash=sha256:HEX`, and nothing else.
fn requirement(line: &str) -> Result<((String, String), String), String> {
    let mut words = line.split_whitespace();
    let pin = words.next().unwrap_or_default();
    let (name, version) = pin
        .split_once("==")
        .ok_or_else(|| format!("`{pin}` is not an exact pin (name==version)"))?;
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let version_ok = !version.is_empty()
        && !version.starts_with('=')
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'!' | b'-' | b'_'));
    if !name_ok || !version_ok {
        return Err(format!("`{pin}` is not an exact pin (name==version)"));
    }
    let hashes: Vec<&str> = words.collect();
    let [hash] = hashes.as_slice() else {
        return Err(format!(
            "{pin} needs exactly one `--hash=sha256:...` and nothing else, found {:?}",
            hashes
        ));
    };
    let hex = hash
        .strip_prefix("--hash=sha256:")
        .ok_or_else(|| format!("{pin}: `{hash}` is not a `--hash=sha256:...`"))?;
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!("{pin}: `{hex}` is not a SHA-256 in lowercase hex"));
    }
    Ok(((name.to_string(), version.to_string()), hex.to_string()))
}

/// The file is a wheel of this package and version that CPython `python` on Linux x86_64
/// with glibc 2.[`GLIBC_FLOOR_MINOR`] can install.
pub fn check_file(
    file: &str,
    name: &str,
    version: &str,
    python: PythonVersion,
) -> Result<(), String> {
    let stem = file
        .strip_suffix(".whl")
        .ok_or_else(|| format!("{file} is not a wheel"))?;
    let parts: Vec<&str> = stem.split('-').collect();
    let (distribution, file_version, python_tags, abi_tags, platform_tags) = match parts.as_slice()
    {
        [d, v, p, a, pl] | [d, v, _, p, a, pl] => (*d, *v, *p, *a, *pl),
        _ => return Err(format!("{file} is not a wheel file name")),
    };
    if normalise(distribution) != normalise(name) || file_version != version {
        return Err(format!("{file} is not the wheel of {name}=={version}"));
    }
    let cp = format!("cp{}{}", python.major, python.minor);
    let py_major = format!("py{}", python.major);
    let py_minor = format!("py{}{}", python.major, python.minor);
    let interpreter_ok = python_tags
        .split('.')
        .any(|tag| tag == cp || tag == py_major || tag == py_minor);
    let abi_ok = abi_tags
        .split('.')
        .any(|tag| tag == cp || tag == "abi3" || tag == "none");
    let platform_ok = platform_tags.split('.').any(platform_fits);
    if !interpreter_ok || !abi_ok {
        return Err(format!("{file} is not built for CPython {python}"));
    }
    if !platform_ok {
        return Err(format!(
            "{file} does not run on Linux x86_64 with glibc 2.{GLIBC_FLOOR_MINOR}"
        ));
    }
    Ok(())
}

/// Whether a platform tag runs on Linux x86_64 with glibc 2.[`GLIBC_FLOOR_MINOR`].
fn platform_fits(tag: &str) -> bool {
    match tag {
        "any" | "manylinux1_x86_64" | "manylinux2010_x86_64" | "manylinux2014_x86_64" => true,
        _ => tag
            .strip_prefix("manylinux_2_")
            .and_then(|rest| rest.strip_suffix("_x86_64"))
            .and_then(|minor| minor.parse::<u32>().ok())
            .is_some_and(|minor| minor <= GLIBC_FLOOR_MINOR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH_A: &str = "7aa2f9bbc6d4595ba72138026b2074be1233186150e9292865e04b7a63b8c67a";
    const HASH_B: &str = "c293e525e6fef9c20e8728fd4612df02a0aa31bb5fe91ecd93e123b1b7bffa73";

    fn small_lock() -> String {
        format!(
            "# a header\n# python: 3.11\n\n\
             # torch-2.11.0-cp311-cp311-manylinux_2_28_x86_64.whl (530604548 bytes)\n\
             torch==2.11.0 \\\n    --hash=sha256:{HASH_A}\n\n\
             # tqdm-4.70.1-py3-none-any.whl (78000 bytes)\n\
             tqdm==4.70.1 \\\n    --hash=sha256:{HASH_B}\n"
        )
    }

    fn error_of(text: &str) -> LockError {
        PythonLock::parse(text).unwrap_err()
    }

    #[test]
    fn a_lock_parses_into_its_wheels_and_python() {
        let text = small_lock();
        let lock = PythonLock::parse(&text).unwrap();
        assert_eq!(
            lock.python,
            PythonVersion {
                major: 3,
                minor: 11
            }
        );
        assert_eq!(lock.wheels.len(), 2);
        assert_eq!(
            lock.wheels[0],
            LockedWheel {
                name: "torch".into(),
                version: "2.11.0".into(),
                file: "torch-2.11.0-cp311-cp311-manylinux_2_28_x86_64.whl".into(),
                size: 530_604_548,
                sha256: HASH_A.into(),
            }
        );
        assert_eq!(lock.total_bytes(), 530_604_548 + 78_000);
        assert_eq!(lock.wheel("TQDM").unwrap().version, "4.70.1");
        assert_eq!(lock.sha256, crate::hashing::sha256_hex(text.as_bytes()));
        assert_eq!(
            lock.dir_name(),
            format!("python-env-{}", &lock.sha256[..12])
        );
    }

    #[test]
    fn another_text_names_another_folder() {
        let a = PythonLock::parse(&small_lock()).unwrap();
        let b = PythonLock::parse(&small_lock().replace("# a header", "# another")).unwrap();
        assert_ne!(a.dir_name(), b.dir_name());
    }

    #[test]
    fn malformed_requirements_are_refused_with_their_line() {
        let loose = small_lock().replace("torch==2.11.0", "torch>=2.11.0");
        let err = error_of(&loose);
        assert_eq!(err.line, 5);
        assert!(err.reason.contains("not an exact pin"), "{err}");

        let no_hash = small_lock().replace(&format!(" \\\n    --hash=sha256:{HASH_B}"), "");
        assert!(
            error_of(&no_hash).reason.contains("exactly one"),
            "{}",
            error_of(&no_hash)
        );

        let two = small_lock().replace(
            &format!("--hash=sha256:{HASH_B}"),
            &format!("--hash=sha256:{HASH_B} --hash=sha256:{HASH_A}"),
        );
        assert!(error_of(&two).reason.contains("exactly one"));

        let md5 = small_lock().replace(&format!("sha256:{HASH_B}"), "md5:00");
        assert!(error_of(&md5).reason.contains("not a `--hash=sha256"));

        let upper = small_lock().replace(HASH_B, &HASH_B.to_uppercase());
        assert!(error_of(&upper).reason.contains("lowercase hex"));

        let marker = small_lock().replace("tqdm==4.70.1", "tqdm==4.70.1;python_version>'3'");
        assert!(error_of(&marker).reason.contains("not an exact pin"));
    }

    #[test]
    fn each_requirement_needs_its_file_line_and_each_file_line_a_requirement() {
        let orphan = small_lock().replace("# tqdm-4.70.1-py3-none-any.whl (78000 bytes)\n", "");
        let err = error_of(&orphan);
        assert_eq!(err.line, 8);
        assert!(err.reason.contains("has no `# FILE.whl"), "{err}");

        let dangling = format!("{}# extra-1.0-py3-none-any.whl (5 bytes)\n", small_lock());
        assert!(error_of(&dangling)
            .reason
            .contains("has no requirement below it"));

        let bad_size = small_lock().replace("(78000 bytes)", "(78k bytes)");
        assert!(error_of(&bad_size).reason.contains("size is not a number"));

        let zero = small_lock().replace("(78000 bytes)", "(0 bytes)");
        assert!(error_of(&zero).reason.contains("0 bytes"));
    }

    #[test]
    fn the_file_must_be_the_packages_wheel_for_this_python_and_platform() {
        let cases = [
            (
                "tqdm-4.70.0-py3-none-any.whl",
                "is not the wheel of tqdm==4.70.1",
            ),
            (
                "rich-4.70.1-py3-none-any.whl",
                "is not the wheel of tqdm==4.70.1",
            ),
            ("tqdm-4.70.1.tar.gz", "is not a wheel"),
            (
                "tqdm-4.70.1-cp312-cp312-manylinux_2_17_x86_64.whl",
                "not built for CPython 3.11",
            ),
            (
                "tqdm-4.70.1-cp311-cp311-manylinux_2_34_x86_64.whl",
                "glibc 2.28",
            ),
            (
                "tqdm-4.70.1-cp311-cp311-musllinux_1_2_x86_64.whl",
                "glibc 2.28",
            ),
            (
                "tqdm-4.70.1-cp311-cp311-manylinux_2_17_aarch64.whl",
                "glibc 2.28",
            ),
            ("tqdm-4.70.1-py3-none-win_amd64.whl", "glibc 2.28"),
        ];
        for (file, expected) in cases {
            let text = small_lock().replace("tqdm-4.70.1-py3-none-any.whl", file);
            let err = error_of(&text);
            assert!(err.reason.contains(expected), "{file}: {err}");
        }
    }

    #[test]
    fn compatible_tags_are_accepted() {
        let py311 = PythonVersion {
            major: 3,
            minor: 11,
        };
        for (file, name) in [
            ("Jinja2-3.1.6-py3-none-any.whl", "jinja2"),
            (
                "scikit_learn-1.9.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
                "scikit-learn",
            ),
            (
                "nvidia_nvtx-13.0.85-py3-none-manylinux1_x86_64.manylinux_2_5_x86_64.whl",
                "nvidia-nvtx",
            ),
            ("et_xmlfile-2.0.0-py2.py3-none-any.whl", "et-xmlfile"),
            ("pkg-2.0.0-1-cp311-abi3-manylinux2014_x86_64.whl", "pkg"),
            (
                "pkg-2.0.0-cp311-cp311-manylinux_2_39_x86_64.manylinux_2_17_x86_64.whl",
                "pkg",
            ),
        ] {
            let version = file.split('-').nth(1).unwrap();
            check_file(file, name, version, py311).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    #[test]
    fn the_python_line_is_needed_once_and_well_formed() {
        let none = small_lock().replace("# python: 3.11\n", "");
        assert!(error_of(&none).reason.contains("no `# python: X.Y` line"));
        let twice = small_lock().replace("# python: 3.11\n", "# python: 3.11\n# python: 3.11\n");
        assert!(error_of(&twice).reason.contains("second"));
        let patch = small_lock().replace("# python: 3.11", "# python: 3.11.7");
        assert!(error_of(&patch).reason.contains("not a Python version"));
        let other = small_lock().replace("# python: 3.11", "# python: 3.12");
        assert!(error_of(&other)
            .reason
            .contains("not built for CPython 3.12"));
    }

    #[test]
    fn twice_the_same_package_and_a_cut_continuation_are_refused() {
        let twice = format!(
            "{}\n# Tqdm-4.70.1-py3-none-any.whl (78000 bytes)\nTqdm==4.70.1 --hash=sha256:{HASH_B}\n",
            small_lock()
        );
        assert!(error_of(&twice).reason.contains("pinned twice"));
        let cut = format!("{}# x-1-py3-none-any.whl (1 bytes)\nx==1 \\", small_lock());
        assert!(error_of(&cut).reason.contains("ends in `\\`"));
        let empty = "# python: 3.11\n";
        assert!(error_of(empty).reason.contains("no wheels"));
    }

    #[test]
    fn names_are_normalised_as_pip_compares_them() {
        assert_eq!(normalise("Jinja2"), "jinja2");
        assert_eq!(normalise("typing_extensions"), "typing-extensions");
        assert_eq!(normalise("zope.interface"), "zope-interface");
        assert_eq!(normalise("a__-b"), "a-b");
    }

    #[test]
    fn versions_parse_as_major_and_minor_only() {
        assert_eq!(
            PythonVersion::parse(" 3.11 "),
            Some(PythonVersion {
                major: 3,
                minor: 11
            })
        );
        assert_eq!(PythonVersion::parse("3.11.7"), None);
        assert_eq!(PythonVersion::parse("3"), None);
        assert_eq!(PythonVersion::parse("3.x"), None);
        assert_eq!(PythonVersion { major: 3, minor: 9 }.to_string(), "3.9");
    }

    /// The committed lock: well formed, the same torch wheel as the tch target's libtorch, and
    /// every package the study's programs import.
    #[test]
    fn the_embedded_lock_is_well_formed_and_complete() {
        let lock = PythonLock::parse(LOCK_TEXT).unwrap_or_else(|e| panic!("python-env.lock {e}"));
        assert_eq!(
            lock.python,
            PythonVersion {
                major: 3,
                minor: 11
            }
        );
        // libtorch's wheels are the environment's too: one download serves both targets' torch.
        for pinned in crate::toolchain::WHEELS {
            let name = pinned.requirement.split("==").next().unwrap();
            let locked = lock
                .wheel(name)
                .unwrap_or_else(|| panic!("{name} is not in the lock"));
            assert_eq!(
                (locked.file.as_str(), locked.sha256.as_str(), locked.size),
                (pinned.file, pinned.sha256, pinned.size)
            );
        }
        for name in [
            "torchvision",
            "numpy",
            "pandas",
            "matplotlib",
            "scikit-learn",
            "tqdm",
            "pillow",
            "torchinfo",
            "openpyxl",
            "nvidia-cudnn-cu13",
            "nvidia-cuda-runtime",
        ] {
            assert!(lock.wheel(name).is_some(), "{name} is not in the lock");
        }
        for left_out in ["triton", "nvidia-cusolver", "cuda-toolkit"] {
            assert!(lock.wheel(left_out).is_none(), "{left_out} is in the lock");
        }
        let header = LOCK_TEXT.lines().find(|l| l.ends_with(" bytes.")).unwrap();
        assert_eq!(
            header,
            format!(
                "# {} wheels, {} bytes.",
                lock.wheels.len(),
                lock.total_bytes()
            )
        );
    }
}
