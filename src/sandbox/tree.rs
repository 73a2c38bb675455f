//! Walks over folders that untrusted code has written into, never following a symbolic link.
//!
//! A crate folder is hostile once a build script or a program has run in it: links planted there
//! point outside. These walks look at each entry itself (`lstat`, `lchown`) and descend only
//! into real directories. Between two sandboxed processes nothing untrusted is alive (the pid
//! namespace died with the sandbox), so nothing can swap an entry while a walk looks at it.

use std::io;
use std::path::Path;

/// The bytes a tree occupies on disk (allocated blocks, so sparse files count what they use).
/// Entries that vanish or cannot be read while walking are skipped.
pub(crate) fn disk_usage(root: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![root.to_path_buf()];
    if let Ok(meta) = std::fs::symlink_metadata(root) {
        total += allocated(&meta);
        if !meta.is_dir() {
            return total;
        }
    }
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            total += allocated(&meta);
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    total
}

fn allocated(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::blocks(meta).saturating_mul(512)
}

/// Makes `uid:uid` the owner of every entry of the tree, the root included: links themselves,
/// never their targets.
pub(crate) fn hand_over(root: &Path, uid: u32) -> io::Result<()> {
    std::os::unix::fs::lchown(root, Some(uid), Some(uid))?;
    if !std::fs::symlink_metadata(root)?.is_dir() {
        return Ok(());
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            std::os::unix::fs::lchown(&path, Some(uid), Some(uid))?;
            if std::fs::symlink_metadata(&path)?.is_dir() {
                stack.push(path);
            }
        }
    }
    Ok(())
}

/// At most `limit` bytes of the regular file at `relative` below `root`. `Ok(None)` when there
/// is no such entry. A link anywhere on the way, or an entry that is not a regular file (a FIFO,
/// a device, an overlay's whiteout), is an error; nothing is followed, and a planted FIFO never
/// blocks the read.
pub(crate) fn read_regular(
    root: &Path,
    relative: &Path,
    limit: u64,
) -> io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::Component;
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(io::Error::other(format!(
            "{}: only plain relative paths are read",
            relative.display()
        )));
    }
    let mut at = root.to_path_buf();
    for component in relative.components() {
        at.push(component);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(io::Error::other(format!(
                    "{}: a symbolic link is in the way",
                    at.display()
                )))
            }
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        }
    }
    let file = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&at)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(format!(
            "{}: not a regular file",
            at.display()
        )));
    }
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_files_but_not_what_links_point_to() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("big"), vec![1u8; 4 << 20]).unwrap();
        let before = disk_usage(dir.path());
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/file"), vec![1u8; 1 << 20]).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        let after = disk_usage(dir.path());
        assert!(after - before >= 1 << 20, "{before} -> {after}");
        assert!(after - before < 2 << 20, "the linked 4 MiB are not counted");
    }

    #[test]
    fn hand_over_changes_links_not_their_targets() {
        // Changing owners needs root; elsewhere the walk is still checked not to follow links.
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("target");
        std::fs::write(&target, "x").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/file"), "y").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("sub/link")).unwrap();
        let owner =
            |p: &Path| std::os::unix::fs::MetadataExt::uid(&std::fs::symlink_metadata(p).unwrap());
        let before = owner(&target);
        // SAFETY: geteuid has no preconditions.
        let uid = if unsafe { libc::geteuid() } == 0 {
            123_456
        } else {
            before
        };
        hand_over(dir.path(), uid).unwrap();
        assert_eq!(owner(&dir.path().join("sub/file")), uid);
        assert_eq!(owner(&dir.path().join("sub/link")), uid);
        assert_eq!(owner(&target), before, "the link's target keeps its owner");
    }

    #[test]
    fn read_regular_reads_files_and_refuses_links_and_fifos() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "outside").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/file"), "inside").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("via")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("sub/link"))
            .unwrap();
        let fifo = std::ffi::CString::new(dir.path().join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let read = |p: &str| read_regular(dir.path(), Path::new(p), 1 << 20);
        assert_eq!(read("sub/file").unwrap().unwrap(), b"inside");
        assert_eq!(read("sub/fi").unwrap(), None);
        assert_eq!(read("nothing/here").unwrap(), None);
        assert_eq!(
            read_regular(dir.path(), Path::new("sub/file"), 3)
                .unwrap()
                .unwrap(),
            b"ins"
        );
        for refused in ["via/secret", "sub/link", "fifo", "../x", "/etc/passwd"] {
            assert!(read(refused).is_err(), "{refused} was read");
        }
    }
}
