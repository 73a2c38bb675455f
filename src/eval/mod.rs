//! Evaluation of segmentations: Dice per image and over a set, and the threshold baseline.
//! `dice.rs` and `threshold.rs` are pure; `score.rs` reads the PNGs.

mod dice;
mod error;
mod score;
mod threshold;

pub use dice::{dice, dice_from_counts, BinaryMask, DiceStats, SizeMismatch, PREDICTION_THRESHOLD};
pub use error::EvalError;
pub use score::{score_predictions, threshold_baseline, DiceReport, ImageDice, ThresholdBaseline};
/// The program's own Dice and the harness's must agree within this, or the training event says
/// they disagree.
pub const DICE_TOLERANCE: f64 = 0.05;

pub use threshold::{best_threshold, BestThreshold, Histograms, Polarity, ThresholdRule};
