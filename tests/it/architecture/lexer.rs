//! Rust source as a flat list of identifiers and punctuation, without comments, literals and
//! test-only items: just enough to read the paths a file names.

/// One token: an identifier or keyword (`crate`, `super`, `use`, names), `::`, or one
/// punctuation character. Literals, lifetimes and comments leave nothing behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Ident(String),
    PathSep,
    Punct(char),
}

/// A token and the line it starts on.
#[derive(Debug, Clone)]
pub struct Spanned {
    pub token: Token,
    pub line: usize,
}

/// A file's tokens, with or without every item behind `#[cfg(test)]`, and the modules such
/// items declare in files of their own (`#[cfg(test)] mod tests;`) when left out.
pub struct Source {
    pub tokens: Vec<Spanned>,
    pub test_modules: Vec<String>,
}

pub fn read(source: &str, with_tests: bool) -> Source {
    let mut test_modules = Vec::new();
    let tokens = lex(source);
    let tokens = if with_tests {
        tokens
    } else {
        without_test_items(tokens, &mut test_modules)
    };
    Source {
        tokens,
        test_modules,
    }
}

fn lex(source: &str) -> Vec<Spanned> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let count_lines =
        |from: usize, to: usize| chars[from..to].iter().filter(|c| **c == '\n').count();
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i = block_comment_end(&chars, i);
            line += count_lines(start, i);
        } else if let Some(end) = string_literal_end(&chars, i) {
            i = end;
            line += count_lines(start, i);
        } else if c == '\'' {
            i = quote_end(&chars, i);
        } else if c.is_alphanumeric() || c == '_' {
            // A raw identifier (`r#type`) is read as its name.
            if c == 'r' && chars.get(i + 1) == Some(&'#') {
                i += 2;
            }
            let name_from = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[name_from..i].iter().collect();
            // A number leaves nothing: it cannot start a path.
            if !c.is_ascii_digit() {
                out.push(Spanned {
                    token: Token::Ident(word),
                    line,
                });
            }
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push(Spanned {
                token: Token::PathSep,
                line,
            });
            i += 2;
        } else {
            // `$crate` reads as `crate`: the `$` is dropped.
            if c != '$' {
                out.push(Spanned {
                    token: Token::Punct(c),
                    line,
                });
            }
            i += 1;
        }
    }
    out
}

/// The index just past a (nested) block comment opening at `i`.
fn block_comment_end(chars: &[char], mut i: usize) -> usize {
    let mut depth = 0;
    while i < chars.len() {
        if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// Where a string literal opening at `i` ends (plain, byte, C and raw strings), or `None` when
/// no string literal opens there.
fn string_literal_end(chars: &[char], i: usize) -> Option<usize> {
    // A prefix is part of the literal only where it is not the end of a longer identifier.
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return None;
    }
    let mut j = i;
    while j < chars.len() && j - i < 2 && matches!(chars[j], 'b' | 'c' | 'r') {
        j += 1;
    }
    let raw = chars[i..j].contains(&'r');
    if raw {
        let hashes_from = j;
        while chars.get(j) == Some(&'#') {
            j += 1;
        }
        let hashes = j - hashes_from;
        if chars.get(j) != Some(&'"') {
            return None;
        }
        j += 1;
        while j < chars.len() {
            if chars[j] == '"'
                && chars[j + 1..]
                    .iter()
                    .take(hashes)
                    .filter(|c| **c == '#')
                    .count()
                    == hashes
            {
                return Some(j + 1 + hashes);
            }
            j += 1;
        }
        return Some(j);
    }
    if chars.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            '"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    Some(j)
}

/// Past a character literal or a lifetime opening at `i`.
fn quote_end(chars: &[char], i: usize) -> usize {
    match (chars.get(i + 1), chars.get(i + 2)) {
        (Some('\\'), _) => {
            let mut j = i + 2;
            while j < chars.len() && chars[j] != '\'' {
                j += 1;
            }
            j + 1
        }
        (Some(_), Some('\'')) => i + 3,
        _ => {
            // A lifetime or a loop label: skip its name.
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            j
        }
    }
}

/// Drops each item that follows `#[cfg(test)]`: up to its `;`, or through its braced body.
/// Pushes the name of each `mod name;` dropped.
fn without_test_items(tokens: Vec<Spanned>, test_modules: &mut Vec<String>) -> Vec<Spanned> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if let Some(after) = cfg_test_attribute(&tokens, i) {
            i = item_end(&tokens, after);
            if let [.., Spanned {
                token: Token::Ident(module),
                ..
            }, Spanned {
                token: Token::Ident(name),
                ..
            }, Spanned {
                token: Token::Punct(';'),
                ..
            }] = &tokens[after..i]
            {
                if module == "mod" {
                    test_modules.push(name.clone());
                }
            }
        } else {
            out.push(tokens[i].clone());
            i += 1;
        }
    }
    out
}

/// The index after `#[cfg(test)]` when that attribute starts at `i`.
fn cfg_test_attribute(tokens: &[Spanned], i: usize) -> Option<usize> {
    let expected = [
        Token::Punct('#'),
        Token::Punct('['),
        Token::Ident("cfg".into()),
        Token::Punct('('),
        Token::Ident("test".into()),
        Token::Punct(')'),
        Token::Punct(']'),
    ];
    let window = tokens.get(i..i + expected.len())?;
    window
        .iter()
        .zip(&expected)
        .all(|(have, want)| &have.token == want)
        .then_some(i + expected.len())
}

/// The index after the item starting at `i`: its `;` at depth 0, or its first braced block.
fn item_end(tokens: &[Spanned], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < tokens.len() {
        match tokens[i].token {
            Token::Punct('{') | Token::Punct('(') | Token::Punct('[') => depth += 1,
            Token::Punct('}') | Token::Punct(')') | Token::Punct(']') => {
                depth = depth.saturating_sub(1);
                if depth == 0 && tokens[i].token == Token::Punct('}') {
                    return i + 1;
                }
            }
            Token::Punct(';') if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    i
}
