//! The steps that make the environment in its staging folder: a virtual environment from the
//! chosen interpreter, the locked wheels downloaded and checked, installed with
//! `--require-hashes --no-deps` from those files alone, and the staging path in its scripts
//! rewritten to the final one. Every command runs through the execution layer.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use crate::exec::{ProcessOutput, ProcessSpec};

use super::super::command::run_checked;
use super::super::disk::disk_usage;
use super::super::error::ToolchainError;
use super::super::python::PIP_ENV;
use super::super::wheels::sha256_file;
use super::interpreter::Interpreter;
use super::lock::PythonLock;

/// The environment's own interpreter.
pub fn env_python(env: &Path) -> PathBuf {
    env.join("bin").join("python")
}

/// `python -m venv DIR`, with the pip the interpreter bundles (no network).
pub fn create_venv(interpreter: &Interpreter, env: &Path) -> Result<(), ToolchainError> {
    let cwd = env.parent().unwrap_or(env);
    let spec = ProcessSpec::new(interpreter.executable.as_os_str(), cwd)
        .arg("-I")
        .arg("-m")
        .arg("venv")
        .arg(env)
        .timeout(Duration::from_secs(600));
    run_checked(
        &spec,
        &format!("{} -m venv", interpreter.executable.display()),
    )
    .map(drop)
}

/// pip, run by the environment's interpreter, with the user's index settings.
fn pip(env: &Path, cwd: &Path, tmp: &Path) -> ProcessSpec {
    ProcessSpec::new(env_python(env).as_os_str(), cwd)
        .arg("-I")
        .arg("-m")
        .arg("pip")
        .inherit(PIP_ENV)
        .env("TMPDIR", tmp.to_string_lossy().into_owned())
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        // Large downloads on slow links: a generous bound, never an endless hang.
        .timeout(Duration::from_secs(3600))
        .output_cap(256 << 10)
}

/// `pip COMMAND` held to the lock: every file's hash checked, no dependency resolved beyond
/// it, wheels only, no cache, no progress bar; then `extra` and the lock file.
fn pip_locked(
    env: &Path,
    wheels: &Path,
    tmp: &Path,
    command: &str,
    extra: &[&OsStr],
    lock_file: &Path,
) -> ProcessSpec {
    let spec = pip(env, wheels, tmp).arg(command);
    extra
        .iter()
        .fold(spec, |spec, arg| spec.arg(arg))
        .arg("--require-hashes")
        .arg("--no-deps")
        .arg("--only-binary=:all:")
        .arg("--no-cache-dir")
        .arg("--progress-bar")
        .arg("off")
        .arg("-r")
        .arg(lock_file)
}

/// Downloads every locked wheel into `wheels`: `pip download --require-hashes --no-deps`,
/// so pip takes exactly the locked file of each package and checks its hash.
pub fn download(
    env: &Path,
    lock_file: &Path,
    wheels: &Path,
    tmp: &Path,
) -> Result<ProcessOutput, ToolchainError> {
    let spec = pip_locked(
        env,
        wheels,
        tmp,
        "download",
        &[OsStr::new("--dest"), wheels.as_os_str()],
        lock_file,
    );
    run_checked(&spec, "pip download --require-hashes -r python-env.lock")
}

/// Checks that `wheels` holds exactly the locked files, each of its size and SHA-256.
pub fn verify(lock: &PythonLock, wheels: &Path) -> Result<(), ToolchainError> {
    for wheel in &lock.wheels {
        let path = wheels.join(&wheel.file);
        if !path.is_file() {
            return Err(ToolchainError::MissingDownload { file: path });
        }
        let (sha256, size) = sha256_file(&path)?;
        if sha256 != wheel.sha256 || size != wheel.size {
            return Err(ToolchainError::HashMismatch {
                file: path,
                expected: wheel.sha256.clone(),
                expected_size: wheel.size,
                actual: sha256,
                actual_size: size,
            });
        }
    }
    let entries = std::fs::read_dir(wheels).map_err(ToolchainError::io("list", wheels))?;
    for entry in entries {
        let name = entry
            .map_err(ToolchainError::io("list", wheels))?
            .file_name();
        let name = name.to_string_lossy();
        if !lock.wheels.iter().any(|w| w.file == name) {
            return Err(ToolchainError::UnexpectedDownload {
                file: name.into_owned(),
            });
        }
    }
    Ok(())
}

/// Installs the downloaded wheels into the environment: from `wheels` only (no index), every
/// hash checked again, no dependency resolved beyond the lock.
pub fn install(
    env: &Path,
    lock_file: &Path,
    wheels: &Path,
    tmp: &Path,
) -> Result<ProcessOutput, ToolchainError> {
    let spec = pip_locked(
        env,
        wheels,
        tmp,
        "install",
        &[
            OsStr::new("--no-index"),
            OsStr::new("--find-links"),
            wheels.as_os_str(),
        ],
        lock_file,
    );
    run_checked(
        &spec,
        "pip install --require-hashes --no-deps -r python-env.lock",
    )
}

/// A virtual environment names its own folder in its scripts (`bin/pip`'s first line,
/// `bin/activate`) and in `pyvenv.cfg`; made in staging, it would name the staging folder.
/// Rewrites those texts to name `final_dir`. The interpreter itself finds its environment
/// from where it runs, so nothing else changes. Returns how many files were rewritten.
pub fn relocate(env: &Path, final_dir: &Path) -> Result<usize, ToolchainError> {
    let from = env.to_string_lossy().into_owned();
    let to = final_dir.to_string_lossy().into_owned();
    let mut files = vec![env.join("pyvenv.cfg")];
    let bin = env.join("bin");
    for entry in std::fs::read_dir(&bin).map_err(ToolchainError::io("list", &bin))? {
        files.push(entry.map_err(ToolchainError::io("list", &bin))?.path());
    }
    let mut rewritten = 0;
    for path in files {
        let meta =
            std::fs::symlink_metadata(&path).map_err(ToolchainError::io("inspect", &path))?;
        if !meta.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(ToolchainError::io("read", &path))?;
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        if text.contains(&from) {
            std::fs::write(&path, text.replace(&from, &to))
                .map_err(ToolchainError::io("write", &path))?;
            rewritten += 1;
        }
    }
    Ok(rewritten)
}

/// Runs `work` while a thread reports the disk use of `watched` to `report` every `every`.
pub fn watching_size<T>(
    watched: &[PathBuf],
    every: Duration,
    report: impl Fn(u64) + Send,
    work: impl FnOnce() -> T,
) -> T {
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        scope.spawn(move || loop {
            report(watched.iter().map(|p| disk_usage(p)).sum());
            if !matches!(
                stopped.recv_timeout(every),
                Err(mpsc::RecvTimeoutError::Timeout)
            ) {
                break;
            }
        });
        let result = work();
        drop(stop);
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn scripts_and_the_configuration_name_the_final_folder_afterwards() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".staging-python-env-1-2/env");
        let final_dir = dir.path().join("python-env-abc");
        std::fs::create_dir_all(env.join("bin")).unwrap();
        let staged = env.to_string_lossy().into_owned();
        std::fs::write(
            env.join("pyvenv.cfg"),
            format!("home = /usr/bin\ncommand = /usr/bin/python3.11 -m venv {staged}\n"),
        )
        .unwrap();
        std::fs::write(
            env.join("bin/pip"),
            format!("#!{staged}/bin/python\nimport pip\n"),
        )
        .unwrap();
        std::fs::write(
            env.join("bin/activate"),
            format!("VIRTUAL_ENV='{staged}'\n"),
        )
        .unwrap();
        std::fs::write(env.join("bin/binary"), [0xff, 0xfe, 0x00]).unwrap();
        std::os::unix::fs::symlink("/usr/bin/python3.11", env.join("bin/python")).unwrap();

        assert_eq!(relocate(&env, &final_dir).unwrap(), 3);
        let to = final_dir.to_string_lossy();
        let read = |name: &str| std::fs::read_to_string(env.join(name)).unwrap();
        assert_eq!(read("bin/pip"), format!("#!{to}/bin/python\nimport pip\n"));
        assert_eq!(read("bin/activate"), format!("VIRTUAL_ENV='{to}'\n"));
        assert!(read("pyvenv.cfg").ends_with(&format!("-m venv {to}\n")));
        assert_eq!(
            std::fs::read(env.join("bin/binary")).unwrap(),
            [0xff, 0xfe, 0x00]
        );
        assert_eq!(
            std::fs::read_link(env.join("bin/python")).unwrap(),
            Path::new("/usr/bin/python3.11")
        );
        assert_eq!(
            relocate(&env, &final_dir).unwrap(),
            0,
            "nothing left to rewrite"
        );
    }

    fn tiny_lock(files: &[(&str, &[u8])]) -> PythonLock {
        let mut text = String::from("# python: 3.11\n");
        for (file, bytes) in files {
            let name = file.split('-').next().unwrap();
            let version = file.split('-').nth(1).unwrap();
            let sha = crate::hashing::sha256_hex(bytes);
            text.push_str(&format!(
                "# {file} ({} bytes)\n{name}=={version} --hash=sha256:{sha}\n",
                bytes.len()
            ));
        }
        PythonLock::parse(&text).unwrap()
    }

    #[test]
    fn verification_wants_exactly_the_locked_files() {
        let dir = tempfile::tempdir().unwrap();
        let lock = tiny_lock(&[
            ("a-1.0-py3-none-any.whl", b"aaa"),
            ("b-2.0-py3-none-any.whl", b"bb"),
        ]);
        std::fs::write(dir.path().join("a-1.0-py3-none-any.whl"), b"aaa").unwrap();
        let missing = verify(&lock, dir.path()).unwrap_err();
        assert!(
            matches!(missing, ToolchainError::MissingDownload { .. }),
            "{missing}"
        );

        std::fs::write(dir.path().join("b-2.0-py3-none-any.whl"), b"bX").unwrap();
        let corrupt = verify(&lock, dir.path()).unwrap_err();
        assert!(
            corrupt.to_string().contains("b-2.0-py3-none-any.whl"),
            "{corrupt}"
        );
        assert!(matches!(corrupt, ToolchainError::HashMismatch { .. }));

        std::fs::write(dir.path().join("b-2.0-py3-none-any.whl"), b"bb").unwrap();
        verify(&lock, dir.path()).unwrap();

        std::fs::write(dir.path().join("c-3.0-py3-none-any.whl"), b"c").unwrap();
        let extra = verify(&lock, dir.path()).unwrap_err();
        assert!(
            extra.to_string().contains("c-3.0-py3-none-any.whl"),
            "{extra}"
        );
    }

    #[test]
    fn the_watcher_reports_at_least_once_and_stops_with_the_work() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), vec![0u8; 8192]).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let value = watching_size(
            &[dir.path().to_path_buf()],
            Duration::from_secs(3600),
            move |bytes| sink.lock().unwrap().push(bytes),
            || 7,
        );
        assert_eq!(value, 7);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert!(seen[0] >= 8192);
    }
}
