//! A bubblewrap command line under construction: its arguments, and the mounts in an order
//! bubblewrap accepts (the parents of each mount point made first, with mode 0755).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// A bubblewrap command line under construction, which knows which folders exist inside.
#[derive(Default)]
pub(super) struct Line {
    pub(super) args: Vec<OsString>,
    /// Host folders bound inside: everything below them exists already.
    bound: Vec<PathBuf>,
    /// Folders made inside (tmpfs mount points, parents made with mode 0755).
    pub(super) made: Vec<PathBuf>,
}

impl Line {
    pub(super) fn push(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Makes the parents of `dest` that will not exist inside, with mode 0755.
    fn parents(&mut self, dest: &Path) {
        let mut parents: Vec<&Path> = dest.ancestors().skip(1).collect();
        parents.reverse();
        for parent in parents {
            if parent == Path::new("/")
                || self.made.iter().any(|m| m == parent)
                || self.bound.iter().any(|b| parent.starts_with(b))
            {
                continue;
            }
            self.push("--perms").push("0755").push("--dir").push(parent);
            self.made.push(parent.to_path_buf());
        }
    }

    pub(super) fn bind(&mut self, how: &str, path: &Path) {
        self.bind_to(how, path, path);
    }

    pub(super) fn bind_to(&mut self, how: &str, source: &Path, dest: &Path) {
        self.parents(dest);
        self.push(how).push(source).push(dest);
        self.bound.push(dest.to_path_buf());
    }

    /// A tmpfs anyone inside may write (sticky, like `/tmp`), of `size` bytes.
    pub(super) fn tmpfs(&mut self, dest: &str, size: u64) {
        let dest = Path::new(dest);
        self.parents(dest);
        self.push("--perms")
            .push("01777")
            .push("--size")
            .push(size.to_string())
            .push("--tmpfs")
            .push(dest);
        self.made.push(dest.to_path_buf());
    }

    /// `/usr` read-only, and `/bin`, `/sbin`, `/lib*` as the host has them (links or folders).
    pub(super) fn system_dirs(&mut self) {
        self.bind("--ro-bind", Path::new("/usr"));
        for dir in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
            let path = Path::new(dir);
            match std::fs::symlink_metadata(path) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    if let Ok(target) = std::fs::read_link(path) {
                        self.push("--symlink").push(target).push(path);
                    }
                }
                Ok(meta) if meta.is_dir() => self.bind("--ro-bind", path),
                _ => {}
            }
        }
    }

    /// The pieces of `/etc` that the dynamic loader, `cc` and the linker read, and fontconfig's
    /// configuration (plotting libraries find fonts through it: without it matplotlib's font
    /// cache prints `Fontconfig error: Cannot load default config file` into every Python
    /// program's errors, which misled an LLM into fixing fonts). Not `passwd`, not `hosts`, not
    /// `resolv.conf`: nothing the build needs, nothing about the machine.
    pub(super) fn etc(&mut self) {
        self.push("--perms").push("0755").push("--dir").push("/etc");
        self.made.push(PathBuf::from("/etc"));
        for piece in [
            "/etc/ld.so.cache",
            "/etc/ld.so.conf",
            "/etc/ld.so.conf.d",
            "/etc/alternatives",
            "/etc/fonts",
        ] {
            self.push("--ro-bind-try").push(piece).push(piece);
        }
    }
}
