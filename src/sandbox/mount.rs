//! The kernel calls behind a copy-on-write layer: a private mount namespace for the calling
//! thread, a read-only idmapped clone of the shared folder, and an overlay on top of it.
//!
//! Layer folders are named by `/proc/self/fd/N` of descriptors opened here, so that no path
//! goes into the overlay's option string (where `,` and `:` are separators).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

// From <linux/mount.h>; the libc crate has the syscall numbers but not these.
const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// `struct mount_attr` (the first version, 32 bytes).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// A kernel call that failed: which one, and why.
#[derive(Debug, thiserror::Error)]
#[error("{step}")]
pub(crate) struct MountError {
    pub step: &'static str,
    #[source]
    pub source: io::Error,
}

fn check(step: &'static str, result: libc::c_long) -> Result<libc::c_long, MountError> {
    if result < 0 {
        return Err(MountError {
            step,
            source: io::Error::last_os_error(),
        });
    }
    Ok(result)
}

fn c_path(step: &'static str, path: &Path) -> Result<CString, MountError> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| MountError {
        step,
        source: io::Error::other("the path holds a NUL byte"),
    })
}

/// Moves the calling thread (and the processes it starts from now on) into a mount namespace
/// of its own, whose mounts never propagate back to the host's. Other threads keep theirs.
pub(crate) fn enter_private_mount_namespace() -> Result<(), MountError> {
    // SAFETY: unshare and mount take no pointers but the constant strings below.
    unsafe {
        check(
            "unshare the mount namespace",
            libc::unshare(libc::CLONE_NEWNS).into(),
        )?;
        check(
            "make every mount private",
            libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            )
            .into(),
        )?;
    }
    Ok(())
}

/// A folder opened as a handle for mount calls, without following a link.
fn open_dir(step: &'static str, path: &Path) -> Result<OwnedFd, MountError> {
    let c = c_path(step, path)?;
    // SAFETY: open with a valid NUL-terminated path; the result is checked.
    let fd = check(step, unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
        .into()
    })?;
    // SAFETY: a fresh descriptor, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

fn proc_fd(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// Mounts at `merged` an overlay whose lower layer is `base` seen through `userns` (ids mapped
/// as it says) and read-only, attached at `lower`; writes go to `upper` (with `work`, on the
/// same filesystem). Must run after `enter_private_mount_namespace`, on the same thread.
pub(crate) fn mount_overlay(
    base: &Path,
    userns: &OwnedFd,
    lower: &Path,
    upper: &Path,
    work: &Path,
    merged: &Path,
) -> Result<(), MountError> {
    let base = c_path("name the shared folder", base)?;
    // SAFETY: open_tree with a valid path; the descriptor is checked, then owned here.
    let tree = check("clone the shared folder's mount", unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            base.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
        )
    })?;
    // SAFETY: a fresh descriptor, owned by nobody else.
    let tree = unsafe { OwnedFd::from_raw_fd(tree as libc::c_int) };
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    // SAFETY: mount_setattr reads one `MountAttr` of the size given; the path is empty.
    check("map the shared folder's owner (idmapped mount)", unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })?;
    let lower = open_dir("open the lower layer's mount point", lower)?;
    // SAFETY: move_mount between two valid descriptors, both paths empty.
    check("attach the read-only clone", unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            lower.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    })?;
    let upper = open_dir("open the upper layer", upper)?;
    let work = open_dir("open the overlay's work folder", work)?;
    let merged = open_dir("open the overlay's mount point", merged)?;
    // `tree` now names the attached, idmapped, read-only clone.
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        proc_fd(&tree),
        proc_fd(&upper),
        proc_fd(&work)
    );
    let options = CString::new(options).unwrap_or_default();
    let target = CString::new(proc_fd(&merged)).unwrap_or_default();
    // SAFETY: mount with valid NUL-terminated strings.
    check("mount the overlay", unsafe {
        libc::mount(
            c"overlay".as_ptr(),
            target.as_ptr(),
            c"overlay".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            options.as_ptr().cast(),
        )
        .into()
    })?;
    Ok(())
}
