//! Synthetic datasets, the embedded default: no download, seeded, the same bytes on every machine.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use image::GrayImage;
use serde::Serialize;

use super::error::DatasetError;
use super::layout::{write_json, write_pair, Pair, Staging};
use super::rng::{splitmix64, Pcg32};

/// Bumped whenever the generator draws different pixels for the same seed, so that a dataset's
/// identity (kind, version, seed, count, size) always names the same bytes.
pub const GENERATOR_VERSION: u32 = 1;

/// The embedded default dataset's parameters: `harness data synth` without options, and what
/// `synthetic-glottis` means elsewhere.
pub const SYNTH_DEFAULT_COUNT: u32 = 500;
pub const SYNTH_DEFAULT_SIZE: u32 = 256;
pub const SYNTH_DEFAULT_SEED: u64 = 0;

/// The file beside `images/` and `masks/` that records how a synthetic dataset was made.
pub const PROVENANCE_FILE: &str = "dataset.json";

/// Which synthetic dataset to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SynthKind {
    /// Laryngeal high-speed video frames: the glottal gap (see `glottis.rs`).
    Glottis,
}

impl SynthKind {
    /// The dataset's name, as `harness train --dataset` knows it.
    pub fn dataset_name(self) -> &'static str {
        match self {
            SynthKind::Glottis => "synthetic-glottis",
        }
    }
}

/// How a synthetic dataset was made: written to `dataset.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provenance {
    pub name: &'static str,
    pub kind: SynthKind,
    pub generator_version: u32,
    pub count: usize,
    pub width: u32,
    pub height: u32,
    pub seed: u64,
}

/// Draws `n` pairs of `size` x `size` into `out_dir` (which must be empty or absent), named
/// `0` to `n - 1`, and records how in `dataset.json`. The same arguments give byte-identical
/// files on every machine.
pub fn generate(
    kind: SynthKind,
    n: usize,
    size: u32,
    seed: u64,
    out_dir: &Path,
) -> Result<Vec<Pair>, DatasetError> {
    generate_with_progress(kind, n, size, seed, out_dir, &mut |_| {})
}

/// [`generate`], calling `progress` with the number of pairs written after each one.
pub fn generate_with_progress(
    kind: SynthKind,
    n: usize,
    size: u32,
    seed: u64,
    out_dir: &Path,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<Pair>, DatasetError> {
    let staging = Staging::new(out_dir)?;
    let provenance = Provenance {
        name: kind.dataset_name(),
        kind,
        generator_version: GENERATOR_VERSION,
        count: n,
        width: size,
        height: size,
        seed,
    };
    write_json(&staging.dir().join(PROVENANCE_FILE), &provenance)?;
    let draw = |index: usize| {
        let (image, mask) = render(kind, index, size, size, seed);
        write_pair(staging.dir(), &index.to_string(), &image, &mask)
    };
    let pairs = in_parallel(n, &draw, progress)?;
    staging.finish(pairs)
}

/// Runs `work(0..n)` on a few threads and returns the results in index order, calling `progress`
/// (on this thread) with the count done. Each pair has its own random stream, so the files do not
/// depend on which thread drew them. The first error stops the work.
fn in_parallel<T: Send>(
    n: usize,
    work: &(dyn Fn(usize) -> Result<T, DatasetError> + Sync),
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<T>, DatasetError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .clamp(1, 8)
        .min(n.max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (sender, receiver) = mpsc::channel();
    let mut slots: Vec<Option<T>> = (0..n).map(|_| None).collect();
    let mut failure = None;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let sender = sender.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= n || sender.send((index, work(index))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let mut done = 0;
        for (index, result) in receiver {
            match result {
                Ok(value) => {
                    slots[index] = Some(value);
                    done += 1;
                    progress(done);
                }
                Err(error) => {
                    stop.store(true, Ordering::Relaxed);
                    failure.get_or_insert(error);
                }
            }
        }
    });
    if let Some(error) = failure {
        return Err(error);
    }
    Ok(slots.into_iter().flatten().collect())
}

/// Draws pair number `index` of the dataset `seed`, at any size: each pair has its own random
/// stream, so a pair does not depend on how many were drawn before it.
pub fn render(
    kind: SynthKind,
    index: usize,
    width: u32,
    height: u32,
    seed: u64,
) -> (GrayImage, GrayImage) {
    match kind {
        SynthKind::Glottis => {
            let mut rng = Pcg32::new(seed, index as u64);
            super::glottis::draw(width, height, &mut rng, is_closed(seed, index))
        }
    }
}

/// Exactly one image in each run of ten consecutive indices shows a closed glottis (an empty
/// mask), at a position drawn from the seed: 10% exactly, and never two in a row by chance.
pub(crate) fn is_closed(seed: u64, index: usize) -> bool {
    let block = (index / 10) as u64;
    let chosen = splitmix64(splitmix64(seed) ^ block.wrapping_mul(0x9e37_79b9)) % 10;
    (index % 10) as u64 == chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn foreground(mask: &GrayImage) -> f64 {
        let on = mask.as_raw().iter().filter(|&&v| v == 255).count();
        on as f64 / mask.as_raw().len() as f64
    }

    #[test]
    fn masks_are_binary_and_about_four_percent_foreground() {
        let n = 60;
        let masks: Vec<GrayImage> = (0..n)
            .map(|i| render(SynthKind::Glottis, i, 96, 96, 11).1)
            .collect();
        assert!(masks
            .iter()
            .all(|m| m.as_raw().iter().all(|&v| v == 0 || v == 255)));
        let mean = masks.iter().map(foreground).sum::<f64>() / n as f64;
        assert!((0.025..0.06).contains(&mean), "mean foreground {mean}");
        let empty = masks.iter().filter(|m| foreground(m) == 0.0).count();
        assert_eq!(empty, 6, "one closed glottis in every ten");
    }

    #[test]
    fn one_in_ten_is_closed_whatever_the_seed() {
        for seed in 0..20 {
            let closed = (0..100).filter(|&i| is_closed(seed, i)).count();
            assert_eq!(closed, 10);
        }
        let positions = |seed| (0..30).filter(|&i| is_closed(seed, i)).collect::<Vec<_>>();
        assert_ne!(positions(1), positions(2));
    }

    #[test]
    fn the_gap_is_darker_than_its_surroundings() {
        // Learnable: inside the mask, the image is darker on average than outside.
        for i in 0..10 {
            let (image, mask) = render(SynthKind::Glottis, i, 96, 96, 5);
            let (mut inside, mut n_in, mut outside, mut n_out) = (0.0, 0, 0.0, 0);
            for (v, m) in image.as_raw().iter().zip(mask.as_raw()) {
                if *m > 0 {
                    inside += f64::from(*v);
                    n_in += 1;
                } else {
                    outside += f64::from(*v);
                    n_out += 1;
                }
            }
            if n_in > 0 {
                assert!(inside / f64::from(n_in) < 0.6 * outside / f64::from(n_out));
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
        let root = tempfile::tempdir().unwrap();
        let files = |dir: &str, seed| {
            let out = root.path().join(dir);
            let pairs = generate(SynthKind::Glottis, 12, 40, seed, &out).unwrap();
            assert_eq!(pairs.len(), 12);
            pairs
                .iter()
                .flat_map(|p| {
                    [
                        std::fs::read(&p.image).unwrap(),
                        std::fs::read(&p.mask).unwrap(),
                    ]
                })
                .collect::<Vec<_>>()
        };
        let first = files("a", 7);
        assert_eq!(first, files("b", 7));
        let other = files("c", 8);
        assert_ne!(first, other);
        // Not just one file: most images differ.
        let differing = first.iter().zip(&other).filter(|(a, b)| a != b).count();
        assert!(differing > 20, "{differing}");
        let provenance = std::fs::read_to_string(root.path().join("a/dataset.json")).unwrap();
        assert!(provenance.contains("\"synthetic-glottis\"") && provenance.contains("\"seed\": 7"));
    }

    #[test]
    fn parallel_work_keeps_the_order_and_stops_at_an_error() {
        let mut calls = 0;
        let squares = in_parallel(50, &|i| Ok(i * i), &mut |done| calls = done).unwrap();
        assert_eq!(squares, (0..50).map(|i| i * i).collect::<Vec<_>>());
        assert_eq!(calls, 50);

        let failing = |i: usize| {
            if i == 7 {
                Err(DatasetError::Empty { path: "x".into() })
            } else {
                Ok(i)
            }
        };
        let error = in_parallel(1000, &failing, &mut |_| {}).unwrap_err();
        assert!(matches!(error, DatasetError::Empty { .. }));
        assert!(in_parallel(0, &failing, &mut |_| {}).unwrap().is_empty());
    }

    #[test]
    fn draws_any_size_and_shape() {
        for (width, height) in [(1, 1), (2, 3), (16, 16), (17, 64), (200, 31)] {
            for index in 0..10 {
                let (image, mask) = render(SynthKind::Glottis, index, width, height, 1);
                assert_eq!(image.dimensions(), (width, height));
                assert_eq!(mask.dimensions(), (width, height));
            }
        }
    }

    #[test]
    fn the_first_pixels_of_seed_zero_are_pinned() {
        // A change here means the generator draws differently: bump GENERATOR_VERSION, then
        // update the expected digest. The same digest on every machine is the point of rng.rs.
        let (image, mask) = render(SynthKind::Glottis, 0, 32, 32, 0);
        let digest = crate::hashing::sha256_hex(
            &[image.as_raw().as_slice(), mask.as_raw().as_slice()].concat(),
        );
        assert_eq!(
            digest,
            "3c682366fcecb8af1fc1c89efd598816ae09664a26beb80474afddc4337b2a15"
        );
    }
}
