//! Classifies a failed run of a generated program from its exit status and stderr.
//!
//! The failure text that decides the category is the first panic's message (later panics are
//! usually consequences: a `join` that unwraps, a poisoned lock), or, for a program that ended
//! without panicking, the `Error: ...` report of a `main` that returned `Err`. Phrases are checked
//! in a fixed order: out of memory, tensor shape, device or dtype, data and I/O. A phrase list
//! prefers specific wording to single words, since panic messages are ordinary English.

use std::sync::LazyLock;

use regex::Regex;

use crate::exec::ExitInfo;
use crate::taxonomy::{Category, ErrorRecord};

/// How many trailing lines of stderr a record keeps as its rendered text.
const RENDERED_LINES: usize = 40;
/// The longest one-line message a record keeps, in characters.
const MESSAGE_CHARS: usize = 300;

/// Phrases that mean the program ran out of memory, anywhere in stderr.
const OUT_OF_MEMORY: [&str; 6] = [
    "out of memory",
    "memory allocation of",
    "cannot allocate memory",
    "can't allocate memory",
    "bad_alloc",
    "failed to allocate memory",
];
/// Phrases about tensor shapes, in the failure text.
const TENSOR_SHAPE: [&str; 7] = [
    "shape",
    "size mismatch",
    "sizes of tensors must match",
    "must match the size of tensor",
    "mat1 and mat2",
    "dimension",
    "channels, but got",
];
/// Phrases about devices and element types, in the failure text.
const DEVICE_DTYPE: [&str; 8] = [
    "scalar type",
    "dtype",
    "same device",
    "device type",
    "device-side assert",
    "tensor kind error",
    "unknown kind",
    "desired output type",
];
/// Phrases about files and data, in the failure text.
const DATA_IO: [&str; 17] = [
    "os error",
    "no such file or directory",
    "permission denied",
    "kind: notfound",
    "kind: permissiondenied",
    "is a directory",
    "imageerror",
    "decoding",
    "format error",
    "failed to open",
    "invalid png",
    "invalid file format",
    "no image found",
    "unexpected end of file",
    "unexpectedeof",
    "failed to fill whole buffer",
    "stream did not contain valid utf-8",
];

/// Matches tch's `Kind(...)` error, CUDA mentioned as a word, and an input a layer rejects
/// (`expected input[1, 1, 256, 256] to have 3 channels`, `Expected input batch_size (4) ...`).
static DEVICE_DTYPE_PATTERN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bKind\(|(?i:\bcuda\b)").expect("the device pattern is valid"));
static EXPECTED_INPUT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)expected input ?(\[|batch_size|to have|of size|with shape)")
        .expect("the input pattern is valid")
});
/// `thread 'NAME' panicked at FILE:LINE:COL:` (with or without the thread id normalise removes).
static PANIC_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^thread '[^'\n]*'(?: \(\d+\))? panicked at (.+):(\d+):(\d+):$")
        .expect("the panic pattern is valid")
});

/// A panic found in stderr.
struct Panic {
    file: String,
    line: Option<u32>,
    /// The panic message, possibly several lines.
    message: String,
}

/// A failed run (nonzero exit, signal, timeout) -> one classified record with the panic message
/// (or the tail of stderr) as message and rendered text. Returns `None` when the run succeeded
/// (code 0, no signal, no timeout).
///
/// `stderr` must already be normalised.
pub fn classify_run(exit: &ExitInfo, stderr: &str) -> Option<ErrorRecord> {
    if exit.succeeded() {
        return None;
    }
    let panic = first_panic(stderr);
    let error_report = error_report(stderr);
    // Torch appends its C++ stack ("Exception raised from ... at TensorShape.cpp"), whose file
    // names would match phrases of the wrong category.
    let failure_text = panic
        .as_ref()
        .map(|p| p.message.as_str())
        .or(error_report.as_deref())
        .map(|text| text.split("Exception raised from").next().unwrap_or(text))
        .unwrap_or_default();

    let category = if exit.timed_out || exit.signal == Some(SIGXCPU) {
        // SIGXCPU: the sandbox's CPU-time limit, a time limit too.
        Category::Timeout
    } else if contains_any(stderr, &OUT_OF_MEMORY) || exit.signal == Some(SIGKILL) {
        // Without a timeout, SIGKILL comes from the kernel's or the sandbox's memory limit.
        Category::OutOfMemory
    } else if let Some(category) = tensor_device_or_data(failure_text) {
        category
    } else if panic.is_some() {
        Category::PanicOther
    } else {
        Category::NonzeroExit
    };

    let message = match (&panic, category) {
        (_, Category::Timeout) if !exit.timed_out => {
            "the program ran past its CPU-time limit (killed by SIGXCPU)".to_owned()
        }
        (_, Category::Timeout) => "the program did not finish within the time limit".to_owned(),
        (Some(panic), _) if panic.message.is_empty() => "the program panicked".to_owned(),
        (Some(panic), _) => panic.message.clone(),
        (None, _) => {
            let detail = error_report
                .as_deref()
                .or_else(|| memory_line(stderr))
                .or_else(|| last_meaningful_line(stderr));
            match detail {
                Some(detail) => format!("{}: {detail}", describe_exit(exit)),
                None => describe_exit(exit),
            }
        }
    };

    Some(ErrorRecord {
        category,
        code: None,
        message: one_line(&message),
        file: panic.as_ref().map(|p| p.file.clone()),
        line: panic.as_ref().and_then(|p| p.line),
        rendered: Some(rendered(exit, stderr)),
    })
}

/// The coarse class a failure's text names, in the fixed order tensor shape, device or dtype,
/// data and I/O; `None` when it names none of them. Shared with the Python classifier.
pub(super) fn tensor_device_or_data(failure_text: &str) -> Option<Category> {
    if contains_any(failure_text, &TENSOR_SHAPE) || EXPECTED_INPUT.is_match(failure_text) {
        Some(Category::TensorShape)
    } else if contains_any(failure_text, &DEVICE_DTYPE)
        || DEVICE_DTYPE_PATTERN.is_match(failure_text)
    {
        Some(Category::DeviceDtype)
    } else if contains_any(failure_text, &DATA_IO) {
        Some(Category::DataIo)
    } else {
        None
    }
}

const SIGKILL: i32 = 9;
const SIGXCPU: i32 = 24;

pub(super) fn contains_any(text: &str, phrases: &[&str]) -> bool {
    let text = text.to_lowercase();
    phrases.iter().any(|p| text.contains(p))
}

/// The first panic in stderr: its location and its message, which runs to the backtrace note,
/// the backtrace or the next panic (blank lines included: anyhow's `Caused by:` follows one).
fn first_panic(stderr: &str) -> Option<Panic> {
    let mut lines = stderr.lines();
    let header = lines.by_ref().find_map(|l| PANIC_HEADER.captures(l))?;
    let message: Vec<&str> = lines
        .take_while(|l| {
            !l.starts_with("note: run with `RUST_BACKTRACE")
                && !l.starts_with("stack backtrace:")
                && !PANIC_HEADER.is_match(l)
        })
        .collect();
    Some(Panic {
        file: header[1].to_owned(),
        line: header[2].parse().ok(),
        message: message.join("\n").trim().to_owned(),
    })
}

/// The report of a `main` that returned `Err`: the last `Error: ` line and what follows it
/// (anyhow's causes, for example), without the prefix.
fn error_report(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr.lines().collect();
    let start = lines.iter().rposition(|l| l.starts_with("Error: "))?;
    let mut report = lines[start..].join("\n");
    report.replace_range(.."Error: ".len(), "");
    Some(report.trim_end().to_owned())
}

/// The line that reports a failed allocation, when there is one.
fn memory_line(stderr: &str) -> Option<&str> {
    stderr
        .lines()
        .map(str::trim)
        .find(|l| contains_any(l, &OUT_OF_MEMORY))
}

/// The last line worth quoting: not blank, not the backtrace hint.
fn last_meaningful_line(stderr: &str) -> Option<&str> {
    stderr
        .lines()
        .map(str::trim)
        .rev()
        .find(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
}

/// `exited with code 2`, `killed by signal 6 (SIGABRT)`.
fn describe_exit(exit: &ExitInfo) -> String {
    match (exit.signal, exit.code) {
        (Some(signal), _) => match signal_name(signal) {
            Some(name) => format!("killed by signal {signal} ({name})"),
            None => format!("killed by signal {signal}"),
        },
        (None, Some(code)) => format!("exited with code {code}"),
        (None, None) => "ended without an exit status".to_owned(),
    }
}

fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        _ => return None,
    })
}

/// Joins a message's lines with spaces, collapses runs of whitespace and keeps at most
/// [`MESSAGE_CHARS`] characters (ending with `…` when cut).
fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() <= MESSAGE_CHARS {
        return joined;
    }
    let mut cut: String = joined.chars().take(MESSAGE_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The last [`RENDERED_LINES`] lines of stderr, with a note when the harness cut the output.
fn rendered(exit: &ExitInfo, stderr: &str) -> String {
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    let start = lines.len().saturating_sub(RENDERED_LINES);
    let tail = lines[start..].join("\n");
    let tail = tail.trim_start_matches('\n');
    if exit.output_truncated {
        format!("[the program's output was longer than the harness keeps: its middle was left out]\n{tail}")
    } else {
        tail.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::normalise;

    macro_rules! fixture {
        ($name:expr) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/diagnostics/",
                $name
            ))
        };
    }

    /// Reads a recorded `NAME.status.txt`: `code N`, or `signal N`, optionally `timed-out`.
    fn parse_status(status: &str) -> ExitInfo {
        let words: Vec<&str> = status.split_whitespace().collect();
        let number = words[1].parse().expect("a status number");
        ExitInfo {
            code: (words[0] == "code").then_some(number),
            signal: (words[0] == "signal").then_some(number),
            timed_out: words.contains(&"timed-out"),
            output_truncated: false,
        }
    }

    /// Classifies a recorded run the way the harness does: normalise, then classify.
    macro_rules! classify_fixture {
        ($name:literal) => {{
            let exit = parse_status(fixture!(concat!($name, ".status.txt")));
            let stderr = normalise(fixture!(concat!($name, ".stderr.txt")), &[]);
            classify_run(&exit, &stderr).expect("the recorded run failed")
        }};
    }

    fn panic_stderr(message: &str) -> String {
        format!(
            "\nthread 'main' panicked at src/train.rs:40:10:\n{message}\n\
             note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n"
        )
    }

    fn classify_panic(message: &str) -> Category {
        let exit = ExitInfo {
            code: Some(101),
            ..ExitInfo::default()
        };
        classify_run(&exit, &panic_stderr(message))
            .expect("a panic is a failure")
            .category
    }

    #[test]
    fn parse_int_unwrap_is_panic_other() {
        let record = classify_fixture!("run_parse_int");
        assert_eq!(record.category, Category::PanicOther);
        insta::assert_yaml_snapshot!(record);
    }

    #[test]
    fn index_out_of_bounds_is_panic_other() {
        let record = classify_fixture!("run_index_oob");
        assert_eq!(record.category, Category::PanicOther);
        insta::assert_yaml_snapshot!(record);
    }

    #[test]
    fn shape_panic_is_tensor_shape() {
        let record = classify_fixture!("run_shape_panic");
        assert_eq!(record.category, Category::TensorShape);
        insta::assert_yaml_snapshot!(record);
    }

    #[test]
    fn missing_file_unwrap_is_data_io() {
        let record = classify_fixture!("run_file_missing");
        assert_eq!(record.category, Category::DataIo);
        insta::assert_yaml_snapshot!(record);
    }

    #[test]
    fn missing_file_display_is_data_io() {
        let record = classify_fixture!("run_file_missing_display");
        assert_eq!(record.category, Category::DataIo);
        insta::assert_yaml_snapshot!(record);
    }

    #[test]
    fn main_returning_io_error_is_data_io() {
        let record = classify_fixture!("run_main_err");
        assert_eq!(record.category, Category::DataIo);
        insta::assert_yaml_snapshot!(record);
    }

    #[test]
    fn failed_allocation_is_out_of_memory() {
        let record = classify_fixture!("run_alloc_fail");
        assert_eq!(record.category, Category::OutOfMemory);
        insta::assert_yaml_snapshot!(record);
    }

    #[test]
    fn exit_without_panic_is_nonzero_exit() {
        let record = classify_fixture!("run_exit_code");
        assert_eq!(record.category, Category::NonzeroExit);
        insta::assert_yaml_snapshot!(record);
    }

    #[test]
    fn first_panic_of_several_threads_wins() {
        let record = classify_fixture!("run_thread_panic");
        assert_eq!(record.message, "empty batch: no images were loaded");
        assert_eq!(record.line, Some(6));
        insta::assert_yaml_snapshot!(record);
    }

    #[test]
    fn stack_overflow_is_nonzero_exit() {
        let record = classify_fixture!("run_stack_overflow");
        assert_eq!(record.category, Category::NonzeroExit);
        insta::assert_yaml_snapshot!(record);
    }

    #[test]
    fn timeout() {
        let record = classify_fixture!("run_timeout");
        assert_eq!(record.category, Category::Timeout);
        insta::assert_yaml_snapshot!(record);
    }

    #[test]
    fn the_cpu_time_limit_is_a_timeout() {
        let exit = ExitInfo {
            signal: Some(24),
            ..ExitInfo::default()
        };
        let record = classify_run(&exit, "").expect("a kill is a failure");
        assert_eq!(record.category, Category::Timeout);
        assert!(
            record.message.contains("CPU-time limit"),
            "{}",
            record.message
        );
    }

    #[test]
    fn sigkill_without_timeout_is_out_of_memory() {
        let exit = ExitInfo {
            signal: Some(9),
            ..ExitInfo::default()
        };
        let stderr = normalise(fixture!("run_timeout.stderr.txt"), &[]);
        let record = classify_run(&exit, &stderr).expect("a kill is a failure");
        assert_eq!(record.category, Category::OutOfMemory);
        assert_eq!(
            record.message,
            "killed by signal 9 (SIGKILL): epoch 4/50: loss 0.6004 (<duration>)"
        );
    }

    #[test]
    fn success_is_not_a_failure() {
        let exit = ExitInfo {
            code: Some(0),
            ..ExitInfo::default()
        };
        assert_eq!(classify_run(&exit, "warning: slow disk\n"), None);
    }

    #[test]
    fn an_unknown_ending_is_a_failure() {
        let record = classify_run(&ExitInfo::default(), "").expect("no status is a failure");
        assert_eq!(record.category, Category::NonzeroExit);
        assert_eq!(record.message, "ended without an exit status");
    }

    #[test]
    fn tensor_shape_phrases() {
        for message in [
            "called `Result::unwrap()` on an `Err` value: Torch(\"mat1 and mat2 shapes cannot be multiplied (4x10 and 20x5)\")",
            "Torch(\"The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1\")",
            "Given groups=1, weight of size [64, 3, 3, 3], expected input[1, 1, 256, 256] to have 3 channels, but got 1 channels instead",
            "Expected input batch_size (4) to match target batch_size (2).",
            "Sizes of tensors must match except in dimension 1",
        ] {
            assert_eq!(classify_panic(message), Category::TensorShape, "{message}");
        }
    }

    #[test]
    fn device_dtype_phrases() {
        for message in [
            "Torch(\"expected scalar type Float but found Double\")",
            "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!",
            "Torch(\"Could not run 'aten::empty_strided' with arguments from the 'CUDA' backend\")",
            "called `Result::unwrap()` on an `Err` value: Kind(\"unsupported\")",
            "result type Float can't be cast to the desired output type Long",
        ] {
            assert_eq!(classify_panic(message), Category::DeviceDtype, "{message}");
        }
    }

    #[test]
    fn plain_english_is_not_a_tensor_or_device_error() {
        for message in [
            "called `Result::unwrap()` on an `Err` value: ParseIntError { kind: InvalidDigit }",
            "the kind of optimiser is not supported",
            "expected input directory to contain images",
            "not enough arguments",
        ] {
            assert_eq!(classify_panic(message), Category::PanicOther, "{message}");
        }
    }

    #[test]
    fn torch_stack_does_not_decide_the_category() {
        let message = "Torch(\"expected scalar type Float but found Double\n\
                       Exception raised from check at /pytorch/aten/src/ATen/native/TensorShape.cpp:12\")";
        assert_eq!(classify_panic(message), Category::DeviceDtype);
    }

    #[test]
    fn causes_after_a_blank_line_belong_to_the_panic() {
        let message = "called `Result::unwrap()` on an `Err` value: failed to load image\n\n\
                       Caused by:\n    No such file or directory (os error 2)";
        let exit = ExitInfo {
            code: Some(101),
            ..ExitInfo::default()
        };
        let record = classify_run(&exit, &panic_stderr(message)).expect("a failure");
        assert_eq!(record.category, Category::DataIo);
        assert_eq!(
            record.message,
            "called `Result::unwrap()` on an `Err` value: failed to load image Caused by: \
             No such file or directory (os error 2)"
        );
    }

    #[test]
    fn cuda_out_of_memory_is_out_of_memory() {
        let message = "Torch(\"CUDA out of memory. Tried to allocate 2.00 GiB\")";
        assert_eq!(classify_panic(message), Category::OutOfMemory);
    }

    #[test]
    fn loader_errors_without_a_panic_are_nonzero_exit() {
        let exit = ExitInfo {
            code: Some(127),
            ..ExitInfo::default()
        };
        let stderr = "./unet: error while loading shared libraries: libtorch_cuda.so: \
                      cannot open shared object file: No such file or directory\n";
        let record = classify_run(&exit, stderr).expect("a failure");
        assert_eq!(record.category, Category::NonzeroExit);
        assert!(record
            .message
            .starts_with("exited with code 127: ./unet: error"));
    }

    #[test]
    fn long_multi_line_messages_become_one_short_line() {
        let long = format!("assertion failed\n  left: {}\n right: 2", "x".repeat(400));
        let exit = ExitInfo {
            code: Some(101),
            ..ExitInfo::default()
        };
        let record = classify_run(&exit, &panic_stderr(&long)).expect("a failure");
        assert!(!record.message.contains('\n'));
        assert_eq!(record.message.chars().count(), MESSAGE_CHARS);
        assert!(record.message.starts_with("assertion failed left: xxx"));
        assert!(record.message.ends_with('…'));
    }

    #[test]
    fn rendered_keeps_the_last_lines_and_notes_truncation() {
        let stderr: String = (1..=100).map(|i| format!("line {i}\n")).collect();
        let exit = ExitInfo {
            code: Some(1),
            output_truncated: true,
            ..ExitInfo::default()
        };
        let record = classify_run(&exit, &stderr).expect("a failure");
        let rendered = record.rendered.expect("rendered text");
        let lines: Vec<&str> = rendered.lines().collect();
        assert_eq!(lines.len(), RENDERED_LINES + 1);
        assert!(lines[0].contains("its middle was left out"), "{}", lines[0]);
        assert_eq!(lines[1], "line 61");
        assert_eq!(lines[RENDERED_LINES], "line 100");
    }
}
