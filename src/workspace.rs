//! The generated crate on disk: `generated/<llm>/` (and `<llm>-rN` for repeats).
//!
//! The folder holds the crate as the last iteration left it. Every iteration writes *all* of the
//! crate's files again (fresh modification times, so cargo never mistakes new files for old
//! ones), then the files the harness owns, which a reply can never override.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Why the harness could not lay out the crate (a harness failure, never the LLM's).
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("could not prepare the crate folder {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("refusing to write {path}: {reason}")]
    Unsafe { path: String, reason: &'static str },
}

/// The folder a generated crate lives in.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

/// Folders the harness keeps across runs in a workspace: build products only.
const KEPT_ON_RESET: &[&str] = &["target"];

impl Workspace {
    /// Creates the folder, or empties it of an earlier run's files (keeping the build cache).
    pub fn reset(root: &Path) -> Result<Self, WorkspaceError> {
        let io = |source| WorkspaceError::Io {
            path: root.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(root).map_err(io)?;
        let root = root.canonicalize().map_err(io)?;
        for entry in std::fs::read_dir(&root).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            if KEPT_ON_RESET.iter().any(|k| name == *k) {
                continue;
            }
            let path = entry.path();
            // symlink_metadata: a planted link is removed, never followed.
            let meta = std::fs::symlink_metadata(&path).map_err(io)?;
            if meta.is_dir() {
                std::fs::remove_dir_all(&path).map_err(io)?;
            } else {
                std::fs::remove_file(&path).map_err(io)?;
            }
        }
        Ok(Workspace { root })
    }

    /// Like `reset`, and the crate's own build folder goes too: a new run starts from nothing
    /// an earlier run's code could have written (its build scripts run with write access to
    /// `target`).
    pub fn fresh(root: &Path) -> Result<Self, WorkspaceError> {
        let workspace = Workspace::reset(root)?;
        let target = workspace.root.join("target");
        match std::fs::remove_dir_all(&target) {
            Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                Err(WorkspaceError::Io {
                    path: target,
                    source,
                })
            }
            _ => Ok(workspace),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes the crate: the LLM's files, then the harness's own over them.
    pub fn write(
        &self,
        files: &BTreeMap<String, String>,
        owned: &[(String, String)],
    ) -> Result<(), WorkspaceError> {
        for (path, content) in files.iter().chain(owned.iter().map(|(p, c)| (p, c))) {
            self.write_one(path, content)?;
        }
        Ok(())
    }

    fn write_one(&self, relative: &str, content: &str) -> Result<(), WorkspaceError> {
        let path = self.path_inside(relative)?;
        let io = |source| WorkspaceError::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&path, content).map_err(io)?;
        Ok(())
    }

    /// `relative` under the crate root, refused when it is not a plain relative path or when an
    /// existing component of it (the last one included) is a symbolic link: a link planted by a
    /// build script or a program points outside.
    pub fn path_inside(&self, relative: impl AsRef<Path>) -> Result<PathBuf, WorkspaceError> {
        let rel = relative.as_ref();
        let unsafe_path = |reason| WorkspaceError::Unsafe {
            path: rel.to_string_lossy().into_owned(),
            reason,
        };
        if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(unsafe_path("only plain relative paths are written"));
        }
        let mut at = self.root.clone();
        for component in rel.components() {
            at.push(component);
            if let Ok(meta) = std::fs::symlink_metadata(&at) {
                if meta.file_type().is_symlink() {
                    return Err(unsafe_path("a symbolic link is in the way"));
                }
            }
        }
        Ok(at)
    }

    /// Reads at most `limit` bytes of a regular file inside the crate, following no link and
    /// never blocking on a planted FIFO. `Ok(None)` when there is no such file.
    pub fn read_inside(
        &self,
        relative: impl AsRef<Path>,
        limit: u64,
    ) -> Result<Option<Vec<u8>>, WorkspaceError> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.path_inside(relative.as_ref())?;
        let io = |source| WorkspaceError::Io {
            path: path.clone(),
            source,
        };
        let file = match std::fs::File::options()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
        {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(io(source)),
        };
        if !file.metadata().map_err(io)?.is_file() {
            return Err(WorkspaceError::Unsafe {
                path: relative.as_ref().to_string_lossy().into_owned(),
                reason: "not a regular file",
            });
        }
        let mut bytes = Vec::new();
        file.take(limit).read_to_end(&mut bytes).map_err(io)?;
        Ok(Some(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_empties_but_keeps_the_build_cache() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("crate");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("target/debug")).unwrap();
        std::fs::write(root.join("src/old.rs"), "old").unwrap();
        std::fs::write(root.join("target/debug/x"), "cache").unwrap();
        let ws = Workspace::reset(&root).unwrap();
        assert!(!ws.root().join("src").exists());
        assert!(ws.root().join("target/debug/x").exists());
    }

    #[test]
    fn harness_files_win_over_the_reply() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::reset(dir.path()).unwrap();
        let files = BTreeMap::from([
            ("src/main.rs".to_string(), "fn main() {}\n".to_string()),
            (".cargo/config.toml".to_string(), "evil".to_string()),
        ]);
        let owned = [(
            ".cargo/config.toml".to_string(),
            "[net]\noffline = true\n".to_string(),
        )];
        ws.write(&files, &owned).unwrap();
        let config = std::fs::read_to_string(ws.root().join(".cargo/config.toml")).unwrap();
        assert_eq!(config, "[net]\noffline = true\n");
        assert!(ws.root().join("src/main.rs").exists());
    }

    #[test]
    fn refuses_to_write_through_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let ws = Workspace::reset(&dir.path().join("c")).unwrap();
        std::os::unix::fs::symlink(outside.path(), ws.root().join("src")).unwrap();
        let files = BTreeMap::from([("src/main.rs".to_string(), "x".to_string())]);
        let err = ws.write(&files, &[]).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(!outside.path().join("main.rs").exists());
    }

    #[test]
    fn refuses_paths_that_climb_out() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::reset(dir.path()).unwrap();
        for bad in ["../x.rs", "/etc/x", "src/../../x"] {
            let files = BTreeMap::from([(bad.to_string(), "x".to_string())]);
            assert!(ws.write(&files, &[]).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_inside_refuse_links_and_special_files() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "secret").unwrap();
        let ws = Workspace::reset(&dir.path().join("c")).unwrap();
        std::fs::create_dir_all(ws.root().join("out")).unwrap();
        std::fs::write(ws.root().join("out/ok.txt"), "0123456789").unwrap();
        assert_eq!(
            ws.read_inside("out/ok.txt", 4).unwrap().unwrap(),
            b"0123".to_vec()
        );
        assert_eq!(ws.read_inside("out/none.txt", 4).unwrap(), None);
        std::os::unix::fs::symlink(outside.path().join("secret"), ws.root().join("out/link"))
            .unwrap();
        assert!(ws.read_inside("out/link", 100).is_err());
        std::os::unix::fs::symlink(outside.path(), ws.root().join("linked-dir")).unwrap();
        assert!(ws.read_inside("linked-dir/secret", 100).is_err());
        let fifo = std::ffi::CString::new(ws.root().join("out/fifo").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let error = ws.read_inside("out/fifo", 100).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
    }
}
