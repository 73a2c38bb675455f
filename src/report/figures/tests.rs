//! The figures' numbers against the tables' aggregates, on the synthetic repeats of
//! `stats_tests.rs` (worked out by hand there and here), and the files a training leaves.

use std::path::{Path, PathBuf};

use super::counts::{errors_per_llm, errors_per_round};
use super::dice::dice_boxes;
use super::losses::loss_curves;
use super::overlays::overlays;
use super::plan::{Plan, Skip};
use super::repeats::repeats as repeats_plan;
use super::success::success_by_round;
use super::{write_figures, FigureOptions};
use crate::eval::ImageDice;
use crate::report::stats_tests::{repeats, run};
use crate::report::tests::training;
use crate::report::{aggregate, aggregate_dice, aggregate_stats};
use crate::stats::{summary, BootstrapConfig};
use crate::taxonomy::Category;
use crate::transcript::{EndStatus, Event, Transcript};

/// The data rows of a CSV without quoted fields.
fn rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines()
        .skip(1)
        .map(|line| line.split(',').map(str::to_string).collect())
        .collect()
}

fn find<'a>(rows: &'a [Vec<String>], key: &[&str]) -> &'a Vec<String> {
    rows.iter()
        .find(|row| key.iter().zip(row.iter()).all(|(k, v)| k == v))
        .unwrap_or_else(|| panic!("no row {key:?} in {rows:?}"))
}

#[test]
fn errors_per_llm_are_the_error_tables_rounds_and_diagnostics() {
    let mut runs = repeats();
    for (i, run) in runs.iter_mut().enumerate() {
        run.header.run_id = format!("run-{i}");
    }
    let table = aggregate(&runs);
    let plan = errors_per_llm(&table, &runs);
    let rows = rows(&plan.csv);
    for row in &table.rows {
        for (category, rounds) in &row.rounds_by_category {
            let csv = find(&rows, &[&row.llm, &category.to_string()]);
            assert_eq!(csv[2], rounds.to_string(), "{csv:?}");
            assert_eq!(
                csv[3],
                row.diagnostics_by_category[category].to_string(),
                "{csv:?}"
            );
        }
    }
    // By hand: alpha's type-mismatch rounds are run 2's first, run 3's first two and the
    // aborted run's one; the dependency run gave up at 4, so its last round is not counted.
    assert_eq!(find(&rows, &["alpha", "type-mismatch"])[2], "4");
    assert_eq!(find(&rows, &["alpha", "dependency"])[2], "3");
    assert_eq!(find(&rows, &["alpha", "syntax"])[2], "0");
    assert_eq!(find(&rows, &["beta", "syntax"])[2], "6");
    let total: u32 = rows.iter().map(|r| r[2].parse::<u32>().unwrap()).sum();
    assert_eq!(
        total,
        table.rows.iter().map(|r| r.rounds_total).sum::<u32>()
    );
    assert_eq!(plan.sources.len(), 8, "every run is a source");
}

#[test]
fn errors_per_round_add_up_to_the_error_table() {
    let runs = repeats();
    let table = aggregate(&runs);
    let rows = rows(&errors_per_round(&table, &runs).csv);
    for row in &table.rows {
        for category in Category::ALL {
            let per_round: u32 = rows
                .iter()
                .filter(|r| r[0] == row.llm && r[2] == category.to_string())
                .map(|r| r[3].parse::<u32>().unwrap())
                .sum();
            let expected = row.rounds_by_category.get(&category).copied().unwrap_or(0);
            assert_eq!(per_round, expected, "{} {category}", row.llm);
        }
    }
    // alpha, iteration 1: type-mismatch in runs 2, 3 and the aborted run 5; beta's syntax
    // rounds fall 3, 2, 1 over iterations 1 to 3, none at 4 (its cap).
    assert_eq!(find(&rows, &["alpha", "1", "type-mismatch"])[3], "3");
    assert_eq!(find(&rows, &["alpha", "3", "tensor-shape"])[3], "1");
    assert_eq!(find(&rows, &["beta", "1", "syntax"])[3], "3");
    assert_eq!(find(&rows, &["beta", "2", "syntax"])[3], "2");
    assert_eq!(find(&rows, &["beta", "4", "syntax"])[3], "0");
}

#[test]
fn success_curves_are_the_statistics_reports() {
    let runs = repeats();
    let report = aggregate_stats(&runs, BootstrapConfig::default());
    let plan = success_by_round(&report, &runs);
    let rows = rows(&plan.csv);
    let alpha: Vec<f64> = rows
        .iter()
        .filter(|r| r[0] == "alpha")
        .map(|r| r[2].parse().unwrap())
        .collect();
    assert_eq!(alpha, report.rows[0].success_by);
    assert_eq!(alpha, vec![0.25, 0.5, 0.5, 0.75]);
    assert_eq!(find(&rows, &["beta", "2"])[2], (1.0f64 / 3.0).to_string());
    assert_eq!(find(&rows, &["alpha", "1"])[3], "4", "ended runs");
    assert!(plan
        .caption
        .contains("1 aborted or interrupted run(s) are left out"));
}

fn with_per_image(mut event: Event, dice: &[f64], artefacts: &str) -> Event {
    if let Event::Training(training) = &mut event {
        training.per_image = dice
            .iter()
            .enumerate()
            .map(|(i, d)| ImageDice {
                name: format!("{}", i + 1),
                dice: *d,
                predicted: true,
                flag: None,
            })
            .collect();
        training.artefacts = artefacts.into();
    }
    event
}

#[test]
fn dice_boxes_pool_per_image_dice_and_draw_the_tables_baseline() {
    let mut alpha = run("alpha", &[&[]], EndStatus::Succeeded);
    alpha.events.push(with_per_image(
        training("glottis", Some(0.5), None),
        &[0.1, 0.5, 0.9],
        "artefacts/a",
    ));
    alpha.events.push(with_per_image(
        training("glottis", Some(0.5), None),
        &[0.3, 0.7],
        "artefacts/b",
    ));
    let beta = run("beta", &[&[Category::Syntax]], EndStatus::GaveUp);
    let runs = vec![alpha, beta];
    let table = aggregate_dice(&runs);
    let plan = dice_boxes(&table, &runs).unwrap();
    let rows = rows(&plan.csv);
    let row = find(&rows, &["alpha", "glottis"]);
    let pooled = summary(&[0.1, 0.5, 0.9, 0.3, 0.7]).unwrap();
    let expected = [pooled.min, pooled.q1, pooled.median, pooled.q3, pooled.max];
    let got: Vec<f64> = row[4..9].iter().map(|v| v.parse().unwrap()).collect();
    assert_eq!(got, expected);
    assert_eq!((row[2].as_str(), row[3].as_str()), ("2", "5"));
    assert_eq!(row[9], table.rows[0].mean_dice.unwrap().to_string());
    assert_eq!(row[10], "0.31", "the Dice table's threshold baseline");
    assert_eq!(rows.len(), 1, "beta has no training");
    assert!(
        plan.caption
            .contains("Runs with no training are absent (beta)"),
        "{}",
        plan.caption
    );
    assert_eq!(plan.sources.len(), 1);

    // Without per-image Dice there is nothing to draw, and the skip says why.
    let mut old = run("alpha", &[&[]], EndStatus::Succeeded);
    old.events.push(training("glottis", Some(0.5), None));
    let runs = vec![old];
    let skip = dice_boxes(&aggregate_dice(&runs), &runs).unwrap_err();
    assert!(skip.reason.contains("no training recorded per-image Dice"));
    assert!(skip.reason.contains("1 training(s) recorded before"));
}

#[test]
fn repeats_plot_rounds_and_dice_per_repeat() {
    let mut runs = repeats();
    for (i, run) in runs.iter_mut().enumerate() {
        run.header.repeat = i as u32 + 1;
        run.header.run_id = format!("{}-r{}", run.header.llm.id, i + 1);
    }
    runs[0].events.push(training("glottis", Some(0.75), None));
    let plan = repeats_plan(&runs).unwrap();
    let rows = rows(&plan.csv);
    let charged: Vec<&str> = rows
        .iter()
        .filter(|r| r[0] == "alpha")
        .map(|r| r[5].as_str())
        .collect();
    assert_eq!(charged, ["0", "1", "3", "3", "1"]);
    assert_eq!(find(&rows, &["alpha", "1"])[6..], ["glottis", "0.75"]);
    assert_eq!(find(&rows, &["alpha", "5"])[3], "aborted");
    assert_eq!(find(&rows, &["beta", "8"])[3], "gave-up");
    assert_eq!(plan.sources.len(), 8);

    let skip = repeats_plan(&runs[..1]).unwrap_err();
    assert_eq!(skip.reason, "no LLM has more than one run");
}

/// A run whose transcript sits in `dir/run`, trained once with its artefacts at `artefacts/t`.
fn trained_run(dir: &Path, dice: &[f64]) -> Transcript {
    let mut run = run("alpha", &[&[]], EndStatus::Succeeded);
    run.path = dir.join("run").join("transcript.yaml");
    run.header.run_id = "alpha-r1".into();
    let mut event = with_per_image(training("glottis", Some(0.5), None), dice, "artefacts/t");
    if let Event::Training(training) = &mut event {
        training.dataset.split_hash = "5d1e".repeat(16);
    }
    run.events.push(event);
    run
}

fn out_dir(dir: &Path) -> PathBuf {
    dir.join("run/artefacts/t/out")
}

#[test]
fn loss_curves_come_from_the_programs_files_or_are_skipped_with_why() {
    let dir = tempfile::tempdir().unwrap();
    let runs = vec![trained_run(dir.path(), &[0.5])];
    let skip = loss_curves(&runs).remove(0).unwrap_err();
    assert_eq!(
        skip.reason,
        "no training losses: artefacts/t/out/train_losses.csv is absent"
    );

    std::fs::create_dir_all(out_dir(dir.path())).unwrap();
    std::fs::write(
        out_dir(dir.path()).join("train_losses.csv"),
        "epoch,1,2,3\nloss,0.9,0.5,0.25\n",
    )
    .unwrap();
    let plan = loss_curves(&runs).remove(0).unwrap();
    assert_eq!(plan.id, "losses-alpha-r1-glottis-1");
    assert_eq!(
        plan.csv,
        "split,epoch,loss\ntrain,1,0.9\ntrain,2,0.5\ntrain,3,0.25\n"
    );
    assert!(
        plan.caption.contains("No validation curve"),
        "{}",
        plan.caption
    );

    std::fs::write(out_dir(dir.path()).join("val_losses.csv"), "0,1\n1.5,1.0\n").unwrap();
    let plan = loss_curves(&runs).remove(0).unwrap();
    assert!(
        plan.csv.ends_with("validation,0,1.5\nvalidation,1,1\n"),
        "{}",
        plan.csv
    );

    // A link planted by the program is never followed.
    std::fs::remove_file(out_dir(dir.path()).join("train_losses.csv")).unwrap();
    std::os::unix::fs::symlink(
        out_dir(dir.path()).join("val_losses.csv"),
        out_dir(dir.path()).join("train_losses.csv"),
    )
    .unwrap();
    let skip = loss_curves(&runs).remove(0).unwrap_err();
    assert!(
        skip.reason.contains("is not a plain file"),
        "{}",
        skip.reason
    );
}

fn png(path: &Path, size: u32, on: impl Fn(u32, u32) -> bool) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::GrayImage::from_fn(size, size, |x, y| {
        image::Luma([if on(x, y) { 255 } else { 0 }])
    })
    .save(path)
    .unwrap();
}

/// The split folder of `trained_run`'s training under `splits`, with its three test pairs.
fn lay_out_split(splits: &Path, run: &Transcript) -> PathBuf {
    let Some(Event::Training(training)) = run.events.last() else {
        unreachable!()
    };
    let dataset = &training.dataset;
    let folder = splits.join(crate::train::split_folder_name(
        &dataset.name,
        &dataset.fingerprint,
        dataset.split_seed,
    ));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("split.json"),
        format!("{{\"hash\": \"{}\"}}", dataset.split_hash),
    )
    .unwrap();
    for name in ["1", "2", "3"] {
        png(
            &folder.join(format!("test/images/{name}.png")),
            32,
            |x, _| x > 8,
        );
        png(
            &folder.join(format!("test/masks/{name}_seg.png")),
            32,
            |x, _| x > 16,
        );
    }
    folder
}

#[test]
fn overlays_show_the_worst_median_and_best_image_or_say_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained_run(dir.path(), &[0.9, 0.2, 0.5]);
    let runs = vec![run.clone()];
    let splits = dir.path().join("splits");
    let skip: Skip = overlays(&runs, Some(&splits), 0).remove(0).unwrap_err();
    assert_eq!(skip.reason, "no held-out images were asked for");
    let skip = overlays(&runs, None, 3).remove(0).unwrap_err();
    assert!(skip.reason.contains("cache folder is unknown"));
    let skip = overlays(&runs, Some(&splits), 3).remove(0).unwrap_err();
    assert!(
        skip.reason
            .starts_with("the split is not in the cache's splits folder"),
        "{}",
        skip.reason
    );

    let folder = lay_out_split(&splits, &run);
    let skip = overlays(&runs, Some(&splits), 3).remove(0).unwrap_err();
    assert_eq!(
        skip.reason, "prediction: artefacts/t/pred/2.png is absent",
        "the worst image comes first"
    );
    for name in ["1", "2", "3"] {
        png(
            &dir.path().join(format!("run/artefacts/t/pred/{name}.png")),
            32,
            |x, y| x > 16 && y > 4,
        );
    }
    let plan: Plan = overlays(&runs, Some(&splits), 3).remove(0).unwrap();
    assert_eq!(
        plan.csv,
        "image,dice,predicted,flag,shown_as\n2,0.2,true,,worst\n3,0.5,true,,median\n1,0.9,true,,best\n"
    );
    assert_eq!(plan.size, (4 * 200 + 5 * 12, 96 + 3 * (30 + 200 + 12) + 34));
    let super::chart::Chart::Picture(picture) = &plan.chart else {
        panic!("an overlay is a picture")
    };
    assert_eq!(
        picture.rgb.len() as u32,
        plan.size.0 * plan.size.1 * 3,
        "one RGB pixel per point"
    );
    assert!(picture.texts.iter().any(|t| t.2 == "2: Dice 0.200 (worst)"));

    // Another split in the cache under the same name is not this training's.
    std::fs::write(folder.join("split.json"), "{\"hash\": \"0123\"}").unwrap();
    let skip = overlays(&runs, Some(&splits), 3).remove(0).unwrap_err();
    assert!(skip.reason.contains("is not the one this training used"));
}

#[test]
fn write_figures_writes_every_figure_with_its_csv_and_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("figures");
    let written = write_figures(&repeats(), &out, &FigureOptions::default()).unwrap();
    let ids: Vec<&str> = written.figures.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "errors-per-llm",
            "errors-per-round",
            "success-by-round",
            "repeats"
        ]
    );
    let skipped: Vec<&str> = written.skipped.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(skipped, ["dice-boxes", "losses", "overlays"]);
    for figure in &written.figures {
        let png = image::open(out.join(&figure.png)).unwrap();
        assert_eq!((png.width(), png.height()), figure.size, "{}", figure.id);
        let svg = std::fs::read_to_string(out.join(&figure.svg)).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(out.join(&figure.csv).is_file());
    }
    let index = std::fs::read_to_string(out.join(super::INDEX_CSV)).unwrap();
    assert_eq!(index.lines().count(), 1 + 4 + 3);
    let markdown = std::fs::read_to_string(out.join(super::INDEX_MARKDOWN)).unwrap();
    assert!(markdown.contains("## Skipped"), "{markdown}");
}

#[test]
fn many_long_labels_widen_the_figure_so_they_never_touch() {
    use super::plan::{size_for_labels, SIZE};
    let short = vec!["a".to_string(), "b".to_string()];
    assert_eq!(size_for_labels(&short), SIZE);
    let long: Vec<String> = (0..6)
        .map(|i| format!("qwen2.5-coder-{i}b (model m) (prompt 1a2b3c4d)"))
        .collect();
    let (width, height) = size_for_labels(&long);
    assert_eq!(height, SIZE.1);
    // Each slot holds its label (45 characters at about 8 pixels) with room to spare.
    assert!(width >= 300 + 6 * 45 * 8, "{width}");
}
