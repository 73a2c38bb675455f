//! A copy-on-write view of a shared folder (the tch target's warm build cache) for one
//! sandboxed process: a kernel overlay whose lower layer is the shared folder and whose upper
//! layer is a fresh folder of the harness's, thrown away afterwards.
//!
//! Bubblewrap 0.8 cannot make overlays, so the harness mounts one itself, as root, in a mount
//! namespace of its own: a dedicated thread unshares its mount namespace (other threads keep
//! the host's), makes every mount private, mounts the overlay and starts bubblewrap, which
//! inherits that namespace and binds the overlay at the shared folder's own path (cargo needs
//! the same absolute path to reuse the warm units). When the sandbox is gone, so is the
//! namespace and the mount with it.
//!
//! The shared folder is never written: the lower layer is a read-only clone of its mount, so
//! even a kernel that tried could not; every write, a lock file's included, goes to the upper
//! layer. The clone is idmapped so that the shared folder's files (root's) appear owned by the
//! build's own unprivileged uid: cargo can then rewrite any of them in place (a fingerprint, a
//! lock file), and the overlay copies it up first. Should the overlay not be mounted, bubblewrap
//! binds an empty folder instead, never the shared folder itself.
//!
//! The layer folder (`upper`, `work` and the two mount points) lies outside everything the
//! sandbox is shown, and its growth counts against the phase's disk limit. What the process
//! wrote is read from `upper` (never following a link it planted) until the `Layer` is dropped,
//! which removes the folder.

use std::io;
use std::path::{Path, PathBuf};

use crate::exec::id_map_namespace;

use super::mount::{enter_private_mount_namespace, mount_overlay, MountError};
use super::{tree, SandboxError};

/// Which folder sandboxed processes see copy-on-write, and where their layers go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CopyOnWrite {
    /// The shared folder, shown at its own path.
    pub base: PathBuf,
    /// The harness's folder for per-process layers, outside anything the sandbox shows.
    pub layers: PathBuf,
}

/// What one sandboxed process wrote over the shared folder. Dropping it removes it.
#[derive(Debug)]
pub struct Layer {
    dir: PathBuf,
    base: PathBuf,
    owner: u32,
}

impl Layer {
    /// A fresh, empty layer for a process that runs as `owner`, named after `token`. Layers
    /// left behind by harness processes that are gone (a crash) are removed first.
    pub(crate) fn create(
        cow: &CopyOnWrite,
        owner: u32,
        token: &str,
    ) -> Result<Layer, SandboxError> {
        let bad = |path: &Path, reason| SandboxError::Path {
            path: path.to_path_buf(),
            reason,
        };
        if !cow.base.is_absolute()
            || !std::fs::symlink_metadata(&cow.base).is_ok_and(|m| m.is_dir())
        {
            return Err(bad(
                &cow.base,
                "a copy-on-write folder must be an existing absolute folder, not a link",
            ));
        }
        if !cow.layers.is_absolute() || cow.layers.starts_with(&cow.base) {
            return Err(bad(
                &cow.layers,
                "the layers' folder must be an absolute path outside the shared folder",
            ));
        }
        let prepare = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SandboxError::Prepare { path, source }
        };
        std::fs::create_dir_all(&cow.layers).map_err(prepare(&cow.layers))?;
        remove_abandoned(&cow.layers);
        let dir = cow.layers.join(token);
        std::fs::create_dir(&dir).map_err(prepare(&dir))?;
        let layer = Layer {
            dir,
            base: cow.base.clone(),
            owner,
        };
        for part in ["lower", "upper", "work", "merged"] {
            let path = layer.dir.join(part);
            std::fs::create_dir(&path).map_err(prepare(&path))?;
        }
        // The overlay's root takes the upper layer's owner: the build may create files there.
        std::os::unix::fs::lchown(layer.upper(), Some(owner), Some(owner))
            .map_err(prepare(&layer.upper()))?;
        Ok(layer)
    }

    /// The shared folder this layer lies over.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The folder holding the layer: its growth is the process's.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the overlay is mounted (in the private namespace only; an empty folder elsewhere).
    pub(crate) fn merged(&self) -> PathBuf {
        self.dir.join("merged")
    }

    fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }

    /// Runs `start` on a thread of its own, in a private mount namespace where the overlay is
    /// mounted: the processes `start` spawns see it. `Err` when the overlay could not be
    /// mounted; `start` has then not run.
    pub(crate) fn run_mounted<T: Send>(
        &self,
        start: impl FnOnce() -> T + Send,
    ) -> Result<T, SandboxError> {
        let failed = |error: MountError| SandboxError::CopyOnWrite {
            base: self.base.clone(),
            step: error.step,
            source: error.source,
        };
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let userns = id_map_namespace(0, self.owner).map_err(|source| MountError {
                        step: "make a user namespace for the idmapped mount",
                        source,
                    })?;
                    enter_private_mount_namespace()?;
                    mount_overlay(
                        &self.base,
                        &userns,
                        &self.dir.join("lower"),
                        &self.upper(),
                        &self.dir.join("work"),
                        &self.merged(),
                    )?;
                    Ok(start())
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
        .map_err(failed)
    }

    /// At most `limit` bytes of the regular file at `path` (a path under the shared folder, as
    /// the process saw it) that the process wrote. `Ok(None)` when it wrote no such file (the
    /// shared folder's own copy, if any, does not count). Never follows a link.
    pub fn read(&self, path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
        let relative = path.strip_prefix(&self.base).map_err(|_| {
            io::Error::other(format!(
                "{} is not inside the shared folder {}",
                path.display(),
                self.base.display()
            ))
        })?;
        tree::read_regular(&self.upper(), relative, limit)
    }
}

impl Drop for Layer {
    fn drop(&mut self) {
        // `remove_dir_all` removes links as links; the overlay's own `work/work` (mode 0) is
        // no obstacle to root.
        if let Err(error) = std::fs::remove_dir_all(&self.dir) {
            tracing::warn!("could not remove the layer {}: {error}", self.dir.display());
        }
    }
}

/// Removes the layers whose harness process (the number before the first `_` of the name)
/// is gone.
fn remove_abandoned(layers: &Path) {
    let Ok(entries) = std::fs::read_dir(layers) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.split('_').next())
            .and_then(|p| p.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        // SAFETY: kill with signal 0 only checks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0
            && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cow(root: &Path) -> CopyOnWrite {
        std::fs::create_dir_all(root.join("base")).unwrap();
        CopyOnWrite {
            base: root.join("base"),
            layers: root.join("layers"),
        }
    }

    #[test]
    fn a_layer_is_made_for_its_owner_and_removed_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let cow = cow(dir.path());
        // SAFETY: geteuid has no preconditions.
        let owner = if unsafe { libc::geteuid() } == 0 {
            1_600_000_777
        } else {
            // Without root only one's own uid can be given.
            unsafe { libc::geteuid() }
        };
        let token = format!("{}_1_2", std::process::id());
        let layer = Layer::create(&cow, owner, &token).unwrap();
        for part in ["lower", "upper", "work", "merged"] {
            assert!(layer.dir().join(part).is_dir(), "{part}");
        }
        let upper = std::fs::metadata(layer.upper()).unwrap();
        assert_eq!(std::os::unix::fs::MetadataExt::uid(&upper), owner);
        std::fs::write(layer.upper().join("written"), "x").unwrap();
        let read = layer.read(&cow.base.join("written"), 10).unwrap();
        assert_eq!(read.as_deref(), Some(&b"x"[..]));
        assert_eq!(layer.read(&cow.base.join("absent"), 10).unwrap(), None);
        assert!(layer.read(Path::new("/elsewhere/written"), 10).is_err());
        let path = layer.dir().to_path_buf();
        drop(layer);
        assert!(!path.exists());
        assert!(cow.base.is_dir(), "the shared folder stays");
    }

    #[test]
    fn layers_of_processes_that_are_gone_are_removed_and_no_others() {
        let dir = tempfile::tempdir().unwrap();
        let cow = cow(dir.path());
        let alive = cow.layers.join(format!("{}_0_0", std::process::id()));
        // Far above any pid the kernel hands out (pid_max is at most 2^22).
        let gone = cow.layers.join("99999999_0_0");
        let other = cow.layers.join("not-a-layer");
        for path in [&alive, &gone, &other] {
            std::fs::create_dir_all(path.join("upper")).unwrap();
        }
        remove_abandoned(&cow.layers);
        assert!(alive.exists() && other.exists());
        assert!(!gone.exists());
    }

    #[test]
    fn the_layers_cannot_lie_inside_the_shared_folder() {
        let dir = tempfile::tempdir().unwrap();
        let mut cow = cow(dir.path());
        cow.layers = cow.base.join("layers");
        let error = Layer::create(&cow, 0, "1_2_3").unwrap_err();
        assert!(error.to_string().contains("outside"), "{error}");
        assert!(!cow.layers.exists());
    }
}
