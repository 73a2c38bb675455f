//! Ctrl-C during `generate`: say which runs were interrupted and how to resume them, then exit 130.
//!
//! Every event of a run is on disk before the next step starts, so stopping at any point loses
//! nothing recorded; what a user needs is the command that takes the run up again. The handler
//! only does what is safe inside a signal handler: it writes a message prepared beforehand and
//! exits. The message is swapped atomically whenever the set of running runs changes.

use std::sync::atomic::{AtomicPtr, Ordering};

/// The message the handler writes: a leaked, never-freed buffer (a few per invocation).
static MESSAGE: AtomicPtr<Vec<u8>> = AtomicPtr::new(std::ptr::null_mut());

/// The exit status of a process stopped by SIGINT, as shells report it.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Installs the handler for SIGINT and SIGTERM (once is enough; again is harmless).
pub fn install() {
    // SAFETY: `handle` only loads an atomic pointer, calls write(2) and _exit(2), which are
    // async-signal-safe; the buffer it reads is leaked and never freed or mutated.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handle as *const () as usize;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
        libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut());
    }
}

/// What to tell the user if the process is interrupted now.
pub fn set_message(message: String) {
    let leaked = Box::into_raw(Box::new(message.into_bytes()));
    // The previous buffer stays allocated: the handler may be reading it right now.
    MESSAGE.store(leaked, Ordering::SeqCst);
}

/// The message for these unfinished runs (run folders or ids).
pub fn resume_message(runs: &[String]) -> String {
    if runs.is_empty() {
        return "\ninterrupted before any run started; nothing was recorded\n".to_owned();
    }
    let mut text = String::from(
        "\ninterrupted: every recorded step is on disk; to go on where each run stopped:\n",
    );
    for run in runs {
        text.push_str(&format!("  harness generate --resume {run}\n"));
    }
    text
}

extern "C" fn handle(_signal: libc::c_int) {
    let message = MESSAGE.load(Ordering::SeqCst);
    // SAFETY: a non-null pointer came from `Box::into_raw` in `set_message` and is never freed.
    unsafe {
        if !message.is_null() {
            let bytes = &*message;
            libc::write(2, bytes.as_ptr().cast(), bytes.len());
        }
        libc::_exit(EXIT_INTERRUPTED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_each_run_to_resume() {
        let text = resume_message(&["harness-runs/a".into(), "harness-runs/b".into()]);
        assert!(text.contains("harness generate --resume harness-runs/a\n"));
        assert!(text.contains("harness generate --resume harness-runs/b\n"));
        assert!(resume_message(&[]).contains("nothing was recorded"));
    }
}
