//! Full training of a finished run's crate on a dataset, evaluated by the harness itself.

mod runner;

pub use runner::{split_folder_name, train_run, TrainError, TrainOptions, OUT_DIR, PRED_DIR};
