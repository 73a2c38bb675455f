//! The paths a source file names: every `use` tree expanded, and every path in the code that
//! starts at `crate`, `super`, `self`, an external crate or a name a `use` brought in, each
//! made absolute.

use std::collections::BTreeMap;

use super::lexer::{Spanned, Token};

/// One path a file names, made absolute: `crate` and the modules below it, or an external
/// crate and its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub path: Vec<String>,
    pub line: usize,
    /// The name a `use` binds (its last segment or its `as` name); `None` in code.
    pub binds: Option<String>,
}

/// The paths named by the tokens of the file that is module `module` (`["session",
/// "fix_loop"]`; `[]` for the crate root). `is_module` says whether a crate-rooted module path
/// exists, to tell a child module (`use child::Item`) from an external crate.
pub fn references(
    tokens: &[Spanned],
    module: &[String],
    is_module: &dyn Fn(&[String]) -> bool,
) -> Vec<Reference> {
    let mut reader = Reader {
        tokens,
        module: module.to_vec(),
        is_module,
        inline: Vec::new(),
        depth: 0,
        out: Vec::new(),
    };
    reader.read();
    expand_aliases(reader.out)
}

struct Reader<'a> {
    tokens: &'a [Spanned],
    /// The module being read: the file's, then any inline `mod name { }` inside it.
    module: Vec<String>,
    is_module: &'a dyn Fn(&[String]) -> bool,
    /// The brace depth each inline module opened at.
    inline: Vec<usize>,
    depth: usize,
    out: Vec<Reference>,
}

impl Reader<'_> {
    fn read(&mut self) {
        let mut i = 0;
        while i < self.tokens.len() {
            i = match &self.tokens[i].token {
                Token::Ident(word) if word == "use" => self.use_tree_at(i + 1),
                Token::Ident(word) if word == "mod" => self.inline_module_at(i),
                Token::Ident(_) if self.starts_path(i) => self.code_path_at(i),
                Token::Punct('{') => {
                    self.depth += 1;
                    i + 1
                }
                Token::Punct('}') => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.inline.last() == Some(&self.depth) {
                        self.inline.pop();
                        self.module.pop();
                    }
                    i + 1
                }
                _ => i + 1,
            };
        }
    }

    fn ident(&self, i: usize) -> Option<&str> {
        match self.tokens.get(i).map(|t| &t.token) {
            Some(Token::Ident(word)) => Some(word),
            _ => None,
        }
    }

    fn is(&self, i: usize, token: &Token) -> bool {
        self.tokens.get(i).map(|t| &t.token) == Some(token)
    }

    /// `mod name {` opens an inline module; `mod name;` names a file, read on its own.
    fn inline_module_at(&mut self, i: usize) -> usize {
        if let Some(name) = self.ident(i + 1) {
            if self.is(i + 2, &Token::Punct('{')) {
                self.module.push(name.to_string());
                self.inline.push(self.depth);
                self.depth += 1;
                return i + 3;
            }
        }
        i + 1
    }

    /// A path in code starts with an identifier followed by `::`, not itself after `::`.
    fn starts_path(&self, i: usize) -> bool {
        self.is(i + 1, &Token::PathSep) && (i == 0 || !self.is(i - 1, &Token::PathSep))
    }

    /// Reads `a::b::c` in code; generic arguments (`::<`) and everything after end it.
    fn code_path_at(&mut self, i: usize) -> usize {
        let mut segments = vec![self.ident(i).unwrap_or_default().to_string()];
        let mut j = i + 1;
        while self.is(j, &Token::PathSep) {
            match self.ident(j + 1) {
                Some(word) => segments.push(word.to_string()),
                None => break,
            }
            j += 2;
        }
        let line = self.tokens[i].line;
        if let Some(path) = self.rooted(&segments) {
            self.out.push(Reference {
                path,
                line,
                binds: None,
            });
        }
        j
    }

    /// Expands the use tree starting at `i`; returns the index after its `;`.
    fn use_tree_at(&mut self, i: usize) -> usize {
        let mut leaves = Vec::new();
        let end = self.tree(i, Vec::new(), &mut leaves);
        for (segments, binds, line) in leaves {
            if let Some(path) = self.rooted(&segments) {
                self.out.push(Reference { path, line, binds });
            }
        }
        if self.is(end, &Token::Punct(';')) {
            end + 1
        } else {
            end
        }
    }

    /// One use tree under `prefix`: `a::b`, `a::b as c`, `a::*`, `a::{tree, tree}`. Pushes
    /// (segments, bound name, line) per leaf; returns the index after the tree.
    fn tree(
        &self,
        mut i: usize,
        mut prefix: Vec<String>,
        leaves: &mut Vec<(Vec<String>, Option<String>, usize)>,
    ) -> usize {
        if self.is(i, &Token::PathSep) {
            // `use ::name`: an external crate.
            prefix.push("::".into());
            i += 1;
        }
        loop {
            let line = self.tokens.get(i).map_or(0, |t| t.line);
            if self.is(i, &Token::Punct('*')) {
                leaves.push((prefix, None, line));
                return i + 1;
            }
            if self.is(i, &Token::Punct('{')) {
                i += 1;
                while i < self.tokens.len() && !self.is(i, &Token::Punct('}')) {
                    i = self.tree(i, prefix.clone(), leaves);
                    if self.is(i, &Token::Punct(',')) {
                        i += 1;
                    }
                }
                return i + 1;
            }
            let Some(word) = self.ident(i) else {
                return i;
            };
            // `self` inside braces names the prefix itself.
            if word != "self" || prefix.is_empty() {
                prefix.push(word.to_string());
            }
            i += 1;
            if self.is(i, &Token::PathSep) {
                i += 1;
                continue;
            }
            let mut binds = prefix.last().cloned();
            if self.ident(i) == Some("as") {
                binds = self.ident(i + 1).map(str::to_string);
                i += 2;
            }
            leaves.push((prefix, binds, line));
            return i;
        }
    }

    /// `segments` made absolute: `crate::...` for the crate's own modules, or an external
    /// crate's name (or a name a `use` brought in) first.
    fn rooted(&self, segments: &[String]) -> Option<Vec<String>> {
        let first = segments.first()?;
        let here = || {
            let mut path = vec!["crate".to_string()];
            path.extend(self.module.iter().cloned());
            path
        };
        let (mut path, rest) = match first.as_str() {
            "crate" => (vec!["crate".to_string()], &segments[1..]),
            "self" => (here(), &segments[1..]),
            "super" => {
                let ups = segments.iter().take_while(|s| *s == "super").count();
                let mut path = here();
                path.truncate(path.len().saturating_sub(ups).max(1));
                (path, &segments[ups..])
            }
            "::" => (Vec::new(), &segments[1..]),
            name => {
                let mut child = self.module.clone();
                child.push(name.to_string());
                if (self.is_module)(&child) {
                    (here(), segments)
                } else {
                    // An external crate, or (in code) a name a `use` brought in: kept as it is
                    // and expanded against the file's `use`s later.
                    (Vec::new(), segments)
                }
            }
        };
        path.extend(rest.iter().cloned());
        Some(path)
    }
}

/// Paths in code that start at a name a `use` brought in (`process::Command` after
/// `use std::process;`) get that `use`'s path in front.
fn expand_aliases(references: Vec<Reference>) -> Vec<Reference> {
    let aliases: BTreeMap<String, Vec<String>> = references
        .iter()
        .filter_map(|r| Some((r.binds.clone()?, r.path.clone())))
        .collect();
    references
        .into_iter()
        .map(|mut reference| {
            if reference.binds.is_none() && reference.path[0] != "crate" {
                if let Some(full) = aliases.get(&reference.path[0]) {
                    let mut path = full.clone();
                    path.extend(reference.path.drain(1..));
                    reference.path = path;
                }
            }
            reference
        })
        .collect()
}
