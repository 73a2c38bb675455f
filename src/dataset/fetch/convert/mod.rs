//! Converting downloaded archives to the study's layout, one module per dataset.

mod archive;
mod bagls;
mod brain_tumour;
mod ham10000;
mod pixels;
mod uterine_myoma;

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::catalog::Conversion;
use super::error::FetchError;
use crate::dataset::Pair;

/// A downloaded file, by the name the catalogue gives it.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
}

/// What a conversion wrote (into the staging folder) and what it chose, for `dataset.json`.
pub(crate) struct Converted {
    pub(crate) pairs: Vec<Pair>,
    pub(crate) details: Value,
}

/// Converts `inputs` (in the catalogue's order) into pairs under `dir`, calling
/// `progress(done, total)` as pairs are written.
pub(crate) fn convert(
    conversion: Conversion,
    inputs: &[Input],
    dir: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Converted, FetchError> {
    match conversion {
        Conversion::Bagls => bagls::convert(inputs, dir, progress),
        Conversion::BrainTumour => brain_tumour::convert(inputs, dir, progress),
        Conversion::Ham10000 => ham10000::convert(inputs, dir, progress),
        Conversion::UterineMyoma => uterine_myoma::convert(inputs, dir, progress),
        Conversion::ChaseDb1 => {
            let source = inputs
                .first()
                .map(|i| i.path.as_path())
                .unwrap_or(Path::new(""));
            let pairs = crate::dataset::chase::convert_chase(source, dir, progress)?;
            Ok(Converted {
                pairs,
                details: serde_json::json!({"image_channel": "green", "annotator": "1stHO"}),
            })
        }
    }
}
