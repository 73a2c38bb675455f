//! `harness report figures` on the committed fixture run, twice over (two repeats), one of them
//! trained: a training event appended with per-image Dice, the program's loss files and
//! predictions in its artefacts, and the held-out split laid out in a cache folder. Every PNG
//! must decode at its size, every SVG be well-formed and every CSV hold the expected rows. The
//! figures are left under the target folder (`tmp/figures-fixture/`) for a person to look at.

use std::path::{Path, PathBuf};

use crate::e2e::committed_run;
use crate::support::harness::Harness;

const DATASET: &str = "synthetic-glottis";
const FINGERPRINT: &str = "f1e2d3c4b5a69788f1e2d3c4b5a69788f1e2d3c4b5a69788f1e2d3c4b5a69788";
const SPLIT_HASH: &str = "a1b2c3d4e5f60718a1b2c3d4e5f60718a1b2c3d4e5f60718a1b2c3d4e5f60718";
const ARTEFACTS: &str = "artefacts/synthetic-glottis-20261204T000000Z";
/// Per-image Dice of the trained run's five held-out images.
const DICE: [(&str, f64); 5] = [
    ("a", 0.91),
    ("b", 0.35),
    ("c", 0.72),
    ("d", 0.0),
    ("e", 0.64),
];

fn training_event() -> String {
    let per_image: String = DICE
        .iter()
        .map(|(name, dice)| {
            format!(
                "- name: '{name}'\n  dice: {dice}\n  predicted: {}\n",
                *name != "d"
            )
        })
        .collect();
    format!(
        "---\nevent: training\ndataset:\n  name: {DATASET}\n  fingerprint: {FINGERPRINT}\n  split_seed: 0\n  split_hash: {SPLIT_HASH}\n  train_pairs: 45\n  test_pairs: 5\nepochs: 3\ngpu: false\nstarted_at: 2026-12-04T00:00:00Z\ntrain_ms: 12000\npredict_ms: 900\ndice:\n  count: 5\n  mean: 0.524\n  median: 0.64\n  std: 0.35\n  min: 0.0\n  max: 0.91\n  q1: 0.35\n  q3: 0.72\nmissing_predictions:\n- d\nper_image:\n{per_image}reported_test_dice: 0.6\ndice_disagrees: true\nthreshold_baseline: 0.27\nartefacts: {ARTEFACTS}\n...\n"
    )
}

/// A disc of radius `r` around the centre of a 48-pixel square, as a 0/255 mask.
fn disc(path: &Path, r: f64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::GrayImage::from_fn(48, 48, |x, y| {
        let (dx, dy) = (f64::from(x) - 24.0, f64::from(y) - 24.0);
        image::Luma([if dx * dx + dy * dy < r * r { 255 } else { 0 }])
    })
    .save(path)
    .unwrap();
}

/// Two repeats of the fixture run (the first trained) under `root/runs`, the split under
/// `root/cache/splits`.
fn lay_out(root: &Path) -> PathBuf {
    let text = std::fs::read_to_string(committed_run().join("transcript.yaml")).unwrap();
    let runs = root.join("runs");
    let r1 = runs.join("fixture-scripted-stats-r1");
    let r2 = runs.join("fixture-scripted-stats-r2");
    for dir in [&r1, &r2] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(r1.join("transcript.yaml"), text.clone() + &training_event()).unwrap();
    let second = text
        .replace(
            "run_id: fixture-scripted-stats-r1-",
            "run_id: fixture-scripted-stats-r2-",
        )
        .replace("\nrepeat: 1\n", "\nrepeat: 2\n");
    std::fs::write(r2.join("transcript.yaml"), second).unwrap();

    let out = r1.join(ARTEFACTS).join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("train_losses.csv"),
        "epoch,1,2,3\nloss,0.92,0.51,0.33\n",
    )
    .unwrap();
    std::fs::write(
        out.join("val_losses.csv"),
        "epoch,1,2,3\nloss,0.97,0.62,0.45\n",
    )
    .unwrap();
    let split = root
        .join("cache/splits")
        .join(format!("{DATASET}-{}-seed0", &FINGERPRINT[..16]));
    std::fs::create_dir_all(&split).unwrap();
    std::fs::write(
        split.join("split.json"),
        format!("{{\"format\": 2, \"hash\": \"{SPLIT_HASH}\"}}"),
    )
    .unwrap();
    for (i, (name, _)) in DICE.iter().enumerate() {
        let r = 8.0 + i as f64;
        disc(&split.join(format!("test/images/{name}.png")), r + 3.0);
        disc(&split.join(format!("test/masks/{name}_seg.png")), r);
        if *name != "d" {
            disc(
                &r1.join(ARTEFACTS).join(format!("pred/{name}.png")),
                r * 0.8,
            );
        }
    }
    runs
}

/// Tags balance, in order, and the document is one `svg` element.
fn assert_well_formed_svg(text: &str, file: &str) {
    let mut open: Vec<String> = Vec::new();
    let mut rest = text.trim();
    assert!(
        rest.starts_with("<svg"),
        "{file}: {}",
        &rest[..rest.len().min(80)]
    );
    let mut roots = 0;
    while let Some(start) = rest.find('<') {
        let end = rest[start..]
            .find('>')
            .unwrap_or_else(|| panic!("{file}: an unclosed tag"))
            + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                open.pop().as_deref(),
                Some(name.trim()),
                "{file}: </{name}>"
            );
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/')
            .collect();
        if open.is_empty() {
            roots += 1;
        }
        if !tag.ends_with('/') {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "{file}: unclosed {open:?}");
    assert_eq!(roots, 1, "{file}: one root element");
}

/// The data rows of a CSV file, quoted fields unquoted (no field here spans lines).
fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut rows = Vec::new();
    for line in text.lines().skip(1) {
        let (mut fields, mut field, mut quoted) = (Vec::new(), String::new(), false);
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut field)),
                (c, _) => field.push(c),
            }
        }
        fields.push(field);
        rows.push(fields);
    }
    rows
}

#[test]
fn report_figures_draws_every_figure_from_the_fixture_runs() {
    let scratch = tempfile::tempdir().unwrap();
    let runs = lay_out(scratch.path());
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("figures-fixture");
    let _ = std::fs::remove_dir_all(&out);
    let cache = scratch.path().join("cache");
    let done = Harness::new()
        .env("HARNESS_CACHE", &cache.to_string_lossy())
        .run(&[
            "report",
            "figures",
            &runs.to_string_lossy(),
            "--out",
            &out.to_string_lossy(),
        ])
        .expect_code(0);
    assert!(done.stderr.is_empty(), "nothing skipped: {}", done.stderr);

    // The index lists every figure with its files and sources.
    let index = csv_rows(&out.join("figures.csv"));
    let ids: Vec<&str> = index.iter().map(|row| row[0].as_str()).collect();
    let losses = "losses-fixture-scripted-stats-r1-20261128t074817z-synthetic-glottis-1";
    let overlays = "overlays-fixture-scripted-stats-r1-20261128t074817z-synthetic-glottis-1";
    assert_eq!(
        ids,
        [
            "errors-per-llm",
            "errors-per-round",
            "success-by-round",
            "dice-boxes",
            losses,
            overlays,
            "repeats"
        ]
    );
    let sizes = [
        (1000, 600),
        (1000, 460),
        (1000, 600),
        (1000, 600),
        (1000, 600),
        (860, 96 + 3 * 242 + 34),
        (1000, 460),
    ];
    for (row, size) in index.iter().zip(sizes) {
        assert_eq!(row[1], "drawn", "{row:?}");
        let png = image::open(out.join(&row[3])).unwrap_or_else(|e| panic!("{}: {e}", row[3]));
        assert_eq!((png.width(), png.height()), size, "{}", row[3]);
        let svg = std::fs::read_to_string(out.join(&row[4])).unwrap();
        assert_well_formed_svg(&svg, &row[4]);
        assert!(out.join(&row[5]).is_file(), "{}", row[5]);
        assert!(
            row[6].contains("fixture-scripted-stats-r1-20261128T074817Z"),
            "{row:?}"
        );
    }
    assert!(std::fs::read_to_string(out.join("index.md"))
        .unwrap()
        .contains("![Rounds charged to each LLM, by error class](errors-per-llm.png)"));

    // The CSVs hold the error table's numbers: rounds 1 unresolved-name and 1 panic-other per
    // run, and a type-mismatch diagnostic that headed no round.
    let errors = csv_rows(&out.join("errors-per-llm.csv"));
    assert_eq!(
        errors,
        [
            ["fixture-scripted-stats", "unresolved-name", "2", "2"],
            ["fixture-scripted-stats", "type-mismatch", "0", "2"],
            ["fixture-scripted-stats", "panic-other", "2", "2"],
        ]
    );
    let success = csv_rows(&out.join("success-by-round.csv"));
    assert_eq!(success.len(), 20, "k = 1 to the cap of 20");
    assert_eq!(success[1][2], "0", "{:?}", success[1]);
    assert_eq!(success[2][2], "1", "both runs succeeded at iteration 3");
    let dice = csv_rows(&out.join("dice-boxes.csv"));
    assert_eq!(dice.len(), 1);
    assert_eq!(
        dice[0][..9],
        [
            "fixture-scripted-stats",
            DATASET,
            "1",
            "5",
            "0",
            "0.35",
            "0.64",
            "0.72",
            "0.91"
        ]
    );
    assert_eq!(dice[0][10], "0.27");
    let loss = std::fs::read_to_string(out.join(format!("{losses}.csv"))).unwrap();
    assert_eq!(loss.lines().count(), 1 + 6);
    let shown = csv_rows(&out.join(format!("{overlays}.csv")));
    let shown: Vec<(&str, &str)> = shown
        .iter()
        .map(|r| (r[0].as_str(), r[4].as_str()))
        .collect();
    assert_eq!(shown, [("d", "worst"), ("e", "median"), ("a", "best")]);
    let repeats = csv_rows(&out.join("repeats.csv"));
    let per_repeat: Vec<(&str, &str, &str)> = repeats
        .iter()
        .map(|r| (r[1].as_str(), r[5].as_str(), r[7].as_str()))
        .collect();
    assert_eq!(per_repeat, [("1", "2", "0.524"), ("2", "2", "")]);
}

#[test]
fn report_figures_says_what_it_skipped_and_why() {
    let out = tempfile::tempdir().unwrap();
    let done = Harness::new()
        .run(&[
            "report",
            "figures",
            &committed_run().to_string_lossy(),
            "--out",
            &out.path().to_string_lossy(),
        ])
        .expect_code(0);
    for line in [
        "skipped dice-boxes: no training recorded per-image Dice.",
        "skipped losses: no run was trained",
        "skipped overlays: no run was trained",
        "skipped repeats: no LLM has more than one run",
    ] {
        assert!(done.stderr.contains(line), "{line}\n{}", done.stderr);
    }
    let index = std::fs::read_to_string(out.path().join("index.md")).unwrap();
    assert!(index.contains("## Skipped"), "{index}");
    assert_eq!(done.stdout.lines().count(), 3 + 1, "{}", done.stdout);
}

#[test]
fn report_figures_without_fonts_fails_with_advice_not_a_panic() {
    let scratch = tempfile::tempdir().unwrap();
    // A fontconfig configuration that names no font folder: no font can be found.
    let config = scratch.path().join("fonts.conf");
    std::fs::write(
        &config,
        "<?xml version=\"1.0\"?>\n<fontconfig></fontconfig>\n",
    )
    .unwrap();
    let out = scratch.path().join("figures");
    let done = Harness::new()
        .env("FONTCONFIG_FILE", &config.to_string_lossy())
        .run(&[
            "report",
            "figures",
            &committed_run().to_string_lossy(),
            "--out",
            &out.to_string_lossy(),
        ])
        .expect_code(2);
    assert!(
        done.stderr.contains("no font for the figures' text")
            && done.stderr.contains("fonts-dejavu-core"),
        "{}",
        done.stderr
    );
    assert!(!done.stderr.contains("panicked"), "{}", done.stderr);
    assert!(!out.exists(), "nothing is written without fonts");
}

#[test]
fn report_figures_into_a_file_fails_clearly() {
    let harness = Harness::new();
    std::fs::write(harness.root().join("blocker"), "a file, not a folder").unwrap();
    let done = harness
        .run(&[
            "report",
            "figures",
            &committed_run().to_string_lossy(),
            "--out",
            "blocker/figures",
        ])
        .expect_code(1);
    assert!(
        done.stderr.contains("could not write blocker/figures"),
        "{}",
        done.stderr
    );
    assert_eq!(
        std::fs::read_to_string(harness.root().join("blocker")).unwrap(),
        "a file, not a folder"
    );
}
