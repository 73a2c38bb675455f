//! A minimal NIfTI-1 reader: one volume of numbers, gzip-compressed or not.
//!
//! The uterine myoma set ships `.nii.gz` volumes; some of its masks are plain NIfTI despite
//! the `.gz` name, so compression is recognised by its magic bytes, never by the file name.

use std::io::Read;

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
    if bytes.len() < HEADER_SIZE {
        return Err(NiftiError::NotNifti);
    }
    let big_endian = match (le_i32(bytes, 0), be_i32(bytes, 0)) {
        (348, _) => false,
        (_, 348) => true,
        (540, _) | (_, 540) => return Err(NiftiError::Unsupported("NIfTI-2".to_string())),
        _ => return Err(NiftiError::NotNifti),
    };
    let i16_at = |at: usize| {
        let pair = [bytes[at], bytes[at + 1]];
        if big_endian {
            i16::from_be_bytes(pair)
        } else {
            i16::from_le_bytes(pair)
        }
    };
    let f32_at = |at: usize| {
        let quad = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        if big_endian {
            f32::from_be_bytes(quad)
        } else {
            f32::from_le_bytes(quad)
        }
    };
    if &bytes[344..348] != b"n+1\0" {
        return Err(NiftiError::Unsupported(
            "a header without its image (.hdr/.img pair)".to_string(),
        ));
    }
    let rank = i16_at(40);
    if !(1..=7).contains(&rank) {
        return Err(NiftiError::Malformed(format!("{rank} dimensions")));
    }
    let dim = |i: i16| {
        if i <= rank {
            usize::try_from(i16_at(40 + 2 * i as usize)).unwrap_or(0)
        } else {
            1
        }
    };
    let (nx, ny, nz) = (dim(1), dim(2), dim(3));
    let voxels = nx
        .checked_mul(ny)
        .and_then(|n| n.checked_mul(nz))
        .filter(|&n| n > 0 && n <= MAX_VOXELS)
        .ok_or_else(|| NiftiError::Malformed(format!("dimensions {nx}x{ny}x{nz}")))?;
    let kind = Kind::from_code(i16_at(70))?;
    let size = kind.size();
    let offset = f32_at(108);
    if offset.is_nan() || offset < HEADER_SIZE as f32 || offset > bytes.len() as f32 {
        return Err(NiftiError::Malformed(format!("voxel offset {offset}")));
    }
    let start = offset as usize;
    let data = bytes
        .get(start..start + voxels * size)
        .ok_or_else(|| NiftiError::Malformed("the voxel data is cut short".to_string()))?;
    let slope = f64::from(f32_at(112));
    let intercept = f64::from(f32_at(116));
    let scaled = slope.is_finite() && slope != 0.0 && !(slope == 1.0 && intercept == 0.0);
    let values = data
        .chunks_exact(size)
        .map(|chunk| {
            let value = kind.decode(chunk, big_endian);
            if scaled {
                value * slope + intercept
            } else {
                value
            }
        })
        .collect();
    Ok(Volume { nx, ny, nz, values })
}

/// The voxel types this reader knows, by their NIfTI code.
#[derive(Debug, Clone, Copy)]
enum Kind {
    U8,
    I8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl Kind {
    fn from_code(code: i16) -> Result<Self, NiftiError> {
        Ok(match code {
            2 => Kind::U8,
            256 => Kind::I8,
            4 => Kind::I16,
            512 => Kind::U16,
            8 => Kind::I32,
            768 => Kind::U32,
            16 => Kind::F32,
            64 => Kind::F64,
            other => return Err(NiftiError::Unsupported(format!("datatype {other}"))),
        })
    }

    fn size(self) -> usize {
        match self {
            Kind::U8 | Kind::I8 => 1,
            Kind::I16 | Kind::U16 => 2,
            Kind::I32 | Kind::U32 | Kind::F32 => 4,
            Kind::F64 => 8,
        }
    }

    /// One voxel from its bytes (exactly `size()` of them).
    fn decode(self, bytes: &[u8], big_endian: bool) -> f64 {
        let mut buffer = [0u8; 8];
        buffer[..bytes.len()].copy_from_slice(bytes);
        if big_endian {
            buffer[..bytes.len()].reverse();
        }
        let [b0, b1, b2, b3, ..] = buffer;
        match self {
            Kind::U8 => f64::from(b0),
            Kind::I8 => f64::from(b0 as i8),
            Kind::I16 => f64::from(i16::from_le_bytes([b0, b1])),
            Kind::U16 => f64::from(u16::from_le_bytes([b0, b1])),
            Kind::I32 => f64::from(i32::from_le_bytes([b0, b1, b2, b3])),
            Kind::U32 => f64::from(u32::from_le_bytes([b0, b1, b2, b3])),
            Kind::F32 => f64::from(f32::from_le_bytes([b0, b1, b2, b3])),
            Kind::F64 => f64::from_le_bytes(buffer),
        }
    }
}

fn le_i32(bytes: &[u8], at: usize) -> i32 {
    i32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn be_i32(bytes: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
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
