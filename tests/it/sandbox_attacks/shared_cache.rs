//! The attack on the shared build cache: a build script that rewrites, truncates, appends to,
//! removes and plants files in the warm target folder it builds in. Sandboxed builds see that
//! folder copy-on-write, so the host's copy must stay byte-identical and a second crate must
//! still link against the original. The cache here is warmed by a small library through the
//! same `CargoBuild` path as the tch one (a trusted, unconfined build), so this runs without
//! libtorch; with `HARNESS_TOOLCHAIN_TESTS=1` the same attack also runs against the real warm
//! tch cache.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use harness::exec::ProcessSpec;
use harness::hashing::sha256_hex;
use harness::sandbox::{Isolation, Phase, Sandbox};
use harness::target::{BuildOutcome, CargoBuild, SharedTarget};
use harness::taxonomy::Category;
use harness::workspace::Workspace;

use super::sandbox;
use crate::support::skip::toolchain_tests;

const TAMPER: &str = include_str!("../../fixtures/sandbox/tamper/build.rs");
/// Every kind of attempt the build script makes.
const ATTEMPTS: [&str; 7] = [
    "TRUNCATED",
    "APPENDED",
    "REWROTE",
    "REMOVED",
    "CHMODDED",
    "LINKED",
    "PLANTED",
];

/// A warm target folder shared by crates, as `harness setup` leaves the tch one.
struct SharedCache {
    /// The library the warm build compiled (a path dependency of the crates below).
    lib: PathBuf,
    target: PathBuf,
    /// Where the crates' copy-on-write layers go (the cache's `layers/` for the tch target).
    layers: PathBuf,
    /// Where the crates of the tests go.
    crates: PathBuf,
}

/// The cache, warmed once per test run: `warmlib` (with a build script, so that the folder
/// holds every kind of unit) compiled by a trusted, unconfined build.
fn shared_cache() -> &'static SharedCache {
    static CACHE: OnceLock<SharedCache> = OnceLock::new();
    CACHE.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sandbox-shared-cache");
        let _ = std::fs::remove_dir_all(&root);
        let cache = SharedCache {
            lib: root.join("warmlib"),
            target: root.join("target"),
            layers: root.join("layers"),
            crates: root.join("crates"),
        };
        for (path, text) in [
            (
                "Cargo.toml",
                "[package]\nname = \"warmlib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
            ),
            (
                "build.rs",
                "fn main() {\n    println!(\"cargo:rustc-env=WARM_ANSWER=42\");\n}\n",
            ),
            (
                "src/lib.rs",
                "pub fn answer() -> u32 {\n    env!(\"WARM_ANSWER\").parse().unwrap()\n}\n",
            ),
        ] {
            let path = cache.lib.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let warm = cache.build(&Isolation::Unconfined, "warm", &consumer("warm"));
        assert!(warm.program.is_some(), "the warm build: {:?}", warm.errors);
        cache
    })
}

/// A crate that prints what the warm library answers.
fn consumer(name: &str) -> Vec<(String, String)> {
    vec![
        (
            "Cargo.toml".to_string(),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nwarmlib = {{ path = \"../../warmlib\" }}\n"),
        ),
        (
            "src/main.rs".to_string(),
            "fn main() {\n    println!(\"answer {}\", warmlib::answer());\n}\n".to_string(),
        ),
    ]
}

impl SharedCache {
    /// The sandbox of these tests, showing the warm library's sources read-only.
    fn sandbox(&self) -> Option<Sandbox> {
        Some(sandbox()?.read_only(&self.lib))
    }

    /// Builds `files` as crate `name` into the shared folder, the way the tch target builds.
    fn build(&self, isolation: &Isolation, name: &str, files: &[(String, String)]) -> BuildOutcome {
        let workspace = Workspace::reset(&self.crates.join(name)).unwrap();
        let files = files.iter().cloned().collect();
        workspace.write(&files, &[]).unwrap();
        CargoBuild {
            preferred_bin: name,
            timeout: Duration::from_secs(300),
            isolation,
            shared_target: Some(SharedTarget {
                dir: &self.target,
                layers: &self.layers,
                cache: &self.layers,
            }),
        }
        .run(&workspace, 1)
    }

    /// The layer folder of crate `name`, if it has one (it records its crate folder).
    fn layer_of(&self, name: &str) -> Option<PathBuf> {
        let krate = self.crates.join(name);
        std::fs::read_dir(&self.layers)
            .ok()?
            .flatten()
            .map(|entry| entry.path())
            .find(|dir| {
                std::fs::read(dir.join("crate-folder"))
                    .is_ok_and(|recorded| recorded == krate.as_os_str().as_encoded_bytes())
            })
    }
}

/// Every entry below `root`, links not followed: its path, kind, mode, size, modification
/// time and the SHA-256 of its content (a link's target). Equal before and after means
/// byte-identical, and no timestamp cargo's freshness check reads was touched either.
fn tree_digest(root: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let mut lines = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let content = if meta.is_file() {
                sha256_hex(&std::fs::read(&path).unwrap())
            } else if meta.is_symlink() {
                std::fs::read_link(&path).unwrap().display().to_string()
            } else {
                String::new()
            };
            if meta.is_dir() {
                stack.push(path.clone());
            }
            lines.push(format!(
                "{} {:o} {} {}.{} {content}",
                path.strip_prefix(root).unwrap().display(),
                meta.mode(),
                meta.len(),
                meta.mtime(),
                meta.mtime_nsec()
            ));
        }
    }
    lines.sort();
    lines.join("\n")
}

/// The tampering crate: no dependency, so that it builds whatever its build script did.
fn tamper_crate(limit: Option<usize>) -> Vec<(String, String)> {
    let mut files = vec![
        (
            "Cargo.toml".to_string(),
            "[package]\nname = \"tamper\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n".to_string(),
        ),
        ("build.rs".to_string(), TAMPER.to_string()),
        ("src/main.rs".to_string(), "fn main() {}\n".to_string()),
    ];
    if let Some(limit) = limit {
        files.push(("tamper-plan.txt".to_string(), format!("limit={limit}\n")));
    }
    files
}

/// The build script's report: it found the shared folder and every attempt worked in its view.
fn check_report(report: &str, target: &Path) {
    assert!(report.contains("FOUND via CARGO_TARGET_DIR"), "{report}");
    assert!(
        report.contains(&format!("TARGET {}\n", target.display())),
        "{report}"
    );
    for attempt in ATTEMPTS {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with(&format!("{attempt} "))),
            "no {attempt} in:\n{report}"
        );
    }
    let failed: Vec<&str> = report.lines().filter(|l| l.starts_with("FAILED")).collect();
    assert!(
        failed.is_empty(),
        "copy-on-write lets every write through: {failed:?}"
    );
}

#[test]
fn a_build_script_cannot_alter_the_shared_build_cache() {
    let cache = shared_cache();
    let Some(sandbox) = cache.sandbox() else {
        return;
    };
    let isolation = Isolation::Sandboxed(Box::new(sandbox));
    let before = tree_digest(&cache.target);
    let build = cache.build(&isolation, "tamper", &tamper_crate(None));
    assert!(build.program.is_some(), "{:?}", build.errors);
    let report = std::fs::read_to_string(cache.crates.join("tamper/report-tamper.txt")).unwrap();
    check_report(&report, &cache.target);
    // What others link against was among what it truncated, appended to or rewrote.
    assert!(
        report.lines().any(|l| (l.starts_with("TRUNCATED")
            || l.starts_with("APPENDED")
            || l.starts_with("REWROTE"))
            && l.contains("libwarmlib-")),
        "{report}"
    );
    assert_eq!(
        tree_digest(&cache.target),
        before,
        "the shared folder changed"
    );
    // Its writes went to its own crate's layer, and stay there.
    let layer = cache.layer_of("tamper").expect("the crate has a layer");
    assert!(layer.join("upper/planted.txt").is_file());

    // A second crate still links against the original library, and the folder stays intact.
    let second = cache.build(&isolation, "second", &consumer("second"));
    let program = second
        .program
        .unwrap_or_else(|| panic!("{:?}", second.errors));
    let run = isolation
        .run(
            &ProcessSpec::new(program.path.as_os_str(), cache.crates.join("second")),
            Phase::Run,
        )
        .unwrap();
    assert_eq!(run.output.stdout, "answer 42\n", "{:?}", run.output);
    assert_eq!(tree_digest(&cache.target), before);
}

#[test]
fn a_sandboxed_build_reuses_the_warm_units_and_writes_only_its_layer() {
    let cache = shared_cache();
    let Some(sandbox) = cache.sandbox() else {
        return;
    };
    let before = tree_digest(&cache.target);
    let root = cache.crates.join("reuse");
    let workspace = Workspace::reset(&root).unwrap();
    workspace
        .write(&consumer("reuse").into_iter().collect(), &[])
        .unwrap();
    let spec = ProcessSpec::new("cargo", &root)
        .arg("build")
        .arg("--offline")
        .arg("--message-format=json")
        .env("CARGO_TARGET_DIR", cache.target.to_string_lossy())
        .timeout(Duration::from_secs(300));
    let sandbox = sandbox.copy_on_write(&cache.target, &cache.layers);
    let program = cache.target.join("debug/reuse");
    for round in 0..2 {
        workspace
            .write(&consumer("reuse").into_iter().collect(), &[])
            .unwrap();
        let confined = sandbox.run(&spec, Phase::Build).unwrap();
        assert!(confined.output.success(), "{:?}", confined.output);
        let artifacts: Vec<serde_json::Value> = confined
            .output
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .filter(|m: &serde_json::Value| m["reason"] == "compiler-artifact")
            .collect();
        let fresh = |name: &str| {
            artifacts
                .iter()
                .find(|a| a["target"]["name"] == name)
                .map(|a| a["fresh"] == true)
        };
        assert_eq!(fresh("warmlib"), Some(true), "the warm library is reused");
        assert_eq!(
            fresh("reuse"),
            Some(false),
            "{round}: rewritten files compile"
        );
        let layer = confined.layer.expect("a copy-on-write build has a layer");
        assert!(layer.read(&program, 1 << 30).unwrap().is_some());
        assert!(
            !program.exists(),
            "the program is in the crate's layer only"
        );
        if round == 1 {
            // The first build's incremental state is still there, in the crate's layer.
            let dir = cache.layer_of("reuse").expect("the layer is kept");
            let sessions = std::fs::read_dir(dir.join("upper/debug/incremental")).unwrap();
            assert!(sessions.count() >= 1);
            layer.discard();
            assert_eq!(cache.layer_of("reuse"), None, "a discarded layer is gone");
        }
    }
    assert_eq!(tree_digest(&cache.target), before);
}

#[test]
fn a_shared_folder_that_cannot_be_overlaid_is_infrastructure_never_the_llms() {
    let cache = shared_cache();
    let Some(sandbox) = cache.sandbox() else {
        return;
    };
    // procfs allows no idmapped mount: the overlay cannot be made, and nothing runs.
    let layers = tempfile::tempdir().unwrap();
    let workspace = Workspace::reset(&cache.crates.join("refused")).unwrap();
    workspace
        .write(&consumer("refused").into_iter().collect(), &[])
        .unwrap();
    let build = CargoBuild {
        preferred_bin: "refused",
        timeout: Duration::from_secs(60),
        isolation: &Isolation::Sandboxed(Box::new(sandbox)),
        shared_target: Some(SharedTarget {
            dir: Path::new("/proc/sys"),
            layers: layers.path(),
            cache: layers.path(),
        }),
    }
    .run(&workspace, 1);
    assert!(build.program.is_none());
    assert_eq!(build.errors.len(), 1, "{:?}", build.errors);
    let error = &build.errors[0];
    assert_eq!(error.category, Category::InfraSandbox, "{error:?}");
    assert!(error.message.contains("idmapped"), "{}", error.message);
    assert!(error.message.contains("--no-sandbox"), "{}", error.message);
    // The layer it could not mount with was discarded (its lock file stays, for the next one).
    let left: Vec<_> = std::fs::read_dir(layers.path())
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// `stat` of every entry below `root`, the change time included: any write to an inode, even
/// one that restores its content and times, changes it. Cheaper than hashing gigabytes.
fn inode_listing(root: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let mut lines = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            }
            lines.push(format!(
                "{} {} {:o} {} {}.{} {}.{}",
                entry.path().display(),
                meta.ino(),
                meta.mode(),
                meta.len(),
                meta.mtime(),
                meta.mtime_nsec(),
                meta.ctime(),
                meta.ctime_nsec()
            ));
        }
    }
    lines.sort();
    lines.join("\n")
}

#[test]
fn the_real_warm_tch_cache_stays_intact_under_a_tampering_build() {
    if !toolchain_tests() {
        return;
    }
    let Some(sandbox) = sandbox() else {
        return;
    };
    let cache = harness::toolchain::cache_dir_from_env(None).unwrap();
    let toolchain =
        harness::toolchain::ensure(&cache, &harness::progress::SetupProgress::hidden()).unwrap();
    let target = harness::target::RustTchUnet::new(
        toolchain.clone(),
        Isolation::Sandboxed(Box::new(sandbox)),
    );
    use harness::target::Target;
    let dir = tempfile::tempdir().unwrap();
    let before = inode_listing(&toolchain.target_dir);
    let build = |name: &str, files: Vec<(String, String)>| {
        let workspace = Workspace::reset(&dir.path().join(name)).unwrap();
        let files = files.into_iter().collect();
        workspace
            .write(&files, &target.build_files(&files))
            .unwrap();
        (target.build(&workspace, 1), workspace)
    };
    // Two files of each kind: the libraries first (tch's, torch-sys's...), then fingerprints.
    let (_, workspace) = build("tamper", tamper_crate(Some(2)));
    let report = std::fs::read_to_string(workspace.root().join("report-tamper.txt")).unwrap();
    check_report(&report, &toolchain.target_dir);
    assert_eq!(
        inode_listing(&toolchain.target_dir),
        before,
        "the warm cache changed"
    );

    // A tch program still builds against the warm cache, and runs with libtorch.
    let main = "fn main() {\n    let t = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0]);\n    println!(\"sum {}\", t.sum(tch::Kind::Float).double_value(&[]));\n}\n";
    let manifest = "[package]\nname = \"unet_segmentation\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ntch = \"0.24\"\n";
    let (second, workspace) = build(
        "second",
        vec![
            ("Cargo.toml".to_string(), manifest.to_string()),
            ("src/main.rs".to_string(), main.to_string()),
        ],
    );
    let program = second
        .program
        .unwrap_or_else(|| panic!("{:?}", second.errors));
    let run = target
        .isolation()
        .run(
            &ProcessSpec::new(program.path.as_os_str(), workspace.root())
                .timeout(Duration::from_secs(120)),
            Phase::Train,
        )
        .unwrap();
    assert_eq!(run.output.stdout, "sum 6\n", "{:?}", run.output);
    assert_eq!(inode_listing(&toolchain.target_dir), before);
    // The two crates' layers go now rather than at the cache's next build. A lock file names
    // its layer's crate folder.
    for entry in std::fs::read_dir(toolchain.layers_dir()).unwrap().flatten() {
        let lock = entry.path();
        let recorded = std::fs::read(&lock).unwrap_or_default();
        if lock.extension().is_some_and(|e| e == "lock")
            && recorded.starts_with(dir.path().as_os_str().as_encoded_bytes())
        {
            std::fs::remove_dir_all(lock.with_extension("")).unwrap();
            std::fs::remove_file(&lock).unwrap();
        }
    }
}
