//! Datasets in the study's layout (`images/N.png`, `masks/N_seg.png`): scanning and checking,
//! the synthetic generator, the smoke set, importers, and the held-out test split.

mod chase;
mod error;
mod fetch;
mod glottis;
mod layout;
mod rng;
mod smoke;
mod split;
mod synth;

pub use chase::{import_chase_db1, import_chase_db1_with_progress, CHASE_DB1};
pub use error::DatasetError;
pub use fetch::{
    dataset_names, fetch, find_dataset, licence_notice, Dataset, FetchError, FetchEvent,
    FetchOptions, Fetched, Licence, Mirror, DATASETS, MANIFEST_FILE, MIRROR_ENV,
};
pub use layout::{
    fingerprint, image_file_name, mask_file_name, read_gray, scan, summarise, Pair, Summary,
    IMAGES_DIR, MASKS_DIR, MASK_SUFFIX,
};
pub use smoke::{write_smoke_set, SMOKE_PAIRS};
pub use split::{
    laid_out, materialise, split, test_count, Materialised, Split, DEFAULT_SPLIT_SEED, SPLIT_FILE,
    SPLIT_FORMAT_VERSION, TEST_FRACTION,
};
pub use synth::{
    generate, generate_with_progress, render, Provenance, SynthKind, GENERATOR_VERSION,
    PROVENANCE_FILE, SYNTH_DEFAULT_COUNT, SYNTH_DEFAULT_SEED, SYNTH_DEFAULT_SIZE,
};
