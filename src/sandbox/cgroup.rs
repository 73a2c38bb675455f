//! A memory limit for a whole process tree, through a cgroup made for one sandboxed process.
//!
//! `RLIMIT_AS` cannot hold training back: CUDA reserves far more address space than it uses,
//! and a limit per process says nothing about a tree. A cgroup counts the memory of every
//! process in it, whatever it maps. The harness makes a child of its own memory cgroup (v1:
//! `memory.limit_in_bytes`, with swap capped too where the kernel accounts it; v2: `memory.max`
//! and `memory.swap.max`), and the sandbox's outermost process joins it before it starts
//! bubblewrap (`join_command`), so everything inside is counted from its first byte. When the
//! machine gives the harness no writable memory cgroup (not root, no delegation), `create` says
//! so and the caller decides: the sandbox then runs without a memory limit and says so once.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Which cgroup interface the memory controller is reached through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// A cgroup with a memory limit, removed when dropped.
#[derive(Debug)]
pub struct MemoryCgroup {
    dir: PathBuf,
    version: Version,
    limit: u64,
}

/// Why there is no memory cgroup here.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("no memory cgroup controller is mounted")]
    NoController,
    #[error("could not make a memory cgroup in {dir} ({source}); run as root, or delegate a cgroup to this user")]
    NotWritable {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl MemoryCgroup {
    /// Makes a fresh cgroup under the harness's own memory cgroup, limited to `limit` bytes.
    pub fn create(limit: u64) -> Result<MemoryCgroup, CgroupError> {
        let (parent, version) = own_memory_cgroup().ok_or(CgroupError::NoController)?;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = parent.join(format!(
            "harness-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let not_writable = |source| CgroupError::NotWritable {
            dir: parent.clone(),
            source,
        };
        fs::create_dir(&dir).map_err(not_writable)?;
        let cgroup = MemoryCgroup {
            dir,
            version,
            limit,
        };
        cgroup.set_limit().map_err(not_writable)?;
        Ok(cgroup)
    }

    fn set_limit(&self) -> io::Result<()> {
        let limit = self.limit.to_string();
        match self.version {
            Version::V1 => {
                fs::write(self.dir.join("memory.limit_in_bytes"), &limit)?;
                // Memory plus swap, where the kernel accounts swap: the same figure, no swap.
                let memsw = self.dir.join("memory.memsw.limit_in_bytes");
                if memsw.exists() {
                    fs::write(memsw, &limit)?;
                }
                Ok(())
            }
            Version::V2 => {
                fs::write(self.dir.join("memory.max"), &limit)?;
                let swap = self.dir.join("memory.swap.max");
                if swap.exists() {
                    fs::write(swap, "0")?;
                }
                Ok(())
            }
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The file a process writes its own pid (or `0`, meaning itself) into to join.
    pub fn procs_file(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// The command words that make the process join this cgroup, then `exec` the rest of the
    /// command line (`"$@"`): `sh -c 'echo 0 > PROCS && exec "$@"' sh`.
    pub fn join_command(&self) -> Vec<String> {
        vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            format!(
                "echo 0 > '{}' && exec \"$@\"",
                self.procs_file()
                    .display()
                    .to_string()
                    .replace('\'', "'\\''")
            ),
            "sh".to_string(),
        ]
    }

    /// Whether the kernel killed a process of this cgroup for going over the limit.
    pub fn oom_killed(&self) -> bool {
        match self.version {
            // `oom_kill N` appeared in 4.13. Failed charges (`memory.failcnt`) are no stand-in:
            // page cache reclaimed at the limit counts there too, with nothing killed.
            Version::V1 => {
                read_key(&self.dir.join("memory.oom_control"), "oom_kill").is_some_and(|n| n > 0)
            }
            Version::V2 => {
                read_key(&self.dir.join("memory.events"), "oom_kill").is_some_and(|n| n > 0)
            }
        }
    }

    /// The most memory the tree used at once, where the kernel reports it.
    pub fn peak_bytes(&self) -> Option<u64> {
        match self.version {
            Version::V1 => read_number(&self.dir.join("memory.max_usage_in_bytes")),
            Version::V2 => read_number(&self.dir.join("memory.peak")),
        }
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        // Empty once the sandbox is gone (the supervisor kills the whole tree first). A
        // leftover is an empty folder the kernel frees on the next boot; nothing to report.
        if let Err(error) = fs::remove_dir(&self.dir) {
            tracing::debug!("could not remove {}: {error}", self.dir.display());
        }
    }
}

/// Whether a memory limit can be enforced here: a cgroup made and removed again.
pub fn memory_limit_available() -> Result<(), CgroupError> {
    MemoryCgroup::create(u64::MAX >> 1).map(drop)
}

/// The folder of this process's memory cgroup, and the interface it is reached through.
fn own_memory_cgroup() -> Option<(PathBuf, Version)> {
    let cgroups = fs::read_to_string("/proc/self/cgroup").ok()?;
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
    find_memory_cgroup(&cgroups, &mountinfo)
}

/// `/proc/self/cgroup` and `/proc/self/mountinfo` to the memory cgroup's folder: a v1
/// hierarchy with the `memory` controller first, else the v2 one if it offers `memory`.
fn find_memory_cgroup(cgroups: &str, mountinfo: &str) -> Option<(PathBuf, Version)> {
    let mounts: Vec<Mount> = mountinfo.lines().filter_map(Mount::parse).collect();
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        if controllers.split(',').any(|c| c == "memory") {
            let mount = mounts
                .iter()
                .find(|m| m.fs_type == "cgroup" && m.options.split(',').any(|o| o == "memory"))?;
            return Some((mount.resolve(path)?, Version::V1));
        }
    }
    let path = cgroups.lines().find_map(|l| l.strip_prefix("0::"))?;
    let mount = mounts.iter().find(|m| m.fs_type == "cgroup2")?;
    let dir = mount.resolve(path)?;
    let controllers = fs::read_to_string(dir.join("cgroup.controllers")).ok()?;
    controllers
        .split_whitespace()
        .any(|c| c == "memory")
        .then_some((dir, Version::V2))
}

/// One line of `/proc/self/mountinfo`, the fields used here.
struct Mount {
    /// The folder of the filesystem mounted (for a cgroup: the cgroup it starts at).
    root: String,
    mount_point: PathBuf,
    fs_type: String,
    /// The superblock options (for cgroup v1: the controllers).
    options: String,
}

impl Mount {
    fn parse(line: &str) -> Option<Mount> {
        let (before, after) = line.split_once(" - ")?;
        let fields: Vec<&str> = before.split(' ').collect();
        let rest: Vec<&str> = after.split(' ').collect();
        Some(Mount {
            root: fields.get(3)?.to_string(),
            mount_point: PathBuf::from(fields.get(4)?),
            fs_type: rest.first()?.to_string(),
            options: rest.get(2).unwrap_or(&"").to_string(),
        })
    }

    /// Where the cgroup `path` (as `/proc/self/cgroup` gives it) is under this mount.
    fn resolve(&self, path: &str) -> Option<PathBuf> {
        let relative = Path::new(path).strip_prefix(&self.root).ok()?;
        Some(self.mount_point.join(relative))
    }
}

fn read_number(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The number after `key` in a `key value` per line file.
fn read_key(path: &Path, key: &str) -> Option<u64> {
    fs::read_to_string(path).ok()?.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then(|| value.trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:36 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn a_v1_memory_hierarchy_is_found_from_the_process_own_cgroup() {
        let cgroups = "9:name=systemd:/\n4:memory:/jobs/abc\n1:cpu:/\n0::/\n";
        let (dir, version) = find_memory_cgroup(cgroups, MOUNTINFO).unwrap();
        assert_eq!(dir, PathBuf::from("/sys/fs/cgroup/memory/jobs/abc"));
        assert_eq!(version, Version::V1);
    }

    #[test]
    fn a_mount_of_a_sub_cgroup_is_resolved_relative_to_its_root() {
        let mountinfo = "35 31 0:31 /jobs /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        let (dir, _) = find_memory_cgroup("4:memory:/jobs/abc\n", mountinfo).unwrap();
        assert_eq!(dir, PathBuf::from("/sys/fs/cgroup/memory/abc"));
    }

    #[test]
    fn without_a_memory_controller_there_is_none() {
        let mountinfo = "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
        assert!(find_memory_cgroup("1:cpu:/\n", mountinfo).is_none());
    }

    #[test]
    fn the_join_command_quotes_the_path() {
        let cgroup = MemoryCgroup {
            dir: PathBuf::from("/cg/it's"),
            version: Version::V1,
            limit: 1,
        };
        let words = cgroup.join_command();
        assert_eq!(
            words[2],
            "echo 0 > '/cg/it'\\''s/cgroup.procs' && exec \"$@\""
        );
    }

    fn run_in(cgroup: &MemoryCgroup, script: &str) -> crate::exec::ProcessOutput {
        let words = cgroup.join_command();
        let mut spec = crate::exec::ProcessSpec::new(&words[0], std::env::temp_dir());
        for word in words[1..]
            .iter()
            .map(String::as_str)
            .chain(["sh", "-c", script])
        {
            spec = spec.arg(word);
        }
        crate::exec::run_process(&spec.inherit(["PATH"])).unwrap()
    }

    /// Where this machine lets the harness make a memory cgroup (root here), a process that
    /// holds more than the limit is killed and the kill is seen; elsewhere it says why not.
    #[test]
    fn a_tree_over_its_memory_limit_is_killed_and_the_kill_is_seen() {
        let cgroup = match MemoryCgroup::create(32 << 20) {
            Ok(cgroup) => cgroup,
            Err(error) => {
                crate::test_skip::skip(
                    crate::test_skip::Needs::MemoryCgroup,
                    format!("no memory cgroup for the harness: {error}"),
                );
                return;
            }
        };
        // `tail -n 1` keeps the line it has not finished in memory: 256 MiB with no newline.
        let hog = run_in(
            &cgroup,
            "head -c 268435456 /dev/zero | tail -n 1 >/dev/null",
        );
        assert!(!hog.success(), "{hog:?}");
        assert!(cgroup.oom_killed(), "the kernel's count shows the kill");
        assert!(cgroup.peak_bytes().is_some_and(|p| p <= 32 << 20));

        let calm = MemoryCgroup::create(32 << 20).unwrap();
        let fine = run_in(&calm, "head -c 1048576 /dev/zero | tail -n 1 >/dev/null");
        assert!(fine.success(), "{fine:?}");
        assert!(!calm.oom_killed());
    }
}
