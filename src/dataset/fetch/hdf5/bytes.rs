//! Bounds-checked little-endian reads at HDF5 addresses (relative to the superblock).

use super::Hdf5Error;

/// The "undefined address" of the format: every bit set.
pub(super) const UNDEFINED: u64 = u64::MAX;

/// A cursor over the file, knowing the file's sizes of offsets and lengths.
#[derive(Clone)]
pub(super) struct Reader<'a> {
    data: &'a [u8],
    base: u64,
    at: u64,
    offsets: u8,
    lengths: u8,
}

impl<'a> Reader<'a> {
    pub(super) fn new(data: &'a [u8], base: u64, offsets: u8, lengths: u8) -> Self {
        Reader {
            data,
            base,
            at: 0,
            offsets,
            lengths,
        }
    }

    /// The same file, positioned at `address`.
    pub(super) fn at(&self, address: u64) -> Result<Self, Hdf5Error> {
        let mut reader = self.clone();
        reader.seek(address)?;
        Ok(reader)
    }

    pub(super) fn seek(&mut self, address: u64) -> Result<(), Hdf5Error> {
        if address == UNDEFINED || self.base.saturating_add(address) > self.data.len() as u64 {
            return Err(Hdf5Error::Malformed(format!(
                "address {address:#x} is outside the file"
            )));
        }
        self.at = address;
        Ok(())
    }

    pub(super) fn position(&self) -> u64 {
        self.at
    }

    pub(super) fn size_of_offsets(&self) -> usize {
        usize::from(self.offsets)
    }

    pub(super) fn size_of_lengths(&self) -> usize {
        usize::from(self.lengths)
    }

    /// The next `n` bytes.
    pub(super) fn bytes(&mut self, n: usize) -> Result<&'a [u8], Hdf5Error> {
        let start = usize::try_from(self.base + self.at)
            .map_err(|_| Hdf5Error::Malformed("address too large".to_string()))?;
        let end = start
            .checked_add(n)
            .filter(|&end| end <= self.data.len())
            .ok_or_else(|| {
                Hdf5Error::Malformed(format!(
                    "{n} bytes at {:#x} run past the end of the file",
                    self.at
                ))
            })?;
        self.at += n as u64;
        Ok(&self.data[start..end])
    }

    pub(super) fn skip(&mut self, n: usize) -> Result<(), Hdf5Error> {
        self.bytes(n).map(|_| ())
    }

    pub(super) fn u8(&mut self) -> Result<u8, Hdf5Error> {
        Ok(self.bytes(1)?[0])
    }

    pub(super) fn u16(&mut self) -> Result<u16, Hdf5Error> {
        Ok(self.uint(2)? as u16)
    }

    pub(super) fn u32(&mut self) -> Result<u32, Hdf5Error> {
        Ok(self.uint(4)? as u32)
    }

    pub(super) fn u64(&mut self) -> Result<u64, Hdf5Error> {
        self.uint(8)
    }

    /// An unsigned little-endian integer of `n` bytes (at most 8).
    pub(super) fn uint(&mut self, n: usize) -> Result<u64, Hdf5Error> {
        let bytes = self.bytes(n)?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0u64, |value, &byte| (value << 8) | u64::from(byte)))
    }

    /// A file address; all bits set becomes [`UNDEFINED`].
    pub(super) fn offset(&mut self) -> Result<u64, Hdf5Error> {
        let n = self.size_of_offsets();
        let value = self.uint(n)?;
        Ok(if n < 8 && value == (1u64 << (8 * n)) - 1 {
            UNDEFINED
        } else {
            value
        })
    }

    /// A length field.
    pub(super) fn length(&mut self) -> Result<u64, Hdf5Error> {
        self.uint(self.size_of_lengths())
    }

    /// Checks a 4-byte signature such as `TREE`.
    pub(super) fn expect(&mut self, signature: &[u8; 4]) -> Result<(), Hdf5Error> {
        let at = self.at;
        if self.bytes(4)? != signature {
            return Err(Hdf5Error::Malformed(format!(
                "expected {} at {at:#x}",
                String::from_utf8_lossy(signature)
            )));
        }
        Ok(())
    }
}

/// A length read from the file as a `usize`, refusing absurd values.
pub(super) fn to_usize(value: u64, what: &str) -> Result<usize, Hdf5Error> {
    usize::try_from(value)
        .ok()
        .filter(|&v| v <= 1 << 40)
        .ok_or_else(|| Hdf5Error::Malformed(format!("{what} {value} is out of range")))
}
