//! The PyPI wheels libtorch is taken from: pinned by file name, size and SHA-256, verified
//! after download, and unpacked member by member into the libtorch layout.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::error::ToolchainError;
use crate::hashing::file_digests;

/// What to take out of a wheel.
#[derive(Debug, Clone, Copy)]
pub enum Take {
    /// One file, to this path under the libtorch folder.
    File {
        member: &'static str,
        to: &'static str,
    },
    /// Every file under a prefix, to the same relative paths under `to`.
    Tree {
        prefix: &'static str,
        to: &'static str,
    },
}

/// One wheel, pinned exactly.
#[derive(Debug, Clone, Copy)]
pub struct PinnedWheel {
    /// What pip is asked for.
    pub requirement: &'static str,
    /// The one platform tag pip may take it for (pip matches these tags exactly).
    pub platform: &'static str,
    pub file: &'static str,
    pub size: u64,
    pub sha256: &'static str,
    pub take: &'static [Take],
}

/// Python version and ABI the wheels are chosen for, whatever Python runs pip, so that every
/// machine gets the same files.
pub const PYTHON_VERSION: &str = "3.11";
pub const PYTHON_ABI: &str = "cp311";

/// torch 2.11.0 requires cuda-toolkit 13.0.2; the pins of its `cudart` and `cupti` extras are
/// the two CUDA runtime wheels, because `libtorch_cpu.so` links `libcudart.so.13` and
/// `libcupti.so.13` even on a CPU-only machine. All files are copied, never linked: a symbolic
/// link breaks the `$ORIGIN` lookups the libraries do for each other.
pub const WHEELS: &[PinnedWheel] = &[
    PinnedWheel {
        requirement: "torch==2.11.0",
        platform: "manylinux_2_28_x86_64",
        file: "torch-2.11.0-cp311-cp311-manylinux_2_28_x86_64.whl",
        size: 530_604_548,
        sha256: "7aa2f9bbc6d4595ba72138026b2074be1233186150e9292865e04b7a63b8c67a",
        take: &[
            Take::File {
                member: "torch/lib/libc10.so",
                to: "lib/libc10.so",
            },
            Take::File {
                member: "torch/lib/libtorch_cpu.so",
                to: "lib/libtorch_cpu.so",
            },
            Take::File {
                member: "torch/lib/libtorch.so",
                to: "lib/libtorch.so",
            },
            Take::File {
                member: "torch/lib/libgomp.so.1",
                to: "lib/libgomp.so.1",
            },
            Take::Tree {
                prefix: "torch/include/",
                to: "include",
            },
        ],
    },
    PinnedWheel {
        requirement: "nvidia-cuda-runtime==13.0.96",
        platform: "manylinux_2_17_x86_64",
        file: "nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        size: 2_243_632,
        sha256: "7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548",
        take: &[Take::File {
            member: "nvidia/cu13/lib/libcudart.so.13",
            to: "lib/libcudart.so.13",
        }],
    },
    PinnedWheel {
        requirement: "nvidia-cuda-cupti==13.0.85",
        platform: "manylinux_2_25_x86_64",
        file: "nvidia_cuda_cupti-13.0.85-py3-none-manylinux_2_25_x86_64.whl",
        size: 10_715_597,
        sha256: "4eb01c08e859bf924d222250d2e8f8b8ff6d3db4721288cf35d14252a4d933c8",
        take: &[Take::File {
            member: "nvidia/cu13/lib/libcupti.so.13",
            to: "lib/libcupti.so.13",
        }],
    },
];

/// The total download, for progress.
pub fn total_download_bytes() -> u64 {
    WHEELS.iter().map(|w| w.size).sum()
}

/// SHA-256 (hex) and size of a file, read in large blocks.
pub fn sha256_file(path: &Path) -> Result<(String, u64), ToolchainError> {
    let digests = file_digests(path, false).map_err(ToolchainError::io("read", path))?;
    Ok((digests.sha256, digests.size))
}

/// Checks that `path` is exactly the pinned wheel; the error names the file and both hashes.
pub fn verify(path: &Path, wheel: &PinnedWheel) -> Result<(), ToolchainError> {
    if !path.exists() {
        return Err(ToolchainError::MissingDownload {
            file: path.to_path_buf(),
        });
    }
    let (actual, actual_size) = sha256_file(path)?;
    if actual != wheel.sha256 || actual_size != wheel.size {
        return Err(ToolchainError::HashMismatch {
            file: path.to_path_buf(),
            expected: wheel.sha256.to_string(),
            expected_size: wheel.size,
            actual,
            actual_size,
        });
    }
    Ok(())
}

/// Unpacks what `wheel.take` names from the wheel at `path` into `dest`, keeping each file's
/// permission bits. Returns the number of files written. Files are not flushed one by one
/// (ten thousand headers would take half a minute); the install's marker, written last and
/// flushed, is what says the folder is complete.
pub fn extract(path: &Path, wheel: &PinnedWheel, dest: &Path) -> Result<usize, ToolchainError> {
    let zip_error = |source| ToolchainError::Wheel {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(ToolchainError::io("open", path))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(zip_error)?;
    let mut written = 0;
    for take in wheel.take {
        match *take {
            Take::File { member, to } => {
                let index = archive.index_for_name(member).ok_or_else(|| {
                    ToolchainError::MissingMember {
                        wheel: wheel.file.to_string(),
                        member: member.to_string(),
                    }
                })?;
                let mut entry = archive.by_index(index).map_err(zip_error)?;
                write_entry(&mut entry, &dest.join(to))?;
                written += 1;
            }
            Take::Tree { prefix, to } => {
                let mut found = 0;
                for index in 0..archive.len() {
                    let mut entry = archive.by_index(index).map_err(zip_error)?;
                    // enclosed_name refuses absolute paths and `..`: nothing lands outside.
                    let Some(name) = entry.enclosed_name() else {
                        continue;
                    };
                    let Ok(relative) = name.strip_prefix(prefix) else {
                        continue;
                    };
                    if entry.is_dir() || relative.as_os_str().is_empty() {
                        continue;
                    }
                    let target: PathBuf = dest.join(to).join(relative);
                    write_entry(&mut entry, &target)?;
                    found += 1;
                }
                if found == 0 {
                    return Err(ToolchainError::MissingMember {
                        wheel: wheel.file.to_string(),
                        member: prefix.to_string(),
                    });
                }
                written += found;
            }
        }
    }
    Ok(written)
}

fn write_entry(
    entry: &mut zip::read::ZipFile<'_, impl Read>,
    target: &Path,
) -> Result<(), ToolchainError> {
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(ToolchainError::io("create", parent))?;
    }
    let mut out = std::fs::File::create(target).map_err(ToolchainError::io("create", target))?;
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = entry
            .read(&mut buffer)
            .map_err(ToolchainError::io("unpack into", target))?;
        if n == 0 {
            break;
        }
        out.write_all(&buffer[..n])
            .map_err(ToolchainError::io("write", target))?;
    }
    if let Some(mode) = entry.unix_mode() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(target, std::fs::Permissions::from_mode(mode & 0o777))
            .map_err(ToolchainError::io("set permissions of", target))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small wheel-shaped zip with the members the test pin names.
    fn fake_wheel(path: &Path, members: &[(&str, &[u8], u32)]) {
        let file = std::fs::File::create(path).unwrap();
        let mut zip = zip::ZipWriter::new(file);
        for (name, bytes, mode) in members {
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .unix_permissions(*mode);
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
    }

    fn pin_for(path: &Path, take: &'static [Take]) -> PinnedWheel {
        let (sha256, size) = sha256_file(path).unwrap();
        PinnedWheel {
            requirement: "fake==1.0",
            platform: "any",
            file: "fake-1.0-py3-none-any.whl",
            size,
            sha256: Box::leak(sha256.into_boxed_str()),
            take,
        }
    }

    #[test]
    fn sha256_of_a_known_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, "abc").unwrap();
        let (hex, size) = sha256_file(&path).unwrap();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(size, 3);
    }

    #[test]
    fn a_corrupt_download_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fake-1.0-py3-none-any.whl");
        fake_wheel(&path, &[("lib/a.so", b"real", 0o755)]);
        let pin = pin_for(&path, &[]);
        verify(&path, &pin).unwrap();

        // One flipped byte: same size, other hash.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[10] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let err = verify(&path, &pin).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ToolchainError::HashMismatch { .. }));
        assert!(text.contains("fake-1.0-py3-none-any.whl"), "{text}");
        assert!(text.contains(pin.sha256), "{text}");

        // A truncated file.
        std::fs::write(&path, &bytes[..20]).unwrap();
        assert!(matches!(
            verify(&path, &pin),
            Err(ToolchainError::HashMismatch {
                actual_size: 20,
                ..
            })
        ));

        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            verify(&path, &pin),
            Err(ToolchainError::MissingDownload { .. })
        ));
    }

    #[test]
    fn extraction_takes_named_files_and_trees_with_their_modes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fake.whl");
        fake_wheel(
            &path,
            &[
                ("torch/lib/liba.so", b"elf", 0o755),
                ("torch/lib/libunwanted.so", b"no", 0o755),
                ("torch/include/a/b.h", b"#pragma once", 0o644),
                ("torch/include/c.h", b"//", 0o644),
                ("torch/other.py", b"x", 0o644),
            ],
        );
        let pin = pin_for(
            &path,
            &[
                Take::File {
                    member: "torch/lib/liba.so",
                    to: "lib/liba.so",
                },
                Take::Tree {
                    prefix: "torch/include/",
                    to: "include",
                },
            ],
        );
        let dest = dir.path().join("out");
        assert_eq!(extract(&path, &pin, &dest).unwrap(), 3);
        assert_eq!(std::fs::read(dest.join("lib/liba.so")).unwrap(), b"elf");
        assert!(dest.join("include/a/b.h").is_file());
        assert!(dest.join("include/c.h").is_file());
        assert!(!dest.join("lib/libunwanted.so").exists());
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| {
            std::fs::metadata(dest.join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("lib/liba.so"), 0o755);
        assert_eq!(mode("include/c.h"), 0o644);
    }

    #[test]
    fn a_missing_member_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fake.whl");
        fake_wheel(&path, &[("x", b"x", 0o644)]);
        let pin = pin_for(
            &path,
            &[Take::File {
                member: "torch/lib/libc10.so",
                to: "lib/libc10.so",
            }],
        );
        let err = extract(&path, &pin, &dir.path().join("out")).unwrap_err();
        assert!(err.to_string().contains("torch/lib/libc10.so"), "{err}");
    }

    #[test]
    fn pins_are_well_formed() {
        for wheel in WHEELS {
            assert_eq!(wheel.sha256.len(), 64);
            assert!(wheel.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
            assert!(wheel
                .file
                .contains(wheel.platform.trim_start_matches("manylinux_")));
            let (name, version) = wheel.requirement.split_once("==").unwrap();
            assert!(
                wheel
                    .file
                    .starts_with(&format!("{}-{version}-", name.replace('-', "_"))),
                "{}",
                wheel.file
            );
        }
    }
}
