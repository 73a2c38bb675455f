//! MATLAB v7.3 MAT-files, read with the pure-Rust `hdf5-reader` crate (no HDF5 C library).
//!
//! The brain tumour set ships MATLAB v7.3 files: HDF5 behind a 512-byte user block, groups as
//! symbol tables or link messages, arrays stored contiguous or chunked through deflate and
//! shuffle. The crate reads all of that; this file only names the dataset wanted and turns its
//! numbers, whatever their stored type, into `f64` in HDF5 (row-major) order. A damaged file is
//! an error, never a panic: the tests below cut and flip the fixtures to check it.

use hdf5_reader::Datatype;

/// What went wrong reading an HDF5 file.
#[derive(Debug, thiserror::Error)]
pub enum Hdf5Error {
    #[error("not an HDF5 file (no superblock signature found)")]
    NotHdf5,
    #[error("damaged or unsupported HDF5 file")]
    Open(#[source] hdf5_reader::error::Error),
    #[error("no dataset `{0}` in the file")]
    NotFound(String),
    #[error("`{path}` holds {datatype}, not numbers")]
    NotNumeric { path: String, datatype: String },
    #[error("`{path}` cannot be read")]
    Read {
        path: String,
        #[source]
        source: hdf5_reader::error::Error,
    },
}

/// A dataset's values, in the file's (row-major) order, with its dimensions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Array {
    pub(crate) dims: Vec<usize>,
    pub(crate) values: Vec<f64>,
}

/// An HDF5 file held in memory.
pub(crate) struct Hdf5File {
    file: hdf5_reader::Hdf5File,
}

impl Hdf5File {
    /// Finds the superblock (at offset 0, 512, 1024, ..., after a user block) and the root group.
    pub(crate) fn parse(data: &[u8]) -> Result<Self, Hdf5Error> {
        match hdf5_reader::Hdf5File::from_bytes(data) {
            Ok(file) => Ok(Hdf5File { file }),
            Err(hdf5_reader::error::Error::InvalidMagic) => Err(Hdf5Error::NotHdf5),
            Err(error) => Err(Hdf5Error::Open(error)),
        }
    }

    /// Reads the dataset at `path` (`/`-separated from the root group) as numbers.
    pub(crate) fn read(&self, path: &str) -> Result<Array, Hdf5Error> {
        let dataset = self.file.dataset(path).map_err(|error| {
            if not_found(&error) {
                Hdf5Error::NotFound(path.to_string())
            } else {
                Hdf5Error::Read {
                    path: path.to_string(),
                    source: error,
                }
            }
        })?;
        let read = |source| Hdf5Error::Read {
            path: path.to_string(),
            source,
        };
        macro_rules! as_f64 {
            ($type:ty) => {
                dataset
                    .read_array::<$type>()
                    .map_err(read)?
                    .iter()
                    .map(|&value| value as f64)
                    .collect::<Vec<f64>>()
            };
        }
        let values = match dataset.dtype() {
            Datatype::FixedPoint { size, signed, .. } => match (size, signed) {
                (1, false) => as_f64!(u8),
                (1, true) => as_f64!(i8),
                (2, false) => as_f64!(u16),
                (2, true) => as_f64!(i16),
                (4, false) => as_f64!(u32),
                (4, true) => as_f64!(i32),
                (8, false) => as_f64!(u64),
                (8, true) => as_f64!(i64),
                _ => return Err(not_numeric(path, dataset.dtype())),
            },
            Datatype::FloatingPoint { size: 4, .. } => as_f64!(f32),
            Datatype::FloatingPoint { size: 8, .. } => as_f64!(f64),
            other => return Err(not_numeric(path, other)),
        };
        let dims = dataset.shape().iter().map(|&d| d as usize).collect();
        Ok(Array { dims, values })
    }
}

/// Whether the crate's error, under any context it was given, says a link is missing.
fn not_found(error: &hdf5_reader::error::Error) -> bool {
    use hdf5_reader::error::Error;
    match error {
        Error::DatasetNotFound(_) | Error::GroupNotFound(_) => true,
        Error::Context { source, .. } => not_found(source),
        _ => false,
    }
}

fn not_numeric(path: &str, datatype: &Datatype) -> Hdf5Error {
    Hdf5Error::NotNumeric {
        path: path.to_string(),
        datatype: format!("{datatype:?}"),
    }
}

/// The reader against MAT-files written by the HDF5 library (`tests/fixtures/mat/`).
#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/mat")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The fixtures' image and mask, as `make_fixtures.py` documents them (HDF5 order: x, then y).
    fn check_arrays(file: &Hdf5File) {
        let image = file.read("/cjdata/image").unwrap();
        assert_eq!(image.dims, [20, 12]);
        for x in 0..20 {
            for y in 0..12 {
                let expected = (x * 10 + y * 3) as f64 - 40.0;
                assert_eq!(image.values[x * 12 + y], expected, "pixel ({x}, {y})");
            }
        }
        let mask = file.read("cjdata/tumorMask").unwrap();
        assert_eq!(mask.dims, [20, 12]);
        let on: usize = mask.values.iter().filter(|&&v| v == 1.0).count();
        assert_eq!(on, 5 * 6);
        assert_eq!(mask.values[2 * 12 + 3], 1.0);
        assert_eq!(mask.values[7 * 12 + 3], 0.0);
        let border = file.read("/cjdata/tumorBorder").unwrap();
        assert_eq!(border.values, [1.5, 2.5, 3.5, 4.5]);
        let pid = file.read("/cjdata/PID").unwrap();
        let text: String = pid.values.iter().map(|&c| char::from(c as u8)).collect();
        assert_eq!(text, "MR040");
    }

    #[test]
    fn reads_matlab_v73_files_in_the_original_format() {
        for (name, label) in [("meningioma-v73.mat", 1.0), ("glioma-v73.mat", 2.0)] {
            let bytes = fixture(name);
            let file = Hdf5File::parse(&bytes).unwrap();
            assert_eq!(
                file.read("/cjdata/label").unwrap().values,
                [label],
                "{name}"
            );
            check_arrays(&file);
        }
    }

    #[test]
    fn reads_the_newer_format_with_link_messages_and_shuffle() {
        let bytes = fixture("pituitary-v108.mat");
        let file = Hdf5File::parse(&bytes).unwrap();
        assert_eq!(file.read("/cjdata/label").unwrap().values, [3.0]);
        check_arrays(&file);
    }

    #[test]
    fn names_what_is_missing_or_wrong() {
        let bytes = fixture("meningioma-v73.mat");
        let file = Hdf5File::parse(&bytes).unwrap();
        let text = file.read("/cjdata/nothing").unwrap_err().to_string();
        assert!(text.contains("/cjdata/nothing"), "{text}");
        assert!(matches!(
            file.read("/nowhere/image"),
            Err(Hdf5Error::NotFound(_))
        ));
        assert!(matches!(
            Hdf5File::parse(b"MATLAB 5.0 MAT-file, not HDF5"),
            Err(Hdf5Error::NotHdf5)
        ));
    }

    /// A file cut short, or with bytes flipped, is an error, never a panic.
    #[test]
    fn damaged_files_are_errors_not_panics() {
        let read_all = |bytes: &[u8]| {
            if let Ok(file) = Hdf5File::parse(bytes) {
                for path in ["/cjdata/image", "/cjdata/label", "/cjdata/tumorMask"] {
                    let _ = file.read(path);
                }
            }
        };
        for name in ["meningioma-v73.mat", "pituitary-v108.mat"] {
            let bytes = fixture(name);
            for cut in (0..bytes.len()).step_by(61) {
                read_all(&bytes[..cut]);
            }
            for at in (512..bytes.len()).step_by(7) {
                let mut damaged = bytes.clone();
                damaged[at] ^= 0xff;
                read_all(&damaged);
            }
            let mut damaged = bytes.clone();
            for at in (512..damaged.len()).step_by(97) {
                damaged[at] ^= 0x5A;
            }
            read_all(&damaged);
        }
    }
}
