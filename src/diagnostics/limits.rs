//! What a breached limit of the harness is charged as: the program's error, or a harness limit.
//!
//! The rules are `docs/methodology.md`'s L1 and L2. A build that runs out of time or disk is a
//! harness limit (`infra-limit`): how long a build takes and what it writes depend on the
//! machine, the dependency set and the build cache, none of which the LLM chose or sees. A
//! program that writes past its disk limit is charged as `out-of-disk` only when the limit is
//! at least [`CLEAR_MARGIN`] times what the task's outputs can need: then it clearly wrote
//! what the task does not allow. Otherwise the limit was too tight for the task, and the harness
//! takes the blame.

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
}
