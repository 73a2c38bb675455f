//! Code blocks out of a reply copied from a chat window: each starts under a language line and
//! the window's copy button (`python` then `Copy code` or `Copy`); nothing marks its end, so it
//! ends where prose starts again. Which lines are prose and which are Python is decided here.

use std::sync::LazyLock;

use regex::Regex;

/// A code block of a reply: its language label, lines and the file it is for.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeBlock {
    /// The label line above the copy button (`python`, `bash`, ...).
    pub language: String,
    /// 0-based line range of the code within the reply's lines, end exclusive.
    pub lines: (usize, usize),
    pub code: String,
    /// The file it is for, from its first comment or the heading above it; `None` when neither
    /// names one.
    pub file: Option<String>,
}

/// A statement or a clause that starts a Python line.
static PYTHON_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(import |from \S+ import |def |class |if |elif |else:|for |while |try:|except|finally:",
        r"|with |return\b|raise\b|assert |pass$|break$|continue$|global |nonlocal |yield\b|async ",
        r"|await |lambda\b|del |print\(|@[A-Za-z_]|#|[\]\)\}]|\.\.\.$)"
    ))
    .expect("the statement pattern is valid")
});
/// `x = ...`, `self.a[0] += 1`, `a, b = f()`, `main()`, `x: int = 3`.
static PYTHON_EXPRESSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^[A-Za-z_][\w.]*(\[[^\]]*\])?(\s*,\s*[A-Za-z_][\w.]*)*\s*(:\s*[\w\[\], .]+)?",
        r"\s*(=|\+=|-=|\*=|/=|//=|%=|\|=|&=)\s*\S",
        r"|^[A-Za-z_][\w.]*\(.*\)\s*$|^[A-Za-z_][\w.]*\($"
    ))
    .expect("the expression pattern is valid")
});
/// A language line above a copy button.
static LANGUAGE_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9+#-]{0,15}$").expect("the label pattern is valid"));
/// `dataset.py`, `# model.py`, `1. train.py`, `train.py (Corrected)`, `Here's model.py:`.
static FILE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([A-Za-z_][\w-]*\.py)\b").expect("the file pattern is valid"));

/// The copy button's text under a language line.
pub(super) fn is_copy_button(line: &str) -> bool {
    matches!(line.trim(), "Copy" | "Copy code")
}

/// Whether a line, outside a string, reads as Python rather than prose.
pub(super) fn is_python_line(line: &str) -> bool {
    if line.trim().is_empty() || line.starts_with([' ', '\t']) {
        return true;
    }
    PYTHON_START.is_match(line) || PYTHON_EXPRESSION.is_match(line)
}

/// Counts the triple quotes on a line, to know whether a docstring stays open after it.
fn toggles_docstring(line: &str) -> bool {
    (line.matches("\"\"\"").count() + line.matches("'''").count()) % 2 == 1
}

/// The code blocks of `reply_lines`, in order.
pub fn code_blocks(reply_lines: &[&str]) -> Vec<CodeBlock> {
    let mut blocks = Vec::new();
    let mut index = 0;
    while index < reply_lines.len() {
        let Some(code_start) = block_start(reply_lines, index) else {
            index += 1;
            continue;
        };
        let language = reply_lines[index].trim().to_owned();
        let mut end = code_start;
        let mut in_docstring = false;
        while end < reply_lines.len() {
            let line = reply_lines[end];
            if !in_docstring && block_start(reply_lines, end).is_some() {
                break;
            }
            let code_like = in_docstring || is_python_line(line) || language != "python";
            if !code_like {
                break;
            }
            // Another language's block runs to its first blank line: no prose test fits it.
            if language != "python" && line.trim().is_empty() {
                break;
            }
            if toggles_docstring(line) {
                in_docstring = !in_docstring;
            }
            end += 1;
        }
        while end > code_start && reply_lines[end - 1].trim().is_empty() {
            end -= 1;
        }
        let code_lines = &reply_lines[code_start..end];
        let file = code_lines
            .first()
            .filter(|line| line.trim_start().starts_with('#'))
            .and_then(|line| file_name_in(line))
            .or_else(|| heading_file(reply_lines, index));
        blocks.push(CodeBlock {
            language,
            lines: (code_start, end),
            code: code_lines.join("\n"),
            file,
        });
        index = end.max(index + 1);
    }
    blocks
}

/// Where the code of a block starts when line `index` is its language label: after the copy
/// button, which follows the label directly or after one blank line.
fn block_start(lines: &[&str], index: usize) -> Option<usize> {
    if !LANGUAGE_LABEL.is_match(lines[index].trim()) {
        return None;
    }
    let mut next = index + 1;
    if lines.get(next).is_some_and(|line| line.trim().is_empty()) {
        next += 1;
    }
    lines
        .get(next)
        .filter(|line| is_copy_button(line))
        .map(|_| next + 1)
}

fn file_name_in(line: &str) -> Option<String> {
    FILE_NAME.captures(line).map(|c| c[1].to_owned())
}

/// The file named by the nearest non-blank line above the label, if it is a short heading.
fn heading_file(lines: &[&str], label: usize) -> Option<String> {
    let above = lines[..label]
        .iter()
        .rev()
        .find(|line| !line.trim().is_empty())?;
    (above.len() <= 80).then(|| file_name_in(above)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(text: &str) -> Vec<CodeBlock> {
        let lines: Vec<&str> = text.lines().collect();
        code_blocks(&lines)
    }

    #[test]
    fn a_block_runs_from_the_copy_button_to_the_first_prose_line() {
        // As chatgpt.com's copy leaves it: no fence, the prose follows the code directly.
        let text = "1. dataset.py\npython\nCopy code\n# dataset.py\nimport os\n\nclass A:\n    \"\"\"Loads.\n\nPairs of images.\n    \"\"\"\n    pass\nmain()\n2. model.py\npython\nCopy code\nimport torch\nNote\nThis works.";
        let found = blocks(text);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].file.as_deref(), Some("dataset.py"));
        assert_eq!(found[0].code.lines().last(), Some("main()"));
        assert!(
            found[0].code.contains("Pairs of images."),
            "a docstring is code"
        );
        assert_eq!(
            found[1].file.as_deref(),
            Some("model.py"),
            "from the heading above"
        );
        assert_eq!(found[1].code, "import torch", "`Note` is prose, not a name");
    }

    #[test]
    fn poe_puts_a_blank_line_between_label_and_button() {
        let text = "model.py:\npython\n\nCopy\nimport torch.nn as nn\n\nclass UNet(nn.Module):\n    pass\nThis implementation provides a U-Net.";
        let found = blocks(text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].file.as_deref(), Some("model.py"));
        assert!(found[0].code.ends_with("    pass"));
    }

    #[test]
    fn another_language_ends_at_its_first_blank_line_and_prose_is_no_block() {
        let text = "css\nCopy code\nunet_segmentation/\n├── dataset.py\n\ndataset.py\nSome prose.";
        let found = blocks(text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].language, "css");
        assert_eq!(found[0].code, "unet_segmentation/\n├── dataset.py");
        assert!(blocks("python is great\nCopy that.").is_empty());
    }

    #[test]
    fn prose_that_looks_like_code_is_told_apart() {
        for prose in [
            "2. model.py",
            "Explanation:",
            "By adding from torch import nn, you make sure",
            "train.py (Corrected)",
            "Note",
        ] {
            assert!(!is_python_line(prose), "{prose}");
        }
        for code in [
            "x = 1",
            "a, b = f()",
            "main()",
            "    return x",
            "@torch.no_grad()",
            "])",
        ] {
            assert!(is_python_line(code), "{code}");
        }
    }
}
