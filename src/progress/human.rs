//! Amounts for people, as the progress lines and summaries print them: bytes in decimal units,
//! durations in seconds, minutes and hours, and a run's clock.

use std::time::Duration;

/// Bytes in the units people read: `512 B`, `4.2 MB`, `1.31 GB` (powers of 1000).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: &[&str] = &["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for candidate in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = candidate;
    }
    if value < 10.0 {
        format!("{value:.2} {unit}")
    } else if value < 100.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

/// A duration for people: `0.4 s`, `35 s`, `2 min 10 s`, `12 h 0 min`.
pub fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs < 10.0 {
        format!("{secs:.1} s")
    } else if secs < 60.0 {
        format!("{secs:.0} s")
    } else if secs < 3600.0 {
        let whole = duration.as_secs();
        format!("{} min {} s", whole / 60, whole % 60)
    } else {
        let whole = duration.as_secs();
        format!("{} h {} min", whole / 3600, whole / 60 % 60)
    }
}

/// Elapsed time as a clock, `m:ss` (or `h:mm:ss`).
pub(crate) fn clock(elapsed: Duration) -> String {
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
    fn sizes_read_well() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(4_200_000), "4.20 MB");
        assert_eq!(human_bytes(499_000_000), "499 MB");
        assert_eq!(human_bytes(56_700_000), "56.7 MB");
        assert_eq!(human_bytes(1_310_000_000), "1.31 GB");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::from_millis(420)), "0.4 s");
        assert_eq!(human_duration(Duration::from_secs(35)), "35 s");
        assert_eq!(human_duration(Duration::from_secs(130)), "2 min 10 s");
        assert_eq!(human_duration(Duration::from_secs(12 * 3600)), "12 h 0 min");
        assert_eq!(human_duration(Duration::from_secs(3600 + 150)), "1 h 2 min");
    }

    #[test]
    fn the_clock_reads_minutes_and_hours() {
        assert_eq!(clock(Duration::from_secs(5)), "0:05");
        assert_eq!(clock(Duration::from_secs(125)), "2:05");
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
    }
}
