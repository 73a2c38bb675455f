//! The toolchain's health, piece by piece, with a fix for each problem (`harness doctor`).

use std::path::Path;
use std::time::Duration;

use crate::exec::{run_process, ProcessSpec};

use super::cache::CacheLayout;
use super::config::Toolchain;
use super::disk::disk_usage;
use super::install::{state, Installed};
use super::libtorch::{self, LIBTORCH_ENV, LIBTORCH_VERSION};
use super::python::find_python;
use super::python_env::{
    embedded_lock, env_state, find_interpreter, interpreter_version, other_envs, EnvState,
};
use super::vendor;
use super::warm::rustc_identity;
use crate::progress::{human_bytes, human_duration};

/// Debian packages the toolchain needs besides Rust: a C++ compiler for torch-sys, pkg-config
/// and fontconfig's headers for plotters' font support (font-kit), and a font for plots with
/// text. CI installs them (`.ci/run`); the README lists them.
pub const SYSTEM_PACKAGES: &[&str] = &[
    "g++",
    "pkg-config",
    "libfontconfig-dev",
    "fonts-dejavu-core",
];

/// How one piece stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// Needed and missing or broken: `harness doctor` exits with 2.
    Missing,
    /// Worth knowing, not needed now (the sandbox tools of a later version, say).
    Note,
}

/// What the doctor found about one piece.
#[derive(Debug, Clone)]
pub struct Finding {
    pub piece: &'static str,
    pub health: Health,
    pub detail: String,
    pub fix: Option<String>,
}

fn finding(piece: &'static str, health: Health, detail: String, fix: Option<String>) -> Finding {
    Finding {
        piece,
        health,
        detail,
        fix,
    }
}

/// Checks every piece. The smoke build runs only when `smoke` is set and everything it needs
/// is in place.
pub fn diagnose(cache: &Path, user_libtorch: Option<&Path>, smoke: bool) -> Vec<Finding> {
    let layout = CacheLayout::new(cache);
    let mut findings = Vec::new();
    let apt = |packages: &str| format!("apt-get install {packages} (Debian/Ubuntu)");

    match rustc_identity() {
        Ok(identity) => {
            let line = identity.lines().next().unwrap_or_default().to_string();
            findings.push(finding("rust", Health::Ok, line, None));
            findings.push(linker(&identity));
        }
        Err(error) => findings.push(finding(
            "rust",
            Health::Missing,
            error.to_string(),
            Some("install Rust with rustup".to_string()),
        )),
    }
    findings.push(tool(
        "c++ compiler",
        "c++",
        &["--version"],
        Health::Missing,
        "torch-sys compiles its C++ glue",
        &apt("g++"),
    ));
    findings.push(tool(
        "fontconfig",
        "pkg-config",
        &["--modversion", "fontconfig"],
        Health::Missing,
        "plotters' fonts (font-kit) build against fontconfig",
        &apt("pkg-config libfontconfig-dev"),
    ));
    findings.push(tool(
        "fonts",
        "fc-match",
        &["sans-serif"],
        Health::Missing,
        "a plot with text fails at run time without a font",
        &apt("fonts-dejavu-core"),
    ));

    let libtorch_dir = layout.libtorch_dir();
    let own = libtorch::installed(&libtorch_dir);
    // As `provision` does: a relative `LIBTORCH` is taken from the current folder.
    let user_libtorch =
        user_libtorch.map(|path| std::path::absolute(path).unwrap_or(path.to_path_buf()));
    let libtorch = match &user_libtorch {
        Some(path) => match libtorch::user_libtorch(path) {
            Ok(libtorch) => {
                findings.push(finding("libtorch", Health::Ok, libtorch.describe(), None));
                Some(libtorch)
            }
            Err(error) => {
                findings.push(finding(
                    "libtorch",
                    Health::Missing,
                    error.to_string(),
                    Some(format!(
                        "unset {LIBTORCH_ENV}, or point it at a libtorch {LIBTORCH_VERSION}"
                    )),
                ));
                None
            }
        },
        None => match &own {
            Some(libtorch) => {
                let detail = format!(
                    "{} ({})",
                    libtorch.describe(),
                    human_bytes(disk_usage(&libtorch.dir))
                );
                findings.push(finding("libtorch", Health::Ok, detail, None));
                own.clone()
            }
            None => {
                let detail = match state(&libtorch_dir, &libtorch::marker_text()) {
                    Installed::Missing => format!("not installed ({})", libtorch_dir.display()),
                    _ => format!("incomplete install in {}", libtorch_dir.display()),
                };
                findings.push(finding(
                    "libtorch",
                    Health::Missing,
                    detail,
                    Some("harness setup (downloads about 540 MB)".to_string()),
                ));
                None
            }
        },
    };

    // pip matters only while the harness's own libtorch still has to be downloaded.
    let pip_needed = user_libtorch.is_none() && own.is_none();
    findings.push(match find_python() {
        Ok(python) => finding("python/pip", Health::Ok, python.pip_version, None),
        Err(error) => finding(
            "python/pip",
            if pip_needed {
                Health::Missing
            } else {
                Health::Note
            },
            format!("{error} (needed only to download libtorch)"),
            Some(apt("python3-pip")),
        ),
    });

    let vendor_dir = layout.vendor_dir();
    let vendored = state(&vendor_dir, &vendor::marker_text()) == Installed::Complete;
    findings.push(if vendored {
        finding(
            "vendored crates",
            Health::Ok,
            format!(
                "{} ({})",
                vendor_dir.display(),
                human_bytes(disk_usage(&vendor_dir))
            ),
            None,
        )
    } else {
        finding(
            "vendored crates",
            Health::Missing,
            format!("not vendored ({})", vendor_dir.display()),
            Some("harness setup".to_string()),
        )
    });

    let toolchain = libtorch.map(|libtorch| Toolchain::new(&layout, libtorch));
    let warm = match (&toolchain, rustc_identity()) {
        (Some(toolchain), Ok(rustc)) => {
            let warm = toolchain.warm_state(&rustc) == Installed::Complete;
            let target = &toolchain.target_dir;
            findings.push(if warm {
                finding(
                    "warm build",
                    Health::Ok,
                    format!("{} ({})", target.display(), human_bytes(disk_usage(target))),
                    None,
                )
            } else {
                finding(
                    "warm build",
                    Health::Missing,
                    format!(
                        "not built for this configuration and compiler ({})",
                        target.display()
                    ),
                    Some("harness setup (compiles the allowed crates: minutes)".to_string()),
                )
            });
            warm
        }
        _ => {
            findings.push(finding(
                "warm build",
                Health::Missing,
                "needs libtorch and Rust first".to_string(),
                Some("harness setup".to_string()),
            ));
            false
        }
    };

    match (&toolchain, smoke && vendored && warm) {
        (Some(toolchain), true) => findings.push(match toolchain.smoke_check() {
            Ok(report) if report.rebuilt.is_empty() => finding(
                "smoke build",
                Health::Ok,
                format!(
                    "a new tch crate built in {} and ran in {} without LD_LIBRARY_PATH: {}",
                    human_duration(report.build),
                    human_duration(report.run),
                    report.output
                ),
                None,
            ),
            Ok(report) => finding(
                "smoke build",
                Health::Missing,
                format!(
                    "a new tch crate rebuilt {} ({}), so the warm build is not reused; it took {}",
                    report.rebuilt.join(", "),
                    report.rebuilt.len(),
                    human_duration(report.build)
                ),
                Some(
                    "keep LIBTORCH, RUSTFLAGS and the cache folder fixed; run harness setup"
                        .to_string(),
                ),
            ),
            Err(error) => finding(
                "smoke build",
                Health::Missing,
                error.to_string(),
                Some(
                    "run harness setup; if it persists, remove the cache folder's target/"
                        .to_string(),
                ),
            ),
        }),
        _ => findings.push(finding(
            "smoke build",
            if smoke { Health::Missing } else { Health::Note },
            if smoke {
                "skipped: the pieces above are missing".to_string()
            } else {
                "skipped".to_string()
            },
            None,
        )),
    }

    findings.extend(python_env_findings(cache));
    findings.push(tool(
        "bubblewrap",
        "bwrap",
        &["--version"],
        Health::Note,
        "the sandbox will need it",
        &apt("bubblewrap"),
    ));
    findings
}

/// The Python environment: made or not (it is made only on request, so its absence is a
/// note), working, and environments of older locks worth removing.
fn python_env_findings(cache: &Path) -> Vec<Finding> {
    const PIECE: &str = "python env";
    let lock = match embedded_lock() {
        Ok(lock) => lock,
        Err(error) => return vec![finding(PIECE, Health::Missing, error.to_string(), None)],
    };
    let setup = format!(
        "harness setup --python (downloads {} once)",
        human_bytes(lock.total_bytes())
    );
    let remake = |dir: &Path| {
        format!(
            "chmod -R u+w {0} && rm -rf {0}, then {setup}",
            dir.display()
        )
    };
    let mut findings = vec![match env_state(cache, &lock) {
        EnvState::Complete(env) => match interpreter_version(&env.python()) {
            Ok(version) if version == env.record.python => finding(
                PIECE,
                Health::Ok,
                format!(
                    "Python {version} (from {}), torch {}, {} wheels, at {} ({})",
                    env.record.base_prefix,
                    env.record.torch_build,
                    lock.wheels.len(),
                    env.dir.display(),
                    human_bytes(disk_usage(&env.dir))
                ),
                None,
            ),
            Ok(version) => finding(
                PIECE,
                Health::Missing,
                format!(
                    "{}: its interpreter is Python {version} now, it was made with {}",
                    env.dir.display(),
                    env.record.python
                ),
                Some(remake(&env.dir)),
            ),
            Err(reason) => finding(
                PIECE,
                Health::Missing,
                format!(
                    "{reason}; it was made from the Python in {}",
                    env.record.base_prefix
                ),
                Some(remake(&env.dir)),
            ),
        },
        EnvState::Missing(dir) => {
            let python = match find_interpreter(lock.python) {
                Ok(found) => format!(
                    "it would be made from Python {} ({})",
                    found.version,
                    found.executable.display()
                ),
                Err(error) => error.to_string(),
            };
            finding(
                PIECE,
                Health::Note,
                format!(
                    "not made ({}); only the python-torch-unet target needs it; {python}",
                    dir.display()
                ),
                Some(setup.clone()),
            )
        }
        EnvState::Incomplete(dir) => finding(
            PIECE,
            Health::Note,
            format!("incomplete ({}): an interrupted setup", dir.display()),
            Some(setup.clone()),
        ),
    }];
    for other in other_envs(cache, &lock) {
        findings.push(finding(
            PIECE,
            Health::Note,
            format!(
                "{} is the environment of another lock ({}), unused",
                other.display(),
                human_bytes(disk_usage(&other))
            ),
            Some(format!("chmod -R u+w {0} && rm -rf {0}", other.display())),
        ));
    }
    findings
}

/// Which linker generated crates get, from `rustc -vV`: the harness's cargo configuration names
/// none, so rustc's default links. On x86_64 Linux that is rustc's own `rust-lld` from Rust
/// 1.90 on (the reference U-Net links in about 0.3 s); before, the system's `cc` with GNU ld
/// (about 1.5 s), which works but is slower: a note, never a missing piece.
fn linker(rustc_identity: &str) -> Finding {
    let field = |name: &str| {
        rustc_identity
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_default()
    };
    let (host, release) = (field("host:"), field("release:"));
    let mut numbers = release.split(['.', '-']).map(|n| n.parse::<u32>().ok());
    let version = (numbers.next().flatten(), numbers.next().flatten());
    let own_lld = host == "x86_64-unknown-linux-gnu"
        && matches!(version, (Some(major), Some(minor)) if (major, minor) >= (1, 90));
    if own_lld {
        finding(
            "linker",
            Health::Ok,
            format!("rust-lld, rustc {release}'s own (its default on {host})"),
            None,
        )
    } else {
        finding(
            "linker",
            Health::Note,
            format!(
                "rustc {release} on {host} links with the system's cc (GNU ld): each build of a \
                 generated crate links about a second slower than with rustc's own rust-lld"
            ),
            Some("rustup update (Rust 1.90 or later links with rust-lld on x86_64 Linux)".into()),
        )
    }
}

/// Runs a tool's version query: `Ok` with its first line, or `absent` with the fix.
fn tool(
    piece: &'static str,
    program: &str,
    args: &[&str],
    absent: Health,
    why: &str,
    fix: &str,
) -> Finding {
    let mut spec = ProcessSpec::new(program, std::env::temp_dir()).timeout(Duration::from_secs(30));
    for arg in args {
        spec = spec.arg(arg);
    }
    match run_process(&spec) {
        Ok(output) if output.success() => {
            let text = format!("{}{}", output.stdout, output.stderr);
            let first = text.lines().next().unwrap_or_default().trim().to_string();
            finding(piece, Health::Ok, format!("{program}: {first}"), None)
        }
        _ => finding(
            piece,
            absent,
            format!("`{program} {}` failed or is missing: {why}", args.join(" ")),
            Some(fix.to_string()),
        ),
    }
}

/// Whether any finding is a missing piece.
pub fn anything_missing(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.health == Health::Missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toolchain::python_env::{fake_complete_env, FAKE_RECORD};

    #[test]
    fn a_missing_python_environment_is_a_note_with_the_setup_command() {
        let cache = tempfile::tempdir().unwrap();
        let findings = python_env_findings(cache.path());
        assert_eq!(findings.len(), 1);
        let env = &findings[0];
        assert_eq!(env.piece, "python env");
        assert_eq!(env.health, Health::Note);
        assert!(env.detail.starts_with("not made ("), "{}", env.detail);
        assert!(env.detail.contains("python-torch-unet"), "{}", env.detail);
        let fix = env.fix.as_deref().unwrap();
        assert!(
            fix.starts_with("harness setup --python (downloads 2."),
            "{fix}"
        );
    }

    #[test]
    fn an_environment_whose_python_is_gone_is_missing_and_old_ones_are_noted() {
        let cache = tempfile::tempdir().unwrap();
        let dir = fake_complete_env(cache.path(), FAKE_RECORD);
        let old = cache.path().join("python-env-000000000000");
        std::fs::create_dir_all(&old).unwrap();
        let findings = python_env_findings(cache.path());
        assert_eq!(findings.len(), 2, "{findings:?}");
        assert_eq!(findings[0].health, Health::Missing);
        assert!(
            findings[0].detail.contains("/opt/python"),
            "{}",
            findings[0].detail
        );
        let fix = findings[0].fix.as_deref().unwrap();
        assert!(
            fix.contains(&format!("chmod -R u+w {}", dir.display())),
            "{fix}"
        );
        assert!(fix.contains("harness setup --python"), "{fix}");
        assert_eq!(findings[1].health, Health::Note);
        assert!(
            findings[1].detail.contains("another lock"),
            "{}",
            findings[1].detail
        );
        assert!(findings[1]
            .fix
            .as_deref()
            .unwrap()
            .contains(&old.display().to_string()));
    }

    fn identity(release: &str, host: &str) -> String {
        format!("rustc {release} (abc 2026-04-14)\nbinary: rustc\nhost: {host}\nrelease: {release}\nLLVM version: 22.1.0\n")
    }

    #[test]
    fn the_linker_is_rustcs_own_lld_from_1_90_on_x86_64_linux() {
        let linux = "x86_64-unknown-linux-gnu";
        for release in ["1.90.0", "1.95.0", "1.96.0-nightly", "2.0.0"] {
            let found = linker(&identity(release, linux));
            assert_eq!(found.health, Health::Ok, "{release}: {}", found.detail);
            assert!(found.detail.contains("rust-lld"), "{}", found.detail);
        }
        for (release, host) in [
            ("1.89.0", linux),
            ("1.88.0", linux),
            ("1.95.0", "aarch64-unknown-linux-gnu"),
            ("garbled", linux),
        ] {
            let found = linker(&identity(release, host));
            assert_eq!(found.health, Health::Note, "{release} {host}");
            assert!(found.fix.is_some());
        }
    }
}
