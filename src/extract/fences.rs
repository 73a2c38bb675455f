//! Finding the fenced code blocks of a reply (CommonMark fences, nested Markdown, cut-off blocks).

use super::language::language;

/// An opening or closing fence line.
struct Fence<'a> {
    ch: u8,
    len: usize,
    indent: usize,
    info: &'a str,
}

/// One fenced code block of the reply.
pub(super) struct Block<'a> {
    /// 1-based position among the reply's blocks, for notes.
    pub(super) number: usize,
    /// 0-based index of the opening fence line.
    pub(super) fence_line: usize,
    /// 0-based index of the first line after the previous block: labels are not searched above it.
    pub(super) look_back_floor: usize,
    pub(super) info: &'a str,
    pub(super) lang: String,
    pub(super) body: Vec<&'a str>,
    pub(super) terminated: bool,
}

impl Block<'_> {
    /// How notes refer to this block.
    pub(super) fn describe(&self) -> String {
        if self.lang.is_empty() {
            format!("block {} (line {})", self.number, self.fence_line + 1)
        } else {
            format!(
                "block {} ({}, line {})",
                self.number,
                self.lang,
                self.fence_line + 1
            )
        }
    }

    pub(super) fn content(&self) -> String {
        let mut content = String::with_capacity(self.body.iter().map(|l| l.len() + 1).sum());
        for line in &self.body {
            content.push_str(line);
            content.push('\n');
        }
        content
    }
}

fn parse_fence(line: &str) -> Option<Fence<'_>> {
    let indent = line.bytes().take_while(|&b| b == b' ').count();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let ch = *rest.as_bytes().first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let len = rest.bytes().take_while(|&b| b == ch).count();
    if len < 3 {
        return None;
    }
    let info = rest[len..].trim();
    // CommonMark: a backtick fence's info string has no backtick, so "```x```" is inline code.
    if ch == b'`' && info.contains('`') {
        return None;
    }
    Some(Fence {
        ch,
        len,
        indent,
        info,
    })
}

/// Removes up to `indent` leading spaces, as CommonMark does for an indented fence.
fn strip_indent(line: &str, indent: usize) -> &str {
    let spaces = line.bytes().take(indent).take_while(|&b| b == b' ').count();
    &line[spaces..]
}

pub(super) fn find_blocks<'a>(lines: &[&'a str]) -> Vec<Block<'a>> {
    let mut blocks = Vec::new();
    let mut look_back_floor = 0;
    let mut i = 0;
    while i < lines.len() {
        let Some(open) = parse_fence(lines[i]) else {
            i += 1;
            continue;
        };
        let lang = language(open.info);
        let nests = lang == "markdown";
        let mut depth = 0usize;
        let mut body = Vec::new();
        let mut terminated = false;
        let mut j = i + 1;
        while j < lines.len() {
            let line = lines[j];
            if let Some(fence) = parse_fence(line) {
                if fence.ch == open.ch && fence.len >= open.len {
                    if fence.info.is_empty() {
                        if depth == 0 {
                            terminated = true;
                            break;
                        }
                        depth -= 1;
                    } else if nests {
                        depth += 1;
                    }
                }
            }
            body.push(strip_indent(line, open.indent));
            j += 1;
        }
        blocks.push(Block {
            number: blocks.len() + 1,
            fence_line: i,
            look_back_floor,
            info: open.info,
            lang,
            body,
            terminated,
        });
        i = j + 1;
        look_back_floor = i;
    }
    blocks
}
