//! The suite's bombs written in Python and run the way the `python-torch-unet` target runs a
//! program: the environment's own interpreter, the environment and the base interpreter mounted
//! read-only (`PythonTorchUnet::new`), as a training phase (the target's smoke run is one), under
//! the suite's small limits. A fork bomb stops at the process limit and its children die with the
//! sandbox; a memory bomb is killed by the cgroup; filling the folder stops at the disk limit.
//! One thing a program needs is checked too: matplotlib finds the fonts without an error. The
//! escapes (network, keys, files outside) go through the whole harness in
//! `python_target.rs`. Needs the environment (`HARNESS_PYTHON_TESTS=1`) and bubblewrap.

use std::path::PathBuf;
use std::time::Duration;

use harness::exec::ProcessSpec;
use harness::sandbox::{Confined, Isolation, Limits, Phase, Sandbox};
use harness::target::{PythonTorchUnet, Target};
use harness::toolchain::{cache_dir_from_env, embedded_lock, env_state, EnvState};

use crate::support::skip::{python_tests, skip, Needs};

use super::{
    assert_fork_bomb_stopped, assert_killed_by_the_cgroup, assert_stopped_at_the_disk_limit,
    sandbox, Scene,
};

/// The bombs, each bounded so that a sandbox that fails to stop one fails the test instead of
/// the machine. Written by the test, a fixture.
const BOMBS: &str = r#"import os, subprocess, sys


def spawn(count, seconds):
    children, failure = [], "none"
    while len(children) < count:
        try:
            children.append(subprocess.Popen(["sleep", seconds], stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        except OSError as error:
            failure = str(error)
            break
    print(f"SPAWNED {len(children)} (first failure: {failure})", flush=True)
    os._exit(0)  # the children are left running: the sandbox must end them


def memory(mib, blocks):
    held = []
    for _ in range(blocks):
        held.append(b"\x01" * (mib << 20))
        print("ALLOCATED", len(held), flush=True)
    print("MEMORY DONE", flush=True)


def disk(count, size):
    chunk = b"\x02" * size
    for i in range(count):
        with open(f"fill-{i}.bin", "wb") as out:
            out.write(chunk)
    print("DISK DONE", flush=True)


if __name__ == "__main__":
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "spawn":
        spawn(int(args[0]), args[1])
    elif kind == "memory":
        memory(int(args[0]), int(args[1]))
    elif kind == "disk":
        disk(int(args[0]), int(args[1]))
"#;

/// Training's limits for these bombs: the suite's, with a small disk allowance and process
/// count as well (a real training phase has 16 GiB and 1024).
fn python_train_limits() -> Limits {
    Limits {
        processes: Some(32),
        disk: 64 << 20,
        tmpfs: 16 << 20,
        ..super::train_limits()
    }
}

/// The sandbox as the Python target makes it, and the environment's interpreter; `None` where
/// the environment's tests are off or there is no sandbox (the test skipped).
fn python_sandbox() -> Option<(Sandbox, PathBuf)> {
    if !python_tests() {
        return None;
    }
    let sandbox = sandbox()?.limits(Phase::Train, python_train_limits());
    let cache = cache_dir_from_env(None).unwrap();
    let EnvState::Complete(env) = env_state(&cache, &embedded_lock().unwrap()) else {
        panic!(
            "HARNESS_PYTHON_TESTS=1 but {} holds no Python environment: run `harness setup --python`",
            cache.display()
        );
    };
    let target = PythonTorchUnet::new(&env, cache, Isolation::Sandboxed(Box::new(sandbox)));
    let Isolation::Sandboxed(sandbox) = target.isolation() else {
        unreachable!("the target keeps the sandbox it was given");
    };
    Some((sandbox.as_ref().clone(), env.python()))
}

/// Runs the bombs with `args` in a new scene's crate folder, as training.
fn bomb(args: &[&str]) -> Option<(Confined, Scene, Sandbox)> {
    let (sandbox, python) = python_sandbox()?;
    let scene = Scene::new();
    std::fs::write(scene.krate.join("bombs.py"), BOMBS).unwrap();
    let spec = args
        .iter()
        .fold(
            ProcessSpec::new(python, &scene.krate).arg("bombs.py"),
            |spec, arg| spec.arg(arg),
        )
        .timeout(Duration::from_secs(60))
        .output_cap(1 << 20);
    let run = sandbox
        .run(&spec, Phase::Train)
        .unwrap_or_else(|e| panic!("the sandbox starts: {e}"));
    Some((run, scene, sandbox))
}

#[test]
fn a_python_fork_bomb_stops_at_the_process_limit() {
    let Some((run, _scene, sandbox)) = bomb(&["spawn", "5000", "987602"]) else {
        return;
    };
    assert_fork_bomb_stopped(&run, &sandbox, "987602");
}

#[test]
fn a_python_memory_bomb_while_training_stops_at_the_cgroup_limit() {
    if !python_tests() {
        return;
    }
    if let Err(why) = harness::sandbox::memory_limit_available() {
        skip(
            Needs::MemoryCgroup,
            format!("no memory cgroup for the harness: {why}"),
        );
        return;
    }
    // Up to 2 GiB if nothing stopped it; the cgroup holds 256 MiB.
    let Some((run, _scene, _)) = bomb(&["memory", "64", "32"]) else {
        return;
    };
    assert!(
        !run.output.stdout.contains("MEMORY DONE"),
        "{}",
        run.output.stdout
    );
    assert_killed_by_the_cgroup(&run);
}

#[test]
fn a_python_program_filling_its_folder_is_stopped_at_the_disk_limit() {
    let Some((run, scene, _)) = bomb(&["disk", "400", "4194304"]) else {
        return;
    };
    // Up to 1.6 GB if nothing stopped it; the limit is 64 MiB. Before it ran the folder held
    // only the bombs' script and the scene's link, a few KiB, counted as growth here.
    assert_stopped_at_the_disk_limit(&run, &scene.krate, 0);
}

/// Not an attack: what a plotting program needs from the sandbox. matplotlib's font cache runs
/// `fc-list`, which reads fontconfig's configuration in `/etc/fonts`; without it every Python
/// program's errors began with `Fontconfig error: Cannot load default config file`, and an LLM
/// set about fixing fonts instead of its own error.
#[test]
fn matplotlib_builds_its_font_cache_without_a_fontconfig_error() {
    let Some((sandbox, python)) = python_sandbox() else {
        return;
    };
    let scene = Scene::new();
    let spec = ProcessSpec::new(python, &scene.krate)
        .arg("-c")
        .arg("import matplotlib.font_manager as fm; print('FONTS', len(fm.fontManager.ttflist))")
        .timeout(Duration::from_secs(120))
        .output_cap(1 << 20);
    let run = sandbox
        .run(&spec, Phase::Train)
        .unwrap_or_else(|e| panic!("the sandbox starts: {e}"));
    assert!(run.output.success(), "{:?}", run.output);
    assert!(run.output.stdout.contains("FONTS "), "{:?}", run.output);
    assert!(
        !run.output.stderr.contains("Fontconfig"),
        "{}",
        run.output.stderr
    );
}
