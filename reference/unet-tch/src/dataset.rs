//! The data: image/mask pairs found on disk, the 80/10/10 split, decoding into tensors held in
//! memory, and the batch loader used for training, validation and testing.
//!
//! Layout: `DATA/images/N.png` with its mask `DATA/masks/N_seg.png`. Anything else in those
//! folders (other extensions, images without a mask) is ignored. Every image is read as 8-bit
//! grayscale whatever it was stored as and resized to `size x size` (bilinear); every mask is
//! binarised (0/1 and 0/255 masks both work) and resized with nearest neighbour, so it stays
//! binary. Decoding happens once; batches are then cut from tensors that stay on the device.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use image::imageops::FilterType;
use image::GrayImage;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// One image and its mask, by path.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The image's file name, for example `17.png`.
    pub name: String,
    pub image: PathBuf,
    pub mask: PathBuf,
}

/// The three disjoint parts of the data the program was given.
#[derive(Debug, Clone)]
pub struct Split {
    pub train: Vec<Sample>,
    pub val: Vec<Sample>,
    pub test: Vec<Sample>,
}

/// True when `path` names a PNG file (case-insensitive extension).
pub fn is_png(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
}

/// The PNG files directly inside `dir`, sorted by name. Other files and folders are skipped.
pub fn list_pngs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    let entries = fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_file() && is_png(&path) {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

/// Pairs every `images/N.png` with `masks/N_seg.png`; images without a mask are skipped.
pub fn find_pairs(data_dir: &Path) -> Result<Vec<Sample>> {
    let images_dir = data_dir.join("images");
    let masks_dir = data_dir.join("masks");
    if !images_dir.is_dir() || !masks_dir.is_dir() {
        bail!(
            "{} must contain the folders images/ and masks/ (images/N.png with masks/N_seg.png)",
            data_dir.display()
        );
    }
    let mut samples = Vec::new();
    let mut unpaired = 0usize;
    for image in list_pngs(&images_dir)? {
        let Some(stem) = image.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if stem.ends_with("_seg") {
            continue;
        }
        let mask = masks_dir.join(format!("{stem}_seg.png"));
        if !mask.is_file() {
            unpaired += 1;
            continue;
        }
        let name = image
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        samples.push(Sample { name, image, mask });
    }
    if unpaired > 0 {
        eprintln!("warning: skipped {unpaired} image(s) without a mask named N_seg.png");
    }
    if samples.is_empty() {
        bail!("no image/mask pairs found under {}", data_dir.display());
    }
    Ok(samples)
}

/// Shuffles (seeded) and splits into 80% training, 10% validation and 10% test, each non-empty.
pub fn split(mut samples: Vec<Sample>, rng: &mut StdRng) -> Result<Split> {
    let n = samples.len();
    if n < 3 {
        bail!("need at least 3 image/mask pairs to make a train/validation/test split, found {n}");
    }
    samples.shuffle(rng);
    let n_val = ((n as f64 * 0.1).round() as usize).max(1);
    let n_test = ((n as f64 * 0.1).round() as usize).max(1);
    let n_train = n - n_val - n_test;
    let test = samples.split_off(n_train + n_val);
    let val = samples.split_off(n_train);
    Ok(Split {
        train: samples,
        val,
        test,
    })
}

/// Copies each part's images and masks to `dir/{train,val,test}/{images,masks}/`.
pub fn copy_split(split: &Split, dir: &Path) -> Result<()> {
    for (part, samples) in [
        ("train", &split.train),
        ("val", &split.val),
        ("test", &split.test),
    ] {
        let images = dir.join(part).join("images");
        let masks = dir.join(part).join("masks");
        fs::create_dir_all(&images)?;
        fs::create_dir_all(&masks)?;
        for s in samples {
            fs::copy(&s.image, images.join(&s.name))
                .with_context(|| format!("cannot copy {}", s.image.display()))?;
            let mask_name = s.mask.file_name().unwrap_or_default();
            fs::copy(&s.mask, masks.join(mask_name))
                .with_context(|| format!("cannot copy {}", s.mask.display()))?;
        }
    }
    Ok(())
}

/// Reads any PNG (8- or 16-bit, gray, RGB or RGBA) as 8-bit grayscale, at its own size.
pub fn read_gray(path: &Path) -> Result<GrayImage> {
    let img = image::open(path).with_context(|| format!("cannot read image {}", path.display()))?;
    Ok(img.to_luma8())
}

/// An image as `size * size` grayscale bytes (bilinear resize).
pub fn image_pixels(gray: &GrayImage, size: u32) -> Vec<u8> {
    if gray.dimensions() == (size, size) {
        return gray.as_raw().clone();
    }
    image::imageops::resize(gray, size, size, FilterType::Triangle).into_raw()
}

/// A mask as `size * size` bytes of 0 or 1 (binarised, then nearest-neighbour resize).
/// Masks stored as 0/1 and as 0/255 both work: the threshold depends on the largest value.
pub fn mask_pixels(gray: &GrayImage, size: u32) -> Vec<u8> {
    let max = gray.as_raw().iter().copied().max().unwrap_or(0);
    let threshold = if max > 1 { 127 } else { 0 };
    let mut binary = gray.clone();
    for p in binary.iter_mut() {
        *p = u8::from(*p > threshold);
    }
    if binary.dimensions() == (size, size) {
        return binary.into_raw();
    }
    image::imageops::resize(&binary, size, size, FilterType::Nearest).into_raw()
}

/// Pixel normalisation, with statistics taken from the training images only (no leakage).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Normalisation {
    /// Mean of the training pixels, in [0, 1].
    pub mean: f64,
    /// Standard deviation of the training pixels, in [0, 1].
    pub std: f64,
}

impl Normalisation {
    /// `(x / 255 - mean) / std` as float, for a `u8` tensor.
    pub fn apply(&self, pixels: &Tensor) -> Tensor {
        let std = self.std.max(1e-6);
        pixels.to_kind(Kind::Float) * (1.0 / (255.0 * std)) - self.mean / std
    }
}

/// A decoded split: all images and masks as `[N, 1, S, S]` `u8` tensors.
pub struct SegmentationDataset {
    pub names: Vec<String>,
    pub mask_names: Vec<String>,
    /// Grayscale pixels, 0..=255.
    pub images: Tensor,
    /// Mask pixels, 0 or 1.
    pub masks: Tensor,
    pub size: i64,
    pixel_sum: u64,
    pixel_sq_sum: u64,
    foreground: u64,
}

impl SegmentationDataset {
    /// Decodes every sample once, on all CPU cores.
    pub fn load(samples: &[Sample], size: u32) -> Result<Self> {
        let n = samples.len();
        let per = (size * size) as usize;
        let mut images = vec![0u8; n * per];
        let mut masks = vec![0u8; n * per];
        let threads = std::thread::available_parallelism()
            .map_or(1, |t| t.get())
            .min(n.max(1));
        let chunk = n.div_ceil(threads).max(1);
        std::thread::scope(|scope| -> Result<()> {
            let handles: Vec<_> = samples
                .chunks(chunk)
                .zip(images.chunks_mut(chunk * per))
                .zip(masks.chunks_mut(chunk * per))
                .map(|((samples, images), masks)| {
                    scope.spawn(move || -> Result<()> {
                        for (i, s) in samples.iter().enumerate() {
                            let img = image_pixels(&read_gray(&s.image)?, size);
                            let mask = mask_pixels(&read_gray(&s.mask)?, size);
                            images[i * per..(i + 1) * per].copy_from_slice(&img);
                            masks[i * per..(i + 1) * per].copy_from_slice(&mask);
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("a decoding thread panicked")?;
            }
            Ok(())
        })?;
        let pixel_sum = images.iter().map(|&p| u64::from(p)).sum();
        let pixel_sq_sum = images.iter().map(|&p| u64::from(p) * u64::from(p)).sum();
        let foreground = masks.iter().map(|&p| u64::from(p)).sum();
        let s = i64::from(size);
        let shape = [n as i64, 1, s, s];
        Ok(Self {
            names: samples.iter().map(|s| s.name.clone()).collect(),
            mask_names: samples
                .iter()
                .map(|s| {
                    s.mask
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect(),
            images: Tensor::from_slice(&images).view(shape),
            masks: Tensor::from_slice(&masks).view(shape),
            size: s,
            pixel_sum,
            pixel_sq_sum,
            foreground,
        })
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Moves the pixel tensors to `device` once, so batches never cross the bus again.
    pub fn to_device(mut self, device: Device) -> Self {
        self.images = self.images.to_device(device);
        self.masks = self.masks.to_device(device);
        self
    }

    /// Mean and standard deviation of the pixels, in [0, 1].
    pub fn normalisation(&self) -> Normalisation {
        let count = (self.len() as f64) * (self.size * self.size) as f64;
        let mean = self.pixel_sum as f64 / count / 255.0;
        let sq = self.pixel_sq_sum as f64 / count / (255.0 * 255.0);
        Normalisation {
            mean,
            std: (sq - mean * mean).max(0.0).sqrt(),
        }
    }

    /// Fraction of mask pixels that are foreground.
    pub fn foreground_fraction(&self) -> f64 {
        self.foreground as f64 / ((self.len() as f64) * (self.size * self.size) as f64)
    }
}

/// One batch on the device: normalised float images `[B, 1, S, S]`, float 0/1 masks, indices.
pub struct Batch {
    pub images: Tensor,
    pub masks: Tensor,
    pub indices: Vec<usize>,
}

/// Cuts batches from a dataset, shuffled each epoch for training, in order otherwise.
pub struct DataLoader<'a> {
    dataset: &'a SegmentationDataset,
    batch_size: usize,
    shuffle: bool,
    norm: Normalisation,
}

impl<'a> DataLoader<'a> {
    pub fn new(
        dataset: &'a SegmentationDataset,
        batch_size: usize,
        shuffle: bool,
        norm: Normalisation,
    ) -> Self {
        Self {
            dataset,
            batch_size: batch_size.max(1),
            shuffle,
            norm,
        }
    }

    /// Number of batches per pass (the last one may be smaller).
    pub fn len(&self) -> usize {
        self.dataset.len().div_ceil(self.batch_size)
    }

    /// The batches of one pass. `rng` shuffles the order when the loader shuffles.
    pub fn batches(&self, rng: &mut StdRng) -> impl Iterator<Item = Batch> + '_ {
        let mut order: Vec<usize> = (0..self.dataset.len()).collect();
        if self.shuffle {
            order.shuffle(rng);
        }
        let chunks: Vec<Vec<usize>> = order
            .chunks(self.batch_size)
            .map(<[usize]>::to_vec)
            .collect();
        chunks.into_iter().map(move |indices| self.batch(indices))
    }

    /// The batch made of the given sample indices.
    pub fn batch(&self, indices: Vec<usize>) -> Batch {
        let device = self.dataset.images.device();
        let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
        let idx = Tensor::from_slice(&idx).to_device(device);
        let images = self.norm.apply(&self.dataset.images.index_select(0, &idx));
        let masks = self
            .dataset
            .masks
            .index_select(0, &idx)
            .to_kind(Kind::Float);
        Batch {
            images,
            masks,
            indices,
        }
    }
}
