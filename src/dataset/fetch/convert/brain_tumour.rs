//! The brain tumour set: archives of MATLAB v7.3 files `N.mat`, each a struct `cjdata` with
//! `image` (the MRI slice), `label` (1 meningioma, 2 glioma, 3 pituitary tumour) and
//! `tumorMask`. Only meningioma (label 1) is kept, as in the study.
//!
//! MATLAB stores arrays column-major, so HDF5 sees a rows x cols array as (cols, rows): the
//! value at HDF5 index `[x][y]` is pixel (x, y).

use std::collections::BTreeSet;
use std::path::Path;

use image::GrayImage;

use super::archive::{base_name, by_suffix, Archive};
use super::pixels::{safe_name, scaler};
use super::{Converted, Input};
use crate::dataset::fetch::error::FetchError;
use crate::dataset::fetch::hdf5::{Array, Hdf5File};
use crate::dataset::layout::write_pair;

/// The label kept: meningioma.
pub(crate) const MENINGIOMA: f64 = 1.0;

const DATASET: &str = "the brain tumour set (MATLAB files N.mat)";

pub(super) fn convert(
    inputs: &[Input],
    dir: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Converted, FetchError> {
    let mut archives = Vec::new();
    let mut total = 0;
    for input in inputs {
        let archive = Archive::open(input)?;
        let files: Vec<String> = by_suffix(&archive.files(), ".mat").into_values().collect();
        if files.is_empty() {
            return Err(FetchError::Layout {
                archive: archive.name.clone(),
                dataset: DATASET,
                what: "it holds no .mat file".to_string(),
            });
        }
        total += files.len();
        archives.push((archive, files));
    }

    let mut pairs = Vec::new();
    let mut names = BTreeSet::new();
    let mut skipped = 0usize;
    let mut done = 0;
    for (mut archive, files) in archives {
        for entry in files {
            let bytes = archive.read(&entry)?;
            let matlab = |source| FetchError::Matlab {
                archive: archive.name.clone(),
                entry: entry.clone(),
                source,
            };
            let file = Hdf5File::parse(&bytes).map_err(matlab)?;
            let label = file.read("/cjdata/label").map_err(matlab)?;
            done += 1;
            if label.values.first() != Some(&MENINGIOMA) {
                skipped += 1;
                progress(done, total);
                continue;
            }
            let image = file.read("/cjdata/image").map_err(matlab)?;
            let mask = file.read("/cjdata/tumorMask").map_err(matlab)?;
            let content = |what: String| FetchError::Content {
                archive: archive.name.clone(),
                entry: entry.clone(),
                what,
            };
            if image.dims.len() != 2 || image.dims != mask.dims {
                return Err(content(format!(
                    "cjdata.image is {:?} but cjdata.tumorMask is {:?}",
                    image.dims, mask.dims
                )));
            }
            let stem = base_name(&entry).trim_end_matches(".mat");
            let name = safe_name(stem);
            if !names.insert(name.clone()) {
                return Err(content(format!("a second file named {stem}.mat")));
            }
            let scale = scaler(&image.values);
            let gray = transposed(&image, scale);
            let binary = transposed(&mask, |v| if v != 0.0 { 255 } else { 0 });
            pairs.push(write_pair(dir, &name, &gray, &binary)?);
            progress(done, total);
        }
    }
    if pairs.is_empty() {
        return Err(FetchError::Layout {
            archive: inputs
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            dataset: DATASET,
            what: format!("none of its {skipped} files has label 1 (meningioma)"),
        });
    }
    Ok(Converted {
        details: serde_json::json!({
            "kept_label": 1,
            "kept_class": "meningioma",
            "kept": pairs.len(),
            "skipped_other_labels": skipped,
            "image_scaling": "per image, minimum..maximum to 0..255",
        }),
        pairs,
    })
}

/// The image whose pixel (x, y) is `pixel(array[x][y])` (array dimensions: width, height).
fn transposed(array: &Array, pixel: impl Fn(f64) -> u8) -> GrayImage {
    let (width, height) = (array.dims[0], array.dims[1]);
    GrayImage::from_fn(width as u32, height as u32, |x, y| {
        image::Luma([pixel(array.values[x as usize * height + y as usize])])
    })
}
