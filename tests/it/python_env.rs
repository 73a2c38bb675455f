//! The Python environment for real: provisioned into the cache (2.3 GB of pinned wheels, 4 GB
//! on disk, minutes), found in place the second time, reported by `harness doctor`, read-only,
//! and working (its smoke check imports every package and trains one step). Only with
//! `HARNESS_PYTHON_TESTS=1`; the cache is `HARNESS_CACHE` or the default one.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use harness::exec::{run_process, ProcessSpec};
use harness::progress::{human_bytes, human_duration, SetupProgress};
use harness::toolchain::{cache_dir_from_env, disk_usage, provision_python_env, StepOutcome};

use crate::support::harness::Harness;

fn enabled() -> bool {
    crate::support::skip::python_tests()
}

/// Without the environment, `doctor` says so as a note (only the Python target needs it), with
/// the command that makes it and the download it costs. No network.
#[test]
fn doctor_says_how_to_make_the_python_environment() {
    let cache = tempfile::tempdir().unwrap();
    let harness = Harness::new().env("HARNESS_CACHE", &cache.path().to_string_lossy());
    let doctor = harness.run(&["doctor", "--no-smoke"]);
    let lines: Vec<&str> = doctor.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("python env"))
        .unwrap_or_else(|| panic!("{}", doctor.stdout));
    assert!(lines[at].trim_start().starts_with("note"), "{}", lines[at]);
    assert!(lines[at].contains("not made"), "{}", lines[at]);
    assert!(
        lines[at + 1].contains("fix: harness setup --python (downloads 2."),
        "{}",
        doctor.stdout
    );
    assert!(!cache.path().read_dir().unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("python-env")));
}

#[test]
fn the_python_environment_is_made_once_read_only_and_works() {
    if !enabled() {
        return;
    }
    let cache = cache_dir_from_env(None).expect("a cache folder");
    let started = Instant::now();
    let (env, first) =
        provision_python_env(&cache, &SetupProgress::stderr(), true).expect("the environment");
    let bytes = disk_usage(&env.dir);
    eprintln!(
        "python environment in {} ({}) at {}",
        human_duration(started.elapsed()),
        human_bytes(bytes),
        env.dir.display()
    );
    for step in &first.steps {
        eprintln!(
            "  {:<10} {:>10}  {:?}",
            step.name,
            human_duration(step.duration),
            step.outcome
        );
    }
    for (package, version) in [
        ("torch", "2.11.0"),
        ("torchvision", "0.26.0"),
        ("pandas", ""),
        ("openpyxl", ""),
        ("torchinfo", ""),
    ] {
        let found = env
            .record
            .version(package)
            .unwrap_or_else(|| panic!("{package}"));
        assert!(found.starts_with(version), "{package} {found}");
    }
    assert!(
        env.record.python.starts_with("3.11."),
        "{}",
        env.record.python
    );

    // The second time nothing is made again.
    let (again, second) =
        provision_python_env(&cache, &SetupProgress::hidden(), false).expect("in place");
    assert_eq!(again.dir, env.dir);
    assert!(
        second
            .steps
            .iter()
            .all(|s| matches!(s.outcome, StepOutcome::InPlace(_))),
        "{:?}",
        second.steps
    );

    // Read-only throughout, and no trace of the staging folder it was made in.
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode();
    let site = env.dir.join("lib/python3.11/site-packages");
    for path in [
        env.dir.clone(),
        env.dir.join(".harness-complete"),
        env.dir.join("harness-smoke.txt"),
        site.clone(),
        site.join("torch/__init__.py"),
    ] {
        assert_eq!(mode(&path) & 0o222, 0, "{} is writable", path.display());
    }
    for entry in std::fs::read_dir(env.dir.join("bin")).unwrap() {
        let path = entry.unwrap().path();
        if let Ok(text) = std::fs::read_to_string(&path) {
            assert!(!text.contains(".staging-"), "{}", path.display());
        }
    }
    let cfg = std::fs::read_to_string(env.dir.join("pyvenv.cfg")).unwrap();
    assert!(!cfg.contains(".staging-"), "{cfg}");

    // A program of the target's kind runs with the environment's interpreter, and pip's
    // scripts start from the final folder.
    let scratch = tempfile::tempdir().unwrap();
    let program = "import torch, torchvision, pandas, sklearn, matplotlib, tqdm, PIL, torchinfo\n\
                   x = torch.nn.Conv2d(1, 4, 3)(torch.randn(1, 1, 8, 8))\nprint(tuple(x.shape))\n";
    let run = run_process(
        &ProcessSpec::new(env.python().as_os_str(), scratch.path())
            .arg("-B")
            .arg("-c")
            .arg(program)
            .env(
                "MPLCONFIGDIR",
                scratch.path().to_string_lossy().into_owned(),
            )
            .timeout(Duration::from_secs(300)),
    )
    .expect("python starts");
    assert!(run.success(), "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.trim(), "(1, 4, 6, 6)");
    let pip = run_process(
        &ProcessSpec::new(env.dir.join("bin/pip").as_os_str(), scratch.path())
            .arg("--version")
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .timeout(Duration::from_secs(120)),
    )
    .expect("pip starts");
    assert!(pip.success(), "{}{}", pip.stdout, pip.stderr);
    assert!(
        pip.stdout.contains(&env.dir.to_string_lossy().into_owned()),
        "{}",
        pip.stdout
    );

    // doctor reports it (the Rust toolchain may be missing from this cache: any exit code).
    let cache_text = cache.to_string_lossy().into_owned();
    let harness = Harness::new().env("HARNESS_CACHE", &cache_text);
    let doctor = harness.run(&["doctor", "--no-smoke"]);
    eprintln!("doctor:\n{}", doctor.stdout);
    let line = doctor
        .stdout
        .lines()
        .find(|l| l.contains("python env"))
        .unwrap_or_else(|| panic!("{}", doctor.stdout));
    assert!(line.trim_start().starts_with("ok"), "{line}");
    assert!(
        line.contains("torch 2.11.0") && line.contains("Python 3.11."),
        "{line}"
    );

    // With the whole toolchain in this cache, `setup --python` has nothing to do.
    if doctor.code == 0 {
        let setup = harness
            .run(&["setup", "--python", "--no-smoke"])
            .expect_code(0);
        eprintln!("setup --python:\n{}", setup.stdout);
        assert!(
            setup.stdout.contains("python-env in place"),
            "{}",
            setup.stdout
        );
        assert!(
            setup.stdout.contains("everything was in place"),
            "{}",
            setup.stdout
        );
    } else {
        eprintln!("the Rust toolchain is not complete in this cache: `setup --python` not run");
    }
}
