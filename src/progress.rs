//! Progress on stderr: the LLM, the iteration and the phase; silent when stderr is no terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::session::Phase;

/// A spinner line for one session.
pub struct Progress {
    bar: Option<ProgressBar>,
    llm: String,
    max_iterations: u32,
}

impl Progress {
    pub fn new(llm: &str, max_iterations: u32) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            llm: llm.to_string(),
            max_iterations,
        }
    }

    pub fn update(&self, iteration: u32, phase: Phase) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "{} · iteration {iteration}/{} · {phase}",
                self.llm, self.max_iterations
            ));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
