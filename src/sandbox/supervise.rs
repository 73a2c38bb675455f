//! Running a wrapped process: the disk watch, the sandbox's own failures told apart from the
//! program's, and the program's exit status as the program left it. With a copy-on-write
//! folder, the process is started from inside its overlay's mount namespace.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::exec::{run_process, ProcessOutput, ProcessSpec};

use super::bubblewrap::{NOT_FOUND_MARKER, READY_MARKER, TOKEN_PREFIX};
use super::cgroup::MemoryCgroup;
use super::overlay::Layer;
use super::policy::Phase;
use super::{tree, Sandbox, SandboxError};

/// How often the writable folders are measured while a sandboxed process runs.
const WATCH_EVERY: Duration = Duration::from_millis(50);
/// The most of bubblewrap's own error output kept in a `SandboxError`.
const DETAIL_CHARS: usize = 2000;
/// The longest wait for a finished sandbox's last processes to die.
const TEARDOWN: Duration = Duration::from_secs(10);

/// What a sandboxed (or unconfined) process left.
#[derive(Debug)]
pub struct Confined {
    /// Its output and exit, as if it had run outside: stderr without the sandbox's marker, and
    /// a death by signal reported as one.
    pub output: ProcessOutput,
    /// Set when its writable folders grew past the phase's disk limit: by how many bytes they
    /// grew. The sandbox was killed when this was seen while it ran.
    pub disk_exceeded: Option<u64>,
    /// Set when the kernel killed it for using more memory than the phase allows (the cgroup's
    /// limit, in bytes).
    pub memory_exceeded: Option<u64>,
    /// The layer of its crate folder over the sandbox's copy-on-write folder, if it has one:
    /// what it (and the crate's earlier processes) wrote there. Locked until dropped.
    pub layer: Option<Layer>,
}

impl Sandbox {
    /// Runs `spec` inside the sandbox (see `wrap`) and waits for it. The sandbox is killed
    /// when the writable folders (and the copy-on-write layer) grow past the phase's disk limit.
    /// `Err` only when the sandbox itself failed: the program never started.
    pub fn run(&self, spec: &ProcessSpec, phase: Phase) -> Result<Confined, SandboxError> {
        let mut prepared = self.prepare(spec.clone(), phase)?;
        let quota = self.limits_for(phase).disk;
        let cgroup = self
            .limits_for(phase)
            .memory
            .and_then(|limit| memory_cgroup(limit, phase));
        if let Some(cgroup) = &cgroup {
            join(&mut prepared.spec, cgroup);
        }
        let mut writable = prepared.writable.clone();
        writable.extend(prepared.layer.as_ref().map(|l| l.dir().to_path_buf()));
        let usage = move || -> u64 { writable.iter().map(|dir| tree::disk_usage(dir)).sum() };
        let baseline = usage();
        let (stop, stopped) = mpsc::channel::<()>();
        let token = format!("{TOKEN_PREFIX}{}", prepared.token);
        let watch = {
            let usage = usage.clone();
            let token = token.clone();
            thread::spawn(move || loop {
                if !matches!(
                    stopped.recv_timeout(WATCH_EVERY),
                    Err(mpsc::RecvTimeoutError::Timeout)
                ) {
                    return None;
                }
                let grown = usage().saturating_sub(baseline);
                if grown > quota {
                    for pid in sandbox_processes(None, &token) {
                        // SAFETY: kill(2) has no memory-safety preconditions.
                        unsafe {
                            libc::kill(pid, libc::SIGKILL);
                        }
                    }
                    return Some(grown);
                }
            })
        };
        let result = match &prepared.layer {
            Some(layer) => layer.run_mounted(|| run_process(&prepared.spec)),
            None => Ok(run_process(&prepared.spec)),
        };
        drop(stop);
        wait_until_gone(prepared.uid, &token);
        let mut disk_exceeded = watch.join().unwrap_or(None);
        if result.is_err() {
            // A layer the overlay could not be mounted with is not trusted to work next time.
            if let Some(layer) = prepared.layer.take() {
                layer.discard();
            }
        }
        let output = result?.map_err(SandboxError::Exec)?;
        if disk_exceeded.is_none() {
            let grown = usage().saturating_sub(baseline);
            disk_exceeded = (grown > quota).then_some(grown);
        }
        let mut output = unwrap_output(output, &spec.program.to_string_lossy())?;
        if let Some(grown) = disk_exceeded {
            output.stderr.push_str(&format!(
                "\nharness: out of disk quota: the sandbox stopped the process after its writable folders grew by {} MiB (the limit is {} MiB)\n",
                grown >> 20,
                quota >> 20
            ));
        }
        if let Some(cgroup) = &cgroup {
            tracing::debug!(
                "{phase}: the process tree's memory peak: {:?} bytes",
                cgroup.peak_bytes()
            );
        }
        let memory_exceeded = cgroup
            .as_ref()
            .filter(|cgroup| cgroup.oom_killed())
            .map(MemoryCgroup::limit);
        if let Some(limit) = memory_exceeded {
            output.stderr.push_str(&format!(
                "\nharness: out of memory: the kernel killed the program when its processes together used the sandbox's {} MiB\n",
                limit >> 20
            ));
        }
        Ok(Confined {
            output,
            disk_exceeded,
            memory_exceeded,
            layer: prepared.layer.take(),
        })
    }
}

/// A memory cgroup of `limit` bytes, or none (said once per process) where none can be made.
fn memory_cgroup(limit: u64, phase: Phase) -> Option<MemoryCgroup> {
    static SAID: std::sync::Once = std::sync::Once::new();
    MemoryCgroup::create(limit)
        .map_err(|error| {
            SAID.call_once(|| {
                eprintln!("warning: no memory limit for sandboxed {phase} processes: {error}");
            })
        })
        .ok()
}

/// Makes `spec` join `cgroup` before it starts: everything it starts is counted from there.
fn join(spec: &mut ProcessSpec, cgroup: &MemoryCgroup) {
    let mut words = cgroup.join_command().into_iter().map(Into::into);
    let program = std::mem::replace(&mut spec.program, words.next().unwrap_or_default());
    let rest = std::mem::take(&mut spec.args);
    spec.args = words.chain(std::iter::once(program)).chain(rest).collect();
}

/// Strips the ready marker, or turns its absence into the sandbox's error. Restores a death
/// by signal, which bubblewrap reports as exit code 128 + the signal, as shells do.
fn unwrap_output(mut output: ProcessOutput, program: &str) -> Result<ProcessOutput, SandboxError> {
    let Some(rest) = output.stderr.strip_prefix(READY_MARKER) else {
        if output.stderr.starts_with(NOT_FOUND_MARKER) {
            return Err(SandboxError::ProgramMissing {
                program: program.to_string(),
            });
        }
        let mut detail: String = output.stderr.trim().chars().take(DETAIL_CHARS).collect();
        if detail.is_empty() {
            detail = "bwrap said nothing".to_string();
        }
        let status = if output.exit.timed_out {
            "it did not start within the time limit".to_string()
        } else {
            format!(
                "bwrap ended with {:?}",
                output.exit.code.or(output.exit.signal)
            )
        };
        return Err(SandboxError::Setup {
            detail: format!("{detail} ({status})"),
        });
    };
    output.stderr = rest.to_string();
    if output.exit.signal.is_none() {
        if let Some(code @ 129..=192) = output.exit.code {
            output.exit.signal = Some(code - 128);
            output.exit.code = None;
        }
    }
    Ok(output)
}

/// bwrap's monitor exits as soon as the program does; the rest of the sandbox (its init, and
/// whatever the program left running) is killed just after, asynchronously, when the init
/// notices its parent is gone. Waits until all of it is gone, so that nothing untrusted is alive
/// while the harness reads the crate folder.
fn wait_until_gone(uid: Option<u32>, token: &str) {
    let deadline = Instant::now() + TEARDOWN;
    while !sandbox_processes(uid, token).is_empty() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(2));
    }
}

/// The processes of one sandbox: those running as its uid, and those whose command line holds
/// its token (bwrap outside and its init inside). Killing the latter kills the pid namespace.
fn sandbox_processes(uid: Option<u32>, token: &str) -> Vec<libc::pid_t> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        let marked = std::fs::read(entry.path().join("cmdline"))
            .is_ok_and(|bytes| bytes.split(|b| *b == 0).any(|arg| arg == token.as_bytes()));
        let owned = uid.is_some_and(|uid| {
            std::fs::read_to_string(entry.path().join("status")).is_ok_and(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .and_then(|ids| ids.split_whitespace().next())
                    .is_some_and(|real| real == uid.to_string())
            })
        });
        if marked || owned {
            found.push(pid);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::ExitInfo;

    fn output(stderr: &str, code: Option<i32>) -> ProcessOutput {
        ProcessOutput {
            stdout: String::new(),
            stderr: stderr.to_string(),
            exit: ExitInfo {
                code,
                ..ExitInfo::default()
            },
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn the_marker_is_stripped_and_signals_restored() {
        let out = unwrap_output(output("harness-sandbox: ready\npanic\n", Some(134)), "p").unwrap();
        assert_eq!(out.stderr, "panic\n");
        assert_eq!((out.exit.code, out.exit.signal), (None, Some(6)));
        let out = unwrap_output(output("harness-sandbox: ready\n", Some(3)), "p").unwrap();
        assert_eq!((out.exit.code, out.exit.signal), (Some(3), None));
    }

    #[test]
    fn output_without_the_marker_is_the_sandboxs_failure() {
        let error = unwrap_output(
            output(
                "bwrap: Can't find source path /x: No such file or directory\n",
                Some(1),
            ),
            "p",
        )
        .unwrap_err();
        assert!(matches!(error, SandboxError::Setup { .. }));
        assert!(
            error.to_string().contains("Can't find source path"),
            "{error}"
        );
        let missing = unwrap_output(
            output("harness-sandbox: cannot run cargo\n", Some(127)),
            "cargo",
        )
        .unwrap_err();
        assert!(
            matches!(missing, SandboxError::ProgramMissing { .. }),
            "{missing}"
        );
    }

    #[test]
    fn a_program_imitating_bwrap_is_still_the_program() {
        // The marker came first, so whatever follows is the program's, even `bwrap:` lines.
        let out = unwrap_output(
            output("harness-sandbox: ready\nbwrap: Can't mount proc\n", Some(1)),
            "p",
        )
        .unwrap();
        assert_eq!(out.stderr, "bwrap: Can't mount proc\n");
        assert_eq!(out.exit.code, Some(1));
    }
}
