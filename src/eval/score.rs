//! Scoring at the edge: reads prediction and mask PNGs, then computes with the pure `dice.rs`
//! and `threshold.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::dataset::{read_gray, Pair, MASK_SUFFIX};

use super::dice::{dice, BinaryMask, DiceStats};
use super::error::EvalError;
use super::threshold::{best_threshold, Histograms, ThresholdRule};

/// One test image's score.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ImageDice {
    pub name: String,
    pub dice: f64,
    /// False when the program wrote no prediction for this image (scored 0).
    pub predicted: bool,
    /// Why a prediction that exists scored 0 without being compared: it cannot be decoded,
    /// has another size than its image, or is not binary (values other than 0 and 255).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
}

/// Dice over a test set, per image and in summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiceReport {
    /// Sorted by name.
    pub images: Vec<ImageDice>,
    /// Over every test image, missing predictions counted as 0.
    pub stats: DiceStats,
    /// Test images without a prediction (`N.png` absent from the predictions folder).
    pub missing: Vec<String>,
    /// Predictions whose name matches no test image (file names), not scored.
    pub unexpected: Vec<String>,
}

/// Scores the predictions in `pred_dir` (`N.png`, one per test image, the same name as the
/// image) against the masks in `mask_dir` (`N_seg.png`).
///
/// A test image without a prediction scores 0 and is listed in `missing`; a prediction for an
/// unknown name is listed in `unexpected`; neither is an error, so that a partial result is still
/// a result. Non-PNG and hidden files are ignored, and so are links: the program wrote the
/// predictions folder, and a link it planted there could point at the held-out masks. A
/// prediction that breaks the contract (cannot be decoded, another size than its mask, values
/// other than 0 and 255) scores that image 0 with a flag saying why; the others still count.
pub fn score_predictions(pred_dir: &Path, mask_dir: &Path) -> Result<DiceReport, EvalError> {
    if !pred_dir.is_dir() {
        return Err(EvalError::MissingPredictions {
            path: pred_dir.to_path_buf(),
        });
    }
    let masks: BTreeMap<String, PathBuf> = pngs(mask_dir)?
        .into_iter()
        .filter_map(|(stem, path)| {
            let name = stem.strip_suffix(MASK_SUFFIX)?;
            (!name.is_empty()).then(|| (name.to_string(), path))
        })
        .collect();
    if masks.is_empty() {
        return Err(EvalError::NoMasks {
            path: mask_dir.to_path_buf(),
        });
    }
    let mut predictions = pngs(pred_dir)?;

    let mut images = Vec::with_capacity(masks.len());
    let mut missing = Vec::new();
    for (name, mask_path) in &masks {
        let Some(prediction_path) = predictions.remove(name) else {
            missing.push(name.clone());
            images.push(ImageDice {
                name: name.clone(),
                dice: 0.0,
                predicted: false,
                flag: None,
            });
            continue;
        };
        let truth = read_gray(mask_path)?;
        let (dice, flag) = match score_one(&prediction_path, &truth) {
            Ok(dice) => (dice, None),
            Err(flag) => (0.0, Some(flag)),
        };
        images.push(ImageDice {
            name: name.clone(),
            dice,
            predicted: true,
            flag,
        });
    }
    let unexpected = predictions
        .values()
        .filter_map(|path| path.file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    let values: Vec<f64> = images.iter().map(|i| i.dice).collect();
    let stats = DiceStats::of(&values).ok_or_else(|| EvalError::NoMasks {
        path: mask_dir.to_path_buf(),
    })?;
    Ok(DiceReport {
        images,
        stats,
        missing,
        unexpected,
    })
}

/// One prediction's Dice against its mask, or why it breaks the contract (8-bit values 0 and
/// 255 only, the image's size).
fn score_one(prediction_path: &Path, truth: &image::GrayImage) -> Result<f64, String> {
    let prediction = image::open(prediction_path)
        .map_err(|error| format!("not a readable PNG ({error})"))?
        .into_luma8();
    if let Some(value) = prediction.as_raw().iter().find(|&&v| v != 0 && v != 255) {
        return Err(format!(
            "not binary: a pixel of value {value} (the contract is 0 for background, 255 for foreground)"
        ));
    }
    dice(
        &BinaryMask::from_prediction(&prediction),
        &BinaryMask::from_truth(truth),
    )
    .map_err(|mismatch| {
        format!(
            "{}x{} but its mask is {}x{} (the harness never resizes predictions)",
            mismatch.prediction.0, mismatch.prediction.1, mismatch.truth.0, mismatch.truth.1
        )
    })
}

/// Regular PNG files of a folder by stem (links, which are never followed, and hidden files
/// left out).
fn pngs(dir: &Path) -> Result<BTreeMap<String, PathBuf>, EvalError> {
    let list_error = |source| EvalError::List {
        path: dir.to_path_buf(),
        source,
    };
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(list_error)? {
        let entry = entry.map_err(list_error)?;
        if !entry.file_type().is_ok_and(|kind| kind.is_file()) {
            continue;
        }
        let path = entry.path();
        let is_png = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("png"));
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string);
        if let (true, Some(stem)) = (is_png, stem) {
            if !stem.starts_with('.') {
                found.insert(stem, path);
            }
        }
    }
    Ok(found)
}

/// The threshold baseline of a split: the rule chosen on the training pool, scored on the test
/// set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ThresholdBaseline {
    pub rule: ThresholdRule,
    /// Mean per-image Dice on the pool the rule was chosen on.
    pub train_dice: f64,
    /// Mean per-image Dice on the test set: the baseline figure.
    pub test_dice: f64,
}

/// Chooses the best single global threshold on `train` and applies it to `test` (see
/// `threshold.rs`): the figure a trained U-Net is compared against.
pub fn threshold_baseline(train: &[Pair], test: &[Pair]) -> Result<ThresholdBaseline, EvalError> {
    let train_samples = histograms(train)?;
    let best = best_threshold(&train_samples);
    let test_samples = histograms(test)?;
    Ok(ThresholdBaseline {
        rule: best.rule,
        train_dice: best.mean_dice,
        test_dice: best.rule.mean_dice(&test_samples),
    })
}

fn histograms(pairs: &[Pair]) -> Result<Vec<Histograms>, EvalError> {
    pairs
        .iter()
        .map(|pair| {
            let image = read_gray(&pair.image)?;
            let mask = read_gray(&pair.mask)?;
            Histograms::of(&image, &mask).map_err(|mismatch| EvalError::SizeMismatch {
                prediction: pair.image.clone(),
                truth: pair.mask.clone(),
                prediction_size: mismatch.prediction,
                truth_size: mismatch.truth,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use image::GrayImage;

    use super::*;
    use crate::dataset::{materialise, split, write_smoke_set};

    fn png(path: &Path, width: u32, height: u32, on: &[(u32, u32)]) {
        let mut image = GrayImage::new(width, height);
        for &(x, y) in on {
            image.put_pixel(x, y, image::Luma([255]));
        }
        image.save(path).unwrap();
    }

    /// Masks a (one pixel), b (empty), c (two pixels), d (one pixel), each 4x4.
    fn masks(dir: &Path) {
        png(&dir.join("a_seg.png"), 4, 4, &[(0, 0)]);
        png(&dir.join("b_seg.png"), 4, 4, &[]);
        png(&dir.join("c_seg.png"), 4, 4, &[(1, 1), (2, 2)]);
        png(&dir.join("d_seg.png"), 4, 4, &[(3, 3)]);
        std::fs::write(dir.join("notes.txt"), b"").unwrap();
    }

    #[test]
    fn scores_perfect_empty_partial_and_missing_predictions() {
        let root = tempfile::tempdir().unwrap();
        let (pred, truth) = (root.path().join("pred"), root.path().join("truth"));
        std::fs::create_dir_all(&pred).unwrap();
        std::fs::create_dir_all(&truth).unwrap();
        masks(&truth);
        png(&pred.join("a.png"), 4, 4, &[(0, 0)]); // perfect
        png(&pred.join("b.png"), 4, 4, &[]); // empty on empty: 1.0
        png(&pred.join("c.png"), 4, 4, &[(1, 1)]); // 2 * 1 / 3
                                                   // d.png missing: 0.
        png(&pred.join("zz.png"), 4, 4, &[]); // unknown name
        std::fs::write(pred.join(".DS_Store"), b"junk").unwrap();

        let report = score_predictions(&pred, &truth).unwrap();
        let scores: Vec<(&str, f64, bool)> = report
            .images
            .iter()
            .map(|i| (i.name.as_str(), i.dice, i.predicted))
            .collect();
        assert_eq!(scores[0], ("a", 1.0, true));
        assert_eq!(scores[1], ("b", 1.0, true));
        assert!((scores[2].1 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(scores[3], ("d", 0.0, false));
        assert_eq!(report.missing, ["d"]);
        assert_eq!(report.unexpected, ["zz.png"]);
        assert_eq!(report.stats.count, 4);
        assert!((report.stats.mean - (2.0 + 2.0 / 3.0) / 4.0).abs() < 1e-12);
    }

    #[test]
    fn a_prediction_that_breaks_the_contract_scores_its_image_0_with_a_flag() {
        let root = tempfile::tempdir().unwrap();
        let (pred, truth) = (root.path().join("pred"), root.path().join("truth"));
        std::fs::create_dir_all(&pred).unwrap();
        std::fs::create_dir_all(&truth).unwrap();
        png(&truth.join("a_seg.png"), 2, 1, &[(0, 0)]);
        png(&truth.join("b_seg.png"), 2, 1, &[(0, 0)]);
        png(&truth.join("c_seg.png"), 2, 1, &[(0, 0)]);
        png(&truth.join("d_seg.png"), 2, 1, &[(0, 0)]);
        // a: right; b: another size; c: not a PNG; d: a probability map, not binary.
        png(&pred.join("a.png"), 2, 1, &[(0, 0)]);
        png(&pred.join("b.png"), 8, 8, &[]);
        std::fs::write(pred.join("c.png"), b"not a png").unwrap();
        image::GrayImage::from_raw(2, 1, vec![200, 100])
            .unwrap()
            .save(pred.join("d.png"))
            .unwrap();
        let report = score_predictions(&pred, &truth).unwrap();
        let scores: Vec<f64> = report.images.iter().map(|i| i.dice).collect();
        assert_eq!(scores, [1.0, 0.0, 0.0, 0.0]);
        assert!((report.stats.mean - 0.25).abs() < 1e-12);
        let flags: Vec<&str> = report
            .images
            .iter()
            .map(|i| i.flag.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(flags[0], "");
        assert!(flags[1].contains("8x8 but its mask is 2x1"), "{}", flags[1]);
        assert!(flags[2].starts_with("not a readable PNG"), "{}", flags[2]);
        assert!(flags[3].contains("a pixel of value 200"), "{}", flags[3]);
        assert!(report.missing.is_empty(), "they were predicted, badly");
    }

    #[test]
    fn a_binary_prediction_in_a_colour_png_is_read_as_grey() {
        let root = tempfile::tempdir().unwrap();
        let (pred, truth) = (root.path().join("pred"), root.path().join("truth"));
        std::fs::create_dir_all(&pred).unwrap();
        std::fs::create_dir_all(&truth).unwrap();
        png(&truth.join("a_seg.png"), 2, 1, &[(0, 0)]);
        image::RgbImage::from_raw(2, 1, vec![255, 255, 255, 0, 0, 0])
            .unwrap()
            .save(pred.join("a.png"))
            .unwrap();
        let report = score_predictions(&pred, &truth).unwrap();
        assert_eq!(
            (report.images[0].dice, report.images[0].flag.clone()),
            (1.0, None)
        );
    }

    #[test]
    fn a_link_to_the_truth_is_no_prediction() {
        let root = tempfile::tempdir().unwrap();
        let (pred, truth) = (root.path().join("pred"), root.path().join("truth"));
        std::fs::create_dir_all(&pred).unwrap();
        std::fs::create_dir_all(&truth).unwrap();
        masks(&truth);
        for name in ["a", "b", "c", "d"] {
            let mask = truth.join(format!("{name}_seg.png"));
            std::os::unix::fs::symlink(mask, pred.join(format!("{name}.png"))).unwrap();
        }
        let report = score_predictions(&pred, &truth).unwrap();
        assert_eq!(report.missing, ["a", "b", "c", "d"]);
        assert_eq!(report.stats.mean, 0.0);
    }

    #[test]
    fn nothing_to_score_against_and_no_predictions_folder_are_errors() {
        let root = tempfile::tempdir().unwrap();
        let error = score_predictions(&root.path().join("nowhere"), root.path()).unwrap_err();
        assert!(matches!(error, EvalError::MissingPredictions { .. }));
        let error = score_predictions(root.path(), root.path()).unwrap_err();
        assert!(matches!(error, EvalError::NoMasks { .. }));
    }

    #[test]
    fn the_threshold_baseline_is_chosen_on_train_and_scored_on_test() {
        let root = tempfile::tempdir().unwrap();
        let pairs = write_smoke_set(&root.path().join("smoke")).unwrap();
        let done = materialise(&split(&pairs, 0), &root.path().join("split")).unwrap();
        let baseline = threshold_baseline(&done.train, &done.test).unwrap();
        assert!((0.0..=1.0).contains(&baseline.test_dice));
        assert!(
            baseline.train_dice > 0.0 && baseline.train_dice < 0.7,
            "{baseline:?}"
        );

        // Scoring the rule's own predictions through the files gives the same figure.
        let pred = root.path().join("pred");
        std::fs::create_dir(&pred).unwrap();
        for pair in &done.test {
            let image = read_gray(&pair.image).unwrap();
            let t = baseline.rule.threshold;
            let mask = GrayImage::from_fn(image.width(), image.height(), |x, y| {
                let v = u16::from(image.get_pixel(x, y)[0]);
                let on = match baseline.rule.polarity {
                    crate::eval::Polarity::Dark => v < t,
                    crate::eval::Polarity::Bright => v >= t,
                };
                image::Luma([if on { 255 } else { 0 }])
            });
            mask.save(pred.join(format!("{}.png", pair.name))).unwrap();
        }
        let report = score_predictions(&pred, &done.test_masks).unwrap();
        assert!((report.stats.mean - baseline.test_dice).abs() < 1e-12);
    }
}
