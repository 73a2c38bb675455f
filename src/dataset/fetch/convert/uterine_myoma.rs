//! UMD: NIfTI volumes `X.nii.gz` with label maps `X_seg.nii.gz` (a few are named `X_seq`, and
//! some of those are not compressed despite their name). Labels: 1 uterine wall, 2 uterine
//! cavity, 3 myoma, 4 nabothian cyst. Each annotated slice (any label present) along the third
//! axis becomes a pair `X_ZZZ`, its mask the myoma (label 3) alone.

use std::collections::BTreeMap;
use std::path::Path;

use image::GrayImage;

use super::archive::{base_name, folder, Archive};
use super::pixels::{safe_name, scaler};
use super::{Converted, Input};
use crate::dataset::error::name_list;
use crate::dataset::fetch::error::FetchError;
use crate::dataset::fetch::nifti::{self, Volume};
use crate::dataset::layout::write_pair;

/// The label kept: myoma.
pub(crate) const MYOMA: f64 = 3.0;

const DATASET: &str = "UMD (X.nii.gz with label maps X_seg.nii.gz)";

/// `X` and whether it is a label map, for a NIfTI entry; `None` for anything else.
fn volume_name(entry: &str) -> Option<(String, bool)> {
    let name = base_name(entry);
    let lower = name.to_ascii_lowercase();
    let stem_length = if lower.ends_with(".nii.gz") {
        name.len() - 7
    } else if lower.ends_with(".nii") {
        name.len() - 4
    } else {
        return None;
    };
    let stem = &name[..stem_length];
    for suffix in ["_seg", "_seq", "_SEG", "_SEQ"] {
        if let Some(case) = stem.strip_suffix(suffix).filter(|c| !c.is_empty()) {
            return Some((case.to_string(), true));
        }
    }
    Some((stem.to_string(), false))
}

pub(super) fn convert(
    inputs: &[Input],
    dir: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Converted, FetchError> {
    let input = inputs.first().ok_or_else(|| FetchError::Layout {
        archive: String::new(),
        dataset: DATASET,
        what: "no archive".to_string(),
    })?;
    let mut archive = Archive::open(input)?;
    let files = archive.files();
    let mut images: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut labels = BTreeMap::new();
    for entry in &files {
        match volume_name(entry) {
            Some((case, true)) => {
                labels.entry(case).or_insert_with(|| entry.clone());
            }
            Some((case, false)) => images.entry(case).or_default().push(entry.clone()),
            None => {}
        }
    }
    if labels.is_empty() {
        return Err(FetchError::Layout {
            archive: archive.name.clone(),
            dataset: DATASET,
            what: format!(
                "no label map X_seg.nii(.gz) among its {} files",
                files.len()
            ),
        });
    }
    let mut cases = Vec::new();
    let mut missing = Vec::new();
    for (case, label) in &labels {
        let candidates = images.get(case).cloned().unwrap_or_default();
        // The image beside its label map, else the only one of that name.
        let image = candidates
            .iter()
            .find(|entry| folder(entry) == folder(label))
            .or_else(|| (candidates.len() == 1).then(|| &candidates[0]));
        match image {
            Some(image) => cases.push((case.clone(), image.clone(), label.clone())),
            None => missing.push(base_name(label).to_string()),
        }
    }
    if !missing.is_empty() {
        return Err(FetchError::Layout {
            archive: archive.name.clone(),
            dataset: DATASET,
            what: format!(
                "{} label map(s) without their volume X.nii(.gz): {}",
                missing.len(),
                name_list(&missing)
            ),
        });
    }

    let total = cases.len();
    let mut pairs = Vec::new();
    let mut slices_without_myoma = 0usize;
    for (done, (case, image_entry, label_entry)) in cases.iter().enumerate() {
        let volume = read_volume(&mut archive, image_entry)?;
        let label = read_volume(&mut archive, label_entry)?;
        if (volume.nx, volume.ny, volume.nz) != (label.nx, label.ny, label.nz) {
            return Err(FetchError::Content {
                archive: archive.name.clone(),
                entry: label_entry.clone(),
                what: format!(
                    "the label map is {}x{}x{} but its volume is {}x{}x{}",
                    label.nx, label.ny, label.nz, volume.nx, volume.ny, volume.nz
                ),
            });
        }
        let scale = scaler(&volume.values);
        for z in 0..volume.nz {
            let labels = label.slice(z);
            if labels.iter().all(|&v| v == 0.0) {
                continue; // not annotated
            }
            let pixels = volume.slice(z);
            let (width, height) = (volume.nx as u32, volume.ny as u32);
            let at = |x: u32, y: u32| x as usize + volume.nx * y as usize;
            let image =
                GrayImage::from_fn(width, height, |x, y| image::Luma([scale(pixels[at(x, y)])]));
            let mask = GrayImage::from_fn(width, height, |x, y| {
                image::Luma([if labels[at(x, y)].round() == MYOMA {
                    255
                } else {
                    0
                }])
            });
            if mask.as_raw().iter().all(|&v| v == 0) {
                slices_without_myoma += 1;
            }
            let name = safe_name(&format!("{case}_{z:03}"));
            pairs.push(write_pair(dir, &name, &image, &mask)?);
        }
        progress(done + 1, total);
    }
    if pairs.is_empty() {
        return Err(FetchError::Layout {
            archive: archive.name.clone(),
            dataset: DATASET,
            what: "no annotated slice in any label map".to_string(),
        });
    }
    Ok(Converted {
        details: serde_json::json!({
            "kept_label": 3,
            "kept_class": "myoma",
            "cases": total,
            "slices": pairs.len(),
            "slices_without_myoma": slices_without_myoma,
            "slice_axis": "third (k)",
            "image_scaling": "per volume, minimum..maximum to 0..255",
        }),
        pairs,
    })
}

fn read_volume(archive: &mut Archive, entry: &str) -> Result<Volume, FetchError> {
    let bytes = archive.read(entry)?;
    nifti::parse(&bytes).map_err(|source| FetchError::Nifti {
        archive: archive.name.clone(),
        entry: entry.to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::volume_name;

    #[test]
    fn names_volumes_and_label_maps() {
        assert_eq!(
            volume_name("UMD/12/12.nii.gz"),
            Some(("12".to_string(), false))
        );
        assert_eq!(
            volume_name("UMD/12/12_seg.nii.gz"),
            Some(("12".to_string(), true))
        );
        assert_eq!(volume_name("x_seq.nii"), Some(("x".to_string(), true)));
        assert_eq!(
            volume_name("_seg.nii.gz"),
            Some(("_seg".to_string(), false))
        );
        assert_eq!(volume_name("12.dcm"), None);
    }
}
