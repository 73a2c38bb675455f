//! The architecture's invariants, checked on the sources: no import circles between top-level
//! modules (and between the commands), only the LLM clients and `data fetch` name the HTTP
//! client crates, only `exec/` spawns processes and only the modules listed here start one
//! through it.
//!
//! `cargo test --test it architecture -- --nocapture` prints the module graph.

mod graph;
mod lexer;
mod paths;

use std::collections::BTreeMap;
use std::path::Path;

use graph::{adjacency, circles, Crate};

/// The library, test code included: a unit test that needs a module further up the pipeline
/// belongs there or in `tests/`, never in a lower module.
fn the_crate() -> Crate {
    Crate::read(Path::new(env!("CARGO_MANIFEST_DIR")), true)
}

/// The library's code without its unit tests.
fn the_shipped_crate() -> Crate {
    Crate::read(Path::new(env!("CARGO_MANIFEST_DIR")), false)
}

#[test]
fn no_import_circles_between_top_level_modules() {
    let krate = the_crate();
    let edges = krate.edges();
    println!("{}", adjacency(&edges));
    // The reader must see the graph at all: a few edges the pipeline cannot do without.
    for (from, to) in [
        ("session", "llm"),
        ("session", "target"),
        ("target", "sandbox"),
        ("sandbox", "exec"),
        ("commands", "commands/generate"),
        ("commands/generate", "session"),
    ] {
        assert!(
            edges.contains_key(&(from.to_string(), to.to_string())),
            "the module graph lacks {from} -> {to}; is the source reader broken?\n{}",
            adjacency(&edges)
        );
    }
    let found = circles(&edges);
    let mut report = String::new();
    for set in &found {
        report.push_str(&format!("circle through {}:\n", set.join(", ")));
        for ((from, to), places) in &edges {
            if set.contains(from) && set.contains(to) {
                let shown: Vec<&str> = places.iter().take(3).map(String::as_str).collect();
                report.push_str(&format!("  {from} -> {to} ({})\n", shown.join(", ")));
            }
        }
    }
    assert!(
        found.is_empty(),
        "dependencies must point one way, down the pipeline; move what closes each circle to \
         the module that owns it, or to a smaller module below both\n{report}"
    );
}

/// The files that name any of `prefixes`, with the first line that does.
fn naming(krate: &Crate, prefixes: &[&[&str]]) -> BTreeMap<String, usize> {
    krate.files_naming(prefixes)
}

fn files(found: &BTreeMap<String, usize>) -> Vec<&str> {
    found.keys().map(String::as_str).collect()
}

#[test]
fn only_the_llm_clients_and_data_fetch_name_the_network_crates() {
    let found = naming(
        &the_crate(),
        &[
            &["reqwest"],
            &["async_openai"],
            &["std", "net"],
            &["tokio", "net"],
        ],
    );
    assert_eq!(
        files(&found),
        [
            // `data fetch`'s client, and its error type, which holds reqwest's errors (it sends
            // nothing itself).
            "src/dataset/fetch/error.rs",
            "src/dataset/fetch/http.rs",
            // The LLM clients: Anthropic's header types, the JSON POST the Anthropic and
            // Gemini clients share, both OpenAI clients, and the local server probe.
            "src/llm/anthropic.rs",
            "src/llm/http.rs",
            "src/llm/openai.rs",
            "src/llm/openai_responses.rs",
            "src/llm/probe.rs",
        ],
        "where each is named first: {found:?}"
    );
}

#[test]
fn only_exec_spawns_processes() {
    let found = naming(
        &the_crate(),
        &[
            &["std", "process", "Command"],
            &["std", "os", "unix", "process", "CommandExt"],
            &["tokio", "process"],
            &["libc", "fork"],
            &["libc", "vfork"],
            &["libc", "clone"],
            &["libc", "execv"],
            &["libc", "execve"],
            &["libc", "execvp"],
            &["libc", "posix_spawn"],
            &["libc", "posix_spawnp"],
        ],
    );
    assert_eq!(
        files(&found),
        [
            // Every child process: `run_process`.
            "src/exec/process.rs",
            // The short-lived child that makes a user namespace for an idmapped mount.
            "src/exec/userns.rs",
        ],
        "where each is named first: {found:?}"
    );
}

#[test]
fn only_these_modules_start_processes_through_exec() {
    let found = naming(
        &the_shipped_crate(),
        &[
            &["crate", "exec", "run_process"],
            &["crate", "exec", "id_map_namespace"],
        ],
    );
    assert_eq!(
        files(&found),
        [
            // The sandbox: bubblewrap's version and a probe run, the supervised run of every
            // sandboxed process, and the user namespace of the copy-on-write mount.
            "src/sandbox/detect.rs",
            "src/sandbox/isolation.rs",
            "src/sandbox/overlay.rs",
            "src/sandbox/supervise.rs",
            // `rustc --version` and `cargo --version` for the transcript header.
            "src/session/provenance.rs",
            // `harness setup` and `doctor`: cargo, pip, the pre-warm build, version checks.
            "src/toolchain/command.rs",
            "src/toolchain/doctor.rs",
            "src/toolchain/python.rs",
            // `harness setup --python`: the interpreter's version, the environment's smoke check.
            "src/toolchain/python_env/interpreter.rs",
            "src/toolchain/python_env/smoke.rs",
            "src/toolchain/warm.rs",
        ],
        "where each is named first: {found:?}"
    );
}

/// The source reader itself, on a file that hides paths in every place it must not look.
#[test]
fn the_source_reader_finds_paths_and_only_paths() {
    let source = r####"
        //! Mentions crate::fake in a doc comment.
        use crate::{llm::{self, Reply}, transcript::Event as Recorded};
        use super::sibling::Thing;
        use std::process;
        /* crate::in_block /* nested crate::deeper */ */
        const TEXT: &str = "crate::in_string \" crate::escaped";
        const RAW: &str = r#"crate::in_raw "# ;
        fn f<'a>(x: &'a str) -> char {
            let _ = crate::session::run_session;
            let _ = process::Command::new("ls");
            '"'
        }
        #[cfg(test)]
        mod tests {
            use crate::report::only_in_tests;
        }
        #[cfg(test)]
        mod more_tests;
    "####;
    let module = vec!["commands".to_string(), "data".to_string()];
    let no_modules = |_: &[String]| false;
    let read = lexer::read(source, false);
    assert_eq!(read.test_modules, ["more_tests"]);
    let found: Vec<String> = paths::references(&read.tokens, &module, &no_modules)
        .iter()
        .map(|r| r.path.join("::"))
        .collect();
    assert_eq!(
        found,
        [
            "crate::llm",
            "crate::llm::Reply",
            "crate::transcript::Event",
            "crate::commands::sibling::Thing",
            "std::process",
            "crate::session::run_session",
            "std::process::Command::new",
        ]
    );
    let with_tests = lexer::read(source, true);
    let found = paths::references(&with_tests.tokens, &module, &no_modules);
    assert!(found
        .iter()
        .any(|r| r.path.join("::") == "crate::report::only_in_tests"));
}
