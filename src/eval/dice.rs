//! Dice on binary masks, and its statistics over a set. Pure: data in, data out.
//!
//! Dice = 2 |P ∩ G| / (|P| + |G|) for a predicted mask P and a ground-truth mask G. The
//! convention for an empty prediction on an empty mask (nothing to find, nothing found) is
//! **Dice = 1.0**, as is usual (and as the study's nnU-Net baseline reports it); an empty
//! prediction on a non-empty mask, or the reverse, is 0.0. Without that convention, a tenth of the
//! synthetic glottis set (closed glottis, empty masks) would be undefined.

use image::GrayImage;
use serde::Serialize;

/// A prediction pixel is foreground from this value up (on 8-bit grayscale): a probability map
/// saved as 0..255 is cut at 0.5.
pub const PREDICTION_THRESHOLD: u8 = 128;

/// A binary mask: one flag per pixel, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryMask {
    width: u32,
    height: u32,
    pixels: Vec<bool>,
}

impl BinaryMask {
    /// `None` unless `pixels` has `width * height` flags.
    pub fn new(width: u32, height: u32, pixels: Vec<bool>) -> Option<Self> {
        (pixels.len() as u64 == u64::from(width) * u64::from(height)).then_some(BinaryMask {
            width,
            height,
            pixels,
        })
    }

    /// A predicted mask: foreground where the pixel is at least [`PREDICTION_THRESHOLD`].
    pub fn from_prediction(image: &GrayImage) -> Self {
        Self::from_gray(image, |v| v >= PREDICTION_THRESHOLD)
    }

    /// A ground-truth mask: foreground wherever the pixel is not zero (masks are stored as
    /// 0/255, but 0/1 masks read the same).
    pub fn from_truth(image: &GrayImage) -> Self {
        Self::from_gray(image, |v| v > 0)
    }

    fn from_gray(image: &GrayImage, on: impl Fn(u8) -> bool) -> Self {
        BinaryMask {
            width: image.width(),
            height: image.height(),
            pixels: image.as_raw().iter().map(|&v| on(v)).collect(),
        }
    }

    pub fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// How many pixels are foreground.
    pub fn count(&self) -> usize {
        self.pixels.iter().filter(|&&p| p).count()
    }
}

/// Two masks of different sizes: Dice is undefined, and nothing is ever resized to hide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeMismatch {
    pub prediction: (u32, u32),
    pub truth: (u32, u32),
}

/// Dice of `prediction` against `truth` (see the module's documentation for empty masks).
pub fn dice(prediction: &BinaryMask, truth: &BinaryMask) -> Result<f64, SizeMismatch> {
    if prediction.dimensions() != truth.dimensions() {
        return Err(SizeMismatch {
            prediction: prediction.dimensions(),
            truth: truth.dimensions(),
        });
    }
    let mut both = 0u64;
    let mut predicted = 0u64;
    let mut actual = 0u64;
    for (&p, &g) in prediction.pixels.iter().zip(&truth.pixels) {
        both += u64::from(p && g);
        predicted += u64::from(p);
        actual += u64::from(g);
    }
    Ok(dice_from_counts(both, predicted, actual))
}

/// Dice from pixel counts: `2 * both / (predicted + actual)`, and 1.0 when both are empty.
pub fn dice_from_counts(both: u64, predicted: u64, actual: u64) -> f64 {
    if predicted + actual == 0 {
        1.0
    } else {
        2.0 * both as f64 / (predicted + actual) as f64
    }
}

/// Summary statistics of a set of Dice values.
///
/// `std` is the population standard deviation (divided by n, as numpy's default); the median and
/// quartiles interpolate linearly between order statistics (numpy's default, "type 7").
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DiceStats {
    pub count: usize,
    pub mean: f64,
    pub median: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    pub q1: f64,
    pub q3: f64,
}

impl DiceStats {
    /// `None` for an empty set.
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len() as f64;
        let mean = sorted.iter().sum::<f64>() / n;
        let variance = sorted.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        Some(DiceStats {
            count: sorted.len(),
            mean,
            median: quantile(&sorted, 0.5),
            std: variance.sqrt(),
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            q1: quantile(&sorted, 0.25),
            q3: quantile(&sorted, 0.75),
        })
    }
}

/// The `q` quantile of sorted, non-empty `values`, interpolated linearly.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let fraction = position - below as f64;
    sorted[below] + (sorted[above] - sorted[below]) * fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(rows: &[&str]) -> BinaryMask {
        let width = rows[0].len() as u32;
        let pixels = rows
            .iter()
            .flat_map(|row| row.chars().map(|c| c == '#'))
            .collect();
        BinaryMask::new(width, rows.len() as u32, pixels).unwrap()
    }

    #[test]
    fn perfect_disjoint_and_partial() {
        let a = mask(&["##..", "##.."]);
        assert_eq!(dice(&a, &a), Ok(1.0));
        let b = mask(&["..##", "..##"]);
        assert_eq!(dice(&a, &b), Ok(0.0));
        // |P| = 4, |G| = 2, overlap 2: 2 * 2 / 6.
        let c = mask(&["#...", "#..."]);
        assert!((dice(&a, &c).unwrap() - 4.0 / 6.0).abs() < 1e-12);
        // Symmetric.
        assert_eq!(dice(&a, &c), dice(&c, &a));
    }

    #[test]
    fn empty_masks_follow_the_stated_convention() {
        let empty = mask(&["....", "...."]);
        let some = mask(&["#...", "...."]);
        assert_eq!(
            dice(&empty, &empty),
            Ok(1.0),
            "nothing to find, nothing found"
        );
        assert_eq!(dice(&empty, &some), Ok(0.0), "missed everything");
        assert_eq!(dice(&some, &empty), Ok(0.0), "found what is not there");
    }

    #[test]
    fn a_size_mismatch_is_an_error_not_a_resize() {
        let a = mask(&["##", "##"]);
        let b = mask(&["##.", "##."]);
        assert_eq!(
            dice(&a, &b),
            Err(SizeMismatch {
                prediction: (2, 2),
                truth: (3, 2)
            })
        );
        // Same pixel count, other shape: still a mismatch.
        let wide = mask(&["####"]);
        assert!(dice(&a, &wide).is_err());
    }

    #[test]
    fn predictions_cut_at_128_and_truth_at_anything_nonzero() {
        let gray = GrayImage::from_raw(4, 1, vec![0, 1, 127, 128]).unwrap();
        assert_eq!(BinaryMask::from_prediction(&gray).count(), 1);
        assert_eq!(BinaryMask::from_truth(&gray).count(), 3);
        let bright = GrayImage::from_raw(1, 1, vec![255]).unwrap();
        assert_eq!(BinaryMask::from_prediction(&bright).count(), 1);
        assert!(BinaryMask::new(2, 2, vec![true; 3]).is_none());
    }

    #[test]
    fn statistics_of_a_set() {
        assert_eq!(DiceStats::of(&[]), None);
        let one = DiceStats::of(&[0.5]).unwrap();
        assert_eq!(
            (one.mean, one.median, one.std, one.q1, one.q3),
            (0.5, 0.5, 0.0, 0.5, 0.5)
        );
        let stats = DiceStats::of(&[1.0, 0.0, 0.5, 0.25]).unwrap();
        assert_eq!(stats.count, 4);
        assert!((stats.mean - 0.4375).abs() < 1e-12);
        // numpy: median 0.375, quartiles 0.1875 and 0.625, population std 0.36975...
        assert!((stats.median - 0.375).abs() < 1e-12);
        assert!((stats.q1 - 0.1875).abs() < 1e-12);
        assert!((stats.q3 - 0.625).abs() < 1e-12);
        assert!((stats.std - 0.369_754_986_4).abs() < 1e-9, "{}", stats.std);
        assert_eq!((stats.min, stats.max), (0.0, 1.0));
    }
}
