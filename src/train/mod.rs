//! Full training of a finished run's crate on a dataset, evaluated by the harness itself.

mod runner;

pub use runner::{train_run, TrainError, TrainOptions};
