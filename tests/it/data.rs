//! `harness data`: the real binary draws the synthetic set, imports CHASE_DB1 and checks folders.

use std::path::{Path, PathBuf};

use crate::support::field;
use crate::support::harness::Harness;
use crate::support::skip::{skip, Needs};

#[test]
fn synth_writes_a_seeded_dataset_and_summarises_it() {
    let harness = Harness::new();
    let synth = |out: &str, seed: &str| {
        harness.run(&[
            "data", "synth", "--kind", "glottis", "--n", "30", "--size", "48", "--seed", seed,
            "--out", out,
        ])
    };
    let first = synth("one", "4").expect_code(0);
    assert_eq!(field(&first.stdout, "dataset"), "synthetic-glottis");
    assert_eq!(field(&first.stdout, "pairs"), "30");
    assert_eq!(field(&first.stdout, "size"), "48x48");
    assert_eq!(field(&first.stdout, "empty masks"), "3 (10.0%)");
    let foreground: f64 = field(&first.stdout, "mean foreground")
        .trim_end_matches('%')
        .parse()
        .unwrap();
    assert!((1.0..8.0).contains(&foreground), "{foreground}");
    // Progress is for terminals only; stderr carries one closing line.
    assert!(first.stderr.contains("wrote 30 pairs"), "{}", first.stderr);

    let pairs = harness::dataset::scan(&harness.root().join("one")).unwrap();
    assert_eq!(pairs.len(), 30);

    let again = synth("two", "4").expect_code(0);
    assert_eq!(
        field(&again.stdout, "fingerprint"),
        field(&first.stdout, "fingerprint")
    );
    let other = synth("three", "5").expect_code(0);
    assert_ne!(
        field(&other.stdout, "fingerprint"),
        field(&first.stdout, "fingerprint")
    );

    // Into a folder that holds something: a user error, exit code 2, nothing overwritten.
    let refused = synth("one", "9").expect_code(2);
    assert!(refused.stderr.contains("not empty"), "{}", refused.stderr);
}

#[test]
fn check_summarises_a_dataset_or_says_what_is_wrong() {
    let harness = Harness::new();
    let dir = harness.root().join("smoke");
    harness::dataset::write_smoke_set(&dir).unwrap();
    let done = harness.run(&["data", "check", "smoke"]).expect_code(0);
    assert_eq!(field(&done.stdout, "pairs"), "20");
    assert!(field(&done.stdout, "sizes").contains(" to "));

    std::fs::remove_file(dir.join("masks/7_seg.png")).unwrap();
    let failed = harness.run(&["data", "check", "smoke"]).expect_code(2);
    assert!(failed.stderr.contains("7.png"), "{}", failed.stderr);
    assert!(failed.stdout.is_empty());
}

/// The shared copy of CHASE_DB1 beside the repository, where this machine has one.
fn shared_chase() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/chase_db1");
    if path.is_dir() {
        Some(path)
    } else {
        skip(
            Needs::SharedData,
            format!("no copy of CHASE_DB1 at {}", path.display()),
        );
        None
    }
}

#[test]
fn import_chase_db1_from_the_shared_copy() {
    let Some(source) = shared_chase() else {
        return;
    };
    let harness = Harness::new();
    let out = harness.root().join("chase");
    let done = harness
        .run(&[
            "data",
            "import",
            "chase-db1",
            &source.to_string_lossy(),
            "--out",
            "chase",
        ])
        .expect_code(0);
    assert_eq!(field(&done.stdout, "dataset"), "chase-db1");
    assert_eq!(field(&done.stdout, "pairs"), "28");
    assert_eq!(field(&done.stdout, "size"), "999x960");
    assert_eq!(field(&done.stdout, "empty masks"), "0 (0.0%)");
    let pairs = harness::dataset::scan(&out).unwrap();
    assert_eq!(pairs[0].name, "Image_01L");
    assert_eq!(pairs[27].name, "Image_14R");
}

#[test]
fn import_refuses_what_is_not_chase_db1() {
    let harness = Harness::new();
    std::fs::create_dir(harness.root().join("empty")).unwrap();
    let failed = harness
        .run(&["data", "import", "chase-db1", "empty", "--out", "out"])
        .expect_code(2);
    assert!(
        failed.stderr.contains("no CHASE_DB1 images"),
        "{}",
        failed.stderr
    );
    assert!(!harness.root().join("out").exists());
}

/// Every file below `dir` with its bytes: what "changes nothing" is checked against.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn a_corrupt_png_or_an_empty_dataset_is_named_with_exit_code_2_and_nothing_changes() {
    let harness = Harness::new();
    let dir = harness.root().join("smoke");
    harness::dataset::write_smoke_set(&dir).unwrap();
    let image = dir.join("images/3.png");
    let bytes = std::fs::read(&image).unwrap();
    std::fs::write(&image, &bytes[..bytes.len() / 2]).unwrap();
    let before = snapshot(&dir);
    let corrupt = harness.run(&["data", "check", "smoke"]).expect_code(2);
    assert!(corrupt.stderr.contains("3.png"), "{}", corrupt.stderr);
    assert_eq!(snapshot(&dir), before, "the dataset was left as it was");

    let empty = harness.root().join("empty");
    std::fs::create_dir_all(empty.join("images")).unwrap();
    std::fs::create_dir_all(empty.join("masks")).unwrap();
    std::fs::write(empty.join("images/notes.txt"), b"not an image").unwrap();
    let before = snapshot(&empty);
    let refused = harness.run(&["data", "check", "empty"]).expect_code(2);
    assert!(
        refused.stderr.contains("no image/mask pairs in empty"),
        "{}",
        refused.stderr
    );
    assert!(refused.stdout.is_empty(), "{}", refused.stdout);
    assert_eq!(snapshot(&empty), before);
}
