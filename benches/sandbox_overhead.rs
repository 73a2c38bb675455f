//! Measures what the sandbox adds to a warm build and to a smoke run of the rust-tiny target,
//! and to a warm build against a shared target folder (the tch target's kind); prints figures.
//!
//! Run with `cargo bench --bench sandbox_overhead` (needs bubblewrap). The crate is the
//! committed fixture run's last iteration. Each round rewrites its files (as every iteration
//! does, so cargo rebuilds the binary against a warm cache), builds, then runs the smoke input:
//! once unconfined, once inside the sandbox, alternating so that both see the same machine load.
//!
//! The shared target folder is warmed once by a trusted build of a small library; each round
//! then builds a small crate that uses it: unconfined, straight into the folder (what
//! `--no-sandbox` does), and sandboxed, through a copy-on-write overlay whose upper layer is
//! the crate's own (kept between its builds, as its crate folder is; root only).
//! With `HARNESS_TOOLCHAIN_TESTS=1`, a tiny `tch` crate is also built by the rust-tch-unet
//! target against the real warm cache, sandboxed only: an unconfined build would write into it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use harness::sandbox::{Isolation, Sandbox};
use harness::target::{CargoBuild, RustTchUnet, RustTiny, SharedTarget, Target};
use harness::transcript::read_transcript;
use harness::workspace::Workspace;

const ROUNDS: u32 = 15;
const TCH_ROUNDS: u32 = 7;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn main() {
    let sandbox = match Sandbox::detect() {
        Ok(sandbox) => sandbox,
        Err(error) => {
            println!("sandbox overhead: not measured ({error})");
            return;
        }
    };
    let committed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runs/fixture-scripted-stats/transcript.yaml");
    let files = read_transcript(&committed).unwrap().files_at(3).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let setups = [
        ("unconfined", Isolation::Unconfined),
        ("sandboxed", Isolation::Sandboxed(Box::new(sandbox.clone()))),
    ];
    let mut builds = vec![Vec::new(); setups.len()];
    let mut runs = vec![Vec::new(); setups.len()];
    let targets: Vec<(RustTiny, Workspace)> = setups
        .iter()
        .map(|(name, isolation)| {
            let target = RustTiny::new(isolation.clone());
            let workspace = Workspace::reset(&dir.path().join(name)).unwrap();
            workspace
                .write(&files, &target.build_files(&files))
                .unwrap();
            // The first build fills the cache; it is not counted.
            assert!(target.build(&workspace, 0).program.is_some());
            (target, workspace)
        })
        .collect();
    for round in 1..=ROUNDS {
        for (i, (target, workspace)) in targets.iter().enumerate() {
            workspace
                .write(&files, &target.build_files(&files))
                .unwrap();
            let started = Instant::now();
            let build = target.build(workspace, round);
            builds[i].push(started.elapsed().as_secs_f64() * 1000.0);
            let program = build.program.expect("the fixture builds");
            let started = Instant::now();
            let run = target.smoke_run(workspace, &program);
            runs[i].push(started.elapsed().as_secs_f64() * 1000.0);
            assert!(run.errors.is_empty(), "{:?}", run.errors);
        }
    }
    println!(
        "rust-tiny, median of {ROUNDS} rounds ({}):",
        sandbox.description()
    );
    for (i, (name, _)) in setups.iter().enumerate() {
        println!(
            "  {name:<10}  warm build {:7.1} ms   smoke run {:6.1} ms",
            median(builds[i].clone()),
            median(runs[i].clone())
        );
    }
    println!(
        "  overhead    warm build {:+7.1} ms   smoke run {:+6.1} ms",
        median(builds[1].clone()) - median(builds[0].clone()),
        median(runs[1].clone()) - median(runs[0].clone())
    );
    shared_target(&sandbox);
    tch_target(&sandbox);
}

/// Sandboxed warm builds of a tiny `tch` crate by the rust-tch-unet target, real cache.
fn tch_target(sandbox: &Sandbox) {
    if std::env::var("HARNESS_TOOLCHAIN_TESTS").ok().as_deref() != Some("1") {
        println!("rust-tch-unet: not measured (set HARNESS_TOOLCHAIN_TESTS=1)");
        return;
    }
    let cache = harness::toolchain::cache_dir_from_env(None).unwrap();
    let progress = harness::progress::SetupProgress::hidden();
    let toolchain = harness::toolchain::ensure(&cache, &progress).unwrap();
    let target = RustTchUnet::new(toolchain, Isolation::Sandboxed(Box::new(sandbox.clone())));
    let files = BTreeMap::from([
        (
            "Cargo.toml".to_string(),
            "[package]\nname = \"unet_segmentation\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ntch = \"0.24\"\n".to_string(),
        ),
        (
            "src/main.rs".to_string(),
            "fn main() {\n    let t = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0]);\n    println!(\"{}\", t.sum(tch::Kind::Float).double_value(&[]));\n}\n".to_string(),
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let workspace = Workspace::reset(&dir.path().join("tch")).unwrap();
    let mut builds = Vec::new();
    for round in 0..=TCH_ROUNDS {
        workspace
            .write(&files, &target.build_files(&files))
            .unwrap();
        let started = Instant::now();
        let build = target.build(&workspace, round);
        assert!(build.program.is_some(), "{:?}", build.errors);
        if round > 0 {
            builds.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    println!("rust-tch-unet, a tiny tch crate against the real warm cache, median of {TCH_ROUNDS} rounds:");
    println!(
        "  {:<38}  warm build {:7.1} ms",
        "sandboxed (copy-on-write overlay)",
        median(builds)
    );
}

/// A library worth reusing (a build script, some generic code), and a crate that uses it.
const LIBRARY: [(&str, &str); 3] = [
    (
        "Cargo.toml",
        "[package]\nname = \"warmlib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    ),
    (
        "build.rs",
        "fn main() {\n    println!(\"cargo:rustc-env=WARM_SEED=7\");\n}\n",
    ),
    (
        "src/lib.rs",
        "pub fn seed() -> u64 {\n    env!(\"WARM_SEED\").parse().unwrap()\n}\n\npub fn mix<T: Copy + Into<u64>>(values: &[T]) -> u64 {\n    values.iter().fold(seed(), |h, v| h.rotate_left(5) ^ (*v).into())\n}\n",
    ),
];

fn user_files(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "Cargo.toml".to_string(),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nwarmlib = {{ path = \"../../warmlib\" }}\n"),
        ),
        (
            "src/main.rs".to_string(),
            "fn main() {\n    let words: Vec<u32> = std::env::args().map(|a| a.len() as u32).collect();\n    println!(\"{}\", warmlib::mix(&words));\n}\n".to_string(),
        ),
    ])
}

fn shared_target(sandbox: &Sandbox) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("shared target folder: not measured (copy-on-write builds need root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    for (path, text) in LIBRARY {
        let path = root.join("warmlib").join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let sandboxed = Isolation::Sandboxed(Box::new(sandbox.clone().read_only(root.join("warmlib"))));
    let setups = [
        ("unconfined", Isolation::Unconfined),
        ("sandboxed", sandboxed),
    ];
    let layers = root.join("layers");
    let mut builds = vec![Vec::new(); setups.len()];
    for round in 0..=ROUNDS {
        for (i, (name, isolation)) in setups.iter().enumerate() {
            // Each setup has a target folder of its own, warmed by a trusted build.
            let target = root.join(format!("target-{name}"));
            if round == 0 {
                let warm = Workspace::reset(&root.join("crates/warm")).unwrap();
                warm.write(&user_files("warm"), &[]).unwrap();
                let build = CargoBuild {
                    preferred_bin: "warm",
                    timeout: Duration::from_secs(300),
                    isolation: &Isolation::Unconfined,
                    shared_target: Some(SharedTarget {
                        dir: &target,
                        layers: &layers,
                        cache: &root,
                    }),
                }
                .run(&warm, 0);
                assert!(build.program.is_some(), "{:?}", build.errors);
            }
            let workspace = Workspace::reset(&root.join("crates").join(name)).unwrap();
            workspace.write(&user_files(name), &[]).unwrap();
            let started = Instant::now();
            let build = CargoBuild {
                preferred_bin: name,
                timeout: Duration::from_secs(300),
                isolation,
                shared_target: Some(SharedTarget {
                    dir: &target,
                    layers: &layers,
                    cache: &root,
                }),
            }
            .run(&workspace, round);
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            assert!(build.program.is_some(), "{name}: {:?}", build.errors);
            // The first build of each crate is not counted.
            if round > 0 {
                builds[i].push(elapsed);
            }
        }
    }
    println!(
        "shared target folder, a small crate using a warm library, median of {ROUNDS} rounds:"
    );
    let labels = [
        "unconfined (straight into the folder)",
        "sandboxed (copy-on-write overlay)",
    ];
    for (label, times) in labels.iter().zip(&builds) {
        println!("  {label:<38}  warm build {:7.1} ms", median(times.clone()));
    }
    println!(
        "  {:<38}  warm build {:+7.1} ms",
        "overhead",
        median(builds[1].clone()) - median(builds[0].clone())
    );
}
