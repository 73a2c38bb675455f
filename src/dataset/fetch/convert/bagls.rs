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
