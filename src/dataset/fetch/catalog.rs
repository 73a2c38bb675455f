//! The study's public datasets: where each lives, under which licence, how to cite it, and how
//! it is converted. The facts here are the datasets' identities; they change only when a
//! publisher changes a record.

use serde::Serialize;

use super::licence::{Licence, CC_BY, CC_BY_NC, CC_BY_NC_SA};

/// A dataset `harness data fetch` can download and convert.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Dataset {
    /// The name on the command line and in `harness train --dataset`.
    pub name: &'static str,
    pub title: &'static str,
    pub licence: Licence,
    pub citation: &'static str,
    /// The record's landing page (a DOI where there is one).
    pub page: &'static str,
    #[serde(skip)]
    pub source: Source,
    #[serde(skip)]
    pub conversion: Conversion,
    /// What the conversion does, in a sentence or two (also written to `dataset.json`).
    pub conversion_notes: &'static str,
}

/// Where a dataset's files come from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// Files at fixed URLs, with the checksums known for them.
    Files(&'static [KnownFile]),
    /// Files of a figshare article, by name: the article's API listing gives their download
    /// ids and the MD5 sums figshare computed.
    Figshare {
        article: u64,
        files: &'static [&'static str],
    },
    /// Files of a Harvard Dataverse dataset, by name: the version's file listing gives their
    /// ids and the MD5 sums Dataverse recorded.
    Dataverse {
        doi: &'static str,
        files: &'static [&'static str],
    },
}

/// A file at a fixed URL.
#[derive(Debug, Clone, Copy)]
pub struct KnownFile {
    pub name: &'static str,
    pub url: &'static str,
    /// The SHA-256 the file is known by, where one has been recorded.
    pub sha256: Option<&'static str>,
}

/// How a dataset's downloads become `images/N.png` with `masks/N_seg.png`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    Bagls,
    BrainTumour,
    Ham10000,
    UterineMyoma,
    ChaseDb1,
}

/// Every dataset, in the order `harness data fetch` lists them.
pub const DATASETS: &[Dataset] = &[
    Dataset {
        name: "bagls",
        title: "BAGLS: Benchmark for Automatic Glottis Segmentation (Zenodo record 3762320)",
        licence: CC_BY_NC_SA,
        citation: "Gómez P, Kist AM, Schlegel P, et al. BAGLS, a multihospital Benchmark for Automatic Glottis Segmentation. Sci Data 7, 186 (2020). doi:10.1038/s41597-020-0526-3",
        page: "https://doi.org/10.5281/zenodo.3762320",
        source: Source::Files(&[
            // SHA-256 sums as recorded by torch-em's BAGLS loader (Zenodo itself lists MD5s,
            // which could not be read from here); a mismatch says so and keeps the file.
            KnownFile {
                name: "training.zip",
                url: "https://zenodo.org/records/3762320/files/training.zip?download=1",
                sha256: Some("7850fd4666131b2d6d5e6bbc544a2609955195b936d9a3d9f34c3e6f67c24b1c"),
            },
            KnownFile {
                name: "test.zip",
                url: "https://zenodo.org/records/3762320/files/test.zip?download=1",
                sha256: Some("f41ea31bacb46d2a2924f149249a5a9419e7533720dba9b5b86eb5b1d1f984b9"),
            },
        ]),
        conversion: Conversion::Bagls,
        conversion_notes: "Every frame N.png with its mask N_seg.png, from both published splits, named training_N and test_N; images to 8-bit grayscale (luma), masks to 0/255.",
    },
    Dataset {
        name: "brain-tumour",
        title: "Brain tumour MRI (Cheng et al., figshare 1512427), meningioma slices",
        licence: CC_BY,
        citation: "Cheng J, Huang W, Cao S, et al. Enhanced Performance of Brain Tumor Classification via Tumor Region Augmentation and Partition. PLoS ONE 10(10): e0140381 (2015). Data: doi:10.6084/m9.figshare.1512427",
        page: "https://doi.org/10.6084/m9.figshare.1512427",
        source: Source::Figshare {
            article: 1512427,
            files: &[
                "brainTumorDataPublic_1-766.zip",
                "brainTumorDataPublic_767-1532.zip",
                "brainTumorDataPublic_1533-2298.zip",
                "brainTumorDataPublic_2299-3064.zip",
            ],
        },
        conversion: Conversion::BrainTumour,
        conversion_notes: "MATLAB v7.3 files N.mat read directly (HDF5): only cjdata.label 1 (meningioma) is kept; cjdata.image scaled from its own minimum..maximum to 0..255; cjdata.tumorMask to 0/255; MATLAB's column-major arrays transposed back.",
    },
    Dataset {
        name: "ham10000",
        title: "HAM10000 dermatoscopic images with lesion masks (Harvard Dataverse DBW86T)",
        licence: CC_BY_NC,
        citation: "Tschandl P, Rosendahl C, Kittler H. The HAM10000 dataset, a large collection of multi-source dermatoscopic images of common pigmented skin lesions. Sci Data 5, 180161 (2018). doi:10.7910/DVN/DBW86T",
        page: "https://doi.org/10.7910/DVN/DBW86T",
        source: Source::Dataverse {
            doi: "doi:10.7910/DVN/DBW86T",
            files: &[
                "HAM10000_images_part_1.zip",
                "HAM10000_images_part_2.zip",
                "HAM10000_segmentations_lesion_tschandl.zip",
            ],
        },
        conversion: Conversion::Ham10000,
        conversion_notes: "Each ISIC_NNNNNNN.jpg with its ISIC_NNNNNNN_segmentation.png; colour images to 8-bit grayscale (luma), masks to 0/255.",
    },
    Dataset {
        name: "uterine-myoma",
        title: "UMD: Uterine Myoma MRI Dataset (figshare 23541312), myoma masks",
        licence: CC_BY,
        citation: "Pan H, et al. The uterine myoma MRI dataset (UMD). Sci Data 11, 410 (2024). doi:10.1038/s41597-024-03170-x",
        page: "https://doi.org/10.6084/m9.figshare.23541312",
        source: Source::Figshare {
            article: 23541312,
            files: &["UMD.zip"],
        },
        conversion: Conversion::UterineMyoma,
        conversion_notes: "NIfTI volumes X.nii(.gz) with label maps X_seg (or X_seq) sliced along the third axis; every annotated slice (any label) is kept, named X_ZZZ; the mask is label 3 (myoma) as 255, all else 0; each volume scaled from its minimum..maximum to 0..255.",
    },
    Dataset {
        name: "chase-db1",
        title: "CHASE_DB1 retinal vessels (Kingston University)",
        licence: CC_BY,
        citation: "Fraz MM, Remagnino P, Hoppe A, et al. An ensemble classification-based approach applied to retinal blood vessel segmentation. IEEE Trans Biomed Eng 59(9), 2538-2548 (2012)",
        page: "https://researchdata.kingston.ac.uk/96/",
        source: Source::Files(&[KnownFile {
            name: "CHASEDB1.zip",
            url: "https://researchdata.kingston.ac.uk/96/1/CHASEDB1.zip",
            sha256: None,
        }]),
        conversion: Conversion::ChaseDb1,
        conversion_notes: "As `harness data import chase-db1`: the green channel of Image_NNX.jpg, the first annotator's Image_NNX_1stHO.png as 0/255.",
    },
];

/// The dataset called `name`.
pub fn find(name: &str) -> Option<&'static Dataset> {
    DATASETS.iter().find(|d| d.name == name)
}

/// The names, comma-separated, for messages.
pub fn names() -> String {
    DATASETS
        .iter()
        .map(|d| d.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dataset_is_complete_and_named_once() {
        let mut seen = std::collections::BTreeSet::new();
        for dataset in DATASETS {
            assert!(seen.insert(dataset.name), "{} twice", dataset.name);
            assert!(find(dataset.name).is_some());
            assert!(dataset.page.starts_with("https://"));
            assert!(!dataset.citation.is_empty() && !dataset.conversion_notes.is_empty());
            if let Source::Files(files) = dataset.source {
                for file in files {
                    assert!(file.url.starts_with("https://"), "{}", file.url);
                    assert!(file.sha256.is_none_or(|s| s.len() == 64));
                }
            }
        }
        // The non-commercial licences are the ones the study's sources carry.
        assert!(find("bagls").unwrap().licence.non_commercial);
        assert!(find("ham10000").unwrap().licence.non_commercial);
        assert!(!find("brain-tumour").unwrap().licence.non_commercial);
    }
}
