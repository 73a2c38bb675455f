//! The real toolchain end to end: `harness setup` (download libtorch, vendor, pre-warm),
//! idempotence, `harness doctor`, then a new crate shaped like a generated one, built warm
//! offline and run. Slow (a 540 MB download, minutes of compiling on a cold cache), so it runs
//! only with `HARNESS_TOOLCHAIN_TESTS=1`; the cache is `HARNESS_CACHE` or the default one.

use std::path::Path;
use std::time::Duration;

use harness::exec::{run_process, ProcessSpec};
use harness::progress::SetupProgress;
use harness::toolchain::{cache_dir_from_env, ensure, CARGO_CONFIG_PATH};

use crate::support::harness::Harness;
use crate::support::skip::toolchain_tests;

#[test]
fn setup_provisions_everything_and_a_new_crate_builds_warm_and_runs() {
    if !toolchain_tests() {
        return;
    }
    let cache = cache_dir_from_env(None).expect("a cache folder");
    let cache_text = cache.to_string_lossy().into_owned();
    let harness = Harness::new().env("HARNESS_CACHE", &cache_text);

    let first = harness.run(&["setup"]).expect_code(0);
    eprintln!("first setup:\n{}", first.stdout);
    assert!(
        first.stdout.contains("no dependency rebuilt"),
        "{}",
        first.stdout
    );

    let second = harness.run(&["setup", "--no-smoke"]).expect_code(0);
    eprintln!("second setup:\n{}", second.stdout);
    assert!(
        second.stdout.contains("everything was in place"),
        "{}",
        second.stdout
    );
    assert!(!second.stdout.contains(" done "), "{}", second.stdout);

    let doctor = harness.run(&["doctor"]).expect_code(0);
    assert!(
        doctor.stdout.contains("everything is in place"),
        "{}",
        doctor.stdout
    );

    // A crate shaped like a generated one, some allowed crates and an older version among
    // them, with the warm crate pinned in: only the crate itself compiles.
    let toolchain = ensure(&cache, &SetupProgress::hidden()).expect("the toolchain is in place");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("unet-like");
    write(
        &root,
        "Cargo.toml",
        &toolchain.pin_manifest(GENERATED_MANIFEST),
    );
    write(&root, "src/main.rs", GENERATED_MAIN);
    write(&root, CARGO_CONFIG_PATH, &toolchain.cargo_config());
    let build = cargo_build(&root);
    assert!(build.success(), "{}", build.stderr);
    eprintln!("a new generated-like crate built in {:?}", build.duration);
    let compiled = compiled_packages(&build.stdout);
    assert_eq!(compiled, ["unet-like"], "only the new crate compiles");
    let program = toolchain.target_dir.join("debug/unet-like");
    let run = run_process(&ProcessSpec::new(&program, &root).timeout(Duration::from_secs(120)))
        .expect("the program starts");
    assert!(run.success(), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("unet-like ok [1, 1, 8, 8]"),
        "{}",
        run.stdout
    );

    // A crate that is not vendored, or a version that is not, fails offline with cargo's own
    // message. (Crates the allowed ones depend on, ndarray say, are vendored too.)
    let refusals = [
        ("nalgebra = \"0.33\"", "nalgebra"),
        (
            "image023 = { package = \"image\", version = \"0.23\" }",
            "image",
        ),
    ];
    for (extra, named) in refusals {
        let outside =
            GENERATED_MANIFEST.replace("[dependencies]", &format!("[dependencies]\n{extra}"));
        write(&root, "Cargo.toml", &toolchain.pin_manifest(&outside));
        let refused = cargo_build(&root);
        assert!(!refused.success(), "{extra} resolved offline");
        assert!(refused.stderr.contains(named), "{}", refused.stderr);
    }
}

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The targets cargo compiled (rather than found fresh), from its JSON messages.
fn compiled_packages(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["fresh"] == false)
        .filter_map(|m| Some(m["target"]["name"].as_str()?.to_string()))
        .collect()
}

fn cargo_build(root: &Path) -> harness::exec::ProcessOutput {
    let spec = ProcessSpec::new("cargo", root)
        .arg("build")
        .arg("--message-format=json-render-diagnostics")
        .no_timeout()
        .output_cap(4 << 20);
    run_process(&spec).expect("cargo starts")
}

const GENERATED_MANIFEST: &str = r#"[package]
name = "unet-like"
version = "0.1.0"
edition = "2021"

[dependencies]
tch = "0.24"
image = "0.25"
rand = "0.8"
anyhow = "1"
clap = { version = "4", features = ["derive"] }
"#;

const GENERATED_MAIN: &str = r#"use clap::Parser;
use tch::nn::{self, Module};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 8)]
    size: i64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let vs = nn::VarStore::new(tch::Device::Cpu);
    let conv = nn::conv2d(vs.root(), 1, 1, 3, nn::ConvConfig { padding: 1, ..Default::default() });
    let x = tch::Tensor::rand([1, 1, args.size, args.size], (tch::Kind::Float, tch::Device::Cpu));
    let y = conv.forward(&x).sigmoid();
    let image = image::GrayImage::new(args.size as u32, args.size as u32);
    let noise: f64 = rand::random();
    anyhow::ensure!((0.0..1.0).contains(&noise));
    println!("unet-like ok {:?} {}", y.size(), image.width());
    Ok(())
}
"#;
