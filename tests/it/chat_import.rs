//! `harness import-chat`: the study's 2024 chats read into runs, each count pinned (with how it
//! was checked by reading the chat), the study's table rebuilt from them, and bad exports
//! refused without writing anything.
//!
//! The chats are not in the repository (`../shared/reference/study/chats/`, Apache-2.0, from
//! the study ankilab/LLM_based_Segmentation); the tests that need them say SKIPPED without them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use harness::transcript::{read_transcript, Event, Transcript};

use crate::support::harness::Harness;
use crate::support::skip::{skip, Needs};

fn chats_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/study/chats");
    if dir.is_dir() {
        Some(dir)
    } else {
        skip(
            Needs::SharedData,
            format!("no copy of the study's chats at {}", dir.display()),
        );
        None
    }
}

/// What one chat must import as.
struct Expected {
    llm: &'static str,
    file: &'static str,
    layout: &'static str,
    rounds: usize,
    /// Errors pasted before the code first ran, by exception type.
    types: &'static [(&'static str, u32)],
    distinct: u32,
    /// Lines (1-based) of the export where each pasted error's user turn ends.
    last_lines: &'static [usize],
    unsure: usize,
}

// Each row was checked by reading the chat line by line (`cat -n`); the line numbers are the
// last line of each pasted turn, where the exception (or `Process finished ...`) is.
const PYTORCH: [Expected; 8] = [
    // ChatGPT web: `You said:` / `ChatGPT said:` markers. Pasted: `NameError: name 'T'` (335),
    // the collate `stack expects each tensor to be equal size` RuntimeError (393), the skip
    // connection's `Sizes of tensors must match` RuntimeError (562, with `Process finished`
    // at 564) and the target-size ValueError (682). The chat ends on the reply to the last.
    Expected {
        llm: "gpt-4o",
        file: "pytorch-2024/GPT_4o_chat.txt",
        layout: "chatgpt",
        rounds: 5,
        types: &[("NameError", 1), ("RuntimeError", 2), ("ValueError", 1)],
        distinct: 4,
        last_lines: &[335, 393, 564, 682],
        unsure: 0,
    },
    // Three missing imports pasted one after the other: `DataLoader` (256), `Adam` (286),
    // `nn` (314); then three feature requests with no error (341, 431, 514).
    Expected {
        llm: "gpt-4",
        file: "pytorch-2024/GPT4_chat.txt",
        layout: "chatgpt",
        rounds: 7,
        types: &[("NameError", 3)],
        distinct: 3,
        last_lines: &[256, 286, 314],
        unsure: 0,
    },
    // o1's bare `ChatGPT` + `Thought for 72 seconds` markers. One paste: `Epoch 2/3`, then
    // pandas' `ValueError: Sheet 'Sheet1' already exists` (530), `Process finished` (532).
    Expected {
        llm: "o1-preview",
        file: "pytorch-2024/GPT_o1_preview_chat.txt",
        layout: "chatgpt",
        rounds: 2,
        types: &[("ValueError", 1)],
        distinct: 1,
        last_lines: &[532],
        unsure: 0,
    },
    // Poe: the page text up to `OFFICIAL` (line 17), the prompt, one reply; no error.
    Expected {
        llm: "claude-3.5-sonnet",
        file: "pytorch-2024/Claude_chat.txt",
        layout: "poe",
        rounds: 1,
        types: &[],
        distinct: 0,
        last_lines: &[],
        unsure: 0,
    },
    // Poe; each paste starts with PyCharm's interpreter line. Nine errors: ValueError (random
    // split, 282), TypeError (collate of PIL images, 339), RuntimeError (stack, 411),
    // RuntimeError (Input type, 482), ValueError (target size, 552), NameError `F` (592),
    // the same target-size ValueError again (the one repeat), RuntimeError (size of tensor a,
    // 674), ValueError (not enough values to unpack, 723).
    Expected {
        llm: "llama-3.1-405b",
        file: "pytorch-2024/LLAMA_chat.txt",
        layout: "poe",
        rounds: 10,
        types: &[
            ("NameError", 1),
            ("RuntimeError", 3),
            ("TypeError", 1),
            ("ValueError", 4),
        ],
        distinct: 8,
        last_lines: &[284, 341, 413, 484, 552, 592, 629, 676, 725],
        unsure: 0,
    },
    // Bing: `You` / `Copilot` lines; the prompt sent in five parts (each answered "Read.").
    // Pasted: NameError `transforms` (588), a RuntimeError `stack expects ...` cut off in the
    // paste (665), AttributeError `'UNet' object has no attribute 'encoder0'` (778).
    Expected {
        llm: "bing-copilot",
        file: "pytorch-2024/Bing_copilot_chat.txt",
        layout: "bing-copilot",
        rounds: 10,
        types: &[("AttributeError", 1), ("NameError", 1), ("RuntimeError", 1)],
        distinct: 3,
        last_lines: &[590, 665, 780],
        unsure: 0,
    },
    // GitHub Copilot in PyCharm: no user marker at all, the first reply unmarked (from its
    // `### Step-by-Step Plan` heading, line 47: the one unsure turn), each traceback pasted
    // on one line: NameError `nn` (522), NameError `optim` (567), TypeError `Invalid shape`
    // (618), RuntimeError `Can't call numpy()` (724).
    Expected {
        llm: "github-copilot",
        file: "pytorch-2024/Copilot_chat.txt",
        layout: "github-copilot",
        rounds: 5,
        types: &[("NameError", 2), ("RuntimeError", 1), ("TypeError", 1)],
        distinct: 4,
        last_lines: &[522, 569, 620, 726],
        unsure: 1,
    },
    // Poe, 26 replies. 20 pastes: 18 tracebacks and 2 PyCharm warnings (`Unresolved
    // reference 'F'` at 1084, `'dice_coeff'` at 1770); 7 repeat an earlier one (Sizes of
    // tensors x3, Input type x3, target size x2, can't convert cuda:0 x3). Five user turns
    // carry no marker and no console text (instructions at 557, 833, 1243, 1464 and a shape
    // printout at 776-780): recovered by position, so unsure.
    Expected {
        llm: "gemini-1.5-pro",
        file: "pytorch-2024/Gemini_chat.txt",
        layout: "poe",
        rounds: 26,
        types: &[
            ("AttributeError", 3),
            ("IDE:UnresolvedReference", 2),
            ("NameError", 1),
            ("RuntimeError", 9),
            ("TypeError", 3),
            ("ValueError", 2),
        ],
        distinct: 13,
        last_lines: &[
            442, 497, 665, 739, 943, 1026, 1084, 1154, 1376, 1584, 1650, 1723, 1770, 1854, 1916,
            1976, 2023, 2090, 2139, 2198,
        ],
        unsure: 5,
    },
];

/// The TensorFlow side test: (llm, file, layout, replies). No chat pastes an error.
const TENSORFLOW: [(&str, &str, &str, usize); 8] = [
    ("gpt-4o", "GPT_4o_chat_Tf.txt", "chatgpt", 1),
    ("gpt-4", "GPT4_chat_Tf.txt", "chatgpt", 1),
    ("o1-preview", "GPT_o1_preview_chat_Tf.txt", "chatgpt", 1),
    ("claude-3.5-sonnet", "Claude_chat_Tf.txt", "poe", 1),
    ("llama-3.1-405b", "LLAMA_chat_Tf.txt", "poe", 1),
    // The copy starts inside the first message; the prompt in two parts, `continue` between.
    (
        "bing-copilot",
        "Bing_copilot_chat_Tf.txt",
        "bing-copilot",
        2,
    ),
    // `JArjomandi: ` and `GitHub Copilot: ` before each turn, Markdown fences.
    ("github-copilot", "Copilot_chat_Tf.txt", "github-copilot", 1),
    // A reply cut by Poe's output limit, then `continue`.
    ("gemini-1.5-pro", "Gemini_chat_Tf.txt", "poe", 2),
];

fn import(harness: &Harness, llm: &str, file: &Path) -> Transcript {
    let out = harness
        .run(&["import-chat", "--llm", llm, &file.to_string_lossy()])
        .expect_code(0);
    let dir = out
        .stdout
        .lines()
        .next()
        .and_then(|line| line.rsplit(": ").next())
        .expect("the run folder is printed first");
    read_transcript(&Path::new(dir).join("transcript.yaml")).expect("an imported run reads")
}

#[test]
fn every_2024_pytorch_chat_imports_with_its_counts() {
    let Some(chats) = chats_dir() else {
        return;
    };
    let harness = Harness::new();
    for expected in &PYTORCH {
        let run = import(&harness, expected.llm, &chats.join(expected.file));
        let import = run.header.imported.as_deref().expect("marked as imported");
        let what = expected.file;
        assert_eq!(import.layout, expected.layout, "{what}");
        assert_eq!(import.language, "pytorch", "{what}");
        assert_eq!(run.header.target.id, "chat-python-pytorch", "{what}");
        let replies = run
            .events
            .iter()
            .filter(|e| matches!(e, Event::Reply(_)))
            .count();
        assert_eq!(replies, expected.rounds, "{what}: rounds");
        let mut types: BTreeMap<String, u32> = BTreeMap::new();
        for outcome in run.outcomes() {
            for error in &outcome.errors {
                *types.entry(error.code.clone().unwrap()).or_default() += 1;
            }
        }
        let expected_types: BTreeMap<String, u32> = expected
            .types
            .iter()
            .map(|(kind, n)| (kind.to_string(), *n))
            .collect();
        assert_eq!(types, expected_types, "{what}: errors by exception type");
        let distinct = import
            .errors
            .iter()
            .filter(|e| e.repeat_of.is_none())
            .count();
        assert_eq!(distinct as u32, expected.distinct, "{what}: distinct");
        let last_lines: Vec<usize> = import.errors.iter().map(|e| e.lines[1]).collect();
        assert_eq!(
            last_lines, expected.last_lines,
            "{what}: where each paste ends"
        );
        assert_eq!(
            import.unsure.len(),
            expected.unsure,
            "{what}: {:#?}",
            import.unsure
        );
        assert_eq!(
            import.first_clean_run, None,
            "{what}: no chat shows a clean run"
        );
        assert!(run.header.llm.id == expected.llm);
    }
    // The study's table, rebuilt from the runs alone.
    let table = harness.run(&["report", "errors"]).expect_code(0).stdout;
    for row in [
        "| gpt-4o | pytorch | 1 | 5 | 4 | 4 | 0 |",
        "| gpt-4 | pytorch | 1 | 7 | 3 | 3 | 0 |",
        "| o1-preview | pytorch | 1 | 2 | 1 | 1 | 0 |",
        "| claude-3.5-sonnet | pytorch | 1 | 1 | 0 | 0 | 0 |",
        "| llama-3.1-405b | pytorch | 1 | 10 | 9 | 8 | 0 |",
        "| bing-copilot | pytorch | 1 | 10 | 3 | 3 | 0 |",
        "| github-copilot | pytorch | 1 | 5 | 4 | 4 | 0 |",
        "| gemini-1.5-pro | pytorch | 1 | 26 | 20 | 13 | 0 |",
    ] {
        assert!(table.contains(row), "missing {row} in\n{table}");
    }
    for ending in [
        "| 4 | 0 |",   // gpt-4o: published 4
        "| 6 | -3 |",  // bing: published 6
        "| 11 | -2 |", // llama: published 11
        "| 15 | +5 |", // gemini: published 15
        "| 0 | +1 |",  // o1-preview: published 0
    ] {
        assert!(table.contains(ending), "missing {ending} in\n{table}");
    }
    for reason in [
        "IDE:UnresolvedReference -3: the study lists 3 editor warning(s) that were never pasted into the chat (I6)",
        "IDE:UnresolvedReference -2: the study lists 2 editor warning(s)",
        "RuntimeError +2: 2 of the chat's 4 repeated paste(s) of it",
        "TypeError +1: 1 of the chat's 2 repeated paste(s) of it",
        "AttributeError +1: 1 raised once training had begun",
        "IDE:UnresolvedReference +1: 1 not explained",
        "ValueError +1: 1 raised once training had begun",
    ] {
        assert!(table.contains(reason), "missing {reason:?} in\n{table}");
    }
    // API rows and chat rows never share a row: each chat row names its target.
    assert!(
        table.contains("| gemini-1.5-pro [chat-python-pytorch] |"),
        "{table}"
    );
}

#[test]
fn every_2024_tensorflow_chat_imports_without_errors() {
    let Some(chats) = chats_dir() else {
        return;
    };
    let harness = Harness::new();
    for (llm, file, layout, replies) in TENSORFLOW {
        let run = import(&harness, llm, &chats.join("tensorflow-2024").join(file));
        let import = run.header.imported.as_deref().unwrap();
        assert_eq!(import.layout, layout, "{file}");
        assert_eq!(import.language, "tensorflow", "{file}");
        let count = run
            .events
            .iter()
            .filter(|e| matches!(e, Event::Reply(_)))
            .count();
        assert_eq!(count, replies, "{file}");
        assert!(import.errors.is_empty(), "{file}: {:?}", import.errors);
    }
    let table = harness.run(&["report", "errors"]).expect_code(0).stdout;
    assert!(
        table.contains(
            "| gemini-1.5-pro | tensorflow | 1 | 2 | 0 | 0 | 0 | - | - | none published | - |"
        ),
        "{table}"
    );
}

#[test]
fn importing_the_same_export_twice_writes_nothing_the_second_time() {
    let harness = Harness::new();
    let chat = harness.root().join("chat.txt");
    std::fs::write(&chat, CHATGPT_EXCERPT).unwrap();
    harness
        .run(&["import-chat", "--llm", "gpt-4o", "chat.txt"])
        .expect_code(0);
    let before = listing(&harness.runs_dir());
    let again = harness
        .run(&["import-chat", "--llm", "gpt-4o", "chat.txt"])
        .expect_code(2);
    assert!(
        again.stderr.contains("already imported"),
        "{}",
        again.stderr
    );
    assert_eq!(listing(&harness.runs_dir()), before);
}

/// A hand-written excerpt in chatgpt.com's layout (a fixture, not the study's text).
const CHATGPT_EXCERPT: &str = "Please write a U-Net in PyTorch.\nChatGPT said:\nChatGPT\nHere it is.\npython\nCopy code\n# main.py\nimport torch\nprint(torch.nn)\nThis prints the module.\n\n\n\n\n\n\nYou said:\nTraceback (most recent call last):\n  File \"main.py\", line 2, in <module>\nNameError: name 'torch' is not defined\nChatGPT said:\nChatGPT\nInstall torch.";

fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = walk(dir);
    found.sort();
    found
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

#[test]
fn empty_binary_and_unrecognised_exports_are_refused_and_nothing_is_written() {
    let harness = Harness::new();
    let root = harness.root();
    std::fs::write(root.join("good.txt"), CHATGPT_EXCERPT).unwrap();
    std::fs::write(root.join("empty.txt"), "  \n\n").unwrap();
    std::fs::write(root.join("binary.txt"), b"PK\x03\x04\x00\x00binary").unwrap();
    std::fs::write(
        root.join("notes.txt"),
        "some notes about a U-Net\nno chat here\n",
    )
    .unwrap();
    for (file, says) in [
        ("empty.txt", "empty.txt is empty"),
        ("binary.txt", "binary.txt is not text"),
        (
            "notes.txt",
            "notes.txt: no chat window's layout was recognised; name it with --layout (chatgpt, bing-copilot, github-copilot, poe, generic)",
        ),
    ] {
        // The good export comes first: a batch with one bad file writes nothing at all.
        let out = harness
            .run(&["import-chat", "--llm", "gpt-4o", "good.txt", file])
            .expect_code(2);
        assert!(out.stderr.contains(says), "{file}: {}", out.stderr);
        assert!(listing(&harness.runs_dir()).is_empty(), "{file} wrote something");
    }
    // An unknown LLM, a layout or language that does not exist: refused before reading.
    let unknown = harness
        .run(&["import-chat", "--llm", "gpt-5-turbo", "good.txt"])
        .expect_code(2);
    assert!(unknown.stderr.contains("gpt-5-turbo"), "{}", unknown.stderr);
    let layout = harness
        .run(&[
            "import-chat",
            "--llm",
            "gpt-4o",
            "--layout",
            "slack",
            "good.txt",
        ])
        .expect_code(2);
    assert!(
        layout.stderr.contains("auto, chatgpt, bing-copilot"),
        "{}",
        layout.stderr
    );
    let language = harness
        .run(&[
            "import-chat",
            "--llm",
            "gpt-4o",
            "--language",
            "jax",
            "good.txt",
        ])
        .expect_code(2);
    assert!(
        language.stderr.contains("pytorch or tensorflow"),
        "{}",
        language.stderr
    );
    assert!(listing(&harness.runs_dir()).is_empty());
    // With --layout given, the same notes import as a generic chat only if they have its
    // markers; they have none, so nothing is found.
    let forced = harness
        .run(&[
            "import-chat",
            "--llm",
            "gpt-4o",
            "--layout",
            "generic",
            "notes.txt",
        ])
        .expect_code(2);
    assert!(
        forced.stderr.contains("no reply was found"),
        "{}",
        forced.stderr
    );
}

#[test]
fn an_imported_run_is_replayed_as_a_recount_and_reported_like_any_run() {
    let harness = Harness::new();
    std::fs::write(harness.root().join("chat.txt"), CHATGPT_EXCERPT).unwrap();
    let out = harness
        .run(&["import-chat", "--llm", "gpt-4o", "chat.txt"])
        .expect_code(0);
    assert!(
        out.stdout
            .contains("errors pasted before the code first ran: 1 (1 distinct)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("layout: chatgpt (recognised by line 2: \"ChatGPT said:\""),
        "{}",
        out.stdout
    );
    let replay = harness.run(&["replay"]).expect_code(0);
    assert!(
        replay
            .stdout
            .contains("1 round(s) and 1 diagnostic(s) charged to the LLM")
            && replay
                .stdout
                .contains("imported from the chat export chat.txt, so nothing is re-executed"),
        "{}",
        replay.stdout
    );
    let table = harness.run(&["report", "errors"]).expect_code(0).stdout;
    assert!(
        table.contains("| gpt-4o [chat-python-pytorch] | 1 | 1 |"),
        "{table}"
    );
    assert!(
        table.contains(
            "| gpt-4o | pytorch | 1 | 2 | 1 | 1 | 0 | unresolved-name 1 | NameError 1 | 4 | -3 |"
        ),
        "{table}"
    );
    // The run's crate holds the file its reply named.
    let run_dir = std::fs::read_dir(harness.runs_dir())
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let main = std::fs::read_to_string(run_dir.join("crate/main.py")).unwrap();
    assert_eq!(main, "# main.py\nimport torch\nprint(torch.nn)");
    let html = harness
        .run(&["report", "html", "--out", "html"])
        .expect_code(0);
    assert!(html.stdout.contains("index.html"), "{}", html.stdout);
    let index = std::fs::read_to_string(harness.root().join("html/index.html")).unwrap();
    assert!(index.contains("<section id=\"chats\">") && index.contains("href=\"#chats\""));
    assert!(
        index.contains("<td class=\"n\">4</td><td class=\"n\">-3</td>"),
        "the study's column"
    );
}

#[test]
fn a_chat_only_llm_cannot_be_generated_and_says_to_import() {
    let harness = Harness::new();
    let out = harness
        .run(&["generate", "--llm", "bing-copilot", "--target", "rust-tiny"])
        .expect_code(2);
    assert!(
        out.stderr.contains("`bing-copilot` has no API")
            && out
                .stderr
                .contains("harness import-chat FILE --llm bing-copilot"),
        "{}",
        out.stderr
    );
    assert!(listing(&harness.runs_dir()).is_empty());
}
