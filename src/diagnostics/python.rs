//! Classifies a Python error as a person pasted it (a traceback, or an editor's warning) into the
//! same coarse categories as Rust's runtime errors, with the exception type as the record's code.
//!
//! The exception is the last line of the text that reads `SomeError: message` (a chained
//! traceback ends with the one that was raised last). Its category comes first from the
//! exception type (a `NameError` is an unresolved name whatever its message), then from the
//! message's wording by the phrase lists the Rust classifier uses, with the wording PyTorch's
//! own messages add. Pure: text in, record out.

use std::sync::LazyLock;

use regex::Regex;

use super::runtime::{classify_run, contains_any, tensor_device_or_data};
use crate::exec::ExitInfo;
use crate::taxonomy::{Category, ErrorRecord};

/// The code given to an editor's "Unresolved reference" warning, which is no exception.
pub const IDE_UNRESOLVED: &str = "IDE:UnresolvedReference";

/// `NameError: name 'T' is not defined`, `torch.cuda.OutOfMemoryError: ...`, a bare
/// `KeyboardInterrupt`. The dotted module prefix is dropped.
static EXCEPTION_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(?:[A-Za-z_]\w*\.)*([A-Z]\w*(?:Error|Exception)|KeyboardInterrupt|StopIteration|SystemExit)(?::\s?(.*))?\s*$",
    )
    .expect("the exception pattern is valid")
});
/// A traceback frame: `File "C:\...\train.py", line 53, in forward`.
static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*File "([^"]+)", line (\d+)"#).expect("the frame pattern is valid")
});
/// PyCharm's inspection: `Unresolved reference 'nn'` (quotes of either kind).
static UNRESOLVED_REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"Unresolved reference ['‘"]([^'’"]+)['’"]"#).expect("the IDE pattern is valid")
});

/// PyTorch's wording about sizes that the Rust list (`shape`, `dimension`, ...) does not cover.
const PYTHON_SHAPE: [&str; 6] = [
    "equal size",
    "same size",
    "target size",
    "input size",
    "expected size",
    "size of tensor",
];

/// How many trailing lines of the pasted text a record keeps as its rendered text.
const RENDERED_LINES: usize = 40;
/// The longest one-line message a record keeps, in characters.
const MESSAGE_CHARS: usize = 300;

/// An exception inside a traceback whose line breaks were lost in the copy (one line from
/// `Traceback (most recent call last):` through the frames to `NameError: ...`).
static INLINE_EXCEPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b([A-Z]\w*(?:Error|Exception)): (.*)$").expect("the inline pattern is valid")
});

/// The exception a pasted text ends with: its type (without the module) and its message.
pub fn last_exception(text: &str) -> Option<(String, String)> {
    text.lines().rev().find_map(|line| {
        if let Some(captures) = EXCEPTION_LINE.captures(line) {
            let kind = captures.get(1)?.as_str().to_owned();
            let message = captures.get(2).map_or("", |m| m.as_str()).trim().to_owned();
            return Some((kind, message));
        }
        // A flattened traceback: the last `Type: message` on a line that holds a frame.
        if !(line.contains("Traceback (most recent call last)") || FRAME_ANYWHERE.is_match(line)) {
            return None;
        }
        let start = INLINE_EXCEPTION_START
            .find_iter(line)
            .last()
            .map(|m| m.start())?;
        let captures = INLINE_EXCEPTION.captures(&line[start..])?;
        Some((captures[1].to_owned(), captures[2].trim().to_owned()))
    })
}

/// Where an inline `Type: ` begins, to take the last one on the line.
static INLINE_EXCEPTION_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Z]\w*(?:Error|Exception): ").expect("the inline start pattern is valid")
});
/// A frame anywhere on a line.
static FRAME_ANYWHERE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"File "[^"]+", line \d+"#).expect("the frame pattern is valid"));

/// The category of an exception of type `kind` with `message`.
pub fn category_of(kind: &str, message: &str) -> Category {
    match kind {
        "NameError" | "UnboundLocalError" | "ImportError" | "ModuleNotFoundError" => {
            Category::UnresolvedName
        }
        IDE_UNRESOLVED => Category::UnresolvedName,
        "SyntaxError" | "IndentationError" | "TabError" => Category::Syntax,
        "FileNotFoundError" | "IsADirectoryError" | "NotADirectoryError" | "PermissionError" => {
            Category::DataIo
        }
        "OutOfMemoryError" | "MemoryError" => Category::OutOfMemory,
        _ => {
            if contains_any(message, &PYTHON_SHAPE) {
                return Category::TensorShape;
            }
            match tensor_device_or_data(message) {
                Some(category) => category,
                // A call with the wrong arguments or an attribute that is not there: the API
                // was used wrongly.
                None if kind == "TypeError" || kind == "AttributeError" => Category::ApiMisuse,
                None => Category::PanicOther,
            }
        }
    }
}

/// The classified error a pasted text shows: its last exception, else an editor's
/// "Unresolved reference" warning; `None` when it shows neither.
pub fn classify_pasted(text: &str) -> Option<ErrorRecord> {
    let (kind, message) = match last_exception(text) {
        Some(found) => found,
        None => {
            let captures = UNRESOLVED_REFERENCE.captures(text)?;
            (
                IDE_UNRESOLVED.to_owned(),
                format!("Unresolved reference '{}'", &captures[1]),
            )
        }
    };
    let category = category_of(&kind, &message);
    let (file, line) = last_own_frame(text);
    let summary = if message.is_empty() || kind == IDE_UNRESOLVED {
        if message.is_empty() {
            kind.clone()
        } else {
            message.clone()
        }
    } else {
        format!("{kind}: {message}")
    };
    Some(ErrorRecord {
        category,
        code: Some(kind),
        message: shorten(&summary),
        file,
        line,
        rendered: Some(tail(text)),
    })
}

/// A failed run of a Python program: its traceback's exception where it printed one (with the
/// end of stderr as the rendered text), else what the exit says (a timeout, a memory kill, a
/// bare nonzero exit), as for any program. `None` when it succeeded. `stderr` must already be
/// normalised.
pub fn classify_python_run(exit: &ExitInfo, stderr: &str) -> Option<ErrorRecord> {
    let by_exit = classify_run(exit, stderr)?;
    if matches!(by_exit.category, Category::Timeout | Category::OutOfMemory) {
        return Some(by_exit);
    }
    Some(classify_pasted(stderr).unwrap_or(by_exit))
}

/// The last traceback frame in the program's own files (not in an installed package), as a
/// file name and line.
fn last_own_frame(text: &str) -> (Option<String>, Option<u32>) {
    text.lines()
        .rev()
        .filter_map(|line| FRAME.captures(line))
        .find(|captures| {
            let path = captures[1].to_lowercase().replace('\\', "/");
            !path.contains("site-packages") && !path.contains("/lib/python")
        })
        .map_or((None, None), |captures| {
            let path = captures[1].replace('\\', "/");
            let name = path.rsplit('/').next().unwrap_or(&path).to_owned();
            (Some(name), captures[2].parse().ok())
        })
}

fn shorten(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    match line.char_indices().nth(MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_owned(),
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(RENDERED_LINES)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(text: &str) -> (Category, String, String) {
        let record = classify_pasted(text).expect("an error");
        (record.category, record.code.unwrap(), record.message)
    }

    // The messages below are the ones the study's chats paste (errors_paper_detail.csv).
    #[test]
    fn names_and_imports_are_unresolved_names() {
        let text = "Traceback (most recent call last):\n  File \"C:\\Users\\x\\main.py\", line 24, in <module>\n    dataset = SegmentationDataset(image_dir=data_dir, transform=T.ToTensor())\nNameError: name 'T' is not defined";
        let record = classify_pasted(text).unwrap();
        assert_eq!(record.category, Category::UnresolvedName);
        assert_eq!(record.code.as_deref(), Some("NameError"));
        assert_eq!(record.message, "NameError: name 'T' is not defined");
        assert_eq!(record.file.as_deref(), Some("main.py"));
        assert_eq!(record.line, Some(24));
        let (category, code, _) = classify("ModuleNotFoundError: No module named 'torchinfo'");
        assert_eq!(
            (category, code.as_str()),
            (Category::UnresolvedName, "ModuleNotFoundError")
        );
    }

    #[test]
    fn pytorch_size_messages_are_tensor_shape() {
        for text in [
            "RuntimeError: stack expects each tensor to be equal size, but got [1, 352, 256] at entry 0 and [1, 512, 256] at entry 1",
            "RuntimeError: Sizes of tensors must match except in dimension 1. Expected size 16 but got size 32 for tensor number 1 in the list.",
            "ValueError: Using a target size (torch.Size([8, 1, 256, 256])) that is different to the input size (torch.Size([8, 1, 128, 128])) is deprecated. Please ensure they have the same size.",
            "ValueError: Target size (torch.Size([16, 1, 128, 128])) must be the same as input size (torch.Size([16, 1, 64, 64]))",
        ] {
            assert_eq!(classify(text).0, Category::TensorShape, "{text}");
        }
    }

    #[test]
    fn device_dtype_files_and_api_misuse() {
        let device = "RuntimeError: Input type (torch.cuda.FloatTensor) and weight type (torch.FloatTensor) should be the same or input should be a MKLDNN tensor and weight is a dense tensor";
        // "weight type": the Rust list's "dtype" does not match it, CUDA as a word does.
        assert_eq!(classify(device).0, Category::DeviceDtype);
        let missing = "FileNotFoundError: [Errno 2] No such file or directory: '..\\\\subset\\\\4197_seg_seg.png'";
        assert_eq!(classify(missing).0, Category::DataIo);
        let call = "TypeError: Compose.__call__() takes 2 positional arguments but 3 were given";
        assert_eq!(classify(call).0, Category::ApiMisuse);
        let attribute = "AttributeError: 'NoneType' object has no attribute 'size'";
        assert_eq!(classify(attribute).0, Category::ApiMisuse);
        let sheet =
            "ValueError: Sheet 'Sheet1' already exists and if_sheet_exists is set to 'error'.";
        assert_eq!(classify(sheet).0, Category::PanicOther);
    }

    #[test]
    fn the_last_exception_of_a_chained_traceback_is_the_one() {
        let text = "Traceback (most recent call last):\nKeyError: 'mask'\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"/home/u/.venv/lib/python3.11/site-packages/torch/x.py\", line 9, in f\nRuntimeError: Sizes of tensors must match except in dimension 1.";
        let record = classify_pasted(text).unwrap();
        assert_eq!(record.code.as_deref(), Some("RuntimeError"));
        assert_eq!(
            record.file, None,
            "a frame inside an installed package is not the program's"
        );
    }

    #[test]
    fn an_editor_warning_is_an_unresolved_name_and_prose_is_nothing() {
        let (category, code, message) = classify("Unresolved reference 'nn' :14");
        assert_eq!(category, Category::UnresolvedName);
        assert_eq!(code, IDE_UNRESOLVED);
        assert_eq!(message, "Unresolved reference 'nn'");
        assert!(classify_pasted("write the whole corrected model.py").is_none());
        assert!(classify_pasted("    raise ValueError(\n").is_none());
        assert!(classify_pasted("Epoch 1/10: 100%|██████| train loss 0.41").is_none());
    }

    #[test]
    fn a_failed_run_is_its_traceback_unless_a_limit_stopped_it() {
        let failed = ExitInfo {
            code: Some(1),
            ..Default::default()
        };
        let stderr = "Epoch 1 train:   0%|          | 0/2\nTraceback (most recent call last):\n  File \"main.py\", line 9, in <module>\nValueError: Target size (torch.Size([2, 1, 64, 64])) must be the same as input size (torch.Size([2, 1, 32, 32]))\n";
        let record = classify_python_run(&failed, stderr).unwrap();
        assert_eq!(record.category, Category::TensorShape);
        assert_eq!(record.code.as_deref(), Some("ValueError"));
        assert_eq!(record.file.as_deref(), Some("main.py"));
        let timed_out = ExitInfo {
            timed_out: true,
            signal: Some(9),
            ..Default::default()
        };
        assert_eq!(
            classify_python_run(&timed_out, stderr).unwrap().category,
            Category::Timeout
        );
        let bare = classify_python_run(&failed, "Killed\n").unwrap();
        assert_eq!(bare.category, Category::NonzeroExit);
        let fine = ExitInfo {
            code: Some(0),
            ..Default::default()
        };
        assert!(classify_python_run(&fine, stderr).is_none());
    }

    #[test]
    fn a_traceback_flattened_onto_one_line_is_read() {
        // As GitHub Copilot's chat panel leaves a pasted traceback: every line break lost.
        let text = "Testing: 100%|██████████| 32/32 [00:00<00:00, 95.27it/s] Traceback (most recent call last): File \"D:\\u\\main.py\", line 37, in <module> test_model(m) File \"D:\\u\\train.py\", line 84, in test_model raise TypeError(f\"Invalid shape {A.shape} for image data\") TypeError: Invalid shape (5, 128, 128) for image data";
        let record = classify_pasted(text).unwrap();
        assert_eq!(record.code.as_deref(), Some("TypeError"));
        assert_eq!(
            record.message,
            "TypeError: Invalid shape (5, 128, 128) for image data"
        );
        // Prose that names an error is not a traceback.
        assert!(classify_pasted("The error RuntimeError: x means the sizes differ").is_none());
    }
}
