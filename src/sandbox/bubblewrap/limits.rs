//! A phase's limits, lowered to the harness's own hard limits where those are lower.

use crate::sandbox::policy::Limits;

/// `limits`, each lowered to the harness's own hard limit where that is lower: without
/// capabilities, `prlimit` inside the sandbox may lower a limit but never raise one.
pub(super) fn within_own_limits(limits: &Limits) -> Limits {
    let hard = |resource, wanted: Option<u64>| -> Option<u64> {
        let mut current = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes one rlimit through a valid pointer.
        if unsafe { libc::getrlimit(resource, &mut current) } != 0
            || current.rlim_max == libc::RLIM_INFINITY
        {
            return wanted;
        }
        Some(wanted.map_or(current.rlim_max, |w| w.min(current.rlim_max)))
    };
    Limits {
        address_space: hard(libc::RLIMIT_AS, limits.address_space),
        cpu_seconds: hard(libc::RLIMIT_CPU, limits.cpu_seconds.map(|s| s + 5)).map(|s| {
            // The soft limit leaves 5 s to the hard one (SIGXCPU first, then SIGKILL).
            s.saturating_sub(5).max(1)
        }),
        processes: hard(libc::RLIMIT_NPROC, limits.processes),
        file_size: hard(libc::RLIMIT_FSIZE, limits.file_size),
        open_files: hard(libc::RLIMIT_NOFILE, limits.open_files),
        ..*limits
    }
}
