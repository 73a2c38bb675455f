//! Disk use of the cache's pieces.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Bytes a folder takes on disk (allocated blocks, like `du`), symbolic links not followed.
/// Unreadable entries count as nothing: this is for reporting, never for decisions.
pub fn disk_usage(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    let own = meta.blocks() * 512;
    if !meta.is_dir() {
        return own;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return own;
    };
    own + entries
        .filter_map(Result::ok)
        .map(|entry| disk_usage(&entry.path()))
        .sum::<u64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_files_in_subfolders() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/f"), vec![7u8; 100_000]).unwrap();
        let used = disk_usage(dir.path());
        assert!(used >= 100_000, "{used}");
        assert_eq!(disk_usage(&dir.path().join("absent")), 0);
    }
}
