//! Object headers (versions 1 and 2): the list of messages that describe a group or a dataset.

use super::bytes::{to_usize, Reader};
use super::Hdf5Error;

/// Message types this reader looks at.
pub(super) const DATASPACE: u16 = 0x0001;
pub(super) const LINK_INFO: u16 = 0x0002;
pub(super) const DATATYPE: u16 = 0x0003;
pub(super) const LINK: u16 = 0x0006;
pub(super) const LAYOUT: u16 = 0x0008;
pub(super) const FILTERS: u16 = 0x000B;
const CONTINUATION: u16 = 0x0010;
pub(super) const SYMBOL_TABLE: u16 = 0x0011;

/// Guards against a continuation loop in a damaged file.
const MAX_BLOCKS: usize = 1024;

/// One message: its type and where its body lies.
#[derive(Debug, Clone, Copy)]
pub(super) struct Message {
    pub(super) kind: u16,
    pub(super) address: u64,
}

/// The messages of the object header at `address`.
pub(super) struct Header {
    pub(super) messages: Vec<Message>,
}

impl Header {
    /// The first message of `kind`, if any.
    pub(super) fn find(&self, kind: u16) -> Option<Message> {
        self.messages.iter().copied().find(|m| m.kind == kind)
    }
}

pub(super) fn read_header(file: &Reader<'_>, address: u64) -> Result<Header, Hdf5Error> {
    let mut reader = file.at(address)?;
    let first = reader.bytes(4)?;
    if first == b"OHDR" {
        read_v2(file, reader)
    } else if first[0] == 1 {
        read_v1(file, address)
    } else {
        Err(Hdf5Error::Unsupported(format!(
            "object header at {address:#x} of version {}",
            first[0]
        )))
    }
}

fn read_v1(file: &Reader<'_>, address: u64) -> Result<Header, Hdf5Error> {
    let mut reader = file.at(address)?;
    reader.skip(2)?; // version, reserved
    reader.skip(2 + 4)?; // message count (continuations included), reference count
    let size = to_usize(u64::from(reader.u32()?), "object header size")?;
    reader.skip(4)?; // padding to an 8-byte boundary
    let mut blocks = vec![(reader.position(), size)];
    let mut messages = Vec::new();
    let mut index = 0;
    while index < blocks.len() && index < MAX_BLOCKS {
        let (start, length) = blocks[index];
        index += 1;
        let mut block = file.at(start)?;
        while block.position() + 8 <= start + length as u64 {
            let kind = block.u16()?;
            let size = usize::from(block.u16()?);
            block.skip(4)?; // flags, reserved
            let body = block.position();
            block.skip(size)?;
            if kind == CONTINUATION {
                blocks.push(continuation(file, body)?);
            } else if kind != 0 {
                messages.push(Message {
                    kind,
                    address: body,
                });
            }
        }
    }
    Ok(Header { messages })
}

fn read_v2<'a>(file: &Reader<'a>, mut reader: Reader<'a>) -> Result<Header, Hdf5Error> {
    let version = reader.u8()?;
    if version != 2 {
        return Err(Hdf5Error::Unsupported(format!(
            "object header version {version}"
        )));
    }
    let flags = reader.u8()?;
    if flags & 0x20 != 0 {
        reader.skip(16)?; // access, modification, change and birth times
    }
    if flags & 0x10 != 0 {
        reader.skip(4)?; // attribute storage phase change values
    }
    let size = to_usize(reader.uint(1 << (flags & 0x03))?, "object header size")?;
    let creation_order = flags & 0x04 != 0;
    let mut blocks = vec![(reader.position(), size)];
    let mut messages = Vec::new();
    let mut index = 0;
    while index < blocks.len() && index < MAX_BLOCKS {
        let (start, length) = blocks[index];
        index += 1;
        let end = start + length as u64;
        let mut block = file.at(start)?;
        if index > 1 {
            block.expect(b"OCHK")?;
        }
        let prefix = if creation_order { 6 } else { 4 };
        // The block ends with a 4-byte checksum (for continuation blocks, inside `length`).
        let limit = if index > 1 { end - 4 } else { end };
        while block.position() + prefix <= limit {
            let kind = u16::from(block.u8()?);
            let size = usize::from(block.u16()?);
            block.skip(prefix as usize - 3)?; // flags, creation order
            let body = block.position();
            block.skip(size)?;
            if kind == CONTINUATION {
                blocks.push(continuation(file, body)?);
            } else if kind != 0 {
                messages.push(Message {
                    kind,
                    address: body,
                });
            }
        }
    }
    Ok(Header { messages })
}

/// Where a continuation message says the next block of messages is.
fn continuation(file: &Reader<'_>, body: u64) -> Result<(u64, usize), Hdf5Error> {
    let mut reader = file.at(body)?;
    let address = reader.offset()?;
    let length = to_usize(reader.length()?, "continuation length")?;
    Ok((address, length))
}
