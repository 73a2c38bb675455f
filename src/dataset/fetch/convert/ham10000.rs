//! HAM10000 with the lesion masks: images `ISIC_NNNNNNN.jpg` in two archives, masks
//! `ISIC_NNNNNNN_segmentation.png` in a third. Colour images become 8-bit grayscale (luma).

use std::collections::BTreeMap;
use std::path::Path;

use image::ImageFormat;

use super::archive::{by_suffix, Archive};
use super::pixels::{binary, decode_gray, safe_name};
use super::{Converted, Input};
use crate::dataset::error::name_list;
use crate::dataset::fetch::error::FetchError;
use crate::dataset::layout::write_pair;

const DATASET: &str = "HAM10000 (ISIC_N.jpg with ISIC_N_segmentation.png)";
const MASK_SUFFIX: &str = "_segmentation.png";

pub(super) fn convert(
    inputs: &[Input],
    dir: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Converted, FetchError> {
    let mut archives = Vec::new();
    // stem -> (archive index, entry)
    let mut images = BTreeMap::new();
    let mut masks = BTreeMap::new();
    for (index, input) in inputs.iter().enumerate() {
        let archive = Archive::open(input)?;
        let files = archive.files();
        for (stem, entry) in by_suffix(&files, MASK_SUFFIX) {
            masks.entry(stem).or_insert((index, entry));
        }
        for (stem, entry) in by_suffix(&files, ".jpg") {
            images.entry(stem).or_insert((index, entry));
        }
        archives.push(archive);
    }
    let names = |list: Vec<&String>| name_list(&list.into_iter().cloned().collect::<Vec<_>>());
    let all = || {
        inputs
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if images.is_empty() || masks.is_empty() {
        return Err(FetchError::Layout {
            archive: all(),
            dataset: DATASET,
            what: format!("{} images and {} masks found", images.len(), masks.len()),
        });
    }
    let lonely_masks: Vec<&String> = masks.keys().filter(|s| !images.contains_key(*s)).collect();
    let lonely_images: Vec<&String> = images.keys().filter(|s| !masks.contains_key(*s)).collect();
    if !lonely_masks.is_empty() || !lonely_images.is_empty() {
        return Err(FetchError::Layout {
            archive: all(),
            dataset: DATASET,
            what: format!(
                "{} mask(s) without an image ({}) and {} image(s) without a mask ({})",
                lonely_masks.len(),
                names(lonely_masks.clone()),
                lonely_images.len(),
                names(lonely_images.clone())
            ),
        });
    }

    let total = masks.len();
    let mut pairs = Vec::with_capacity(total);
    for (stem, (mask_archive, mask_entry)) in &masks {
        let (image_archive, image_entry) = &images[stem];
        let archive = &mut archives[*image_archive];
        let image = decode_gray(
            &archive.read(image_entry)?,
            ImageFormat::Jpeg,
            &archive.name,
            image_entry,
        )?;
        let archive = &mut archives[*mask_archive];
        let mask = binary(decode_gray(
            &archive.read(mask_entry)?,
            ImageFormat::Png,
            &archive.name,
            mask_entry,
        )?);
        if image.dimensions() != mask.dimensions() {
            return Err(FetchError::Content {
                archive: archive.name.clone(),
                entry: mask_entry.clone(),
                what: format!(
                    "the mask is {}x{} but its image is {}x{}",
                    mask.width(),
                    mask.height(),
                    image.width(),
                    image.height()
                ),
            });
        }
        pairs.push(write_pair(dir, &safe_name(stem), &image, &mask)?);
        progress(pairs.len(), total);
    }
    Ok(Converted {
        details: serde_json::json!({"pairs": pairs.len(), "image": "luma of the colour image"}),
        pairs,
    })
}
