//! Progress of runs on stderr: a spinner line per run on a terminal, and one plain line per
//! event otherwise (a CI log, `nohup`, a pipe), so that long work never goes silent.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::session::Phase;

/// The runs of one invocation: one spinner line each on a terminal.
#[derive(Clone)]
pub struct ProgressGroup {
    multi: Option<MultiProgress>,
    started: Instant,
}

impl ProgressGroup {
    /// Spinners when stderr is a terminal, plain lines otherwise.
    pub fn stderr() -> Self {
        ProgressGroup {
            multi: std::io::stderr()
                .is_terminal()
                .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            started: Instant::now(),
        }
    }

    /// The progress of one run, labelled (the LLM and repeat, say).
    pub fn run(&self, label: &str, max_iterations: u32) -> Progress {
        let bar = self.multi.as_ref().map(|multi| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message(format!("{label} · starting"));
            bar
        });
        Progress {
            bar,
            label: label.to_string(),
            max_iterations,
            started: self.started,
        }
    }

    /// A line above the spinners (or just a line): a run's result, a warning.
    pub fn println(&self, line: &str) {
        match &self.multi {
            Some(multi) => {
                if multi.println(line).is_err() {
                    eprintln!("{line}");
                }
            }
            None => eprintln!("{line}"),
        }
    }
}

/// The progress of one run.
pub struct Progress {
    bar: Option<ProgressBar>,
    label: String,
    max_iterations: u32,
    started: Instant,
}

impl Progress {
    /// One run on its own.
    pub fn new(label: &str, max_iterations: u32) -> Self {
        ProgressGroup::stderr().run(label, max_iterations)
    }

    pub fn update(&self, iteration: u32, phase: Phase) {
        let message = format!(
            "{} · iteration {iteration}/{} · {phase}",
            self.label, self.max_iterations
        );
        match &self.bar {
            Some(bar) => bar.set_message(message),
            None => eprintln!("[{}] {message}", clock(self.started.elapsed())),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Elapsed time as `m:ss` (or `h:mm:ss`).
fn clock(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs();
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_reads_minutes_and_hours() {
        assert_eq!(clock(Duration::from_secs(5)), "0:05");
        assert_eq!(clock(Duration::from_secs(125)), "2:05");
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
    }
}
