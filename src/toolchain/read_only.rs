//! Installed folders made read-only (nothing that uses them can change them by mistake), and
//! removed again even so: write permission comes back on each folder before its entries go.
//! Symbolic links are never followed.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::error::ToolchainError;

/// Takes write permission away from every file and folder under `dir`, and from `dir` itself
/// unless `keep_root` (its marker still has to be written).
pub fn make_read_only(dir: &Path, keep_root: bool) -> Result<(), ToolchainError> {
    let entries = std::fs::read_dir(dir).map_err(ToolchainError::io("list", dir))?;
    for entry in entries {
        let path = entry.map_err(ToolchainError::io("list", dir))?.path();
        let meta =
            std::fs::symlink_metadata(&path).map_err(ToolchainError::io("inspect", &path))?;
        if meta.is_dir() {
            make_read_only(&path, false)?;
        } else if meta.is_file() {
            set_mode(&path, meta.permissions().mode() & !0o222)?;
        }
    }
    if keep_root {
        Ok(())
    } else {
        make_folder_read_only(dir)
    }
}

/// Takes write permission away from the folder itself.
fn make_folder_read_only(dir: &Path) -> Result<(), ToolchainError> {
    let mode = std::fs::metadata(dir)
        .map_err(ToolchainError::io("inspect", dir))?
        .permissions()
        .mode();
    set_mode(dir, mode & !0o222)
}

/// Removes `path` and everything under it, read-only folders included. A missing path is fine.
pub fn remove_tree(path: &Path) -> Result<(), ToolchainError> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(ToolchainError::io("inspect", path)(e)),
        Ok(meta) if meta.is_dir() => make_writable(path)?,
        Ok(_) => {}
    }
    let result = if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    result.map_err(ToolchainError::io("remove", path))
}

/// Gives the owner write permission on `dir` and every folder under it.
fn make_writable(dir: &Path) -> Result<(), ToolchainError> {
    let mode = std::fs::symlink_metadata(dir)
        .map_err(ToolchainError::io("inspect", dir))?
        .permissions()
        .mode();
    set_mode(dir, mode | 0o700)?;
    let entries = std::fs::read_dir(dir).map_err(ToolchainError::io("list", dir))?;
    for entry in entries {
        let entry = entry.map_err(ToolchainError::io("list", dir))?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            make_writable(&entry.path())?;
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<(), ToolchainError> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(ToolchainError::io("change the permissions of", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn everything_loses_write_permission_and_links_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("env");
        std::fs::create_dir_all(root.join("lib/pkg")).unwrap();
        std::fs::write(root.join("lib/pkg/a.py"), "x").unwrap();
        std::fs::write(root.join("tool"), "#!/bin/sh").unwrap();
        std::fs::set_permissions(root.join("tool"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "x").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();

        make_read_only(&root, true).unwrap();
        assert_eq!(mode(&root.join("lib/pkg/a.py")), 0o444);
        assert_eq!(mode(&root.join("tool")), 0o555);
        assert_eq!(mode(&root.join("lib/pkg")) & 0o222, 0);
        assert_eq!(mode(&root) & 0o200, 0o200, "the root stays writable");
        assert_eq!(
            mode(&outside) & 0o200,
            0o200,
            "a link's target is not touched"
        );

        make_read_only(&root, false).unwrap();
        assert_eq!(mode(&root) & 0o222, 0);

        remove_tree(&root).unwrap();
        assert!(!root.exists());
        assert!(outside.exists());
        remove_tree(&root).unwrap();
    }
}
