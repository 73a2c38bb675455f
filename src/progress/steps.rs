//! Progress of long steps (provisioning, downloads, converting, drawing datasets): a byte bar
//! for downloads, bars and spinners for the rest on a terminal; elsewhere plain lines, one when
//! a step starts, one at least every 10 seconds while it runs (how far, and an estimate of what
//! is left where the total is known), and one when it ends.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget};

use super::human::{human_bytes, human_duration};
use super::lines::{animate, println_above, terminal_bars, write_line, Sink, Ticker};

/// How often a plain line reports a step that is still running.
pub const PLAIN_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Clone)]
enum Display {
    Bars(MultiProgress),
    Lines {
        sink: Sink,
        interval: Duration,
        prefix: &'static str,
    },
    Hidden,
}

/// Where the steps of a setup show their progress.
#[derive(Clone)]
pub struct SetupProgress {
    display: Display,
}

impl std::fmt::Debug for SetupProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.display {
            Display::Bars(_) => "bars",
            Display::Lines { .. } => "lines",
            Display::Hidden => "hidden",
        };
        f.debug_struct("SetupProgress")
            .field("display", &kind)
            .finish()
    }
}

impl SetupProgress {
    /// Bars on stderr when it is a terminal, plain lines every 10 seconds otherwise.
    pub fn stderr() -> Self {
        match terminal_bars() {
            Some(multi) => SetupProgress {
                display: Display::Bars(multi),
            },
            None => Self::lines(Arc::new(Mutex::new(std::io::stderr())), PLAIN_INTERVAL),
        }
    }

    /// Bars on stderr when it is a terminal, nothing otherwise (`data synth`, `data import`:
    /// work of seconds to minutes whose summary follows at once).
    pub fn terminal_only() -> Self {
        match terminal_bars() {
            Some(multi) => SetupProgress {
                display: Display::Bars(multi),
            },
            None => Self::hidden(),
        }
    }

    /// The same display, its plain lines starting `prefix:` instead of `setup:` (another
    /// command's long steps: `data fetch`).
    pub fn with_prefix(self, prefix: &'static str) -> Self {
        match self.display {
            Display::Lines { sink, interval, .. } => SetupProgress {
                display: Display::Lines {
                    sink,
                    interval,
                    prefix,
                },
            },
            display => SetupProgress { display },
        }
    }

    /// A line of its own: above the bars, or a plain line (nothing when hidden).
    pub fn println(&self, line: &str) {
        match &self.display {
            Display::Bars(multi) => println_above(multi, line),
            Display::Lines { sink, prefix, .. } => write_prefixed(sink, prefix, line),
            Display::Hidden => {}
        }
    }

    /// Plain lines into `sink`, a running step reported every `interval`.
    pub fn lines(sink: Arc<Mutex<dyn Write + Send>>, interval: Duration) -> Self {
        SetupProgress {
            display: Display::Lines {
                sink,
                interval,
                prefix: "setup",
            },
        }
    }

    /// Nothing at all (tests, callers with their own display).
    pub fn hidden() -> Self {
        SetupProgress {
            display: Display::Hidden,
        }
    }

    /// A bar counting bytes towards `total`.
    pub fn bytes(&self, message: &str, total: u64) -> Step {
        self.add(message, ProgressBar::new(total), Unit::Bytes)
    }

    /// A bar counting items (packages, files) towards `total`.
    pub fn count(&self, message: &str, total: u64) -> Step {
        self.add(message, ProgressBar::new(total), Unit::Items)
    }

    /// A spinner for work of unknown length.
    pub fn spinner(&self, message: &str) -> Step {
        self.add(message, ProgressBar::new_spinner(), Unit::None)
    }

    fn add(&self, message: &str, bar: ProgressBar, unit: Unit) -> Step {
        tracing::info!("{message}");
        match &self.display {
            Display::Hidden => Step {
                bar: None,
                lines: None,
            },
            Display::Bars(multi) => {
                let bar = multi.add(bar);
                bar.set_message(message.to_string());
                animate(&bar, unit.template());
                Step {
                    bar: Some(bar),
                    lines: None,
                }
            }
            Display::Lines {
                sink,
                interval,
                prefix,
            } => {
                bar.set_draw_target(ProgressDrawTarget::hidden());
                bar.set_message(message.to_string());
                let lines = Lines {
                    sink: sink.clone(),
                    bar: bar.clone(),
                    unit,
                    prefix,
                };
                lines.write(&format!("{message} ..."));
                let ticker = lines.clone();
                let ticker = Ticker::start(*interval, move || ticker.report());
                Step {
                    bar: Some(bar),
                    lines: Some((lines, ticker)),
                }
            }
        }
    }
}

/// What a step counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Bytes,
    Items,
    None,
}

impl Unit {
    fn template(self) -> &'static str {
        match self {
            // Decimal units, as in the summary at the end.
            Unit::Bytes => concat!(
                "{spinner} {elapsed:>4} {msg} [{bar:30}] ",
                "{decimal_bytes}/{decimal_total_bytes} ({decimal_bytes_per_sec})"
            ),
            Unit::Items => "{spinner} {elapsed:>4} {msg} [{bar:30}] {pos}/{len}",
            Unit::None => "{spinner} {elapsed:>4} {msg}",
        }
    }
}

/// A step's plain lines: the bar (never drawn) keeps its position, total and timing.
#[derive(Clone)]
struct Lines {
    sink: Sink,
    bar: ProgressBar,
    unit: Unit,
    prefix: &'static str,
}

fn write_prefixed(sink: &Sink, prefix: &str, line: &str) {
    write_line(sink, &format!("{prefix}: {line}"));
}

impl Lines {
    fn write(&self, line: &str) {
        write_prefixed(&self.sink, self.prefix, line);
    }

    /// One line on how the step stands now.
    fn report(&self) {
        let position = self.bar.position();
        let eta = (position > 0).then(|| self.bar.eta());
        self.write(&plain_line(
            &self.bar.message(),
            self.unit,
            position,
            self.bar.length(),
            self.bar.elapsed(),
            eta,
        ));
    }
}

/// `message: 120.3 MB of 540.0 MB (22%), 1 min 20 s so far, about 4 min 40 s left`; without a total,
/// only the message and the time so far.
fn plain_line(
    message: &str,
    unit: Unit,
    position: u64,
    length: Option<u64>,
    elapsed: Duration,
    eta: Option<Duration>,
) -> String {
    let amount = |n: u64| match unit {
        Unit::Bytes => human_bytes(n),
        Unit::Items | Unit::None => n.to_string(),
    };
    let so_far = format!("{} so far", human_duration(elapsed));
    match (unit, length) {
        (Unit::None, _) | (_, None | Some(0)) => format!("{message}: {so_far}"),
        (_, Some(total)) => {
            let percent = position.min(total) * 100 / total;
            let left = eta
                .filter(|_| position < total)
                .map(|eta| format!(", about {} left", human_duration(eta)))
                .unwrap_or_default();
            format!(
                "{message}: {} of {} ({percent}%), {so_far}{left}",
                amount(position),
                amount(total)
            )
        }
    }
}

/// One step's bar, cleared when dropped (the summary at the end says what happened); in plain
/// mode its last line says how long it took.
pub struct Step {
    bar: Option<ProgressBar>,
    /// Plain lines, and the ticker that repeats them (stopped when the step is dropped).
    lines: Option<(Lines, Ticker)>,
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Step").finish_non_exhaustive()
    }
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

    /// Writes the plain line now, as the ticker does every interval (nothing with bars).
    pub fn report_now(&self) {
        if let Some((lines, _)) = &self.lines {
            lines.report();
        }
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if let Some((lines, ticker)) = self.lines.take() {
            drop(ticker);
            lines.write(&format!(
                "{}: done in {}",
                lines.bar.message(),
                human_duration(lines.bar.elapsed())
            ));
        } else if let Some(bar) = &self.bar {
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
    /// The total, once it is known (a download's length).
    pub fn set_length(&self, length: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(length);
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn captured() -> (SetupProgress, Arc<Mutex<Vec<u8>>>) {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        // An interval no test reaches: lines come from the steps' own calls only.
        let progress = SetupProgress::lines(buffer.clone(), Duration::from_secs(3600));
        (progress, buffer)
    }

    fn text(buffer: &Arc<Mutex<Vec<u8>>>) -> String {
        String::from_utf8(buffer.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn without_a_terminal_a_step_says_when_it_starts_how_far_it_is_and_when_it_ends() {
        let (progress, buffer) = captured();
        {
            let step = progress.bytes("downloading libtorch", 2_000_000);
            step.set_position(500_000);
            step.report_now();
            step.set_message("downloading libtorch (wheel 2 of 3)".into());
            step.report_now();
        }
        let text = text(&buffer);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[0], "setup: downloading libtorch ...");
        assert!(
            lines[1].starts_with("setup: downloading libtorch: 500 kB of 2.00 MB (25%), ")
                && lines[1].contains(" so far"),
            "{}",
            lines[1]
        );
        assert!(lines[2].starts_with("setup: downloading libtorch (wheel 2 of 3): "));
        assert!(
            lines[3].starts_with("setup: downloading libtorch (wheel 2 of 3): done in "),
            "{}",
            lines[3]
        );
    }

    #[test]
    fn a_spinner_reports_its_time_and_counts_report_items() {
        let (progress, buffer) = captured();
        {
            let step = progress.spinner("compiling the warm build");
            step.report_now();
        }
        {
            let step = progress.count("vendoring crates", 40);
            step.set_position(10);
            step.report_now();
        }
        let text = text(&buffer);
        assert!(text.contains("setup: compiling the warm build: "), "{text}");
        assert!(text.contains(" so far\n"), "{text}");
        assert!(
            text.contains("setup: vendoring crates: 10 of 40 (25%), "),
            "{text}"
        );
    }

    #[test]
    fn the_line_has_an_estimate_only_while_work_is_left() {
        let line = plain_line(
            "x",
            Unit::Items,
            3,
            Some(4),
            Duration::from_secs(30),
            Some(Duration::from_secs(10)),
        );
        assert_eq!(line, "x: 3 of 4 (75%), 30 s so far, about 10 s left");
        let done = plain_line(
            "x",
            Unit::Items,
            4,
            Some(4),
            Duration::from_secs(40),
            Some(Duration::ZERO),
        );
        assert_eq!(done, "x: 4 of 4 (100%), 40 s so far");
        let unknown = plain_line("x", Unit::Bytes, 5, None, Duration::from_secs(1), None);
        assert_eq!(unknown, "x: 1.0 s so far");
    }
}
