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

/// The files a U-Net program's `train` must leave, by target: the Rust port's CSV files, or
/// the study's own Excel files for the Python target (whose prompt names no PNG file: two
/// figures of any name are asked for).
#[derive(Debug, Clone, Copy)]
pub struct OutputNames {
    pub train_losses: &'static str,
    pub val_losses: &'static str,
    pub validation_dice: &'static str,
    pub test_dice: &'static str,
    pub weights: &'static str,
    /// The loss plot's and the predictions figure's names, where the prompt names them.
    pub figures: Option<(&'static str, &'static str)>,
}

/// `rust-tch-unet`'s files.
pub const RUST_OUTPUTS: OutputNames = OutputNames {
    train_losses: TRAIN_LOSSES,
    val_losses: VAL_LOSSES,
    validation_dice: VALIDATION_DICE,
    test_dice: TEST_DICE,
    weights: WEIGHTS_FILE,
    figures: Some((LOSS_PLOT, PREDICTIONS_FIGURE)),
};

/// `python-torch-unet`'s files: the study's names, and the weights the prompt's addition names.
pub const PYTHON_OUTPUTS: OutputNames = OutputNames {
    train_losses: "train_losses.xlsx",
    val_losses: "val_losses.xlsx",
    validation_dice: "validation_dice_scores.xlsx",
    test_dice: "test_dice_scores.xlsx",
    weights: "model_state_dict.pth",
    figures: None,
};

/// A table file's cells as CSV text (one line per row): an Excel file's first sheet, or the
/// file itself.
fn read_table(dir: &Path, name: &str, what: &str) -> Result<String, ErrorRecord> {
    if !name.ends_with(".xlsx") {
        return read_text(dir, name, what);
    }
    use calamine::{Reader, Xlsx};
    let path = regular_file(dir, name, what)?;
    let unreadable = |detail: String| {
        error(
            Category::InvalidOutput,
            name,
            format!("{name} ({what}) is not a readable Excel file: {detail}"),
        )
    };
    let mut book: Xlsx<_> = calamine::open_workbook(&path)
        .map_err(|e: calamine::XlsxError| unreadable(e.to_string()))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| unreadable("it has no sheet".to_owned()))?
        .map_err(|e| unreadable(e.to_string()))?;
    Ok(range
        .rows()
        .map(|row| {
            row.iter()
                .map(|cell| cell.to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join("\n"))
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
    check_training_outputs_of(out_dir, epochs, &RUST_OUTPUTS)
}

/// The same, for the files `names` gives.
pub fn check_training_outputs_of(
    out_dir: &Path,
    epochs: Option<usize>,
    names: &OutputNames,
) -> TrainingOutputs {
    let (train_losses, val_losses, validation_dice, test_dice) = (
        names.train_losses,
        names.val_losses,
        names.validation_dice,
        names.test_dice,
    );
    let mut outputs = TrainingOutputs::default();
    let mut push = |result: Result<(), ErrorRecord>| {
        if let Err(e) = result {
            outputs.errors.push(e);
        }
    };
    let mut trained = None;
    push(
        read_table(out_dir, train_losses, "the training loss per epoch")
            .and_then(|t| check_losses(train_losses, &t))
            .map(|n| trained = Some(n)),
    );
    push(
        read_table(out_dir, val_losses, "the validation loss per epoch")
            .and_then(|t| check_losses(val_losses, &t))
            .and_then(|n| match trained {
                Some(t) if t != n => Err(error(
                    Category::InvalidOutput,
                    val_losses,
                    format!("{val_losses} has {n} epochs but {train_losses} has {t}"),
                )),
                _ => Ok(()),
            }),
    );
    if let (Some(asked), Some(ran)) = (epochs, trained) {
        if ran > asked {
            push(Err(error(
                Category::InvalidOutput,
                train_losses,
                format!("{ran} epochs recorded but only {asked} were asked for (--epochs {asked})"),
            )));
        }
    }
    push(
        read_table(
            out_dir,
            validation_dice,
            "the validation Dice per batch and epoch",
        )
        .and_then(|t| check_dice_grid(validation_dice, &t, trained))
        .map(|_| ()),
    );
    let mut reported = None;
    push(
        read_table(out_dir, test_dice, "the test Dice per batch")
            .and_then(|t| check_dice_grid(test_dice, &t, None))
            .map(|mean| reported = Some(mean)),
    );
    match names.figures {
        Some((loss_plot, predictions)) => {
            push(check_png(out_dir, loss_plot, "the loss plot").map(|_| ()));
            push(check_png(out_dir, predictions, "the 5x3 predictions figure").map(|_| ()));
        }
        None => push(two_figures(out_dir)),
    }
    push(regular_file(out_dir, names.weights, "the trained weights").map(|_| ()));
    outputs.reported_test_dice = reported;
    outputs.epochs = trained;
    outputs
}

/// At least two readable PNG figures (the loss plot and the predictions), whatever their names.
fn two_figures(out_dir: &Path) -> Result<(), ErrorRecord> {
    let mut names: Vec<String> = std::fs::read_dir(out_dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.to_ascii_lowercase().ends_with(".png"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for name in &names {
        check_png(out_dir, name, "a figure")?;
    }
    if names.len() < 2 {
        return Err(error(
            Category::MissingOutput,
            "losses.png",
            format!(
                "the program finished but wrote {} PNG figure(s) in the output folder; the loss plot and the predictions figure were asked for",
                names.len()
            ),
        ));
    }
    Ok(())
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
