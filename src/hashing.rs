//! Digests and their hex form, in one place: SHA-256 (the harness's identity for a text or a
//! file) and MD5 (only to compare downloads with the sums repositories publish).
//!
//! MD5 is broken for adversarial collisions, which is why it never names a file here alone.
//! Code that hashes structured input piece by piece (a dataset's fingerprint, a split's order)
//! uses the hasher re-exported here, so that the digest crates are named in this file only.

use std::io::Read;
use std::path::Path;

pub use sha2::{Digest, Sha256};

/// Lowercase hex of some bytes (a digest).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Hex MD5 of some bytes, as repositories publish it (tests serve listings with it).
pub fn md5_hex(bytes: &[u8]) -> String {
    hex(&md5::Md5::digest(bytes))
}

/// A file's digests (lowercase hex) and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigests {
    pub sha256: String,
    /// Only when asked for (`file_digests(path, true)`).
    pub md5: Option<String>,
    pub size: u64,
}

/// Reads `path` once, in large blocks, for its SHA-256 and, when `with_md5`, its MD5.
pub fn file_digests(path: &Path, with_md5: bool) -> std::io::Result<FileDigests> {
    let mut file = std::fs::File::open(path)?;
    let mut sha256 = Sha256::new();
    let mut md5 = with_md5.then(md5::Md5::new);
    let mut buffer = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        sha256.update(&buffer[..n]);
        if let Some(md5) = &mut md5 {
            md5.update(&buffer[..n]);
        }
        size += n as u64;
    }
    Ok(FileDigests {
        sha256: hex(&sha256.finalize()),
        md5: md5.map(|md5| hex(&md5.finalize())),
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_published_test_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn md5_matches_the_rfc_test_suite() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"a"), "0cc175b9c0f1b6a831c399e269772661");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            md5_hex(b"message digest"),
            "f96b697d7cb7938d525a2f31aaf161d0"
        );
        assert_eq!(
            md5_hex(
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
            ),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
    }

    #[test]
    fn hex_is_lowercase_and_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn a_file_read_in_blocks_has_the_digests_of_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        // More than one block, and not a multiple of it.
        let data: Vec<u8> = (0..(1u32 << 20) + 1000)
            .map(|i| (i * 7 + 3) as u8)
            .collect();
        std::fs::write(&path, &data).unwrap();
        let digests = file_digests(&path, true).unwrap();
        assert_eq!(digests.sha256, sha256_hex(&data));
        assert_eq!(digests.md5.as_deref(), Some(md5_hex(&data).as_str()));
        assert_eq!(digests.size, data.len() as u64);
        assert_eq!(file_digests(&path, false).unwrap().md5, None);
    }
}
