//! `harness train`: rebuild the run's final crate from its transcript, train it on the training
//! pool of a fixed held-out split, predict the held-out images, and compute Dice from the
//! predicted masks, never trusting the program's own figures (they are recorded beside ours and
//! flagged when they disagree).
//!
//! A failure during training is an outcome (classified errors in the `training` event), not an
//! `Err`: `Err` is for the harness failing or for bad input (no such dataset, an unfinished run).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::dataset::{fingerprint, laid_out, materialise, scan, split, DatasetError, Materialised};
use crate::eval::{score_predictions, threshold_baseline, DICE_TOLERANCE};
use crate::session::now_rfc3339;
use crate::target::Target;
use crate::taxonomy::{Category, ErrorRecord};
use crate::transcript::{
    DatasetRecord, DiceSummary, EndStatus, Event, ReadError, TrainingEvent, Transcript,
    TranscriptWriter, WriteError,
};
use crate::workspace::{Workspace, WorkspaceError};

/// What to train on and how.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The dataset's name, as recorded.
    pub dataset_name: String,
    /// The dataset in our layout.
    pub dataset_dir: PathBuf,
    /// Where held-out splits are laid out, shared by every run that uses the same data.
    pub splits_dir: PathBuf,
    /// Where the crate is rebuilt for training.
    pub work_dir: PathBuf,
    pub epochs: Option<u32>,
    pub split_seed: u64,
    pub train_timeout: Duration,
    pub predict_timeout: Duration,
}

/// The harness could not train (bad input or its own failure).
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{path}: the run did not produce a working program ({status}), so there is nothing to train")]
    NotSucceeded { path: PathBuf, status: String },
    #[error("target `{0}` has no training contract")]
    NoTrainer(String),
    #[error(transparent)]
    Transcript(#[from] ReadError),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error(transparent)]
    Record(#[from] WriteError),
    #[error("could not prepare {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Trains the run recorded in `transcript`; appends a `training` event to it and returns it.
pub fn train_run(
    transcript: &Transcript,
    target: &dyn Target,
    options: &TrainOptions,
    progress: &dyn Fn(&str),
) -> Result<TrainingEvent, TrainError> {
    let end = transcript
        .end()
        .filter(|e| e.status == EndStatus::Succeeded);
    let Some(end) = end else {
        return Err(TrainError::NotSucceeded {
            path: transcript.path.clone(),
            status: transcript
                .end()
                .map_or("interrupted".to_string(), |e| format!("{:?}", e.status)),
        });
    };
    let trainer = target
        .trainer()
        .ok_or_else(|| TrainError::NoTrainer(target.id().to_string()))?;
    // Every folder the program is given is absolute: it runs in its crate folder, and the
    // sandbox binds only absolute folders.
    let absolute = |path: &Path| {
        std::path::absolute(path).map_err(|source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    let parent = transcript.path.parent();
    let run_dir = absolute(
        parent
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    )?;
    let options = &TrainOptions {
        dataset_dir: absolute(&options.dataset_dir)?,
        splits_dir: absolute(&options.splits_dir)?,
        work_dir: absolute(&options.work_dir)?,
        ..options.clone()
    };

    // The data and its held-out split, fixed by the data and the seed alone.
    progress("checking the dataset");
    let pairs = scan(&options.dataset_dir)?;
    let fingerprint = fingerprint(&pairs)?;
    let split = split(&pairs, options.split_seed);
    let split_dir = options.splits_dir.join(split_folder_name(
        &options.dataset_name,
        &fingerprint,
        options.split_seed,
    ));
    let layout = lay_out_split(&split, &split_dir)?;
    let dataset = DatasetRecord {
        name: options.dataset_name.clone(),
        fingerprint,
        split_seed: options.split_seed,
        split_hash: layout.hash.clone(),
        train_pairs: layout.train.len(),
        test_pairs: layout.test.len(),
    };

    // The crate exactly as the run left it, built afresh.
    progress("building the crate");
    let files = transcript.files_at(end.iterations)?;
    let workspace = Workspace::reset(&options.work_dir.join("crate"))?;
    workspace.write(&files, &target.build_files(&files))?;
    let build = target.build(&workspace, end.iterations);

    let stamp: String = now_rfc3339()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let artefacts = format!(
        "artefacts/{}-seed{}-{stamp}",
        options.dataset_name, options.split_seed
    );
    let artefacts_dir = run_dir.join(&artefacts);
    let (out_dir, pred_dir) = (artefacts_dir.join(OUT_DIR), artefacts_dir.join(PRED_DIR));
    std::fs::create_dir_all(&artefacts_dir).map_err(|source| TrainError::Io {
        path: artefacts_dir.clone(),
        source,
    })?;
    let mut event = TrainingEvent {
        dataset,
        epochs: options.epochs,
        gpu: Path::new("/dev/nvidia0").exists(),
        started_at: now_rfc3339(),
        train_ms: 0,
        predict_ms: None,
        errors: Vec::new(),
        dice: None,
        missing_predictions: Vec::new(),
        per_image: Vec::new(),
        reported_test_dice: None,
        dice_disagrees: false,
        threshold_baseline: None,
        artefacts,
        sandbox: Some(target.isolation_description()),
        limits: Some(crate::session::phase_record(
            &crate::target::ProcessLimits::of(
                options.train_timeout,
                crate::exec::OutputCap::DEFAULT,
                target.isolation(),
                crate::sandbox::Phase::Train,
            ),
        )),
    };

    match &build.program {
        None => {
            event.errors = build.errors;
            if event.errors.is_empty() {
                event.errors.push(ErrorRecord::new(
                    Category::InfraHarness,
                    "the crate built during the run did not build again",
                ));
            }
        }
        Some(program) => {
            // How far is the time so far (the heartbeat) against the most it may take.
            progress(&format!(
                "training (stopped after {} at the latest)",
                crate::progress::human_duration(options.train_timeout)
            ));
            let train = trainer.train(
                &workspace,
                program,
                &layout.train_dir,
                &out_dir,
                options.epochs,
                options.train_timeout,
            );
            event.train_ms = train.duration.as_millis() as u64;
            event.errors = train.errors;
            if event.errors.is_empty() {
                let outputs = trainer.check_outputs(&out_dir, options.epochs);
                event.errors = outputs.errors;
                event.reported_test_dice = outputs.reported_test_dice;
                progress(&format!(
                    "predicting the held-out images (stopped after {} at the latest)",
                    crate::progress::human_duration(options.predict_timeout)
                ));
                let predict = trainer.predict(
                    &workspace,
                    program,
                    &out_dir,
                    &layout.test_images,
                    &pred_dir,
                    options.predict_timeout,
                );
                event.predict_ms = Some(predict.duration.as_millis() as u64);
                event.errors.extend(predict.errors);
                if predict.exit.code == Some(0) {
                    progress("scoring");
                    match score_predictions(&pred_dir, &layout.test_masks) {
                        Ok(report) => {
                            event.dice = Some(summary(&report.stats));
                            event.missing_predictions = report.missing;
                            write_per_image_csv(
                                &artefacts_dir.join(PER_IMAGE_CSV),
                                &report.images,
                            )?;
                            event.per_image = report.images;
                        }
                        Err(error) => event.errors.push({
                            let mut e =
                                ErrorRecord::new(Category::InvalidOutput, error.to_string());
                            e.rendered = Some(e.message.clone());
                            e
                        }),
                    }
                }
            }
        }
    }
    if let (Some(ours), Some(theirs)) = (&event.dice, event.reported_test_dice) {
        event.dice_disagrees = (ours.mean - theirs).abs() > DICE_TOLERANCE;
    }
    event.threshold_baseline = threshold_baseline(&layout.train, &layout.test)
        .ok()
        .map(|b| b.test_dice);

    let complete = std::fs::metadata(&transcript.path)
        .map_err(|source| TrainError::Io {
            path: transcript.path.clone(),
            source,
        })?
        .len();
    let mut writer = TranscriptWriter::reopen(&transcript.path, complete)?;
    writer.append(&Event::Training(Box::new(event.clone())))?;
    Ok(event)
}

/// The program's output folder (weights, losses, its own Dice) inside a training's artefacts.
pub const OUT_DIR: &str = "out";
/// The predicted masks of the held-out images inside a training's artefacts.
pub const PRED_DIR: &str = "pred";

/// The folder, under the cache's `splits/`, where a dataset's held-out split with this seed is
/// laid out (the figures find the test images and masks there again).
pub fn split_folder_name(dataset: &str, fingerprint: &str, seed: u64) -> String {
    let short = fingerprint.get(..16).unwrap_or(fingerprint);
    format!("{dataset}-{short}-seed{seed}")
}

/// Per-image Dice beside the predictions, in the artefacts folder.
pub const PER_IMAGE_CSV: &str = "dice_per_image.csv";

/// `image,dice,predicted,flag`, one row per test image; fields quoted where they need it.
fn write_per_image_csv(path: &Path, images: &[crate::eval::ImageDice]) -> Result<(), TrainError> {
    let mut csv = crate::csv_text::Csv::new(["image", "dice", "predicted", "flag"]);
    for image in images {
        csv.row([
            image.name.clone(),
            image.dice.to_string(),
            image.predicted.to_string(),
            image.flag.clone().unwrap_or_default(),
        ]);
    }
    std::fs::write(path, csv.finish()).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The split laid out once per dataset and seed; reused when already there.
fn lay_out_split(split: &crate::dataset::Split, dir: &Path) -> Result<Materialised, TrainError> {
    if dir.exists() {
        let recorded = std::fs::read_to_string(dir.join(crate::dataset::SPLIT_FILE)).ok();
        if recorded.is_some_and(|text| text.contains(&split.hash())) {
            return Ok(laid_out(split, dir));
        }
        std::fs::remove_dir_all(dir).map_err(|source| TrainError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    Ok(materialise(split, dir)?)
}

fn summary(stats: &crate::eval::DiceStats) -> DiceSummary {
    DiceSummary {
        count: stats.count,
        mean: stats.mean,
        median: stats.median,
        std: stats.std,
        min: stats.min,
        max: stats.max,
        q1: stats.q1,
        q3: stats.q3,
    }
}
