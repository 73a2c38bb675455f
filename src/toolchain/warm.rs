//! The warm build (the whole allow-list compiled once into the shared target folder) and the
//! smoke check that proves a new crate reuses it and finds libtorch at run time.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::exec::{run_process, LineObserver, ProcessSpec, Stream};

use super::cache::CacheLayout;
use super::command::{describe_exit, run_checked, tail};
use super::config::{Toolchain, CARGO_CONFIG_PATH};
use super::error::ToolchainError;
use super::install::{state, write_marker, Installed};
use super::vendor::{warm_manifest, write_if_changed, write_warm_crate, WARM_LOCK, WARM_PACKAGE};
use crate::progress::SetupProgress;

/// `rustc -vV`: the compiler's identity, part of what a warm build was made with.
pub fn rustc_identity() -> Result<String, ToolchainError> {
    let spec = ProcessSpec::new("rustc", std::env::temp_dir())
        .arg("-vV")
        .timeout(Duration::from_secs(60));
    Ok(run_checked(&spec, "rustc -vV")?.stdout)
}

impl Toolchain {
    /// The warm crate's folder, a path dependency for generated crates (see `pin_manifest`).
    pub fn warm_dir(&self) -> PathBuf {
        CacheLayout::new(&self.cache_dir).warm_dir()
    }

    /// Where sandboxed builds keep their copy-on-write layers over `target_dir`.
    pub fn layers_dir(&self) -> PathBuf {
        CacheLayout::new(&self.cache_dir).layers_dir()
    }

    /// `manifest` (a generated crate's `Cargo.toml`) with the warm crate added as a
    /// dependency. Cargo unifies features over a crate's whole dependency graph, so a crate
    /// using only some allowed crates would otherwise build shared dependencies (syn, serde,
    /// num-traits...) with other features than the warm build did, and recompile them and
    /// everything above them, `tch` included (measured: 23 units for a crate using only
    /// `tch`). With the warm crate in its graph the features are the warm build's, and a new
    /// crate compiles only itself. The warm crate has no code: the program cannot use it.
    /// The text is appended as a table of its own, which is valid after any `[dependencies]`.
    pub fn pin_manifest(&self, manifest: &str) -> String {
        let mut text = manifest.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!(
            "\n# Added by harness: the warm build's features for every allowed crate (no code).\n\
             [dependencies.{WARM_PACKAGE}]\npath = {}\n",
            super::config::toml_string(&self.warm_dir())
        ));
        text
    }

    /// The marker of a warm target folder: everything that, changed, would rebuild it.
    pub fn warm_marker(&self, rustc: &str) -> String {
        let hash = |text: &str| crate::hashing::sha256_hex(text.as_bytes());
        format!(
            "warm build\nconfig sha256:{}\nmanifest sha256:{}\nlock sha256:{}\nrustc sha256:{}\n",
            hash(&self.cargo_config()),
            hash(&warm_manifest()),
            hash(WARM_LOCK),
            hash(rustc)
        )
    }

    /// Whether the target folder holds a finished warm build made exactly as now. The marker
    /// lives in the target folder itself, so `cargo clean` removes both together.
    pub fn warm_state(&self, rustc: &str) -> Installed {
        match state(&self.target_dir, &self.warm_marker(rustc)) {
            Installed::Complete => Installed::Complete,
            _ if self.target_dir.exists() => Installed::Incomplete,
            _ => Installed::Missing,
        }
    }

    /// Builds the warm crate into the shared target folder (dev profile, the same cargo
    /// configuration as generated crates). Never under a time limit: a build killed while
    /// torch-sys's build script runs leaves the cache dirty. Returns how many units cargo
    /// compiled.
    pub fn prewarm(&self, rustc: &str, progress: &SetupProgress) -> Result<u64, ToolchainError> {
        let warm_dir = self.warm_dir();
        write_warm_crate(&warm_dir, Some(&self.cargo_config()))?;
        let marker_path = self.target_dir.join(super::install::MARKER);
        let old_marker = std::fs::read_to_string(&marker_path).unwrap_or_default();
        if shares_no_unit(&old_marker, &self.warm_marker(rustc)) {
            // Every unit's hash changes with the configuration or the compiler, and cargo never
            // removes units: the old ones would stay beside the new, gigabytes of them.
            std::fs::remove_dir_all(&self.target_dir)
                .map_err(ToolchainError::io("remove", &self.target_dir))?;
        } else if marker_path.exists() {
            std::fs::remove_file(&marker_path)
                .map_err(ToolchainError::io("remove", &marker_path))?;
        }
        let step = progress
            .spinner("building the allowed crates (minutes; torch-sys's C++ is the longest part)");
        let compiled = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&compiled);
        let handle = step.handle();
        let observer = LineObserver::new(move |stream, line| {
            let line = line.trim_start();
            if stream == Stream::Stderr && line.starts_with("Compiling ") {
                let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
                let what = line.trim_start_matches("Compiling ");
                let name = what.split(" (").next().unwrap_or(what);
                handle.set_message(format!(
                    "building the allowed crates: {n} compiled, now {name}"
                ));
            }
        });
        let spec = ProcessSpec::new("cargo", &warm_dir)
            .arg("build")
            .arg("--locked")
            .env("CARGO_TERM_COLOR", "never")
            .env("CARGO_TERM_PROGRESS_WHEN", "never")
            .no_timeout()
            .output_cap(4 << 20)
            .observe(observer);
        run_checked(&spec, "cargo build (the warm crate)")?;
        // The warm crate as a dependency is built with the dependencies' profile, not as the
        // root it just was: build that unit now, through the smoke crate, not in the check.
        step.set_message("building the smoke crate once".to_string());
        self.build_smoke()?;
        std::fs::create_dir_all(&self.target_dir)
            .map_err(ToolchainError::io("create", &self.target_dir))?;
        write_marker(&self.target_dir, &self.warm_marker(rustc))?;
        Ok(compiled.load(Ordering::Relaxed))
    }

    /// Builds and runs a tiny new crate that uses `tch`, with the generated crates' cargo
    /// configuration and the warm crate pinned in (`pin_manifest`): proves that a crate reuses
    /// the warm build (no dependency recompiled, about half a second) and that the program
    /// finds libtorch through its rpath, with no `LD_LIBRARY_PATH`.
    pub fn smoke_check(&self) -> Result<SmokeReport, ToolchainError> {
        let smoke = |reason: String| ToolchainError::Smoke { reason };
        let (dir, build, artifacts) = self.build_smoke()?;
        let rebuilt: Vec<String> = artifacts
            .iter()
            .filter(|a| !a.fresh && a.package != SMOKE_PACKAGE)
            .map(|a| a.package.clone())
            .collect();
        let program = artifacts
            .iter()
            .find(|a| a.package == SMOKE_PACKAGE)
            .and_then(|a| a.executable.clone())
            .ok_or_else(|| smoke(format!("cargo reported no binary for {SMOKE_PACKAGE}")))?;

        let started = Instant::now();
        let spec = ProcessSpec::new(&program, &dir).timeout(Duration::from_secs(120));
        let output = run_process(&spec).map_err(|source| ToolchainError::Exec {
            program: program.to_string_lossy().into_owned(),
            source,
        })?;
        let run = started.elapsed();
        if !output.success() || !output.stdout.contains(SMOKE_OK) {
            return Err(smoke(format!(
                "the smoke program failed ({}), without LD_LIBRARY_PATH; its output:\n{}",
                describe_exit(&output),
                tail(&format!("{}{}", output.stdout, output.stderr), 20)
            )));
        }
        Ok(SmokeReport {
            build,
            run,
            rebuilt,
            output: output.stdout.trim().to_string(),
            program,
        })
    }

    /// Writes the smoke crate (its source rewritten, like a new generated crate's) and builds
    /// it: its folder, the build's duration, and what cargo reported.
    fn build_smoke(&self) -> Result<(PathBuf, Duration, Vec<ArtifactLine>), ToolchainError> {
        let dir = self.cache_dir.join("smoke");
        write_if_changed(&dir.join("Cargo.toml"), &self.pin_manifest(SMOKE_MANIFEST))?;
        write_if_changed(&dir.join(CARGO_CONFIG_PATH), &self.cargo_config())?;
        // Rewritten every time, like a new generated crate: cargo must compile it again.
        let main = dir.join("src/main.rs");
        std::fs::create_dir_all(dir.join("src")).map_err(ToolchainError::io("create", &dir))?;
        std::fs::write(&main, SMOKE_MAIN).map_err(ToolchainError::io("write", &main))?;

        let spec = ProcessSpec::new("cargo", &dir)
            .arg("build")
            .arg("--message-format=json-render-diagnostics")
            .env("CARGO_TERM_COLOR", "never")
            // An unwarmed cache makes this a full build; it must not be cut short either.
            .no_timeout()
            .output_cap(8 << 20);
        let started = Instant::now();
        let output = run_checked(&spec, "cargo build (the smoke crate)")?;
        let build = started.elapsed();
        Ok((dir, build, parse_artifacts(&output.stdout)))
    }
}

/// Whether a finished warm build with marker `old` was made with another cargo configuration or
/// another compiler than `new` says: then none of its units can be reused. An absent or
/// unfinished build (no marker: an interrupted pre-warm) is kept, and so is one whose allow-list
/// alone changed (most of its units are still good).
fn shares_no_unit(old: &str, new: &str) -> bool {
    let line = |marker: &str, key: &str| {
        marker
            .lines()
            .find(|line| line.starts_with(key))
            .map(str::to_string)
    };
    ["config ", "rustc "]
        .iter()
        .any(|key| matches!((line(old, key), line(new, key)), (Some(was), Some(now)) if was != now))
}

/// What the smoke check measured.
#[derive(Debug, Clone)]
pub struct SmokeReport {
    /// The build of the new crate (everything else should have been fresh).
    pub build: Duration,
    pub run: Duration,
    /// Packages other than the smoke crate that cargo compiled: empty when the warm build
    /// was reused.
    pub rebuilt: Vec<String>,
    /// What the program printed.
    pub output: String,
    pub program: PathBuf,
}

const SMOKE_PACKAGE: &str = "harness-smoke";
const SMOKE_OK: &str = "harness-smoke ok";

const SMOKE_MANIFEST: &str = r#"# Written by harness: the smoke check's crate, a stand-in for a new generated crate.
[package]
name = "harness-smoke"
version = "0.1.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
tch = "0.24"
"#;

const SMOKE_MAIN: &str = r#"//! Written by harness: creates a tensor with libtorch and prints what it sees.

fn main() {
    let t = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).reshape([2, 3]);
    let sum = t.sum(tch::Kind::Float).double_value(&[]);
    println!(
        "harness-smoke ok: size {:?}, sum {sum}, cuda {}",
        t.size(),
        tch::Cuda::is_available()
    );
}
"#;

/// One `compiler-artifact` message of cargo's JSON output.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ArtifactLine {
    package: String,
    fresh: bool,
    executable: Option<PathBuf>,
}

fn parse_artifacts(stdout: &str) -> Vec<ArtifactLine> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .map(|message| ArtifactLine {
            package: package_name(message["package_id"].as_str().unwrap_or_default()),
            fresh: message["fresh"].as_bool().unwrap_or(false),
            executable: message["executable"].as_str().map(PathBuf::from),
        })
        .collect()
}

/// The package name in a cargo package id: `registry+...#tch@0.24.0` (current cargo) or
/// `tch 0.24.0 (registry+...)` (older cargo); a path package's id may end in `#0.1.0` only,
/// after a folder named like the package.
fn package_name(id: &str) -> String {
    if let Some((_, fragment)) = id.rsplit_once('#') {
        return match fragment.split_once('@') {
            Some((name, _)) => name.to_string(),
            None => id
                .split('#')
                .next()
                .and_then(|url| url.rsplit('/').next())
                .unwrap_or(id)
                .to_string(),
        };
    }
    id.split_whitespace().next().unwrap_or(id).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn package_names_from_both_id_formats() {
        assert_eq!(
            package_name("registry+https://example.invalid/index#tch@0.24.0"),
            "tch"
        );
        assert_eq!(
            package_name("path+file:///c/smoke#harness-smoke@0.1.0"),
            "harness-smoke"
        );
        assert_eq!(
            package_name("path+file:///c/harness-smoke#0.1.0"),
            "harness-smoke"
        );
        assert_eq!(package_name("tch 0.24.0 (registry+https://x)"), "tch");
    }

    #[test]
    fn artifacts_say_what_was_rebuilt() {
        let stdout = [
            r#"{"reason":"compiler-artifact","package_id":"registry+https://x#tch@0.24.0","fresh":true,"executable":null}"#,
            r#"{"reason":"build-script-executed","package_id":"registry+https://x#torch-sys@0.24.0"}"#,
            r#"{"reason":"compiler-artifact","package_id":"path+file:///c/smoke#harness-smoke@0.1.0","fresh":false,"executable":"/c/target/debug/harness-smoke"}"#,
            "not json",
        ]
        .join("\n");
        let artifacts = parse_artifacts(&stdout);
        assert_eq!(artifacts.len(), 2);
        assert!(artifacts[0].fresh);
        assert_eq!(
            artifacts[1].executable.as_deref(),
            Some(Path::new("/c/target/debug/harness-smoke"))
        );
    }

    #[test]
    fn pinning_appends_the_warm_crate_as_a_table_of_its_own() {
        use crate::toolchain::libtorch::{Libtorch, LibtorchOrigin};
        let toolchain = Toolchain::new(
            &CacheLayout::new("/c"),
            Libtorch {
                dir: PathBuf::from("/c/libtorch-2.11.0"),
                version: "2.11.0".into(),
                origin: LibtorchOrigin::Harness,
            },
        );
        let manifest = "[package]\nname = \"unet\"\n\n[dependencies]\ntch = \"0.24\"\n\n[profile.release]\nlto = true";
        let pinned = toolchain.pin_manifest(manifest);
        assert!(pinned.starts_with(manifest));
        assert!(
            pinned.ends_with("\n[dependencies.harness-warm]\npath = \"/c/warm\"\n"),
            "{pinned}"
        );
    }

    #[test]
    fn a_warm_build_made_another_way_is_removed_only_when_nothing_is_reusable() {
        let marker = |config: &str, lock: &str, rustc: &str| {
            format!("warm build\nconfig sha256:{config}\nmanifest sha256:m\nlock sha256:{lock}\nrustc sha256:{rustc}\n")
        };
        let now = marker("c1", "l1", "r1");
        assert!(shares_no_unit(&marker("c0", "l1", "r1"), &now));
        assert!(shares_no_unit(&marker("c1", "l1", "r0"), &now));
        assert!(!shares_no_unit(&marker("c1", "l0", "r1"), &now));
        assert!(!shares_no_unit(&now, &now));
        assert!(
            !shares_no_unit("", &now),
            "an interrupted pre-warm is resumed"
        );
    }

    #[test]
    fn the_warm_marker_changes_with_the_config_and_the_compiler() {
        use crate::toolchain::cache::CacheLayout;
        use crate::toolchain::libtorch::{Libtorch, LibtorchOrigin};
        let libtorch = |dir: &str| Libtorch {
            dir: PathBuf::from(dir),
            version: "2.11.0".into(),
            origin: LibtorchOrigin::Harness,
        };
        let layout = CacheLayout::new("/c");
        let a = Toolchain::new(&layout, libtorch("/c/libtorch-2.11.0"));
        let b = Toolchain::new(&layout, libtorch("/elsewhere"));
        assert_ne!(a.warm_marker("rustc 1"), b.warm_marker("rustc 1"));
        assert_ne!(a.warm_marker("rustc 1"), a.warm_marker("rustc 2"));
        assert_eq!(a.warm_marker("rustc 1"), a.warm_marker("rustc 1"));

        let dir = tempfile::tempdir().unwrap();
        let mut t = a.clone();
        t.target_dir = dir.path().join("target");
        assert_eq!(t.warm_state("rustc 1"), Installed::Missing);
        std::fs::create_dir_all(&t.target_dir).unwrap();
        assert_eq!(t.warm_state("rustc 1"), Installed::Incomplete);
        write_marker(&t.target_dir, &t.warm_marker("rustc 1")).unwrap();
        assert_eq!(t.warm_state("rustc 1"), Installed::Complete);
        assert_eq!(t.warm_state("rustc 2"), Installed::Incomplete);
    }
}
