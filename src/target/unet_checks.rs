//! Checks of the files a U-Net program must write (the contract in `prompts/rust-tch-unet/`).
//!
//! Pure: text in, errors out. The study kept its numbers in Excel sheets of a fixed shape; the
//! Rust port asks for CSV files of the same shape, and a file of another shape is an
//! `invalid-output` error fed back like a panic, so a program cannot pass by writing anything.

use crate::taxonomy::{Category, ErrorRecord};

/// Where a number grid came from, for messages.
fn invalid(file: &str, message: String) -> ErrorRecord {
    let mut error = ErrorRecord::new(Category::InvalidOutput, format!("{file}: {message}"));
    error.file = Some(file.to_string());
    error.rendered = Some(error.message.clone());
    error
}

/// The rows of a CSV file as cells, blank lines dropped.
fn rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            line.split(',')
                .map(|c| c.trim().trim_matches('"'))
                .collect()
        })
        .collect()
}

/// The numbers of a row, allowing one leading label cell (`epoch`, `loss`, `Epoch 1`).
fn numbers(row: &[&str]) -> Option<Vec<f64>> {
    let cells = match row.first() {
        Some(first) if first.parse::<f64>().is_err() => &row[1..],
        _ => row,
    };
    cells
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| c.parse::<f64>().ok())
        .collect()
}

/// `train_losses.csv` / `val_losses.csv`: first row the epoch numbers, second row one finite
/// loss per epoch. Returns the number of epochs.
pub fn check_losses(file: &str, text: &str) -> Result<usize, ErrorRecord> {
    let rows = rows(text);
    if rows.len() != 2 {
        return Err(invalid(
            file,
            format!(
                "expected 2 rows (epoch numbers, then the loss of each epoch), found {}",
                rows.len()
            ),
        ));
    }
    let epochs = numbers(&rows[0]).ok_or_else(|| {
        invalid(
            file,
            "the first row must hold the epoch numbers".to_string(),
        )
    })?;
    let losses = numbers(&rows[1]).ok_or_else(|| {
        invalid(
            file,
            "the second row must hold one number per epoch".to_string(),
        )
    })?;
    if epochs.is_empty() {
        return Err(invalid(file, "no epochs recorded".to_string()));
    }
    if epochs.len() != losses.len() {
        return Err(invalid(
            file,
            format!("{} epoch numbers but {} losses", epochs.len(), losses.len()),
        ));
    }
    let start = epochs[0];
    let consecutive = epochs
        .iter()
        .enumerate()
        .all(|(i, e)| (e - (start + i as f64)).abs() < 1e-9);
    if !(start == 0.0 || start == 1.0) || !consecutive {
        return Err(invalid(
            file,
            "the epoch numbers must count up by one from 0 or 1".to_string(),
        ));
    }
    if let Some(bad) = losses.iter().find(|l| !l.is_finite() || **l < 0.0) {
        return Err(invalid(
            file,
            format!("a loss of {bad} is not a finite, non-negative number"),
        ));
    }
    Ok(epochs.len())
}

/// `validation_dice_scores.csv` / `test_dice_scores.csv`: one row per epoch (a single row for
/// the test), one Dice per batch, each in [0, 1]. An optional header row of batch labels is
/// allowed. Returns the mean of all values.
pub fn check_dice_grid(
    file: &str,
    text: &str,
    expected_rows: Option<usize>,
) -> Result<f64, ErrorRecord> {
    let mut rows = rows(text);
    if rows.first().is_some_and(|r| numbers(r).is_none()) {
        rows.remove(0);
    }
    if rows.is_empty() {
        return Err(invalid(file, "no Dice scores recorded".to_string()));
    }
    if let Some(expected) = expected_rows {
        if rows.len() != expected {
            return Err(invalid(
                file,
                format!(
                    "expected one row per epoch ({expected}), found {} rows",
                    rows.len()
                ),
            ));
        }
    }
    let mut all = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let values = numbers(row).ok_or_else(|| {
            invalid(
                file,
                format!("row {} holds something other than numbers", index + 1),
            )
        })?;
        if values.is_empty() {
            return Err(invalid(
                file,
                format!("row {} has no Dice scores", index + 1),
            ));
        }
        if let Some(bad) = values
            .iter()
            .find(|v| !v.is_finite() || **v < 0.0 || **v > 1.0)
        {
            return Err(invalid(
                file,
                format!("a Dice score of {bad} is outside [0, 1]"),
            ));
        }
        all.extend(values);
    }
    Ok(all.iter().sum::<f64>() / all.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_in_the_studys_shape_pass() {
        assert_eq!(check_losses("t.csv", "1,2,3\n0.9,0.5,0.4\n"), Ok(3));
        assert_eq!(check_losses("t.csv", "epoch,0,1\nloss,0.9,0.5\n\n"), Ok(2));
    }

    #[test]
    fn losses_of_another_shape_fail_with_the_reason() {
        let cases = [
            ("0.9,0.5\n", "expected 2 rows"),
            ("1,2,3\n0.9,0.5\n", "3 epoch numbers but 2 losses"),
            ("1,3\n0.9,0.5\n", "count up by one"),
            ("1,2\n0.9,NaN\n", "not a finite"),
            ("1,2\n0.9,-1\n", "not a finite"),
            ("epoch,loss\n1,0.5\n", "first row"),
        ];
        for (text, reason) in cases {
            let error = check_losses("train_losses.csv", text).unwrap_err();
            assert_eq!(error.category, Category::InvalidOutput);
            assert!(
                error.message.contains(reason),
                "{text:?}: {}",
                error.message
            );
            assert!(error.message.starts_with("train_losses.csv: "));
        }
    }

    #[test]
    fn dice_grids_are_checked_for_range_and_rows() {
        let mean = check_dice_grid("v.csv", "b1,b2\n0.5,0.7\n0.6,0.8\n", Some(2)).unwrap();
        assert!((mean - 0.65).abs() < 1e-12);
        // The finding, without advice (methodology C7).
        assert_eq!(
            check_dice_grid("v.csv", "0.5,1.2\n", None)
                .unwrap_err()
                .message,
            "v.csv: a Dice score of 1.2 is outside [0, 1]"
        );
        assert!(check_dice_grid("v.csv", "0.5\n", Some(3))
            .unwrap_err()
            .message
            .contains("one row per epoch (3)"));
        assert!(check_dice_grid("v.csv", "", None).is_err());
        assert!(check_dice_grid("v.csv", "0.5,abc\n", None).is_err());
    }
}
