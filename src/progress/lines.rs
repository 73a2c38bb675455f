//! What both displays share: the bars' home on a terminal, the spinner's look, where plain lines
//! go, and the ticker that repeats a plain line while a step lasts.

use std::io::{IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where plain lines go.
pub(crate) type Sink = Arc<Mutex<dyn Write + Send>>;

/// Bars on stderr when it is a terminal; `None` elsewhere (a CI log, `nohup`, a pipe).
pub(crate) fn terminal_bars() -> Option<MultiProgress> {
    std::io::stderr()
        .is_terminal()
        .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
}

/// Gives `bar` its look (an indicatif template) and keeps its spinner turning.
pub(crate) fn animate(bar: &ProgressBar, template: &str) {
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
}

/// A line above the bars; straight to stderr should the bars refuse it.
pub(crate) fn println_above(multi: &MultiProgress, line: &str) {
    if multi.println(line).is_err() {
        eprintln!("{line}");
    }
}

/// Writes one line into `sink` and flushes it.
pub(crate) fn write_line(sink: &Sink, line: &str) {
    if let Ok(mut sink) = sink.lock() {
        let _ = writeln!(sink, "{line}");
        let _ = sink.flush();
    }
}

/// A thread that calls its `tick` every interval; dropping the ticker stops it.
pub(crate) struct Ticker {
    _stop: Sender<()>,
}

impl Ticker {
    pub(crate) fn start(every: Duration, mut tick: impl FnMut() + Send + 'static) -> Ticker {
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            // Ends when the sender is dropped (Disconnected), never on a message.
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                tick();
            }
        });
        Ticker { _stop: stop }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticker_ticks_until_dropped() {
        let (ticked, ticks) = mpsc::channel();
        let ticker = Ticker::start(Duration::from_millis(1), move || {
            let _ = ticked.send(());
        });
        // Waits for two ticks (no sleep: the ticks are the signal).
        ticks.recv().unwrap();
        ticks.recv().unwrap();
        drop(ticker);
        // Once the thread has ended it drops its sender, and the channel closes.
        while ticks.recv().is_ok() {}
    }

    #[test]
    fn a_line_goes_into_the_sink_whole() {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink: Sink = buffer.clone();
        write_line(&sink, "one");
        write_line(&sink, "two");
        assert_eq!(buffer.lock().unwrap().as_slice(), b"one\ntwo\n");
    }
}
