//! The CHASE_DB1 importer: from the published archive's layout to ours.
//!
//! CHASE_DB1 (Child Heart And Health Study in England; Kingston University; CC BY 4.0) holds 28
//! colour fundus photographs, `Image_NNL.jpg` and `Image_NNR.jpg` (999x960), each with two manual
//! vessel annotations as 1-bit PNG: `Image_NNL_1stHO.png` and `Image_NNL_2ndHO.png`. The first
//! annotator is the ground truth, as is customary; the second is ignored here.
//!
//! Our layout wants 8-bit grayscale: the image becomes its **green channel**, the usual choice
//! for retinal vessels (it has the best vessel contrast; red is saturated, blue is noise). The
//! mask becomes 0/255. Names keep the archive's stems: `images/Image_01L.png` with
//! `masks/Image_01L_seg.png`.
//!
//! The source is the `CHASEDB1.zip` archive or a folder holding its files (in any subfolder).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use image::{GrayImage, ImageFormat};
use serde::Serialize;

use super::error::{name_list, DatasetError};
use super::layout::{write_json, write_pair, Pair, Staging};
use super::synth::PROVENANCE_FILE;

/// The dataset's name, as `harness train --dataset` knows it.
pub const CHASE_DB1: &str = "chase-db1";

/// What marks the first annotator's mask of `Image_NNL.jpg`: `Image_NNL_1stHO.png`.
const FIRST_ANNOTATOR: &str = "_1stHO.png";

/// How a CHASE_DB1 import was made: written to `dataset.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Provenance {
    name: &'static str,
    /// The archive's or folder's file name (never a full path: it would differ per machine).
    source: String,
    count: usize,
    image_channel: &'static str,
    annotator: &'static str,
}

/// Imports CHASE_DB1 from `source` (the zip archive or a folder) into `out_dir` (empty or
/// absent); returns the pairs written, sorted by name.
pub fn import_chase_db1(source: &Path, out_dir: &Path) -> Result<Vec<Pair>, DatasetError> {
    import_chase_db1_with_progress(source, out_dir, &mut |_, _| {})
}

/// [`import_chase_db1`], calling `progress(done, total)` after each pair.
pub fn import_chase_db1_with_progress(
    source: &Path,
    out_dir: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Pair>, DatasetError> {
    let staging = Staging::new(out_dir)?;
    let pairs = convert_chase(source, staging.dir(), progress)?;
    let provenance = Provenance {
        name: CHASE_DB1,
        source: source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        count: pairs.len(),
        image_channel: "green",
        annotator: "1stHO",
    };
    write_json(&staging.dir().join(PROVENANCE_FILE), &provenance)?;
    staging.finish(pairs)
}

/// Converts CHASE_DB1 from `source` (the zip archive or a folder) into pairs written under
/// `dir`, a folder being staged (`harness data fetch chase-db1` uses it after downloading).
pub(crate) fn convert_chase(
    source: &Path,
    dir: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Pair>, DatasetError> {
    let mut archive = Source::open(source)?;
    let files = archive.files();

    let mut images = BTreeMap::new();
    let mut masks = BTreeMap::new();
    for (file_name, key) in &files {
        if let Some(stem) = image_stem(file_name) {
            images.insert(stem.to_string(), key.clone());
        } else if let Some(stem) = file_name.strip_suffix(FIRST_ANNOTATOR) {
            masks.insert(stem.to_string(), key.clone());
        }
    }
    if images.is_empty() {
        return Err(DatasetError::NotChase {
            path: source.to_path_buf(),
        });
    }
    let missing: Vec<String> = images
        .keys()
        .filter(|stem| !masks.contains_key(*stem))
        .map(|stem| format!("{stem}.jpg"))
        .collect();
    if !missing.is_empty() {
        return Err(DatasetError::ChaseMissingMasks {
            source_path: source.to_path_buf(),
            count: missing.len(),
            names: name_list(&missing),
        });
    }

    let total = images.len();
    let mut pairs = Vec::with_capacity(total);
    for (done, (stem, image_key)) in images.iter().enumerate() {
        let mask_key = masks.get(stem).cloned().unwrap_or_default();
        let jpeg = archive.read(image_key)?;
        let png = archive.read(&mask_key)?;
        let decode_error = |entry: &str| {
            let entry = entry.to_string();
            let source_path = source.to_path_buf();
            move |source| DatasetError::ChaseDecode {
                source_path,
                entry,
                source,
            }
        };
        let image = green_channel(
            &image::load_from_memory_with_format(&jpeg, ImageFormat::Jpeg)
                .map_err(decode_error(&format!("{stem}.jpg")))?,
        );
        let mask = binary_mask(
            image::load_from_memory_with_format(&png, ImageFormat::Png)
                .map_err(decode_error(&format!("{stem}{FIRST_ANNOTATOR}")))?
                .into_luma8(),
        );
        if image.dimensions() != mask.dimensions() {
            return Err(DatasetError::ChaseSizeMismatch {
                entry: format!("{stem}.jpg"),
                image_width: image.width(),
                image_height: image.height(),
                mask_width: mask.width(),
                mask_height: mask.height(),
            });
        }
        pairs.push(write_pair(dir, stem, &image, &mask)?);
        progress(done + 1, total);
    }
    Ok(pairs)
}

/// `Image_01L` for `Image_01L.jpg` (any case of the extension); `None` for anything else.
fn image_stem(file_name: &str) -> Option<&str> {
    let (stem, extension) = file_name.rsplit_once('.')?;
    let is_jpeg = extension.eq_ignore_ascii_case("jpg") || extension.eq_ignore_ascii_case("jpeg");
    (is_jpeg && stem.starts_with("Image_")).then_some(stem)
}

/// The green channel of a colour image, as 8-bit grayscale.
fn green_channel(image: &image::DynamicImage) -> GrayImage {
    let rgb = image.to_rgb8();
    let (width, height) = rgb.dimensions();
    GrayImage::from_fn(width, height, |x, y| image::Luma([rgb.get_pixel(x, y)[1]]))
}

/// Any non-zero pixel is vessel: 255; the rest 0.
fn binary_mask(mut mask: GrayImage) -> GrayImage {
    for value in mask.iter_mut() {
        *value = if *value > 0 { 255 } else { 0 };
    }
    mask
}

/// Where the archive's files are read from.
enum Source {
    Folder(PathBuf),
    Zip {
        path: PathBuf,
        archive: zip::ZipArchive<std::io::BufReader<std::fs::File>>,
    },
}

impl Source {
    fn open(path: &Path) -> Result<Self, DatasetError> {
        if path.is_dir() {
            return Ok(Source::Folder(path.to_path_buf()));
        }
        if !path.exists() {
            return Err(DatasetError::MissingSource {
                path: path.to_path_buf(),
            });
        }
        let file = std::fs::File::open(path).map_err(|source| DatasetError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|source| {
            DatasetError::Zip {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(Source::Zip {
            path: path.to_path_buf(),
            archive,
        })
    }

    /// Every file's name (the last path component), with the key to read it by. Hidden files and
    /// macOS's `__MACOSX` shadows are left out; where two files share a name, the first by path
    /// wins.
    fn files(&self) -> BTreeMap<String, String> {
        let mut keys: Vec<String> = match self {
            Source::Folder(root) => {
                let mut found = Vec::new();
                walk(root, root, 0, &mut found);
                found
            }
            Source::Zip { archive, .. } => archive.file_names().map(str::to_string).collect(),
        };
        keys.sort();
        let mut files = BTreeMap::new();
        for key in keys {
            if key.split('/').any(|part| part == "__MACOSX") || key.ends_with('/') {
                continue;
            }
            let name = key.rsplit('/').next().unwrap_or(&key).to_string();
            if !name.starts_with('.') {
                files.entry(name).or_insert(key);
            }
        }
        files
    }

    fn read(&mut self, key: &str) -> Result<Vec<u8>, DatasetError> {
        match self {
            Source::Folder(root) => {
                let path = root.join(key);
                std::fs::read(&path).map_err(|source| DatasetError::Read { path, source })
            }
            Source::Zip { path, archive } => {
                let zip_error = |source| DatasetError::Zip {
                    path: path.clone(),
                    source,
                };
                let mut entry = archive.by_name(key).map_err(zip_error)?;
                let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|source| DatasetError::Read {
                        path: path.join(key),
                        source,
                    })?;
                Ok(bytes)
            }
        }
    }
}

/// Files under `dir`, as `/`-separated paths relative to `root`, a few levels deep at most.
fn walk(root: &Path, dir: &Path, depth: usize, found: &mut Vec<String>) {
    const MAX_DEPTH: usize = 3;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if depth < MAX_DEPTH {
                walk(root, &path, depth + 1, found);
            }
        } else if let Ok(relative) = path.strip_prefix(root) {
            let parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            found.push(parts.join("/"));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::dataset::layout::{read_gray, scan};

    /// A colour JPEG whose green channel is `green` and whose red and blue are not.
    fn jpeg(width: u32, height: u32, green: u8) -> Vec<u8> {
        let image = image::RgbImage::from_pixel(width, height, image::Rgb([200, green, 30]));
        let mut bytes = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(image)
            .write_to(&mut bytes, ImageFormat::Jpeg)
            .unwrap();
        bytes.into_inner()
    }

    /// A mask PNG with value `on` in its left column and 0 elsewhere.
    fn mask_png(width: u32, height: u32, on: u8) -> Vec<u8> {
        let mask = GrayImage::from_fn(width, height, |x, _| {
            image::Luma([if x == 0 { on } else { 0 }])
        });
        let mut bytes = std::io::Cursor::new(Vec::new());
        mask.write_to(&mut bytes, ImageFormat::Png).unwrap();
        bytes.into_inner()
    }

    /// The archive's naming for two eyes of two children, plus what must be ignored.
    fn archive_files() -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        for stem in ["Image_01L", "Image_01R", "Image_02L", "Image_02R"] {
            files.push((format!("{stem}.jpg"), jpeg(24, 16, 90)));
            files.push((format!("{stem}_1stHO.png"), mask_png(24, 16, 1)));
            files.push((format!("{stem}_2ndHO.png"), mask_png(24, 16, 1)));
        }
        files.push(("Thumbs.db".to_string(), b"junk".to_vec()));
        files
    }

    fn check_import(out: &Path, pairs: &[Pair]) {
        let names: Vec<&str> = pairs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Image_01L", "Image_01R", "Image_02L", "Image_02R"]);
        assert_eq!(scan(out).unwrap(), pairs);
        let image = read_gray(&out.join("images/Image_01L.png")).unwrap();
        // The green channel, give or take JPEG's rounding.
        assert!(
            image.as_raw().iter().all(|&v| v.abs_diff(90) <= 3),
            "{image:?}"
        );
        let mask = read_gray(&out.join("masks/Image_01L_seg.png")).unwrap();
        assert_eq!(mask.dimensions(), (24, 16));
        assert_eq!(mask.get_pixel(0, 5)[0], 255);
        assert_eq!(mask.get_pixel(1, 5)[0], 0);
        let provenance = std::fs::read_to_string(out.join("dataset.json")).unwrap();
        assert!(provenance.contains("\"green\""), "{provenance}");
    }

    #[test]
    fn imports_from_a_zip_archive() {
        let dir = tempfile::tempdir().unwrap();
        let zip_path = dir.path().join("CHASEDB1.zip");
        let mut writer = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in archive_files() {
            writer
                .start_file(format!("CHASEDB1/{name}"), options)
                .unwrap();
            writer.write_all(&bytes).unwrap();
        }
        // macOS archives carry shadows that are not images.
        writer
            .start_file("__MACOSX/CHASEDB1/._Image_01L.jpg", options)
            .unwrap();
        writer.write_all(b"resource fork").unwrap();
        writer.finish().unwrap();

        let out = dir.path().join("out");
        let pairs = import_chase_db1(&zip_path, &out).unwrap();
        check_import(&out, &pairs);
        let provenance = std::fs::read_to_string(out.join("dataset.json")).unwrap();
        assert!(provenance.contains("\"CHASEDB1.zip\""));
    }

    #[test]
    fn imports_from_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("CHASEDB1");
        std::fs::create_dir(&source).unwrap();
        for (name, bytes) in archive_files() {
            std::fs::write(source.join(name), bytes).unwrap();
        }
        let out = dir.path().join("out");
        let mut calls = Vec::new();
        let pairs = import_chase_db1_with_progress(&source, &out, &mut |done, total| {
            calls.push((done, total))
        })
        .unwrap();
        check_import(&out, &pairs);
        assert_eq!(calls.last(), Some(&(4, 4)));
    }

    #[test]
    fn explains_what_is_wrong_with_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let text = import_chase_db1(&dir.path().join("nothing.zip"), &out)
            .unwrap_err()
            .to_string();
        assert!(text.contains("does not exist"), "{text}");

        let not_zip = dir.path().join("CHASEDB1.zip");
        std::fs::write(&not_zip, b"this is not a zip").unwrap();
        let text = import_chase_db1(&not_zip, &out).unwrap_err().to_string();
        assert!(text.contains("not a readable zip"), "{text}");

        let source = dir.path().join("folder");
        std::fs::create_dir(&source).unwrap();
        std::fs::write(source.join("README.txt"), b"").unwrap();
        let error = import_chase_db1(&source, &out).unwrap_err();
        assert!(matches!(error, DatasetError::NotChase { .. }), "{error}");

        std::fs::write(source.join("Image_05L.jpg"), jpeg(8, 8, 1)).unwrap();
        let text = import_chase_db1(&source, &out).unwrap_err().to_string();
        assert!(
            text.contains("Image_05L.jpg") && text.contains("_1stHO"),
            "{text}"
        );

        std::fs::write(source.join("Image_05L_1stHO.png"), mask_png(9, 8, 1)).unwrap();
        let text = import_chase_db1(&source, &out).unwrap_err().to_string();
        assert!(text.contains("8x8") && text.contains("9x8"), "{text}");
        assert!(!out.exists(), "a failed import leaves nothing behind");
    }

    /// The real archive's files, where this machine has a copy: two pairs, to keep it quick.
    #[test]
    fn imports_real_chase_db1_files() {
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/chase_db1");
        if !shared.is_dir() {
            crate::test_skip::skip(
                crate::test_skip::Needs::SharedData,
                format!("no copy of CHASE_DB1 at {}", shared.display()),
            );
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("subset");
        std::fs::create_dir(&source).unwrap();
        for name in [
            "Image_01L.jpg",
            "Image_01L_1stHO.png",
            "Image_01L_2ndHO.png",
            "Image_14R.jpg",
            "Image_14R_1stHO.png",
        ] {
            std::fs::copy(shared.join(name), source.join(name)).unwrap();
        }
        let out = dir.path().join("out");
        let pairs = import_chase_db1(&source, &out).unwrap();
        assert_eq!(pairs.len(), 2);
        for pair in &pairs {
            let image = image::open(&pair.image).unwrap();
            assert_eq!(image.color(), image::ColorType::L8);
            assert_eq!((image.width(), image.height()), (999, 960));
            let mask = read_gray(&pair.mask).unwrap();
            assert!(mask.as_raw().iter().all(|&v| v == 0 || v == 255));
            let vessel = mask.as_raw().iter().filter(|&&v| v == 255).count() as f64
                / mask.as_raw().len() as f64;
            // Vessels cover a few percent of a fundus photograph.
            assert!((0.02..0.2).contains(&vessel), "{}: {vessel}", pair.name);
        }
    }
}
