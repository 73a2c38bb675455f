//! The threshold baseline: the best single global threshold on raw intensities, the floor a
//! trained U-Net must clear. Pure: it works on intensity histograms, data in, data out.
//!
//! For each image, two histograms (intensities under the mask's foreground and background) say
//! how many pixels any threshold would predict and how many of them are right, so every
//! threshold is scored on every image in O(256) without touching pixels again. A rule predicts
//! either the dark pixels (`value < threshold`: glottis, retinal vessels in the green channel) or
//! the bright ones (`value >= threshold`); the best rule maximises the mean per-image Dice, with
//! the empty-mask convention of `dice.rs`.

use image::GrayImage;
use serde::Serialize;

use super::dice::{dice_from_counts, SizeMismatch};

/// Intensity histograms of one image, split by its ground-truth mask (non-zero is foreground).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histograms {
    foreground: [u64; 256],
    background: [u64; 256],
}

impl Histograms {
    pub fn of(image: &GrayImage, mask: &GrayImage) -> Result<Self, SizeMismatch> {
        if image.dimensions() != mask.dimensions() {
            return Err(SizeMismatch {
                prediction: image.dimensions(),
                truth: mask.dimensions(),
            });
        }
        let mut histograms = Histograms {
            foreground: [0; 256],
            background: [0; 256],
        };
        for (&value, &label) in image.as_raw().iter().zip(mask.as_raw()) {
            let bins = if label > 0 {
                &mut histograms.foreground
            } else {
                &mut histograms.background
            };
            bins[usize::from(value)] += 1;
        }
        Ok(histograms)
    }

    /// Dice of every threshold 0..=256, for the dark rule and the bright rule.
    fn dice_curves(&self) -> ([f64; 257], [f64; 257]) {
        let actual: u64 = self.foreground.iter().sum();
        let total: u64 = actual + self.background.iter().sum::<u64>();
        let mut dark = [0.0; 257];
        let mut bright = [0.0; 257];
        // Pixels below threshold t, all and foreground.
        let (mut below, mut foreground_below) = (0u64, 0u64);
        for t in 0..=256 {
            dark[t] = dice_from_counts(foreground_below, below, actual);
            bright[t] = dice_from_counts(actual - foreground_below, total - below, actual);
            if t < 256 {
                below += self.foreground[t] + self.background[t];
                foreground_below += self.foreground[t];
            }
        }
        (dark, bright)
    }
}

/// Which side of the threshold is predicted foreground.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Polarity {
    /// `value < threshold`.
    Dark,
    /// `value >= threshold`.
    Bright,
}

/// A global threshold rule on 8-bit intensities; `threshold` is in 0..=256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ThresholdRule {
    pub polarity: Polarity,
    pub threshold: u16,
}

impl ThresholdRule {
    /// The mean per-image Dice of this rule over `samples` (0.0 for none).
    pub fn mean_dice(&self, samples: &[Histograms]) -> f64 {
        if samples.is_empty() {
            return 0.0;
        }
        let t = usize::from(self.threshold.min(256));
        let sum: f64 = samples
            .iter()
            .map(|h| {
                let (dark, bright) = h.dice_curves();
                match self.polarity {
                    Polarity::Dark => dark[t],
                    Polarity::Bright => bright[t],
                }
            })
            .sum();
        sum / samples.len() as f64
    }
}

/// The best rule and its mean Dice on the samples it was chosen on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BestThreshold {
    pub rule: ThresholdRule,
    pub mean_dice: f64,
}

/// The rule with the highest mean per-image Dice over `samples`; ties go to the dark rule and
/// the lower threshold. With no samples: the dark rule at 128, Dice 0.
pub fn best_threshold(samples: &[Histograms]) -> BestThreshold {
    let mut dark_sums = [0.0; 257];
    let mut bright_sums = [0.0; 257];
    for histograms in samples {
        let (dark, bright) = histograms.dice_curves();
        for t in 0..=256 {
            dark_sums[t] += dark[t];
            bright_sums[t] += bright[t];
        }
    }
    let mut best = BestThreshold {
        rule: ThresholdRule {
            polarity: Polarity::Dark,
            threshold: 128,
        },
        mean_dice: 0.0,
    };
    if samples.is_empty() {
        return best;
    }
    let n = samples.len() as f64;
    best.mean_dice = f64::NEG_INFINITY;
    for (polarity, sums) in [
        (Polarity::Dark, &dark_sums),
        (Polarity::Bright, &bright_sums),
    ] {
        for (t, sum) in sums.iter().enumerate() {
            if sum / n > best.mean_dice {
                best = BestThreshold {
                    rule: ThresholdRule {
                        polarity,
                        threshold: t as u16,
                    },
                    mean_dice: sum / n,
                };
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1-row image with its mask: `#` marks foreground.
    fn sample(values: &[u8], labels: &str) -> Histograms {
        let width = values.len() as u32;
        let image = GrayImage::from_raw(width, 1, values.to_vec()).unwrap();
        let mask: Vec<u8> = labels
            .chars()
            .map(|c| if c == '#' { 255 } else { 0 })
            .collect();
        let mask = GrayImage::from_raw(width, 1, mask).unwrap();
        Histograms::of(&image, &mask).unwrap()
    }

    #[test]
    fn finds_a_perfect_dark_threshold() {
        let samples = [
            sample(&[10, 20, 200, 210], "##.."),
            sample(&[30, 90, 150], "#.."),
        ];
        let best = best_threshold(&samples);
        assert_eq!(best.rule.polarity, Polarity::Dark);
        assert!((31..=90).contains(&best.rule.threshold), "{best:?}");
        assert_eq!(best.mean_dice, 1.0);
        assert_eq!(best.rule.mean_dice(&samples), 1.0);
    }

    #[test]
    fn finds_a_bright_threshold() {
        let samples = [sample(&[10, 20, 200, 210], "..##")];
        let best = best_threshold(&samples);
        assert_eq!(best.rule.polarity, Polarity::Bright);
        assert!((21..=200).contains(&best.rule.threshold));
        assert_eq!(best.mean_dice, 1.0);
    }

    #[test]
    fn scores_rules_like_dice_does() {
        // Dark below 100 predicts pixels 0 and 1; the truth is pixels 1 and 2: Dice 0.5.
        let s = sample(&[10, 20, 200, 210], ".##.");
        let rule = ThresholdRule {
            polarity: Polarity::Dark,
            threshold: 100,
        };
        assert!((rule.mean_dice(std::slice::from_ref(&s)) - 0.5).abs() < 1e-12);
        // An empty mask: a rule that predicts nothing scores 1, anything else 0.
        let empty = sample(&[10, 20], "..");
        let nothing = ThresholdRule {
            polarity: Polarity::Dark,
            threshold: 0,
        };
        assert_eq!(nothing.mean_dice(std::slice::from_ref(&empty)), 1.0);
        assert_eq!(rule.mean_dice(std::slice::from_ref(&empty)), 0.0);
        assert_eq!(rule.mean_dice(&[]), 0.0);
    }

    #[test]
    fn conflicting_images_cap_what_a_global_threshold_reaches() {
        // Foreground is dark in one image and bright in the other.
        let samples = [sample(&[10, 200], "#."), sample(&[10, 200], ".#")];
        let best = best_threshold(&samples);
        assert!(best.mean_dice < 0.75, "{best:?}");
        assert_eq!(best_threshold(&[]).mean_dice, 0.0);
    }

    #[test]
    fn histograms_need_equal_sizes() {
        let image = GrayImage::new(2, 2);
        let mask = GrayImage::new(2, 3);
        assert!(Histograms::of(&image, &mask).is_err());
    }

    /// The synthetic glottis set needs more than a global threshold: the best one finds the gap
    /// but stays far from solving it. (Here, not in `dataset/`, so that `dataset` stays below
    /// `eval`.)
    #[test]
    fn a_single_global_threshold_does_not_solve_the_synthetic_set() {
        let samples: Vec<Histograms> = (0..40)
            .map(|i| {
                let (image, mask) =
                    crate::dataset::render(crate::dataset::SynthKind::Glottis, i, 96, 96, 3);
                Histograms::of(&image, &mask).unwrap()
            })
            .collect();
        let best = best_threshold(&samples);
        assert!(
            best.mean_dice < 0.55,
            "the best global threshold reaches {best:?}"
        );
        assert!(best.mean_dice > 0.1, "{best:?}: the gap should be visible");
    }
}
