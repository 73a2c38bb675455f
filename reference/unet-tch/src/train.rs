//! Training, validation and testing: the loss, Dice, the epoch loop with early stopping, the
//! CSV files of losses and Dice scores, the loss plot and the predictions figure, prediction on
//! a folder of images, and a throughput benchmark on synthetic tensors.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use image::GrayImage;
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rand::rngs::StdRng;
use rand::seq::index::sample;
use serde::Serialize;
use tch::nn::{self, ModuleT, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

use crate::dataset::{self, DataLoader, SegmentationDataset};
use crate::model::{count_parameters, ModelConfig, UNet};

/// The training hyperparameters.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub epochs: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// Stop when the validation loss has not improved for this many epochs.
    pub patience: usize,
    /// Halve the learning rate after this many epochs without improvement.
    pub lr_patience: usize,
}

/// What one training run produced, epoch by epoch.
#[derive(Debug, Default)]
pub struct History {
    pub train_losses: Vec<f64>,
    pub val_losses: Vec<f64>,
    /// Mean Dice of each validation batch, one row per epoch.
    pub val_dice: Vec<Vec<f64>>,
    pub best_epoch: usize,
}

/// Binary cross-entropy on the logits plus soft Dice loss (1 - Dice of the probabilities,
/// per image, averaged). The Dice term keeps a small foreground from being ignored.
pub fn bce_dice_loss(logits: &Tensor, masks: &Tensor) -> Tensor {
    let bce = logits.binary_cross_entropy_with_logits::<Tensor>(masks, None, None, Reduction::Mean);
    let probs = logits.sigmoid();
    let dims: &[i64] = &[1, 2, 3];
    let inter = (&probs * masks).sum_dim_intlist(dims, false, Kind::Float);
    let denom = probs.sum_dim_intlist(dims, false, Kind::Float)
        + masks.sum_dim_intlist(dims, false, Kind::Float);
    let dice = (inter * 2.0 + 1.0) / (denom + 1.0);
    bce + (dice.mean(Kind::Float).neg() + 1.0)
}

/// Dice of each image's thresholded prediction (logit > 0) against its mask, `[B]`.
/// An empty prediction on an empty mask scores 1.
pub fn dice_per_image(logits: &Tensor, masks: &Tensor) -> Tensor {
    let pred = logits.gt(0.0).to_kind(Kind::Float);
    let dims: &[i64] = &[1, 2, 3];
    let inter = (&pred * masks).sum_dim_intlist(dims, false, Kind::Float);
    let total = pred.sum_dim_intlist(dims, false, Kind::Float)
        + masks.sum_dim_intlist(dims, false, Kind::Float);
    let dice = inter * 2.0 / total.clamp_min(1.0);
    dice.where_self(&total.gt(0.0), &Tensor::ones_like(&total))
}

/// A progress bar on stderr (drawn only when stderr is a terminal).
fn bar(len: usize, prefix: String) -> ProgressBar {
    let pb = ProgressBar::new(len as u64);
    let style = ProgressStyle::with_template(
        "{prefix:>16} [{bar:30}] {pos}/{len} batches {elapsed}<{eta} {msg}",
    )
    .expect("valid template")
    .progress_chars("=> ");
    pb.set_style(style);
    pb.set_prefix(prefix);
    pb
}

/// Mean loss over a pass (weighted by batch size), and the Dice of each batch.
pub struct Evaluation {
    pub loss: f64,
    pub batch_dice: Vec<f64>,
}

/// Runs the model in evaluation mode over a loader: no gradients, batch norm frozen.
pub fn evaluate(model: &UNet, loader: &DataLoader, rng: &mut StdRng, label: String) -> Evaluation {
    let pb = bar(loader.len(), label);
    let mut loss_sum = 0.0;
    let mut count = 0usize;
    let mut batch_dice = Vec::with_capacity(loader.len());
    tch::no_grad(|| {
        for batch in loader.batches(rng) {
            let logits = model.forward_t(&batch.images, false);
            let n = batch.indices.len();
            loss_sum += bce_dice_loss(&logits, &batch.masks).double_value(&[]) * n as f64;
            count += n;
            let d = dice_per_image(&logits, &batch.masks)
                .mean(Kind::Float)
                .double_value(&[]);
            batch_dice.push(d);
            pb.set_message(format!("dice {d:.4}"));
            pb.inc(1);
        }
    });
    pb.finish_and_clear();
    Evaluation {
        loss: loss_sum / count.max(1) as f64,
        batch_dice,
    }
}

/// The training loop. Keeps the weights of the best validation epoch in `best_weights`
/// and loads them back into `vs` before returning.
#[allow(clippy::too_many_arguments)]
pub fn train(
    model: &UNet,
    vs: &mut nn::VarStore,
    train_loader: &DataLoader,
    val_loader: &DataLoader,
    cfg: &TrainConfig,
    best_weights: &Path,
    rng: &mut StdRng,
) -> Result<History> {
    let mut opt = nn::adamw(0.9, 0.999, cfg.weight_decay).build(vs, cfg.learning_rate)?;
    let mut lr = cfg.learning_rate;
    let mut history = History::default();
    let mut best = f64::INFINITY;
    let mut since_best = 0usize;
    for epoch in 1..=cfg.epochs {
        let started = Instant::now();
        let pb = bar(train_loader.len(), format!("train {epoch}/{}", cfg.epochs));
        // Losses stay on the device and are read back every few batches, not every batch.
        let mut loss_sum = Tensor::zeros([], (Kind::Float, vs.device()));
        let mut count = 0usize;
        for (i, batch) in train_loader.batches(rng).enumerate() {
            let logits = model.forward_t(&batch.images, true);
            let loss = bce_dice_loss(&logits, &batch.masks);
            opt.zero_grad();
            loss.backward();
            opt.step();
            let n = batch.indices.len();
            loss_sum += loss.detach() * n as f64;
            count += n;
            if i % 10 == 0 {
                let mean = loss_sum.double_value(&[]) / count as f64;
                pb.set_message(format!("loss {mean:.4}"));
            }
            pb.inc(1);
        }
        pb.finish_and_clear();
        let train_loss = loss_sum.double_value(&[]) / count.max(1) as f64;
        if !train_loss.is_finite() {
            bail!("the training loss became {train_loss} in epoch {epoch}");
        }
        let val = evaluate(
            model,
            val_loader,
            rng,
            format!("val {epoch}/{}", cfg.epochs),
        );
        let mean_dice = mean(&val.batch_dice);
        history.train_losses.push(train_loss);
        history.val_losses.push(val.loss);
        history.val_dice.push(val.batch_dice);

        let improved = val.loss < best - 1e-4;
        if improved {
            best = val.loss;
            since_best = 0;
            history.best_epoch = epoch;
            vs.save(best_weights)?;
        } else {
            since_best += 1;
            if since_best % cfg.lr_patience == 0 {
                lr = (lr * 0.5).max(1e-6);
                opt.set_lr(lr);
            }
        }
        println!(
            "epoch {epoch:>3}/{}  train loss {train_loss:.4}  val loss {:.4}  val dice {mean_dice:.4}  lr {lr:.1e}  {:.1} s{}",
            cfg.epochs,
            val.loss,
            started.elapsed().as_secs_f64(),
            if improved { "  (best, saved)" } else { "" },
        );
        if since_best >= cfg.patience {
            println!(
                "early stopping: no improvement of the validation loss for {since_best} epochs"
            );
            break;
        }
    }
    vs.load(best_weights)?;
    Ok(history)
}

pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// A CSV file whose rows are the given numbers (no header).
pub fn write_rows(path: &Path, rows: &[Vec<String>]) -> Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    for row in rows {
        w.write_record(row)?;
    }
    w.flush()?;
    Ok(())
}

/// Per-epoch values as two rows: epoch numbers, then the values.
pub fn write_per_epoch(path: &Path, values: &[f64]) -> Result<()> {
    let epochs = (1..=values.len()).map(|e| e.to_string()).collect();
    let values = values.iter().map(f64::to_string).collect();
    write_rows(path, &[epochs, values])
}

/// Dice scores, one row per epoch (or one row for the test), one column per batch.
pub fn write_dice(path: &Path, rows: &[Vec<f64>]) -> Result<()> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(f64::to_string).collect())
        .collect();
    write_rows(path, &rows)
}

fn plot_err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("plotting failed: {e}")
}

/// Training and validation losses over the epochs, on one plot, as a PNG.
pub fn plot_losses(path: &Path, train: &[f64], val: &[f64]) -> Result<()> {
    let root = BitMapBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let finite = train.iter().chain(val).copied().filter(|v| v.is_finite());
    let top = finite.fold(0.0f64, f64::max).max(1e-3) * 1.1;
    let last = train.len().max(2) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption("Training and validation loss", ("sans-serif", 26))
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(1.0..last, 0.0..top)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("Epoch")
        .y_desc("Loss")
        .draw()
        .map_err(plot_err)?;
    for (values, color, label) in [
        (train, BLUE, "Training loss"),
        (val, RED, "Validation loss"),
    ] {
        let points = values.iter().enumerate().map(|(i, &v)| ((i + 1) as f64, v));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(plot_err)?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

/// One row of the predictions figure: three `size x size` grayscale panels and their names.
pub struct FigureRow {
    pub panels: [Vec<u8>; 3],
    pub names: [String; 3],
}

/// Rows of (input image, ground truth, prediction), titled by column, each panel with its file
/// name above it, as a PNG.
pub fn plot_predictions(path: &Path, rows: &[FigureRow], size: usize) -> Result<()> {
    const PANEL: u32 = 256;
    const GAP: u32 = 12;
    const HEADER: u32 = 44;
    const LABEL: u32 = 24;
    let width = 3 * PANEL + 4 * GAP;
    let height = HEADER + rows.len() as u32 * (LABEL + PANEL + GAP);
    let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let centred = Pos::new(HPos::Center, VPos::Top);
    let title = ("sans-serif", 24).into_font().color(&BLACK);
    for (c, name) in ["Input Image", "Ground Truth", "Prediction"]
        .iter()
        .enumerate()
    {
        let x = (GAP + c as u32 * (PANEL + GAP) + PANEL / 2) as i32;
        root.draw(&Text::new(*name, (x, 10), title.clone().pos(centred)))
            .map_err(plot_err)?;
    }
    let label = ("sans-serif", 15).into_font().color(&BLACK);
    for (r, row) in rows.iter().enumerate() {
        let y0 = HEADER + r as u32 * (LABEL + PANEL + GAP);
        for c in 0..3 {
            let x0 = GAP + c as u32 * (PANEL + GAP);
            let x_mid = (x0 + PANEL / 2) as i32;
            root.draw(&Text::new(
                row.names[c].clone(),
                (x_mid, y0 as i32 + 4),
                label.clone().pos(centred),
            ))
            .map_err(plot_err)?;
            let pixels = &row.panels[c];
            for py in 0..PANEL {
                let sy = py as usize * size / PANEL as usize;
                for px in 0..PANEL {
                    let sx = px as usize * size / PANEL as usize;
                    let v = pixels[sy * size + sx];
                    root.draw_pixel(
                        ((x0 + px) as i32, (y0 + LABEL + py) as i32),
                        &RGBColor(v, v, v),
                    )
                    .map_err(plot_err)?;
                }
            }
        }
    }
    root.present().map_err(plot_err)?;
    Ok(())
}

/// Evaluates the test split (Dice per batch) and returns the figure rows for `n_show` random
/// test samples.
pub fn test(
    model: &UNet,
    loader: &DataLoader,
    dataset: &SegmentationDataset,
    n_show: usize,
    rng: &mut StdRng,
) -> Result<(Evaluation, Vec<FigureRow>)> {
    let eval = evaluate(model, loader, rng, "test".to_string());
    let chosen = sample(rng, dataset.len(), n_show.min(dataset.len())).into_vec();
    let batch = loader.batch(chosen.clone());
    let logits = tch::no_grad(|| model.forward_t(&batch.images, false));
    let pred = logits.gt(0.0).to_kind(Kind::Uint8).to_device(Device::Cpu) * 255;
    let mut rows = Vec::new();
    for (k, &i) in chosen.iter().enumerate() {
        let image = Vec::<u8>::try_from(
            dataset
                .images
                .get(i as i64)
                .flatten(0, -1)
                .to_device(Device::Cpu),
        )?;
        let mask = Vec::<u8>::try_from(
            dataset
                .masks
                .get(i as i64)
                .flatten(0, -1)
                .to_device(Device::Cpu)
                * 255,
        )?;
        let prediction = Vec::<u8>::try_from(pred.get(k as i64).flatten(0, -1))?;
        rows.push(FigureRow {
            panels: [image, mask, prediction],
            names: [
                dataset.names[i].clone(),
                dataset.mask_names[i].clone(),
                dataset.names[i].clone(),
            ],
        });
    }
    Ok((eval, rows))
}

/// Writes one binary mask PNG (0/255, the input's size, the input's file name) per PNG in
/// `images_dir`.
pub fn predict(
    weights: &Path,
    images_dir: &Path,
    out_dir: &Path,
    batch_size: usize,
) -> Result<usize> {
    let config_path = weights.with_file_name("model_config.json");
    let cfg = ModelConfig::load(&config_path)?;
    let device = crate::model::pick_device();
    let mut vs = nn::VarStore::new(device);
    let model = UNet::from_config(&vs.root(), &cfg);
    vs.load(weights)
        .with_context(|| format!("cannot load weights {}", weights.display()))?;
    std::fs::create_dir_all(out_dir)?;
    let paths = dataset::list_pngs(images_dir)?;
    let size = cfg.image_size as u32;
    let pb = bar(
        paths.len().div_ceil(batch_size.max(1)),
        "predict".to_string(),
    );
    for chunk in paths.chunks(batch_size.max(1)) {
        let mut inputs = Vec::with_capacity(chunk.len());
        let mut dims = Vec::with_capacity(chunk.len());
        for path in chunk {
            let gray = dataset::read_gray(path)?;
            dims.push(gray.dimensions());
            let pixels = dataset::image_pixels(&gray, size);
            inputs.push(Tensor::from_slice(&pixels).view([1, cfg.image_size, cfg.image_size]));
        }
        let batch = cfg
            .normalisation
            .apply(&Tensor::stack(&inputs, 0).to_device(device));
        let logits = tch::no_grad(|| model.forward_t(&batch, false));
        for ((path, (w, h)), logit) in chunk.iter().zip(dims).zip(logits.split(1, 0)) {
            // Back to the image's own size: bilinear on the logits, then threshold.
            let full = logit.upsample_bilinear2d([i64::from(h), i64::from(w)], false, None, None);
            let mask = full.gt(0.0).to_kind(Kind::Uint8).to_device(Device::Cpu) * 255;
            let pixels = Vec::<u8>::try_from(mask.flatten(0, -1))?;
            let img =
                GrayImage::from_raw(w, h, pixels).ok_or_else(|| anyhow!("mask size mismatch"))?;
            let name = path.file_name().unwrap_or_default();
            img.save(out_dir.join(name))
                .with_context(|| format!("cannot write mask for {}", path.display()))?;
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    // A folder without PNGs is not an error, but say so.
    if paths.is_empty() {
        eprintln!("warning: no PNG images in {}", images_dir.display());
    }
    Ok(paths.len())
}

/// The result of `bench`, printed as one JSON line.
#[derive(Debug, Serialize)]
pub struct BenchResult {
    pub implementation: &'static str,
    pub device: String,
    pub threads: i32,
    pub batch_size: i64,
    pub image_size: i64,
    pub steps: usize,
    pub parameters: i64,
    pub seconds: f64,
    pub images_per_second: f64,
    /// CPU time (user and system, all threads) spent in the timed steps; null where unknown.
    pub cpu_seconds: Option<f64>,
}

/// This process's CPU time so far, from `/proc/self/stat` (Linux; `None` elsewhere).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Linux reports these in USER_HZ ticks, 100 per second on every mainstream architecture.
    Some((utime + stime) / 100.0)
}

/// Times `steps` training steps (forward, BCE + Dice loss, backward, AdamW step) on synthetic
/// tensors that stay on the device, after `warmup` untimed steps.
pub fn bench(
    batch_size: i64,
    image_size: i64,
    steps: usize,
    warmup: usize,
    device: Device,
) -> Result<BenchResult> {
    let vs = nn::VarStore::new(device);
    let model = UNet::new(&vs.root(), 1, 32, 4);
    let mut opt = nn::adamw(0.9, 0.999, 1e-4).build(&vs, 1e-3)?;
    let shape = [batch_size, 1, image_size, image_size];
    let images = Tensor::randn(shape, (Kind::Float, device));
    let masks = Tensor::rand(shape, (Kind::Float, device))
        .lt(0.05)
        .to_kind(Kind::Float);
    let mut step = || {
        let logits = model.forward_t(&images, true);
        let loss = bce_dice_loss(&logits, &masks);
        opt.zero_grad();
        loss.backward();
        opt.step();
        loss
    };
    let sync = || {
        if let Device::Cuda(i) = device {
            tch::Cuda::synchronize(i as i64);
        }
    };
    for _ in 0..warmup {
        let _ = step();
    }
    sync();
    let cpu_started = process_cpu_seconds();
    let started = Instant::now();
    let mut last = Tensor::zeros([], (Kind::Float, device));
    for _ in 0..steps {
        last = step();
    }
    let loss = last.double_value(&[]);
    sync();
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = process_cpu_seconds()
        .zip(cpu_started)
        .map(|(end, start)| end - start);
    if !loss.is_finite() {
        bail!("the benchmark's loss became {loss}");
    }
    Ok(BenchResult {
        implementation: "tch",
        device: match device {
            Device::Cuda(i) => format!("cuda:{i}"),
            _ => "cpu".to_string(),
        },
        threads: tch::get_num_threads(),
        batch_size,
        image_size,
        steps,
        parameters: count_parameters(&vs),
        seconds,
        images_per_second: (steps as i64 * batch_size) as f64 / seconds,
        cpu_seconds,
    })
}

/// Formats a duration as `1h 02m 03.4s`.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    let h = (s / 3600.0).floor();
    let m = ((s - h * 3600.0) / 60.0).floor();
    let rest = s - h * 3600.0 - m * 60.0;
    if h > 0.0 {
        format!("{h:.0}h {m:02.0}m {rest:04.1}s")
    } else if m > 0.0 {
        format!("{m:.0}m {rest:04.1}s")
    } else {
        format!("{rest:.1}s")
    }
}
