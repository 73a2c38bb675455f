//! The crate's module graph, read from `src/`: which top-level module (and which command of
//! `commands/`) names which other, and the circles in it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::lexer;
use super::paths::{references, Reference};

/// Top-level modules whose child modules are nodes of their own (`commands/data`), and whose
/// `mod.rs` is the node named after the module itself.
const SPLIT: &[&str] = &["commands"];

/// One file of the library (test-only files left out).
pub struct SourceFile {
    /// Relative to the repository root: `src/session/fix_loop.rs`.
    pub path: String,
    /// Its module path: `["session", "fix_loop"]`.
    pub module: Vec<String>,
    pub references: Vec<Reference>,
}

/// The library's files and its module tree.
pub struct Crate {
    pub files: Vec<SourceFile>,
    modules: BTreeSet<Vec<String>>,
}

/// `from` names `to`: the node names and where (`file:line`) each time.
pub type Edges = BTreeMap<(String, String), Vec<String>>;

impl Crate {
    /// Reads every library file under `root/src` but the binary's `main.rs`; test-only code
    /// too where `with_tests`.
    pub fn read(root: &Path, with_tests: bool) -> Crate {
        let mut found = Vec::new();
        walk(&root.join("src"), &mut found);
        found.sort();
        let modules: BTreeSet<Vec<String>> = found
            .iter()
            .filter_map(|path| module_of(path.strip_prefix(root.join("src")).unwrap()))
            .collect();
        let is_module = |path: &[String]| modules.contains(path);
        let mut sources = Vec::new();
        let mut test_only: BTreeSet<Vec<String>> = BTreeSet::new();
        for path in &found {
            let relative = path.strip_prefix(root).unwrap();
            let Some(module) = module_of(relative.strip_prefix("src").unwrap()) else {
                continue;
            };
            let text = std::fs::read_to_string(path).unwrap();
            let source = lexer::read(&text, with_tests);
            for name in &source.test_modules {
                let mut child = module.clone();
                child.push(name.clone());
                test_only.insert(child);
            }
            sources.push((relative.display().to_string(), module, source));
        }
        let files = sources
            .into_iter()
            .filter(|(_, module, _)| !test_only.iter().any(|t| module.starts_with(t)))
            .map(|(path, module, source)| SourceFile {
                references: references(&source.tokens, &module, &is_module),
                path,
                module,
            })
            .collect();
        Crate { files, modules }
    }

    /// The node a module belongs to: its top-level module, or `commands/<name>`; `None` for the
    /// crate root.
    pub fn node_of(&self, module: &[String]) -> Option<String> {
        let top = module.first()?;
        if !SPLIT.contains(&top.as_str()) {
            return Some(top.clone());
        }
        let Some(second) = module.get(1) else {
            return Some(top.clone());
        };
        if self.modules.contains(&module[..2]) {
            return Some(format!("{top}/{second}"));
        }
        // A name the split module's `mod.rs` brought in from one of its children (`pub use
        // generate::generate`) belongs to that child.
        let reexported = self
            .files
            .iter()
            .filter(|file| file.module.as_slice() == &module[..1])
            .flat_map(|file| &file.references)
            .find(|r| r.binds.as_ref() == Some(second) && r.path.len() > 2 && r.path[1] == *top)
            .and_then(|r| self.node_of(&r.path[1..]));
        Some(reexported.unwrap_or_else(|| top.clone()))
    }

    /// Every edge between two nodes, with where each is made.
    pub fn edges(&self) -> Edges {
        let mut edges = Edges::new();
        for file in &self.files {
            let Some(from) = self.node_of(&file.module) else {
                continue;
            };
            for reference in &file.references {
                if reference.path[0] != "crate" {
                    continue;
                }
                let Some(to) = self.node_of(&reference.path[1..]) else {
                    continue;
                };
                if to != from {
                    edges
                        .entry((from.clone(), to))
                        .or_default()
                        .push(format!("{}:{}", file.path, reference.line));
                }
            }
        }
        edges
    }

    /// The files that name a path starting with one of `prefixes` (`["reqwest"]`,
    /// `["std", "process", "Command"]`), with the first line that does.
    pub fn files_naming(&self, prefixes: &[&[&str]]) -> BTreeMap<String, usize> {
        let mut found = BTreeMap::new();
        for file in &self.files {
            let hit = file.references.iter().find(|r| {
                prefixes.iter().any(|prefix| {
                    r.path.len() >= prefix.len() && r.path.iter().zip(*prefix).all(|(a, b)| a == b)
                })
            });
            if let Some(reference) = hit {
                found.insert(file.path.clone(), reference.line);
            }
        }
        found
    }
}

/// The nodes as an adjacency list, one line per node: `session -> llm, target, ...`.
pub fn adjacency(edges: &Edges) -> String {
    let mut out: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        out.entry(from).or_default().push(to);
        out.entry(to).or_default();
    }
    out.iter()
        .map(|(from, to)| format!("{from} -> {}\n", to.join(", ")))
        .collect()
}

/// The strongly connected sets of two or more nodes: each is one or more import circles.
pub fn circles(edges: &Edges) -> Vec<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from).or_default().push(to);
        next.entry(to).or_default();
    }
    let reach: BTreeMap<&str, BTreeSet<&str>> = next
        .keys()
        .map(|node| (*node, reachable(&next, node)))
        .collect();
    let mut sets: BTreeSet<Vec<String>> = BTreeSet::new();
    for (node, reached) in &reach {
        let set: Vec<String> = reached
            .iter()
            .filter(|other| reach[*other].contains(node))
            .map(|other| other.to_string())
            .collect();
        if set.len() > 1 {
            sets.insert(set);
        }
    }
    sets.into_iter().collect()
}

/// Every node `start` reaches, itself included.
fn reachable<'a>(next: &BTreeMap<&'a str, Vec<&'a str>>, start: &'a str) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::from([start]);
    let mut stack = vec![start];
    while let Some(node) = stack.pop() {
        for to in &next[node] {
            if seen.insert(to) {
                stack.push(to);
            }
        }
    }
    seen
}

fn walk(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The module a file under `src/` is: `lib.rs` the root, `a/mod.rs` and `a.rs` module `a`;
/// `None` for the binary's `main.rs`.
fn module_of(relative: &Path) -> Option<Vec<String>> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop()?;
    match file.as_str() {
        "main.rs" if parts.is_empty() => return None,
        "lib.rs" if parts.is_empty() => {}
        "mod.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_string()),
    }
    Some(parts)
}
