//! Tests of extraction on replies formatted the ways LLMs format them.

use super::*;

/// The files of the U-Net crate the prompt asks for.
const CRATE: &[&str] = &[
    "Cargo.toml",
    "src/main.rs",
    "src/dataset.rs",
    "src/model.rs",
    "src/train.rs",
];

fn extract(reply: &str, expected: &[&str]) -> Extraction {
    match extract_files(reply, expected) {
        Ok(extraction) => extraction,
        Err(e) => panic!("extraction failed: {e:?}"),
    }
}

fn paths(extraction: &Extraction) -> Vec<&str> {
    extraction.files.iter().map(|f| f.path.as_str()).collect()
}

/// The path the only file of a reply gets, or `None` when the reply yields no file.
fn path_of(reply: &str, expected: &[&str]) -> Option<String> {
    let extraction = extract_files(reply, expected).ok()?;
    assert_eq!(extraction.files.len(), 1, "{extraction:#?}");
    Some(extraction.files[0].path.clone())
}

fn notes_mention(extraction: &Extraction, needle: &str) -> bool {
    extraction.notes.iter().any(|n| n.contains(needle))
}

// Whole replies, in the styles the common LLMs use.

#[test]
fn headings_with_code_spans_and_a_run_command() {
    let reply = r##"Here is the complete implementation:

### `Cargo.toml`
```toml
[package]
name = "unet"
version = "0.1.0"
edition = "2021"

[dependencies]
tch = "0.17"
```

### `src/main.rs`

```rust
mod dataset;
mod model;

fn main() {
    println!("training");
}
```

### `src/model.rs`
```rust
pub struct UNet;
```

To train the model, run:

```bash
cargo run --release -- train --data-dir data --out-dir out
```

Let me know if you need anything else!
"##;
    insta::assert_yaml_snapshot!(extract(reply, CRATE));
}

#[test]
fn numbered_bold_list_with_indented_blocks() {
    let reply = r##"I'll create a U-Net crate with four source files.

1. **Cargo.toml** - dependencies
   ```toml
   [package]
   name = "unet"
   version = "0.1.0"
   edition = "2021"
   ```

2. **src/dataset.rs** — loads images and masks
   ```rust
   pub struct Dataset {
       pub images: Vec<String>,
   }
   ```

3. **`src/train.rs`**:

   ```rust
   pub fn train() {
       for epoch in 0..10 {
           println!("epoch {epoch}");
       }
   }
   ```

#### 4. `src/main.rs`
```rust
fn main() {}
```

These files together form the crate.
"##;
    insta::assert_yaml_snapshot!(extract(reply, CRATE));
}

#[test]
fn first_line_comments_and_a_reply_cut_off() {
    let reply = r##"```toml
# Cargo.toml
[package]
name = "unet"
version = "0.1.0"
```

```rust
// src/main.rs
mod model;
fn main() {}
```

```rust
// File: model.rs
use tch::nn;

pub fn net(vs: &nn::Path) -> nn::Sequential {
    nn::seq()
"##;
    insta::assert_yaml_snapshot!(extract(reply, CRATE));
}

#[test]
fn bold_file_labels_a_tree_and_a_corrected_file() {
    let reply = r##"## Project Structure

```
unet/
├── Cargo.toml
└── src/
    ├── main.rs
    └── dataset.rs
```

**File: Cargo.toml**
```toml
[package]
name = "unet"
version = "0.1.0"
```

`src/dataset.rs`:
```rust
pub fn load() -> Vec<u8> { vec![] }
```

**File: src/main.rs**
```rust
fn main() { dataset::load(); }
```

Wait, `main` needs the module declaration. Here is the corrected file:

**File: src/main.rs**
```rust
mod dataset;
fn main() { dataset::load(); }
```
"##;
    insta::assert_yaml_snapshot!(extract(reply, CRATE));
}

#[test]
fn unlabelled_manifest_and_single_rust_block() {
    let reply = r##"Sure! First the manifest:

```toml
[package]
name = "unet"
version = "0.1.0"

[dependencies]
tch = "0.17"
```

And the program:

```rust
fn main() {
    println!("hello");
}
```
"##;
    insta::assert_yaml_snapshot!(extract(reply, &["Cargo.toml", "src/main.rs"]));
}

#[test]
fn python_package_with_hash_comments() {
    let reply = r##"Here's the package layout.

```python
# src/unet/model.py
import torch.nn as nn

class UNet(nn.Module):
    def __init__(self):
        super().__init__()
```

```python title="src/unet/__init__.py"
```

The `nn.Module` subclass is used like this:

```python
from unet.model import UNet
```
"##;
    insta::assert_yaml_snapshot!(extract(
        reply,
        &["src/unet/__init__.py", "src/unet/model.py"]
    ));
}

// Fences.

#[test]
fn tilde_and_long_fences_open_and_close() {
    let reply = "~~~rust src/a.rs\nfn a() {}\n~~~\n\n`````rust src/b.rs\nfn b() {}\n`````\n";
    let extraction = extract(reply, &[]);
    assert_eq!(paths(&extraction), ["src/a.rs", "src/b.rs"]);
    assert_eq!(extraction.files[0].content, "fn a() {}\n");
    assert_eq!(extraction.files[1].content, "fn b() {}\n");
}

#[test]
fn a_closing_fence_needs_the_same_character_and_enough_length() {
    let reply = "````rust src/a.rs\nlet a = 1;\n```\n~~~~\n````   \n";
    let extraction = extract(reply, &[]);
    assert_eq!(extraction.files[0].content, "let a = 1;\n```\n~~~~\n");
    assert!(extraction.notes.is_empty(), "{:?}", extraction.notes);
}

#[test]
fn a_fence_with_text_after_it_does_not_close() {
    let reply = "```rust src/a.rs\nlet a = 1;\n``` not a close\n```\n";
    let extraction = extract(reply, &[]);
    assert_eq!(extraction.files[0].content, "let a = 1;\n``` not a close\n");
}

#[test]
fn fences_indented_up_to_three_spaces_count_and_their_indent_is_removed() {
    let reply = "   ```python app.py\n   def f():\n       return 1\n  ```\n";
    let extraction = extract(reply, &[]);
    assert_eq!(extraction.files[0].content, "def f():\n    return 1\n");
    let four = "    ```rust src/a.rs\n    fn a() {}\n    ```\n";
    assert_eq!(extract_files(four, &[]), Err(ExtractError::NoCode));
}

#[test]
fn a_markdown_example_inside_a_longer_fence_is_content() {
    let reply = "Put this in the README:\n\n````markdown README.md\n# Usage\n\n```bash\ncargo run\n```\n````\n";
    let extraction = extract(reply, &[]);
    assert_eq!(paths(&extraction), ["README.md"]);
    assert_eq!(
        extraction.files[0].content,
        "# Usage\n\n```bash\ncargo run\n```\n"
    );
}

#[test]
fn a_markdown_block_keeps_nested_blocks_of_the_same_fence() {
    let reply = "```markdown README.md\n# Usage\n```bash\ncargo run\n```\nDone.\n```\n\n```rust src/main.rs\nfn main() {}\n```\n";
    let extraction = extract(reply, &[]);
    assert_eq!(paths(&extraction), ["README.md", "src/main.rs"]);
    assert_eq!(
        extraction.files[0].content,
        "# Usage\n```bash\ncargo run\n```\nDone.\n"
    );
}

#[test]
fn triple_backticks_inline_are_not_a_fence() {
    let reply = "```rust``` is how a fence starts.\n";
    assert_eq!(extract_files(reply, CRATE), Err(ExtractError::NoCode));
}

#[test]
fn an_unterminated_block_keeps_its_lines_with_a_note() {
    let reply = "### src/main.rs\n```rust\nfn main() {\n    let x = 1;\n";
    let extraction = extract(reply, CRATE);
    assert_eq!(extraction.files[0].content, "fn main() {\n    let x = 1;\n");
    assert!(
        notes_mention(&extraction, "not closed"),
        "{:?}",
        extraction.notes
    );
}

#[test]
fn an_unterminated_empty_block_is_skipped() {
    let reply = "```rust src/model.rs\npub struct M;\n```\n\n### src/main.rs\n```rust\n";
    let extraction = extract(reply, CRATE);
    assert_eq!(paths(&extraction), ["src/model.rs"]);
    assert!(
        notes_mention(&extraction, "empty and not closed"),
        "{:?}",
        extraction.notes
    );
}

#[test]
fn an_explicitly_empty_file_is_kept() {
    let extraction = extract("```python pkg/__init__.py\n```\n", &[]);
    assert_eq!(extraction.files[0].content, "");
}

// Content.

#[test]
fn crlf_becomes_lf_and_every_line_ends_with_a_newline() {
    let reply = "```rust src/main.rs\r\nfn main() {\r\n\r\n}\r\n```\r\n";
    let extraction = extract(reply, CRATE);
    assert_eq!(extraction.files[0].content, "fn main() {\n\n}\n");
}

#[test]
fn content_is_kept_byte_for_byte() {
    let body = "\tfn main() {   \n  // trailing spaces stay   \n}";
    let reply = format!("```rust src/main.rs\n{body}\n```\n");
    let extraction = extract(&reply, CRATE);
    assert_eq!(extraction.files[0].content, format!("{body}\n"));
}

// Where the path comes from.

#[test]
fn info_string_forms_name_the_path() {
    let forms = [
        "rust src/main.rs",
        "src/main.rs",
        "rust:src/main.rs",
        "rust title=\"src/main.rs\"",
        "rust file=src/main.rs",
        "rust path=src/main.rs",
        "rust filename=\"./src/main.rs\"",
        "{.rust file=src/main.rs}",
        "rs // src/main.rs",
        "main.rs",
    ];
    for form in forms {
        let reply = format!("```{form}\nfn main() {{}}\n```\n");
        assert_eq!(
            path_of(&reply, CRATE).as_deref(),
            Some("src/main.rs"),
            "{form}"
        );
    }
    assert_eq!(
        path_of("```toml Cargo.toml\n[package]\n```\n", CRATE).as_deref(),
        Some("Cargo.toml")
    );
}

#[test]
fn label_lines_above_the_block_name_the_path() {
    let labels = [
        "### src/model.rs",
        "## File: `src/model.rs`",
        "#### 3. `src/model.rs`",
        "### 3. The model (`src/model.rs`)",
        "**src/model.rs**",
        "**`src/model.rs`**:",
        "`src/model.rs`:",
        "**File: src/model.rs**",
        "src/model.rs:",
        "File: src/model.rs",
        "Filename: model.rs",
        "- `src/model.rs` (the network)",
        "2) **src/model.rs** — U-Net layers",
        "> **src/model.rs**",
        "Now let's write `src/model.rs`:",
        "Here is model.rs:",
    ];
    for label in labels {
        let reply = format!("Intro.\n\n{label}\n```rust\npub struct UNet;\n```\n");
        assert_eq!(
            path_of(&reply, CRATE).as_deref(),
            Some("src/model.rs"),
            "{label}"
        );
    }
}

#[test]
fn lines_that_are_not_labels_name_nothing() {
    let lines = [
        "This crate uses `src/model.rs` heavily and more prose follows here.",
        "Both `src/model.rs` and `src/train.rs` change:",
        "## Model",
        "**Note:** the model is small.",
        "### Subclassing `nn.Module`",
        "**e.g.**",
        "### The my file.rs helper",
    ];
    for line in lines {
        let reply = format!("{line}\n```rust\nlet x = 1;\n```\n");
        assert_eq!(path_of(&reply, CRATE), None, "{line}");
    }
}

#[test]
fn a_label_may_sit_behind_blank_lines_or_one_line_of_prose() {
    let blank = "### `src/train.rs`\n\n\n```rust\nfn t() {}\n```\n";
    assert_eq!(path_of(blank, CRATE).as_deref(), Some("src/train.rs"));
    let prose = "### `src/train.rs`\nThe training loop with Adam.\n```rust\nfn t() {}\n```\n";
    assert_eq!(path_of(prose, CRATE).as_deref(), Some("src/train.rs"));
}

#[test]
fn a_label_too_far_above_is_ignored() {
    let reply =
        "### `src/train.rs`\nFirst line of prose.\nSecond line of prose.\n```text\nhello\n```\n";
    assert_eq!(path_of(reply, CRATE), None);
}

#[test]
fn a_long_label_line_is_ignored() {
    let long = format!("**src/train.rs** {}", "word ".repeat(30));
    let reply = format!("{long}\n```text\nhello\n```\n");
    assert_eq!(path_of(&reply, CRATE), None);
}

#[test]
fn a_label_never_reaches_across_an_earlier_block() {
    let reply = "### src/main.rs\n```rust\nfn main() {}\n```\n```text\nhello\n```\n";
    let extraction = extract(reply, &["src/main.rs"]);
    assert_eq!(paths(&extraction), ["src/main.rs"]);
    assert_eq!(extraction.files[0].content, "fn main() {}\n");
}

#[test]
fn first_line_comments_name_the_path_and_stay_in_the_content() {
    let cases = [
        ("rust", "// src/main.rs", "src/main.rs"),
        ("rust", "// File: src/main.rs", "src/main.rs"),
        ("rust", "//! src/main.rs", "src/main.rs"),
        ("rust", "/* main.rs */", "src/main.rs"),
        ("rust", "// ===== src/main.rs =====", "src/main.rs"),
        ("", "// src/main.rs", "src/main.rs"),
        ("toml", "# Cargo.toml", "Cargo.toml"),
        ("python", "# src/app.py", "src/app.py"),
        ("", "# src/app.py", "src/app.py"),
    ];
    for (lang, comment, path) in cases {
        let reply = format!("```{lang}\n\n{comment}\nbody\n```\n");
        let extraction =
            extract_files(&reply, CRATE).unwrap_or_else(|e| panic!("{comment}: {e:?}"));
        assert_eq!(paths(&extraction), [path], "{comment}");
        assert_eq!(extraction.files[0].content, format!("\n{comment}\nbody\n"));
    }
}

#[test]
fn comments_that_are_not_path_comments_name_nothing() {
    let cases = [
        ("rust", "//! Dataset loading for src/dataset.rs"),
        ("rust", "// This is the entry point in main.rs"),
        ("rust", "# src/main.rs"),
        ("rust", "#[derive(Debug)]"),
        ("toml", "// Cargo.toml"),
        ("sql", "-- schema.sql"),
        ("python", "#!/usr/bin/env python3"),
    ];
    for (lang, comment) in cases {
        let reply = format!("```{lang}\n{comment}\nbody\n```\n");
        let result = extract_files(&reply, &["Cargo.toml"]);
        assert!(
            matches!(result, Err(ExtractError::UnparseableFiles { .. })),
            "{comment}: {result:?}"
        );
    }
}

#[test]
fn candidates_must_look_like_paths() {
    let good = ["src/main.rs", "Makefile", "src/x.cu", "data/a-b_c.v2.json"];
    for name in good {
        let reply = format!("```text {name}\nx\n```\n");
        assert_eq!(path_of(&reply, &[]).as_deref(), Some(name), "{name}");
    }
    let bad = [
        "my file.rs",
        "src/main",
        "v0.17",
        "src/",
        "main.rs?x=1",
        "x.notanext",
    ];
    for name in bad {
        let reply = format!("**{name}**\n```text\nx\n```\n");
        assert_eq!(path_of(&reply, &[]), None, "{name}");
    }
}

// Priorities between sources.

#[test]
fn the_info_string_beats_a_heading() {
    let reply = "### src/model.rs\n```rust src/train.rs\nfn t() {}\n```\n";
    assert_eq!(path_of(reply, CRATE).as_deref(), Some("src/train.rs"));
}

#[test]
fn a_heading_beats_a_first_line_comment() {
    let reply = "### src/model.rs\n```rust\n// src/train.rs\nfn t() {}\n```\n";
    assert_eq!(path_of(reply, CRATE).as_deref(), Some("src/model.rs"));
}

#[test]
fn a_first_line_comment_beats_a_prose_mention() {
    let reply =
        "It builds on the loader from `dataset.rs`:\n```rust\n// src/train.rs\nfn t() {}\n```\n";
    assert_eq!(path_of(reply, CRATE).as_deref(), Some("src/train.rs"));
}

#[test]
fn a_prose_mention_needs_the_language_of_the_file() {
    let untagged = "Run `main.rs` like this:\n```\ncargo run\n```\n";
    assert_eq!(path_of(untagged, CRATE), None);
    let other = "Here is `src/model.rs`:\n```python\nx = 1\n```\n";
    assert_eq!(path_of(other, CRATE), None);
    let same = "Here is `src/model.rs`:\n```rs\nstruct M;\n```\n";
    assert_eq!(path_of(same, CRATE).as_deref(), Some("src/model.rs"));
}

#[test]
fn a_heading_over_commands_labels_only_a_shell_script() {
    let commands = "### `Cargo.toml`\nAdd the dependency:\n```bash\ncargo add tch\n```\n";
    assert_eq!(path_of(commands, CRATE), None);
    let script = "### `scripts/train.sh`\n```sh\ncargo run -- train\n```\n";
    assert_eq!(path_of(script, CRATE).as_deref(), Some("scripts/train.sh"));
}

#[test]
fn a_prose_mention_does_not_label_shell_commands() {
    let reply = "```rust src/main.rs\nfn main() {}\n```\nThen run `src/main.rs` like this:\n```bash\ncargo run\n```\n";
    let extraction = extract(reply, CRATE);
    assert_eq!(paths(&extraction), ["src/main.rs"]);
    assert!(
        notes_mention(&extraction, "shell commands"),
        "{:?}",
        extraction.notes
    );
}

// Expected files.

#[test]
fn a_bare_name_maps_to_the_one_expected_file_with_that_name() {
    assert_eq!(
        path_of("```rust dataset.rs\n```\n", CRATE).as_deref(),
        Some("src/dataset.rs")
    );
    assert_eq!(
        path_of("```rust lib.rs\n```\n", CRATE).as_deref(),
        Some("lib.rs")
    );
}

#[test]
fn an_explicit_directory_is_kept() {
    assert_eq!(
        path_of("```rust src/bin/main.rs\n```\n", CRATE).as_deref(),
        Some("src/bin/main.rs")
    );
}

#[test]
fn a_bare_name_shared_by_several_expected_files_stays_bare_with_a_note() {
    let expected = ["src/a/mod.rs", "src/b/mod.rs"];
    let extraction = extract("```rust mod.rs\n```\n", &expected);
    assert_eq!(paths(&extraction), ["mod.rs"]);
    assert!(
        notes_mention(&extraction, "any of 2 expected files"),
        "{:?}",
        extraction.notes
    );
}

#[test]
fn an_expected_dotfile_is_a_path() {
    assert_eq!(
        path_of("```text .gitignore\n/data\n```\n", &[".gitignore"]).as_deref(),
        Some(".gitignore")
    );
    assert_eq!(path_of("**.gitignore**\n```text\n/data\n```\n", &[]), None);
}

// Normalising and refusing paths.

#[test]
fn paths_are_normalised() {
    let forms = [
        "./src/main.rs",
        "src\\main.rs",
        "src/./main.rs",
        "src//main.rs",
    ];
    for form in forms {
        let reply = format!("```rust {form}\nfn main() {{}}\n```\n");
        assert_eq!(
            path_of(&reply, &[]).as_deref(),
            Some("src/main.rs"),
            "{form}"
        );
    }
}

#[test]
fn harness_owned_and_escaping_paths_are_refused_with_a_note() {
    let refused = [
        ("/etc/passwd.txt", "absolute"),
        ("C:\\crate\\src\\main.rs", "absolute"),
        ("../outside.rs", ".."),
        ("src/../../outside.rs", ".."),
        (".cargo/config.toml", "harness owns"),
        ("target/debug/build.rs", "harness owns"),
        ("Cargo.lock", "harness owns"),
        ("./Cargo.lock", "harness owns"),
    ];
    for (path, reason) in refused {
        let reply = format!("```text {path}\nx\n```\n\n```rust src/main.rs\nfn main() {{}}\n```\n");
        let extraction = extract(&reply, CRATE);
        assert_eq!(paths(&extraction), ["src/main.rs"], "{path}");
        assert!(
            notes_mention(&extraction, "refused") && notes_mention(&extraction, reason),
            "{path}: {:?}",
            extraction.notes
        );
    }
}

#[test]
fn a_refused_path_is_not_replaced_by_a_fallback() {
    let reply = "```toml .cargo/config.toml\n[package]\n```\n";
    let result = extract_files(reply, CRATE);
    let Err(ExtractError::UnparseableFiles { notes }) = result else {
        panic!("expected UnparseableFiles, got {result:?}");
    };
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains(".cargo/config.toml"), "{notes:?}");
}

// Duplicates.

#[test]
fn the_last_duplicate_wins_in_first_appearance_order() {
    let reply = "```rust src/main.rs\nfn old() {}\n```\n```rust src/model.rs\nstruct M;\n```\n```rust ./src/main.rs\nfn new() {}\n```\n";
    let extraction = extract(reply, CRATE);
    assert_eq!(paths(&extraction), ["src/main.rs", "src/model.rs"]);
    assert_eq!(extraction.files[0].content, "fn new() {}\n");
    assert_eq!(
        extraction.notes,
        ["src/main.rs is given by block 1 and again by block 3; the last one was kept"]
    );
}

// Fallbacks.

#[test]
fn a_manifest_without_a_label_becomes_cargo_toml() {
    let reply = "```toml\n[package]\nname = \"x\"\n```\n";
    let extraction = extract(reply, CRATE);
    assert_eq!(paths(&extraction), ["Cargo.toml"]);
    assert!(
        notes_mention(&extraction, "[package]"),
        "{:?}",
        extraction.notes
    );
}

#[test]
fn a_manifest_without_a_label_is_skipped_when_not_expected_or_already_named() {
    let reply = "```toml\n[package]\nname = \"x\"\n```\n";
    assert!(matches!(
        extract_files(reply, &["src/main.rs", "src/lib.rs"]),
        Err(ExtractError::UnparseableFiles { .. })
    ));
    let named = format!("```toml Cargo.toml\n[package]\nname = \"y\"\n```\n{reply}");
    let extraction = extract(&named, CRATE);
    assert_eq!(extraction.files[0].content, "[package]\nname = \"y\"\n");
    assert!(
        notes_mention(&extraction, "another block names Cargo.toml"),
        "{:?}",
        extraction.notes
    );
}

#[test]
fn a_toml_snippet_without_package_is_not_a_manifest() {
    let reply = "Add this:\n```toml\n[dependencies]\ntch = \"0.17\"\n```\n";
    assert!(matches!(
        extract_files(reply, CRATE),
        Err(ExtractError::UnparseableFiles { .. })
    ));
}

#[test]
fn the_only_unnamed_rust_block_becomes_the_only_unclaimed_rust_file() {
    let reply = "```rust src/main.rs\nfn main() {}\n```\n```rust\nstruct M;\n```\n";
    let extraction = extract(reply, &["Cargo.toml", "src/main.rs", "src/model.rs"]);
    assert_eq!(paths(&extraction), ["src/main.rs", "src/model.rs"]);
    assert!(extraction.files[1].guessed && !extraction.files[0].guessed);
    assert!(
        notes_mention(&extraction, "the only expected Rust file"),
        "{:?}",
        extraction.notes
    );
}

#[test]
fn no_rust_fallback_when_it_is_ambiguous() {
    let two_blocks = "```rust\nfn a() {}\n```\n```rust\nfn b() {}\n```\n";
    let result = extract_files(two_blocks, &["src/main.rs"]);
    let Err(ExtractError::UnparseableFiles { notes }) = result else {
        panic!("expected UnparseableFiles, got {result:?}");
    };
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes.iter().all(|n| n.contains("names no file")),
        "{notes:?}"
    );

    let two_files = "```rust\nfn a() {}\n```\n";
    assert!(matches!(
        extract_files(two_files, &["src/main.rs", "src/model.rs"]),
        Err(ExtractError::UnparseableFiles { .. })
    ));
}

// Errors.

#[test]
fn a_reply_without_blocks_is_no_code() {
    let reply = "I'm sorry, but I can't help with that.";
    assert_eq!(extract_files(reply, CRATE), Err(ExtractError::NoCode));
    assert_eq!(extract_files("", CRATE), Err(ExtractError::NoCode));
}

#[test]
fn blocks_without_files_are_unparseable_with_notes() {
    let reply = "Run:\n```bash\ncargo run\n```\n```\nsome text\n```\n";
    assert_eq!(
        extract_files(reply, CRATE),
        Err(ExtractError::UnparseableFiles {
            notes: vec![
                "block 1 (bash, line 2) holds shell commands, not a file; skipped".to_owned(),
                "block 2 (line 5) names no file; skipped".to_owned(),
            ]
        })
    );
}

#[test]
fn a_large_reply_is_extracted_whole() {
    let mut reply = String::new();
    for i in 0..500 {
        reply.push_str(&format!("### `src/m{i}.rs`\n\n```rust\n"));
        for j in 0..10 {
            reply.push_str(&format!(
                "pub fn f{j}() -> u32 {{ {j} }} // some padding text\n"
            ));
        }
        reply.push_str("```\n\n");
    }
    assert!(reply.len() > 200_000);
    let extraction = extract(&reply, &[]);
    assert_eq!(extraction.files.len(), 500);
    assert_eq!(extraction.files[499].path, "src/m499.rs");
    assert!(extraction.notes.is_empty());
}

/// Qwen2.5-Coder 1.5B's layout: unnamed fences, the manifest in one labelled `rust`.
#[test]
fn a_manifest_in_a_rust_fence_and_a_lone_main_are_inferred_and_marked() {
    let reply = "Here is the crate.\n\n```rust\n[package]\nname = \"unet\"\nversion = \"0.1.0\"\n\n[dependencies]\ntch = \"0.24\"\n```\n\n```rust\nuse tch::nn;\n\nfn main() {\n    println!(\"hi\");\n}\n```\n";
    let expected = [
        "Cargo.toml",
        "src/main.rs",
        "src/dataset.rs",
        "src/model.rs",
        "src/train.rs",
    ];
    let extraction = extract(reply, &expected);
    assert_eq!(paths(&extraction), ["Cargo.toml", "src/main.rs"]);
    assert!(extraction.files.iter().all(|file| file.guessed));
    assert!(notes_mention(&extraction, "taken as Cargo.toml"));
    assert!(notes_mention(&extraction, "it has `fn main`"));
}

#[test]
fn rust_code_with_a_package_line_in_a_string_is_not_a_manifest_and_two_mains_stay_unnamed() {
    let reply = "```rust\nfn main() {\n    let s = \"\n[package]\n\";\n}\n```\n```rust\nfn main() {}\n```\n";
    assert!(matches!(
        extract_files(reply, &["Cargo.toml", "src/main.rs", "src/model.rs"]),
        Err(ExtractError::UnparseableFiles { .. })
    ));
}

/// The Python target's files, as its prompt names them.
const PYTHON: &[&str] = &["dataset.py", "model.py", "train.py", "main.py"];

#[test]
fn a_title_cased_label_is_taken_as_the_expected_file_it_spells() {
    // As Qwen2.5-Coder 1.5B wrote its Python files: headings in title case over code that
    // imports `dataset` and `model`.
    let reply = "### Dataset.py\n```python\nclass ImageDataset:\n    pass\n```\n\n### Model.py\n```python\nclass UNet:\n    pass\n```\n\n### main.py\n```python\nfrom dataset import ImageDataset\nfrom model import UNet\n```\n\n### Notes.py\n```python\nx = 1\n```\n";
    let extraction = extract(reply, PYTHON);
    assert_eq!(
        paths(&extraction),
        ["dataset.py", "model.py", "main.py", "Notes.py"]
    );
    assert!(
        notes_mention(&extraction, "names Dataset.py; it was taken as dataset.py"),
        "{extraction:#?}"
    );
    assert!(extraction.files.iter().all(|f| !f.guessed));
}

#[test]
fn a_name_in_another_case_stays_as_written_when_a_block_gives_the_expected_file_too() {
    let reply = "```python dataset.py\nA = 1\n```\n\n```python Dataset.py\nB = 2\n```\n";
    let extraction = extract(reply, PYTHON);
    assert_eq!(paths(&extraction), ["dataset.py", "Dataset.py"]);
    assert_eq!(extraction.files[0].content, "A = 1\n");
    assert!(
        !notes_mention(&extraction, "letter case"),
        "{extraction:#?}"
    );
}
