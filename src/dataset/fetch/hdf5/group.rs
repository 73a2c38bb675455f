//! Finding a group's member by name: symbol tables (B-tree v1 over a local heap) for files in
//! the original format, link messages for compact groups in the newer one.

use super::bytes::{to_usize, Reader};
use super::object::{Header, LINK, LINK_INFO, SYMBOL_TABLE};
use super::Hdf5Error;

/// Guards against cycles and absurd depths in a damaged B-tree.
const MAX_DEPTH: u8 = 32;

/// The object header address of the member `name` of the group whose header is `header`.
pub(super) fn find_member(
    file: &Reader<'_>,
    header: &Header,
    name: &str,
) -> Result<Option<u64>, Hdf5Error> {
    if let Some(message) = header.find(SYMBOL_TABLE) {
        let mut reader = file.at(message.address)?;
        let btree = reader.offset()?;
        let heap = reader.offset()?;
        let names = local_heap(file, heap)?;
        return search_btree(file, btree, names, name, 0);
    }
    for message in header.messages.iter().filter(|m| m.kind == LINK) {
        if let Some((link_name, address)) = link(file, message.address)? {
            if link_name == name {
                return Ok(Some(address));
            }
        }
    }
    if header.find(LINK_INFO).is_some() {
        // A group with many members keeps its links in a fractal heap; MAT-files never do.
        let compact = header.messages.iter().any(|m| m.kind == LINK);
        if !compact {
            return Err(Hdf5Error::Unsupported(
                "groups with dense link storage".to_string(),
            ));
        }
    }
    Ok(None)
}

/// The data segment of a local heap, where symbol names live.
fn local_heap<'a>(file: &Reader<'a>, address: u64) -> Result<&'a [u8], Hdf5Error> {
    let mut reader = file.at(address)?;
    reader.expect(b"HEAP")?;
    reader.skip(4)?; // version, reserved
    let size = to_usize(reader.length()?, "local heap size")?;
    reader.length()?; // free list
    let data = reader.offset()?;
    file.at(data)?.bytes(size)
}

fn heap_name(names: &[u8], offset: u64) -> Result<&str, Hdf5Error> {
    let start = to_usize(offset, "name offset")?;
    let rest = names
        .get(start..)
        .ok_or_else(|| Hdf5Error::Malformed(format!("name offset {offset} past the heap")))?;
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    std::str::from_utf8(&rest[..end])
        .map_err(|_| Hdf5Error::Malformed("a member name is not UTF-8".to_string()))
}

/// Walks a group B-tree (node type 0) down to its symbol table nodes.
fn search_btree(
    file: &Reader<'_>,
    address: u64,
    names: &[u8],
    name: &str,
    depth: u8,
) -> Result<Option<u64>, Hdf5Error> {
    if depth > MAX_DEPTH {
        return Err(Hdf5Error::Malformed("group B-tree too deep".to_string()));
    }
    let mut reader = file.at(address)?;
    reader.expect(b"TREE")?;
    let node_type = reader.u8()?;
    if node_type != 0 {
        return Err(Hdf5Error::Malformed(format!(
            "group B-tree node of type {node_type}"
        )));
    }
    let level = reader.u8()?;
    let entries = usize::from(reader.u16()?);
    reader.offset()?; // left sibling
    reader.offset()?; // right sibling
    let mut children = Vec::with_capacity(entries);
    reader.length()?; // key 0
    for _ in 0..entries {
        children.push(reader.offset()?);
        reader.length()?;
    }
    for child in children {
        let found = if level > 0 {
            search_btree(file, child, names, name, depth + 1)?
        } else {
            search_symbol_node(file, child, names, name)?
        };
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

fn search_symbol_node(
    file: &Reader<'_>,
    address: u64,
    names: &[u8],
    name: &str,
) -> Result<Option<u64>, Hdf5Error> {
    let mut reader = file.at(address)?;
    reader.expect(b"SNOD")?;
    reader.skip(2)?; // version, reserved
    let count = reader.u16()?;
    for _ in 0..count {
        let name_offset = reader.offset()?;
        let header = reader.offset()?;
        reader.skip(4 + 4 + 16)?; // cache type, reserved, scratch pad
        if heap_name(names, name_offset)? == name {
            return Ok(Some(header));
        }
    }
    Ok(None)
}

/// A link message: the name and, for a hard link, the target's address.
fn link(file: &Reader<'_>, address: u64) -> Result<Option<(String, u64)>, Hdf5Error> {
    let mut reader = file.at(address)?;
    let version = reader.u8()?;
    if version != 1 {
        return Err(Hdf5Error::Unsupported(format!(
            "link message version {version}"
        )));
    }
    let flags = reader.u8()?;
    let link_type = if flags & 0x08 != 0 { reader.u8()? } else { 0 };
    if flags & 0x04 != 0 {
        reader.skip(8)?; // creation order
    }
    if flags & 0x10 != 0 {
        reader.skip(1)?; // character set
    }
    let length = to_usize(reader.uint(1 << (flags & 0x03))?, "link name length")?;
    let name = String::from_utf8_lossy(reader.bytes(length)?).into_owned();
    if link_type != 0 {
        return Ok(None); // soft and external links lead nowhere in a MAT-file
    }
    Ok(Some((name, reader.offset()?)))
}
