//! What can go wrong with a dataset: its layout, its files, an import, a split.

use std::path::PathBuf;

/// A dataset that cannot be read, written, imported or split.
///
/// Messages about a dataset's layout say which file is at fault and what to do about it; they
/// are the user's mistakes ([`DatasetError::is_user_error`]), the rest are the harness failing.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("the dataset folder {path} does not exist; expected images/N.png and masks/N_seg.png inside it")]
    MissingDir { path: PathBuf },
    #[error("{path} is missing: a dataset has images/N.png and masks/N_seg.png side by side; create the folder or point at the folder that holds both")]
    MissingSubdir { path: PathBuf },
    #[error("no image/mask pairs in {path}: expected images/N.png and masks/N_seg.png (other files are ignored)")]
    Empty { path: PathBuf },
    #[error("{count} image(s) in {images_dir} have no mask: {names}; add masks/N_seg.png for each, or remove the image")]
    ImagesWithoutMasks {
        images_dir: PathBuf,
        count: usize,
        names: String,
    },
    #[error("{count} mask(s) in {masks_dir} have no image: {names}; add images/N.png for each, or remove the mask")]
    MasksWithoutImages {
        masks_dir: PathBuf,
        count: usize,
        names: String,
    },
    #[error("the mask {path} is not named N_seg.png; rename it (masks/N_seg.png goes with images/N.png) or move it out of the folder")]
    MaskName { path: PathBuf },
    #[error("the file name {path} is not valid UTF-8; rename it")]
    NonUtf8Name { path: PathBuf },
    #[error("{path} is not a readable PNG; export it again or remove it from the dataset")]
    CorruptPng {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
    #[error("the image {image} is {image_width}x{image_height} but its mask {mask} is {mask_width}x{mask_height}; a mask must have its image's size")]
    SizeMismatch {
        image: PathBuf,
        mask: PathBuf,
        image_width: u32,
        image_height: u32,
        mask_width: u32,
        mask_height: u32,
    },
    #[error("could not read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not copy {from} to {to}")]
    Copy {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not encode the PNG {path}")]
    Encode {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
    #[error("the output folder {path} is not empty; choose a new folder or remove this one first")]
    OutputNotEmpty { path: PathBuf },
    #[error("the output {path} exists and is not a folder; choose a new folder")]
    OutputNotAFolder { path: PathBuf },
    #[error("{path} does not exist; give the CHASEDB1.zip archive or the folder it unpacks to")]
    MissingSource { path: PathBuf },
    #[error("{path} is not a readable zip archive; give the CHASEDB1.zip archive or the folder it unpacks to")]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("{path} holds no CHASE_DB1 images (Image_NNL.jpg with Image_NNL_1stHO.png); is this the CHASEDB1 archive?")]
    NotChase { path: PathBuf },
    #[error("{entry} in {source_path} cannot be decoded; the copy of CHASE_DB1 may be damaged: fetch it again")]
    ChaseDecode {
        source_path: PathBuf,
        entry: String,
        #[source]
        source: image::ImageError,
    },
    #[error("{count} CHASE_DB1 image(s) in {source_path} have no first-annotator mask (_1stHO.png): {names}; the copy may be incomplete: fetch it again")]
    ChaseMissingMasks {
        source_path: PathBuf,
        count: usize,
        names: String,
    },
    #[error("the CHASE_DB1 image {entry} is {image_width}x{image_height} but its mask is {mask_width}x{mask_height}; the copy may be damaged: fetch it again")]
    ChaseSizeMismatch {
        entry: String,
        image_width: u32,
        image_height: u32,
        mask_width: u32,
        mask_height: u32,
    },
    #[error("cannot split {count} pair(s): a held-out test split needs at least 2 (one to train on, one to test)")]
    TooSmallToSplit { count: usize },
    #[error("could not encode {path}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl DatasetError {
    /// Whether the user's input is at fault (a bad layout, a damaged file, a wrong path), as
    /// opposed to the harness failing (a disk that is full, a folder that is not writable).
    pub fn is_user_error(&self) -> bool {
        !matches!(
            self,
            DatasetError::Read { .. }
                | DatasetError::Write { .. }
                | DatasetError::Copy { .. }
                | DatasetError::Encode { .. }
                | DatasetError::Json { .. }
        )
    }
}

/// At most a few names, then how many more: keeps an error about 10,000 files readable.
pub(crate) fn name_list(names: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}
