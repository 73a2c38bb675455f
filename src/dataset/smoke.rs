//! The smoke set: a small dataset for the fix loop's smoke run, fast to train on, carrying the
//! traps of the study's real data that caused many of its errors.
//!
//! The traps: images of different sizes, most of them not square; files that are not PNG in both
//! folders (`.DS_Store`, `notes.txt`, a `.json` meta file); names that sort differently as text
//! and as numbers (`10` before `2`); 8-bit grayscale PNG; masks stored as 0 and 255, not 0 and 1;
//! and a few empty masks. A program that assumes one size, reads every file of a folder, or
//! expects masks of 0 and 1 fails on it in seconds instead of after an hour of training.

use std::path::Path;

use super::error::DatasetError;
use super::layout::{write_pair, Pair, Staging, IMAGES_DIR, MASKS_DIR};
use super::rng::Pcg32;
use super::synth::{render, SynthKind};

/// How many pairs the smoke set holds.
pub const SMOKE_PAIRS: usize = 20;

/// The seed the smoke set is drawn from; fixed, so it is the same set everywhere.
const SMOKE_SEED: u64 = 0x5330_5eed;

/// Pairs whose mask is empty (a closed glottis), by index.
const EMPTY: [usize; 3] = [3, 11, 17];

/// The files that are not part of the dataset, written into both folders.
const JUNK: [(&str, &[u8]); 3] = [
    (
        ".DS_Store",
        b"\x00\x00\x00\x01Bud1\x00\x00\x10\x00\x00\x00\x08\x00",
    ),
    (
        "notes.txt",
        b"Exported from the recording software. Masks: 0 = background, 255 = glottis.\n",
    ),
    (
        "meta.json",
        b"{\"source\": \"smoke set\", \"pixel_spacing_mm\": null, \"frames\": 20}\n",
    ),
];

/// Writes the smoke set into `dir` (empty or absent), always the same bytes.
pub fn write_smoke_set(dir: &Path) -> Result<Vec<Pair>, DatasetError> {
    let staging = Staging::new(dir)?;
    let mut sizes = Pcg32::new(SMOKE_SEED, u64::MAX);
    let mut pairs = Vec::with_capacity(SMOKE_PAIRS);
    for index in 0..SMOKE_PAIRS {
        let width = sizes.int(48, 96);
        // The first pair is square; every other pair is another shape.
        let height = if index == 0 { width } else { sizes.int(48, 96) };
        let (image, mut mask) = render(SynthKind::Glottis, index, width, height, SMOKE_SEED);
        if EMPTY.contains(&index) {
            // The image keeps its gap: an annotator's empty mask is a trap too.
            mask.fill(0);
        }
        pairs.push(write_pair(
            staging.dir(),
            &index.to_string(),
            &image,
            &mask,
        )?);
    }
    for folder in [IMAGES_DIR, MASKS_DIR] {
        for (name, bytes) in JUNK {
            let path = staging.dir().join(folder).join(name);
            std::fs::write(&path, bytes).map_err(|source| DatasetError::Write { path, source })?;
        }
    }
    staging.finish(pairs)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::dataset::layout::{fingerprint, scan};

    #[test]
    fn the_smoke_set_carries_the_traps() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_smoke_set(dir.path()).unwrap();
        let pairs = scan(dir.path()).unwrap();
        assert_eq!(pairs.len(), SMOKE_PAIRS);
        assert_eq!(fingerprint(&written).unwrap(), fingerprint(&pairs).unwrap());
        // Sorted as text, the order a careless program sees: 10 comes before 2.
        assert_eq!(pairs[2].name, "10");

        let mut sizes = BTreeSet::new();
        let mut empty = 0;
        for pair in &pairs {
            let image = image::open(&pair.image).unwrap();
            assert_eq!(image.color(), image::ColorType::L8, "{}", pair.name);
            let mask = image::open(&pair.mask).unwrap();
            assert_eq!(mask.color(), image::ColorType::L8);
            assert_eq!(image.width(), mask.width());
            assert_eq!(image.height(), mask.height());
            assert!((48..=96).contains(&image.width()) && (48..=96).contains(&image.height()));
            sizes.insert((image.width(), image.height()));
            let values: BTreeSet<u8> = mask.to_luma8().as_raw().iter().copied().collect();
            if values == BTreeSet::from([0]) {
                empty += 1;
            } else {
                assert_eq!(values, BTreeSet::from([0, 255]), "{}", pair.name);
            }
        }
        assert!(sizes.len() >= 10, "sizes: {sizes:?}");
        assert!(sizes.iter().filter(|(w, h)| w != h).count() >= 10);
        assert!(empty >= 3, "{empty} empty masks");

        for folder in ["images", "masks"] {
            for junk in [".DS_Store", "notes.txt", "meta.json"] {
                assert!(
                    dir.path().join(folder).join(junk).is_file(),
                    "{folder}/{junk}"
                );
            }
        }
    }

    #[test]
    fn the_smoke_set_is_always_the_same() {
        let one = tempfile::tempdir().unwrap();
        let two = tempfile::tempdir().unwrap();
        let a = fingerprint(&write_smoke_set(one.path()).unwrap()).unwrap();
        let b = fingerprint(&write_smoke_set(two.path()).unwrap()).unwrap();
        assert_eq!(a, b);
    }
}
