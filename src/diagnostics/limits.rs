//! What a breached limit of the harness is charged as: the program's error, or a harness limit.
//!
//! The rules are `docs/methodology.md`'s L1 and L2. A build that runs out of time or disk is a
//! harness limit (`infra-limit`): how long a build takes and what it writes depend on the
//! machine, the dependency set and the build cache, none of which the LLM chose or sees. A
//! program that writes past its disk limit is charged as `out-of-disk` only when the limit is
//! at least [`CLEAR_MARGIN`] times what the task's outputs can need: then it clearly wrote
//! what the task does not allow. Otherwise the limit was too tight for the task, and the harness
//! takes the blame. L3 applies the same margin to a smoke run's time and memory limits, against
//! what the target's reference program needs for its smoke run.

use std::time::Duration;

use crate::taxonomy::{Category, ErrorRecord};

/// How many times what the task's outputs need a disk limit must allow for a breach of it to
/// be the program's.
pub const CLEAR_MARGIN: u64 = 10;

fn mib(bytes: u64) -> u64 {
    bytes >> 20
}

/// A record whose rendered text is its message (it is what the user and, for the program's
/// own errors, the LLM read).
fn record(category: Category, message: String) -> ErrorRecord {
    let mut error = ErrorRecord::new(category, message);
    error.rendered = Some(error.message.clone());
    error
}

/// A build stopped at its time limit: a harness limit, never the LLM's error (L1).
pub fn build_timed_out(limit: Duration) -> ErrorRecord {
    record(
        Category::InfraLimit,
        format!(
            "the build did not finish within the harness's time limit for builds ({} s); a harness limit, not charged to the LLM",
            limit.as_secs()
        ),
    )
}

/// A build whose writable folders grew past the sandbox's disk limit: a harness limit (L1).
pub fn build_out_of_disk(grown: u64, limit: u64) -> ErrorRecord {
    record(
        Category::InfraLimit,
        format!(
            "the build wrote {} MiB, more than the sandbox's disk limit for builds ({} MiB, out of disk quota); a harness limit, not charged to the LLM",
            mib(grown),
            mib(limit)
        ),
    )
}

/// A program whose writable folders grew by `grown` bytes, past the sandbox's `limit`, on a
/// task whose outputs need at most `task_needs` bytes (L2): `out-of-disk` when the limit is at
/// least [`CLEAR_MARGIN`] times that, else a harness limit.
pub fn program_out_of_disk(grown: u64, limit: u64, task_needs: u64) -> ErrorRecord {
    if limit >= task_needs.saturating_mul(CLEAR_MARGIN) {
        record(
            Category::OutOfDisk,
            format!(
                "the program wrote {} MiB to disk, more than the sandbox allows ({} MiB, out of disk quota); the task's outputs need at most {} MiB",
                mib(grown),
                mib(limit),
                mib(task_needs).max(1)
            ),
        )
    } else {
        record(
            Category::InfraLimit,
            format!(
                "the program wrote {} MiB to disk and reached the sandbox's disk limit ({} MiB, out of disk quota), less than {CLEAR_MARGIN} times the {} MiB the task's outputs may need; a harness limit, not charged to the LLM",
                mib(grown),
                mib(limit),
                mib(task_needs).max(1)
            ),
        )
    }
}

/// The most a target's smoke run needs, measured on its reference program (L3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmokeNeeds {
    /// Wall-clock seconds.
    pub seconds: u64,
    /// Memory, bytes.
    pub memory: u64,
}

/// The limits a smoke run ran under, as far as they bind (L3): the lower of its wall-clock and
/// CPU-time limits, and its memory limit (the cgroup's, else the address space), if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmokeLimits {
    pub seconds: u64,
    pub memory: Option<u64>,
}

impl SmokeLimits {
    /// The limits that bind a process with wall-clock limit `wall` under the sandbox's `limits`
    /// (none when it runs unconfined).
    pub fn of(wall: Duration, limits: Option<&crate::sandbox::Limits>) -> SmokeLimits {
        let cpu = limits.and_then(|l| l.cpu_seconds).unwrap_or(u64::MAX);
        SmokeLimits {
            seconds: wall.as_secs().min(cpu),
            memory: limits.and_then(|l| l.memory.or(l.address_space)),
        }
    }

    /// The limits a process of `phase` with wall-clock limit `wall` runs under in `isolation`.
    pub fn under(
        isolation: &crate::sandbox::Isolation,
        wall: Duration,
        phase: crate::sandbox::Phase,
    ) -> SmokeLimits {
        let limits = isolation.sandbox().map(|s| s.effective_limits(phase));
        SmokeLimits::of(wall, limits.as_ref())
    }
}

/// A smoke run's `timeout` or `out-of-memory` stays the program's only when the limit it hit is
/// at least [`CLEAR_MARGIN`] times what the task's smoke run needs (L3); below that margin it is
/// a harness limit, `infra-limit`, with the same rendered text. Any other error is returned as
/// it was. A memory kill with no known limit (the machine itself ran out) stays the program's.
pub fn smoke_limit_breach(
    error: ErrorRecord,
    limits: SmokeLimits,
    needs: SmokeNeeds,
) -> ErrorRecord {
    let (what, limit, need, unit) = match error.category {
        Category::Timeout => ("time", limits.seconds, needs.seconds, "s"),
        Category::OutOfMemory => match limits.memory {
            Some(limit) => ("memory", mib(limit), mib(needs.memory), "MiB"),
            None => return error,
        },
        _ => return error,
    };
    if limit >= need.saturating_mul(CLEAR_MARGIN) {
        return error;
    }
    let mut breach = ErrorRecord::new(
        Category::InfraLimit,
        format!(
            "the smoke run reached the harness's {what} limit ({limit} {unit}), less than {CLEAR_MARGIN} times the {need} {unit} the task's smoke run needs ({}); a harness limit, not charged to the LLM",
            error.message
        ),
    );
    breach.rendered = error.rendered;
    breach
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn a_build_that_runs_out_of_time_or_disk_is_a_harness_limit() {
        let timeout = build_timed_out(Duration::from_secs(120));
        assert_eq!(timeout.category, Category::InfraLimit);
        assert!(!timeout.category.charged_to_llm());
        assert!(
            timeout.message.contains("did not finish within") && timeout.message.contains("120 s"),
            "{}",
            timeout.message
        );
        let disk = build_out_of_disk(5000 * MIB, 4096 * MIB);
        assert_eq!(disk.category, Category::InfraLimit);
        assert!(disk.message.contains("5000 MiB"), "{}", disk.message);
        assert_eq!(disk.rendered.as_deref(), Some(disk.message.as_str()));
    }

    #[test]
    fn a_disk_breach_is_the_programs_only_when_the_limit_is_clearly_beyond_the_task() {
        // rust-tiny: a one-line summary, a 1 GiB limit.
        let clear = program_out_of_disk(1100 * MIB, 1024 * MIB, MIB);
        assert_eq!(clear.category, Category::OutOfDisk);
        assert!(clear.category.charged_to_llm());
        assert!(clear.message.contains("1100 MiB"), "{}", clear.message);
        // Exactly ten times is still clear; below it the limit is the harness's fault.
        let at_margin = program_out_of_disk(1001 * MIB, 1000 * MIB, 100 * MIB);
        assert_eq!(at_margin.category, Category::OutOfDisk);
        let tight = program_out_of_disk(1001 * MIB, 1000 * MIB, 101 * MIB);
        assert_eq!(tight.category, Category::InfraLimit);
        assert!(!tight.category.charged_to_llm());
        assert!(tight.message.contains("not charged"), "{}", tight.message);
    }

    #[test]
    fn a_smoke_timeout_or_memory_kill_is_the_programs_only_past_the_margin() {
        let needs = SmokeNeeds {
            seconds: 60,
            memory: 1024 * MIB,
        };
        let timeout = || ErrorRecord::new(Category::Timeout, "did not finish");
        let oom = || ErrorRecord::new(Category::OutOfMemory, "killed");
        let roomy = SmokeLimits {
            seconds: 600,
            memory: Some(10 * 1024 * MIB),
        };
        assert_eq!(
            smoke_limit_breach(timeout(), roomy, needs).category,
            Category::Timeout
        );
        assert_eq!(
            smoke_limit_breach(oom(), roomy, needs).category,
            Category::OutOfMemory
        );
        let tight = SmokeLimits {
            seconds: 599,
            memory: Some(10 * 1024 * MIB - MIB),
        };
        let slow = smoke_limit_breach(timeout(), tight, needs);
        assert_eq!(slow.category, Category::InfraLimit);
        assert!(
            slow.message.contains("time limit (599 s)") && slow.message.contains("60 s"),
            "{}",
            slow.message
        );
        let big = smoke_limit_breach(oom(), tight, needs);
        assert_eq!(big.category, Category::InfraLimit);
        assert!(big.message.contains("10239 MiB"), "{}", big.message);
        // No limit known: the machine ran out, the program's as before; other errors untouched.
        let unlimited = SmokeLimits {
            seconds: 10,
            memory: None,
        };
        assert_eq!(
            smoke_limit_breach(oom(), unlimited, needs).category,
            Category::OutOfMemory
        );
        let panic = ErrorRecord::new(Category::PanicOther, "boom");
        assert_eq!(smoke_limit_breach(panic.clone(), tight, needs), panic);
    }

    #[test]
    fn smoke_limits_take_the_lower_of_wall_and_cpu_time_and_the_cgroup_before_the_address_space() {
        let mut limits = crate::sandbox::Limits::for_phase(crate::sandbox::Phase::Run);
        limits.cpu_seconds = Some(120);
        limits.address_space = Some(4096 * MIB);
        limits.memory = None;
        let of = SmokeLimits::of(Duration::from_secs(10), Some(&limits));
        assert_eq!((of.seconds, of.memory), (10, Some(4096 * MIB)));
        limits.memory = Some(2048 * MIB);
        let of = SmokeLimits::of(Duration::from_secs(900), Some(&limits));
        assert_eq!((of.seconds, of.memory), (120, Some(2048 * MIB)));
        let unconfined = SmokeLimits::of(Duration::from_secs(900), None);
        assert_eq!((unconfined.seconds, unconfined.memory), (900, None));
    }
}
