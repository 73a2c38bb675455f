//! Tests of the bubblewrap command line, read as words: no bubblewrap needed.

use super::arguments::STUB;
use super::*;

fn sandbox(privileged: bool) -> Sandbox {
    let tools = Tools {
        bwrap: "/usr/bin/bwrap".into(),
        version: "bubblewrap 0.8.0".into(),
        prlimit: "/usr/bin/prlimit".into(),
        setpriv: Some("/usr/bin/setpriv".into()),
        sh: "/bin/sh".into(),
    };
    let toolchain = Toolchain {
        dirs: vec!["/opt/rustup".into(), "/opt/cargo/bin".into()],
        path: vec!["/opt/cargo/bin".into()],
        rustup_home: Some("/opt/rustup".into()),
    };
    Sandbox::with_tools(tools, toolchain, privileged)
}

fn words(args: &[OsString]) -> Vec<String> {
    args.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

fn line(sandbox: &Sandbox, spec: &ProcessSpec, phase: Phase) -> Vec<String> {
    let writable = [spec.cwd.clone()];
    let uid = sandbox.privileged.then_some(1_600_000_123);
    let limits = sandbox.limits_for(phase);
    words(
        &sandbox
            .arguments(spec, phase, limits, &writable, None, uid, "t")
            .unwrap(),
    )
}

fn position(args: &[String], window: &[&str]) -> usize {
    args.windows(window.len())
        .position(|w| w == window)
        .unwrap_or_else(|| panic!("{window:?} not in {args:?}"))
}

fn spec() -> ProcessSpec {
    ProcessSpec::new("cargo", "/srv/bench/generated/some-llm")
        .arg("build")
        .env("CARGO_TARGET_DIR", "/srv/bench/generated/some-llm/target")
}

#[test]
fn everything_is_unshared_and_every_capability_dropped() {
    let args = line(&sandbox(true), &spec(), Phase::Build);
    for flag in [
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
    ] {
        position(&args, &[flag]);
    }
    position(&args, &["--cap-drop", "ALL"]);
    let inside = position(&args, &["--"]);
    // The program runs as the fresh uid, with no capability left and no way back.
    let setpriv = position(&args, &["/usr/bin/setpriv", "--reuid=1600000123"]);
    assert!(setpriv > inside);
    position(
        &args,
        &["--clear-groups", "--inh-caps=-all", "--bounding-set=-all"],
    );
    let program = position(&args, &["harness-sandbox", "cargo", "build"]);
    assert!(program > setpriv);
    assert_eq!(
        program + 3,
        args.len(),
        "nothing after the program's own arguments"
    );
}

#[test]
fn without_root_there_is_a_user_namespace_and_no_uid_switch() {
    let args = line(&sandbox(false), &spec(), Phase::Build);
    position(&args, &["--unshare-user"]);
    assert!(!args
        .iter()
        .any(|a| a.contains("setpriv") || a == "--cap-add"));
    assert!(!args.iter().any(|a| a.starts_with("--nproc")));
}

#[test]
fn the_environment_is_only_what_is_set_explicitly() {
    let args = line(&sandbox(true), &spec(), Phase::Build);
    let clear = position(&args, &["--clearenv"]);
    let set: Vec<&str> = args
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] == "--setenv")
        .map(|(i, w)| {
            assert!(i > clear, "every --setenv comes after --clearenv");
            w[1].as_str()
        })
        .collect();
    for key in &set {
        assert!(
            [
                "PATH",
                "HOME",
                "CARGO_HOME",
                "TMPDIR",
                "RUSTUP_HOME",
                "CARGO_TARGET_DIR"
            ]
            .contains(key)
                || PASSED_ON.contains(key),
            "unexpected variable {key}"
        );
    }
    position(&args, &["--setenv", "CARGO_HOME", "/sandbox/home/.cargo"]);
    position(&args, &["--setenv", "RUSTUP_HOME", "/opt/rustup"]);
    let path = position(&args, &["--setenv", "PATH"]);
    assert_eq!(
        args[path + 2],
        "/opt/cargo/bin:/usr/local/bin:/usr/bin:/bin"
    );
}

#[test]
fn a_variable_named_like_a_secret_is_refused() {
    let spec = spec().env("OPENAI_API_KEY", "fixture-not-a-secret-x");
    let limits = Limits::for_phase(Phase::Run);
    let error = sandbox(true)
        .arguments(
            &spec,
            Phase::Run,
            &limits,
            std::slice::from_ref(&spec.cwd),
            None,
            None,
            "t",
        )
        .unwrap_err();
    assert!(error.to_string().contains("OPENAI_API_KEY"), "{error}");
    assert!(!error.to_string().contains("fixture-not-a-secret-x"));
}

/// The sandbox refuses exactly the names the execution layer keeps from children: checked on
/// names each marker catches (three of them the sandbox's own list once missed) and on every
/// `CARGO_*` variable cargo gives this test, which the execution layer really filters.
#[test]
fn the_sandbox_and_the_execution_layer_agree_on_secret_names() {
    let refused = |name: &str| {
        let spec = spec().env(name, "fixture-not-a-secret-y");
        match sandbox(true).environment(&spec) {
            Ok(_) => false,
            Err(SandboxError::SecretVariable { name: named }) => {
                assert_eq!(named, name);
                true
            }
            Err(other) => panic!("{name}: {other}"),
        }
    };
    for name in [
        "HF_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWD",
        "GITHUB_AUTH",
        "SESSION_COOKIE",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "RUST_BACKTRACE",
        "CARGO_TERM_COLOR",
        "TMPDIR",
    ] {
        assert_eq!(refused(name), crate::exec::looks_secret(name), "{name}");
    }

    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(key, _)| key.into_string().ok())
        .filter(|key| key.starts_with("CARGO_"))
        .collect();
    let probe = ProcessSpec::new("/bin/sh", std::env::temp_dir())
        .arg("-c")
        .arg("env")
        .inherit(names.clone());
    let out = crate::exec::run_process(&probe).unwrap();
    let passed: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|line| line.split('=').next())
        .collect();
    let mut withheld = 0;
    for name in &names {
        let inherited = passed.contains(&name.as_str());
        assert_eq!(inherited, !refused(name), "{name}");
        withheld += usize::from(!inherited);
    }
    assert!(withheld > 0, "cargo sets CARGO_PKG_AUTHORS: {names:?}");
}

#[test]
fn the_host_variables_handed_on_never_look_secret() {
    for name in PASSED_ON {
        assert!(!crate::exec::looks_secret(name), "{name}");
    }
}

#[test]
fn a_spec_with_a_secret_variable_is_refused_before_anything_is_prepared() {
    let dir = tempfile::tempdir().unwrap();
    let krate = dir.path().canonicalize().unwrap();
    let spec = ProcessSpec::new("env", &krate).env("HF_TOKEN", "fixture-not-a-secret-z");
    let error = sandbox(true)
        .copy_on_write(krate.join("target"), krate.join("layers"))
        .prepare(spec, Phase::Run)
        .err()
        .unwrap();
    assert!(
        matches!(&error, SandboxError::SecretVariable { name } if name == "HF_TOKEN"),
        "{error}"
    );
    assert!(!error.to_string().contains("fixture-not-a-secret-z"));
    assert!(!krate.join("layers").exists(), "no layer was made");
}

#[test]
fn mounts_come_in_a_working_order_with_size_caps() {
    let args = line(&sandbox(true), &spec(), Phase::Run);
    let tmp = position(&args, &["--tmpfs", "/tmp"]);
    let crate_bind = position(
        &args,
        &[
            "--bind",
            "/srv/bench/generated/some-llm",
            "/srv/bench/generated/some-llm",
        ],
    );
    assert!(tmp < crate_bind, "the /tmp tmpfs must come before binds");
    for dest in ["/tmp", "/dev/shm", HOME_DIR] {
        let at = position(&args, &["--tmpfs", dest]);
        assert_eq!(args[at - 2], "--size", "{dest} has a size cap");
        assert_eq!(args[at - 1], (256u64 << 20).to_string());
    }
    // The crate's parents are made traversable for the unprivileged uid, before the bind.
    let parent = position(&args, &["--perms", "0755", "--dir", "/srv/bench/generated"]);
    assert!(parent < crate_bind);
    position(&args, &["--ro-bind", "/opt/rustup", "/opt/rustup"]);
    position(&args, &["--ro-bind", "/usr", "/usr"]);
    position(&args, &["--chdir", "/srv/bench/generated/some-llm"]);
    // Only the crate folder is bound read-write.
    let writable = args.iter().filter(|a| *a == "--bind").count();
    assert_eq!(writable, 1, "{args:?}");
    // Cargo's home holds tokens: only its `bin` is shown.
    assert!(!args
        .windows(2)
        .any(|w| w[0].ends_with("bind") && w[1] == "/opt/cargo"));
}

#[test]
fn limits_follow_the_phase() {
    let build = line(&sandbox(true), &spec(), Phase::Build);
    let run = line(&sandbox(true), &spec(), Phase::Run);
    position(&build, &[&format!("--fsize={}", 2u64 << 30)]);
    position(&run, &[&format!("--fsize={}", 256u64 << 20)]);
    position(&run, &["--nproc=128"]);
    position(&run, &["--cpu=120:125"]);
    position(&run, &["--core=0"]);
    let custom = sandbox(true).limits(
        Phase::Run,
        Limits {
            address_space: None,
            ..Limits::for_phase(Phase::Run)
        },
    );
    assert!(!line(&custom, &spec(), Phase::Run)
        .iter()
        .any(|a| a.starts_with("--as=")));
}

#[test]
fn gpu_devices_are_passed_to_programs_when_asked_for() {
    let devices = vec![
        PathBuf::from("/dev/nvidia0"),
        PathBuf::from("/dev/nvidiactl"),
        PathBuf::from("/dev/nvidia-caps/nvidia-cap1"),
    ];
    let plain = line(&sandbox(true), &spec(), Phase::Train);
    assert!(!plain.iter().any(|a| a.contains("nvidia")));
    let gpu = sandbox(true).gpu_devices(devices);
    let train = line(&gpu, &spec(), Phase::Train);
    position(&train, &["--dev-bind", "/dev/nvidia0", "/dev/nvidia0"]);
    position(&train, &["--dev-bind", "/dev/nvidiactl", "/dev/nvidiactl"]);
    let caps = position(&train, &["--perms", "0755", "--dir", "/dev/nvidia-caps"]);
    assert!(caps > position(&train, &["--dev", "/dev"]));
    let build = line(&gpu, &spec(), Phase::Build);
    assert!(
        !build.iter().any(|a| a.contains("nvidia")),
        "builds need no GPU"
    );
}

#[test]
fn read_only_and_scratch_folders_are_bound_as_asked() {
    let sandbox = sandbox(true)
        .read_only("/data/libtorch")
        .scratch("/srv/bench/scratch");
    let spec = spec();
    let writable = [spec.cwd.clone(), PathBuf::from("/srv/bench/scratch")];
    let limits = Limits::for_phase(Phase::Run);
    let args = words(
        &sandbox
            .arguments(&spec, Phase::Run, &limits, &writable, None, None, "t")
            .unwrap(),
    );
    position(&args, &["--ro-bind", "/data/libtorch", "/data/libtorch"]);
    position(
        &args,
        &["--bind", "/srv/bench/scratch", "/srv/bench/scratch"],
    );
}

#[test]
fn the_stub_prints_the_markers_the_supervisor_looks_for() {
    assert!(STUB.contains(&format!("printf '{}'", READY_MARKER.replace('\n', "\\n"))));
    assert!(STUB.contains(&format!("printf '{}%s", NOT_FOUND_MARKER)));
    // The marker is printed only right before the program replaces the shell.
    assert!(STUB.ends_with(r#"exec "$@""#));
}

#[test]
fn limits_never_exceed_the_harnesss_own() {
    let mut own = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through a valid pointer.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut own) }, 0);
    let wanted = Limits {
        open_files: Some(u64::MAX - 1),
        ..Limits::for_phase(Phase::Run)
    };
    let got = within_own_limits(&wanted);
    if own.rlim_max == libc::RLIM_INFINITY {
        assert_eq!(got.open_files, wanted.open_files);
    } else {
        assert_eq!(got.open_files, Some(own.rlim_max));
    }
    assert_eq!(got.disk, wanted.disk);
}

#[test]
fn a_copy_on_write_folder_is_bound_from_its_overlay_last() {
    let spec = spec();
    let writable = [spec.cwd.clone()];
    let limits = Limits::for_phase(Phase::Build);
    let overlay = (
        PathBuf::from("/srv/cache/layers/1_2_3/merged"),
        PathBuf::from("/srv/cache/target"),
    );
    let args = words(
        &sandbox(true)
            .arguments(
                &spec,
                Phase::Build,
                &limits,
                &writable,
                Some(overlay),
                Some(1_600_000_123),
                "t",
            )
            .unwrap(),
    );
    let bind = position(
        &args,
        &[
            "--bind",
            "/srv/cache/layers/1_2_3/merged",
            "/srv/cache/target",
        ],
    );
    let crate_bind = position(&args, &["--bind", "/srv/bench/generated/some-llm"]);
    assert!(bind > crate_bind, "nothing bound later may cover it");
    assert!(bind < position(&args, &["--chdir"]));
    position(&args, &["--perms", "0755", "--dir", "/srv/cache"]);
    // The shared folder itself is never a source, and the layers are never shown.
    for (i, arg) in args.iter().enumerate() {
        if arg.ends_with("bind") {
            assert_ne!(args[i + 1], "/srv/cache/target", "{args:?}");
            assert_ne!(args[i + 1], "/srv/cache/layers", "{args:?}");
        }
    }
}

#[test]
fn without_root_a_copy_on_write_folder_is_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    for sub in ["crate", "target"] {
        std::fs::create_dir(root.join(sub)).unwrap();
    }
    let unprivileged = sandbox(false).copy_on_write(root.join("target"), root.join("layers"));
    let spec = ProcessSpec::new("cargo", root.join("crate"));
    let error = unprivileged
        .prepare(spec.clone(), Phase::Build)
        .err()
        .unwrap();
    assert!(matches!(error, SandboxError::CopyOnWrite { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("root") && text.contains("--no-sandbox"),
        "{text}"
    );
    assert!(!root.join("layers").exists(), "no layer was made");
    // Nor can such a sandbox be wrapped into a plain command line.
    let error = sandbox(true)
        .copy_on_write(root.join("target"), root.join("layers"))
        .wrap(spec, Phase::Build)
        .unwrap_err();
    assert!(error.to_string().contains("Sandbox::run"), "{error}");
}

#[test]
fn wrap_refuses_a_relative_crate_folder() {
    let spec = ProcessSpec::new("cargo", "relative/crate");
    let error = sandbox(false).wrap(spec, Phase::Build).unwrap_err();
    assert!(error.to_string().contains("absolute"), "{error}");
}
