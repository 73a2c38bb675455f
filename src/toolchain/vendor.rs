//! The vendored allow-list: the warm crate's manifest (every allowed crate as a dependency),
//! its pinned lock file, and `cargo vendor` into the cache.
//!
//! `warm.lock` pins every transitive dependency too, so that every machine vendors and builds
//! exactly the same sources. After changing the allow-list, regenerate it (this needs the
//! crates registry): `HARNESS_UPDATE_FIXTURES=1 cargo test --lib toolchain::vendor`.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::exec::{LineObserver, ProcessSpec, Stream};

use super::allow_list::ALLOWED_CRATES;
use super::command::run_checked;
use super::error::ToolchainError;
use super::install::install_dir;
use crate::progress::SetupProgress;

/// The lock file of the warm crate, committed.
pub const WARM_LOCK: &str = include_str!("warm.lock");

/// The warm crate's package name.
pub const WARM_PACKAGE: &str = "harness-warm";

/// Host variables `cargo vendor` may see besides the general allow-list: registry protocol,
/// proxy and certificate settings. Secret-looking names are dropped whatever this says.
pub const CARGO_NET_ENV: &[&str] = &[
    "CARGO_HTTP_CAINFO",
    "CARGO_HTTP_PROXY",
    "CARGO_HTTP_TIMEOUT",
    "CARGO_HTTP_CHECK_REVOKE",
    "CARGO_NET_RETRY",
    "CARGO_REGISTRIES_CRATES_IO_PROTOCOL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// The warm crate's `Cargo.toml`: every allowed crate at its exact version, older versions
/// under renamed keys, with default features plus the table's extra ones.
pub fn warm_manifest() -> String {
    let mut text = format!(
        "# Written by harness: the whole allow-list, built once into the shared target folder;\n\
         # generated crates depend on it to get the same features (see Toolchain::pin_manifest).\n\
         [package]\nname = \"{WARM_PACKAGE}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         publish = false\n\n# Not part of any workspace around the cache folder.\n[workspace]\n\n\
         [dependencies]\n"
    );
    for krate in ALLOWED_CRATES {
        let key = krate.warm_key();
        let package = if key == krate.name {
            String::new()
        } else {
            format!("package = \"{}\", ", krate.name)
        };
        let features = if krate.features.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = krate.features.iter().map(|f| format!("\"{f}\"")).collect();
            format!(", features = [{}]", quoted.join(", "))
        };
        text.push_str(&format!(
            "{key} = {{ {package}version = \"={}\"{features} }}\n",
            krate.version
        ));
    }
    text
}

/// The warm crate is a library with no code: building it builds every allowed crate, and a
/// generated crate that depends on it (see `Toolchain::pin_manifest`) gets exactly the warm
/// build's features on every shared dependency, so nothing is recompiled.
pub const WARM_LIB: &str = "//! Written by harness: depending on this crate pins every allowed crate's features to the\n//! warm build's, so a generated crate reuses the warm units. It has no code.\n";

/// Writes the warm crate (manifest, lock, library) into `dir`, leaving files that are
/// already right untouched so that their timestamps stay.
pub fn write_warm_crate(dir: &Path, cargo_config: Option<&str>) -> Result<(), ToolchainError> {
    let mut files = vec![
        ("Cargo.toml", warm_manifest()),
        ("Cargo.lock", WARM_LOCK.to_string()),
        ("src/lib.rs", WARM_LIB.to_string()),
    ];
    if let Some(config) = cargo_config {
        files.push((super::config::CARGO_CONFIG_PATH, config.to_string()));
    }
    for (relative, text) in files {
        write_if_changed(&dir.join(relative), &text)?;
    }
    // Earlier versions of the warm crate were a binary.
    let old_main = dir.join("src/main.rs");
    if old_main.exists() {
        std::fs::remove_file(&old_main).map_err(ToolchainError::io("remove", &old_main))?;
    }
    Ok(())
}

pub(crate) fn write_if_changed(path: &Path, text: &str) -> Result<(), ToolchainError> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(ToolchainError::io("create", parent))?;
    }
    std::fs::write(path, text).map_err(ToolchainError::io("write", path))
}

/// The marker of a complete vendor folder: what it was vendored from.
pub fn marker_text() -> String {
    format!(
        "vendored for {WARM_PACKAGE}\nmanifest sha256:{}\nlock sha256:{}\n",
        crate::hashing::sha256_hex(warm_manifest().as_bytes()),
        crate::hashing::sha256_hex(WARM_LOCK.as_bytes())
    )
}

/// How many packages the lock file names besides the warm crate itself.
pub fn locked_package_count() -> u64 {
    WARM_LOCK.matches("[[package]]").count().saturating_sub(1) as u64
}

/// Vendors the allow-list into `dest` (atomically, through `staging`) with
/// `cargo vendor --versioned-dirs --locked`. This is the one step that downloads crates.
pub fn vendor(
    staging: &Path,
    dest: &Path,
    progress: &SetupProgress,
) -> Result<u64, ToolchainError> {
    let result = vendor_in(staging, dest, progress);
    let _ = std::fs::remove_dir_all(staging);
    result
}

fn vendor_in(staging: &Path, dest: &Path, progress: &SetupProgress) -> Result<u64, ToolchainError> {
    // A folder of its own, without the harness's cargo configuration (which is offline).
    let manifest_dir = staging.join("manifest");
    write_warm_crate(&manifest_dir, None)?;
    let step = progress.count("vendoring the allowed crates", locked_package_count());
    let count = Arc::new(AtomicU64::new(0));
    let handle = step.handle();
    let seen = Arc::clone(&count);
    let observer = LineObserver::new(move |stream, line| {
        if stream == Stream::Stderr && line.trim_start().starts_with("Vendoring ") {
            handle.set_position(seen.fetch_add(1, Ordering::Relaxed) + 1);
        }
    });
    install_dir(&staging.join("vendor"), dest, &marker_text(), |folder| {
        let spec = ProcessSpec::new("cargo", &manifest_dir)
            .arg("vendor")
            .arg("--versioned-dirs")
            .arg("--locked")
            .arg(folder)
            .inherit(CARGO_NET_ENV)
            .env("CARGO_TERM_COLOR", "never")
            .timeout(Duration::from_secs(3600))
            .output_cap(1 << 20)
            .observe(observer);
        run_checked(&spec, "cargo vendor --versioned-dirs --locked").map(drop)
    })?;
    Ok(count.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_lists_every_allowed_crate_exactly() {
        insta::assert_snapshot!(warm_manifest());
    }

    /// The committed lock must pin exactly the allow-list; with `HARNESS_UPDATE_FIXTURES=1`
    /// this regenerates it from the manifest (online).
    #[test]
    fn the_lock_pins_every_allowed_crate() {
        if std::env::var_os("HARNESS_UPDATE_FIXTURES").is_some() {
            regenerate_lock();
            return;
        }
        for krate in ALLOWED_CRATES {
            let entry = format!(
                "name = \"{}\"\nversion = \"{}\"\n",
                krate.name, krate.version
            );
            assert!(
                WARM_LOCK.contains(&entry),
                "warm.lock lacks {} {}; regenerate it (see vendor.rs)",
                krate.name,
                krate.version
            );
        }
        let root = format!("name = \"{WARM_PACKAGE}\"\nversion = \"0.0.0\"\ndependencies = [\n");
        let start = WARM_LOCK.find(&root).expect("the warm crate in warm.lock") + root.len();
        let deps = WARM_LOCK[start..].split(']').next().unwrap();
        assert_eq!(deps.lines().count(), ALLOWED_CRATES.len(), "{deps}");
        assert!(locked_package_count() > ALLOWED_CRATES.len() as u64);
    }

    fn regenerate_lock() {
        let dir = tempfile::tempdir().unwrap();
        write_warm_crate(dir.path(), None).unwrap();
        std::fs::remove_file(dir.path().join("Cargo.lock")).unwrap();
        let spec = ProcessSpec::new("cargo", dir.path())
            .arg("generate-lockfile")
            .inherit(CARGO_NET_ENV)
            .timeout(Duration::from_secs(600));
        run_checked(&spec, "cargo generate-lockfile").unwrap();
        let lock = std::fs::read_to_string(dir.path().join("Cargo.lock")).unwrap();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/toolchain/warm.lock");
        std::fs::write(path, lock).unwrap();
    }

    #[test]
    fn writing_the_warm_crate_keeps_unchanged_files() {
        let dir = tempfile::tempdir().unwrap();
        write_warm_crate(dir.path(), Some("# config\n")).unwrap();
        let manifest = dir.path().join("Cargo.toml");
        let before = std::fs::metadata(&manifest).unwrap().modified().unwrap();
        write_warm_crate(dir.path(), Some("# config\n")).unwrap();
        assert_eq!(
            std::fs::metadata(&manifest).unwrap().modified().unwrap(),
            before
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".cargo/config.toml")).unwrap(),
            "# config\n"
        );
    }
}
