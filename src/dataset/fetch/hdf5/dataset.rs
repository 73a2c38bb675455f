//! Datasets: dataspace, datatype, layout and filters, and reading the values as numbers.

use std::io::Read;

use super::bytes::{to_usize, Reader, UNDEFINED};
use super::object::{Header, DATASPACE, DATATYPE, FILTERS, LAYOUT};
use super::Hdf5Error;

/// A dataset's values, in the file's (row-major) order, with its dimensions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Array {
    pub(crate) dims: Vec<usize>,
    pub(crate) values: Vec<f64>,
}

/// How one element is stored.
#[derive(Debug, Clone, Copy)]
struct Element {
    size: usize,
    kind: ElementKind,
    big_endian: bool,
}

#[derive(Debug, Clone, Copy)]
enum ElementKind {
    Unsigned,
    Signed,
    Float,
}

/// The filters MAT-files use.
const DEFLATE: u16 = 1;
const SHUFFLE: u16 = 2;
const FLETCHER32: u16 = 3;

/// Refuses datasets whose decoded size would be absurd for one image.
const MAX_ELEMENTS: usize = 1 << 28;

pub(super) fn read(file: &Reader<'_>, header: &Header) -> Result<Array, Hdf5Error> {
    let missing = |what: &str| Hdf5Error::Malformed(format!("not a dataset (no {what} message)"));
    let dims = dataspace(
        file,
        header
            .find(DATASPACE)
            .ok_or_else(|| missing("dataspace"))?
            .address,
    )?;
    let element = datatype(
        file,
        header
            .find(DATATYPE)
            .ok_or_else(|| missing("datatype"))?
            .address,
    )?;
    let filters = match header.find(FILTERS) {
        Some(message) => filter_pipeline(file, message.address)?,
        None => Vec::new(),
    };
    let count = dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or_else(|| Hdf5Error::Unsupported(format!("a dataset of dimensions {dims:?}")))?;
    let layout = header.find(LAYOUT).ok_or_else(|| missing("layout"))?;
    let raw = raw_data(file, layout.address, &dims, element.size, count, &filters)?;
    let values = raw
        .chunks_exact(element.size)
        .map(|bytes| decode(bytes, element))
        .collect();
    Ok(Array { dims, values })
}

fn dataspace(file: &Reader<'_>, address: u64) -> Result<Vec<usize>, Hdf5Error> {
    let mut reader = file.at(address)?;
    let version = reader.u8()?;
    let rank = usize::from(reader.u8()?);
    reader.skip(1)?; // flags
    match version {
        1 => reader.skip(5)?, // reserved
        2 => reader.skip(1)?, // type
        other => return Err(Hdf5Error::Unsupported(format!("dataspace version {other}"))),
    }
    (0..rank)
        .map(|_| to_usize(reader.length()?, "dimension"))
        .collect()
}

fn datatype(file: &Reader<'_>, address: u64) -> Result<Element, Hdf5Error> {
    let mut reader = file.at(address)?;
    let class_version = reader.u8()?;
    let bits = reader.bytes(3)?;
    let size = to_usize(u64::from(reader.u32()?), "element size")?;
    let big_endian = bits[0] & 0x01 != 0;
    let kind = match class_version & 0x0F {
        0 if bits[0] & 0x08 != 0 => ElementKind::Signed,
        0 => ElementKind::Unsigned,
        1 if bits[0] & 0x40 == 0 && (size == 4 || size == 8) => ElementKind::Float,
        class => {
            return Err(Hdf5Error::Unsupported(format!(
                "datatype class {class} of size {size}"
            )))
        }
    };
    if !matches!(size, 1 | 2 | 4 | 8) {
        return Err(Hdf5Error::Unsupported(format!("numbers of {size} bytes")));
    }
    Ok(Element {
        size,
        kind,
        big_endian,
    })
}

fn decode(bytes: &[u8], element: Element) -> f64 {
    let mut buffer = [0u8; 8];
    buffer[..bytes.len()].copy_from_slice(bytes);
    if element.big_endian {
        buffer[..bytes.len()].reverse();
    }
    let bits = u64::from_le_bytes(buffer);
    let width = 8 * element.size as u32;
    match element.kind {
        ElementKind::Unsigned => bits as f64,
        ElementKind::Signed => {
            let shift = 64 - width;
            (((bits << shift) as i64) >> shift) as f64
        }
        ElementKind::Float if element.size == 4 => f64::from(f32::from_bits(bits as u32)),
        ElementKind::Float => f64::from_bits(bits),
    }
}

/// The filter pipeline: the filter ids, in the order they were applied when writing.
fn filter_pipeline(file: &Reader<'_>, address: u64) -> Result<Vec<u16>, Hdf5Error> {
    let mut reader = file.at(address)?;
    let version = reader.u8()?;
    let count = reader.u8()?;
    if version == 1 {
        reader.skip(6)?;
    } else if version != 2 {
        return Err(Hdf5Error::Unsupported(format!(
            "filter pipeline version {version}"
        )));
    }
    let mut filters = Vec::new();
    for _ in 0..count {
        let id = reader.u16()?;
        let name_length = if version == 1 || id >= 256 {
            usize::from(reader.u16()?)
        } else {
            0
        };
        reader.skip(2)?; // flags
        let values = usize::from(reader.u16()?);
        let padded = if version == 1 {
            name_length.div_ceil(8) * 8
        } else {
            name_length
        };
        reader.skip(padded)?;
        reader.skip(4 * values)?;
        if version == 1 && values % 2 == 1 {
            reader.skip(4)?;
        }
        if !matches!(id, DEFLATE | SHUFFLE | FLETCHER32) {
            return Err(Hdf5Error::Unsupported(format!("filter {id}")));
        }
        filters.push(id);
    }
    Ok(filters)
}

/// The dataset's bytes, in row-major order, whatever the layout.
fn raw_data(
    file: &Reader<'_>,
    address: u64,
    dims: &[usize],
    element_size: usize,
    count: usize,
    filters: &[u16],
) -> Result<Vec<u8>, Hdf5Error> {
    let total = count * element_size;
    let mut reader = file.at(address)?;
    let version = reader.u8()?;
    if version != 3 {
        return Err(Hdf5Error::Unsupported(format!(
            "data layout version {version}"
        )));
    }
    match reader.u8()? {
        0 => {
            let size = usize::from(reader.u16()?);
            sized(reader.bytes(size)?.to_vec(), total)
        }
        1 => {
            let data = reader.offset()?;
            let size = to_usize(reader.length()?, "contiguous size")?;
            if data == UNDEFINED {
                return Ok(vec![0; total]); // never written: the fill value, zero
            }
            sized(file.at(data)?.bytes(size)?.to_vec(), total)
        }
        2 => {
            let rank = usize::from(reader.u8()?);
            let btree = reader.offset()?;
            if rank != dims.len() + 1 {
                return Err(Hdf5Error::Malformed(format!(
                    "chunk rank {rank} for {} dimensions",
                    dims.len()
                )));
            }
            let mut chunk = Vec::with_capacity(dims.len());
            for _ in 0..dims.len() {
                chunk.push(to_usize(u64::from(reader.u32()?), "chunk dimension")?);
            }
            let mut out = vec![0u8; total];
            if btree != UNDEFINED {
                let chunked = Chunked {
                    dims,
                    chunk: &chunk,
                    element_size,
                    filters,
                };
                chunked.walk(file, btree, &mut out, 0)?;
            }
            Ok(out)
        }
        class => Err(Hdf5Error::Unsupported(format!("layout class {class}"))),
    }
}

fn sized(bytes: Vec<u8>, total: usize) -> Result<Vec<u8>, Hdf5Error> {
    if bytes.len() < total {
        return Err(Hdf5Error::Malformed(format!(
            "{} bytes of data for {total} expected",
            bytes.len()
        )));
    }
    Ok(bytes[..total].to_vec())
}

/// A chunked dataset being assembled from its B-tree (node type 1).
struct Chunked<'d> {
    dims: &'d [usize],
    chunk: &'d [usize],
    element_size: usize,
    filters: &'d [u16],
}

impl Chunked<'_> {
    fn walk(
        &self,
        file: &Reader<'_>,
        address: u64,
        out: &mut [u8],
        depth: u8,
    ) -> Result<(), Hdf5Error> {
        if depth > 32 {
            return Err(Hdf5Error::Malformed("chunk B-tree too deep".to_string()));
        }
        let mut reader = file.at(address)?;
        reader.expect(b"TREE")?;
        if reader.u8()? != 1 {
            return Err(Hdf5Error::Malformed(
                "chunk B-tree of the wrong type".to_string(),
            ));
        }
        let level = reader.u8()?;
        let entries = usize::from(reader.u16()?);
        reader.offset()?; // left sibling
        reader.offset()?; // right sibling
        for _ in 0..entries {
            let size = to_usize(u64::from(reader.u32()?), "chunk size")?;
            let mask = reader.u32()?;
            let mut origin = Vec::with_capacity(self.dims.len());
            for _ in 0..self.dims.len() {
                origin.push(to_usize(reader.u64()?, "chunk offset")?);
            }
            reader.u64()?; // the element-size dimension's offset, always zero
            let child = reader.offset()?;
            if level > 0 {
                self.walk(file, child, out, depth + 1)?;
            } else {
                let stored = file.at(child)?.bytes(size)?;
                let data = self.unfilter(stored, mask)?;
                self.place(&data, &origin, out)?;
            }
        }
        Ok(())
    }

    /// Undoes the filters (in reverse order), except those the chunk's mask says were skipped.
    fn unfilter(&self, stored: &[u8], mask: u32) -> Result<Vec<u8>, Hdf5Error> {
        let mut data = stored.to_vec();
        for (index, &filter) in self.filters.iter().enumerate().rev() {
            if mask & (1 << index) != 0 {
                continue;
            }
            data = match filter {
                DEFLATE => {
                    let mut inflated = Vec::new();
                    flate2::read::ZlibDecoder::new(data.as_slice())
                        .read_to_end(&mut inflated)
                        .map_err(|e| {
                            Hdf5Error::Malformed(format!("a chunk does not inflate: {e}"))
                        })?;
                    inflated
                }
                SHUFFLE => unshuffle(&data, self.element_size),
                _ => {
                    // Fletcher-32 appends a 4-byte checksum; the data is what precedes it.
                    data.truncate(data.len().saturating_sub(4));
                    data
                }
            };
        }
        Ok(data)
    }

    /// Copies a decoded chunk into the dataset, clipping at the dataset's edges.
    fn place(&self, data: &[u8], origin: &[usize], out: &mut [u8]) -> Result<(), Hdf5Error> {
        let per_chunk: usize = self.chunk.iter().product::<usize>() * self.element_size;
        if data.len() < per_chunk {
            return Err(Hdf5Error::Malformed(format!(
                "a chunk holds {} bytes, {per_chunk} expected",
                data.len()
            )));
        }
        let rank = self.dims.len();
        if rank == 0 {
            out.copy_from_slice(&data[..out.len()]);
            return Ok(());
        }
        // Copy row by row along the last dimension.
        let row = self.chunk[rank - 1];
        let mut index = vec![0usize; rank - 1];
        loop {
            let mut source = 0;
            let mut target = 0;
            let mut inside = true;
            for d in 0..rank - 1 {
                let at = origin[d] + index[d];
                inside &= at < self.dims[d];
                source = source * self.chunk[d] + index[d];
                target = target * self.dims[d] + at;
            }
            let start = origin[rank - 1];
            if inside && start < self.dims[rank - 1] {
                let n = row.min(self.dims[rank - 1] - start);
                let source = source * row * self.element_size;
                let target = (target * self.dims[rank - 1] + start) * self.element_size;
                let bytes = n * self.element_size;
                out[target..target + bytes].copy_from_slice(&data[source..source + bytes]);
            }
            // The next row of the chunk, odometer style.
            let mut d = rank - 1;
            loop {
                if d == 0 {
                    return Ok(());
                }
                d -= 1;
                index[d] += 1;
                if index[d] < self.chunk[d] {
                    break;
                }
                index[d] = 0;
            }
        }
    }
}

/// The shuffle filter stores byte 0 of every element, then byte 1, and so on.
fn unshuffle(data: &[u8], element_size: usize) -> Vec<u8> {
    if element_size <= 1 {
        return data.to_vec();
    }
    let count = data.len() / element_size;
    let mut out = data.to_vec();
    for byte in 0..element_size {
        for element in 0..count {
            out[element * element_size + byte] = data[byte * count + element];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn unshuffles_bytes() {
        assert_eq!(super::unshuffle(&[1, 3, 5, 2, 4, 6], 2), [1, 2, 3, 4, 5, 6]);
        assert_eq!(super::unshuffle(&[7, 8], 1), [7, 8]);
    }
}
