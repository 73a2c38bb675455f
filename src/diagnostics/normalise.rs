//! Removes what differs between machines and runs from diagnostic text, so feedback is identical on replay.
//!
//! Rules, applied in this order:
//! - terminal colour codes (ANSI escape sequences) are removed;
//! - every `(absolute path, placeholder)` pair is replaced, longest path first; a path matches
//!   only as a whole path (not as a prefix of a longer name), with or without a trailing slash;
//!   with an empty placeholder, `/a/b/src/main.rs` becomes `src/main.rs` and a bare `/a/b`
//!   becomes `.`;
//! - panic thread ids are removed: `thread 'main' (1234) panicked` -> `thread 'main' panicked`;
//! - build hashes that change with the crate's path or the run: rustc's scratch folders
//!   (`rustcAbC123`), cargo's metadata hashes in file names (`-032a0becafb63c70`), symbol hashes
//!   (`::h0123456789abcdef`) and codegen-unit object names (`.29i5…rcgu.o`), as in linker errors;
//! - hexadecimal addresses (`0x` and 8 or more hex digits) -> `0x…`;
//! - durations (`1.23s`, `15ms`, `2.5 µs`, `12 seconds`) -> `<duration>`;
//! - a progress bar's clock and rate as tqdm prints them (`[00:02<00:05, 1.23it/s]`, with any
//!   postfix such as `loss=0.0815`) -> `[<progress>]`: Python programs print them to stderr
//!   right before a traceback;
//! - notices printed only when the machine is slow are removed with their line: matplotlib's
//!   `Matplotlib is building the font cache; this may take a moment.` (a timer prints it when
//!   building the cache in the sandbox's fresh home folder takes over 5 seconds).

use std::path::Path;
use std::sync::LazyLock;

/// What the harness's cache folder (vendored crates, the warm build, libtorch) is called in
/// feedback, whatever it is on this machine: rustc's notes and tch's panics name files there.
pub const CACHE_PLACEHOLDER: &str = "$HARNESS_CACHE";

use regex::Regex;

/// Compiles one of this module's fixed patterns; they are tested, so failure is a programming error.
fn pattern(source: &str) -> Regex {
    Regex::new(source).expect("the fixed normalisation patterns are valid")
}

/// Colour and cursor codes (CSI) and terminal hyperlinks (OSC 8), as cargo writes to a terminal.
static ANSI: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"));
static THREAD_ID: LazyLock<Regex> = LazyLock::new(|| pattern(r"(thread '[^'\n]*') \(\d+\)"));
static RUSTC_TEMP: LazyLock<Regex> = LazyLock::new(|| pattern(r"/rustc[0-9A-Za-z]{6}\b"));
static METADATA_HASH: LazyLock<Regex> = LazyLock::new(|| pattern(r"-[0-9a-f]{16}\b"));
static SYMBOL_HASH: LazyLock<Regex> = LazyLock::new(|| pattern(r"::h[0-9a-f]{16}\b"));
static CODEGEN_UNIT: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"\.[0-9a-z]{8,}(?:\.[0-9a-z]+)*\.rcgu\.o\b"));
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| pattern(r"\b0x[0-9a-fA-F]{8,}\b"));
static DURATION: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"\b\d+(?:\.\d+)? ?(?:ns|µs|μs|us|ms|s|secs?|seconds?|mins?|minutes?)\b")
});

static SLOW_MACHINE_NOTICE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"(?m)^Matplotlib is building the font cache; this may take a moment\.\r?(?:\n|$)")
});
static PROGRESS_CLOCK: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"\[(?:\d+:)?\d{2}:\d{2}<(?:(?:\d+:)?\d{2}:\d{2}|\?), [^\]\n]*\]"));

/// Only the path rule of `normalise`: every `(absolute path, placeholder)` replaced, longest
/// first; nothing else touched. For a program's own output kept for the record: its words as
/// they were, without this machine's folders.
pub fn hide_paths(text: &str, replacements: &[(&Path, &str)]) -> String {
    let mut pairs: Vec<(String, &str)> = replacements
        .iter()
        .map(|(path, placeholder)| {
            let path = path.to_string_lossy();
            (path.trim_end_matches('/').to_owned(), *placeholder)
        })
        .filter(|(path, _)| !path.is_empty())
        .collect();
    pairs.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
    let mut text = text.to_owned();
    for (path, placeholder) in &pairs {
        text = replace_path(&text, path, placeholder);
    }
    text
}

/// Removes what differs between machines and runs, so feedback text is identical on replay.
///
/// See the module documentation for the rules. Paths that are empty or `/` are ignored, since
/// replacing them would rewrite every path in the text.
pub fn normalise(text: &str, replacements: &[(&Path, &str)]) -> String {
    let text = hide_paths(&strip_ansi(text), replacements);

    let text = THREAD_ID.replace_all(&text, "$1");
    let text = RUSTC_TEMP.replace_all(&text, "/rustc…");
    let text = METADATA_HASH.replace_all(&text, "-…");
    let text = SYMBOL_HASH.replace_all(&text, "::h…");
    let text = CODEGEN_UNIT.replace_all(&text, ".….rcgu.o");
    let text = ADDRESS.replace_all(&text, "0x…");
    let text = DURATION.replace_all(&text, "<duration>");
    let text = PROGRESS_CLOCK.replace_all(&text, "[<progress>]");
    let text = SLOW_MACHINE_NOTICE.replace_all(&text, "");
    text.into_owned()
}

/// Removes terminal colour and cursor codes (ANSI CSI sequences).
pub fn strip_ansi(text: &str) -> String {
    ANSI.replace_all(text, "").into_owned()
}

/// Whether `c` can continue a file or folder name, so that a path followed by it is a
/// different, longer name.
fn continues_name(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// Replaces whole-path occurrences of `path` (no trailing slash) in `text`.
fn replace_path(text: &str, path: &str, placeholder: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = rest.find(path) {
        let (before, after_start) = rest.split_at(found);
        let after = &after_start[path.len()..];
        out.push_str(before);
        let preceded_ok = starts_whole_path(text, text.len() - rest.len() + found);
        let mut next = after.chars();
        let ended_ok = match next.next() {
            None | Some('/') => true,
            // `/a/b.` ends a sentence; `/a/b.bak` is another file.
            Some('.') => !next.next().is_some_and(continues_name),
            Some(c) => !continues_name(c),
        };
        if !(preceded_ok && ended_ok) {
            // Not this path: keep its first character and look again after it.
            let first_len = path.chars().next().map_or(1, char::len_utf8);
            out.push_str(&after_start[..first_len]);
            rest = &after_start[first_len..];
            continue;
        }
        if placeholder.is_empty() {
            match after.strip_prefix('/') {
                Some(stripped) => {
                    rest = stripped;
                    continue;
                }
                // The crate root itself, as in cargo's `Compiling x v0.1.0 (/a/b)`.
                None => out.push('.'),
            }
        } else {
            out.push_str(placeholder);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Whether the match at byte `at` of `text` starts a path rather than continuing a longer one
/// (`/x/a/b` does not contain the path `/a/b`; `file:///a/b` does).
fn starts_whole_path(text: &str, at: usize) -> bool {
    let mut before = text[..at].chars().rev();
    match before.next() {
        None => true,
        Some('/') => matches!(before.next(), Some('/')),
        Some(c) => !(continues_name(c) || c == '.'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> &'static Path {
        Path::new("/srv/harness/gen-1")
    }

    #[test]
    fn removes_panic_thread_ids() {
        let text = "thread 'main' (12345) panicked at src/main.rs:2:5:\nboom\n\
                    thread '<unnamed>' (7) panicked at src/lib.rs:1:1:\n\
                    thread 'main' (99) has overflowed its stack";
        assert_eq!(
            normalise(text, &[]),
            "thread 'main' panicked at src/main.rs:2:5:\nboom\n\
             thread '<unnamed>' panicked at src/lib.rs:1:1:\n\
             thread 'main' has overflowed its stack"
        );
    }

    #[test]
    fn empty_placeholder_makes_paths_relative() {
        let text =
            "--> /srv/harness/gen-1/src/main.rs:3:5 and Compiling x v0.1.0 (/srv/harness/gen-1)";
        assert_eq!(
            normalise(text, &[(root(), "")]),
            "--> src/main.rs:3:5 and Compiling x v0.1.0 (.)"
        );
    }

    #[test]
    fn path_given_with_trailing_slash_matches_too() {
        let with_slash = Path::new("/srv/harness/gen-1/");
        let text = "at `/srv/harness/gen-1/Cargo.toml` in /srv/harness/gen-1.";
        let expected = "at `/W/Cargo.toml` in /W.";
        assert_eq!(normalise(text, &[(with_slash, "/W")]), expected);
        assert_eq!(normalise(text, &[(root(), "/W")]), expected);
    }

    #[test]
    fn only_whole_paths_are_replaced() {
        let text = "/srv/harness/gen-10/src /srv/harness/gen-1.bak /x/srv/harness/gen-1/src file:///srv/harness/gen-1#0.1.0";
        assert_eq!(
            normalise(text, &[(root(), "/W")]),
            "/srv/harness/gen-10/src /srv/harness/gen-1.bak /x/srv/harness/gen-1/src file:///W#0.1.0"
        );
    }

    #[test]
    fn longest_replacement_wins() {
        let target = Path::new("/srv/harness/gen-1/target");
        let text = "/srv/harness/gen-1/target/debug/x and /srv/harness/gen-1/src/main.rs";
        let expected = "<target>/debug/x and src/main.rs";
        assert_eq!(
            normalise(text, &[(root(), ""), (target, "<target>")]),
            expected
        );
        assert_eq!(
            normalise(text, &[(target, "<target>"), (root(), "")]),
            expected
        );
    }

    #[test]
    fn root_and_empty_paths_are_ignored() {
        let text = "/usr/lib/x";
        assert_eq!(
            normalise(text, &[(Path::new("/"), "R"), (Path::new(""), "E")]),
            text
        );
    }

    #[test]
    fn progress_bar_clocks_and_rates_become_placeholders() {
        let text = "Epoch 1 train:   0%|          | 0/2 [00:02<?, ?it/s]\nTesting: 100%|##| 32/32 [00:00<00:00, 95.27it/s, loss=0.0815]\n  File \"src/main.rs:12:30\"";
        assert_eq!(
            normalise(text, &[]),
            "Epoch 1 train:   0%|          | 0/2 [<progress>]\nTesting: 100%|##| 32/32 [<progress>]\n  File \"src/main.rs:12:30\""
        );
    }

    #[test]
    fn notices_of_a_slow_machine_are_removed_with_their_line() {
        let text = "Matplotlib is building the font cache; this may take a moment.\nTraceback (most recent call last):\n  File \"main.py\", line 3\nprint('Matplotlib is building the font cache; this may take a moment.')";
        assert_eq!(
            normalise(text, &[]),
            "Traceback (most recent call last):\n  File \"main.py\", line 3\nprint('Matplotlib is building the font cache; this may take a moment.')"
        );
    }

    #[test]
    fn durations_become_placeholders() {
        let text =
            "Finished `dev` profile in 0.41s; step 1.23s, 15ms, 2.5 µs, 3 ns, took 12 seconds";
        assert_eq!(
            normalise(text, &[]),
            "Finished `dev` profile in <duration>; step <duration>, <duration>, <duration>, \
             <duration>, took <duration>"
        );
    }

    #[test]
    fn addresses_become_placeholders() {
        let text = "at 0x7ffd5a3b2c10 and 0x0000000000401000, but 0xff and 0x1234 stay";
        assert_eq!(
            normalise(text, &[]),
            "at 0x… and 0x…, but 0xff and 0x1234 stay"
        );
    }

    #[test]
    fn ordinary_numbers_are_untouched() {
        let text = "line 12, size 256, 3 samples, i32s, E0308, [1, 3, 256, 256], v0.1.0, 12:5";
        assert_eq!(normalise(text, &[]), text);
    }

    #[test]
    fn build_hashes_are_removed() {
        let text = "\"/t/debug/deps/rustcZNgXTE/symbols.o\" \
                    /t/debug/deps/app-032a0becafb63c70.29i57bk8uh4eokm4t10o0vow9.04p5rbk.rcgu.o:\
                    (app::main::ha830b6d9936eeddf)";
        assert_eq!(
            normalise(text, &[]),
            "\"/t/debug/deps/rustc…/symbols.o\" /t/debug/deps/app-….….rcgu.o:(app::main::h…)"
        );
    }

    #[test]
    fn ansi_codes_are_stripped() {
        let text = "\x1b[0m\x1b[1m\x1b[38;5;9merror[E0425]\x1b[0m: cannot find value \
                    \x1b]8;;file:///x/src/main.rs\x1b\\src/main.rs\x1b]8;;\x1b\\";
        assert_eq!(
            normalise(text, &[]),
            "error[E0425]: cannot find value src/main.rs"
        );
    }

    #[test]
    fn the_harness_cache_is_named_the_same_on_every_machine() {
        let text = "error: no matching package found\nlocation searched: directory source `/home/a/.cache/harness/vendor` (which is replacing registry `crates-io`)\nthread 'main' panicked at /home/a/.cache/harness/vendor/tch-0.24.0/src/wrappers/tensor_generated.rs:9:5:";
        let cache = Path::new("/home/a/.cache/harness");
        let clean = normalise(text, &[(cache, CACHE_PLACEHOLDER)]);
        assert!(!clean.contains("/home/a"), "{clean}");
        assert!(
            clean.contains("directory source `$HARNESS_CACHE/vendor`"),
            "{clean}"
        );
        assert!(clean.contains("panicked at $HARNESS_CACHE/vendor/tch-0.24.0/src/wrappers/tensor_generated.rs:9:5:"), "{clean}");
    }

    #[test]
    fn hiding_paths_touches_nothing_else() {
        let text = "wrote /work/c/out/losses.csv in 1.5s (thread 'main' (12))\n";
        let hidden = hide_paths(text, &[(Path::new("/work/c"), "")]);
        assert_eq!(
            hidden,
            "wrote out/losses.csv in 1.5s (thread 'main' (12))\n"
        );
    }
}
