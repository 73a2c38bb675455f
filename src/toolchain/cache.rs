//! Where the toolchain lives: the cache folder, its fixed layout, and a lock for provisioning.
//!
//! Everything sits at fixed absolute paths outside the repository, because cargo reuses a warm
//! build only when the paths, the environment and the flags it saw are identical.

use std::ffi::OsString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::error::ToolchainError;
use super::libtorch::LIBTORCH_VERSION;
use super::read_only::remove_tree;

/// The variable that moves the cache (the `--cache-dir` flag wins over it).
pub const CACHE_ENV: &str = "HARNESS_CACHE";

/// Resolves the cache folder: `--cache-dir`, else `HARNESS_CACHE`, else
/// `$XDG_CACHE_HOME/harness`, else `$HOME/.cache/harness`. Empty values count as unset; a
/// relative `XDG_CACHE_HOME` is ignored, as the XDG specification asks. The result is
/// absolute and valid UTF-8 (it is written into cargo's configuration).
pub fn resolve_cache_dir(
    flag: Option<&Path>,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<PathBuf, ToolchainError> {
    let set = |name: &str| {
        env(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    let chosen = flag
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .or_else(|| set(CACHE_ENV))
        .or_else(|| {
            set("XDG_CACHE_HOME")
                .filter(|p| p.is_absolute())
                .map(|p| p.join("harness"))
        })
        .or_else(|| set("HOME").map(|p| p.join(".cache").join("harness")))
        .ok_or(ToolchainError::NoCacheDir)?;
    let absolute =
        std::path::absolute(&chosen).map_err(ToolchainError::io("make absolute", &chosen))?;
    if absolute.to_str().is_none() {
        return Err(ToolchainError::NonUtf8Path { path: absolute });
    }
    Ok(absolute)
}

/// The cache folder from the process environment (see [`resolve_cache_dir`]).
pub fn cache_dir_from_env(flag: Option<&Path>) -> Result<PathBuf, ToolchainError> {
    resolve_cache_dir(flag, |name| std::env::var_os(name))
}

/// The fixed places inside the cache folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheLayout {
    root: PathBuf,
}

impl CacheLayout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        CacheLayout { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The harness's own libtorch (`lib/` and `include/`).
    pub fn libtorch_dir(&self) -> PathBuf {
        self.root.join(format!("libtorch-{LIBTORCH_VERSION}"))
    }

    /// The vendored allow-list, a cargo directory source.
    pub fn vendor_dir(&self) -> PathBuf {
        self.root.join("vendor")
    }

    /// The warm crate: depends on the whole allow-list, built once to fill the target folder.
    pub fn warm_dir(&self) -> PathBuf {
        self.root.join("warm")
    }

    /// The crate the smoke check builds and runs.
    pub fn smoke_dir(&self) -> PathBuf {
        self.root.join("smoke")
    }

    /// The shared target folder. A user's own libtorch gets a folder of its own, named after
    /// its path, so that switching between the two never rebuilds torch-sys.
    pub fn target_dir(&self, user_libtorch: Option<&Path>) -> PathBuf {
        match user_libtorch {
            None => self.root.join("target"),
            Some(path) => {
                let digest = crate::hashing::sha256_hex(path.as_os_str().as_encoded_bytes());
                self.root.join(format!("target-libtorch-{}", &digest[..12]))
            }
        }
    }

    /// Where sandboxed builds keep what they write over the shared target folder: one
    /// copy-on-write layer per crate folder, removed once that folder is gone.
    pub fn layers_dir(&self) -> PathBuf {
        self.root.join("layers")
    }

    /// A fresh folder for one install's temporary files, named so that a later run recognises
    /// (and removes) what an interrupted one left.
    pub fn staging_dir(&self, piece: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        self.root.join(format!(
            "{STAGING_PREFIX}{piece}-{}-{nanos}",
            std::process::id()
        ))
    }

    /// Removes the staging folders interrupted runs left. Call only while holding the lock.
    pub fn remove_stale_staging(&self) -> Result<(), ToolchainError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(ToolchainError::io("list", &self.root)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(ToolchainError::io("list", &self.root))?;
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(STAGING_PREFIX)
            {
                let path = entry.path();
                // Removed even where a piece was already made read-only (the Python environment).
                remove_tree(&path)?;
            }
        }
        Ok(())
    }

    /// Takes the cache's lock, waiting for another harness that is provisioning to finish.
    pub fn lock(&self) -> Result<CacheLock, ToolchainError> {
        std::fs::create_dir_all(&self.root).map_err(ToolchainError::io("create", &self.root))?;
        let path = self.root.join(".lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(ToolchainError::io("open", &path))?;
        // SAFETY: flock(2) on a descriptor we own, kept open for the lock's lifetime; it has
        // no memory-safety preconditions.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            return Err(ToolchainError::io("lock", &path)(
                std::io::Error::last_os_error(),
            ));
        }
        Ok(CacheLock { _file: file })
    }
}

const STAGING_PREFIX: &str = ".staging-";

/// Held while provisioning; released when dropped (closing the file releases the lock).
#[derive(Debug)]
pub struct CacheLock {
    _file: File,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn the_flag_wins_then_the_variable_then_xdg_then_home() {
        let all = env_of(&[
            ("HARNESS_CACHE", "/c/env"),
            ("XDG_CACHE_HOME", "/c/xdg"),
            ("HOME", "/c/home"),
        ]);
        let flag = Path::new("/c/flag");
        assert_eq!(resolve_cache_dir(Some(flag), &all).unwrap(), flag);
        assert_eq!(resolve_cache_dir(None, &all).unwrap(), Path::new("/c/env"));
        let no_var = env_of(&[("XDG_CACHE_HOME", "/c/xdg"), ("HOME", "/c/home")]);
        assert_eq!(
            resolve_cache_dir(None, no_var).unwrap(),
            Path::new("/c/xdg/harness")
        );
        let home_only = env_of(&[("HOME", "/c/home")]);
        assert_eq!(
            resolve_cache_dir(None, home_only).unwrap(),
            Path::new("/c/home/.cache/harness")
        );
    }

    #[test]
    fn empty_and_relative_values_are_skipped() {
        let env = env_of(&[
            ("HARNESS_CACHE", ""),
            ("XDG_CACHE_HOME", "relative/cache"),
            ("HOME", "/c/home"),
        ]);
        assert_eq!(
            resolve_cache_dir(Some(Path::new("")), env).unwrap(),
            Path::new("/c/home/.cache/harness")
        );
    }

    #[test]
    fn a_relative_choice_is_made_absolute() {
        let dir = resolve_cache_dir(Some(Path::new("rel/cache")), env_of(&[])).unwrap();
        assert!(dir.is_absolute());
        assert!(dir.ends_with("rel/cache"));
    }

    #[test]
    fn nothing_set_is_an_error_that_names_the_flag() {
        let err = resolve_cache_dir(None, env_of(&[])).unwrap_err();
        assert!(matches!(err, ToolchainError::NoCacheDir));
        assert!(err.to_string().contains("--cache-dir"));
        assert!(err.is_user_error());
    }

    #[test]
    fn a_user_libtorch_gets_its_own_target_folder() {
        let layout = CacheLayout::new("/c");
        assert_eq!(layout.target_dir(None), Path::new("/c/target"));
        let a = layout.target_dir(Some(Path::new("/opt/libtorch-a")));
        let b = layout.target_dir(Some(Path::new("/opt/libtorch-b")));
        assert_ne!(a, b);
        assert!(a.starts_with("/c") && a != Path::new("/c/target"));
    }

    #[test]
    fn stale_staging_folders_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let layout = CacheLayout::new(dir.path());
        let stale = layout.staging_dir("libtorch");
        std::fs::create_dir_all(stale.join("inner")).unwrap();
        std::fs::create_dir_all(layout.vendor_dir()).unwrap();
        let _lock = layout.lock().unwrap();
        layout.remove_stale_staging().unwrap();
        assert!(!stale.exists());
        assert!(layout.vendor_dir().exists());
    }

    #[test]
    fn a_stale_staging_folder_made_read_only_is_removed_too() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let layout = CacheLayout::new(dir.path());
        let stale = layout.staging_dir("python-env");
        std::fs::create_dir_all(stale.join("env/lib")).unwrap();
        std::fs::write(stale.join("env/lib/a.py"), "x").unwrap();
        for path in [
            stale.join("env/lib/a.py"),
            stale.join("env/lib"),
            stale.join("env"),
        ] {
            let mode = if path.is_dir() { 0o555 } else { 0o444 };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let _lock = layout.lock().unwrap();
        layout.remove_stale_staging().unwrap();
        assert!(!stale.exists());
    }
}
