//! Reads what a U-Net program wrote and checks it against the contract (the edge around the
//! pure checks in `unet_checks.rs`). The folders were written by untrusted code: files are
//! looked at with `symlink_metadata` and a planted link is an invalid output, never followed.

use std::path::{Path, PathBuf};

use crate::taxonomy::{Category, ErrorRecord};

use super::unet_checks::{check_dice_grid, check_losses};

/// The files `train` must leave in its output folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const TRAIN_LOSSES: &str = "train_losses.csv";
pub const VAL_LOSSES: &str = "val_losses.csv";
pub const VALIDATION_DICE: &str = "validation_dice_scores.csv";
pub const TEST_DICE: &str = "test_dice_scores.csv";
pub const LOSS_PLOT: &str = "losses.png";
pub const PREDICTIONS_FIGURE: &str = "predictions.png";

fn error(category: Category, file: &str, message: String) -> ErrorRecord {
    let mut error = ErrorRecord::new(category, message);
    error.file = Some(file.to_string());
    error.rendered = Some(error.message.clone());
    error
}

/// A regular file in `dir` (not a link, not a folder), or the error that says why not.
fn regular_file(dir: &Path, name: &str, what: &str) -> Result<PathBuf, ErrorRecord> {
    let path = dir.join(name);
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_file() => Ok(path),
        Ok(_) => Err(error(
            Category::InvalidOutput,
            name,
            format!("{name} ({what}) is not a regular file"),
        )),
        Err(_) => Err(error(
            Category::MissingOutput,
            name,
            format!("the program finished but did not write {name} ({what}) in the output folder"),
        )),
    }
}

fn read_text(dir: &Path, name: &str, what: &str) -> Result<String, ErrorRecord> {
    let path = regular_file(dir, name, what)?;
    std::fs::read_to_string(path).map_err(|_| {
        error(
            Category::InvalidOutput,
            name,
            format!("{name} ({what}) is not readable UTF-8 text"),
        )
    })
}

fn check_png(dir: &Path, name: &str, what: &str) -> Result<(u32, u32), ErrorRecord> {
    let path = regular_file(dir, name, what)?;
    image::image_dimensions(&path).map_err(|e| {
        error(
            Category::InvalidOutput,
            name,
            format!("{name} ({what}) is not a readable image: {e}"),
        )
    })
}

/// What `train` left: every error found, and the program's own mean test Dice when readable.
#[derive(Debug, Clone, Default)]
pub struct TrainingOutputs {
    pub errors: Vec<ErrorRecord>,
    pub reported_test_dice: Option<f64>,
    pub epochs: Option<usize>,
}

/// Checks the output folder of `train`. `epochs`, when known, is the number asked for; a
/// program may stop early, so fewer rows are fine, more are not.
pub fn check_training_outputs(out_dir: &Path, epochs: Option<usize>) -> TrainingOutputs {
    let mut outputs = TrainingOutputs::default();
    let mut push = |result: Result<(), ErrorRecord>| {
        if let Err(e) = result {
            outputs.errors.push(e);
        }
    };
    let mut trained = None;
    push(
        read_text(out_dir, TRAIN_LOSSES, "the training loss per epoch")
            .and_then(|t| check_losses(TRAIN_LOSSES, &t))
            .map(|n| trained = Some(n)),
    );
    push(
        read_text(out_dir, VAL_LOSSES, "the validation loss per epoch")
            .and_then(|t| check_losses(VAL_LOSSES, &t))
            .and_then(|n| match trained {
                Some(t) if t != n => Err(error(
                    Category::InvalidOutput,
                    VAL_LOSSES,
                    format!("{VAL_LOSSES} has {n} epochs but {TRAIN_LOSSES} has {t}"),
                )),
                _ => Ok(()),
            }),
    );
    if let (Some(asked), Some(ran)) = (epochs, trained) {
        if ran > asked {
            push(Err(error(
                Category::InvalidOutput,
                TRAIN_LOSSES,
                format!("{ran} epochs recorded but only {asked} were asked for (--epochs {asked})"),
            )));
        }
    }
    push(
        read_text(
            out_dir,
            VALIDATION_DICE,
            "the validation Dice per batch and epoch",
        )
        .and_then(|t| check_dice_grid(VALIDATION_DICE, &t, trained))
        .map(|_| ()),
    );
    let mut reported = None;
    push(
        read_text(out_dir, TEST_DICE, "the test Dice per batch")
            .and_then(|t| check_dice_grid(TEST_DICE, &t, None))
            .map(|mean| reported = Some(mean)),
    );
    push(check_png(out_dir, LOSS_PLOT, "the loss plot").map(|_| ()));
    push(check_png(out_dir, PREDICTIONS_FIGURE, "the 5x3 predictions figure").map(|_| ()));
    push(regular_file(out_dir, WEIGHTS_FILE, "the trained weights").map(|_| ()));
    outputs.reported_test_dice = reported;
    outputs.epochs = trained;
    outputs
}

/// Checks that `predict` wrote one mask per input image, with the same name and size.
pub fn check_predictions(images_dir: &Path, pred_dir: &Path) -> Vec<ErrorRecord> {
    let mut errors = Vec::new();
    let Ok(entries) = std::fs::read_dir(images_dir) else {
        return vec![ErrorRecord::new(
            Category::InfraHarness,
            format!(
                "could not list the input images in {}",
                images_dir.display()
            ),
        )];
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.to_ascii_lowercase().ends_with(".png"))
        .collect();
    names.sort();
    let mut missing = Vec::new();
    for name in &names {
        let Ok(input) = image::image_dimensions(images_dir.join(name)) else {
            continue;
        };
        match check_png(pred_dir, name, "a predicted mask") {
            Ok(size) if size == input => {}
            Ok(size) => errors.push(error(
                Category::InvalidOutput,
                name,
                format!(
                    "the predicted mask {name} is {}x{} but its image is {}x{}; predictions must have the input image's size",
                    size.0, size.1, input.0, input.1
                ),
            )),
            Err(e) if e.category == Category::MissingOutput => missing.push(name.clone()),
            Err(e) => errors.push(e),
        }
    }
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(5).map(String::as_str).collect();
        errors.push(error(
            Category::MissingOutput,
            &missing[0],
            format!(
                "predict wrote no mask for {} of {} images (for example {}); it must write one PNG per input image, with the same file name",
                missing.len(),
                names.len(),
                shown.join(", ")
            ),
        ));
    }
    errors.truncate(5);
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(path: &Path, width: u32, height: u32) {
        image::GrayImage::new(width, height).save(path).unwrap();
    }

    fn good_outputs(dir: &Path) {
        std::fs::write(dir.join(TRAIN_LOSSES), "1,2\n0.7,0.5\n").unwrap();
        std::fs::write(dir.join(VAL_LOSSES), "1,2\n0.8,0.6\n").unwrap();
        std::fs::write(dir.join(VALIDATION_DICE), "0.2,0.3\n0.5,0.6\n").unwrap();
        std::fs::write(dir.join(TEST_DICE), "0.5,0.7\n").unwrap();
        std::fs::write(dir.join(WEIGHTS_FILE), "weights").unwrap();
        png(&dir.join(LOSS_PLOT), 8, 8);
        png(&dir.join(PREDICTIONS_FIGURE), 8, 8);
    }

    #[test]
    fn a_complete_output_folder_passes_and_reports_its_dice() {
        let dir = tempfile::tempdir().unwrap();
        good_outputs(dir.path());
        let outputs = check_training_outputs(dir.path(), Some(2));
        assert!(outputs.errors.is_empty(), "{:?}", outputs.errors);
        assert!((outputs.reported_test_dice.unwrap() - 0.6).abs() < 1e-12);
        assert_eq!(outputs.epochs, Some(2));
    }

    #[test]
    fn missing_broken_and_linked_outputs_are_named() {
        let dir = tempfile::tempdir().unwrap();
        good_outputs(dir.path());
        std::fs::remove_file(dir.path().join(WEIGHTS_FILE)).unwrap();
        std::fs::write(dir.path().join(LOSS_PLOT), "not a png").unwrap();
        std::fs::remove_file(dir.path().join(TEST_DICE)).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join(TEST_DICE)).unwrap();
        let outputs = check_training_outputs(dir.path(), Some(2));
        let found: Vec<(Category, Option<&str>)> = outputs
            .errors
            .iter()
            .map(|e| (e.category, e.file.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                (Category::InvalidOutput, Some(TEST_DICE)),
                (Category::InvalidOutput, Some(LOSS_PLOT)),
                (Category::MissingOutput, Some(WEIGHTS_FILE)),
            ]
        );
    }

    #[test]
    fn more_epochs_than_asked_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        good_outputs(dir.path());
        let outputs = check_training_outputs(dir.path(), Some(1));
        assert_eq!(outputs.errors.len(), 1, "{:?}", outputs.errors);
        assert!(outputs.errors[0].message.contains("only 1 were asked for"));
    }

    #[test]
    fn predictions_must_match_names_and_sizes() {
        let images = tempfile::tempdir().unwrap();
        let preds = tempfile::tempdir().unwrap();
        png(&images.path().join("a.png"), 10, 6);
        png(&images.path().join("b.png"), 7, 7);
        png(&images.path().join("c.png"), 5, 5);
        std::fs::write(images.path().join("notes.txt"), "ignored").unwrap();
        png(&preds.path().join("a.png"), 10, 6);
        png(&preds.path().join("b.png"), 256, 256);
        let errors = check_predictions(images.path(), preds.path());
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].category, Category::InvalidOutput);
        assert!(errors[0]
            .message
            .contains("b.png is 256x256 but its image is 7x7"));
        assert_eq!(errors[1].category, Category::MissingOutput);
        assert!(errors[1]
            .message
            .contains("1 of 3 images (for example c.png)"));
        png(&preds.path().join("b.png"), 7, 7);
        png(&preds.path().join("c.png"), 5, 5);
        assert!(check_predictions(images.path(), preds.path()).is_empty());
    }
}
