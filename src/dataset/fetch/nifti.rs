//! NIfTI-1 volumes, read with the `nifti` crate: one volume of numbers, gzip-compressed or not.
//!
//! The uterine myoma set ships `.nii.gz` volumes; some of its masks are plain NIfTI despite
//! the `.gz` name, so compression is recognised here by its magic bytes, never by the file name
//! (the crate goes by the name). The crate parses the header (either byte order) and types the
//! voxels; this file checks what the converter relies on and scales the values.

use std::io::Read;

use nifti::{InMemNiftiVolume, NiftiHeader, NiftiType};

/// What went wrong reading a NIfTI file.
#[derive(Debug, thiserror::Error)]
pub enum NiftiError {
    #[error("not a NIfTI-1 file (the header does not start with its size, 348)")]
    NotNifti,
    #[error("the gzip stream does not inflate")]
    Gzip(#[source] std::io::Error),
    #[error("NIfTI feature not supported by this reader: {0}")]
    Unsupported(String),
    #[error("damaged NIfTI file: {0}")]
    Malformed(String),
}

/// A 3-D volume: `values[x + nx * (y + ny * z)]`, scaled by the header's slope and intercept.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Volume {
    pub(crate) nx: usize,
    pub(crate) ny: usize,
    pub(crate) nz: usize,
    pub(crate) values: Vec<f64>,
}

impl Volume {
    /// The slice `z`, row by row.
    pub(crate) fn slice(&self, z: usize) -> &[f64] {
        let size = self.nx * self.ny;
        &self.values[z * size..(z + 1) * size]
    }
}

const HEADER_SIZE: usize = 348;
/// Refuses volumes whose decoded size would be absurd.
const MAX_VOXELS: usize = 1 << 28;

/// Parses a NIfTI-1 file (`n+1` single file), inflating it first when it is gzip.
pub(crate) fn parse(bytes: &[u8]) -> Result<Volume, NiftiError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut inflated = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut inflated)
            .map_err(NiftiError::Gzip)?;
        return parse_plain(&inflated);
    }
    parse_plain(bytes)
}

fn parse_plain(bytes: &[u8]) -> Result<Volume, NiftiError> {
    // The header's own size says NIfTI-1 (348) or NIfTI-2 (540), in either byte order.
    let size = |at: [u8; 4]| [i32::from_le_bytes(at), i32::from_be_bytes(at)];
    match bytes.get(..4).map(|b| size([b[0], b[1], b[2], b[3]])) {
        Some(sizes) if sizes.contains(&348) && bytes.len() >= HEADER_SIZE => {}
        Some(sizes) if sizes.contains(&540) => {
            return Err(NiftiError::Unsupported("NIfTI-2".to_string()))
        }
        _ => return Err(NiftiError::NotNifti),
    }
    let header = NiftiHeader::from_reader(bytes).map_err(malformed)?;
    if &header.magic != b"n+1\0" {
        return Err(NiftiError::Unsupported(
            "a header without its image (.hdr/.img pair)".to_string(),
        ));
    }
    let rank = usize::from(header.dim[0]);
    if !(1..=7).contains(&rank) {
        return Err(NiftiError::Malformed(format!(
            "{} dimensions",
            header.dim[0] as i16
        )));
    }
    let dim = |i: usize| {
        if i <= rank {
            usize::from(header.dim[i])
        } else {
            1
        }
    };
    let (nx, ny, nz) = (dim(1), dim(2), dim(3));
    // All of the file's voxels are read (a 4-D file's later volumes too), the first 3-D one kept.
    (1..=rank)
        .try_fold(1usize, |n, i| n.checked_mul(dim(i)))
        .filter(|&n| n > 0 && n <= MAX_VOXELS)
        .ok_or_else(|| NiftiError::Malformed(format!("dimensions {nx}x{ny}x{nz}")))?;
    let datatype = header
        .data_type()
        .map_err(|_| NiftiError::Unsupported(format!("datatype {}", header.datatype)))?;
    let offset = header.vox_offset;
    if offset.is_nan() || offset < HEADER_SIZE as f32 || offset > bytes.len() as f32 {
        return Err(NiftiError::Malformed(format!("voxel offset {offset}")));
    }
    let volume =
        InMemNiftiVolume::from_reader(&bytes[offset as usize..], &header).map_err(|error| {
            match error {
                nifti::NiftiError::IncompatibleLength(..) => {
                    NiftiError::Malformed("the voxel data is cut short".to_string())
                }
                other => malformed(other),
            }
        })?;
    macro_rules! as_f64 {
        ($type:ty) => {
            volume
                .into_nifti_typed_data::<$type>()
                .map_err(malformed)?
                .into_iter()
                .map(|value| value as f64)
                .collect::<Vec<f64>>()
        };
    }
    let mut values = match datatype {
        NiftiType::Uint8 => as_f64!(u8),
        NiftiType::Int8 => as_f64!(i8),
        NiftiType::Uint16 => as_f64!(u16),
        NiftiType::Int16 => as_f64!(i16),
        NiftiType::Uint32 => as_f64!(u32),
        NiftiType::Int32 => as_f64!(i32),
        NiftiType::Uint64 => as_f64!(u64),
        NiftiType::Int64 => as_f64!(i64),
        NiftiType::Float32 => as_f64!(f32),
        NiftiType::Float64 => as_f64!(f64),
        _ => {
            return Err(NiftiError::Unsupported(format!(
                "datatype {}",
                header.datatype
            )))
        }
    };
    values.truncate(nx * ny * nz);
    let slope = f64::from(header.scl_slope);
    let intercept = f64::from(header.scl_inter);
    // NIfTI: a slope of 0 means unscaled; a slope that is not a number is taken to mean so too.
    if slope.is_finite() && slope != 0.0 && !(slope == 1.0 && intercept == 0.0) {
        for value in &mut values {
            *value = *value * slope + intercept;
        }
    }
    Ok(Volume { nx, ny, nz, values })
}

fn malformed(error: nifti::NiftiError) -> NiftiError {
    NiftiError::Malformed(error.to_string())
}

/// Writes a little-endian NIfTI-1 file of unsigned 8-bit or signed 16-bit values.
#[cfg(test)]
pub(crate) fn write_nifti(nx: usize, ny: usize, nz: usize, values: &[i16], as_u8: bool) -> Vec<u8> {
    let mut header = vec![0u8; 352];
    header[0..4].copy_from_slice(&348i32.to_le_bytes());
    let dims: [i16; 8] = [3, nx as i16, ny as i16, nz as i16, 1, 1, 1, 1];
    for (i, d) in dims.iter().enumerate() {
        header[40 + 2 * i..42 + 2 * i].copy_from_slice(&d.to_le_bytes());
    }
    let (datatype, bitpix): (i16, i16) = if as_u8 { (2, 8) } else { (4, 16) };
    header[70..72].copy_from_slice(&datatype.to_le_bytes());
    header[72..74].copy_from_slice(&bitpix.to_le_bytes());
    header[108..112].copy_from_slice(&352f32.to_le_bytes());
    header[112..116].copy_from_slice(&1f32.to_le_bytes());
    header[344..348].copy_from_slice(b"n+1\0");
    for &v in values {
        if as_u8 {
            header.push(v as u8);
        } else {
            header.extend_from_slice(&v.to_le_bytes());
        }
    }
    header
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn reads_plain_and_gzip_volumes() {
        let values: Vec<i16> = (0..4 * 3 * 2).map(|v| v as i16 - 5).collect();
        let plain = write_nifti(4, 3, 2, &values, false);
        for bytes in [plain.clone(), gzip(&plain)] {
            let volume = parse(&bytes).unwrap();
            assert_eq!((volume.nx, volume.ny, volume.nz), (4, 3, 2));
            assert_eq!(volume.values[0], -5.0);
            assert_eq!(volume.slice(1)[0], 7.0);
            assert_eq!(volume.slice(1).len(), 12);
        }
        let labels = write_nifti(2, 2, 1, &[0, 1, 3, 4], true);
        assert_eq!(parse(&labels).unwrap().values, [0.0, 1.0, 3.0, 4.0]);
    }

    #[test]
    fn scales_by_slope_and_intercept_and_keeps_the_first_volume_of_four_dimensions() {
        let mut bytes = write_nifti(2, 1, 1, &[1, 2, 3, 4], false);
        bytes[112..116].copy_from_slice(&2f32.to_le_bytes());
        bytes[116..120].copy_from_slice(&0.5f32.to_le_bytes());
        // Four dimensions, the fourth of 2: the second volume is read past, not kept.
        bytes[40..42].copy_from_slice(&4i16.to_le_bytes());
        bytes[48..50].copy_from_slice(&2i16.to_le_bytes());
        let volume = parse(&bytes).unwrap();
        assert_eq!((volume.nx, volume.ny, volume.nz), (2, 1, 1));
        assert_eq!(volume.values, [2.5, 4.5]);
        // A slope that is not a number leaves the values as stored.
        bytes[112..116].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(parse(&bytes).unwrap().values, [1.0, 2.0]);
    }

    #[test]
    fn reads_big_endian_files() {
        let little = write_nifti(3, 1, 1, &[-2, 300, 7], false);
        let mut big = little.clone();
        let mut swap = |at: usize, width: usize| big[at..at + width].reverse();
        swap(0, 4);
        for i in 0..8 {
            swap(40 + 2 * i, 2);
        }
        swap(70, 2);
        swap(72, 2);
        for field in [108, 112, 116] {
            swap(field, 4);
        }
        for voxel in 0..3 {
            swap(352 + 2 * voxel, 2);
        }
        assert_eq!(parse(&big).unwrap().values, [-2.0, 300.0, 7.0]);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(matches!(parse(b"not nifti"), Err(NiftiError::NotNifti)));
        let mut bytes = write_nifti(2, 2, 2, &[1; 8], false);
        bytes.truncate(bytes.len() - 3);
        assert!(parse(&bytes).unwrap_err().to_string().contains("cut short"));
        let mut bytes = write_nifti(2, 2, 2, &[1; 8], false);
        bytes[70] = 99;
        assert!(parse(&bytes)
            .unwrap_err()
            .to_string()
            .contains("datatype 99"));
        assert!(matches!(
            parse(&[0x1f, 0x8b, 1, 2]),
            Err(NiftiError::Gzip(_))
        ));
    }
}
