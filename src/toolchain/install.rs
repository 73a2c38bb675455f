//! Installing a folder atomically: filled in a staging folder, marked complete, then renamed
//! into place, so an interrupted install never leaves a folder that looks complete.

use std::io::Write;
use std::path::Path;

use super::error::ToolchainError;
use super::read_only::remove_tree;

/// The file inside an installed folder that says it is complete, and for what inputs. Its name
/// starts with a dot: cargo's directory sources skip such entries.
pub const MARKER: &str = ".harness-complete";

/// The state of an installed piece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// The folder is there and its marker says it was made from exactly these inputs.
    Complete,
    /// Nothing there.
    Missing,
    /// A folder without a marker (an interrupted install) or with another marker (other pins).
    Incomplete,
}

/// Whether `dir` holds a complete install whose marker text is `marker`.
pub fn state(dir: &Path, marker: &str) -> Installed {
    if !dir.exists() {
        return Installed::Missing;
    }
    match std::fs::read_to_string(dir.join(MARKER)) {
        Ok(text) if text == marker => Installed::Complete,
        _ => Installed::Incomplete,
    }
}

/// Writes a marker file, flushed to disk.
pub fn write_marker(dir: &Path, marker: &str) -> Result<(), ToolchainError> {
    let path = dir.join(MARKER);
    let mut file = std::fs::File::create(&path).map_err(ToolchainError::io("create", &path))?;
    file.write_all(marker.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(ToolchainError::io("write", &path))
}

/// Builds `dest` by running `fill` on a staging folder `staging` (on the same file system),
/// then writes the marker and renames the folder into place, replacing an incomplete `dest`.
/// On failure the staging folder is removed and `dest` is left as it was.
pub fn install_dir<T>(
    staging: &Path,
    dest: &Path,
    marker: &str,
    fill: impl FnOnce(&Path) -> Result<T, ToolchainError>,
) -> Result<T, ToolchainError> {
    let result = (|| {
        remove_tree(staging)?;
        std::fs::create_dir_all(staging).map_err(ToolchainError::io("create", staging))?;
        let value = fill(staging)?;
        write_marker(staging, marker)?;
        remove_tree(dest)?;
        std::fs::rename(staging, dest).map_err(ToolchainError::io("move into place", dest))?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = remove_tree(staging);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_install_is_complete_for_its_own_marker_only() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("piece");
        assert_eq!(state(&dest, "v1"), Installed::Missing);
        install_dir(&dir.path().join(".staging"), &dest, "v1", |d| {
            std::fs::write(d.join("file"), "x").map_err(ToolchainError::io("write", d))
        })
        .unwrap();
        assert_eq!(state(&dest, "v1"), Installed::Complete);
        assert_eq!(state(&dest, "v2"), Installed::Incomplete);
        assert!(!dir.path().join(".staging").exists());
    }

    #[test]
    fn a_failed_install_leaves_nothing_that_looks_complete() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("piece");
        let staging = dir.path().join(".staging");
        let err = install_dir(&staging, &dest, "v1", |d| -> Result<(), _> {
            std::fs::write(d.join("half"), "x").unwrap();
            Err(ToolchainError::Smoke {
                reason: "interrupted".into(),
            })
        })
        .unwrap_err();
        assert!(err.to_string().contains("interrupted"));
        assert_eq!(state(&dest, "v1"), Installed::Missing);
        assert!(!staging.exists());
    }

    #[test]
    fn a_folder_left_by_a_killed_install_is_incomplete_and_replaced() {
        // A process killed between copying files and writing the marker leaves this.
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("piece");
        std::fs::create_dir_all(dest.join("lib")).unwrap();
        std::fs::write(dest.join("lib/half-written.so"), "x").unwrap();
        assert_eq!(state(&dest, "v1"), Installed::Incomplete);

        install_dir(&dir.path().join(".staging"), &dest, "v1", |d| {
            std::fs::write(d.join("whole"), "x").map_err(ToolchainError::io("write", d))
        })
        .unwrap();
        assert_eq!(state(&dest, "v1"), Installed::Complete);
        assert!(!dest.join("lib/half-written.so").exists());
    }
}
