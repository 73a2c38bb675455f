//! Progress of runs: a spinner line per run on a terminal, and one plain line per event
//! otherwise, repeated at least every 10 seconds while a step lasts (a long build, a slow model).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar};

use super::human::clock;
use super::lines::{animate, println_above, terminal_bars, write_line, Sink, Ticker};

/// How often a plain line repeats a step that is still going on.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// The runs of one invocation: one spinner line each on a terminal.
#[derive(Clone)]
pub struct ProgressGroup {
    multi: Option<MultiProgress>,
    started: Instant,
    sink: Sink,
    heartbeat: Duration,
}

impl ProgressGroup {
    /// Spinners when stderr is a terminal, plain lines otherwise.
    pub fn stderr() -> Self {
        ProgressGroup {
            multi: terminal_bars(),
            started: Instant::now(),
            sink: Arc::new(Mutex::new(std::io::stderr())),
            heartbeat: HEARTBEAT,
        }
    }

    /// Plain lines into `sink`, a step that lasts repeated every `heartbeat`.
    pub fn lines(sink: Arc<Mutex<dyn Write + Send>>, heartbeat: Duration) -> Self {
        ProgressGroup {
            multi: None,
            started: Instant::now(),
            sink,
            heartbeat,
        }
    }

    /// The progress of one run, labelled (the LLM and repeat, say).
    pub fn run(&self, label: &str, max_iterations: u32) -> Progress {
        let bar = self.multi.as_ref().map(|multi| {
            let bar = multi.add(ProgressBar::new_spinner());
            animate(&bar, "{spinner} {elapsed:>4} {msg}");
            bar.set_message(format!("{label} · starting"));
            bar
        });
        let beat = match &bar {
            Some(_) => None,
            None => {
                let beat = Beat {
                    sink: self.sink.clone(),
                    started: self.started,
                    state: Arc::new(Mutex::new((format!("{label} · starting"), Instant::now()))),
                };
                let ticker = beat.clone();
                let ticker = Ticker::start(self.heartbeat, move || ticker.still());
                Some((beat, ticker))
            }
        };
        Progress {
            bar,
            beat,
            label: label.to_string(),
            max_iterations,
        }
    }

    /// A line above the spinners (or just a line): a run's result, a warning.
    pub fn println(&self, line: &str) {
        match &self.multi {
            Some(multi) => println_above(multi, line),
            None => write_line(&self.sink, line),
        }
    }
}

/// A run's plain lines: the step it is at, and since when.
#[derive(Clone)]
struct Beat {
    sink: Sink,
    started: Instant,
    state: Arc<Mutex<(String, Instant)>>,
}

impl Beat {
    fn step(&self, message: String) {
        write_line(
            &self.sink,
            &format!("[{}] {message}", clock(self.started.elapsed())),
        );
        if let Ok(mut state) = self.state.lock() {
            *state = (message, Instant::now());
        }
    }

    /// The step again, with how long it has lasted.
    fn still(&self) {
        let Ok(state) = self.state.lock().map(|state| state.clone()) else {
            return;
        };
        write_line(
            &self.sink,
            &format!(
                "[{}] {} (for {})",
                clock(self.started.elapsed()),
                state.0,
                clock(state.1.elapsed())
            ),
        );
    }
}

/// The progress of one run.
pub struct Progress {
    bar: Option<ProgressBar>,
    /// Plain lines, and the ticker that repeats them (stopped when the progress is dropped).
    beat: Option<(Beat, Ticker)>,
    label: String,
    max_iterations: u32,
}

impl Progress {
    /// One run on its own.
    pub fn new(label: &str, max_iterations: u32) -> Self {
        ProgressGroup::stderr().run(label, max_iterations)
    }

    /// A fix-loop round at `phase` (a `session::Phase`, taken as text so that this display
    /// depends on nothing of the pipeline).
    pub fn update(&self, iteration: u32, phase: impl std::fmt::Display) {
        let message = format!(
            "{} · iteration {iteration}/{} · {phase}",
            self.label, self.max_iterations
        );
        match (&self.bar, &self.beat) {
            (Some(bar), _) => bar.set_message(message),
            (None, Some((beat, _))) => beat.step(message),
            (None, None) => {}
        }
    }

    /// A step that is not a fix-loop round (checking a dataset, training, predicting): the
    /// label and `message`, repeated with its duration while it lasts.
    pub fn step(&self, message: &str) {
        let message = format!("{} · {message}", self.label);
        match (&self.bar, &self.beat) {
            (Some(bar), _) => bar.set_message(message),
            (None, Some((beat, _))) => beat.step(message),
            (None, None) => {}
        }
    }

    /// Repeats the current step's line now, as the heartbeat does (nothing on a terminal).
    pub fn beat_now(&self) {
        if let Some((beat, _)) = &self.beat {
            beat.still();
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_terminal_each_step_is_a_line_and_a_long_one_is_repeated() {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        // A heartbeat no test waits for: the repeated line comes from `beat_now`.
        let group = ProgressGroup::lines(buffer.clone(), Duration::from_secs(3600));
        let progress = group.run("gpt-x r2", 10);
        progress.update(3, "building");
        progress.beat_now();
        group.println("gpt-x r2: gave up");
        drop(progress);
        let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0], "[0:00] gpt-x r2 · iteration 3/10 · building");
        assert_eq!(
            lines[1],
            "[0:00] gpt-x r2 · iteration 3/10 · building (for 0:00)"
        );
        assert_eq!(lines[2], "gpt-x r2: gave up");
    }

    /// `harness train`'s steps (hours of training among them) are lines too, repeated.
    #[test]
    fn a_free_step_is_a_line_and_is_repeated_while_it_lasts() {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let group = ProgressGroup::lines(buffer.clone(), Duration::from_secs(3600));
        let progress = group.run("run-1 (training 2 of 3, split seed 1)", 0);
        progress.step("training");
        progress.beat_now();
        drop(progress);
        let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "[0:00] run-1 (training 2 of 3, split seed 1) · training",
                "[0:00] run-1 (training 2 of 3, split seed 1) · training (for 0:00)"
            ],
            "{text}"
        );
    }
}
