//! BAGLS: each archive (`training.zip`, `test.zip`) holds frames `N.png` beside their masks
//! `N_seg.png` (and `N.meta` files, ignored). Pairs are named after the archive and the frame,
//! `training_N` and `test_N`, so that both published splits fit one folder.

use std::path::Path;

use image::ImageFormat;

use super::archive::{base_name, by_suffix, folder, Archive};
use super::pixels::{binary, decode_gray, safe_name};
use super::{Converted, Input};
use crate::dataset::fetch::error::FetchError;
use crate::dataset::layout::write_pair;

const DATASET: &str = "BAGLS (frames N.png with masks N_seg.png)";

pub(super) fn convert(
    inputs: &[Input],
    dir: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Converted, FetchError> {
    let mut archives = Vec::new();
    let mut total = 0;
    for input in inputs {
        let archive = Archive::open(input)?;
        let files = archive.files();
        let masks = by_suffix(&files, "_seg.png");
        if masks.is_empty() {
            return Err(FetchError::Layout {
                archive: archive.name.clone(),
                dataset: DATASET,
                what: "it holds no N_seg.png mask".to_string(),
            });
        }
        let mut pairs = Vec::with_capacity(masks.len());
        for (stem, mask) in masks {
            let image = format!(
                "{}{}{stem}.png",
                folder(&mask),
                if folder(&mask).is_empty() { "" } else { "/" }
            );
            if !files.contains(&image) {
                return Err(FetchError::Layout {
                    archive: archive.name.clone(),
                    dataset: DATASET,
                    what: format!(
                        "the mask {} has no frame {}",
                        base_name(&mask),
                        base_name(&image)
                    ),
                });
            }
            pairs.push((stem, image, mask));
        }
        total += pairs.len();
        archives.push((archive, pairs));
    }

    let mut written = Vec::with_capacity(total);
    for (mut archive, pairs) in archives {
        let prefix = archive.name.trim_end_matches(".zip").to_string();
        for (stem, image_entry, mask_entry) in pairs {
            let image = decode_gray(
                &archive.read(&image_entry)?,
                ImageFormat::Png,
                &archive.name,
                &image_entry,
            )?;
            let mask = binary(decode_gray(
                &archive.read(&mask_entry)?,
                ImageFormat::Png,
                &archive.name,
                &mask_entry,
            )?);
            if image.dimensions() != mask.dimensions() {
                return Err(FetchError::Content {
                    archive: archive.name.clone(),
                    entry: mask_entry,
                    what: format!(
                        "the mask is {}x{} but its frame is {}x{}",
                        mask.width(),
                        mask.height(),
                        image.width(),
                        image.height()
                    ),
                });
            }
            let name = safe_name(&format!("{prefix}_{stem}"));
            written.push(write_pair(dir, &name, &image, &mask)?);
            progress(written.len(), total);
        }
    }
    Ok(Converted {
        details: serde_json::json!({"pairs": written.len(), "naming": "ARCHIVE_N, e.g. training_0"}),
        pairs: written,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use image::{GrayImage, RgbImage};

    use super::*;
    use crate::dataset::layout::read_gray;
    use crate::dataset::{IMAGES_DIR, MASKS_DIR};

    fn png(image: image::DynamicImage) -> Vec<u8> {
        let mut bytes = std::io::Cursor::new(Vec::new());
        image.write_to(&mut bytes, ImageFormat::Png).unwrap();
        bytes.into_inner()
    }

    fn archive(dir: &Path, name: &str, entries: &[(&str, Vec<u8>)]) -> Input {
        let path = dir.join(name);
        let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        for (entry, bytes) in entries {
            writer
                .start_file(*entry, zip::write::SimpleFileOptions::default())
                .unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap();
        Input {
            name: name.to_string(),
            path,
        }
    }

    #[test]
    fn converts_both_splits_to_grayscale_with_binary_masks() {
        let temp = tempfile::tempdir().unwrap();
        let colour = png(RgbImage::from_pixel(5, 4, image::Rgb([0, 200, 0])).into());
        let gray = png(GrayImage::from_pixel(5, 4, image::Luma([77])).into());
        let mask =
            png(GrayImage::from_fn(5, 4, |x, _| image::Luma([if x == 0 { 1 } else { 0 }])).into());
        let training = archive(
            temp.path(),
            "training.zip",
            &[
                ("training/0.png", colour),
                ("training/0_seg.png", mask.clone()),
                ("training/0.meta", b"{}".to_vec()),
                ("training/1.png", gray.clone()),
                ("training/1_seg.png", mask.clone()),
            ],
        );
        let test = archive(
            temp.path(),
            "test.zip",
            &[("0.png", gray), ("0_seg.png", mask)],
        );
        let out = temp.path().join("out");
        for sub in [IMAGES_DIR, MASKS_DIR] {
            std::fs::create_dir_all(out.join(sub)).unwrap();
        }
        let converted = convert(&[training, test], &out, &mut |_, _| {}).unwrap();
        let names: Vec<&str> = converted.pairs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["training_0", "training_1", "test_0"]);
        let image = read_gray(&out.join("images/training_0.png")).unwrap();
        assert!(
            image.as_raw().iter().all(|&v| v.abs_diff(143) <= 1),
            "luma of pure green 200"
        );
        let mask = read_gray(&out.join("masks/test_0_seg.png")).unwrap();
        assert_eq!((mask.get_pixel(0, 0)[0], mask.get_pixel(1, 0)[0]), (255, 0));
    }

    #[test]
    fn a_mask_without_its_frame_is_named() {
        let temp = tempfile::tempdir().unwrap();
        let mask = png(GrayImage::new(2, 2).into());
        let input = archive(temp.path(), "training.zip", &[("training/7_seg.png", mask)]);
        let error = convert(&[input], temp.path(), &mut |_, _| {})
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("7_seg.png") && error.contains("7.png"),
            "{error}"
        );
    }
}
