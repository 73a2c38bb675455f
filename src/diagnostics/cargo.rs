//! Turns what `cargo build --message-format=json` printed into a [`CompileReport`].
//!
//! Cargo writes rustc's diagnostics and its own artifact and build-finished messages to stdout
//! as JSON lines, and its own errors (manifest, dependency resolution, build scripts) to stderr
//! as human text. Both are read here; nothing else is.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::normalise::normalise;
use super::rustc_codes::{category_for_code, category_for_uncoded};
use crate::taxonomy::{Category, ErrorRecord};

/// A binary cargo produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Artifact {
    /// The target's name (the binary's name, dashes and all).
    pub target_name: String,
    /// The target's kinds, such as `["bin"]`.
    pub kinds: Vec<String>,
    /// The binary, as cargo reported it: an absolute path, left as is so the caller can copy it.
    pub executable: Option<PathBuf>,
    /// Whether cargo reused the binary from an earlier build instead of linking it again.
    pub fresh: bool,
}

/// Everything a `cargo build --message-format=json` run said.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CompileReport {
    /// From the build-finished message; false when there is none.
    pub success: bool,
    /// Classified errors, rustc's first, then cargo's; paths relative to the crate root.
    pub errors: Vec<ErrorRecord>,
    /// How many warnings rustc reported (cargo's own warnings on stderr are not counted).
    pub warnings: usize,
    /// The binaries (bin, example, test and bench targets) the build produced.
    pub artifacts: Vec<Artifact>,
}

/// The target kinds whose artifacts are programs the harness might run.
const PROGRAM_KINDS: [&str; 4] = ["bin", "example", "test", "bench"];

/// One line of cargo's JSON output; reasons this module does not use are skipped.
#[derive(Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
enum CargoMessage {
    CompilerMessage {
        message: Diagnostic,
    },
    CompilerArtifact {
        target: Target,
        #[serde(default)]
        executable: Option<PathBuf>,
        #[serde(default)]
        fresh: bool,
    },
    BuildFinished {
        success: bool,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct Diagnostic {
    message: String,
    level: String,
    #[serde(default)]
    code: Option<DiagnosticCode>,
    #[serde(default)]
    spans: Vec<Span>,
    #[serde(default)]
    rendered: Option<String>,
}

#[derive(Deserialize)]
struct DiagnosticCode {
    code: String,
}

#[derive(Deserialize)]
struct Span {
    file_name: String,
    line_start: u32,
    is_primary: bool,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    #[serde(default)]
    kind: Vec<String>,
}

/// Parses one cargo build: `stdout` holds cargo's JSON lines, `stderr` its human text (where
/// dependency and manifest errors appear).
///
/// `crate_root` is the absolute crate path, removed from every path and rendered text. Lines of
/// stdout that are not cargo JSON are ignored. A failed build always yields at least one error:
/// when neither stream explains the failure, a single `other-compile` record says so.
pub fn parse_cargo_build(stdout: &str, stderr: &str, crate_root: &Path) -> CompileReport {
    parse_cargo_build_hiding(stdout, stderr, &[(crate_root, "")])
}

/// `parse_cargo_build` with every `(path, placeholder)` of `replacements` hidden (the crate root
/// as `""`, the harness's cache as `CACHE_PLACEHOLDER`).
pub fn parse_cargo_build_hiding(
    stdout: &str,
    stderr: &str,
    replacements: &[(&Path, &str)],
) -> CompileReport {
    let clean = |text: &str| normalise(text, replacements);
    let mut report = CompileReport::default();

    for line in stdout.lines().map(str::trim).filter(|l| l.starts_with('{')) {
        let Ok(message) = serde_json::from_str::<CargoMessage>(line) else {
            continue;
        };
        match message {
            CargoMessage::CompilerMessage { message } => match message.level.as_str() {
                "warning" if !is_summary(&message.message) => report.warnings += 1,
                "error" | "error: internal compiler error" if !is_summary(&message.message) => {
                    report.errors.push(diagnostic_record(&message, &clean));
                }
                _ => {}
            },
            CargoMessage::CompilerArtifact {
                target,
                executable,
                fresh,
            } => {
                if target
                    .kind
                    .iter()
                    .any(|k| PROGRAM_KINDS.contains(&k.as_str()))
                {
                    report.artifacts.push(Artifact {
                        target_name: target.name,
                        kinds: target.kind,
                        executable,
                        fresh,
                    });
                }
            }
            CargoMessage::BuildFinished { success } => report.success = success,
            CargoMessage::Other => {}
        }
    }

    let stderr = clean(stderr);
    let blocks = error_blocks(&stderr);
    report.errors.extend(
        blocks
            .iter()
            .filter(|block| !is_summary(block_message(block)))
            .map(|block| cargo_record(block)),
    );

    if !report.success && report.errors.is_empty() {
        report.errors.push(unexplained_failure(&blocks, &stderr));
    }
    report
}

/// Whether a diagnostic only summarises others ("aborting due to 2 previous errors",
/// "could not compile `x`", "1 warning emitted").
fn is_summary(message: &str) -> bool {
    static SUMMARY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^(aborting due to|could not compile `|build failed|\d+ warnings? emitted|`[^`]+` \([^)]*\) generated \d+ warnings?)",
        )
        .expect("the summary pattern is valid")
    });
    SUMMARY.is_match(message.trim())
}

/// One record for one rustc error.
fn diagnostic_record(diagnostic: &Diagnostic, clean: &impl Fn(&str) -> String) -> ErrorRecord {
    let code = diagnostic.code.as_ref().map(|c| c.code.clone());
    let category = if diagnostic.level != "error" {
        // An internal compiler error is the toolchain's failure, not the generated code's.
        Category::InfraToolchain
    } else {
        match &code {
            Some(code) => category_for_code(code),
            None => category_for_uncoded(&diagnostic.message),
        }
    };
    let primary = diagnostic.spans.iter().find(|s| s.is_primary);
    let rendered = diagnostic
        .rendered
        .as_deref()
        .unwrap_or(&diagnostic.message);
    ErrorRecord {
        category,
        code,
        message: first_line(&clean(&diagnostic.message)),
        file: primary.map(|s| clean(&s.file_name)),
        line: primary.map(|s| s.line_start),
        rendered: Some(clean(rendered).trim_end().to_owned()),
    }
}

/// Splits cargo's stderr into its `error:` blocks: each runs from an `error:` line to the next
/// `error:` or `warning:` line or cargo status line (`   Compiling x`), blank lines included.
fn error_blocks(stderr: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in stderr.lines() {
        let starts_error = line.starts_with("error:");
        let ends_block = starts_error || line.starts_with("warning:") || is_status_line(line);
        if ends_block {
            if let Some(lines) = current.take() {
                blocks.push(join_block(&lines));
            }
        }
        if starts_error {
            current = Some(vec![line]);
        } else if let Some(lines) = current.as_mut() {
            lines.push(line);
        }
    }
    if let Some(lines) = current {
        blocks.push(join_block(&lines));
    }
    blocks
}

fn join_block(lines: &[&str]) -> String {
    lines.join("\n").trim_end().to_owned()
}

/// Whether a line is one of cargo's progress lines, whose verb is right-aligned in 12 columns
/// (`   Compiling x v0.1.0`, `    Finished ...`); indented text inside an error never is.
fn is_status_line(line: &str) -> bool {
    let verb_start = line.len() - line.trim_start_matches(' ').len();
    let Some(verb) = line[verb_start..].split(' ').next() else {
        return false;
    };
    let mut chars = verb.chars();
    let capitalised = chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_lowercase() || c == '-');
    capitalised && verb_start > 0 && verb_start + verb.len() == 12
}

/// The first line of a block, without the `error: ` prefix.
fn block_message(block: &str) -> &str {
    let first = block.lines().next().unwrap_or_default();
    first.strip_prefix("error:").unwrap_or(first).trim()
}

/// One record for one of cargo's own errors.
fn cargo_record(block: &str) -> ErrorRecord {
    let (file, line) = block_location(block);
    ErrorRecord {
        category: cargo_category(block),
        code: None,
        message: block_message(block).to_owned(),
        file,
        line,
        rendered: Some(block.to_owned()),
    }
}

/// Cargo's errors about the manifest and about resolving, fetching or building dependencies.
///
/// A manifest cargo cannot parse counts as `dependency` too: the manifest is where dependencies
/// are declared, and in the study's tables a broken `Cargo.toml` is a dependency problem.
fn cargo_category(block: &str) -> Category {
    const DEPENDENCY_PHRASES: [&str; 17] = [
        "no matching package",
        "--offline",
        "failed to select a version",
        "does not have that feature",
        "does not have these features",
        "failed to load source",
        "offline mode",
        "failed to get `",
        "failed to download",
        "failed to update",
        "unable to update",
        "failed to run custom build command",
        "failed to parse manifest",
        "failed to load manifest",
        "failed to read `",
        "lock file",
        "Cargo.toml",
    ];
    if DEPENDENCY_PHRASES.iter().any(|p| block.contains(p)) {
        Category::Dependency
    } else {
        Category::OtherCompile
    }
}

/// The file and line an error block points at: a `--> FILE:LINE:COL` marker, or the manifest
/// it names.
fn block_location(block: &str) -> (Option<String>, Option<u32>) {
    static ARROW: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?m)^\s*--> (\S+?):(\d+)(?::\d+)?\s*$").expect("the location pattern is valid")
    });
    static MANIFEST: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"manifest at `([^`]+)`").expect("the manifest pattern is valid")
    });
    if let Some(found) = ARROW.captures(block) {
        return (Some(found[1].to_owned()), found[2].parse().ok());
    }
    if let Some(found) = MANIFEST.captures(block) {
        return (Some(found[1].to_owned()), None);
    }
    (None, None)
}

/// The record for a build that failed without a diagnostic to show for it (cargo killed, output
/// cut short): the last error cargo printed, or the tail of its stderr.
fn unexplained_failure(blocks: &[String], stderr: &str) -> ErrorRecord {
    let mut record = match blocks.last() {
        Some(block) => ErrorRecord::new(Category::OtherCompile, block_message(block)),
        None => ErrorRecord::new(
            Category::OtherCompile,
            "the build failed without reporting an error",
        ),
    };
    let tail = stderr.trim_end();
    if !tail.is_empty() {
        let lines: Vec<&str> = tail.lines().collect();
        let start = lines.len().saturating_sub(40);
        record.rendered = Some(lines[start..].join("\n"));
    }
    record
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:expr) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/diagnostics/",
                $name
            ))
        };
    }

    /// Parses a recorded build; the fixtures' crate root is the `/WORKSPACE` placeholder.
    macro_rules! parse_fixture {
        ($name:literal) => {
            parse_cargo_build(
                fixture!(concat!($name, ".stdout.jsonl")),
                fixture!(concat!($name, ".stderr.txt")),
                Path::new("/WORKSPACE"),
            )
        };
    }

    fn categories(report: &CompileReport) -> Vec<Category> {
        report.errors.iter().map(|e| e.category).collect()
    }

    #[test]
    fn unresolved_name_and_type_mismatch() {
        let report = parse_fixture!("compile_name_type");
        assert_eq!(
            categories(&report),
            [Category::UnresolvedName, Category::TypeMismatch]
        );
        insta::assert_yaml_snapshot!(report);
    }

    #[test]
    fn trait_bound() {
        let report = parse_fixture!("compile_trait_bound");
        assert_eq!(categories(&report), [Category::TraitBound]);
        insta::assert_yaml_snapshot!(report);
    }

    #[test]
    fn api_misuse() {
        let report = parse_fixture!("compile_api_misuse");
        assert_eq!(categories(&report), [Category::ApiMisuse; 2]);
        insta::assert_yaml_snapshot!(report);
    }

    #[test]
    fn borrow_ownership() {
        let report = parse_fixture!("compile_borrow");
        assert_eq!(categories(&report), [Category::BorrowOwnership; 2]);
        insta::assert_yaml_snapshot!(report);
    }

    #[test]
    fn syntax_unclosed_delimiter() {
        let report = parse_fixture!("compile_syntax_unclosed");
        assert_eq!(categories(&report), [Category::Syntax]);
        insta::assert_yaml_snapshot!(report);
    }

    #[test]
    fn syntax_expected_one_of() {
        let report = parse_fixture!("compile_syntax_expected");
        assert_eq!(categories(&report), [Category::Syntax]);
        insta::assert_yaml_snapshot!(report);
    }

    #[test]
    fn lifetime_missing_specifier() {
        let report = parse_fixture!("compile_lifetime_missing");
        assert_eq!(categories(&report), [Category::Lifetime; 2]);
        insta::assert_yaml_snapshot!(report);
    }

    #[test]
    fn lifetime_may_not_live_long_enough() {
        let report = parse_fixture!("compile_lifetime_outlives");
        assert_eq!(categories(&report), [Category::Lifetime]);
        insta::assert_yaml_snapshot!(report);
    }

    #[test]
    fn unresolved_import_of_undeclared_crate() {
        let report = parse_fixture!("compile_unresolved_crate");
        assert_eq!(categories(&report), [Category::UnresolvedName; 3]);
        insta::assert_yaml_snapshot!(report);
    }

    #[test]
    fn linker_failure_is_other_compile_without_build_hashes() {
        let report = parse_fixture!("compile_linker");
        assert_eq!(categories(&report), [Category::OtherCompile]);
        let rendered = report.errors[0].rendered.as_deref().unwrap_or_default();
        assert!(!rendered.contains("/WORKSPACE"), "{rendered}");
        assert!(!rendered.contains("rustcZNg"), "{rendered}");
        insta::assert_yaml_snapshot!(report);
    }

    #[test]
    fn dependency_missing_package() {
        let report = parse_fixture!("compile_dep_missing");
        assert_eq!(categories(&report), [Category::Dependency]);
        insta::assert_yaml_snapshot!(report);
    }

    #[test]
    fn dependency_missing_version() {
        let report = parse_fixture!("compile_dep_version");
        assert_eq!(categories(&report), [Category::Dependency]);
        insta::assert_yaml_snapshot!(report);
    }

    #[test]
    fn dependency_missing_feature() {
        let report = parse_fixture!("compile_dep_feature");
        assert_eq!(categories(&report), [Category::Dependency]);
        insta::assert_yaml_snapshot!(report);
    }

    #[test]
    fn malformed_manifest_is_a_dependency_error() {
        let report = parse_fixture!("compile_manifest_malformed");
        assert_eq!(categories(&report), [Category::Dependency]);
        assert_eq!(report.errors[0].file.as_deref(), Some("Cargo.toml"));
        insta::assert_yaml_snapshot!(report);
    }

    #[test]
    fn success_with_warnings() {
        let report = parse_fixture!("compile_warnings");
        assert!(report.success);
        assert!(report.errors.is_empty());
        assert_eq!(report.warnings, 1);
        assert!(!report.artifacts[0].fresh);
        insta::assert_yaml_snapshot!(report);
    }

    #[test]
    fn success_fresh_rebuild() {
        let report = parse_fixture!("compile_warnings_fresh");
        assert!(report.success);
        assert_eq!(report.warnings, 1);
        assert!(report.artifacts[0].fresh);
        insta::assert_yaml_snapshot!(report);
    }

    #[test]
    fn could_not_compile_is_only_a_summary() {
        let report = parse_fixture!("compile_trait_bound");
        assert!(fixture!("compile_trait_bound.stderr.txt").contains("error: could not compile"));
        assert_eq!(report.errors.len(), 1);
        assert_eq!(report.errors[0].code.as_deref(), Some("E0277"));
    }

    #[test]
    fn failure_without_any_diagnostic_still_yields_one_error() {
        let report = parse_cargo_build("", "", Path::new("/WORKSPACE"));
        assert!(!report.success);
        assert_eq!(categories(&report), [Category::OtherCompile]);

        let stderr = "   Compiling x v0.1.0 (/WORKSPACE)\n\
                      error: could not compile `x` (bin \"x\") due to 1 previous error\n";
        let report = parse_cargo_build("", stderr, Path::new("/WORKSPACE"));
        assert_eq!(report.errors.len(), 1);
        assert_eq!(
            report.errors[0].message,
            "could not compile `x` (bin \"x\") due to 1 previous error"
        );
    }

    #[test]
    fn internal_compiler_error_is_charged_to_the_toolchain() {
        let stdout = r#"{"reason":"compiler-message","message":{"message":"unexpected panic","level":"error: internal compiler error","code":null,"spans":[],"rendered":"error: internal compiler error: unexpected panic\n"}}"#;
        let report = parse_cargo_build(stdout, "", Path::new("/WORKSPACE"));
        assert_eq!(categories(&report), [Category::InfraToolchain]);
    }

    #[test]
    fn non_json_lines_and_unknown_reasons_are_skipped() {
        let stdout =
            "not json\n{\"reason\":\"build-script-executed\",\"package_id\":\"x\"}\n{truncated\n\
                      {\"reason\":\"build-finished\",\"success\":true}\n";
        let report = parse_cargo_build(stdout, "", Path::new("/WORKSPACE"));
        assert_eq!(
            report,
            CompileReport {
                success: true,
                ..CompileReport::default()
            }
        );
    }

    #[test]
    fn absolute_span_paths_become_relative() {
        let stdout = r#"{"reason":"compiler-message","message":{"message":"mismatched types","level":"error","code":{"code":"E0308","explanation":null},"spans":[{"file_name":"/WORKSPACE/src/model.rs","line_start":7,"is_primary":true}],"rendered":"error[E0308]: mismatched types\n --> /WORKSPACE/src/model.rs:7:5\n"}}"#;
        let report = parse_cargo_build(stdout, "", Path::new("/WORKSPACE"));
        let error = &report.errors[0];
        assert_eq!(error.file.as_deref(), Some("src/model.rs"));
        assert_eq!(error.line, Some(7));
        assert_eq!(
            error.rendered.as_deref(),
            Some("error[E0308]: mismatched types\n --> src/model.rs:7:5")
        );
    }

    #[test]
    fn status_lines_are_recognised_by_their_alignment() {
        assert!(is_status_line("   Compiling x v0.1.0"));
        assert!(is_status_line("    Finished `dev` profile"));
        assert!(is_status_line("  Downloaded serde v1.0.0"));
        assert!(!is_status_line("  Unable to update registry"));
        assert!(!is_status_line("Caused by:"));
        assert!(!is_status_line(""));
    }
}
