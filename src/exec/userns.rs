//! A user namespace that maps one id onto another, held by a file descriptor: what an idmapped
//! mount is made with (the sandbox shows the shared build cache owned by the build's own uid).
//!
//! Only a process can create a user namespace, and a threaded one cannot enter a new one, so a
//! short-lived child does it: it is forked here (this module is the only place that spawns),
//! unshares its user namespace, says so through a pipe and waits; the parent writes the id
//! maps, opens the namespace, and lets the child exit. Between fork and exit the child calls
//! only `close`, `unshare`, `read`, `write` and `_exit`, which are async-signal-safe.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A user namespace whose id `inside` (uid and gid) is `outside` on the host, and no other id
/// mapped. Needs the right to write another user's id maps (root).
pub fn id_map_namespace(inside: u32, outside: u32) -> io::Result<OwnedFd> {
    let (ready_read, ready_write) = pipe()?;
    let (go_read, go_write) = pipe()?;
    // SAFETY: the child runs only async-signal-safe calls on file descriptors it owns, then
    // `_exit`s; it touches no lock, allocates nothing and never returns into Rust code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: see above; the descriptors are valid in the child, a copy of the parent.
        unsafe {
            libc::close(ready_read.as_raw_fd());
            libc::close(go_write.as_raw_fd());
            let ok: u8 = u8::from(libc::unshare(libc::CLONE_NEWUSER) == 0);
            libc::write(ready_write.as_raw_fd(), (&ok as *const u8).cast(), 1);
            let mut byte = 0u8;
            // Returns at end of file: the parent is done with the namespace.
            libc::read(go_read.as_raw_fd(), (&mut byte as *mut u8).cast(), 1);
            libc::_exit(0);
        }
    }
    drop(ready_write);
    drop(go_read);
    let result = map_and_open(pid, &ready_read, inside, outside);
    // Closing the pipe's last write end lets the child go; then it is reaped.
    drop(go_write);
    let mut status = 0;
    // SAFETY: waits for our own child, writing its status into a valid integer.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    result
}

fn map_and_open(
    pid: libc::pid_t,
    ready: &OwnedFd,
    inside: u32,
    outside: u32,
) -> io::Result<OwnedFd> {
    let mut ok = 0u8;
    // SAFETY: reads one byte into a valid buffer from a descriptor we own.
    let read = unsafe { libc::read(ready.as_raw_fd(), (&mut ok as *mut u8).cast(), 1) };
    if read != 1 || ok != 1 {
        return Err(io::Error::other(
            "the helper process could not create a user namespace",
        ));
    }
    let map = format!("{inside} {outside} 1\n");
    std::fs::write(format!("/proc/{pid}/uid_map"), &map)?;
    std::fs::write(format!("/proc/{pid}/gid_map"), &map)?;
    Ok(OwnedFd::from(File::open(format!("/proc/{pid}/ns/user"))?))
}

/// A close-on-exec pipe: (read end, write end).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into a valid array of two.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_namespace_maps_exactly_the_one_id() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            let error = id_map_namespace(0, 1_600_000_321).unwrap_err();
            eprintln!("not root, refused as expected: {error}");
            return;
        }
        let fd = id_map_namespace(0, 1_600_000_321).unwrap();
        // The namespace is alive as long as the descriptor: its maps are readable through it.
        let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
        assert!(link.to_string_lossy().starts_with("user:["), "{link:?}");
        let own = std::fs::read_link("/proc/self/ns/user").unwrap();
        assert_ne!(link, own, "a new namespace, not ours");
    }
}
