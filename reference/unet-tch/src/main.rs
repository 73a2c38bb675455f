//! U-Net binary segmentation of grayscale images with `tch`: the command line.
//!
//!     unet_segmentation train --data-dir D --out-dir O [--epochs N]
//!     unet_segmentation predict --weights O/model.safetensors --images-dir I --out-dir P
//!     unet_segmentation bench [--steps N] [--batch-size B] [--image-size S] [--threads T]
//!
//! `train` splits what it is given 80/10/10, trains with early stopping on the validation
//! loss, tests, and writes into O: `model.safetensors` and `model_config.json`,
//! `train_losses.csv`, `val_losses.csv`, `validation_dice_scores.csv`, `test_dice_scores.csv`,
//! `losses.png`, `predictions.png`, and the split's files under `splits/`.

mod dataset;
mod model;
mod train;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tch::nn;

use dataset::{DataLoader, SegmentationDataset};
use model::{count_parameters, ModelConfig, UNet};
use train::TrainConfig;

#[derive(Parser)]
#[command(
    name = "unet_segmentation",
    version,
    about = "U-Net binary segmentation of grayscale images (tch)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Split DATA 80/10/10, train, validate, test, and write the results into OUT.
    Train(TrainArgs),
    /// Write one binary mask PNG (0/255, same size and file name) per PNG image.
    Predict(PredictArgs),
    /// Time training steps on synthetic tensors; print one JSON line (images per second).
    Bench(BenchArgs),
}

#[derive(Args)]
struct TrainArgs {
    /// Folder holding images/N.png and masks/N_seg.png.
    #[arg(long)]
    data_dir: PathBuf,
    /// Folder for the weights, CSV files, plots and split copies (created if missing).
    #[arg(long)]
    out_dir: PathBuf,
    /// Maximum number of epochs (training stops earlier when validation stops improving).
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Images and masks are resized to SIZE x SIZE.
    #[arg(long, default_value_t = 256)]
    image_size: u32,
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// AdamW's decoupled weight decay.
    #[arg(long, default_value_t = 1e-4)]
    weight_decay: f64,
    /// Early stopping: epochs without a better validation loss before stopping.
    #[arg(long, default_value_t = 8)]
    patience: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// CPU threads for libtorch (default: libtorch's choice).
    #[arg(long)]
    threads: Option<i32>,
}

#[derive(Args)]
struct PredictArgs {
    /// The weights written by `train` (its `model_config.json` must be beside them).
    #[arg(long)]
    weights: PathBuf,
    /// Folder of PNG images; other files are ignored.
    #[arg(long)]
    images_dir: PathBuf,
    /// Folder for the masks (created if missing).
    #[arg(long)]
    out_dir: PathBuf,
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
}

#[derive(Args)]
struct BenchArgs {
    /// Timed training steps.
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Untimed steps first.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    #[arg(long, default_value_t = 16)]
    batch_size: i64,
    #[arg(long, default_value_t = 256)]
    image_size: i64,
    /// CPU threads for libtorch (default: libtorch's choice).
    #[arg(long)]
    threads: Option<i32>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Run on the CPU even when a GPU is available.
    #[arg(long)]
    cpu: bool,
}

const WEIGHTS: &str = "model.safetensors";
const CONFIG: &str = "model_config.json";

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => run_train(args),
        Command::Predict(args) => run_predict(args),
        Command::Bench(args) => run_bench(args),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// Seeds every generator, sets the thread count, picks the device.
fn setup(seed: u64, threads: Option<i32>, cpu_only: bool) -> tch::Device {
    tch::manual_seed(seed as i64);
    if let Some(t) = threads {
        tch::set_num_threads(t);
    }
    let device = if cpu_only {
        tch::Device::Cpu
    } else {
        model::pick_device()
    };
    if device.is_cuda() {
        // Fixed input sizes: let cuDNN pick its fastest kernels.
        tch::Cuda::cudnn_set_benchmark(true);
    }
    device
}

fn run_train(args: TrainArgs) -> Result<()> {
    if args.epochs == 0 || args.batch_size == 0 || args.image_size < 16 {
        bail!("--epochs and --batch-size must be positive and --image-size at least 16");
    }
    let device = setup(args.seed, args.threads, false);
    let mut rng = StdRng::seed_from_u64(args.seed);
    let out = args.out_dir.as_path();
    std::fs::create_dir_all(out)?;
    println!(
        "device: {device:?}, CPU threads: {}",
        tch::get_num_threads()
    );

    // Data: pairs, split, copies of the split, decoded tensors.
    let pairs = dataset::find_pairs(&args.data_dir)?;
    let split = dataset::split(pairs, &mut rng)?;
    println!(
        "split: {} training, {} validation, {} test images",
        split.train.len(),
        split.val.len(),
        split.test.len()
    );
    dataset::copy_split(&split, &out.join("splits"))?;
    let decoding = Instant::now();
    let load = |samples| -> Result<SegmentationDataset> {
        Ok(SegmentationDataset::load(samples, args.image_size)?.to_device(device))
    };
    let (train_ds, val_ds, test_ds) = (load(&split.train)?, load(&split.val)?, load(&split.test)?);
    println!(
        "decoded in {:.1} s: images {:?} and masks {:?} (u8), foreground {:.2}% of training pixels",
        decoding.elapsed().as_secs_f64(),
        train_ds.images.size(),
        train_ds.masks.size(),
        100.0 * train_ds.foreground_fraction()
    );
    let norm = train_ds.normalisation();
    println!(
        "normalisation from the training images: mean {:.4}, std {:.4}",
        norm.mean, norm.std
    );
    let train_loader = DataLoader::new(&train_ds, args.batch_size, true, norm);
    let val_loader = DataLoader::new(&val_ds, args.batch_size, false, norm);
    let test_loader = DataLoader::new(&test_ds, args.batch_size, false, norm);
    println!(
        "data loaders (batch size {}): {} training, {} validation, {} test batches",
        args.batch_size,
        train_loader.len(),
        val_loader.len(),
        test_loader.len()
    );

    // Model.
    let config = ModelConfig {
        in_channels: 1,
        base_channels: 32,
        levels: 4,
        image_size: i64::from(args.image_size),
        normalisation: norm,
    };
    let mut vs = nn::VarStore::new(device);
    let model = UNet::from_config(&vs.root(), &config);
    println!("{}", model.summary(&vs, config.image_size));
    println!("learnable parameters: {}", count_parameters(&vs));
    config.save(&out.join(CONFIG))?;

    // Training.
    let cfg = TrainConfig {
        epochs: args.epochs,
        learning_rate: args.lr,
        weight_decay: args.weight_decay,
        patience: args.patience.max(1),
        lr_patience: 3,
    };
    println!("hyperparameters: batch size {}, {cfg:?}", args.batch_size);
    let started = Instant::now();
    let history = train::train(
        &model,
        &mut vs,
        &train_loader,
        &val_loader,
        &cfg,
        &out.join(WEIGHTS),
        &mut rng,
    )?;
    let elapsed = started.elapsed();
    println!(
        "total training time: {} ({} epochs, best epoch {})",
        train::format_duration(elapsed),
        history.train_losses.len(),
        history.best_epoch
    );
    train::write_per_epoch(&out.join("train_losses.csv"), &history.train_losses)?;
    train::write_per_epoch(&out.join("val_losses.csv"), &history.val_losses)?;
    train::write_dice(&out.join("validation_dice_scores.csv"), &history.val_dice)?;
    train::plot_losses(
        &out.join("losses.png"),
        &history.train_losses,
        &history.val_losses,
    )?;

    // Testing, with the best weights.
    let (eval, rows) = train::test(&model, &test_loader, &test_ds, 5, &mut rng)?;
    train::write_dice(
        &out.join("test_dice_scores.csv"),
        &[eval.batch_dice.clone()],
    )?;
    println!(
        "test: loss {:.4}, mean Dice over batches {:.4}",
        eval.loss,
        train::mean(&eval.batch_dice)
    );
    train::plot_predictions(&out.join("predictions.png"), &rows, test_ds.size as usize)?;
    println!("outputs written to {}", out.display());
    Ok(())
}

fn run_predict(args: PredictArgs) -> Result<()> {
    let n = train::predict(
        &args.weights,
        &args.images_dir,
        &args.out_dir,
        args.batch_size,
    )?;
    println!("wrote {n} mask(s) to {}", args.out_dir.display());
    Ok(())
}

fn run_bench(args: BenchArgs) -> Result<()> {
    let device = setup(args.seed, args.threads, args.cpu);
    let result = train::bench(
        args.batch_size,
        args.image_size,
        args.steps,
        args.warmup,
        device,
    )?;
    println!("{}", serde_json::to_string(&result)?);
    Ok(())
}
