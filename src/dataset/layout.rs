//! The study's dataset layout, `images/N.png` beside `masks/N_seg.png`: scanning, checking,
//! writing, and a dataset's identity (its fingerprint).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::{GrayImage, ImageFormat, ImageReader};
use serde::Serialize;

use super::error::{name_list, DatasetError};
use crate::hashing::{hex, Digest, Sha256};

/// The folder of images inside a dataset.
pub const IMAGES_DIR: &str = "images";
/// The folder of masks inside a dataset.
pub const MASKS_DIR: &str = "masks";
/// What a mask's stem ends with: `masks/N_seg.png` goes with `images/N.png`.
pub const MASK_SUFFIX: &str = "_seg";

/// One image and its mask, named by the image's stem `N`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pair {
    pub name: String,
    pub image: PathBuf,
    pub mask: PathBuf,
}

/// The file name of the image called `name`.
pub fn image_file_name(name: &str) -> String {
    format!("{name}.png")
}

/// The file name of the mask of the image called `name`.
pub fn mask_file_name(name: &str) -> String {
    format!("{name}{MASK_SUFFIX}.png")
}

/// Finds the pairs of the dataset in `dir`, sorted by name, and checks every file.
///
/// Files that are not PNG (by extension, any case) and hidden files (a leading dot, such as
/// `.DS_Store` or macOS's `._N.png` shadows) are ignored. Every PNG is decoded, so a truncated
/// or damaged file is found here rather than halfway through training, and each mask must have
/// its image's size.
pub fn scan(dir: &Path) -> Result<Vec<Pair>, DatasetError> {
    if !dir.is_dir() {
        return Err(DatasetError::MissingDir {
            path: dir.to_path_buf(),
        });
    }
    let images_dir = dir.join(IMAGES_DIR);
    let masks_dir = dir.join(MASKS_DIR);
    for sub in [&images_dir, &masks_dir] {
        if !sub.is_dir() {
            return Err(DatasetError::MissingSubdir { path: sub.clone() });
        }
    }

    let images = png_stems(&images_dir)?;
    let mut masks = BTreeMap::new();
    for (stem, path) in png_stems(&masks_dir)? {
        match stem.strip_suffix(MASK_SUFFIX) {
            Some(name) if !name.is_empty() => {
                masks.insert(name.to_string(), path);
            }
            _ => return Err(DatasetError::MaskName { path }),
        }
    }

    let lonely_images: Vec<String> = images
        .keys()
        .filter(|name| !masks.contains_key(*name))
        .map(|name| image_file_name(name))
        .collect();
    if !lonely_images.is_empty() {
        return Err(DatasetError::ImagesWithoutMasks {
            images_dir,
            count: lonely_images.len(),
            names: name_list(&lonely_images),
        });
    }
    let lonely_masks: Vec<String> = masks
        .keys()
        .filter(|name| !images.contains_key(*name))
        .map(|name| mask_file_name(name))
        .collect();
    if !lonely_masks.is_empty() {
        return Err(DatasetError::MasksWithoutImages {
            masks_dir,
            count: lonely_masks.len(),
            names: name_list(&lonely_masks),
        });
    }
    if images.is_empty() {
        return Err(DatasetError::Empty {
            path: dir.to_path_buf(),
        });
    }

    let mut pairs = Vec::with_capacity(images.len());
    for (name, image) in images {
        let Some(mask) = masks.remove(&name) else {
            continue;
        };
        let image_pixels = read_gray(&image)?;
        let mask_pixels = read_gray(&mask)?;
        if image_pixels.dimensions() != mask_pixels.dimensions() {
            return Err(DatasetError::SizeMismatch {
                image,
                mask,
                image_width: image_pixels.width(),
                image_height: image_pixels.height(),
                mask_width: mask_pixels.width(),
                mask_height: mask_pixels.height(),
            });
        }
        pairs.push(Pair { name, image, mask });
    }
    Ok(pairs)
}

/// The PNG files of a folder by stem (hidden files and other extensions left out), sorted.
fn png_stems(dir: &Path) -> Result<BTreeMap<String, PathBuf>, DatasetError> {
    let read_error = |source| DatasetError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut stems = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        let is_png = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("png"));
        if !is_png || !path.is_file() {
            continue;
        }
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            return Err(DatasetError::NonUtf8Name { path });
        };
        if stem.starts_with('.') {
            continue;
        }
        stems.insert(stem.to_string(), path);
    }
    Ok(stems)
}

/// Decodes a PNG (whatever its colour type and depth) into 8-bit grayscale.
pub fn read_gray(path: &Path) -> Result<GrayImage, DatasetError> {
    let corrupt = |source| DatasetError::CorruptPng {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(|source| DatasetError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = ImageReader::with_format(std::io::BufReader::new(file), ImageFormat::Png);
    Ok(reader.decode().map_err(corrupt)?.into_luma8())
}

/// Writes an 8-bit grayscale PNG.
pub(crate) fn write_png(path: &Path, pixels: &GrayImage) -> Result<(), DatasetError> {
    pixels
        .save_with_format(path, ImageFormat::Png)
        .map_err(|source| match source {
            image::ImageError::IoError(source) => DatasetError::Write {
                path: path.to_path_buf(),
                source,
            },
            source => DatasetError::Encode {
                path: path.to_path_buf(),
                source,
            },
        })
}

/// Writes one pair in the layout under `dir` (a [`Staging`] folder).
pub(crate) fn write_pair(
    dir: &Path,
    name: &str,
    image: &GrayImage,
    mask: &GrayImage,
) -> Result<Pair, DatasetError> {
    let pair = Pair {
        name: name.to_string(),
        image: dir.join(IMAGES_DIR).join(image_file_name(name)),
        mask: dir.join(MASKS_DIR).join(mask_file_name(name)),
    };
    write_png(&pair.image, image)?;
    write_png(&pair.mask, mask)?;
    Ok(pair)
}

/// A dataset being written: into a hidden folder beside `out_dir`, renamed to `out_dir` only
/// when complete, so that a failure halfway never leaves a dataset that looks whole. Where
/// `out_dir` exists already (empty), it is written in place instead (renaming over it would pull
/// it from under anyone inside it, `--out .` included) and emptied again on failure. Dropped
/// unfinished, it removes what it wrote.
pub(crate) struct Staging {
    out_dir: PathBuf,
    staging: PathBuf,
    in_place: bool,
    finished: bool,
}

impl Staging {
    /// Refuses an `out_dir` that already holds anything, so that two datasets are never mixed,
    /// and creates the folder to write in with `images/` and `masks/`.
    pub(crate) fn new(out_dir: &Path) -> Result<Self, DatasetError> {
        Self::with_folders(out_dir, &[IMAGES_DIR, MASKS_DIR])
    }

    /// [`Staging::new`] with other folders inside.
    pub(crate) fn with_folders(out_dir: &Path, folders: &[&str]) -> Result<Self, DatasetError> {
        let in_place = out_dir.exists();
        if in_place {
            if !out_dir.is_dir() {
                return Err(DatasetError::OutputNotAFolder {
                    path: out_dir.to_path_buf(),
                });
            }
            let mut entries = std::fs::read_dir(out_dir).map_err(|source| DatasetError::Read {
                path: out_dir.to_path_buf(),
                source,
            })?;
            if entries.next().is_some() {
                return Err(DatasetError::OutputNotEmpty {
                    path: out_dir.to_path_buf(),
                });
            }
        }
        let staging = if in_place {
            out_dir.to_path_buf()
        } else {
            let name = out_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "dataset".to_string());
            let parent = out_dir
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            parent.join(format!(".{name}.partial-{}", std::process::id()))
        };
        let staged = Staging {
            out_dir: out_dir.to_path_buf(),
            staging,
            in_place,
            finished: false,
        };
        if !in_place && staged.staging.exists() {
            std::fs::remove_dir_all(&staged.staging).map_err(|source| DatasetError::Write {
                path: staged.staging.clone(),
                source,
            })?;
        }
        for sub in folders {
            let path = staged.staging.join(sub);
            std::fs::create_dir_all(&path)
                .map_err(|source| DatasetError::Write { path, source })?;
        }
        Ok(staged)
    }

    /// Where to write now.
    pub(crate) fn dir(&self) -> &Path {
        &self.staging
    }

    /// Moves the finished dataset into place; returns `pairs` with their final paths.
    pub(crate) fn finish(self, pairs: Vec<Pair>) -> Result<Vec<Pair>, DatasetError> {
        let out_dir = self.out_dir.clone();
        self.finish_folder()?;
        Ok(relocate(pairs, &out_dir))
    }

    /// Moves the finished folder into place.
    pub(crate) fn finish_folder(mut self) -> Result<(), DatasetError> {
        if !self.in_place {
            std::fs::rename(&self.staging, &self.out_dir).map_err(|source| {
                DatasetError::Write {
                    path: self.out_dir.clone(),
                    source,
                }
            })?;
        }
        self.finished = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if !self.in_place {
            let _ = std::fs::remove_dir_all(&self.staging);
        } else if let Ok(entries) = std::fs::read_dir(&self.staging) {
            for entry in entries.flatten() {
                let path = entry.path();
                let _ = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
            }
        }
    }
}

/// The same pairs in the layout under `dir`.
pub(crate) fn relocate(pairs: Vec<Pair>, dir: &Path) -> Vec<Pair> {
    pairs
        .into_iter()
        .map(|pair| Pair {
            image: dir.join(IMAGES_DIR).join(image_file_name(&pair.name)),
            mask: dir.join(MASKS_DIR).join(mask_file_name(&pair.name)),
            name: pair.name,
        })
        .collect()
}

/// Writes `text` to `path`.
pub(crate) fn write_text(path: &Path, text: &str) -> Result<(), DatasetError> {
    std::fs::write(path, text).map_err(|source| DatasetError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `value` as pretty JSON to `path`.
pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> Result<(), DatasetError> {
    let json = serde_json::to_string_pretty(value).map_err(|source| DatasetError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    write_text(path, &(json + "\n"))
}

/// The dataset's identity: SHA-256 (hex) over the pairs sorted by name, each contributing its
/// name and the SHA-256 of its image and of its mask. Renaming, editing or adding a file changes
/// it; the folder's location and the order files are listed in do not.
pub fn fingerprint(pairs: &[Pair]) -> Result<String, DatasetError> {
    let mut sorted: Vec<&Pair> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut hasher = Sha256::new();
    for pair in sorted {
        hasher.update(pair.name.as_bytes());
        hasher.update([0]);
        hasher.update(file_sha256(&pair.image)?);
        hasher.update(file_sha256(&pair.mask)?);
        hasher.update([b'\n']);
    }
    Ok(hex(&hasher.finalize()))
}

fn file_sha256(path: &Path) -> Result<Vec<u8>, DatasetError> {
    let bytes = std::fs::read(path).map_err(|source| DatasetError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Sha256::digest(&bytes).to_vec())
}

/// What a dataset holds, as `harness data` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    /// The mean over masks of the fraction of foreground (non-zero) pixels.
    pub mean_foreground: f64,
    /// Masks without any foreground pixel.
    pub empty_masks: usize,
    /// The smallest and largest width and height.
    pub min_size: (u32, u32),
    pub max_size: (u32, u32),
    pub fingerprint: String,
}

/// Reads every mask of `pairs` and summarises the dataset.
pub fn summarise(pairs: &[Pair]) -> Result<Summary, DatasetError> {
    let mut foreground_sum = 0.0;
    let mut empty_masks = 0;
    let mut min_size = (u32::MAX, u32::MAX);
    let mut max_size = (0, 0);
    for pair in pairs {
        let mask = read_gray(&pair.mask)?;
        let foreground = mask.as_raw().iter().filter(|&&v| v > 0).count();
        if foreground == 0 {
            empty_masks += 1;
        }
        let total = mask.as_raw().len().max(1);
        foreground_sum += foreground as f64 / total as f64;
        min_size = (min_size.0.min(mask.width()), min_size.1.min(mask.height()));
        max_size = (max_size.0.max(mask.width()), max_size.1.max(mask.height()));
    }
    if pairs.is_empty() {
        min_size = (0, 0);
    }
    Ok(Summary {
        count: pairs.len(),
        mean_foreground: foreground_sum / pairs.len().max(1) as f64,
        empty_masks,
        min_size,
        max_size,
        fingerprint: fingerprint(pairs)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray(width: u32, height: u32, value: u8) -> GrayImage {
        GrayImage::from_pixel(width, height, image::Luma([value]))
    }

    /// A dataset with pairs `names`, each 4x3.
    fn dataset(names: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for sub in [IMAGES_DIR, MASKS_DIR] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        for name in names {
            write_pair(dir.path(), name, &gray(4, 3, 100), &gray(4, 3, 255)).unwrap();
        }
        dir
    }

    fn message(error: DatasetError) -> String {
        error.to_string()
    }

    #[test]
    fn scans_pairs_sorted_and_ignores_other_files() {
        let dir = dataset(&["b", "a", "10", "2"]);
        for junk in ["images/.DS_Store", "masks/notes.txt", "images/meta.json"] {
            std::fs::write(dir.path().join(junk), b"not a png").unwrap();
        }
        std::fs::write(dir.path().join("images/._a.png"), b"resource fork").unwrap();
        std::fs::create_dir(dir.path().join("images/sub.png")).unwrap();
        let pairs = scan(dir.path()).unwrap();
        let names: Vec<&str> = pairs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["10", "2", "a", "b"]);
        assert_eq!(pairs[2].image, dir.path().join("images/a.png"));
        assert_eq!(pairs[2].mask, dir.path().join("masks/a_seg.png"));
    }

    #[test]
    fn accepts_an_upper_case_extension() {
        let dir = dataset(&["a"]);
        std::fs::rename(
            dir.path().join("images/a.png"),
            dir.path().join("images/a.PNG"),
        )
        .unwrap();
        assert_eq!(scan(dir.path()).unwrap().len(), 1);
    }

    #[test]
    fn an_image_without_a_mask_is_named() {
        let dir = dataset(&["a", "b"]);
        std::fs::remove_file(dir.path().join("masks/b_seg.png")).unwrap();
        let error = scan(dir.path()).unwrap_err();
        assert!(error.is_user_error());
        let text = message(error);
        assert!(
            text.contains("b.png") && text.contains("add masks/N_seg.png"),
            "{text}"
        );
    }

    #[test]
    fn a_mask_without_an_image_is_named() {
        let dir = dataset(&["a"]);
        write_png(&dir.path().join("masks/c_seg.png"), &gray(4, 3, 0)).unwrap();
        let text = message(scan(dir.path()).unwrap_err());
        assert!(
            text.contains("c_seg.png") && text.contains("have no image"),
            "{text}"
        );
    }

    #[test]
    fn a_mask_named_otherwise_is_refused() {
        let dir = dataset(&["a"]);
        write_png(&dir.path().join("masks/a_mask.png"), &gray(4, 3, 0)).unwrap();
        let text = message(scan(dir.path()).unwrap_err());
        assert!(
            text.contains("a_mask.png") && text.contains("N_seg.png"),
            "{text}"
        );
    }

    #[test]
    fn a_corrupt_png_is_found_by_decoding() {
        let dir = dataset(&["a", "b"]);
        let path = dir.path().join("images/b.png");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let error = scan(dir.path()).unwrap_err();
        assert!(matches!(error, DatasetError::CorruptPng { .. }));
        assert!(message(error).contains("b.png"));
    }

    #[test]
    fn a_mask_of_another_size_is_refused() {
        let dir = dataset(&["a"]);
        write_png(&dir.path().join("masks/a_seg.png"), &gray(3, 4, 0)).unwrap();
        let text = message(scan(dir.path()).unwrap_err());
        assert!(text.contains("4x3") && text.contains("3x4"), "{text}");
    }

    #[test]
    fn an_empty_dataset_and_missing_folders_are_explained() {
        let dir = dataset(&[]);
        std::fs::write(dir.path().join("images/notes.txt"), b"").unwrap();
        assert!(matches!(
            scan(dir.path()).unwrap_err(),
            DatasetError::Empty { .. }
        ));
        std::fs::remove_dir_all(dir.path().join("masks")).unwrap();
        let text = message(scan(dir.path()).unwrap_err());
        assert!(
            text.contains("masks") && text.contains("is missing"),
            "{text}"
        );
        let text = message(scan(&dir.path().join("nowhere")).unwrap_err());
        assert!(text.contains("does not exist"), "{text}");
    }

    #[test]
    fn the_fingerprint_follows_content_and_names_not_order_or_place() {
        let one = dataset(&["a", "b"]);
        let two = dataset(&["b", "a"]);
        let pairs_one = scan(one.path()).unwrap();
        let mut pairs_two = scan(two.path()).unwrap();
        let print = fingerprint(&pairs_one).unwrap();
        assert_eq!(print.len(), 64);
        pairs_two.reverse();
        assert_eq!(fingerprint(&pairs_two).unwrap(), print);

        write_png(&two.path().join("masks/b_seg.png"), &gray(4, 3, 0)).unwrap();
        assert_ne!(fingerprint(&pairs_two).unwrap(), print);
        let renamed = dataset(&["a", "c"]);
        assert_ne!(fingerprint(&scan(renamed.path()).unwrap()).unwrap(), print);
    }

    #[test]
    fn refuses_to_write_into_a_folder_that_holds_something() {
        let dir = dataset(&["a"]);
        let text = message(Staging::new(dir.path()).err().unwrap());
        assert!(text.contains("not empty"), "{text}");
        let file = dir.path().join("images/a.png");
        let text = message(Staging::new(&file).err().unwrap());
        assert!(text.contains("not a folder"), "{text}");
    }

    #[test]
    fn a_staged_dataset_appears_whole_or_not_at_all() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        let staging = Staging::new(&out).unwrap();
        write_pair(staging.dir(), "a", &gray(2, 2, 1), &gray(2, 2, 0)).unwrap();
        drop(staging);
        assert!(!out.exists());
        assert_eq!(
            std::fs::read_dir(root.path()).unwrap().count(),
            0,
            "nothing left over"
        );

        // An empty folder that exists already is written in place, and emptied on failure.
        std::fs::create_dir(&out).unwrap();
        let staging = Staging::new(&out).unwrap();
        write_pair(staging.dir(), "a", &gray(2, 2, 1), &gray(2, 2, 0)).unwrap();
        drop(staging);
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "emptied again");
        let staging = Staging::new(&out).unwrap();
        let pair = write_pair(staging.dir(), "a", &gray(2, 2, 1), &gray(2, 2, 0)).unwrap();
        let pairs = staging.finish(vec![pair]).unwrap();
        assert_eq!(pairs[0].image, out.join("images/a.png"));
        assert_eq!(scan(&out).unwrap(), pairs);
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn summarises_foreground_and_empty_masks() {
        let dir = dataset(&["a"]);
        let mut half = gray(4, 3, 0);
        for x in 0..2 {
            for y in 0..3 {
                half.put_pixel(x, y, image::Luma([255]));
            }
        }
        write_pair(dir.path(), "b", &gray(4, 3, 9), &half).unwrap();
        write_pair(dir.path(), "c", &gray(2, 2, 9), &gray(2, 2, 0)).unwrap();
        let summary = summarise(&scan(dir.path()).unwrap()).unwrap();
        assert_eq!(summary.count, 3);
        assert_eq!(summary.empty_masks, 1);
        assert!((summary.mean_foreground - 0.5).abs() < 1e-12);
        assert_eq!(summary.min_size, (2, 2));
        assert_eq!(summary.max_size, (4, 3));
    }
}
