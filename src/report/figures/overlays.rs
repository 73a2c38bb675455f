//! Prediction overlays: for a few held-out images of a training (the worst, the median and the
//! best by the harness's Dice), the image, its mask, the program's prediction and both laid over
//! the image. The images and masks come from the split laid out in the cache, the predictions
//! from the training's artefacts; where either is gone, the figure is skipped with the reason.

use std::path::Path;

use image::{imageops, GrayImage, RgbImage};

use super::chart::{Chart, Picture};
use super::files::{artefacts_dir, read_plain, run_dir};
use super::plan::{slug, Plan, Skip};
use crate::csv_text::Csv;
use crate::dataset::{image_file_name, mask_file_name, IMAGES_DIR, MASKS_DIR, SPLIT_FILE};
use crate::eval::ImageDice;
use crate::train::{split_folder_name, PRED_DIR};
use crate::transcript::{TrainingEvent, Transcript};

/// The side of the square each panel is fitted into, in pixels.
const PANEL: u32 = 200;
const GAP: u32 = 12;
/// Space above the rows: the title, the run, the column names.
const HEADER: u32 = 96;
/// Space below the rows for the overlay's colour key.
const FOOTER: u32 = 34;
/// Space above each row for its caption.
const CAPTION: u32 = 30;
const COLUMNS: [&str; 4] = ["image", "mask", "prediction", "overlay"];
const KEY: &str = "overlay: green = mask and prediction, red = prediction only, blue = mask only";

/// Figure 6: one figure per scored training, or a skip saying why. `splits_dir` is the cache's
/// folder of laid-out splits, where it is known; `count` images are shown per training.
pub(crate) fn overlays(
    transcripts: &[Transcript],
    splits_dir: Option<&Path>,
    count: usize,
) -> Vec<Result<Plan, Skip>> {
    let mut out = Vec::new();
    for run in transcripts {
        for (index, training) in run.trainings().enumerate() {
            out.push(one(run, training, index + 1, splits_dir, count));
        }
    }
    out
}

/// Up to `count` images spread over the ranking by Dice: the worst, the best and evenly between.
fn choose(images: &[ImageDice], count: usize) -> Vec<(&ImageDice, &'static str)> {
    let mut ranked: Vec<&ImageDice> = images.iter().collect();
    ranked.sort_by(|a, b| a.dice.total_cmp(&b.dice).then(a.name.cmp(&b.name)));
    let n = ranked.len();
    let count = count.min(n);
    let mut picked: Vec<usize> = (0..count)
        .map(|i| {
            if count == 1 {
                n / 2
            } else {
                i * (n - 1) / (count - 1)
            }
        })
        .collect();
    picked.dedup();
    picked
        .into_iter()
        .map(|i| {
            let rank = if i == 0 {
                "worst"
            } else if i == n - 1 {
                "best"
            } else if i == n / 2 {
                "median"
            } else {
                "between"
            };
            (ranked[i], rank)
        })
        .collect()
}

fn decode(bytes: &[u8], what: &str) -> Result<image::DynamicImage, String> {
    image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
        .map_err(|e| format!("{what} is not a readable PNG: {e}"))
}

/// `image` scaled to fit a panel.
fn fit(image: &RgbImage, filter: imageops::FilterType) -> RgbImage {
    let (w, h) = image.dimensions();
    let scale = f64::from(PANEL) / f64::from(w.max(h).max(1));
    let (nw, nh) = (
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    );
    imageops::resize(image, nw, nh, filter)
}

fn mask_rgb(mask: &GrayImage) -> RgbImage {
    RgbImage::from_fn(mask.width(), mask.height(), |x, y| {
        let on = mask.get_pixel(x, y)[0] > 127;
        image::Rgb(if on { [255; 3] } else { [0; 3] })
    })
}

/// The image dimmed to grey, the mask and prediction coloured over it. Same sizes only.
fn overlay(image: &RgbImage, mask: &GrayImage, prediction: &GrayImage) -> RgbImage {
    RgbImage::from_fn(image.width(), image.height(), |x, y| {
        let p = image.get_pixel(x, y).0;
        let grey = ((u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2])) / 6) as u8;
        let truth = mask.get_pixel(x, y)[0] > 127;
        let predicted = prediction.get_pixel(x, y)[0] > 127;
        image::Rgb(match (truth, predicted) {
            (true, true) => [40, 200, 40],
            (false, true) => [220, 40, 40],
            (true, false) => [40, 90, 230],
            (false, false) => [grey; 3],
        })
    })
}

fn one(
    run: &Transcript,
    training: &TrainingEvent,
    index: usize,
    splits_dir: Option<&Path>,
    count: usize,
) -> Result<Plan, Skip> {
    let run_id = &run.header.run_id;
    let dataset = &training.dataset;
    let id = format!("overlays-{}-{}-{index}", slug(run_id), slug(&dataset.name));
    let title = format!(
        "Predictions on held-out images: {run_id}, {} (training {index})",
        dataset.name
    );
    let skip = |reason: String| Skip {
        id: id.clone(),
        title: title.clone(),
        reason,
        sources: vec![run_id.clone()],
    };
    if count == 0 {
        return Err(skip("no held-out images were asked for".into()));
    }
    if training.per_image.is_empty() {
        return Err(skip(
            "the training recorded no per-image Dice (nothing was scored)".into(),
        ));
    }
    let splits = splits_dir.ok_or_else(|| {
        skip("the cache folder is unknown, so the held-out split cannot be found".into())
    })?;
    let artefacts = artefacts_dir(training).map_err(skip)?;
    let folder = Path::new(&split_folder_name(
        &dataset.name,
        &dataset.fingerprint,
        dataset.split_seed,
    ))
    .to_path_buf();
    let record = read_plain(splits, &folder.join(SPLIT_FILE)).map_err(|why| {
        skip(format!(
            "the split is not in the cache's splits folder: {why}"
        ))
    })?;
    if !String::from_utf8_lossy(&record).contains(&dataset.split_hash) {
        return Err(skip(format!(
            "the split in the cache's splits folder ({}) is not the one this training used",
            folder.display()
        )));
    }
    let test = folder.join("test");
    let chosen = choose(&training.per_image, count);
    let rows = chosen.len() as u32;
    let width = 4 * PANEL + 5 * GAP;
    let height = HEADER + rows * (CAPTION + PANEL + GAP) + FOOTER;
    let mut canvas = RgbImage::from_pixel(width, height, image::Rgb([255; 3]));
    let mut texts = vec![
        (
            GAP as i32,
            10,
            format!("Held-out predictions: {} (training {index})", dataset.name),
        ),
        (GAP as i32, 40, format!("run {run_id}")),
    ];
    for (column, name) in COLUMNS.iter().enumerate() {
        let x = GAP + column as u32 * (PANEL + GAP);
        texts.push((x as i32, 70, (*name).to_string()));
    }
    texts.push((GAP as i32, (height - FOOTER + 8) as i32, KEY.to_string()));
    let mut csv = Csv::new(&["image", "dice", "predicted", "flag", "shown_as"]);
    for (row, (entry, rank)) in chosen.iter().enumerate() {
        let image_path = test.join(IMAGES_DIR).join(image_file_name(&entry.name));
        let mask_path = test.join(MASKS_DIR).join(mask_file_name(&entry.name));
        let image = decode(
            &read_plain(splits, &image_path).map_err(|why| skip(format!("test image: {why}")))?,
            "the test image",
        )
        .map_err(skip)?
        .to_rgb8();
        let mask = decode(
            &read_plain(splits, &mask_path).map_err(|why| skip(format!("test mask: {why}")))?,
            "the test mask",
        )
        .map_err(skip)?
        .to_luma8();
        let pred_path = artefacts.join(PRED_DIR).join(image_file_name(&entry.name));
        let prediction = if entry.predicted {
            let bytes = read_plain(&run_dir(run), &pred_path)
                .map_err(|why| skip(format!("prediction: {why}")))?;
            decode(&bytes, "the prediction").ok().map(|p| p.to_luma8())
        } else {
            None
        };
        let same_size = |p: &GrayImage| {
            p.dimensions() == image.dimensions() && mask.dimensions() == image.dimensions()
        };
        let mut panels = vec![
            fit(&image, imageops::FilterType::Triangle),
            fit(&mask_rgb(&mask), imageops::FilterType::Nearest),
        ];
        if let Some(prediction) = &prediction {
            panels.push(fit(&mask_rgb(prediction), imageops::FilterType::Nearest));
            if same_size(prediction) {
                panels.push(fit(
                    &overlay(&image, &mask, prediction),
                    imageops::FilterType::Nearest,
                ));
            }
        }
        let y = HEADER + row as u32 * (CAPTION + PANEL + GAP);
        for (column, panel) in panels.iter().enumerate() {
            let x = GAP + column as u32 * (PANEL + GAP);
            imageops::overlay(&mut canvas, panel, i64::from(x), i64::from(y + CAPTION));
        }
        let mut caption = format!("{}: Dice {:.3} ({rank})", entry.name, entry.dice);
        match (&prediction, &entry.flag) {
            (None, _) if !entry.predicted => caption.push_str(", no prediction written"),
            (None, _) => caption.push_str(", prediction unreadable"),
            (Some(p), _) if !same_size(p) => caption.push_str(", sizes differ: no overlay"),
            _ => {}
        }
        if let Some(flag) = &entry.flag {
            caption.push_str(&format!(", {flag}"));
        }
        texts.push((GAP as i32, (y + 6) as i32, caption));
        csv.row(&[
            entry.name.clone(),
            entry.dice.to_string(),
            entry.predicted.to_string(),
            entry.flag.clone().unwrap_or_default(),
            (*rank).to_string(),
        ]);
    }
    Ok(Plan {
        id,
        title,
        caption: format!(
            "Held-out images of {} chosen by the harness's Dice (worst, median, best), from the split in the cache and the predictions in the artefacts `{}`; {KEY}.",
            dataset.name, training.artefacts
        ),
        csv: csv.finish(),
        chart: Chart::Picture(Picture {
            width,
            height,
            rgb: canvas.into_raw(),
            texts,
        }),
        sources: vec![run_id.clone()],
        size: (width, height),
    })
}
