//! Keeping both ends of a child's output stream: its first bytes and its last, with the cut marked.
//!
//! A program's output is most useful at its two ends: what it set out to do at the start, and
//! the panic, the error report or the last progress line at the end. A stream longer than the
//! cap keeps its first `head` bytes and its last `tail` bytes; the bytes between are read and
//! dropped, and one line in their place says how many. A cut never splits a UTF-8 character:
//! the bytes of a character cut in two are counted as left out.

/// How much of one output stream is kept: its first `head` bytes and its last `tail` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputCap {
    pub head: usize,
    pub tail: usize,
}

impl OutputCap {
    /// 64 KiB from the start and 256 KiB from the end (the panic is at the end).
    pub const DEFAULT: OutputCap = OutputCap::ends(64 << 10, 256 << 10);

    pub const fn ends(head: usize, tail: usize) -> OutputCap {
        OutputCap { head, tail }
    }

    /// At most `bytes` in all, split as the default is: a fifth from the start, the rest from
    /// the end.
    pub const fn total(bytes: usize) -> OutputCap {
        let head = bytes / 5;
        OutputCap {
            head,
            tail: bytes - head,
        }
    }

    /// The most bytes kept, the marker line aside.
    pub const fn bytes(self) -> usize {
        self.head + self.tail
    }
}

impl Default for OutputCap {
    fn default() -> Self {
        OutputCap::DEFAULT
    }
}

impl From<usize> for OutputCap {
    fn from(bytes: usize) -> Self {
        OutputCap::total(bytes)
    }
}

/// The line that stands where bytes were left out.
pub fn cut_marker(left_out: u64) -> String {
    format!("\n[harness: {left_out} bytes of output left out here]\n")
}

/// One stream as it is read: the head, filled first, then a tail that keeps only its last
/// `cap.tail` bytes.
#[derive(Debug)]
pub(crate) struct Capture {
    cap: OutputCap,
    head: Vec<u8>,
    /// Holds up to twice the tail cap before its front is dropped, so that dropping costs
    /// amortised O(1) per byte however much a child prints.
    tail: Vec<u8>,
    dropped: u64,
}

impl Capture {
    pub(crate) fn new(cap: OutputCap) -> Capture {
        Capture {
            cap,
            head: Vec::new(),
            tail: Vec::new(),
            dropped: 0,
        }
    }

    pub(crate) fn push(&mut self, mut bytes: &[u8]) {
        let room = self.cap.head.saturating_sub(self.head.len());
        let into_head = room.min(bytes.len());
        self.head.extend_from_slice(&bytes[..into_head]);
        bytes = &bytes[into_head..];
        if bytes.is_empty() {
            return;
        }
        if bytes.len() > self.cap.tail {
            // Whatever the tail held, and this chunk's front, can never be kept.
            self.dropped += (self.tail.len() + bytes.len() - self.cap.tail) as u64;
            self.tail.clear();
            bytes = &bytes[bytes.len() - self.cap.tail..];
        }
        self.tail.extend_from_slice(bytes);
        if self.tail.len() > 2 * self.cap.tail.max(1 << 10) {
            self.trim_tail();
        }
    }

    fn trim_tail(&mut self) {
        let excess = self.tail.len().saturating_sub(self.cap.tail);
        self.tail.drain(..excess);
        self.dropped += excess as u64;
    }

    /// Whether any byte was left out.
    pub(crate) fn cut(&self) -> bool {
        self.dropped > 0 || self.tail.len() > self.cap.tail
    }

    /// The text kept: both ends, and the marker between them where bytes were left out.
    pub(crate) fn text(&mut self) -> String {
        self.trim_tail();
        join_ends(&self.head, self.dropped, &self.tail)
    }
}

/// `head` and `tail` as text, with the marker between them when `left_out` bytes were dropped;
/// a character cut in two at either edge is left out too, and counted.
fn join_ends(head: &[u8], left_out: u64, tail: &[u8]) -> String {
    if left_out == 0 {
        let mut all = head.to_vec();
        all.extend_from_slice(tail);
        return String::from_utf8_lossy(&all).into_owned();
    }
    let head_end = complete_prefix(head);
    let tail_start = continuation_bytes(tail);
    let left_out = left_out + (head.len() - head_end + tail_start) as u64;
    let mut text = String::from_utf8_lossy(&head[..head_end]).into_owned();
    text.push_str(&cut_marker(left_out));
    text.push_str(&String::from_utf8_lossy(&tail[tail_start..]));
    text
}

/// The length of `bytes` without a UTF-8 character cut short at its end.
fn complete_prefix(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(4) {
        let byte = bytes[len - back];
        if byte & 0xC0 == 0x80 {
            continue;
        }
        let needs = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if needs > back { len - back } else { len };
    }
    len
}

/// How many bytes at the start of `bytes` continue a character that began before it (at most 3).
fn continuation_bytes(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .take(3)
        .take_while(|byte| *byte & 0xC0 == 0x80)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(cap: OutputCap, chunks: &[&[u8]]) -> (String, bool) {
        let mut capture = Capture::new(cap);
        for chunk in chunks {
            capture.push(chunk);
        }
        (capture.text(), capture.cut())
    }

    #[test]
    fn a_stream_that_fits_is_kept_whole() {
        let (text, cut) = captured(OutputCap::ends(4, 6), &[b"0123", b"456789"]);
        assert_eq!((text.as_str(), cut), ("0123456789", false));
    }

    #[test]
    fn a_long_stream_keeps_its_first_and_last_bytes_and_says_how_many_went() {
        let middle = vec![b'.'; 100_000];
        let (text, cut) = captured(
            OutputCap::ends(6, 12),
            &[b"start:", &middle, b"...", b"panic at end"],
        );
        assert!(cut);
        assert_eq!(text, format!("start:{}panic at end", cut_marker(100_003)));
    }

    #[test]
    fn many_small_chunks_are_counted_exactly() {
        let chunks: Vec<&[u8]> = std::iter::repeat_n(&b"abcdefghij"[..], 10_000).collect();
        let (text, cut) = captured(OutputCap::ends(5, 5), &chunks);
        assert!(cut);
        assert_eq!(text, format!("abcde{}fghij", cut_marker(100_000 - 10)));
    }

    #[test]
    fn a_character_cut_in_two_is_left_out_whole() {
        // "é" is two bytes; the head ends after its first, the tail starts with its second.
        let text = "aé".repeat(10);
        let (kept, cut) = captured(OutputCap::ends(2, 2), &[text.as_bytes()]);
        assert!(cut);
        assert_eq!(kept, format!("a{}é", cut_marker(30 - 3)));
        assert!(!kept.contains('\u{FFFD}'), "{kept}");
    }

    #[test]
    fn utf8_edges_are_found() {
        assert_eq!(complete_prefix("aé".as_bytes()), 3);
        assert_eq!(complete_prefix(&"aé".as_bytes()[..2]), 1);
        assert_eq!(complete_prefix(&"a€".as_bytes()[..3]), 1);
        assert_eq!(complete_prefix("a€".as_bytes()), 4);
        assert_eq!(continuation_bytes(&"€a".as_bytes()[1..]), 2);
        assert_eq!(continuation_bytes(b"abc"), 0);
    }

    #[test]
    fn the_default_keeps_64_kib_and_256_kib() {
        assert_eq!(OutputCap::default(), OutputCap::ends(65_536, 262_144));
        assert_eq!(OutputCap::from(1000), OutputCap::ends(200, 800));
        assert_eq!(OutputCap::total(1000).bytes(), 1000);
    }
}
