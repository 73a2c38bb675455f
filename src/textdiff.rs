//! Unified diffs of two texts, for replay drift reports and `harness diff`.

/// A unified diff from `old` to `new`, with the given labels; empty when they are equal.
pub fn unified(old: &str, old_label: &str, new: &str, new_label: &str) -> String {
    if old == new {
        return String::new();
    }
    let mut options = git2::DiffOptions::new();
    options.context_lines(3);
    let patch = git2::Patch::from_buffers(
        old.as_bytes(),
        Some(std::path::Path::new(old_label)),
        new.as_bytes(),
        Some(std::path::Path::new(new_label)),
        Some(&mut options),
    );
    match patch.and_then(|mut p| p.to_buf()) {
        Ok(buf) => String::from_utf8_lossy(&buf).into_owned(),
        // libgit2 only fails here on allocation failure; fall back to showing both texts.
        Err(_) => format!("--- {old_label}\n{old}\n+++ {new_label}\n{new}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_changed_lines_with_labels() {
        let diff = unified("a\nb\nc\n", "recorded", "a\nB\nc\n", "replay");
        assert!(diff.contains("--- a/recorded"), "{diff}");
        assert!(diff.contains("+++ b/replay"), "{diff}");
        assert!(diff.contains("-b\n"), "{diff}");
        assert!(diff.contains("+B\n"), "{diff}");
    }

    #[test]
    fn equal_texts_give_nothing() {
        assert_eq!(unified("x\n", "a", "x\n", "b"), "");
    }
}
