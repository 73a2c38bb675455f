//! The attack suite: a hostile program, build script and proc macro (tiny fixtures under
//! `tests/fixtures/sandbox/`) run through the real sandbox, built and run by the real rust-tiny
//! paths or by `Sandbox::run`; each attack must be contained. Where bubblewrap is missing, each
//! test says SKIPPED and checks nothing (`support::skip`); under `CI` that is a failure, since
//! CI installs it. The attack on the shared build cache is in `shared_cache.rs`; a target's
//! secret-named variables, in `secret_env.rs`; the bombs written in Python and run as the Python
//! target runs them, in `python.rs`.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::{Once, OnceLock};
use std::time::Duration;

use harness::diagnostics::classify_run;
use harness::exec::ProcessSpec;
use harness::sandbox::{Confined, Isolation, Limits, Phase, Sandbox};
use harness::target::{BuildOutcome, BuiltProgram, RustTiny, Target};
use harness::taxonomy::{Category, Tier};
use harness::workspace::Workspace;

use crate::e2e::{registry, FIXTURE, KEY};
use crate::support;
use crate::support::harness::Harness;
use crate::support::openai_server::{OpenAiServer, Scripted};
use crate::support::skip::{skip, Needs};

mod python;
mod secret_env;
mod shared_cache;

const ATTACKS: &str = include_str!("../fixtures/sandbox/attacks.rs");
const PROGRAM: &str = include_str!("../fixtures/sandbox/program/main.rs");
const BUILD_SCRIPT: &str = include_str!("../fixtures/sandbox/build-time/build.rs");
const PROC_MACRO: &str = include_str!("../fixtures/sandbox/build-time/macro.rs");
const BOMBS: &str = include_str!("../fixtures/sandbox/bombs/build.rs");

/// A fake API key in this process's environment, where the harness keeps the real ones.
const KEY_VAR: &str = "HARNESS_ATTACK_FAKE_API_KEY";
const FAKE_KEY: &str = "fixture-attack-secret-4f1d9a2b7c";
/// Planted outside the crate: a registry file with a key, a held-out mask, an ssh key.
const REGISTRY_SECRET: &str = "fixture-attack-registry-secret-8e5b0c3d";
const MASK_SECRET: &str = "held-out-mask-bytes-7f3a1e";
const SSH_SECRET: &str = "fake-ssh-private-key-5e1c9b";
const SECRETS: [&str; 4] = [FAKE_KEY, REGISTRY_SECRET, MASK_SECRET, SSH_SECRET];

/// The run limits of the suite: small, so that each attack hits its limit fast.
fn run_limits() -> Limits {
    Limits {
        address_space: Some(1 << 30),
        cpu_seconds: Some(2),
        processes: Some(32),
        file_size: Some(16 << 20),
        open_files: Some(256),
        disk: 64 << 20,
        tmpfs: 16 << 20,
        memory: None,
    }
}

/// Training's limits in the suite: the memory of the whole tree held at 256 MiB by a cgroup.
fn train_limits() -> Limits {
    Limits {
        memory: Some(256 << 20),
        cpu_seconds: Some(60),
        ..Limits::for_phase(Phase::Train)
    }
}

fn build_limits() -> Limits {
    Limits {
        processes: Some(256),
        disk: 256 << 20,
        tmpfs: 64 << 20,
        ..Limits::for_phase(Phase::Build)
    }
}

/// The sandbox with the suite's limits, or `None` where there is none (the test skipped: it
/// should return; under CI a failure).
fn sandbox() -> Option<Sandbox> {
    static KEY: Once = Once::new();
    let sandbox = support::sandbox_or_skip()?;
    // Set once, before the first attack, and never changed.
    KEY.call_once(|| std::env::set_var(KEY_VAR, FAKE_KEY));
    Some(
        sandbox
            .limits(Phase::Run, run_limits())
            .limits(Phase::Build, build_limits())
            .limits(Phase::Train, train_limits()),
    )
}

/// A scratch world for one attack: the crate folder and, beside it, what must stay out of
/// reach (secrets, a folder to write into).
struct Scene {
    _dir: tempfile::TempDir,
    krate: PathBuf,
    outside: PathBuf,
    /// A name no other test uses, for paths the attack tries to create.
    unique: String,
}

impl Scene {
    fn new() -> Scene {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let krate = root.join("crate");
        let outside = root.join("outside");
        for (path, content) in [
            (
                "harness-home/llms.yaml",
                format!("api_key: {REGISTRY_SECRET}\n"),
            ),
            ("heldout/masks/case-001.png", MASK_SECRET.to_string()),
            ("home/.ssh/id_ed25519", SSH_SECRET.to_string()),
        ] {
            let path = outside.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        std::fs::create_dir_all(&krate).unwrap();
        // A link planted in the crate, pointing outside.
        std::os::unix::fs::symlink(&outside, krate.join("escape")).unwrap();
        let unique = format!(
            "harness-attack-{}",
            root.file_name().unwrap().to_string_lossy()
        );
        Scene {
            _dir: dir,
            krate,
            outside,
            unique,
        }
    }

    /// A scene whose crate holds a copy of the attack program, at `target/attack` (where the
    /// workspace keeps it).
    fn with_program() -> Option<(Sandbox, Scene)> {
        let sandbox = sandbox()?;
        let scene = Scene::new();
        let bytes = std::fs::read(attack_program(&sandbox)).unwrap();
        std::fs::create_dir_all(scene.krate.join("target")).unwrap();
        let path = scene.krate.join("target/attack");
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        Some((sandbox, scene))
    }

    fn secret_reads(&self) -> String {
        let mut plan = String::new();
        for path in [
            "harness-home/llms.yaml",
            "heldout/masks/case-001.png",
            "home/.ssh/id_ed25519",
        ] {
            plan.push_str(&format!("read={}\n", self.outside.join(path).display()));
        }
        plan.push_str("read=escape/heldout/masks/case-001.png\n");
        // The harness's own files, and the real home.
        plan.push_str(&format!("read={}/Cargo.toml\n", env!("CARGO_MANIFEST_DIR")));
        plan.push_str("read=/etc/passwd\n");
        if let Some(home) = std::env::var_os("HOME") {
            let home = PathBuf::from(home);
            plan.push_str(&format!("read={}\n", home.join(".ssh/id_rsa").display()));
            plan.push_str(&format!("list={}\n", home.display()));
        }
        plan
    }

    /// Paths the attack tries to write, each of which must not appear on the host.
    fn forbidden_writes(&self) -> Vec<PathBuf> {
        let mut paths = vec![
            self.outside.join("pwned-direct"),
            self.krate.parent().unwrap().join("pwned-parent"),
            Path::new("/tmp").join(&self.unique),
        ];
        for var in ["CARGO_HOME", "RUSTUP_HOME"] {
            if let Some(dir) = std::env::var_os(var) {
                paths.push(PathBuf::from(dir).join(&self.unique));
            }
        }
        if let Some(home) = std::env::var_os("HOME") {
            paths.push(PathBuf::from(home).join(".cargo/bin").join(&self.unique));
        }
        paths
    }

    fn writes(&self) -> String {
        let mut plan: String = self
            .forbidden_writes()
            .iter()
            .map(|p| format!("write={}\n", p.display()))
            .collect();
        plan.push_str("write=escape/pwned-via-planted-link\n");
        plan.push_str(&format!("link=own-link -> {}\n", self.outside.display()));
        plan
    }

    fn assert_nothing_written_outside(&self) {
        for path in self.forbidden_writes() {
            assert!(
                std::fs::symlink_metadata(&path).is_err(),
                "{} was written",
                path.display()
            );
        }
        for name in ["pwned-via-planted-link", "pwned-through-own-link"] {
            assert!(
                !self.outside.join(name).exists(),
                "{name} went through a link"
            );
        }
    }

    /// The crate folder as the harness sees it: a workspace (the planted link survives resets
    /// only where tests put it back).
    fn workspace(&self) -> Workspace {
        Workspace::reset(&self.krate).unwrap()
    }

    fn write_plan(&self, plan: &str) -> PathBuf {
        let path = self.krate.join("attack-plan.txt");
        std::fs::write(&path, plan).unwrap();
        path
    }

    /// Runs the attack program with `args` as a smoke run would be run.
    fn run(&self, sandbox: &Sandbox, args: &[&str], timeout: Duration) -> Confined {
        self.run_as(Phase::Run, sandbox, args, timeout)
    }

    /// Runs the attack program with `args` as `phase`.
    fn run_as(
        &self,
        phase: Phase,
        sandbox: &Sandbox,
        args: &[&str],
        timeout: Duration,
    ) -> Confined {
        let spec = args
            .iter()
            .fold(
                ProcessSpec::new(self.krate.join("target/attack"), &self.krate),
                |s, a| s.arg(a),
            )
            .timeout(timeout)
            .output_cap(1 << 20);
        sandbox
            .run(&spec, phase)
            .unwrap_or_else(|e| panic!("the sandbox starts: {e}"))
    }
}

/// A local TCP listener and UDP socket, the targets of the network attacks.
struct Listeners {
    tcp: TcpListener,
    udp: UdpSocket,
}

impl Listeners {
    fn open() -> Listeners {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        tcp.set_nonblocking(true).unwrap();
        udp.set_nonblocking(true).unwrap();
        Listeners { tcp, udp }
    }

    fn plan(&self) -> String {
        format!(
            "tcp={}\nudp={}\n",
            self.tcp.local_addr().unwrap(),
            self.udp.local_addr().unwrap()
        )
    }

    /// The attack has finished: whatever reached us is queued by now.
    fn assert_untouched(&self) {
        match self.tcp.accept() {
            Err(error) if error.kind() == ErrorKind::WouldBlock => {}
            other => panic!("the TCP listener was reached: {other:?}"),
        }
        let mut buffer = [0u8; 64];
        match self.udp.recv_from(&mut buffer) {
            Err(error) if error.kind() == ErrorKind::WouldBlock => {}
            other => panic!("the UDP socket was reached: {other:?}"),
        }
    }
}

/// The attack program, built once by the rust-tiny build inside the sandbox; its path.
fn attack_program(sandbox: &Sandbox) -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sandbox-attack-program");
        let manifest = "[package]\nname = \"stats\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";
        let build = build_crate(
            sandbox,
            &root,
            &[
                ("Cargo.toml", manifest),
                ("attacks.rs", ATTACKS),
                ("src/main.rs", PROGRAM),
            ],
        );
        build
            .program
            .unwrap_or_else(|| panic!("the attack program builds: {:?}", build.errors))
            .path
    })
}

/// Lays out a crate and builds it the way rust-tiny builds every generated crate.
fn build_crate(sandbox: &Sandbox, root: &Path, files: &[(&str, &str)]) -> BuildOutcome {
    let workspace = Workspace::reset(root).unwrap();
    let files: BTreeMap<String, String> = files
        .iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect();
    let target = RustTiny::new(Isolation::Sandboxed(Box::new(sandbox.clone())));
    workspace
        .write(&files, &target.build_files(&files))
        .unwrap();
    target.build(&workspace, 1)
}

/// Every secret, the key variable's name included, is absent from `text`.
fn assert_no_secret(text: &str, what: &str) {
    for secret in SECRETS.iter().chain([&KEY_VAR]) {
        assert!(!text.contains(secret), "{what} holds {secret}:\n{text}");
    }
}

/// The checks common to the program, the build script and the proc macro.
fn assert_contained(report: &str, scene: &Scene, listeners: &Listeners, what: &str) {
    assert!(
        report.contains("ENV PATH="),
        "{what} did run its attacks:\n{report}"
    );
    assert_no_secret(report, what);
    // Nothing outside the sandbox's own pid namespace is visible.
    for line in report.lines().filter(|l| l.starts_with("ENVIRON ")) {
        assert!(!line.contains("HARNESS_"), "{what}: {line}");
    }
    let read: Vec<&str> = report.lines().filter(|l| l.starts_with("READ ")).collect();
    assert!(read.is_empty(), "{what} read {read:?}");
    // The real home shows only the toolchain bound from it.
    for line in report.lines().filter_map(|l| l.strip_prefix("LIST ")) {
        let names = line.split_once(": ").map_or("", |(_, n)| n);
        for name in names.split_whitespace() {
            assert!(
                [".cargo", ".rustup"].contains(&name),
                "{what} listed {name} in {line}"
            );
        }
    }
    assert!(report.contains("NOCONNECT"), "{what}: TCP:\n{report}");
    listeners.assert_untouched();
    scene.assert_nothing_written_outside();
}

/// Processes on the host whose command line is `sleep SECONDS`.
fn sleepers(seconds: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| c == format!("sleep\0{seconds}\0").as_bytes())
        })
        .count()
}

#[test]
fn network_to_a_local_tcp_and_udp_listener_is_cut_off() {
    let Some((sandbox, scene)) = Scene::with_program() else {
        return;
    };
    let listeners = Listeners::open();
    let plan = scene.write_plan(&listeners.plan());
    let run = scene.run(
        &sandbox,
        &["plan", plan.to_str().unwrap()],
        Duration::from_secs(30),
    );
    assert!(run.output.success(), "{:?}", run.output);
    assert!(
        run.output.stdout.contains("NOCONNECT"),
        "{}",
        run.output.stdout
    );
    listeners.assert_untouched();
}

#[test]
fn keys_in_the_environment_other_processes_and_files_are_out_of_reach() {
    let Some((sandbox, scene)) = Scene::with_program() else {
        return;
    };
    assert_eq!(std::env::var(KEY_VAR).as_deref(), Ok(FAKE_KEY));
    let plan = scene.write_plan(&scene.secret_reads());
    let run = scene.run(
        &sandbox,
        &["plan", plan.to_str().unwrap()],
        Duration::from_secs(30),
    );
    let report = &run.output.stdout;
    assert!(run.output.success(), "{:?}", run.output);
    assert_no_secret(report, "the program");
    // Its environment is the sandbox's list and nothing else.
    for line in report.lines().filter_map(|l| l.strip_prefix("ENV ")) {
        let name = line.split('=').next().unwrap();
        assert!(
            // PWD: set by the sandbox's shell step.
            [
                "PATH",
                "HOME",
                "CARGO_HOME",
                "TMPDIR",
                "RUSTUP_HOME",
                "LANG",
                "LC_ALL",
                "TZ",
                "RUSTUP_TOOLCHAIN",
                "PWD"
            ]
            .contains(&name),
            "unexpected variable {line}"
        );
    }
    // Only the sandbox's own processes are in /proc (a fresh pid namespace: bwrap's init as 1,
    // the program as 2), and the init's environment is not readable.
    let pids: Vec<u32> = report
        .lines()
        .filter_map(|l| l.split("/proc/").nth(1)?.split('/').next()?.parse().ok())
        .collect();
    assert_eq!(pids, [1, 2], "{report}");
    assert!(
        report.contains("NOENVIRON /proc/1/environ: Permission denied"),
        "{report}"
    );
    assert!(!report.lines().any(|l| l.starts_with("READ ")), "{report}");
    assert!(report.contains("NOREAD escape/heldout"), "{report}");
}

#[test]
fn writes_outside_the_crate_fail_even_through_planted_links() {
    let Some((sandbox, scene)) = Scene::with_program() else {
        return;
    };
    let plan = scene.write_plan(&scene.writes());
    let run = scene.run(
        &sandbox,
        &["plan", plan.to_str().unwrap()],
        Duration::from_secs(30),
    );
    assert!(run.output.success(), "{:?}", run.output);
    scene.assert_nothing_written_outside();
    // The one writable place works: the crate folder itself.
    assert!(scene.krate.join("own-link").is_symlink());
}

#[test]
fn a_fork_bomb_stops_at_the_process_limit() {
    let Some((sandbox, scene)) = Scene::with_program() else {
        return;
    };
    let plan = scene.write_plan("spawn=5000 987601\n");
    let run = scene.run(
        &sandbox,
        &["plan", plan.to_str().unwrap()],
        Duration::from_secs(60),
    );
    assert_fork_bomb_stopped(&run, &sandbox, "987601");
}

/// The fork bomb's report: fewer children than the process limit where it binds, stopped by
/// `EAGAIN`, and none of them (`sleep SECONDS`) alive after the sandbox ended.
fn assert_fork_bomb_stopped(run: &Confined, sandbox: &Sandbox, seconds: &str) {
    let line = run
        .output
        .stdout
        .lines()
        .find(|l| l.starts_with("SPAWNED"))
        .unwrap_or_else(|| panic!("{:?}", run.output));
    let spawned: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    if sandbox.binds_process_limit() {
        assert!(spawned < 32, "{line}");
        assert!(line.contains("Resource temporarily unavailable"), "{line}");
    } else {
        assert!(spawned > 0, "{line}");
        eprintln!("note: not root, so no process limit: {line}");
    }
    assert_eq!(sleepers(seconds), 0, "the children died with the sandbox");
}

#[test]
fn a_memory_bomb_stops_at_the_memory_limit() {
    let Some((sandbox, scene)) = Scene::with_program() else {
        return;
    };
    let run = scene.run(&sandbox, &["memory", "64"], Duration::from_secs(60));
    let allocated = allocated_blocks(&run);
    assert!(
        allocated < 16,
        "{allocated} blocks of 64 MiB within a 1 GiB limit"
    );
    let record = classify_run(&run.output.exit, &run.output.stderr).expect("it failed");
    assert_eq!(record.category, Category::OutOfMemory, "{record:?}");
}

/// How many blocks the memory bomb reported allocated before it was stopped.
fn allocated_blocks(run: &Confined) -> usize {
    run.output
        .stdout
        .lines()
        .filter(|l| l.starts_with("ALLOCATED"))
        .count()
}

/// Training has no address-space limit (CUDA reserves terabytes of it): a cgroup holds the
/// memory of the whole tree instead, and the kill is seen and named.
#[test]
fn a_memory_bomb_while_training_stops_at_the_cgroup_limit() {
    let Some((sandbox, scene)) = Scene::with_program() else {
        return;
    };
    if let Err(why) = harness::sandbox::memory_limit_available() {
        skip(
            Needs::MemoryCgroup,
            format!("no memory cgroup for the harness: {why}"),
        );
        return;
    }
    let run = scene.run_as(
        Phase::Train,
        &sandbox,
        &["memory", "64"],
        Duration::from_secs(60),
    );
    assert_killed_by_the_cgroup(&run);
}

/// A memory bomb of 64-MiB blocks under training's 256-MiB cgroup: killed, seen and named.
fn assert_killed_by_the_cgroup(run: &Confined) {
    let allocated = allocated_blocks(run);
    assert!(allocated < 4, "{allocated} blocks of 64 MiB within 256 MiB");
    assert_eq!(run.memory_exceeded, Some(256 << 20), "{:?}", run.output);
    assert!(
        run.output.stderr.contains("harness: out of memory"),
        "{}",
        run.output.stderr
    );
}

#[test]
fn filling_the_crate_folder_is_stopped_at_the_disk_limit() {
    let Some((sandbox, scene)) = Scene::with_program() else {
        return;
    };
    let before = harness_disk_usage(&scene.krate);
    // Up to 1.6 GB if nothing stopped it; the limit is 64 MiB.
    let krate = scene.krate.to_str().unwrap().to_string();
    let run = scene.run(
        &sandbox,
        &["disk", &krate, "400", "4194304"],
        Duration::from_secs(60),
    );
    assert_stopped_at_the_disk_limit(&run, &scene.krate, before);
}

/// A disk filler of 400 files of 4 MiB under a 64-MiB limit: stopped, said so, and the folder
/// grew by far less than the 1.6 GB it asked for (`before`: its usage at the start).
fn assert_stopped_at_the_disk_limit(run: &Confined, krate: &Path, before: u64) {
    let grown = run.disk_exceeded.expect("the disk limit was hit");
    assert!(grown > 64 << 20);
    assert!(
        !run.output.stdout.contains("DISK DONE"),
        "{}",
        run.output.stdout
    );
    assert!(
        run.output.stderr.contains("out of disk quota"),
        "{}",
        run.output.stderr
    );
    let used = harness_disk_usage(krate) - before;
    assert!(
        used < 800 << 20,
        "stopped well before the end: {} MiB",
        used >> 20
    );
}

/// The crate's size on disk, measured like the sandbox does.
fn harness_disk_usage(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            total += std::os::unix::fs::MetadataExt::blocks(&meta) * 512;
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    total
}

#[test]
fn one_big_file_stops_at_the_file_size_limit() {
    let Some((sandbox, scene)) = Scene::with_program() else {
        return;
    };
    let big = scene.krate.join("big");
    let run = scene.run(
        &sandbox,
        &["bigfile", big.to_str().unwrap(), "268435456"],
        Duration::from_secs(60),
    );
    assert_eq!(
        run.output.exit.signal,
        Some(25),
        "SIGXFSZ: {:?}",
        run.output
    );
    assert!(std::fs::metadata(&big).unwrap().len() <= 16 << 20);
}

#[test]
fn in_memory_folders_stop_at_their_size() {
    let Some((sandbox, scene)) = Scene::with_program() else {
        return;
    };
    for dir in ["/tmp", "/dev/shm", "/sandbox/home"] {
        let run = scene.run(
            &sandbox,
            &["disk", dir, "100", "1048576"],
            Duration::from_secs(60),
        );
        let stdout = &run.output.stdout;
        assert!(
            stdout.contains("No space left on device"),
            "{dir}: {stdout}"
        );
        let written: u64 = stdout
            .lines()
            .find_map(|l| l.strip_prefix("DISK DONE "))
            .unwrap()
            .parse()
            .unwrap();
        assert!(written <= 16 << 20, "{dir}: {written}");
    }
}

#[test]
fn spinning_the_cpu_stops_at_the_cpu_time_limit() {
    let Some((sandbox, scene)) = Scene::with_program() else {
        return;
    };
    let run = scene.run(&sandbox, &["spin"], Duration::from_secs(60));
    assert!(!run.output.exit.timed_out, "the CPU limit came first");
    assert_eq!(
        run.output.exit.signal,
        Some(24),
        "SIGXCPU: {:?}",
        run.output.exit
    );
    let record = classify_run(&run.output.exit, &run.output.stderr).unwrap();
    assert_eq!(record.category, Category::Timeout);
}

#[test]
fn printing_gigabytes_is_cut_at_the_output_cap() {
    let Some((sandbox, scene)) = Scene::with_program() else {
        return;
    };
    let run = scene.run(&sandbox, &["print", "2147483648"], Duration::from_secs(120));
    assert!(run.output.exit.output_truncated);
    // Its first and last bytes, and one line that says how many went between them.
    let left_out = (1u64 << 31) - (1 << 20);
    let marker = harness::exec::cut_marker(left_out);
    assert!(run.output.stdout.contains(&marker), "no cut marker");
    assert_eq!(run.output.stdout.len(), (1 << 20) + marker.len());
}

#[test]
fn a_child_in_a_new_session_dies_with_the_sandbox() {
    let Some((sandbox, scene)) = Scene::with_program() else {
        return;
    };
    let run = scene.run(&sandbox, &["detach", "987602"], Duration::from_secs(30));
    assert!(run.output.stdout.contains("DETACHED"), "{:?}", run.output);
    assert_eq!(sleepers("987602"), 0);
    // Also when the harness kills the sandbox at its timeout.
    let run = scene.run(
        &sandbox,
        &["detach", "987603", "hang"],
        Duration::from_secs(2),
    );
    assert!(run.output.exit.timed_out);
    assert!(run.output.stdout.contains("DETACHED"), "{:?}", run.output);
    assert_eq!(sleepers("987603"), 0);
}

#[test]
fn output_that_imitates_bwrap_is_still_the_programs_failure() {
    let Some((sandbox, scene)) = Scene::with_program() else {
        return;
    };
    let run = scene.run(&sandbox, &["imitate"], Duration::from_secs(30));
    assert!(run.output.stderr.starts_with("bwrap: "));
    let record = classify_run(&run.output.exit, &run.output.stderr).unwrap();
    assert_eq!(record.category.tier(), Tier::Runtime, "{record:?}");
}

#[test]
fn a_sandbox_that_cannot_start_is_infrastructure_never_the_llms() {
    let Some((sandbox, scene)) = Scene::with_program() else {
        return;
    };
    // bwrap itself refuses: a device node to pass through is not there.
    let broken = sandbox.gpu_devices(vec![PathBuf::from("/dev/nvidia-harness-missing")]);
    let target = RustTiny::new(Isolation::Sandboxed(Box::new(broken)));
    let program = BuiltProgram {
        path: scene.krate.join("target/attack"),
        sha256: String::new(),
    };
    let run = target.smoke_run(&scene.workspace(), &program);
    assert_eq!(run.errors.len(), 1, "{:?}", run.errors);
    assert_eq!(run.errors[0].category, Category::InfraSandbox);
    assert!(
        run.errors[0].message.contains("nvidia-harness-missing"),
        "bwrap's own words: {}",
        run.errors[0].message
    );
}

#[test]
fn the_harness_never_follows_a_link_the_program_planted_in_its_output() {
    let Some((sandbox, scene)) = Scene::with_program() else {
        return;
    };
    let workspace = scene.workspace();
    // A correct summary, outside the crate: following the link would make the run pass.
    let target_file = scene.outside.join("summary.txt");
    std::fs::write(&target_file, "count=5\nsum=150\nmin=-7\nmax=100\n").unwrap();
    std::fs::write(
        scene.krate.join("summary-target.txt"),
        target_file.to_str().unwrap(),
    )
    .unwrap();
    let target = RustTiny::new(Isolation::Sandboxed(Box::new(sandbox)));
    let program = BuiltProgram {
        path: scene.krate.join("target/attack"),
        sha256: String::new(),
    };
    let run = target.smoke_run(&workspace, &program);
    let categories: Vec<Category> = run.errors.iter().map(|e| e.category).collect();
    assert_eq!(categories, [Category::InvalidOutput], "{:?}", run.errors);
}

#[test]
fn build_scripts_and_proc_macros_are_contained_at_build_time() {
    let Some(sandbox) = sandbox() else {
        return;
    };
    let scene = Scene::new();
    let listeners = Listeners::open();
    // The fork bomb at build time is `bombs`' (its children would starve rustc of threads).
    let plan = format!(
        "{}{}{}detach=987605\n",
        listeners.plan(),
        scene.secret_reads(),
        scene.writes()
    );
    let manifest = "[package]\nname = \"stats\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n\n[dependencies]\nevil = { path = \"evil\" }\n";
    let macro_manifest = "[package]\nname = \"evil\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\nproc-macro = true\n";
    let main = "evil::attack!();\n\nfn main() {}\n";
    let build = build_crate(
        &sandbox,
        &scene.krate,
        &[
            ("Cargo.toml", manifest),
            ("attacks.rs", ATTACKS),
            ("build.rs", BUILD_SCRIPT),
            ("attack-plan.txt", &plan),
            ("evil/Cargo.toml", macro_manifest),
            ("evil/src/lib.rs", PROC_MACRO),
            ("src/main.rs", main),
        ],
    );
    assert!(build.program.is_some(), "{:?}", build.errors);
    for (report, what) in [
        ("report-build-script.txt", "the build script"),
        ("report-proc-macro.txt", "the proc macro"),
    ] {
        let text = std::fs::read_to_string(scene.krate.join(report)).unwrap();
        assert_contained(&text, &scene, &listeners, what);
        assert!(text.contains("DETACHED"), "{what}: {text}");
    }
    assert_eq!(
        sleepers("987605"),
        0,
        "the detached children died with the sandbox"
    );
}

fn bomb(bomb: &str, limits: Limits) -> Option<(Scene, BuildOutcome)> {
    let sandbox = sandbox()?.limits(Phase::Build, limits);
    let scene = Scene::new();
    let manifest = "[package]\nname = \"stats\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n";
    let build = build_crate(
        &sandbox,
        &scene.krate,
        &[
            ("Cargo.toml", manifest),
            ("build.rs", BOMBS),
            ("bomb.txt", bomb),
            ("src/main.rs", "fn main() {}\n"),
        ],
    );
    Some((scene, build))
}

fn rendered(build: &BuildOutcome) -> String {
    build
        .errors
        .iter()
        .map(|e| {
            format!(
                "{} {}\n{}",
                e.category,
                e.message,
                e.rendered.as_deref().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn a_build_script_memory_bomb_fails_the_build() {
    let limits = Limits {
        address_space: Some(4 << 30),
        ..build_limits()
    };
    let Some((_scene, build)) = bomb("memory", limits) else {
        return;
    };
    assert!(build.program.is_none());
    let text = rendered(&build);
    assert!(text.contains("memory allocation of"), "{text}");
    assert_ne!(build.errors[0].category.tier(), Tier::Infra, "{text}");
}

#[test]
fn a_build_script_fork_bomb_stops_at_the_process_limit() {
    let Some(sandbox) = sandbox() else {
        return;
    };
    if !sandbox.binds_process_limit() {
        skip(
            Needs::Root,
            "the process limit binds only when the harness is root",
        );
        return;
    }
    let Some((_scene, build)) = bomb("fork", build_limits()) else {
        return;
    };
    let text = rendered(&build);
    let spawned: u64 = text
        .lines()
        .find_map(|l| l.split("spawned ").nth(1))
        .and_then(|n| n.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(spawned < 256, "{text}");
    assert_eq!(sleepers("987606"), 0, "the children died with the sandbox");
}

#[test]
fn a_build_script_spinning_the_cpu_fails_the_build() {
    let limits = Limits {
        cpu_seconds: Some(3),
        ..build_limits()
    };
    let Some((_scene, build)) = bomb("cpu", limits) else {
        return;
    };
    assert!(build.program.is_none());
    let text = rendered(&build);
    assert!(
        text.contains("signal: 24") || text.contains("SIGXCPU"),
        "{text}"
    );
}

#[test]
fn a_build_script_filling_the_disk_is_stopped() {
    for kind in ["print", "disk"] {
        let Some((scene, build)) = bomb(kind, build_limits()) else {
            return;
        };
        assert!(build.program.is_none());
        let text = rendered(&build);
        assert!(text.contains("out of disk quota"), "{kind}: {text}");
        // A harness limit, not the LLM's compile error (methodology L1).
        assert_eq!(build.errors[0].category, Category::InfraLimit, "{text}");
        assert_eq!(build.errors[0].category.tier(), Tier::Infra, "{text}");
        // What it wrote is gone with the build folder; files beside it stay, under the limit.
        assert!(!scene.krate.join("target").exists(), "{kind}");
        assert!(harness_disk_usage(&scene.krate) < 1 << 30, "{kind}");
    }
}

/// A reply whose program prints every variable it has and every other process's environment it
/// can read, then fails, so that all of it goes into the transcript and the feedback.
fn key_hunting_reply() -> String {
    let main = r#"fn main() {
    for (key, value) in std::env::vars() {
        eprintln!("ENV {key}={value}");
    }
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(bytes) = std::fs::read(entry.path().join("environ")) {
            eprintln!("FOUND {}: {}", entry.path().display(), String::from_utf8_lossy(&bytes));
        }
    }
    std::process::exit(1);
}
"#;
    format!(
        "### `Cargo.toml`\n\n```toml\n[package]\nname = \"stats\"\nversion = \"0.1.0\"\nedition = \"2021\"\n```\n\n### `src/main.rs`\n\n```rust\n{main}```\n\n### `src/stats.rs`\n\n```rust\npub fn unused() {{}}\n```\n"
    )
}

#[test]
fn keys_in_the_harnesss_environment_stay_out_of_a_real_run() {
    if sandbox().is_none() {
        return;
    }
    let server = OpenAiServer::start_conversation(vec![
        Scripted::reply(key_hunting_reply()),
        Scripted::reply(key_hunting_reply()),
    ]);
    let harness = Harness::new()
        .registry(&registry(&server.base_url()))
        .env("FIXTURE_API_KEY", KEY)
        .env("OPENAI_API_KEY", "decoy-openai-secret");
    let out = harness
        .run(&["generate", "--llm", FIXTURE, "--max-iterations", "2"])
        .expect_code(3);
    let transcript = std::fs::read_to_string(harness.only_run().join("transcript.yaml")).unwrap();
    assert!(
        transcript.contains("ENV PATH="),
        "the program ran: {transcript}"
    );
    assert!(transcript.contains("FOUND /proc/self: "), "{transcript}");
    assert!(transcript.contains("sandbox: bubblewrap "), "{transcript}");
    let feedback = server.requests()[1].json()["messages"].to_string();
    assert!(feedback.contains("ENV PATH="), "{feedback}");
    for text in [&transcript, &feedback, &out.stdout, &out.stderr] {
        assert!(
            !text.contains(KEY) && !text.contains("decoy-openai-secret"),
            "{text}"
        );
        // The header names the variable (never its value); the program must not see it.
        assert!(!text.contains("FIXTURE_API_KEY="), "{text}");
    }
}
