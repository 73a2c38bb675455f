//! What can go wrong while scoring predictions.

use std::path::PathBuf;

use crate::dataset::DatasetError;

/// Predictions or masks that cannot be scored.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("the predictions folder {path} does not exist")]
    MissingPredictions { path: PathBuf },
    #[error("no masks (N_seg.png) in {path} to score against")]
    NoMasks { path: PathBuf },
    #[error("could not list {path}")]
    List {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the prediction {prediction} is {}x{} but its mask {truth} is {}x{}; predictions must have their image's size (the harness never resizes them)", prediction_size.0, prediction_size.1, truth_size.0, truth_size.1)]
    SizeMismatch {
        prediction: PathBuf,
        truth: PathBuf,
        prediction_size: (u32, u32),
        truth_size: (u32, u32),
    },
    #[error(transparent)]
    Dataset(#[from] DatasetError),
}
