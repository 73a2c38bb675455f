//! The held-out test split: a tenth of every dataset that the generated program never receives,
//! on which the harness scores its predictions itself.
//!
//! The split depends only on the pairs' names and a seed: each name gets a rank from
//! SHA-256(seed, name) and the lowest-ranked tenth is the test set. So it does not depend on the
//! order in which files are listed, on the machine, or on where the dataset lives; and adding a
//! pair to a dataset moves at most a pair or two between the sets.
//!
//! `materialise` lays the split out as
//!
//! ```text
//! train/images/N.png, train/masks/N_seg.png   the pool given to the generated program
//! test/images/N.png                           given to its `predict`, without masks
//! test/masks/N_seg.png                        kept for the harness: never give `test/` whole
//! split.json                                  names, seed and hash (format below)
//! ```
//!
//! Where a dataset has subjects with several images (CHASE_DB1: `Image_NNL` and `Image_NNR`
//! are the left and right eye of child NN), the subjects are ranked instead of the pairs, and
//! whole subjects go to the test set, in rank order, until it holds at least a tenth: no subject
//! is on both sides. Names without a subject are subjects of their own, so such datasets split
//! exactly as before.
//!
//! `split.json` (format version 2; version 1 had no `grouped_by`): `{"format_version": 2,
//! "seed": u64, "test_fraction": 0.1, "grouped_by": "subject"|"pair", "hash": hex,
//! "train": [names], "test": [names]}`, names sorted. `hash` is SHA-256 over the
//! text `"seed {seed}\ntrain\n"`, each train name and `"\n"`, `"test\n"`, each test name and
//! `"\n"`: it names the split, and it is what a training result records.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::DatasetError;
use super::layout::{
    image_file_name, mask_file_name, relocate, write_json, Pair, Staging, IMAGES_DIR, MASKS_DIR,
};
use crate::hashing::{hex, Digest, Sha256};

/// The share of pairs held out for the test set.
pub const TEST_FRACTION: f64 = 0.1;

/// The seed the harness splits every dataset with, so that every model of a study is scored on
/// the same test set.
pub const DEFAULT_SPLIT_SEED: u64 = 0;

/// The file that records a materialised split.
pub const SPLIT_FILE: &str = "split.json";

/// The version of `split.json`'s format.
pub const SPLIT_FORMAT_VERSION: u32 = 2;

/// A dataset cut into the pool the program trains on and the test set it never sees. Both lists
/// are sorted by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub seed: u64,
    pub train: Vec<Pair>,
    pub test: Vec<Pair>,
}

/// How many of `n` pairs go to the test set: a tenth, rounded, at least one, and never all
/// (with `n >= 2`).
pub fn test_count(n: usize) -> usize {
    match n {
        0 => 0,
        1 => 1,
        n => ((n + 5) / 10).clamp(1, n - 1),
    }
}

/// The subject a pair's images come from: CHASE_DB1's `Image_NNL` and `Image_NNR` are child
/// NN's two eyes; any other name is its own subject.
pub fn subject_of(name: &str) -> &str {
    let eye = name
        .strip_prefix("Image_")
        .and_then(|rest| rest.strip_suffix(['L', 'R']))
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
    match eye {
        Some(_) => &name[..name.len() - 1],
        None => name,
    }
}

/// Splits `pairs` with `seed` (see the module's documentation).
pub fn split(pairs: &[Pair], seed: u64) -> Split {
    let mut subjects: std::collections::BTreeMap<&str, Vec<&Pair>> = Default::default();
    for pair in pairs {
        subjects
            .entry(subject_of(&pair.name))
            .or_default()
            .push(pair);
    }
    let mut ranked: Vec<([u8; 32], &str, Vec<&Pair>)> = subjects
        .into_iter()
        .map(|(subject, members)| {
            let mut hasher = Sha256::new();
            hasher.update(seed.to_le_bytes());
            hasher.update(subject.as_bytes());
            (hasher.finalize().into(), subject, members)
        })
        .collect();
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let wanted = test_count(pairs.len());
    let (mut test, mut train) = (Vec::new(), Vec::new());
    for (_, _, members) in ranked {
        // Whole subjects, until the test set holds its share; never every subject.
        let side = if test.len() < wanted && train.len() + test.len() + members.len() < pairs.len()
        {
            &mut test
        } else {
            &mut train
        };
        side.extend(members.into_iter().cloned());
    }
    test.sort_by(|a: &Pair, b: &Pair| a.name.cmp(&b.name));
    train.sort_by(|a: &Pair, b: &Pair| a.name.cmp(&b.name));
    Split { seed, train, test }
}

impl Split {
    /// Whether any subject has more than one pair (then the split kept each subject whole).
    pub fn grouped(&self) -> bool {
        let mut seen = std::collections::BTreeSet::new();
        self.train
            .iter()
            .chain(&self.test)
            .any(|pair| !seen.insert(subject_of(&pair.name)))
    }
}

impl Split {
    /// The split's identity: SHA-256 (hex) over the seed and both lists of names.
    pub fn hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(format!("seed {}\ntrain\n", self.seed));
        for pair in &self.train {
            hasher.update(format!("{}\n", pair.name));
        }
        hasher.update("test\n");
        for pair in &self.test {
            hasher.update(format!("{}\n", pair.name));
        }
        hex(&hasher.finalize())
    }
}

/// Where a materialised split lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Materialised {
    pub root: PathBuf,
    /// The training pool, a dataset in the usual layout: what the program's `train` receives.
    pub train_dir: PathBuf,
    /// The test images: what the program's `predict` receives.
    pub test_images: PathBuf,
    /// The test masks: for the harness only.
    pub test_masks: PathBuf,
    pub split_file: PathBuf,
    pub hash: String,
    /// The pairs at their new places.
    pub train: Vec<Pair>,
    pub test: Vec<Pair>,
}

#[derive(Serialize)]
struct SplitFile<'a> {
    format_version: u32,
    seed: u64,
    test_fraction: f64,
    grouped_by: &'static str,
    hash: &'a str,
    train: Vec<&'a str>,
    test: Vec<&'a str>,
}

/// Copies the split's files into `dir` (empty or absent) in the layout of the module's
/// documentation, byte for byte, and writes `split.json`. It appears whole or not at all.
pub fn materialise(split: &Split, dir: &Path) -> Result<Materialised, DatasetError> {
    if split.train.is_empty() || split.test.is_empty() {
        return Err(DatasetError::TooSmallToSplit {
            count: split.train.len() + split.test.len(),
        });
    }
    let staging = Staging::with_folders(
        dir,
        &["train/images", "train/masks", "test/images", "test/masks"],
    )?;
    for (part, pairs) in [("train", &split.train), ("test", &split.test)] {
        let root = staging.dir().join(part);
        for pair in pairs {
            copy(
                &pair.image,
                &root.join(IMAGES_DIR).join(image_file_name(&pair.name)),
            )?;
            copy(
                &pair.mask,
                &root.join(MASKS_DIR).join(mask_file_name(&pair.name)),
            )?;
        }
    }
    let hash = split.hash();
    let names =
        |pairs: &'_ [Pair]| -> Vec<String> { pairs.iter().map(|p| p.name.clone()).collect() };
    let (train_names, test_names) = (names(&split.train), names(&split.test));
    let record = SplitFile {
        format_version: SPLIT_FORMAT_VERSION,
        seed: split.seed,
        test_fraction: TEST_FRACTION,
        grouped_by: if split.grouped() { "subject" } else { "pair" },
        hash: &hash,
        train: train_names.iter().map(String::as_str).collect(),
        test: test_names.iter().map(String::as_str).collect(),
    };
    write_json(&staging.dir().join(SPLIT_FILE), &record)?;
    staging.finish_folder()?;
    Ok(laid_out(split, dir))
}

/// Where `materialise` puts `split` under `dir`, without writing anything: for a split laid
/// out earlier (its `split.json` holds the same hash).
pub fn laid_out(split: &Split, dir: &Path) -> Materialised {
    let train_dir = dir.join("train");
    let test_dir = dir.join("test");
    Materialised {
        root: dir.to_path_buf(),
        train: relocate(split.train.clone(), &train_dir),
        test: relocate(split.test.clone(), &test_dir),
        test_images: test_dir.join(IMAGES_DIR),
        test_masks: test_dir.join(MASKS_DIR),
        train_dir,
        split_file: dir.join(SPLIT_FILE),
        hash: split.hash(),
    }
}

fn copy(from: &Path, to: &Path) -> Result<(), DatasetError> {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|source| DatasetError::Copy {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::dataset::layout::scan;
    use crate::dataset::smoke::write_smoke_set;

    fn pairs(n: usize) -> Vec<Pair> {
        (0..n)
            .map(|i| Pair {
                name: format!("{i}"),
                image: PathBuf::from(format!("images/{i}.png")),
                mask: PathBuf::from(format!("masks/{i}_seg.png")),
            })
            .collect()
    }

    fn names(pairs: &[Pair]) -> Vec<&str> {
        pairs.iter().map(|p| p.name.as_str()).collect()
    }

    fn chase_like(subjects: usize) -> Vec<Pair> {
        (1..=subjects)
            .flat_map(|i| ["L", "R"].map(|eye| format!("Image_{i:02}{eye}")))
            .map(|name| Pair {
                image: PathBuf::from(format!("images/{name}.png")),
                mask: PathBuf::from(format!("masks/{name}_seg.png")),
                name,
            })
            .collect()
    }

    #[test]
    fn both_eyes_of_a_child_are_on_the_same_side() {
        assert_eq!(subject_of("Image_01L"), "Image_01");
        assert_eq!(subject_of("Image_14R"), "Image_14");
        for other in ["Image_L", "Image_01X", "Image_0aL", "12", "glottis_7L"] {
            assert_eq!(subject_of(other), other);
        }
        // CHASE_DB1: 14 children, 28 images; a tenth is 3 images, so 2 whole children.
        for seed in 0..20 {
            let s = split(&chase_like(14), seed);
            assert!(s.grouped());
            assert_eq!(s.test.len(), 4, "seed {seed}: {:?}", names(&s.test));
            let test: BTreeSet<&str> = s.test.iter().map(|p| subject_of(&p.name)).collect();
            let train: BTreeSet<&str> = s.train.iter().map(|p| subject_of(&p.name)).collect();
            assert!(test.is_disjoint(&train), "seed {seed}");
            assert_eq!(test.len(), 2);
        }
        // A set without subjects splits exactly as by pairs.
        assert!(!split(&pairs(50), 0).grouped());
        // Two subjects: one each side, never both in the test set.
        let s = split(&chase_like(2), 0);
        assert_eq!((s.train.len(), s.test.len()), (2, 2));
    }

    #[test]
    fn a_tenth_at_least_one_never_all() {
        assert_eq!(test_count(0), 0);
        assert_eq!(test_count(1), 1);
        assert_eq!(test_count(2), 1);
        assert_eq!(test_count(9), 1);
        assert_eq!(test_count(14), 1);
        assert_eq!(test_count(15), 2);
        assert_eq!(test_count(28), 3);
        assert_eq!(test_count(500), 50);
        for n in [2, 7, 28, 100, 333] {
            let s = split(&pairs(n), 0);
            assert_eq!(s.test.len(), test_count(n));
            assert_eq!(s.train.len() + s.test.len(), n);
        }
    }

    #[test]
    fn disjoint_complete_and_sorted() {
        let all = pairs(200);
        let s = split(&all, 4);
        let train: BTreeSet<&str> = names(&s.train).into_iter().collect();
        let test: BTreeSet<&str> = names(&s.test).into_iter().collect();
        assert!(train.is_disjoint(&test));
        assert_eq!(train.len() + test.len(), 200);
        let mut sorted = names(&s.test);
        sorted.sort();
        assert_eq!(names(&s.test), sorted);
    }

    #[test]
    fn deterministic_seeded_and_independent_of_listing_order() {
        let all = pairs(100);
        let s = split(&all, 1);
        assert_eq!(s, split(&all, 1));
        assert_eq!(s.hash(), split(&all, 1).hash());
        let mut shuffled = all.clone();
        shuffled.reverse();
        shuffled.rotate_left(37);
        assert_eq!(split(&shuffled, 1), s);
        let other = split(&all, 2);
        assert_ne!(names(&other.test), names(&s.test));
        assert_ne!(other.hash(), s.hash());
    }

    #[test]
    fn adding_a_pair_keeps_almost_everything_in_place() {
        let before = split(&pairs(100), 0);
        let after = split(&pairs(101), 0);
        let moved = names(&before.test)
            .into_iter()
            .filter(|n| !names(&after.test).contains(n))
            .count();
        assert!(moved <= 1, "{moved} test pairs moved");
    }

    #[test]
    fn materialises_train_and_test_with_a_record() {
        let root = tempfile::tempdir().unwrap();
        let source = write_smoke_set(&root.path().join("smoke")).unwrap();
        let s = split(&source, 0);
        let out = root.path().join("split");
        let done = materialise(&s, &out).unwrap();

        assert_eq!(scan(&done.train_dir).unwrap(), done.train);
        assert_eq!(scan(&out.join("test")).unwrap(), done.test);
        assert_eq!(done.test.len(), 2);
        for pair in &done.test {
            assert!(done
                .test_images
                .join(format!("{}.png", pair.name))
                .is_file());
            assert!(done
                .test_masks
                .join(format!("{}_seg.png", pair.name))
                .is_file());
            assert!(!done
                .train_dir
                .join("images")
                .join(format!("{}.png", pair.name))
                .exists());
        }
        // Byte for byte.
        let original = source.iter().find(|p| p.name == done.test[0].name).unwrap();
        assert_eq!(
            std::fs::read(&original.image).unwrap(),
            std::fs::read(&done.test[0].image).unwrap()
        );

        let record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&done.split_file).unwrap()).unwrap();
        assert_eq!(record["format_version"], 2);
        assert_eq!(record["grouped_by"], "pair");
        assert_eq!(record["hash"], done.hash.as_str());
        assert_eq!(record["test"].as_array().unwrap().len(), 2);
        assert_eq!(record["train"].as_array().unwrap().len(), 18);

        let text = materialise(&s, &out).unwrap_err().to_string();
        assert!(text.contains("not empty"), "{text}");
    }

    #[test]
    fn too_small_to_split() {
        let root = tempfile::tempdir().unwrap();
        let error = materialise(&split(&pairs(1), 0), root.path()).unwrap_err();
        assert!(matches!(error, DatasetError::TooSmallToSplit { count: 1 }));
    }
}
