//! The file a block names itself: its info string, a label line above it, a first-line comment.

use super::fences::Block;
use super::language::{fits_language, is_generic, is_shell, HASH_COMMENT_LANGS};
use super::paths::{classify, strip_decorations, Candidate};

/// Longest line (in characters) that can label the block below it.
const MAX_LABEL_CHARS: usize = 120;
/// Longest prose line (in characters) whose path can label the block below it.
const MAX_PROSE_CHARS: usize = 100;
/// How many lines above a fence may hold its label, blank ones included.
const LOOK_BACK_LINES: usize = 5;
/// How many non-blank lines above a fence may hold its label.
const LOOK_BACK_NON_BLANK: usize = 2;

/// Words that may precede a path on a label line ("File: src/main.rs", "Step 2: src/model.rs").
const LABEL_WORDS: &[&str] = &[
    "file", "filename", "filepath", "path", "step", "create", "update", "updated", "new",
    "modified", "complete", "full", "final",
];

/// The path named by a fence's info string.
fn info_path(info: &str, expected: &[&str]) -> Option<Candidate> {
    for token in info.split_whitespace() {
        let token = token.trim_matches(['{', '}']);
        let value = match token.split_once('=') {
            Some((_key, value)) => value,
            None => token,
        };
        // "rust:src/main.rs" and "src/main.rs:" both hide a path between colons.
        for part in value.split(':') {
            if let Some(candidate) = classify(part, expected) {
                return Some(candidate);
            }
        }
    }
    None
}

/// Whether a token is only decoration ("-", "—", "===", "**").
fn is_punctuation(token: &str) -> bool {
    token.chars().all(|c| !c.is_alphanumeric())
}

/// Whether a word may precede a path on a label line: a label word or a list number.
fn is_label_word(token: &str) -> bool {
    if is_punctuation(token) {
        return true;
    }
    let word = strip_decorations(token).trim_end_matches(')');
    if word.is_empty() || word.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    LABEL_WORDS.contains(&word.to_ascii_lowercase().as_str())
}

/// Whether what follows a path on a label line is a description, not more prose.
fn is_description(rest: &[&str]) -> bool {
    match rest.first() {
        None => true,
        Some(first) => {
            is_punctuation(first) || first.starts_with(['(', '-', '–', '—', ':', '|', '='])
        }
    }
}

/// The single path that `tokens` mention, with its index; `None` if none or several.
fn single_path(tokens: &[&str], expected: &[&str]) -> Option<(usize, Candidate)> {
    let mut found: Option<(usize, Candidate)> = None;
    for (index, token) in tokens.iter().enumerate() {
        let Some(candidate) = classify(token, expected) else {
            continue;
        };
        match &found {
            Some((_, seen)) if *seen != candidate => return None,
            Some(_) => {}
            None => found = Some((index, candidate)),
        }
    }
    found
}

/// The path of a text that is little more than a path: label words before it, a description
/// after it.
fn label_form_path(tokens: &[&str], expected: &[&str]) -> Option<Candidate> {
    let (index, candidate) = single_path(tokens, expected)?;
    is_label_form(tokens, index).then_some(candidate)
}

/// Whether the path at `index` has only label words before it and a description after it.
fn is_label_form(tokens: &[&str], index: usize) -> bool {
    tokens[..index].iter().all(|t| is_label_word(t)) && is_description(&tokens[index + 1..])
}

/// How much a line above a block can be trusted to name its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LabelStrength {
    /// A heading, a bold line, or a line that is little more than a path.
    Strong,
    /// A short prose line ending with a colon.
    Weak,
}

/// Removes a list marker: "- ", "* ", "+ ", "1. ", "2) ".
fn strip_list_marker(text: &str) -> &str {
    if let Some(rest) = text
        .strip_prefix("- ")
        .or_else(|| text.strip_prefix("* "))
        .or_else(|| text.strip_prefix("+ "))
    {
        return rest.trim_start();
    }
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        let rest = &text[digits..];
        if let Some(rest) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return rest.trim_start();
        }
    }
    text
}

/// The path a line above a block names, and how strongly.
fn line_label(line: &str, expected: &[&str]) -> Option<(Candidate, LabelStrength)> {
    let text = line.trim();
    if text.is_empty() || text.chars().count() > MAX_LABEL_CHARS {
        return None;
    }
    let text = text.trim_start_matches('>').trim_start();
    let hashes = text.bytes().take_while(|&b| b == b'#').count();
    let heading = (1..=6).contains(&hashes)
        && text[hashes..]
            .chars()
            .next()
            .is_none_or(char::is_whitespace);
    let text = if heading {
        text[hashes..].trim().trim_end_matches('#').trim_end()
    } else {
        text
    };
    let text = strip_list_marker(text);
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let (index, candidate) = single_path(&tokens, expected)?;
    let unframed = text.trim_end_matches(':');
    let bold = (unframed.starts_with("**") && unframed.ends_with("**"))
        || (unframed.starts_with("__") && unframed.ends_with("__"));
    // A code span delimits the path exactly, so a heading may say more around it; a bare word
    // might be the end of a name with spaces ("my file.rs").
    let in_code_span = tokens[index].contains('`');
    if ((heading || bold) && in_code_span) || is_label_form(&tokens, index) {
        return Some((candidate, LabelStrength::Strong));
    }
    let prose_end = text.trim_end_matches(['*', '_']);
    if prose_end.ends_with(':') && text.chars().count() <= MAX_PROSE_CHARS {
        return Some((candidate, LabelStrength::Weak));
    }
    None
}

/// The nearest strong label above a block, else the nearest weak one.
fn look_back(
    lines: &[&str],
    block: &Block<'_>,
    expected: &[&str],
) -> (Option<Candidate>, Option<Candidate>) {
    let mut weak = None;
    let mut non_blank = 0;
    for line in lines[block.look_back_floor..block.fence_line]
        .iter()
        .rev()
        .take(LOOK_BACK_LINES)
    {
        if line.trim().is_empty() {
            continue;
        }
        match line_label(line, expected) {
            // A strong label outranks every weak one, so nothing further up can matter.
            Some((candidate, LabelStrength::Strong)) => return (Some(candidate), weak),
            Some((candidate, LabelStrength::Weak)) if weak.is_none() => weak = Some(candidate),
            _ => {}
        }
        non_blank += 1;
        if non_blank == LOOK_BACK_NON_BLANK {
            break;
        }
    }
    (None, weak)
}

/// The path named by a comment on the block's first non-blank line.
fn comment_path(block: &Block<'_>, expected: &[&str]) -> Option<Candidate> {
    let first = block
        .body
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty())?;
    let hash_comments = HASH_COMMENT_LANGS.contains(&block.lang.as_str());
    let hash_ok = hash_comments || is_generic(&block.lang);
    let slash_ok = !hash_comments;
    if slash_ok {
        if let Some(rest) = first
            .strip_prefix("//!")
            .or_else(|| first.strip_prefix("///"))
        {
            // A doc comment is usually prose about the module; only a bare path counts.
            return classify(rest.trim(), expected);
        }
        if let Some(rest) = first.strip_prefix("//") {
            return comment_label(rest, expected);
        }
        if let Some(rest) = first.strip_prefix("/*") {
            return comment_label(rest.trim_end().trim_end_matches("*/"), expected);
        }
    }
    if let Some(rest) = first.strip_prefix("<!--") {
        return comment_label(rest.trim_end().trim_end_matches("-->"), expected);
    }
    if hash_ok && first.starts_with('#') && !first.starts_with("#!") && !first.starts_with("#[") {
        return comment_label(first.trim_start_matches('#'), expected);
    }
    None
}

fn comment_label(text: &str, expected: &[&str]) -> Option<Candidate> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    label_form_path(&tokens, expected)
}

pub(super) fn explicit_path(
    lines: &[&str],
    block: &Block<'_>,
    expected: &[&str],
) -> Option<Candidate> {
    if let Some(candidate) = info_path(block.info, expected) {
        return Some(candidate);
    }
    let shell = is_shell(&block.lang);
    let (strong, weak) = look_back(lines, block, expected);
    // A heading over a command block ("### Cargo.toml", then "run `cargo add tch`") is about the
    // file the commands change, not about the block.
    if let Some(candidate) = strong.filter(|c| !shell || fits_language(&block.lang, c)) {
        return Some(candidate);
    }
    if let Some(candidate) = comment_path(block, expected) {
        return Some(candidate);
    }
    // Prose mentions files for many reasons; it names the block only when the languages agree.
    weak.filter(|c| !shell && fits_language(&block.lang, c))
}
