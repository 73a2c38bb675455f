//! Progress of runs on stderr: a spinner line per run on a terminal, and one plain line per
//! event otherwise (a CI log, `nohup`, a pipe), repeated at least every 10 seconds while a step
//! lasts (a long build, a slow model), so that long work never goes silent.

use std::io::{IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::session::Phase;

/// How often a plain line repeats a step that is still going on.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// Where plain lines go.
type Sink = Arc<Mutex<dyn Write + Send>>;

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
            multi: std::io::stderr()
                .is_terminal()
                .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
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
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
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
                let (stop, stopped) = mpsc::channel::<()>();
                let ticker = beat.clone();
                let every = self.heartbeat;
                std::thread::spawn(move || {
                    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                        ticker.still();
                    }
                });
                Some((beat, stop))
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
            Some(multi) => {
                if multi.println(line).is_err() {
                    eprintln!("{line}");
                }
            }
            None => write_line(&self.sink, line),
        }
    }
}

fn write_line(sink: &Sink, line: &str) {
    if let Ok(mut sink) = sink.lock() {
        let _ = writeln!(sink, "{line}");
        let _ = sink.flush();
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
    beat: Option<(Beat, Sender<()>)>,
    label: String,
    max_iterations: u32,
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

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some((_, stop)) = self.beat.take() {
            let _ = stop.send(());
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
    fn without_a_terminal_each_step_is_a_line_and_a_long_one_is_repeated() {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        // A heartbeat no test waits for: the repeated line comes from `beat_now`.
        let group = ProgressGroup::lines(buffer.clone(), Duration::from_secs(3600));
        let progress = group.run("gpt-x r2", 10);
        progress.update(3, Phase::Building);
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

    #[test]
    fn the_clock_reads_minutes_and_hours() {
        assert_eq!(clock(Duration::from_secs(5)), "0:05");
        assert_eq!(clock(Duration::from_secs(125)), "2:05");
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
    }
}
