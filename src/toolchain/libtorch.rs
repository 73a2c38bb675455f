//! libtorch: the harness's own copy, made from pinned PyPI wheels, or the user's (`LIBTORCH`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::disk::disk_usage;
use super::error::ToolchainError;
use super::install::{install_dir, state, Installed};
use super::python::Python;
use super::wheels::{self, total_download_bytes, WHEELS};
use crate::progress::SetupProgress;

/// The libtorch version `tch` 0.24.0 is written for; torch-sys refuses any other.
pub const LIBTORCH_VERSION: &str = "2.11.0";
/// The `tch` version of the allow-list, paired with [`LIBTORCH_VERSION`].
pub const TCH_VERSION: &str = "0.24.0";
/// The variable through which a user points at their own libtorch (torch-sys reads the same).
pub const LIBTORCH_ENV: &str = "LIBTORCH";

/// The files a libtorch folder must have for torch-sys to build against it.
const REQUIRED: &[&str] = &["lib/libtorch_cpu.so", "lib/libtorch.so", "lib/libc10.so"];

/// Where the libtorch in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LibtorchOrigin {
    /// Made by `harness setup` from the pinned wheels, in the cache.
    Harness,
    /// The user's, named by the `LIBTORCH` variable.
    UserEnv,
}

/// A usable libtorch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Libtorch {
    pub dir: PathBuf,
    /// As the folder states it (`2.11.0`, or `2.11.0+cu130` from a `build-version` file).
    pub version: String,
    pub origin: LibtorchOrigin,
}

impl Libtorch {
    /// Whether the folder carries CUDA kernels (a user's CUDA build; the harness's is CPU).
    pub fn has_cuda(&self) -> bool {
        self.dir.join("lib/libtorch_cuda.so").exists()
    }

    /// One line for people: which libtorch, where from.
    pub fn describe(&self) -> String {
        let kind = if self.has_cuda() { "CUDA" } else { "CPU" };
        match self.origin {
            LibtorchOrigin::Harness => format!(
                "libtorch {} ({kind}), the harness's own, at {}",
                self.version,
                self.dir.display()
            ),
            LibtorchOrigin::UserEnv => format!(
                "libtorch {} ({kind}), yours from {LIBTORCH_ENV}={}",
                self.version,
                self.dir.display()
            ),
        }
    }
}

/// The version a libtorch folder states: its `build-version` file (official libtorch
/// archives), else the version header (`torch/headeronly/version.h` since 2.9, the C++ API's
/// `torch/version.h` before).
pub fn read_version(dir: &Path) -> Option<String> {
    if let Ok(text) = std::fs::read_to_string(dir.join("build-version")) {
        let version = text.trim();
        if !version.is_empty() {
            return Some(version.to_string());
        }
    }
    [
        "include/torch/headeronly/version.h",
        "include/torch/csrc/api/include/torch/version.h",
    ]
    .iter()
    .find_map(|header| {
        let text = std::fs::read_to_string(dir.join(header)).ok()?;
        version_from_header(&text)
    })
}

fn version_from_header(text: &str) -> Option<String> {
    let define = |name: &str| {
        text.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("#define") && words.next() == Some(name))
                .then(|| words.next())
                .flatten()
                .filter(|value| value.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_string)
        })
    };
    Some(format!(
        "{}.{}.{}",
        define("TORCH_VERSION_MAJOR")?,
        define("TORCH_VERSION_MINOR")?,
        define("TORCH_VERSION_PATCH")?
    ))
}

/// Checks a user's `LIBTORCH` folder: the libraries and headers are there, and it is
/// libtorch [`LIBTORCH_VERSION`] (a local suffix such as `+cu130` is fine).
pub fn user_libtorch(path: &Path) -> Result<Libtorch, ToolchainError> {
    let bad = |reason: String| ToolchainError::BadLibtorch {
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_absolute() {
        return Err(bad(
            "the path is relative; torch-sys needs an absolute one".to_string()
        ));
    }
    if !path.is_dir() {
        return Err(bad("no such folder".to_string()));
    }
    if path.to_str().is_none() {
        return Err(bad("the path is not valid UTF-8".to_string()));
    }
    for required in REQUIRED {
        if !path.join(required).is_file() {
            return Err(bad(format!("it has no {required}")));
        }
    }
    if !path.join("include").is_dir() {
        return Err(bad("it has no include/ folder".to_string()));
    }
    let version = read_version(path).ok_or_else(|| {
        bad("its version is unknown: no build-version file and no torch version header".into())
    })?;
    let plain = version.split('+').next().unwrap_or_default();
    if plain != LIBTORCH_VERSION {
        return Err(ToolchainError::WrongLibtorchVersion {
            path: path.to_path_buf(),
            found: version,
            needed: LIBTORCH_VERSION,
            tch: TCH_VERSION,
        });
    }
    Ok(Libtorch {
        dir: path.to_path_buf(),
        version,
        origin: LibtorchOrigin::UserEnv,
    })
}

/// The marker of a complete install: the version and every wheel it was made from.
pub fn marker_text() -> String {
    let mut text = format!("libtorch {LIBTORCH_VERSION}\n");
    for wheel in WHEELS {
        text.push_str(&format!("{} sha256:{}\n", wheel.file, wheel.sha256));
    }
    text
}

/// The harness's own libtorch, if completely installed.
pub fn installed(dir: &Path) -> Option<Libtorch> {
    (state(dir, &marker_text()) == Installed::Complete).then(|| Libtorch {
        dir: dir.to_path_buf(),
        version: LIBTORCH_VERSION.to_string(),
        origin: LibtorchOrigin::Harness,
    })
}

/// How long each phase of an install took.
#[derive(Debug, Clone, Default)]
pub struct LibtorchInstall {
    pub download: Duration,
    pub verify: Duration,
    pub extract: Duration,
    pub downloaded_bytes: u64,
}

/// Downloads the pinned wheels, verifies them, and unpacks libtorch into `dest` atomically.
/// Everything temporary lives in `staging` (inside the cache) and is removed afterwards.
pub fn install(
    python: &Python,
    staging: &Path,
    dest: &Path,
    progress: &SetupProgress,
) -> Result<(Libtorch, LibtorchInstall), ToolchainError> {
    let result = install_in(python, staging, dest, progress);
    let _ = std::fs::remove_dir_all(staging);
    result
}

fn install_in(
    python: &Python,
    staging: &Path,
    dest: &Path,
    progress: &SetupProgress,
) -> Result<(Libtorch, LibtorchInstall), ToolchainError> {
    let mut timings = LibtorchInstall::default();
    let wheels_dir = staging.join("wheels");
    let pip_tmp = staging.join("pip-tmp");
    for dir in [&wheels_dir, &pip_tmp] {
        std::fs::create_dir_all(dir).map_err(ToolchainError::io("create", dir))?;
    }

    let started = Instant::now();
    let step = progress.bytes(
        &format!("downloading libtorch {LIBTORCH_VERSION} wheels"),
        total_download_bytes(),
    );
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| -> Result<(), ToolchainError> {
        let handle = step.handle();
        let watched = staging.to_path_buf();
        let done = &done;
        // pip writes into its temporary folder, then into the destination: watch both.
        scope.spawn(move || {
            while !done.load(Ordering::Relaxed) {
                handle.set_position(disk_usage(&watched));
                std::thread::sleep(Duration::from_millis(250));
            }
        });
        let result = WHEELS
            .iter()
            .try_for_each(|wheel| python.download(wheel, &wheels_dir, &pip_tmp).map(drop));
        done.store(true, Ordering::Relaxed);
        result
    })?;
    drop(step);
    timings.download = started.elapsed();

    let started = Instant::now();
    let step = progress.spinner("verifying the wheels' SHA-256");
    for wheel in WHEELS {
        wheels::verify(&wheels_dir.join(wheel.file), wheel)?;
        timings.downloaded_bytes += wheel.size;
    }
    drop(step);
    timings.verify = started.elapsed();

    let started = Instant::now();
    let step = progress.spinner("unpacking libtorch");
    install_dir(&staging.join("libtorch"), dest, &marker_text(), |folder| {
        for wheel in WHEELS {
            step.set_message(format!("unpacking {}", wheel.file));
            wheels::extract(&wheels_dir.join(wheel.file), wheel, folder)?;
        }
        // Official libtorch archives carry this file; torch-sys checks the version in it.
        let version_file = folder.join("build-version");
        std::fs::write(&version_file, format!("{LIBTORCH_VERSION}\n"))
            .map_err(ToolchainError::io("write", &version_file))
    })?;
    drop(step);
    timings.extract = started.elapsed();

    let libtorch = installed(dest).ok_or_else(|| ToolchainError::Smoke {
        reason: format!("{} is not complete right after its install", dest.display()),
    })?;
    Ok((libtorch, timings))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder shaped like libtorch, with the given version header and build-version.
    fn fake_libtorch(dir: &Path, header: Option<(u32, u32, u32)>, build_version: Option<&str>) {
        std::fs::create_dir_all(dir.join("lib")).unwrap();
        std::fs::create_dir_all(dir.join("include/torch/headeronly")).unwrap();
        for lib in REQUIRED {
            std::fs::write(dir.join(lib), "elf").unwrap();
        }
        if let Some((major, minor, patch)) = header {
            std::fs::write(
                dir.join("include/torch/headeronly/version.h"),
                format!(
                    "#pragma once\n#define TORCH_VERSION_MAJOR {major}\n\
                     #define TORCH_VERSION_MINOR {minor}\n#define TORCH_VERSION_PATCH {patch}\n\
                     #define TORCH_VERSION \\\n  \"{major}.{minor}.{patch}\"\n"
                ),
            )
            .unwrap();
        }
        if let Some(text) = build_version {
            std::fs::write(dir.join("build-version"), text).unwrap();
        }
    }

    #[test]
    fn a_matching_user_libtorch_is_accepted_from_its_header() {
        let dir = tempfile::tempdir().unwrap();
        fake_libtorch(dir.path(), Some((2, 11, 0)), None);
        let libtorch = user_libtorch(dir.path()).unwrap();
        assert_eq!(libtorch.version, "2.11.0");
        assert_eq!(libtorch.origin, LibtorchOrigin::UserEnv);
        assert!(libtorch.describe().contains("LIBTORCH="));
    }

    #[test]
    fn build_version_wins_and_a_local_suffix_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        fake_libtorch(dir.path(), Some((2, 10, 0)), Some("2.11.0+cu130\n"));
        assert_eq!(user_libtorch(dir.path()).unwrap().version, "2.11.0+cu130");
    }

    #[test]
    fn another_version_is_refused_with_both_versions_named() {
        let dir = tempfile::tempdir().unwrap();
        fake_libtorch(dir.path(), Some((2, 13, 0)), None);
        let err = user_libtorch(dir.path()).unwrap_err();
        assert!(matches!(err, ToolchainError::WrongLibtorchVersion { .. }));
        let text = err.to_string();
        assert!(text.contains("2.13.0") && text.contains("2.11.0"), "{text}");
        assert!(err.is_user_error());
    }

    #[test]
    fn incomplete_folders_are_refused_with_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        fake_libtorch(dir.path(), Some((2, 11, 0)), None);
        std::fs::remove_file(dir.path().join("lib/libtorch_cpu.so")).unwrap();
        let err = user_libtorch(dir.path()).unwrap_err().to_string();
        assert!(err.contains("lib/libtorch_cpu.so"), "{err}");

        let no_version = tempfile::tempdir().unwrap();
        fake_libtorch(no_version.path(), None, None);
        let err = user_libtorch(no_version.path()).unwrap_err().to_string();
        assert!(err.contains("version is unknown"), "{err}");

        let err = user_libtorch(&dir.path().join("absent"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no such folder"), "{err}");
        let err = user_libtorch(Path::new("relative/libtorch"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("relative"), "{err}");
    }

    #[test]
    fn the_header_parser_reads_the_real_layout() {
        let text = "#pragma once\n\n/// Indicates the major version of LibTorch.\n\
                    #define TORCH_VERSION_MAJOR 2\n#define TORCH_VERSION_MINOR 11\n\
                    #define TORCH_VERSION_PATCH 0\n#define TORCH_VERSION_ABI_TAG 0\n";
        assert_eq!(version_from_header(text).as_deref(), Some("2.11.0"));
        assert_eq!(version_from_header("#define TORCH_VERSION_MAJOR 2\n"), None);
    }

    #[test]
    fn the_marker_names_every_pinned_wheel() {
        let marker = marker_text();
        for wheel in WHEELS {
            assert!(marker.contains(wheel.sha256));
        }
        let dir = tempfile::tempdir().unwrap();
        assert!(installed(dir.path()).is_none(), "no marker, not installed");
        super::super::install::write_marker(dir.path(), &marker).unwrap();
        assert!(installed(dir.path()).is_some());
    }
}
