//! A minimal, read-only HDF5 reader: enough of the format for MATLAB v7.3 MAT-files.
//!
//! The brain tumour set ships MATLAB v7.3 files, which are HDF5 behind a 512-byte user block.
//! Rather than link the HDF5 C library, this reads the subset those files use: superblocks 0 to
//! 3, version 1 and 2 object headers, groups as symbol tables (B-tree v1 and local heap) or as
//! link messages, and datasets of fixed-point or IEEE floating-point numbers stored compact,
//! contiguous or chunked (B-tree v1 index) through the deflate, shuffle and Fletcher-32 filters.
//! Anything else (dense groups, the version 4 layouts' chunk indexes, other filters) is refused
//! with an error saying what was met. Every read is bounds-checked: a damaged file is an error,
//! never a panic.

mod bytes;
mod dataset;
mod group;
mod object;

use bytes::Reader;
pub(crate) use dataset::Array;

/// What went wrong reading an HDF5 file.
#[derive(Debug, thiserror::Error)]
pub enum Hdf5Error {
    #[error("not an HDF5 file (no superblock signature found)")]
    NotHdf5,
    #[error("damaged HDF5 file: {0}")]
    Malformed(String),
    #[error("HDF5 feature not supported by this reader: {0}")]
    Unsupported(String),
    #[error("no object `{0}` in the file")]
    NotFound(String),
}

/// The HDF5 signature that starts a superblock.
const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// An HDF5 file held in memory.
pub(crate) struct Hdf5File<'a> {
    reader: Reader<'a>,
    root: u64,
}

impl<'a> Hdf5File<'a> {
    /// Parses the superblock. It sits at offset 0, 512, 1024, 2048, ... (after a user block).
    pub(crate) fn parse(data: &'a [u8]) -> Result<Self, Hdf5Error> {
        let mut at = 0usize;
        while at + SIGNATURE.len() <= data.len() {
            if &data[at..at + SIGNATURE.len()] == SIGNATURE {
                return Self::superblock(data, at);
            }
            at = if at == 0 { 512 } else { at * 2 };
        }
        Err(Hdf5Error::NotHdf5)
    }

    fn superblock(data: &'a [u8], at: usize) -> Result<Self, Hdf5Error> {
        // Addresses are relative to the superblock, wherever the file says its base is.
        let mut probe = Reader::new(data, at as u64, 8, 8);
        probe.seek(8)?;
        let version = probe.u8()?;
        let (offsets, lengths, root) = match version {
            0 | 1 => {
                probe.skip(4)?; // free-space, root-group and shared-message versions, reserved
                let offsets = probe.u8()?;
                let lengths = probe.u8()?;
                probe.skip(1 + 2 + 2 + 4)?; // reserved, group K values, consistency flags
                if version == 1 {
                    probe.skip(4)?; // indexed storage K, reserved
                }
                let mut reader = Reader::new(data, at as u64, offsets, lengths);
                reader.seek(probe.position())?;
                reader.skip(4 * usize::from(offsets))?; // base, free space, end of file, driver
                reader.offset()?; // the root entry's link name offset
                let root = reader.offset()?;
                (offsets, lengths, root)
            }
            2 | 3 => {
                let offsets = probe.u8()?;
                let lengths = probe.u8()?;
                probe.skip(1)?; // consistency flags
                let mut reader = Reader::new(data, at as u64, offsets, lengths);
                reader.seek(probe.position())?;
                reader.skip(3 * usize::from(offsets))?; // base, extension, end of file
                let root = reader.offset()?;
                (offsets, lengths, root)
            }
            other => {
                return Err(Hdf5Error::Unsupported(format!(
                    "superblock version {other}"
                )))
            }
        };
        if ![2, 4, 8].contains(&offsets) || ![2, 4, 8].contains(&lengths) {
            return Err(Hdf5Error::Malformed(format!(
                "sizes of offsets {offsets} and lengths {lengths}"
            )));
        }
        Ok(Hdf5File {
            reader: Reader::new(data, at as u64, offsets, lengths),
            root,
        })
    }

    /// Reads the dataset at `path` (`/`-separated from the root group) as numbers.
    pub(crate) fn read(&self, path: &str) -> Result<Array, Hdf5Error> {
        let mut address = self.root;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            let header = object::read_header(&self.reader, address)?;
            address = group::find_member(&self.reader, &header, part)?
                .ok_or_else(|| Hdf5Error::NotFound(path.to_string()))?;
        }
        let header = object::read_header(&self.reader, address)?;
        dataset::read(&self.reader, &header).map_err(|error| match error {
            Hdf5Error::Malformed(text) => Hdf5Error::Malformed(format!("{path}: {text}")),
            Hdf5Error::Unsupported(text) => Hdf5Error::Unsupported(format!("{path}: {text}")),
            other => other,
        })
    }
}

#[cfg(test)]
mod tests;
