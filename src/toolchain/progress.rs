//! Progress of provisioning on stderr: a byte bar for downloads, spinners for the rest. Quiet
//! when stderr is not a terminal (each step is then only logged at `info`).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where the steps of a setup show their progress.
#[derive(Debug, Clone)]
pub struct SetupProgress {
    multi: Option<MultiProgress>,
}

impl SetupProgress {
    /// Bars on stderr when it is a terminal, nothing otherwise.
    pub fn stderr() -> Self {
        if std::io::stderr().is_terminal() {
            SetupProgress {
                multi: Some(MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            }
        } else {
            Self::hidden()
        }
    }

    /// No bars at all (tests, callers with their own display).
    pub fn hidden() -> Self {
        SetupProgress { multi: None }
    }

    /// A bar counting bytes towards `total`.
    pub fn bytes(&self, message: &str, total: u64) -> Step {
        tracing::info!("{message}");
        self.add(message, ProgressBar::new(total), BYTES_TEMPLATE)
    }

    /// A bar counting items (packages, files) towards `total`.
    pub fn count(&self, message: &str, total: u64) -> Step {
        tracing::info!("{message}");
        self.add(message, ProgressBar::new(total), COUNT_TEMPLATE)
    }

    /// A spinner for work of unknown length.
    pub fn spinner(&self, message: &str) -> Step {
        tracing::info!("{message}");
        self.add(message, ProgressBar::new_spinner(), SPINNER_TEMPLATE)
    }

    fn add(&self, message: &str, bar: ProgressBar, template: &str) -> Step {
        let Some(multi) = &self.multi else {
            return Step { bar: None };
        };
        let bar = multi.add(bar);
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Step { bar: Some(bar) }
    }
}

// Decimal units, as in the summary at the end.
const BYTES_TEMPLATE: &str = concat!(
    "{spinner} {elapsed:>4} {msg} [{bar:30}] ",
    "{decimal_bytes}/{decimal_total_bytes} ({decimal_bytes_per_sec})"
);
const COUNT_TEMPLATE: &str = "{spinner} {elapsed:>4} {msg} [{bar:30}] {pos}/{len}";
const SPINNER_TEMPLATE: &str = "{spinner} {elapsed:>4} {msg}";

/// One step's bar, cleared when dropped (the summary at the end says what happened).
#[derive(Debug)]
pub struct Step {
    bar: Option<ProgressBar>,
}

impl Step {
    /// A handle for a thread or an output observer to update the bar with.
    pub fn handle(&self) -> StepHandle {
        StepHandle {
            bar: self.bar.clone(),
        }
    }

    pub fn set_position(&self, position: u64) {
        self.handle().set_position(position);
    }

    pub fn set_message(&self, message: String) {
        self.handle().set_message(message);
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Updates a step's bar from elsewhere.
#[derive(Debug, Clone)]
pub struct StepHandle {
    bar: Option<ProgressBar>,
}

impl StepHandle {
    pub fn set_position(&self, position: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(position.min(bar.length().unwrap_or(u64::MAX)));
        }
    }

    pub fn set_message(&self, message: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(message);
        }
    }
}
